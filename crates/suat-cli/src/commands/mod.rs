//! Client-side commands (`suat proof`, `suat app ...`, `suat token ...`, `suat page-token`, `suat watch`,
//! `suat store ...`). Each is argument parsing plus calls into `suat_client`; nothing here is logic a library user
//! would need.

mod app;
mod args;
mod output;
mod page;
mod progress;
mod proof;
mod store;
mod token;
mod watch;

use clap::Subcommand;
use std::process::ExitCode;

#[derive(Subcommand)]
pub enum ClientCommand {
    /// Compute an appsecret_proof for a token (plain, or timed with --time / --timed).
    Proof(proof::ProofArgs),
    /// Apps for system users.
    #[command(subcommand)]
    App(app::AppCommand),
    /// System-user tokens: generate, inspect, refresh, revoke, revoke-all, rotate.
    #[command(subcommand)]
    Token(token::TokenCommand),
    /// A stable page token from a system-user token.
    PageToken(page::PageTokenArgs),
    /// Rotate stored expiring tokens before they expire; warn; serve Prometheus gauges.
    Watch(watch::WatchArgs),
    /// The encrypted local token store.
    #[command(subcommand)]
    Store(store::StoreCommand),
}

impl ClientCommand {
    pub async fn run(self) -> ExitCode {
        match self {
            ClientCommand::Proof(a) => a.run(),
            ClientCommand::App(c) => c.run().await,
            ClientCommand::Token(c) => c.run().await,
            ClientCommand::PageToken(a) => a.run().await,
            ClientCommand::Watch(a) => a.run().await,
            ClientCommand::Store(c) => c.run().await,
        }
    }
}

//! How results reach the user: errors with the Graph's code, subcode and what to do; times as dates plus "in 3d";
//! and where a new token goes (the store, a private file, or stdout only when `--show-token` asks).

use clap::Args;
use std::{path::PathBuf, process::ExitCode};
use suat_client::{watch::human_duration, ClientError, DeployTarget, Deployment, FileTarget};
use suat_core::time::graph_date;

/// Prints an error to stderr the way a person needs it, and gives the exit code.
pub fn report(e: &ClientError) -> ExitCode {
    match e {
        // The code line below carries code, subcode and trace id: keep the first line to the message.
        ClientError::Graph(g) => eprintln!("error: {}", g.message),
        _ => eprintln!("error: {e}"),
    }
    if let Some(g) = e.graph() {
        let mut line = format!("  code: {}", g.code);
        if let Some(s) = g.subcode {
            line.push_str(&format!("  subcode: {s}"));
        }
        if let Some(t) = &g.kind {
            line.push_str(&format!("  type: {t}"));
        }
        if let Some(t) = &g.fbtrace_id {
            line.push_str(&format!("  fbtrace_id: {t}"));
        }
        eprintln!("{line}");
        if let Some(m) = &g.user_msg {
            eprintln!("  {m}");
        }
    }
    if let Some(h) = e.hint() {
        eprintln!("  what to do: {h}");
    }
    ExitCode::FAILURE
}

/// Turns a command's result into an exit code.
pub fn finish(r: Result<(), ClientError>) -> ExitCode {
    match r {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => report(&e),
    }
}

/// The Graph server's clock once this process has had an answer from it (see [`follow`]), else the local one:
/// expiry shown next to debug_token's verdict must be reckoned on the clock that gave the verdict.
static CLOCK: std::sync::OnceLock<suat_client::Clock> = std::sync::OnceLock::new();

/// Reckons [`now`] by `client`'s server from now on (the first client of the process wins: there is one Graph).
pub fn follow(client: &suat_client::GraphClient) {
    let _ = CLOCK.set(suat_client::Clock::following(client));
}

pub fn now() -> i64 {
    match CLOCK.get() {
        Some(c) => c.now(),
        None => suat_client::Clock::system().now(),
    }
}

/// `Tuesday, 24-Nov-26 10:00:00 UTC (in 59d 23h)`, or `never`.
pub fn expiry(at: Option<i64>) -> String {
    match at {
        None => "never".into(),
        Some(t) => {
            let left = t - now();
            if left >= 0 {
                format!("{} (in {})", graph_date(t), human_duration(left))
            } else {
                format!("{} ({} ago)", graph_date(t), human_duration(-left))
            }
        }
    }
}

/// Prints aligned `key  value` rows.
pub fn table(rows: &[(&str, String)]) {
    let w = rows.iter().map(|(k, _)| k.len()).max().unwrap_or(0);
    for (k, v) in rows {
        println!("{k:<w$}  {v}");
    }
}

/// Where a new token goes besides the store profile.
#[derive(Args, Debug, Clone)]
pub struct TokenOut {
    /// Print the new token on stdout (it is never printed otherwise).
    #[arg(long)]
    pub show_token: bool,
    /// Also write the new token to this file (atomically, mode 0600).
    #[arg(long, value_name = "PATH")]
    pub out: Option<PathBuf>,
}

impl TokenOut {
    /// Refuses to make a token that would go nowhere.
    pub fn check(&self, saving_to_profile: bool) -> Result<(), ClientError> {
        if self.show_token || self.out.is_some() || saving_to_profile {
            Ok(())
        } else {
            Err(ClientError::Invalid(
                "the new token would go nowhere: pass --profile NAME to keep it in the token store, --out FILE, or \
                 --show-token to print it"
                    .into(),
            ))
        }
    }

    pub async fn emit(&self, d: &Deployment) -> Result<(), ClientError> {
        if let Some(path) = &self.out {
            FileTarget::new(path.clone()).deploy(d).await?;
            eprintln!("wrote the token to {}", path.display());
        }
        if self.show_token {
            println!("{}", d.token.expose());
        }
        Ok(())
    }
}

//! `suat proof`: the appsecret_proof for a token, plain or timed, for use with curl or another client.

use super::output::JsonOut;
use clap::Args;
use serde_json::json;
use std::process::ExitCode;
use suat_core::AppSecret;

#[derive(Args, Debug)]
pub struct ProofArgs {
    /// The app secret (or set SUAT_APP_SECRET).
    #[arg(long, env = "SUAT_APP_SECRET", hide_env_values = true)]
    app_secret: String,
    /// The access token (or set SUAT_ACCESS_TOKEN).
    #[arg(long, env = "SUAT_ACCESS_TOKEN", hide_env_values = true)]
    access_token: String,
    /// Unix time for the appsecret_time variant; prints the proof only.
    #[arg(long, conflicts_with = "timed")]
    time: Option<i64>,
    /// Timed variant at the current time; prints `appsecret_proof=...&appsecret_time=...` ready for a query.
    #[arg(long)]
    timed: bool,
    #[command(flatten)]
    json: JsonOut,
}

impl ProofArgs {
    pub fn run(self) -> ExitCode {
        let secret = AppSecret::new(self.app_secret);
        let token = self.access_token.trim();
        let time = if self.timed { Some(super::output::now()) } else { self.time };
        let proof = suat_client::appsecret_proof(&secret, token, time);
        if self.json.print(&json!({"appsecret_proof": proof.as_str(), "appsecret_time": time})) {
            return ExitCode::SUCCESS;
        }
        match time {
            Some(t) if self.timed => println!("appsecret_proof={}&appsecret_time={t}", proof.as_str()),
            _ => println!("{}", proof.as_str()),
        }
        ExitCode::SUCCESS
    }
}

//! How results reach the user: errors with the Graph's code, subcode and what to do; times as dates plus "in 3d";
//! and where a new token goes (the store, a private file, or stdout only when `--show-token` asks).

use clap::Args;
use serde_json::{json, Value};
use std::{path::PathBuf, process::ExitCode};
use suat_client::{
    watch::human_duration, ClientError, DeployTarget, Deployment, FileTarget, Profile, DEFAULT_GRAPH_URL,
};
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
    // A Graph error alone does not say which Graph answered: name it, and point at SUAT_GRAPH_URL when the answer
    // came from Meta's, which is what a forgotten SUAT_GRAPH_URL looks like. (Transport errors name their URL.)
    if let (Some(g), Some(url)) = (e.graph(), GRAPH.get()) {
        match &g.endpoint {
            Some(request) => eprintln!("  request: {request}"),
            None => eprintln!("  server: {url}"),
        }
        if url.trim_end_matches('/') == DEFAULT_GRAPH_URL {
            eprintln!("  (that is Meta's Graph API; to talk to a suat server set SUAT_GRAPH_URL or --graph-url)");
        }
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

/// The Graph the command talks to, for error reports.
static GRAPH: std::sync::OnceLock<String> = std::sync::OnceLock::new();

/// Reckons [`now`] by `client`'s server from now on (the first client of the process wins: there is one Graph).
pub fn follow(client: &suat_client::GraphClient) {
    let _ = CLOCK.set(suat_client::Clock::following(client));
    let _ = GRAPH.set(client.base_url().to_owned());
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

/// `--json`, on every command that prints data: the result as one JSON document on stdout instead of text, so
/// scripts need not parse tables. Messages meant for a person stay on stderr either way.
#[derive(Args, Debug, Clone, Copy, Default)]
pub struct JsonOut {
    /// Print the result as one JSON document on stdout (progress and notes stay on stderr).
    #[arg(long)]
    pub json: bool,
}

impl JsonOut {
    /// Prints `v` if `--json` was given; says whether it did, so the caller skips its text output.
    pub fn print(&self, v: &Value) -> bool {
        if self.json {
            println!("{}", serde_json::to_string_pretty(v).unwrap_or_default());
        }
        self.json
    }
}

/// A token's description for `--json`; the token itself only when `--show-token` asked for it.
pub fn deployment_json(d: &Deployment, show_token: bool) -> Value {
    let mut v = json!({
        "profile": d.profile,
        "type": d.kind,
        "app_id": d.app_id.to_string(),
        "system_user_id": d.system_user_id.map(|u| u.to_string()),
        "issued_at": d.issued_at,
        "expires_at": d.expires_at,
        "scopes": d.scopes,
    });
    if show_token {
        v["access_token"] = json!(d.token.expose());
    }
    v
}

/// A stored profile for `--json` (no secret; the token only when asked).
pub fn profile_json(p: &Profile, show_token: bool) -> Value {
    let mut v = json!({
        "profile": p.name,
        "type": p.kind,
        "app_id": p.app_id.to_string(),
        "system_user_id": p.system_user_id.map(|u| u.to_string()),
        "issued_at": p.issued_at,
        "expires_at": p.expires_at,
        "scopes": p.scopes,
        "app_secret_stored": p.app_secret.is_some(),
        "targets": p.targets.iter().map(ToString::to_string).collect::<Vec<_>>(),
        "watch": p.watch,
    });
    if show_token {
        v["access_token"] = json!(p.token.expose());
    }
    v
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
    /// Refuses to make a token that would go nowhere. `save_flag` is the command's own way to keep it in the store
    /// (`--profile` for most, `--save-as` for page-token), so the message names a flag that does that.
    pub fn check(&self, saving_to_profile: bool, save_flag: &str) -> Result<(), ClientError> {
        if self.show_token || self.out.is_some() || saving_to_profile {
            Ok(())
        } else {
            Err(ClientError::Invalid(format!(
                "the new token would go nowhere: pass {save_flag} NAME to keep it in the token store, --out FILE, or \
                 --show-token to print it"
            )))
        }
    }

    /// Writes `--out`, and prints the token if `--show-token` asked and the command is not printing JSON (which
    /// then carries it).
    pub async fn emit(&self, d: &Deployment, json: JsonOut) -> Result<(), ClientError> {
        if let Some(path) = &self.out {
            FileTarget::new(path.clone()).deploy(d).await?;
            eprintln!("wrote the token to {}", path.display());
        }
        if self.show_token && !json.json {
            println!("{}", d.token.expose());
        }
        Ok(())
    }
}

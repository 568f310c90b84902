//! `suat store ...`: the encrypted local token store: list profiles, show one, import an existing token, edit a
//! profile's deploy targets, remove a profile. Tokens are shown only with `--show-token`.

use super::{
    args::{parse_user, AppArgs, GraphArgs, StoreArgs, TokenArgs},
    output::{expiry, finish, profile_json, table, JsonOut},
};
use clap::{Args, Subcommand};
use serde_json::json;
use std::process::ExitCode;
use suat_client::{ClientError, Deployment, TargetSpec};
use suat_core::time::graph_date;

#[derive(Subcommand, Debug)]
pub enum StoreCommand {
    /// List profiles (no secrets).
    List(ListArgs),
    /// Show one profile.
    Show(ShowArgs),
    /// Put an existing token in a profile (it is inspected first; invalid tokens are refused).
    Import(ImportArgs),
    /// Add or remove a profile's deploy targets.
    Targets(TargetsArgs),
    /// Remove a profile (its token is NOT revoked).
    Remove(RemoveArgs),
}

impl StoreCommand {
    pub async fn run(self) -> ExitCode {
        finish(match self {
            StoreCommand::List(a) => a.run(),
            StoreCommand::Show(a) => a.run(),
            StoreCommand::Import(a) => a.run().await,
            StoreCommand::Targets(a) => a.run(),
            StoreCommand::Remove(a) => a.run(),
        })
    }
}

#[derive(Args, Debug)]
pub struct ListArgs {
    #[command(flatten)]
    store: StoreArgs,
    #[command(flatten)]
    json: JsonOut,
}

impl ListArgs {
    fn run(self) -> Result<(), ClientError> {
        let store = self.store.open()?;
        let profiles = store.list()?;
        if self.json.print(&json!(profiles.iter().map(|p| profile_json(p, false)).collect::<Vec<_>>())) {
            return Ok(());
        }
        if profiles.is_empty() {
            eprintln!("no profiles in {}", store.path().display());
            return Ok(());
        }
        println!("{:<20} {:<12} {:<16} {:<16} EXPIRES", "PROFILE", "TYPE", "APP", "SYSTEM USER");
        for p in profiles {
            let su = p.system_user_id.map(|u| u.to_string()).unwrap_or_else(|| "-".into());
            let mut line = format!(
                "{:<20} {:<12} {:<16} {:<16} {}",
                p.name,
                p.kind.as_deref().unwrap_or("-"),
                p.app_id.to_string(),
                su,
                expiry(p.expires_at)
            );
            if let Some(e) = &p.watch.last_error {
                line.push_str(&format!("  [last rotation failed: {}]", e.chars().take(80).collect::<String>()));
            }
            println!("{line}");
        }
        Ok(())
    }
}

#[derive(Args, Debug)]
pub struct ShowArgs {
    /// The store profile to show.
    #[arg(long)]
    profile: String,
    /// Also print the token itself.
    #[arg(long)]
    show_token: bool,
    #[command(flatten)]
    store: StoreArgs,
    #[command(flatten)]
    json: JsonOut,
}

impl ShowArgs {
    fn run(self) -> Result<(), ClientError> {
        let p = self.store.open()?.get(&self.profile)?;
        if self.json.print(&profile_json(&p, self.show_token)) {
            return Ok(());
        }
        let opt = |v: Option<i64>| v.map(graph_date).unwrap_or_else(|| "-".into());
        let targets: Vec<String> = p.targets.iter().map(ToString::to_string).collect();
        let mut rows = vec![
            ("Profile", p.name.clone()),
            ("Type", p.kind.clone().unwrap_or_else(|| "-".into())),
            ("App", p.app_id.to_string()),
            ("System user", p.system_user_id.map(|u| u.to_string()).unwrap_or_else(|| "-".into())),
            ("Issued", opt(p.issued_at)),
            ("Expires", expiry(p.expires_at)),
            ("Scopes", if p.scopes.is_empty() { "-".into() } else { p.scopes.join(", ") }),
            ("App secret", if p.app_secret.is_some() { "stored".into() } else { "not stored".into() }),
            ("Targets", if targets.is_empty() { "-".into() } else { targets.join("  ") }),
            ("Last rotation", opt(p.watch.last_rotated_at)),
            ("Rotations", p.watch.rotations.to_string()),
        ];
        if let Some(e) = &p.watch.last_error {
            rows.push(("Last error", e.clone()));
        }
        rows.push((
            "Token",
            if self.show_token { p.token.expose().to_owned() } else { "(hidden; --show-token to print)".into() },
        ));
        table(&rows);
        Ok(())
    }
}

#[derive(Args, Debug)]
pub struct ImportArgs {
    /// The store profile to create or update with the token.
    #[arg(long)]
    profile: String,
    /// Record this system user (default: what debug_token says).
    #[arg(long)]
    system_user: Option<String>,
    /// Deploy target to remember (repeatable).
    #[arg(long, value_name = "TARGET")]
    deploy: Vec<TargetSpec>,
    #[command(flatten)]
    token: TokenArgs,
    #[command(flatten)]
    app: AppArgs,
    #[command(flatten)]
    graph: GraphArgs,
    #[command(flatten)]
    store: StoreArgs,
    #[command(flatten)]
    json: JsonOut,
}

impl ImportArgs {
    async fn run(self) -> Result<(), ClientError> {
        suat_client::store::validate_profile_name(&self.profile)?;
        let store = self.store.open()?;
        let existing = store.find(&self.profile)?;
        let token = self.token.token(existing.as_ref())?;
        let app = self.app.app_id(existing.as_ref())?;
        let secret = self.app.secret(existing.as_ref());
        let info = self.graph.client()?.inspect(&token, Some(app), secret.as_ref()).await?;
        if let Some(p) = info.problem() {
            return Err(p.into());
        }
        let mut d = Deployment::from_info(Some(self.profile.clone()), token, app, Some(&info));
        if let Some(su) = &self.system_user {
            d.system_user_id = Some(parse_user(su, "--system-user")?);
        }
        store.save_token(&self.profile, &d, secret)?;
        if !self.deploy.is_empty() {
            store.update(&self.profile, |p| {
                for t in &self.deploy {
                    if !p.targets.contains(t) {
                        p.targets.push(t.clone());
                    }
                }
            })?;
        }
        self.json.print(&profile_json(&store.get(&self.profile)?, false));
        eprintln!(
            "stored profile {} ({} token, expires {})",
            self.profile,
            info.kind.as_deref().unwrap_or("?"),
            expiry(d.expires_at)
        );
        Ok(())
    }
}

#[derive(Args, Debug)]
pub struct TargetsArgs {
    /// The store profile whose deploy targets to edit (they are printed after the edit).
    #[arg(long)]
    profile: String,
    /// Add a target: file:PATH, cmd:COMMAND or store:PROFILE (repeatable).
    #[arg(long, value_name = "TARGET")]
    add: Vec<TargetSpec>,
    /// Remove a target (repeatable).
    #[arg(long, value_name = "TARGET")]
    remove: Vec<TargetSpec>,
    /// Remove every target first.
    #[arg(long)]
    clear: bool,
    #[command(flatten)]
    store: StoreArgs,
    #[command(flatten)]
    json: JsonOut,
}

impl TargetsArgs {
    fn run(self) -> Result<(), ClientError> {
        let store = self.store.open()?;
        let p = store.update(&self.profile, |p| {
            if self.clear {
                p.targets.clear();
            }
            p.targets.retain(|t| !self.remove.contains(t));
            for t in &self.add {
                if !p.targets.contains(t) {
                    p.targets.push(t.clone());
                }
            }
        })?;
        if self.json.print(&json!(p.targets.iter().map(ToString::to_string).collect::<Vec<_>>())) {
            return Ok(());
        }
        for t in &p.targets {
            println!("{t}");
        }
        Ok(())
    }
}

#[derive(Args, Debug)]
pub struct RemoveArgs {
    /// The store profile to remove.
    #[arg(long)]
    profile: String,
    #[command(flatten)]
    store: StoreArgs,
    #[command(flatten)]
    json: JsonOut,
}

impl RemoveArgs {
    fn run(self) -> Result<(), ClientError> {
        if self.store.open()?.remove(&self.profile)? {
            self.json.print(&json!({"removed": self.profile, "token_revoked": false}));
            eprintln!("removed profile {} (its token was not revoked)", self.profile);
            Ok(())
        } else {
            Err(ClientError::NoProfile(self.profile))
        }
    }
}

//! `suat token ...`: generate, inspect, refresh, revoke, revoke-all and rotate system-user tokens. Each subcommand
//! resolves its flags (a flag wins over the `--profile`'s stored value) and makes one `suat_client` call.

use super::{
    args::{parse_user, scopes, AppArgs, GraphArgs, StoreArgs, TokenArgs},
    output::{deployment_json, expiry, finish, now, table, JsonOut, TokenOut},
    progress,
};
use clap::{Args, Subcommand};
use serde_json::json;
use std::{path::PathBuf, process::ExitCode};
use suat_client::{
    rotate::{rotate, rotate_profile, RotationRequest},
    Caller, ClientError, DeployTarget, Deployment, GenerateRequest, TargetSpec, TokenInfo,
};
use suat_core::{time::graph_date, AccessToken};

#[derive(Subcommand, Debug)]
pub enum TokenCommand {
    /// Generate a system-user token (permanent, or expiring in 60 days with --expiring).
    Generate(GenerateArgs),
    /// Show what debug_token says about a token (exits 1 if it is not valid).
    Inspect(InspectArgs),
    /// Exchange an expiring token for a new 60-day one (the old one stays valid until its own expiry).
    Refresh(RefreshArgs),
    /// Revoke tokens at once (one, several, or a file of them).
    Revoke(RevokeArgs),
    /// Invalidate every token of a system user (for a compromised system user).
    RevokeAll(RevokeAllArgs),
    /// Zero-downtime rotation: refresh, deploy, verify, then revoke the old token.
    Rotate(RotateArgs),
}

impl TokenCommand {
    pub async fn run(self) -> ExitCode {
        finish(match self {
            TokenCommand::Generate(a) => a.run().await,
            TokenCommand::Inspect(a) => a.run().await,
            TokenCommand::Refresh(a) => a.run().await,
            TokenCommand::Revoke(a) => a.run().await,
            TokenCommand::RevokeAll(a) => a.run().await,
            TokenCommand::Rotate(a) => a.run().await,
        })
    }
}

fn describe(d: &Deployment) -> String {
    let kind = d.kind.as_deref().unwrap_or("token");
    let scopes = if d.scopes.is_empty() { "none".to_owned() } else { d.scopes.join(",") };
    format!("{kind} token of app {}; scopes: {scopes}; expires: {}", d.app_id, expiry(d.expires_at))
}

/// Inspects a new token; a failure there must not lose the token, so it only warns.
async fn inspect_new(
    client: &suat_client::GraphClient,
    token: &AccessToken,
    app: suat_core::AppId,
    secret: &suat_core::AppSecret,
) -> Option<TokenInfo> {
    match client.inspect(token, Some(app), Some(secret)).await {
        Ok(i) => Some(i),
        Err(e) => {
            eprintln!("warning: could not inspect the new token ({e}); its expiry is not recorded");
            None
        }
    }
}

#[derive(Args, Debug)]
pub struct GenerateArgs {
    /// The system user the token is for (default: the profile's).
    #[arg(long)]
    system_user: Option<String>,
    /// Permissions, comma-separated or repeated (e.g. ads_management,business_management).
    #[arg(long)]
    scope: Vec<String>,
    /// A token that expires in 60 days (refreshable and rotatable; Meta's suggested kind).
    #[arg(long)]
    expiring: bool,
    /// Save the new token in this store profile (created or updated).
    #[arg(long)]
    profile: Option<String>,
    #[command(flatten)]
    out: TokenOut,
    #[command(flatten)]
    app: AppArgs,
    /// The caller: an admin user, admin system user or system user of the business.
    #[command(flatten)]
    token: TokenArgs,
    #[command(flatten)]
    graph: GraphArgs,
    #[command(flatten)]
    store: StoreArgs,
    #[command(flatten)]
    json: JsonOut,
}

impl GenerateArgs {
    async fn run(self) -> Result<(), ClientError> {
        self.out.check(self.profile.is_some(), "--profile")?;
        let client = self.graph.client()?;
        let existing = match &self.profile {
            Some(name) => {
                suat_client::store::validate_profile_name(name)?;
                let store = self.store.open()?;
                let p = store.find(name)?;
                Some((store, p))
            }
            None => None,
        };
        let prof = existing.as_ref().and_then(|(_, p)| p.as_ref());
        let app = self.app.app_id(prof)?;
        let secret = self.app.require_secret(prof, "generating a token (appsecret_proof is mandatory)")?;
        let su = match (&self.system_user, prof.and_then(|p| p.system_user_id)) {
            (Some(raw), _) => parse_user(raw, "--system-user")?,
            (None, Some(su)) => su,
            (None, None) => return Err(ClientError::Invalid("--system-user is required".into())),
        };
        let caller = Caller::new(self.token.caller()?).with_secret(Some(secret.clone()));
        let req = GenerateRequest { system_user: su, app, scopes: scopes(&self.scope), expiring: self.expiring };
        let token = client.generate_token(&caller, &req).await?;
        let info = inspect_new(&client, &token, app, &secret).await;
        let d = Deployment::from_info(self.profile.clone(), token, app, info.as_ref());
        if let (Some((store, old)), Some(name)) = (&existing, &self.profile) {
            store.save_token(name, &d, Some(secret))?;
            eprintln!("saved to profile {name} in {}", store.path().display());
            if old.as_ref().is_some_and(|o| o.token != d.token) {
                eprintln!("note: the profile's previous token was replaced, not revoked");
            }
        }
        self.out.emit(&d, self.json).await?;
        self.json.print(&deployment_json(&d, self.out.show_token));
        eprintln!("generated for system user {su}: {}", describe(&d));
        Ok(())
    }
}

#[derive(Args, Debug)]
pub struct InspectArgs {
    /// The profile whose token to inspect.
    #[arg(long)]
    profile: Option<String>,
    /// The token to inspect (default: the profile's).
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

impl InspectArgs {
    async fn run(self) -> Result<(), ClientError> {
        let client = self.graph.client()?;
        let loaded = self.store.profile(self.profile.as_deref())?;
        let prof = loaded.as_ref().map(|(_, p)| p);
        let token = self.token.token(prof)?;
        let app = self.app.app_id(prof).ok();
        let info = client.inspect(&token, app, self.app.secret(prof).as_ref()).await?;
        if !self.json.print(&info.raw) {
            print_info(&info);
        }
        match info.problem() {
            Some(p) => Err(p.into()),
            None => Ok(()),
        }
    }
}

fn print_info(i: &TokenInfo) {
    let opt = |v: &Option<String>| v.clone().unwrap_or_else(|| "-".into());
    let mut rows = vec![
        ("Valid", if i.is_valid { "yes".to_owned() } else { "NO".to_owned() }),
        ("Type", opt(&i.kind)),
        (
            "App",
            match (&i.application, &i.app_id) {
                (Some(n), Some(id)) => format!("{n} ({id})"),
                (Some(n), None) => n.clone(),
                (None, id) => opt(id),
            },
        ),
        ("User", opt(&i.user_id)),
    ];
    if let Some(p) = &i.profile_id {
        rows.push(("Page", p.clone()));
    }
    if let Some(t) = i.issued_at {
        rows.push(("Issued", graph_date(t)));
    }
    if i.kind.as_deref() != Some("APP") {
        rows.push(("Expires", expiry(i.expires_at())));
    }
    rows.push(("Scopes", if i.scopes.is_empty() { "-".into() } else { i.scopes.join(", ") }));
    for g in i.granular_scopes.iter().flatten().filter(|g| !g.target_ids.is_empty()) {
        rows.push(("Granular", format!("{} on {}", g.scope, g.target_ids.join(", "))));
    }
    if let Some(e) = &i.error {
        let sub = e.subcode.map(|s| format!("/{s}")).unwrap_or_default();
        rows.push(("Error", format!("{}{sub}: {}", e.code, e.message)));
    }
    table(&rows);
}

#[derive(Args, Debug)]
pub struct RefreshArgs {
    /// The profile to refresh (its token is replaced by the new one).
    #[arg(long)]
    profile: Option<String>,
    #[command(flatten)]
    out: TokenOut,
    /// The token to refresh (default: the profile's).
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

impl RefreshArgs {
    async fn run(self) -> Result<(), ClientError> {
        self.out.check(self.profile.is_some(), "--profile")?;
        let client = self.graph.client()?;
        let loaded = self.store.profile(self.profile.as_deref())?;
        let prof = loaded.as_ref().map(|(_, p)| p);
        let token = self.token.token(prof)?;
        let app = self.app.app_id(prof)?;
        let secret = self.app.require_secret(prof, "refreshing")?;
        let r = client.refresh_token(app, &secret, &token).await?;
        let info = inspect_new(&client, &r.token, app, &secret).await;
        let mut d = Deployment::from_info(self.profile.clone(), r.token, app, info.as_ref());
        if d.expires_at.is_none() && info.is_none() {
            d.expires_at = r.expires_in.map(|s| now() + s);
        }
        if let (Some((store, _)), Some(name)) = (&loaded, &self.profile) {
            store.save_token(name, &d, None)?;
            eprintln!("saved to profile {name}");
        }
        self.out.emit(&d, self.json).await?;
        self.json.print(&deployment_json(&d, self.out.show_token));
        eprintln!("refreshed: new {}", describe(&d));
        eprintln!(
            "note: the previous token stays valid until its own expiry; revoke it once the new one is deployed \
             (`suat token rotate` does refresh, deploy, verify and revoke in one go)"
        );
        Ok(())
    }
}

#[derive(Args, Debug)]
pub struct RevokeArgs {
    /// The profile whose token to revoke (and, by default, the caller).
    #[arg(long)]
    profile: Option<String>,
    /// A token to revoke (repeatable). Default: the caller's own token.
    #[arg(long, value_name = "TOKEN")]
    revoke_token: Vec<String>,
    /// Revoke every token in this file, one per line (`-` for stdin).
    #[arg(long, value_name = "PATH")]
    tokens_file: Option<PathBuf>,
    /// Remove the profile from the store once its token is revoked.
    #[arg(long, requires = "profile")]
    forget: bool,
    /// The caller (a token of the same app); default: the profile's token.
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

impl RevokeArgs {
    async fn run(self) -> Result<(), ClientError> {
        let client = self.graph.client()?;
        let loaded = self.store.profile(self.profile.as_deref())?;
        let prof = loaded.as_ref().map(|(_, p)| p);
        let caller_token = self.token.token(prof)?;
        let app = self.app.app_id(prof)?;
        let secret = self.app.require_secret(prof, "revoking")?;
        let mut targets: Vec<AccessToken> =
            self.revoke_token.iter().map(|t| AccessToken::from_presented(t.trim())).collect();
        if let Some(f) = &self.tokens_file {
            let text = if f.as_os_str() == "-" {
                std::io::read_to_string(std::io::stdin()).map_err(|e| ClientError::Invalid(format!("stdin: {e}")))?
            } else {
                std::fs::read_to_string(f).map_err(|e| ClientError::Invalid(format!("{}: {e}", f.display())))?
            };
            targets.extend(text.lines().map(str::trim).filter(|l| !l.is_empty()).map(AccessToken::from_presented));
        }
        let profile_token = prof.map(|p| p.token.clone());
        if targets.is_empty() {
            targets.push(profile_token.clone().unwrap_or_else(|| caller_token.clone()));
        }
        // The caller must outlive the other revocations: revoke it last.
        targets.sort_by_key(|t| *t == caller_token);
        targets.dedup();
        let caller = Caller::new(caller_token).with_secret(Some(secret.clone()));
        let mut failed = 0usize;
        let mut results = Vec::new();
        if targets.len() == 1 {
            client.revoke_token(app, &secret, &targets[0], &caller).await?;
            results.push(json!({"token": 1, "revoked": true}));
        } else {
            let pb = progress::bar(targets.len() as u64, "revoking");
            for (i, t) in targets.iter().enumerate() {
                match client.revoke_token(app, &secret, t, &caller).await {
                    Ok(()) => results.push(json!({"token": i + 1, "revoked": true})),
                    Err(e) => {
                        failed += 1;
                        let hint = e.hint().map(|h| format!("\n  what to do: {h}")).unwrap_or_default();
                        progress::line(&pb, &format!("token #{}: {e}{hint}", i + 1));
                        results.push(json!({"token": i + 1, "revoked": false, "error": e.to_string()}));
                    }
                }
                pb.inc(1);
            }
            pb.finish_and_clear();
        }
        let done = targets.len() - failed;
        self.json.print(&json!({"revoked": done, "failed": failed, "tokens": results}));
        eprintln!("revoked {done} of {} token(s)", targets.len());
        let profile_revoked = profile_token.as_ref().is_some_and(|pt| targets.contains(pt)) && failed == 0;
        if let (true, Some((store, p))) = (self.forget && profile_revoked, &loaded) {
            store.remove(&p.name)?;
            eprintln!("removed profile {} from the store", p.name);
        }
        if failed > 0 {
            return Err(ClientError::Invalid(format!("{failed} token(s) could not be revoked")));
        }
        Ok(())
    }
}

#[derive(Args, Debug)]
pub struct RevokeAllArgs {
    /// The system user whose tokens all die (default: the profile's).
    #[arg(long)]
    system_user: Option<String>,
    /// Confirm: every token of the system user stops working at once.
    #[arg(long)]
    yes: bool,
    /// Store profile whose system user, token (as the caller) and app secret to use.
    #[arg(long)]
    profile: Option<String>,
    /// The caller: an admin of the business (default: the profile's token).
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

impl RevokeAllArgs {
    async fn run(self) -> Result<(), ClientError> {
        if !self.yes {
            return Err(ClientError::Invalid(
                "revoke-all invalidates EVERY token of the system user at once: pass --yes to confirm".into(),
            ));
        }
        let client = self.graph.client()?;
        let loaded = self.store.profile(self.profile.as_deref())?;
        let prof = loaded.as_ref().map(|(_, p)| p);
        let su = match (&self.system_user, prof.and_then(|p| p.system_user_id)) {
            (Some(raw), _) => parse_user(raw, "--system-user")?,
            (None, Some(su)) => su,
            (None, None) => return Err(ClientError::Invalid("--system-user is required".into())),
        };
        let caller = Caller::new(self.token.token(prof)?).with_secret(self.app.secret(prof));
        client.revoke_all(&caller, su).await?;
        self.json.print(&json!({"success": true, "system_user_id": su.to_string()}));
        eprintln!("every token of system user {su} is now invalid");
        Ok(())
    }
}

#[derive(Args, Debug)]
pub struct RotateArgs {
    /// The profile to rotate (its token, app and secret are used): its stored targets get the new token, then the
    /// profile itself.
    #[arg(long)]
    profile: Option<String>,
    /// Deploy target (repeatable): file:PATH (atomic, mode 0600), cmd:COMMAND (token on stdin; non-zero exit
    /// fails), store:PROFILE.
    #[arg(long, value_name = "TARGET")]
    deploy: Vec<TargetSpec>,
    /// Remember the --deploy targets in the profile (for later rotations and `suat watch`).
    #[arg(long, requires = "profile")]
    save_targets: bool,
    /// Print the new token on stdout.
    #[arg(long)]
    show_token: bool,
    /// The token to rotate (default: the profile's).
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

impl RotateArgs {
    async fn run(self) -> Result<(), ClientError> {
        let client = self.graph.client()?;
        let report = match &self.profile {
            Some(name) => {
                let store = self.store.open()?;
                if self.save_targets {
                    store.update(name, |p| {
                        for t in &self.deploy {
                            if !p.targets.contains(t) {
                                p.targets.push(t.clone());
                            }
                        }
                    })?;
                }
                rotate_profile(&client, &store, name, &self.deploy, now()).await?
            }
            None => {
                if self.deploy.is_empty() {
                    return Err(ClientError::Invalid(
                        "nowhere to deploy the new token: pass --deploy TARGET (or --profile to rotate a stored \
                         profile); rotating without deploying would revoke the token in use"
                            .into(),
                    ));
                }
                let store = if self.deploy.iter().any(|t| matches!(t, TargetSpec::Store(_))) {
                    Some(self.store.open()?)
                } else {
                    None
                };
                let targets = self
                    .deploy
                    .iter()
                    .map(|t| t.build(store.as_ref()))
                    .collect::<Result<Vec<Box<dyn DeployTarget>>, _>>()?;
                let req = RotationRequest {
                    app_id: self.app.app_id(None)?,
                    app_secret: self.app.require_secret(None, "rotating")?,
                    token: self.token.token(None)?,
                    profile: None,
                };
                rotate(&client, &req, &targets).await?
            }
        };
        eprintln!(
            "rotated: new token deployed to {}; verified (debug_token + GET /me); old token revoked",
            report.deployed_to.join(", ")
        );
        eprintln!("new {}", describe(&report.new));
        if self.json.print(&json!({
            "new": deployment_json(&report.new, self.show_token),
            "old": deployment_json(&report.old, false),
            "deployed_to": report.deployed_to,
            "old_revoked": true,
        })) {
            return Ok(());
        }
        if self.show_token {
            println!("{}", report.new.token.expose());
        }
        Ok(())
    }
}

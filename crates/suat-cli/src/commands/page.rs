//! `suat page-token`: a stable page token from a system-user token (seed 004), for one page or every page the
//! system user has a task on.

use super::{
    args::{parse_page, AppArgs, GraphArgs, StoreArgs, TokenArgs},
    output::{deployment_json, finish, JsonOut, TokenOut},
};
use clap::Args;
use serde_json::json;
use std::process::ExitCode;
use suat_client::{Caller, ClientError, Deployment};

#[derive(Args, Debug)]
pub struct PageTokenArgs {
    /// The page id.
    #[arg(long, required_unless_present = "all", conflicts_with = "all")]
    page: Option<String>,
    /// List every page the system user has a task on (`/me/accounts`); tokens only with --show-token.
    #[arg(long)]
    all: bool,
    /// The system-user store profile whose token (and app secret) asks; the page token is saved only with --save-as.
    #[arg(long)]
    profile: Option<String>,
    /// Save the page token as this store profile.
    #[arg(long, value_name = "PROFILE", conflicts_with = "all")]
    save_as: Option<String>,
    #[command(flatten)]
    out: TokenOut,
    /// The system-user token (default: the profile's).
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

impl PageTokenArgs {
    pub async fn run(self) -> ExitCode {
        finish(self.go().await)
    }

    async fn go(self) -> Result<(), ClientError> {
        if !self.all {
            if self.profile.is_some() && self.save_as.is_none() && !self.out.show_token && self.out.out.is_none() {
                return Err(ClientError::Invalid(
                    "the page token would go nowhere: --profile only names the system-user token that asks for it; \
                     pass --save-as NAME to keep the page token in the store, --out FILE, or --show-token to print it"
                        .into(),
                ));
            }
            self.out.check(self.save_as.is_some(), "--save-as")?;
        } else if self.out.out.is_some() {
            return Err(ClientError::Invalid("--out takes one token: use --page, not --all".into()));
        }
        let client = self.graph.client()?;
        let loaded = self.store.profile(self.profile.as_deref())?;
        let prof = loaded.as_ref().map(|(_, p)| p);
        let secret = self.app.secret(prof);
        let caller = Caller::new(self.token.token(prof)?).with_secret(secret.clone());

        if self.all {
            let pages = client.accounts(&caller).await?;
            let listed: Vec<_> = pages
                .iter()
                .map(|p| {
                    let mut v = json!({"id": p.id, "name": p.name, "tasks": p.tasks});
                    if self.out.show_token {
                        v["access_token"] = json!(p.token.expose());
                    }
                    v
                })
                .collect();
            if self.json.print(&json!(listed)) {
                return Ok(());
            }
            for p in &pages {
                let name = p.name.as_deref().unwrap_or("-");
                let tasks = p.tasks.join(",");
                if self.out.show_token {
                    println!("{}\t{name}\t{tasks}\t{}", p.id, p.token.expose());
                } else {
                    println!("{}\t{name}\t{tasks}", p.id);
                }
            }
            eprintln!("{} page(s)", pages.len());
            return Ok(());
        }

        let page = parse_page(self.page.as_deref().unwrap_or_default())?;
        let token = client.page_token(&caller, page).await?;
        let app = self.app.app_id(prof).ok();
        let info = client.inspect(&token, app, secret.as_ref()).await.ok();
        let app = match app.or_else(|| info.as_ref().and_then(|i| i.app())) {
            Some(a) => a,
            None => return Err(ClientError::Invalid("cannot tell the page token's app: pass --app-id".into())),
        };
        let d = Deployment::from_info(self.save_as.clone(), token, app, info.as_ref());
        if let Some(name) = &self.save_as {
            let store = match &loaded {
                Some((s, _)) => s.clone(),
                None => self.store.open()?,
            };
            store.save_token(name, &d, secret)?;
            eprintln!("saved the page token as profile {name}");
        }
        self.out.emit(&d, self.json).await?;
        self.json.print(&json!({"page_id": page.to_string(), "token": deployment_json(&d, self.out.show_token)}));
        eprintln!("page token for page {page} (never expires; it dies with the system user's token, role or install)");
        Ok(())
    }
}

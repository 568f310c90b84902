//! `suat app install`: lets an app act for a system user (seed 001, `POST /{system-user}/applications`).

use super::{
    args::{parse_user, AppArgs, GraphArgs, TokenArgs},
    output::{finish, JsonOut},
};
use clap::{Args, Subcommand};
use serde_json::json;
use std::process::ExitCode;
use suat_client::{Caller, ClientError};

#[derive(Subcommand, Debug)]
pub enum AppCommand {
    /// Install an app for a system user (caller: an admin user, admin system user or system user of the business).
    Install(InstallArgs),
}

#[derive(Args, Debug)]
pub struct InstallArgs {
    /// The system user to install the app for.
    #[arg(long)]
    system_user: String,
    #[command(flatten)]
    app: AppArgs,
    #[command(flatten)]
    token: TokenArgs,
    #[command(flatten)]
    graph: GraphArgs,
    #[command(flatten)]
    json: JsonOut,
}

impl AppCommand {
    pub async fn run(self) -> ExitCode {
        match self {
            AppCommand::Install(a) => finish(a.run().await),
        }
    }
}

impl InstallArgs {
    async fn run(self) -> Result<(), ClientError> {
        let client = self.graph.client()?;
        let su = parse_user(&self.system_user, "--system-user")?;
        let app = self.app.app_id(None)?;
        let caller = Caller::new(self.token.caller()?).with_secret(self.app.secret(None));
        client.install_app(&caller, su, app).await?;
        self.json.print(&json!({"success": true, "app_id": app.to_string(), "system_user_id": su.to_string()}));
        eprintln!("installed app {app} for system user {su}");
        Ok(())
    }
}

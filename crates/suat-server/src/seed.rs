//! `--seed FILE`: a TOML description of businesses, apps, people (with their user tokens) and system users, created
//! at start-up through the same operations as the control plane. Re-running with objects that already exist is an
//! error, so a seed never silently diverges from the database.

use crate::{ops, state::AppState};
use anyhow::Context;
use serde::Deserialize;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SeedFile {
    #[serde(default)]
    pub businesses: Vec<ops::BusinessSpec>,
    #[serde(default)]
    pub apps: Vec<ops::AppSpec>,
    #[serde(default)]
    pub users: Vec<SeedPerson>,
    #[serde(default)]
    pub system_users: Vec<ops::SystemUserSpec>,
    #[serde(default)]
    pub pages: Vec<ops::PageSpec>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SeedPerson {
    #[serde(flatten)]
    pub person: ops::PersonSpec,
    /// User tokens to issue for this person.
    #[serde(default)]
    pub tokens: Vec<ops::UserTokenSpec>,
}

/// What a seed created, printed at start-up. Secrets only when `--print-secrets` was given.
pub struct SeedReport {
    pub lines: Vec<String>,
}

pub async fn apply(state: &AppState, text: &str, print_secrets: bool) -> anyhow::Result<SeedReport> {
    let seed: SeedFile = toml::from_str(text).context("parsing the seed file")?;
    let mut lines = Vec::new();
    let fail = |what: &str, e: crate::error::GraphError| anyhow::anyhow!("seeding {what}: {}", e.message);
    for b in seed.businesses {
        let name = b.name.clone();
        let id = ops::create_business(state, b).await.map_err(|e| fail(&name, e))?;
        lines.push(format!("business     {id}  {name}"));
    }
    for a in seed.apps {
        let name = a.name.clone();
        let (id, secret) = ops::create_app(state, a).await.map_err(|e| fail(&name, e))?;
        if print_secrets {
            lines.push(format!("app          {id}  {name}  secret={}", secret.expose()));
        } else {
            lines.push(format!("app          {id}  {name}"));
        }
    }
    for u in seed.users {
        let name = u.person.name.clone();
        let id = ops::create_person(state, u.person).await.map_err(|e| fail(&name, e))?;
        lines.push(format!("user         {id}  {name}"));
        for t in u.tokens {
            let app = t.app_id.clone();
            let token = ops::issue_user_token(state, id, t).await.map_err(|e| fail(&name, e))?;
            if print_secrets {
                lines.push(format!("  user token for app {app}: {}", token.expose()));
            } else {
                lines.push(format!("  user token for app {app} issued (--print-secrets to show)"));
            }
        }
    }
    for s in seed.system_users {
        let name = s.name.clone();
        let id = ops::create_system_user(state, s).await.map_err(|e| fail(&name, e))?;
        lines.push(format!("system user  {id}  {name}"));
    }
    for p in seed.pages {
        let name = p.name.clone();
        let id = ops::create_page(state, p).await.map_err(|e| fail(&name, e))?;
        lines.push(format!("page         {id}  {name}"));
    }
    Ok(SeedReport { lines })
}

//! `--seed FILE`: a TOML description of businesses, apps, people (with their user tokens) and system users, created
//! at start-up through the same operations as the control plane. Re-running with objects that already exist is an
//! error, so a seed never silently diverges from the database.

use crate::{operator as ops, Service};
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

pub async fn apply(svc: &Service, text: &str, print_secrets: bool) -> Result<SeedReport, SeedError> {
    let seed: SeedFile = toml::from_str(text).map_err(|e| SeedError(format!("parsing the seed file: {e}")))?;
    let mut lines = Vec::new();
    let fail = |what: &str, e: crate::Error| SeedError(format!("seeding {what}: {e}"));
    for b in seed.businesses {
        let name = b.name.clone();
        let id = ops::create_business(svc, b).await.map_err(|e| fail(&name, e))?;
        lines.push(format!("business     {id}  {name}"));
    }
    for a in seed.apps {
        let name = a.name.clone();
        let (id, secret) = ops::create_app(svc, a).await.map_err(|e| fail(&name, e))?;
        if print_secrets {
            lines.push(format!("app          {id}  {name}  secret={}", secret.expose()));
        } else {
            lines.push(format!("app          {id}  {name}"));
        }
    }
    for u in seed.users {
        let name = u.person.name.clone();
        let id = ops::create_person(svc, u.person).await.map_err(|e| fail(&name, e))?;
        lines.push(format!("user         {id}  {name}"));
        for t in u.tokens {
            let app = t.app_id.clone();
            let token = ops::issue_user_token(svc, id, t).await.map_err(|e| fail(&name, e))?;
            if print_secrets {
                lines.push(format!("  user token for app {app}: {}", token.expose()));
            } else {
                lines.push(format!("  user token for app {app} issued (--print-secrets to show)"));
            }
        }
    }
    for s in seed.system_users {
        let name = s.name.clone();
        let id = ops::create_system_user(svc, s).await.map_err(|e| fail(&name, e))?;
        lines.push(format!("system user  {id}  {name}"));
    }
    for p in seed.pages {
        let name = p.name.clone();
        let id = ops::create_page(svc, p).await.map_err(|e| fail(&name, e))?;
        lines.push(format!("page         {id}  {name}"));
    }
    Ok(SeedReport { lines })
}

/// Why a seed could not be applied, in one line.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct SeedError(pub String);

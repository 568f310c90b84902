//! `--seed FILE`: a TOML description of businesses, apps, people (with their user tokens) and system users, created
//! at start-up through the same operations as the control plane.
//!
//! Applied on every start, so it must be idempotent: an object whose `id` already exists is left as it is, provided
//! it is the same kind of object with the same name (anything else fails the start, naming the object, rather than
//! silently diverge); a fixed `access_token` already stored is kept; a person who already exists gets no new
//! tokens. Objects without an `id` cannot be recognised and are created at every start.

use crate::{operator as ops, Service};
use serde::Deserialize;
use suat_core::{AppId, BusinessId, PageId, UserId};

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
    /// Rate-limit quotas (GRAPH-WIRE §8), kept across `POST /_suat/reset`.
    pub rate_limits: Option<crate::limits::QuotaSpec>,
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
    if let Some(q) = &seed.rate_limits {
        svc.limits.seed(q).map_err(SeedError)?;
    }
    let fail = |what: &str, e: crate::Error| SeedError(format!("seeding {what}: {e}"));
    let differs = |what: &str, id: &str, found: &str| {
        SeedError(format!(
            "seeding {what}: id {id} already exists as {found}; give it another id, or start on an empty database"
        ))
    };
    for b in seed.businesses {
        let name = b.name.clone();
        if let Some(id) = parsed::<BusinessId>(&b.id) {
            if let Some(found) = svc.store.get_business(id).await.map_err(|e| fail(&name, e.into()))? {
                if found.name != name {
                    return Err(differs(&name, &id.to_string(), &format!("business {:?}", found.name)));
                }
                lines.push(format!("business     {id}  {name}  (exists)"));
                continue;
            }
        }
        let id = ops::create_business(svc, b).await.map_err(|e| fail(&name, e))?;
        lines.push(format!("business     {id}  {name}"));
    }
    for a in seed.apps {
        let name = a.name.clone();
        if let Some(id) = parsed::<AppId>(&a.id) {
            if let Some(found) = svc.store.get_app(id).await.map_err(|e| fail(&name, e.into()))? {
                if found.app.name != name {
                    return Err(differs(&name, &id.to_string(), &format!("app {:?}", found.app.name)));
                }
                lines.push(format!("app          {id}  {name}  (exists)"));
                continue;
            }
        }
        let (id, secret) = ops::create_app(svc, a).await.map_err(|e| fail(&name, e))?;
        if print_secrets {
            lines.push(format!("app          {id}  {name}  secret={}", secret.expose()));
        } else {
            lines.push(format!("app          {id}  {name}"));
        }
    }
    for u in seed.users {
        let name = u.person.name.clone();
        let existing = match parsed::<UserId>(&u.person.id) {
            Some(id) => svc.store.get_user(id).await.map_err(|e| fail(&name, e.into()))?.map(|found| (id, found)),
            None => None,
        };
        let (id, new) = match existing {
            Some((id, found)) => {
                if found.name != name || found.is_system_user() {
                    return Err(differs(&name, &id.to_string(), &format!("user {:?}", found.name)));
                }
                lines.push(format!("user         {id}  {name}  (exists)"));
                (id, false)
            }
            None => {
                let id = ops::create_person(svc, u.person).await.map_err(|e| fail(&name, e))?;
                lines.push(format!("user         {id}  {name}"));
                (id, true)
            }
        };
        for t in u.tokens {
            let app = t.app_id.clone();
            if let Some(fixed) = &t.access_token {
                let hash = svc.hash(fixed);
                if let Some(found) = svc.store.get_token(&hash).await.map_err(|e| fail(&name, e.into()))? {
                    if found.user_id != Some(id) || found.app_id.to_string() != app {
                        return Err(SeedError(format!(
                            "seeding {name}: its fixed access_token for app {app} is already another user's or app's"
                        )));
                    }
                    lines.push(format!("  user token for app {app} (exists)"));
                    continue;
                }
            } else if !new {
                // A generated token cannot be recognised: it was issued when the person was created.
                continue;
            }
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
        if let Some(id) = parsed::<UserId>(&s.id) {
            if let Some(found) = svc.store.get_user(id).await.map_err(|e| fail(&name, e.into()))? {
                if found.name != name || !found.is_system_user() {
                    return Err(differs(&name, &id.to_string(), &format!("user {:?}", found.name)));
                }
                lines.push(format!("system user  {id}  {name}  (exists)"));
                continue;
            }
        }
        let id = ops::create_system_user(svc, s).await.map_err(|e| fail(&name, e))?;
        lines.push(format!("system user  {id}  {name}"));
    }
    for p in seed.pages {
        let name = p.name.clone();
        if let Some(id) = parsed::<PageId>(&p.id) {
            if let Some(found) = svc.store.get_page(id).await.map_err(|e| fail(&name, e.into()))? {
                if found.name != name {
                    return Err(differs(&name, &id.to_string(), &format!("page {:?}", found.name)));
                }
                lines.push(format!("page         {id}  {name}  (exists)"));
                continue;
            }
        }
        let id = ops::create_page(svc, p).await.map_err(|e| fail(&name, e))?;
        lines.push(format!("page         {id}  {name}"));
    }
    Ok(SeedReport { lines })
}

/// A seed object's `id`, if it gives one that parses (one that does not is refused by the create call).
fn parsed<T: std::str::FromStr>(id: &Option<String>) -> Option<T> {
    id.as_deref().and_then(|s| s.parse().ok())
}

/// Why a seed could not be applied, in one line.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct SeedError(pub String);

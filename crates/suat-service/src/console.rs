//! The web console's use cases (issue 13). Who is signed in (a person with a password, or the operator with the
//! control-plane key) travels as a signed cookie; a signed-in person acts through the very use cases the Graph
//! handlers call, as a [`Caller`] without an app token, so the rules, the errors and the audit entries are the same.

use crate::{caller::Caller, caller::Resolved, Error, Result, Service};
use serde_json::json;
use suat_core::{
    rules,
    scope::{CAPABILITY_GATED, PUBLISH_ACTIONS, SUPPORTED},
    AccessToken, App, AppId, AppSecretProof, Business, BusinessId, Scope, TokenProblem, User, UserId, UserKind,
};
use suat_store::prelude::*;

/// How long a console session lasts (server clock): a working day.
pub const SESSION_TTL: i64 = 8 * 3600;

/// Who is signed in to the console.
#[derive(Debug, Clone)]
pub enum Principal {
    /// A person, signed in with their password: acts as themselves, under the Graph's rules.
    Person(User),
    /// The operator, signed in with the control-plane key: sees every business and uses the control plane's calls.
    Operator,
}

/// One business as the console shows it.
pub struct BusinessView {
    pub business: Business,
    pub system_users: Vec<SystemUserView>,
    /// The people of the business (they can be given tasks on its pages too).
    pub people: Vec<User>,
    /// Apps the business owns, then those shared with it (or with its parent).
    pub apps: Vec<App>,
    pub pages: Vec<PageView>,
}

pub struct SystemUserView {
    pub user: User,
    /// Apps installed for it.
    pub installed: Vec<AppId>,
    /// Its tokens that were never revoked: (token_ref, kind, app, scopes, expires_at).
    pub tokens: Vec<suat_store::TokenSummary>,
}

pub struct PageView {
    pub page: suat_core::page::Page,
    /// The people and system users with tasks on it.
    pub people: Vec<(User, Vec<&'static str>)>,
}

impl Service {
    fn session_mac(&self, body: &str) -> String {
        self.keys.token.hash(&format!("console-session|{body}")).to_hex()
    }

    /// The console's session cookie value for `who`, valid until `now + SESSION_TTL`: `kind.id.epoch.expiry.mac`,
    /// keyed with the service key so it cannot be forged, and carrying the person's session epoch so a password
    /// change signs them out too. Stateless: any replica with the same master key accepts it.
    pub fn console_session(&self, who: &Principal, now: i64) -> String {
        let body = match who {
            Principal::Person(u) => format!("p.{}.{}.{}", u.id, u.session_epoch, now + SESSION_TTL),
            Principal::Operator => format!("o.0.0.{}", now + SESSION_TTL),
        };
        format!("{body}.{}", self.session_mac(&body))
    }

    /// Who a session cookie names, if it is one this server made, not expired, and its person still exists with the
    /// same session epoch.
    pub async fn console_principal(&self, cookie: &str, now: i64) -> Result<Option<Principal>> {
        let Some((body, mac)) = cookie.rsplit_once('.') else { return Ok(None) };
        let good: bool = subtle::ConstantTimeEq::ct_eq(mac.as_bytes(), self.session_mac(body).as_bytes()).into();
        let parts: Vec<&str> = body.split('.').collect();
        let [kind, id, epoch, expires] = parts[..] else { return Ok(None) };
        let expires: i64 = expires.parse().unwrap_or(i64::MIN);
        if !good || expires <= now {
            return Ok(None);
        }
        match kind {
            "o" => Ok(Some(Principal::Operator)),
            "p" => {
                let Ok(id) = id.parse::<UserId>() else { return Ok(None) };
                Ok(self
                    .store
                    .get_user(id)
                    .await?
                    .filter(|u| u.session_epoch.to_string() == epoch && !u.is_system_user())
                    .map(Principal::Person))
            }
            _ => Ok(None),
        }
    }

    /// A signed-in person as the caller of a Graph use case. The console is the Business Manager UI: it acts as the
    /// person, with no app token, so the caller carries no app and no token record; `token` is a random value that
    /// exists only for this call (see [`Service::console_generate`]).
    pub fn console_caller(&self, user: User) -> Caller {
        let mut b = [0u8; 16];
        rand::RngCore::fill_bytes(&mut rand::rngs::OsRng, &mut b);
        let token = format!("console:{}", b.iter().map(|x| format!("{x:02x}")).collect::<String>());
        Caller {
            token,
            resolved: Resolved { app: None, record: None, user: Some(user), is_app_token: false, problem: None },
        }
    }

    /// "Generate New Token" from the console: [`Service::generate`], with the appsecret_proof the Graph call needs
    /// made here, since the console holds the app's secret (a person in Business Manager types no proof either).
    pub async fn console_generate(
        &self,
        caller: &Caller,
        su: UserId,
        app: AppId,
        scopes: Vec<Scope>,
        expiring: bool,
        now: i64,
    ) -> Result<AccessToken> {
        let stored = self.store.get_app(app).await?.ok_or_else(|| {
            Error::param(format!("Param business_app must be a valid app ID: app {app} does not exist"))
        })?;
        let proof = AppSecretProof::compute(&self.app_secret(&stored)?, &caller.token);
        let req = crate::system_users::GenerateRequest {
            app,
            scopes,
            expiring,
            proof: Some(proof.as_str()),
            proof_time: None,
        };
        self.generate(caller, su, req, now).await
    }

    /// "Revoke" one token from the console: a system user's token (or a page token derived from one), by an admin of
    /// its business (the rule `DELETE /{su}/access_tokens` applies). Audited as `revoke`, like `/oauth/revoke`.
    /// Revoking an already-revoked token succeeds, as on the Graph.
    pub async fn revoke_as_admin(&self, caller: &Caller, token: &str, now: i64) -> Result<()> {
        let admin = caller.user()?;
        let target = self.resolve(token.trim(), now).await?;
        let (Some(rec), Some(owner)) = (target.record, target.user) else {
            return Err(target.problem.unwrap_or(TokenProblem::Unparseable).into());
        };
        rules::check_is_system_user("post", &owner)?;
        rules::check_caller_in_business(admin, &owner)?;
        let audit = AuditEntry::new(now, "revoke", admin.id.to_string())
            .subject(owner.id)
            .app(rec.app_id)
            .token(&rec.hash)
            .detail(json!({"kind": rec.kind.as_str(), "via": "console"}));
        self.write(Write::RevokeToken { hash: rec.hash, at: now }, audit).await?;
        Ok(())
    }

    /// The permissions "Generate New Token" offers for `app`: those the rules let a system user's token carry (the
    /// supported ones, the capability-gated ones and the legacy `publish_actions`, each as `check_scopes` decides).
    pub fn grantable_scopes(app: &App) -> Vec<Scope> {
        let gated = CAPABILITY_GATED.iter().map(|(s, _)| s);
        let mut names: Vec<&str> = SUPPORTED.iter().chain(gated).copied().chain([PUBLISH_ACTIONS]).collect();
        names.sort_unstable();
        names
            .into_iter()
            .filter_map(|s| Scope::parse(s).ok())
            .filter(|s| rules::check_scopes(app, std::slice::from_ref(s)).is_ok())
            .collect()
    }

    /// The businesses `who` may see, with their system users, apps and pages: every business for the operator, the
    /// person's own business otherwise. Read from one consistent dump of the store.
    pub async fn console_view(&self, who: &Principal, only: Option<BusinessId>) -> Result<Vec<BusinessView>> {
        let d = self.store.dump().await?;
        let visible = |b: &Business| match who {
            Principal::Operator => true,
            Principal::Person(u) => u.business_id == Some(b.id),
        };
        let mut out = Vec::new();
        for b in d.businesses.iter().filter(|b| visible(b) && (only.is_none() || only == Some(b.id))) {
            let mine = |x: BusinessId| x == b.id || Some(x) == b.parent_id;
            let apps: Vec<App> = d
                .apps
                .iter()
                .filter(|a| a.owner_business.is_some_and(mine) || a.client_businesses.iter().any(|c| mine(*c)))
                .cloned()
                .collect();
            let system_users = d
                .users
                .iter()
                .filter(|u| u.is_system_user() && u.business_id == Some(b.id))
                .map(|u| SystemUserView {
                    user: u.clone(),
                    installed: d.installs.iter().filter(|(su, _)| *su == u.id).map(|(_, a)| *a).collect(),
                    tokens: d
                        .tokens
                        .iter()
                        .filter(|t| t.user_id == Some(u.id) && t.revoked_at.is_none() && t.kind == "SYSTEM_USER")
                        .cloned()
                        .collect(),
                })
                .collect();
            let people =
                d.users.iter().filter(|u| !u.is_system_user() && u.business_id == Some(b.id)).cloned().collect();
            let pages = d
                .pages
                .iter()
                .filter(|p| p.business_id == b.id)
                .map(|p| PageView {
                    page: p.clone(),
                    people: d
                        .page_roles
                        .iter()
                        .filter(|r| r.page_id == p.id)
                        .filter_map(|r| {
                            let u = d.users.iter().find(|u| u.id == r.user_id)?;
                            Some((u.clone(), r.tasks.iter().map(|t| t.as_str()).collect()))
                        })
                        .collect(),
                })
                .collect();
            out.push(BusinessView { business: b.clone(), system_users, people, apps, pages });
        }
        Ok(out)
    }
}

/// A person's role as the console shows it.
pub fn role_name(u: &User) -> &'static str {
    match u.kind {
        UserKind::Person { admin: true } => "Admin",
        UserKind::Person { admin: false } => "Employee",
        UserKind::SystemUser { role } => match role {
            suat_core::SystemUserRole::Admin => "Admin",
            suat_core::SystemUserRole::Employee => "Employee",
        },
    }
}

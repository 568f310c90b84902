//! System users and what the seeds let callers do with them: install an app, generate a token, invalidate all of
//! its tokens, uninstall; and create and list them on a business.

use crate::{caller::Caller, Error, Result, Service};
use serde_json::json;
use std::sync::Arc;
use suat_core::{
    rules, AccessToken, AppId, AppSecretProof, BusinessId, CoreError, Scope, SystemUserRole, TokenRecord, User, UserId,
    UserKind,
};
use suat_store::prelude::*;

/// A system user as `GET /{business}/system_users` lists it: the id is app-scoped for apps the business does not own.
pub struct Listed {
    pub id: UserId,
    pub name: String,
    pub role: SystemUserRole,
}

/// What `POST /{su}/access_tokens` asks for.
pub struct GenerateRequest<'a> {
    pub app: AppId,
    pub scopes: Vec<Scope>,
    pub expiring: bool,
    /// The proof is always required here, computed with the secret of the app the token is generated for.
    pub proof: Option<&'a str>,
    pub proof_time: Option<&'a str>,
}

impl Service {
    /// A system user named by its id or by an app-scoped id (seed 000: "install the app using the app-scoped ID").
    /// Returns the user and, for an app-scoped id, the app it is scoped to.
    async fn load_system_user(&self, id: UserId, method: &'static str) -> Result<(User, Option<AppId>)> {
        if let Some(u) = self.store.get_user(id).await? {
            return Ok((u, None));
        }
        if let Some((app, su)) = self.store.resolve_app_scoped_id(id).await? {
            if let Some(u) = self.store.get_user(su).await? {
                return Ok((u, Some(app)));
            }
        }
        Err(CoreError::UnknownObject { method, id: id.to_string() }.into())
    }

    async fn load_business_app(&self, id: AppId) -> Result<Arc<StoredApp>> {
        self.store
            .get_app(id)
            .await?
            .ok_or_else(|| Error::param(format!("Param business_app must be a valid app ID: app {id} does not exist")))
    }

    pub(crate) async fn load_business(&self, id: BusinessId, method: &'static str) -> Result<suat_core::Business> {
        self.store.get_business(id).await?.ok_or_else(|| CoreError::UnknownObject { method, id: id.to_string() }.into())
    }

    /// A system user's own business, with its parent (seed 002 decides what the system user may use from both).
    async fn business_of(&self, su: &User) -> Result<suat_core::Business> {
        let id = su.business_id.ok_or_else(|| Error::param("The system user has no business"))?;
        self.store.get_business(id).await?.ok_or_else(|| Error::param(format!("Business {id} does not exist")))
    }

    /// POST /{su}/applications: installs `app` for the system user.
    pub async fn install(&self, caller: &Caller, su: UserId, app_id: AppId, now: i64) -> Result<()> {
        let caller_user = caller.user()?;
        let (su, scoped) = self.load_system_user(su, "post").await?;
        let app = self.load_business_app(app_id).await?;
        rules::check_app_scoped_id(scoped, app_id)?;
        rules::check_is_system_user("post", &su)?;
        let business = self.business_of(&su).await?;
        rules::check_install(caller_user, &su, &business, &app.app)?;
        rules::check_addressed_for_app(&business, &app.app, scoped.is_some())?;
        let audit = AuditEntry::new(now, "install", caller_user.id.to_string()).subject(su.id).app(app_id);
        self.write(Write::Install { su: su.id, app: app_id }, audit).await?;
        Ok(())
    }

    /// DELETE /{su}/applications: the system user's tokens for that app stop working (190/458), and so do page
    /// tokens derived from them.
    pub async fn uninstall(&self, caller: &Caller, su: UserId, app_id: AppId, now: i64) -> Result<()> {
        let caller_user = caller.user()?;
        let (su, scoped) = self.load_system_user(su, "delete").await?;
        rules::check_app_scoped_id(scoped, app_id)?;
        rules::check_is_system_user("delete", &su)?;
        rules::check_caller_in_business(caller_user, &su)?;
        if !self.store.is_installed(su.id, app_id).await? {
            return Err(Error::param(format!("App {app_id} is not installed for system user {}", su.id)));
        }
        let audit = AuditEntry::new(now, "uninstall", caller_user.id.to_string()).subject(su.id).app(app_id);
        self.write(Write::Uninstall { su: su.id, app: app_id }, audit).await?;
        Ok(())
    }

    /// POST /{su}/access_tokens: a new system-user token, permanent or 60-day.
    pub async fn generate(
        &self,
        caller: &Caller,
        su: UserId,
        req: GenerateRequest<'_>,
        now: i64,
    ) -> Result<AccessToken> {
        let caller_user = caller.user()?;
        let (su, scoped) = self.load_system_user(su, "post").await?;
        let app = self.load_business_app(req.app).await?;
        rules::check_app_scoped_id(scoped, req.app)?;
        let Some(proof) = req.proof else {
            self.proof_failed(app.app.id, &caller.token, true).await;
            return Err(CoreError::ProofMissing.into());
        };
        let secret = self.app_secret(&app)?;
        if let Err(e) = AppSecretProof::verify(&secret, &caller.token, proof, req.proof_time, now) {
            self.proof_failed(app.app.id, &caller.token, false).await;
            return Err(e.into());
        }
        rules::check_is_system_user("post", &su)?;
        let business = self.business_of(&su).await?;
        let installed = self.store.is_installed(su.id, req.app).await?;
        rules::check_generate(caller_user, &su, &app.app, &business, installed, &req.scopes, req.expiring)?;
        rules::check_addressed_for_app(&business, &app.app, scoped.is_some())?;
        if scoped.is_some() {
            rules::check_app_scoped_query_window(&app.app, now)?;
        }

        let token = AccessToken::mint(&mut rand::rngs::OsRng);
        let rec = TokenRecord::system_user(self.hash(token.expose()), req.app, &su, req.scopes, now, req.expiring);
        let mut detail = json!({
            "kind": "SYSTEM_USER",
            "scopes": rec.scopes.iter().map(|s| s.as_str()).collect::<Vec<_>>(),
            "expires_at": rec.expires_at,
        });
        let audit =
            AuditEntry::new(now, "issue", caller_user.id.to_string()).subject(su.id).app(req.app).token(&rec.hash);
        // Through an app-scoped id, the same transaction restarts the app's 90 days (seed 000).
        let write = if scoped.is_some() {
            detail["via"] = json!("app_scoped_id");
            Write::IssueAppScopedToken(rec)
        } else {
            Write::IssueToken(rec)
        };
        self.write(write, audit.detail(detail)).await?;
        Ok(token)
    }

    /// DELETE /{su}/access_tokens: invalidates every token of the system user.
    pub async fn revoke_all(&self, caller: &Caller, su: UserId, now: i64) -> Result<u64> {
        let caller_user = caller.user()?;
        let (su, _) = self.load_system_user(su, "delete").await?;
        rules::check_is_system_user("delete", &su)?;
        rules::check_caller_in_business(caller_user, &su)?;
        let audit = AuditEntry::new(now, "revoke_all", caller_user.id.to_string()).subject(su.id);
        match self.write(Write::RevokeAllForUser { user: su.id, at: now }, audit).await? {
            Written::Count(n) => Ok(n),
            _ => Ok(0),
        }
    }

    /// POST /{business}/system_users: a new system user of the business, by one of its admins.
    pub async fn create_system_user(
        &self,
        caller: &Caller,
        business: BusinessId,
        name: &str,
        role: SystemUserRole,
        now: i64,
    ) -> Result<UserId> {
        let name = name.trim().to_owned();
        if name.is_empty() || name.chars().count() > 100 {
            return Err(Error::param("Param name must be 1 to 100 characters"));
        }
        let caller_user = caller.user()?;
        self.load_business(business, "post").await?;
        rules::check_business_admin(caller_user, business, "manage its system users")?;
        let id = UserId(self.store.next_id().await?);
        let user = User {
            id,
            name,
            business_id: Some(business),
            kind: UserKind::SystemUser { role },
            session_epoch: 0,
            email: None,
        };
        let audit = AuditEntry::new(now, "create_system_user", caller_user.id.to_string())
            .subject(id)
            .detail(json!({"business": business, "role": role.as_str()}));
        self.write(Write::CreateUser(user), audit).await?;
        Ok(id)
    }

    /// GET /{business}/system_users. Seed 000, step 4: with a token of an app the business does not own, the ids
    /// are app-scoped to that app, and the caller must be a developer or admin of the app (as well as an admin of
    /// the business).
    pub async fn list_system_users(&self, caller: &Caller, business: BusinessId) -> Result<Vec<Listed>> {
        let caller_user = caller.user()?;
        let biz = self.load_business(business, "get").await?;
        rules::check_business_admin(caller_user, business, "manage its system users")?;
        let app = &caller.app().app;
        // Plain ids for an app the business (or its parent, seed 002) owns; app-scoped ids otherwise.
        let cross_business = rules::claim(app, &biz) != Some(rules::Claim::Owned);
        if cross_business {
            rules::check_can_list_app_scoped(caller_user, app)?;
        }
        let mut out = Vec::new();
        for u in self.store.list_system_users(business).await? {
            let role = match u.kind {
                UserKind::SystemUser { role } => role,
                UserKind::Person { .. } => SystemUserRole::Employee,
            };
            let id = if cross_business { self.store.app_scoped_id(app.id, u.id).await? } else { u.id };
            out.push(Listed { id, name: u.name, role });
        }
        Ok(out)
    }
}

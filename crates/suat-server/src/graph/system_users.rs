//! System users and what the seeds let callers do with them: install an app (`/applications`), generate a token
//! (`/access_tokens`), invalidate all of its tokens (DELETE `/access_tokens`), and create/list them on a business.

use super::{success, GraphRequest};
use crate::{
    auth::{authenticate, ProofPolicy},
    error::{graph_json, GraphError},
    state::AppState,
};
use axum::response::Response;
use serde_json::json;
use suat_core::{
    rules, scope::parse_scopes, time::SIXTY_DAYS, AccessToken, AppId, AppRole, AppSecretProof, BusinessId, CoreError,
    SystemUserRole, TokenKind, TokenRecord, User, UserId, UserKind,
};
#[allow(unused_imports)]
use suat_store::prelude::*;
use suat_store::{AuditEntry, StoredApp};

/// A system user named by its id or by an app-scoped id (seed 000: "install the app using the app-scoped ID").
/// Returns the user and, for an app-scoped id, the app it is scoped to.
async fn load_user(state: &AppState, raw: &str, method: &'static str) -> Result<(User, Option<AppId>), GraphError> {
    let id: UserId = super::parse_id(raw, method)?;
    if let Some(u) = state.store.get_user(id).await? {
        return Ok((u, None));
    }
    if let Some((app, su)) = state.store.resolve_app_scoped_id(id).await? {
        if let Some(u) = state.store.get_user(su).await? {
            return Ok((u, Some(app)));
        }
    }
    Err(CoreError::UnknownObject { method, id: id.to_string() }.into())
}

/// An app-scoped id only speaks for its own app.
fn check_scope_matches(scoped: Option<AppId>, app: AppId) -> Result<(), GraphError> {
    match scoped {
        Some(a) if a != app => {
            Err(GraphError::param(format!("This app-scoped system user id belongs to app {a}, not {app}")))
        }
        _ => Ok(()),
    }
}

async fn load_app(state: &AppState, id: AppId) -> Result<std::sync::Arc<StoredApp>, GraphError> {
    state
        .store
        .get_app(id)
        .await?
        .ok_or_else(|| GraphError::param(format!("Param business_app must be a valid app ID: app {id} does not exist")))
}

/// POST /{su}/applications `business_app`.
pub async fn install(state: &AppState, req: &GraphRequest, su_id: &str) -> Result<Response, GraphError> {
    let app_id: AppId = req.params.id("business_app")?;
    let caller = authenticate(state, &req.params, req.now, ProofPolicy::Standard).await?;
    let caller_user = caller.user()?;
    let (su, scoped) = load_user(state, su_id, "post").await?;
    let app = load_app(state, app_id).await?;
    check_scope_matches(scoped, app_id)?;
    rules::check_install(caller_user, &su, &app.app)?;
    rules::check_addressed_for_app(&su, &app.app, scoped.is_some())?;
    let audit = AuditEntry::new(req.now, "install", caller_user.id.to_string()).subject(su.id).app(app_id);
    state.store.execute(&Write::Install { su: su.id, app: app_id }, &audit).await?;
    success()
}

/// POST /{su}/access_tokens `business_app`, `scope`, `appsecret_proof`, `set_token_expires_in_60_days`.
pub async fn generate(state: &AppState, req: &GraphRequest, su_id: &str) -> Result<Response, GraphError> {
    let p = &req.params;
    let app_id: AppId = p.id("business_app")?;
    let scopes = parse_scopes(p.get("scope").unwrap_or(""))?;
    let expiring = p.flag("set_token_expires_in_60_days")?;
    let caller = authenticate(state, p, req.now, ProofPolicy::EndpointVerifies).await?;
    let caller_user = caller.user()?;
    let (su, scoped) = load_user(state, su_id, "post").await?;
    let app = load_app(state, app_id).await?;
    check_scope_matches(scoped, app_id)?;
    // The proof is always required here, computed with the secret of the app the token is generated for.
    let proof = p.get("appsecret_proof").ok_or(CoreError::ProofMissing)?;
    let secret = state.app_secret(&app)?;
    AppSecretProof::verify(&secret, &caller.token, proof, p.get("appsecret_time"), req.now)?;
    rules::check_is_system_user("post", &su)?;
    let business_id = su.business_id.ok_or_else(|| GraphError::param("The system user has no business"))?;
    let business = state
        .store
        .get_business(business_id)
        .await?
        .ok_or_else(|| GraphError::param(format!("Business {business_id} does not exist")))?;
    let installed = state.store.is_installed(su.id, app_id).await?;
    rules::check_generate(caller_user, &su, &app.app, &business, installed, &scopes, expiring)?;
    rules::check_addressed_for_app(&su, &app.app, scoped.is_some())?;

    let token = AccessToken::mint(&mut rand::rngs::OsRng);
    let rec = TokenRecord {
        hash: state.keys.token.hash(token.expose()),
        kind: TokenKind::SystemUser,
        app_id,
        user_id: Some(su.id),
        page_id: None,
        scopes,
        issued_at: req.now,
        expires_at: expiring.then_some(req.now + SIXTY_DAYS),
        revoked_at: None,
        parent: None,
        session_epoch: su.session_epoch,
    };
    let audit = AuditEntry::new(req.now, "issue", caller_user.id.to_string())
        .subject(su.id)
        .app(app_id)
        .token(&rec.hash)
        .detail(json!({
            "kind": "SYSTEM_USER",
            "scopes": rec.scopes.iter().map(|s| s.as_str()).collect::<Vec<_>>(),
            "expires_at": rec.expires_at,
        }));
    state.store.execute(&Write::IssueToken(rec.clone()), &audit).await?;
    Ok(graph_json(json!({ "access_token": token.expose() })))
}

/// DELETE /{su}/access_tokens: invalidates every token of the system user.
pub async fn revoke_all(state: &AppState, req: &GraphRequest, su_id: &str) -> Result<Response, GraphError> {
    let caller = authenticate(state, &req.params, req.now, ProofPolicy::Standard).await?;
    let caller_user = caller.user()?;
    let (su, _) = load_user(state, su_id, "delete").await?;
    rules::check_is_system_user("delete", &su)?;
    rules::check_caller_in_business(caller_user, &su)?;
    let audit = AuditEntry::new(req.now, "revoke_all", caller_user.id.to_string()).subject(su.id);
    state.store.execute(&Write::RevokeAllForUser { user: su.id, at: req.now }, &audit).await?;
    success()
}

/// DELETE /{su}/applications `business_app`: the system user's tokens for that app stop working (190/458), and so
/// do page tokens derived from them.
pub async fn uninstall(state: &AppState, req: &GraphRequest, su_id: &str) -> Result<Response, GraphError> {
    let app_id: AppId = req.params.id("business_app")?;
    let caller = authenticate(state, &req.params, req.now, ProofPolicy::Standard).await?;
    let caller_user = caller.user()?;
    let (su, scoped) = load_user(state, su_id, "delete").await?;
    check_scope_matches(scoped, app_id)?;
    rules::check_is_system_user("delete", &su)?;
    rules::check_caller_in_business(caller_user, &su)?;
    if !state.store.is_installed(su.id, app_id).await? {
        return Err(GraphError::param(format!("App {app_id} is not installed for system user {}", su.id)));
    }
    let audit = AuditEntry::new(req.now, "uninstall", caller_user.id.to_string()).subject(su.id).app(app_id);
    state.store.execute(&Write::Uninstall { su: su.id, app: app_id }, &audit).await?;
    success()
}

async fn load_business(
    state: &AppState,
    id: BusinessId,
    method: &'static str,
) -> Result<suat_core::Business, GraphError> {
    state.store.get_business(id).await?.ok_or_else(|| CoreError::UnknownObject { method, id: id.to_string() }.into())
}

/// Admins of a business (admin people and admin system users) manage its system users.
fn require_business_admin(caller: &User, business: BusinessId) -> Result<(), GraphError> {
    if caller.business_id == Some(business) && caller.is_business_admin() {
        Ok(())
    } else {
        Err(CoreError::Permission {
            code: 200,
            message: "Only admins of this Business Manager can manage its system users".into(),
        }
        .into())
    }
}

/// POST /{business}/system_users `name`, `role` -> `{"id"}`.
pub async fn create(state: &AppState, req: &GraphRequest, business_id: BusinessId) -> Result<Response, GraphError> {
    let name = req.params.require("name")?.trim().to_owned();
    if name.is_empty() || name.chars().count() > 100 {
        return Err(GraphError::param("Param name must be 1 to 100 characters"));
    }
    let role = SystemUserRole::parse(req.params.get("role").unwrap_or("EMPLOYEE"))
        .ok_or_else(|| GraphError::param("Param role must be one of {ADMIN, EMPLOYEE}"))?;
    let caller = authenticate(state, &req.params, req.now, ProofPolicy::Standard).await?;
    let caller_user = caller.user()?;
    load_business(state, business_id, "post").await?;
    require_business_admin(caller_user, business_id)?;
    let id = UserId(state.store.next_id().await?);
    let user = User { id, name, business_id: Some(business_id), kind: UserKind::SystemUser { role }, session_epoch: 0 };
    let audit = AuditEntry::new(req.now, "create_system_user", caller_user.id.to_string())
        .subject(id)
        .detail(json!({"business": business_id, "role": role.as_str()}));
    state.store.execute(&Write::CreateUser(user), &audit).await?;
    Ok(graph_json(json!({ "id": id })))
}

/// GET /{business}/system_users -> `{"data":[{"id","name","role"}]}`.
///
/// Seed 000, step 4: called with a token of an app the business does not own, the ids are app-scoped to that app,
/// and the caller must be a developer or admin of the app (as well as an admin of the business).
pub async fn list(state: &AppState, req: &GraphRequest, business_id: BusinessId) -> Result<Response, GraphError> {
    let caller = authenticate(state, &req.params, req.now, ProofPolicy::Standard).await?;
    let caller_user = caller.user()?;
    load_business(state, business_id, "get").await?;
    require_business_admin(caller_user, business_id)?;
    let app = &caller.app().app;
    let cross_business = app.owner_business != Some(business_id);
    if cross_business && !matches!(app.role_of(caller_user.id), Some(AppRole::Developer | AppRole::Admin)) {
        return Err(CoreError::Permission {
            code: 200,
            message: format!(
                "To list app-scoped system user ids for app {}, the access token must belong to a developer or admin of that app",
                app.id
            ),
        }
        .into());
    }
    let mut data = Vec::new();
    for u in state.store.list_system_users(business_id).await? {
        let role = match u.kind {
            UserKind::SystemUser { role } => role.as_str(),
            UserKind::Person { .. } => "EMPLOYEE",
        };
        let id = if cross_business { state.store.app_scoped_id(app.id, u.id).await? } else { u.id };
        data.push(json!({"id": id, "name": u.name, "role": role}));
    }
    Ok(graph_json(json!({ "data": data })))
}

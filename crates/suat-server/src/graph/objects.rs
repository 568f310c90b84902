//! Reading objects: GET /me (the token's subject), GET /{id} (users with their `assigned_pages`, pages, businesses,
//! apps), a business's app and page edges, and sharing an app with a business (`client_apps`, seed 000 step 3).

use super::{pages, success, GraphRequest};
use crate::{
    auth::{authenticate, ProofPolicy},
    error::{graph_json, GraphError},
    state::AppState,
};
use axum::response::Response;
use serde_json::{json, Value};
use suat_core::{AppId, AppRole, BusinessId, CoreError, TokenKind, User, UserId};
#[allow(unused_imports)]
use suat_store::prelude::*;
use suat_store::AuditEntry;

/// GET /me -> `{"id","name"}` of the token's subject (for a page token, the page).
pub async fn me(state: &AppState, req: &GraphRequest) -> Result<Response, GraphError> {
    let caller = authenticate(state, &req.params, req.now, ProofPolicy::Standard).await?;
    if let Some(rec) = caller.resolved.record.as_ref().filter(|r| r.kind == TokenKind::Page) {
        if let Some(page) = state.store.get_page(rec.page_id.expect("page tokens name their page")).await? {
            return Ok(graph_json(json!({"id": page.id.to_string(), "name": page.name})));
        }
    }
    match &caller.resolved.user {
        Some(u) => Ok(graph_json(json!({"id": u.id, "name": u.name}))),
        None => Err(GraphError::new(
            2500,
            "OAuthException",
            "An active access token must be used to query information about the current user.",
        )),
    }
}

fn unknown(raw: &str) -> GraphError {
    CoreError::UnknownObject { method: "get", id: raw.chars().take(64).collect() }.into()
}

/// A user is visible to itself and to users of its business.
fn visible(caller: Option<&User>, u: &User) -> bool {
    caller.is_some_and(|c| c.id == u.id || (u.business_id.is_some() && u.business_id == c.business_id))
}

/// GET /{id}: `{"id","name"}` (plus requested `assigned_pages`) of what the caller may see.
pub async fn object(state: &AppState, req: &GraphRequest, raw: &str) -> Result<Response, GraphError> {
    let id: u64 = raw.parse().map_err(|_| unknown(raw))?;
    if let Some(page) = pages::find(state, raw).await? {
        return pages::page_object(state, req, page).await;
    }
    let caller = authenticate(state, &req.params, req.now, ProofPolicy::Standard).await?;
    let me = caller.resolved.user.as_ref();
    if let Some(u) = state.store.get_user(UserId(id)).await? {
        if !visible(me, &u) {
            return Err(unknown(raw));
        }
        let mut out = json!({"id": u.id, "name": u.name});
        let fields = match req.params.get("fields") {
            Some(f) => suat_core::wire::parse_list("fields", f)?,
            None => vec![],
        };
        if fields.iter().any(|f| f == "assigned_pages") {
            out["assigned_pages"] = pages::assigned_pages(state, req, &u).await?;
        }
        return Ok(graph_json(out));
    }
    let my_business = me.and_then(|u| u.business_id);
    if let Some(b) = state.store.get_business(BusinessId(id)).await? {
        if my_business == Some(b.id) {
            return Ok(graph_json(json!({"id": b.id, "name": b.name})));
        }
        return Err(unknown(raw));
    }
    if let Some(a) = state.store.get_app(AppId(id)).await? {
        return Ok(graph_json(json!({"id": a.app.id, "name": a.app.name})));
    }
    Err(unknown(raw))
}

/// GET /{user}/assigned_pages.
pub async fn assigned_pages_edge(state: &AppState, req: &GraphRequest, raw: &str) -> Result<Response, GraphError> {
    let id: UserId = super::parse_id(raw, "get")?;
    let caller = authenticate(state, &req.params, req.now, ProofPolicy::Standard).await?;
    let u = state.store.get_user(id).await?.ok_or_else(|| unknown(raw))?;
    if !visible(caller.resolved.user.as_ref(), &u) {
        return Err(unknown(raw));
    }
    Ok(graph_json(pages::assigned_pages(state, req, &u).await?))
}

/// Members of a business see its `owned_apps`, `client_apps` and `owned_pages`.
pub async fn business_edge(
    state: &AppState,
    req: &GraphRequest,
    business: BusinessId,
    edge: &str,
) -> Result<Response, GraphError> {
    let caller = authenticate(state, &req.params, req.now, ProofPolicy::Standard).await?;
    let b = state.store.get_business(business).await?.ok_or_else(|| unknown(&business.to_string()))?;
    if caller.user()?.business_id != Some(b.id) {
        return Err(unknown(&business.to_string()));
    }
    let data: Vec<Value> = match edge {
        "owned_pages" => state
            .store
            .list_business_pages(b.id)
            .await?
            .into_iter()
            .map(|p| json!({"id": p.id.to_string(), "name": p.name}))
            .collect(),
        _ => {
            let dump = state.store.dump().await?;
            dump.apps
                .into_iter()
                .filter(|a| match edge {
                    "owned_apps" => a.owner_business == Some(b.id),
                    _ => a.client_businesses.contains(&b.id),
                })
                .map(|a| json!({"id": a.id, "name": a.name}))
                .collect()
        }
    };
    Ok(graph_json(json!({ "data": data })))
}

/// POST /{business}/client_apps `app_id`: shares an app owned elsewhere with this business. The caller must be an
/// admin of the business and a developer or admin of the app.
pub async fn share_app(state: &AppState, req: &GraphRequest, business: BusinessId) -> Result<Response, GraphError> {
    let app_id: AppId = req.params.id("app_id")?;
    let caller = authenticate(state, &req.params, req.now, ProofPolicy::Standard).await?;
    let user = caller.user()?;
    state.store.get_business(business).await?.ok_or_else(|| unknown(&business.to_string()))?;
    let app = state
        .store
        .get_app(app_id)
        .await?
        .ok_or_else(|| GraphError::param(format!("Param app_id must be a valid app ID: {app_id}")))?;

    if user.business_id != Some(business) || !user.is_business_admin() {
        return Err(CoreError::Permission {
            code: 200,
            message: "Only admins of this Business Manager can add client apps".into(),
        }
        .into());
    }
    if !matches!(app.app.role_of(user.id), Some(AppRole::Developer | AppRole::Admin)) {
        return Err(CoreError::Permission {
            code: 200,
            message: format!("You must be a developer or admin of app {app_id} to share it with a Business Manager"),
        }
        .into());
    }
    if app.app.is_test_app {
        return Err(GraphError::param("Test apps cannot be added to a Business Manager"));
    }
    if app.app.owner_business != Some(business) && !app.app.client_businesses.contains(&business) {
        let audit = AuditEntry::new(req.now, "share_app", user.id.to_string())
            .app(app_id)
            .detail(json!({"business": business}));
        state.store.execute(&Write::ShareApp { app: app_id, business }, &audit).await?;
    }
    success()
}

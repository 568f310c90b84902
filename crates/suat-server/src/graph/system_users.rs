//! System users: install an app (`/applications`), generate a token (`/access_tokens`), invalidate all of its
//! tokens (DELETE `/access_tokens`), uninstall; create them on a business (listing: `super::nodes`). Translation only: the rules are
//! in `suat_service::system_users` and `suat_core::rules`.

use super::{parse_id, success, Caller, ProofCaller, Req};
use crate::{
    error::{graph_json, GraphError},
    state::AppState,
};
use axum::{
    extract::{Path, State},
    response::Response,
};
use suat_core::{scope::parse_scopes, AppId, SystemUserRole};
use suat_service::system_users::GenerateRequest;

type IdEdge = Path<(String, String)>;

/// POST /{su}/applications `business_app`.
pub async fn install(
    State(s): State<AppState>,
    req: Req,
    Caller(c): Caller,
    Path((su, _)): IdEdge,
) -> Result<Response, GraphError> {
    let app: AppId = req.params.id("business_app")?;
    s.svc.install(&c, parse_id(&su, "post")?, app, req.now).await?;
    success()
}

/// DELETE /{su}/applications `business_app`.
pub async fn uninstall(
    State(s): State<AppState>,
    req: Req,
    Caller(c): Caller,
    Path((su, _)): IdEdge,
) -> Result<Response, GraphError> {
    let app: AppId = req.params.id("business_app")?;
    s.svc.uninstall(&c, parse_id(&su, "delete")?, app, req.now).await?;
    success()
}

/// POST /{su}/access_tokens `business_app`, `scope`, `appsecret_proof`, `set_token_expires_in_60_days`.
pub async fn generate(
    State(s): State<AppState>,
    req: Req,
    ProofCaller(c): ProofCaller,
    Path((su, _)): IdEdge,
) -> Result<Response, GraphError> {
    let p = &req.params;
    let g = GenerateRequest {
        app: p.id("business_app")?,
        scopes: parse_scopes(p.get("scope").unwrap_or(""))?,
        expiring: p.flag("set_token_expires_in_60_days")?,
        proof: p.get("appsecret_proof"),
        proof_time: p.get("appsecret_time"),
    };
    let token = s.svc.generate(&c, parse_id(&su, "post")?, g, req.now).await?;
    Ok(graph_json(&suat_wire::AccessTokenAnswer { access_token: token.expose().to_owned() }))
}

/// DELETE /{su}/access_tokens.
pub async fn revoke_all(
    State(s): State<AppState>,
    req: Req,
    Caller(c): Caller,
    Path((su, _)): IdEdge,
) -> Result<Response, GraphError> {
    s.svc.revoke_all(&c, parse_id(&su, "delete")?, req.now).await?;
    success()
}

/// POST /{business}/system_users `name`, `role` -> `{"id"}`.
pub async fn create(
    State(s): State<AppState>,
    req: Req,
    Caller(c): Caller,
    Path((b, _)): IdEdge,
) -> Result<Response, GraphError> {
    let business = parse_id(&b, "post")?;
    let name = req.params.require("name")?;
    let role = SystemUserRole::parse(req.params.get("role").unwrap_or("EMPLOYEE"))
        .ok_or_else(|| GraphError::param("Param role must be one of {ADMIN, EMPLOYEE}"))?;
    let id = s.svc.create_system_user(&c, business, name, role, req.now).await?;
    Ok(graph_json(&suat_wire::Created { id: id.to_string() }))
}

//! Reading objects: GET /me (the token's subject), GET /{id} (users, pages, businesses, apps) and GET of their
//! edges, all answered through [`super::nodes`] so `fields` works the same everywhere; and sharing an app with a
//! business (`client_apps`, seed 000 step 3).

use super::{
    nodes::{self, Ctx, Node},
    path_id, success, Caller, Req,
};
use crate::{
    error::{graph_json, GraphError},
    state::AppState,
};
use axum::{
    extract::{Path, State},
    response::Response,
};
use suat_core::PageId;
use suat_service::caller::ProofPolicy;

/// GET /me: the token's subject (for a page token, the page).
pub async fn me(State(s): State<AppState>, req: Req, c: Caller) -> Result<Response, GraphError> {
    let node = Node::from(s.svc.me(&c.0).await?);
    Ok(graph_json(&nodes::answer(&Ctx { s: &s, req: &req, caller: &c }, node).await?))
}

/// GET /me/{edge}.
pub async fn me_edge(
    State(s): State<AppState>,
    req: Req,
    c: Caller,
    Path(edge): Path<String>,
) -> Result<Response, GraphError> {
    let node = Node::from(s.svc.me(&c.0).await?);
    Ok(graph_json(&nodes::answer_edge(&Ctx { s: &s, req: &req, caller: &c }, &node, &edge).await?))
}

/// GET /me/permissions: the `permissions` edge of the token's user (a page token has no such edge).
pub async fn me_permissions(State(s): State<AppState>, req: Req, c: Caller) -> Result<Response, GraphError> {
    let node = Node::from(s.svc.me(&c.0).await?);
    Ok(graph_json(&nodes::answer_edge(&Ctx { s: &s, req: &req, caller: &c }, &node, "permissions").await?))
}

/// POST or DELETE /{id}: no object takes them here, so the id names an object that "does not support this
/// operation" (100/33), or an alias that names nothing (803), as Graph answers.
pub async fn other_method(req: Req, Path(raw): Path<String>) -> GraphError {
    let method = super::method_name(&req.method);
    match path_id(&raw, method) {
        Ok(_) => suat_core::CoreError::UnknownObject { method, id: raw }.into(),
        Err(e) => e,
    }
}

/// The object a path names, if the caller may see it. Pages are looked up first: a page is readable by the users
/// with a role on it and by its own page token.
async fn load(s: &AppState, req: &Req, raw: &str) -> Result<(Node, Caller), GraphError> {
    let id = path_id(raw, "get")?;
    if let Some(page) = s.svc.find_page(PageId(id)).await? {
        let c = Caller(s.svc.authenticate(req.presented(), req.now, ProofPolicy::Standard).await?);
        s.svc.read_page(&c.0, &page).await?;
        return Ok((Node::Page(page), c));
    }
    let c = Caller(s.svc.authenticate(req.presented(), req.now, ProofPolicy::Standard).await?);
    Ok((Node::from(s.svc.object(&c.0, id).await?), c))
}

/// GET /{id}.
pub async fn object(State(s): State<AppState>, req: Req, Path(raw): Path<String>) -> Result<Response, GraphError> {
    let (node, c) = load(&s, &req, &raw).await?;
    Ok(graph_json(&nodes::answer(&Ctx { s: &s, req: &req, caller: &c }, node).await?))
}

/// GET /{id}/{edge}, for an edge some node type has (the router checked).
pub async fn edge(
    State(s): State<AppState>,
    req: Req,
    Path((raw, edge)): Path<(String, String)>,
) -> Result<Response, GraphError> {
    let (node, c) = load(&s, &req, &raw).await?;
    Ok(graph_json(&nodes::answer_edge(&Ctx { s: &s, req: &req, caller: &c }, &node, &edge).await?))
}

/// POST /{business}/client_apps `app_id`.
pub async fn share_app(
    State(s): State<AppState>,
    req: Req,
    Caller(c): Caller,
    Path((raw, _)): Path<(String, String)>,
) -> Result<Response, GraphError> {
    let business = suat_core::BusinessId(path_id(&raw, "post")?);
    let app = req.params.id("app_id")?;
    s.svc.share_app(&c, business, app, req.now).await?;
    success()
}

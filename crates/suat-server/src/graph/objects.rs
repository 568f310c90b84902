//! Reading objects: GET /me (the token's subject), GET /{id} (users with their `assigned_pages`, pages, businesses,
//! apps), a business's app and page edges, and sharing an app with a business (`client_apps`, seed 000 step 3).

use super::{pages, parse_id, success, Caller, Req};
use crate::{
    error::{graph_json, GraphError},
    state::AppState,
};
use axum::{
    extract::{Path, State},
    response::Response,
};
use serde_json::{json, Value};
use suat_core::{CoreError, PageId};
use suat_service::objects::{AppEdge, Me, Object};

/// GET /me -> `{"id","name"}` of the token's subject (for a page token, the page).
pub async fn me(State(s): State<AppState>, Caller(c): Caller) -> Result<Response, GraphError> {
    Ok(graph_json(match s.svc.me(&c).await? {
        Me::Page(page) => json!({"id": page.id.to_string(), "name": page.name}),
        Me::User(u) => json!({"id": u.id, "name": u.name}),
    }))
}

/// GET /{id}: `{"id","name"}` (plus requested `assigned_pages`) of what the caller may see; pages have their fields.
pub async fn object(State(s): State<AppState>, req: Req, Path(raw): Path<String>) -> Result<Response, GraphError> {
    let id: u64 = raw.parse().map_err(|_| unknown(&raw))?;
    if let Some(page) = s.svc.find_page(PageId(id)).await? {
        return pages::page_object(&s, &req, page).await;
    }
    let c = s.svc.authenticate(req.presented(), req.now, suat_service::caller::ProofPolicy::Standard).await?;
    match s.svc.object(&c, id).await? {
        Object::User(u) => {
            let mut out = json!({"id": u.id, "name": u.name});
            let fields = match req.params.get("fields") {
                Some(f) => suat_core::wire::parse_list("fields", f)?,
                None => vec![],
            };
            if fields.iter().any(|f| f == "assigned_pages") {
                out["assigned_pages"] = pages::assigned_pages(&s, &req, u.id).await?;
            }
            Ok(graph_json(out))
        }
        Object::Business(b) => Ok(graph_json(json!({"id": b.id, "name": b.name}))),
        Object::App(a) => Ok(graph_json(json!({"id": a.app.id, "name": a.app.name}))),
    }
}

fn unknown(raw: &str) -> GraphError {
    CoreError::UnknownObject { method: "get", id: raw.chars().take(64).collect() }.into()
}

/// GET /{user}/assigned_pages.
pub async fn assigned_pages_edge(
    State(s): State<AppState>,
    req: Req,
    Caller(c): Caller,
    Path((raw, _)): Path<(String, String)>,
) -> Result<Response, GraphError> {
    let u = s.svc.visible_user(&c, parse_id(&raw, "get")?).await?;
    Ok(graph_json(pages::assigned_pages(&s, &req, u.id).await?))
}

/// Members of a business see its `owned_apps`, `client_apps`, `owned_pages` and `owned_businesses` (its child
/// businesses).
pub async fn business_edge(
    State(s): State<AppState>,
    Caller(c): Caller,
    Path((raw, edge)): Path<(String, String)>,
) -> Result<Response, GraphError> {
    let business = parse_id(&raw, "get")?;
    let data: Vec<Value> = match edge.as_str() {
        "owned_pages" => s
            .svc
            .business_pages(&c, business)
            .await?
            .into_iter()
            .map(|p| json!({"id": p.id.to_string(), "name": p.name}))
            .collect(),
        "owned_businesses" => s
            .svc
            .child_businesses(&c, business)
            .await?
            .into_iter()
            .map(|b| json!({"id": b.id, "name": b.name}))
            .collect(),
        other => {
            let which = if other == "owned_apps" { AppEdge::Owned } else { AppEdge::Clients };
            s.svc
                .business_apps(&c, business, which)
                .await?
                .into_iter()
                .map(|a| json!({"id": a.id, "name": a.name}))
                .collect()
        }
    };
    Ok(graph_json(json!({ "data": data })))
}

/// POST /{business}/client_apps `app_id`.
pub async fn share_app(
    State(s): State<AppState>,
    req: Req,
    Caller(c): Caller,
    Path((raw, _)): Path<(String, String)>,
) -> Result<Response, GraphError> {
    let business = parse_id(&raw, "post")?;
    let app = req.params.id("app_id")?;
    s.svc.share_app(&c, business, app, req.now).await?;
    success()
}

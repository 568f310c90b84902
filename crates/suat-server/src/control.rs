//! The operator control plane under `/_suat/`: create objects, reset, dump, read the audit log, and set or advance
//! the server clock that every expiry rule reads. Guarded by its own bearer key, compared in constant time.

use crate::openapi as doc;
use crate::{
    error::{graph_json, GraphError},
    state::AppState,
};
use axum::{
    body::Bytes,
    extract::{Path, Query, Request, State},
    http::header,
    middleware::{self, Next},
    response::{IntoResponse, Response},
    routing::{get, post},
    Router,
};
use serde::{de::DeserializeOwned, Deserialize};
use serde_json::json;
use suat_core::UserId;
use suat_service::operator as ops;
use subtle::ConstantTimeEq;

pub fn router(state: AppState) -> Router<AppState> {
    Router::new()
        .route("/businesses", post(create_business))
        .route("/apps", post(create_app))
        .route("/users", post(create_person))
        .route("/system_users", post(create_system_user))
        .route("/users/{id}/tokens", post(user_token))
        .route("/users/{id}/password_change", post(password_change))
        .route("/pages", post(create_page))
        .route("/apps/{id}", post(update_app))
        .route("/apps/{id}/roles", post(app_role))
        .route("/apps/{id}/reset_secret", post(reset_secret))
        .route("/clock", get(get_clock).post(set_clock))
        .route("/dump", get(dump))
        .route("/audit", get(audit))
        .route("/reset", post(reset))
        .merge(crate::faults::routes())
        .merge(crate::journal::routes())
        .merge(crate::limits::routes())
        .route(
            "/snapshot",
            get(export_snapshot).post(import_snapshot).layer(axum::extract::DefaultBodyLimit::max(SNAPSHOT_BODY_LIMIT)),
        )
        .route_layer(middleware::from_fn_with_state(state, require_admin))
        .route("/health", get(health))
        .route("/openapi.json", get(crate::openapi::serve))
}

/// Liveness, without the key (load balancers and test harnesses have none).
#[utoipa::path(
    get,
    path = "/_suat/health",
    tag = "control",
    security(()),
    responses((status = 200, description = "The server is up", body = doc::HealthAnswer)),
)]
async fn health() -> Response {
    graph_json(&json!({"ok": true}))
}

async fn require_admin(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let presented = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or("");
    if bool::from(presented.as_bytes().ct_eq(state.admin_key.as_bytes())) {
        next.run(req).await
    } else {
        // Audited per client address (the socket's peer, as the sign-in throttle counts), at most once a window.
        let ip = req.extensions().get::<axum::extract::ConnectInfo<std::net::SocketAddr>>().map(|c| c.0.ip());
        state.svc.auth_failed(suat_service::failures::Failure::admin_key(ip, !presented.is_empty())).await;
        GraphError {
            status: axum::http::StatusCode::UNAUTHORIZED,
            ..GraphError::new(190, "OAuthException", "Invalid control-plane key")
        }
        .into_response()
    }
}

/// Parses a JSON body into a spec, turning serde's complaint into a Graph-style 100. No body, or `null` (what a JSON
/// client sends for "nothing"), is `{}`. Whatever the spec, no string may pass [`MAX_STRING`] characters and no list
/// [`MAX_LIST`] items: the use cases bound each field more tightly (`suat_core::text`), this bounds the fields they
/// do not know of (fault rules' messages and paths, journal filters) the same way.
pub(crate) fn spec<T: DeserializeOwned>(body: &Bytes) -> Result<T, GraphError> {
    let raw: &[u8] = if body.is_empty() || body.trim_ascii() == b"null" { b"{}" } else { body };
    let value: serde_json::Value =
        serde_json::from_slice(raw).map_err(|e| GraphError::param(format!("Invalid JSON body: {e}")))?;
    bounded_json(&value, "")?;
    serde_json::from_value(value).map_err(|e| GraphError::param(format!("Invalid JSON body: {e}")))
}

/// Longest string of a control-plane body, in characters.
pub(crate) const MAX_STRING: usize = 4096;
/// Most items of a list in a control-plane body.
pub(crate) const MAX_LIST: usize = 1000;

/// Walks a body for strings and lists over the bounds; `at` is the field's path (`rules.message`), for the error.
fn bounded_json(v: &serde_json::Value, at: &str) -> Result<(), GraphError> {
    use serde_json::Value::*;
    let field = if at.is_empty() { "the body" } else { at };
    match v {
        String(s) if s.chars().count() > MAX_STRING => {
            Err(GraphError::param(format!("{field} is longer than {MAX_STRING} characters")))
        }
        Array(items) if items.len() > MAX_LIST => {
            Err(GraphError::param(format!("{field} has more than {MAX_LIST} items")))
        }
        Array(items) => items.iter().try_for_each(|i| bounded_json(i, at)),
        Object(fields) => fields.iter().try_for_each(|(k, f)| {
            if k.chars().count() > MAX_STRING {
                return Err(GraphError::param(format!("a key of {field} is longer than {MAX_STRING} characters")));
            }
            let inner = if at.is_empty() { k.clone() } else { format!("{at}.{k}") };
            bounded_json(f, &inner)
        }),
        _ => Ok(()),
    }
}

#[utoipa::path(
    post,
    path = "/_suat/businesses",
    tag = "control",
    request_body(content = ops::BusinessSpec, content_type = "application/json"),
    responses((status = 200, description = "The new business", body = doc::IdAnswer)),
)]
async fn create_business(State(s): State<AppState>, body: Bytes) -> Result<Response, GraphError> {
    let id = ops::create_business(&s.svc, spec(&body)?).await?;
    Ok(graph_json(&json!({"id": id})))
}

#[utoipa::path(
    post,
    path = "/_suat/apps",
    tag = "control",
    request_body(content = ops::AppSpec, content_type = "application/json"),
    responses((status = 200, description = "The new app; its secret is shown only here", body = doc::AppCreated)),
)]
async fn create_app(State(s): State<AppState>, body: Bytes) -> Result<Response, GraphError> {
    let (id, secret) = ops::create_app(&s.svc, spec(&body)?).await?;
    // The operator created the app and needs its secret once; it is never retrievable again.
    Ok(graph_json(&json!({"id": id, "secret": secret.expose()})))
}

#[utoipa::path(
    post,
    path = "/_suat/users",
    tag = "control",
    request_body(content = ops::PersonSpec, content_type = "application/json"),
    responses((status = 200, description = "The new person", body = doc::IdAnswer)),
)]
async fn create_person(State(s): State<AppState>, body: Bytes) -> Result<Response, GraphError> {
    let id = ops::create_person(&s.svc, spec(&body)?).await?;
    Ok(graph_json(&json!({"id": id})))
}

#[utoipa::path(
    post,
    path = "/_suat/system_users",
    tag = "control",
    request_body(content = ops::SystemUserSpec, content_type = "application/json"),
    responses((status = 200, description = "The new system user", body = doc::IdAnswer)),
)]
async fn create_system_user(State(s): State<AppState>, body: Bytes) -> Result<Response, GraphError> {
    let id = ops::create_system_user(&s.svc, spec(&body)?).await?;
    Ok(graph_json(&json!({"id": id})))
}

#[utoipa::path(
    post,
    path = "/_suat/pages",
    tag = "control",
    request_body(content = ops::PageSpec, content_type = "application/json"),
    responses((status = 200, description = "The new page", body = doc::IdAnswer)),
)]
async fn create_page(State(s): State<AppState>, body: Bytes) -> Result<Response, GraphError> {
    let id = ops::create_page(&s.svc, spec(&body)?).await?;
    Ok(graph_json(&json!({"id": id})))
}

fn app_id(raw: &str) -> Result<suat_core::AppId, GraphError> {
    raw.parse().map_err(|_| GraphError::param("app id must be a numeric Graph id"))
}

#[utoipa::path(
    post,
    path = "/_suat/apps/{id}/roles",
    tag = "control",
    params(("id" = String, Path, pattern = "^[0-9]{1,19}$", example = "2001", description = "Graph id")),
    request_body(content = ops::AppRoleSpec, content_type = "application/json"),
    responses((status = 200, description = "Role given", body = doc::Success)),
)]
async fn app_role(State(s): State<AppState>, Path(id): Path<String>, body: Bytes) -> Result<Response, GraphError> {
    ops::add_app_role(&s.svc, app_id(&id)?, spec(&body)?).await?;
    Ok(graph_json(&suat_wire::Success::TRUE))
}

/// Seed 001's app status and seed 000's last app-scoped query, as the operator sets them.
#[utoipa::path(
    post,
    path = "/_suat/apps/{id}",
    tag = "control",
    params(("id" = String, Path, pattern = "^[0-9]{1,19}$", example = "2001", description = "Graph id")),
    request_body(content = ops::AppUpdateSpec, content_type = "application/json"),
    responses((status = 200, description = "App updated", body = doc::Success)),
)]
async fn update_app(State(s): State<AppState>, Path(id): Path<String>, body: Bytes) -> Result<Response, GraphError> {
    ops::update_app(&s.svc, app_id(&id)?, spec(&body)?).await?;
    Ok(graph_json(&suat_wire::Success::TRUE))
}

#[utoipa::path(
    post,
    path = "/_suat/apps/{id}/reset_secret",
    tag = "control",
    params(("id" = String, Path, pattern = "^[0-9]{1,19}$", example = "2001", description = "Graph id")),
    responses((status = 200, description = "The new secret", body = doc::SecretAnswer)),
)]
async fn reset_secret(State(s): State<AppState>, Path(id): Path<String>) -> Result<Response, GraphError> {
    let secret = ops::reset_app_secret(&s.svc, app_id(&id)?).await?;
    Ok(graph_json(&json!({"id": id, "secret": secret.expose()})))
}

fn user_id(raw: &str) -> Result<UserId, GraphError> {
    raw.parse().map_err(|_| GraphError::param("user id must be a numeric Graph id"))
}

#[utoipa::path(
    post,
    path = "/_suat/users/{id}/tokens",
    tag = "control",
    params(("id" = String, Path, pattern = "^[0-9]{1,19}$", example = "3001", description = "Graph id")),
    request_body(content = ops::UserTokenSpec, content_type = "application/json"),
    responses((status = 200, description = "The new user token", body = doc::TokenAnswer)),
)]
async fn user_token(State(s): State<AppState>, Path(id): Path<String>, body: Bytes) -> Result<Response, GraphError> {
    let token = ops::issue_user_token(&s.svc, user_id(&id)?, spec(&body)?).await?;
    Ok(graph_json(&json!({"access_token": token.expose()})))
}

/// A user's "password change": every token issued to them before now fails with 190/460.
#[utoipa::path(
    post,
    path = "/_suat/users/{id}/password_change",
    tag = "control",
    params(("id" = String, Path, pattern = "^[0-9]{1,19}$", example = "3001", description = "Graph id")),
    responses((status = 200, description = "The user's new session epoch", body = doc::PasswordChanged)),
)]
async fn password_change(State(s): State<AppState>, Path(id): Path<String>) -> Result<Response, GraphError> {
    let id = user_id(&id)?;
    let epoch = ops::password_change(&s.svc, id).await?;
    Ok(graph_json(&json!({"id": id, "session_epoch": epoch})))
}

fn clock_json(s: &AppState) -> serde_json::Value {
    json!({"now": s.now(), "offset": s.svc.cache.clock_offset_now()})
}

#[utoipa::path(
    get,
    path = "/_suat/clock",
    tag = "control",
    responses((status = 200, description = "The server clock", body = doc::ClockAnswer)),
)]
async fn get_clock(State(s): State<AppState>) -> Response {
    graph_json(&clock_json(&s))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct ClockSpec {
    /// Jump to this unix time.
    #[schema(minimum = 0, maximum = 253_402_300_799_i64)]
    set: Option<i64>,
    /// Move forward (or back, if negative) by this many seconds.
    advance: Option<i64>,
}

#[utoipa::path(
    post,
    path = "/_suat/clock",
    tag = "control",
    request_body(content = ClockSpec, content_type = "application/json"),
    responses((status = 200, description = "The server clock, moved", body = doc::ClockAnswer)),
)]
async fn set_clock(State(s): State<AppState>, body: Bytes) -> Result<Response, GraphError> {
    let c: ClockSpec = spec(&body)?;
    ops::set_clock(&s.svc, c.set, c.advance).await?;
    Ok(graph_json(&clock_json(&s)))
}

#[utoipa::path(
    get,
    path = "/_suat/dump",
    tag = "control",
    responses((status = 200, description = "The state as JSON, without tokens or secrets", body = serde_json::Value)),
)]
async fn dump(State(s): State<AppState>) -> Result<Response, GraphError> {
    let d = ops::dump(&s.svc).await?;
    Ok(graph_json(&d))
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct AuditQuery {
    /// How many entries, 1 to 10000 (default 100).
    limit: Option<i64>,
}

#[utoipa::path(
    get,
    path = "/_suat/audit",
    tag = "control",
    params(AuditQuery),
    responses((status = 200, description = "The newest entries, oldest first", body = doc::AuditAnswer)),
)]
async fn audit(
    State(s): State<AppState>,
    q: Result<Query<AuditQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Response, GraphError> {
    // axum's own rejection is plain text; the control plane answers every bad input with the Graph envelope.
    let Query(q) = q.map_err(|e| GraphError::param(e.body_text()))?;
    let entries = ops::audit(&s.svc, q.limit.unwrap_or(100)).await?;
    Ok(graph_json(&json!({"data": entries})))
}

/// `{}` (back to the seed the server started with, or empty without one), `{"to": "seed"}` or `{"to": "empty"}`.
#[utoipa::path(
    post,
    path = "/_suat/reset",
    tag = "control",
    request_body(content = ops::ResetSpec, content_type = "application/json"),
    responses((status = 200, description = "Where the state went", body = doc::ResetAnswer)),
)]
async fn reset(State(s): State<AppState>, body: Bytes) -> Result<Response, GraphError> {
    let to = ops::reset(&s.svc, spec(&body)?).await?;
    // Fault rules and the request journal belong to the run being reset, not to the seed.
    s.faults.clear();
    s.journal.clear();
    let to = match to {
        ops::ResetTo::Seed => "seed",
        ops::ResetTo::Empty => "empty",
    };
    Ok(graph_json(&json!({"success": true, "to": to})))
}

/// Largest snapshot document accepted (about a million tokens).
const SNAPSHOT_BODY_LIMIT: usize = 512 << 20;

/// The whole state as one JSON document (hashes and sealed secrets only, see the README).
#[utoipa::path(
    get,
    path = "/_suat/snapshot",
    tag = "control",
    responses((status = 200, description = "The whole state as one document", body = ops::SnapshotDocument)),
)]
async fn export_snapshot(State(s): State<AppState>) -> Result<Response, GraphError> {
    Ok(graph_json(&ops::export_snapshot(&s.svc).await?))
}

/// Replaces the whole state (but the audit log) with a document from `GET /_suat/snapshot`.
#[utoipa::path(
    post,
    path = "/_suat/snapshot",
    tag = "control",
    request_body(content = ops::SnapshotDocument, content_type = "application/json"),
    responses((status = 200, description = "The state was replaced", body = doc::Success)),
)]
async fn import_snapshot(State(s): State<AppState>, body: Bytes) -> Result<Response, GraphError> {
    let doc: ops::SnapshotDocument =
        serde_json::from_slice(&body).map_err(|e| GraphError::param(format!("Invalid snapshot: {e}")))?;
    ops::import_snapshot(&s.svc, doc).await?;
    Ok(graph_json(&suat_wire::Success::TRUE))
}

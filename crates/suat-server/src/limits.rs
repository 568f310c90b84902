//! The rate-limit part of the control plane (GRAPH-WIRE §8): a business's quota, and the current usage. An app's
//! quota is a field of `POST /_suat/apps/{id}`. Counting itself happens where callers are authenticated
//! ([`suat_service::limits`]).

use crate::{
    error::{graph_json, GraphError},
    state::AppState,
};
use axum::{
    body::Bytes,
    extract::{Path, State},
    response::Response,
    routing::{get, post},
    Router,
};
use suat_service::operator as ops;

pub fn routes() -> Router<AppState> {
    Router::new().route("/businesses/{id}", post(update_business)).route("/usage", get(usage))
}

/// `{"rate_limit": N}`: calls per hour per app and use case for this business's system-user and page tokens.
#[utoipa::path(
    post,
    path = "/_suat/businesses/{id}",
    tag = "rate limits",
    params(("id" = String, Path, pattern = "^[0-9]{1,19}$", example = "1001", description = "Graph id")),
    request_body(content = ops::BusinessUpdateSpec, content_type = "application/json"),
    responses((status = 200, description = "Quota set", body = crate::openapi::Success)),
)]
pub(crate) async fn update_business(
    State(s): State<AppState>,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Response, GraphError> {
    let id: suat_core::BusinessId =
        id.parse().map_err(|_| GraphError::param("business id must be a numeric Graph id"))?;
    ops::update_business(&s.svc, id, crate::control::spec(&body)?).await?;
    Ok(graph_json(&suat_wire::Success::TRUE))
}

/// The quotas in force and every live window of this process, at the server clock.
#[utoipa::path(
    get,
    path = "/_suat/usage",
    tag = "rate limits",
    responses((status = 200, description = "Quotas and live usage windows of this process", body = serde_json::Value)),
)]
pub(crate) async fn usage(State(s): State<AppState>) -> Response {
    let mut usage = serde_json::to_value(s.svc.limits.usage(s.now())).unwrap_or_default();
    // The password-hashing pool: its size, slots in use, and the most ever in use at once (never above the size).
    if let Some(o) = usage.as_object_mut() {
        o.insert("password_pool".into(), serde_json::to_value(s.svc.signin.pool_stats()).unwrap_or_default());
    }
    graph_json(&usage)
}

//! `/me/permissions`: GET lists what the person told the app, DELETE removes the app (their tokens of it then fail
//! with 190/458), DELETE `/me/permissions/{permission}` takes one permission back.

use super::{success, Caller, Req};
use crate::{
    error::{graph_json, GraphError},
    state::AppState,
};
use axum::{
    extract::{Path, State},
    response::Response,
};

/// GET /me/permissions -> `{"data":[{"permission","status"}]}`.
pub async fn list(State(s): State<AppState>, Caller(c): Caller) -> Result<Response, GraphError> {
    Ok(graph_json(&super::nodes::permission_list(&s, &c).await?))
}

/// DELETE /me/permissions -> `{"success":true}`.
pub async fn remove_all(State(s): State<AppState>, req: Req, Caller(c): Caller) -> Result<Response, GraphError> {
    s.svc.deauthorize(&c, req.now).await?;
    success()
}

/// DELETE /me/permissions/{permission} -> `{"success":true}`.
pub async fn remove_one(
    State(s): State<AppState>,
    req: Req,
    Caller(c): Caller,
    Path(permission): Path<String>,
) -> Result<Response, GraphError> {
    s.svc.remove_permission(&c, &permission, req.now).await?;
    success()
}

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
use suat_wire::{List, Permission};

/// GET /me/permissions -> `{"data":[{"permission","status"}]}`.
pub async fn list(State(s): State<AppState>, Caller(c): Caller) -> Result<Response, GraphError> {
    let data: Vec<_> = s
        .svc
        .permissions(&c)
        .await?
        .iter()
        .map(|(p, st)| Permission { permission: p.as_str().to_owned(), status: st.as_str().to_owned() })
        .collect();
    Ok(graph_json(&List::of(data)))
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

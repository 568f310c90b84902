//! `/me/permissions`: GET lists what the person told the app, DELETE removes the app (their tokens of it then fail
//! with 190/458), DELETE `/me/permissions/{permission}` takes one permission back.

use super::{success, Caller, Req};
use crate::{error::GraphError, state::AppState};
use axum::{
    extract::{Path, State},
    response::Response,
};

/// DELETE /me/permissions -> `{"success":true}`.
pub async fn remove_all(State(s): State<AppState>, req: Req, Caller(c): Caller) -> Result<Response, GraphError> {
    users_own(&s, &c).await?;
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
    users_own(&s, &c).await?;
    s.svc.remove_permission(&c, &permission, req.now).await?;
    success()
}

/// `/me/permissions` belongs to a user: with a page token `/me` is the page, which has no such edge (and must not
/// de-authorise the user behind it).
async fn users_own(s: &AppState, c: &suat_service::caller::Caller) -> Result<(), GraphError> {
    match s.svc.me(c).await? {
        suat_service::objects::Me::User(_) => Ok(()),
        suat_service::objects::Me::Page(_) => Err(suat_core::CoreError::UnknownPath("/permissions".into()).into()),
    }
}

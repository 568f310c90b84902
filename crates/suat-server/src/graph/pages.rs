//! Page roles (seed 004): `POST`/`DELETE /{page}/assigned_users`. Reading pages, their tokens and the listings
//! (`/me/accounts`, `assigned_users`, `assigned_pages`) goes through [`super::nodes`].

use super::{success, Req};
use crate::{error::GraphError, state::AppState};
use axum::{
    extract::{Path, State},
    response::Response,
};
use suat_core::{
    page::{self, Page},
    CoreError, PageId, UserId,
};
use suat_service::caller::ProofPolicy;

/// The page a `/{page}/assigned_users` path names; any other id has no such edge.
async fn the_page(s: &AppState, req: &Req, raw: &str) -> Result<Page, GraphError> {
    let page = match raw.parse::<PageId>() {
        Ok(id) => s.svc.find_page(id).await?,
        Err(_) => None,
    };
    page.ok_or_else(|| {
        let tail = req.segments[1..].join("/");
        CoreError::UnknownPath(format!("/{tail}")).into()
    })
}

/// POST /{page}/assigned_users `user`, `tasks`.
pub async fn assign(
    State(s): State<AppState>,
    req: Req,
    Path((raw, _)): Path<(String, String)>,
) -> Result<Response, GraphError> {
    let page = the_page(&s, &req, &raw).await?;
    let user: UserId = req.params.id("user")?;
    let tasks = page::parse_tasks(req.params.require("tasks")?)?;
    let c = s.svc.authenticate(req.presented(), req.now, ProofPolicy::Standard).await?;
    s.svc.assign(&c, &page, user, tasks, req.now).await?;
    success()
}

/// DELETE /{page}/assigned_users `user`: page tokens of that user for this page die with the role (467).
pub async fn unassign(
    State(s): State<AppState>,
    req: Req,
    Path((raw, _)): Path<(String, String)>,
) -> Result<Response, GraphError> {
    let page = the_page(&s, &req, &raw).await?;
    let user: UserId = req.params.id("user")?;
    let c = s.svc.authenticate(req.presented(), req.now, ProofPolicy::Standard).await?;
    s.svc.unassign(&c, &page, user, req.now).await?;
    success()
}

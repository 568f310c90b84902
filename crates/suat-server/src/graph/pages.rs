//! Page roles (seed 004): `POST`/`DELETE /{page}/assigned_users`. Reading pages, their tokens and the listings
//! (`/me/accounts`, `assigned_users`, `assigned_pages`) goes through [`super::nodes`].

use super::{method_name, path_id, success, Caller, Req};
use crate::{error::GraphError, state::AppState};
use axum::{
    extract::{Path, State},
    response::Response,
};
use suat_core::{
    page::{self, Page},
    CoreError, PageId, UserId,
};

/// The page a `/{page}/assigned_users` path names, looked up for an authenticated caller only. Another object the
/// caller can see has no such edge (2500); an id that names nothing it can see is an unknown object (100/33), an
/// alias 803 (GRAPH-WIRE §4).
async fn the_page(s: &AppState, req: &Req, c: &Caller, raw: &str) -> Result<Page, GraphError> {
    let method = method_name(&req.method);
    let id = path_id(raw, method)?;
    if let Some(page) = s.svc.find_page(PageId(id)).await? {
        return Ok(page);
    }
    match s.svc.object(&c.0, id).await {
        Ok(_) => Err(CoreError::UnknownPath("/assigned_users".into()).into()),
        Err(suat_service::Error::Rule(_)) => Err(CoreError::UnknownObject { method, id: raw.to_owned() }.into()),
        Err(e) => Err(e.into()),
    }
}

/// POST /{page}/assigned_users `user`, `tasks`.
pub async fn assign(
    State(s): State<AppState>,
    req: Req,
    c: Caller,
    Path((raw, _)): Path<(String, String)>,
) -> Result<Response, GraphError> {
    let page = the_page(&s, &req, &c, &raw).await?;
    let user: UserId = req.params.id("user")?;
    let tasks = page::parse_tasks(req.params.require("tasks")?)?;
    s.svc.assign(&c.0, &page, user, tasks, req.now).await?;
    success()
}

/// DELETE /{page}/assigned_users `user`: page tokens of that user for this page die with the role (467).
pub async fn unassign(
    State(s): State<AppState>,
    req: Req,
    c: Caller,
    Path((raw, _)): Path<(String, String)>,
) -> Result<Response, GraphError> {
    let page = the_page(&s, &req, &c, &raw).await?;
    let user: UserId = req.params.id("user")?;
    s.svc.unassign(&c.0, &page, user, req.now).await?;
    success()
}

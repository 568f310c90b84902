//! Pages and the stable page token (seed 004): page roles (`/{page}/assigned_users`), a page's fields including
//! `access_token`, `/me/accounts` with cursor paging whose `next` is an absolute URL, and a user's assigned pages.

use super::{success, Caller, Req};
use crate::{
    error::{graph_json, GraphError},
    state::AppState,
};
use axum::{
    extract::{Path, State},
    response::Response,
};
use serde_json::{json, Value};
use suat_core::{
    page::{self, Page, PageRole},
    CoreError, PageId, UserId,
};
use suat_service::caller::ProofPolicy;

const DEFAULT_LIMIT: usize = 25;
const MAX_LIMIT: usize = 100;

fn tasks_json(role: &PageRole) -> Value {
    json!(role.tasks.iter().map(|t| t.as_str()).collect::<Vec<_>>())
}

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

/// GET /{page}/assigned_users -> `{"data":[{"id","name","tasks"}]}`.
pub async fn assigned_users(
    State(s): State<AppState>,
    req: Req,
    Path((raw, _)): Path<(String, String)>,
) -> Result<Response, GraphError> {
    let page = the_page(&s, &req, &raw).await?;
    let c = s.svc.authenticate(req.presented(), req.now, ProofPolicy::Standard).await?;
    let data: Vec<Value> = s
        .svc
        .assigned_users(&c, &page)
        .await?
        .iter()
        .map(|(u, role)| json!({"id": u.id, "name": u.name, "tasks": tasks_json(role)}))
        .collect();
    Ok(graph_json(json!({ "data": data })))
}

fn wanted_fields(req: &Req) -> Result<Vec<String>, GraphError> {
    match req.params.get("fields") {
        Some(f) => Ok(suat_core::wire::parse_list("fields", f)?),
        None => Ok(vec!["name".into(), "id".into()]),
    }
}

/// GET /{page}[?fields=access_token,name,...].
pub async fn page_object(s: &AppState, req: &Req, page: Page) -> Result<Response, GraphError> {
    let caller = s.svc.authenticate(req.presented(), req.now, ProofPolicy::Standard).await?;
    let fields = wanted_fields(req)?;
    let own_page = s.svc.read_page(&caller, &page).await?;
    let mut out = serde_json::Map::new();
    for f in &fields {
        match f.as_str() {
            "access_token" if own_page => {
                out.insert("access_token".into(), json!(caller.token));
            }
            "access_token" => {
                out.insert("access_token".into(), json!(s.svc.page_token(&caller, &page, req.now).await?));
            }
            "name" => {
                out.insert("name".into(), json!(page.name));
            }
            "tasks" => {
                if let Some(role) = s.svc.my_role(&caller, &page).await? {
                    out.insert("tasks".into(), tasks_json(&role));
                }
            }
            _ => {}
        }
    }
    out.insert("id".into(), json!(page.id.to_string()));
    Ok(graph_json(Value::Object(out)))
}

/// Cursor paging over an id-ordered list: `after` is the hex of the last id seen.
fn page_slice<T>(items: Vec<T>, id: impl Fn(&T) -> u64, req: &Req) -> Result<(Vec<T>, Value), GraphError> {
    let limit = match req.params.get("limit") {
        None => DEFAULT_LIMIT,
        Some(l) => l
            .parse::<usize>()
            .ok()
            .filter(|n| (1..=MAX_LIMIT).contains(n))
            .ok_or_else(|| GraphError::param(format!("Param limit must be an integer from 1 to {MAX_LIMIT}")))?,
    };
    let after = match req.params.get("after") {
        None => None,
        Some(c) => Some(
            hex::decode(c)
                .ok()
                .and_then(|b| String::from_utf8(b).ok())
                .and_then(|s| s.parse::<u64>().ok())
                .ok_or_else(|| GraphError::param("Param after is not a valid cursor"))?,
        ),
    };
    let mut rest: Vec<T> = items.into_iter().filter(|x| after.is_none_or(|a| id(x) > a)).collect();
    let more = rest.len() > limit;
    rest.truncate(limit);
    let cursor = |x: &T| hex::encode(id(x).to_string());
    let mut paging = json!({});
    if let (Some(first), Some(last)) = (rest.first(), rest.last()) {
        paging["cursors"] = json!({"before": cursor(first), "after": cursor(last)});
        if more {
            let mut next = url::Url::parse(&format!("{}/{}/{}", req.base_url, req.version, req.segments.join("/")))
                .map_err(|_| GraphError::internal())?;
            {
                let mut q = next.query_pairs_mut();
                for (k, v) in req.params.iter() {
                    if k != "after" && k != "before" {
                        q.append_pair(k, v);
                    }
                }
                if req.params.get("access_token").is_none() {
                    if let Some(t) = req.params.caller_token() {
                        q.append_pair("access_token", t);
                    }
                }
                q.append_pair("limit", &limit.to_string());
                q.append_pair("after", &cursor(last));
            }
            paging["next"] = json!(next.to_string());
        }
    }
    Ok((rest, paging))
}

/// GET /me/accounts: the caller's pages with their stable page tokens.
pub async fn my_accounts(State(s): State<AppState>, req: Req, Caller(c): Caller) -> Result<Response, GraphError> {
    let user = c.user()?.id;
    let (slice, paging) = page_slice(s.svc.user_pages(user).await?, |(p, _)| p.id.0, &req)?;
    let mut data = Vec::new();
    for (p, role) in slice {
        let mut item = json!({"name": p.name, "id": p.id.to_string(), "tasks": tasks_json(&role)});
        if let Ok(t) = s.svc.page_token(&c, &p, req.now).await {
            item["access_token"] = json!(t);
        }
        data.push(item);
    }
    Ok(graph_json(json!({"data": data, "paging": paging})))
}

/// GET /{user}/assigned_pages, and the `assigned_pages` field of GET /{user}.
pub async fn assigned_pages(s: &AppState, req: &Req, user: UserId) -> Result<Value, GraphError> {
    let (slice, paging) = page_slice(s.svc.user_pages(user).await?, |(p, _)| p.id.0, req)?;
    let data: Vec<Value> =
        slice.iter().map(|(p, r)| json!({"id": p.id.to_string(), "name": p.name, "tasks": tasks_json(r)})).collect();
    Ok(json!({"data": data, "paging": paging}))
}

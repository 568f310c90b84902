//! Pages and the stable page token (seed 004): page roles (`/{page}/assigned_users`), a page's fields including
//! `access_token`, `/me/accounts` with cursor paging whose `next` is an absolute URL, and a user's assigned pages.

use super::{success, GraphRequest};
use crate::{
    auth::{authenticate, Caller, ProofPolicy},
    error::{graph_json, GraphError},
    state::AppState,
};
use axum::response::Response;
use serde_json::{json, Value};
use suat_core::{
    page::{self, Page, PageRole},
    scope::is_page_scope,
    CoreError, PageId, TokenKind, TokenRecord, User, UserId,
};
#[allow(unused_imports)]
use suat_store::prelude::*;
use suat_store::AuditEntry;

const DEFAULT_LIMIT: usize = 25;
const MAX_LIMIT: usize = 100;

fn tasks_json(role: &PageRole) -> Value {
    json!(role.tasks.iter().map(|t| t.as_str()).collect::<Vec<_>>())
}

async fn load_user(state: &AppState, id: UserId) -> Result<User, GraphError> {
    state
        .store
        .get_user(id)
        .await?
        .ok_or_else(|| GraphError::param(format!("Param user must be a valid user ID: {id}")))
}

/// POST /{page}/assigned_users `user`, `tasks`.
pub async fn assign(state: &AppState, req: &GraphRequest, page: Page) -> Result<Response, GraphError> {
    let user_id: UserId = req.params.id("user")?;
    let tasks = page::parse_tasks(req.params.require("tasks")?)?;
    let caller = authenticate(state, &req.params, req.now, ProofPolicy::Standard).await?;
    let caller_user = caller.user()?;
    let assignee = load_user(state, user_id).await?;
    page::check_assign(caller_user, &page, &assignee)?;
    let role = PageRole { page_id: page.id, user_id, tasks };
    let audit = AuditEntry::new(req.now, "assign_page", caller_user.id.to_string())
        .subject(user_id)
        .detail(json!({"page": page.id, "tasks": tasks_json(&role)}));
    state.store.execute(&Write::SetPageRole(role), &audit).await?;
    success()
}

/// DELETE /{page}/assigned_users `user`: page tokens of that user for this page die with the role (467).
pub async fn unassign(state: &AppState, req: &GraphRequest, page: Page) -> Result<Response, GraphError> {
    let user_id: UserId = req.params.id("user")?;
    let caller = authenticate(state, &req.params, req.now, ProofPolicy::Standard).await?;
    let caller_user = caller.user()?;
    let assignee = load_user(state, user_id).await?;
    page::check_assign(caller_user, &page, &assignee)?;
    if state.store.get_page_role(page.id, user_id).await?.is_none() {
        return Err(GraphError::param(format!("User {user_id} has no role on page {}", page.id)));
    }
    let audit = AuditEntry::new(req.now, "unassign_page", caller_user.id.to_string())
        .subject(user_id)
        .detail(json!({"page": page.id}));
    state.store.execute(&Write::RemovePageRole { page: page.id, user: user_id }, &audit).await?;
    success()
}

/// Who may read a page's roles: admins of its business and users with a role on it.
async fn check_can_read(state: &AppState, caller: &Caller, page: &Page) -> Result<(), GraphError> {
    let user = caller.user()?;
    let admin = user.business_id == Some(page.business_id) && user.is_business_admin();
    if admin || state.store.get_page_role(page.id, user.id).await?.is_some() {
        Ok(())
    } else {
        Err(CoreError::UnknownObject { method: "get", id: page.id.to_string() }.into())
    }
}

/// GET /{page}/assigned_users -> `{"data":[{"id","name","tasks"}]}`.
pub async fn assigned_users(state: &AppState, req: &GraphRequest, page: Page) -> Result<Response, GraphError> {
    let caller = authenticate(state, &req.params, req.now, ProofPolicy::Standard).await?;
    check_can_read(state, &caller, &page).await?;
    let mut data = Vec::new();
    for role in state.store.list_page_roles(page.id).await? {
        if let Some(u) = state.store.get_user(role.user_id).await? {
            data.push(json!({"id": u.id, "name": u.name, "tasks": tasks_json(&role)}));
        }
    }
    Ok(graph_json(json!({ "data": data })))
}

/// The stable page token for the caller's system-user token on `page`, recorded (by hash) on first derivation.
async fn page_token(state: &AppState, caller: &Caller, page: &Page, now: i64) -> Result<String, GraphError> {
    let source = caller.resolved.record.as_ref().ok_or_else(|| -> GraphError {
        CoreError::Permission {
            code: 200,
            message: "A stable page access token needs a system user access token".into(),
        }
        .into()
    })?;
    let user = caller.user()?;
    let role = state.store.get_page_role(page.id, user.id).await?;
    page::check_page_token(source, role.as_ref())?;
    let token = state.keys.token.derive_page_token(&source.hash, page.id);
    let hash = state.keys.token.hash(token.expose());
    if state.store.get_token(&hash).await?.is_none() {
        let rec = TokenRecord {
            hash,
            kind: TokenKind::Page,
            app_id: source.app_id,
            user_id: Some(user.id),
            page_id: Some(page.id),
            scopes: source.scopes.iter().filter(|s| is_page_scope(s.as_str())).cloned().collect(),
            issued_at: now,
            expires_at: None,
            revoked_at: None,
            parent: Some(source.hash),
            session_epoch: user.session_epoch,
        };
        let audit = AuditEntry::new(now, "issue", user.id.to_string())
            .subject(user.id)
            .app(source.app_id)
            .token(&hash)
            .detail(json!({"kind": "PAGE", "page": page.id, "from": source.hash.to_hex()[..16]}));
        match state.store.execute(&Write::IssueToken(rec.clone()), &audit).await {
            // Two concurrent first derivations insert the same row; the loser's token is the same string.
            Ok(_) | Err(suat_store::StoreError::Conflict(_)) => {}
            Err(e) => return Err(e.into()),
        }
    }
    Ok(token.expose().to_owned())
}

fn wanted_fields(req: &GraphRequest) -> Result<Vec<String>, GraphError> {
    match req.params.get("fields") {
        Some(f) => Ok(suat_core::wire::parse_list("fields", f)?),
        None => Ok(vec!["name".into(), "id".into()]),
    }
}

/// GET /{page}[?fields=access_token,name,...].
pub async fn page_object(state: &AppState, req: &GraphRequest, page: Page) -> Result<Response, GraphError> {
    let caller = authenticate(state, &req.params, req.now, ProofPolicy::Standard).await?;
    let fields = wanted_fields(req)?;
    // A page token may read its own page.
    let own_page = caller.resolved.record.as_ref().is_some_and(|r| r.page_id == Some(page.id));
    if !own_page {
        check_can_read(state, &caller, &page).await?;
    }
    let mut out = serde_json::Map::new();
    for f in &fields {
        match f.as_str() {
            "access_token" if own_page => {
                out.insert("access_token".into(), json!(caller.token));
            }
            "access_token" => {
                out.insert("access_token".into(), json!(page_token(state, &caller, &page, req.now).await?));
            }
            "name" => {
                out.insert("name".into(), json!(page.name));
            }
            "tasks" => {
                if let Ok(u) = caller.user() {
                    if let Some(role) = state.store.get_page_role(page.id, u.id).await? {
                        out.insert("tasks".into(), tasks_json(&role));
                    }
                }
            }
            _ => {}
        }
    }
    out.insert("id".into(), json!(page.id.to_string()));
    Ok(graph_json(Value::Object(out)))
}

/// Cursor paging over an id-ordered list: `after` is the hex of the last id seen.
fn page_slice<T>(items: Vec<T>, id: impl Fn(&T) -> u64, req: &GraphRequest) -> Result<(Vec<T>, Value), GraphError> {
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
pub async fn my_accounts(state: &AppState, req: &GraphRequest) -> Result<Response, GraphError> {
    let caller = authenticate(state, &req.params, req.now, ProofPolicy::Standard).await?;
    let user = caller.user()?.clone();
    let pages = state.store.list_user_pages(user.id).await?;
    let (slice, paging) = page_slice(pages, |(p, _)| p.id.0, req)?;
    let mut data = Vec::new();
    for (p, role) in slice {
        let mut item = json!({"name": p.name, "id": p.id.to_string(), "tasks": tasks_json(&role)});
        if let Ok(t) = page_token(state, &caller, &p, req.now).await {
            item["access_token"] = json!(t);
        }
        data.push(item);
    }
    Ok(graph_json(json!({"data": data, "paging": paging})))
}

/// GET /{user}/assigned_pages, and the `assigned_pages` field of GET /{user}.
pub async fn assigned_pages(state: &AppState, req: &GraphRequest, user: &User) -> Result<Value, GraphError> {
    let pages = state.store.list_user_pages(user.id).await?;
    let (slice, paging) = page_slice(pages, |(p, _)| p.id.0, req)?;
    let data: Vec<Value> =
        slice.iter().map(|(p, r)| json!({"id": p.id.to_string(), "name": p.name, "tasks": tasks_json(r)})).collect();
    Ok(json!({"data": data, "paging": paging}))
}

/// Resolves a path id to a page, if it is one.
pub async fn find(state: &AppState, raw: &str) -> Result<Option<Page>, GraphError> {
    match raw.parse::<PageId>() {
        Ok(id) => Ok(state.store.get_page(id).await?),
        Err(_) => Ok(None),
    }
}

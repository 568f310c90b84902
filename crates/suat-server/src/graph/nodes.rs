//! Nodes and their edges, answered through `fields` (GRAPH-WIRE §5): every node answers only the fields asked for,
//! in the order asked, `id` last unless asked elsewhere; an unknown field is a `(#100)` error naming the node type;
//! an edge asked as a field (`accounts.limit(2){name}`) answers as the edge would, nested. The node types and their
//! fields are declared once in [`suat_wire::fields`]; this module only fetches the values.
//!
//! A field's value is computed only when asked: `access_token` on a page derives (and records) a page token, which
//! a plain `GET /{page}` must not do.

use super::{Caller, Req};
use crate::{error::GraphError, state::AppState};
use futures_util::future::BoxFuture;
use serde_json::{json, Map, Value};
use std::sync::Arc;
use suat_core::{
    page::{Page, PageTask},
    CoreError, User, UserKind,
};
use suat_service::objects::{AppEdge, Me, Object};
use suat_store::StoredApp;
use suat_wire::{
    fields::{self as wf, FieldRequest, NodeType, Selection, Slot},
    Cursors, List, Paging, Permission,
};

const DEFAULT_LIMIT: usize = 25;
const MAX_LIMIT: usize = 100;

/// A Graph object the caller may see.
pub enum Node {
    User(User),
    Page(Page),
    App(suat_core::App),
    Business(suat_core::Business),
}

/// A node as an edge lists it, with the tasks its relation carries (a user's tasks on a page).
pub struct Item {
    pub node: Node,
    pub tasks: Option<Vec<PageTask>>,
}

impl From<Node> for Item {
    fn from(node: Node) -> Item {
        Item { node, tasks: None }
    }
}

impl Node {
    pub fn ty(&self) -> &'static NodeType {
        match self {
            Node::User(_) => &wf::USER,
            Node::Page(_) => &wf::PAGE,
            Node::App(_) => &wf::APPLICATION,
            Node::Business(_) => &wf::BUSINESS,
        }
    }

    fn id(&self) -> u64 {
        match self {
            Node::User(u) => u.id.0,
            Node::Page(p) => p.id.0,
            Node::App(a) => a.id.0,
            Node::Business(b) => b.id.0,
        }
    }

    fn name(&self) -> &str {
        match self {
            Node::User(u) => &u.name,
            Node::Page(p) => &p.name,
            Node::App(a) => &a.name,
            Node::Business(b) => &b.name,
        }
    }
}

impl From<Me> for Node {
    fn from(me: Me) -> Node {
        match me {
            Me::Page(p) => Node::Page(p),
            Me::User(u) => Node::User(u),
        }
    }
}

impl From<Object> for Node {
    fn from(o: Object) -> Node {
        match o {
            Object::User(u) => Node::User(u),
            Object::Business(b) => Node::Business(b),
            Object::App(a) => Node::App(Arc::unwrap_or_clone(a).app),
        }
    }
}

impl From<Arc<StoredApp>> for Node {
    fn from(a: Arc<StoredApp>) -> Node {
        Node::App(Arc::unwrap_or_clone(a).app)
    }
}

/// The request's `fields`, parsed.
pub fn selection(req: &Req) -> Result<Option<Selection>, GraphError> {
    match req.params.get("fields") {
        None => Ok(None),
        Some(raw) => Selection::parse(raw).map(Some).map_err(GraphError::param),
    }
}

/// What rendering needs besides the node: who asks, and the request (for paging URLs).
pub struct Ctx<'a> {
    pub s: &'a AppState,
    pub req: &'a Req,
    pub caller: &'a Caller,
}

/// Answers `node` as `GET /{id}` does, with the request's `fields`.
pub async fn answer(ctx: &Ctx<'_>, node: Node) -> Result<Value, GraphError> {
    let sel = selection(ctx.req)?;
    let plan = node.ty().plan(sel.as_ref()).map_err(GraphError::param)?;
    let item = Item::from(node);
    Ok(Value::Object(render(ctx, &item, &plan, 0).await?))
}

/// Answers `/{id}/{edge}` as a list, with the request's `fields`, `limit` and `after`.
pub async fn answer_edge(ctx: &Ctx<'_>, node: &Node, edge: &str) -> Result<Value, GraphError> {
    if !node.ty().edges.contains(&edge) {
        return Err(CoreError::UnknownPath(format!("/{edge}")).into());
    }
    let sel = selection(ctx.req)?;
    let request = FieldRequest {
        name: edge.to_owned(),
        limit: None,
        sub: sel.map(|s| s.0.into_iter().map(|r| r.name).collect()),
    };
    let paging = PageArgs::from_request(ctx.req)?;
    list(ctx, node, &request, paging, 0).await
}

/// How deep edges may nest in one answer: a node's edge (1), and an edge of its items (2).
const MAX_DEPTH: u8 = 2;

fn render<'a>(
    ctx: &'a Ctx<'a>,
    item: &'a Item,
    plan: &'a [Slot],
    depth: u8,
) -> BoxFuture<'a, Result<Map<String, Value>, GraphError>> {
    Box::pin(async move {
        let mut out = Map::new();
        for slot in plan {
            match slot {
                Slot::Field(f) => {
                    if let Some(v) = field(ctx, item, f, depth).await? {
                        out.insert(f.clone(), v);
                    }
                }
                Slot::Edge(e) if depth < MAX_DEPTH => {
                    let limit = e.limit.unwrap_or(DEFAULT_LIMIT);
                    if !(1..=MAX_LIMIT).contains(&limit) {
                        return Err(limit_error());
                    }
                    let args = PageArgs { limit, after: None };
                    out.insert(e.name.clone(), list(ctx, &item.node, e, args, depth + 1).await?);
                }
                Slot::Edge(_) => {}
            }
        }
        Ok(out)
    })
}

/// One field's value, or `None` when the node has no such value (left out of the answer, as Graph does).
async fn field(ctx: &Ctx<'_>, item: &Item, f: &str, depth: u8) -> Result<Option<Value>, GraphError> {
    let c = &ctx.caller.0;
    Ok(match (&item.node, f) {
        (n, "id") => Some(json!(n.id().to_string())),
        (n, "name") => Some(json!(n.name())),
        // Inferred: a person's first and last names are their name split at the first space.
        (Node::User(u), "first_name") if is_person(u) => u.name.split_whitespace().next().map(|s| json!(s)),
        (Node::User(u), "last_name") if is_person(u) => {
            u.name.trim().split_once(char::is_whitespace).map(|(_, last)| json!(last.trim()))
        }
        (Node::User(u), "email") => u.email.as_ref().map(|e| json!(e)),
        (Node::Page(p), "category") => p.category.as_ref().map(|c| json!(c)),
        (Node::Page(p), "category_list") => {
            p.category.as_ref().map(|c| json!([{"id": Page::category_id(c), "name": c}]))
        }
        (Node::User(u), "role") => match u.kind {
            UserKind::SystemUser { role } => Some(json!(role.as_str())),
            UserKind::Person { .. } => None,
        },
        (_, "tasks") if item.tasks.is_some() => item.tasks.as_deref().map(tasks),
        (Node::Page(p), "tasks") => ctx.s.svc.my_role(c, p).await?.map(|r| tasks(&r.tasks)),
        (Node::Page(p), "access_token") => {
            let own = c.record().is_some_and(|r| r.page_id == Some(p.id));
            if own {
                Some(json!(c.token))
            } else {
                match ctx.s.svc.page_token(c, p, ctx.req.now).await {
                    Ok(t) => Some(json!(t)),
                    // In a listing, a page the caller cannot get a token for simply has none; asked directly,
                    // the reason is the answer.
                    Err(_) if depth > 0 => None,
                    Err(e) => return Err(e.into()),
                }
            }
        }
        _ => None,
    })
}

fn is_person(u: &User) -> bool {
    matches!(u.kind, UserKind::Person { .. })
}

fn tasks(t: &[PageTask]) -> Value {
    json!(t.iter().map(|t| t.as_str()).collect::<Vec<_>>())
}

/// Paging inputs: the limit, and the cursor to continue after.
#[derive(Clone, Copy)]
pub struct PageArgs {
    limit: usize,
    after: Option<u64>,
}

impl PageArgs {
    fn from_request(req: &Req) -> Result<PageArgs, GraphError> {
        let limit = match req.params.get("limit") {
            None => DEFAULT_LIMIT,
            Some(l) => l.parse::<usize>().ok().filter(|n| (1..=MAX_LIMIT).contains(n)).ok_or_else(limit_error)?,
        };
        let after = match req.params.get("after") {
            None => None,
            Some(c) => Some(decode_cursor(c).ok_or_else(|| GraphError::param("Param after is not a valid cursor"))?),
        };
        Ok(PageArgs { limit, after })
    }
}

fn limit_error() -> GraphError {
    GraphError::param(format!("Param limit must be an integer from 1 to {MAX_LIMIT}"))
}

fn cursor(id: u64) -> String {
    hex::encode(id.to_string())
}

fn decode_cursor(c: &str) -> Option<u64> {
    hex::decode(c).ok().and_then(|b| String::from_utf8(b).ok()).and_then(|s| s.parse().ok())
}

/// The items of `node`'s edge, and the node type they answer as.
async fn items(ctx: &Ctx<'_>, node: &Node, edge: &str) -> Result<(&'static NodeType, Vec<Item>), GraphError> {
    let (svc, c) = (&ctx.s.svc, &ctx.caller.0);
    let with_tasks = |(p, r): (Page, suat_core::page::PageRole)| Item { node: Node::Page(p), tasks: Some(r.tasks) };
    Ok(match (node, edge) {
        (Node::User(u), "accounts") => {
            // Only the user's own token lists its accounts (with their page tokens).
            if c.user()?.id != u.id {
                return Err(CoreError::Permission { code: 200, message: "Permissions error".into() }.into());
            }
            (&wf::ACCOUNT, svc.user_pages(u.id).await?.into_iter().map(with_tasks).collect())
        }
        (Node::User(u), "assigned_pages") => {
            (&wf::ASSIGNED_PAGE, svc.user_pages(u.id).await?.into_iter().map(with_tasks).collect())
        }
        (Node::Page(p), "assigned_users") => {
            let users = svc.assigned_users(c, p).await?;
            (
                &wf::ASSIGNED_USER,
                users.into_iter().map(|(u, r)| Item { node: Node::User(u), tasks: Some(r.tasks) }).collect(),
            )
        }
        (Node::Business(b), "owned_pages") => {
            (&wf::OWNED_PAGE, svc.business_pages(c, b.id).await?.into_iter().map(|p| Node::Page(p).into()).collect())
        }
        (Node::Business(b), "owned_apps" | "client_apps") => {
            let which = if edge == "owned_apps" { AppEdge::Owned } else { AppEdge::Clients };
            let apps = svc.business_apps(c, b.id, which).await?;
            (&wf::APP_ITEM, apps.into_iter().map(|a| Node::App(a).into()).collect())
        }
        (Node::Business(b), "owned_businesses") => {
            let children = svc.child_businesses(c, b.id).await?;
            (&wf::BUSINESS_ITEM, children.into_iter().map(|b| Node::Business(b).into()).collect())
        }
        (Node::Business(b), "system_users") => {
            // Listed ids may be app-scoped (seed 000): the listing's own, not the stored user's.
            let users = svc.list_system_users(c, b.id).await?;
            let as_user = |l: suat_service::system_users::Listed| User {
                id: l.id,
                name: l.name,
                business_id: Some(b.id),
                kind: UserKind::SystemUser { role: l.role },
                session_epoch: 0,
                email: None,
            };
            (&wf::SYSTEM_USER_ITEM, users.into_iter().map(|l| Node::User(as_user(l)).into()).collect())
        }
        _ => return Err(CoreError::UnknownPath(format!("/{edge}")).into()),
    })
}

/// `permissions` of the caller's own user (`/me?fields=permissions`, `/{me-id}/permissions`): what the person told
/// the app, as `GET /me/permissions` answers it.
async fn permissions(ctx: &Ctx<'_>, node: &Node, request: &FieldRequest) -> Result<Value, GraphError> {
    let c = &ctx.caller.0;
    match node {
        Node::User(u) if c.user()?.id == u.id => {}
        _ => return Err(CoreError::Permission { code: 200, message: "Permissions error".into() }.into()),
    }
    let sub = request.sub.as_ref().map(|names| Selection(names.iter().map(|n| FieldRequest::plain(n)).collect()));
    let plan = wf::PERMISSION.plan(sub.as_ref()).map_err(GraphError::param)?;
    let list = permission_list(ctx.s, c).await?;
    let data = list
        .data
        .iter()
        .map(|p| {
            let full = serde_json::to_value(p).expect("wire types serialise");
            Value::Object(NodeType::pick(full.as_object().expect("a permission is an object"), &plan))
        })
        .collect();
    Ok(serde_json::to_value(List::of(data)).expect("wire types serialise"))
}

/// The caller's permissions for its app, as a list.
pub async fn permission_list(s: &AppState, c: &suat_service::caller::Caller) -> Result<List<Permission>, GraphError> {
    let data = s.svc.permissions(c).await?;
    Ok(List::of(
        data.iter()
            .map(|(p, st)| Permission { permission: p.as_str().to_owned(), status: st.as_str().to_owned() })
            .collect(),
    ))
}

/// An edge's answer: `{"data":[...],"paging":{...}}` over id-ordered items.
fn list<'a>(
    ctx: &'a Ctx<'a>,
    node: &'a Node,
    request: &'a FieldRequest,
    args: PageArgs,
    depth: u8,
) -> BoxFuture<'a, Result<Value, GraphError>> {
    Box::pin(async move {
        if request.name == "permissions" {
            return permissions(ctx, node, request).await;
        }
        let (ty, mut all) = items(ctx, node, &request.name).await?;
        let sub = request.sub.as_ref().map(|names| Selection(names.iter().map(|n| FieldRequest::plain(n)).collect()));
        let plan = ty.plan(sub.as_ref()).map_err(GraphError::param)?;
        all.sort_by_key(|i| i.node.id());
        let mut rest: Vec<Item> = all.into_iter().filter(|i| args.after.is_none_or(|a| i.node.id() > a)).collect();
        let more = rest.len() > args.limit;
        rest.truncate(args.limit);
        let mut data = Vec::with_capacity(rest.len());
        for item in &rest {
            data.push(Value::Object(render(ctx, item, &plan, depth.max(1)).await?));
        }
        let paging = match (rest.first(), rest.last()) {
            (Some(first), Some(last)) => Some(Paging {
                cursors: Some(Cursors { before: cursor(first.node.id()), after: cursor(last.node.id()) }),
                next: more.then(|| next_url(ctx, node, request, args.limit, last.node.id(), depth)).transpose()?,
                previous: None,
            }),
            _ => None,
        };
        Ok(serde_json::to_value(List { data, paging }).expect("wire types serialise"))
    })
}

/// The absolute URL of the next page, from the configured public URL (never a Host header). It carries the
/// caller's `access_token` only if the request had it as a parameter (a Bearer header stays a header).
fn next_url(
    ctx: &Ctx<'_>,
    node: &Node,
    request: &FieldRequest,
    limit: usize,
    after: u64,
    depth: u8,
) -> Result<String, GraphError> {
    let req = ctx.req;
    let base = if depth == 0 {
        format!("{}/{}/{}", ctx.s.public_url, req.version, req.segments.join("/"))
    } else {
        format!("{}/{}/{}/{}", ctx.s.public_url, req.version, node.id(), request.name)
    };
    let mut next = url::Url::parse(&base).map_err(|_| GraphError::internal())?;
    {
        let mut q = next.query_pairs_mut();
        if depth == 0 {
            for (k, v) in req.params.iter() {
                if !matches!(k, "after" | "before" | "limit") {
                    q.append_pair(k, v);
                }
            }
        } else {
            if let Some(sub) = &request.sub {
                q.append_pair("fields", &sub.join(","));
            }
            if let Some(t) = req.params.get("access_token") {
                q.append_pair("access_token", t);
            }
        }
        q.append_pair("limit", &limit.to_string());
        q.append_pair("after", &cursor(after));
    }
    Ok(next.to_string())
}

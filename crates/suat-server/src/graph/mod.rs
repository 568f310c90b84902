//! The Graph surface: one dispatcher that strips the optional `/vNN.N` prefix, merges parameters, and routes
//! `/{id}/{edge}` paths to a module per resource. Graph ids name objects of several types, so routing by path shape
//! and then by the object found is the natural fit (axum's router cannot tell `/{su}/x` from `/{business}/x`).

mod debug_token;
mod dialog;
mod oauth;
mod objects;
mod pages;
mod system_users;

use crate::{
    error::{graph_json, GraphError},
    params::{Params, MAX_BODY},
    state::AppState,
};
use axum::{
    body::Body,
    extract::{Request, State},
    http::{header, HeaderValue, Method},
    response::{IntoResponse, Response},
};
use suat_core::{CoreError, UserId};

/// Parsed request: method, path segments after the version, merged parameters, the version asked for.
pub struct GraphRequest {
    pub method: Method,
    pub segments: Vec<String>,
    pub params: Params,
    pub now: i64,
    /// `http://host:port` as the client addressed us, for absolute paging URLs.
    pub base_url: String,
    /// The version in the path, or the server default.
    pub version: String,
}

/// Entry point for every non-control-plane request.
pub async fn dispatch(State(state): State<AppState>, req: Request) -> Response {
    let (parts, body) = req.into_parts();
    let path = parts.uri.path().to_owned();
    let mut segments: Vec<String> = path.split('/').filter(|s| !s.is_empty()).map(str::to_owned).collect();
    let version = match segments.first() {
        Some(v) if is_version(v) => Some(segments.remove(0)),
        _ => None,
    };
    let header = match &version {
        Some(v) => HeaderValue::from_str(v).unwrap_or_else(|_| state.api_version_header.clone()),
        None => state.api_version_header.clone(),
    };
    let v = version.unwrap_or_else(|| state.api_version.clone());
    let mut response = match handle(&state, parts.method, parts.uri.query(), &parts.headers, body, segments, v).await {
        Ok(r) => r,
        Err(e) => e.into_response(),
    };
    let h = response.headers_mut();
    h.insert("facebook-api-version", header);
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// `vN.N` with one or two digits on each side.
fn is_version(s: &str) -> bool {
    let Some(rest) = s.strip_prefix('v') else {
        return false;
    };
    let Some((a, b)) = rest.split_once('.') else {
        return false;
    };
    let digits = |x: &str| !x.is_empty() && x.len() <= 2 && x.bytes().all(|c| c.is_ascii_digit());
    digits(a) && digits(b)
}

async fn handle(
    state: &AppState,
    method: Method,
    query: Option<&str>,
    headers: &axum::http::HeaderMap,
    body: Body,
    segments: Vec<String>,
    version: String,
) -> Result<Response, GraphError> {
    let body = axum::body::to_bytes(body, MAX_BODY)
        .await
        .map_err(|_| GraphError::param(format!("Request body too large (max {MAX_BODY} bytes)")))?;
    let params = Params::parse(query, headers, &body)?;
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .filter(|h| h.bytes().all(|b| b.is_ascii_alphanumeric() || b".-:[]".contains(&b)))
        .unwrap_or("127.0.0.1");
    let base_url = format!("http://{host}");
    let req = GraphRequest { method, segments, params, now: state.now(), base_url, version };
    route(state, req).await
}

async fn route(state: &AppState, req: GraphRequest) -> Result<Response, GraphError> {
    use Method as M;
    let segs: Vec<&str> = req.segments.iter().map(String::as_str).collect();
    let m = req.method.clone();
    let read = m == M::GET || m == M::POST;
    match segs.as_slice() {
        ["oauth", "access_token"] if read => oauth::access_token(state, &req).await,
        ["oauth", "revoke"] if read => oauth::revoke(state, &req).await,
        ["dialog", "oauth"] if m == M::GET => dialog::show(state, &req).await,
        ["dialog", "oauth", "confirm"] if m == M::POST => dialog::confirm(state, &req).await,
        ["debug_token"] if m == M::GET => debug_token::debug_token(state, &req).await,
        ["me"] if m == M::GET => objects::me(state, &req).await,
        ["me", "accounts"] if m == M::GET => pages::my_accounts(state, &req).await,
        [_, "ads_access_token"] => Err(CoreError::Deprecated(
            "The /{system-user-id}/ads_access_token endpoint no longer exists: use POST /{system-user-id}/access_tokens".into(),
        )
        .into()),
        [id, edge] => {
            let method: &'static str = method_name(&m);
            if let Some(page) = pages::find(state, id).await? {
                return match (*edge, m) {
                    ("assigned_users", M::POST) => pages::assign(state, &req, page).await,
                    ("assigned_users", M::GET) => pages::assigned_users(state, &req, page).await,
                    ("assigned_users", M::DELETE) => pages::unassign(state, &req, page).await,
                    _ => Err(unknown_path(&req)),
                };
            }
            match (*edge, m) {
                ("applications", M::POST) => system_users::install(state, &req, id).await,
                ("applications", M::DELETE) => system_users::uninstall(state, &req, id).await,
                ("access_tokens", M::POST) => system_users::generate(state, &req, id).await,
                ("access_tokens", M::DELETE) => system_users::revoke_all(state, &req, id).await,
                ("assigned_pages", M::GET) => objects::assigned_pages_edge(state, &req, id).await,
                ("system_users", M::POST) => system_users::create(state, &req, parse_id(id, method)?).await,
                ("system_users", M::GET) => system_users::list(state, &req, parse_id(id, method)?).await,
                ("owned_apps" | "client_apps" | "owned_pages", M::GET) => {
                    objects::business_edge(state, &req, parse_id(id, method)?, edge).await
                }
                ("client_apps", M::POST) => objects::share_app(state, &req, parse_id(id, method)?).await,
                _ => Err(unknown_path(&req)),
            }
        }
        [id] if m == M::GET => objects::object(state, &req, id).await,
        _ => Err(unknown_path(&req)),
    }
}

fn method_name(m: &Method) -> &'static str {
    match *m {
        Method::GET => "get",
        Method::DELETE => "delete",
        _ => "post",
    }
}

/// 2500 for paths that do not exist, naming the components after the first one as Graph does.
fn unknown_path(req: &GraphRequest) -> GraphError {
    let tail = if req.segments.len() > 1 { req.segments[1..].join("/") } else { req.segments.join("/") };
    CoreError::UnknownPath(format!("/{tail}")).into()
}

/// A path id. Anything that is not a Graph id is an object that does not exist (100/33).
pub fn parse_id<T: std::str::FromStr>(s: &str, method: &'static str) -> Result<T, GraphError> {
    s.parse().map_err(|_| CoreError::UnknownObject { method, id: s.chars().take(64).collect() }.into())
}

/// `{"success":true}` (a bare `true` crashes the Python SDK).
pub fn success() -> Result<Response, GraphError> {
    Ok(graph_json(serde_json::json!({"success": true})))
}

/// Actor label for the audit log.
pub fn actor(user: Option<UserId>, app: suat_core::AppId) -> String {
    match user {
        Some(u) => u.to_string(),
        None => format!("app:{app}"),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn versions() {
        for v in ["v25.0", "v2.8", "v26.0", "v3.10"] {
            assert!(super::is_version(v), "{v}");
        }
        for v in ["v25", "25.0", "v.1", "vx.y", "v250.0", "me"] {
            assert!(!super::is_version(v), "{v}");
        }
    }
}

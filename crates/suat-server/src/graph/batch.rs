//! The root node: `GET /?ids=a,b` (several objects in one answer) and `POST /` with `batch=[...]` (several calls
//! in one request, GRAPH-WIRE §1). Each id and each operation is answered by the same router as a direct call,
//! through [`Inner`], so it is authenticated, checked and audited on its own exactly as that call would be: a batch
//! cannot do what its operations could not.

use super::{versioned, Req};
use crate::error::GraphError;
use axum::{
    body::Body,
    extract::Request,
    http::{header, HeaderValue, Method},
    response::Response,
    Extension, Router,
};
use serde::Deserialize;
use serde_json::Map;
use tower::ServiceExt;

/// Most operations in one batch, and most ids in one `?ids=` (Graph's limits).
pub const MAX_OPERATIONS: usize = 50;

/// The Graph routes without the batch entry point, to answer each operation: a batch inside a batch is refused
/// by construction.
#[derive(Clone)]
pub struct Inner(pub Router);

/// Runs one request through the inner router, as if it had arrived alone. `bearer` is the outer request's
/// `Authorization: Bearer` token, passed on as a header so it never becomes a URL parameter (and so never lands in
/// a `paging.next`).
async fn dispatch(
    inner: &Inner,
    method: Method,
    path_and_query: &str,
    body: Option<String>,
    bearer: Option<&str>,
) -> Response {
    let mut b = Request::builder().method(method).uri(path_and_query);
    if let Some(t) = bearer {
        b = b.header(header::AUTHORIZATION, format!("Bearer {t}"));
    }
    if body.is_some() {
        b = b.header(header::CONTENT_TYPE, "application/x-www-form-urlencoded");
    }
    let req = match b.body(body.map(Body::from).unwrap_or_else(Body::empty)) {
        Ok(r) => versioned(r),
        Err(_) => return axum::response::IntoResponse::into_response(bad_url(path_and_query)),
    };
    match inner.0.clone().oneshot(req).await {
        Ok(r) => r,
        Err(never) => match never {},
    }
}

fn bad_url(url: &str) -> GraphError {
    GraphError::param(format!("Invalid relative_url: {}", url.chars().take(64).collect::<String>()))
}

/// The answer's body as text (answers are small: the inner router bounds them).
async fn text(r: Response) -> Result<(u16, Vec<(String, String)>, String), GraphError> {
    let status = r.status().as_u16();
    let headers =
        r.headers().iter().filter_map(|(k, v)| Some((k.as_str().to_owned(), v.to_str().ok()?.to_owned()))).collect();
    let bytes = axum::body::to_bytes(r.into_body(), 1 << 20).await.map_err(|_| GraphError::internal())?;
    Ok((status, headers, String::from_utf8_lossy(&bytes).into_owned()))
}

/// The caller's credentials as query pairs, for an operation or id that does not bring its own: only what came as
/// parameters (a Bearer header is passed on as a header, see [`dispatch`]).
fn credentials(req: &Req) -> Vec<(&'static str, String)> {
    let mut out = Vec::new();
    if let Some(t) = req.params.get("access_token") {
        out.push(("access_token", t.to_owned()));
        if let Some(p) = req.params.get("appsecret_proof") {
            out.push(("appsecret_proof", p.to_owned()));
        }
        if let Some(t) = req.params.get("appsecret_time") {
            out.push(("appsecret_time", t.to_owned()));
        }
    }
    out
}

fn encode(pairs: &[(&str, String)]) -> String {
    let mut s = url::form_urlencoded::Serializer::new(String::new());
    for (k, v) in pairs {
        s.append_pair(k, v);
    }
    s.finish()
}

/// GET /?ids=a,b[&fields=...] -> `{"a":{...},"b":{...}}`. The first failing id's error is the answer, as one
/// object's error would be.
pub async fn ids(req: Req, Extension(inner): Extension<Inner>) -> Result<Response, GraphError> {
    let Some(raw) = req.params.get("ids") else {
        return Err(suat_core::CoreError::UnknownPath("/".into()).into());
    };
    let ids = suat_core::wire::parse_list("ids", raw)?;
    if ids.len() > MAX_OPERATIONS {
        return Err(GraphError::param(format!("Too many IDs. Maximum: {MAX_OPERATIONS}")));
    }
    let mut query: Vec<(&str, String)> = credentials(&req);
    for (k, v) in req.params.iter() {
        if !matches!(k, "ids" | "access_token" | "appsecret_proof" | "appsecret_time") {
            query.push((k, v.to_owned()));
        }
    }
    let query = encode(&query);
    let mut out = Map::new();
    for id in ids {
        if id.contains(['/', '?', '#', '%']) {
            return Err(bad_url(&id));
        }
        let r =
            dispatch(&inner, Method::GET, &format!("/{}/{id}?{query}", req.version), None, req.params.bearer()).await;
        if !r.status().is_success() {
            return Ok(r);
        }
        let (_, _, body) = text(r).await?;
        out.insert(id, serde_json::from_str(&body).map_err(|_| GraphError::internal())?);
    }
    Ok(crate::error::graph_json(&out))
}

/// One operation of a batch.
#[derive(Deserialize)]
struct Operation {
    method: String,
    relative_url: String,
    /// Form-encoded parameters of a POST or DELETE.
    #[serde(default)]
    body: Option<String>,
}

/// One answer of a batch: `{"code","headers"?,"body"}`, `body` being the answer's JSON as a string.
#[derive(serde::Serialize)]
struct OperationAnswer {
    code: u16,
    #[serde(skip_serializing_if = "Option::is_none")]
    headers: Option<Vec<HeaderItem>>,
    body: String,
}

#[derive(serde::Serialize)]
struct HeaderItem {
    name: String,
    value: String,
}

/// POST / `batch=[{method, relative_url, body?}, ...]`: a JSON array of answers in request order.
pub async fn batch(req: Req, Extension(inner): Extension<Inner>) -> Result<Response, GraphError> {
    let raw = req.params.require("batch")?;
    let ops: Vec<Operation> = serde_json::from_str(raw)
        .map_err(|_| GraphError::param("Param batch must be a JSON array of {method, relative_url, body}"))?;
    if ops.is_empty() {
        return Err(GraphError::param("Param batch must contain at least one operation"));
    }
    if ops.len() > MAX_OPERATIONS {
        // Inferred wording: Graph's limit is 50 operations.
        return Err(GraphError::param(format!(
            "Too many requests in batch message. Maximum batch size is {MAX_OPERATIONS}"
        )));
    }
    let include_headers = req.params.flag_or("include_headers", true)?;
    let defaults = credentials(&req);
    let mut answers = Vec::with_capacity(ops.len());
    for op in ops {
        let method = match op.method.to_ascii_uppercase().as_str() {
            "GET" => Method::GET,
            "POST" => Method::POST,
            "DELETE" => Method::DELETE,
            _ => return Err(GraphError::param("Each batch operation's method must be GET, POST or DELETE")),
        };
        let rel = op.relative_url.trim_start_matches('/');
        if rel.contains('#') || rel.starts_with("http") || rel.len() > 4096 {
            return Err(bad_url(rel));
        }
        let (path, query) = rel.split_once('?').unwrap_or((rel, ""));
        // The operation's own token wins; the batch's credentials fill in for operations without one.
        let own = format!("&{query}&{}", op.body.as_deref().unwrap_or(""));
        let mut q = query.to_owned();
        let has_own = own.contains("&access_token=");
        if !has_own && !defaults.is_empty() {
            q = if q.is_empty() { encode(&defaults) } else { format!("{q}&{}", encode(&defaults)) };
        }
        let uri = if q.is_empty() { format!("/{path}") } else { format!("/{path}?{q}") };
        let body = if method == Method::GET { None } else { op.body };
        let (code, headers, body) = text(dispatch(&inner, method, &uri, body, req.params.bearer()).await).await?;
        let headers =
            include_headers.then(|| headers.into_iter().map(|(name, value)| HeaderItem { name, value }).collect());
        answers.push(OperationAnswer { code, headers, body });
    }
    let mut r = crate::error::graph_json(&answers);
    r.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static(crate::error::JSON_UTF8));
    Ok(r)
}

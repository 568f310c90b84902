//! The Graph surface. A request goes: [`versioned`] strips the optional `/vNN.N` prefix (before routing), the
//! router picks a handler by path shape, [`parse_request`] merges query and body into one [`Params`] (once, for
//! every extractor), the extractors ([`Req`], [`Caller`], [`ProofCaller`]) hand the handler its inputs and an
//! authenticated caller, the handler calls one `suat_service` use case and translates its answer into JSON; errors
//! become the Graph envelope in [`crate::error`] only.
//!
//! `/{id}/{edge}` is routed by its edge first, so no object is read before the edge is known to exist.

pub mod batch;
mod debug_token;
pub(crate) mod dialog;
pub mod nodes;
mod oauth;
mod objects;
mod pages;
mod permissions;
mod system_users;

use crate::{
    error::{graph_json, GraphError},
    params::{Params, MAX_BODY},
    state::AppState,
};
use axum::{
    extract::{FromRequestParts, Path, Request, State},
    handler::Handler,
    http::{request::Parts, HeaderName, HeaderValue, Method, Uri},
    middleware::{self, Next},
    response::{IntoResponse, Response},
    routing::{any, delete, get, post},
    Router,
};
use std::{future::Future, sync::Arc};
use suat_core::CoreError;
use suat_service::caller::{Presented, ProofPolicy};

/// The Graph routes, with the per-request parsing and the Graph headers. Mounted behind [`versioned`]. The root
/// node (`GET /?ids=`, batch `POST /`) is left out of the router its operations run through ([`batch::Inner`]).
///
/// [`parse_request`] (and the headers around it) wrap the whole route table rather than each route
/// (`Router::layer` runs after routing): parsing must come before routing, because a `method` parameter changes
/// which handler the request reaches.
///
/// The outer router (`with_root`, whole HTTP requests) also has the fault rules' gate (after parsing, before
/// routing) and the journal's observer (inside the headers, around everything else); a batch's operations have
/// neither: they are not requests of their own.
pub fn router(state: AppState, with_root: bool) -> Router<AppState> {
    use tower::Layer;
    let routes = routes(with_root).with_state(state.clone());
    // One middleware calling the layers in turn: each axum layer of its own clones the whole stack inside it on
    // every request, which was a tenth of the cost of a cached `GET /me`.
    if !with_root {
        return Router::new().fallback_service(middleware::from_fn_with_state(state, operation).layer(routes));
    }
    Router::new().fallback_service(middleware::from_fn_with_state(state, request).layer(routes))
}

/// A whole HTTP request: headers, then the journal's observer, parsing, and the fault rules' gate.
async fn request(State(state): State<AppState>, req: Request, next: Next) -> Response {
    // Each layer's future boxed on its own, as axum would: nested unboxed, the whole stack is one future copied
    // whole at every step.
    Box::pin(crate::headers::graph_headers(req, async |req| {
        Box::pin(crate::journal::observe(&state, req, async |req| {
            Box::pin(parse_request(&state, req, async |req| {
                Box::pin(crate::faults::gate(&state, req, async |req| next.run(req).await)).await
            }))
            .await
        }))
        .await
    }))
    .await
}

/// One operation of a batch: headers and parsing only.
async fn operation(State(state): State<AppState>, req: Request, next: Next) -> Response {
    Box::pin(crate::headers::graph_headers(req, async |req| {
        Box::pin(parse_request(&state, req, async |req| next.run(req).await)).await
    }))
    .await
}

fn routes(with_root: bool) -> Router<AppState> {
    let root = if with_root { get(batch::ids).post(batch::batch) } else { any(unknown_path) };
    Router::new()
        .route("/", root)
        .route("/oauth/access_token", get(oauth::access_token).post(oauth::access_token).fallback(unknown_path))
        .route("/oauth/revoke", get(oauth::revoke).post(oauth::revoke).fallback(unknown_path))
        .route("/dialog/oauth", get(dialog::show).fallback(unknown_path))
        .route("/dialog/oauth/confirm", post(dialog::confirm).fallback(unknown_path))
        .route("/debug_token", get(debug_token::debug_token).fallback(unsupported_method))
        .route("/me", get(objects::me).fallback(unknown_path))
        .route("/me/permissions", get(objects::me_permissions).delete(permissions::remove_all).fallback(unknown_path))
        .route("/me/permissions/{permission}", delete(permissions::remove_one).fallback(unknown_path))
        .route("/me/{edge}", get(objects::me_edge).fallback(unknown_path))
        .route("/{id}", get(objects::object).fallback(objects::other_method))
        .route("/{id}/{edge}", any(edge))
        .fallback(unknown_path)
}

/// The API version a request asked for (its path prefix), or the server default.
#[derive(Clone)]
pub struct ApiVersion(pub Option<String>);

/// Before routing: strips `/vNN.N` from the path and remembers it, so one route serves versioned and bare paths,
/// and drops empty segments (`/me/` is `/me`, as the SDKs that append a slash expect).
pub fn versioned(mut req: Request) -> Request {
    let (version, normal) = split_version(req.uri().path());
    let version = version.map(str::to_owned);
    if let Some(normal) = normal {
        let pq = match req.uri().query() {
            Some(q) => format!("{normal}?{q}"),
            None => normal,
        };
        if let Ok(pq) = pq.parse() {
            let mut parts = req.uri().clone().into_parts();
            parts.path_and_query = Some(pq);
            if let Ok(uri) = Uri::from_parts(parts) {
                *req.uri_mut() = uri;
            }
        }
    }
    if version.is_some() {
        req.extensions_mut().insert(ApiVersion(version));
    }
    req
}

/// A path's version segment, and the path without it and without empty segments if that differs from the path.
/// Without a version and empty segments (a bare `/me`), nothing is allocated.
fn split_version(path: &str) -> (Option<&str>, Option<String>) {
    // The first segment starts after the leading slashes.
    let start = path.len() - path.trim_start_matches('/').len();
    let version = path[start..].split('/').next().filter(|v| is_version(v));
    let rest = match version {
        Some(v) => &path[start + v.len()..],
        None => path,
    };
    let clean = rest.len() > 1 && rest.starts_with('/') && !rest.ends_with('/') && !rest.contains("//");
    if clean && version.is_none() {
        return (None, None);
    }
    let normal = if clean {
        rest.to_owned()
    } else {
        let mut n = String::with_capacity(rest.len() + 1);
        for seg in rest.split('/').filter(|s| !s.is_empty()) {
            n.push('/');
            n.push_str(seg);
        }
        if n.is_empty() {
            n.push('/');
        }
        n
    };
    let changed = normal != path;
    (version, changed.then_some(normal))
}

/// Runs a request that has arrived to its end, whether or not its client waits for the answer: a client that hangs
/// up after sending a revocation still gets it done, never half of it. The request is polled in place (a task per
/// request would wake the other worker thread for every call, the largest cost of a cached read); only if its
/// connection drops it before it is done is the rest handed to a task of its own.
pub async fn run_whole(state: &AppState, request: impl Future<Output = Response> + Send + 'static) -> Response {
    use futures_util::FutureExt;
    let whole = Whole(Some(Box::pin(std::panic::AssertUnwindSafe(request).catch_unwind())));
    let r = match whole.await {
        Ok(r) => r,
        Err(_) => GraphError::internal().into_response(),
    };
    // An injected 5xx is what the operator asked for, not a fault of the server.
    if r.status().is_server_error() && r.extensions().get::<crate::faults::Injected>().is_none() {
        state.server_errors.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    }
    r
}

type Unfinished = std::pin::Pin<Box<dyn Future<Output = std::thread::Result<Response>> + Send>>;

/// A request's future that, dropped unfinished, finishes on a task of its own.
struct Whole(Option<Unfinished>);

impl Future for Whole {
    type Output = std::thread::Result<Response>;
    fn poll(mut self: std::pin::Pin<&mut Self>, cx: &mut std::task::Context<'_>) -> std::task::Poll<Self::Output> {
        let Some(fut) = self.0.as_mut() else {
            return std::task::Poll::Pending;
        };
        let out = std::task::ready!(fut.as_mut().poll(cx));
        self.0 = None;
        std::task::Poll::Ready(out)
    }
}

impl Drop for Whole {
    fn drop(&mut self) {
        if let Some(fut) = self.0.take() {
            if let Ok(rt) = tokio::runtime::Handle::try_current() {
                rt.spawn(fut);
            }
        }
    }
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

/// One parsed Graph request, shared by every extractor of the handler.
pub struct GraphRequest {
    pub method: Method,
    /// Path segments after the version.
    pub segments: Vec<String>,
    pub params: Params,
    /// The server clock when the request arrived: every rule of one request sees one instant.
    pub now: i64,
    /// The version in the path, or the server default.
    pub version: String,
}

impl GraphRequest {
    /// What the request presented to prove who it is.
    pub fn presented(&self) -> Presented<'_> {
        Presented {
            token: self.params.caller_token(),
            proof: self.params.get("appsecret_proof"),
            proof_time: self.params.get("appsecret_time"),
        }
    }
}

/// The extractor of the parsed request.
#[derive(Clone)]
pub struct Req(pub Arc<GraphRequest>);

impl std::ops::Deref for Req {
    type Target = GraphRequest;
    fn deref(&self) -> &GraphRequest {
        &self.0
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Req {
    type Rejection = GraphError;
    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Req, GraphError> {
        parts.extensions.get::<Req>().cloned().ok_or_else(GraphError::internal)
    }
}

/// An authenticated caller: a valid token, with its appsecret_proof checked against its own app when sent (and
/// demanded when that app requires one).
pub struct Caller(pub suat_service::caller::Caller);

/// An authenticated caller whose proof the use case checks itself, against another app's secret (generating a
/// system-user token: the proof is of the app the token is for).
pub struct ProofCaller(pub suat_service::caller::Caller);

async fn authenticate(
    parts: &mut Parts,
    state: &AppState,
    policy: ProofPolicy,
) -> Result<suat_service::caller::Caller, GraphError> {
    let req = Req::from_request_parts(parts, state).await?;
    let caller = state.svc.authenticate(req.presented(), req.now, policy).await?;
    crate::journal::note_caller(caller.app().app.id);
    Ok(caller)
}

impl FromRequestParts<AppState> for Caller {
    type Rejection = GraphError;
    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Caller, GraphError> {
        authenticate(parts, state, ProofPolicy::Standard).await.map(Caller)
    }
}

impl FromRequestParts<AppState> for ProofCaller {
    type Rejection = GraphError;
    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<ProofCaller, GraphError> {
        authenticate(parts, state, ProofPolicy::UseCaseVerifies).await.map(ProofCaller)
    }
}

const FACEBOOK_API_VERSION: HeaderName = HeaderName::from_static("facebook-api-version");

/// Reads and merges the parameters once, stores the parsed request for the extractors, and puts the Graph headers
/// on whatever the handler answers.
async fn parse_request(state: &AppState, req: Request, next: impl AsyncFnOnce(Request) -> Response) -> Response {
    let version = req.extensions().get::<ApiVersion>().and_then(|v| v.0.clone());
    let header = match &version {
        Some(v) => HeaderValue::from_str(v).unwrap_or_else(|_| state.api_version_header.clone()),
        None => state.api_version_header.clone(),
    };
    let mut method = req.method().clone();
    let mut response = match parse(state, req, version).await {
        Ok(req) => {
            method = req.method().clone();
            next(req).await
        }
        Err(e) => e.into_response(),
    };
    response.headers_mut().insert(FACEBOOK_API_VERSION, header);
    // The method after any `method=` override, for the headers layer outside (ETags are for GETs).
    response.extensions_mut().insert(crate::headers::AnsweredMethod(method));
    response
}

async fn parse(state: &AppState, req: Request, version: Option<String>) -> Result<Request, GraphError> {
    let (mut parts, body) = req.into_parts();
    let body = axum::body::to_bytes(body, MAX_BODY).await.map_err(|e| GraphError::unreadable_body(&e, MAX_BODY))?;
    let params = Params::parse(parts.uri.query(), &parts.headers, &body)?;
    // A path that is not UTF-8 once decoded names nothing; answered here, as a Graph error, before the router's
    // own extractors would answer it in plain text.
    if percent_encoding::percent_decode_str(parts.uri.path()).decode_utf8().is_err() {
        let shown =
            String::from_utf8_lossy(&percent_encoding::percent_decode_str(parts.uri.path()).collect::<Vec<u8>>())
                .chars()
                .take(64)
                .collect::<String>();
        return Err(CoreError::UnknownPath(shown).into());
    }
    if let Some(m) = method_override(&params)? {
        parts.method = m;
    }
    let segments = parts.uri.path().split('/').filter(|s| !s.is_empty()).map(str::to_owned).collect();
    let graph = GraphRequest {
        method: parts.method.clone(),
        segments,
        params,
        now: state.now(),
        version: version.unwrap_or_else(|| state.api_version.clone()),
    };
    parts.extensions.insert(Req(Arc::new(graph)));
    Ok(Request::from_parts(parts, axum::body::Body::empty()))
}

/// GRAPH-WIRE 1 (r2): `method=GET|POST|DELETE`, in the query or the body, is the request's method (fbgraph and
/// the old JS SDK send `POST ...?method=delete`). It is applied here, once, before routing, so every handler sees
/// the method the client meant: a DELETE sent as a POST can never reach a POST handler (e.g. mint a token).
fn method_override(params: &Params) -> Result<Option<Method>, GraphError> {
    let Some(m) = params.get("method") else { return Ok(None) };
    match m.to_ascii_uppercase().as_str() {
        "GET" => Ok(Some(Method::GET)),
        "POST" => Ok(Some(Method::POST)),
        "DELETE" => Ok(Some(Method::DELETE)),
        _ => Err(GraphError::param("Param method must be one of {GET, POST, DELETE}")),
    }
}

/// `/{id}/{edge}`: the edge (and the method) decide the handler; the handlers load the object they need.
async fn edge(State(state): State<AppState>, Path((_, edge)): Path<(String, String)>, req: Request) -> Response {
    use Method as M;
    let m = req.method().clone();
    match (edge.as_str(), m) {
        ("assigned_users", M::POST) => pages::assign.call(req, state).await,
        ("assigned_users", M::DELETE) => pages::unassign.call(req, state).await,
        ("applications", M::POST) => system_users::install.call(req, state).await,
        ("applications", M::DELETE) => system_users::uninstall.call(req, state).await,
        ("access_tokens", M::POST) => system_users::generate.call(req, state).await,
        ("access_tokens", M::DELETE) => system_users::revoke_all.call(req, state).await,
        ("system_users", M::POST) => system_users::create.call(req, state).await,
        ("client_apps", M::POST) => objects::share_app.call(req, state).await,
        (e, M::GET) if suat_wire::fields::is_edge(e) => objects::edge.call(req, state).await,
        ("ads_access_token", _) => GraphError::from(CoreError::Deprecated(
            "The /{system-user-id}/ads_access_token endpoint no longer exists: use POST /{system-user-id}/access_tokens"
                .into(),
        ))
        .into_response(),
        _ => unknown_path(Req::from_request_parts(&mut req.into_parts().0, &state).await).await.into_response(),
    }
}

/// 100/33 for a known path asked with a method it does not take (`POST /debug_token`).
async fn unsupported_method(method: Method) -> GraphError {
    CoreError::UnsupportedMethod(method_name(&method)).into()
}

/// 2500 for paths that do not exist, naming the components after the first one as Graph does.
async fn unknown_path(req: Result<Req, GraphError>) -> GraphError {
    let segments = match &req {
        Ok(r) => r.segments.clone(),
        Err(_) => vec![],
    };
    let tail = if segments.len() > 1 { segments[1..].join("/") } else { segments.join("/") };
    CoreError::UnknownPath(format!("/{tail}")).into()
}

/// A path id (GRAPH-WIRE §4): digits that fit a signed 64-bit integer; other digits are an object that does not
/// exist (100/33), and anything else is an alias that names nothing (803).
pub fn path_id(s: &str, method: &'static str) -> Result<u64, GraphError> {
    let shown: String = s.chars().take(64).collect();
    if !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) {
        return match s.parse::<suat_core::AppId>() {
            Ok(id) => Ok(id.0),
            Err(()) => Err(CoreError::UnknownObject { method, id: shown }.into()),
        };
    }
    Err(CoreError::Permission {
        code: 803,
        message: format!("Some of the aliases you requested do not exist: {shown}"),
    }
    .into())
}

/// A typed path id (see [`path_id`]).
pub fn parse_id<T: From<u64>>(s: &str, method: &'static str) -> Result<T, GraphError> {
    path_id(s, method).map(T::from)
}

/// The method's name in Graph's "Unsupported {method} request" messages.
pub fn method_name(m: &Method) -> &'static str {
    match *m {
        Method::GET => "get",
        Method::DELETE => "delete",
        _ => "post",
    }
}

/// `{"success":true}` (a bare `true` crashes the Python SDK).
pub fn success() -> Result<Response, GraphError> {
    Ok(graph_json(&suat_wire::Success::TRUE))
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures_util::FutureExt;

    fn whole(f: impl Future<Output = Response> + Send + 'static) -> Whole {
        Whole(Some(Box::pin(std::panic::AssertUnwindSafe(f).catch_unwind())))
    }

    /// The connection drops the request mid-way (its client hung up): the rest still runs, on a task of its own.
    #[tokio::test]
    async fn a_request_dropped_unfinished_runs_to_its_end() {
        let (go, wait) = tokio::sync::oneshot::channel::<()>();
        let (done, finished) = tokio::sync::oneshot::channel::<()>();
        let mut w = Box::pin(whole(async move {
            wait.await.ok();
            done.send(()).ok();
            Response::default()
        }));
        let pending = std::future::poll_fn(|cx| std::task::Poll::Ready(w.as_mut().poll(cx).is_pending())).await;
        assert!(pending);
        drop(w);
        go.send(()).unwrap();
        tokio::time::timeout(std::time::Duration::from_secs(10), finished)
            .await
            .expect("the dropped request finished")
            .expect("it ran to its end rather than being dropped");
    }

    /// A request that finishes in place is not run again, and a panic in it is an error answer, not a lost task.
    #[tokio::test]
    async fn a_request_finishes_in_place_and_a_panic_is_caught() {
        assert_eq!(whole(async { Response::default() }).await.unwrap().status(), axum::http::StatusCode::OK);
        assert!(whole(async { panic!("handler bug") }).await.is_err());
    }

    #[test]
    fn the_method_parameter_overrides() {
        let over = |q: &str| {
            let p = Params::parse(Some(q), &Default::default(), &Default::default()).unwrap();
            method_override(&p)
        };
        assert_eq!(over("method=delete").unwrap(), Some(Method::DELETE));
        assert_eq!(over("method=GET").unwrap(), Some(Method::GET));
        assert_eq!(over("method=Post").unwrap(), Some(Method::POST));
        assert_eq!(over("a=1").unwrap(), None);
        assert_eq!(over("method=").unwrap(), None);
        assert!(over("method=patch").is_err());
    }

    #[test]
    fn the_version_is_split_off_and_empty_segments_dropped() {
        let split = super::split_version;
        assert_eq!(split("/me"), (None, None));
        assert_eq!(split("/"), (None, None));
        assert_eq!(split("/v25.0/me"), (Some("v25.0"), Some("/me".into())));
        assert_eq!(split("/v25.0/123/access_tokens"), (Some("v25.0"), Some("/123/access_tokens".into())));
        assert_eq!(split("/v25.0"), (Some("v25.0"), Some("/".into())));
        assert_eq!(split("/v25.0/"), (Some("v25.0"), Some("/".into())));
        assert_eq!(split("//v25.0//me/"), (Some("v25.0"), Some("/me".into())));
        assert_eq!(split("/me/"), (None, Some("/me".into())));
        assert_eq!(split("//me//permissions"), (None, Some("/me/permissions".into())));
        assert_eq!(split("/v250/me"), (None, None));
        assert_eq!(split("/me/v25.0"), (None, None), "only a first segment is a version");
        assert_eq!(split("/v25.0/v25.0/me"), (Some("v25.0"), Some("/v25.0/me".into())), "and only one");
        assert_eq!(split("/v25.0/%6De"), (Some("v25.0"), Some("/%6De".into())), "nothing is decoded here");
        assert_eq!(split(""), (None, Some("/".into())));
    }

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

//! Fault rules (issue 10): the control plane makes the next Graph calls fail, slow down or lose their connection,
//! so a client's retry and backoff code can be tested against the real wire. Rules match on method, a glob over
//! the unversioned path, the caller's app and token kind; they fire always, N times, or with a probability drawn
//! from a per-rule seeded RNG (the same seed and the same calls give the same sequence, so a test is repeatable).
//! An injected error goes through the one [`GraphError`] envelope, so its headers are a real error's.
//!
//! Faults apply to whole HTTP requests, not to the operations of a batch (those have no connection of their own).

use crate::{error::GraphError, graph::Req, state::AppState};
use axum::{
    body::Bytes,
    extract::{Path, Request, State},
    http::{Method, StatusCode},
    response::{IntoResponse, Response},
    routing::{delete, get},
    Router,
};
use rand::{rngs::StdRng, Rng, SeedableRng};
use serde::{Deserialize, Serialize};
use serde_json::json;
use std::sync::{
    atomic::{AtomicUsize, Ordering},
    Mutex,
};
use suat_core::TokenKind;

/// At most this many rules at once: each request is matched against all of them under one lock.
pub const MAX_RULES: usize = 100;
/// Longest added latency: a rule must not be able to park a request (and its task) for ever.
pub const MAX_LATENCY_MS: u64 = 30_000;
/// Longest path pattern and error message a rule may carry.
const MAX_TEXT: usize = 1_000;

/// A rule as the operator sends it (`POST /_suat/faults`).
#[derive(Deserialize, Serialize, Clone, Debug, Default, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FaultSpec {
    /// `GET`, `POST` or `DELETE` (after the `method` parameter's override); any if absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub method: Option<String>,
    /// Glob over the unversioned path: `*` is any run within one segment, `**` any run of segments.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    /// The caller's app (of its token, or `client_id`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub app_id: Option<String>,
    /// `USER`, `SYSTEM_USER`, `PAGE` or `APP`: the kind of the token presented.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_kind: Option<String>,
    /// Fire this many times, then never again (the rule stays listed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub times: Option<u32>,
    /// Fire on a matching call with this probability (0 to 1), drawn from the rule's RNG.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub probability: Option<f64>,
    /// Seed of the rule's RNG; a random one (shown in the listing) if absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seed: Option<u64>,
    /// Answer this Graph error instead of calling the handler.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<ErrorSpec>,
    /// Wait this long first (then answer the error, drop, or let the call through).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub latency_ms: Option<u64>,
    /// Close the connection without an answer.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub drop: bool,
}

/// The Graph error a rule answers.
#[derive(Deserialize, Serialize, Clone, Debug, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ErrorSpec {
    pub code: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subcode: Option<u32>,
    /// Default: what Graph says for the code (2, 4, 17, 32, 613, 80000-80014 are transient).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub is_transient: Option<bool>,
    /// HTTP status, 400 to 599. Default: Graph's for the code (403 for 4, 500 for 2, else 400).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<u16>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// `OAuthException` (default) or `GraphMethodException`.
    #[serde(default, rename = "type", skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
}

struct Rule {
    id: u64,
    spec: FaultSpec,
    method: Option<Method>,
    kind: Option<TokenKind>,
    seed: u64,
    rng: StdRng,
    remaining: Option<u32>,
    hits: u64,
}

impl Rule {
    fn needs_caller(&self) -> bool {
        self.spec.app_id.is_some() || self.kind.is_some()
    }

    fn json(&self) -> serde_json::Value {
        let mut v = serde_json::to_value(&self.spec).expect("spec serialises");
        v["id"] = json!(self.id.to_string());
        v["seed"] = json!(self.seed);
        v["hits"] = json!(self.hits);
        if let Some(r) = self.remaining {
            v["remaining"] = json!(r);
        }
        v
    }
}

/// The server's rules, in creation order (the first that fires wins).
#[derive(Default)]
pub struct Faults {
    inner: Mutex<FaultsInner>,
    /// How many rules exist, read without the lock: with none (the usual case) a request costs one atomic load.
    count: AtomicUsize,
}

#[derive(Default)]
struct FaultsInner {
    rules: Vec<Rule>,
    next_id: u64,
}

/// What a firing rule does to the request.
#[derive(Debug, Clone)]
pub struct Fired {
    pub rule: u64,
    pub latency_ms: u64,
    pub error: Option<GraphError>,
    pub drop: bool,
}

/// Who presented what, resolved only when some rule asks for app or token kind.
pub struct CallerFacts {
    pub app_id: Option<String>,
    pub kind: Option<TokenKind>,
}

impl Faults {
    /// Checks and adds a rule; answers its listing.
    pub fn add(&self, spec: FaultSpec) -> Result<serde_json::Value, GraphError> {
        let method = match &spec.method {
            Some(m) => Some(match m.to_ascii_uppercase().as_str() {
                "GET" => Method::GET,
                "POST" => Method::POST,
                "DELETE" => Method::DELETE,
                _ => return Err(GraphError::param("method must be GET, POST or DELETE")),
            }),
            None => None,
        };
        let kind = match &spec.token_kind {
            Some(k) => Some(
                TokenKind::parse(k)
                    .ok_or_else(|| GraphError::param("token_kind must be USER, SYSTEM_USER, PAGE or APP"))?,
            ),
            None => None,
        };
        if spec.path.as_ref().is_some_and(|p| p.len() > MAX_TEXT || !p.starts_with('/')) {
            return Err(GraphError::param(format!("path must start with / and be at most {MAX_TEXT} characters")));
        }
        if spec.probability.is_some_and(|p| !(0.0..=1.0).contains(&p)) {
            return Err(GraphError::param("probability must be between 0 and 1"));
        }
        if spec.latency_ms.is_some_and(|l| l > MAX_LATENCY_MS) {
            return Err(GraphError::param(format!("latency_ms must be at most {MAX_LATENCY_MS}")));
        }
        if let Some(e) = &spec.error {
            e.to_graph()?;
        }
        if spec.error.is_some() && spec.drop {
            return Err(GraphError::param("a rule either answers an error or drops the connection, not both"));
        }
        if spec.error.is_none() && !spec.drop && spec.latency_ms.is_none() {
            return Err(GraphError::param("a rule needs an effect: error, latency_ms or drop"));
        }
        let seed = spec.seed.unwrap_or_else(|| rand::rngs::OsRng.gen());
        let mut inner = self.inner.lock().expect("faults lock");
        if inner.rules.len() >= MAX_RULES {
            return Err(GraphError::param(format!("at most {MAX_RULES} fault rules")));
        }
        inner.next_id += 1;
        let rule = Rule {
            id: inner.next_id,
            remaining: spec.times,
            spec,
            method,
            kind,
            seed,
            rng: StdRng::seed_from_u64(seed),
            hits: 0,
        };
        let listed = rule.json();
        inner.rules.push(rule);
        self.count.store(inner.rules.len(), Ordering::Relaxed);
        Ok(listed)
    }

    pub fn list(&self) -> Vec<serde_json::Value> {
        self.inner.lock().expect("faults lock").rules.iter().map(Rule::json).collect()
    }

    /// Removes one rule; false if there was none with that id.
    pub fn remove(&self, id: u64) -> bool {
        let mut inner = self.inner.lock().expect("faults lock");
        let before = inner.rules.len();
        inner.rules.retain(|r| r.id != id);
        self.count.store(inner.rules.len(), Ordering::Relaxed);
        inner.rules.len() != before
    }

    pub fn clear(&self) {
        let mut inner = self.inner.lock().expect("faults lock");
        inner.rules.clear();
        self.count.store(0, Ordering::Relaxed);
    }

    /// Whether any rule is set at all.
    fn armed(&self) -> bool {
        self.count.load(Ordering::Relaxed) != 0
    }

    /// Whether any rule could match this method and path (cheap: no RNG drawn, nothing resolved; ask
    /// [`Faults::armed`] first), and whether such a rule needs the caller resolved.
    fn precheck(&self, method: &Method, path: &str) -> Option<bool> {
        let inner = self.inner.lock().expect("faults lock");
        let mut any = None;
        for r in inner.rules.iter().filter(|r| r.remaining != Some(0) && r.matches_request(method, path)) {
            let needs = any.unwrap_or(false) || r.needs_caller();
            any = Some(needs);
        }
        any
    }

    /// The rule that fires for this request, if any: draws from the RNG of each matching rule with a probability,
    /// in order, until one fires.
    pub fn fire(&self, method: &Method, path: &str, caller: Option<&CallerFacts>) -> Option<Fired> {
        let mut inner = self.inner.lock().expect("faults lock");
        for r in inner.rules.iter_mut() {
            if r.remaining == Some(0) || !r.matches_request(method, path) {
                continue;
            }
            if r.needs_caller() {
                let Some(c) = caller else { continue };
                if r.spec.app_id.as_ref().is_some_and(|a| c.app_id.as_ref() != Some(a)) {
                    continue;
                }
                if r.kind.is_some() && r.kind != c.kind {
                    continue;
                }
            }
            if let Some(p) = r.spec.probability {
                if !r.rng.gen_bool(p) {
                    continue;
                }
            }
            if let Some(n) = r.remaining.as_mut() {
                *n -= 1;
            }
            r.hits += 1;
            return Some(Fired {
                rule: r.id,
                latency_ms: r.spec.latency_ms.unwrap_or(0),
                error: r.spec.error.as_ref().and_then(|e| e.to_graph().ok()),
                drop: r.spec.drop,
            });
        }
        None
    }
}

impl Rule {
    fn matches_request(&self, method: &Method, path: &str) -> bool {
        self.method.as_ref().is_none_or(|m| m == method) && self.spec.path.as_deref().is_none_or(|p| glob(p, path))
    }
}

impl ErrorSpec {
    fn to_graph(&self) -> Result<GraphError, GraphError> {
        let kind = match self.kind.as_deref() {
            None | Some("OAuthException") => "OAuthException",
            Some("GraphMethodException") => "GraphMethodException",
            Some(_) => return Err(GraphError::param("error.type must be OAuthException or GraphMethodException")),
        };
        let message = match &self.message {
            Some(m) if m.len() > MAX_TEXT => {
                return Err(GraphError::param(format!("error.message must be at most {MAX_TEXT} characters")))
            }
            Some(m) => m.clone(),
            None => format!("(#{}) An error injected by a suat fault rule", self.code),
        };
        let mut e = GraphError::new(self.code, kind, message);
        e.subcode = self.subcode;
        if let Some(t) = self.is_transient {
            e.is_transient = t;
        }
        if let Some(s) = self.status {
            e.status = StatusCode::from_u16(s)
                .ok()
                .filter(|s| s.is_client_error() || s.is_server_error())
                .ok_or_else(|| GraphError::param("error.status must be 400 to 599"))?;
        }
        Ok(e)
    }
}

/// `*` matches any run of characters within one segment, `**` any run including `/`; everything else literally.
/// Dynamic programming over (pattern, text), so a pattern full of stars costs O(pattern x text), never more.
pub fn glob(pattern: &str, text: &str) -> bool {
    enum T {
        Any,
        Seg,
        Lit(u8),
    }
    let p = pattern.as_bytes();
    let mut tokens = Vec::with_capacity(p.len());
    let mut i = 0;
    while i < p.len() {
        match (p[i], p.get(i + 1)) {
            (b'*', Some(b'*')) => {
                tokens.push(T::Any);
                i += 2;
            }
            (b'*', _) => {
                tokens.push(T::Seg);
                i += 1;
            }
            (c, _) => {
                tokens.push(T::Lit(c));
                i += 1;
            }
        }
    }
    let t = text.as_bytes();
    // `next[j]`: the tokens after the current one match `t[j..]`.
    let mut next = vec![false; t.len() + 1];
    next[t.len()] = true;
    for tok in tokens.iter().rev() {
        let mut cur = vec![false; t.len() + 1];
        for j in (0..=t.len()).rev() {
            cur[j] = match tok {
                T::Lit(c) => j < t.len() && t[j] == *c && next[j + 1],
                T::Any => next[j] || (j < t.len() && cur[j + 1]),
                T::Seg => next[j] || (j < t.len() && t[j] != b'/' && cur[j + 1]),
            };
        }
        next = cur;
    }
    next[0]
}

/// Marks an answer that a fault rule made, so `run_whole` does not count an injected 5xx as a server fault.
#[derive(Clone, Copy, Debug)]
pub struct Injected {
    pub rule: u64,
    /// The answer is a dropped connection: the journal records status 0.
    pub dropped: bool,
}

/// The hook, after parsing and before routing: finds the rule that fires, if any, and applies it.
pub async fn gate(state: &AppState, req: Request, next: impl AsyncFnOnce(Request) -> Response) -> Response {
    let Some(parsed) = req.extensions().get::<Req>().cloned() else { return next(req).await };
    crate::journal::note_presented(state, &parsed);
    // No rule set (the usual case): nothing to match, so no path to build.
    if !state.faults.armed() {
        return next(req).await;
    }
    let path = format!("/{}", parsed.segments.join("/"));
    let Some(needs_caller) = state.faults.precheck(&parsed.method, &path) else { return next(req).await };
    let caller = if needs_caller { Some(Box::pin(caller_facts(state, &parsed)).await) } else { None };
    let Some(fired) = state.faults.fire(&parsed.method, &path, caller.as_ref()) else { return next(req).await };
    let effect = if fired.drop {
        "drop"
    } else if fired.error.is_some() {
        "error"
    } else {
        "latency"
    };
    crate::metrics::fault_hit(effect);
    crate::journal::note_fault(fired.rule);
    if fired.latency_ms > 0 {
        tokio::time::sleep(std::time::Duration::from_millis(fired.latency_ms.min(MAX_LATENCY_MS))).await;
    }
    let mut response = if fired.drop {
        dropped()
    } else if let Some(e) = fired.error {
        e.into_response()
    } else {
        return next(req).await;
    };
    response.extensions_mut().insert(Injected { rule: fired.rule, dropped: fired.drop });
    response
}

/// An answer whose body fails before its first byte: hyper then closes the connection without writing the head,
/// so the client sees the connection drop.
fn dropped() -> Response {
    let failing = futures_util::stream::once(async { Err::<Bytes, _>(std::io::Error::other("fault rule: drop")) });
    Response::new(axum::body::Body::from_stream(failing))
}

async fn caller_facts(state: &AppState, req: &Req) -> CallerFacts {
    let client_id = || req.params.get("client_id").map(str::to_owned);
    let Some(token) = req.presented().token else { return CallerFacts { app_id: client_id(), kind: None } };
    match state.svc.resolve(token, req.now).await {
        Ok(r) => CallerFacts {
            app_id: r.app_id().map(|a| a.to_string()).or_else(client_id),
            kind: if r.is_app_token { Some(TokenKind::App) } else { r.record.as_ref().map(|t| t.kind) },
        },
        Err(_) => CallerFacts { app_id: client_id(), kind: None },
    }
}

/// `/_suat/faults`: add, list, remove one by one (reset clears them all).
pub fn routes() -> Router<AppState> {
    Router::new().route("/faults", get(list).post(add)).route("/faults/{id}", delete(remove))
}

#[utoipa::path(
    post,
    path = "/_suat/faults",
    tag = "faults",
    request_body(content = FaultSpec, content_type = "application/json"),
    responses((status = 200, description = "The rule as listed", body = crate::openapi::FaultRule))
)]
async fn add(State(s): State<AppState>, body: Bytes) -> Result<Response, GraphError> {
    let spec: FaultSpec = crate::control::spec(&body)?;
    let listed = s.faults.add(spec)?;
    Ok(crate::error::graph_json(&listed))
}

#[utoipa::path(
    get,
    path = "/_suat/faults",
    tag = "faults",
    responses((status = 200, description = "The rules in creation order", body = crate::openapi::FaultList))
)]
async fn list(State(s): State<AppState>) -> Response {
    crate::error::graph_json(&json!({"data": s.faults.list()}))
}

#[utoipa::path(
    delete,
    path = "/_suat/faults/{id}",
    tag = "faults",
    params(("id" = String, Path, pattern = "^[0-9]{1,19}$", example = "1", description = "The rule's id")),
    responses(
        (status = 200, description = "Removed", body = crate::openapi::Success),
        (status = 404, description = "No rule with that id", body = crate::openapi::ErrorEnvelope)
    )
)]
async fn remove(State(s): State<AppState>, Path(id): Path<String>) -> Result<Response, GraphError> {
    match id.parse::<u64>() {
        Ok(id) if s.faults.remove(id) => Ok(crate::error::graph_json(&json!({"success": true}))),
        _ => Err(GraphError {
            status: StatusCode::NOT_FOUND,
            ..GraphError::param(format!("fault rule {} does not exist", id.chars().take(32).collect::<String>()))
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs() {
        assert!(glob("/*/access_tokens", "/4001/access_tokens"));
        assert!(!glob("/*/access_tokens", "/a/b/access_tokens"));
        assert!(glob("/**/access_tokens", "/a/b/access_tokens"));
        assert!(glob("/me", "/me"));
        assert!(!glob("/me", "/me/accounts"));
        assert!(glob("/me*", "/me"));
        assert!(glob("/oauth/*", "/oauth/revoke"));
        assert!(glob("/**", "/"));
        assert!(glob("/*/*", "/1/access_tokens"));
        assert!(!glob("/*/*", "/1"));
        assert!(!glob("/me/", "/me"));
        // Many stars against a long text that does not match: answered at once (no backtracking blow-up).
        let stars = "*a".repeat(400);
        assert!(!glob(&stars, &"a".repeat(399)));
    }

    fn rule(spec: serde_json::Value) -> Faults {
        let f = Faults::default();
        f.add(serde_json::from_value(spec).unwrap()).unwrap();
        f
    }

    #[test]
    fn the_same_seed_draws_the_same_sequence() {
        let seq = || {
            let f = rule(json!({"probability": 0.5, "seed": 42, "error": {"code": 2}}));
            (0..64).map(|_| f.fire(&Method::GET, "/me", None).is_some()).collect::<Vec<_>>()
        };
        let a = seq();
        assert_eq!(a, seq());
        assert!(a.contains(&true) && a.contains(&false), "{a:?}");
    }

    #[test]
    fn bounds_and_shapes_are_checked() {
        let f = Faults::default();
        let bad = |v: serde_json::Value| f.add(serde_json::from_value(v).unwrap()).is_err();
        assert!(bad(json!({})));
        assert!(bad(json!({"latency_ms": MAX_LATENCY_MS + 1})));
        assert!(bad(json!({"drop": true, "error": {"code": 1}})));
        assert!(bad(json!({"probability": 1.5, "drop": true})));
        assert!(bad(json!({"token_kind": "ROBOT", "drop": true})));
        assert!(bad(json!({"error": {"code": 1, "status": 200}})));
        assert!(bad(json!({"path": "me", "drop": true})));
        for _ in 0..MAX_RULES {
            assert!(!bad(json!({"drop": true})));
        }
        assert!(bad(json!({"drop": true})));
    }

    #[test]
    fn times_then_never_and_matching() {
        let f = rule(json!({"method": "post", "path": "/*/access_tokens", "times": 2, "error": {"code": 4}}));
        assert!(f.fire(&Method::GET, "/1/access_tokens", None).is_none());
        assert!(f.fire(&Method::POST, "/me", None).is_none());
        let e = f.fire(&Method::POST, "/1/access_tokens", None).unwrap().error.unwrap();
        assert_eq!((e.code, e.status, e.is_transient), (4, StatusCode::FORBIDDEN, true));
        assert!(f.fire(&Method::POST, "/1/access_tokens", None).is_some());
        assert!(f.fire(&Method::POST, "/1/access_tokens", None).is_none());
        assert_eq!(f.list()[0]["hits"], 2);
        assert_eq!(f.list()[0]["remaining"], 0);
        let f = rule(json!({"token_kind": "SYSTEM_USER", "app_id": "7", "drop": true}));
        assert!(f.fire(&Method::GET, "/me", None).is_none());
        let c = |app: &str, kind| CallerFacts { app_id: Some(app.into()), kind: Some(kind) };
        assert!(f.fire(&Method::GET, "/me", Some(&c("7", TokenKind::User))).is_none());
        assert!(f.fire(&Method::GET, "/me", Some(&c("8", TokenKind::SystemUser))).is_none());
        assert!(f.fire(&Method::GET, "/me", Some(&c("7", TokenKind::SystemUser))).unwrap().drop);
    }
}

//! The request journal and the per-request log line (issue 10): what was called, how it was answered, and by which
//! fbtrace_id, so a test (or an operator holding a client's error) can find the request. An entry names the caller
//! only by its app and the `token_ref` the audit log uses; it never holds a token, secret, proof or query value.

use crate::{error::GraphError, graph::Req, state::AppState};
use axum::{
    extract::{Query, Request, State},
    response::Response,
    routing::get,
    Router,
};
use serde::{Deserialize, Serialize};
use serde_json::json;
use std::{cell::RefCell, collections::VecDeque, sync::Mutex, time::Instant};

/// Default ring size (`--journal-size`).
pub const DEFAULT_SIZE: usize = 1_000;
/// Largest ring `--journal-size` accepts: entries are small, but memory must stay bounded.
pub const MAX_SIZE: usize = 100_000;
/// Paths longer than this are cut in the journal and the log.
const MAX_PATH: usize = 256;

/// One answered Graph request.
#[derive(Serialize, Clone, Debug, utoipa::ToSchema)]
pub struct Entry {
    /// Increasing from 1 since start.
    pub seq: u64,
    /// Server-clock unix seconds when the request arrived.
    pub at: i64,
    pub method: String,
    /// Unversioned, without the query.
    pub path: String,
    /// 0 when a fault rule dropped the connection.
    pub status: u16,
    /// The Graph error code, for error answers.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub code: Option<u32>,
    pub latency_ms: f64,
    pub fbtrace_id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub app_id: Option<String>,
    /// The first 16 hex characters of the presented token's keyed hash, as in the audit log.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub token_ref: Option<String>,
    /// The fault rule that answered (or delayed) this request.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fault: Option<String>,
}

/// A bounded ring of the latest entries.
pub struct Journal {
    size: usize,
    inner: Mutex<(u64, VecDeque<Entry>)>,
}

impl Journal {
    pub fn new(size: usize) -> Journal {
        let size = size.clamp(1, MAX_SIZE);
        Journal { size, inner: Mutex::new((0, VecDeque::with_capacity(size.min(1024)))) }
    }

    fn push(&self, mut e: Entry) {
        let mut g = self.inner.lock().expect("journal lock");
        g.0 += 1;
        e.seq = g.0;
        if g.1.len() == self.size {
            g.1.pop_front();
        }
        g.1.push_back(e);
    }

    /// Newest first, filtered.
    pub fn query(&self, f: &Filter) -> Vec<Entry> {
        let limit = f.limit.unwrap_or(100).clamp(1, MAX_SIZE);
        let g = self.inner.lock().expect("journal lock");
        g.1.iter().rev().filter(|e| f.matches(e)).take(limit).cloned().collect()
    }

    pub fn clear(&self) {
        self.inner.lock().expect("journal lock").1.clear();
    }
}

/// `GET /_suat/requests?path=&app_id=&status=&limit=`.
#[derive(Deserialize, Default, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct Filter {
    /// A glob as in fault rules (`/*/access_tokens`).
    pub path: Option<String>,
    pub app_id: Option<String>,
    /// `403`, or a class: `4xx`, `5xx`.
    pub status: Option<String>,
    pub limit: Option<usize>,
}

impl Filter {
    fn matches(&self, e: &Entry) -> bool {
        let status = match self.status.as_deref() {
            None => true,
            Some(s) if s.len() == 3 && s.ends_with("xx") => s.as_bytes()[0] == b'0' + (e.status / 100) as u8,
            Some(s) => s.parse::<u16>().ok() == Some(e.status),
        };
        status
            && self.app_id.as_ref().is_none_or(|a| e.app_id.as_ref() == Some(a))
            && self.path.as_deref().is_none_or(|p| crate::faults::glob(p, &e.path))
    }
}

/// What the inner layers learn about the request for its entry.
#[derive(Default)]
struct Note {
    /// The method after the `method` parameter's override.
    method: Option<axum::http::Method>,
    /// The authenticated caller's app (the first one, in a batch).
    caller_app: Option<String>,
    /// A numeric `client_id` parameter (the OAuth endpoints' caller).
    client_app: Option<String>,
    token_ref: Option<String>,
    fault: Option<u64>,
}

tokio::task_local! {
    static NOTE: RefCell<Note>;
}

/// Called by the fault gate once the parameters are parsed: the token's reference and a `client_id`.
pub fn note_presented(state: &AppState, req: &Req) {
    let _ = NOTE.try_with(|n| {
        let mut n = n.borrow_mut();
        n.method = Some(req.method.clone());
        if let Some(t) = req.presented().token {
            n.token_ref = Some(state.svc.token_ref(t));
        }
        if let Some(c) = req.params.get("client_id").filter(|c| c.len() <= 32 && c.bytes().all(|b| b.is_ascii_digit()))
        {
            n.client_app = Some(c.to_owned());
        }
    });
}

/// Called when the caller is authenticated: its app is the entry's app (the first one, in a batch).
pub fn note_caller(app_id: impl std::fmt::Display) {
    let _ = NOTE.try_with(|n| {
        n.borrow_mut().caller_app.get_or_insert_with(|| app_id.to_string());
    });
}

pub fn note_fault(rule: u64) {
    let _ = NOTE.try_with(|n| n.borrow_mut().fault = Some(rule));
}

/// The hook around each whole Graph request (inside the Graph headers, so the fbtrace_id is known): times it,
/// then writes its journal entry, its log line and its metrics.
pub async fn observe(state: &AppState, req: Request, next: impl AsyncFnOnce(Request) -> Response) -> Response {
    let start = Instant::now();
    let at = state.now();
    let method = req.method().clone();
    let path = shown_path(req.uri().path());
    let response = NOTE.scope(
        RefCell::new(Note::default()),
        suat_service::one_request(async {
            let r = next(req).await;
            (r, NOTE.with(|n| std::mem::take(&mut *n.borrow_mut())))
        }),
    );
    let (response, note) = response.await;
    let latency = start.elapsed();
    // A dropped connection answered nothing: status 0.
    let dropped = response.extensions().get::<crate::faults::Injected>().is_some_and(|i| i.dropped);
    let status = if dropped { 0 } else { response.status().as_u16() };
    let code = response.extensions().get::<crate::error::GraphCode>().map(|c| c.0);
    let fbtrace_id = crate::headers::request_id();
    let method = note.method.clone().unwrap_or(method);
    let app_id = note.caller_app.or(note.client_app);
    let latency_ms = latency.as_secs_f64() * 1000.0;
    tracing::info!(
        target: "suat::request",
        method = %method,
        path = %path,
        status,
        code,
        latency_ms,
        fbtrace_id = %fbtrace_id,
        app_id = app_id.as_deref(),
        token_ref = note.token_ref.as_deref(),
        fault = note.fault,
        "graph request"
    );
    crate::metrics::request(&method, &path, status, code, latency);
    state.journal.push(Entry {
        seq: 0,
        at,
        method: method.to_string(),
        path,
        status,
        code,
        latency_ms,
        fbtrace_id,
        app_id,
        token_ref: note.token_ref,
        fault: note.fault.map(|f| f.to_string()),
    });
    response
}

/// The path as journalled and logged: cut at [`MAX_PATH`], and a segment that could be a credential (longer than
/// any Graph id or edge name, or holding `|` as `APPID|SECRET` does) replaced, should a client put one there.
fn shown_path(path: &str) -> String {
    let mut out = String::with_capacity(path.len().min(MAX_PATH));
    for seg in path.split('/').skip(1) {
        out.push('/');
        out.push_str(if seg.len() > 40 || seg.contains('|') { "{redacted}" } else { seg });
        if out.len() >= MAX_PATH {
            out.truncate(MAX_PATH);
            break;
        }
    }
    if out.is_empty() {
        out.push('/');
    }
    out
}

/// `/_suat/requests`.
pub fn routes() -> Router<AppState> {
    Router::new().route("/requests", get(list))
}

#[utoipa::path(
    get,
    path = "/_suat/requests",
    tag = "journal",
    params(Filter),
    responses((status = 200, description = "Journal entries, newest first", body = crate::openapi::JournalAnswer))
)]
async fn list(
    State(s): State<AppState>,
    q: Result<Query<Filter>, axum::extract::rejection::QueryRejection>,
) -> Result<Response, GraphError> {
    let Query(f) = q.map_err(|e| GraphError::param(e.body_text()))?;
    Ok(crate::error::graph_json(&json!({"data": s.journal.query(&f)})))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(path: &str, status: u16) -> Entry {
        Entry {
            seq: 0,
            at: 0,
            method: "GET".into(),
            path: path.into(),
            status,
            code: None,
            latency_ms: 0.0,
            fbtrace_id: "A".into(),
            app_id: Some("7".into()),
            token_ref: None,
            fault: None,
        }
    }

    #[test]
    fn a_bounded_ring_newest_first_filtered() {
        let j = Journal::new(3);
        for (p, s) in [("/a", 200), ("/me", 200), ("/1/access_tokens", 403), ("/me", 400)] {
            j.push(entry(p, s));
        }
        let all = j.query(&Filter::default());
        assert_eq!(all.iter().map(|e| e.seq).collect::<Vec<_>>(), [4, 3, 2]);
        let f = |path: Option<&str>, status: Option<&str>| Filter {
            path: path.map(Into::into),
            status: status.map(Into::into),
            ..Default::default()
        };
        assert_eq!(j.query(&f(Some("/*/access_tokens"), None)).len(), 1);
        assert_eq!(j.query(&f(None, Some("4xx"))).len(), 2);
        assert_eq!(j.query(&f(None, Some("400")))[0].seq, 4);
        assert_eq!(j.query(&Filter { app_id: Some("8".into()), ..Default::default() }).len(), 0);
        assert_eq!(Journal::new(usize::MAX).size, MAX_SIZE);
    }

    #[test]
    fn paths_are_cut_and_credential_like_segments_hidden() {
        assert_eq!(shown_path("/"), "/");
        assert_eq!(shown_path("/4001/access_tokens"), "/4001/access_tokens");
        assert_eq!(shown_path("/EAAdemoAdminUserToken0123456789abcdefghijklmnop"), "/{redacted}");
        assert_eq!(shown_path("/2001|secret/x"), "/{redacted}/x");
        assert!(shown_path(&"/abc".repeat(500)).len() <= MAX_PATH);
    }
}

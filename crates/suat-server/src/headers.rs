//! The headers of every Graph answer (GRAPH-WIRE §3), put on in one place: trace, request and revision ids, the
//! cache headers (success and error differ), CORS, an `ETag` on successful GETs that `If-None-Match` turns into a
//! bodiless 304, and the usage header of a token-authenticated call (GRAPH-WIRE §8). The request id is also the
//! `fbtrace_id` of an error body, as on the Graph, so a client's log line and the answer's header name the same
//! request.

use axum::{
    body::Body,
    extract::Request,
    http::{header, HeaderMap, HeaderName, HeaderValue, Method, StatusCode},
    response::{IntoResponse, Response},
};
use rand::Rng;
use sha2::{Digest, Sha256};

tokio::task_local! {
    static REQUEST_ID: String;
}

/// `x-fb-rev`: the "revision" of the server that answered (inferred: Graph's are ten-digit decimals; suat's is fixed).
pub const REV: &str = "1029385711";

/// The id of the request being answered, or a fresh one outside a request (the control plane).
pub fn request_id() -> String {
    REQUEST_ID.try_with(Clone::clone).unwrap_or_else(|_| fresh_request_id())
}

/// 23 characters starting with `A`, as Graph's `x-fb-request-id` and `fbtrace_id` are.
fn fresh_request_id() -> String {
    const A: &[u8; 64] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz_-";
    let mut out = [b'A'; 23];
    random_chars(A, &mut out[1..]);
    String::from_utf8(out.to_vec()).expect("the alphabet is ASCII")
}

/// 11 characters of the base64 alphabet, as Graph's `x-fb-trace-id` is.
fn fresh_trace_id() -> HeaderValue {
    const A: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = [0u8; 11];
    random_chars(A, &mut out);
    HeaderValue::from_bytes(&out).unwrap_or_else(|_| HeaderValue::from_static("AAAAAAAAAAA"))
}

/// Fills `out` with characters of a 64-letter alphabet, six random bits each (uniform, no rejection needed):
/// these ids are on every answer, so one random word serves ten characters.
fn random_chars(alphabet: &[u8; 64], out: &mut [u8]) {
    let mut rng = rand::thread_rng();
    for chunk in out.chunks_mut(10) {
        let mut bits: u64 = rng.gen();
        for c in chunk {
            *c = alphabet[(bits & 63) as usize];
            bits >>= 6;
        }
    }
}

/// Largest answer an ETag is computed for; bigger ones (none today) go without one rather than be buffered.
const MAX_ETAG_BODY: usize = 1 << 20;

/// The method a request was answered as (after a `method=` override), left on the response by the parsing layer.
#[derive(Clone)]
pub struct AnsweredMethod(pub Method);

/// The middleware: runs the request with its id in scope, then decorates the answer.
pub async fn graph_headers(req: Request, next: impl AsyncFnOnce(Request) -> Response) -> Response {
    let id = fresh_request_id();
    let sent = req.method().clone();
    let if_none_match = req.headers().get(header::IF_NONE_MATCH).cloned();
    let usage = suat_service::limits::ReportSlot::default();
    let response = REQUEST_ID.scope(id.clone(), suat_service::limits::scope(usage.clone(), next(req))).await;
    let (mut parts, body) = response.into_parts();
    // Room for the headers added below at once, rather than the map growing twice.
    parts.headers.reserve(12);
    // GRAPH-WIRE §3/§8: the usage header on every answer to a token-authenticated call, refusals included; the
    // caller's authentication left it in this request's slot.
    if let Some((name, value)) = usage.get().and_then(usage_header) {
        parts.headers.insert(name, value);
    }
    let is_get = parts.extensions.get::<AnsweredMethod>().map_or(sent, |m| m.0.clone()) == Method::GET;
    let ok = parts.status.is_success();
    let json = parts.headers.get(header::CONTENT_TYPE).is_some_and(|v| v.as_bytes().starts_with(b"application/json"));
    let mut body = Body::new(body);
    // Only answers known to be small are buffered for an ETag; a bigger one goes without (never a 5xx for it).
    let small = axum::body::HttpBody::size_hint(&body).upper().is_some_and(|n| n <= MAX_ETAG_BODY as u64);
    if is_get && ok && json && small {
        let bytes = match axum::body::to_bytes(body, MAX_ETAG_BODY).await {
            Ok(b) => b,
            Err(_) => return crate::error::GraphError::internal().into_response(),
        };
        let mut etag = [b'"'; 42];
        hex::encode_to_slice(&Sha256::digest(&bytes)[..20], &mut etag[1..41]).expect("40 digits");
        if let Ok(v) = HeaderValue::from_bytes(&etag) {
            parts.headers.insert(header::ETAG, v);
        }
        if if_none_match.is_some_and(|v| v.as_bytes() == etag) {
            parts.status = StatusCode::NOT_MODIFIED;
            parts.headers.remove(header::CONTENT_LENGTH);
            body = Body::empty();
        } else {
            body = Body::from(bytes);
        }
    }
    decorate(&mut parts.headers, &id, ok || parts.status == StatusCode::NOT_MODIFIED);
    Response::from_parts(parts, body)
}

/// The usage header of `report`, rendered once per thread until the report changes: a caller's usage moves by a
/// percent at a time, and every token-authenticated answer carries it.
fn usage_header(report: suat_core::limits::Report) -> Option<(HeaderName, HeaderValue)> {
    thread_local! {
        static LAST: std::cell::RefCell<Option<(suat_core::limits::Report, HeaderName, HeaderValue)>> =
            const { std::cell::RefCell::new(None) };
    }
    LAST.with(|last| {
        let mut last = last.borrow_mut();
        match &*last {
            Some((r, name, value)) if *r == report => Some((name.clone(), value.clone())),
            _ => {
                let (name, value) = report.header();
                let (name, value) = (HeaderName::from_static(name), HeaderValue::from_str(&value).ok()?);
                *last = Some((report, name.clone(), value.clone()));
                Some((name, value))
            }
        }
    })
}

/// `Date` on every answer (Graph and control plane) from the server clock, wall clock plus the control-plane
/// offset: clients that take "now" from the answers they get (as `suat` does, and must against Meta's clock) then
/// agree with every expiry rule here. Hyper adds a wall-clock `Date` only when the answer has none.
pub fn server_date(state: &crate::state::AppState, response: &mut Response) {
    if let Some(v) = date_header(state.now()) {
        response.headers_mut().insert(header::DATE, v);
    }
}

/// RFC 9110's IMF-fixdate of unix seconds (`Sun, 06 Nov 1994 08:49:37 GMT`).
pub fn http_date(unix: i64) -> String {
    chrono::DateTime::from_timestamp(unix, 0).unwrap_or_default().format("%a, %d %b %Y %H:%M:%S GMT").to_string()
}

/// [`http_date`] as a header value, formatted once per second per thread: every answer carries one.
fn date_header(unix: i64) -> Option<HeaderValue> {
    thread_local! {
        static LAST: std::cell::RefCell<Option<(i64, HeaderValue)>> = const { std::cell::RefCell::new(None) };
    }
    LAST.with(|last| {
        let mut last = last.borrow_mut();
        match &*last {
            Some((at, v)) if *at == unix => Some(v.clone()),
            _ => {
                let v = HeaderValue::from_str(&http_date(unix)).ok()?;
                *last = Some((unix, v.clone()));
                Some(v)
            }
        }
    })
}

const X_FB_TRACE_ID: HeaderName = HeaderName::from_static("x-fb-trace-id");
const X_FB_REQUEST_ID: HeaderName = HeaderName::from_static("x-fb-request-id");
const X_FB_REV: HeaderName = HeaderName::from_static("x-fb-rev");

pub(crate) fn decorate(h: &mut HeaderMap, request_id: &str, ok: bool) {
    h.insert(X_FB_TRACE_ID, fresh_trace_id());
    if let Ok(v) = HeaderValue::from_str(request_id) {
        h.insert(X_FB_REQUEST_ID, v);
    }
    h.insert(X_FB_REV, HeaderValue::from_static(REV));
    h.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, HeaderValue::from_static("*"));
    h.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
    h.insert(header::EXPIRES, HeaderValue::from_static("Sat, 01 Jan 2000 00:00:00 GMT"));
    let cache = if ok { "private, no-cache, no-store, must-revalidate" } else { "no-store" };
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static(cache));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn id_shapes() {
        let r = fresh_request_id();
        assert_eq!(r.len(), 23);
        assert!(r.starts_with('A'));
        assert!(r.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-'));
        let t = fresh_trace_id();
        assert_eq!(t.len(), 11);
        assert!(t.as_bytes().iter().all(|b| b.is_ascii_alphanumeric() || *b == b'+' || *b == b'/'));
        assert_ne!(fresh_request_id(), r);
        // Six bits a character: over many ids every letter of the alphabet turns up, first and last included.
        let seen: std::collections::HashSet<u8> = (0..200).flat_map(|_| fresh_request_id().into_bytes()).collect();
        assert!(seen.contains(&b'0') && seen.contains(&b'-') && seen.len() == 64, "{}", seen.len());
    }

    #[test]
    fn the_usage_header_follows_the_report() {
        use suat_core::limits::{Report, Usage};
        let app = |percent| Report::App(Usage { percent, regain_minutes: 0 });
        for p in [3, 3, 4, 3] {
            let (name, value) = usage_header(app(p)).unwrap();
            assert_eq!(name, "x-app-usage");
            assert_eq!(value, format!(r#"{{"call_count":{p},"total_cputime":{p},"total_time":{p}}}"#));
        }
    }

    #[test]
    fn http_dates_are_imf_fixdate() {
        assert_eq!(http_date(784111777), "Sun, 06 Nov 1994 08:49:37 GMT");
        assert_eq!(http_date(0), "Thu, 01 Jan 1970 00:00:00 GMT");
        // The per-second value follows the clock, a move backwards included.
        assert_eq!(date_header(784111777).unwrap(), "Sun, 06 Nov 1994 08:49:37 GMT");
        assert_eq!(date_header(0).unwrap(), "Thu, 01 Jan 1970 00:00:00 GMT");
        assert_eq!(date_header(784111777).unwrap(), "Sun, 06 Nov 1994 08:49:37 GMT");
    }
}

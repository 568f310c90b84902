//! The Graph error envelope, produced in exactly one place: every handler returns `Result<_, GraphError>` and every
//! domain or storage error becomes a `GraphError` through the `From` impls here.

use axum::{
    http::{header, HeaderValue, StatusCode},
    response::{IntoResponse, Response},
};
use serde::Serialize;
use suat_core::CoreError;
use suat_store::StoreError;
use suat_wire::{ErrorBody, ErrorEnvelope};

/// A Graph API error, ready to be serialised as the [`suat_wire::ErrorEnvelope`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GraphError {
    pub status: StatusCode,
    pub code: u32,
    pub subcode: Option<u32>,
    pub kind: &'static str,
    pub message: String,
    pub is_transient: bool,
    /// The `WWW-Authenticate` error keyword every error answer carries (GRAPH-WIRE §3): `invalid_token` for code
    /// 190, `invalid_code` for code-exchange errors, `invalid_request` for everything else.
    pub www_authenticate: &'static str,
}

const OAUTH: &str = "OAuthException";
const METHOD: &str = "GraphMethodException";

impl GraphError {
    pub fn new(code: u32, kind: &'static str, message: impl Into<String>) -> GraphError {
        // GRAPH-WIRE §4: 403 for the app rate limit only; 500 for service failures (transient code 2); 400 for the
        // rest, the per-person limit (17) and a bad client secret (1) included.
        let status = match code {
            4 => StatusCode::FORBIDDEN,
            2 => StatusCode::INTERNAL_SERVER_ERROR,
            _ => StatusCode::BAD_REQUEST,
        };
        GraphError {
            status,
            code,
            subcode: None,
            kind,
            message: message.into(),
            is_transient: matches!(code, 2 | 4 | 17 | 32 | 613) || (80000..=80014).contains(&code),
            www_authenticate: if code == 190 { "invalid_token" } else { "invalid_request" },
        }
    }

    /// `(#100) ...`: a parameter problem.
    pub fn param(message: impl std::fmt::Display) -> GraphError {
        GraphError::new(100, OAUTH, format!("(#100) {message}"))
    }

    /// Storage failed: transient code 2, with no detail leaked to the client.
    pub fn internal() -> GraphError {
        GraphError::new(2, OAUTH, "An unexpected error has occurred. Please retry your request later.")
    }

    /// 408: the body did not arrive within the listener's body timeout.
    pub fn body_timeout() -> GraphError {
        let mut e = GraphError::param("The request body was not received in time");
        e.status = StatusCode::REQUEST_TIMEOUT;
        e
    }

    /// A request body that could not be read: not received in time (the listener's deadline), or over `max` bytes.
    pub fn unreadable_body(e: &axum::Error, max: usize) -> GraphError {
        let mut cause: Option<&dyn std::error::Error> = Some(e);
        while let Some(c) = cause {
            if c.to_string().contains(suat_listener::BODY_TIMEOUT) {
                return GraphError::body_timeout();
            }
            cause = c.source();
        }
        GraphError::param(format!("Request body too large (max {max} bytes)"))
    }

    /// The envelope, with the request's trace id.
    pub fn envelope(&self, fbtrace_id: &str) -> ErrorEnvelope {
        ErrorEnvelope {
            error: ErrorBody {
                message: self.message.clone(),
                kind: self.kind.to_owned(),
                is_transient: self.is_transient.then_some(true),
                code: self.code.into(),
                error_subcode: self.subcode.map(Into::into),
                error_user_title: None,
                error_user_msg: None,
                fbtrace_id: Some(fbtrace_id.to_owned()),
            },
        }
    }

    /// The envelope as JSON (for answers embedded in other answers, such as a batch operation's).
    pub fn body(&self, fbtrace_id: &str) -> serde_json::Value {
        serde_json::to_value(self.envelope(fbtrace_id)).expect("wire types serialise")
    }
}

impl From<CoreError> for GraphError {
    fn from(e: CoreError) -> GraphError {
        let message = e.to_string();
        match e {
            CoreError::MissingParameter(_) | CoreError::InvalidParameter(_) => GraphError::new(100, OAUTH, message),
            CoreError::UnknownObject { .. } | CoreError::UnsupportedMethod(_) => {
                GraphError { subcode: Some(33), ..GraphError::new(100, METHOD, message) }
            }
            // GRAPH-WIRE.md: OAuth errors, token errors included, say "invalid_request" in WWW-Authenticate.
            CoreError::Token(p) => GraphError { subcode: p.subcode(), ..GraphError::new(190, OAUTH, message) },
            CoreError::TokenRequired => GraphError::new(104, OAUTH, message),
            CoreError::ProofMissing | CoreError::ProofInvalid => GraphError::new(100, METHOD, message),
            CoreError::Permission { code, .. } => GraphError::new(code, OAUTH, message),
            CoreError::InvalidScope(_) => GraphError::new(3962, OAUTH, message),
            CoreError::ClientSecret => GraphError::new(1, OAUTH, message),
            CoreError::UnknownApp | CoreError::AppUnavailable(_) => GraphError::new(101, OAUTH, message),
            CoreError::Deprecated(_) => GraphError::new(12, OAUTH, message),
            CoreError::UnknownPath(_) | CoreError::NoCurrentUser => GraphError::new(2500, OAUTH, message),
            // Counted here, where every refusal becomes its answer once.
            CoreError::RateLimited { code, .. } => {
                crate::metrics::rate_limited(code);
                GraphError::new(code, OAUTH, message)
            }
            CoreError::InvalidCode(m) => GraphError {
                www_authenticate: "invalid_code",
                subcode: suat_core::error::code_messages::subcode(m),
                ..GraphError::new(100, OAUTH, message)
            },
        }
    }
}

impl From<suat_service::Error> for GraphError {
    fn from(e: suat_service::Error) -> GraphError {
        match e {
            suat_service::Error::Rule(e) => e.into(),
            suat_service::Error::Store(e) => e.into(),
            suat_service::Error::Internal(why) => {
                tracing::error!(why, "server fault");
                GraphError::internal()
            }
        }
    }
}

impl From<StoreError> for GraphError {
    fn from(e: StoreError) -> GraphError {
        match e {
            StoreError::Conflict(what) => GraphError::param(format!("{what} already exists")),
            StoreError::NotFound(what) => GraphError::param(format!("{what} does not exist")),
            StoreError::ParentRevoked => CoreError::Token(suat_core::TokenProblem::Revoked).into(),
            other => {
                // Log the cause for operators; the client only sees a transient code 2.
                tracing::error!(error = %other, "storage failure");
                GraphError::internal()
            }
        }
    }
}

/// The JSON content type facebook-sdk insists on.
pub const JSON_UTF8: &str = "application/json; charset=UTF-8";

/// A 200 answer of a wire type (the Graph headers are added by [`crate::headers`]).
pub fn graph_json<T: Serialize>(value: &T) -> Response {
    json_response(StatusCode::OK, value)
}

/// Every JSON answer, Graph or control plane: the content type facebook-sdk insists on, and never cached (answers
/// carry tokens and, on the control plane, secrets).
pub fn json_response<T: Serialize>(status: StatusCode, value: &T) -> Response {
    let text = serde_json::to_string(value).expect("wire types serialise");
    let mut r = (status, text).into_response();
    r.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static(JSON_UTF8));
    r.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    r
}

/// The Graph error code of an error answer, for the journal, the log line and the metrics.
#[derive(Clone, Copy, Debug)]
pub struct GraphCode(pub u32);

/// Every error answer of every route is a JSON Graph envelope: what the router or an extractor answers in plain
/// text on its own (a 405 on the control plane, a 413 for a body over a limit, a bad query string) is rewritten
/// here, keeping its status and the headers already set. HTML error pages (the consent page's) stay HTML.
pub async fn json_errors(r: Response) -> Response {
    let status = r.status();
    if !(status.is_client_error() || status.is_server_error()) {
        return r;
    }
    let ct = r.headers().get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("");
    if ct.starts_with("application/json") || ct.starts_with("text/html") {
        return r;
    }
    let (parts, body) = r.into_parts();
    let text =
        axum::body::to_bytes(body, 4096).await.map(|b| String::from_utf8_lossy(&b).into_owned()).unwrap_or_default();
    let mut e = match status {
        StatusCode::METHOD_NOT_ALLOWED => GraphError::param("This path does not take this HTTP method"),
        StatusCode::PAYLOAD_TOO_LARGE => GraphError::param("The request body is too large"),
        // The listener's body deadline, reported by axum as a body it could not buffer.
        _ if text.contains(suat_listener::BODY_TIMEOUT) => GraphError::body_timeout(),
        s if s.is_server_error() => GraphError::internal(),
        _ if text.trim().is_empty() => GraphError::param(status.canonical_reason().unwrap_or("Bad request")),
        _ => GraphError::param(text.trim().chars().take(200).collect::<String>()),
    };
    if e.status != StatusCode::REQUEST_TIMEOUT {
        e.status = status;
    }
    let mut out = e.into_response();
    for (k, v) in parts.headers.iter() {
        if k != header::CONTENT_TYPE && k != header::CONTENT_LENGTH && !out.headers().contains_key(k) {
            out.headers_mut().insert(k.clone(), v.clone());
        }
    }
    out
}

/// The answers the listener writes itself ([`suat_listener::Answers`]), as Graph envelopes with the headers of every
/// Graph error: 503 when every connection is busy (transient code 2), and hyper's refusals of a request it could not
/// parse (400), of a URI (414) or head (431) over the limit. `date` is the server clock's.
pub fn listener_answer(status: StatusCode, date: &str) -> axum::http::Response<Vec<u8>> {
    let mut e = match status {
        StatusCode::SERVICE_UNAVAILABLE => GraphError::new(2, OAUTH, "Service temporarily unavailable"),
        StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE => GraphError::param("The request's headers are too large"),
        StatusCode::URI_TOO_LONG => GraphError::param("The request URI is too long"),
        _ => GraphError::param("The request is not valid HTTP"),
    };
    e.status = status;
    let id = crate::headers::request_id();
    let body = serde_json::to_vec(&e.envelope(&id)).expect("wire types serialise");
    let mut r = axum::http::Response::new(body);
    *r.status_mut() = status;
    let h = r.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(JSON_UTF8));
    if let Ok(v) = HeaderValue::from_str(&format!("OAuth \"Facebook Platform\" \"invalid_request\" \"{}\"", e.message))
    {
        h.insert(header::WWW_AUTHENTICATE, v);
    }
    crate::headers::decorate(h, &id, false);
    if let Ok(v) = HeaderValue::from_str(date) {
        h.insert(header::DATE, v);
    }
    r
}

impl IntoResponse for GraphError {
    fn into_response(self) -> Response {
        let mut r = json_response(self.status, &self.envelope(&crate::headers::request_id()));
        r.extensions_mut().insert(GraphCode(self.code));
        let msg = self.message.replace(['"', '\r', '\n'], "'");
        let v = format!("OAuth \"Facebook Platform\" \"{}\" \"{msg}\"", self.www_authenticate);
        if let Ok(v) = HeaderValue::from_str(&v) {
            r.headers_mut().insert(header::WWW_AUTHENTICATE, v);
        }
        r
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use suat_core::TokenProblem;

    #[test]
    fn maps_core_errors_to_graph_codes() {
        let e: GraphError = CoreError::Token(TokenProblem::Revoked).into();
        assert_eq!((e.code, e.subcode, e.kind), (190, Some(466), "OAuthException"));
        let e: GraphError = CoreError::ProofMissing.into();
        assert_eq!(
            (e.code, e.kind, e.message.as_str()),
            (100, "GraphMethodException", "API calls from the server require an appsecret_proof argument")
        );
        let e: GraphError = CoreError::UnknownObject { method: "get", id: "5".into() }.into();
        assert_eq!((e.code, e.subcode), (100, Some(33)));
        assert!(e.message.starts_with("Unsupported get request. Object with ID '5' does not exist"));
        let e: GraphError = CoreError::Permission { code: 200, message: "x".into() }.into();
        assert_eq!(e.message, "(#200) x");
        assert_eq!(GraphError::new(4, OAUTH, "slow").status, StatusCode::FORBIDDEN);
        assert_eq!(GraphError::new(17, OAUTH, "slow").status, StatusCode::BAD_REQUEST);
        let e: GraphError = CoreError::Token(TokenProblem::Revoked).into();
        assert_eq!(e.www_authenticate, "invalid_token");
        let e: GraphError = CoreError::ProofMissing.into();
        assert_eq!(e.www_authenticate, "invalid_request");
        let e: GraphError = CoreError::InvalidCode(suat_core::error::code_messages::USED).into();
        assert_eq!((e.code, e.subcode, e.www_authenticate), (100, Some(36009), "invalid_code"));
        let e: GraphError = CoreError::InvalidCode(suat_core::error::code_messages::EXPIRED).into();
        assert_eq!((e.code, e.subcode), (100, None));
        assert_eq!(GraphError::internal().status, StatusCode::INTERNAL_SERVER_ERROR);
    }

    #[test]
    fn envelope_shape() {
        let e: GraphError = CoreError::Token(TokenProblem::Expired { expired_on: "a".into(), now: "b".into() }).into();
        let b = e.body("T").to_string();
        assert_eq!(
            b,
            r#"{"error":{"message":"Error validating access token: Session has expired on a. The current time is b.","type":"OAuthException","code":190,"error_subcode":463,"fbtrace_id":"T"}}"#
        );
        let b = GraphError::internal().body("T").to_string();
        assert!(b.contains(r#""type":"OAuthException","is_transient":true,"code":2,"#), "{b}");
    }
}

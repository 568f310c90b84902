//! The Graph error envelope, produced in exactly one place: every handler returns `Result<_, GraphError>` and every
//! domain or storage error becomes a `GraphError` through the `From` impls here.

use axum::{
    http::{header, HeaderValue, StatusCode},
    response::{IntoResponse, Response},
};
use serde_json::json;
use suat_core::CoreError;
use suat_store::StoreError;

/// A Graph API error, ready to be serialised as `{"error":{...}}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GraphError {
    pub status: StatusCode,
    pub code: u32,
    pub subcode: Option<u32>,
    pub kind: &'static str,
    pub message: String,
    pub is_transient: bool,
    /// The WWW-Authenticate error keyword for OAuth errors (`invalid_request`, or `invalid_code` for code exchanges).
    pub www_authenticate: Option<&'static str>,
}

const OAUTH: &str = "OAuthException";
const METHOD: &str = "GraphMethodException";

impl GraphError {
    pub fn new(code: u32, kind: &'static str, message: impl Into<String>) -> GraphError {
        let status = match code {
            4 | 17 => StatusCode::FORBIDDEN,
            2 => StatusCode::INTERNAL_SERVER_ERROR,
            _ => StatusCode::BAD_REQUEST,
        };
        GraphError {
            status,
            code,
            subcode: None,
            kind,
            message: message.into(),
            is_transient: matches!(code, 2 | 4 | 17),
            www_authenticate: (kind == OAUTH).then_some("invalid_request"),
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

    pub fn body(&self, fbtrace_id: &str) -> serde_json::Value {
        let mut e = json!({"message": self.message, "type": self.kind, "code": self.code});
        if let Some(s) = self.subcode {
            e["error_subcode"] = json!(s);
        }
        if self.is_transient {
            e["is_transient"] = json!(true);
        }
        e["fbtrace_id"] = json!(fbtrace_id);
        json!({ "error": e })
    }
}

impl From<CoreError> for GraphError {
    fn from(e: CoreError) -> GraphError {
        let message = e.to_string();
        match e {
            CoreError::MissingParameter(_) | CoreError::InvalidParameter(_) => GraphError::new(100, OAUTH, message),
            CoreError::UnknownObject { .. } => {
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
            CoreError::InvalidCode(_) => {
                GraphError { www_authenticate: Some("invalid_code"), ..GraphError::new(100, OAUTH, message) }
            }
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

/// A fresh fbtrace_id: 11 base62 characters, as Graph's are.
pub fn fbtrace_id() -> String {
    use rand::Rng;
    const A: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
    let mut rng = rand::thread_rng();
    (0..11).map(|_| A[rng.gen_range(0..A.len())] as char).collect()
}

/// The JSON content type facebook-sdk insists on.
pub const JSON_UTF8: &str = "application/json; charset=UTF-8";

/// A 2xx JSON answer with the Graph headers.
pub fn graph_json(value: serde_json::Value) -> Response {
    json_response(StatusCode::OK, &value)
}

/// Every JSON answer, Graph or control plane: the content type facebook-sdk insists on, and never cached (answers
/// carry tokens and, on the control plane, secrets).
pub fn json_response(status: StatusCode, value: &serde_json::Value) -> Response {
    let mut r = (status, value.to_string()).into_response();
    r.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static(JSON_UTF8));
    r.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    r
}

impl IntoResponse for GraphError {
    fn into_response(self) -> Response {
        let mut r = json_response(self.status, &self.body(&fbtrace_id()));
        if let Some(kw) = self.www_authenticate {
            let msg = self.message.replace(['"', '\r', '\n'], "'");
            let v = format!("OAuth \"Facebook Platform\" \"{kw}\" \"{msg}\"");
            if let Ok(v) = HeaderValue::from_str(&v) {
                r.headers_mut().insert(header::WWW_AUTHENTICATE, v);
            }
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
        assert_eq!(GraphError::internal().status, StatusCode::INTERNAL_SERVER_ERROR);
    }

    #[test]
    fn envelope_shape() {
        let e: GraphError = CoreError::Token(TokenProblem::Expired { expired_on: "a".into(), now: "b".into() }).into();
        let b = e.body("T");
        assert_eq!(b["error"]["code"], 190);
        assert_eq!(b["error"]["error_subcode"], 463);
        assert_eq!(b["error"]["fbtrace_id"], "T");
        assert!(b["error"].get("is_transient").is_none());
    }
}

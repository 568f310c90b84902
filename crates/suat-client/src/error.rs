//! The one error type of the client, and the Graph error envelope as a typed value.
//!
//! A Graph error is only useful to a person when it says what to do next, so [`GraphApiError::hint`] maps the code
//! and subcode to an action (generate a new token, install the app, check the secret...). No variant ever holds a
//! token, secret or proof, and transport errors are stripped of their URL (which may carry a token in the query).

use serde::Deserialize;
use std::fmt;
use suat_wire::{ErrorBody, ErrorEnvelope};
use thiserror::Error;

/// An error answer of the Graph API: `{"error":{"message","type","code","error_subcode",...,"fbtrace_id"}}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GraphApiError {
    /// HTTP status of the answer (200 for an error embedded in a debug_token answer).
    pub status: u16,
    pub code: i64,
    pub subcode: Option<i64>,
    /// The envelope's `type` (`OAuthException`, `GraphMethodException`...).
    pub kind: Option<String>,
    pub message: String,
    pub user_title: Option<String>,
    pub user_msg: Option<String>,
    pub is_transient: bool,
    pub fbtrace_id: Option<String>,
    /// The request that got this answer (`GET http://host/v25.0/me`, never the query), when it came from a call;
    /// `None` for an error read from a debug_token answer's data.
    pub endpoint: Option<String>,
}

/// Reads the shared wire type: every field is optional there, so a sparse error still parses.
pub(crate) fn from_wire(e: ErrorBody, status: u16) -> GraphApiError {
    let some = |s: String| (!s.is_empty()).then_some(s);
    GraphApiError {
        status,
        code: e.code,
        subcode: e.error_subcode,
        kind: some(e.kind),
        message: some(e.message).unwrap_or_else(|| "(no message)".into()),
        user_title: e.error_user_title,
        user_msg: e.error_user_msg,
        is_transient: e.is_transient.unwrap_or(false),
        fbtrace_id: e.fbtrace_id,
        endpoint: None,
    }
}

impl GraphApiError {
    /// Parses an error envelope; `None` when the body is not one.
    pub fn from_body(status: u16, body: &serde_json::Value) -> Option<GraphApiError> {
        let env = ErrorEnvelope::deserialize(body).ok()?;
        Some(from_wire(env.error, status))
    }

    /// Transient failures (service errors, rate limits) are worth retrying later; the rest are not.
    pub fn is_retryable(&self) -> bool {
        self.is_transient || matches!(self.code, 2 | 4 | 17 | 32 | 613) || self.status >= 500
    }

    /// The token itself is dead (190 family): refreshing it will not help.
    pub fn is_token_dead(&self) -> bool {
        self.code == 190 || self.code == 102
    }

    /// What the user should do about this error.
    pub fn hint(&self) -> &'static str {
        match (self.code, self.subcode) {
            (190, Some(463)) => {
                "The token has expired and can no longer be refreshed: generate a new one with \
                 `suat token generate --expiring` and deploy it (rotate expiring tokens before they expire, e.g. with \
                 `suat watch`)."
            }
            (190, Some(466)) => {
                "The token was revoked (oauth/revoke or DELETE /{system-user}/access_tokens): generate a new one with \
                 `suat token generate`."
            }
            (190, Some(460)) => {
                "The session was invalidated (password change or a security reset): generate a new token with \
                 `suat token generate`."
            }
            (190, Some(458)) => {
                "The app is not installed for this system user: run `suat app install`, then generate a new token."
            }
            (190, Some(467)) => {
                "The token is no longer valid (logged out, or the system user lost its page role or its source token): \
                 restore the role if needed and get a new token."
            }
            (190, _) | (102, _) => {
                "The access token is not valid here: check it was copied whole and belongs to this server \
                 (--graph-url), or generate a new one."
            }
            (104, _) => "An access token is required: pass --access-token (or SUAT_ACCESS_TOKEN) or --profile.",
            (1, _) if self.message.contains("client secret") => {
                "The app secret does not match the app id: check --app-secret (SUAT_APP_SECRET) and --app-id."
            }
            (101, _) => "The app id is unknown: check --app-id.",
            (100, _) if self.message.contains("appsecret_proof") => {
                "appsecret_proof is missing or wrong: pass the app secret (--app-secret or SUAT_APP_SECRET) of the \
                 app the access token belongs to."
            }
            (100, Some(33)) => {
                "That object does not exist or this token may not see it: check the id and that the token's user \
                 belongs to the same business."
            }
            (100, _) => "A parameter was rejected: the message above names it.",
            (3962, _) => {
                "A requested scope is not a valid permission: check the spelling of --scope against the system-user \
                 scopes in Meta's documentation."
            }
            (10, _) | (200..=299, _) => {
                "Permission denied: the caller needs the right role in the business, or the token lacks a scope; \
                 generate a token with the needed --scope."
            }
            (12, _) => {
                "This endpoint no longer exists on the Graph API: upgrade suat or use the endpoint the message names."
            }
            (2500, _) => "Unknown path: check --graph-url and --api-version.",
            (2, _) | (4, _) | (17, _) | (32, _) | (613, _) => {
                "A temporary or rate-limit error: wait a little and try again."
            }
            _ if self.is_transient => "A temporary error: wait a little and try again.",
            (1, _) => "An unknown error on the Graph side: try again; if it persists, quote the fbtrace_id to Meta.",
            _ => "See the message above; quote the fbtrace_id when asking Meta for help.",
        }
    }
}

impl fmt::Display for GraphApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} (code {}", self.message, self.code)?;
        if let Some(s) = self.subcode {
            write!(f, ", subcode {s}")?;
        }
        if let Some(t) = &self.fbtrace_id {
            write!(f, ", fbtrace_id {t}")?;
        }
        f.write_str(")")
    }
}

impl std::error::Error for GraphApiError {}

/// Where a rotation stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RotationStage {
    /// Inspecting the old token or refreshing it: nothing was deployed.
    Refresh,
    /// Writing the new token to a deploy target.
    Deploy,
    /// Checking the deployed new token with debug_token and an authenticated call.
    Verify,
    /// Revoking the old token after a successful deploy and verify.
    RevokeOld,
}

impl fmt::Display for RotationStage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            RotationStage::Refresh => "refresh",
            RotationStage::Deploy => "deploy",
            RotationStage::Verify => "verify",
            RotationStage::RevokeOld => "revoke of the old token",
        })
    }
}

/// A rotation that did not complete, with what state it left behind.
#[derive(Debug)]
pub struct RotationFailure {
    pub stage: RotationStage,
    pub cause: ClientError,
    /// Targets that got the new token and were put back to the old one.
    pub rolled_back: Vec<String>,
    /// Targets that got the new token and could not be put back (they still hold the new, valid token).
    pub rollback_failed: Vec<(String, String)>,
    /// The new token was revoked again because nothing holds it any more.
    pub new_token_revoked: bool,
}

impl fmt::Display for RotationFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "rotation failed at {}: {}", self.stage, self.cause)?;
        match self.stage {
            RotationStage::RevokeOld => write!(
                f,
                ". The new token is deployed and verified, but the OLD token is still valid: revoke it with \
                 `suat token revoke`"
            )?,
            _ => {
                write!(f, ". The old token was NOT revoked and stays valid")?;
                if !self.rolled_back.is_empty() {
                    write!(f, "; put back on: {}", self.rolled_back.join(", "))?;
                }
                for (t, why) in &self.rollback_failed {
                    write!(f, "; could NOT put the old token back on {t} ({why}): it holds the new token")?;
                }
                if self.new_token_revoked {
                    write!(f, "; the unused new token was revoked")?;
                }
            }
        }
        Ok(())
    }
}

/// Every way a client operation can fail.
#[derive(Debug, Error)]
pub enum ClientError {
    /// The Graph answered with an error envelope.
    #[error("Graph API error: {0}")]
    Graph(Box<GraphApiError>),
    /// The Graph could not be reached. `endpoint` is the method and URL without its query (which may carry a
    /// token); the message ends with the innermost cause ("Connection refused"), not reqwest's generic "error sending
    /// request".
    #[error("cannot reach {endpoint}: {}", root_cause(.source))]
    Http {
        endpoint: String,
        #[source]
        source: reqwest::Error,
    },
    /// debug_token refused the app credentials it was asked with (`APPID|SECRET`): a wrong app secret or app id,
    /// not a problem of the inspected token, which the Graph reports inside a 200 answer instead.
    #[error("debug_token refused the app credentials (app id {app_id} with the given app secret): {}; the token itself was not inspected", .source.message)]
    InspectorRefused { app_id: String, source: Box<GraphApiError> },
    /// A 2xx answer that is not what the endpoint documents.
    #[error("unexpected answer from {endpoint} (HTTP {status}): {detail}")]
    UnexpectedResponse { endpoint: String, status: u16, detail: String },
    /// Bad input that the Graph was never asked about (bad URL, missing secret, bad target spec...).
    #[error("{0}")]
    Invalid(String),
    /// The token store cannot be read or written.
    #[error("token store {path}: {reason}")]
    Store { path: String, reason: String },
    /// The store's key or passphrase does not open it.
    #[error("token store {path}: wrong store key or passphrase (or the file was tampered with)")]
    StoreKey { path: String },
    /// The file does not carry a valid tag under the store key: something edited it without the key.
    #[error("token store {path}: modified without the store key (the authentication tag does not match); refusing to use it")]
    StoreTampered { path: String },
    #[error("no profile named {0:?} in the token store (see `suat store list`)")]
    NoProfile(String),
    /// A deploy target refused the token.
    #[error("deploy to {target} failed: {reason}")]
    Deploy { target: String, reason: String },
    /// The new token did not pass verification.
    #[error("verification of the new token failed: {0}")]
    Verify(String),
    #[error("{0}")]
    Rotation(Box<RotationFailure>),
    #[error("{path}: {source}")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },
}

/// The innermost error's text ("Connection refused (os error 111)", "dns error: ..."), which says what went wrong.
fn root_cause(e: &(dyn std::error::Error + 'static)) -> String {
    let mut cur = e;
    while let Some(next) = cur.source() {
        cur = next;
    }
    cur.to_string()
}

impl From<GraphApiError> for ClientError {
    fn from(e: GraphApiError) -> Self {
        ClientError::Graph(Box::new(e))
    }
}

impl ClientError {
    /// The Graph error behind this one, if any (also through a failed rotation).
    pub fn graph(&self) -> Option<&GraphApiError> {
        match self {
            ClientError::Graph(g) => Some(g),
            ClientError::Rotation(r) => r.cause.graph(),
            ClientError::InspectorRefused { source, .. } => Some(source),
            _ => None,
        }
    }

    /// What to do about it, when there is something specific to say.
    pub fn hint(&self) -> Option<&'static str> {
        match self {
            ClientError::Rotation(r) if r.stage != RotationStage::RevokeOld && r.cause.graph().is_none() => {
                Some("Fix the deploy target or the verification problem and run the rotation again.")
            }
            ClientError::StoreKey { .. } => {
                Some("Set SUAT_STORE_KEY (64 hex characters) or SUAT_STORE_PASSPHRASE to the one the store was created with.")
            }
            ClientError::StoreTampered { .. } => Some(
                "Nothing was read from or written to it. Find out who changed it; then restore a copy you trust, or \
                 move it away and generate the tokens again.",
            ),
            ClientError::Http { source, .. } if source.is_timeout() => Some(
                "The server did not answer in time: check that the URL above is the server you meant (SUAT_GRAPH_URL \
                 or --graph-url) and that it is not overloaded; then try again.",
            ),
            ClientError::Http { endpoint, .. } if endpoint.contains("://graph.facebook.com/") => Some(
                "That is Meta's Graph API, the default. To use a suat server set SUAT_GRAPH_URL (or --graph-url) to \
                 its URL, e.g. http://127.0.0.1:8787; to use Meta's, check this machine's network and DNS.",
            ),
            ClientError::Http { .. } => Some(
                "Is the server running at the URL above? For a local emulator start it with `suat serve --seed \
                 examples/seed.toml` (it prints the address it listens on), or set SUAT_GRAPH_URL (or --graph-url) to \
                 where it runs; without either, suat calls Meta's https://graph.facebook.com.",
            ),
            ClientError::InspectorRefused { .. } => Some(
                "Check --app-secret (SUAT_APP_SECRET) and --app-id (SUAT_APP_ID, or the profile's): debug_token is \
                 asked as the app itself, and the server refused that app id and secret. The token was not checked.",
            ),
            _ => self.graph().map(GraphApiError::hint),
        }
    }

    pub(crate) fn io(path: &std::path::Path, source: std::io::Error) -> ClientError {
        ClientError::Io { path: path.display().to_string(), source }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn err(code: i64, sub: Option<i64>, msg: &str) -> GraphApiError {
        let mut e = json!({"error": {"message": msg, "type": "OAuthException", "code": code, "fbtrace_id": "Abc"}});
        if let Some(s) = sub {
            e["error"]["error_subcode"] = json!(s);
        }
        GraphApiError::from_body(400, &e).unwrap()
    }

    #[test]
    fn parses_the_envelope() {
        let e = err(190, Some(463), "Error validating access token: Session has expired");
        assert_eq!((e.code, e.subcode, e.kind.as_deref()), (190, Some(463), Some("OAuthException")));
        assert_eq!(e.fbtrace_id.as_deref(), Some("Abc"));
        assert_eq!(
            e.to_string(),
            "Error validating access token: Session has expired (code 190, subcode 463, fbtrace_id Abc)"
        );
        assert!(GraphApiError::from_body(200, &json!({"data": []})).is_none());
    }

    #[test]
    fn debug_token_errors_use_subcode_key() {
        let e =
            GraphApiError::from_body(200, &json!({"error": {"code": 190, "message": "m", "subcode": 466}})).unwrap();
        assert_eq!(e.subcode, Some(466));
    }

    #[test]
    fn hints_say_what_to_do() {
        assert!(err(190, Some(463), "expired").hint().contains("generate a new one"));
        assert!(err(190, Some(466), "revoked").hint().contains("revoked"));
        assert!(err(190, Some(460), "x").hint().contains("invalidated"));
        assert!(err(190, Some(458), "x").hint().contains("suat app install"));
        assert!(err(1, None, "Error validating client secret.").hint().contains("app secret"));
        assert!(err(101, None, "Invalid application ID").hint().contains("--app-id"));
        assert!(err(100, None, "Invalid appsecret_proof provided in the API argument").hint().contains("app secret"));
        assert!(err(100, None, "API calls from the server require an appsecret_proof argument")
            .hint()
            .contains("appsecret_proof"));
        assert!(err(3962, None, "x").hint().contains("scope"));
        assert!(err(200, None, "x").hint().contains("Permission"));
        assert!(err(4, None, "x").is_retryable());
        assert!(!err(190, Some(463), "x").is_retryable());
    }

    #[test]
    fn rotation_failure_says_old_token_kept() {
        let f = RotationFailure {
            stage: RotationStage::Deploy,
            cause: ClientError::Deploy { target: "cmd:false".into(), reason: "exit status 1".into() },
            rolled_back: vec!["file:/tmp/t".into()],
            rollback_failed: vec![],
            new_token_revoked: true,
        };
        let s = ClientError::Rotation(Box::new(f)).to_string();
        assert!(s.contains("old token was NOT revoked"), "{s}");
        assert!(s.contains("file:/tmp/t"), "{s}");
    }
}

//! The one error type of the domain. Each variant is a rule violation a client can see; the server turns them into
//! Graph error envelopes in exactly one place, so messages and codes stay consistent across endpoints.

use thiserror::Error;

/// Why a presented access token is not usable; maps to Graph code 190 and the given subcode.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum TokenProblem {
    /// Not shaped like a token at all. Code 190, no subcode.
    #[error("Invalid OAuth access token - Cannot parse access token")]
    Unparseable,
    /// Shaped like a token (`EAA...`) but not one this authority issued. Code 190, no subcode.
    #[error("The access token could not be decrypted")]
    Undecryptable,
    /// `APPID|...` of a known app, but neither its secret nor an app token minted for it. Code 190, no subcode.
    #[error("Invalid OAuth access token signature.")]
    BadSignature,
    /// `APPID|...` of an app that does not exist. Code 190, no subcode.
    #[error("Error validating application. Cannot get application info due to a system error.")]
    UnknownApp,
    /// Past its expiry. Subcode 463.
    #[error("Error validating access token: Session has expired on {expired_on}. The current time is {now}.")]
    Expired { expired_on: String, now: String },
    /// Revoked by an API call (oauth/revoke or DELETE access_tokens). Subcode 466.
    #[error("Error validating access token: The session was invalidated explicitly using an API call.")]
    Revoked,
    /// The owning user's session was invalidated (password change). Subcode 460.
    #[error("Error validating access token: The session has been invalidated because the user changed their password or Facebook has changed the session for security reasons.")]
    SessionInvalidated,
    /// The app the token was issued for is no longer installed for its user. Subcode 458.
    #[error("Error validating access token: The user has not authorized application {0}.")]
    AppNotInstalled(String),
    /// The token's app was deleted (seed 001). Code 190 with no subcode (inferred), and the message Graph gives for a
    /// deleted app's client_id.
    #[error("Error validating application. Application has been deleted.")]
    AppDeleted,
    /// The token's app was disabled by the platform (seed 001). Code 190, no subcode; message inferred from the
    /// deleted one.
    #[error("Error validating application. Application has been disabled.")]
    AppDisabled,
    /// A page token whose system user lost its role on the page, or whose source token died. Subcode 467.
    #[error("Error validating access token: The session is invalid because the user logged out.")]
    Dependency,
}

impl TokenProblem {
    /// Why an unknown string is not a token: the messages differ by what it looks like (GRAPH-WIRE §4).
    pub fn unknown(token: &str) -> TokenProblem {
        let shaped = token.len() >= 32 && token.starts_with("EAA") && token.bytes().all(|b| b.is_ascii_alphanumeric());
        if shaped {
            TokenProblem::Undecryptable
        } else {
            TokenProblem::Unparseable
        }
    }

    /// The Graph error_subcode for this problem, if it has one.
    pub fn subcode(&self) -> Option<u32> {
        match self {
            TokenProblem::Unparseable
            | TokenProblem::Undecryptable
            | TokenProblem::BadSignature
            | TokenProblem::UnknownApp
            | TokenProblem::AppDeleted
            | TokenProblem::AppDisabled => None,
            TokenProblem::Expired { .. } => Some(463),
            TokenProblem::Revoked => Some(466),
            TokenProblem::SessionInvalidated => Some(460),
            TokenProblem::AppNotInstalled(_) => Some(458),
            TokenProblem::Dependency => Some(467),
        }
    }
}

/// Every way a request can break a rule of the domain.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum CoreError {
    /// A required parameter is absent.
    #[error("(#100) The parameter {0} is required")]
    MissingParameter(&'static str),
    /// A parameter is present but unusable.
    #[error("(#100) {0}")]
    InvalidParameter(String),
    /// The object does not exist or may not be seen by the caller (code 100, subcode 33).
    #[error("Unsupported {method} request. Object with ID '{id}' does not exist, cannot be loaded due to missing permissions, or does not support this operation. Please read the Graph API documentation at https://developers.facebook.com/docs/graph-api")]
    UnknownObject { method: &'static str, id: String },
    /// A known path that does not take this HTTP method (code 100, subcode 33).
    #[error("Unsupported {0} request. Please read the Graph API documentation at https://developers.facebook.com/docs/graph-api")]
    UnsupportedMethod(&'static str),
    /// The presented access token is unusable (code 190).
    #[error("{0}")]
    Token(TokenProblem),
    /// No access token at all on a call that needs one (code 104, as Graph answers).
    #[error("An access token is required to request this resource.")]
    TokenRequired,
    /// appsecret_proof required but absent.
    #[error("API calls from the server require an appsecret_proof argument")]
    ProofMissing,
    /// appsecret_proof present but wrong (or made with another app's secret, or too old a timestamp).
    #[error("Invalid appsecret_proof provided in the API argument")]
    ProofInvalid,
    /// A permission rule (codes 200-299, or 10).
    #[error("(#{code}) {message}")]
    Permission { code: u32, message: String },
    /// A requested scope is not a permission at all (code 3962).
    #[error("(#3962) Provided permission is not valid. Check your spelling and syntax: {0}")]
    InvalidScope(String),
    /// client_secret does not match client_id (code 1).
    #[error("Error validating client secret.")]
    ClientSecret,
    /// client_id is not an app (code 101).
    #[error("Error validating application. Invalid application ID.")]
    UnknownApp,
    /// client_id (or business_app) names an app that is deleted or disabled (code 101, as Graph answers a deleted
    /// app's client_id; the argument completes "Error validating application. ").
    #[error("Error validating application. {0}")]
    AppUnavailable(&'static str),
    /// An endpoint that Meta removed (code 12).
    #[error("(#12) {0}")]
    Deprecated(String),
    /// No such path (code 2500).
    #[error("Unknown path components: {0}")]
    UnknownPath(String),
    /// `/me` with a token that has no user behind it (an app token): code 2500.
    #[error("An active access token must be used to query information about the current user.")]
    NoCurrentUser,
    /// OAuth authorization-code problems (code 100, WWW-Authenticate invalid_code).
    #[error("{0}")]
    InvalidCode(&'static str),
    /// A rate limit refused the call (GRAPH-WIRE §8: 4, 17, 80001, 80004); the message carries its own `(#N)`.
    #[error("{message}")]
    RateLimited { code: u32, message: &'static str },
}

impl From<TokenProblem> for CoreError {
    fn from(p: TokenProblem) -> Self {
        CoreError::Token(p)
    }
}

/// Messages of the authorization-code exchange, verbatim from the wire contract.
pub mod code_messages {
    pub const USED: &str = "This authorization code has been used.";
    /// A code this server never issued.
    pub const FORMAT: &str = "Invalid verification code format.";
    pub const EXPIRED: &str = "This authorization code has expired.";
    pub const REDIRECT_MISMATCH: &str = "Error validating verification code. Please make sure your redirect_uri is identical to the one you used in the OAuth dialog request";

    /// The error_subcode Graph sends with a code-exchange message: only a used code has one (GRAPH-WIRE r2, 36009).
    pub fn subcode(message: &str) -> Option<u32> {
        (message == USED).then_some(36009)
    }
}

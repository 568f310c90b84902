//! The Graph API wire as types, shared by `suat-server` (which writes them) and `suat-client` (which reads them), so
//! the two sides cannot drift. Field order in each struct is Graph's key order on the wire (GRAPH-WIRE.md, captured
//! answers); ids are strings; absent fields are skipped, never `null`.
//!
//! serde_json is built with `preserve_order` in this workspace, so a `serde_json::Map` keeps insertion order too:
//! [`fields`] relies on it to answer fields in the order they were asked for.

pub mod debug;
pub mod error;
pub mod fields;
pub mod list;
pub mod oauth;

pub use debug::{DebugToken, GranularScope, TokenData, TokenError};
pub use error::{ErrorBody, ErrorEnvelope};
pub use fields::{FieldRequest, NodeType, Selection};
pub use list::{Cursors, List, Paging};
pub use oauth::TokenAnswer;

use serde::{Deserialize, Serialize};

/// `{"success":true}`: what every write without a result answers (a bare `true` crashes the Python SDK).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Success {
    pub success: bool,
}

impl Success {
    pub const TRUE: Success = Success { success: true };
}

/// `{"id":"..."}`: what a create answers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Created {
    pub id: String,
}

/// `{"access_token":"..."}`: POST /{system-user}/access_tokens.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccessTokenAnswer {
    pub access_token: String,
}

/// One item of `GET /{business}/system_users`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SystemUserItem {
    pub id: String,
    pub name: String,
    pub role: String,
}

/// One item of `GET /{page}/assigned_users`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AssignedUser {
    pub id: String,
    pub name: String,
    pub tasks: Vec<String>,
}

/// One item of `GET /me/accounts`, as a client reads it (the server answers it through `fields`, so every field
/// but `id` may be absent).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccountItem {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub access_token: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub category: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    pub id: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tasks: Vec<String>,
}

/// One item of `GET /me/permissions`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Permission {
    pub permission: String,
    /// `granted` or `declined`.
    pub status: String,
}

/// Serialises a wire value to its exact text. Infallible for the types of this crate (string keys only).
pub fn to_text<T: Serialize>(v: &T) -> String {
    serde_json::to_string(v).expect("wire types serialise")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn small_answers_are_byte_exact() {
        assert_eq!(to_text(&Success::TRUE), r#"{"success":true}"#);
        assert_eq!(to_text(&Created { id: "12".into() }), r#"{"id":"12"}"#);
        let item = SystemUserItem { id: "1".into(), name: "Bot".into(), role: "ADMIN".into() };
        assert_eq!(to_text(&item), r#"{"id":"1","name":"Bot","role":"ADMIN"}"#);
    }

    #[test]
    fn maps_keep_insertion_order() {
        // The workspace builds serde_json with preserve_order; without it field selection would come out sorted.
        let mut m = serde_json::Map::new();
        m.insert("name".into(), "x".into());
        m.insert("id".into(), "1".into());
        assert_eq!(serde_json::Value::Object(m).to_string(), r#"{"name":"x","id":"1"}"#);
    }
}

//! The error envelope: `{"error":{"message","type","is_transient"?,"code","error_subcode"?,"error_user_title"?,
//! "error_user_msg"?,"fbtrace_id"}}`, in exactly that key order (captured: `is_transient` comes before `code`).
//! Reading is lenient (every field optional) so a sparse envelope from any server still parses.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorEnvelope {
    pub error: ErrorBody,
}

#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct ErrorBody {
    #[serde(default)]
    pub message: String,
    /// `OAuthException`, `GraphMethodException`...
    #[serde(rename = "type", default)]
    pub kind: String,
    /// Present (and `true`) only on service failures and rate limits.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub is_transient: Option<bool>,
    /// Absent only in malformed envelopes; readers treat that as code 1 (unknown).
    #[serde(default = "unknown_code")]
    pub code: i64,
    /// Read also from `subcode`, the key debug_token's `data.error` uses for the same thing.
    #[serde(default, alias = "subcode", skip_serializing_if = "Option::is_none")]
    pub error_subcode: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_user_title: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_user_msg: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fbtrace_id: Option<String>,
}

fn unknown_code() -> i64 {
    1
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_order_is_graphs() {
        let e = ErrorEnvelope {
            error: ErrorBody {
                message: "(#4) Application request limit reached".into(),
                kind: "OAuthException".into(),
                is_transient: Some(true),
                code: 4,
                error_subcode: Some(1),
                error_user_title: None,
                error_user_msg: None,
                fbtrace_id: Some("AbC".into()),
            },
        };
        assert_eq!(
            crate::to_text(&e),
            r#"{"error":{"message":"(#4) Application request limit reached","type":"OAuthException","is_transient":true,"code":4,"error_subcode":1,"fbtrace_id":"AbC"}}"#
        );
    }

    #[test]
    fn sparse_envelopes_parse() {
        let e: ErrorEnvelope = serde_json::from_str(r#"{"error":{"message":"x"}}"#).unwrap();
        assert_eq!((e.error.code, e.error.error_subcode, e.error.kind.as_str()), (1, None, ""));
    }
}

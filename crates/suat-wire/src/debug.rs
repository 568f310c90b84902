//! `GET /debug_token` answers `{"data":{...}}` with the keys in Graph's order (GRAPH-WIRE §6): `app_id`, `type`,
//! `application`, `data_access_expires_at`, `error`, `expires_at`, `is_valid`, `issued_at`, `metadata`,
//! `profile_id`, `scopes`, `granular_scopes`, `user_id`. Absent ones are skipped; `is_valid` and `scopes` are always
//! there.

use serde::{Deserialize, Serialize};

/// The answer. Generic so a `fields`-narrowed answer (a map of the asked keys) has the same envelope.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DebugToken<D = TokenData> {
    pub data: D,
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct TokenData {
    /// The app's id, as a string.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub app_id: Option<String>,
    /// `USER`, `PAGE`, `APP` or `SYSTEM_USER`.
    #[serde(rename = "type", default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    /// The app's name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub application: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data_access_expires_at: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<TokenError>,
    /// Unix seconds; 0 means never.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<i64>,
    #[serde(default)]
    pub is_valid: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub issued_at: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metadata: Option<serde_json::Value>,
    /// The page, for page tokens.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub profile_id: Option<String>,
    #[serde(default)]
    pub scopes: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub granular_scopes: Option<Vec<GranularScope>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_id: Option<String>,
}

/// `data.granular_scopes[]`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GranularScope {
    pub scope: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub target_ids: Vec<String>,
}

/// `data.error` of an invalid token: `{"code","message","subcode"?}` (key `subcode`, no `type`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenError {
    pub code: i64,
    #[serde(default)]
    pub message: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subcode: Option<i64>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_order_of_an_invalid_token() {
        let d = DebugToken {
            data: TokenData {
                app_id: Some("1".into()),
                kind: Some("SYSTEM_USER".into()),
                application: Some("A".into()),
                data_access_expires_at: Some(0),
                error: Some(TokenError { code: 190, message: "m".into(), subcode: Some(466) }),
                expires_at: Some(0),
                is_valid: false,
                scopes: vec![],
                user_id: Some("2".into()),
                ..TokenData::default()
            },
        };
        assert_eq!(
            crate::to_text(&d),
            r#"{"data":{"app_id":"1","type":"SYSTEM_USER","application":"A","data_access_expires_at":0,"error":{"code":190,"message":"m","subcode":466},"expires_at":0,"is_valid":false,"scopes":[],"user_id":"2"}}"#
        );
    }
}

//! Encoding of domain values into columns, shared by both backends so they store exactly the same thing.

use crate::{Result, StoreError};
use suat_core::{scope::Scope, AppId, PageId, TokenHash, TokenKind, TokenRecord, UserId};

pub fn to_i64(v: u64) -> Result<i64> {
    i64::try_from(v).map_err(|_| StoreError::Corrupt(format!("id {v} out of range")))
}

pub fn to_u64(v: i64) -> u64 {
    v as u64
}

pub fn json<T: serde::Serialize>(v: &T) -> String {
    serde_json::to_string(v).expect("domain values serialise")
}

pub fn from_json<T: serde::de::DeserializeOwned>(s: &str, what: &str) -> Result<T> {
    serde_json::from_str(s).map_err(|e| StoreError::Corrupt(format!("{what}: {e}")))
}

/// A unit enum as the text serde gives it (`"standard"` -> `standard`), for a `TEXT` column.
pub fn enum_text<T: serde::Serialize>(v: &T) -> String {
    match serde_json::to_value(v).expect("domain values serialise") {
        serde_json::Value::String(s) => s,
        other => other.to_string(),
    }
}

pub fn enum_from<T: serde::de::DeserializeOwned>(s: &str, what: &str) -> Result<T> {
    serde_json::from_value(serde_json::Value::String(s.to_owned()))
        .map_err(|e| StoreError::Corrupt(format!("{what}: {e}")))
}

pub fn scopes_json(s: &[Scope]) -> String {
    json(&s.iter().map(|x| x.as_str()).collect::<Vec<_>>())
}

pub fn scopes_from(s: &str) -> Result<Vec<Scope>> {
    let v: Vec<String> = from_json(s, "scopes")?;
    Ok(v.into_iter().map(Scope::from_stored).collect())
}

pub fn hash_from(b: &[u8]) -> Result<TokenHash> {
    TokenHash::from_slice(b).ok_or_else(|| StoreError::Corrupt("token hash length".into()))
}

#[allow(clippy::too_many_arguments)]
pub fn token_from(
    hash: &[u8],
    kind: &str,
    app_id: i64,
    user_id: Option<i64>,
    page_id: Option<i64>,
    scopes: &str,
    issued_at: i64,
    expires_at: Option<i64>,
    revoked_at: Option<i64>,
    parent: Option<&[u8]>,
    session_epoch: i64,
) -> Result<TokenRecord> {
    Ok(TokenRecord {
        hash: hash_from(hash)?,
        kind: TokenKind::parse(kind).ok_or_else(|| StoreError::Corrupt(format!("token kind {kind}")))?,
        app_id: AppId(to_u64(app_id)),
        user_id: user_id.map(|u| UserId(to_u64(u))),
        page_id: page_id.map(|p| PageId(to_u64(p))),
        scopes: scopes_from(scopes)?,
        issued_at,
        expires_at,
        revoked_at,
        parent: parent.map(hash_from).transpose()?,
        session_epoch,
    })
}

/// A 32-byte value from its 64 hex characters (the audit chain's links).
pub fn unhex32(s: &str) -> Option<[u8; 32]> {
    hex::decode(s).ok()?.try_into().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_beyond_i64_are_refused_not_wrapped() {
        assert_eq!(to_i64(100_000_000_000_001).unwrap(), 100_000_000_000_001);
        assert!(matches!(to_i64(u64::MAX), Err(StoreError::Corrupt(_))));
    }

    #[test]
    fn scopes_round_trip_as_a_json_list() {
        let s = vec![Scope::from_stored("ads_read".into()), Scope::from_stored("email".into())];
        assert_eq!(scopes_json(&s), r#"["ads_read","email"]"#);
        assert_eq!(scopes_from(&scopes_json(&s)).unwrap(), s);
        assert!(matches!(scopes_from("nope"), Err(StoreError::Corrupt(_))));
    }

    #[test]
    fn bad_rows_are_corrupt_not_panics() {
        assert!(matches!(hash_from(&[1, 2, 3]), Err(StoreError::Corrupt(_))));
        let row = |kind| token_from(&[0; 32], kind, 1, None, None, "[]", 0, None, None, None, 0);
        assert!(matches!(row("NOPE"), Err(StoreError::Corrupt(_))));
        assert_eq!(row("PAGE").unwrap().kind, TokenKind::Page);
    }
}

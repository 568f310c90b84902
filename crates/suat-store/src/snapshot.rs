//! The whole state as one value: every table but the audit log, row by row as stored, plus the clock offset and the
//! next Graph id. Exported by [`crate::Operator::snapshot`] and put back by [`crate::Write::Restore`], so a test suite
//! can save a world and start from it again. Secrets stay as they are stored: tokens and codes as keyed hashes, app
//! secrets sealed, passwords as argon2id hashes, so a snapshot only opens on a server with the same master key.
//!
//! Rows are kept as the columns hold them (lists as their JSON text, blobs as hex) rather than as domain values: a
//! restore must put back exactly what was there, including what no domain value carries (`created_seq`, `pos`).

use serde::{Deserialize, Serialize};
use sqlx::FromRow;

/// Every table but `audit`, each ordered by its key, so equal states export equal documents.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Snapshot {
    pub clock_offset: i64,
    /// The next Graph id the store will hand out: after a restore, new objects get the ids they got after the export.
    pub next_id: u64,
    pub businesses: Vec<BusinessSnap>,
    pub users: Vec<UserSnap>,
    pub credentials: Vec<CredentialSnap>,
    pub apps: Vec<AppSnap>,
    pub app_roles: Vec<AppRoleSnap>,
    pub app_clients: Vec<AppClientSnap>,
    pub installs: Vec<InstallSnap>,
    pub pages: Vec<PageSnap>,
    pub page_roles: Vec<PageRoleSnap>,
    pub tokens: Vec<TokenSnap>,
    pub auth_codes: Vec<CodeSnap>,
    pub app_scoped_ids: Vec<AppScopedSnap>,
    pub app_permissions: Vec<AnswerSnap>,
    pub app_deauthorizations: Vec<DeauthSnap>,
}

/// Blobs as lowercase hex in JSON.
mod hex_bytes {
    use serde::{de::Error, Deserialize, Deserializer, Serializer};
    pub fn serialize<S: Serializer>(v: &[u8], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&hex::encode(v))
    }
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
        hex::decode(String::deserialize(d)?).map_err(D::Error::custom)
    }
    pub mod opt {
        use super::*;
        pub fn serialize<S: Serializer>(v: &Option<Vec<u8>>, s: S) -> Result<S::Ok, S::Error> {
            match v {
                Some(b) => s.serialize_some(&hex::encode(b)),
                None => s.serialize_none(),
            }
        }
        pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Vec<u8>>, D::Error> {
            Option::<String>::deserialize(d)?.map(|h| hex::decode(h).map_err(D::Error::custom)).transpose()
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, FromRow)]
#[serde(deny_unknown_fields)]
pub struct BusinessSnap {
    pub id: i64,
    pub name: String,
    pub must_use_expiring_tokens: bool,
    pub parent_id: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, FromRow)]
#[serde(deny_unknown_fields)]
pub struct UserSnap {
    pub id: i64,
    pub name: String,
    pub business_id: Option<i64>,
    pub kind: String,
    pub admin: Option<bool>,
    pub role: Option<String>,
    pub session_epoch: i64,
    pub created_seq: i64,
    pub email: Option<String>,
}

/// A person's sign-in password, as its argon2id PHC string.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, FromRow)]
#[serde(deny_unknown_fields)]
pub struct CredentialSnap {
    pub user_id: i64,
    pub password_hash: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, FromRow)]
#[serde(deny_unknown_fields)]
pub struct AppSnap {
    pub id: i64,
    pub name: String,
    pub owner_business: Option<i64>,
    pub access_level: String,
    pub is_test_app: bool,
    pub require_app_secret: bool,
    pub permissions: String,
    pub capabilities: String,
    pub created_at: i64,
    pub redirect_uris: String,
    /// Sealed with the server's master key (nonce and ciphertext), never the secret itself.
    #[serde(with = "hex_bytes")]
    pub sealed_secret: Vec<u8>,
    pub status: String,
    pub app_scoped_last_query_at: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, FromRow)]
#[serde(deny_unknown_fields)]
pub struct AppRoleSnap {
    pub app_id: i64,
    pub user_id: i64,
    pub role: String,
    pub pos: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, FromRow)]
#[serde(deny_unknown_fields)]
pub struct AppClientSnap {
    pub app_id: i64,
    pub business_id: i64,
    pub pos: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, FromRow)]
#[serde(deny_unknown_fields)]
pub struct InstallSnap {
    pub user_id: i64,
    pub app_id: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, FromRow)]
#[serde(deny_unknown_fields)]
pub struct PageSnap {
    pub id: i64,
    pub name: String,
    pub business_id: i64,
    pub category: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, FromRow)]
#[serde(deny_unknown_fields)]
pub struct PageRoleSnap {
    pub page_id: i64,
    pub user_id: i64,
    pub tasks: String,
}

/// A token by its keyed hash only.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, FromRow)]
#[serde(deny_unknown_fields)]
pub struct TokenSnap {
    #[serde(with = "hex_bytes")]
    pub hash: Vec<u8>,
    pub kind: String,
    pub app_id: i64,
    pub user_id: Option<i64>,
    pub page_id: Option<i64>,
    pub scopes: String,
    pub issued_at: i64,
    pub expires_at: Option<i64>,
    pub revoked_at: Option<i64>,
    #[serde(with = "hex_bytes::opt")]
    pub parent: Option<Vec<u8>>,
    pub session_epoch: i64,
}

/// An authorization code by its keyed hash only.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, FromRow)]
#[serde(deny_unknown_fields)]
pub struct CodeSnap {
    #[serde(with = "hex_bytes")]
    pub hash: Vec<u8>,
    pub app_id: i64,
    pub user_id: i64,
    pub redirect_uri: String,
    pub scopes: String,
    pub created_at: i64,
    pub used_at: Option<i64>,
    pub session_epoch: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, FromRow)]
#[serde(deny_unknown_fields)]
pub struct AppScopedSnap {
    pub id: i64,
    pub app_id: i64,
    pub user_id: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, FromRow)]
#[serde(deny_unknown_fields)]
pub struct AnswerSnap {
    pub user_id: i64,
    pub app_id: i64,
    pub permission: String,
    pub status: String,
    pub pos: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, FromRow)]
#[serde(deny_unknown_fields)]
pub struct DeauthSnap {
    pub user_id: i64,
    pub app_id: i64,
    pub at: i64,
}

/// The `SELECT` of each table, in [`Snapshot`]'s field names and each table's key order.
pub(crate) mod select {
    pub const BUSINESSES: &str = "SELECT id, name, must_use_expiring_tokens, parent_id FROM businesses ORDER BY id";
    pub const USERS: &str = "SELECT id, name, business_id, kind, admin, role, session_epoch, created_seq, email \
                             FROM users ORDER BY id";
    pub const CREDENTIALS: &str = "SELECT user_id, password_hash FROM credentials ORDER BY user_id";
    pub const APPS: &str = "SELECT id, name, owner_business, access_level, is_test_app, require_app_secret, \
                            permissions, capabilities, created_at, redirect_uris, sealed_secret, status, \
                            app_scoped_last_query_at FROM apps ORDER BY id";
    pub const APP_ROLES: &str = "SELECT app_id, user_id, role, pos FROM app_roles ORDER BY app_id, user_id";
    pub const APP_CLIENTS: &str = "SELECT app_id, business_id, pos FROM app_clients ORDER BY app_id, business_id";
    pub const INSTALLS: &str = "SELECT user_id, app_id FROM installs ORDER BY user_id, app_id";
    pub const PAGES: &str = "SELECT id, name, business_id, category FROM pages ORDER BY id";
    pub const PAGE_ROLES: &str = "SELECT page_id, user_id, tasks FROM page_roles ORDER BY page_id, user_id";
    pub const TOKENS: &str = "SELECT hash, kind, app_id, user_id, page_id, scopes, issued_at, expires_at, \
                              revoked_at, parent, session_epoch FROM tokens ORDER BY hash";
    pub const AUTH_CODES: &str = "SELECT hash, app_id, user_id, redirect_uri, scopes, created_at, used_at, \
                                  session_epoch FROM auth_codes ORDER BY hash";
    pub const APP_SCOPED_IDS: &str = "SELECT id, app_id, user_id FROM app_scoped_ids ORDER BY id";
    pub const APP_PERMISSIONS: &str =
        "SELECT user_id, app_id, permission, status, pos FROM app_permissions ORDER BY user_id, app_id, permission";
    pub const APP_DEAUTHORIZATIONS: &str =
        "SELECT user_id, app_id, at FROM app_deauthorizations ORDER BY user_id, app_id";
}

/// Rows per `INSERT` of a restore: well under both databases' limit on bound parameters (13 columns at most).
pub(crate) const RESTORE_CHUNK: usize = 500;

//! Storage for suat: one [`Store`] trait, a SQLite backend (the embedded default) and a PostgreSQL backend (for
//! stateless replicas), both held to one contract test suite ([`contract`]).
//!
//! The trait speaks in domain values (`suat_core`). Each mutating call is one transaction that also appends its audit
//! entry, and returns only after commit, so anything acknowledged to a client is durable and audited.

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use suat_core::{
    oauth::AuthCode,
    page::{Page, PageRole},
    App, AppId, Business, BusinessId, PageId, TokenHash, TokenRecord, User, UserId,
};

pub mod cache;
mod codec;
pub mod contract;
pub mod postgres;
pub mod sqlite;

pub use cache::{CachedStore, Invalidation};
pub use postgres::PgStore;
pub use sqlite::SqliteStore;

/// The one error type of the storage layer.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// An object with this id already exists.
    #[error("{0} already exists")]
    Conflict(String),
    /// A row referenced by the call does not exist (unknown business, user, app...).
    #[error("{0} not found")]
    NotFound(String),
    /// A refresh raced a revocation and lost: the parent is revoked (or gone), nothing was written.
    #[error("the token being exchanged has been revoked")]
    ParentRevoked,
    /// An authorization code was already redeemed (possibly by a concurrent request); nothing was written.
    #[error("the authorization code has been used")]
    CodeUsed,
    /// A write could not be committed (the database refused or went away); nothing was acknowledged.
    #[error("storage unavailable: {0}")]
    Unavailable(String),
    /// Stored data does not decode (a bug or a tampered database).
    #[error("corrupt row: {0}")]
    Corrupt(String),
    #[error("database: {0}")]
    Db(#[from] sqlx::Error),
    #[error("migration: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
}

pub type Result<T> = std::result::Result<T, StoreError>;

/// An app as stored: the domain value plus its sealed (encrypted) secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredApp {
    pub app: App,
    /// `nonce || ciphertext` from `suat_core::crypto::SecretBox::seal`, with the app id as associated data.
    pub sealed_secret: Vec<u8>,
}

/// One line of the append-only audit log. Never holds a token, secret or proof: tokens are named by a short prefix
/// of their keyed hash (`token_ref`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditEntry {
    /// Assigned by the store, increasing; 0 on entries not yet written.
    #[serde(default)]
    pub seq: i64,
    /// Server-clock unix seconds.
    pub at: i64,
    /// What happened: `install`, `issue`, `refresh`, `revoke`, `revoke_all`, `password_change`, `operator`...
    pub action: String,
    /// Who did it: a user id, `app:<id>`, or `operator`.
    pub actor: String,
    /// The system user / user concerned.
    pub subject: Option<UserId>,
    pub app_id: Option<AppId>,
    /// First 16 hex characters of the token's keyed hash.
    pub token_ref: Option<String>,
    /// Free-form, secret-free detail (scopes, expiry...).
    pub detail: serde_json::Value,
}

impl AuditEntry {
    pub fn new(at: i64, action: &str, actor: impl Into<String>) -> AuditEntry {
        AuditEntry {
            seq: 0,
            at,
            action: action.to_owned(),
            actor: actor.into(),
            subject: None,
            app_id: None,
            token_ref: None,
            detail: serde_json::Value::Null,
        }
    }
    pub fn subject(mut self, u: UserId) -> Self {
        self.subject = Some(u);
        self
    }
    pub fn app(mut self, a: AppId) -> Self {
        self.app_id = Some(a);
        self
    }
    pub fn token(mut self, h: &TokenHash) -> Self {
        self.token_ref = Some(h.to_hex()[..16].to_owned());
        self
    }
    pub fn detail(mut self, d: serde_json::Value) -> Self {
        self.detail = d;
        self
    }
}

/// Everything in the store, for the control plane's dump and for tests that assert "nothing changed".
/// Token rows appear without their hashes' full value (only `token_ref`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Dump {
    pub businesses: Vec<Business>,
    pub users: Vec<User>,
    pub apps: Vec<App>,
    /// (system user, app)
    pub installs: Vec<(UserId, AppId)>,
    #[serde(default)]
    pub pages: Vec<Page>,
    #[serde(default)]
    pub page_roles: Vec<PageRole>,
    pub tokens: Vec<TokenSummary>,
    pub audit_len: i64,
    pub clock_offset: i64,
}

/// A token row as the dump shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenSummary {
    pub token_ref: String,
    pub kind: String,
    pub app_id: AppId,
    pub user_id: Option<UserId>,
    pub scopes: Vec<String>,
    pub issued_at: i64,
    pub expires_at: Option<i64>,
    pub revoked_at: Option<i64>,
}

/// The storage contract. Implementations must make every mutating call atomic (one transaction, audit included) and
/// durable before returning.
///
/// Callers must not cancel a mutating call halfway (drop its future while it is pending): a transaction abandoned
/// mid-flight can leave a backend connection unusable. [`CachedStore`], which the server always uses, runs every
/// mutating call on its own task for exactly this reason.
#[async_trait]
pub trait Store: Send + Sync + 'static {
    /// Allocates a fresh Graph id (shared by businesses, users, apps and pages), unique across replicas.
    async fn next_id(&self) -> Result<u64>;

    async fn create_business(&self, b: &Business, audit: &AuditEntry) -> Result<()>;
    async fn get_business(&self, id: BusinessId) -> Result<Option<Business>>;

    async fn create_user(&self, u: &User, audit: &AuditEntry) -> Result<()>;
    async fn get_user(&self, id: UserId) -> Result<Option<User>>;
    /// System users of a business, in creation order.
    async fn list_system_users(&self, business: BusinessId) -> Result<Vec<User>>;
    /// "Password change": bumps the user's session epoch (invalidating every token issued before, 190/460) and
    /// returns the new epoch.
    async fn bump_session_epoch(&self, user: UserId, audit: &AuditEntry) -> Result<i64>;

    async fn create_app(&self, app: &StoredApp, audit: &AuditEntry) -> Result<()>;
    /// Shared, so a cache hit on the hot path costs a reference count rather than a deep copy.
    async fn get_app(&self, id: AppId) -> Result<Option<std::sync::Arc<StoredApp>>>;

    /// Installs `app` for system user `su`. Idempotent: returns false if it was already installed.
    async fn install_app(&self, su: UserId, app: AppId, audit: &AuditEntry) -> Result<bool>;
    async fn is_installed(&self, su: UserId, app: AppId) -> Result<bool>;

    /// Records a newly issued token.
    async fn insert_token(&self, rec: &TokenRecord, audit: &AuditEntry) -> Result<()>;
    /// Shared, like [`Store::get_app`]: looked up on every authenticated request.
    async fn get_token(&self, hash: &TokenHash) -> Result<Option<std::sync::Arc<TokenRecord>>>;
    /// Atomically: if `new.parent`'s row exists and is not revoked, insert `new`; otherwise write nothing and return
    /// [`StoreError::ParentRevoked`]. Serialised against [`Store::revoke_token`] on the same parent, so a refresh
    /// racing a revocation can never yield a usable child of a revoked token.
    async fn refresh_token(&self, new: &TokenRecord, audit: &AuditEntry) -> Result<()>;
    /// Marks one token revoked at `at`. Returns false if it was already revoked (the first revocation time is kept).
    async fn revoke_token(&self, hash: &TokenHash, at: i64, audit: &AuditEntry) -> Result<bool>;
    /// Revokes every unrevoked token whose subject is `user` (system-user tokens and tokens derived from them).
    /// Returns how many were revoked.
    async fn revoke_all_for_user(&self, user: UserId, at: i64, audit: &AuditEntry) -> Result<u64>;

    /// Appends an entry on its own (operator actions, etc.).
    async fn append_audit(&self, audit: &AuditEntry) -> Result<()>;
    /// The newest `limit` entries, oldest first.
    async fn audit_tail(&self, limit: i64) -> Result<Vec<AuditEntry>>;

    /// Seconds added to the wall clock by the control plane; shared by every replica.
    async fn clock_offset(&self) -> Result<i64>;
    async fn set_clock_offset(&self, offset: i64, audit: &AuditEntry) -> Result<()>;

    /// Sets a person's sign-in password hash (PHC string). `NotFound` if the user does not exist.
    async fn set_password_hash(&self, user: UserId, phc: &str, audit: &AuditEntry) -> Result<()>;
    async fn get_password_hash(&self, user: UserId) -> Result<Option<String>>;

    /// Replaces an app's stored value and sealed secret (roles, sharing, secret reset). `NotFound` if absent.
    async fn update_app(&self, app: &StoredApp, audit: &AuditEntry) -> Result<()>;
    /// Removes an installation. Returns false if it was not installed.
    async fn uninstall_app(&self, su: UserId, app: AppId, audit: &AuditEntry) -> Result<bool>;

    /// The app-scoped id of system user `su` for `app`, allocating it on first use.
    async fn app_scoped_id(&self, app: AppId, su: UserId) -> Result<UserId>;
    /// Resolves an app-scoped id back to (app, system user).
    async fn resolve_app_scoped_id(&self, id: UserId) -> Result<Option<(AppId, UserId)>>;

    async fn create_page(&self, page: &Page, audit: &AuditEntry) -> Result<()>;
    async fn get_page(&self, id: PageId) -> Result<Option<Page>>;
    /// Pages owned by a business, by id.
    async fn list_business_pages(&self, business: BusinessId) -> Result<Vec<Page>>;
    /// Creates or replaces a user's tasks on a page.
    async fn set_page_role(&self, role: &PageRole, audit: &AuditEntry) -> Result<()>;
    /// Removes a user's role on a page; false if there was none.
    async fn remove_page_role(&self, page: PageId, user: UserId, audit: &AuditEntry) -> Result<bool>;
    async fn get_page_role(&self, page: PageId, user: UserId) -> Result<Option<PageRole>>;
    /// Roles on a page, by user id.
    async fn list_page_roles(&self, page: PageId) -> Result<Vec<PageRole>>;
    /// The pages a user has a role on, with the role, by page id.
    async fn list_user_pages(&self, user: UserId) -> Result<Vec<(Page, PageRole)>>;

    /// Records an authorization code (by hash).
    async fn insert_code(&self, code: &AuthCode, audit: &AuditEntry) -> Result<()>;
    async fn get_code(&self, hash: &TokenHash) -> Result<Option<AuthCode>>;
    /// Atomically marks the code used at `at` and records the token it was exchanged for. If the code was already
    /// used (or is gone), writes nothing and returns [`StoreError::CodeUsed`].
    async fn redeem_code(&self, hash: &TokenHash, at: i64, token: &TokenRecord, audit: &AuditEntry) -> Result<()>;

    /// Deletes every object and token (the audit log is kept: it is append-only) and records the reset.
    async fn reset(&self, audit: &AuditEntry) -> Result<()>;
    /// One consistent snapshot, deterministically ordered (so two dumps compare equal when nothing changed): objects
    /// by id, installs and page roles by their key pair, tokens oldest first then by hash.
    async fn dump(&self) -> Result<Dump>;

    /// Changes made by other processes sharing this database, for caches to drop stale entries. `None` for a
    /// backend only one process uses (SQLite). Each call starts a new subscription.
    fn subscribe(&self) -> Option<tokio::sync::mpsc::UnboundedReceiver<Invalidation>> {
        None
    }
}

//! Storage for suat: one [`Store`] trait, a SQLite backend (the embedded default) and a PostgreSQL backend (for
//! stateless replicas), both held to one contract test suite ([`contract`]).
//!
//! The traits speak in domain values (`suat_core`) and are split by who uses them: [`Tokens`] (the authentication hot
//! path), [`Directory`] (businesses, users, apps, pages), [`AuditLog`], [`Operator`] (clock, dump, change feed).
//! Every change is a [`Write`] value run by [`Writes::execute`]: one transaction that also appends its audit entry,
//! returning only after commit, so anything acknowledged to a client is durable and audited.

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use suat_core::{
    oauth::{AuthCode, Authorization, PermissionStatus},
    page::{Page, PageRole},
    scope::Scope,
    App, AppId, AppRole, AppStatus, Business, BusinessId, PageId, TokenHash, TokenRecord, User, UserId,
};

pub mod audit_chain;
pub mod cache;
mod codec;
pub mod contract;
pub mod postgres;
mod rows;
pub mod snapshot;
mod sql;
pub mod sqlite;

pub use cache::{CachedStore, Invalidation};
pub use snapshot::Snapshot;

/// The store's traits and values, for code that calls a store.
pub mod prelude {
    pub use crate::{AuditEntry, AuditLog, Directory, Operator, Store, StoredApp, Tokens, Write, Writes, Written};
}
pub use postgres::PgStore;
pub use sqlite::SqliteStore;

/// Writes taken together by the group-commit writer (a histogram): how widely a durable commit was shared. (A group
/// that fails as a whole, or falls back to one transaction per write, is still counted once, with all its writes.)
pub const WRITE_GROUP_SIZE: &str = "suat_store_write_group_size";
/// Seconds from a group's start to its outcome (statements and the durable commit), by the group-commit writer.
pub const WRITE_GROUP_SECONDS: &str = "suat_store_write_group_seconds";
/// Seconds of each phase of a group that commits, labelled `phase`: `begin` (the write transaction opened), `writes`
/// (the writes' statements), `audit` (the audit rows and, on PostgreSQL, the announcements) and `commit` (the durable
/// commit). Each phase is round trips to the database: beside the group's total, this shows whether a group's time
/// went to the disk (`commit`) or to waiting for the database's thread or server between statements. On SQLite,
/// while writes are queued, the commit also begins the next group's transaction, and that group's `begin` is then
/// no round trip at all.
/// A group rolled back and run again (a write in it failed) has only its last run's phases (none if it fell back to
/// one write at a time), so its phases add up to less than its time in [`WRITE_GROUP_SECONDS`].
pub const WRITE_GROUP_PHASE_SECONDS: &str = "suat_store_write_group_phase_seconds";
/// The phases of [`WRITE_GROUP_PHASE_SECONDS`], in order.
pub const WRITE_GROUP_PHASES: [&str; 4] = ["begin", "writes", "audit", "commit"];

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
    /// The database refused or went away: a write was not committed (nothing was acknowledged), or a read got no
    /// answer.
    #[error("storage unavailable: {0}")]
    Unavailable(String),
    /// The SQLite file is held by another store, in this process or another (one process per file).
    #[error("{} is in use by another suat process (pid {pid}): stop it, or give this one another --db", db.display())]
    InUse { db: std::path::PathBuf, pid: String },
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
        self.token_ref = Some(h.reference());
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

/// What the operator may change of an app's configuration; `None` leaves a field as it is (one statement per update,
/// so concurrent updates of different fields never undo each other).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AppSettings {
    pub redirect_uris: Option<Vec<String>>,
    pub require_app_secret: Option<bool>,
    pub access_level: Option<suat_core::AccessLevel>,
    pub is_test_app: Option<bool>,
    pub permissions: Option<Vec<String>>,
    pub capabilities: Option<Vec<String>>,
}

/// A change to the store, as a value. Each knows which cached entries it makes stale ([`Write::stale`]), so the
/// one place that runs writes ([`Writes::execute`], wrapped by [`CachedStore`]) can always follow a committed write
/// with its invalidation, locally and (through PostgreSQL NOTIFY) on every other replica.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Write {
    CreateBusiness(Business),
    CreateUser(User),
    /// Sets a person's sign-in password hash (PHC string). `NotFound` if the user does not exist.
    SetPassword {
        user: UserId,
        phc: String,
    },
    /// "Password change": bumps the user's session epoch, invalidating every token issued before (190/460).
    /// Answers [`Written::Epoch`] with the new epoch.
    BumpSessionEpoch(UserId),
    CreateApp(StoredApp),
    /// Gives `user` `role` on `app` (replacing any role they had). `NotFound` for an unknown app or user.
    SetAppRole {
        app: AppId,
        user: UserId,
        role: AppRole,
    },
    /// Shares `app` with `business` (`client_apps`). Idempotent: [`Written::Changed`] says whether it was new.
    ShareApp {
        app: AppId,
        business: BusinessId,
    },
    /// Replaces an app's sealed secret. `NotFound` for an unknown app.
    ResetSecret {
        app: AppId,
        sealed_secret: Vec<u8>,
    },
    /// The operator's app update: each field given replaces the stored one. `NotFound` for an unknown app.
    UpdateApp {
        app: AppId,
        status: Option<AppStatus>,
        app_scoped_last_query_at: Option<i64>,
        settings: AppSettings,
    },
    /// Installs `app` for system user `su`. Idempotent: [`Written::Changed`] is false if already installed.
    Install {
        su: UserId,
        app: AppId,
    },
    /// Removes an installation: [`Written::Changed`] is false if there was none.
    Uninstall {
        su: UserId,
        app: AppId,
    },
    /// Records a newly issued token.
    IssueToken(TokenRecord),
    /// Records a token generated through an app-scoped id and, in the same transaction, stamps its app's
    /// `app_scoped_last_query_at` with the token's issue time (seed 000's 90-day rule). `NotFound` for an unknown app.
    IssueAppScopedToken(TokenRecord),
    /// If the record's parent exists and is not revoked, inserts it; otherwise writes nothing and fails with
    /// [`StoreError::ParentRevoked`]. Serialised against revocations of the parent, so a refresh racing a
    /// revocation can never yield a usable child of a revoked token.
    RefreshToken(TokenRecord),
    /// Marks one token revoked at `at`. [`Written::Changed`] is false if it was already revoked (the first
    /// revocation time is kept).
    RevokeToken {
        hash: TokenHash,
        at: i64,
    },
    /// Revokes every unrevoked token whose subject is `user`; [`Written::Count`] says how many.
    RevokeAllForUser {
        user: UserId,
        at: i64,
    },
    CreatePage(Page),
    /// Creates or replaces a user's tasks on a page.
    SetPageRole(PageRole),
    /// Removes a user's role on a page: [`Written::Changed`] is false if there was none.
    RemovePageRole {
        page: PageId,
        user: UserId,
    },
    /// Records an authorization code (by hash).
    InsertCode(AuthCode),
    /// Marks the code used at `at` and records the token it was exchanged for. If the code was already used (or is
    /// gone), writes nothing and fails with [`StoreError::CodeUsed`].
    RedeemCode {
        hash: TokenHash,
        at: i64,
        token: TokenRecord,
    },
    /// A person's answer on the consent page, with what the dialog hands back, in one transaction: each answer
    /// replaces the person's earlier answer to that permission (a new permission goes after those asked before),
    /// then the code and the token, if any, are recorded.
    Consent {
        user: UserId,
        app: AppId,
        answers: Vec<(Scope, PermissionStatus)>,
        code: Option<AuthCode>,
        token: Option<TokenRecord>,
    },
    /// The person removes the app (`DELETE /me/permissions`): forgets their answers and records `at`, which voids
    /// their tokens of the app issued until then (190/458).
    Deauthorize {
        user: UserId,
        app: AppId,
        at: i64,
    },
    /// The person takes back one permission (`DELETE /me/permissions/{permission}`): it is `declined` from now on.
    /// [`Written::Changed`] is false if it already was.
    DeclinePermission {
        user: UserId,
        app: AppId,
        permission: Scope,
    },
    /// Seconds added to the wall clock by the control plane; shared by every replica.
    SetClockOffset(i64),
    /// Nothing but the audit entry (operator actions, etc.).
    AuditOnly,
    /// Deletes every object and token (the audit log is kept: it is append-only) and resets the clock.
    Reset,
    /// Replaces the whole state (every table but the audit log, the clock offset and the next id) with a snapshot,
    /// as [`Operator::snapshot`] exported it. All or nothing: a row the database refuses fails it with nothing changed.
    Restore(Box<Snapshot>),
}

impl Write {
    /// The cached entries this write makes stale. Inserts of new rows make nothing stale: only positive lookups are
    /// cached, and invalidating on every issuance would keep concurrent readers from caching at all.
    pub fn stale(&self) -> Vec<Invalidation> {
        use Invalidation as I;
        match self {
            Write::CreateUser(u) => vec![I::User(u.id)],
            Write::BumpSessionEpoch(u) => vec![I::User(*u)],
            Write::CreateApp(a) => vec![I::App(a.app.id)],
            Write::SetAppRole { app, .. }
            | Write::ShareApp { app, .. }
            | Write::ResetSecret { app, .. }
            | Write::UpdateApp { app, .. } => vec![I::App(*app)],
            Write::IssueAppScopedToken(t) => vec![I::App(t.app_id)],
            Write::Install { su, app } | Write::Uninstall { su, app } => vec![I::Install(*su, *app)],
            Write::RevokeToken { hash, .. } => vec![I::Token(*hash)],
            Write::RevokeAllForUser { .. } => vec![I::AllTokens],
            Write::SetPageRole(r) => vec![I::PageRole(r.page_id, r.user_id)],
            Write::RemovePageRole { page, user } => vec![I::PageRole(*page, *user)],
            Write::Consent { user, app, .. }
            | Write::Deauthorize { user, app, .. }
            | Write::DeclinePermission { user, app, .. } => vec![I::Authorization(*user, *app)],
            Write::SetClockOffset(_) => vec![I::Clock],
            Write::Reset | Write::Restore(_) => vec![I::All],
            Write::CreateBusiness(_)
            | Write::SetPassword { .. }
            | Write::IssueToken(_)
            | Write::RefreshToken(_)
            | Write::CreatePage(_)
            | Write::InsertCode(_)
            | Write::RedeemCode { .. }
            | Write::AuditOnly => vec![],
        }
    }
}

/// What a committed write reports back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Written {
    Done,
    /// Whether the write changed anything (install, uninstall, share, revoke, page-role removal).
    Changed(bool),
    /// How many rows it changed (revoke-all).
    Count(u64),
    /// The user's new session epoch (password change).
    Epoch(i64),
}

impl Written {
    pub fn changed(self) -> bool {
        match self {
            Written::Changed(c) => c,
            Written::Count(n) => n > 0,
            Written::Done | Written::Epoch(_) => true,
        }
    }
}

/// Tokens and authorization codes, looked up by their keyed hash on every authenticated request.
#[async_trait]
pub trait Tokens: Send + Sync {
    /// Shared, so a cache hit on the hot path costs a reference count rather than a deep copy.
    async fn get_token(&self, hash: &TokenHash) -> Result<Option<Arc<TokenRecord>>>;
    async fn get_code(&self, hash: &TokenHash) -> Result<Option<AuthCode>>;
}

/// The Business Manager world: businesses, people and system users, apps and their installations, pages and roles.
#[async_trait]
pub trait Directory: Send + Sync {
    /// Allocates a fresh Graph id (shared by businesses, users, apps and pages), unique across replicas.
    async fn next_id(&self) -> Result<u64>;
    async fn get_business(&self, id: BusinessId) -> Result<Option<Business>>;
    /// The child businesses of `parent` (`/{business}/owned_businesses`), by id.
    async fn list_child_businesses(&self, parent: BusinessId) -> Result<Vec<Business>>;
    async fn get_user(&self, id: UserId) -> Result<Option<User>>;
    /// System users of a business, in creation order.
    async fn list_system_users(&self, business: BusinessId) -> Result<Vec<User>>;
    async fn get_password_hash(&self, user: UserId) -> Result<Option<String>>;
    /// Shared, like [`Tokens::get_token`]: looked up on every authenticated request.
    async fn get_app(&self, id: AppId) -> Result<Option<Arc<StoredApp>>>;
    async fn is_installed(&self, su: UserId, app: AppId) -> Result<bool>;
    /// The app-scoped id of system user `su` for `app`, allocating it on first use.
    async fn app_scoped_id(&self, app: AppId, su: UserId) -> Result<UserId>;
    /// Resolves an app-scoped id back to (app, system user).
    async fn resolve_app_scoped_id(&self, id: UserId) -> Result<Option<(AppId, UserId)>>;
    async fn get_page(&self, id: PageId) -> Result<Option<Page>>;
    /// Pages owned by a business, by id.
    async fn list_business_pages(&self, business: BusinessId) -> Result<Vec<Page>>;
    async fn get_page_role(&self, page: PageId, user: UserId) -> Result<Option<PageRole>>;
    /// Roles on a page, by user id.
    async fn list_page_roles(&self, page: PageId) -> Result<Vec<PageRole>>;
    /// The pages a user has a role on, with the role, by page id.
    async fn list_user_pages(&self, user: UserId) -> Result<Vec<(Page, PageRole)>>;
    /// What `user` has told `app` on the consent page (empty if nothing). Not cached: a removal must be in force
    /// at once on every replica.
    async fn get_authorization(&self, user: UserId, app: AppId) -> Result<Authorization>;
}

/// The append-only audit log, read side (entries are written by [`Writes::execute`], with their write).
#[async_trait]
pub trait AuditLog: Send + Sync {
    /// The newest `limit` entries, oldest first.
    async fn audit_tail(&self, limit: i64) -> Result<Vec<AuditEntry>>;
}

/// What the operator (control plane) and the cache need of the store as a whole.
#[async_trait]
pub trait Operator: Send + Sync {
    /// Seconds added to the wall clock by the control plane.
    async fn clock_offset(&self) -> Result<i64>;
    /// One consistent snapshot, deterministically ordered (so two dumps compare equal when nothing changed): objects
    /// by id, installs and page roles by their key pair, tokens oldest first then by hash.
    async fn dump(&self) -> Result<Dump>;
    /// The whole state but the audit log, in one read snapshot, for [`Write::Restore`].
    async fn snapshot(&self) -> Result<Snapshot>;
    /// Changes made by other processes sharing this database, for caches to drop stale entries. `None` for a
    /// backend only one process uses (SQLite). Each call starts a new subscription.
    fn subscribe(&self) -> Option<tokio::sync::mpsc::UnboundedReceiver<Invalidation>> {
        None
    }
}

/// The one way to change the store.
#[async_trait]
pub trait Writes: Send + Sync {
    /// Runs `write` and appends `audit` in one transaction, durable before it returns. A backend shared by several
    /// processes also announces `write.stale()` to them at commit. The transaction may be shared with other writes
    /// queued at the same time (group commit): this write's outcome is still exactly what it would be alone.
    ///
    /// Callers must not cancel this halfway (drop its future while it is pending): a transaction abandoned
    /// mid-flight can leave a backend connection unusable, and the invalidation that follows a commit would be
    /// lost. [`CachedStore`], which the server always uses, runs each write and its invalidation on a task of their
    /// own for exactly this reason.
    async fn execute(&self, write: &Write, audit: &AuditEntry) -> Result<Written>;
}

/// The whole storage contract: every part, as the server uses it.
pub trait Store: Tokens + Directory + AuditLog + Operator + Writes + 'static {}
impl<T: Tokens + Directory + AuditLog + Operator + Writes + 'static> Store for T {}

//! The use cases of suat: one function per thing a caller can do (install, generate, refresh, revoke, revoke-all,
//! debug, page tokens, the code exchange, the operator's calls, seeding), typed in and out, between HTTP
//! (`suat-server`, which only translates) and storage (`suat-store`). Each use case gathers the objects it needs,
//! asks `suat_core` whether the rules allow it, and runs at most one [`Write`](suat_store::Write).
//!
//! No HTTP here: what a caller presented (token, appsecret_proof) arrives as [`caller::Presented`], and every
//! failure is an [`Error`] the server turns into a Graph envelope.

pub mod caller;
pub mod consent;
pub mod console;
pub mod failures;
pub mod limits;
pub mod objects;
pub mod operator;
pub mod pages;
pub mod permissions;
pub mod seed;
pub mod system_users;
pub mod tokens;

use hmac::{Hmac, Mac};
use sha2::Sha256;
use std::{collections::HashMap, sync::Arc};
use suat_core::{crypto::SecretBox, AppId, AppSecret, CoreError, TokenKey, TokenProblem};
use suat_store::{prelude::*, CachedStore, StoreError};

/// Why a use case did not happen. Nothing was written.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A rule of the domain said no (the Graph error the caller gets).
    #[error(transparent)]
    Rule(#[from] CoreError),
    /// Storage refused or failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A server fault (e.g. the master key does not open a stored secret): no detail for the client.
    #[error("internal error: {0}")]
    Internal(&'static str),
}

impl From<TokenProblem> for Error {
    fn from(p: TokenProblem) -> Error {
        Error::Rule(CoreError::Token(p))
    }
}

impl Error {
    /// `(#100) ...`: a parameter or object problem.
    pub fn param(message: impl std::fmt::Display) -> Error {
        Error::Rule(CoreError::InvalidParameter(message.to_string()))
    }
}

pub type Result<T> = std::result::Result<T, Error>;

/// The keys derived from the master key: one hashes tokens, one seals app secrets, one chains the audit log.
/// Deriving all from one master means one secret to manage and share between replicas (`SUAT_MASTER_KEY`).
#[derive(Clone, Debug)]
pub struct Keys {
    pub token: TokenKey,
    pub secrets: SecretBox,
    /// The SQLite store's audit chain (`suat_core::audit`); `suat audit verify` derives it the same way.
    pub audit: suat_core::audit::ChainKey,
}

impl Keys {
    pub fn from_master(master: &[u8; 32]) -> Keys {
        let derive = |label: &[u8]| -> [u8; 32] {
            let mut m = Hmac::<Sha256>::new_from_slice(master).expect("any key length");
            m.update(label);
            m.finalize().into_bytes().into()
        };
        Keys {
            token: TokenKey::new(derive(b"suat token hash v1")),
            secrets: SecretBox::new(&derive(b"suat secret box v1")),
            audit: suat_core::audit::ChainKey::new(derive(b"suat audit chain v1")),
        }
    }
}

/// Everything the use cases need: the store behind its cache, the keys, and the clock.
pub struct Service {
    /// The store behind its read cache: every read and write of a use case goes through it.
    pub store: Arc<dyn Store>,
    /// The same cache, for the clock offset every request reads.
    pub cache: Arc<CachedStore>,
    pub keys: Keys,
    /// Opened app secrets, keyed by app and tied to the exact cached `StoredApp` they came from: a reset secret
    /// arrives as a new `Arc` from the store cache, so a stale entry can never match (the held `Arc` prevents reuse of
    /// its address).
    opened: std::sync::RwLock<HashMap<AppId, (Arc<StoredApp>, AppSecret)>>,
    /// The state right after `--seed` was applied at start-up, which `POST /_suat/reset` returns to; `None` when the
    /// server was started without a seed (reset then empties the store).
    pub(crate) seeded: std::sync::RwLock<Option<Arc<suat_store::Snapshot>>>,
    /// The wall clock the control-plane offset is added to: the system clock, or a fixed instant for tests that
    /// compare issue and expiry times byte for byte (a second ticking between two calls would otherwise move them).
    wall: WallClock,
    /// Rate-limit counters and quotas of this process (GRAPH-WIRE §8); the server replaces the defaults with its
    /// configured ones.
    pub limits: limits::Limiter,
    /// Sign-in throttle records and the bounded pool password checks run in.
    pub signin: consent::SignInGuard,
    /// Windows of the failed-authentication audit (one entry per reason, actor and window).
    pub failures: failures::FailureLog,
}

/// Unix seconds "now" before the control-plane offset.
pub type WallClock = Arc<dyn Fn() -> i64 + Send + Sync>;

/// The system clock.
pub fn system_wall_clock() -> WallClock {
    Arc::new(|| {
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs() as i64).unwrap_or(0)
    })
}

/// Token records the read cache holds by default (`suat serve --cache-tokens`): bounds memory however many tokens
/// are live. A cached token costs about 200 bytes of RSS (see `suat_store::cache`), and the cache grows only with
/// the tokens in use, so a million live tokens in use stay cached in some 200 MB.
pub const CACHE_CAPACITY: usize = 1_000_000;

impl Service {
    /// Wraps `store` in the read cache the server uses, holding up to [`CACHE_CAPACITY`] tokens.
    pub async fn new(store: Arc<dyn Store>, keys: Keys) -> Result<Service> {
        Self::with_cache(store, keys, CACHE_CAPACITY).await
    }

    /// Wraps `store` in a read cache holding up to `cache_tokens` token records.
    pub async fn with_cache(store: Arc<dyn Store>, keys: Keys, cache_tokens: usize) -> Result<Service> {
        let cache = CachedStore::new(store, cache_tokens).await?;
        Ok(Service {
            store: cache.clone() as Arc<dyn Store>,
            cache,
            keys,
            opened: Default::default(),
            seeded: Default::default(),
            wall: system_wall_clock(),
            limits: limits::Limiter::new(Default::default()),
            signin: Default::default(),
            failures: Default::default(),
        })
    }

    /// Replaces the wall clock (see [`WallClock`]); the control-plane offset still applies on top.
    pub fn set_wall_clock(&mut self, wall: WallClock) {
        self.wall = wall;
    }

    /// The server's notion of now (unix seconds): wall clock plus the control-plane offset.
    pub fn now(&self) -> i64 {
        (self.wall)() + self.cache.clock_offset_now()
    }

    /// Associated data binding a sealed secret to its app.
    fn secret_aad(app: AppId) -> Vec<u8> {
        format!("app:{app}").into_bytes()
    }

    pub(crate) fn seal_secret(&self, app: AppId, secret: &AppSecret) -> Vec<u8> {
        self.keys.secrets.seal(&mut rand::rngs::OsRng, &Self::secret_aad(app), secret.expose().as_bytes())
    }

    /// An app's secret in the clear, opened once per stored version of the app.
    pub fn app_secret(&self, app: &Arc<StoredApp>) -> Result<AppSecret> {
        if let Some((held, secret)) = self.opened.read().expect("secret cache lock").get(&app.app.id) {
            if Arc::ptr_eq(held, app) {
                return Ok(secret.clone());
            }
        }
        let secret = self.open_secret(app)?;
        let mut map = self.opened.write().expect("secret cache lock");
        if map.len() > 10_000 {
            map.clear();
        }
        map.insert(app.app.id, (app.clone(), secret.clone()));
        Ok(secret)
    }

    /// Decrypts an app's secret. Failure means the master key does not match the database: a server fault.
    fn open_secret(&self, app: &StoredApp) -> Result<AppSecret> {
        let plain = self.keys.secrets.open(&Self::secret_aad(app.app.id), &app.sealed_secret).map_err(|_| {
            tracing::error!(app = %app.app.id, "cannot open app secret: wrong master key or tampered row");
            Error::Internal("cannot open an app secret")
        })?;
        String::from_utf8(plain).map(AppSecret::new).map_err(|_| Error::Internal("app secret is not UTF-8"))
    }

    /// Runs one write with its audit entry.
    pub(crate) async fn write(&self, w: Write, audit: AuditEntry) -> Result<Written> {
        // Every token (or the dialog's code) minted through a use case counts against its app's allowance, so a
        // runaway client is refused (code 4) before it fills the disk. Operator-issued tokens (control plane, seed)
        // do not come through here.
        if let ("issue" | "refresh" | "authorize", Some(app)) = (audit.action.as_str(), audit.app_id) {
            self.limits.mint(app, audit.at)?;
        }
        let written = self.store.execute(&w, &audit).await?;
        // Counted from the audit action, once committed: the server exports these as Prometheus counters.
        let counter = match audit.action.as_str() {
            "issue" => "suat_tokens_issued_total",
            "refresh" => "suat_tokens_refreshed_total",
            "revoke" | "revoke_all" => "suat_tokens_revoked_total",
            _ => return Ok(written),
        };
        metrics::counter!(counter).increment(1);
        Ok(written)
    }

    /// How the audit log names a token (the first 16 hex characters of its keyed hash): the request journal uses it
    /// too, so a journal entry and an audit line can be matched without either holding the token.
    pub fn token_ref(&self, token: &str) -> String {
        self.hash(token).reference()
    }

    /// A token's keyed hash: the only form in which the store ever sees it. Within [`one_request`] the last two
    /// are remembered: the journal, the fault rules and the use case all look at the same presented tokens (the
    /// caller's, and `debug_token`'s input).
    pub(crate) fn hash(&self, token: &str) -> suat_core::TokenHash {
        HASHED
            .try_with(|memo| {
                let mut memo = memo.borrow_mut();
                // Plain equality is fine here: both sides are what this same request presented, nothing stored.
                if let Some((_, h)) = memo.iter().flatten().find(|(t, _)| t == token) {
                    return *h;
                }
                let h = self.keys.token.hash(token);
                memo.rotate_right(1);
                memo[0] = Some((token.to_owned(), h));
                h
            })
            .unwrap_or_else(|_| self.keys.token.hash(token))
    }
}

/// The tokens hashed last in one request, newest first, with their hashes.
type Hashed = [Option<(String, suat_core::TokenHash)>; 2];

tokio::task_local! {
    /// See [`Service::hash`].
    static HASHED: std::cell::RefCell<Hashed>;
}

/// Runs one request with its own memory of the tokens it hashed last, dropped when the request ends.
pub async fn one_request<F: std::future::Future>(f: F) -> F::Output {
    HASHED.scope(std::cell::RefCell::new([None, None]), f).await
}

/// Actor label for the audit log: a user id, or `app:<id>` for app tokens.
pub(crate) fn actor(user: Option<suat_core::UserId>, app: AppId) -> String {
    match user {
        Some(u) => u.to_string(),
        None => format!("app:{app}"),
    }
}

//! A read-through cache in front of any [`Store`], so the authenticated hot path (token, app, user, installation,
//! page role, clock) is answered from memory.
//!
//! Correctness rests on invalidation, never on expiry:
//! - every write made through this wrapper drops the entries it affects before it returns, so a revocation is
//!   immediate on the replica that performed it;
//! - other replicas' writes arrive as [`Invalidation`] events from the backend (PostgreSQL LISTEN/NOTIFY, sent in
//!   the writing transaction, so delivered at commit); while the event stream is down the cache is bypassed and
//!   cleared, so a missed event can never leave a revoked token usable.
//!
//! Only positive lookups are cached (a token that does not exist yet is always read from the database), and each
//! map is bounded: when a shard is full it is cleared, which costs a few reads and keeps memory flat with 1e6 tokens.

use crate::{AuditEntry, Dump, Result, Store, StoredApp};
use async_trait::async_trait;
use std::{
    collections::HashMap,
    hash::{BuildHasher, Hash},
    sync::{
        atomic::{AtomicBool, AtomicI64, AtomicU64, Ordering},
        Arc, RwLock,
    },
};
use suat_core::{
    oauth::AuthCode,
    page::{Page, PageRole},
    AppId, Business, BusinessId, PageId, TokenHash, TokenRecord, User, UserId,
};

/// What another replica changed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Invalidation {
    Token(TokenHash),
    /// Many tokens changed at once (revoke-all): drop every cached token.
    AllTokens,
    User(UserId),
    App(AppId),
    Install(UserId, AppId),
    PageRole(PageId, UserId),
    Clock,
    /// Anything may have changed (reset, or events were lost while reconnecting).
    All,
    /// The event stream is down: stop trusting the cache until `Connected`.
    Disconnected,
    Connected,
}

impl Invalidation {
    /// The NOTIFY payload form.
    pub fn encode(&self) -> String {
        match self {
            Invalidation::Token(h) => format!("t:{}", h.to_hex()),
            Invalidation::AllTokens => "T".into(),
            Invalidation::User(u) => format!("u:{u}"),
            Invalidation::App(a) => format!("a:{a}"),
            Invalidation::Install(u, a) => format!("i:{u}:{a}"),
            Invalidation::PageRole(p, u) => format!("r:{p}:{u}"),
            Invalidation::Clock => "c".into(),
            Invalidation::All | Invalidation::Disconnected | Invalidation::Connected => "*".into(),
        }
    }

    /// Parses a payload; anything unknown is treated as "everything changed".
    pub fn decode(s: &str) -> Invalidation {
        Self::parse(s).unwrap_or(Invalidation::All)
    }

    fn parse(s: &str) -> Option<Invalidation> {
        let mut parts = s.split(':');
        let tag = parts.next().unwrap_or("");
        let a = parts.next();
        let b = parts.next();
        match (tag, a, b) {
            ("t", Some(h), None) => {
                hex::decode(h).ok().and_then(|v| TokenHash::from_slice(&v)).map(Invalidation::Token)
            }
            ("T", None, None) => Some(Invalidation::AllTokens),
            ("u", Some(u), None) => u.parse().ok().map(Invalidation::User),
            ("a", Some(x), None) => x.parse().ok().map(Invalidation::App),
            ("i", Some(u), Some(x)) => Some(Invalidation::Install(u.parse().ok()?, x.parse().ok()?)),
            ("r", Some(p), Some(u)) => Some(Invalidation::PageRole(p.parse().ok()?, u.parse().ok()?)),
            ("c", None, None) => Some(Invalidation::Clock),
            _ => None,
        }
    }
}

const SHARDS: usize = 16;

/// A bounded map split into shards, each behind its own lock; a full shard is cleared.
///
/// `epoch` counts invalidations. A reader notes it before going to the database and caches what it read only if no
/// invalidation happened meanwhile: otherwise a read that raced a revocation could put the pre-revocation row back
/// after the writer removed it.
struct Map<K, V> {
    shards: Vec<RwLock<HashMap<K, V>>>,
    per_shard: usize,
    hasher: std::collections::hash_map::RandomState,
    epoch: AtomicU64,
}

impl<K: Hash + Eq + Clone, V: Clone> Map<K, V> {
    fn new(capacity: usize) -> Self {
        Map {
            shards: (0..SHARDS).map(|_| RwLock::new(HashMap::new())).collect(),
            per_shard: (capacity / SHARDS).max(16),
            hasher: Default::default(),
            epoch: AtomicU64::new(0),
        }
    }
    fn stamp(&self) -> u64 {
        self.epoch.load(Ordering::Acquire)
    }
    fn shard(&self, k: &K) -> &RwLock<HashMap<K, V>> {
        &self.shards[(self.hasher.hash_one(k) as usize) % SHARDS]
    }
    fn get(&self, k: &K) -> Option<V> {
        self.shard(k).read().expect("cache lock").get(k).cloned()
    }
    /// Caches `v` unless an invalidation happened since `stamp` was taken.
    fn put(&self, k: K, v: V, stamp: u64) {
        let mut m = self.shard(&k).write().expect("cache lock");
        if self.epoch.load(Ordering::Acquire) != stamp {
            return;
        }
        if m.len() >= self.per_shard {
            m.clear();
        }
        m.insert(k, v);
    }
    fn remove(&self, k: &K) {
        let mut m = self.shard(k).write().expect("cache lock");
        self.epoch.fetch_add(1, Ordering::AcqRel);
        m.remove(k);
    }
    fn clear(&self) {
        self.epoch.fetch_add(1, Ordering::AcqRel);
        for s in &self.shards {
            s.write().expect("cache lock").clear();
        }
    }
}

/// The caching wrapper. Construct with [`CachedStore::new`]; it spawns the task that applies remote invalidations.
pub struct CachedStore {
    inner: Arc<dyn Store>,
    tokens: Map<TokenHash, Arc<TokenRecord>>,
    apps: Map<AppId, Arc<StoredApp>>,
    users: Map<UserId, User>,
    /// Businesses never change once created (only `reset` removes them), so they need no invalidation events.
    businesses: Map<BusinessId, Business>,
    installs: Map<(UserId, AppId), bool>,
    roles: Map<(PageId, UserId), Option<PageRole>>,
    clock: AtomicI64,
    /// False while the invalidation stream is down: every read goes to the database.
    trusted: AtomicBool,
}

impl CachedStore {
    /// Wraps `inner`. `capacity` bounds the token map (other maps are a tenth of it).
    pub async fn new(inner: Arc<dyn Store>, capacity: usize) -> Result<Arc<CachedStore>> {
        let clock = inner.clock_offset().await?;
        let events = inner.subscribe();
        let me = Arc::new(CachedStore {
            tokens: Map::new(capacity),
            apps: Map::new(capacity / 10),
            users: Map::new(capacity / 10),
            businesses: Map::new(capacity / 10),
            installs: Map::new(capacity / 10),
            roles: Map::new(capacity / 10),
            clock: AtomicI64::new(clock),
            trusted: AtomicBool::new(true),
            inner,
        });
        if let Some(mut rx) = events {
            let weak = Arc::downgrade(&me);
            tokio::spawn(async move {
                while let Some(ev) = rx.recv().await {
                    let Some(me) = weak.upgrade() else { break };
                    me.apply(ev).await;
                }
            });
        }
        Ok(me)
    }

    /// The clock offset as last written or announced; read on every request, so never a database round trip.
    pub fn clock_offset_now(&self) -> i64 {
        self.clock.load(Ordering::Acquire)
    }

    fn trusted(&self) -> bool {
        self.trusted.load(Ordering::Acquire)
    }

    fn clear_all(&self) {
        self.tokens.clear();
        self.apps.clear();
        self.users.clear();
        self.businesses.clear();
        self.installs.clear();
        self.roles.clear();
    }

    async fn reload_clock(&self) {
        if let Ok(c) = self.inner.clock_offset().await {
            self.clock.store(c, Ordering::Release);
        }
    }

    /// Applies one invalidation (local or remote).
    pub async fn apply(&self, ev: Invalidation) {
        match ev {
            Invalidation::Token(h) => self.tokens.remove(&h),
            Invalidation::AllTokens => self.tokens.clear(),
            Invalidation::User(u) => self.users.remove(&u),
            Invalidation::App(a) => self.apps.remove(&a),
            Invalidation::Install(u, a) => self.installs.remove(&(u, a)),
            Invalidation::PageRole(p, u) => self.roles.remove(&(p, u)),
            Invalidation::Clock => self.reload_clock().await,
            Invalidation::All => {
                self.clear_all();
                self.reload_clock().await;
            }
            Invalidation::Disconnected => {
                self.trusted.store(false, Ordering::Release);
                self.clear_all();
            }
            Invalidation::Connected => {
                self.clear_all();
                self.reload_clock().await;
                self.trusted.store(true, Ordering::Release);
            }
        }
    }
}

/// Runs a mutating call to completion on its own task. A request whose client goes away is dropped mid-await; a
/// write dropped inside its transaction would leave the connection mid-transaction (on SQLite, sqlx then refuses
/// every later `BEGIN` on that single writer connection). Detached, a write either completes or fails as a whole,
/// whoever is still waiting for it.
async fn detached<T: Send + 'static>(f: impl std::future::Future<Output = Result<T>> + Send + 'static) -> Result<T> {
    tokio::spawn(f).await.map_err(|e| crate::StoreError::Unavailable(format!("write task failed: {e}")))?
}

/// Reads through `$map` at `$key` when the cache is trusted, caching only `Some` answers.
macro_rules! read_through {
    ($self:ident, $map:ident, $key:expr, $load:expr) => {{
        let key = $key;
        if $self.trusted() {
            if let Some(v) = $self.$map.get(&key) {
                return Ok(Some(v));
            }
        }
        let stamp = $self.$map.stamp();
        let v = $load.await?;
        if let Some(found) = &v {
            if $self.trusted() {
                $self.$map.put(key, found.clone(), stamp);
            }
        }
        Ok(v)
    }};
}

#[async_trait]
impl Store for CachedStore {
    async fn next_id(&self) -> Result<u64> {
        {
            let inner = self.inner.clone();
            detached(async move { inner.next_id().await }).await
        }
    }
    async fn create_business(&self, b: &Business, audit: &AuditEntry) -> Result<()> {
        {
            let inner = self.inner.clone();
            let (b, audit) = (b.clone(), audit.clone());
            detached(async move { inner.create_business(&b, &audit).await }).await
        }
    }
    async fn get_business(&self, id: BusinessId) -> Result<Option<Business>> {
        read_through!(self, businesses, id, self.inner.get_business(id))
    }
    async fn create_user(&self, u: &User, audit: &AuditEntry) -> Result<()> {
        {
            let inner = self.inner.clone();
            let (u, audit) = (u.clone(), audit.clone());
            detached(async move { inner.create_user(&u, &audit).await }).await
        }
    }
    async fn get_user(&self, id: UserId) -> Result<Option<User>> {
        read_through!(self, users, id, self.inner.get_user(id))
    }
    async fn list_system_users(&self, business: BusinessId) -> Result<Vec<User>> {
        self.inner.list_system_users(business).await
    }
    async fn bump_session_epoch(&self, user: UserId, audit: &AuditEntry) -> Result<i64> {
        let r = {
            let inner = self.inner.clone();
            let audit = audit.clone();
            detached(async move { inner.bump_session_epoch(user, &audit).await }).await
        };
        self.users.remove(&user);
        r
    }
    async fn set_password_hash(&self, user: UserId, phc: &str, audit: &AuditEntry) -> Result<()> {
        {
            let inner = self.inner.clone();
            let (phc, audit) = (phc.to_owned(), audit.clone());
            detached(async move { inner.set_password_hash(user, &phc, &audit).await }).await
        }
    }
    async fn get_password_hash(&self, user: UserId) -> Result<Option<String>> {
        self.inner.get_password_hash(user).await
    }
    async fn create_app(&self, app: &StoredApp, audit: &AuditEntry) -> Result<()> {
        {
            let inner = self.inner.clone();
            let (app, audit) = (app.clone(), audit.clone());
            detached(async move { inner.create_app(&app, &audit).await }).await
        }
    }
    async fn get_app(&self, id: AppId) -> Result<Option<Arc<StoredApp>>> {
        read_through!(self, apps, id, self.inner.get_app(id))
    }
    async fn update_app(&self, app: &StoredApp, audit: &AuditEntry) -> Result<()> {
        let r = {
            let inner = self.inner.clone();
            let (app2, audit) = (app.clone(), audit.clone());
            detached(async move { inner.update_app(&app2, &audit).await }).await
        };
        self.apps.remove(&app.app.id);
        r
    }
    async fn install_app(&self, su: UserId, app: AppId, audit: &AuditEntry) -> Result<bool> {
        let r = {
            let inner = self.inner.clone();
            let audit = audit.clone();
            detached(async move { inner.install_app(su, app, &audit).await }).await
        };
        self.installs.remove(&(su, app));
        r
    }
    async fn uninstall_app(&self, su: UserId, app: AppId, audit: &AuditEntry) -> Result<bool> {
        let r = {
            let inner = self.inner.clone();
            let audit = audit.clone();
            detached(async move { inner.uninstall_app(su, app, &audit).await }).await
        };
        self.installs.remove(&(su, app));
        r
    }
    async fn is_installed(&self, su: UserId, app: AppId) -> Result<bool> {
        if self.trusted() {
            if let Some(v) = self.installs.get(&(su, app)) {
                return Ok(v);
            }
        }
        let stamp = self.installs.stamp();
        let v = self.inner.is_installed(su, app).await?;
        // Only "installed" is cached: an installation made on another replica must be seen at once.
        if v && self.trusted() {
            self.installs.put((su, app), v, stamp);
        }
        Ok(v)
    }
    async fn app_scoped_id(&self, app: AppId, su: UserId) -> Result<UserId> {
        {
            let inner = self.inner.clone();
            detached(async move { inner.app_scoped_id(app, su).await }).await
        }
    }
    async fn resolve_app_scoped_id(&self, id: UserId) -> Result<Option<(AppId, UserId)>> {
        self.inner.resolve_app_scoped_id(id).await
    }
    async fn create_page(&self, page: &Page, audit: &AuditEntry) -> Result<()> {
        {
            let inner = self.inner.clone();
            let (page, audit) = (page.clone(), audit.clone());
            detached(async move { inner.create_page(&page, &audit).await }).await
        }
    }
    async fn get_page(&self, id: PageId) -> Result<Option<Page>> {
        self.inner.get_page(id).await
    }
    async fn list_business_pages(&self, business: BusinessId) -> Result<Vec<Page>> {
        self.inner.list_business_pages(business).await
    }
    async fn set_page_role(&self, role: &PageRole, audit: &AuditEntry) -> Result<()> {
        let r = {
            let inner = self.inner.clone();
            let (role2, audit) = (role.clone(), audit.clone());
            detached(async move { inner.set_page_role(&role2, &audit).await }).await
        };
        self.roles.remove(&(role.page_id, role.user_id));
        r
    }
    async fn remove_page_role(&self, page: PageId, user: UserId, audit: &AuditEntry) -> Result<bool> {
        let r = {
            let inner = self.inner.clone();
            let audit = audit.clone();
            detached(async move { inner.remove_page_role(page, user, &audit).await }).await
        };
        self.roles.remove(&(page, user));
        r
    }
    async fn get_page_role(&self, page: PageId, user: UserId) -> Result<Option<PageRole>> {
        if self.trusted() {
            if let Some(Some(v)) = self.roles.get(&(page, user)) {
                return Ok(Some(v));
            }
        }
        let stamp = self.roles.stamp();
        let v = self.inner.get_page_role(page, user).await?;
        if v.is_some() && self.trusted() {
            self.roles.put((page, user), v.clone(), stamp);
        }
        Ok(v)
    }
    async fn list_page_roles(&self, page: PageId) -> Result<Vec<PageRole>> {
        self.inner.list_page_roles(page).await
    }
    async fn list_user_pages(&self, user: UserId) -> Result<Vec<(Page, PageRole)>> {
        self.inner.list_user_pages(user).await
    }
    async fn insert_code(&self, code: &AuthCode, audit: &AuditEntry) -> Result<()> {
        {
            let inner = self.inner.clone();
            let (code, audit) = (code.clone(), audit.clone());
            detached(async move { inner.insert_code(&code, &audit).await }).await
        }
    }
    async fn get_code(&self, hash: &TokenHash) -> Result<Option<AuthCode>> {
        self.inner.get_code(hash).await
    }
    async fn redeem_code(&self, hash: &TokenHash, at: i64, token: &TokenRecord, audit: &AuditEntry) -> Result<()> {
        {
            let inner = self.inner.clone();
            let (hash, token, audit) = (*hash, token.clone(), audit.clone());
            detached(async move { inner.redeem_code(&hash, at, &token, &audit).await }).await
        }
    }
    async fn insert_token(&self, rec: &TokenRecord, audit: &AuditEntry) -> Result<()> {
        {
            let inner = self.inner.clone();
            let (rec, audit) = (rec.clone(), audit.clone());
            detached(async move { inner.insert_token(&rec, &audit).await }).await
        }
    }
    async fn get_token(&self, hash: &TokenHash) -> Result<Option<Arc<TokenRecord>>> {
        read_through!(self, tokens, *hash, self.inner.get_token(hash))
    }
    async fn refresh_token(&self, new: &TokenRecord, audit: &AuditEntry) -> Result<()> {
        {
            let inner = self.inner.clone();
            let (new, audit) = (new.clone(), audit.clone());
            detached(async move { inner.refresh_token(&new, &audit).await }).await
        }
    }
    async fn revoke_token(&self, hash: &TokenHash, at: i64, audit: &AuditEntry) -> Result<bool> {
        let r = {
            let inner = self.inner.clone();
            let (hash2, audit) = (*hash, audit.clone());
            detached(async move { inner.revoke_token(&hash2, at, &audit).await }).await
        };
        self.tokens.remove(hash);
        r
    }
    async fn revoke_all_for_user(&self, user: UserId, at: i64, audit: &AuditEntry) -> Result<u64> {
        let r = {
            let inner = self.inner.clone();
            let audit = audit.clone();
            detached(async move { inner.revoke_all_for_user(user, at, &audit).await }).await
        };
        self.tokens.clear();
        r
    }
    async fn append_audit(&self, audit: &AuditEntry) -> Result<()> {
        {
            let inner = self.inner.clone();
            let audit = audit.clone();
            detached(async move { inner.append_audit(&audit).await }).await
        }
    }
    async fn audit_tail(&self, limit: i64) -> Result<Vec<AuditEntry>> {
        self.inner.audit_tail(limit).await
    }
    async fn clock_offset(&self) -> Result<i64> {
        Ok(self.clock_offset_now())
    }
    async fn set_clock_offset(&self, offset: i64, audit: &AuditEntry) -> Result<()> {
        {
            let inner = self.inner.clone();
            let audit = audit.clone();
            detached(async move { inner.set_clock_offset(offset, &audit).await }).await
        }?;
        self.clock.store(offset, Ordering::Release);
        Ok(())
    }
    async fn reset(&self, audit: &AuditEntry) -> Result<()> {
        let r = {
            let inner = self.inner.clone();
            let audit = audit.clone();
            detached(async move { inner.reset(&audit).await }).await
        };
        self.clear_all();
        self.reload_clock().await;
        r
    }
    async fn dump(&self) -> Result<Dump> {
        self.inner.dump().await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn payloads_round_trip_and_unknown_means_all() {
        for ev in [
            Invalidation::Token(TokenHash([7; 32])),
            Invalidation::AllTokens,
            Invalidation::User(UserId(5)),
            Invalidation::App(AppId(6)),
            Invalidation::Install(UserId(1), AppId(2)),
            Invalidation::PageRole(PageId(3), UserId(4)),
            Invalidation::Clock,
        ] {
            assert_eq!(Invalidation::decode(&ev.encode()), ev);
        }
        assert_eq!(Invalidation::decode("zz:1"), Invalidation::All);
        assert_eq!(Invalidation::decode("t:nothex"), Invalidation::All);
    }

    #[test]
    fn bounded_map_clears_a_full_shard() {
        let m: Map<u64, u64> = Map::new(16 * 16);
        for i in 0..10_000 {
            m.put(i, i, m.stamp());
        }
        let total: usize = m.shards.iter().map(|s| s.read().unwrap().len()).sum();
        assert!(total <= 16 * 16, "{total}");
        m.put(1, 2, m.stamp());
        assert_eq!(m.get(&1), Some(2));
        m.remove(&1);
        assert_eq!(m.get(&1), None);
    }

    #[test]
    fn a_read_that_raced_an_invalidation_is_not_cached() {
        let m: Map<u64, &str> = Map::new(1024);
        let stamp = m.stamp(); // reader notes the epoch, then reads the database (sees "live")
        m.remove(&7); // meanwhile the writer revokes and invalidates
        m.put(7, "live", stamp); // the stale read must not land
        assert_eq!(m.get(&7), None);
        m.put(7, "revoked", m.stamp());
        assert_eq!(m.get(&7), Some("revoked"));
    }
}

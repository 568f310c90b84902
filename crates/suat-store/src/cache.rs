//! A read-through cache in front of any [`Store`], so the authenticated hot path (token, app, user, installation,
//! page role, clock) is answered from memory.
//!
//! Correctness rests on invalidation, never on expiry:
//! - every write made through this wrapper drops the entries it affects ([`crate::Write::stale`]) on the task that
//!   runs it, right after commit and before the caller hears back, so a revocation is immediate on the replica that
//!   performed it even if the client that asked for it has gone;
//! - other replicas' writes arrive as [`Invalidation`] events from the backend (PostgreSQL LISTEN/NOTIFY, sent in
//!   the writing transaction, so delivered at commit); while the event stream is down the cache is bypassed and
//!   cleared, so a missed event can never leave a revoked token usable.
//!
//! Only positive lookups are cached (a token that does not exist yet is always read from the database), and each
//! map is bounded: when a shard is full it is cleared, which costs a few reads and keeps memory flat with 1e6 tokens.

use crate::{
    AuditEntry, AuditLog, Directory, Dump, Operator, Result, Store, StoreError, StoredApp, Tokens, Write, Writes,
    Written,
};
use async_trait::async_trait;
use std::{
    collections::HashMap,
    hash::{BuildHasher, Hash},
    sync::{
        atomic::{AtomicBool, AtomicI64, AtomicU64, AtomicUsize, Ordering},
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
/// after the writer removed it. `writing` counts local writes in flight on this map: from the moment a write starts
/// until its invalidation is done nothing is cached, so once a write has committed no reader can find a cached
/// value from before it, not even in the instant between the commit and the invalidation that follows it.
struct Map<K, V> {
    shards: Vec<RwLock<HashMap<K, V>>>,
    per_shard: usize,
    hasher: std::collections::hash_map::RandomState,
    epoch: AtomicU64,
    writing: AtomicUsize,
}

impl<K: Hash + Eq + Clone, V: Clone> Map<K, V> {
    fn new(capacity: usize) -> Self {
        Map {
            shards: (0..SHARDS).map(|_| RwLock::new(HashMap::new())).collect(),
            per_shard: (capacity / SHARDS).max(16),
            hasher: Default::default(),
            epoch: AtomicU64::new(0),
            writing: AtomicUsize::new(0),
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
    /// Caches `v` unless an invalidation happened since `stamp` was taken or a local write is in flight.
    fn put(&self, k: K, v: V, stamp: u64) {
        let mut m = self.shard(&k).write().expect("cache lock");
        if self.epoch.load(Ordering::Acquire) != stamp || self.writing.load(Ordering::Acquire) != 0 {
            return;
        }
        if m.len() >= self.per_shard {
            m.clear();
        }
        m.insert(k, v);
    }
    /// Drops `k` (all of the map when `None`).
    fn invalidate(&self, k: Option<&K>) {
        match k {
            Some(k) => {
                let mut m = self.shard(k).write().expect("cache lock");
                self.epoch.fetch_add(1, Ordering::AcqRel);
                m.remove(k);
            }
            None => {
                self.epoch.fetch_add(1, Ordering::AcqRel);
                for s in &self.shards {
                    s.write().expect("cache lock").clear();
                }
            }
        }
    }
    fn remove(&self, k: &K) {
        self.invalidate(Some(k))
    }
    fn clear(&self) {
        self.invalidate(None)
    }
    /// A local write that makes `k` (or everything) stale is starting: drop it and cache nothing until it ends.
    fn begin_write(&self, k: Option<&K>) {
        // Counted before the removal, so a reader that missed the removal cannot cache afterwards.
        self.writing.fetch_add(1, Ordering::AcqRel);
        self.invalidate(k);
    }
    fn end_write(&self, k: Option<&K>) {
        self.invalidate(k);
        self.writing.fetch_sub(1, Ordering::AcqRel);
    }
}

/// The caching wrapper. Construct with [`CachedStore::new`]; it spawns the task that applies remote invalidations.
/// Cloning it is cheap and every clone shares one cache.
#[derive(Clone)]
pub struct CachedStore(Arc<Shared>);

struct Shared {
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
        let shared = Arc::new(Shared {
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
            let weak = Arc::downgrade(&shared);
            tokio::spawn(async move {
                while let Some(ev) = rx.recv().await {
                    let Some(me) = weak.upgrade() else { break };
                    me.apply(ev).await;
                }
            });
        }
        Ok(Arc::new(CachedStore(shared)))
    }

    /// The clock offset as last written or announced; read on every request, so never a database round trip.
    pub fn clock_offset_now(&self) -> i64 {
        self.0.clock.load(Ordering::Acquire)
    }

    /// Applies one invalidation (local or remote).
    pub async fn apply(&self, ev: Invalidation) {
        self.0.apply(ev).await
    }
}

impl Shared {
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

    /// The map and key an invalidation names, with `f` applied to it (`None` key: the whole map).
    fn each_entry(&self, ev: &Invalidation, f: Edge) {
        match ev {
            Invalidation::Token(h) => f.on(&self.tokens, Some(h)),
            Invalidation::AllTokens => f.on(&self.tokens, None),
            Invalidation::User(u) => f.on(&self.users, Some(u)),
            Invalidation::App(a) => f.on(&self.apps, Some(a)),
            Invalidation::Install(u, a) => f.on(&self.installs, Some(&(*u, *a))),
            Invalidation::PageRole(p, u) => f.on(&self.roles, Some(&(*p, *u))),
            Invalidation::All => {
                f.on(&self.tokens, None);
                f.on(&self.apps, None);
                f.on(&self.users, None);
                f.on(&self.businesses, None);
                f.on(&self.installs, None);
                f.on(&self.roles, None);
            }
            Invalidation::Clock | Invalidation::Disconnected | Invalidation::Connected => {}
        }
    }

    async fn apply(&self, ev: Invalidation) {
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

/// Which side of a local write an entry is being dropped on.
#[derive(Clone, Copy)]
enum Edge {
    Begin,
    End,
}

impl Edge {
    fn on<K: Hash + Eq + Clone, V: Clone>(self, map: &Map<K, V>, k: Option<&K>) {
        match self {
            Edge::Begin => map.begin_write(k),
            Edge::End => map.end_write(k),
        }
    }
}

/// Ends a local write's hold on the entries it makes stale when dropped, so even a write task that panics cannot
/// leave a map refusing to cache forever.
struct Holding<'a> {
    shared: &'a Shared,
    stale: &'a [Invalidation],
}

impl Drop for Holding<'_> {
    fn drop(&mut self) {
        for ev in self.stale {
            self.shared.each_entry(ev, Edge::End);
        }
    }
}

/// Reads through `$map` at `$key` when the cache is trusted, caching only `Some` answers.
macro_rules! read_through {
    ($self:ident, $map:ident, $key:expr, $load:expr) => {{
        let me = &$self.0;
        let key = $key;
        if me.trusted() {
            if let Some(v) = me.$map.get(&key) {
                return Ok(Some(v));
            }
        }
        let stamp = me.$map.stamp();
        let v = $load.await?;
        if let Some(found) = &v {
            if me.trusted() {
                me.$map.put(key, found.clone(), stamp);
            }
        }
        Ok(v)
    }};
}

#[async_trait]
impl Writes for CachedStore {
    /// Runs the write, then drops the entries it made stale, both on a task of their own. A request whose client
    /// goes away is dropped mid-await; detached, the write either completes or fails as a whole (a write dropped
    /// inside its transaction would leave the connection mid-transaction), and a committed write is always followed
    /// by its invalidation, whoever is still waiting for the answer.
    async fn execute(&self, write: &Write, audit: &AuditEntry) -> Result<Written> {
        let (me, write, audit) = (self.0.clone(), write.clone(), audit.clone());
        tokio::spawn(async move {
            let stale = write.stale();
            for ev in &stale {
                me.each_entry(ev, Edge::Begin);
            }
            // The clock is one number read on every request, with no database to fall back on: a move is in force
            // from its start, and the value reloaded after the write is the truth if it failed.
            match &write {
                Write::SetClockOffset(o) => me.clock.store(*o, Ordering::Release),
                Write::Reset => me.clock.store(0, Ordering::Release),
                Write::Restore(s) => me.clock.store(s.clock_offset, Ordering::Release),
                _ => {}
            }
            let holding = Holding { shared: &me, stale: &stale };
            let outcome = me.inner.execute(&write, &audit).await;
            // Also after a failure: an error may come after the commit (a lost connection), and a needless drop
            // costs one read.
            drop(holding);
            for ev in &stale {
                if matches!(ev, Invalidation::Clock | Invalidation::All) {
                    me.reload_clock().await;
                }
            }
            outcome
        })
        .await
        .map_err(|e| StoreError::Unavailable(format!("write task failed: {e}")))?
    }
}

#[async_trait]
impl Tokens for CachedStore {
    async fn get_token(&self, hash: &TokenHash) -> Result<Option<Arc<TokenRecord>>> {
        read_through!(self, tokens, *hash, self.0.inner.get_token(hash))
    }
    async fn get_code(&self, hash: &TokenHash) -> Result<Option<AuthCode>> {
        self.0.inner.get_code(hash).await
    }
}

#[async_trait]
impl Directory for CachedStore {
    async fn next_id(&self) -> Result<u64> {
        let inner = self.0.inner.clone();
        tokio::spawn(async move { inner.next_id().await })
            .await
            .map_err(|e| StoreError::Unavailable(format!("write task failed: {e}")))?
    }
    async fn get_business(&self, id: BusinessId) -> Result<Option<Business>> {
        read_through!(self, businesses, id, self.0.inner.get_business(id))
    }
    async fn list_child_businesses(&self, parent: BusinessId) -> Result<Vec<Business>> {
        self.0.inner.list_child_businesses(parent).await
    }
    async fn get_user(&self, id: UserId) -> Result<Option<User>> {
        read_through!(self, users, id, self.0.inner.get_user(id))
    }
    async fn list_system_users(&self, business: BusinessId) -> Result<Vec<User>> {
        self.0.inner.list_system_users(business).await
    }
    async fn get_password_hash(&self, user: UserId) -> Result<Option<String>> {
        self.0.inner.get_password_hash(user).await
    }
    async fn get_app(&self, id: AppId) -> Result<Option<Arc<StoredApp>>> {
        read_through!(self, apps, id, self.0.inner.get_app(id))
    }
    async fn is_installed(&self, su: UserId, app: AppId) -> Result<bool> {
        let me = &self.0;
        if me.trusted() {
            if let Some(v) = me.installs.get(&(su, app)) {
                return Ok(v);
            }
        }
        let stamp = me.installs.stamp();
        let v = me.inner.is_installed(su, app).await?;
        // Only "installed" is cached: an installation made on another replica must be seen at once.
        if v && me.trusted() {
            me.installs.put((su, app), v, stamp);
        }
        Ok(v)
    }
    async fn app_scoped_id(&self, app: AppId, su: UserId) -> Result<UserId> {
        let inner = self.0.inner.clone();
        tokio::spawn(async move { inner.app_scoped_id(app, su).await })
            .await
            .map_err(|e| StoreError::Unavailable(format!("write task failed: {e}")))?
    }
    async fn resolve_app_scoped_id(&self, id: UserId) -> Result<Option<(AppId, UserId)>> {
        self.0.inner.resolve_app_scoped_id(id).await
    }
    async fn get_authorization(&self, user: UserId, app: AppId) -> Result<suat_core::oauth::Authorization> {
        self.0.inner.get_authorization(user, app).await
    }
    async fn get_page(&self, id: PageId) -> Result<Option<Page>> {
        self.0.inner.get_page(id).await
    }
    async fn list_business_pages(&self, business: BusinessId) -> Result<Vec<Page>> {
        self.0.inner.list_business_pages(business).await
    }
    async fn get_page_role(&self, page: PageId, user: UserId) -> Result<Option<PageRole>> {
        let me = &self.0;
        if me.trusted() {
            if let Some(Some(v)) = me.roles.get(&(page, user)) {
                return Ok(Some(v));
            }
        }
        let stamp = me.roles.stamp();
        let v = me.inner.get_page_role(page, user).await?;
        if v.is_some() && me.trusted() {
            me.roles.put((page, user), v.clone(), stamp);
        }
        Ok(v)
    }
    async fn list_page_roles(&self, page: PageId) -> Result<Vec<PageRole>> {
        self.0.inner.list_page_roles(page).await
    }
    async fn list_user_pages(&self, user: UserId) -> Result<Vec<(Page, PageRole)>> {
        self.0.inner.list_user_pages(user).await
    }
}

#[async_trait]
impl AuditLog for CachedStore {
    async fn audit_tail(&self, limit: i64) -> Result<Vec<AuditEntry>> {
        self.0.inner.audit_tail(limit).await
    }
}

#[async_trait]
impl Operator for CachedStore {
    async fn clock_offset(&self) -> Result<i64> {
        Ok(self.clock_offset_now())
    }
    async fn dump(&self) -> Result<Dump> {
        self.0.inner.dump().await
    }
    async fn snapshot(&self) -> Result<crate::Snapshot> {
        self.0.inner.snapshot().await
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

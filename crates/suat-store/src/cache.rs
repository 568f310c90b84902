//! A read-through cache in front of any [`Store`], so the authenticated hot path (token, app, user, installation,
//! page role, a person's answers to the app, clock) is answered from memory.
//!
//! Correctness rests on invalidation, never on expiry:
//! - every write made through this wrapper drops the entries it affects ([`crate::Write::stale`]) on the task that
//!   runs it, right after commit and before the caller hears back, so a revocation is immediate on the replica that
//!   performed it even if the client that asked for it has gone;
//! - other replicas' writes arrive as [`Invalidation`] events from the backend (PostgreSQL LISTEN/NOTIFY, sent in
//!   the writing transaction, so delivered at commit); while the event stream is down the cache is bypassed and
//!   cleared, so a missed event can never leave a revoked token usable.
//!
//! Only positive lookups are cached: a token that does not exist yet is always read from the database. A person's
//! answers to an app are the exception, as every change to them is announced. Each map is bounded: when a shard is
//! full, the entries not read since its last sweep are dropped (second chance), so memory stays flat however many
//! tokens are live.
//!
//! Token records are held compactly ([`CachedToken`]: no hash beside the key, no allocation of their own, scope
//! lists shared): 128 bytes a slot, about 150 with the table's own overhead; the server's RSS grew by about 200
//! bytes a token with a million of them cached (bench/notes.md), to some 220 MB in all.

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
    oauth::{AuthCode, Authorization},
    page::{Page, PageRole},
    AppId, Business, BusinessId, PageId, Scope, TokenHash, TokenKind, TokenRecord, User, UserId,
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
    /// A person's answers to an app, or its removal (consent, decline, `DELETE /me/permissions`).
    Authorization(UserId, AppId),
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
            Invalidation::Authorization(u, a) => format!("g:{u}:{a}"),
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
            ("g", Some(u), Some(a)) => Some(Invalidation::Authorization(u.parse().ok()?, a.parse().ok()?)),
            ("c", None, None) => Some(Invalidation::Clock),
            _ => None,
        }
    }
}

const SHARDS: usize = 16;

/// The entries of the largest shard: std's `HashMap` (hashbrown) keeps at most 7/8 of its buckets full and has a
/// power-of-two number of them, so a shard bounded at 7/8 of a power of two fills its table exactly instead of
/// growing it to twice the size it needs. 2^16 buckets keeps a sweep of one shard well under a millisecond.
const LARGEST_SHARD: usize = (1 << 16) / 8 * 7;

/// The shard count and the entries per shard for `capacity` entries in all: each shard bounded at a size that fills
/// a table exactly (7 × 2^k, at most [`LARGEST_SHARD`]), the largest such that [`SHARDS`] shards or more are needed,
/// and as many shards as it takes to hold `capacity`.
fn layout(capacity: usize) -> (usize, usize) {
    let want = (capacity / SHARDS).max(7);
    let mut per_shard = 7;
    while per_shard * 2 <= want && per_shard * 2 <= LARGEST_SHARD {
        per_shard *= 2;
    }
    (capacity.div_ceil(per_shard).max(1), per_shard)
}

/// One shard's table. foldhash (hashbrown's own default hasher, seeded per process) rather than std's SipHash: a
/// cached read hashes its key twice per map (shard, then table) on four or five maps, which with SipHash was about
/// 5% of a cached `GET /me`'s instructions. The keys are keyed token hashes and ids the server assigned, so the
/// weaker flooding resistance is not exposed to chosen keys.
type Shard<K, V> = HashMap<K, Slot<V>, foldhash::fast::RandomState>;

/// A cached value and its reference bit: set by every read, cleared by a sweep that keeps the entry.
struct Slot<V> {
    value: V,
    used: AtomicBool,
}

/// A bounded map split into shards, each behind its own lock; a full shard keeps only what was read since its last
/// sweep (see [`Map::sweep`]).
///
/// `epoch` counts invalidations. A reader notes it before going to the database and caches what it read only if no
/// invalidation happened meanwhile: otherwise a read that raced a revocation could put the pre-revocation row back
/// after the writer removed it. `writing` counts local writes in flight on this map: from the moment a write starts
/// until its invalidation is done nothing is cached, so once a write has committed no reader can find a cached
/// value from before it, not even in the instant between the commit and the invalidation that follows it.
struct Map<K, V> {
    shards: Vec<RwLock<Shard<K, V>>>,
    per_shard: usize,
    hasher: foldhash::fast::RandomState,
    epoch: AtomicU64,
    writing: AtomicUsize,
}

impl<K: Hash + Eq + Clone, V: Clone> Map<K, V> {
    fn new(capacity: usize) -> Self {
        let (shards, per_shard) = layout(capacity);
        Map {
            shards: (0..shards).map(|_| RwLock::new(Shard::default())).collect(),
            per_shard,
            hasher: Default::default(),
            epoch: AtomicU64::new(0),
            writing: AtomicUsize::new(0),
        }
    }
    fn stamp(&self) -> u64 {
        self.epoch.load(Ordering::Acquire)
    }
    fn shard(&self, k: &K) -> &RwLock<Shard<K, V>> {
        &self.shards[(self.hasher.hash_one(k) as usize) % self.shards.len()]
    }
    /// `f` of the cached value, read in place under the shard's read lock.
    fn get_with<R>(&self, k: &K, f: impl FnOnce(&V) -> R) -> Option<R> {
        let m = self.shard(k).read().expect("cache lock");
        let slot = m.get(k)?;
        // Written only when not yet set, so a hot entry's cache line is not written on every read.
        if !slot.used.load(Ordering::Relaxed) {
            slot.used.store(true, Ordering::Relaxed);
        }
        Some(f(&slot.value))
    }
    fn get(&self, k: &K) -> Option<V> {
        self.get_with(k, V::clone)
    }
    /// Caches `v` unless an invalidation happened since `stamp` was taken or a local write is in flight.
    fn put(&self, k: K, v: V, stamp: u64) {
        let mut m = self.shard(&k).write().expect("cache lock");
        if self.epoch.load(Ordering::Acquire) != stamp || self.writing.load(Ordering::Acquire) != 0 {
            return;
        }
        if m.len() >= self.per_shard {
            Self::sweep(&mut m, self.per_shard);
        } else if m.len() == m.capacity() && m.len() >= self.per_shard / 2 {
            // No room left without a new table: either the table is due to grow (to the size a full shard has), or
            // removals left it at its full size with tombstones, and growing it would double it past the bound.
            // Either way, one table of the full size.
            Self::rebuild(&mut m, self.per_shard, |_| true);
        }
        m.insert(k, Slot { value: v, used: AtomicBool::new(false) });
    }
    /// Makes room in a full shard (CLOCK's second chance, a whole shard at a time): keeps the entries read since
    /// the last sweep, clearing their bit, and drops the others; at most three quarters are kept, so a sweep frees
    /// at least a quarter of the shard and its cost, one pass, is spread over as many insertions.
    fn sweep(m: &mut Shard<K, V>, per_shard: usize) {
        let mut room = per_shard - per_shard / 4;
        Self::rebuild(m, per_shard, |slot| {
            let keep = room > 0 && *slot.used.get_mut();
            if keep {
                *slot.used.get_mut() = false;
                room -= 1;
            }
            keep
        });
    }
    /// Moves the entries `keep` accepts into a fresh table sized for `per_shard` entries (no tombstones).
    fn rebuild(m: &mut Shard<K, V>, per_shard: usize, mut keep: impl FnMut(&mut Slot<V>) -> bool) {
        let old = std::mem::replace(m, Shard::with_capacity_and_hasher(per_shard, Default::default()));
        m.extend(old.into_iter().filter_map(|(k, mut slot)| keep(&mut slot).then_some((k, slot))));
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

/// A token record as the cache holds it: the hash is the map's key, the optional fields are flagged instead of
/// padded, the rare parent is boxed, and the scope list is shared with every cached token that has the same one
/// (see [`ScopeSets`]). 88 bytes, and no allocation of its own but a parent's.
#[derive(Clone)]
struct CachedToken {
    app_id: u64,
    user_id: u64,
    page_id: u64,
    issued_at: i64,
    expires_at: i64,
    revoked_at: i64,
    session_epoch: i64,
    scopes: Arc<[Scope]>,
    parent: Option<Box<TokenHash>>,
    /// The kind (two low bits) and which of the optional fields are present.
    flags: u8,
}

const HAS_USER: u8 = 1 << 2;
const HAS_PAGE: u8 = 1 << 3;
const HAS_EXPIRY: u8 = 1 << 4;
const HAS_REVOCATION: u8 = 1 << 5;

impl CachedToken {
    fn pack(r: &TokenRecord, scopes: Arc<[Scope]>) -> CachedToken {
        let kind = match r.kind {
            TokenKind::SystemUser => 0,
            TokenKind::User => 1,
            TokenKind::Page => 2,
            TokenKind::App => 3,
        };
        let flag = |present: bool, bit: u8| if present { bit } else { 0 };
        CachedToken {
            app_id: r.app_id.0,
            user_id: r.user_id.map_or(0, |u| u.0),
            page_id: r.page_id.map_or(0, |p| p.0),
            issued_at: r.issued_at,
            expires_at: r.expires_at.unwrap_or(0),
            revoked_at: r.revoked_at.unwrap_or(0),
            session_epoch: r.session_epoch,
            scopes,
            parent: r.parent.map(Box::new),
            flags: kind
                | flag(r.user_id.is_some(), HAS_USER)
                | flag(r.page_id.is_some(), HAS_PAGE)
                | flag(r.expires_at.is_some(), HAS_EXPIRY)
                | flag(r.revoked_at.is_some(), HAS_REVOCATION),
        }
    }

    /// The record again, exactly as it was packed.
    fn unpack(&self, hash: TokenHash) -> TokenRecord {
        let has = |bit: u8| self.flags & bit != 0;
        TokenRecord {
            hash,
            kind: match self.flags & 3 {
                0 => TokenKind::SystemUser,
                1 => TokenKind::User,
                2 => TokenKind::Page,
                _ => TokenKind::App,
            },
            app_id: AppId(self.app_id),
            user_id: has(HAS_USER).then_some(UserId(self.user_id)),
            page_id: has(HAS_PAGE).then_some(PageId(self.page_id)),
            scopes: self.scopes.to_vec(),
            issued_at: self.issued_at,
            expires_at: has(HAS_EXPIRY).then_some(self.expires_at),
            revoked_at: has(HAS_REVOCATION).then_some(self.revoked_at),
            parent: self.parent.as_deref().copied(),
            session_epoch: self.session_epoch,
        }
    }
}

/// The distinct scope lists of cached tokens, each held once (tokens mostly share a handful of lists). Bounded: past
/// [`ScopeSets::MAX`] lists it starts afresh; lists already handed out live on in the tokens holding them.
#[derive(Default)]
struct ScopeSets(std::sync::Mutex<std::collections::HashSet<Arc<[Scope]>>>);

impl ScopeSets {
    const MAX: usize = 4096;

    fn intern(&self, scopes: &[Scope]) -> Arc<[Scope]> {
        let mut sets = self.0.lock().expect("scope sets lock");
        if let Some(held) = sets.get(scopes) {
            return held.clone();
        }
        if sets.len() >= Self::MAX {
            sets.clear();
        }
        let held: Arc<[Scope]> = scopes.into();
        sets.insert(held.clone());
        held
    }
}

/// The caching wrapper. Construct with [`CachedStore::new`]; it spawns the task that applies remote invalidations.
/// Cloning it is cheap and every clone shares one cache.
#[derive(Clone)]
pub struct CachedStore(Arc<Shared>);

struct Shared {
    inner: Arc<dyn Store>,
    tokens: Map<TokenHash, CachedToken>,
    scope_sets: ScopeSets,
    apps: Map<AppId, Arc<StoredApp>>,
    users: Map<UserId, User>,
    /// Businesses never change once created (only `reset` removes them), so they need no invalidation events.
    businesses: Map<BusinessId, Business>,
    installs: Map<(UserId, AppId), bool>,
    roles: Map<(PageId, UserId), Option<PageRole>>,
    /// Every answer is cached, the empty one too: each write that changes one announces it (unlike a token's
    /// issuance), so it is dropped exactly as a revoked token is.
    authorizations: Map<(UserId, AppId), Authorization>,
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
            scope_sets: ScopeSets::default(),
            apps: Map::new(capacity / 10),
            users: Map::new(capacity / 10),
            businesses: Map::new(capacity / 10),
            installs: Map::new(capacity / 10),
            roles: Map::new(capacity / 10),
            authorizations: Map::new(capacity / 10),
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

    /// Reads through `map` at `key` when the cache is trusted, keeping the answer if `keep` says so. `load` is called
    /// only on a miss, so a hit builds no database future.
    async fn read_through_if<K, V, F>(
        &self,
        map: &Map<K, V>,
        key: K,
        load: impl FnOnce() -> F,
        keep: impl FnOnce(&V) -> bool,
    ) -> Result<V>
    where
        K: Hash + Eq + Clone,
        V: Clone,
        F: std::future::Future<Output = Result<V>>,
    {
        if self.trusted() {
            if let Some(v) = map.get(&key) {
                return Ok(v);
            }
        }
        let stamp = map.stamp();
        let v = load().await?;
        if keep(&v) && self.trusted() {
            map.put(key, v.clone(), stamp);
        }
        Ok(v)
    }

    fn clear_all(&self) {
        self.tokens.clear();
        self.apps.clear();
        self.users.clear();
        self.businesses.clear();
        self.installs.clear();
        self.roles.clear();
        self.authorizations.clear();
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
            Invalidation::Authorization(u, a) => f.on(&self.authorizations, Some(&(*u, *a))),
            Invalidation::All => {
                f.on(&self.tokens, None);
                f.on(&self.apps, None);
                f.on(&self.users, None);
                f.on(&self.businesses, None);
                f.on(&self.installs, None);
                f.on(&self.roles, None);
                f.on(&self.authorizations, None);
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
            Invalidation::Authorization(u, a) => self.authorizations.remove(&(u, a)),
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
    /// [`read_through!`], with the record packed into its compact form to be cached and unpacked on a hit.
    async fn get_token(&self, hash: &TokenHash) -> Result<Option<Arc<TokenRecord>>> {
        let me = &self.0;
        if me.trusted() {
            if let Some(r) = me.tokens.get_with(hash, |t| t.unpack(*hash)) {
                return Ok(Some(Arc::new(r)));
            }
        }
        let stamp = me.tokens.stamp();
        let v = me.inner.get_token(hash).await?;
        if let Some(found) = &v {
            if me.trusted() {
                me.tokens.put(*hash, CachedToken::pack(found, me.scope_sets.intern(&found.scopes)), stamp);
            }
        }
        Ok(v)
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
        // Only "installed" is cached: an installation made on another replica must be seen at once.
        me.read_through_if(&me.installs, (su, app), || me.inner.is_installed(su, app), |installed| *installed).await
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
    /// Read on every use of a person's token, so cached like the token itself.
    async fn get_authorization(&self, user: UserId, app: AppId) -> Result<Authorization> {
        let me = &self.0;
        me.read_through_if(&me.authorizations, (user, app), || me.inner.get_authorization(user, app), |_| true).await
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
            Invalidation::Authorization(UserId(7), AppId(8)),
            Invalidation::Clock,
        ] {
            assert_eq!(Invalidation::decode(&ev.encode()), ev);
        }
        assert_eq!(Invalidation::decode("zz:1"), Invalidation::All);
        assert_eq!(Invalidation::decode("t:nothex"), Invalidation::All);
    }

    fn entries<K, V>(m: &Map<K, V>) -> usize {
        m.shards.iter().map(|s| s.read().unwrap().len()).sum()
    }

    #[test]
    fn layout_fills_tables_exactly_and_holds_the_capacity() {
        assert_eq!(layout(1_000_000), (18, LARGEST_SHARD));
        assert_eq!(layout(100_000), (28, 3584));
        for capacity in [0, 1, 100, 1000, 10_000, 100_000, 917_504, 1_000_000, 10_000_000] {
            let (shards, per_shard) = layout(capacity);
            assert!(shards * per_shard >= capacity, "{capacity}");
            assert!(per_shard <= LARGEST_SHARD && per_shard % 7 == 0 && (per_shard / 7).is_power_of_two());
            // The table of a full shard is exactly the size std's HashMap gives that many entries.
            assert_eq!(HashMap::<u64, u64>::with_capacity(per_shard).capacity(), per_shard, "{capacity}");
        }
    }

    #[test]
    fn bounded_map_stays_within_its_tables_under_churn() {
        let m: Map<u64, u64> = Map::new(16 * 56);
        for i in 0..20_000 {
            m.put(i, i, m.stamp());
            if i % 3 == 0 {
                m.remove(&(i / 2)); // removals leave tombstones; they must not make a table grow past its bound
            }
        }
        assert!(entries(&m) <= m.shards.len() * m.per_shard);
        for s in &m.shards {
            assert!(s.read().unwrap().capacity() <= m.per_shard, "a shard's table grew past its bound");
        }
        m.put(1, 2, m.stamp());
        assert_eq!(m.get(&1), Some(2));
        m.remove(&1);
        assert_eq!(m.get(&1), None);
    }

    #[test]
    fn a_sweep_keeps_what_was_read_and_frees_a_quarter() {
        let m: Map<u64, u64> = Map::new(16 * 56);
        let hot: Vec<u64> = (0..50).collect();
        for i in 0..100_000 {
            m.put(i + 1000, i, m.stamp());
            for h in &hot {
                if m.get(h).is_none() {
                    m.put(*h, *h, m.stamp());
                }
            }
        }
        // Re-read after every insertion, the hot entries survive every sweep: each was read since the last one.
        let misses: usize = hot
            .iter()
            .filter(|h| {
                m.put(1_000_000, 0, m.stamp());
                m.get(h).is_none()
            })
            .count();
        assert_eq!(misses, 0);
        // A sweep of a shard where everything was read still frees a quarter of it.
        let mut shard: Shard<u64, u64> = (0..56).map(|i| (i, Slot { value: i, used: AtomicBool::new(true) })).collect();
        Map::<u64, u64>::sweep(&mut shard, 56);
        assert_eq!(shard.len(), 42);
        assert!(shard.values_mut().all(|s| !*s.used.get_mut()), "kept entries get a second chance, not a third");
        Map::<u64, u64>::sweep(&mut shard, 56);
        assert!(shard.is_empty(), "unread since the last sweep: dropped");
    }

    fn record(kind: TokenKind, scopes: &[&str]) -> TokenRecord {
        TokenRecord {
            hash: TokenHash([3; 32]),
            kind,
            app_id: AppId(11),
            user_id: Some(UserId(12)),
            page_id: None,
            scopes: scopes.iter().map(|s| Scope::from_stored(s.to_string())).collect(),
            issued_at: 1_700_000_000,
            expires_at: None,
            revoked_at: None,
            parent: None,
            session_epoch: -4,
        }
    }

    #[test]
    fn packed_tokens_unpack_to_the_same_record() {
        let sets = ScopeSets::default();
        let base = record(TokenKind::SystemUser, &["ads_read", "ads_management"]);
        let cases = [
            base.clone(),
            TokenRecord { kind: TokenKind::User, expires_at: Some(0), ..base.clone() },
            TokenRecord {
                kind: TokenKind::Page,
                page_id: Some(PageId(0)),
                parent: Some(TokenHash([9; 32])),
                scopes: vec![Scope::from_stored("pages_show_list".into())],
                ..base.clone()
            },
            TokenRecord {
                kind: TokenKind::App,
                user_id: None,
                scopes: vec![],
                session_epoch: i64::MIN,
                ..base.clone()
            },
            TokenRecord { revoked_at: Some(1_700_000_100), expires_at: Some(i64::MAX), ..base.clone() },
            TokenRecord { user_id: Some(UserId(0)), revoked_at: Some(0), ..base.clone() },
            TokenRecord { scopes: vec![Scope::from_stored("not_a_listed_name".into())], ..base },
        ];
        for r in cases {
            let packed = CachedToken::pack(&r, sets.intern(&r.scopes));
            assert_eq!(packed.unpack(r.hash), r);
        }
        assert_eq!(std::mem::size_of::<CachedToken>(), 88);
    }

    #[test]
    fn tokens_with_the_same_scopes_share_one_list() {
        let sets = ScopeSets::default();
        let a = record(TokenKind::SystemUser, &["ads_read", "ads_management"]);
        let b = record(TokenKind::User, &["ads_read", "ads_management"]);
        let c = record(TokenKind::User, &["ads_management", "ads_read"]);
        assert!(Arc::ptr_eq(&sets.intern(&a.scopes), &sets.intern(&b.scopes)));
        assert!(!Arc::ptr_eq(&sets.intern(&a.scopes), &sets.intern(&c.scopes)), "order is part of the list");
        for i in 0..ScopeSets::MAX + 10 {
            sets.intern(&[Scope::from_stored(format!("s{i}"))]);
        }
        assert!(sets.0.lock().unwrap().len() <= ScopeSets::MAX);
        assert_eq!(sets.intern(&a.scopes)[..], a.scopes[..]);
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

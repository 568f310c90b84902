//! The one SQL implementation of every store trait, for SQLite and PostgreSQL.
//!
//! Each statement is written once, with `$n` placeholders (sqlx's SQLite driver binds `$n` by number as PostgreSQL
//! does), and rows are read through the `FromRow` structs of [`crate::rows`]. What really differs between the two
//! databases is the [`Backend`] trait: how a write transaction and a snapshot begin, the locks a refresh and a
//! "revoke all" take, announcing invalidations to other processes, id allocation, the write queue and the change
//! feed. Pools, durability settings and migrations are each backend's own `open`.
//!
//! The body is one `macro_rules!` ([`sql_store!`]) instantiated for `Sqlite` and for `Postgres`, not a generic
//! `SqlStore<B>`: generic sqlx code needs bounds such as `for<'c> &'c mut DB::Connection: Executor<'c>` and
//! `Encode + Decode + Type` for every column type on every function, which would outweigh the statements; the macro
//! keeps each statement in one place while every instantiation is type-checked against its concrete database.

use crate::{cache::Invalidation, AuditEntry, Result, StoreError, Write, Written};
use async_trait::async_trait;
use std::sync::{
    atomic::{AtomicUsize, Ordering},
    Arc,
};
use suat_core::{audit::ChainKey, TokenHash, TokenRecord, UserId};
use tokio::sync::{mpsc, oneshot};

/// One write waiting for the group-commit writer ([`Backend::write_queue`]): the write, its audit entry, and where
/// to report its outcome after commit.
pub(crate) type Queued = (Write, AuditEntry, oneshot::Sender<Result<Written>>);

/// Most writes committed in one transaction: past a few hundred rows the fsync is already shared so widely that a
/// bigger group only makes its first waiter wait longer.
pub(crate) const MAX_GROUP: usize = 256;

/// One token read waiting for a batch reader ([`Backend::token_reads`]): the keyed hash, and where to send the row.
pub(crate) type TokenRead = (TokenHash, oneshot::Sender<Result<Option<Arc<TokenRecord>>>>);

/// Most token reads answered by one statement. A cache miss is one indexed lookup; what it costs is the statement
/// around it (a round trip to SQLite's connection thread, or to PostgreSQL), so concurrent misses share one.
pub(crate) const MAX_READ_BATCH: usize = 64;

/// Token reads that may wait for a reader; past this a read waits to be queued.
pub(crate) const READ_QUEUE: usize = 16 * MAX_READ_BATCH;

/// The IN-list lengths a batch is padded to (by repeating its last hash), so each connection prepares at most this
/// many token reads instead of one per batch size.
pub(crate) const READ_BATCH_SIZES: [usize; 7] = [1, 2, 4, 8, 16, 32, MAX_READ_BATCH];

/// The smallest of [`READ_BATCH_SIZES`] that holds `n` reads.
pub(crate) fn padded(n: usize) -> usize {
    READ_BATCH_SIZES.into_iter().find(|&s| s >= n).unwrap_or(MAX_READ_BATCH)
}

/// One row of a batch read as [`answer_reads`] matches it: the hash it is stored under (`None` if that column is not
/// 32 bytes: such a row answers no read), and the token or why it does not decode.
pub(crate) type FoundToken = (Option<[u8; 32]>, std::result::Result<Arc<TokenRecord>, String>);

/// Sends each read of `batch` its own row, `None` for a hash no row has, or a row's decoding error (to the reads of
/// that hash alone); if the statement failed (`Err`), every read that error.
pub(crate) fn answer_reads(batch: &mut Vec<TokenRead>, found: std::result::Result<Vec<FoundToken>, String>) {
    let found = match found {
        Ok(found) => found,
        Err(why) => {
            for (_, reply) in batch.drain(..) {
                let _ = reply.send(Err(StoreError::Unavailable(why.clone())));
            }
            return;
        }
    };
    for (hash, reply) in batch.drain(..) {
        let answer = match found.iter().find(|(k, _)| *k == Some(hash.0)) {
            None => Ok(None),
            Some((_, Ok(t))) => Ok(Some(t.clone())),
            Some((_, Err(why))) => Err(StoreError::Corrupt(why.clone())),
        };
        let _ = reply.send(answer);
    }
}

/// What the statements of a write need of their backend beyond the transaction: owned by the group-commit writer,
/// which must not hold the store itself (a store's last clone going away closes the queue and stops the writer).
#[derive(Clone)]
pub(crate) struct WriteCtx {
    /// The key of the audit hash chain, if this backend chains its audit rows (SQLite: one writer, so the chain's
    /// head can be kept between groups, see `audit_head`, and extended inside each write transaction).
    pub chain: Option<Arc<ChainKey>>,
    /// The NOTIFY channel other processes listen on, if any (PostgreSQL).
    pub channel: Option<String>,
    /// Told after each group's commit, if this backend checkpoints off the writer's path (SQLite: the WAL is copied
    /// back into the database by a task of its own, so the writer's commits do not wait for it).
    pub committed: Option<mpsc::Sender<()>>,
    /// How many statements outside the writer's groups wait for a write connection: the writer keeps its connection
    /// from one group to the next only while this is zero (see `group_writer`).
    pub wanting: Arc<AtomicUsize>,
    /// The audit chain's head as the last committed group left it, so the next group chains its rows without
    /// reading it back (a round trip to SQLite's thread). Taken by the group that extends the chain and put back only
    /// after its commit: a group that fails, or raw SQL on the write connection, leaves it empty, and the next group
    /// reads the head from the database. Sound because one process owns the file and its write pool has one
    /// connection: a group puts its head back while it still holds that connection, before any other transaction
    /// can write.
    pub audit_head: Arc<std::sync::Mutex<Option<AuditHead>>>,
}

/// The audit chain's head: the seq the next row gets and the hash of the last row (see [`WriteCtx::audit_head`]).
#[derive(Clone, Copy, Debug)]
pub(crate) struct AuditHead {
    pub next: i64,
    pub last: [u8; 32],
}

impl WriteCtx {
    /// Takes the head for a group that extends the chain: until that group commits and puts the new head back, the
    /// next group reads it from the database.
    pub(crate) fn take_audit_head(&self) -> Option<AuditHead> {
        self.audit_head.lock().unwrap_or_else(|e| e.into_inner()).take()
    }

    /// Called after a commit that extended the chain to `head`.
    pub(crate) fn committed_audit_head(&self, head: Option<AuditHead>) {
        if let Some(h) = head {
            *self.audit_head.lock().unwrap_or_else(|e| e.into_inner()) = Some(h);
        }
    }

    /// Forgets the head: something other than a group may have written the audit table.
    pub(crate) fn forget_audit_head(&self) {
        self.take_audit_head();
    }

    /// Marks a statement outside the writer's groups as waiting for a write connection until the guard is dropped, so
    /// the writer hands back the connection it would otherwise keep for its next group.
    pub(crate) fn want(&self) -> Wanting {
        self.wanting.fetch_add(1, Ordering::SeqCst);
        Wanting(self.wanting.clone())
    }
}

/// See [`WriteCtx::want`].
pub(crate) struct Wanting(Arc<AtomicUsize>);

impl Drop for Wanting {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

/// Whether a failed statement says nothing about the write itself but about its transaction meeting another one
/// (PostgreSQL's deadlock, serialization and lock-timeout failures): the group is then run again one write at a time.
pub(crate) fn transient(e: &StoreError) -> bool {
    match e {
        StoreError::Db(sqlx::Error::Database(d)) => matches!(d.code().as_deref(), Some("40P01" | "40001" | "55P03")),
        _ => false,
    }
}

/// What differs between the backends; everything else is [`sql_store!`].
#[async_trait]
pub(crate) trait Backend: Send + Sync + 'static {
    type Db: sqlx::Database;
    /// Starts a write transaction.
    const BEGIN_WRITE: &'static str;
    /// Starts a read-only transaction that sees one snapshot (a dump, an app with its relations).
    const BEGIN_SNAPSHOT: &'static str;
    /// Appended to the read of a refresh's parent token, to lock it against a concurrent revocation.
    const FOR_UPDATE: &'static str;
    /// The SQL value of `users.created_seq` for a new user.
    const NEXT_CREATED_SEQ: &'static str;
    /// Reads the next Graph id without taking it.
    const PEEK_NEXT_ID: &'static str;
    /// Sets the next Graph id to `$1` (a restore).
    const SET_NEXT_ID: &'static str;
    /// Run at the end of a restore, after the rows are in (empty: nothing to do).
    const AFTER_RESTORE: &'static str;
    /// The audit chain's head, read in the write transaction: the seq the next row will get and the last row's
    /// hash (only used by a backend that chains).
    const AUDIT_HEAD: &'static str;
    /// Commits the writer's transaction and begins the next group's in one round trip (two statements in one call,
    /// without bound values); `None`: the backend does not, and the next group begins its own.
    const COMMIT_THEN_BEGIN: Option<&'static str>;

    fn read_pool(&self) -> &sqlx::Pool<Self::Db>;
    fn write_pool(&self) -> &sqlx::Pool<Self::Db>;
    /// Takes the lock on `user`'s token family until the end of `tx`: shared for a refresh, exclusive for "revoke
    /// all", so that no refresh can slip a child in behind a "revoke all".
    async fn lock_user_tokens(
        tx: &mut <Self::Db as sqlx::Database>::Connection,
        user: UserId,
        exclusive: bool,
    ) -> Result<()>;
    /// Tells the other processes sharing the database, at the commit of `tx`, which cached entries went stale.
    async fn announce(
        ctx: &WriteCtx,
        tx: &mut <Self::Db as sqlx::Database>::Connection,
        stale: &[Invalidation],
    ) -> Result<()>;
    /// A fresh Graph id, unique across every process sharing the database.
    async fn allocate_id(&self) -> Result<u64>;
    /// What the statements of a write need of this backend.
    fn write_ctx(&self) -> &WriteCtx;
    /// Where writes go to be group-committed by this store's writer task.
    fn write_queue(&self) -> &mpsc::Sender<Queued>;
    /// Where token reads go to be answered in batches by this store's readers (`statements::spawn_token_readers`).
    fn token_reads(&self) -> &mpsc::Sender<TokenRead>;
    /// Changes made by other processes (see [`crate::Operator::subscribe`]).
    fn changes(&self) -> Option<mpsc::UnboundedReceiver<Invalidation>>;
}

pub(crate) fn conflict(e: sqlx::Error, what: String) -> StoreError {
    match &e {
        sqlx::Error::Database(d) if d.is_unique_violation() => StoreError::Conflict(what),
        sqlx::Error::Database(d) if d.is_foreign_key_violation() => StoreError::NotFound(what),
        _ => StoreError::Db(e),
    }
}

/// Every table but `audit` and `settings`, children before parents (foreign keys), for [`crate::Write::Reset`].
pub(crate) const RESET_ORDER: [&str; 14] = [
    "app_permissions",
    "app_deauthorizations",
    "tokens",
    "installs",
    "credentials",
    "page_roles",
    "pages",
    "auth_codes",
    "app_scoped_ids",
    "app_roles",
    "app_clients",
    "apps",
    "users",
    "businesses",
];

/// Binds each value in turn into one row of a `QueryBuilder::push_values`.
macro_rules! push_binds {
    ($b:ident: $($v:expr),+ $(,)?) => {
        $( $b.push_bind($v); )+
    };
}
pub(crate) use push_binds;

/// Implements every store trait for `$store` (a [`Backend`] whose `Db` is `$db`), in a module `statements` beside it.
macro_rules! sql_store {
    ($store:ident, $db:ty) => {
        /// The statements of the store, from [`crate::sql`]'s one body.
        pub(crate) mod statements {
            use super::$store;
            use std::{collections::BTreeMap, sync::Arc};
            use suat_core::{
                oauth::{AuthCode, Authorization, PermissionStatus},
                page::{Page, PageRole},
                scope::Scope,
                AppId, AppRole, Business, BusinessId, PageId, TokenHash, TokenRecord, User, UserId,
            };
            use $crate::{
                codec::*,
                rows::*,
                sql::{
                    answer_reads, conflict, padded, push_binds, Backend, FoundToken, Queued, TokenRead, WriteCtx,
                    MAX_GROUP, MAX_READ_BATCH, READ_BATCH_SIZES, READ_QUEUE, RESET_ORDER,
                },
                AuditEntry, Dump, Invalidation, Result, StoreError, StoredApp, Write, Written,
                snapshot::{self, Snapshot},
            };

            type Conn = <$db as sqlx::Database>::Connection;

            /// `INSERT INTO {into} VALUES ...` of `rows`, one statement however many rows, each bound by `bind`.
            async fn insert_rows<T>(
                tx: &mut Conn,
                into: &str,
                rows: Vec<T>,
                bind: impl FnMut(sqlx::query_builder::Separated<'_, '_, $db, &'static str>, T),
            ) -> std::result::Result<(), sqlx::Error> {
                let mut q = sqlx::QueryBuilder::<$db>::new(format!("INSERT INTO {into} "));
                q.push_values(rows, bind);
                q.build().execute(&mut *tx).await.map(drop)
            }

            /// Inserts tokens with one statement: one row, or a whole issuance batch.
            pub(crate) async fn insert_tokens(tx: &mut Conn, tokens: &[&TokenRecord]) -> Result<()> {
                let rows = tokens.iter().map(|t| TokenParams::of(t)).collect::<Result<Vec<_>>>()?;
                let into = format!("tokens ({TOKEN_COLUMNS})");
                insert_rows(tx, &into, rows, |mut b, t| {
                    push_binds! { b: t.hash, t.kind, t.app_id, t.user_id, t.page_id, t.scopes, t.issued_at,
                    t.expires_at, t.revoked_at, t.parent, t.session_epoch }
                })
                .await
                .map_err(|e| conflict(e, "token".into()))
            }

            /// Appends audit entries with one statement. With a chain key (SQLite), each row is chained to the one
            /// before: the head (last row's hash, next seq) is the one the last committed group left in `ctx`, or
            /// read in this transaction, which holds the database's single write lock, so no other writer can extend
            /// the chain between the read and the insert. Returns the head after these rows, for the caller to put
            /// back in `ctx` once it has committed ([`WriteCtx::committed_audit_head`]).
            pub(crate) async fn insert_audits(
                tx: &mut Conn,
                entries: &[&AuditEntry],
                ctx: &WriteCtx,
            ) -> Result<Option<$crate::sql::AuditHead>> {
                let mut rows = entries.iter().map(|a| AuditParams::of(a)).collect::<Result<Vec<_>>>()?;
                let mut first_seq = None;
                let mut head = None;
                if let Some(key) = ctx.chain.as_deref() {
                    let $crate::sql::AuditHead { next, last } = match ctx.take_audit_head() {
                        Some(h) => h,
                        None => {
                            let (next, last): (i64, Option<String>) =
                                sqlx::query_as(<$store as Backend>::AUDIT_HEAD).fetch_one(&mut *tx).await?;
                            let last = match last {
                                Some(h) => unhex32(&h)
                                    .ok_or_else(|| StoreError::Corrupt("the audit chain's last hash".into()))?,
                                // No row yet, or only rows from before the chain: it starts here.
                                None => suat_core::audit::GENESIS,
                            };
                            $crate::sql::AuditHead { next, last }
                        }
                    };
                    let mut prev = last;
                    for (i, r) in rows.iter_mut().enumerate() {
                        let hash = key.link(&prev, &r.chain_row(next + i as i64));
                        r.prev = Some(hex::encode(prev));
                        r.hash = Some(hex::encode(hash));
                        prev = hash;
                    }
                    first_seq = Some(next);
                    head = Some($crate::sql::AuditHead { next: next + rows.len() as i64, last: prev });
                }
                let mut q = sqlx::QueryBuilder::<$db>::new(format!("INSERT INTO audit ({AUDIT_INSERT_COLUMNS}) "));
                q.push_values(rows, |mut b, a| {
                    push_binds! { b: a.at, a.action, a.actor, a.subject, a.app_id, a.token_ref, a.detail, a.prev,
                    a.hash }
                });
                q.push(" RETURNING seq");
                let seqs: Vec<i64> = q.build_query_scalar().fetch_all(&mut *tx).await?;
                if let Some(first) = first_seq {
                    // The hashes cover the seqs predicted above; a row given another one would break the chain.
                    if seqs.iter().enumerate().any(|(i, s)| *s != first + i as i64) {
                        return Err(StoreError::Corrupt(format!("audit seq {seqs:?} is not the predicted {first}...")));
                    }
                }
                Ok(head)
            }

            /// Gives `user` `role` on `app`, after any role given before (a role given again moves to the end, as
            /// `App::roles` lists them). One statement on the role's own row: concurrent app writes cannot lose
            /// one another.
            async fn put_app_role(tx: &mut Conn, app: AppId, user: UserId, role: AppRole) -> Result<()> {
                sqlx::query(
                    "INSERT INTO app_roles (app_id, user_id, role, pos)
                     VALUES ($1, $2, $3, (SELECT COALESCE(MAX(pos), -1) + 1 FROM app_roles WHERE app_id = $1))
                     ON CONFLICT (app_id, user_id) DO UPDATE SET role = excluded.role, pos = excluded.pos",
                )
                .bind(to_i64(app.0)?)
                .bind(to_i64(user.0)?)
                .bind(enum_text(&role))
                .execute(&mut *tx)
                .await
                .map_err(|e| conflict(e, format!("app {app} or user {user}")))?;
                Ok(())
            }

            /// Shares `app` with `business`; false if it already was.
            async fn share_app(tx: &mut Conn, app: AppId, business: BusinessId) -> Result<bool> {
                let done = sqlx::query(
                    "INSERT INTO app_clients (app_id, business_id, pos)
                     VALUES ($1, $2, (SELECT COALESCE(MAX(pos), -1) + 1 FROM app_clients WHERE app_id = $1))
                     ON CONFLICT (app_id, business_id) DO NOTHING",
                )
                .bind(to_i64(app.0)?)
                .bind(to_i64(business.0)?)
                .execute(&mut *tx)
                .await
                .map_err(|e| conflict(e, format!("app {app} or business {business}")))?;
                Ok(done.rows_affected() == 1)
            }

            /// Runs `sql`, which inserts or deletes the one row keyed by the ids `$1` and `$2` (`what` they name):
            /// whether it did.
            async fn change_pair(tx: &mut Conn, sql: &str, a: u64, b: u64, what: String) -> Result<bool> {
                let done = sqlx::query(sql)
                    .bind(to_i64(a)?)
                    .bind(to_i64(b)?)
                    .execute(&mut *tx)
                    .await
                    .map_err(|e| conflict(e, what))?;
                Ok(done.rows_affected() == 1)
            }

            /// Records `user`'s answer to `permission` of `app`, replacing an earlier one; a permission never asked
            /// before goes last. Whether the row changed.
            async fn put_answer(
                tx: &mut Conn,
                user: UserId,
                app: AppId,
                permission: &Scope,
                status: PermissionStatus,
            ) -> Result<bool> {
                let done = sqlx::query(
                    "INSERT INTO app_permissions (user_id, app_id, permission, status, pos)
                     VALUES ($1, $2, $3, $4,
                             (SELECT COALESCE(MAX(pos), -1) + 1 FROM app_permissions WHERE user_id = $1 AND app_id = $2))
                     ON CONFLICT (user_id, app_id, permission) DO UPDATE SET status = excluded.status
                     WHERE app_permissions.status <> excluded.status",
                )
                .bind(to_i64(user.0)?)
                .bind(to_i64(app.0)?)
                .bind(permission.as_str())
                .bind(status.as_str())
                .execute(&mut *tx)
                .await
                .map_err(|e| conflict(e, format!("user {user} or app {app}")))?;
                Ok(done.rows_affected() == 1)
            }

            /// Inserts an authorization code.
            async fn insert_code(tx: &mut Conn, code: &AuthCode) -> Result<()> {
                sqlx::query(
                    "INSERT INTO auth_codes
                     (hash, app_id, user_id, redirect_uri, scopes, created_at, used_at, session_epoch)
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
                )
                .bind(&code.hash.0[..])
                .bind(to_i64(code.app_id.0)?)
                .bind(to_i64(code.user_id.0)?)
                .bind(&code.redirect_uri)
                .bind(scopes_json(&code.scopes))
                .bind(code.created_at)
                .bind(code.used_at)
                .bind(code.session_epoch)
                .execute(&mut *tx)
                .await
                .map_err(|e| conflict(e, "code".into()))?;
                Ok(())
            }

            /// `INSERT INTO {into}` of `rows` in chunks (each row bound by `bind`); nothing for no rows.
            async fn restore_rows<T: Clone>(
                tx: &mut Conn,
                into: &str,
                rows: &[T],
                mut bind: impl FnMut(sqlx::query_builder::Separated<'_, '_, $db, &'static str>, T),
            ) -> Result<()> {
                for chunk in rows.chunks(snapshot::RESTORE_CHUNK) {
                    insert_rows(tx, into, chunk.to_vec(), &mut bind)
                        .await
                        .map_err(|e| conflict(e, format!("a row of {into}")))?;
                }
                Ok(())
            }

            /// Empties every table but the audit log and puts `s` in its place, parents before children.
            async fn restore(tx: &mut Conn, s: &Snapshot) -> Result<()> {
                for t in RESET_ORDER {
                    sqlx::query(&format!("DELETE FROM {t}")).execute(&mut *tx).await?;
                }
                // Top-level businesses before child businesses (a child names its parent).
                let mut businesses = s.businesses.clone();
                businesses.sort_by_key(|b| (b.parent_id.is_some(), b.id));
                restore_rows(tx, "businesses (id, name, must_use_expiring_tokens, parent_id)", &businesses, |mut b, r| {
                    push_binds! { b: r.id, r.name, r.must_use_expiring_tokens, r.parent_id }
                })
                .await?;
                restore_rows(
                    tx,
                    "users (id, name, business_id, kind, admin, role, session_epoch, created_seq, email)",
                    &s.users,
                    |mut b, r| {
                        push_binds! { b: r.id, r.name, r.business_id, r.kind, r.admin, r.role, r.session_epoch,
                        r.created_seq, r.email }
                    },
                )
                .await?;
                restore_rows(tx, "credentials (user_id, password_hash)", &s.credentials, |mut b, r| {
                    push_binds! { b: r.user_id, r.password_hash }
                })
                .await?;
                restore_rows(
                    tx,
                    &format!("apps ({APP_COLUMNS})"),
                    &s.apps,
                    |mut b, r| {
                        push_binds! { b: r.id, r.name, r.owner_business, r.access_level, r.is_test_app,
                        r.require_app_secret, r.permissions, r.capabilities, r.created_at, r.redirect_uris,
                        r.sealed_secret, r.status, r.app_scoped_last_query_at }
                    },
                )
                .await?;
                restore_rows(tx, "app_roles (app_id, user_id, role, pos)", &s.app_roles, |mut b, r| {
                    push_binds! { b: r.app_id, r.user_id, r.role, r.pos }
                })
                .await?;
                restore_rows(tx, "app_clients (app_id, business_id, pos)", &s.app_clients, |mut b, r| {
                    push_binds! { b: r.app_id, r.business_id, r.pos }
                })
                .await?;
                restore_rows(tx, "installs (user_id, app_id)", &s.installs, |mut b, r| {
                    push_binds! { b: r.user_id, r.app_id }
                })
                .await?;
                restore_rows(tx, "pages (id, name, business_id, category)", &s.pages, |mut b, r| {
                    push_binds! { b: r.id, r.name, r.business_id, r.category }
                })
                .await?;
                restore_rows(tx, "page_roles (page_id, user_id, tasks)", &s.page_roles, |mut b, r| {
                    push_binds! { b: r.page_id, r.user_id, r.tasks }
                })
                .await?;
                restore_rows(tx, &format!("tokens ({TOKEN_COLUMNS})"), &s.tokens, |mut b, r| {
                    push_binds! { b: r.hash, r.kind, r.app_id, r.user_id, r.page_id, r.scopes, r.issued_at,
                    r.expires_at, r.revoked_at, r.parent, r.session_epoch }
                })
                .await?;
                restore_rows(
                    tx,
                    "auth_codes (hash, app_id, user_id, redirect_uri, scopes, created_at, used_at, session_epoch)",
                    &s.auth_codes,
                    |mut b, r| {
                        push_binds! { b: r.hash, r.app_id, r.user_id, r.redirect_uri, r.scopes, r.created_at,
                        r.used_at, r.session_epoch }
                    },
                )
                .await?;
                restore_rows(tx, "app_scoped_ids (id, app_id, user_id)", &s.app_scoped_ids, |mut b, r| {
                    push_binds! { b: r.id, r.app_id, r.user_id }
                })
                .await?;
                restore_rows(
                    tx,
                    "app_permissions (user_id, app_id, permission, status, pos)",
                    &s.app_permissions,
                    |mut b, r| {
                        push_binds! { b: r.user_id, r.app_id, r.permission, r.status, r.pos }
                    },
                )
                .await?;
                restore_rows(tx, "app_deauthorizations (user_id, app_id, at)", &s.app_deauthorizations, |mut b, r| {
                    push_binds! { b: r.user_id, r.app_id, r.at }
                })
                .await?;
                sqlx::query("UPDATE settings SET value = $1 WHERE key = 'clock_offset'")
                    .bind(s.clock_offset)
                    .execute(&mut *tx)
                    .await?;
                let after = <$store as Backend>::AFTER_RESTORE;
                if !after.is_empty() {
                    sqlx::query(after).execute(&mut *tx).await?;
                }
                sqlx::query(<$store as Backend>::SET_NEXT_ID).bind(to_i64(s.next_id)?).execute(&mut *tx).await?;
                Ok(())
            }

            /// Runs one write inside `tx`, without its audit entry (see [`audit_of`]; a group appends its entries in
            /// one statement).
            async fn apply(tx: &mut Conn, w: &Write) -> Result<Written> {
                use Write as W;
                use Written as D;
                let done = match w {
                    W::CreateBusiness(b) => {
                        sqlx::query(&format!("INSERT INTO businesses ({BUSINESS_COLUMNS}) VALUES ($1, $2, $3, $4)"))
                            .bind(to_i64(b.id.0)?)
                            .bind(&b.name)
                            .bind(b.must_use_expiring_tokens)
                            .bind(b.parent_id.map(|p| to_i64(p.0)).transpose()?)
                            .execute(&mut *tx)
                            .await
                            .map_err(|e| conflict(e, format!("object {} or its parent", b.id)))?;
                        D::Done
                    }
                    W::CreateUser(u) => {
                        let (kind, admin, role) = kind_columns(&u.kind);
                        let sql = format!(
                            "INSERT INTO users ({USER_COLUMNS}, created_seq) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, {})",
                            <$store as Backend>::NEXT_CREATED_SEQ
                        );
                        sqlx::query(&sql)
                            .bind(to_i64(u.id.0)?)
                            .bind(&u.name)
                            .bind(u.business_id.map(|b| to_i64(b.0)).transpose()?)
                            .bind(kind)
                            .bind(admin)
                            .bind(role)
                            .bind(u.session_epoch)
                            .bind(&u.email)
                            .execute(&mut *tx)
                            .await
                            .map_err(|e| conflict(e, format!("object {}", u.id)))?;
                        D::Done
                    }
                    W::SetPassword { user, phc } => {
                        sqlx::query(
                            "INSERT INTO credentials (user_id, password_hash) VALUES ($1, $2)
                             ON CONFLICT (user_id) DO UPDATE SET password_hash = excluded.password_hash",
                        )
                        .bind(to_i64(user.0)?)
                        .bind(phc)
                        .execute(&mut *tx)
                        .await
                        .map_err(|e| conflict(e, format!("user {user}")))?;
                        D::Done
                    }
                    W::BumpSessionEpoch(user) => {
                        let epoch: Option<i64> = sqlx::query_scalar(
                            "UPDATE users SET session_epoch = session_epoch + 1 WHERE id = $1 RETURNING session_epoch",
                        )
                        .bind(to_i64(user.0)?)
                        .fetch_optional(&mut *tx)
                        .await?;
                        D::Epoch(epoch.ok_or_else(|| StoreError::NotFound(format!("user {user}")))?)
                    }
                    W::CreateApp(s) => {
                        let app = &s.app;
                        sqlx::query(&format!(
                            "INSERT INTO apps ({APP_COLUMNS})
                             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)"
                        ))
                        .bind(to_i64(app.id.0)?)
                        .bind(&app.name)
                        .bind(app.owner_business.map(|b| to_i64(b.0)).transpose()?)
                        .bind(enum_text(&app.access_level))
                        .bind(app.is_test_app)
                        .bind(app.require_app_secret)
                        .bind(json(&app.permissions))
                        .bind(json(&app.capabilities))
                        .bind(app.created_at)
                        .bind(json(&app.redirect_uris))
                        .bind(&s.sealed_secret)
                        .bind(enum_text(&app.status))
                        .bind(app.app_scoped_last_query_at)
                        .execute(&mut *tx)
                        .await
                        .map_err(|e| conflict(e, format!("object {}", app.id)))?;
                        for (user, role) in &app.roles {
                            put_app_role(tx, app.id, *user, *role).await?;
                        }
                        for business in &app.client_businesses {
                            share_app(tx, app.id, *business).await?;
                        }
                        D::Done
                    }
                    W::SetAppRole { app, user, role } => {
                        put_app_role(tx, *app, *user, *role).await?;
                        D::Done
                    }
                    W::ShareApp { app, business } => D::Changed(share_app(tx, *app, *business).await?),
                    W::ResetSecret { app, sealed_secret } => {
                        let done = sqlx::query("UPDATE apps SET sealed_secret = $1 WHERE id = $2")
                            .bind(sealed_secret)
                            .bind(to_i64(app.0)?)
                            .execute(&mut *tx)
                            .await?;
                        if done.rows_affected() == 0 {
                            return Err(StoreError::NotFound(format!("app {app}")));
                        }
                        D::Done
                    }
                    W::UpdateApp { app, status, app_scoped_last_query_at, settings: c } => {
                        let done = sqlx::query(
                            "UPDATE apps SET status = COALESCE($1, status),
                             app_scoped_last_query_at = COALESCE($2, app_scoped_last_query_at),
                             redirect_uris = COALESCE($3, redirect_uris),
                             require_app_secret = COALESCE($4, require_app_secret),
                             access_level = COALESCE($5, access_level),
                             is_test_app = COALESCE($6, is_test_app),
                             permissions = COALESCE($7, permissions),
                             capabilities = COALESCE($8, capabilities)
                             WHERE id = $9",
                        )
                        .bind(status.as_ref().map(enum_text))
                        .bind(app_scoped_last_query_at)
                        .bind(c.redirect_uris.as_ref().map(json))
                        .bind(c.require_app_secret)
                        .bind(c.access_level.as_ref().map(enum_text))
                        .bind(c.is_test_app)
                        .bind(c.permissions.as_ref().map(json))
                        .bind(c.capabilities.as_ref().map(json))
                        .bind(to_i64(app.0)?)
                        .execute(&mut *tx)
                        .await?;
                        if done.rows_affected() == 0 {
                            return Err(StoreError::NotFound(format!("app {app}")));
                        }
                        D::Done
                    }
                    W::Install { su, app } => {
                        let sql = "INSERT INTO installs (user_id, app_id) VALUES ($1, $2) ON CONFLICT DO NOTHING";
                        D::Changed(change_pair(tx, sql, su.0, app.0, format!("user {su} or app {app}")).await?)
                    }
                    W::Uninstall { su, app } => {
                        let sql = "DELETE FROM installs WHERE user_id = $1 AND app_id = $2";
                        D::Changed(change_pair(tx, sql, su.0, app.0, format!("user {su} or app {app}")).await?)
                    }
                    W::IssueToken(t) => {
                        insert_tokens(tx, &[t]).await?;
                        D::Done
                    }
                    W::IssueAppScopedToken(t) => {
                        let done = sqlx::query("UPDATE apps SET app_scoped_last_query_at = $1 WHERE id = $2")
                            .bind(t.issued_at)
                            .bind(to_i64(t.app_id.0)?)
                            .execute(&mut *tx)
                            .await?;
                        if done.rows_affected() == 0 {
                            return Err(StoreError::NotFound(format!("app {}", t.app_id)));
                        }
                        insert_tokens(tx, &[t]).await?;
                        D::Done
                    }
                    W::RefreshToken(new) => {
                        let parent = new.parent.ok_or(StoreError::ParentRevoked)?;
                        // The family lock first, then the parent row, always in this order (no deadlock).
                        if let Some(u) = new.user_id {
                            <$store as Backend>::lock_user_tokens(tx, u, false).await?;
                        }
                        let sql =
                            format!("SELECT revoked_at FROM tokens WHERE hash = $1{}", <$store as Backend>::FOR_UPDATE);
                        let revoked: Option<Option<i64>> =
                            sqlx::query_scalar(&sql).bind(&parent.0[..]).fetch_optional(&mut *tx).await?;
                        if !matches!(revoked, Some(None)) {
                            return Err(StoreError::ParentRevoked);
                        }
                        insert_tokens(tx, &[new]).await?;
                        D::Done
                    }
                    W::RevokeToken { hash, at } => {
                        let done = sqlx::query("UPDATE tokens SET revoked_at = $1 WHERE hash = $2 AND revoked_at IS NULL")
                            .bind(at)
                            .bind(&hash.0[..])
                            .execute(&mut *tx)
                            .await?;
                        D::Changed(done.rows_affected() == 1)
                    }
                    W::RevokeAllForUser { user, at } => {
                        // Waits for in-flight refreshes of this user's tokens and holds off new ones, so the update
                        // sees every child committed so far.
                        <$store as Backend>::lock_user_tokens(tx, *user, true).await?;
                        let done =
                            sqlx::query("UPDATE tokens SET revoked_at = $1 WHERE user_id = $2 AND revoked_at IS NULL")
                                .bind(at)
                                .bind(to_i64(user.0)?)
                                .execute(&mut *tx)
                                .await?;
                        D::Count(done.rows_affected())
                    }
                    W::CreatePage(page) => {
                        sqlx::query("INSERT INTO pages (id, name, business_id, category) VALUES ($1, $2, $3, $4)")
                            .bind(to_i64(page.id.0)?)
                            .bind(&page.name)
                            .bind(to_i64(page.business_id.0)?)
                            .bind(&page.category)
                            .execute(&mut *tx)
                            .await
                            .map_err(|e| conflict(e, format!("object {}", page.id)))?;
                        D::Done
                    }
                    W::SetPageRole(role) => {
                        sqlx::query(
                            "INSERT INTO page_roles (page_id, user_id, tasks) VALUES ($1, $2, $3)
                             ON CONFLICT (page_id, user_id) DO UPDATE SET tasks = excluded.tasks",
                        )
                        .bind(to_i64(role.page_id.0)?)
                        .bind(to_i64(role.user_id.0)?)
                        .bind(json(&role.tasks))
                        .execute(&mut *tx)
                        .await
                        .map_err(|e| conflict(e, format!("page {} or user {}", role.page_id, role.user_id)))?;
                        D::Done
                    }
                    W::RemovePageRole { page, user } => {
                        let sql = "DELETE FROM page_roles WHERE page_id = $1 AND user_id = $2";
                        D::Changed(change_pair(tx, sql, page.0, user.0, format!("page {page} or user {user}")).await?)
                    }
                    W::InsertCode(code) => {
                        insert_code(tx, code).await?;
                        D::Done
                    }
                    W::Consent { user, app, answers, code, token } => {
                        for (permission, status) in answers {
                            put_answer(tx, *user, *app, permission, *status).await?;
                        }
                        if let Some(code) = code {
                            insert_code(tx, code).await?;
                        }
                        if let Some(token) = token {
                            insert_tokens(tx, &[token]).await?;
                        }
                        D::Done
                    }
                    W::Deauthorize { user, app, at } => {
                        let sql = "DELETE FROM app_permissions WHERE user_id = $1 AND app_id = $2";
                        change_pair(tx, sql, user.0, app.0, format!("user {user} or app {app}")).await?;
                        sqlx::query(
                            "INSERT INTO app_deauthorizations (user_id, app_id, at) VALUES ($1, $2, $3)
                             ON CONFLICT (user_id, app_id) DO UPDATE SET at = excluded.at",
                        )
                        .bind(to_i64(user.0)?)
                        .bind(to_i64(app.0)?)
                        .bind(at)
                        .execute(&mut *tx)
                        .await
                        .map_err(|e| conflict(e, format!("user {user} or app {app}")))?;
                        D::Done
                    }
                    W::DeclinePermission { user, app, permission } => {
                        D::Changed(put_answer(tx, *user, *app, permission, PermissionStatus::Declined).await?)
                    }
                    W::RedeemCode { hash, at, token } => {
                        let done = sqlx::query("UPDATE auth_codes SET used_at = $1 WHERE hash = $2 AND used_at IS NULL")
                            .bind(at)
                            .bind(&hash.0[..])
                            .execute(&mut *tx)
                            .await?;
                        if done.rows_affected() != 1 {
                            return Err(StoreError::CodeUsed);
                        }
                        insert_tokens(tx, &[token]).await?;
                        D::Done
                    }
                    W::SetClockOffset(offset) => {
                        sqlx::query("UPDATE settings SET value = $1 WHERE key = 'clock_offset'")
                            .bind(offset)
                            .execute(&mut *tx)
                            .await?;
                        D::Done
                    }
                    W::AuditOnly => D::Done,
                    W::Restore(s) => {
                        restore(tx, s).await?;
                        D::Done
                    }
                    W::Reset => {
                        for t in RESET_ORDER {
                            sqlx::query(&format!("DELETE FROM {t}")).execute(&mut *tx).await?;
                        }
                        sqlx::query("UPDATE settings SET value = 0 WHERE key = 'clock_offset'").execute(&mut *tx).await?;
                        D::Done
                    }
                };
                Ok(done)
            }

            /// The audit entry of `w`, which answered `done`: "revoke all" says how many tokens it revoked, unless
            /// the caller said otherwise.
            fn audit_of<'a>(w: &Write, done: Written, a: &'a AuditEntry) -> std::borrow::Cow<'a, AuditEntry> {
                match (w, done) {
                    (Write::RevokeAllForUser { .. }, Written::Count(n)) if a.detail.is_null() => {
                        std::borrow::Cow::Owned(a.clone().detail(serde_json::json!({ "revoked": n })))
                    }
                    _ => std::borrow::Cow::Borrowed(a),
                }
            }

            /// How many writes at the head of `group` one statement per table can serve: a run of issuances, of
            /// revocations at the same time, or of refreshes (0 for any other write).
            fn batchable(group: &[(Write, AuditEntry)]) -> usize {
                let same = |f: &dyn Fn(&Write) -> bool| group.iter().take_while(|(w, _)| f(w)).count();
                match &group[0].0 {
                    Write::IssueToken(_) => same(&|w| matches!(w, Write::IssueToken(_))),
                    Write::RevokeToken { at, .. } => same(&|w| matches!(w, Write::RevokeToken { at: t, .. } if t == at)),
                    Write::RefreshToken(_) => same(&|w| matches!(w, Write::RefreshToken(_))),
                    _ => 0,
                }
            }

            /// Runs a [`batchable`] run of writes with a statement or two for all of them instead of one or two each
            /// (every statement is a round trip: to SQLite's thread, or to PostgreSQL), answering each write exactly
            /// as [`apply`] would have in turn. A statement that fails is the caller's cue to run them one by one.
            async fn apply_run(tx: &mut Conn, run: &[(Write, AuditEntry)]) -> Result<Vec<Result<Written>>> {
                /// `(` and each hash bound, comma-separated, and `)`.
                fn hash_list<'q>(q: &mut sqlx::QueryBuilder<'q, $db>, hashes: impl Iterator<Item = &'q TokenHash>) {
                    q.push("(");
                    let mut list = q.separated(", ");
                    for h in hashes {
                        list.push_bind(&h.0[..]);
                    }
                    q.push(")");
                }
                let tokens = || run.iter().filter_map(|(w, _)| match w {
                    Write::IssueToken(t) | Write::RefreshToken(t) => Some(t),
                    _ => None,
                });
                match &run[0].0 {
                    Write::IssueToken(_) => {
                        insert_tokens(tx, &tokens().collect::<Vec<_>>()).await?;
                        Ok(run.iter().map(|_| Ok(Written::Done)).collect())
                    }
                    Write::RevokeToken { at, .. } => {
                        let hashes: Vec<&TokenHash> = run
                            .iter()
                            .filter_map(|(w, _)| if let Write::RevokeToken { hash, .. } = w { Some(hash) } else { None })
                            .collect();
                        let mut q = sqlx::QueryBuilder::<$db>::new("UPDATE tokens SET revoked_at = ");
                        q.push_bind(*at);
                        q.push(" WHERE revoked_at IS NULL AND hash IN ");
                        hash_list(&mut q, hashes.iter().copied());
                        q.push(" RETURNING hash");
                        let changed: Vec<Vec<u8>> = q.build_query_scalar().fetch_all(&mut *tx).await?;
                        let mut changed: std::collections::HashSet<Vec<u8>> = changed.into_iter().collect();
                        // A token revoked twice in the run: the first revocation changed it, the second did not.
                        Ok(hashes.iter().map(|h| Ok(Written::Changed(changed.remove(&h.0[..])))).collect())
                    }
                    Write::RefreshToken(_) => {
                        let records: Vec<&TokenRecord> = tokens().collect();
                        // The family locks first, then the parents' rows, as each refresh alone takes them.
                        let mut users: Vec<UserId> = records.iter().filter_map(|t| t.user_id).collect();
                        users.sort_by_key(|u| u.0);
                        users.dedup();
                        for u in users {
                            <$store as Backend>::lock_user_tokens(tx, u, false).await?;
                        }
                        let mut live = std::collections::HashSet::new();
                        if records.iter().any(|t| t.parent.is_some()) {
                            let mut q = sqlx::QueryBuilder::<$db>::new(
                                "SELECT hash FROM tokens WHERE revoked_at IS NULL AND hash IN ",
                            );
                            hash_list(&mut q, records.iter().filter_map(|t| t.parent.as_ref()));
                            q.push(<$store as Backend>::FOR_UPDATE);
                            let found: Vec<Vec<u8>> = q.build_query_scalar().fetch_all(&mut *tx).await?;
                            live.extend(found);
                        }
                        let mut children = Vec::with_capacity(records.len());
                        let mut outcomes = Vec::with_capacity(records.len());
                        for t in records {
                            if t.parent.is_some_and(|p| live.contains(&p.0[..])) {
                                // A later refresh in the run may exchange this very child.
                                live.insert(t.hash.0.to_vec());
                                children.push(t);
                                outcomes.push(Ok(Written::Done));
                            } else {
                                outcomes.push(Err(StoreError::ParentRevoked));
                            }
                        }
                        if !children.is_empty() {
                            insert_tokens(tx, &children).await?;
                        }
                        Ok(outcomes)
                    }
                    other => unreachable!("not batchable: {other:?}"),
                }
            }

            /// How a group went: every write's own outcome, or `Again` when it must be run another way (nothing of
            /// it was committed).
            enum Group {
                Done(Vec<Result<Written>>),
                Again,
            }

            /// A write connection and its transaction, begun and ended by statements of its own rather than by a
            /// `sqlx::Transaction`, so that a commit can begin the next group's transaction in the same round trip
            /// ([`Backend::COMMIT_THEN_BEGIN`]). `open` says whether the connection is inside one.
            struct WriterTx {
                conn: sqlx::pool::PoolConnection<$db>,
                open: bool,
            }

            impl Drop for WriterTx {
                /// A transaction still open here (a rollback that failed, or a caller's future dropped in the middle
                /// of a write) must not reach the pool's next user: the connection is closed instead of going back,
                /// and the database drops what the transaction held.
                fn drop(&mut self) {
                    if self.open {
                        self.conn.close_on_drop();
                    }
                }
            }

            impl WriterTx {
                /// Begins a write transaction unless one is already open (begun by the last commit).
                async fn begin(&mut self) -> Result<()> {
                    if !self.open {
                        sqlx::Executor::execute(&mut *self.conn, sqlx::raw_sql(<$store as Backend>::BEGIN_WRITE)).await?;
                        self.open = true;
                    }
                    Ok(())
                }

                /// Ends the open transaction, undoing it.
                async fn rollback(&mut self) -> Result<()> {
                    sqlx::Executor::execute(&mut *self.conn, sqlx::raw_sql("ROLLBACK")).await?;
                    self.open = false;
                    Ok(())
                }

                /// Commits; with `then_begin`, and where the backend does, begins the next transaction in the same
                /// round trip. Only the commit's own outcome is the group's: a begin that fails after it leaves no
                /// transaction open, and the next group begins one itself.
                async fn commit(&mut self, then_begin: bool) -> Result<()> {
                    match <$store as Backend>::COMMIT_THEN_BEGIN.filter(|_| then_begin) {
                        Some(both) => {
                            use futures_util::StreamExt;
                            let mut results = sqlx::Executor::execute_many(&mut *self.conn, sqlx::raw_sql(both));
                            match results.next().await {
                                Some(Ok(_)) => {}
                                Some(Err(e)) => return Err(e.into()),
                                None => return Err(StoreError::Unavailable("the commit gave no answer".into())),
                            }
                            self.open = matches!(results.next().await, Some(Ok(_)));
                            while results.next().await.is_some() {}
                        }
                        None => {
                            sqlx::Executor::execute(&mut *self.conn, sqlx::raw_sql("COMMIT")).await?;
                            self.open = false;
                        }
                    }
                    Ok(())
                }
            }

            /// Runs `group` in one transaction, in order, and commits once. Optimistic (`careful` false): the first
            /// write that fails rolls everything back and answers `Again`, and runs of issuances are inserted with
            /// one statement. Careful: each write runs inside its own savepoint, so one that fails is undone alone
            /// and answers its own error while the others commit; only a transient failure (a deadlock with another
            /// process) answers `Again`. Each audit entry is appended, in the writes' order, after the writes, in
            /// one statement; a failure there or at commit is the whole group's. `then_begin` is asked at the
            /// commit whether another group will follow on this connection.
            async fn run_group(
                tx: &mut WriterTx,
                ctx: &WriteCtx,
                group: &[(Write, AuditEntry)],
                careful: bool,
                then_begin: &(dyn Fn() -> bool + Send + Sync),
            ) -> Result<Group> {
                let started = std::time::Instant::now();
                tx.begin().await?;
                let begun = started.elapsed();
                let mut results = Vec::with_capacity(group.len());
                let mut audits = Vec::with_capacity(group.len());
                let mut stale: Vec<Invalidation> = Vec::new();
                let mut i = 0;
                while i < group.len() {
                    let (w, a) = &group[i];
                    let run = batchable(&group[i..]);
                    if !careful && run > 1 {
                        let Ok(outcomes) = apply_run(&mut tx.conn, &group[i..i + run]).await else {
                            tx.rollback().await?;
                            return Ok(Group::Again);
                        };
                        for ((w, a), r) in group[i..i + run].iter().zip(outcomes) {
                            if let Ok(done) = r {
                                audits.push(audit_of(w, done, a));
                                for ev in w.stale() {
                                    if !stale.contains(&ev) {
                                        stale.push(ev);
                                    }
                                }
                            }
                            results.push(r);
                        }
                        i += run;
                        continue;
                    }
                    if careful {
                        sqlx::query("SAVEPOINT w").execute(&mut *tx.conn).await?;
                    }
                    match apply(&mut tx.conn, w).await {
                        Ok(done) => {
                            if careful {
                                sqlx::query("RELEASE SAVEPOINT w").execute(&mut *tx.conn).await?;
                            }
                            audits.push(audit_of(w, done, a));
                            for ev in w.stale() {
                                if !stale.contains(&ev) {
                                    stale.push(ev);
                                }
                            }
                            results.push(Ok(done));
                        }
                        Err(e) if careful && !$crate::sql::transient(&e) => {
                            sqlx::query("ROLLBACK TO SAVEPOINT w").execute(&mut *tx.conn).await?;
                            sqlx::query("RELEASE SAVEPOINT w").execute(&mut *tx.conn).await?;
                            results.push(Err(e));
                        }
                        Err(_) => {
                            tx.rollback().await?;
                            return Ok(Group::Again);
                        }
                    }
                    i += 1;
                }
                let written = started.elapsed();
                let mut head = None;
                if !audits.is_empty() {
                    let audits: Vec<&AuditEntry> = audits.iter().map(|a| a.as_ref()).collect();
                    head = insert_audits(&mut tx.conn, &audits, ctx).await?;
                }
                <$store as Backend>::announce(ctx, &mut tx.conn, &stale).await?;
                let audited = started.elapsed();
                tx.commit(then_begin()).await?;
                ctx.committed_audit_head(head);
                let ends = [begun, written, audited, started.elapsed()];
                let mut from = std::time::Duration::ZERO;
                for (phase, end) in $crate::WRITE_GROUP_PHASES.into_iter().zip(ends) {
                    metrics::histogram!($crate::WRITE_GROUP_PHASE_SECONDS, "phase" => phase).record(end - from);
                    from = end;
                }
                Ok(Group::Done(results))
            }

            /// Runs one write alone in its own transaction: the last resort of a group that met a transient failure.
            async fn run_alone(tx: &mut WriterTx, ctx: &WriteCtx, w: &Write, a: &AuditEntry) -> Result<Written> {
                tx.begin().await?;
                let done = apply(&mut tx.conn, w).await?;
                let head = insert_audits(&mut tx.conn, &[audit_of(w, done, a).as_ref()], ctx).await?;
                <$store as Backend>::announce(ctx, &mut tx.conn, &w.stale()).await?;
                tx.commit(false).await?;
                ctx.committed_audit_head(head);
                Ok(done)
            }

            /// Every outcome of `group`: optimistic first, then careful if a write failed, then one write at a time
            /// if the careful run met a transient failure. A failure of the group as a whole (the database refused
            /// the commit or went away) is every write's.
            ///
            /// The second value is false if the group failed as a whole or fell back to one write at a time: the
            /// connection may be broken, so the writer does not keep it.
            async fn commit_group(
                tx: &mut WriterTx,
                ctx: &WriteCtx,
                group: &[(Write, AuditEntry)],
                then_begin: &(dyn Fn() -> bool + Send + Sync),
            ) -> (Vec<Result<Written>>, bool) {
                for careful in [false, true] {
                    match run_group(tx, ctx, group, careful, then_begin).await {
                        Ok(Group::Done(results)) => return (results, true),
                        Ok(Group::Again) => {}
                        Err(e) => return (whole_group_failed(group.len(), &e), false),
                    }
                }
                let mut results = Vec::with_capacity(group.len());
                for (w, a) in group {
                    let r = run_alone(tx, ctx, w, a).await;
                    if r.is_err() && tx.open {
                        // A write that failed alone is undone alone, as its transaction would have been.
                        if let Err(e) = tx.rollback().await {
                            results.push(r);
                            results.extend(whole_group_failed(group.len() - results.len(), &e));
                            return (results, false);
                        }
                    }
                    results.push(r);
                }
                // A transient failure may have been the connection's own: not kept, the pool checks it on return.
                (results, false)
            }

            /// Before a write connection goes back to the pool: a transaction begun for a group that will not follow,
            /// or left open by a failure, is rolled back (if it cannot be, dropping `tx` closes the connection).
            async fn end_open(mut tx: WriterTx) {
                if tx.open {
                    let _ = tx.rollback().await;
                }
            }

            /// Every write's answer when the group could not run or commit at all.
            fn whole_group_failed(n: usize, e: &StoreError) -> Vec<Result<Written>> {
                (0..n).map(|_| Err(StoreError::Unavailable(format!("group commit failed: {e}")))).collect()
            }

            /// The group-commit writer: every write waiting when it is free (up to [`MAX_GROUP`]) goes into one
            /// transaction, so one durable commit serves them all while each caller hears back only once its write
            /// is committed, with exactly the outcome it would have had alone (the writes apply in arrival order).
            /// Ends when the last clone of the store, and so the queue, is gone.
            ///
            /// The writer keeps its connection from one group to the next while writes are queued and no statement
            /// outside its groups waits for one ([`WriteCtx::want`]): sqlx hands a connection back to its pool on a
            /// task of its own and pings it first, and on a busy server taking it again waited for both (the task
            /// queues behind the HTTP requests). When nothing is queued it hands the connection back, so an idle writer
            /// holds none and the pool's own check of a returned connection (a ping) runs between its bursts; a group
            /// that failed as a whole or fell back to one write at a time also hands it back, as it may be broken.
            /// While it keeps the connection, its commit may already begin the next group's transaction
            /// ([`Backend::COMMIT_THEN_BEGIN`]); one begun for a group that then does not follow is rolled back before
            /// the connection goes back.
            pub(crate) async fn group_writer(
                pool: sqlx::Pool<$db>,
                ctx: WriteCtx,
                mut rx: tokio::sync::mpsc::Receiver<Queued>,
            ) {
                let mut batch: Vec<Queued> = Vec::with_capacity(MAX_GROUP);
                // The connection kept between groups, and whether the last commit already began the next group's
                // transaction on it.
                let mut kept: Option<WriterTx> = None;
                while rx.recv_many(&mut batch, MAX_GROUP).await > 0 {
                    let started = std::time::Instant::now();
                    let (group, replies): (Vec<_>, Vec<_>) = batch.drain(..).map(|(w, a, r)| ((w, a), r)).unzip();
                    let tx = match kept.take() {
                        Some(tx) => Ok(tx),
                        None => pool.acquire().await.map(|conn| WriterTx { conn, open: false }).map_err(StoreError::from),
                    };
                    let others = || ctx.wanting.load(std::sync::atomic::Ordering::SeqCst) > 0 || pool.is_closed();
                    // Asked at the commit: will this connection serve another group right after?
                    let more = || !rx.is_empty() && !others();
                    let (results, release) = match tx {
                        Ok(mut tx) => {
                            let (results, healthy) = commit_group(&mut tx, &ctx, &group, &more).await;
                            if healthy && more() {
                                kept = Some(tx);
                                (results, None)
                            } else {
                                (results, Some(tx))
                            }
                        }
                        Err(e) => (whole_group_failed(group.len(), &e), None),
                    };
                    let took = started.elapsed();
                    for (reply, r) in replies.into_iter().zip(results) {
                        let _ = reply.send(r);
                    }
                    // After the answers, which do not wait for it; back to the pool (or closed) before the next group.
                    if let Some(tx) = release {
                        end_open(tx).await;
                    }
                    // After the answers, which need neither. Looked up per group, not once: the store may open before
                    // the server installs its recorder.
                    metrics::histogram!($crate::WRITE_GROUP_SIZE).record(group.len() as f64);
                    metrics::histogram!($crate::WRITE_GROUP_SECONDS).record(took);
                    if let Some(nudge) = &ctx.committed {
                        // Full means a nudge is already waiting: the checkpointer will see this commit too.
                        let _ = nudge.try_send(());
                    }
                }
            }

            /// Starts `readers` tasks answering token reads in batches on `pool`, and returns where to send them. The
            /// readers take turns at the queue: each takes everything waiting (up to [`MAX_READ_BATCH`]) and answers
            /// it with one statement, while the next waits for what comes meanwhile. A read starts only after its
            /// request was queued, so it sees every write acknowledged before. The tasks end with the last sender.
            pub(crate) fn spawn_token_readers(
                pool: sqlx::Pool<$db>,
                readers: usize,
            ) -> tokio::sync::mpsc::Sender<TokenRead> {
                let (tx, rx) = tokio::sync::mpsc::channel(READ_QUEUE);
                let rx = Arc::new(tokio::sync::Mutex::new(rx));
                for _ in 0..readers {
                    tokio::spawn(token_reader(pool.clone(), rx.clone()));
                }
                tx
            }

            async fn token_reader(
                pool: sqlx::Pool<$db>,
                rx: Arc<tokio::sync::Mutex<tokio::sync::mpsc::Receiver<TokenRead>>>,
            ) {
                let statements: Vec<String> = READ_BATCH_SIZES
                    .iter()
                    .map(|&n| {
                        let list: Vec<String> = (1..=n).map(|i| format!("${i}")).collect();
                        format!("SELECT {TOKEN_COLUMNS} FROM tokens WHERE hash IN ({})", list.join(", "))
                    })
                    .collect();
                let mut batch: Vec<TokenRead> = Vec::with_capacity(MAX_READ_BATCH);
                loop {
                    if rx.lock().await.recv_many(&mut batch, MAX_READ_BATCH).await == 0 {
                        return;
                    }
                    // A request that went away while its read waited needs no answer.
                    batch.retain(|(_, reply)| !reply.is_closed());
                    if batch.is_empty() {
                        continue;
                    }
                    match pool.acquire().await {
                        Ok(mut conn) => {
                            let found = read_tokens(&mut conn, &statements, &batch).await;
                            answer_reads(&mut batch, found.map_err(|e| format!("reading tokens: {e}")));
                        }
                        Err(e) => {
                            // No connection within the pool's timeout: what queued meanwhile would wait as long
                            // again, batch after batch, so it fails now too.
                            let why = format!("reading tokens: {e}");
                            if let Ok(mut queue) = rx.try_lock() {
                                while batch.len() < READ_QUEUE {
                                    let Ok(read) = queue.try_recv() else { break };
                                    batch.push(read);
                                }
                            }
                            answer_reads(&mut batch, Err(why));
                        }
                    }
                }
            }

            /// One statement for the whole batch: the IN list padded to one of [`READ_BATCH_SIZES`]. Each row is
            /// decoded on its own, so one that does not decode fails only the reads of its hash.
            async fn read_tokens(
                conn: &mut Conn,
                statements: &[String],
                batch: &[TokenRead],
            ) -> std::result::Result<Vec<FoundToken>, sqlx::Error> {
                let size = padded(batch.len());
                let sql = &statements[READ_BATCH_SIZES.iter().position(|&s| s == size).unwrap_or(0)];
                let mut q = sqlx::query(sql);
                for i in 0..size {
                    q = q.bind(&batch[i.min(batch.len() - 1)].0 .0[..]);
                }
                let rows = q.fetch_all(&mut *conn).await?;
                Ok(rows
                    .iter()
                    .map(|row| {
                        let key = sqlx::Row::try_get::<Vec<u8>, _>(row, "hash").ok().and_then(|h| h.try_into().ok());
                        let token = <TokenRow as sqlx::FromRow<_>>::from_row(row)
                            .map_err(StoreError::from)
                            .and_then(TokenRow::domain)
                            .map(Arc::new)
                            .map_err(|e| match e {
                                StoreError::Corrupt(why) => why,
                                other => other.to_string(),
                            });
                        (key, token)
                    })
                    .collect())
            }

            /// Apps (one, or all by id) with their roles and shares, read in `c`.
            async fn load_apps(c: &mut Conn, id: Option<i64>) -> Result<Vec<StoredApp>> {
                let (apps, roles, clients) = match id {
                    Some(_) => ("WHERE id = $1", "WHERE app_id = $1", "WHERE app_id = $1"),
                    None => ("", "", ""),
                };
                let apps = format!("SELECT {APP_COLUMNS} FROM apps {apps} ORDER BY id");
                let roles = format!("SELECT app_id, user_id, role FROM app_roles {roles} ORDER BY app_id, pos, user_id");
                let clients =
                    format!("SELECT app_id, business_id FROM app_clients {clients} ORDER BY app_id, pos, business_id");
                let (mut a, mut r, mut s) =
                    (sqlx::query_as::<_, AppRow>(&apps), sqlx::query_as::<_, AppRoleRow>(&roles), sqlx::query_as::<_, AppClientRow>(&clients));
                if let Some(id) = id {
                    (a, r, s) = (a.bind(id), r.bind(id), s.bind(id));
                }
                let apps = a.fetch_all(&mut *c).await?;
                let mut roles_of: BTreeMap<i64, Vec<AppRoleRow>> = BTreeMap::new();
                for row in r.fetch_all(&mut *c).await? {
                    roles_of.entry(row.app_id).or_default().push(row);
                }
                let mut clients_of: BTreeMap<i64, Vec<AppClientRow>> = BTreeMap::new();
                for row in s.fetch_all(&mut *c).await? {
                    clients_of.entry(row.app_id).or_default().push(row);
                }
                apps.into_iter()
                    .map(|app| {
                        let (roles, clients) = (roles_of.remove(&app.id()), clients_of.remove(&app.id()));
                        app.domain(roles.unwrap_or_default(), clients.unwrap_or_default())
                    })
                    .collect()
            }

            impl $store {
                /// Runs raw SQL on the write connection. Only for tests that prove the database itself refuses
                /// something.
                #[doc(hidden)]
                pub async fn raw_execute(&self, sql: &str) -> Result<()> {
                    let mut conn = self.write_conn().await?;
                    let done = sqlx::query(sql).execute(&mut *conn).await;
                    // It may have written the audit table behind the chain's head. Forgotten while this still holds
                    // the write connection, so no group can take the old head in between.
                    self.write_ctx().forget_audit_head();
                    done?;
                    Ok(())
                }

                /// Commits `group` as the writer would had it found exactly these writes queued, in this order. Only
                /// for tests that compare a group with its writes run one by one.
                #[doc(hidden)]
                pub async fn execute_group(&self, group: &[(Write, AuditEntry)]) -> Vec<Result<Written>> {
                    match self.write_conn().await {
                        Ok(conn) => {
                            let mut tx = WriterTx { conn, open: false };
                            let (results, _) = commit_group(&mut tx, self.write_ctx(), group, &|| false).await;
                            end_open(tx).await;
                            results
                        }
                        Err(e) => whole_group_failed(group.len(), &e),
                    }
                }

                /// A write connection outside the writer's groups: asks the writer for the one it may be keeping
                /// ([`WriteCtx::want`]) while it waits for the pool.
                async fn write_conn(&self) -> Result<sqlx::pool::PoolConnection<$db>> {
                    let _want = self.write_ctx().want();
                    Ok(self.write_pool().acquire().await?)
                }
            }

            #[async_trait::async_trait]
            impl $crate::Writes for $store {
                async fn execute(&self, w: &Write, a: &AuditEntry) -> Result<Written> {
                    if let Write::Restore(_) = w {
                        // The whole state: copying it into the queue would double it in memory, and sharing its
                        // commit saves nothing. The write pool still orders it with the groups.
                        let mut tx = WriterTx { conn: self.write_conn().await?, open: false };
                        let done = run_alone(&mut tx, self.write_ctx(), w, a).await;
                        end_open(tx).await;
                        return done;
                    }
                    let stopped = || StoreError::Unavailable("the writer has stopped".into());
                    let (reply, answer) = tokio::sync::oneshot::channel();
                    self.write_queue().send((w.clone(), a.clone(), reply)).await.map_err(|_| stopped())?;
                    answer.await.map_err(|_| stopped())?
                }
            }

            #[async_trait::async_trait]
            impl $crate::Tokens for $store {
                /// Through the batch readers ([`spawn_token_readers`]): on a cold cache, concurrent misses share a
                /// statement.
                async fn get_token(&self, hash: &TokenHash) -> Result<Option<Arc<TokenRecord>>> {
                    let stopped = || StoreError::Unavailable("the token readers have stopped".into());
                    let (reply, answer) = tokio::sync::oneshot::channel();
                    self.token_reads().send((*hash, reply)).await.map_err(|_| stopped())?;
                    answer.await.map_err(|_| stopped())?
                }

                async fn get_code(&self, hash: &TokenHash) -> Result<Option<AuthCode>> {
                    let row: Option<CodeRow> = sqlx::query_as(
                        "SELECT hash, app_id, user_id, redirect_uri, scopes, created_at, used_at, session_epoch
                         FROM auth_codes WHERE hash = $1",
                    )
                    .bind(&hash.0[..])
                    .fetch_optional(self.read_pool())
                    .await?;
                    row.map(CodeRow::domain).transpose()
                }
            }

            #[async_trait::async_trait]
            impl $crate::Directory for $store {
                async fn next_id(&self) -> Result<u64> {
                    self.allocate_id().await
                }

                async fn get_business(&self, id: BusinessId) -> Result<Option<Business>> {
                    let row: Option<BusinessRow> =
                        sqlx::query_as(&format!("SELECT {BUSINESS_COLUMNS} FROM businesses WHERE id = $1"))
                            .bind(to_i64(id.0)?)
                            .fetch_optional(self.read_pool())
                            .await?;
                    row.map(BusinessRow::domain).transpose()
                }

                async fn list_child_businesses(&self, parent: BusinessId) -> Result<Vec<Business>> {
                    let rows: Vec<BusinessRow> = sqlx::query_as(&format!(
                        "SELECT {BUSINESS_COLUMNS} FROM businesses WHERE parent_id = $1 ORDER BY id"
                    ))
                    .bind(to_i64(parent.0)?)
                    .fetch_all(self.read_pool())
                    .await?;
                    rows.into_iter().map(BusinessRow::domain).collect()
                }

                async fn get_user(&self, id: UserId) -> Result<Option<User>> {
                    let row: Option<UserRow> = sqlx::query_as(&format!("SELECT {USER_COLUMNS} FROM users WHERE id = $1"))
                        .bind(to_i64(id.0)?)
                        .fetch_optional(self.read_pool())
                        .await?;
                    row.map(UserRow::domain).transpose()
                }

                async fn list_system_users(&self, business: BusinessId) -> Result<Vec<User>> {
                    let rows: Vec<UserRow> = sqlx::query_as(&format!(
                        "SELECT {USER_COLUMNS} FROM users WHERE business_id = $1 AND kind = 'system_user'
                         ORDER BY created_seq"
                    ))
                    .bind(to_i64(business.0)?)
                    .fetch_all(self.read_pool())
                    .await?;
                    rows.into_iter().map(UserRow::domain).collect()
                }

                async fn get_password_hash(&self, user: UserId) -> Result<Option<String>> {
                    Ok(sqlx::query_scalar("SELECT password_hash FROM credentials WHERE user_id = $1")
                        .bind(to_i64(user.0)?)
                        .fetch_optional(self.read_pool())
                        .await?)
                }

                async fn get_app(&self, id: AppId) -> Result<Option<Arc<StoredApp>>> {
                    let mut c = self.read_pool().begin_with(<$store as Backend>::BEGIN_SNAPSHOT).await?;
                    let app = load_apps(&mut *c, Some(to_i64(id.0)?)).await?.pop();
                    c.commit().await?;
                    Ok(app.map(Arc::new))
                }

                async fn is_installed(&self, su: UserId, app: AppId) -> Result<bool> {
                    let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM installs WHERE user_id = $1 AND app_id = $2")
                        .bind(to_i64(su.0)?)
                        .bind(to_i64(app.0)?)
                        .fetch_one(self.read_pool())
                        .await?;
                    Ok(n > 0)
                }

                async fn app_scoped_id(&self, app: AppId, su: UserId) -> Result<UserId> {
                    let _want = self.write_ctx().want();
                    let find = || async {
                        sqlx::query_scalar::<_, i64>("SELECT id FROM app_scoped_ids WHERE app_id = $1 AND user_id = $2")
                            .bind(to_i64(app.0)?)
                            .bind(to_i64(su.0)?)
                            .fetch_optional(self.write_pool())
                            .await
                            .map_err(StoreError::from)
                    };
                    if let Some(id) = find().await? {
                        return Ok(UserId(to_u64(id)));
                    }
                    let fresh = to_i64(self.allocate_id().await?)?;
                    // A concurrent allocation for the same pair wins through the unique constraint; re-read either way.
                    sqlx::query(
                        "INSERT INTO app_scoped_ids (id, app_id, user_id) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
                    )
                    .bind(fresh)
                    .bind(to_i64(app.0)?)
                    .bind(to_i64(su.0)?)
                    .execute(self.write_pool())
                    .await
                    .map_err(|e| conflict(e, format!("user {su}")))?;
                    find().await?.map(|id| UserId(to_u64(id))).ok_or_else(|| StoreError::NotFound(format!("user {su}")))
                }

                async fn resolve_app_scoped_id(&self, id: UserId) -> Result<Option<(AppId, UserId)>> {
                    let row: Option<PairRow> = sqlx::query_as("SELECT app_id, user_id FROM app_scoped_ids WHERE id = $1")
                        .bind(to_i64(id.0)?)
                        .fetch_optional(self.read_pool())
                        .await?;
                    Ok(row.map(|r| {
                        let (user, app) = r.domain();
                        (app, user)
                    }))
                }

                async fn get_page(&self, id: PageId) -> Result<Option<Page>> {
                    let row: Option<PageRow> = sqlx::query_as("SELECT id, name, business_id, category FROM pages WHERE id = $1")
                        .bind(to_i64(id.0)?)
                        .fetch_optional(self.read_pool())
                        .await?;
                    row.map(PageRow::domain).transpose()
                }

                async fn list_business_pages(&self, business: BusinessId) -> Result<Vec<Page>> {
                    let rows: Vec<PageRow> =
                        sqlx::query_as("SELECT id, name, business_id, category FROM pages WHERE business_id = $1 ORDER BY id")
                            .bind(to_i64(business.0)?)
                            .fetch_all(self.read_pool())
                            .await?;
                    rows.into_iter().map(PageRow::domain).collect()
                }

                async fn get_page_role(&self, page: PageId, user: UserId) -> Result<Option<PageRole>> {
                    let row: Option<PageRoleRow> = sqlx::query_as(
                        "SELECT page_id, user_id, tasks FROM page_roles WHERE page_id = $1 AND user_id = $2",
                    )
                    .bind(to_i64(page.0)?)
                    .bind(to_i64(user.0)?)
                    .fetch_optional(self.read_pool())
                    .await?;
                    row.map(PageRoleRow::domain).transpose()
                }

                async fn list_page_roles(&self, page: PageId) -> Result<Vec<PageRole>> {
                    let rows: Vec<PageRoleRow> = sqlx::query_as(
                        "SELECT page_id, user_id, tasks FROM page_roles WHERE page_id = $1 ORDER BY user_id",
                    )
                    .bind(to_i64(page.0)?)
                    .fetch_all(self.read_pool())
                    .await?;
                    rows.into_iter().map(PageRoleRow::domain).collect()
                }

                async fn list_user_pages(&self, user: UserId) -> Result<Vec<(Page, PageRole)>> {
                    let rows: Vec<UserPageRow> = sqlx::query_as(
                        "SELECT p.id, p.name, p.business_id, p.category, r.page_id, r.user_id, r.tasks
                         FROM page_roles r JOIN pages p ON p.id = r.page_id WHERE r.user_id = $1 ORDER BY p.id",
                    )
                    .bind(to_i64(user.0)?)
                    .fetch_all(self.read_pool())
                    .await?;
                    rows.into_iter().map(UserPageRow::domain).collect()
                }

                async fn get_authorization(&self, user: UserId, app: AppId) -> Result<Authorization> {
                    let mut c = self.read_pool().begin_with(<$store as Backend>::BEGIN_SNAPSHOT).await?;
                    let rows: Vec<(String, String)> = sqlx::query_as(
                        "SELECT permission, status FROM app_permissions WHERE user_id = $1 AND app_id = $2
                         ORDER BY pos, permission",
                    )
                    .bind(to_i64(user.0)?)
                    .bind(to_i64(app.0)?)
                    .fetch_all(&mut *c)
                    .await?;
                    let deauthorized_at: Option<i64> =
                        sqlx::query_scalar("SELECT at FROM app_deauthorizations WHERE user_id = $1 AND app_id = $2")
                            .bind(to_i64(user.0)?)
                            .bind(to_i64(app.0)?)
                            .fetch_optional(&mut *c)
                            .await?;
                    c.commit().await?;
                    let answers = rows
                        .into_iter()
                        .map(|(p, st)| {
                            let st = PermissionStatus::parse(&st)
                                .ok_or_else(|| StoreError::Corrupt(format!("permission status {st}")))?;
                            Ok((Scope::from_stored(p), st))
                        })
                        .collect::<Result<Vec<_>>>()?;
                    Ok(Authorization { answers, deauthorized_at })
                }
            }

            #[async_trait::async_trait]
            impl $crate::AuditLog for $store {
                async fn audit_tail(&self, limit: i64) -> Result<Vec<AuditEntry>> {
                    let rows: Vec<AuditRow> = sqlx::query_as(
                        "SELECT * FROM (SELECT seq, at, action, actor, subject, app_id, token_ref, detail FROM audit
                         ORDER BY seq DESC LIMIT $1) AS t ORDER BY seq",
                    )
                    .bind(limit)
                    .fetch_all(self.read_pool())
                    .await?;
                    rows.into_iter().map(AuditRow::domain).collect()
                }
            }

            #[async_trait::async_trait]
            impl $crate::Operator for $store {
                async fn clock_offset(&self) -> Result<i64> {
                    Ok(sqlx::query_scalar("SELECT value FROM settings WHERE key = 'clock_offset'")
                        .fetch_one(self.read_pool())
                        .await?)
                }

                async fn dump(&self) -> Result<Dump> {
                    // One snapshot for every part of the dump, even while others write.
                    let mut c = self.read_pool().begin_with(<$store as Backend>::BEGIN_SNAPSHOT).await?;
                    let businesses: Vec<BusinessRow> =
                        sqlx::query_as(&format!("SELECT {BUSINESS_COLUMNS} FROM businesses ORDER BY id"))
                            .fetch_all(&mut *c)
                            .await?;
                    let users: Vec<UserRow> = sqlx::query_as(&format!("SELECT {USER_COLUMNS} FROM users ORDER BY id"))
                        .fetch_all(&mut *c)
                        .await?;
                    let apps = load_apps(&mut *c, None).await?;
                    let installs: Vec<PairRow> =
                        sqlx::query_as("SELECT user_id, app_id FROM installs ORDER BY user_id, app_id")
                            .fetch_all(&mut *c)
                            .await?;
                    let pages: Vec<PageRow> = sqlx::query_as("SELECT id, name, business_id, category FROM pages ORDER BY id")
                        .fetch_all(&mut *c)
                        .await?;
                    let page_roles: Vec<PageRoleRow> =
                        sqlx::query_as("SELECT page_id, user_id, tasks FROM page_roles ORDER BY page_id, user_id")
                            .fetch_all(&mut *c)
                            .await?;
                    let tokens: Vec<TokenRow> =
                        sqlx::query_as(&format!("SELECT {TOKEN_COLUMNS} FROM tokens ORDER BY issued_at, hash"))
                            .fetch_all(&mut *c)
                            .await?;
                    let audit_len: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM audit").fetch_one(&mut *c).await?;
                    let clock_offset: i64 = sqlx::query_scalar("SELECT value FROM settings WHERE key = 'clock_offset'")
                        .fetch_one(&mut *c)
                        .await?;
                    c.commit().await?;
                    Ok(Dump {
                        businesses: businesses.into_iter().map(BusinessRow::domain).collect::<Result<_>>()?,
                        users: users.into_iter().map(UserRow::domain).collect::<Result<_>>()?,
                        apps: apps.into_iter().map(|s| s.app).collect(),
                        installs: installs.into_iter().map(PairRow::domain).collect(),
                        pages: pages.into_iter().map(PageRow::domain).collect::<Result<_>>()?,
                        page_roles: page_roles.into_iter().map(PageRoleRow::domain).collect::<Result<_>>()?,
                        tokens: tokens.into_iter().map(|t| t.domain().map(|t| summary(&t))).collect::<Result<_>>()?,
                        audit_len,
                        clock_offset,
                    })
                }

                async fn snapshot(&self) -> Result<Snapshot> {
                    use snapshot::select as q;
                    let mut c = self.read_pool().begin_with(<$store as Backend>::BEGIN_SNAPSHOT).await?;
                    let clock_offset: i64 = sqlx::query_scalar("SELECT value FROM settings WHERE key = 'clock_offset'")
                        .fetch_one(&mut *c)
                        .await?;
                    let next_id: i64 = sqlx::query_scalar(<$store as Backend>::PEEK_NEXT_ID).fetch_one(&mut *c).await?;
                    let s = Snapshot {
                        clock_offset,
                        next_id: to_u64(next_id),
                        businesses: sqlx::query_as(q::BUSINESSES).fetch_all(&mut *c).await?,
                        users: sqlx::query_as(q::USERS).fetch_all(&mut *c).await?,
                        credentials: sqlx::query_as(q::CREDENTIALS).fetch_all(&mut *c).await?,
                        apps: sqlx::query_as(q::APPS).fetch_all(&mut *c).await?,
                        app_roles: sqlx::query_as(q::APP_ROLES).fetch_all(&mut *c).await?,
                        app_clients: sqlx::query_as(q::APP_CLIENTS).fetch_all(&mut *c).await?,
                        installs: sqlx::query_as(q::INSTALLS).fetch_all(&mut *c).await?,
                        pages: sqlx::query_as(q::PAGES).fetch_all(&mut *c).await?,
                        page_roles: sqlx::query_as(q::PAGE_ROLES).fetch_all(&mut *c).await?,
                        tokens: sqlx::query_as(q::TOKENS).fetch_all(&mut *c).await?,
                        auth_codes: sqlx::query_as(q::AUTH_CODES).fetch_all(&mut *c).await?,
                        app_scoped_ids: sqlx::query_as(q::APP_SCOPED_IDS).fetch_all(&mut *c).await?,
                        app_permissions: sqlx::query_as(q::APP_PERMISSIONS).fetch_all(&mut *c).await?,
                        app_deauthorizations: sqlx::query_as(q::APP_DEAUTHORIZATIONS).fetch_all(&mut *c).await?,
                    };
                    c.commit().await?;
                    Ok(s)
                }

                fn subscribe(&self) -> Option<tokio::sync::mpsc::UnboundedReceiver<Invalidation>> {
                    self.changes()
                }
            }
        }
    };
}
pub(crate) use sql_store;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_batch_is_padded_to_the_smallest_statement_that_holds_it() {
        let cases = [(1, 1), (2, 2), (3, 4), (5, 8), (16, 16), (17, 32), (33, 64), (64, 64)];
        for (n, want) in cases {
            assert_eq!(padded(n), want, "{n} reads");
        }
        assert!(READ_BATCH_SIZES.windows(2).all(|w| w[0] < w[1]));
        assert_eq!(READ_BATCH_SIZES.last(), Some(&MAX_READ_BATCH));
    }

    fn record(n: u8) -> Arc<TokenRecord> {
        Arc::new(TokenRecord {
            hash: TokenHash([n; 32]),
            kind: suat_core::TokenKind::SystemUser,
            app_id: suat_core::AppId(20),
            user_id: Some(UserId(10)),
            page_id: None,
            scopes: vec![],
            issued_at: i64::from(n),
            expires_at: None,
            revoked_at: None,
            parent: None,
            session_epoch: 0,
        })
    }

    type Answer = oneshot::Receiver<Result<Option<Arc<TokenRecord>>>>;

    /// Reads of hashes `ns`, in that order, and where each answer arrives.
    fn reads(ns: &[u8]) -> (Vec<TokenRead>, Vec<Answer>) {
        ns.iter()
            .map(|&n| {
                let (tx, rx) = oneshot::channel();
                ((TokenHash([n; 32]), tx), rx)
            })
            .unzip()
    }

    fn outcome(rx: &mut Answer) -> String {
        match rx.try_recv().expect("answered") {
            Ok(Some(t)) => format!("token {}", t.issued_at),
            Ok(None) => "none".into(),
            Err(StoreError::Corrupt(why)) => format!("corrupt: {why}"),
            Err(e) => format!("error: {e}"),
        }
    }

    #[test]
    fn each_read_of_a_batch_gets_the_row_of_its_own_hash() {
        // Rows come back in the database's order, not the batch's; 3 is read twice, 4 has no row, 5's row does not
        // decode, and a row with a malformed hash answers nothing.
        let (mut batch, mut rxs) = reads(&[3, 1, 4, 3, 5, 2]);
        let found = vec![
            (None, Ok(record(9))),
            (Some([5; 32]), Err("scopes: bad".to_owned())),
            (Some([2; 32]), Ok(record(2))),
            (Some([3; 32]), Ok(record(3))),
            (Some([1; 32]), Ok(record(1))),
        ];
        answer_reads(&mut batch, Ok(found));
        assert!(batch.is_empty());
        let got: Vec<String> = rxs.iter_mut().map(outcome).collect();
        assert_eq!(got, ["token 3", "token 1", "none", "token 3", "corrupt: scopes: bad", "token 2"]);
    }

    #[test]
    fn a_failed_statement_fails_every_read_of_its_batch() {
        let (mut batch, mut rxs) = reads(&[1, 2]);
        answer_reads(&mut batch, Err("reading tokens: pool timed out".into()));
        let got: Vec<String> = rxs.iter_mut().map(outcome).collect();
        assert_eq!(got, ["error: storage unavailable: reading tokens: pool timed out"; 2]);
    }
}

//! The PostgreSQL backend, for several stateless `suat serve` replicas on one database. Every write is one
//! transaction; a refresh locks the parent it checks (`FOR UPDATE`) and the user's token family (advisory lock,
//! shared; "revoke all" takes it exclusive), so replicas serialise on the database rather than in memory; ids come
//! from a sequence, and every committed write is announced to the other replicas by NOTIFY. The statements are
//! [`crate::sql`]'s.

use crate::{
    cache::Invalidation,
    codec::to_u64,
    sql::{Backend, Queued, TokenRead, WriteCtx, MAX_GROUP},
    Result, StoreError,
};
use sqlx::{postgres::PgPoolOptions, Executor, PgConnection, PgPool, Postgres};
use std::time::Duration;
use suat_core::UserId;

#[derive(Clone)]
pub struct PgStore {
    read: PgPool,
    write: PgPool,
    /// The NOTIFY channel of this database/schema's invalidations (one per schema, so test schemas stay apart).
    ctx: WriteCtx,
    /// The queue of this process's group-commit writer (`statements::group_writer`), which every write goes through.
    queue: tokio::sync::mpsc::Sender<Queued>,
    /// The queue of the token readers (`statements::spawn_token_readers`).
    token_reads: tokio::sync::mpsc::Sender<TokenRead>,
}

impl PgStore {
    /// Connects and runs migrations in the default schema.
    pub async fn connect(url: &str) -> Result<PgStore> {
        Self::open(url, None).await
    }

    /// Connects with every pooled connection's `search_path` set to `schema` (created if needed), so tests (or
    /// tenants) can share one database.
    pub async fn connect_with_schema(url: &str, schema: &str) -> Result<PgStore> {
        if !schema.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') || schema.is_empty() {
            return Err(StoreError::Corrupt(format!("invalid schema name {schema:?}")));
        }
        Self::open(url, Some(schema.to_owned())).await
    }

    pub(crate) async fn open(url: &str, schema: Option<String>) -> Result<PgStore> {
        if let Some(s) = &schema {
            // Once, before the pool: concurrent CREATE SCHEMA IF NOT EXISTS from several connections can race. Only
            // if missing: the statement needs CREATE on the database even when the schema exists, which a
            // restricted server role (docs/postgres-roles.sql) does not have.
            let mut c = <sqlx::PgConnection as sqlx::Connection>::connect(url).await?;
            let exists: bool = sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = $1)")
                .bind(s)
                .fetch_one(&mut c)
                .await?;
            if !exists {
                c.execute(format!("CREATE SCHEMA IF NOT EXISTS {s}").as_str()).await?;
            }
        }
        let schema2 = schema.clone();
        let pool = PgPoolOptions::new()
            .max_connections(16)
            .acquire_timeout(Duration::from_secs(10))
            .after_connect(move |conn, _| {
                let schema = schema2.clone();
                Box::pin(async move {
                    if let Some(s) = schema {
                        conn.execute(format!("SET search_path TO {s}").as_str()).await?;
                    }
                    Ok(())
                })
            })
            .connect(url)
            .await?;
        migrate(&pool).await?;
        let channel = match &schema {
            Some(s) => format!("suat_{s}"),
            None => "suat_invalidate".to_owned(),
        };
        // No chain: linking rows across replicas would need one lock serialising every write of every replica. The
        // audit table is protected by privileges instead (the server's role may only INSERT and SELECT on it).
        let ctx = WriteCtx {
            chain: None,
            channel: Some(channel),
            committed: None,
            wanting: Default::default(),
            audit_head: Default::default(),
        };
        // One writer per process: two groups of one process would take row locks in no common order and could
        // deadlock each other; one group commit at a time still shares each fsync among everything queued.
        let (queue, rx) = tokio::sync::mpsc::channel(4 * MAX_GROUP);
        tokio::spawn(statements::group_writer(pool.clone(), ctx.clone(), rx));
        let token_reads = statements::spawn_token_readers(pool.clone(), TOKEN_READERS);
        Ok(PgStore { read: pool.clone(), write: pool, ctx, queue, token_reads })
    }

    /// Forwards NOTIFYs on this store's channel. On a lost connection it says `Disconnected`, reconnects (with
    /// back-off), re-LISTENs and says `Connected`, so a cache can distrust itself for exactly the blind interval.
    pub(crate) async fn listen_loop(
        pool: PgPool,
        channel: String,
        tx: tokio::sync::mpsc::UnboundedSender<Invalidation>,
    ) {
        let mut backoff = Duration::from_millis(50);
        loop {
            let listener = async {
                let mut l = sqlx::postgres::PgListener::connect_with(&pool).await?;
                l.listen(&channel).await?;
                Ok::<_, sqlx::Error>(l)
            }
            .await;
            let mut listener = match listener {
                Ok(l) => l,
                Err(e) => {
                    tracing::warn!(error = %e, "invalidation listener cannot connect; cache bypassed");
                    if tx.send(Invalidation::Disconnected).is_err() {
                        return;
                    }
                    tokio::time::sleep(backoff).await;
                    backoff = (backoff * 2).min(Duration::from_secs(5));
                    continue;
                }
            };
            backoff = Duration::from_millis(50);
            if tx.send(Invalidation::Connected).is_err() {
                return;
            }
            loop {
                match listener.try_recv().await {
                    Ok(Some(n)) => {
                        if tx.send(Invalidation::decode(n.payload())).is_err() {
                            return;
                        }
                    }
                    // Ok(None): the connection was lost (notifications may have been missed); Err: likewise.
                    Ok(None) | Err(_) => {
                        if tx.send(Invalidation::Disconnected).is_err() {
                            return;
                        }
                        break;
                    }
                }
            }
        }
    }
}

/// Runs the migrations not applied yet. When every one is already applied (same checksums) it runs nothing at all:
/// sqlx's migrator starts with `CREATE TABLE IF NOT EXISTS _sqlx_migrations`, which PostgreSQL refuses to a role
/// without CREATE on the schema even when the table exists, and the server's restricted role has none.
async fn migrate(pool: &PgPool) -> Result<()> {
    let migrator = sqlx::migrate!("./migrations/postgres");
    // No table yet (a new database), or none this role may read: nothing applied, and the migrator will say.
    let applied: Vec<(i64, Vec<u8>)> = sqlx::query_as("SELECT version, checksum FROM _sqlx_migrations WHERE success")
        .fetch_all(pool)
        .await
        .unwrap_or_default();
    let done = migrator
        .iter()
        .filter(|m| m.migration_type.is_up_migration())
        .all(|m| applied.iter().any(|(v, sum)| *v == m.version && sum[..] == m.checksum[..]));
    if done {
        return Ok(());
    }
    migrator.run(pool).await.map_err(|e| {
        StoreError::Unavailable(format!(
            "migrating the database: {e} (a role that may not create tables cannot migrate: run the migrations as \
             the schema's owner first; see docs/postgres-roles.sql)"
        ))
    })
}

/// Token readers: each holds one of the pool's 16 connections only while its batch's statement runs. Two keep a batch
/// in flight while the next gathers; more only make each batch smaller (tried by hand with every read a cache miss:
/// 1 or 2 readers did better than 4 or 8; bench/notes.md, "Cache misses").
const TOKEN_READERS: usize = 2;

/// First key of the two-key advisory locks this backend takes (ASCII "suat"), apart from any other user of them.
const LOCK_NAMESPACE: i32 = 0x7375_6174;

/// Second key of the advisory lock guarding a user's token family: the id folded to 32 bits. A collision only makes
/// two users' "revoke all" and refreshes wait for each other.
fn user_lock_key(u: UserId) -> i32 {
    ((u.0 >> 32) ^ (u.0 & 0xffff_ffff)) as u32 as i32
}

#[async_trait::async_trait]
impl Backend for PgStore {
    type Db = Postgres;
    const BEGIN_WRITE: &'static str = "BEGIN";
    /// Not taken: measured on SQLite only, whose write targets are not met; PostgreSQL's are.
    const COMMIT_THEN_BEGIN: Option<&'static str> = None;
    const BEGIN_SNAPSHOT: &'static str = "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY";
    /// The parent row stays locked until commit, so a concurrent revoke on any replica waits for the refresh (and
    /// then revokes a parent whose child exists legitimately) or wins first (and the refresh fails).
    const FOR_UPDATE: &'static str = " FOR UPDATE";
    const NEXT_CREATED_SEQ: &'static str = "nextval('user_created_seq')";
    const PEEK_NEXT_ID: &'static str =
        "SELECT CASE WHEN is_called THEN last_value + 1 ELSE last_value END FROM graph_ids";
    /// Sequences are not transactional: this runs last in a restore, so only a failed commit could leave it moved.
    const SET_NEXT_ID: &'static str = "SELECT setval('graph_ids', $1, false)::text";
    /// Users created after a restore must list after the restored ones (`created_seq` orders system users).
    const AFTER_RESTORE: &'static str =
        "SELECT setval('user_created_seq', COALESCE((SELECT MAX(created_seq) FROM users), 0) + 1, false)::text";
    /// Unused: no chain here.
    const AUDIT_HEAD: &'static str = "SELECT 0::BIGINT, NULL::TEXT";

    fn read_pool(&self) -> &PgPool {
        &self.read
    }

    fn write_pool(&self) -> &PgPool {
        &self.write
    }

    /// A "revoke all" would not see a child committed while it waited for the parent's row lock (its snapshot is
    /// older), so refreshes also hold the subject's token-family lock, shared (refreshes run in parallel), which
    /// "revoke all" takes exclusively before it looks.
    async fn lock_user_tokens(tx: &mut PgConnection, u: UserId, exclusive: bool) -> Result<()> {
        let f = if exclusive { "pg_advisory_xact_lock" } else { "pg_advisory_xact_lock_shared" };
        sqlx::query(&format!("SELECT {f}($1, $2)::text"))
            .bind(LOCK_NAMESPACE)
            .bind(user_lock_key(u))
            .execute(&mut *tx)
            .await?;
        Ok(())
    }

    /// NOTIFY is delivered when (and only if) the transaction commits; the payloads are the very list the local
    /// cache drops ([`crate::Write::stale`]), one notification each, sent with one statement for a whole group.
    async fn announce(ctx: &WriteCtx, tx: &mut PgConnection, stale: &[Invalidation]) -> Result<()> {
        let (Some(channel), false) = (&ctx.channel, stale.is_empty()) else { return Ok(()) };
        let payloads: Vec<String> = stale.iter().map(Invalidation::encode).collect();
        sqlx::query("SELECT pg_notify($1, p)::text FROM unnest($2::text[]) AS p")
            .bind(channel)
            .bind(payloads)
            .execute(&mut *tx)
            .await?;
        Ok(())
    }

    async fn allocate_id(&self) -> Result<u64> {
        let _want = self.ctx.want();
        let id: i64 = sqlx::query_scalar("SELECT nextval('graph_ids')").fetch_one(&self.write).await?;
        Ok(to_u64(id))
    }

    fn write_ctx(&self) -> &WriteCtx {
        &self.ctx
    }

    fn write_queue(&self) -> &tokio::sync::mpsc::Sender<Queued> {
        &self.queue
    }

    fn token_reads(&self) -> &tokio::sync::mpsc::Sender<TokenRead> {
        &self.token_reads
    }

    fn changes(&self) -> Option<tokio::sync::mpsc::UnboundedReceiver<Invalidation>> {
        let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
        tokio::spawn(Self::listen_loop(self.write.clone(), self.ctx.channel.clone().unwrap_or_default(), tx));
        Some(rx)
    }
}

crate::sql::sql_store!(PgStore, sqlx::Postgres);

//! The embedded default backend: one SQLite file in WAL mode with `synchronous=FULL`, so a commit acknowledged to a
//! client survives a crash. Writes go through a single connection (SQLite has one writer anyway) and start with
//! `BEGIN IMMEDIATE`, which makes every read-check-write transaction serial without lock-upgrade failures; reads use
//! a small read-only pool, and one more connection copies the WAL back into the database ([`checkpointer`]) beside
//! the writer. One process per file, enforced by a lock file ([`ProcessLock`]): the in-process cache
//! could not hear of another process's writes. The statements are [`crate::sql`]'s.

use crate::{
    cache::Invalidation,
    sql::{Backend, Queued, TokenRead, WriteCtx, MAX_GROUP},
    Result, StoreError,
};
use sqlx::{
    sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous},
    ConnectOptions, Connection, Sqlite, SqliteConnection, SqlitePool,
};
use std::{
    fs::File,
    io::{Read, Seek, Write as _},
    path::{Path, PathBuf},
    sync::{Arc, Mutex},
    time::Duration,
};
use suat_core::{audit::ChainKey, UserId};

/// Read-only connections: each is a thread of SQLite's; token reads come in batches, so a few suffice.
const READ_CONNECTIONS: u32 = 4;

/// The writer's own checkpoint, only a backstop: should the checkpointer fall behind, the writer copies the WAL back
/// itself once it holds this many pages (SQLite's default, 1000, would put a checkpoint in a group every few dozen).
/// Public so that the benchmark's raw write probe sets the same.
pub const WRITER_CHECKPOINT_PAGES: &str = "2000";

#[derive(Clone)]
pub struct SqliteStore {
    read: SqlitePool,
    write: SqlitePool,
    /// The checkpointer's connection ([`checkpointer`]).
    checkpoint: SqlitePool,
    /// The queue of the group-commit writer (`statements::group_writer`), which every write goes through.
    queue: tokio::sync::mpsc::Sender<Queued>,
    /// The queue of the token readers (`statements::spawn_token_readers`), one per read connection.
    token_reads: tokio::sync::mpsc::Sender<TokenRead>,
    /// Holds the audit chain's key: every audit row this store writes is chained (`suat_core::audit`).
    ctx: WriteCtx,
    /// Held as long as any clone of the store lives (or until [`SqliteStore::close`]).
    _lock: Arc<ProcessLock>,
    /// For `:memory:`, the private directory holding the database, removed with the last clone of the store.
    _ephemeral: Option<Arc<tempfile::TempDir>>,
}

impl SqliteStore {
    /// Opens (creating if needed) the database file and runs migrations; audit rows are chained under `chain` (the
    /// server's is derived from the master key, so `suat audit verify` can check them). Fails at once with
    /// [`StoreError::InUse`] if another store (in this or another process) has the file open.
    ///
    /// `:memory:` opens a database that lives as long as the store: a file in a fresh private temporary directory,
    /// deleted when the last clone of the store is dropped. (An SQLite in-memory database would be one database per
    /// pooled connection, and a shared-cache one has no WAL and vanishes whenever the pools go idle.)
    pub async fn open(path: &Path, chain: ChainKey) -> Result<SqliteStore> {
        if path == Path::new(":memory:") {
            let dir = tempfile::Builder::new()
                .prefix("suat-ephemeral-")
                .tempdir()
                .map_err(|e| StoreError::Unavailable(format!("creating a temporary directory: {e}")))?;
            let mut store = Self::open_file(&dir.path().join("suat.db"), chain).await?;
            store._ephemeral = Some(Arc::new(dir));
            return Ok(store);
        }
        Self::open_file(path, chain).await
    }

    async fn open_file(path: &Path, chain: ChainKey) -> Result<SqliteStore> {
        let lock = Arc::new(ProcessLock::take(path)?);
        owner_only(path)?;
        // `filename`, not a `sqlite://` URL: a path may hold characters a URL would misread (`?`, `#`, `%`).
        let opts = SqliteConnectOptions::new()
            .filename(path)
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Full)
            .foreign_keys(true)
            .busy_timeout(Duration::from_secs(5));
        // Migrations run on a connection of their own without foreign keys, as SQLite requires to rebuild a table
        // others refer to; each migration that does so checks the foreign keys itself before it commits.
        let mut migrating = opts.clone().foreign_keys(false).connect().await?;
        sqlx::migrate!("./migrations/sqlite").run(&mut migrating).await?;
        migrating.close().await?;
        // No ping before handing out a connection: it is a file in this process, not a peer that can hang up, and the
        // ping is one more round trip to the connection's thread on every read and every write group.
        let pool = || SqlitePoolOptions::new().test_before_acquire(false);
        // The writer keeps its statement journals in memory: a group's multi-row statement keeps one, and past 64 KiB
        // SQLite spilled it to a temporary file, created and unlinked again every few groups on the writer's thread.
        // A group's statement journal holds at most the pages its MAX_GROUP rows touch; a statement over many rows
        // ("revoke all" of a user with many tokens, a restore) holds the pages it changes until it ends, about 4 KiB
        // for every few dozen tokens. The read connections keep the default, so a large sort can still spill to disk.
        let writer_opts =
            opts.clone().pragma("temp_store", "MEMORY").pragma("wal_autocheckpoint", WRITER_CHECKPOINT_PAGES);
        let write = pool().max_connections(1).connect_with(writer_opts).await?;
        let checkpoint = pool().max_connections(1).connect_with(opts.clone()).await?;
        let read = pool().max_connections(READ_CONNECTIONS).connect_with(opts.read_only(true)).await?;
        let (queue, rx) = tokio::sync::mpsc::channel(4 * MAX_GROUP);
        let (committed, nudges) = tokio::sync::mpsc::channel(1);
        let ctx = WriteCtx {
            chain: Some(Arc::new(chain)),
            channel: None,
            committed: Some(committed),
            wanting: Default::default(),
            audit_head: Default::default(),
        };
        tokio::spawn(statements::group_writer(write.clone(), ctx.clone(), rx));
        tokio::spawn(checkpointer(checkpoint.clone(), nudges));
        let token_reads = statements::spawn_token_readers(read.clone(), READ_CONNECTIONS as usize);
        Ok(SqliteStore { read, write, checkpoint, queue, token_reads, ctx, _lock: lock, _ephemeral: None })
    }

    /// Closes the pools, the writer's last so that it checkpoints the WAL, for a clean shutdown, and gives up the file.
    /// Everything committed is already durable without it.
    pub async fn close(&self) {
        self.read.close().await;
        self.checkpoint.close().await;
        // The writer keeps its connection while writes are queued: asked for it, it hands it back after its group.
        let _want = self.ctx.want();
        self.write.close().await;
        self._lock.release();
    }
}

/// Copies the WAL back into the database on a connection of its own, after every commit, so that the copy and its
/// fsync of the database file run beside the writer instead of inside one of its groups, which every write queued
/// behind it would wait for. One checkpoint at a time: the commits made while one runs share the next.
///
/// Why after every commit rather than every few milliseconds: the database's pages are written back at random
/// places, and the writer's own fsync of the WAL waits behind them on the disk. A checkpoint of one group's pages
/// delays one commit a little; one of several groups' pages (the 10 ms pacing this replaced) held some commits
/// several times as long as the rest, and those made refresh's and issuance's p99 (bench/notes.md, "Checkpoints after
/// every commit").
///
/// `PASSIVE` waits for no one; a checkpoint does not change what is durable (each commit already is). Ends when the
/// writer and the store are gone, or at its next nudge once the store is closed. Public so that the benchmark's raw
/// write probe runs the same.
pub async fn checkpointer(pool: SqlitePool, mut nudges: tokio::sync::mpsc::Receiver<()>) {
    let mut failing = false;
    while nudges.recv().await.is_some() {
        match sqlx::query("PRAGMA wal_checkpoint(PASSIVE)").execute(&pool).await {
            Ok(_) => failing = false,
            // The store was closed.
            Err(sqlx::Error::PoolClosed) => return,
            // Once per run of failures (a full disk would fail every time): the writer's backstop still checkpoints.
            Err(e) if !failing => {
                failing = true;
                tracing::warn!(error = %e, "checkpointing the WAL (the writer will, past its backstop)");
            }
            Err(_) => {}
        }
    }
}

#[async_trait::async_trait]
impl Backend for SqliteStore {
    type Db = Sqlite;
    /// Holds the database write lock from the first statement: a read the transaction makes cannot be invalidated
    /// by another writer before it writes (a deferred `BEGIN` would fail with `SQLITE_BUSY` there).
    const BEGIN_WRITE: &'static str = "BEGIN IMMEDIATE";
    /// A group's commit waits for its fsync on SQLite's own thread; the next group's `BEGIN IMMEDIATE` rides along
    /// instead of costing a round trip of its own (two hand-overs between threads on a busy server). The answers to
    /// the committed group wait for that begin too, which takes the write lock at once: the lock file keeps other
    /// processes out, and the write pool's one connection is the only writer within this one.
    const COMMIT_THEN_BEGIN: Option<&'static str> = Some("COMMIT; BEGIN IMMEDIATE");
    /// A deferred read transaction on the read-only pool: one WAL snapshot.
    const BEGIN_SNAPSHOT: &'static str = "BEGIN";
    /// No row locks in SQLite: `BEGIN IMMEDIATE` already makes every write serial.
    const FOR_UPDATE: &'static str = "";
    /// Writes are serial, so the next number is simply one more than the last.
    const NEXT_CREATED_SEQ: &'static str = "(SELECT COALESCE(MAX(created_seq), 0) + 1 FROM users)";
    const PEEK_NEXT_ID: &'static str = "SELECT value FROM settings WHERE key = 'next_id'";
    const SET_NEXT_ID: &'static str = "UPDATE settings SET value = $1 WHERE key = 'next_id'";
    /// `created_seq` is computed from the rows themselves: nothing to catch up.
    const AFTER_RESTORE: &'static str = "";
    /// One statement (each is a round trip to SQLite's thread): the seq AUTOINCREMENT gives the next row (one more
    /// than the highest ever used, kept in `sqlite_sequence` even when the row is gone, or present), and the hash of
    /// the last row.
    const AUDIT_HEAD: &'static str = "SELECT MAX(COALESCE((SELECT seq FROM sqlite_sequence WHERE name = 'audit'), 0),
                COALESCE((SELECT MAX(seq) FROM audit), 0)) + 1,
            (SELECT hash FROM audit ORDER BY seq DESC LIMIT 1)";

    fn token_reads(&self) -> &tokio::sync::mpsc::Sender<TokenRead> {
        &self.token_reads
    }

    fn read_pool(&self) -> &SqlitePool {
        &self.read
    }

    fn write_pool(&self) -> &SqlitePool {
        &self.write
    }

    /// Nothing to take: writes are already serial.
    async fn lock_user_tokens(_: &mut SqliteConnection, _: UserId, _: bool) -> Result<()> {
        Ok(())
    }

    /// One process per file: there is no one else to tell.
    async fn announce(_: &WriteCtx, _: &mut SqliteConnection, _: &[Invalidation]) -> Result<()> {
        Ok(())
    }

    async fn allocate_id(&self) -> Result<u64> {
        let _want = self.ctx.want();
        let mut tx = self.write.begin_with(Self::BEGIN_WRITE).await?;
        let id: i64 =
            sqlx::query_scalar("UPDATE settings SET value = value + 1 WHERE key = 'next_id' RETURNING value - 1")
                .fetch_one(&mut *tx)
                .await?;
        tx.commit().await?;
        Ok(crate::codec::to_u64(id))
    }

    fn write_queue(&self) -> &tokio::sync::mpsc::Sender<Queued> {
        &self.queue
    }

    fn write_ctx(&self) -> &WriteCtx {
        &self.ctx
    }

    /// One process per file: there is no one else's change to hear of.
    fn changes(&self) -> Option<tokio::sync::mpsc::UnboundedReceiver<Invalidation>> {
        None
    }
}

crate::sql::sql_store!(SqliteStore, sqlx::Sqlite);

/// The database holds password hashes, sealed secrets and the audit log: only its owner may read it. Creates the file
/// 0600 before SQLite does (SQLite gives `-wal` and `-shm` the database file's mode), and takes group and world access
/// away from files an older release left readable.
fn owner_only(db: &Path) -> Result<()> {
    let unavailable = |p: &Path, e: std::io::Error| StoreError::Unavailable(format!("{}: {e}", p.display()));
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(false);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options.open(db).map_err(|e| unavailable(db, e))?;
    #[cfg(unix)]
    for ext in ["", "-wal", "-shm", ".lock"] {
        use std::os::unix::fs::PermissionsExt;
        let mut name = db.as_os_str().to_owned();
        name.push(ext);
        let path = PathBuf::from(name);
        match std::fs::metadata(&path) {
            Ok(m) if m.permissions().mode() & 0o077 != 0 => {
                let mode = m.permissions().mode() & 0o700;
                std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode))
                    .map_err(|e| unavailable(&path, e))?;
            }
            Ok(_) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(unavailable(&path, e)),
        }
    }
    Ok(())
}

/// An exclusive advisory lock on `<database>.lock` (mode 0600) holding the PID of its owner, so a second `suat
/// serve` on the same file fails at once with a message naming the owner, instead of sharing the file unseen by the
/// first one's cache. Released when dropped (or [`ProcessLock::release`]d); the kernel releases it if the process dies.
struct ProcessLock {
    file: Mutex<Option<File>>,
}

impl ProcessLock {
    fn take(db: &Path) -> Result<ProcessLock> {
        use fs4::fs_std::FileExt;
        let mut name = db.as_os_str().to_owned();
        name.push(".lock");
        let path = PathBuf::from(name);
        let mut options = std::fs::OpenOptions::new();
        options.read(true).write(true).create(true).truncate(false);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        let unavailable = |e: std::io::Error| StoreError::Unavailable(format!("lock file {}: {e}", path.display()));
        let mut file = options.open(&path).map_err(unavailable)?;
        if !FileExt::try_lock_exclusive(&file).map_err(unavailable)? {
            let mut pid = String::new();
            let _ = file.read_to_string(&mut pid);
            let pid = pid.trim();
            return Err(StoreError::InUse {
                db: db.to_owned(),
                pid: if pid.is_empty() { "unknown".into() } else { pid.to_owned() },
            });
        }
        file.set_len(0).map_err(unavailable)?;
        file.rewind().map_err(unavailable)?;
        write!(file, "{}", std::process::id()).map_err(unavailable)?;
        file.flush().map_err(unavailable)?;
        Ok(ProcessLock { file: Mutex::new(Some(file)) })
    }

    /// Gives the file up now (closing the file releases the lock).
    fn release(&self) {
        self.file.lock().unwrap_or_else(|e| e.into_inner()).take();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sqlx::Row;

    fn test_key() -> ChainKey {
        ChainKey::new([9; 32])
    }

    /// The begin that rides along with a commit is the writer's own begin, not a second spelling of it.
    #[test]
    fn the_commit_begins_what_a_group_would() {
        let both = <SqliteStore as Backend>::COMMIT_THEN_BEGIN.unwrap();
        assert_eq!(both, format!("COMMIT; {}", <SqliteStore as Backend>::BEGIN_WRITE));
    }

    pub(crate) async fn pragma(pool: &SqlitePool, name: &str) -> String {
        let row = sqlx::query(&format!("PRAGMA {name}")).fetch_one(pool).await.unwrap();
        row.try_get::<String, _>(0).or_else(|_| row.try_get::<i64, _>(0).map(|v| v.to_string())).unwrap()
    }

    fn temp_db(name: &str) -> PathBuf {
        let path = std::env::temp_dir().join(format!("suat-{name}-{}.db", std::process::id()));
        remove_db(&path);
        path
    }

    /// The database file and the files SQLite and the store keep beside it.
    fn remove_db(path: &Path) {
        for ext in ["", "-wal", "-shm", ".lock"] {
            let _ = std::fs::remove_file(format!("{}{ext}", path.display()));
        }
    }

    #[tokio::test]
    pub(crate) async fn every_connection_is_durable_and_checks_foreign_keys() {
        let path = temp_db("pragmas");
        let s = SqliteStore::open(&path, test_key()).await.unwrap();
        for pool in [&s.write, &s.read] {
            assert_eq!(pragma(pool, "journal_mode").await, "wal");
            assert_eq!(pragma(pool, "synchronous").await, "2", "FULL");
            assert_eq!(pragma(pool, "foreign_keys").await, "1");
            assert_eq!(pragma(pool, "busy_timeout").await, "5000");
        }
        // The read pool cannot write, so no write can bypass the single writer.
        assert!(sqlx::query("DELETE FROM tokens").execute(&s.read).await.is_err());
        s.close().await;
        remove_db(&path);
    }

    /// Committed writes reach the database file through the checkpointer, not the writer: a handful of issuances is
    /// far below the writer's own backstop, yet the file grows to hold them while nothing else is written.
    #[tokio::test]
    async fn the_checkpointer_copies_the_wal_into_the_database_beside_the_writer() {
        use crate::{AuditEntry, Write, Writes};
        use suat_core::{AppId, TokenHash, TokenKind, TokenRecord};
        let path = temp_db("checkpointer");
        let s = SqliteStore::open(&path, test_key()).await.unwrap();
        assert_eq!(pragma(&s.write, "wal_autocheckpoint").await, WRITER_CHECKPOINT_PAGES);
        assert_eq!(pragma(&s.write, "temp_store").await, "2", "MEMORY, on the writer");
        assert_eq!(pragma(&s.read, "temp_store").await, "0", "the default, on the readers");
        let size = || std::fs::metadata(&path).unwrap().len();
        let before = size();
        let writes = (0..400u32).map(|i| {
            let mut hash = [0u8; 32];
            hash[..4].copy_from_slice(&i.to_be_bytes());
            let rec = TokenRecord {
                hash: TokenHash(hash),
                kind: TokenKind::SystemUser,
                app_id: AppId(1),
                user_id: Some(UserId(2)),
                page_id: None,
                scopes: vec![],
                issued_at: 1_700_000_000,
                expires_at: None,
                revoked_at: None,
                parent: None,
                session_epoch: 0,
            };
            let audit = AuditEntry::new(1_700_000_000, "issue", "3").token(&rec.hash);
            (Write::IssueToken(rec), audit)
        });
        // Concurrently, so that the writer groups them, as it does a server's.
        let mut tasks = tokio::task::JoinSet::new();
        for (w, a) in writes {
            let s = s.clone();
            tasks.spawn(async move { s.execute(&w, &a).await });
        }
        while let Some(done) = tasks.join_next().await {
            done.unwrap().unwrap();
        }
        let wal = std::fs::metadata(format!("{}-wal", path.display())).unwrap().len();
        assert!(wal > 4096 * 20, "the writes are in the WAL: {wal} bytes");
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        while size() <= before {
            assert!(std::time::Instant::now() < deadline, "the database file stayed at {before} bytes");
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        s.close().await;
        remove_db(&path);
    }

    /// Migration 0010: "revoke all" still finds a user's tokens through an index, and the tokens' only other index is
    /// the one that orders them by issue time (an index that ends with the random hash costs each insert a page).
    #[tokio::test]
    async fn a_users_tokens_are_found_through_an_index_that_orders_them_by_issue_time() {
        let path = temp_db("token-indexes");
        let s = SqliteStore::open(&path, test_key()).await.unwrap();
        let plan: Vec<String> =
            sqlx::query("EXPLAIN QUERY PLAN UPDATE tokens SET revoked_at = 1 WHERE user_id = 2 AND revoked_at IS NULL")
                .fetch_all(&s.write)
                .await
                .unwrap()
                .iter()
                .map(|r| r.get::<String, _>("detail"))
                .collect();
        assert_eq!(plan, ["SEARCH tokens USING INDEX tokens_user (user_id=?)"]);
        let indexes: Vec<(String, String)> = sqlx::query_as(
            "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = 'tokens' AND sql IS NOT NULL",
        )
        .fetch_all(&s.write)
        .await
        .unwrap();
        assert_eq!(
            indexes,
            [("tokens_user".to_string(), "CREATE INDEX tokens_user ON tokens(user_id, issued_at)".to_string())]
        );
        s.close().await;
        remove_db(&path);
    }

    #[cfg(unix)]
    #[tokio::test]
    async fn the_database_its_wal_shm_and_lock_are_0600_even_when_an_older_release_left_them_0644() {
        use std::os::unix::fs::PermissionsExt;
        let mode = |p: &str| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        for older in [false, true] {
            let path = temp_db(if older { "modes-older" } else { "modes" });
            let files: Vec<String> =
                ["", "-wal", "-shm", ".lock"].iter().map(|e| format!("{}{e}", path.display())).collect();
            if older {
                for f in &files {
                    std::fs::write(f, "").unwrap();
                    std::fs::set_permissions(f, std::fs::Permissions::from_mode(0o644)).unwrap();
                }
            }
            let s = SqliteStore::open(&path, test_key()).await.unwrap();
            sqlx::query("CREATE TABLE mode_probe (x INTEGER)").execute(&s.write).await.unwrap();
            sqlx::query("INSERT INTO mode_probe VALUES (1)").execute(&s.write).await.unwrap();
            let _ = sqlx::query("SELECT x FROM mode_probe").fetch_one(&s.read).await.unwrap();
            for f in &files {
                assert_eq!(mode(f), 0o600, "{f} (older files: {older})");
            }
            s.close().await;
            for f in &files {
                let _ = std::fs::remove_file(f);
            }
        }
    }

    /// `:memory:` is one database for every pooled connection (what the writer commits, the readers see), each
    /// open is its own, and its files go with the store.
    #[tokio::test]
    async fn memory_is_one_private_database_removed_with_the_store() {
        use crate::{AuditEntry, Directory, Write, Writes};
        use suat_core::{Business, BusinessId};
        let a = SqliteStore::open(Path::new(":memory:"), test_key()).await.unwrap();
        let b = SqliteStore::open(Path::new(":memory:"), test_key()).await.unwrap();
        let biz = Business { id: BusinessId(1), name: "b".into(), must_use_expiring_tokens: false, parent_id: None };
        a.execute(&Write::CreateBusiness(biz.clone()), &AuditEntry::new(1, "b", "operator")).await.unwrap();
        assert_eq!(a.get_business(BusinessId(1)).await.unwrap(), Some(biz));
        assert_eq!(b.get_business(BusinessId(1)).await.unwrap(), None);
        let dir = a._ephemeral.as_ref().unwrap().path().to_owned();
        assert!(dir.join("suat.db").exists());
        a.close().await;
        drop(a);
        assert!(!dir.exists(), "{} is removed with the store", dir.display());
    }

    #[tokio::test]
    async fn a_second_open_of_one_file_fails_while_the_first_store_lives() {
        let path = temp_db("lock");
        let first = SqliteStore::open(&path, test_key()).await.unwrap();
        let lock = format!("{}.lock", path.display());
        assert_eq!(std::fs::read_to_string(&lock).unwrap(), std::process::id().to_string());
        #[cfg(unix)]
        assert_eq!(
            std::os::unix::fs::PermissionsExt::mode(&std::fs::metadata(&lock).unwrap().permissions()) & 0o777,
            0o600
        );
        let err = SqliteStore::open(&path, test_key()).await.err().expect("the second open fails");
        assert!(matches!(err, StoreError::InUse { .. }), "{err}");
        let msg = err.to_string();
        assert_eq!(
            msg,
            format!(
                "{} is in use by another suat process (pid {}): stop it, or give this one another --db",
                path.display(),
                std::process::id()
            )
        );
        // A clone shares the lock; only when every clone is gone is the file free again.
        let clone = first.clone();
        drop(first);
        assert!(SqliteStore::open(&path, test_key()).await.is_err());
        drop(clone);
        let second = SqliteStore::open(&path, test_key()).await.expect("free once the first store is dropped");
        second.close().await;
        let third = SqliteStore::open(&path, test_key()).await.expect("free once the store is closed");
        third.close().await;
        remove_db(&path);
    }
}

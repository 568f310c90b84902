//! The durable write limit of this disk for suat's own rows, without suat: `concurrency` tasks each submit one write
//! at a time (as wrk's connections do) to one writer that commits everything queued in one SQLite transaction (WAL,
//! `synchronous=FULL`, as the store opens it) with multi-row statements, the best batching there is, and answers each
//! task after the commit. The benchmark prints suat's write rates as a share of this.
//!
//! Modes: `insert` (a token row and its audit row: what an issuance or a refresh writes) and `revoke` (a token marked
//! revoked, and its audit row). Prints writes per second, then the CPU time (microseconds) the process spent per
//! write over the same window.
//!
//! The limit has to be the best the disk gives, or a share of it flatters suat. So the raw writer does what suat's
//! does between groups, no less: it keeps its connection, begins the next group's transaction in the commit's own
//! call while writes are queued, and leaves the WAL's copy back into the database to a checkpointer on a connection
//! of its own (the store's own `checkpointer` and `WRITER_CHECKPOINT_PAGES`). And its table starts with as many
//! tokens as suat's held when the round began (`prefill`; the benchmark counts suat's with `write_probe <suat's
//! database> count` before each round, as suat's table grows by its own issuances from round to round), so that its
//! inserts land in a tree of the same size.
//!
//! `store-insert` and `store-revoke` submit the same writes to suat's own store instead (`SqliteStore` under the
//! `CachedStore` the server uses: its group-commit writer, its statements, the audit chain), still without HTTP: the
//! gap between the two modes is the store's, and what is left between the store and the server is the server's.
//!
//! usage: write_probe <fresh-sqlite-path> <insert|revoke|store-insert|store-revoke> <concurrency> <seconds> [prefill]
//!        write_probe <suat's sqlite database> count      (its tokens, read beside the running server)

use rand::RngCore;
use sqlx::{
    sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous},
    QueryBuilder, Sqlite,
};
use std::{
    sync::{
        atomic::{AtomicBool, AtomicU64, Ordering},
        Arc,
    },
    time::{Duration, Instant},
};
use suat_store::sqlite::{checkpointer, WRITER_CHECKPOINT_PAGES};
use tokio::sync::{mpsc, oneshot};

const MAX_GROUP: usize = 256;
/// Tokens there to be revoked.
const SEEDED: usize = 200_000;

type Job = ([u8; 32], oneshot::Sender<()>);

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let a: Vec<String> = std::env::args().collect();
    if a.len() == 3 && a[2] == "count" {
        println!("{}", tokens_in(&a[1]).await?);
        return Ok(());
    }
    anyhow::ensure!(
        a.len() == 5 || a.len() == 6,
        "usage: write_probe <fresh-sqlite-path> <mode> <concurrency> <seconds> [prefill] | <db> count"
    );
    let (path, mode, conc, secs): (&str, &str, usize, u64) = (&a[1], &a[2], a[3].parse()?, a[4].parse()?);
    let prefill: usize = a.get(5).map_or(Ok(0), |n| n.parse())?;
    let (through_store, mode) = match mode.strip_prefix("store-") {
        Some(m) => (true, m),
        None => (false, mode),
    };
    anyhow::ensure!(matches!(mode, "insert" | "revoke"), "mode: insert, revoke, store-insert or store-revoke");
    // The store's own schema and settings, then the store is gone and only raw statements remain.
    let store = suat_store::SqliteStore::open(path.as_ref(), suat_core::audit::ChainKey::new([0; 32])).await?;
    store.close().await;
    drop(store);
    let opts = SqliteConnectOptions::new()
        .filename(path)
        .journal_mode(SqliteJournalMode::Wal)
        .synchronous(SqliteSynchronous::Full)
        .foreign_keys(true)
        .pragma("temp_store", "MEMORY");
    // As the store's pools: no ping before each use.
    let pools = || SqlitePoolOptions::new().max_connections(1).test_before_acquire(false);
    let checkpoints = pools().connect_with(opts.clone()).await?;
    let pool = pools().connect_with(opts.pragma("wal_autocheckpoint", WRITER_CHECKPOINT_PAGES)).await?;
    let mut seeded = Vec::new();
    // The tokens to revoke count towards the prefill; the rest are tokens no one will touch, as suat's live ones.
    let to_seed = if mode == "revoke" { SEEDED } else { 0 };
    let total = to_seed.max(prefill);
    // In transactions of 64 statements (16,384 tokens), so that the WAL stays small until the copy below.
    for start in (0..total).step_by(64 * MAX_GROUP) {
        let mut tx = pool.begin().await?;
        for n in (start..(start + 64 * MAX_GROUP).min(total)).step_by(MAX_GROUP) {
            let hashes: Vec<[u8; 32]> = (n..(n + MAX_GROUP).min(total)).map(|_| random_hash()).collect();
            insert_tokens(&mut tx, &hashes).await?;
            seeded.extend(hashes.iter().take(to_seed.saturating_sub(seeded.len())));
        }
        tx.commit().await?;
    }
    // The clock starts with the WAL empty and the filling in the database file.
    let (busy, _, _): (i64, i64, i64) = sqlx::query_as("PRAGMA wal_checkpoint(TRUNCATE)").fetch_one(&pool).await?;
    anyhow::ensure!(busy == 0, "the filling's WAL could not be copied back");
    eprintln!("write_probe: {total} tokens in the table before the clock starts");
    if through_store {
        pool.close().await;
        checkpoints.close().await;
        return store_probe(path, mode == "revoke", seeded, conc, secs).await;
    }
    let (tx, rx) = mpsc::channel::<Job>(4 * MAX_GROUP);
    let (nudge, nudges) = mpsc::channel(1);
    let checkpointer = tokio::spawn(checkpointer(checkpoints.clone(), nudges));
    let writer = tokio::spawn(writer(pool.clone(), mode == "revoke", rx, nudge));
    let seeded = Arc::new(seeded);
    let rate = drive(conc, secs, move |c, n| {
        let (tx, seeded) = (tx.clone(), seeded.clone());
        async move {
            let hash = if seeded.is_empty() { random_hash() } else { seeded[(c + n * conc) % seeded.len()] };
            let (reply, answer) = oneshot::channel();
            Ok(tx.send((hash, reply)).await.is_ok() && answer.await.is_ok())
        }
    })
    .await?;
    // Every sender is gone with `drive`'s tasks: the writer ends, and with its nudges the checkpointer.
    writer.await??;
    checkpointer.await?;
    pool.close().await;
    checkpoints.close().await;
    println!("{rate}");
    Ok(())
}

/// Runs `conc` tasks for `secs` seconds, as wrk's connections: each submits its next write with `one(task, n)` (its
/// n-th) and waits for the answer before the next; one that answers false (the writer is gone) stops. Returns writes
/// per second and this process's CPU time per write over the same window (all its threads: the tasks, the writer,
/// SQLite's), which bench/run.sh sets beside what a write costs suat.
async fn drive<F, Fut>(conc: usize, secs: u64, one: F) -> anyhow::Result<Rate>
where
    F: Fn(usize, usize) -> Fut + Clone + Send + 'static,
    Fut: std::future::Future<Output = anyhow::Result<bool>> + Send,
{
    let done = Arc::new(AtomicU64::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    let started = Instant::now();
    let cpu0 = process_cpu()?;
    let mut tasks = Vec::new();
    for c in 0..conc {
        let (one, done, stop) = (one.clone(), done.clone(), stop.clone());
        tasks.push(tokio::spawn(async move {
            let mut n = 0;
            while !stop.load(Ordering::Relaxed) && one(c, n).await? {
                n += 1;
                done.fetch_add(1, Ordering::Relaxed);
            }
            anyhow::Ok(())
        }));
    }
    drop(one);
    tokio::time::sleep(Duration::from_secs(secs)).await;
    let n = done.load(Ordering::Relaxed);
    let elapsed = started.elapsed().as_secs_f64();
    let cpu = process_cpu()? - cpu0;
    stop.store(true, Ordering::Relaxed);
    for t in tasks {
        t.await??;
    }
    Ok(Rate { per_sec: n as f64 / elapsed, cpu_us_per_write: cpu * 1e6 / (n.max(1) as f64) })
}

/// What [`drive`] measured; printed on stdout as "writes/s CPU-µs-per-write".
struct Rate {
    per_sec: f64,
    cpu_us_per_write: f64,
}

impl std::fmt::Display for Rate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:.0} {:.1}", self.per_sec, self.cpu_us_per_write)
    }
}

/// This process's CPU seconds so far, user and system, all threads: /proc/self/stat's utime and stime, in clock
/// ticks of USER_HZ, which is 100 on x86-64 and arm64 Linux.
fn process_cpu() -> anyhow::Result<f64> {
    let stat = std::fs::read_to_string("/proc/self/stat")?;
    // The name in parentheses may hold spaces: the fields are counted after its closing one (state is field 3).
    let rest = stat.rsplit_once(')').map(|(_, r)| r).ok_or_else(|| anyhow::anyhow!("/proc/self/stat: {stat}"))?;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks = |i: usize| -> anyhow::Result<f64> {
        Ok(fields.get(i - 3).ok_or_else(|| anyhow::anyhow!("short /proc/self/stat"))?.parse::<f64>()?)
    };
    Ok((ticks(14)? + ticks(15)?) / 100.0)
}

/// The same load through suat's store: each task submits a write and waits for its answer, as a request does.
async fn store_probe(path: &str, revoke: bool, seeded: Vec<[u8; 32]>, conc: usize, secs: u64) -> anyhow::Result<()> {
    use suat_core::{scope::Scope, AppId, TokenHash, TokenKind, TokenRecord, UserId};
    use suat_store::{prelude::*, AuditEntry, CachedStore, SqliteStore, Write};
    // The server's own recorder, so the store's group metrics can be printed as bench/run.sh prints the server's.
    let metrics = suat_server::metrics::install().ok_or_else(|| anyhow::anyhow!("a metrics recorder"))?;
    let store = SqliteStore::open(path.as_ref(), suat_core::audit::ChainKey::new([0; 32])).await?;
    let cached = CachedStore::new(Arc::new(store.clone()), 100_000).await?;
    let scopes = vec![Scope::parse("ads_read")?, Scope::parse("ads_management")?];
    let seeded = Arc::new(seeded);
    let rate = drive(conc, secs, move |c, n| {
        let (store, seeded, scopes) = (cached.clone(), seeded.clone(), scopes.clone());
        async move {
            let at = now();
            let (write, audit) = if revoke {
                let hash = TokenHash(seeded[(c + n * conc) % seeded.len()]);
                let audit = AuditEntry::new(at, "revoke", "app:1").subject(UserId(2)).app(AppId(1)).token(&hash);
                (Write::RevokeToken { hash, at }, audit)
            } else {
                let hash = TokenHash(random_hash());
                let audit = AuditEntry::new(at, "issue", "3").subject(UserId(2)).app(AppId(1)).token(&hash);
                let detail = serde_json::json!({"kind": "SYSTEM_USER", "scopes": ["ads_read", "ads_management"],
                    "expires_at": null});
                let rec = TokenRecord {
                    hash,
                    kind: TokenKind::SystemUser,
                    app_id: AppId(1),
                    user_id: Some(UserId(2)),
                    page_id: None,
                    scopes,
                    issued_at: at,
                    expires_at: None,
                    revoked_at: None,
                    parent: None,
                    session_epoch: 0,
                };
                (Write::IssueToken(rec), audit.detail(detail))
            };
            store.execute(&write, &audit).await?;
            Ok(true)
        }
    })
    .await?;
    store.close().await;
    print_groups(&metrics.render());
    println!("{rate}");
    Ok(())
}

/// On stderr, as bench/run.sh prints the server's: the store's groups, and where a committed group's time went.
fn print_groups(text: &str) {
    let value = |name: &str| -> f64 {
        text.lines().find_map(|l| l.strip_prefix(name)?.strip_prefix(' ')?.parse().ok()).unwrap_or(0.0)
    };
    let (groups, writes) = (value("suat_store_write_group_size_count"), value("suat_store_write_group_size_sum"));
    let secs = value("suat_store_write_group_seconds_sum");
    if groups == 0.0 {
        return;
    }
    let committed = value("suat_store_write_group_phase_seconds_count{phase=\"begin\"}").max(1.0);
    let phase =
        |p: &str| value(&format!("suat_store_write_group_phase_seconds_sum{{phase=\"{p}\"}}")) * 1000.0 / committed;
    eprintln!(
        "write_probe store: {groups} groups, {:.1} writes each, {:.2} ms each (begin {:.2}, writes {:.2}, audit {:.2}, \
         commit {:.2} ms)",
        writes / groups,
        secs * 1000.0 / groups,
        phase("begin"),
        phase("writes"),
        phase("audit"),
        phase("commit")
    );
}

/// The clock's unix seconds, as suat stamps its rows: an index ordered by issue time then grows at its end, as it
/// does in the server, and not at a random place as it would under one fixed time.
fn now() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs() as i64)
}

fn random_hash() -> [u8; 32] {
    let mut h = [0u8; 32];
    rand::thread_rng().fill_bytes(&mut h);
    h
}

/// How many tokens suat's table holds now (a reader beside the running server, as WAL allows).
async fn tokens_in(db: &str) -> anyhow::Result<usize> {
    use sqlx::Connection;
    let opts = SqliteConnectOptions::new().filename(db).read_only(true);
    let mut conn = sqlx::SqliteConnection::connect_with(&opts).await?;
    let n: i64 = sqlx::query_scalar("SELECT count(*) FROM tokens").fetch_one(&mut conn).await?;
    conn.close().await?;
    Ok(n as usize)
}

/// Everything queued, one transaction, one statement per table. The connection is the writer's for the whole run;
/// while writes are queued the commit begins the next transaction in the same call, as suat's writer does.
async fn writer(
    pool: sqlx::SqlitePool,
    revoke: bool,
    mut rx: mpsc::Receiver<Job>,
    nudge: mpsc::Sender<()>,
) -> anyhow::Result<()> {
    use futures_util::StreamExt;
    use sqlx::Executor;
    let mut conn = pool.acquire().await?;
    let mut open = false;
    let mut batch = Vec::with_capacity(MAX_GROUP);
    let (mut groups, mut writes, mut busy) = (0u64, 0usize, Duration::ZERO);
    while rx.recv_many(&mut batch, MAX_GROUP).await > 0 {
        let started = Instant::now();
        let hashes: Vec<[u8; 32]> = batch.iter().map(|(h, _)| *h).collect();
        if !open {
            conn.execute("BEGIN IMMEDIATE").await?;
        }
        let tx = &mut *conn;
        if revoke {
            let mut q = QueryBuilder::<Sqlite>::new("UPDATE tokens SET revoked_at = ");
            q.push_bind(now());
            q.push(" WHERE revoked_at IS NULL AND hash IN (");
            let mut list = q.separated(", ");
            for h in &hashes {
                list.push_bind(h.to_vec());
            }
            q.push(")");
            q.build().execute(&mut *tx).await?;
        } else {
            insert_tokens(&mut *tx, &hashes).await?;
        }
        // The audit rows as suat writes them, chain columns included (64 hex characters each).
        let mut q = QueryBuilder::<Sqlite>::new(
            "INSERT INTO audit (at, action, actor, subject, app_id, token_ref, detail, prev, hash) ",
        );
        q.push_values(&hashes, |mut b, h| {
            b.push_bind(now())
                .push_bind(if revoke { "revoke" } else { "issue" })
                .push_bind("app:1")
                .push_bind(2i64)
                .push_bind(1i64)
                .push_bind(hex::encode(&h[..8]))
                .push_bind(r#"{"scopes":["ads_read","ads_management"],"expires_at":null}"#)
                .push_bind(hex::encode(h))
                .push_bind(hex::encode(h));
        });
        q.build().execute(&mut *tx).await?;
        open = !rx.is_empty();
        if open {
            let mut results = conn.execute_many(sqlx::raw_sql("COMMIT; BEGIN IMMEDIATE"));
            while let Some(r) = results.next().await {
                r?;
            }
        } else {
            conn.execute("COMMIT").await?;
        }
        let _ = nudge.try_send(());
        (groups, writes, busy) = (groups + 1, writes + batch.len(), busy + started.elapsed());
        for (_, reply) in batch.drain(..) {
            let _ = reply.send(());
        }
    }
    if open {
        conn.execute("ROLLBACK").await?;
    }
    // For comparison with suat's own write groups (suat_store_write_group_size and _seconds on its /metrics).
    if groups > 0 {
        eprintln!(
            "write_probe {}: {groups} groups, {:.1} writes each, {:.2} ms each",
            if revoke { "revoke" } else { "insert" },
            writes as f64 / groups as f64,
            busy.as_secs_f64() * 1e3 / groups as f64
        );
    }
    Ok(())
}

async fn insert_tokens(conn: &mut sqlx::SqliteConnection, hashes: &[[u8; 32]]) -> anyhow::Result<()> {
    let mut q = QueryBuilder::<Sqlite>::new(
        "INSERT INTO tokens (hash, kind, app_id, user_id, page_id, scopes, issued_at, expires_at, revoked_at, parent, \
         session_epoch) ",
    );
    q.push_values(hashes, |mut b, h| {
        b.push_bind(h.to_vec())
            .push_bind("SYSTEM_USER")
            .push_bind(1i64)
            .push_bind(2i64)
            .push_bind(None::<i64>)
            .push_bind(r#"["ads_read","ads_management"]"#)
            .push_bind(now())
            .push_bind(None::<i64>)
            .push_bind(None::<i64>)
            .push_bind(None::<Vec<u8>>)
            .push_bind(0i64);
    });
    q.build().execute(conn).await?;
    Ok(())
}

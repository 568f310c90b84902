//! `suat audit verify` for the SQLite store: walks the audit log in seq order on a read-only connection (no lock,
//! no migration: it can run beside a live server, whose WAL lets readers in) and checks every link of the chain
//! that [`crate::sql`]'s `insert_audits` writes, with `suat_core::audit`'s [`Verifier`].

use crate::{rows::ChainedRow, Result, StoreError};
use sqlx::{sqlite::SqliteConnectOptions, ConnectOptions, Connection};
use std::path::Path;
use suat_core::audit::{Break, ChainKey, Verifier};

/// What a walk of the audit log found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChainReport {
    /// Rows read (up to and including the first bad one).
    pub rows: u64,
    /// Rows from before the chain existed (migration 0009), which it does not cover.
    pub legacy: u64,
    /// Rows whose link verified.
    pub chained: u64,
    /// The last verified row: its seq and hash (hex). Note it elsewhere to detect a later truncation of the tail.
    pub head: Option<(i64, String)>,
    /// The first bad row: its seq and what is wrong with it.
    pub broken: Option<(i64, Break)>,
}

/// Rows read per query.
const PAGE: i64 = 5_000;

/// Verifies the audit chain of the SQLite database at `path` under `key`.
pub async fn verify_sqlite(path: &Path, key: &ChainKey) -> Result<ChainReport> {
    if !path.exists() {
        return Err(StoreError::NotFound(format!("database {}", path.display())));
    }
    let opts = SqliteConnectOptions::new().filename(path).read_only(true).create_if_missing(false);
    let mut c = opts.connect().await?;
    let has_chain: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM pragma_table_info('audit') WHERE name IN ('prev', 'hash')")
            .fetch_one(&mut c)
            .await?;
    if has_chain != 2 {
        return Err(StoreError::Corrupt(format!(
            "{}: the audit table has no chain columns (a database from before migration 0009: start suat serve on it \
             once to migrate it)",
            path.display()
        )));
    }
    // One snapshot for the whole walk, even while a server appends.
    let mut tx = c.begin().await?;
    let mut v = Verifier::new(key);
    let mut report = ChainReport { rows: 0, legacy: 0, chained: 0, head: None, broken: None };
    let mut after = i64::MIN;
    'walk: loop {
        let rows: Vec<ChainedRow> = sqlx::query_as(
            "SELECT seq, at, action, actor, subject, app_id, token_ref, detail, prev, hash FROM audit
             WHERE seq > $1 ORDER BY seq LIMIT $2",
        )
        .bind(after)
        .bind(PAGE)
        .fetch_all(&mut *tx)
        .await?;
        let Some(last) = rows.last() else { break };
        after = last.seq;
        for r in &rows {
            report.rows += 1;
            if let Err(b) = v.next(&r.chain_row(), r.prev.as_deref(), r.hash.as_deref()) {
                report.broken = Some((r.seq, b));
                break 'walk;
            }
        }
    }
    tx.rollback().await?;
    c.close().await?;
    report.legacy = v.legacy;
    report.chained = v.chained;
    report.head = v.head().map(|(seq, h)| (seq, hex::encode(h)));
    Ok(report)
}

/// What the role a PostgreSQL URL connects as may do to `audit`. PostgreSQL keeps no chain (see migration 0009):
/// the log is safe exactly when the server's role cannot rewrite it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PgAuditPrivileges {
    pub role: String,
    /// The role owns the table (or is a member of its owner): it may grant itself anything, or drop the trigger.
    pub owner: bool,
    pub update: bool,
    pub delete: bool,
    pub truncate: bool,
}

impl PgAuditPrivileges {
    /// What the role may do beyond adding rows, named; empty when it may only add.
    pub fn excess(&self) -> Vec<&'static str> {
        [(self.owner, "owns"), (self.update, "UPDATE"), (self.delete, "DELETE"), (self.truncate, "TRUNCATE")]
            .into_iter()
            .filter_map(|(yes, what)| yes.then_some(what))
            .collect()
    }
}

/// Reads the connecting role's privileges on `audit` (in its `search_path`), without migrating anything.
pub async fn pg_privileges(url: &str) -> Result<PgAuditPrivileges> {
    let mut c = <sqlx::PgConnection as Connection>::connect(url).await?;
    let (role, update, delete, truncate, owner): (String, bool, bool, bool, bool) = sqlx::query_as(
        "SELECT current_user::text, has_table_privilege('audit', 'UPDATE'), has_table_privilege('audit', 'DELETE'),
                has_table_privilege('audit', 'TRUNCATE'),
                pg_has_role(current_user, (SELECT relowner FROM pg_class WHERE oid = 'audit'::regclass), 'USAGE')",
    )
    .fetch_one(&mut c)
    .await?;
    c.close().await?;
    Ok(PgAuditPrivileges { role, owner, update, delete, truncate })
}

//! The embedded default backend: one SQLite file in WAL mode with `synchronous=FULL`, so a commit acknowledged to a
//! client survives a crash. Writes go through a single connection (SQLite has one writer anyway) and start with
//! `BEGIN IMMEDIATE`, which makes every read-check-write transaction serial, even against another process on the same
//! file, without lock-upgrade failures; reads use a small read-only pool.

use crate::{codec::*, AuditEntry, Dump, Result, StoreError, StoredApp, TokenSummary};
use sqlx::{
    sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteRow, SqliteSynchronous},
    Row, Sqlite, SqlitePool, Transaction,
};
use std::{path::Path, time::Duration};
use suat_core::{
    oauth::AuthCode,
    page::{Page, PageRole},
    App, AppId, Business, BusinessId, PageId, TokenHash, TokenRecord, User, UserId,
};

#[derive(Clone)]
pub struct SqliteStore {
    read: SqlitePool,
    write: SqlitePool,
    /// Issuance queue of the group-commit writer (see [`issue_batcher`]).
    issue: tokio::sync::mpsc::Sender<Issue>,
}

/// One pending `insert_token`: the row, its audit entry, and where to report the outcome after commit.
type Issue = (TokenRecord, AuditEntry, tokio::sync::oneshot::Sender<Result<()>>);

/// Most issuances committed in one transaction.
const MAX_BATCH: usize = 256;

/// Group commit for issuance: every `insert_token` waiting when the writer is free goes into one transaction, so
/// one fsync serves many tokens while each caller still hears back only after its row is durable. A row that fails
/// (a duplicate hash) fails alone: in SQLite a constraint violation aborts the statement, not the transaction.
async fn issue_batcher(write: SqlitePool, mut rx: tokio::sync::mpsc::Receiver<Issue>) {
    let mut batch: Vec<Issue> = Vec::with_capacity(MAX_BATCH);
    while let Some(first) = rx.recv().await {
        batch.push(first);
        while batch.len() < MAX_BATCH {
            match rx.try_recv() {
                Ok(item) => batch.push(item),
                Err(_) => break,
            }
        }
        let outcome = async {
            let mut tx = write.begin_with("BEGIN IMMEDIATE").await?;
            // Two multi-row statements for the whole batch: sqlx runs each SQLite connection on its own thread, so
            // every statement is a cross-thread round trip, and per-row statements made issuance switch-bound.
            if insert_batch(&mut tx, &batch).await.is_ok() {
                tx.commit().await?;
                return Ok::<_, StoreError>(batch.iter().map(|_| Ok(())).collect::<Vec<Result<()>>>());
            }
            // Something in the batch failed (a duplicate hash): start over row by row in a fresh transaction, so
            // only the offending row fails and every acknowledged row has its audit entry.
            tx.rollback().await?;
            let mut tx = write.begin_with("BEGIN IMMEDIATE").await?;
            let mut results = Vec::with_capacity(batch.len());
            for (rec, audit, _) in &batch {
                let r = match insert_token_in(&mut tx, rec).await {
                    Ok(()) => audit_in(&mut tx, audit).await,
                    Err(e) => Err(e),
                };
                results.push(r);
            }
            tx.commit().await?;
            Ok(results)
        }
        .await;
        match outcome {
            Ok(results) => {
                for ((_, _, reply), r) in batch.drain(..).zip(results) {
                    let _ = reply.send(r);
                }
            }
            Err(e) => {
                let msg = e.to_string();
                for (_, _, reply) in batch.drain(..) {
                    let _ = reply.send(Err(StoreError::Unavailable(format!("batch commit failed: {msg}"))));
                }
            }
        }
    }
}

impl SqliteStore {
    /// Opens (creating if needed) the database file and runs migrations.
    pub async fn open(path: &Path) -> Result<SqliteStore> {
        // `filename`, not a `sqlite://` URL: a path may hold characters a URL would misread (`?`, `#`, `%`).
        let opts = SqliteConnectOptions::new()
            .filename(path)
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Full)
            .foreign_keys(true)
            .busy_timeout(Duration::from_secs(5));
        let write = SqlitePoolOptions::new().max_connections(1).connect_with(opts.clone()).await?;
        sqlx::migrate!("./migrations/sqlite").run(&write).await?;
        let read = SqlitePoolOptions::new().max_connections(4).connect_with(opts.read_only(true)).await?;
        let (issue, rx) = tokio::sync::mpsc::channel(4 * MAX_BATCH);
        tokio::spawn(issue_batcher(write.clone(), rx));
        Ok(SqliteStore { read, write, issue })
    }

    /// Closes both pools, letting SQLite checkpoint the WAL, for a clean shutdown. Everything committed is already
    /// durable without it.
    pub async fn close(&self) {
        self.read.close().await;
        self.write.close().await;
    }

    /// Runs raw SQL on the write connection. Only for tests that prove the database itself refuses something.
    #[doc(hidden)]
    pub async fn raw_execute(&self, sql: &str) -> Result<()> {
        sqlx::query(sql).execute(&self.write).await?;
        Ok(())
    }

    /// One process per file: there is no one else's change to hear of.
    pub(crate) fn changes(&self) -> Option<tokio::sync::mpsc::UnboundedReceiver<crate::Invalidation>> {
        None
    }

    /// A write transaction holding the database write lock from its first statement: a read it makes cannot be
    /// invalidated by another writer before it writes (a deferred `BEGIN` would fail with `SQLITE_BUSY` there).
    pub(crate) async fn tx(&self) -> Result<Transaction<'static, Sqlite>> {
        Ok(self.write.begin_with("BEGIN IMMEDIATE").await?)
    }
}

fn conflict(e: sqlx::Error, what: String) -> StoreError {
    match &e {
        sqlx::Error::Database(d) if d.is_unique_violation() => StoreError::Conflict(what),
        sqlx::Error::Database(d) if d.is_foreign_key_violation() => StoreError::NotFound(what),
        _ => StoreError::Db(e),
    }
}

async fn audit_in(tx: &mut Transaction<'static, Sqlite>, a: &AuditEntry) -> Result<()> {
    sqlx::query(
        "INSERT INTO audit (at, action, actor, subject, app_id, token_ref, detail) VALUES (?, ?, ?, ?, ?, ?, ?)",
    )
    .bind(a.at)
    .bind(&a.action)
    .bind(&a.actor)
    .bind(a.subject.map(|u| to_i64(u.0)).transpose()?)
    .bind(a.app_id.map(|x| to_i64(x.0)).transpose()?)
    .bind(&a.token_ref)
    .bind(json(&a.detail))
    .execute(&mut **tx)
    .await?;
    Ok(())
}

fn user_from(r: &SqliteRow) -> Result<User> {
    Ok(User {
        id: UserId(to_u64(r.try_get("id")?)),
        name: r.try_get("name")?,
        business_id: r.try_get::<Option<i64>, _>("business_id")?.map(|b| BusinessId(to_u64(b))),
        kind: from_json(&r.try_get::<String, _>("kind")?, "user kind")?,
        session_epoch: r.try_get("session_epoch")?,
    })
}

fn token_row(r: &SqliteRow) -> Result<TokenRecord> {
    token_from(
        &r.try_get::<Vec<u8>, _>("hash")?,
        &r.try_get::<String, _>("kind")?,
        r.try_get("app_id")?,
        r.try_get("user_id")?,
        r.try_get("page_id")?,
        &r.try_get::<String, _>("scopes")?,
        r.try_get("issued_at")?,
        r.try_get("expires_at")?,
        r.try_get("revoked_at")?,
        r.try_get::<Option<Vec<u8>>, _>("parent")?.as_deref(),
        r.try_get("session_epoch")?,
    )
}

fn page_row(r: &SqliteRow) -> Result<Page> {
    Ok(Page {
        id: PageId(to_u64(r.try_get("id")?)),
        name: r.try_get("name")?,
        business_id: BusinessId(to_u64(r.try_get("business_id")?)),
    })
}

fn role_row(r: &SqliteRow) -> Result<PageRole> {
    Ok(PageRole {
        page_id: PageId(to_u64(r.try_get("page_id")?)),
        user_id: UserId(to_u64(r.try_get("user_id")?)),
        tasks: from_json(&r.try_get::<String, _>("tasks")?, "page tasks")?,
    })
}

fn audit_row(r: &SqliteRow) -> Result<AuditEntry> {
    Ok(AuditEntry {
        seq: r.try_get("seq")?,
        at: r.try_get("at")?,
        action: r.try_get("action")?,
        actor: r.try_get("actor")?,
        subject: r.try_get::<Option<i64>, _>("subject")?.map(|u| UserId(to_u64(u))),
        app_id: r.try_get::<Option<i64>, _>("app_id")?.map(|a| AppId(to_u64(a))),
        token_ref: r.try_get("token_ref")?,
        detail: from_json(&r.try_get::<String, _>("detail")?, "audit detail")?,
    })
}

/// Inserts a batch of issued tokens and their audit entries with one statement each.
async fn insert_batch(tx: &mut Transaction<'static, Sqlite>, batch: &[Issue]) -> Result<()> {
    let mut tokens = sqlx::QueryBuilder::<Sqlite>::new(format!("INSERT INTO tokens ({TOKEN_COLUMNS}) "));
    let mut bad_id = None;
    tokens.push_values(batch, |mut b, (t, _, _)| {
        let app = to_i64(t.app_id.0);
        let user = t.user_id.map(|u| to_i64(u.0)).transpose();
        let page = t.page_id.map(|p| to_i64(p.0)).transpose();
        let (Ok(app), Ok(user), Ok(page)) = (app, user, page) else {
            bad_id = Some(t.app_id);
            return;
        };
        b.push_bind(t.hash.0.to_vec())
            .push_bind(t.kind.as_str())
            .push_bind(app)
            .push_bind(user)
            .push_bind(page)
            .push_bind(scopes_json(&t.scopes))
            .push_bind(t.issued_at)
            .push_bind(t.expires_at)
            .push_bind(t.revoked_at)
            .push_bind(t.parent.as_ref().map(|p| p.0.to_vec()))
            .push_bind(t.session_epoch);
    });
    if let Some(app) = bad_id {
        return Err(StoreError::Corrupt(format!("id out of range in a token of app {app}")));
    }
    tokens.build().execute(&mut **tx).await.map_err(|e| conflict(e, "token".into()))?;
    let mut audits =
        sqlx::QueryBuilder::<Sqlite>::new("INSERT INTO audit (at, action, actor, subject, app_id, token_ref, detail) ");
    audits.push_values(batch, |mut b, (_, a, _)| {
        b.push_bind(a.at)
            .push_bind(a.action.clone())
            .push_bind(a.actor.clone())
            .push_bind(a.subject.and_then(|u| to_i64(u.0).ok()))
            .push_bind(a.app_id.and_then(|x| to_i64(x.0).ok()))
            .push_bind(a.token_ref.clone())
            .push_bind(json(&a.detail));
    });
    audits.build().execute(&mut **tx).await?;
    Ok(())
}

async fn insert_token_in(tx: &mut Transaction<'static, Sqlite>, t: &TokenRecord) -> Result<()> {
    sqlx::query(&format!("INSERT INTO tokens ({TOKEN_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"))
        .bind(&t.hash.0[..])
        .bind(t.kind.as_str())
        .bind(to_i64(t.app_id.0)?)
        .bind(t.user_id.map(|u| to_i64(u.0)).transpose()?)
        .bind(t.page_id.map(|p| to_i64(p.0)).transpose()?)
        .bind(scopes_json(&t.scopes))
        .bind(t.issued_at)
        .bind(t.expires_at)
        .bind(t.revoked_at)
        .bind(t.parent.as_ref().map(|p| p.0.to_vec()))
        .bind(t.session_epoch)
        .execute(&mut **tx)
        .await
        .map_err(|e| conflict(e, "token".into()))?;
    Ok(())
}

impl SqliteStore {
    pub(crate) async fn next_id(&self) -> Result<u64> {
        let mut tx = self.tx().await?;
        let id: i64 =
            sqlx::query_scalar("UPDATE settings SET value = value + 1 WHERE key = 'next_id' RETURNING value - 1")
                .fetch_one(&mut *tx)
                .await?;
        tx.commit().await?;
        Ok(to_u64(id))
    }

    pub(crate) async fn create_business(&self, b: &Business, audit: &AuditEntry) -> Result<()> {
        let mut tx = self.tx().await?;
        sqlx::query("INSERT INTO businesses (id, name, must_use_expiring_tokens) VALUES (?, ?, ?)")
            .bind(to_i64(b.id.0)?)
            .bind(&b.name)
            .bind(b.must_use_expiring_tokens)
            .execute(&mut *tx)
            .await
            .map_err(|e| conflict(e, format!("object {}", b.id)))?;
        audit_in(&mut tx, audit).await?;
        tx.commit().await?;
        Ok(())
    }

    pub(crate) async fn get_business(&self, id: BusinessId) -> Result<Option<Business>> {
        let row = sqlx::query("SELECT id, name, must_use_expiring_tokens FROM businesses WHERE id = ?")
            .bind(to_i64(id.0)?)
            .fetch_optional(&self.read)
            .await?;
        row.map(|r| {
            Ok(Business {
                id: BusinessId(to_u64(r.try_get("id")?)),
                name: r.try_get("name")?,
                must_use_expiring_tokens: r.try_get("must_use_expiring_tokens")?,
            })
        })
        .transpose()
    }

    pub(crate) async fn create_user(&self, u: &User, audit: &AuditEntry) -> Result<()> {
        let mut tx = self.tx().await?;
        sqlx::query(
            "INSERT INTO users (id, name, business_id, kind, session_epoch, created_seq)
             VALUES (?, ?, ?, ?, ?, (SELECT COALESCE(MAX(created_seq), 0) + 1 FROM users))",
        )
        .bind(to_i64(u.id.0)?)
        .bind(&u.name)
        .bind(u.business_id.map(|b| to_i64(b.0)).transpose()?)
        .bind(kind_json(&u.kind))
        .bind(u.session_epoch)
        .execute(&mut *tx)
        .await
        .map_err(|e| conflict(e, format!("object {}", u.id)))?;
        audit_in(&mut tx, audit).await?;
        tx.commit().await?;
        Ok(())
    }

    pub(crate) async fn get_user(&self, id: UserId) -> Result<Option<User>> {
        let row = sqlx::query("SELECT id, name, business_id, kind, session_epoch FROM users WHERE id = ?")
            .bind(to_i64(id.0)?)
            .fetch_optional(&self.read)
            .await?;
        row.as_ref().map(user_from).transpose()
    }

    pub(crate) async fn list_system_users(&self, business: BusinessId) -> Result<Vec<User>> {
        let rows = sqlx::query(
            "SELECT id, name, business_id, kind, session_epoch FROM users
             WHERE business_id = ? AND kind LIKE '{\"type\":\"system_user\"%' ORDER BY created_seq",
        )
        .bind(to_i64(business.0)?)
        .fetch_all(&self.read)
        .await?;
        rows.iter().map(user_from).collect()
    }

    pub(crate) async fn bump_session_epoch(&self, user: UserId, audit: &AuditEntry) -> Result<i64> {
        let mut tx = self.tx().await?;
        let epoch: Option<i64> = sqlx::query_scalar(
            "UPDATE users SET session_epoch = session_epoch + 1 WHERE id = ? RETURNING session_epoch",
        )
        .bind(to_i64(user.0)?)
        .fetch_optional(&mut *tx)
        .await?;
        let epoch = epoch.ok_or_else(|| StoreError::NotFound(format!("user {user}")))?;
        audit_in(&mut tx, audit).await?;
        tx.commit().await?;
        Ok(epoch)
    }

    pub(crate) async fn create_app(&self, app: &StoredApp, audit: &AuditEntry) -> Result<()> {
        let mut tx = self.tx().await?;
        sqlx::query("INSERT INTO apps (id, body, sealed_secret) VALUES (?, ?, ?)")
            .bind(to_i64(app.app.id.0)?)
            .bind(app_json(&app.app))
            .bind(&app.sealed_secret)
            .execute(&mut *tx)
            .await
            .map_err(|e| conflict(e, format!("object {}", app.app.id)))?;
        audit_in(&mut tx, audit).await?;
        tx.commit().await?;
        Ok(())
    }

    pub(crate) async fn get_app(&self, id: AppId) -> Result<Option<std::sync::Arc<StoredApp>>> {
        let row = sqlx::query("SELECT body, sealed_secret FROM apps WHERE id = ?")
            .bind(to_i64(id.0)?)
            .fetch_optional(&self.read)
            .await?;
        row.map(|r| {
            Ok(StoredApp {
                app: from_json::<App>(&r.try_get::<String, _>("body")?, "app")?,
                sealed_secret: r.try_get("sealed_secret")?,
            })
        })
        .transpose()
        .map(|o| o.map(std::sync::Arc::new))
    }

    pub(crate) async fn install_app(&self, su: UserId, app: AppId, audit: &AuditEntry) -> Result<bool> {
        let mut tx = self.tx().await?;
        let done = sqlx::query("INSERT OR IGNORE INTO installs (user_id, app_id) VALUES (?, ?)")
            .bind(to_i64(su.0)?)
            .bind(to_i64(app.0)?)
            .execute(&mut *tx)
            .await
            .map_err(|e| conflict(e, format!("user {su} or app {app}")))?;
        audit_in(&mut tx, audit).await?;
        tx.commit().await?;
        Ok(done.rows_affected() == 1)
    }

    pub(crate) async fn is_installed(&self, su: UserId, app: AppId) -> Result<bool> {
        let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM installs WHERE user_id = ? AND app_id = ?")
            .bind(to_i64(su.0)?)
            .bind(to_i64(app.0)?)
            .fetch_one(&self.read)
            .await?;
        Ok(n > 0)
    }

    pub(crate) async fn insert_token(&self, rec: &TokenRecord, audit: &AuditEntry) -> Result<()> {
        let (reply, answer) = tokio::sync::oneshot::channel();
        self.issue
            .send((rec.clone(), audit.clone(), reply))
            .await
            .map_err(|_| StoreError::Unavailable("the issuance writer has stopped".into()))?;
        answer.await.map_err(|_| StoreError::Unavailable("the issuance writer has stopped".into()))?
    }

    pub(crate) async fn get_token(&self, hash: &TokenHash) -> Result<Option<std::sync::Arc<TokenRecord>>> {
        let row = sqlx::query(&format!("SELECT {TOKEN_COLUMNS} FROM tokens WHERE hash = ?"))
            .bind(&hash.0[..])
            .fetch_optional(&self.read)
            .await?;
        Ok(row.as_ref().map(token_row).transpose()?.map(std::sync::Arc::new))
    }

    pub(crate) async fn refresh_token(&self, new: &TokenRecord, audit: &AuditEntry) -> Result<()> {
        let parent = new.parent.ok_or(StoreError::ParentRevoked)?;
        // Serial with every other write (one writer connection), so the check and the insert are atomic.
        let mut tx = self.tx().await?;
        let revoked: Option<Option<i64>> = sqlx::query_scalar("SELECT revoked_at FROM tokens WHERE hash = ?")
            .bind(&parent.0[..])
            .fetch_optional(&mut *tx)
            .await?;
        if !matches!(revoked, Some(None)) {
            return Err(StoreError::ParentRevoked);
        }
        insert_token_in(&mut tx, new).await?;
        audit_in(&mut tx, audit).await?;
        tx.commit().await?;
        Ok(())
    }

    pub(crate) async fn revoke_token(&self, hash: &TokenHash, at: i64, audit: &AuditEntry) -> Result<bool> {
        let mut tx = self.tx().await?;
        let done = sqlx::query("UPDATE tokens SET revoked_at = ? WHERE hash = ? AND revoked_at IS NULL")
            .bind(at)
            .bind(&hash.0[..])
            .execute(&mut *tx)
            .await?;
        audit_in(&mut tx, audit).await?;
        tx.commit().await?;
        Ok(done.rows_affected() == 1)
    }

    pub(crate) async fn revoke_all_for_user(&self, user: UserId, at: i64, audit: &AuditEntry) -> Result<u64> {
        let mut tx = self.tx().await?;
        let done = sqlx::query("UPDATE tokens SET revoked_at = ? WHERE user_id = ? AND revoked_at IS NULL")
            .bind(at)
            .bind(to_i64(user.0)?)
            .execute(&mut *tx)
            .await?;
        let mut audit = audit.clone();
        if audit.detail.is_null() {
            audit.detail = serde_json::json!({"revoked": done.rows_affected()});
        }
        audit_in(&mut tx, &audit).await?;
        tx.commit().await?;
        Ok(done.rows_affected())
    }

    pub(crate) async fn append_audit(&self, audit: &AuditEntry) -> Result<()> {
        let mut tx = self.tx().await?;
        audit_in(&mut tx, audit).await?;
        tx.commit().await?;
        Ok(())
    }

    pub(crate) async fn audit_tail(&self, limit: i64) -> Result<Vec<AuditEntry>> {
        let rows = sqlx::query(
            "SELECT * FROM (SELECT seq, at, action, actor, subject, app_id, token_ref, detail FROM audit
             ORDER BY seq DESC LIMIT ?) ORDER BY seq",
        )
        .bind(limit)
        .fetch_all(&self.read)
        .await?;
        rows.iter().map(audit_row).collect()
    }

    pub(crate) async fn clock_offset(&self) -> Result<i64> {
        Ok(sqlx::query_scalar("SELECT value FROM settings WHERE key = 'clock_offset'").fetch_one(&self.read).await?)
    }

    pub(crate) async fn set_clock_offset(&self, offset: i64, audit: &AuditEntry) -> Result<()> {
        let mut tx = self.tx().await?;
        sqlx::query("UPDATE settings SET value = ? WHERE key = 'clock_offset'").bind(offset).execute(&mut *tx).await?;
        audit_in(&mut tx, audit).await?;
        tx.commit().await?;
        Ok(())
    }

    pub(crate) async fn set_password_hash(&self, user: UserId, phc: &str, audit: &AuditEntry) -> Result<()> {
        let mut tx = self.tx().await?;
        sqlx::query(
            "INSERT INTO credentials (user_id, password_hash) VALUES (?, ?)
             ON CONFLICT (user_id) DO UPDATE SET password_hash = excluded.password_hash",
        )
        .bind(to_i64(user.0)?)
        .bind(phc)
        .execute(&mut *tx)
        .await
        .map_err(|e| conflict(e, format!("user {user}")))?;
        audit_in(&mut tx, audit).await?;
        tx.commit().await?;
        Ok(())
    }

    pub(crate) async fn get_password_hash(&self, user: UserId) -> Result<Option<String>> {
        Ok(sqlx::query_scalar("SELECT password_hash FROM credentials WHERE user_id = ?")
            .bind(to_i64(user.0)?)
            .fetch_optional(&self.read)
            .await?)
    }

    pub(crate) async fn update_app(&self, app: &StoredApp, audit: &AuditEntry) -> Result<()> {
        let mut tx = self.tx().await?;
        let done = sqlx::query("UPDATE apps SET body = ?, sealed_secret = ? WHERE id = ?")
            .bind(app_json(&app.app))
            .bind(&app.sealed_secret)
            .bind(to_i64(app.app.id.0)?)
            .execute(&mut *tx)
            .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound(format!("app {}", app.app.id)));
        }
        audit_in(&mut tx, audit).await?;
        tx.commit().await?;
        Ok(())
    }

    pub(crate) async fn uninstall_app(&self, su: UserId, app: AppId, audit: &AuditEntry) -> Result<bool> {
        let mut tx = self.tx().await?;
        let done = sqlx::query("DELETE FROM installs WHERE user_id = ? AND app_id = ?")
            .bind(to_i64(su.0)?)
            .bind(to_i64(app.0)?)
            .execute(&mut *tx)
            .await?;
        audit_in(&mut tx, audit).await?;
        tx.commit().await?;
        Ok(done.rows_affected() == 1)
    }

    pub(crate) async fn app_scoped_id(&self, app: AppId, su: UserId) -> Result<UserId> {
        let find = || async {
            sqlx::query_scalar::<_, i64>("SELECT id FROM app_scoped_ids WHERE app_id = ? AND user_id = ?")
                .bind(to_i64(app.0)?)
                .bind(to_i64(su.0)?)
                .fetch_optional(&self.write)
                .await
                .map_err(StoreError::from)
        };
        if let Some(id) = find().await? {
            return Ok(UserId(to_u64(id)));
        }
        let fresh = to_i64(self.next_id().await?)?;
        // A concurrent allocation for the same pair wins through the unique constraint; re-read either way.
        sqlx::query("INSERT INTO app_scoped_ids (id, app_id, user_id) VALUES (?, ?, ?) ON CONFLICT DO NOTHING")
            .bind(fresh)
            .bind(to_i64(app.0)?)
            .bind(to_i64(su.0)?)
            .execute(&self.write)
            .await
            .map_err(|e| conflict(e, format!("user {su}")))?;
        find().await?.map(|id| UserId(to_u64(id))).ok_or_else(|| StoreError::NotFound(format!("user {su}")))
    }

    pub(crate) async fn resolve_app_scoped_id(&self, id: UserId) -> Result<Option<(AppId, UserId)>> {
        let row = sqlx::query("SELECT app_id, user_id FROM app_scoped_ids WHERE id = ?")
            .bind(to_i64(id.0)?)
            .fetch_optional(&self.read)
            .await?;
        row.map(|r| Ok((AppId(to_u64(r.try_get("app_id")?)), UserId(to_u64(r.try_get("user_id")?))))).transpose()
    }

    pub(crate) async fn create_page(&self, page: &Page, audit: &AuditEntry) -> Result<()> {
        let mut tx = self.tx().await?;
        sqlx::query("INSERT INTO pages (id, name, business_id) VALUES (?, ?, ?)")
            .bind(to_i64(page.id.0)?)
            .bind(&page.name)
            .bind(to_i64(page.business_id.0)?)
            .execute(&mut *tx)
            .await
            .map_err(|e| conflict(e, format!("object {}", page.id)))?;
        audit_in(&mut tx, audit).await?;
        tx.commit().await?;
        Ok(())
    }

    pub(crate) async fn get_page(&self, id: PageId) -> Result<Option<Page>> {
        let row = sqlx::query("SELECT id, name, business_id FROM pages WHERE id = ?")
            .bind(to_i64(id.0)?)
            .fetch_optional(&self.read)
            .await?;
        row.as_ref().map(page_row).transpose()
    }

    pub(crate) async fn list_business_pages(&self, business: BusinessId) -> Result<Vec<Page>> {
        let rows = sqlx::query("SELECT id, name, business_id FROM pages WHERE business_id = ? ORDER BY id")
            .bind(to_i64(business.0)?)
            .fetch_all(&self.read)
            .await?;
        rows.iter().map(page_row).collect()
    }

    pub(crate) async fn set_page_role(&self, role: &PageRole, audit: &AuditEntry) -> Result<()> {
        let mut tx = self.tx().await?;
        sqlx::query(
            "INSERT INTO page_roles (page_id, user_id, tasks) VALUES (?, ?, ?)
             ON CONFLICT (page_id, user_id) DO UPDATE SET tasks = excluded.tasks",
        )
        .bind(to_i64(role.page_id.0)?)
        .bind(to_i64(role.user_id.0)?)
        .bind(json(&role.tasks))
        .execute(&mut *tx)
        .await
        .map_err(|e| conflict(e, format!("page {} or user {}", role.page_id, role.user_id)))?;
        audit_in(&mut tx, audit).await?;
        tx.commit().await?;
        Ok(())
    }

    pub(crate) async fn remove_page_role(&self, page: PageId, user: UserId, audit: &AuditEntry) -> Result<bool> {
        let mut tx = self.tx().await?;
        let done = sqlx::query("DELETE FROM page_roles WHERE page_id = ? AND user_id = ?")
            .bind(to_i64(page.0)?)
            .bind(to_i64(user.0)?)
            .execute(&mut *tx)
            .await?;
        audit_in(&mut tx, audit).await?;
        tx.commit().await?;
        Ok(done.rows_affected() == 1)
    }

    pub(crate) async fn get_page_role(&self, page: PageId, user: UserId) -> Result<Option<PageRole>> {
        let row = sqlx::query("SELECT page_id, user_id, tasks FROM page_roles WHERE page_id = ? AND user_id = ?")
            .bind(to_i64(page.0)?)
            .bind(to_i64(user.0)?)
            .fetch_optional(&self.read)
            .await?;
        row.as_ref().map(role_row).transpose()
    }

    pub(crate) async fn list_page_roles(&self, page: PageId) -> Result<Vec<PageRole>> {
        let rows = sqlx::query("SELECT page_id, user_id, tasks FROM page_roles WHERE page_id = ? ORDER BY user_id")
            .bind(to_i64(page.0)?)
            .fetch_all(&self.read)
            .await?;
        rows.iter().map(role_row).collect()
    }

    pub(crate) async fn list_user_pages(&self, user: UserId) -> Result<Vec<(Page, PageRole)>> {
        let rows = sqlx::query(
            "SELECT p.id, p.name, p.business_id, r.page_id, r.user_id, r.tasks
             FROM page_roles r JOIN pages p ON p.id = r.page_id WHERE r.user_id = ? ORDER BY p.id",
        )
        .bind(to_i64(user.0)?)
        .fetch_all(&self.read)
        .await?;
        rows.iter().map(|r| Ok((page_row(r)?, role_row(r)?))).collect()
    }

    pub(crate) async fn insert_code(&self, code: &AuthCode, audit: &AuditEntry) -> Result<()> {
        let mut tx = self.tx().await?;
        sqlx::query(
            "INSERT INTO auth_codes (hash, app_id, user_id, redirect_uri, scopes, created_at, used_at, session_epoch)
             VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
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
        audit_in(&mut tx, audit).await?;
        tx.commit().await?;
        Ok(())
    }

    pub(crate) async fn get_code(&self, hash: &TokenHash) -> Result<Option<AuthCode>> {
        let row = sqlx::query(
            "SELECT hash, app_id, user_id, redirect_uri, scopes, created_at, used_at, session_epoch FROM auth_codes WHERE hash = ?",
        )
        .bind(&hash.0[..])
        .fetch_optional(&self.read)
        .await?;
        row.map(|r| {
            Ok(AuthCode {
                hash: hash_from(&r.try_get::<Vec<u8>, _>("hash")?)?,
                app_id: AppId(to_u64(r.try_get("app_id")?)),
                user_id: UserId(to_u64(r.try_get("user_id")?)),
                redirect_uri: r.try_get("redirect_uri")?,
                scopes: scopes_from(&r.try_get::<String, _>("scopes")?)?,
                created_at: r.try_get("created_at")?,
                used_at: r.try_get("used_at")?,
                session_epoch: r.try_get("session_epoch")?,
            })
        })
        .transpose()
    }

    pub(crate) async fn redeem_code(
        &self,
        hash: &TokenHash,
        at: i64,
        token: &TokenRecord,
        audit: &AuditEntry,
    ) -> Result<()> {
        let mut tx = self.tx().await?;
        let done = sqlx::query("UPDATE auth_codes SET used_at = ? WHERE hash = ? AND used_at IS NULL")
            .bind(at)
            .bind(&hash.0[..])
            .execute(&mut *tx)
            .await?;
        if done.rows_affected() != 1 {
            return Err(StoreError::CodeUsed);
        }
        insert_token_in(&mut tx, token).await?;
        audit_in(&mut tx, audit).await?;
        tx.commit().await?;
        Ok(())
    }

    pub(crate) async fn reset(&self, audit: &AuditEntry) -> Result<()> {
        let mut tx = self.tx().await?;
        for t in RESET_ORDER {
            sqlx::query(&format!("DELETE FROM {t}")).execute(&mut *tx).await?;
        }
        sqlx::query("UPDATE settings SET value = 0 WHERE key = 'clock_offset'").execute(&mut *tx).await?;
        audit_in(&mut tx, audit).await?;
        tx.commit().await?;
        Ok(())
    }

    pub(crate) async fn dump(&self) -> Result<Dump> {
        // One read transaction: every part of the dump comes from the same snapshot.
        let mut c = self.read.begin().await?;
        let businesses = sqlx::query("SELECT id, name, must_use_expiring_tokens FROM businesses ORDER BY id")
            .fetch_all(&mut *c)
            .await?
            .iter()
            .map(|r| {
                Ok(Business {
                    id: BusinessId(to_u64(r.try_get("id")?)),
                    name: r.try_get("name")?,
                    must_use_expiring_tokens: r.try_get("must_use_expiring_tokens")?,
                })
            })
            .collect::<Result<Vec<_>>>()?;
        let users = sqlx::query("SELECT id, name, business_id, kind, session_epoch FROM users ORDER BY id")
            .fetch_all(&mut *c)
            .await?
            .iter()
            .map(user_from)
            .collect::<Result<Vec<_>>>()?;
        let apps = sqlx::query("SELECT body FROM apps ORDER BY id")
            .fetch_all(&mut *c)
            .await?
            .iter()
            .map(|r| from_json::<App>(&r.try_get::<String, _>("body")?, "app"))
            .collect::<Result<Vec<_>>>()?;
        let installs = sqlx::query("SELECT user_id, app_id FROM installs ORDER BY user_id, app_id")
            .fetch_all(&mut *c)
            .await?
            .iter()
            .map(|r| Ok((UserId(to_u64(r.try_get("user_id")?)), AppId(to_u64(r.try_get("app_id")?)))))
            .collect::<Result<Vec<_>>>()?;
        let pages = sqlx::query("SELECT id, name, business_id FROM pages ORDER BY id")
            .fetch_all(&mut *c)
            .await?
            .iter()
            .map(page_row)
            .collect::<Result<Vec<_>>>()?;
        let page_roles = sqlx::query("SELECT page_id, user_id, tasks FROM page_roles ORDER BY page_id, user_id")
            .fetch_all(&mut *c)
            .await?
            .iter()
            .map(role_row)
            .collect::<Result<Vec<_>>>()?;
        let tokens = sqlx::query(&format!("SELECT {TOKEN_COLUMNS} FROM tokens ORDER BY issued_at, hash"))
            .fetch_all(&mut *c)
            .await?
            .iter()
            .map(|r| token_row(r).map(|t| summary(&t)))
            .collect::<Result<Vec<_>>>()?;
        let audit_len: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM audit").fetch_one(&mut *c).await?;
        let clock_offset: i64 =
            sqlx::query_scalar("SELECT value FROM settings WHERE key = 'clock_offset'").fetch_one(&mut *c).await?;
        c.commit().await?;
        Ok(Dump { businesses, users, apps, installs, pages, page_roles, tokens, audit_len, clock_offset })
    }
}

/// Every table but `audit` and `settings`, children before parents (foreign keys), for [`Store::reset`].
pub(crate) const RESET_ORDER: [&str; 10] = [
    "tokens",
    "installs",
    "credentials",
    "page_roles",
    "pages",
    "auth_codes",
    "app_scoped_ids",
    "apps",
    "users",
    "businesses",
];

/// A token row as the dump shows it: no hash, only its audit reference.
pub(crate) fn summary(t: &TokenRecord) -> TokenSummary {
    TokenSummary {
        token_ref: t.hash.to_hex()[..16].to_owned(),
        kind: t.kind.as_str().to_owned(),
        app_id: t.app_id,
        user_id: t.user_id,
        scopes: t.scopes.iter().map(|s| s.as_str().to_owned()).collect(),
        issued_at: t.issued_at,
        expires_at: t.expires_at,
        revoked_at: t.revoked_at,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(crate) async fn pragma(pool: &SqlitePool, name: &str) -> String {
        let row = sqlx::query(&format!("PRAGMA {name}")).fetch_one(pool).await.unwrap();
        row.try_get::<String, _>(0).or_else(|_| row.try_get::<i64, _>(0).map(|v| v.to_string())).unwrap()
    }

    #[tokio::test]
    pub(crate) async fn every_connection_is_durable_and_checks_foreign_keys() {
        let path = std::env::temp_dir().join(format!("suat-pragmas-{}.db", std::process::id()));
        let _ = std::fs::remove_file(&path);
        let s = SqliteStore::open(&path).await.unwrap();
        for pool in [&s.write, &s.read] {
            assert_eq!(pragma(pool, "journal_mode").await, "wal");
            assert_eq!(pragma(pool, "synchronous").await, "2", "FULL");
            assert_eq!(pragma(pool, "foreign_keys").await, "1");
            assert_eq!(pragma(pool, "busy_timeout").await, "5000");
        }
        // The read pool cannot write, so no write can bypass the single writer.
        assert!(sqlx::query("DELETE FROM tokens").execute(&s.read).await.is_err());
        s.close().await;
        for ext in ["", "-wal", "-shm"] {
            let _ = std::fs::remove_file(format!("{}{ext}", path.display()));
        }
    }
}

crate::shim::delegate_store!(SqliteStore);

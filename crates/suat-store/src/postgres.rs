//! The PostgreSQL backend, for several stateless `suat serve` replicas on one database. Every mutating call is one
//! transaction; read-check-write calls lock the rows they check (`FOR UPDATE`) and "revoke all" takes a per-user
//! advisory lock, so replicas serialise on the database rather than in memory, and ids come from a sequence.

use crate::{
    cache::Invalidation, codec::*, sqlite::summary, sqlite::RESET_ORDER, AuditEntry, Dump, Result, StoreError,
    StoredApp,
};
use sqlx::{
    postgres::{PgPoolOptions, PgRow},
    Executor, PgPool, Postgres, Row, Transaction,
};
use std::time::Duration;
use suat_core::{
    oauth::AuthCode,
    page::{Page, PageRole},
    App, AppId, Business, BusinessId, PageId, TokenHash, TokenRecord, User, UserId,
};

#[derive(Clone)]
pub struct PgStore {
    read: PgPool,
    write: PgPool,
    /// NOTIFY channel of this database/schema's invalidations (one per schema, so test schemas stay apart).
    channel: String,
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
            // Once, before the pool: concurrent CREATE SCHEMA IF NOT EXISTS from several connections can race.
            let mut c = <sqlx::PgConnection as sqlx::Connection>::connect(url).await?;
            c.execute(format!("CREATE SCHEMA IF NOT EXISTS {s}").as_str()).await?;
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
        sqlx::migrate!("./migrations/postgres").run(&pool).await?;
        let channel = match &schema {
            Some(s) => format!("suat_{s}"),
            None => "suat_invalidate".to_owned(),
        };
        Ok(PgStore { read: pool.clone(), write: pool, channel })
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

    /// Runs raw SQL on the write connection. Only for tests that prove the database itself refuses something.
    #[doc(hidden)]
    pub async fn raw_execute(&self, sql: &str) -> Result<()> {
        sqlx::query(sql).execute(&self.write).await?;
        Ok(())
    }

    pub(crate) async fn tx(&self) -> Result<Transaction<'static, Postgres>> {
        Ok(self.write.begin().await?)
    }
}

/// First key of the two-key advisory locks this backend takes (ASCII "suat"), apart from any other user of them.
const LOCK_NAMESPACE: i32 = 0x7375_6174;

/// Second key of the advisory lock guarding a user's token family: the id folded to 32 bits. A collision only makes
/// two users' "revoke all" and refreshes wait for each other.
fn user_lock_key(u: UserId) -> i32 {
    ((u.0 >> 32) ^ (u.0 & 0xffff_ffff)) as u32 as i32
}

/// Takes the user's token-family lock until the end of `tx`: shared for a refresh (refreshes run in parallel),
/// exclusive for "revoke all".
async fn lock_user_tokens(tx: &mut Transaction<'static, Postgres>, u: UserId, exclusive: bool) -> Result<()> {
    let f = if exclusive { "pg_advisory_xact_lock" } else { "pg_advisory_xact_lock_shared" };
    sqlx::query(&format!("SELECT {f}($1, $2)::text"))
        .bind(LOCK_NAMESPACE)
        .bind(user_lock_key(u))
        .execute(&mut **tx)
        .await?;
    Ok(())
}

fn conflict(e: sqlx::Error, what: String) -> StoreError {
    match &e {
        sqlx::Error::Database(d) if d.is_unique_violation() => StoreError::Conflict(what),
        sqlx::Error::Database(d) if d.is_foreign_key_violation() => StoreError::NotFound(what),
        _ => StoreError::Db(e),
    }
}

/// Announces a change to the other replicas; delivered when (and only if) the transaction commits.
async fn notify(tx: &mut Transaction<'static, Postgres>, channel: &str, ev: Invalidation) -> Result<()> {
    sqlx::query("SELECT pg_notify($1, $2)").bind(channel).bind(ev.encode()).execute(&mut **tx).await?;
    Ok(())
}

async fn audit_in(tx: &mut Transaction<'static, Postgres>, a: &AuditEntry) -> Result<()> {
    sqlx::query(
        "INSERT INTO audit (at, action, actor, subject, app_id, token_ref, detail) VALUES ($1, $2, $3, $4, $5, $6, $7)",
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

fn user_from(r: &PgRow) -> Result<User> {
    Ok(User {
        id: UserId(to_u64(r.try_get("id")?)),
        name: r.try_get("name")?,
        business_id: r.try_get::<Option<i64>, _>("business_id")?.map(|b| BusinessId(to_u64(b))),
        kind: from_json(&r.try_get::<String, _>("kind")?, "user kind")?,
        session_epoch: r.try_get("session_epoch")?,
    })
}

fn token_row(r: &PgRow) -> Result<TokenRecord> {
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

fn page_row(r: &PgRow) -> Result<Page> {
    Ok(Page {
        id: PageId(to_u64(r.try_get("id")?)),
        name: r.try_get("name")?,
        business_id: BusinessId(to_u64(r.try_get("business_id")?)),
    })
}

fn role_row(r: &PgRow) -> Result<PageRole> {
    Ok(PageRole {
        page_id: PageId(to_u64(r.try_get("page_id")?)),
        user_id: UserId(to_u64(r.try_get("user_id")?)),
        tasks: from_json(&r.try_get::<String, _>("tasks")?, "page tasks")?,
    })
}

fn audit_row(r: &PgRow) -> Result<AuditEntry> {
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

async fn insert_token_in(tx: &mut Transaction<'static, Postgres>, t: &TokenRecord) -> Result<()> {
    sqlx::query(&format!("INSERT INTO tokens ({TOKEN_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)"))
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

impl PgStore {
    pub(crate) async fn next_id(&self) -> Result<u64> {
        let id: i64 = sqlx::query_scalar("SELECT nextval('graph_ids')").fetch_one(&self.write).await?;
        Ok(to_u64(id))
    }

    pub(crate) async fn create_business(&self, b: &Business, audit: &AuditEntry) -> Result<()> {
        let mut tx = self.tx().await?;
        sqlx::query("INSERT INTO businesses (id, name, must_use_expiring_tokens) VALUES ($1, $2, $3)")
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
        let row = sqlx::query("SELECT id, name, must_use_expiring_tokens FROM businesses WHERE id = $1")
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
        sqlx::query("INSERT INTO users (id, name, business_id, kind, session_epoch) VALUES ($1, $2, $3, $4, $5)")
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
        let row = sqlx::query("SELECT id, name, business_id, kind, session_epoch FROM users WHERE id = $1")
            .bind(to_i64(id.0)?)
            .fetch_optional(&self.read)
            .await?;
        row.as_ref().map(user_from).transpose()
    }

    pub(crate) async fn list_system_users(&self, business: BusinessId) -> Result<Vec<User>> {
        let rows = sqlx::query(
            "SELECT id, name, business_id, kind, session_epoch FROM users
             WHERE business_id = $1 AND kind LIKE '{\"type\":\"system_user\"%' ORDER BY created_seq",
        )
        .bind(to_i64(business.0)?)
        .fetch_all(&self.read)
        .await?;
        rows.iter().map(user_from).collect()
    }

    pub(crate) async fn bump_session_epoch(&self, user: UserId, audit: &AuditEntry) -> Result<i64> {
        let mut tx = self.tx().await?;
        let epoch: Option<i64> = sqlx::query_scalar(
            "UPDATE users SET session_epoch = session_epoch + 1 WHERE id = $1 RETURNING session_epoch",
        )
        .bind(to_i64(user.0)?)
        .fetch_optional(&mut *tx)
        .await?;
        let epoch = epoch.ok_or_else(|| StoreError::NotFound(format!("user {user}")))?;
        notify(&mut tx, &self.channel, Invalidation::User(user)).await?;
        audit_in(&mut tx, audit).await?;
        tx.commit().await?;
        Ok(epoch)
    }

    pub(crate) async fn create_app(&self, app: &StoredApp, audit: &AuditEntry) -> Result<()> {
        let mut tx = self.tx().await?;
        sqlx::query("INSERT INTO apps (id, body, sealed_secret) VALUES ($1, $2, $3)")
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
        let row = sqlx::query("SELECT body, sealed_secret FROM apps WHERE id = $1")
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
        let done = sqlx::query("INSERT INTO installs (user_id, app_id) VALUES ($1, $2) ON CONFLICT DO NOTHING")
            .bind(to_i64(su.0)?)
            .bind(to_i64(app.0)?)
            .execute(&mut *tx)
            .await
            .map_err(|e| conflict(e, format!("user {su} or app {app}")))?;
        notify(&mut tx, &self.channel, Invalidation::Install(su, app)).await?;
        audit_in(&mut tx, audit).await?;
        tx.commit().await?;
        Ok(done.rows_affected() == 1)
    }

    pub(crate) async fn is_installed(&self, su: UserId, app: AppId) -> Result<bool> {
        let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM installs WHERE user_id = $1 AND app_id = $2")
            .bind(to_i64(su.0)?)
            .bind(to_i64(app.0)?)
            .fetch_one(&self.read)
            .await?;
        Ok(n > 0)
    }

    pub(crate) async fn insert_token(&self, rec: &TokenRecord, audit: &AuditEntry) -> Result<()> {
        let mut tx = self.tx().await?;
        insert_token_in(&mut tx, rec).await?;
        audit_in(&mut tx, audit).await?;
        tx.commit().await?;
        Ok(())
    }

    pub(crate) async fn get_token(&self, hash: &TokenHash) -> Result<Option<std::sync::Arc<TokenRecord>>> {
        let row = sqlx::query(&format!("SELECT {TOKEN_COLUMNS} FROM tokens WHERE hash = $1"))
            .bind(&hash.0[..])
            .fetch_optional(&self.read)
            .await?;
        Ok(row.as_ref().map(token_row).transpose()?.map(std::sync::Arc::new))
    }

    pub(crate) async fn refresh_token(&self, new: &TokenRecord, audit: &AuditEntry) -> Result<()> {
        let parent = new.parent.ok_or(StoreError::ParentRevoked)?;
        // The parent row stays locked until commit, so a concurrent revoke on any replica waits for this refresh
        // (and then revokes a parent whose child exists legitimately) or wins first (and this refresh fails).
        // A "revoke all" would not see a child committed while it waited for that row lock (its snapshot is older),
        // so refreshes also hold the subject's token-family lock, shared, which "revoke all" takes exclusively
        // before it looks. Taken first, always in this order, so the two locks cannot deadlock.
        let mut tx = self.tx().await?;
        if let Some(u) = new.user_id {
            lock_user_tokens(&mut tx, u, false).await?;
        }
        let revoked: Option<Option<i64>> =
            sqlx::query_scalar("SELECT revoked_at FROM tokens WHERE hash = $1 FOR UPDATE")
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
        let done = sqlx::query("UPDATE tokens SET revoked_at = $1 WHERE hash = $2 AND revoked_at IS NULL")
            .bind(at)
            .bind(&hash.0[..])
            .execute(&mut *tx)
            .await?;
        notify(&mut tx, &self.channel, Invalidation::Token(*hash)).await?;
        audit_in(&mut tx, audit).await?;
        tx.commit().await?;
        Ok(done.rows_affected() == 1)
    }

    pub(crate) async fn revoke_all_for_user(&self, user: UserId, at: i64, audit: &AuditEntry) -> Result<u64> {
        let mut tx = self.tx().await?;
        // Waits for in-flight refreshes of this user's tokens and holds off new ones (see `refresh_token`), so the
        // update below sees every child committed so far and no refresh can slip one in behind it.
        lock_user_tokens(&mut tx, user, true).await?;
        let done = sqlx::query("UPDATE tokens SET revoked_at = $1 WHERE user_id = $2 AND revoked_at IS NULL")
            .bind(at)
            .bind(to_i64(user.0)?)
            .execute(&mut *tx)
            .await?;
        let mut audit = audit.clone();
        if audit.detail.is_null() {
            audit.detail = serde_json::json!({"revoked": done.rows_affected()});
        }
        notify(&mut tx, &self.channel, Invalidation::AllTokens).await?;
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
             ORDER BY seq DESC LIMIT $1) AS t ORDER BY seq",
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
        sqlx::query("UPDATE settings SET value = $1 WHERE key = 'clock_offset'").bind(offset).execute(&mut *tx).await?;
        notify(&mut tx, &self.channel, Invalidation::Clock).await?;
        audit_in(&mut tx, audit).await?;
        tx.commit().await?;
        Ok(())
    }

    pub(crate) async fn set_password_hash(&self, user: UserId, phc: &str, audit: &AuditEntry) -> Result<()> {
        let mut tx = self.tx().await?;
        sqlx::query(
            "INSERT INTO credentials (user_id, password_hash) VALUES ($1, $2)
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
        Ok(sqlx::query_scalar("SELECT password_hash FROM credentials WHERE user_id = $1")
            .bind(to_i64(user.0)?)
            .fetch_optional(&self.read)
            .await?)
    }

    pub(crate) async fn update_app(&self, app: &StoredApp, audit: &AuditEntry) -> Result<()> {
        let mut tx = self.tx().await?;
        let done = sqlx::query("UPDATE apps SET body = $1, sealed_secret = $2 WHERE id = $3")
            .bind(app_json(&app.app))
            .bind(&app.sealed_secret)
            .bind(to_i64(app.app.id.0)?)
            .execute(&mut *tx)
            .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound(format!("app {}", app.app.id)));
        }
        notify(&mut tx, &self.channel, Invalidation::App(app.app.id)).await?;
        audit_in(&mut tx, audit).await?;
        tx.commit().await?;
        Ok(())
    }

    pub(crate) async fn uninstall_app(&self, su: UserId, app: AppId, audit: &AuditEntry) -> Result<bool> {
        let mut tx = self.tx().await?;
        let done = sqlx::query("DELETE FROM installs WHERE user_id = $1 AND app_id = $2")
            .bind(to_i64(su.0)?)
            .bind(to_i64(app.0)?)
            .execute(&mut *tx)
            .await?;
        notify(&mut tx, &self.channel, Invalidation::Install(su, app)).await?;
        audit_in(&mut tx, audit).await?;
        tx.commit().await?;
        Ok(done.rows_affected() == 1)
    }

    pub(crate) async fn app_scoped_id(&self, app: AppId, su: UserId) -> Result<UserId> {
        let find = || async {
            sqlx::query_scalar::<_, i64>("SELECT id FROM app_scoped_ids WHERE app_id = $1 AND user_id = $2")
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
        sqlx::query("INSERT INTO app_scoped_ids (id, app_id, user_id) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING")
            .bind(fresh)
            .bind(to_i64(app.0)?)
            .bind(to_i64(su.0)?)
            .execute(&self.write)
            .await
            .map_err(|e| conflict(e, format!("user {su}")))?;
        find().await?.map(|id| UserId(to_u64(id))).ok_or_else(|| StoreError::NotFound(format!("user {su}")))
    }

    pub(crate) async fn resolve_app_scoped_id(&self, id: UserId) -> Result<Option<(AppId, UserId)>> {
        let row = sqlx::query("SELECT app_id, user_id FROM app_scoped_ids WHERE id = $1")
            .bind(to_i64(id.0)?)
            .fetch_optional(&self.read)
            .await?;
        row.map(|r| Ok((AppId(to_u64(r.try_get("app_id")?)), UserId(to_u64(r.try_get("user_id")?))))).transpose()
    }

    pub(crate) async fn create_page(&self, page: &Page, audit: &AuditEntry) -> Result<()> {
        let mut tx = self.tx().await?;
        sqlx::query("INSERT INTO pages (id, name, business_id) VALUES ($1, $2, $3)")
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
        let row = sqlx::query("SELECT id, name, business_id FROM pages WHERE id = $1")
            .bind(to_i64(id.0)?)
            .fetch_optional(&self.read)
            .await?;
        row.as_ref().map(page_row).transpose()
    }

    pub(crate) async fn list_business_pages(&self, business: BusinessId) -> Result<Vec<Page>> {
        let rows = sqlx::query("SELECT id, name, business_id FROM pages WHERE business_id = $1 ORDER BY id")
            .bind(to_i64(business.0)?)
            .fetch_all(&self.read)
            .await?;
        rows.iter().map(page_row).collect()
    }

    pub(crate) async fn set_page_role(&self, role: &PageRole, audit: &AuditEntry) -> Result<()> {
        let mut tx = self.tx().await?;
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
        notify(&mut tx, &self.channel, Invalidation::PageRole(role.page_id, role.user_id)).await?;
        audit_in(&mut tx, audit).await?;
        tx.commit().await?;
        Ok(())
    }

    pub(crate) async fn remove_page_role(&self, page: PageId, user: UserId, audit: &AuditEntry) -> Result<bool> {
        let mut tx = self.tx().await?;
        let done = sqlx::query("DELETE FROM page_roles WHERE page_id = $1 AND user_id = $2")
            .bind(to_i64(page.0)?)
            .bind(to_i64(user.0)?)
            .execute(&mut *tx)
            .await?;
        notify(&mut tx, &self.channel, Invalidation::PageRole(page, user)).await?;
        audit_in(&mut tx, audit).await?;
        tx.commit().await?;
        Ok(done.rows_affected() == 1)
    }

    pub(crate) async fn get_page_role(&self, page: PageId, user: UserId) -> Result<Option<PageRole>> {
        let row = sqlx::query("SELECT page_id, user_id, tasks FROM page_roles WHERE page_id = $1 AND user_id = $2")
            .bind(to_i64(page.0)?)
            .bind(to_i64(user.0)?)
            .fetch_optional(&self.read)
            .await?;
        row.as_ref().map(role_row).transpose()
    }

    pub(crate) async fn list_page_roles(&self, page: PageId) -> Result<Vec<PageRole>> {
        let rows = sqlx::query("SELECT page_id, user_id, tasks FROM page_roles WHERE page_id = $1 ORDER BY user_id")
            .bind(to_i64(page.0)?)
            .fetch_all(&self.read)
            .await?;
        rows.iter().map(role_row).collect()
    }

    pub(crate) async fn list_user_pages(&self, user: UserId) -> Result<Vec<(Page, PageRole)>> {
        let rows = sqlx::query(
            "SELECT p.id, p.name, p.business_id, r.page_id, r.user_id, r.tasks
             FROM page_roles r JOIN pages p ON p.id = r.page_id WHERE r.user_id = $1 ORDER BY p.id",
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
        audit_in(&mut tx, audit).await?;
        tx.commit().await?;
        Ok(())
    }

    pub(crate) async fn get_code(&self, hash: &TokenHash) -> Result<Option<AuthCode>> {
        let row = sqlx::query(
            "SELECT hash, app_id, user_id, redirect_uri, scopes, created_at, used_at, session_epoch FROM auth_codes WHERE hash = $1",
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
        let done = sqlx::query("UPDATE auth_codes SET used_at = $1 WHERE hash = $2 AND used_at IS NULL")
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
        notify(&mut tx, &self.channel, Invalidation::All).await?;
        audit_in(&mut tx, audit).await?;
        tx.commit().await?;
        Ok(())
    }

    pub(crate) fn changes(&self) -> Option<tokio::sync::mpsc::UnboundedReceiver<Invalidation>> {
        let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
        tokio::spawn(Self::listen_loop(self.write.clone(), self.channel.clone(), tx));
        Some(rx)
    }

    pub(crate) async fn dump(&self) -> Result<Dump> {
        // One snapshot for every part of the dump, even while other replicas write.
        let mut c = self.read.begin_with("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY").await?;
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

crate::shim::delegate_store!(PgStore);

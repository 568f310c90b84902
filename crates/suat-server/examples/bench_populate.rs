//! Fills a suat database with N live system-user tokens for the benchmark (1e3 or 1e6), the way issuance would store
//! them (keyed hashes only), and writes the first K tokens in the clear to a file so the load generator can use them
//! (for refresh and revoke). Runs against a stopped or running server's SQLite file or PostgreSQL database; uses the
//! same master key as the server (`SUAT_MASTER_KEY`).
//!
//! With `<all-out> <app-secret>` it also writes every token it stored, one line each as `<token> <appsecret_proof>`
//! (the proof computed with that app secret), for the working-set scenarios: the load generator then picks any of
//! the live tokens and needs no crypto of its own. Minted tokens all have the same length, so every line has too.
//!
//! usage: bench_populate <sqlite-path|postgres-url> <app_id> <system_user_id> <count> <tokens-out> <k>
//!        [<all-out> <app-secret>]

use sqlx::{Connection, Executor};
use std::io::Write;
use suat_core::{proof::AppSecretProof, AccessToken, AppSecret, TokenKey};
use suat_server::config::Keys;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let a: Vec<String> = std::env::args().collect();
    anyhow::ensure!(
        a.len() == 7 || a.len() == 9,
        "usage: bench_populate <db> <app_id> <su_id> <count> <tokens-out> <k> [<all-out> <app-secret>]"
    );
    let mut all = match a.get(7) {
        Some(path) => Some((std::io::BufWriter::new(std::fs::File::create(path)?), AppSecret::new(a[8].clone()))),
        None => None,
    };
    let (db, app, su, count, out, k): (&str, i64, i64, usize, &str, usize) =
        (&a[1], a[2].parse()?, a[3].parse()?, a[4].parse()?, &a[5], a[6].parse()?);
    let master = hex::decode(std::env::var("SUAT_MASTER_KEY")?)?;
    let keys = Keys::from_master(&master.try_into().map_err(|_| anyhow::anyhow!("SUAT_MASTER_KEY: 32 bytes"))?);
    let key: &TokenKey = &keys.token;
    let mut rng = rand::thread_rng();
    let mut clear = Vec::with_capacity(k);
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH)?.as_secs() as i64;
    let pg = db.starts_with("postgres");
    let (sql, mut conn_pg, mut conn_lite) = if pg {
        let c = sqlx::PgConnection::connect(db).await?;
        ("INSERT INTO tokens (hash, kind, app_id, user_id, page_id, scopes, issued_at, expires_at, revoked_at, parent, session_epoch) VALUES ($1, 'SYSTEM_USER', $2, $3, NULL, '[\"ads_read\",\"ads_management\"]', $4, NULL, NULL, NULL, 0)", Some(c), None)
    } else {
        let c = sqlx::SqliteConnection::connect(&format!("sqlite://{db}")).await?;
        ("INSERT INTO tokens (hash, kind, app_id, user_id, page_id, scopes, issued_at, expires_at, revoked_at, parent, session_epoch) VALUES (?, 'SYSTEM_USER', ?, ?, NULL, '[\"ads_read\",\"ads_management\"]', ?, NULL, NULL, NULL, 0)", None, Some(c))
    };
    let started = std::time::Instant::now();
    for chunk_start in (0..count).step_by(10_000) {
        let n = 10_000.min(count - chunk_start);
        if let Some(c) = conn_pg.as_mut() {
            c.execute("BEGIN").await?;
        }
        if let Some(c) = conn_lite.as_mut() {
            c.execute("BEGIN").await?;
        }
        for i in 0..n {
            let t = AccessToken::mint(&mut rng);
            let h = key.hash(t.expose());
            if let Some(c) = conn_pg.as_mut() {
                sqlx::query(sql).bind(h.0.to_vec()).bind(app).bind(su).bind(now).execute(&mut *c).await?;
            } else if let Some(c) = conn_lite.as_mut() {
                sqlx::query(sql).bind(h.0.to_vec()).bind(app).bind(su).bind(now).execute(&mut *c).await?;
            }
            if chunk_start + i < k {
                clear.push(t.expose().to_owned());
            }
            if let Some((w, secret)) = all.as_mut() {
                writeln!(w, "{} {}", t.expose(), AppSecretProof::compute(secret, t.expose()).as_str())?;
            }
        }
        if let Some(c) = conn_pg.as_mut() {
            c.execute("COMMIT").await?;
        }
        if let Some(c) = conn_lite.as_mut() {
            c.execute("COMMIT").await?;
        }
    }
    std::fs::write(out, clear.join("\n") + "\n")?;
    if let Some((mut w, _)) = all {
        w.flush()?;
    }
    eprintln!("populated {count} tokens in {:.1}s; {k} written to {out}", started.elapsed().as_secs_f64());
    Ok(())
}

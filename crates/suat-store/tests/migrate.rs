//! Upgrading: a database written by release 0.1 (`tests/fixtures`, made by `fixtures/make.sh`) is opened by this
//! store, migrated, dumped, and must dump exactly what release 0.1 dumped (`GET /_suat/dump`, saved beside it); the
//! app secret sealed by release 0.1 must still open. PostgreSQL being unreachable FAILS the PostgreSQL test unless
//! `SUAT_SKIP_PG=1` says to skip it (`SUAT_TEST_PG_URL` overrides the URL), as in `contract_postgres.rs`.

use hmac::{Hmac, Mac};
use sha2::Sha256;
use sqlx::Connection;
use std::path::PathBuf;
use suat_core::{crypto::SecretBox, AppId};
use suat_store::{Directory, Dump, Operator, PgStore, SqliteStore};

/// The `SUAT_MASTER_KEY` `make.sh` ran release 0.1 with; it only sealed the app secrets.
const MASTER_KEY: &str = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";
/// The seed's app and its secret (`examples/seed.toml`).
const SEED_APP: AppId = AppId(2001);
const SEED_SECRET: &str = "acme-demo-secret-0123456789abcdef";

fn test_key() -> suat_core::audit::ChainKey {
    suat_core::audit::ChainKey::new([9; 32])
}

fn fixture(name: &str) -> String {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures").join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn expected(name: &str) -> Dump {
    serde_json::from_str(&fixture(name)).expect("a release 0.1 dump")
}

/// The secret box of the server (`suat-server`'s `Keys::from_master`), to prove sealed secrets survive unchanged.
fn secret_box() -> SecretBox {
    let master: [u8; 32] = hex::decode(MASTER_KEY).unwrap().try_into().unwrap();
    let mut m = Hmac::<Sha256>::new_from_slice(&master).unwrap();
    m.update(b"suat secret box v1");
    SecretBox::new(&m.finalize().into_bytes().into())
}

async fn check(store: &(impl Directory + Operator), expected: Dump) {
    let dump = store.dump().await.unwrap();
    assert_eq!(dump, expected);
    // Apps, their roles and shares now come from tables; the dump above compared them. The secret is the same bytes.
    let app = store.get_app(SEED_APP).await.unwrap().expect("the seed app");
    let plain = secret_box().open(format!("app:{SEED_APP}").as_bytes(), &app.sealed_secret).expect("opens");
    assert_eq!(plain, SEED_SECRET.as_bytes());
    assert!(!app.app.roles.is_empty() && !app.app.client_businesses.is_empty(), "the fixture has relations");
}

#[tokio::test]
async fn a_release_0_1_sqlite_database_migrates_and_dumps_the_same() {
    let dir = std::env::temp_dir().join(format!("suat-migrate-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("suat.db");
    {
        let opts = sqlx::sqlite::SqliteConnectOptions::new().filename(&path).create_if_missing(true);
        let mut c = sqlx::SqliteConnection::connect_with(&opts).await.unwrap();
        sqlx::raw_sql(&fixture("release-0.1.sqlite.sql")).execute(&mut c).await.unwrap();
        c.close().await.unwrap();
    }
    let store = SqliteStore::open(&path, test_key()).await.unwrap();
    check(&store, expected("release-0.1.sqlite.dump.json")).await;
    store.close().await;
    drop(store);
    // Reopening migrates nothing more and changes nothing.
    let store = SqliteStore::open(&path, test_key()).await.unwrap();
    check(&store, expected("release-0.1.sqlite.dump.json")).await;
    // The rows from before the chain are not covered; it starts at the first row written after the migration.
    let before = suat_store::audit_chain::verify_sqlite(&path, &test_key()).await.unwrap();
    assert_eq!((before.rows, before.legacy, before.chained, before.broken), (30, 30, 0, None));
    for at in [1, 2] {
        let a = suat_store::AuditEntry::new(at, "operator", "operator");
        suat_store::Writes::execute(&store, &suat_store::Write::AuditOnly, &a).await.unwrap();
    }
    let after = suat_store::audit_chain::verify_sqlite(&path, &test_key()).await.unwrap();
    assert_eq!((after.rows, after.legacy, after.chained, after.broken), (32, 30, 2, None));
    assert_eq!(after.head.map(|h| h.0), Some(32));
    store.close().await;
    std::fs::remove_dir_all(&dir).unwrap();
}

#[tokio::test]
async fn a_release_0_1_postgres_schema_migrates_and_dumps_the_same() {
    if std::env::var("SUAT_SKIP_PG").as_deref() == Ok("1") {
        eprintln!("SUAT_SKIP_PG=1: skipping a PostgreSQL migration test");
        return;
    }
    let url = std::env::var("SUAT_TEST_PG_URL").unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into());
    let schema = format!(
        "m_{}_{}",
        std::process::id(),
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos()
    );
    let mut c =
        sqlx::PgConnection::connect(&url).await.expect("PostgreSQL at SUAT_TEST_PG_URL (or set SUAT_SKIP_PG=1)");
    load_pg_dump(&mut c, &fixture("release-0.1.postgres.sql").replace("fixture", &schema)).await;
    c.close().await.unwrap();
    let store = PgStore::connect_with_schema(&url, &schema).await.unwrap();
    check(&store, expected("release-0.1.postgres.dump.json")).await;
}

/// Plays a `pg_dump` script as psql would: SQL as it comes, `COPY ... FROM stdin` blocks through COPY, psql's own
/// backslash commands (`\restrict`) skipped.
async fn load_pg_dump(c: &mut sqlx::PgConnection, script: &str) {
    let mut sql = String::new();
    let mut lines = script.lines();
    while let Some(line) = lines.next() {
        if line.starts_with("COPY ") && line.ends_with("FROM stdin;") {
            sqlx::raw_sql(&std::mem::take(&mut sql)).execute(&mut *c).await.unwrap();
            let mut data = String::new();
            for row in lines.by_ref().take_while(|l| *l != "\\.") {
                data.push_str(row);
                data.push('\n');
            }
            let mut copy = c.copy_in_raw(line).await.unwrap();
            copy.send(data.into_bytes()).await.unwrap();
            copy.finish().await.unwrap();
        } else if !line.starts_with('\\') {
            sql.push_str(line);
            sql.push('\n');
        }
    }
    sqlx::raw_sql(&sql).execute(&mut *c).await.unwrap();
}

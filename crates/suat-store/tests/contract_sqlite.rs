//! The store contract on SQLite (a fresh temp file per test), plus SQLite-only checks.

use std::sync::Arc;
use suat_store::{contract::Dyn, SqliteStore};

async fn fresh() -> SqliteStore {
    let path = std::env::temp_dir().join(format!("suat-contract-{:016x}.db", rand_u64()));
    SqliteStore::open(&path).await.expect("open sqlite")
}

fn rand_u64() -> u64 {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u128(std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos());
    h.finish()
}

suat_store::store_contract_tests!(async { Some(Arc::new(fresh().await) as Dyn) });

#[tokio::test]
async fn the_database_refuses_to_rewrite_the_audit_log() {
    let s = fresh().await;
    suat_store::Writes::execute(&s, &suat_store::Write::AuditOnly, &suat_store::AuditEntry::new(1, "x", "operator"))
        .await
        .unwrap();
    assert!(s.raw_execute("UPDATE audit SET action = 'y'").await.unwrap_err().to_string().contains("append-only"));
    assert!(s.raw_execute("DELETE FROM audit").await.unwrap_err().to_string().contains("append-only"));
}

#[tokio::test]
async fn committed_data_survives_reopening_the_file() {
    use suat_core::{Business, BusinessId};
    use suat_store::{AuditEntry, AuditLog, Directory, Operator, Write, Writes};
    // A directory name with characters a `sqlite://` URL would misread.
    let dir = std::env::temp_dir().join(format!("suat contract ?#% {:016x}", rand_u64()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("suat.db");
    let s = SqliteStore::open(&path).await.unwrap();
    let b = Business { id: BusinessId(1), name: "b".into(), must_use_expiring_tokens: true, parent_id: None };
    s.execute(&Write::CreateBusiness(b.clone()), &AuditEntry::new(1, "b", "operator")).await.unwrap();
    s.execute(&Write::SetClockOffset(7), &AuditEntry::new(2, "clock", "operator")).await.unwrap();
    let id = s.next_id().await.unwrap();
    s.close().await;
    drop(s);
    // Reopening runs the migrations again (a no-op) and finds everything, ids continuing after the last one.
    let s = SqliteStore::open(&path).await.unwrap();
    assert_eq!(s.get_business(BusinessId(1)).await.unwrap(), Some(b));
    assert_eq!(s.clock_offset().await.unwrap(), 7);
    assert_eq!(s.audit_tail(10).await.unwrap().len(), 2);
    assert!(s.next_id().await.unwrap() > id);
    s.close().await;
    std::fs::remove_dir_all(&dir).unwrap();
}

//! The same store contract on PostgreSQL: a fresh schema per test on one database. `SUAT_TEST_PG_URL` overrides the
//! URL; PostgreSQL being unreachable FAILS these tests unless `SUAT_SKIP_PG=1` says to skip them.

use std::sync::Arc;
use suat_store::{contract::Dyn, PgStore};

fn url() -> String {
    std::env::var("SUAT_TEST_PG_URL").unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into())
}

async fn fresh() -> Option<PgStore> {
    if skip() {
        eprintln!("SUAT_SKIP_PG=1: skipping a PostgreSQL contract test");
        return None;
    }
    Some(open(&fresh_schema()).await)
}

fn fresh_schema() -> String {
    format!(
        "t_{}_{}",
        std::process::id(),
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos()
    )
}

async fn open(schema: &str) -> PgStore {
    PgStore::connect_with_schema(&url(), schema).await.expect("PostgreSQL at SUAT_TEST_PG_URL (or set SUAT_SKIP_PG=1)")
}

fn skip() -> bool {
    std::env::var("SUAT_SKIP_PG").as_deref() == Ok("1")
}

suat_store::store_contract_tests!(async { fresh().await.map(|s| Arc::new(s) as Dyn) });

#[tokio::test]
async fn the_database_refuses_to_rewrite_the_audit_log() {
    let Some(s) = fresh().await else { return };
    suat_store::Writes::execute(&s, &suat_store::Write::AuditOnly, &suat_store::AuditEntry::new(1, "x", "operator"))
        .await
        .unwrap();
    assert!(s.raw_execute("UPDATE audit SET action = 'y'").await.unwrap_err().to_string().contains("append-only"));
    assert!(s.raw_execute("DELETE FROM audit").await.unwrap_err().to_string().contains("append-only"));
}

/// Two stores on one schema stand for two `suat serve` replicas on one database: ids never collide, and one sees
/// what the other committed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replicas_share_ids_and_state() {
    use suat_core::{Business, BusinessId};
    use suat_store::{AuditEntry, Directory, Operator, Write, Writes};
    if skip() {
        return;
    }
    let schema = fresh_schema();
    let (a, b) = (open(&schema).await, open(&schema).await);
    let mut handles = Vec::new();
    for s in [a.clone(), b.clone()] {
        for _ in 0..8 {
            let s = s.clone();
            handles.push(tokio::spawn(async move { s.next_id().await.unwrap() }));
        }
    }
    let mut ids = Vec::new();
    for h in handles {
        ids.push(h.await.unwrap());
    }
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), 16);
    let biz = Business { id: BusinessId(1), name: "b".into(), must_use_expiring_tokens: false, parent_id: None };
    a.execute(&Write::CreateBusiness(biz.clone()), &AuditEntry::new(1, "b", "operator")).await.unwrap();
    assert_eq!(b.get_business(BusinessId(1)).await.unwrap(), Some(biz.clone()));
    assert!(matches!(
        b.execute(&Write::CreateBusiness(biz.clone()), &AuditEntry::new(1, "b", "operator")).await,
        Err(suat_store::StoreError::Conflict(_))
    ));
    b.execute(&Write::SetClockOffset(60), &AuditEntry::new(2, "clock", "operator")).await.unwrap();
    assert_eq!(a.clock_offset().await.unwrap(), 60);
}

#[tokio::test]
async fn schema_names_are_checked_before_use() {
    let err = PgStore::connect_with_schema(&url(), "x; DROP SCHEMA public").await.err().unwrap();
    assert!(err.to_string().contains("invalid schema name"), "{err}");
}

/// Each of the contract's groups, committed as one group, answers and writes exactly what its writes do one by one.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_group_is_its_writes_one_by_one() {
    use suat_store::{contract, AuditEntry, Writes};
    for (k, group) in contract::groups().into_iter().enumerate() {
        let Some(grouped) = fresh().await else { return };
        let Some(alone) = fresh().await else { return };
        let (g, a): (Dyn, Dyn) = (Arc::new(grouped.clone()), Arc::new(alone.clone()));
        contract::group_world(&g).await;
        contract::group_world(&a).await;
        let writes: Vec<_> = group.into_iter().map(|w| (w, AuditEntry::new(2000, "grouped", "operator"))).collect();
        let together = grouped.execute_group(&writes).await;
        let mut one_by_one = Vec::new();
        for (w, e) in &writes {
            one_by_one.push(alone.execute(w, e).await);
        }
        assert_eq!(
            contract::group_outcome(&g, &together).await,
            contract::group_outcome(&a, &one_by_one).await,
            "group {k}"
        );
    }
}

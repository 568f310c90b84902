//! The store contract on SQLite (a fresh temp file per test), plus SQLite-only checks.

use std::sync::Arc;
use suat_store::{contract::Dyn, SqliteStore};

/// `:memory:` is a file in a private temporary directory, removed with the store: the suite leaves nothing behind
/// in the machine's temp directory (CI shares its disk).
async fn fresh() -> SqliteStore {
    SqliteStore::open(std::path::Path::new(":memory:"), test_key()).await.expect("open sqlite")
}

fn test_key() -> suat_core::audit::ChainKey {
    suat_core::audit::ChainKey::new([9; 32])
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
    let s = SqliteStore::open(&path, test_key()).await.unwrap();
    let b = Business { id: BusinessId(1), name: "b".into(), must_use_expiring_tokens: true, parent_id: None };
    s.execute(&Write::CreateBusiness(b.clone()), &AuditEntry::new(1, "b", "operator")).await.unwrap();
    s.execute(&Write::SetClockOffset(7), &AuditEntry::new(2, "clock", "operator")).await.unwrap();
    let id = s.next_id().await.unwrap();
    s.close().await;
    drop(s);
    // Reopening runs the migrations again (a no-op) and finds everything, ids continuing after the last one.
    let s = SqliteStore::open(&path, test_key()).await.unwrap();
    assert_eq!(s.get_business(BusinessId(1)).await.unwrap(), Some(b));
    assert_eq!(s.clock_offset().await.unwrap(), 7);
    assert_eq!(s.audit_tail(10).await.unwrap().len(), 2);
    assert!(s.next_id().await.unwrap() > id);
    s.close().await;
    std::fs::remove_dir_all(&dir).unwrap();
}

/// A store with `n` audit entries, its file, and the chain's key.
async fn with_entries(n: i64) -> (SqliteStore, std::path::PathBuf) {
    use suat_store::{AuditEntry, Write, Writes};
    let path = std::env::temp_dir().join(format!("suat-chain-{:016x}.db", rand_u64()));
    let s = SqliteStore::open(&path, test_key()).await.unwrap();
    for i in 1..=n {
        let a = AuditEntry::new(i, "operator", "operator").detail(serde_json::json!({"i": i}));
        s.execute(&Write::AuditOnly, &a).await.unwrap();
    }
    (s, path)
}

async fn verify(path: &std::path::Path) -> suat_store::audit_chain::ChainReport {
    suat_store::audit_chain::verify_sqlite(path, &test_key()).await.unwrap()
}

fn broken_at(r: &suat_store::audit_chain::ChainReport) -> Option<(i64, suat_core::audit::Break)> {
    r.broken.clone()
}

/// A group that fails in its audit insert, after taking the chain's head the writer keeps, commits nothing and
/// leaves no head behind: the next group reads the head from the database and the chain goes on unbroken.
#[tokio::test]
async fn a_group_that_fails_in_its_audit_rows_leaves_the_chain_whole() {
    use suat_store::{AuditEntry, Write, Writes};
    let (s, path) = with_entries(3).await;
    s.raw_execute(
        "CREATE TRIGGER audit_refuses_boom BEFORE INSERT ON audit WHEN NEW.action = 'boom'
         BEGIN SELECT RAISE(ABORT, 'boom refused'); END",
    )
    .await
    .unwrap();
    // After raw SQL the head is read from the database, then kept by the writer.
    s.execute(&Write::AuditOnly, &AuditEntry::new(4, "operator", "operator")).await.unwrap();
    assert!(s.execute(&Write::AuditOnly, &AuditEntry::new(5, "boom", "operator")).await.is_err());
    s.execute(&Write::AuditOnly, &AuditEntry::new(6, "operator", "operator")).await.unwrap();
    let r = verify(&path).await;
    assert_eq!(broken_at(&r), None, "{r:?}");
    assert_eq!((r.rows, r.chained, r.legacy), (5, 5, 0));
}

/// A restore runs in its caller's future. Dropped in the middle of its transaction (here by a timeout, while a slow
/// trigger keeps the restore in its first `DELETE`), it must not send the write connection back to the pool with
/// that transaction open: the next write commits, and the restore left nothing half done.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restore_dropped_in_its_transaction_leaves_the_write_connection_usable() {
    use suat_core::{Business, BusinessId};
    use suat_store::{AuditEntry, Directory, Operator, Write, Writes};
    let (s, path) = with_entries(0).await;
    let b = Business { id: BusinessId(1), name: "b".into(), must_use_expiring_tokens: false, parent_id: None };
    s.execute(&Write::CreateBusiness(b), &AuditEntry::new(1, "business", "operator")).await.unwrap();
    let snapshot = s.snapshot().await.unwrap();
    s.raw_execute(
        "CREATE TRIGGER slow_delete BEFORE DELETE ON businesses BEGIN
         SELECT count(*) FROM (WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 5000000)
         SELECT x FROM c); END",
    )
    .await
    .unwrap();
    let (restore, entry) = (Write::Restore(Box::new(snapshot)), AuditEntry::new(2, "restore", "operator"));
    let restore = s.execute(&restore, &entry);
    let cut = tokio::time::timeout(std::time::Duration::from_millis(100), restore).await;
    assert!(cut.is_err(), "the restore is cut off inside its DELETE");
    // Waits for the slow statement to end, then commits on a connection with no transaction open.
    s.execute(&Write::AuditOnly, &AuditEntry::new(3, "operator", "operator")).await.unwrap();
    assert!(s.get_business(BusinessId(1)).await.unwrap().is_some(), "the restore's DELETE was undone");
    let r = verify(&path).await;
    assert_eq!(broken_at(&r), None, "{r:?}");
    assert_eq!(r.rows, 2);
}

/// Issuances committed in groups by the issuance queue, interleaved with other writes from many tasks: every row is
/// chained in seq order and the whole log verifies (under the right key only).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_audit_row_is_chained_even_when_issuances_are_committed_in_groups() {
    use suat_core::{scope::Scope, AppId, TokenHash, TokenKind, TokenRecord, UserId};
    use suat_store::{AuditEntry, Write, Writes};
    let (s, path) = with_entries(0).await;
    let mut tasks = Vec::new();
    for n in 0..200u32 {
        let s = s.clone();
        tasks.push(tokio::spawn(async move {
            let mut hash = [0u8; 32];
            hash[..4].copy_from_slice(&n.to_be_bytes());
            let t = TokenRecord {
                hash: TokenHash(hash),
                kind: TokenKind::SystemUser,
                app_id: AppId(20),
                user_id: Some(UserId(10)),
                page_id: None,
                scopes: vec![Scope::from_stored("ads_read".into())],
                issued_at: 1000,
                expires_at: None,
                revoked_at: None,
                parent: None,
                session_epoch: 0,
            };
            let audit = AuditEntry::new(1000, "issue", "10").token(&t.hash);
            s.execute(&Write::IssueToken(t.clone()), &audit).await.unwrap();
            if n % 10 == 0 {
                // A duplicate: the batch it lands in falls back to row-by-row, still chained.
                assert!(s.execute(&Write::IssueToken(t), &audit).await.is_err());
                s.execute(&Write::AuditOnly, &AuditEntry::new(1000, "operator", "operator")).await.unwrap();
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    let r = verify(&path).await;
    assert_eq!(broken_at(&r), None, "{r:?}");
    assert_eq!((r.rows, r.chained, r.legacy), (220, 220, 0));
    assert_eq!(r.head.as_ref().map(|h| h.0), Some(220));
    let other = suat_core::audit::ChainKey::new([1; 32]);
    let wrong = suat_store::audit_chain::verify_sqlite(&path, &other).await.unwrap();
    assert_eq!(wrong.broken, Some((1, suat_core::audit::Break::HashMismatch)), "another key verifies nothing");
}

/// Every kind of token write from many tasks at once, failures among them (a refresh of a revoked parent, a
/// duplicate): whatever the groups were, one chained row per acknowledged write, and the whole log verifies.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_chain_verifies_after_concurrent_groups_of_mixed_writes() {
    use suat_core::{scope::Scope, AppId, TokenHash, TokenKind, TokenRecord, UserId};
    use suat_store::{AuditEntry, Write, Writes};
    let (s, path) = with_entries(0).await;
    let token = |n: u32, parent: Option<u32>| {
        let hash = |n: u32| {
            let mut h = [7u8; 32];
            h[..4].copy_from_slice(&n.to_be_bytes());
            TokenHash(h)
        };
        TokenRecord {
            hash: hash(n),
            kind: TokenKind::SystemUser,
            app_id: AppId(20),
            user_id: Some(UserId(10 + u64::from(n % 3))),
            page_id: None,
            scopes: vec![Scope::from_stored("ads_read".into())],
            issued_at: 1000,
            expires_at: None,
            revoked_at: None,
            parent: parent.map(hash),
            session_epoch: 0,
        }
    };
    let mut tasks = Vec::new();
    for n in 0..150u32 {
        let s = s.clone();
        tasks.push(tokio::spawn(async move {
            let a = |action: &str| AuditEntry::new(1000, action, "10");
            let mut acknowledged = 0;
            let t = token(n, None);
            s.execute(&Write::IssueToken(t.clone()), &a("issue")).await.unwrap();
            acknowledged += 1;
            let writes = [
                Write::RefreshToken(token(1000 + n, Some(n))),
                Write::RevokeToken { hash: t.hash, at: 2000 },
                Write::RefreshToken(token(2000 + n, Some(n))),
                Write::IssueToken(t.clone()),
                Write::RevokeAllForUser { user: UserId(10 + u64::from(n % 3)), at: 2000 },
                Write::AuditOnly,
            ];
            for w in writes {
                acknowledged += u32::from(s.execute(&w, &a("mixed")).await.is_ok());
            }
            acknowledged
        }));
    }
    let mut acknowledged = 0;
    for t in tasks {
        acknowledged += u64::from(t.await.unwrap());
    }
    let r = verify(&path).await;
    assert_eq!(broken_at(&r), None, "{r:?}");
    assert_eq!((r.rows, r.chained, r.legacy), (acknowledged, acknowledged, 0));
    // The duplicate and the refresh after the revocation always fail; a first refresh may lose to a revoke-all.
    assert!((150 * 4..=150 * 5).contains(&acknowledged), "{acknowledged}");
}

#[tokio::test]
async fn an_edited_row_is_named_even_after_the_trigger_is_dropped() {
    use suat_core::audit::Break;
    let (s, path) = with_entries(5).await;
    assert_eq!(broken_at(&verify(&path).await), None);
    s.raw_execute("DROP TRIGGER audit_no_update").await.unwrap();
    s.raw_execute("UPDATE audit SET detail = '{\"i\":33}' WHERE seq = 3").await.unwrap();
    assert_eq!(broken_at(&verify(&path).await), Some((3, Break::HashMismatch)));
    // Rewriting its hash too (without the key) does not help: then the next row's prev no longer matches.
    s.raw_execute("UPDATE audit SET hash = '00' || substr(hash, 3) WHERE seq = 3").await.unwrap();
    assert_eq!(broken_at(&verify(&path).await), Some((3, Break::HashMismatch)));
}

#[tokio::test]
async fn a_deleted_row_is_named_by_the_row_after_it() {
    use suat_core::audit::Break;
    let (s, path) = with_entries(5).await;
    s.raw_execute("DROP TRIGGER audit_no_delete").await.unwrap();
    s.raw_execute("DELETE FROM audit WHERE seq = 3").await.unwrap();
    assert_eq!(broken_at(&verify(&path).await), Some((4, Break::SeqGap { after: 2 })));
}

#[tokio::test]
async fn a_row_inserted_without_the_key_is_named() {
    use suat_core::audit::Break;
    use suat_store::{AuditEntry, Write, Writes};
    let (s, path) = with_entries(3).await;
    // Forged after the head, linked to it, with a made-up hash.
    s.raw_execute(
        "INSERT INTO audit (seq, at, action, actor, detail, prev, hash)
         SELECT 4, 4, 'operator', 'operator', '{}', hash, hex(randomblob(32)) FROM audit WHERE seq = 3",
    )
    .await
    .unwrap();
    assert_eq!(broken_at(&verify(&path).await), Some((4, Break::HashMismatch)));
    // The server goes on chaining after it; the report still names the forged row.
    s.execute(&Write::AuditOnly, &AuditEntry::new(5, "operator", "operator")).await.unwrap();
    assert_eq!(broken_at(&verify(&path).await), Some((4, Break::HashMismatch)));
    // A row without a hash among chained ones.
    let (s, path) = with_entries(3).await;
    s.raw_execute("INSERT INTO audit (at, action, actor, detail) VALUES (4, 'operator', 'operator', '{}')")
        .await
        .unwrap();
    assert_eq!(broken_at(&verify(&path).await), Some((4, Break::Unchained)));
}

/// Each of the contract's groups, committed as one group, answers and writes exactly what its writes do one by one.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_group_is_its_writes_one_by_one() {
    use suat_store::{contract, AuditEntry, Writes};
    for (k, group) in contract::groups().into_iter().enumerate() {
        let grouped = fresh().await;
        let alone = fresh().await;
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

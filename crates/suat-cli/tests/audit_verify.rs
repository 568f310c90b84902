//! `suat audit verify` on SQLite: an untouched log passes; a row edited (after dropping the append-only trigger),
//! deleted or forged without the key fails, naming the first bad seq, with a non-zero exit.

use std::path::{Path, PathBuf};
use std::process::Command;
use suat_store::{AuditEntry, SqliteStore, Write, Writes};

const MASTER: &str = "0f0e0d0c0b0a09080706050403020100f0e0d0c0b0a090807060504030201000";

/// A database in its own directory with `n` audit entries, written under the key derived from [`MASTER`], and the
/// key file (0600) beside it.
async fn log_with(n: i64) -> (tempfile::TempDir, SqliteStore) {
    let dir = tempfile::tempdir().unwrap();
    let key_file = dir.path().join("suat.key");
    std::fs::write(&key_file, MASTER).unwrap();
    std::fs::set_permissions(&key_file, std::os::unix::fs::PermissionsExt::from_mode(0o600)).unwrap();
    let master: [u8; 32] = hex_key(MASTER);
    let keys = suat_server::config::Keys::from_master(&master);
    let s = SqliteStore::open(&dir.path().join("suat.db"), keys.audit).await.unwrap();
    for i in 1..=n {
        let a = AuditEntry::new(1_000 + i, "operator", "operator").detail(serde_json::json!({"i": i}));
        s.execute(&Write::AuditOnly, &a).await.unwrap();
    }
    (dir, s)
}

fn hex_key(s: &str) -> [u8; 32] {
    let bytes: Vec<u8> = (0..32).map(|i| u8::from_str_radix(&s[2 * i..2 * i + 2], 16).unwrap()).collect();
    bytes.try_into().unwrap()
}

/// Runs `suat audit verify` on the directory's database and key: (exit code, stdout, stderr).
fn verify(dir: &Path, key_file: Option<PathBuf>) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_suat"))
        .args(["audit", "verify", "--db"])
        .arg(dir.join("suat.db"))
        .arg("--key-file")
        .arg(key_file.unwrap_or_else(|| dir.join("suat.key")))
        .env_remove("SUAT_MASTER_KEY")
        .env_remove("SUAT_DATABASE_URL")
        .env_remove("SUAT_DB")
        .output()
        .unwrap();
    let text = |b: Vec<u8>| String::from_utf8(b).unwrap();
    (out.status.code().unwrap(), text(out.stdout), text(out.stderr))
}

#[tokio::test]
async fn an_untouched_log_passes_and_names_its_head() {
    let (dir, _s) = log_with(5).await;
    let (code, out, err) = verify(dir.path(), None);
    assert_eq!(code, 0, "{out}{err}");
    let mut lines = out.lines();
    assert_eq!(lines.next(), Some("ok: 5 rows, chain intact"));
    assert!(lines.next().unwrap().starts_with("head: seq 5 hash "), "{out}");
}

#[tokio::test]
async fn an_edited_row_fails_naming_its_seq() {
    let (dir, s) = log_with(5).await;
    s.raw_execute("DROP TRIGGER audit_no_update").await.unwrap();
    s.raw_execute("UPDATE audit SET actor = 'someone else' WHERE seq = 3").await.unwrap();
    let (code, out, _) = verify(dir.path(), None);
    assert_eq!(code, 1);
    assert_eq!(
        out.lines().next(),
        Some("audit chain broken at seq 3: the hash does not match the row's content (the row was modified)")
    );
}

#[tokio::test]
async fn a_deleted_row_fails_naming_the_seq_after_it() {
    let (dir, s) = log_with(5).await;
    s.raw_execute("DROP TRIGGER audit_no_delete").await.unwrap();
    s.raw_execute("DELETE FROM audit WHERE seq = 2").await.unwrap();
    let (code, out, _) = verify(dir.path(), None);
    assert_eq!(code, 1);
    assert!(out.starts_with("audit chain broken at seq 3: seq does not follow 1"), "{out}");
}

#[tokio::test]
async fn a_forged_row_fails_naming_its_seq() {
    let (dir, s) = log_with(3).await;
    s.raw_execute(
        "INSERT INTO audit (at, action, actor, detail, prev, hash)
         SELECT 9, 'revoke', 'operator', '{}', hash, hex(randomblob(32)) FROM audit WHERE seq = 3",
    )
    .await
    .unwrap();
    let (code, out, _) = verify(dir.path(), None);
    assert_eq!(code, 1);
    assert!(out.starts_with("audit chain broken at seq 4: the hash does not match"), "{out}");
}

#[tokio::test]
async fn another_key_fails_and_a_missing_key_is_not_created() {
    let (dir, _s) = log_with(2).await;
    let other = dir.path().join("other.key");
    std::fs::write(&other, "11".repeat(32)).unwrap();
    std::fs::set_permissions(&other, std::os::unix::fs::PermissionsExt::from_mode(0o600)).unwrap();
    let (code, out, _) = verify(dir.path(), Some(other));
    assert_eq!(
        (code, out.lines().next()),
        (1, Some("audit chain broken at seq 1: the hash does not match the row's content (the row was modified)"))
    );
    let missing = dir.path().join("missing.key");
    let (code, _, err) = verify(dir.path(), Some(missing.clone()));
    assert_eq!(code, 2);
    assert!(err.contains("no master key"), "{err}");
    assert!(!missing.exists(), "verify never creates a key");
}

//! `suat audit verify`: checks the audit log of the store `suat serve` would open. On SQLite it walks the keyed hash
//! chain (key derived from the master key, like the server's); on PostgreSQL, where the log is protected by
//! privileges rather than a chain, it checks that the connecting role cannot rewrite it.

use crate::config::{refuse_shared, Keys};
use anyhow::{bail, Context};
use std::path::{Path, PathBuf};

/// Flags of `suat audit verify`: the store and key flags of `suat serve`.
#[derive(clap::Args, Debug, Clone)]
pub struct AuditArgs {
    /// SQLite file of the embedded default store.
    #[arg(long, env = "SUAT_DB", default_value = "suat.db")]
    pub db: PathBuf,
    /// `postgres://...` of a PostgreSQL store (checks the role's privileges on `audit`: there is no chain there).
    #[arg(long, env = "SUAT_DATABASE_URL")]
    pub database_url: Option<String>,
    /// Master key file (hex, 32 bytes), as given to `suat serve`. Ignored when SUAT_MASTER_KEY is set. Never created.
    #[arg(long, env = "SUAT_KEY_FILE", default_value = "suat.key")]
    pub key_file: PathBuf,
}

/// What verification found: the lines to print, and whether the log is intact.
pub struct Verdict {
    pub ok: bool,
    pub lines: Vec<String>,
}

/// Reads the master key as `suat serve` does, but never creates one: a new key would verify nothing.
fn read_master_key(key_file: &Path) -> anyhow::Result<[u8; 32]> {
    let text = match std::env::var("SUAT_MASTER_KEY") {
        Ok(k) => k,
        Err(_) => {
            if !key_file.exists() {
                bail!("no master key: {} does not exist and SUAT_MASTER_KEY is not set", key_file.display());
            }
            refuse_shared(key_file)?;
            std::fs::read_to_string(key_file).with_context(|| format!("reading {}", key_file.display()))?
        }
    };
    let v = hex::decode(text.trim()).context("the master key must be 64 hex characters")?;
    v.try_into().map_err(|_| anyhow::anyhow!("the master key must be 64 hex characters"))
}

/// Verifies the audit log the flags name.
pub async fn verify(args: &AuditArgs) -> anyhow::Result<Verdict> {
    if let Some(url) = &args.database_url {
        return verify_postgres(url).await;
    }
    let keys = Keys::from_master(&read_master_key(&args.key_file)?);
    let r = suat_store::audit_chain::verify_sqlite(&args.db, &keys.audit)
        .await
        .with_context(|| format!("reading the audit log of {}", args.db.display()))?;
    let mut lines = Vec::new();
    if let Some((seq, what)) = &r.broken {
        lines.push(format!("audit chain broken at seq {seq}: {what}"));
        if let Some((head, _)) = &r.head {
            lines.push(format!("rows up to seq {head} verified ({} rows read)", r.rows));
        }
        return Ok(Verdict { ok: false, lines });
    }
    lines.push(format!("ok: {} rows, chain intact", r.rows));
    if r.legacy > 0 {
        lines.push(format!(
            "{} of them were written before the chain existed (migration 0009) and are not covered",
            r.legacy
        ));
    }
    if let Some((seq, hash)) = &r.head {
        lines.push(format!("head: seq {seq} hash {hash} (keep it elsewhere to detect a later truncation)"));
    }
    Ok(Verdict { ok: true, lines })
}

/// On PostgreSQL: the connecting role (the server's) must not be able to UPDATE, DELETE or TRUNCATE `audit`, nor
/// own it (an owner may grant itself anything, or drop the append-only trigger).
async fn verify_postgres(url: &str) -> anyhow::Result<Verdict> {
    let p = suat_store::audit_chain::pg_privileges(url).await.context("reading the privileges on audit")?;
    let excess = p.excess();
    if excess.is_empty() {
        let line = format!(
            "ok: role {} may only add to audit (PostgreSQL keeps no chain; the role's privileges protect the log)",
            p.role
        );
        return Ok(Verdict { ok: true, lines: vec![line] });
    }
    let line = format!(
        "role {} may rewrite audit ({}): run suat serve as the restricted role of docs/postgres-roles.sql",
        p.role,
        excess.join(", ")
    );
    Ok(Verdict { ok: false, lines: vec![line] })
}

//! `suat serve` configuration: flags with env fallbacks, and the key material loaded (or created) once at start-up.

use anyhow::{bail, Context};
use std::io::Write;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

/// Flags of `suat serve`.
#[derive(clap::Args, Debug, Clone)]
pub struct ServeArgs {
    /// Address to listen on.
    #[arg(long, env = "SUAT_LISTEN", default_value = "127.0.0.1:8787")]
    pub listen: SocketAddr,
    /// SQLite file of the embedded default store.
    #[arg(long, env = "SUAT_DB", default_value = "suat.db")]
    pub db: PathBuf,
    /// `postgres://...` to use PostgreSQL instead of the SQLite file (for replicas).
    #[arg(long, env = "SUAT_DATABASE_URL")]
    pub database_url: Option<String>,
    /// Master key file (hex, 32 bytes); created with mode 0600 if absent. Ignored when SUAT_MASTER_KEY is set.
    #[arg(long, env = "SUAT_KEY_FILE", default_value = "suat.key")]
    pub key_file: PathBuf,
    /// Bearer key of the `/_suat/` control plane. If unset, read from (or generated into) `--admin-key-file`.
    #[arg(long, env = "SUAT_ADMIN_KEY", hide_env_values = true)]
    pub admin_key: Option<String>,
    /// File of the control-plane key; created with mode 0600 if absent. Ignored when SUAT_ADMIN_KEY is set.
    #[arg(long, env = "SUAT_ADMIN_KEY_FILE", default_value = "suat.admin-key")]
    pub admin_key_file: PathBuf,
    /// TOML file of businesses, users, system users and apps to create at start-up.
    #[arg(long)]
    pub seed: Option<PathBuf>,
    /// Print the seeded app secrets and user tokens (off by default: they are secrets).
    #[arg(long)]
    pub print_secrets: bool,
    /// Where clients reach this server, e.g. `https://graph.test.example` behind a proxy. Paging `next`/`previous`
    /// URLs are built from it. Default: `http://` and the listening address.
    #[arg(long, env = "SUAT_PUBLIC_URL")]
    pub public_url: Option<String>,
    /// Version reported in `facebook-api-version` when the request path has none.
    #[arg(long, default_value = "v25.0")]
    pub api_version: String,
    /// Entries kept by the request journal (`GET /_suat/requests`), 1 to 100000.
    #[arg(long, env = "SUAT_JOURNAL_SIZE", default_value_t = crate::journal::DEFAULT_SIZE as u32,
          value_parser = clap::value_parser!(u32).range(1..=crate::journal::MAX_SIZE as i64))]
    pub journal_size: u32,
    /// Log lines as `text` (coloured only on a terminal) or `json` (one object a line).
    #[arg(long, env = "SUAT_LOG_FORMAT", value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,
    /// Calls per hour of the server clock an app may make (app and person tokens, and tokens minted for it) before
    /// `(#4)`; `POST /_suat/apps/{id}` `rate_limit` overrides it per app.
    #[arg(long, env = "SUAT_APP_RATE_LIMIT", default_value_t = DEFAULT_QUOTAS.app)]
    pub app_rate_limit: u64,
    /// Calls per hour one person may make with one app before `(#17)`.
    #[arg(long, env = "SUAT_USER_RATE_LIMIT", default_value_t = DEFAULT_QUOTAS.user)]
    pub user_rate_limit: u64,
    /// Calls per hour per business, app and use case (system-user and page tokens) before 80001/80004;
    /// `POST /_suat/businesses/{id}` `rate_limit` overrides it per business.
    #[arg(long, env = "SUAT_BUSINESS_RATE_LIMIT", default_value_t = DEFAULT_QUOTAS.business)]
    pub business_rate_limit: u64,
    /// Open connections at most; past it the longest-idle connection is closed to make room, and a new connection
    /// is refused (503) only when every one is in a request. Default: the open-file limit (raised to its hard limit
    /// at start) less 128 kept for the database and logs.
    #[arg(long, env = "SUAT_MAX_CONNECTIONS", value_parser = clap::value_parser!(u32).range(1..=1_000_000))]
    pub max_connections: Option<u32>,
    /// Seconds a client may take to send a request's head (line and headers) from its first byte.
    #[arg(long, env = "SUAT_HEADER_TIMEOUT", default_value_t = 10, value_parser = clap::value_parser!(u32).range(1..=3600))]
    pub header_timeout: u32,
    /// Seconds a client may take to send a request's body after its head; later, 408.
    #[arg(long, env = "SUAT_BODY_TIMEOUT", default_value_t = 30, value_parser = clap::value_parser!(u32).range(1..=3600))]
    pub body_timeout: u32,
    /// Seconds a connection may wait for its first or next request before it is closed.
    #[arg(long, env = "SUAT_IDLE_TIMEOUT", default_value_t = 60, value_parser = clap::value_parser!(u32).range(1..=86400))]
    pub idle_timeout: u32,
    /// Largest request head (request line and headers) in bytes; larger ones get 431. At least 8192.
    #[arg(long, env = "SUAT_MAX_HEADER_BYTES", default_value_t = 65536,
          value_parser = clap::value_parser!(u32).range(8192..=16_777_216))]
    pub max_header_bytes: u32,
    /// Token records the read cache holds, 1000 to 100000000. Validating a cached token reads no database; the
    /// cache grows with the tokens in use up to this bound (about 200 bytes a token), then makes room by dropping
    /// the ones not used lately.
    #[arg(long, env = "SUAT_CACHE_TOKENS", default_value_t = suat_service::CACHE_CAPACITY as u32,
          value_parser = clap::value_parser!(u32).range(1000..=100_000_000))]
    pub cache_tokens: u32,
}

const DEFAULT_QUOTAS: suat_service::limits::Quotas = suat_service::limits::Quotas::DEFAULT;

impl ServeArgs {
    /// The rate-limit quotas the flags configure.
    pub fn quotas(&self) -> suat_service::limits::Quotas {
        suat_service::limits::Quotas {
            app: self.app_rate_limit,
            user: self.user_rate_limit,
            business: self.business_rate_limit,
        }
    }
}

impl ServeArgs {
    /// The listener's limits the flags configure.
    pub fn connection_limits(&self) -> suat_listener::Limits {
        let d = suat_listener::Limits::defaults();
        suat_listener::Limits {
            max_connections: self.max_connections.map_or(d.max_connections, |n| n as usize),
            header_timeout: std::time::Duration::from_secs(self.header_timeout.into()),
            body_timeout: std::time::Duration::from_secs(self.body_timeout.into()),
            idle_timeout: std::time::Duration::from_secs(self.idle_timeout.into()),
            max_header_bytes: self.max_header_bytes as usize,
        }
    }
}

/// `--log-format`.
#[derive(clap::ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    Text,
    Json,
}

pub use suat_service::Keys;

/// Reads the master key from `SUAT_MASTER_KEY` (64 hex chars) or the key file, creating the file (0600) if absent.
pub fn load_master_key(key_file: &Path) -> anyhow::Result<[u8; 32]> {
    if let Ok(hex_key) = std::env::var("SUAT_MASTER_KEY") {
        return parse_key(hex_key.trim()).context("SUAT_MASTER_KEY must be 64 hex characters");
    }
    if key_file.exists() {
        refuse_shared(key_file)?;
        let s = std::fs::read_to_string(key_file).with_context(|| format!("reading {}", key_file.display()))?;
        return parse_key(s.trim()).with_context(|| format!("{} must hold 64 hex characters", key_file.display()));
    }
    let mut key = [0u8; 32];
    rand::RngCore::fill_bytes(&mut rand::rngs::OsRng, &mut key);
    write_private(key_file, &hex::encode(key))?;
    tracing::info!(path = %key_file.display(), "generated a new master key (mode 0600)");
    Ok(key)
}

/// A short key (an empty file, say) would make the control plane guessable, or open to an empty bearer: refuse it.
fn checked_admin_key(k: String, source: &str) -> anyhow::Result<String> {
    if k.len() < 16 {
        bail!("the control-plane key from {source} must be at least 16 characters");
    }
    Ok(k)
}

/// The control-plane key: flag/env, else the key file, else a new random one written to the key file (0600).
pub fn load_admin_key(args: &ServeArgs) -> anyhow::Result<String> {
    if let Some(k) = &args.admin_key {
        return checked_admin_key(k.clone(), "--admin-key");
    }
    let path = &args.admin_key_file;
    if path.exists() {
        refuse_shared(path)?;
        let k = std::fs::read_to_string(path)?.trim().to_owned();
        return checked_admin_key(k, &path.display().to_string());
    }
    let mut b = [0u8; 32];
    rand::RngCore::fill_bytes(&mut rand::rngs::OsRng, &mut b);
    let k = hex::encode(b);
    write_private(path, &k)?;
    tracing::info!(path = %path.display(), "generated a control-plane key (mode 0600); read it from that file");
    Ok(k)
}

/// A key file others on the host can read is a key they may already have copied: using it silently would hide that.
/// Refuses it, naming the file, its mode and the fix, rather than tightening it (the copy may already be made).
pub fn refuse_shared(path: &Path) -> anyhow::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(path).with_context(|| format!("reading {}", path.display()))?.permissions().mode();
        if mode & 0o077 != 0 {
            bail!(
                "{} has mode {:04o}, readable by others than its owner; refusing to use it as a key (run: chmod 600 {})",
                path.display(),
                mode & 0o7777,
                path.display()
            );
        }
    }
    Ok(())
}

fn parse_key(s: &str) -> anyhow::Result<[u8; 32]> {
    let v = hex::decode(s)?;
    v.try_into().map_err(|_| anyhow::anyhow!("wrong key length"))
}

/// Creates `path` with mode 0600 and writes `content`; refuses to overwrite.
pub fn write_private(path: &Path, content: &str) -> anyhow::Result<()> {
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    let mut f = opts.open(path).with_context(|| format!("creating {}", path.display()))?;
    f.write_all(content.as_bytes())?;
    f.sync_all()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        serve: ServeArgs,
    }

    fn args_with_key_file(content: &str) -> (tempfile::TempDir, ServeArgs) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("admin-key");
        write_private(&path, content).unwrap();
        let cli = Cli::try_parse_from(["suat", "--admin-key-file", path.to_str().unwrap()]).unwrap();
        (dir, cli.serve)
    }

    #[test]
    fn an_empty_or_short_key_file_is_refused_not_taken_as_an_open_control_plane() {
        for content in ["", "\n", "short-key"] {
            let (_dir, args) = args_with_key_file(content);
            let err = load_admin_key(&args).unwrap_err().to_string();
            assert!(err.contains("at least 16 characters"), "{err}");
        }
        let (_dir, args) = args_with_key_file("0123456789abcdef0123\n");
        assert_eq!(load_admin_key(&args).unwrap(), "0123456789abcdef0123");
    }

    #[cfg(unix)]
    #[test]
    fn key_files_readable_by_group_or_world_are_refused_naming_the_fix() {
        use std::os::unix::fs::PermissionsExt;
        let (dir, args) = args_with_key_file("0123456789abcdef0123\n");
        let master = dir.path().join("master");
        write_private(&master, &"ab".repeat(32)).unwrap();
        assert!(load_master_key(&master).is_ok(), "a 0600 file is used");
        for mode in [0o644, 0o640, 0o604, 0o660] {
            for path in [&args.admin_key_file, &master] {
                std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
            }
            let expected = |p: &Path| {
                format!(
                    "{} has mode {mode:04o}, readable by others than its owner; refusing to use it as a key (run: chmod 600 {})",
                    p.display(),
                    p.display()
                )
            };
            assert_eq!(load_admin_key(&args).unwrap_err().to_string(), expected(&args.admin_key_file));
            if std::env::var_os("SUAT_MASTER_KEY").is_none() {
                assert_eq!(load_master_key(&master).unwrap_err().to_string(), expected(&master));
            }
        }
    }

    #[cfg(unix)]
    #[test]
    fn generated_key_files_are_0600() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("new.key");
        if std::env::var_os("SUAT_MASTER_KEY").is_none() {
            load_master_key(&path).unwrap();
            assert_eq!(std::fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o600);
            assert!(load_master_key(&path).is_ok(), "suat reads back what it wrote");
        }
    }

    #[test]
    fn rate_limits_default_high_and_are_set_by_flags() {
        let parse = |a: &[&str]| Cli::try_parse_from([&["suat"], a].concat()).map(|c| c.serve.quotas());
        assert_eq!(parse(&[]).unwrap(), suat_service::limits::Quotas::DEFAULT);
        let q = parse(&["--app-rate-limit", "5", "--user-rate-limit", "0", "--business-rate-limit", "7"]).unwrap();
        assert_eq!((q.app, q.user, q.business), (5, 0, 7));
        assert!(parse(&["--app-rate-limit", "-1"]).is_err());
    }

    #[test]
    fn the_journal_size_is_bounded_and_the_log_format_named() {
        let parse = |a: &[&str]| Cli::try_parse_from([&["suat"], a].concat()).map(|c| c.serve);
        let d = parse(&[]).unwrap();
        assert_eq!((d.journal_size, d.log_format), (crate::journal::DEFAULT_SIZE as u32, LogFormat::Text));
        assert_eq!(parse(&["--journal-size", "100000", "--log-format", "json"]).unwrap().log_format, LogFormat::Json);
        for bad in [&["--journal-size", "0"][..], &["--journal-size", "100001"], &["--log-format", "xml"]] {
            assert!(parse(bad).is_err(), "{bad:?}");
        }
    }
}

//! Deploy targets: where a rotated token goes before the old one may be revoked (seed 001's "Deploy the new System
//! User Access Token" step). Pluggable through [`DeployTarget`]; three kinds ship: a private file written atomically,
//! a command fed the token on stdin, and an entry of the token store.
//!
//! Targets are named by a one-line spec (`file:/etc/app/token`, `cmd:systemctl reload app`, `store:prod-mirror`)
//! so they can be given on the command line and remembered in a profile for `suat watch`.

use crate::{debug::TokenInfo, error::ClientError, fsutil::write_private_atomic, store::TokenStore};
use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use std::{fmt, path::PathBuf, process::Stdio, str::FromStr, time::Duration};
use suat_core::{AccessToken, AppId, UserId};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// How long a deploy command may run before it counts as failed.
pub const DEFAULT_COMMAND_TIMEOUT: Duration = Duration::from_secs(120);
/// Output of a failed command quoted in the error, at most.
const MAX_QUOTED_OUTPUT: usize = 400;

/// A token to put in place, with what is known about it.
#[derive(Debug, Clone)]
pub struct Deployment {
    /// The store profile the token belongs to, if any (passed to commands as `SUAT_PROFILE`).
    pub profile: Option<String>,
    pub token: AccessToken,
    pub app_id: AppId,
    pub system_user_id: Option<UserId>,
    pub kind: Option<String>,
    pub issued_at: Option<i64>,
    pub expires_at: Option<i64>,
    pub scopes: Vec<String>,
}

impl Deployment {
    /// A token described by its debug_token answer (`info` may be missing when the Graph could not be asked).
    pub fn from_info(
        profile: Option<String>,
        token: AccessToken,
        app_id: AppId,
        info: Option<&TokenInfo>,
    ) -> Deployment {
        Deployment {
            profile,
            token,
            app_id,
            system_user_id: info.and_then(TokenInfo::user),
            kind: info.and_then(|i| i.kind.clone()),
            issued_at: info.and_then(|i| i.issued_at),
            expires_at: info.and_then(TokenInfo::expires_at),
            scopes: info.map(|i| i.scopes.clone()).unwrap_or_default(),
        }
    }
}

/// Somewhere a token can be deployed. A failure must leave the target usable with what it had before, or say so.
#[async_trait]
pub trait DeployTarget: Send + Sync {
    /// A name for messages (never includes the token).
    fn describe(&self) -> String;
    async fn deploy(&self, d: &Deployment) -> Result<(), ClientError>;
}

/// A target as written on the command line or stored in a profile.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(into = "String", try_from = "String")]
pub enum TargetSpec {
    /// `file:PATH`
    File(PathBuf),
    /// `cmd:SHELL COMMAND`
    Command(String),
    /// `store:PROFILE`
    Store(String),
}

impl FromStr for TargetSpec {
    type Err = ClientError;
    fn from_str(s: &str) -> Result<TargetSpec, ClientError> {
        let (kind, rest) = s.split_once(':').ok_or_else(|| bad_spec(s))?;
        let rest = rest.trim();
        if rest.is_empty() {
            return Err(bad_spec(s));
        }
        match kind.trim() {
            "file" => Ok(TargetSpec::File(PathBuf::from(rest))),
            "cmd" | "command" => Ok(TargetSpec::Command(rest.to_owned())),
            "store" => {
                crate::store::validate_profile_name(rest)?;
                Ok(TargetSpec::Store(rest.to_owned()))
            }
            _ => Err(bad_spec(s)),
        }
    }
}

fn bad_spec(s: &str) -> ClientError {
    ClientError::Invalid(format!(
        "invalid deploy target {s:?}: use file:PATH, cmd:COMMAND (token on stdin) or store:PROFILE"
    ))
}

impl fmt::Display for TargetSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TargetSpec::File(p) => write!(f, "file:{}", p.display()),
            TargetSpec::Command(c) => write!(f, "cmd:{c}"),
            TargetSpec::Store(p) => write!(f, "store:{p}"),
        }
    }
}

impl From<TargetSpec> for String {
    fn from(t: TargetSpec) -> String {
        t.to_string()
    }
}

impl TryFrom<String> for TargetSpec {
    type Error = ClientError;
    fn try_from(s: String) -> Result<TargetSpec, ClientError> {
        s.parse()
    }
}

impl TargetSpec {
    /// The live target. `store:` targets need the store.
    pub fn build(&self, store: Option<&TokenStore>) -> Result<Box<dyn DeployTarget>, ClientError> {
        Ok(match self {
            TargetSpec::File(p) => Box::new(FileTarget::new(p.clone())),
            TargetSpec::Command(c) => Box::new(CommandTarget::new(c.clone())),
            TargetSpec::Store(name) => {
                let store = store.ok_or_else(|| {
                    ClientError::Invalid(format!("deploy target store:{name} needs a token store (--store)"))
                })?;
                Box::new(StoreEntryTarget::new(store.clone(), name.clone()))
            }
        })
    }
}

/// Writes the token (and a newline) to a file: temp file, mode 0600, fsync, rename.
#[derive(Debug, Clone)]
pub struct FileTarget {
    path: PathBuf,
}

impl FileTarget {
    pub fn new(path: PathBuf) -> FileTarget {
        FileTarget { path }
    }
}

#[async_trait]
impl DeployTarget for FileTarget {
    fn describe(&self) -> String {
        format!("file:{}", self.path.display())
    }

    async fn deploy(&self, d: &Deployment) -> Result<(), ClientError> {
        let path = self.path.clone();
        let mut data = d.token.expose().as_bytes().to_vec();
        data.push(b'\n');
        let res = tokio::task::spawn_blocking(move || write_private_atomic(&path, &data))
            .await
            .map_err(|e| ClientError::Invalid(format!("file deploy task failed: {e}")))?;
        res.map_err(|e| ClientError::Deploy { target: self.describe(), reason: e.to_string() })
    }
}

/// Runs `sh -c COMMAND` with the token on stdin (never in argv or the environment, where other users could read it).
/// A non-zero exit, a signal or the timeout is a failure. The command also gets `SUAT_PROFILE`, `SUAT_APP_ID`,
/// `SUAT_TOKEN_EXPIRES_AT` (0 = never).
#[derive(Debug, Clone)]
pub struct CommandTarget {
    command: String,
    timeout: Duration,
}

impl CommandTarget {
    pub fn new(command: String) -> CommandTarget {
        CommandTarget { command, timeout: DEFAULT_COMMAND_TIMEOUT }
    }

    pub fn with_timeout(mut self, timeout: Duration) -> CommandTarget {
        self.timeout = timeout;
        self
    }

    fn fail(&self, reason: String) -> ClientError {
        ClientError::Deploy { target: self.describe(), reason }
    }
}

#[async_trait]
impl DeployTarget for CommandTarget {
    fn describe(&self) -> String {
        format!("cmd:{}", self.command)
    }

    async fn deploy(&self, d: &Deployment) -> Result<(), ClientError> {
        let mut child = tokio::process::Command::new("sh")
            .arg("-c")
            .arg(&self.command)
            .env("SUAT_PROFILE", d.profile.as_deref().unwrap_or(""))
            .env("SUAT_APP_ID", d.app_id.to_string())
            .env("SUAT_TOKEN_EXPIRES_AT", d.expires_at.unwrap_or(0).to_string())
            .env_remove("SUAT_ACCESS_TOKEN")
            .env_remove("SUAT_APP_SECRET")
            .env_remove(crate::store::KEY_ENV)
            .env_remove(crate::store::PASSPHRASE_ENV)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .map_err(|e| self.fail(format!("cannot start: {e}")))?;
        let mut stdin = child.stdin.take().expect("stdin is piped");
        let mut stdout = child.stdout.take().expect("stdout is piped");
        let mut stderr = child.stderr.take().expect("stderr is piped");
        let token = format!("{}\n", d.token.expose());
        let run = async {
            // A command that does not read stdin may exit first: a broken pipe is not the failure, its status is.
            let feed = async move {
                let _ = stdin.write_all(token.as_bytes()).await;
                let _ = stdin.shutdown().await;
            };
            let mut out = Vec::new();
            let mut err = Vec::new();
            let (_, _, _, status) =
                tokio::join!(feed, stdout.read_to_end(&mut out), stderr.read_to_end(&mut err), child.wait());
            (status, out, err)
        };
        let (status, out, err) = match tokio::time::timeout(self.timeout, run).await {
            Ok(r) => r,
            Err(_) => return Err(self.fail(format!("timed out after {}s", self.timeout.as_secs()))),
        };
        let status = status.map_err(|e| self.fail(format!("cannot wait for it: {e}")))?;
        if status.success() {
            return Ok(());
        }
        let mut output = String::from_utf8_lossy(&err).trim().to_owned();
        if output.is_empty() {
            output = String::from_utf8_lossy(&out).trim().to_owned();
        }
        let output = quote_output(&output.replace(d.token.expose(), "<redacted token>"));
        let what = match status.code() {
            Some(c) => format!("exited with status {c}"),
            None => "was killed by a signal".to_owned(),
        };
        Err(self.fail(if output.is_empty() { what } else { format!("{what}: {output}") }))
    }
}

fn quote_output(s: &str) -> String {
    if s.chars().count() > MAX_QUOTED_OUTPUT {
        let tail: String = s.chars().rev().take(MAX_QUOTED_OUTPUT).collect::<Vec<_>>().into_iter().rev().collect();
        format!("...{tail}")
    } else {
        s.to_owned()
    }
}

/// Writes the token into a profile of the token store (created if missing; its secret, targets and watch state are
/// kept if it exists).
#[derive(Debug, Clone)]
pub struct StoreEntryTarget {
    store: TokenStore,
    profile: String,
}

impl StoreEntryTarget {
    pub fn new(store: TokenStore, profile: String) -> StoreEntryTarget {
        StoreEntryTarget { store, profile }
    }
}

#[async_trait]
impl DeployTarget for StoreEntryTarget {
    fn describe(&self) -> String {
        format!("store:{}", self.profile)
    }

    async fn deploy(&self, d: &Deployment) -> Result<(), ClientError> {
        let store = self.store.clone();
        let name = self.profile.clone();
        let d = d.clone();
        let res = tokio::task::spawn_blocking(move || store.save_token(&name, &d, None))
            .await
            .map_err(|e| ClientError::Invalid(format!("store deploy task failed: {e}")))?;
        res.map(|_| ()).map_err(|e| ClientError::Deploy { target: self.describe(), reason: e.to_string() })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dep(token: &str) -> Deployment {
        Deployment {
            profile: Some("p".into()),
            token: AccessToken::from_presented(token),
            app_id: AppId(5),
            system_user_id: Some(UserId(6)),
            kind: Some("SYSTEM_USER".into()),
            issued_at: Some(1),
            expires_at: Some(2),
            scopes: vec!["ads_read".into()],
        }
    }

    #[test]
    fn specs_parse_and_print() {
        for s in ["file:/etc/app/token", "cmd:systemctl reload app", "store:prod-mirror"] {
            let t: TargetSpec = s.parse().unwrap();
            assert_eq!(t.to_string(), s);
        }
        assert_eq!("command:true".parse::<TargetSpec>().unwrap(), TargetSpec::Command("true".into()));
        for bad in ["", "file:", "ftp:/x", "noprefix", "store:../x"] {
            assert!(bad.parse::<TargetSpec>().is_err(), "{bad}");
        }
        let json = serde_json::to_string(&TargetSpec::Store("a".into())).unwrap();
        assert_eq!(json, "\"store:a\"");
    }

    #[tokio::test]
    async fn file_target_writes_private_file() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("tok");
        FileTarget::new(p.clone()).deploy(&dep("EAAfile")).await.unwrap();
        assert_eq!(std::fs::read_to_string(&p).unwrap(), "EAAfile\n");
        #[cfg(unix)]
        assert_eq!(crate::fsutil::mode(&p).unwrap(), 0o600);
        let missing = FileTarget::new(dir.path().join("no/such/dir/tok"));
        assert!(matches!(missing.deploy(&dep("EAAfile")).await, Err(ClientError::Deploy { .. })));
    }

    #[tokio::test]
    async fn command_target_gets_token_on_stdin() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("got");
        let cmd = format!("cat > {} && test \"$SUAT_PROFILE\" = p && test \"$SUAT_APP_ID\" = 5", out.display());
        CommandTarget::new(cmd).deploy(&dep("EAAstdin")).await.unwrap();
        assert_eq!(std::fs::read_to_string(&out).unwrap(), "EAAstdin\n");
    }

    #[tokio::test]
    async fn command_failures_are_reported_without_the_token() {
        let e = CommandTarget::new("cat >&2; exit 3".into()).deploy(&dep("EAAleaky")).await.unwrap_err().to_string();
        assert!(e.contains("status 3"), "{e}");
        assert!(!e.contains("EAAleaky") && e.contains("<redacted token>"), "{e}");
        let e = CommandTarget::new("false".into()).deploy(&dep("EAAx")).await.unwrap_err().to_string();
        assert!(e.contains("status 1"), "{e}");
        let slow = CommandTarget::new("sleep 5".into()).with_timeout(Duration::from_millis(200));
        assert!(slow.deploy(&dep("EAAx")).await.unwrap_err().to_string().contains("timed out"));
    }

    #[tokio::test]
    async fn store_target_creates_and_updates_profiles() {
        let dir = tempfile::tempdir().unwrap();
        let store = TokenStore::open(&dir.path().join("t.json"), &crate::store::StoreKey::Raw([3; 32])).unwrap();
        let t = TargetSpec::Store("mirror".into()).build(Some(&store)).unwrap();
        t.deploy(&dep("EAAone")).await.unwrap();
        store.update("mirror", |p| p.app_secret = Some(suat_core::AppSecret::new("s"))).unwrap();
        t.deploy(&dep("EAAtwo")).await.unwrap();
        let p = store.get("mirror").unwrap();
        assert_eq!(p.token.expose(), "EAAtwo");
        assert_eq!(p.app_secret.unwrap().expose(), "s");
        assert_eq!(p.expires_at, Some(2));
        assert!(TargetSpec::Store("x".into()).build(None).is_err());
    }
}

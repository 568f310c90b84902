//! Options shared by the client commands (where to reach the Graph, which app, which token, which store profile)
//! and how a flag and a stored profile combine: a flag always wins over the profile.

use clap::Args;
use std::path::PathBuf;
use suat_client::{
    store::{default_store_path, StoreKey},
    ClientError, GraphClient, Profile, TokenStore, DEFAULT_API_VERSION, DEFAULT_GRAPH_URL,
};
use suat_core::{AccessToken, AppId, AppSecret, PageId, UserId};

/// Where the Graph API is.
#[derive(Args, Debug, Clone)]
pub struct GraphArgs {
    /// Graph API base URL: Meta's, or any suat server.
    #[arg(long, env = "SUAT_GRAPH_URL", default_value = DEFAULT_GRAPH_URL)]
    pub graph_url: String,
    /// Graph API version (`v25.0`); empty for unversioned paths.
    #[arg(long, env = "SUAT_API_VERSION", default_value = DEFAULT_API_VERSION)]
    pub api_version: String,
}

impl GraphArgs {
    /// The client, whose server's clock [`super::output::now`] follows from then on.
    pub fn client(&self) -> Result<GraphClient, ClientError> {
        let client = GraphClient::new(&self.graph_url, &self.api_version)?;
        super::output::follow(&client);
        Ok(client)
    }
}

/// The app: its id and secret (the secret also makes every call carry appsecret_proof).
#[derive(Args, Debug, Clone)]
pub struct AppArgs {
    /// App id (default: the profile's).
    #[arg(long, env = "SUAT_APP_ID")]
    pub app_id: Option<String>,
    /// App secret (default: the profile's). Prefer the environment variable: arguments show in `ps`.
    #[arg(long, env = "SUAT_APP_SECRET", hide_env_values = true)]
    pub app_secret: Option<String>,
}

impl AppArgs {
    pub fn app_id(&self, profile: Option<&Profile>) -> Result<AppId, ClientError> {
        match (&self.app_id, profile) {
            (Some(raw), _) => parse_id(raw, "--app-id"),
            (None, Some(p)) => Ok(p.app_id),
            (None, None) => Err(ClientError::Invalid("--app-id (or SUAT_APP_ID, or --profile) is required".into())),
        }
    }

    pub fn secret(&self, profile: Option<&Profile>) -> Option<AppSecret> {
        match (&self.app_secret, profile) {
            (Some(s), _) if !s.is_empty() => Some(AppSecret::new(s.clone())),
            (_, Some(p)) => p.app_secret.clone(),
            _ => None,
        }
    }

    pub fn require_secret(&self, profile: Option<&Profile>, why: &str) -> Result<AppSecret, ClientError> {
        self.secret(profile).ok_or_else(|| {
            ClientError::Invalid(format!("{why} needs the app secret: set SUAT_APP_SECRET (or --app-secret)"))
        })
    }
}

/// The caller's token.
#[derive(Args, Debug, Clone)]
pub struct TokenArgs {
    /// Access token (where the command says so, defaults to the --profile's). Prefer the environment variable:
    /// arguments show in `ps`.
    #[arg(long, env = "SUAT_ACCESS_TOKEN", hide_env_values = true)]
    pub access_token: Option<String>,
}

impl TokenArgs {
    /// The caller's token where no profile applies (install, generate: an admin of the business calls).
    pub fn caller(&self) -> Result<AccessToken, ClientError> {
        match &self.access_token {
            Some(t) if !t.trim().is_empty() => Ok(AccessToken::from_presented(t.trim())),
            _ => Err(ClientError::Invalid(
                "the caller's access token is required (an admin user, admin system user or system user of the \
                 business): set SUAT_ACCESS_TOKEN (or --access-token)"
                    .into(),
            )),
        }
    }

    pub fn token(&self, profile: Option<&Profile>) -> Result<AccessToken, ClientError> {
        match (&self.access_token, profile) {
            (Some(t), _) if !t.trim().is_empty() => Ok(AccessToken::from_presented(t.trim())),
            (_, Some(p)) => Ok(p.token.clone()),
            _ => Err(ClientError::Invalid(
                "an access token is required: set SUAT_ACCESS_TOKEN (or --access-token) or pass --profile".into(),
            )),
        }
    }
}

/// The local token store and the profile in it.
#[derive(Args, Debug, Clone)]
pub struct StoreArgs {
    /// Token store file [default: $XDG_CONFIG_HOME/suat/tokens.json]. Its key comes from SUAT_STORE_KEY (64 hex
    /// characters) or SUAT_STORE_PASSPHRASE.
    #[arg(long, env = "SUAT_STORE")]
    pub store: Option<PathBuf>,
    /// Read the store passphrase from this file instead of the environment.
    #[arg(long, value_name = "PATH")]
    pub passphrase_file: Option<PathBuf>,
}

impl StoreArgs {
    pub fn path(&self) -> PathBuf {
        self.store.clone().unwrap_or_else(default_store_path)
    }

    pub fn open(&self) -> Result<TokenStore, ClientError> {
        let key = match &self.passphrase_file {
            Some(f) => {
                let raw = std::fs::read_to_string(f)
                    .map_err(|e| ClientError::Invalid(format!("cannot read {}: {e}", f.display())))?;
                let pass = raw.trim_end_matches(['\n', '\r']).to_owned();
                if pass.is_empty() {
                    return Err(ClientError::Invalid(format!("{} is empty", f.display())));
                }
                StoreKey::Passphrase(pass)
            }
            None => StoreKey::from_env()?,
        };
        TokenStore::open(&self.path(), &key)
    }

    /// The store and the named profile, when a profile is named.
    pub fn profile(&self, name: Option<&str>) -> Result<Option<(TokenStore, Profile)>, ClientError> {
        match name {
            None => Ok(None),
            Some(n) => {
                let store = self.open()?;
                let p = store.get(n)?;
                Ok(Some((store, p)))
            }
        }
    }
}

pub fn parse_id<T: std::str::FromStr>(raw: &str, flag: &str) -> Result<T, ClientError> {
    raw.trim().parse().map_err(|_| ClientError::Invalid(format!("{flag} must be a numeric Graph id, got {raw:?}")))
}

pub fn parse_user(raw: &str, flag: &str) -> Result<UserId, ClientError> {
    parse_id(raw, flag)
}

pub fn parse_page(raw: &str) -> Result<PageId, ClientError> {
    parse_id(raw, "--page")
}

/// `--scope a,b --scope c` -> `[a, b, c]`.
pub fn scopes(raw: &[String]) -> Vec<String> {
    raw.iter().flat_map(|s| s.split(',')).map(|s| s.trim().to_owned()).filter(|s| !s.is_empty()).collect()
}

/// `90`, `30s`, `15m`, `2h`, `7d` -> seconds.
pub fn parse_duration(raw: &str) -> Result<i64, String> {
    let s = raw.trim();
    let (num, unit) = match s.find(|c: char| !c.is_ascii_digit()) {
        Some(i) => s.split_at(i),
        None => (s, "s"),
    };
    let n: i64 = num.parse().map_err(|_| format!("not a duration: {raw:?} (use e.g. 90, 30s, 15m, 2h, 7d)"))?;
    let mul = match unit {
        "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 86_400,
        _ => return Err(format!("unknown unit in {raw:?}: use s, m, h or d")),
    };
    n.checked_mul(mul).ok_or_else(|| format!("duration too large: {raw:?}"))
}

/// `0.5` or `50%` -> 0.5, within (0, 1].
pub fn parse_fraction(raw: &str) -> Result<f64, String> {
    let s = raw.trim();
    let v = match s.strip_suffix('%') {
        Some(p) => p.trim().parse::<f64>().map(|x| x / 100.0),
        None => s.parse::<f64>(),
    }
    .map_err(|_| format!("not a fraction: {raw:?} (use e.g. 0.5 or 50%)"))?;
    if v > 0.0 && v <= 1.0 {
        Ok(v)
    } else {
        Err(format!("{raw:?} must be more than 0 and at most 1 (100%)"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_and_fractions() {
        assert_eq!(parse_duration("90"), Ok(90));
        assert_eq!(parse_duration("15m"), Ok(900));
        assert_eq!(parse_duration("7d"), Ok(7 * 86_400));
        assert!(parse_duration("7w").is_err() && parse_duration("x").is_err());
        assert_eq!(parse_fraction("50%"), Ok(0.5));
        assert_eq!(parse_fraction("0.8"), Ok(0.8));
        assert!(parse_fraction("0").is_err() && parse_fraction("150%").is_err());
    }

    #[test]
    fn scope_lists_merge() {
        assert_eq!(scopes(&["a,b".into(), " c ".into(), ",".into()]), vec!["a", "b", "c"]);
    }
}

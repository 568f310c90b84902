//! An in-process suat server for the integration tests of Rust apps that talk to the Graph API.
//!
//! [`Suat::start`] runs the real server (the same router as `suat serve`) on a random loopback port with a
//! throwaway SQLite store, fresh keys and the demo seed ([`DEMO`]), on the calling test's tokio runtime. Point the
//! app's Graph base URL at [`Suat::url`]; move the clock, inject faults and set rate limits with the helpers, which
//! speak the control plane (`/_suat/*`) over HTTP exactly as any other client would. The server stops when the
//! value is dropped.
//!
//! ```no_run
//! # async fn demo() -> Result<(), suat_testkit::Error> {
//! let suat = suat_testkit::Suat::start().await?;
//! let my_app_graph_url = suat.url(); // e.g. give it to your client instead of https://graph.facebook.com
//! suat.advance(61 * 86_400).await?; // 61 days later on the server's clock
//! # Ok(()) }
//! ```

use serde_json::{json, Value};
use std::sync::Arc;
use suat_server::{config::Keys, Settings};
use suat_store::{SqliteStore, Store};

/// The seed [`Suat::start`] applies: the repository's `examples/seed.toml`, the world the README's examples use.
pub const DEMO_SEED: &str = include_str!("../../../examples/seed.toml");

/// What [`DEMO_SEED`] creates, by name.
pub struct Demo {
    pub business_id: &'static str,
    pub app_id: &'static str,
    pub app_secret: &'static str,
    pub admin_user_id: &'static str,
    pub admin_password: &'static str,
    /// A user token of the app for the admin, which never expires (however far the clock is moved).
    pub admin_token: &'static str,
    pub system_user_id: &'static str,
    pub page_id: &'static str,
}

pub const DEMO: Demo = Demo {
    business_id: "1001",
    app_id: "2001",
    app_secret: "acme-demo-secret-0123456789abcdef",
    admin_user_id: "3001",
    admin_password: "correct horse battery",
    admin_token: "EAAdemoAdminUserToken0123456789abcdefghijklmnop",
    system_user_id: "4001",
    page_id: "5001",
};

/// Why starting the server or a control-plane call failed.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("starting the in-process suat server: {0}")]
    Start(String),
    #[error("{method} {url}: {reason}")]
    Control { method: String, url: String, reason: String },
}

/// How to start the server: the seed (default [`DEMO_SEED`]; `None` for no objects).
#[derive(Debug, Clone)]
pub struct Builder {
    seed: Option<String>,
}

impl Default for Builder {
    fn default() -> Self {
        Builder { seed: Some(DEMO_SEED.to_owned()) }
    }
}

impl Builder {
    /// Seeds with this TOML text instead (the format of `suat serve --seed`).
    pub fn seed(mut self, toml: impl Into<String>) -> Self {
        self.seed = Some(toml.into());
        self
    }

    /// Starts with no objects at all.
    pub fn empty(mut self) -> Self {
        self.seed = None;
        self
    }

    pub async fn start(self) -> Result<Suat, Error> {
        let dir = tempfile::tempdir().map_err(|e| Error::Start(format!("temporary directory: {e}")))?;
        let mut master = [0u8; 32];
        rand::RngCore::fill_bytes(&mut rand::rngs::OsRng, &mut master);
        let keys = Keys::from_master(&master);
        let store: Arc<dyn Store> = Arc::new(
            SqliteStore::open(&dir.path().join("suat.db"), keys.audit.clone())
                .await
                .map_err(|e| Error::Start(format!("store: {e}")))?,
        );
        let mut admin = [0u8; 32];
        rand::RngCore::fill_bytes(&mut rand::rngs::OsRng, &mut admin);
        let admin_key: String = admin.iter().map(|b| format!("{b:02x}")).collect();
        let listener =
            tokio::net::TcpListener::bind("127.0.0.1:0").await.map_err(|e| Error::Start(format!("bind: {e}")))?;
        let addr = listener.local_addr().map_err(|e| Error::Start(e.to_string()))?;
        let url = format!("http://{addr}");
        let settings = Settings {
            admin_key: admin_key.clone(),
            api_version: "v25.0".into(),
            public_url: url.clone(),
            journal_size: 1000,
            wall_clock: None,
            quotas: Default::default(),
            cache_tokens: suat_service::CACHE_CAPACITY,
        };
        let (app, state) = suat_server::app(store, keys, settings).await.map_err(|e| Error::Start(format!("{e:#}")))?;
        if let Some(text) = &self.seed {
            suat_service::seed::apply(&state.svc, text, false).await.map_err(|e| Error::Start(format!("seed: {e}")))?;
        }
        // What `POST /_suat/reset` goes back to (an empty server resets to empty).
        suat_service::operator::remember_seeded_state(&state.svc)
            .await
            .map_err(|e| Error::Start(format!("remembering the seeded state: {e}")))?;
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            let stop = async {
                let _ = stopped.await;
            };
            let _ = suat_server::serve(listener, app, &state, suat_listener::Limits::defaults(), stop).await;
        });
        Ok(Suat { url, admin_key, http: reqwest::Client::new(), stop: Some(stop), task, _dir: dir })
    }
}

/// A running in-process suat server; stopped (and its store deleted) when dropped.
pub struct Suat {
    url: String,
    admin_key: String,
    http: reqwest::Client,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<()>,
    _dir: tempfile::TempDir,
}

impl Drop for Suat {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        self.task.abort();
    }
}

impl Suat {
    /// Starts a server with the demo seed ([`DEMO`]).
    pub async fn start() -> Result<Suat, Error> {
        Builder::default().start().await
    }

    pub fn builder() -> Builder {
        Builder::default()
    }

    /// The Graph base URL, `http://127.0.0.1:PORT` (no trailing slash, no version).
    pub fn url(&self) -> &str {
        &self.url
    }

    /// `url()` with the API version: `http://127.0.0.1:PORT/v25.0`.
    pub fn graph_url(&self) -> String {
        format!("{}/v25.0", self.url)
    }

    /// The control-plane key (`Authorization: Bearer ...` on `/_suat/*`).
    pub fn admin_key(&self) -> &str {
        &self.admin_key
    }

    /// One control-plane call under `/_suat/`; a non-2xx answer is an error carrying the server's body.
    pub async fn admin(&self, method: &str, path: &str, body: Option<Value>) -> Result<Value, Error> {
        let url = format!("{}/_suat/{}", self.url, path.trim_start_matches('/'));
        let fail = |reason: String| Error::Control { method: method.to_owned(), url: url.clone(), reason };
        let m = reqwest::Method::from_bytes(method.as_bytes()).map_err(|e| fail(e.to_string()))?;
        let mut req = self.http.request(m, &url).bearer_auth(&self.admin_key);
        if let Some(b) = body {
            req = req.json(&b);
        }
        let resp = req.send().await.map_err(|e| fail(e.to_string()))?;
        let status = resp.status();
        let text = resp.text().await.map_err(|e| fail(e.to_string()))?;
        if !status.is_success() {
            return Err(fail(format!("HTTP {status}: {text}")));
        }
        if text.is_empty() {
            return Ok(Value::Null);
        }
        serde_json::from_str(&text).map_err(|e| fail(format!("not JSON ({e}): {text}")))
    }

    /// Back to the seeded state: clock offset 0, no fault rules, no rate-limit counts.
    pub async fn reset(&self) -> Result<(), Error> {
        self.admin("POST", "reset", Some(json!({}))).await.map(drop)
    }

    /// The server clock (unix seconds), the one every expiry rule reads.
    pub async fn now(&self) -> Result<i64, Error> {
        let v = self.admin("GET", "clock", None).await?;
        Ok(v["now"].as_i64().unwrap_or_default())
    }

    /// Moves the server clock forward; gives the new now.
    pub async fn advance(&self, seconds: i64) -> Result<i64, Error> {
        let v = self.admin("POST", "clock", Some(json!({ "advance": seconds }))).await?;
        Ok(v["now"].as_i64().unwrap_or_default())
    }

    /// Sets the server clock to a unix time; gives it back.
    pub async fn set_clock(&self, unix: i64) -> Result<i64, Error> {
        let v = self.admin("POST", "clock", Some(json!({ "set": unix }))).await?;
        Ok(v["now"].as_i64().unwrap_or_default())
    }

    /// Adds a fault rule (README "Faults"), e.g. `json!({"path": "/me", "times": 1, "error": {"code": 2}})`; gives
    /// the rule with its `id`.
    pub async fn add_fault(&self, rule: Value) -> Result<Value, Error> {
        self.admin("POST", "faults", Some(rule)).await
    }

    /// The fault rules (with `hits` and `remaining`), as a JSON array.
    pub async fn faults(&self) -> Result<Value, Error> {
        Ok(self.admin("GET", "faults", None).await?["data"].take())
    }

    pub async fn remove_fault(&self, id: &Value) -> Result<(), Error> {
        let id = id.as_str().map(str::to_owned).unwrap_or_else(|| id.to_string());
        self.admin("DELETE", &format!("faults/{id}"), None).await.map(drop)
    }

    /// The app's calls per hour.
    pub async fn set_app_rate_limit(&self, app_id: &str, calls_per_hour: u64) -> Result<(), Error> {
        self.admin("POST", &format!("apps/{app_id}"), Some(json!({ "rate_limit": calls_per_hour }))).await.map(drop)
    }

    /// Each person's calls per hour with the app.
    pub async fn set_user_rate_limit(&self, app_id: &str, calls_per_hour: u64) -> Result<(), Error> {
        self.admin("POST", &format!("apps/{app_id}"), Some(json!({ "user_rate_limit": calls_per_hour })))
            .await
            .map(drop)
    }

    /// The business's calls per hour, per app and use case, for its system-user and page tokens.
    pub async fn set_business_rate_limit(&self, business_id: &str, calls_per_hour: u64) -> Result<(), Error> {
        self.admin("POST", &format!("businesses/{business_id}"), Some(json!({ "rate_limit": calls_per_hour })))
            .await
            .map(drop)
    }

    /// Quotas in force and every live rate-limit window.
    pub async fn usage(&self) -> Result<Value, Error> {
        self.admin("GET", "usage", None).await
    }
}

//! For tests in this and other crates: start the real server on a random port with a fresh SQLite file, its own keys
//! and its own clock, and talk to its control plane. Not used by `suat serve`.

use crate::{app, config::Keys};
use serde_json::{json, Value};
use std::{path::PathBuf, sync::Arc};
use suat_store::{SqliteStore, Store};

pub struct TestServer {
    /// `http://127.0.0.1:PORT`, no trailing slash.
    pub url: String,
    pub admin_key: String,
    pub db_path: PathBuf,
    pub store: Arc<dyn Store>,
    /// The server's keys (the audit chain's, for `suat audit verify` in tests).
    pub keys: Keys,
    pub http: reqwest::Client,
    /// The server's state: `server_errors` is checked when the test server is dropped.
    pub state: crate::state::AppState,
    task: tokio::task::JoinHandle<()>,
}

/// A ready-made world: one business, one standard-access app owned by it, an admin person with a user token of
/// that app, and an ADMIN system user (the app is NOT yet installed for it).
#[derive(Debug, Clone)]
pub struct Fixture {
    pub business_id: String,
    pub app_id: String,
    pub app_secret: String,
    pub admin_user_id: String,
    pub admin_token: String,
    pub system_user_id: String,
}

fn temp_db() -> PathBuf {
    let mut b = [0u8; 8];
    rand::RngCore::fill_bytes(&mut rand::rngs::OsRng, &mut b);
    std::env::temp_dir().join(format!("suat-test-{}.db", hex::encode(b)))
}

fn random_master() -> [u8; 32] {
    let mut master = [0u8; 32];
    rand::RngCore::fill_bytes(&mut rand::rngs::OsRng, &mut master);
    master
}

impl TestServer {
    /// Starts a server on a fresh SQLite file.
    pub async fn start() -> TestServer {
        let path = temp_db();
        let master = random_master();
        let keys = Keys::from_master(&master);
        let store: Arc<dyn Store> = Arc::new(SqliteStore::open(&path, keys.audit.clone()).await.expect("open sqlite"));
        Self::start_full(store, path, keys, hex::encode(master), None, Self::limits()).await
    }

    /// Starts a server over a given store (for PostgreSQL or shared-store tests).
    pub async fn start_with(store: Arc<dyn Store>, db_path: PathBuf) -> TestServer {
        let master = random_master();
        Self::start_with_keys(store, db_path, Keys::from_master(&master), hex::encode(master)).await
    }

    pub async fn start_with_keys(store: Arc<dyn Store>, db_path: PathBuf, keys: Keys, admin_key: String) -> TestServer {
        Self::start_full(store, db_path, keys, admin_key, None, Self::limits()).await
    }

    /// Starts a server on a fresh SQLite file whose clock stands still at `unix` (until the control plane moves
    /// it): for tests that compare issue and expiry times exactly.
    pub async fn start_at(unix: i64) -> TestServer {
        let path = temp_db();
        let master = random_master();
        let keys = Keys::from_master(&master);
        let store: Arc<dyn Store> = Arc::new(SqliteStore::open(&path, keys.audit.clone()).await.expect("open sqlite"));
        let wall: suat_service::WallClock = Arc::new(move || unix);
        Self::start_full(store, path, keys, hex::encode(master), Some(wall), Self::limits()).await
    }

    /// Starts a server on a fresh SQLite file whose listener has these connection limits (tests of the limits).
    pub async fn start_with_limits(limits: suat_listener::Limits) -> TestServer {
        let path = temp_db();
        let master = random_master();
        let keys = Keys::from_master(&master);
        let store: Arc<dyn Store> = Arc::new(SqliteStore::open(&path, keys.audit.clone()).await.expect("open sqlite"));
        Self::start_full(store, path, keys, hex::encode(master), None, limits).await
    }

    /// The limits `suat serve` starts with by default.
    pub fn limits() -> suat_listener::Limits {
        suat_listener::Limits::defaults()
    }

    async fn start_full(
        store: Arc<dyn Store>,
        db_path: PathBuf,
        keys: Keys,
        admin_key: String,
        wall_clock: Option<suat_service::WallClock>,
        limits: suat_listener::Limits,
    ) -> TestServer {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let url = format!("http://{}", listener.local_addr().expect("addr"));
        let settings = crate::Settings {
            admin_key: admin_key.clone(),
            api_version: "v25.0".into(),
            public_url: url.clone(),
            journal_size: crate::journal::DEFAULT_SIZE,
            wall_clock,
            quotas: Default::default(),
            cache_tokens: suat_service::CACHE_CAPACITY,
        };
        let (router, state) = app(store.clone(), keys.clone(), settings).await.expect("build app");
        let serving = state.clone();
        let task = tokio::spawn(async move {
            let _ = crate::serve(listener, router, &serving, limits, std::future::pending()).await;
        });
        TestServer { url, admin_key, db_path, store, keys, http: reqwest::Client::new(), state, task }
    }

    /// A control-plane call; panics on a non-2xx answer (tests want set-up failures loud).
    pub async fn admin(&self, method: &str, path: &str, body: Value) -> Value {
        let m = reqwest::Method::from_bytes(method.as_bytes()).expect("method");
        let resp = self
            .http
            .request(m, format!("{}/_suat{path}", self.url))
            .bearer_auth(&self.admin_key)
            .json(&body)
            .send()
            .await
            .expect("control plane reachable");
        let status = resp.status();
        let v: Value = resp.json().await.expect("control plane answers JSON");
        assert!(status.is_success(), "control plane {method} {path} -> {status}: {v}");
        v
    }

    /// How many answers had a 5xx status so far, resetting the count.
    pub fn take_server_errors(&self) -> u64 {
        self.state.server_errors.swap(0, std::sync::atomic::Ordering::Relaxed)
    }

    pub async fn advance_clock(&self, secs: i64) {
        self.admin("POST", "/clock", json!({"advance": secs})).await;
    }

    /// The server's current time (wall clock plus offset).
    pub async fn now(&self) -> i64 {
        self.admin("GET", "/clock", Value::Null).await["now"].as_i64().expect("now")
    }

    pub async fn fixture(&self) -> Fixture {
        let business_id =
            self.admin("POST", "/businesses", json!({"name": "Acme"})).await["id"].as_str().unwrap().to_owned();
        let app = self
            .admin(
                "POST",
                "/apps",
                json!({"name": "Acme Ads", "owner_business": business_id, "access_level": "standard"}),
            )
            .await;
        let app_id = app["id"].as_str().unwrap().to_owned();
        let app_secret = app["secret"].as_str().unwrap().to_owned();
        let admin_user_id = self
            .admin("POST", "/users", json!({"name": "Ada Admin", "business_id": business_id, "admin": true}))
            .await["id"]
            .as_str()
            .unwrap()
            .to_owned();
        let admin_token = self
            .admin(
                "POST",
                &format!("/users/{admin_user_id}/tokens"),
                json!({"app_id": app_id, "scopes": ["business_management"]}),
            )
            .await["access_token"]
            .as_str()
            .unwrap()
            .to_owned();
        let system_user_id = self
            .admin("POST", "/system_users", json!({"business_id": business_id, "name": "ci-bot", "role": "ADMIN"}))
            .await["id"]
            .as_str()
            .unwrap()
            .to_owned();
        Fixture { business_id, app_id, app_secret, admin_user_id, admin_token, system_user_id }
    }
}

impl Drop for TestServer {
    /// Also fails the test if any request it made was answered with a 5xx (GRAPH-WIRE: never a server fault for
    /// any input). A test that means to provoke one takes the count first with [`TestServer::take_server_errors`].
    fn drop(&mut self) {
        self.task.abort();
        let faults = self.take_server_errors();
        if faults > 0 && !std::thread::panicking() {
            panic!("{faults} request(s) of this test were answered with a 5xx status");
        }
        for suffix in ["", "-wal", "-shm", ".lock"] {
            let mut p = self.db_path.clone().into_os_string();
            p.push(suffix);
            let _ = std::fs::remove_file(p);
        }
    }
}

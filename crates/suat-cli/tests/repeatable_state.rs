//! The README's start command on a real `suat serve`: run twice on one database it converges to the same state,
//! `POST /_suat/reset` returns to it; `--db :memory:` serves; and `suat watch --once`, with no `--now`, decides by
//! the server's clock (from the `Date` of its answers) and rotates once that clock is past half the lifetime.

mod support;

use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use support::{free_port, wait_listening, Server};

const ADMIN_KEY: &str = "repeatable-state-admin-key-0123456789";
const ADMIN_TOKEN: &str = "EAAdemoAdminUserToken0123456789abcdefghijklmnop";
const APP_SECRET: &str = "acme-demo-secret-0123456789abcdef";
const DAY: i64 = 86_400;

fn seed_file() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/seed.toml")
}

/// `suat serve --seed examples/seed.toml --db DB` in `dir` (its key files go there), on a free port.
fn serve(dir: &Path, db: &str) -> (Server, String) {
    let port = free_port();
    let mut c = Command::new(env!("CARGO_BIN_EXE_suat"));
    c.args(["serve", "--listen", &format!("127.0.0.1:{port}"), "--db", db, "--seed"])
        .arg(seed_file())
        .current_dir(dir)
        .env("SUAT_ADMIN_KEY", ADMIN_KEY)
        .env_remove("SUAT_MASTER_KEY")
        .env_remove("SUAT_DATABASE_URL")
        .env_remove("SUAT_DB")
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    let server = Server(c.spawn().expect("start suat serve"));
    wait_listening(port);
    (server, format!("http://127.0.0.1:{port}"))
}

async fn admin(url: &str, method: &str, path: &str, body: Value) -> Value {
    let m = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
    let r = reqwest::Client::new()
        .request(m, format!("{url}/_suat{path}"))
        .bearer_auth(ADMIN_KEY)
        .json(&body)
        .send()
        .await
        .expect("control plane reachable");
    let status = r.status();
    let v: Value = r.json().await.unwrap();
    assert!(status.is_success(), "{method} {path}: {status} {v}");
    v
}

async fn dump(url: &str) -> Value {
    admin(url, "GET", "/dump", Value::Null).await
}

fn without_audit(mut d: Value) -> Value {
    d.as_object_mut().unwrap().remove("audit_len");
    d
}

async fn me(url: &str, token: &str) -> Value {
    reqwest::Client::new().get(format!("{url}/v25.0/me")).bearer_auth(token).send().await.unwrap().json().await.unwrap()
}

#[tokio::test]
async fn the_start_command_twice_then_reset_gives_the_same_dump_each_time() {
    let dir = tempfile::tempdir().unwrap();
    let (first, url) = serve(dir.path(), "suat.db");
    let seeded = dump(&url).await;
    assert_eq!(seeded["businesses"][0]["id"], json!("1001"), "{seeded}");
    assert_eq!(seeded["tokens"].as_array().unwrap().len(), 1, "the seed's user token: {seeded}");
    drop(first);

    // The same command again on the same database: it starts, and has changed nothing (not even the audit log).
    let (second, url) = serve(dir.path(), "suat.db");
    assert_eq!(dump(&url).await, seeded, "a second start converges to the same state");

    // Change the world: install the app, mint a token, make a business, move the clock.
    let installed = reqwest::Client::new()
        .post(format!("{url}/v25.0/4001/applications"))
        .form(&[("business_app", "2001"), ("access_token", ADMIN_TOKEN)])
        .send()
        .await
        .unwrap();
    assert!(installed.status().is_success());
    admin(&url, "POST", "/businesses", json!({"name": "Other"})).await;
    admin(&url, "POST", "/clock", json!({"advance": 10 * DAY})).await;
    let changed = dump(&url).await;
    assert_ne!(without_audit(changed.clone()), without_audit(seeded.clone()));

    // Reset: back to the seed (clock included), without a restart; then again, to the same.
    assert_eq!(admin(&url, "POST", "/reset", Value::Null).await["to"], "seed");
    let reset = dump(&url).await;
    assert_eq!(without_audit(reset.clone()), without_audit(seeded.clone()));
    assert!(reset["audit_len"].as_i64() > changed["audit_len"].as_i64(), "the reset itself is audited");
    assert_eq!(me(&url, ADMIN_TOKEN).await["id"], "3001", "the seeded token works after the reset");
    admin(&url, "POST", "/reset", json!({"to": "empty"})).await;
    assert_eq!(dump(&url).await["users"], json!([]));
    admin(&url, "POST", "/reset", json!({"to": "seed"})).await;
    assert_eq!(without_audit(dump(&url).await), without_audit(seeded.clone()));
    drop(second);

    // And a third start after all that is the seeded state still.
    let (_third, url) = serve(dir.path(), "suat.db");
    assert_eq!(without_audit(dump(&url).await), without_audit(seeded));
}

#[tokio::test]
async fn memory_database_serves_the_seed() {
    let dir = tempfile::tempdir().unwrap();
    let (server, url) = serve(dir.path(), ":memory:");
    assert_eq!(me(&url, ADMIN_TOKEN).await["id"], "3001");
    admin(&url, "POST", "/businesses", json!({"name": "Scratch"})).await;
    assert_eq!(dump(&url).await["businesses"].as_array().unwrap().len(), 2);
    drop(server);
    // Nothing was written beside the key files: no database file in the working directory.
    let names: Vec<String> =
        std::fs::read_dir(dir.path()).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
    assert!(names.iter().all(|n| !n.contains("memory") && !n.ends_with(".db")), "{names:?}");
    // A second in-memory server starts from the seed alone.
    let (_again, url) = serve(dir.path(), ":memory:");
    assert_eq!(dump(&url).await["businesses"].as_array().unwrap().len(), 1);
}

/// `suat ARGS` against `url` with a fresh store, the seed's app, and `token` as the caller if given.
async fn suat(url: &str, store: &Path, args: &[&str], token: Option<&str>) -> (bool, String) {
    let mut c = tokio::process::Command::new(env!("CARGO_BIN_EXE_suat"));
    c.args(args)
        .env("SUAT_GRAPH_URL", url)
        .env("SUAT_STORE", store)
        .env("SUAT_STORE_KEY", "4242424242424242424242424242424242424242424242424242424242424242")
        .env("SUAT_APP_ID", "2001")
        .env("SUAT_APP_SECRET", APP_SECRET)
        .env_remove("SUAT_STORE_PASSPHRASE")
        .env_remove("SUAT_API_VERSION");
    match token {
        Some(t) => c.env("SUAT_ACCESS_TOKEN", t),
        None => c.env_remove("SUAT_ACCESS_TOKEN"),
    };
    let o = c.output().await.expect("run suat");
    let text = format!("{}\n{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr));
    (o.status.success(), text)
}

#[tokio::test]
async fn watch_once_rotates_by_the_server_clock() {
    let dir = tempfile::tempdir().unwrap();
    let (_server, url) = serve(dir.path(), "suat.db");
    let store = dir.path().join("tokens.json");
    let (ok, out) = suat(&url, &store, &["app", "install", "--system-user", "4001"], Some(ADMIN_TOKEN)).await;
    assert!(ok, "{out}");
    let generate = ["token", "generate", "--system-user", "4001", "--scope", "ads_read", "--expiring", "--profile"];
    let (ok, out) = suat(&url, &store, &[&generate[..], &["bot"]].concat(), Some(ADMIN_TOKEN)).await;
    assert!(ok, "{out}");

    let (ok, out) = suat(&url, &store, &["watch", "--once"], None).await;
    assert!(ok && out.contains("0 rotated"), "not due on day 0:\n{out}");

    // Past half of the 60 days on the server's clock only: the local clock says day 0.
    admin(&url, "POST", "/clock", json!({"advance": 31 * DAY})).await;
    let (ok, out) = suat(&url, &store, &["token", "inspect", "--profile", "bot"], None).await;
    assert!(ok && (out.contains("(in 28d") || out.contains("(in 29d")), "expiry on the server clock:\n{out}");
    let (ok, out) = suat(&url, &store, &["watch", "--once"], None).await;
    assert!(ok && out.contains("bot: rotated") && out.contains("1 rotated"), "{out}");
    let (ok, out) = suat(&url, &store, &["token", "inspect", "--profile", "bot"], None).await;
    let fresh = out.contains("(in 59d") || out.contains("(in 60d");
    assert!(ok && fresh, "the new token has a fresh 60 days on the server clock:\n{out}");
    // Run again: nothing is due any more.
    let (ok, out) = suat(&url, &store, &["watch", "--once"], None).await;
    assert!(ok && out.contains("0 rotated"), "{out}");
}

/// The example seed's admin token is permanent: it still works after the clock jumps past 60 days.
#[tokio::test]
async fn the_seeded_admin_token_survives_any_clock_jump() {
    let dir = tempfile::tempdir().unwrap();
    let (_server, url) = serve(dir.path(), ":memory:");
    admin(&url, "POST", "/clock", json!({"advance": 5_270_400 + 365 * DAY})).await;
    assert_eq!(me(&url, ADMIN_TOKEN).await["id"], "3001");
}

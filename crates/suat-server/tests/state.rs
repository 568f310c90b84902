//! Repeatable state and one clock on the control plane: the snapshot round trip (SQLite and PostgreSQL), reset to
//! empty, the `Date` header following the server clock, and the app update call.

mod common;
use common::*;
use std::sync::Arc;
use suat_store::{PgStore, Store};

fn pg_url() -> String {
    std::env::var("SUAT_TEST_PG_URL").unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into())
}

/// A server on a fresh PostgreSQL schema, or `None` when SUAT_SKIP_PG=1.
async fn pg_server() -> Option<TestServer> {
    if std::env::var("SUAT_SKIP_PG").as_deref() == Ok("1") {
        return None;
    }
    let mut b = [0u8; 6];
    rand::RngCore::fill_bytes(&mut rand::rngs::OsRng, &mut b);
    let schema = format!("suat_state_{}", hex::encode(b));
    let store: Arc<dyn Store> =
        Arc::new(PgStore::connect_with_schema(&pg_url(), &schema).await.expect("PostgreSQL (or SUAT_SKIP_PG=1)"));
    Some(TestServer::start_with(store, std::env::temp_dir().join(&schema)).await)
}

/// A control-plane call that may fail: (status, body).
async fn admin_raw(s: &TestServer, method: &str, path: &str, body: &str) -> (u16, Value) {
    let m = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
    let r = s
        .http
        .request(m, format!("{}/_suat{path}", s.url))
        .bearer_auth(&s.admin_key)
        .header("content-type", "application/json")
        .body(body.to_owned())
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    (status, r.json().await.unwrap())
}

async fn dump_without_audit(s: &TestServer) -> Value {
    let mut d = s.admin("GET", "/dump", Value::Null).await;
    d.as_object_mut().unwrap().remove("audit_len");
    d
}

/// Export, reset to empty, import, export: the same document; the world works again (the same token authenticates,
/// the app secret still opens); the document holds no token, secret or password in the clear; a document made
/// under another master key, or one that does not hold together, is refused with nothing changed.
async fn snapshot_round_trip_on(s: TestServer) {
    let f = s.fixture().await;
    s.admin("POST", "/users", json!({"name": "Pat", "business_id": f.business_id, "password": "correct horse b"}))
        .await;
    install(&s, &f).await;
    let su_token = generate(&s, &f, "ads_read", true).await;
    s.advance_clock(3 * 86_400).await;
    let exported = s.admin("GET", "/snapshot", Value::Null).await;
    let text = exported.to_string();
    for secret in [&f.app_secret, &f.admin_token, &su_token, &"correct horse b".to_owned()] {
        assert!(!text.contains(secret.as_str()), "a snapshot must not carry {secret} in the clear");
    }
    assert_eq!(exported["format"], "suat-snapshot/1");
    assert_eq!(exported["state"]["clock_offset"], 3 * 86_400);
    let dump_before = dump_without_audit(&s).await;

    assert_eq!(s.admin("POST", "/reset", json!({"to": "empty"})).await["to"], "empty");
    let empty = s.admin("GET", "/dump", Value::Null).await;
    assert_eq!(empty["businesses"], json!([]));
    assert_eq!(empty["clock_offset"], 0);
    assert_eq!(get(&s, "/v25.0/me", &[("access_token", &su_token)]).await.err().0, 190);

    s.admin("POST", "/snapshot", exported.clone()).await;
    assert_eq!(s.admin("GET", "/snapshot", Value::Null).await, exported, "export -> reset -> import -> export");
    assert_eq!(dump_without_audit(&s).await, dump_before);
    let me = get(&s, "/v25.0/me", &[("access_token", &su_token)]).await;
    assert_eq!(me.ok()["id"], json!(f.system_user_id));
    let app_token = format!("{}|{}", f.app_id, f.app_secret);
    let d = get(&s, "/v25.0/debug_token", &[("input_token", &f.admin_token), ("access_token", &app_token)]).await;
    assert_eq!(d.ok()["data"]["is_valid"], true, "the sealed app secret opens after the import");
    let audit = s.admin("GET", "/audit?limit=1", Value::Null).await;
    assert_eq!(audit["data"][0]["action"], "snapshot_import");

    // Another master key's snapshot: refused, nothing changed.
    let mut foreign = exported.clone();
    foreign["key_check"] = json!("0000000000000000");
    let (status, body) = admin_raw(&s, "POST", "/snapshot", &foreign.to_string()).await;
    assert_eq!(status, 400, "{body}");
    assert!(body["error"]["message"].as_str().unwrap().contains("another master key"), "{body}");
    // A snapshot whose rows do not hold together (an install of a user it does not have): refused whole.
    let mut broken = exported.clone();
    broken["state"]["installs"].as_array_mut().unwrap().push(json!({"user_id": 999, "app_id": 1}));
    let (status, body) = admin_raw(&s, "POST", "/snapshot", &broken.to_string()).await;
    assert_eq!(status, 400, "{body}");
    let (status, body) = admin_raw(&s, "POST", "/snapshot", "{\"format\": \"x\"}").await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(dump_without_audit(&s).await, dump_before);
}

#[tokio::test]
async fn snapshot_round_trips_on_sqlite() {
    snapshot_round_trip_on(TestServer::start().await).await;
}

#[tokio::test]
async fn snapshot_round_trips_on_postgres() {
    let Some(s) = pg_server().await else { return };
    snapshot_round_trip_on(s).await;
}

fn date_of(headers: &reqwest::header::HeaderMap) -> i64 {
    let d = headers.get("date").expect("a Date header").to_str().unwrap();
    chrono::DateTime::parse_from_rfc2822(d).unwrap_or_else(|e| panic!("{d}: {e}")).timestamp()
}

/// Graph answers (success and error) and control-plane answers carry the server clock's `Date`, which moves with
/// `POST /_suat/clock`.
#[tokio::test]
async fn the_date_header_follows_the_server_clock() {
    let s = TestServer::start().await;
    let f = s.fixture().await;
    let before = s.now().await;
    s.advance_clock(40 * 86_400).await;
    let now = s.now().await;
    assert!(now - before >= 40 * 86_400);
    let graph_ok = get(&s, "/v25.0/me", &[("access_token", &f.admin_token)]).await;
    let graph_err = get(&s, "/v25.0/me", &[("access_token", "nope")]).await;
    let control = s.http.get(format!("{}/_suat/health", s.url)).send().await.unwrap();
    let after = s.now().await;
    for (what, headers) in
        [("graph success", &graph_ok.headers), ("graph error", &graph_err.headers), ("control", control.headers())]
    {
        let d = date_of(headers);
        assert!((now..=after).contains(&d), "{what}: Date {d} is not the server clock ({now}..{after})");
    }
    s.admin("POST", "/clock", json!({"advance": -40 * 86_400})).await;
    let back = get(&s, "/v25.0/me", &[("access_token", &f.admin_token)]).await;
    assert!(date_of(&back.headers) < now - 39 * 86_400);
}

/// `POST /_suat/apps/{id}` edits an existing app's redirect URIs and flags (audited, from and to); the dialog follows
/// the new URIs at once; bad input is a clear `(#100)` that changes nothing.
#[tokio::test]
async fn the_app_update_edits_redirect_uris_and_flags() {
    let s = TestServer::start().await;
    let f = s.fixture().await;
    let dialog = |uri: &'static str| {
        let (s, app) = (&s, f.app_id.clone());
        async move {
            let params = [("client_id", app.as_str()), ("redirect_uri", uri), ("scope", "email")];
            s.http.get(format!("{}/v25.0/dialog/oauth", s.url)).query(&params).send().await.unwrap().status().as_u16()
        }
    };
    const NEW: &str = "https://new.example/cb";
    assert_ne!(dialog(NEW).await, 200, "not registered yet");
    let body = json!({"redirect_uris": [NEW], "require_app_secret": true, "access_level": "advanced",
                      "permissions": ["ads_read", "business_management"], "capabilities": ["c1"], "test_app": false});
    s.admin("POST", &format!("/apps/{}", f.app_id), body).await;
    assert_eq!(dialog(NEW).await, 200, "the dialog accepts the new redirect URI at once");
    let app = s.admin("GET", "/dump", Value::Null).await["apps"][0].clone();
    assert_eq!(app["redirect_uris"], json!([NEW]));
    assert_eq!((app["require_app_secret"].clone(), app["access_level"].clone()), (json!(true), json!("advanced")));
    assert_eq!(app["permissions"], json!(["ads_read", "business_management"]));
    let entry = s.admin("GET", "/audit?limit=1", Value::Null).await["data"][0].clone();
    assert_eq!(entry["action"], "update_app");
    assert_eq!(entry["detail"]["require_app_secret"], json!({"from": false, "to": true}));
    assert_eq!(entry["detail"]["redirect_uris"], json!({"from": [], "to": [NEW]}));

    let before = s.admin("GET", "/dump", Value::Null).await;
    let path = format!("/apps/{}", f.app_id);
    for (bad, code, says) in [
        (r#"{"redirect_uris": ["https://x.example/cb#frag"]}"#, 100, "redirect_uris"),
        (r#"{"redirect_uris": ["not a url"], "require_app_secret": false}"#, 100, "redirect_uris"),
        (r#"{"permissions": ["manage_everything"]}"#, 3962, "manage_everything"),
        (r#"{"access_level": "platinum"}"#, 100, "platinum"),
        (r#"{"colour": "blue"}"#, 100, "colour"),
        ("{}", 100, "at least one"),
    ] {
        let (status, body) = admin_raw(&s, "POST", &path, bad).await;
        assert_eq!(status, 400, "{bad}: {body}");
        assert_eq!(body["error"]["code"], code, "{bad}: {body}");
        assert!(body["error"]["message"].as_str().unwrap().contains(says), "{bad}: {body}");
    }
    let (status, _) = admin_raw(&s, "POST", "/apps/999", r#"{"require_app_secret": true}"#).await;
    assert_eq!(status, 400);
    assert_eq!(s.admin("GET", "/dump", Value::Null).await, before, "refused updates change nothing");
}

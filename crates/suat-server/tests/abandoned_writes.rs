//! A client that sends an invalidating write and hangs up before the answer still gets it in force: once the write
//! has committed (the audit log shows it), the old token, secret or session is refused by the same process. Each
//! write 50 times, on SQLite and on PostgreSQL (`SUAT_TEST_PG_URL`; unreachable fails unless SUAT_SKIP_PG=1).

mod common;
use common::*;
use std::sync::Arc;
use suat_store::{PgStore, Store};
use tokio::io::AsyncWriteExt;

const ROUNDS: usize = 50;

/// Sends one request on a fresh connection and closes it without reading a byte of the answer.
async fn send_and_hang_up(s: &TestServer, method: &str, path: &str, bearer: Option<&str>, body: &str, ct: &str) {
    let addr = s.url.trim_start_matches("http://");
    let mut c = tokio::net::TcpStream::connect(addr).await.unwrap();
    let auth = bearer.map(|k| format!("Authorization: Bearer {k}\r\n")).unwrap_or_default();
    let req = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\n{auth}Content-Type: {ct}\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    c.write_all(req.as_bytes()).await.unwrap();
    c.flush().await.unwrap();
    // Long enough for the server to have read the request (a connection closed at once may never be dispatched),
    // shorter than a durable write: the client is gone while its write runs, as with `curl --max-time 0.001`.
    tokio::time::sleep(std::time::Duration::from_millis(1)).await;
    drop(c);
}

fn form(params: &[(&str, &str)]) -> String {
    let mut s = url::form_urlencoded::Serializer::new(String::new());
    for (k, v) in params {
        s.append_pair(k, v);
    }
    s.finish()
}

const FORM: &str = "application/x-www-form-urlencoded";

/// Waits (bounded) until the audit log has an entry with `action` after `seq`: the abandoned write committed. A
/// request whose client hangs up at once may also never be dispatched at all (hyper drops it before the handler
/// starts): then nothing was done and nothing acknowledged, and the step is tried again.
async fn committed(s: &TestServer, action: &str, after: i64) -> bool {
    for _ in 0..1000 {
        let tail = s.admin("GET", "/audit?limit=20", Value::Null).await;
        if tail["data"].as_array().unwrap().iter().any(|e| e["action"] == action && e["seq"].as_i64() > Some(after)) {
            return true;
        }
        tokio::time::sleep(std::time::Duration::from_millis(2)).await;
    }
    eprintln!("NOT COMMITTED {action}");
    false
}

async fn last_seq(s: &TestServer) -> i64 {
    let tail = s.admin("GET", "/audit?limit=1", Value::Null).await;
    tail["data"][0]["seq"].as_i64().unwrap_or(0)
}

/// `/me` with `token` must be refused with 190/`subcode`.
async fn refused(s: &TestServer, token: &str, subcode: Option<i64>, what: &str) {
    let a = get(s, "/v25.0/me", &[("access_token", token)]).await;
    assert_eq!(a.status, 400, "{what}: the old token was accepted after the write committed: {}", a.body);
    assert_eq!(a.err(), (190, subcode), "{what}");
}

async fn every_invalidating_write(s: &TestServer) {
    let mut f = s.fixture().await;
    // The clock moves 61 days a round: the admin's token must outlive every round.
    f.admin_token = s
        .admin(
            "POST",
            &format!("/users/{}/tokens", f.admin_user_id),
            json!({"app_id": f.app_id, "scopes": ["business_management"], "expires_in": 20 * 366 * 86400}),
        )
        .await["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let f = &mut f;
    let su = f.system_user_id.clone();
    let su = su.as_str();
    let page = s.admin("POST", "/pages", json!({"name": "Shop", "business_id": f.business_id})).await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let person = s.admin("POST", "/users", json!({"name": "P", "business_id": f.business_id})).await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    install(s, f).await;
    for round in 0..ROUNDS {
        // /oauth/revoke
        for attempt in 0..=40 {
            assert!(attempt < 40, "round {round}: 40 abandoned requests never reached a handler");
            let t = generate_with_secret(s, f, "ads_read").await;
            get(s, "/v25.0/me", &[("access_token", &t)]).await.ok();
            let seq = last_seq(s).await;
            let q = form(&[
                ("client_id", &f.app_id),
                ("client_secret", &f.app_secret),
                ("revoke_token", &t),
                ("access_token", &t),
            ]);
            send_and_hang_up(s, "GET", &format!("/v25.0/oauth/revoke?{q}"), None, "", FORM).await;
            if !committed(s, "revoke", seq).await {
                continue;
            }
            refused(s, &t, Some(466), &format!("round {round}: /oauth/revoke")).await;
            break;
        }

        // DELETE /{su}/access_tokens
        for attempt in 0..=40 {
            assert!(attempt < 40, "round {round}: 40 abandoned requests never reached a handler");
            let t = generate_with_secret(s, f, "ads_read").await;
            get(s, "/v25.0/me", &[("access_token", &t)]).await.ok();
            let seq = last_seq(s).await;
            let q = form(&[("access_token", &f.admin_token)]);
            send_and_hang_up(s, "DELETE", &format!("/v25.0/{su}/access_tokens?{q}"), None, "", FORM).await;
            if !committed(s, "revoke_all", seq).await {
                continue;
            }
            refused(s, &t, Some(466), &format!("round {round}: DELETE access_tokens")).await;
            break;
        }

        // DELETE /{su}/applications (uninstall), then install again for the next steps.
        for attempt in 0..=40 {
            assert!(attempt < 40, "round {round}: 40 abandoned requests never reached a handler");
            let t = generate_with_secret(s, f, "ads_read").await;
            get(s, "/v25.0/me", &[("access_token", &t)]).await.ok();
            let seq = last_seq(s).await;
            let q = form(&[("business_app", &f.app_id), ("access_token", &f.admin_token)]);
            send_and_hang_up(s, "DELETE", &format!("/v25.0/{su}/applications?{q}"), None, "", FORM).await;
            if !committed(s, "uninstall", seq).await {
                continue;
            }
            refused(s, &t, Some(458), &format!("round {round}: uninstall")).await;
            install(s, f).await;
            break;
        }

        // DELETE /{page}/assigned_users: the page token dies (467).
        for attempt in 0..=40 {
            assert!(attempt < 40, "round {round}: 40 abandoned requests never reached a handler");
            post(
                s,
                &format!("/v25.0/{page}/assigned_users"),
                &[("user", su), ("tasks", "MANAGE"), ("access_token", &f.admin_token)],
            )
            .await
            .ok();
            let t = generate_with_secret(s, f, "pages_show_list").await;
            let pt = get(s, &format!("/v25.0/{page}"), &[("fields", "access_token"), ("access_token", &t)]).await.ok()
                ["access_token"]
                .as_str()
                .unwrap()
                .to_owned();
            get(s, "/v25.0/me", &[("access_token", &pt)]).await.ok();
            let seq = last_seq(s).await;
            let q = form(&[("user", su), ("access_token", &f.admin_token)]);
            send_and_hang_up(s, "DELETE", &format!("/v25.0/{page}/assigned_users?{q}"), None, "", FORM).await;
            if !committed(s, "unassign_page", seq).await {
                continue;
            }
            refused(s, &pt, Some(467), &format!("round {round}: page role removal")).await;
            break;
        }

        // Password change: the person's user token dies (460).
        for attempt in 0..=40 {
            assert!(attempt < 40, "round {round}: 40 abandoned requests never reached a handler");
            let ut = s.admin("POST", &format!("/users/{person}/tokens"), json!({"app_id": f.app_id})).await
                ["access_token"]
                .as_str()
                .unwrap()
                .to_owned();
            get(s, "/v25.0/me", &[("access_token", &ut)]).await.ok();
            let seq = last_seq(s).await;
            let path = format!("/_suat/users/{person}/password_change");
            send_and_hang_up(s, "POST", &path, Some(&s.admin_key), "", "application/json").await;
            if !committed(s, "password_change", seq).await {
                continue;
            }
            refused(s, &ut, Some(460), &format!("round {round}: password change")).await;
            break;
        }

        // Secret reset: APPID|old-secret stops being an app token.
        for attempt in 0..=40 {
            assert!(attempt < 40, "round {round}: 40 abandoned requests never reached a handler");
            let old_app_token = format!("{}|{}", f.app_id, f.app_secret);
            let app_path = format!("/v25.0/{}", f.app_id);
            get(s, &app_path, &[("access_token", &old_app_token)]).await.ok();
            let seq = last_seq(s).await;
            let path = format!("/_suat/apps/{}/reset_secret", f.app_id);
            send_and_hang_up(s, "POST", &path, Some(&s.admin_key), "", "application/json").await;
            if !committed(s, "reset_secret", seq).await {
                continue;
            }
            let a = get(s, &app_path, &[("access_token", &old_app_token)]).await;
            assert_eq!(a.status, 400, "round {round}: the old app secret still works: {}", a.body);
            assert_eq!(a.err().0, 190, "round {round}: secret reset");
            // The abandoned reset's secret was never heard: learn a new one with a reset that is answered.
            f.app_secret = secrets_now(s, f).await;
            break;
        }

        // Clock: a 60-day token is expired once the clock has moved past it (463).
        for attempt in 0..=40 {
            assert!(attempt < 40, "round {round}: 40 abandoned requests never reached a handler");
            let t = generate_with_secret(s, f, "ads_read").await;
            get(s, "/v25.0/me", &[("access_token", &t)]).await.ok();
            let seq = last_seq(s).await;
            send_and_hang_up(
                s,
                "POST",
                "/_suat/clock",
                Some(&s.admin_key),
                r#"{"advance": 5270400}"#,
                "application/json",
            )
            .await;
            if !committed(s, "clock", seq).await {
                continue;
            }
            refused(s, &t, Some(463), &format!("round {round}: clock")).await;

            break;
        }
    }
}

async fn secrets_now(s: &TestServer, f: &Fixture) -> String {
    s.admin("POST", &format!("/apps/{}/reset_secret", f.app_id), Value::Null).await["secret"]
        .as_str()
        .unwrap()
        .to_owned()
}

/// An expiring system-user token, with the proof made under the app's current secret.
async fn generate_with_secret(s: &TestServer, f: &Fixture, scope: &str) -> String {
    let p = proof(&f.app_secret, &f.admin_token);
    let a = post(
        s,
        &format!("/v25.0/{}/access_tokens", f.system_user_id),
        &[
            ("business_app", f.app_id.as_str()),
            ("scope", scope),
            ("appsecret_proof", p.as_str()),
            ("set_token_expires_in_60_days", "true"),
            ("access_token", f.admin_token.as_str()),
        ],
    )
    .await;
    a.ok()["access_token"].as_str().unwrap().to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_abandoned_invalidating_writes_are_in_force() {
    let s = TestServer::start().await;
    every_invalidating_write(&s).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_abandoned_invalidating_writes_are_in_force() {
    if std::env::var("SUAT_SKIP_PG").as_deref() == Ok("1") {
        return;
    }
    let url = std::env::var("SUAT_TEST_PG_URL").unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into());
    let schema = format!(
        "aw_{}_{}",
        std::process::id(),
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos()
    );
    let store: Arc<dyn Store> =
        Arc::new(PgStore::connect_with_schema(&url, &schema).await.expect("PostgreSQL (or SUAT_SKIP_PG=1)"));
    let s = TestServer::start_with(store, std::env::temp_dir().join("unused")).await;
    every_invalidating_write(&s).await;
}

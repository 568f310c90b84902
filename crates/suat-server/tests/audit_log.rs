//! Issue 11, the audit log: failed authentications (a wrong client secret on every path that takes one, a wrong or
//! missing appsecret_proof, a wrong control-plane key) are audited as `auth_failed`, once per reason, actor and
//! window of the server clock (moved with the control plane, never slept), the rest counted and reported by the
//! next entry; nothing secret is written; and every row the server writes is in the SQLite hash chain.

mod common;
use common::*;
use suat_core::audit::FAILURE_WINDOW;

async fn audit(s: &TestServer) -> Vec<Value> {
    s.admin("GET", "/audit?limit=10000", Value::Null).await["data"].as_array().unwrap().clone()
}

async fn failures(s: &TestServer) -> Vec<Value> {
    audit(s).await.into_iter().filter(|e| e["action"] == "auth_failed").collect()
}

/// A server whose clock stands still (moved only by the control plane), so window boundaries are exact.
async fn still() -> (TestServer, Fixture) {
    let s = TestServer::start_at(1_800_000_000).await;
    let f = s.fixture().await;
    (s, f)
}

fn basic(id: &str, secret: &str) -> String {
    use base64::Engine;
    format!("Basic {}", base64::engine::general_purpose::STANDARD.encode(format!("{id}:{secret}")))
}

/// Every path that checks a client secret audits a wrong one: one entry per window for the app, so the clock moves
/// a window between paths.
#[tokio::test]
async fn a_wrong_client_secret_is_audited_on_every_path_that_takes_one() {
    let (s, f) = still().await;
    install(&s, &f).await;
    let t = generate(&s, &f, "ads_read", true).await;
    let bad = "not-the-secret-0123456789";
    let cases: Vec<(&str, Answer)> = vec![
        (
            "client_credentials",
            get(
                &s,
                "/oauth/access_token",
                &[("grant_type", "client_credentials"), ("client_id", &f.app_id), ("client_secret", bad)],
            )
            .await,
        ),
        (
            "fb_exchange_token",
            get(
                &s,
                "/oauth/access_token",
                &[
                    ("grant_type", "fb_exchange_token"),
                    ("client_id", &f.app_id),
                    ("client_secret", bad),
                    ("fb_exchange_token", &t),
                ],
            )
            .await,
        ),
        (
            "code",
            get(
                &s,
                "/oauth/access_token",
                &[("client_id", &f.app_id), ("client_secret", bad), ("redirect_uri", REDIRECT), ("code", "x")],
            )
            .await,
        ),
        (
            "revoke",
            get(
                &s,
                "/oauth/revoke",
                &[("client_id", &f.app_id), ("client_secret", bad), ("revoke_token", &t), ("access_token", &t)],
            )
            .await,
        ),
        (
            "basic",
            answer(
                s.http
                    .get(format!("{}/oauth/access_token", s.url))
                    .header("authorization", basic(&f.app_id, bad))
                    .query(&[("grant_type", "client_credentials")])
                    .send()
                    .await
                    .unwrap(),
            )
            .await,
        ),
        ("app_token", get(&s, "/me", &[("access_token", &format!("{}|{bad}", f.app_id))]).await),
    ];
    let mut answered = Vec::new();
    for (name, a) in cases {
        answered.push((name, a.status, a.err()));
    }
    // Each was refused as before: the same codes; now each is in the log, one per window.
    assert_eq!(answered.iter().filter(|(_, st, _)| *st >= 400).count(), 6, "{answered:?}");
    let logged = failures(&s).await;
    assert_eq!(logged.len(), 1, "one entry for the app in this window: {logged:?}");
    let e = &logged[0];
    assert_eq!(e["actor"], json!(format!("app:{}", f.app_id)));
    assert_eq!(e["app_id"], json!(f.app_id));
    assert_eq!(e["detail"], json!({"via": "client_secret", "reason": "client_secret", "suppressed": 0}));
    assert!(e["token_ref"].is_null(), "no token was presented as the credential");
    // Each path on its own window: each logs, and says what the window before kept silent.
    let bad_app_token = format!("{}|{bad}", f.app_id);
    let paths: [(&str, Vec<(&str, &str)>); 3] = [
        (
            "/oauth/access_token",
            vec![("grant_type", "client_credentials"), ("client_id", &f.app_id), ("client_secret", bad)],
        ),
        (
            "/oauth/revoke",
            vec![("client_id", &f.app_id), ("client_secret", bad), ("revoke_token", &t), ("access_token", &t)],
        ),
        ("/debug_token", vec![("input_token", &t), ("access_token", &bad_app_token)]),
    ];
    for (path, params) in &paths {
        s.advance_clock(FAILURE_WINDOW).await;
        assert!(get(&s, path, params).await.status >= 400);
    }
    let logged = failures(&s).await;
    let summary: Vec<(Value, Value)> =
        logged.iter().map(|e| (e["detail"]["via"].clone(), e["detail"]["suppressed"].clone())).collect();
    assert_eq!(
        summary,
        vec![
            (json!("client_secret"), json!(0)),
            (json!("client_secret"), json!(5)),
            (json!("client_secret"), json!(0)),
            (json!("app_token"), json!(0)),
        ]
    );
    // The token was never revoked by the refused call.
    assert_eq!(get(&s, "/me", &[("access_token", &t)]).await.status, 200);
}

/// A flood of wrong secrets from one app writes one entry per window; the next window's entry carries the count.
#[tokio::test]
async fn a_flood_of_failures_writes_one_entry_per_window_and_counts_the_rest() {
    let (s, f) = still().await;
    for _ in 0..40 {
        let a = get(&s, "/me", &[("access_token", &format!("{}|wrong-secret-guess", f.app_id))]).await;
        assert_eq!(a.err().0, 190);
    }
    assert_eq!(failures(&s).await.len(), 1, "40 failures, one entry");
    s.advance_clock(FAILURE_WINDOW - 1).await;
    get(&s, "/me", &[("access_token", &format!("{}|wrong", f.app_id))]).await;
    assert_eq!(failures(&s).await.len(), 1, "still the same window");
    s.advance_clock(1).await;
    get(&s, "/me", &[("access_token", &format!("{}|wrong", f.app_id))]).await;
    let logged = failures(&s).await;
    assert_eq!(logged.len(), 2);
    assert_eq!(logged[1]["detail"]["suppressed"], json!(40), "39 + 1 failures kept silent by the first window");
    assert_eq!(logged[1]["at"].as_i64().unwrap() - logged[0]["at"].as_i64().unwrap(), FAILURE_WINDOW);
    // Each key has its own window: another app's failure is logged at once.
    let other = s.admin("POST", "/apps", json!({"name": "Other", "owner_business": f.business_id})).await;
    let other = other["id"].as_str().unwrap().to_owned();
    get(&s, "/me", &[("access_token", &format!("{other}|wrong"))]).await;
    assert_eq!(failures(&s).await.last().unwrap()["actor"], json!(format!("app:{other}")));
    // An id that names no app is no secret check (the token is just unknown).
    let n = failures(&s).await.len();
    get(&s, "/me", &[("access_token", "1|wrong")]).await;
    assert_eq!(failures(&s).await.len(), n);
}

#[tokio::test]
async fn a_wrong_or_missing_appsecret_proof_is_audited_with_the_token_it_was_for() {
    let (s, f) = still().await;
    install(&s, &f).await;
    let t = generate(&s, &f, "ads_read", true).await;
    let token_ref = s.state.svc.token_ref(&t);
    let wrong = proof("not-the-secret", &t);
    let a = get(&s, "/me", &[("access_token", &t), ("appsecret_proof", &wrong)]).await;
    assert_eq!(a.err().0, 100);
    let logged = failures(&s).await;
    assert_eq!(logged.len(), 1);
    let e = &logged[0];
    assert_eq!(e["actor"], json!(f.system_user_id), "the token's holder");
    assert_eq!(e["token_ref"], json!(token_ref));
    assert_eq!(e["app_id"], json!(f.app_id));
    assert_eq!(e["detail"], json!({"missing": false, "reason": "appsecret_proof", "suppressed": 0}));
    // Missing where the app requires one (generation always does): the admin's token, on its own key.
    let a = post(
        &s,
        &format!("/v25.0/{}/access_tokens", f.system_user_id),
        &[("business_app", &f.app_id), ("scope", "ads_read"), ("access_token", &f.admin_token)],
    )
    .await;
    assert_eq!(a.err().0, 100);
    let logged = failures(&s).await;
    assert_eq!(logged.len(), 2);
    assert_eq!(logged[1]["actor"], json!(f.admin_user_id));
    assert_eq!(logged[1]["detail"]["missing"], json!(true));
    assert_eq!(logged[1]["token_ref"], json!(s.state.svc.token_ref(&f.admin_token)));
    // A right proof is no failure.
    let good = proof(&f.app_secret, &t);
    assert_eq!(get(&s, "/me", &[("access_token", &t), ("appsecret_proof", &good)]).await.status, 200);
    assert_eq!(failures(&s).await.len(), 2);
    // Nothing secret is in the log: not the proofs, not the tokens, not the secrets.
    let text = serde_json::to_string(&audit(&s).await).unwrap();
    for secret in [&wrong, &good, &t, &f.admin_token, &f.app_secret] {
        assert!(!text.contains(secret.as_str()), "the audit log holds {secret}");
    }
}

#[tokio::test]
async fn a_wrong_control_plane_key_is_audited_per_client_address() {
    let s = TestServer::start_at(1_800_000_000).await;
    let with_key = |k: &str| s.http.get(format!("{}/_suat/dump", s.url)).bearer_auth(k.to_owned()).send();
    for _ in 0..3 {
        assert_eq!(with_key("guess-0123456789abcdef").await.unwrap().status().as_u16(), 401);
    }
    assert_eq!(s.http.get(format!("{}/_suat/dump", s.url)).send().await.unwrap().status().as_u16(), 401);
    let logged = failures(&s).await;
    assert_eq!(logged.len(), 1, "{logged:?}");
    assert_eq!(logged[0]["actor"], json!("address:127.0.0.1"));
    assert_eq!(logged[0]["detail"], json!({"presented": true, "reason": "admin_key", "suppressed": 0}));
    s.advance_clock(FAILURE_WINDOW).await;
    assert_eq!(with_key("guess-again-0123456789").await.unwrap().status().as_u16(), 401);
    let logged = failures(&s).await;
    assert_eq!(logged[1]["detail"]["suppressed"], json!(3));
    assert!(!serde_json::to_string(&logged).unwrap().contains("guess"), "the presented key is not logged");
    // The control plane's reset forgets the windows (the log itself is kept): the next failure is logged at once.
    s.admin("POST", "/reset", json!({"to": "empty"})).await;
    assert_eq!(with_key("guess-0123456789abcdef").await.unwrap().status().as_u16(), 401);
    let logged = failures(&s).await;
    assert_eq!(logged.len(), 3);
    assert_eq!(logged[2]["detail"]["suppressed"], json!(0));
}

/// Everything the server writes, failures included, is in the chain, which `suat audit verify` walks.
#[tokio::test]
async fn the_servers_audit_log_verifies_as_a_chain() {
    let (s, f) = still().await;
    install(&s, &f).await;
    let t = generate(&s, &f, "ads_read", true).await;
    get(&s, "/me", &[("access_token", &format!("{}|wrong", f.app_id))]).await;
    get(
        &s,
        "/oauth/revoke",
        &[("client_id", &f.app_id), ("client_secret", &f.app_secret), ("revoke_token", &t), ("access_token", &t)],
    )
    .await
    .ok();
    let n = audit(&s).await.len() as u64;
    let r = suat_store::audit_chain::verify_sqlite(&s.db_path, &s.keys.audit).await.unwrap();
    assert_eq!((r.rows, r.chained, r.broken), (n, n, None));
}

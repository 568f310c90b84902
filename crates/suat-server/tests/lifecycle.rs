//! The seed flow end to end over HTTP: install -> generate -> debug -> refresh (with overlap) -> revoke, plus
//! revoke-all and app tokens.

mod common;
use common::*;

#[tokio::test]
async fn install_generate_debug_refresh_revoke() {
    let (s, f) = setup().await;
    install(&s, &f).await;
    // Installing again is fine (idempotent).
    install(&s, &f).await;

    let token = generate(&s, &f, "ads_management,ads_read", true).await;
    assert!(token.starts_with("EAA") && token.len() >= 170 && token.chars().all(|c| c.is_ascii_alphanumeric()));
    let now = s.now().await;

    // debug_token with the app token.
    let d = get(&s, "/v25.0/debug_token", &[("input_token", &token), ("access_token", &app_token(&f))]).await;
    let data = &d.ok()["data"];
    assert_eq!(data["app_id"], json!(f.app_id));
    assert_eq!(data["type"], "SYSTEM_USER");
    assert_eq!(data["application"], "Acme Ads");
    assert_eq!(data["is_valid"], true);
    assert_eq!(data["user_id"], json!(f.system_user_id));
    assert_eq!(data["scopes"], json!(["ads_management", "ads_read"]));
    assert_eq!(data["granular_scopes"], json!([{"scope": "ads_management"}, {"scope": "ads_read"}]));
    assert_eq!(data["data_access_expires_at"], 0);
    let exp = data["expires_at"].as_i64().unwrap();
    assert!((exp - (now + 5_184_000)).abs() <= 5, "60-day expiry, got {exp} vs now {now}");

    // The token works.
    let me = get(&s, "/v25.0/me", &[("access_token", &token)]).await;
    assert_eq!(me.ok()["id"], json!(f.system_user_id));
    assert_eq!(me.body["name"], "ci-bot");

    // Refresh 30 days in: new token, 60 days from now; old keeps working until its own expiry.
    s.advance_clock(30 * 86_400).await;
    let r = get(
        &s,
        "/v25.0/oauth/access_token",
        &[
            ("grant_type", "fb_exchange_token"),
            ("client_id", &f.app_id),
            ("client_secret", &f.app_secret),
            ("set_token_expires_in_60_days", "true"),
            ("fb_exchange_token", &token),
        ],
    )
    .await;
    let body = r.ok();
    assert_eq!(body["token_type"], "bearer");
    assert_eq!(body["expires_in"], 5_184_000);
    let new = body["access_token"].as_str().unwrap().to_owned();
    assert_ne!(new, token);
    get(&s, "/me", &[("access_token", &token)]).await.ok();
    get(&s, "/me", &[("access_token", &new)]).await.ok();

    // Old token dies at its own expiry (day 60), new one lives on.
    s.advance_clock(31 * 86_400).await;
    let old = get(&s, "/me", &[("access_token", &token)]).await;
    assert_eq!(old.err(), (190, Some(463)));
    assert!(old.msg().starts_with("Error validating access token: Session has expired on "), "{}", old.msg());
    get(&s, "/me", &[("access_token", &new)]).await.ok();
    // An expired token cannot be exchanged.
    let again = get(
        &s,
        "/oauth/access_token",
        &[
            ("grant_type", "fb_exchange_token"),
            ("client_id", &f.app_id),
            ("client_secret", &f.app_secret),
            ("fb_exchange_token", &token),
        ],
    )
    .await;
    assert_eq!(again.err(), (190, Some(463)));

    // Revoke the new token: immediately invalid with 466, and debug_token says so with a 200.
    let rv = get(
        &s,
        "/v25.0/oauth/revoke",
        &[("client_id", &f.app_id), ("client_secret", &f.app_secret), ("revoke_token", &new), ("access_token", &new)],
    )
    .await;
    assert_eq!(rv.ok(), &json!({"success": true}));
    let dead = get(&s, "/me", &[("access_token", &new)]).await;
    assert_eq!(dead.err(), (190, Some(466)));
    assert_eq!(dead.msg(), "Error validating access token: The session was invalidated explicitly using an API call.");
    let d = get(&s, "/debug_token", &[("input_token", &new), ("access_token", &app_token(&f))]).await;
    assert_eq!(d.status, 200);
    assert_eq!(d.body["data"]["is_valid"], false);
    assert_eq!(d.body["data"]["error"]["code"], 190);
    assert_eq!(d.body["data"]["error"]["subcode"], 466);
    assert_eq!(d.body["data"]["user_id"], json!(f.system_user_id));

    // The audit log saw every step, and never a token.
    let audit = s.admin("GET", "/audit?limit=1000", Value::Null).await;
    let actions: Vec<&str> = audit["data"].as_array().unwrap().iter().map(|e| e["action"].as_str().unwrap()).collect();
    for a in ["install", "issue", "refresh", "revoke"] {
        assert!(actions.contains(&a), "audit lacks {a}: {actions:?}");
    }
    let text = audit.to_string();
    assert!(!text.contains(&token) && !text.contains(&new) && !text.contains(&f.app_secret));
}

#[tokio::test]
async fn permanent_tokens_never_expire() {
    let (s, f) = setup().await;
    install(&s, &f).await;
    let token = generate(&s, &f, "ads_read", false).await;
    let d = get(&s, "/debug_token", &[("input_token", &token), ("access_token", &token)]).await;
    assert_eq!(d.ok()["data"]["expires_at"], 0);
    s.advance_clock(10 * 365 * 86_400).await;
    get(&s, "/me", &[("access_token", &token)]).await.ok();
}

#[tokio::test]
async fn delete_access_tokens_invalidates_every_token_of_the_system_user() {
    let (s, f) = setup().await;
    install(&s, &f).await;
    let a = generate(&s, &f, "ads_read", false).await;
    let b = generate(&s, &f, "ads_read", true).await;
    let r =
        delete(&s, &format!("/v25.0/{}/access_tokens", f.system_user_id), &[("access_token", &f.admin_token)]).await;
    assert_eq!(r.ok(), &json!({"success": true}));
    for t in [&a, &b] {
        assert_eq!(get(&s, "/me", &[("access_token", t)]).await.err(), (190, Some(466)));
    }
    // The admin's own token is untouched, and new tokens can be generated afterwards.
    get(&s, "/me", &[("access_token", &f.admin_token)]).await.ok();
    let c = generate(&s, &f, "ads_read", false).await;
    get(&s, "/me", &[("access_token", &c)]).await.ok();
}

#[tokio::test]
async fn app_tokens_from_client_credentials_and_literal() {
    let (s, f) = setup().await;
    let r = post(
        &s,
        "/oauth/access_token",
        &[("grant_type", "client_credentials"), ("client_id", &f.app_id), ("client_secret", &f.app_secret)],
    )
    .await;
    let body = r.ok().clone();
    assert_eq!(body["token_type"], "bearer");
    assert!(body.get("expires_in").is_none());
    let t = body["access_token"].as_str().unwrap();
    assert!(t.starts_with(&format!("{}|", f.app_id)));
    assert!(!t.contains(&f.app_secret));
    install(&s, &f).await;
    let su = generate(&s, &f, "ads_read", false).await;
    for caller in [t.to_owned(), app_token(&f)] {
        let d = get(&s, "/debug_token", &[("input_token", &su), ("access_token", &caller)]).await;
        assert_eq!(d.ok()["data"]["is_valid"], true);
        let d = get(&s, "/debug_token", &[("input_token", &caller), ("access_token", &caller)]).await;
        let data = &d.ok()["data"];
        assert_eq!(data["type"], "APP");
        assert_eq!(data["is_valid"], true);
        let keys: Vec<&String> = data.as_object().unwrap().keys().collect();
        assert_eq!(keys.len(), 5, "APP answers only app_id,type,application,is_valid,scopes: {data}");
    }
    // fields narrows.
    let d =
        get(&s, "/debug_token", &[("input_token", &su), ("access_token", &app_token(&f)), ("fields", "app_id")]).await;
    assert_eq!(d.ok()["data"], json!({"app_id": f.app_id}));
}

#[tokio::test]
async fn system_users_edge_creates_and_lists() {
    let (s, f) = setup().await;
    let r = post(
        &s,
        &format!("/v25.0/{}/system_users", f.business_id),
        &[("name", "reporter"), ("role", "EMPLOYEE"), ("access_token", &f.admin_token)],
    )
    .await;
    let id = r.ok()["id"].as_str().unwrap().to_owned();
    let l = get(&s, &format!("/v25.0/{}/system_users", f.business_id), &[("access_token", &f.admin_token)]).await;
    let data = l.ok()["data"].as_array().unwrap().clone();
    assert_eq!(data.len(), 2);
    assert!(data.contains(&json!({"id": f.system_user_id, "name": "ci-bot", "role": "ADMIN"})));
    assert!(data.contains(&json!({"id": id, "name": "reporter", "role": "EMPLOYEE"})));
}

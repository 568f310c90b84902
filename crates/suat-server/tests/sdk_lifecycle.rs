//! The three official SDKs (facebook-sdk and facebook-business on PyPI, the Node business SDK) through the calls
//! their users make, unmodified but for their documented host settings: the profile, `/me/accounts` page by page as
//! each SDK pages, a page token, debug_token, refresh, revoke and delete. Each script prints what it saw.

mod common;
use common::*;
use std::path::Path;

struct World {
    app: String,
    secret: String,
    admin_token: String,
    su: String,
    pages: Vec<String>,
    su_token: String,
}

/// An installed app, an ADMIN system user with MANAGE on three pages and an expiring page-permission token.
async fn world(s: &TestServer) -> World {
    let f = s.fixture().await;
    install(s, &f).await;
    let mut pages = Vec::new();
    for name in ["One", "Two", "Three"] {
        let p = s.admin("POST", "/pages", json!({"name": name, "business_id": f.business_id})).await["id"]
            .as_str()
            .unwrap()
            .to_owned();
        let path = format!("/{p}/assigned_users");
        post(s, &path, &[("user", &f.system_user_id), ("tasks", "MANAGE"), ("access_token", &f.admin_token)])
            .await
            .ok();
        pages.push(p);
    }
    let su_token = generate(s, &f, "pages_show_list,ads_read", true).await;
    World { app: f.app_id, secret: f.app_secret, admin_token: f.admin_token, su: f.system_user_id, pages, su_token }
}

fn env<'a>(s: &'a TestServer, w: &'a World) -> Vec<(&'static str, &'a str)> {
    vec![
        ("SUAT_URL", s.url.as_str()),
        ("SU_TOKEN", w.su_token.as_str()),
        ("SU_ID", w.su.as_str()),
        ("PAGE_ID", w.pages[1].as_str()),
        ("APP_ID", w.app.as_str()),
        ("APP_SECRET", w.secret.as_str()),
        ("ADMIN_TOKEN", w.admin_token.as_str()),
    ]
}

/// What every SDK must have seen. `revoked`/`deleted` are the SDK's view of a 190 error (field names differ).
fn check(v: &Value, w: &World, code_of: impl Fn(&Value) -> (i64, Option<i64>)) {
    assert_eq!(v["me"], json!({"name": "ci-bot", "id": w.su}), "{v}");
    assert_eq!(v["accounts"], json!(w.pages), "every page, in order, across pages of one: {v}");
    assert_eq!(v["page_token"], "EAA");
    assert_eq!(v["debug"]["type"], "SYSTEM_USER");
    assert_eq!(v["debug"]["is_valid"], true);
    assert_eq!(v["debug"]["user_id"], json!(w.su));
    assert_eq!(v["debug"]["scopes"], json!(["pages_show_list", "ads_read"]));
    assert_eq!(v["refresh"]["expires_in"].as_i64(), Some(5_184_000), "{v}");
    assert_eq!(v["refresh"]["token_type"], "bearer");
    assert_eq!(v["revoke"], json!({"success": true}));
    assert_eq!(code_of(&v["old_after_revoke"]), (190, Some(466)), "{v}");
    assert_eq!(v["new_after_revoke"], json!(w.su));
    assert_eq!(code_of(&v["new_after_delete"]), (190, Some(466)), "{v}");
}

#[tokio::test]
async fn facebook_sdk_lifecycle() {
    let s = TestServer::start().await;
    let w = world(&s).await;
    let script = workspace_root().join("tests/sdk/python_facebook_sdk_lifecycle.py");
    let v = run_json(&python(), &[&script], &workspace_root(), &env(&s, &w)).await;
    // facebook-sdk's GraphAPIError keeps the code but not the subcode: the message names the revocation.
    check(&v, &w, |e| {
        let revoked = e["message"].as_str().is_some_and(|m| m.contains("invalidated explicitly using an API call"));
        (e["code"].as_i64().unwrap_or(0), revoked.then_some(466))
    });
    assert_eq!(v["delete"], json!({"success": true}));
}

#[tokio::test]
async fn facebook_business_sdk_lifecycle() {
    let s = TestServer::start().await;
    let w = world(&s).await;
    let script = workspace_root().join("tests/sdk/python_business_lifecycle.py");
    let v = run_json(&python(), &[&script], &workspace_root(), &env(&s, &w)).await;
    check(&v, &w, |e| (e["code"].as_i64().unwrap_or(0), e["subcode"].as_i64()));
}

#[tokio::test]
async fn node_business_sdk_lifecycle() {
    let s = TestServer::start().await;
    let w = world(&s).await;
    let v = run_json(Path::new("node"), &[Path::new("node_lifecycle.js")], &js_dir(), &env(&s, &w)).await;
    check(&v, &w, |e| (e["code"].as_i64().unwrap_or(0), e["subcode"].as_i64()));
    assert_eq!(v["delete"]["success"], true, "{v}");
}

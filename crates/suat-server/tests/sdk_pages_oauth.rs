//! The Node business SDK and the `facebook-sdk` Python package exercise stable page tokens, debug_token and the
//! authorization-code exchange against the real server.

mod common;
use common::*;
use std::path::Path;

const REDIRECT: &str = "https://app.example/cb";

struct World {
    app: String,
    secret: String,
    page: String,
    su_token: String,
    code: String,
}

/// One app (with a registered redirect URI) owned by a business that has a page, a system user with a task on it
/// and a page-permission token, and a person who signs in on the consent page to produce a code.
async fn world(s: &TestServer) -> World {
    let b = s.admin("POST", "/businesses", json!({"name": "Acme"})).await["id"].as_str().unwrap().to_owned();
    let app =
        s.admin("POST", "/apps", json!({"name": "Acme App", "owner_business": b, "redirect_uris": [REDIRECT]})).await;
    let (app_id, secret) = (app["id"].as_str().unwrap().to_owned(), app["secret"].as_str().unwrap().to_owned());
    let admin = s
        .admin("POST", "/users", json!({"name": "Ada", "business_id": b, "admin": true, "password": "correct horse"}))
        .await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let admin_token = s.admin("POST", &format!("/users/{admin}/tokens"), json!({"app_id": app_id})).await
        ["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let su = s.admin("POST", "/system_users", json!({"business_id": b, "name": "bot", "role": "ADMIN"})).await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let page = s.admin("POST", "/pages", json!({"name": "SDK Page", "business_id": b})).await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    post(s, &format!("/{page}/assigned_users"), &[("user", &su), ("tasks", "MANAGE"), ("access_token", &admin_token)])
        .await
        .ok();
    post(s, &format!("/{su}/applications"), &[("business_app", &app_id), ("access_token", &admin_token)]).await.ok();
    let p = proof(&secret, &admin_token);
    let su_token = post(
        s,
        &format!("/{su}/access_tokens"),
        &[
            ("business_app", &app_id),
            ("scope", "pages_show_list,pages_manage_posts"),
            ("appsecret_proof", &p),
            ("access_token", &admin_token),
        ],
    )
    .await
    .ok()["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let code = obtain_code(s, &app_id, &admin, REDIRECT, "email").await;
    World { app: app_id, secret, page, su_token, code }
}

fn env<'a>(s: &'a TestServer, w: &'a World) -> Vec<(&'static str, &'a str)> {
    vec![
        ("SUAT_URL", s.url.as_str()),
        ("SU_TOKEN", w.su_token.as_str()),
        ("PAGE_ID", w.page.as_str()),
        ("APP_ID", w.app.as_str()),
        ("APP_SECRET", w.secret.as_str()),
        ("REDIRECT_URI", REDIRECT),
        ("CODE", w.code.as_str()),
    ]
}

fn check_common(v: &Value, w: &World) {
    assert_eq!(v["page"]["id"], json!(w.page), "{v}");
    assert_eq!(v["page"]["name"], "SDK Page");
    assert!(v["page"]["access_token"].as_str().unwrap().starts_with("EAA"));
    assert_eq!(v["debug"]["type"], "PAGE");
    assert_eq!(v["debug"]["app_id"], json!(w.app));
    assert_eq!(v["debug"]["profile_id"], json!(w.page));
    assert_eq!(v["debug"]["is_valid"], true);
    assert_eq!(v["debug"]["expires_at"], 0);
    assert_eq!(v["exchange"]["token_type"], "bearer");
    assert_eq!(v["exchange"]["expires_in"], 5_184_000);
    assert_eq!(v["exchange"]["has_token"], true);
}

#[tokio::test]
async fn node_business_sdk_page_token_debug_and_code_exchange() {
    let s = TestServer::start().await;
    let w = world(&s).await;
    let v = run_json(Path::new("node"), &[Path::new("node_business.js")], &js_dir(), &env(&s, &w)).await;
    check_common(&v, &w);
    assert_eq!(v["reuse"]["status"], 400, "{v}");
    assert!(v["reuse"]["message"].as_str().unwrap().contains("This authorization code has been used."), "{v}");
}

#[tokio::test]
async fn facebook_sdk_page_token_debug_code_exchange_and_extend() {
    let s = TestServer::start().await;
    let w = world(&s).await;
    let script = workspace_root().join("tests/sdk/python_facebook_sdk.py");
    let v = run_json(&python(), &[&script], &workspace_root(), &env(&s, &w)).await;
    check_common(&v, &w);
    assert_eq!(v["extended_expires_in"], 5_184_000);
    assert_eq!(v["reuse"]["code"], 100);
    assert_eq!(v["reuse"]["message"], "This authorization code has been used.");
}

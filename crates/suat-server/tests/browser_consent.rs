//! The OAuth consent page as a person meets it: headless Debian Chromium (installed by `.ci/run`, driven by
//! playwright-core) opens the dialog, sees the app and its permissions, signs in, clicks Allow, and the code it is
//! redirected with is exchanged for a user token. Cancel sends `error=access_denied`.

mod common;
use common::*;
use std::path::Path;

struct World {
    app: String,
    secret: String,
    person: String,
    redirect: String,
}

async fn world(s: &TestServer) -> World {
    let b = s.admin("POST", "/businesses", json!({"name": "B"})).await["id"].as_str().unwrap().to_owned();
    // The redirect target is this same server: the browser lands on it (a Graph 2500 page), and we read its URL.
    let redirect = format!("{}/callback", s.url);
    let app = s
        .admin("POST", "/apps", json!({"name": "Browser App", "owner_business": b, "redirect_uris": [redirect]}))
        .await;
    let person = s.admin("POST", "/users", json!({"name": "Pat", "password": "correct horse"})).await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    World {
        app: app["id"].as_str().unwrap().to_owned(),
        secret: app["secret"].as_str().unwrap().to_owned(),
        person,
        redirect,
    }
}

async fn drive(s: &TestServer, w: &World, action: &str, screenshot: Option<&Path>) -> Value {
    drive_unticking(s, w, action, screenshot, "").await
}

/// Drives the dialog, unticking the comma-separated permissions of `untick` before Allow or Cancel.
async fn drive_unticking(s: &TestServer, w: &World, action: &str, screenshot: Option<&Path>, untick: &str) -> Value {
    let dir = js_dir();
    let dialog = format!(
        "{}/v25.0/dialog/oauth?client_id={}&redirect_uri={}&scope=email,public_profile&state=st-42",
        s.url,
        w.app,
        url::form_urlencoded::byte_serialize(w.redirect.as_bytes()).collect::<String>()
    );
    let shot = screenshot.map(|p| p.display().to_string()).unwrap_or_default();
    run_json(
        Path::new("node"),
        &[Path::new("consent.js")],
        &dir,
        &[
            ("DIALOG_URL", &dialog),
            ("REDIRECT_PREFIX", &w.redirect),
            ("USER_ID", &w.person),
            ("PASSWORD", "correct horse"),
            ("ACTION", action),
            ("SCREENSHOT", &shot),
            ("UNTICK", untick),
        ],
    )
    .await
}

#[tokio::test]
async fn chromium_signs_in_allows_and_the_code_is_exchanged() {
    let s = TestServer::start().await;
    let w = world(&s).await;
    let shot = std::env::temp_dir().join("suat-consent.png");
    let out = drive(&s, &w, "allow", Some(&shot)).await;
    assert_eq!(out["appName"], "Browser App wants to access your account");
    assert_eq!(out["permissions"], json!(["email", "public_profile"]));
    assert!(std::fs::metadata(&shot).map(|m| m.len() > 1000).unwrap_or(false), "screenshot taken");
    let landed = url::Url::parse(out["url"].as_str().unwrap()).unwrap();
    let q: std::collections::HashMap<_, _> = landed.query_pairs().into_owned().collect();
    assert_eq!(q["state"], "st-42");
    let code = &q["code"];
    let t = get(
        &s,
        "/v25.0/oauth/access_token",
        &[("client_id", &w.app), ("client_secret", &w.secret), ("redirect_uri", &w.redirect), ("code", code)],
    )
    .await;
    let token = t.ok()["access_token"].as_str().unwrap().to_owned();
    assert_eq!(t.body["expires_in"], 5_184_000);
    assert_eq!(get(&s, "/me", &[("access_token", &token)]).await.ok(), &json!({"id": w.person, "name": "Pat"}));
}

#[tokio::test]
async fn chromium_cancel_redirects_with_access_denied() {
    let s = TestServer::start().await;
    let w = world(&s).await;
    let out = drive(&s, &w, "cancel", None).await;
    let landed = url::Url::parse(out["url"].as_str().unwrap()).unwrap();
    let q: std::collections::HashMap<_, _> = landed.query_pairs().into_owned().collect();
    assert_eq!(q["error"], "access_denied");
    assert_eq!(q["state"], "st-42");
    assert!(!q.contains_key("code"));
}

#[tokio::test]
async fn chromium_unticked_permission_is_declined() {
    let s = TestServer::start().await;
    let w = world(&s).await;
    let out = drive_unticking(&s, &w, "allow", None, "email").await;
    let landed = url::Url::parse(out["url"].as_str().unwrap()).unwrap();
    let code = landed.query_pairs().find(|(k, _)| k == "code").unwrap().1.into_owned();
    let t = get(
        &s,
        "/v25.0/oauth/access_token",
        &[("client_id", &w.app), ("client_secret", &w.secret), ("redirect_uri", &w.redirect), ("code", &code)],
    )
    .await;
    let token = t.ok()["access_token"].as_str().unwrap().to_owned();
    assert_eq!(
        get(&s, "/me/permissions", &[("access_token", &token)]).await.ok(),
        &json!({"data": [
            {"permission": "email", "status": "declined"},
            {"permission": "public_profile", "status": "granted"},
        ]})
    );
}

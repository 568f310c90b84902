//! The general-purpose OAuth2 clients and fbgraph, unmodified and pointed at suat only through their documented
//! settings (GRAPH-WIRE 10), each through the calls its users make: passport-facebook (a full login in Chromium),
//! simple-oauth2, requests-oauthlib with `facebook_compliance_fix`, Authlib, and fbgraph. Pinned versions are in
//! `tests/js/package-lock.json` and `.ci/run`'s pip line; the scripts are in `tests/js` and `tests/sdk`.

mod common;
use common::*;
use std::path::Path;

const PASSWORD: &str = "correct horse";
const REDIRECT: &str = "https://app.example/callback";

/// A business, an app registered for [`REDIRECT`], and a person "Pat" who can sign in.
struct World {
    business: String,
    app: String,
    secret: String,
    person: String,
}

async fn world(s: &TestServer) -> World {
    let business = s.admin("POST", "/businesses", json!({"name": "B"})).await["id"].as_str().unwrap().to_owned();
    let app = s
        .admin("POST", "/apps", json!({"name": "Client App", "owner_business": business, "redirect_uris": [REDIRECT]}))
        .await;
    let person = s.admin("POST", "/users", json!({"name": "Pat", "password": PASSWORD})).await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    World {
        business,
        app: app["id"].as_str().unwrap().to_owned(),
        secret: app["secret"].as_str().unwrap().to_owned(),
        person,
    }
}

fn login_env<'a>(s: &'a TestServer, w: &'a World) -> Vec<(&'a str, &'a str)> {
    vec![
        ("SUAT_URL", s.url.as_str()),
        ("APP_ID", w.app.as_str()),
        ("APP_SECRET", w.secret.as_str()),
        ("REDIRECT_URI", REDIRECT),
        ("USER_ID", w.person.as_str()),
        ("PASSWORD", PASSWORD),
    ]
}

/// The scopes of every person's token in the store, oldest first: what the consent granted.
async fn user_token_scopes(s: &TestServer) -> Vec<Value> {
    let d = dump(s).await;
    d["tokens"].as_array().unwrap().iter().filter(|t| t["kind"] == "USER").map(|t| t["scopes"].clone()).collect()
}

/// The audit log's actions, oldest first.
async fn audit_actions(s: &TestServer) -> Vec<String> {
    let tail = s.admin("GET", "/audit?limit=1000", Value::Null).await;
    tail["data"].as_array().unwrap().iter().map(|e| e["action"].as_str().unwrap().to_owned()).collect()
}

#[tokio::test]
async fn passport_facebook_full_login_in_chromium() {
    let s = TestServer::start().await;
    let w = world(&s).await;
    let out = run_json(
        Path::new("node"),
        &[Path::new("passport_login.js")],
        &js_dir(),
        &[
            ("SUAT_URL", &s.url),
            ("ADMIN_KEY", &s.admin_key),
            ("BUSINESS_ID", &w.business),
            ("USER_ID", &w.person),
            ("PASSWORD", PASSWORD),
        ],
    )
    .await;
    assert!(out["consentUrl"].as_str().unwrap().starts_with(&format!("{}/v25.0/dialog/oauth?", s.url)), "{out}");
    assert_eq!(out["permissions"], json!(["email"]), "{out}");
    assert_eq!(out["user"], json!({"id": w.person, "displayName": "Pat", "provider": "facebook", "hasToken": true}));
    let actions = audit_actions(&s).await;
    assert!(actions.ends_with(&["authorize".into(), "issue".into()]), "{actions:?}");
    assert_eq!(user_token_scopes(&s).await, [json!(["email"])]);
}

#[tokio::test]
async fn simple_oauth2_authorization_code_with_basic_auth() {
    let s = TestServer::start().await;
    let w = world(&s).await;
    let out = run_json(Path::new("node"), &[Path::new("simple_oauth2.js")], &js_dir(), &login_env(&s, &w)).await;
    let url = url::Url::parse(out["authorizationUrl"].as_str().unwrap()).unwrap();
    let scope = url.query_pairs().find(|(k, _)| k == "scope").unwrap().1.into_owned();
    assert_eq!(scope, "email public_profile", "simple-oauth2 joins scopes with spaces");
    assert_eq!(out["state"], "s-1");
    assert_eq!(out["token"], json!({"token_type": "bearer", "expires_in": 5_184_000, "has_token": true}));
    assert_eq!(out["expired"], false);
    assert_eq!(out["me"], json!({"name": "Pat", "id": w.person}));
    assert_eq!(user_token_scopes(&s).await, [json!(["email", "public_profile"])]);
}

#[tokio::test]
async fn requests_oauthlib_with_facebook_compliance_fix() {
    let s = TestServer::start().await;
    let w = world(&s).await;
    let mut env = login_env(&s, &w);
    env.push(("OAUTHLIB_INSECURE_TRANSPORT", "1"));
    let out =
        run_json(&python(), &[Path::new("requests_oauthlib_login.py")], &workspace_root().join("tests/sdk"), &env)
            .await;
    let url = url::Url::parse(out["authorization_url"].as_str().unwrap()).unwrap();
    assert_eq!(url.query_pairs().find(|(k, _)| k == "scope").unwrap().1, "email public_profile");
    assert_eq!(out["token"], json!({"token_type": "bearer", "expires_in": 5_184_000, "has_token": true}));
    assert_eq!(out["me"], json!({"name": "Pat", "id": w.person}));
    assert_eq!(out["refresh"], json!({"expires_in": 5_184_000, "new": true}));
    assert_eq!(out["revoke"], json!({"success": true}));
    assert_eq!(out["after_revoke"], json!({"status": 400, "error": 466}));
    assert_eq!(out["new_token_me"], json!({"name": "Pat", "id": w.person}));
    assert_eq!(user_token_scopes(&s).await, [json!(["email", "public_profile"]), json!(["email", "public_profile"])]);
}

#[tokio::test]
async fn authlib_oauth2_session() {
    let s = TestServer::start().await;
    let w = world(&s).await;
    let mut env = login_env(&s, &w);
    env.push(("AUTHLIB_INSECURE_TRANSPORT", "1"));
    let out = run_json(&python(), &[Path::new("authlib_login.py")], &workspace_root().join("tests/sdk"), &env).await;
    let url = url::Url::parse(out["authorization_url"].as_str().unwrap()).unwrap();
    assert_eq!(url.query_pairs().find(|(k, _)| k == "scope").unwrap().1, "email public_profile");
    assert_eq!(out["token"], json!({"token_type": "bearer", "expires_in": 5_184_000, "has_token": true}));
    assert_eq!(out["me"], json!({"name": "Pat", "id": w.person}));
    assert_eq!(out["refresh"], json!({"expires_in": 5_184_000, "new": true}));
    assert_eq!(out["revoke"], json!({"status": 200, "body": {"success": true}}));
    assert_eq!(out["after_revoke"], json!({"status": 400, "error": 466}));
    assert_eq!(user_token_scopes(&s).await, [json!(["email", "public_profile"]), json!(["email", "public_profile"])]);
}

#[tokio::test]
async fn fbgraph_accounts_paging_page_token_debug_extend_and_delete() {
    let (s, f) = setup().await;
    install(&s, &f).await;
    let mut pages = Vec::new();
    for name in ["Page One", "Page Two"] {
        let page = s.admin("POST", "/pages", json!({"name": name, "business_id": f.business_id})).await["id"]
            .as_str()
            .unwrap()
            .to_owned();
        post(
            &s,
            &format!("/{page}/assigned_users"),
            &[("user", &f.system_user_id), ("tasks", "MANAGE"), ("access_token", &f.admin_token)],
        )
        .await
        .ok();
        pages.push(page);
    }
    let su_token = generate(&s, &f, "pages_show_list,pages_read_engagement", true).await;
    let out = run_json(
        Path::new("node"),
        &[Path::new("fbgraph.js")],
        &js_dir(),
        &[
            ("SUAT_URL", &s.url),
            ("APP_ID", &f.app_id),
            ("APP_SECRET", &f.app_secret),
            ("SU_ID", &f.system_user_id),
            ("SU_TOKEN", &su_token),
            ("ADMIN_TOKEN", &f.admin_token),
        ],
    )
    .await;
    assert_eq!(out["me"]["id"], json!(f.system_user_id), "{out}");
    assert_eq!(out["first_page_had_next"], true, "{out}");
    assert!(out.get("paging_error").is_none(), "{out}");
    assert_eq!(
        out["accounts"],
        json!([
            {"id": pages[0], "name": "Page One", "has_token": true},
            {"id": pages[1], "name": "Page Two", "has_token": true},
        ])
    );
    assert_eq!(out["page_token"], json!({"id": pages[0], "has_token": true}));
    assert_eq!(out["debug"]["type"], "PAGE");
    assert_eq!(out["debug"]["profile_id"], json!(pages[0]));
    assert_eq!(out["debug"]["is_valid"], true);
    assert_eq!(out["extended"], json!({"token_type": "bearer", "expires_in": 5_184_000, "new": true}));
    // `del` is a POST with method=delete: every token of the system user revoked, nothing minted.
    assert_eq!(out["del"], json!({"success": true}));
    assert_eq!(out["after_delete"], json!({"code": 190, "subcode": 466}));
    assert_eq!(get(&s, "/me", &[("access_token", &su_token)]).await.err(), (190, Some(466)));
    let actions = audit_actions(&s).await;
    assert_eq!(actions.last().map(String::as_str), Some("revoke_all"), "{actions:?}");
    // The test's token and its refresh, both revoked: the POST with method=delete minted nothing.
    let d = dump(&s).await;
    let su_tokens: Vec<&Value> =
        d["tokens"].as_array().unwrap().iter().filter(|t| t["kind"] == "SYSTEM_USER").collect();
    assert_eq!(su_tokens.len(), 2, "{su_tokens:?}");
    assert!(su_tokens.iter().all(|t| t["revoked_at"].is_i64()), "{su_tokens:?}");
}

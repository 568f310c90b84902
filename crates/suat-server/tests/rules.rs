//! Every rule of the seed pages, each violated once over HTTP, with the Graph error it gets. Each failing call must
//! also leave the store exactly as it was.

mod common;
use common::*;

/// Asserts the call fails with `code` (and `subcode`) and changes nothing in the store.
async fn refused(
    s: &TestServer,
    a: impl std::future::Future<Output = Answer>,
    code: i64,
    sub: Option<i64>,
    needle: &str,
) -> Answer {
    let before = dump(s).await;
    let a = a.await;
    let status = match code {
        2 => 500,
        4 => 403,
        _ => 400,
    };
    assert_eq!(a.status, status, "{}", a.body);
    assert_eq!(a.err(), (code, sub), "{}", a.body);
    assert!(a.msg().contains(needle), "message {:?} lacks {needle:?}", a.msg());
    assert!(a.body["error"]["fbtrace_id"].as_str().is_some_and(|t| !t.is_empty()));
    assert_eq!(dump(s).await, before, "a refused call changed the store");
    a
}

fn gen_params<'a>(f: &'a Fixture, token: &'a str, proof: &'a str, scope: &'a str) -> Vec<(&'a str, &'a str)> {
    vec![("business_app", &f.app_id), ("scope", scope), ("appsecret_proof", proof), ("access_token", token)]
}

#[tokio::test]
async fn install_requires_same_business_caller() {
    let (s, f) = setup().await;
    let other_b = s.admin("POST", "/businesses", json!({"name": "Other"})).await["id"].as_str().unwrap().to_owned();
    let outsider = s.admin("POST", "/users", json!({"name": "Eve", "business_id": other_b, "admin": true})).await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let eve = s.admin("POST", &format!("/users/{outsider}/tokens"), json!({"app_id": f.app_id})).await["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let path = format!("/{}/applications", f.system_user_id);
    refused(
        &s,
        post(&s, &path, &[("business_app", &f.app_id), ("access_token", &eve)]),
        200,
        None,
        "same Business Manager",
    )
    .await;
    // An employee (non-admin person) of the same business cannot either.
    let emp = s.admin("POST", "/users", json!({"name": "Emp", "business_id": f.business_id})).await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let emp_t = s.admin("POST", &format!("/users/{emp}/tokens"), json!({"app_id": f.app_id})).await["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    refused(&s, post(&s, &path, &[("business_app", &f.app_id), ("access_token", &emp_t)]), 200, None, "admin user")
        .await;
    // A regular system user of the same business can (seed: "or another system user").
    let su2 = s.admin("POST", "/system_users", json!({"business_id": f.business_id, "name": "other-bot"})).await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    post(&s, &format!("/{su2}/applications"), &[("business_app", &f.app_id), ("access_token", &f.admin_token)])
        .await
        .ok();
    let p = proof(&f.app_secret, &f.admin_token);
    let su2_tok = post(&s, &format!("/{su2}/access_tokens"), &gen_params(&f, &f.admin_token, &p, "ads_read"))
        .await
        .ok()["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    post(&s, &path, &[("business_app", &f.app_id), ("access_token", &su2_tok)]).await.ok();
}

#[tokio::test]
async fn install_requires_standard_access_owned_app_and_no_test_apps() {
    let (s, f) = setup().await;
    let path = format!("/{}/applications", f.system_user_id);
    let dev = s
        .admin("POST", "/apps", json!({"name": "Dev", "owner_business": f.business_id, "access_level": "development"}))
        .await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    refused(
        &s,
        post(&s, &path, &[("business_app", &dev), ("access_token", &f.admin_token)]),
        200,
        None,
        "standard access",
    )
    .await;
    let foreign_b = s.admin("POST", "/businesses", json!({"name": "Foreign"})).await["id"].as_str().unwrap().to_owned();
    let foreign = s.admin("POST", "/apps", json!({"name": "F", "owner_business": foreign_b})).await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    refused(
        &s,
        post(&s, &path, &[("business_app", &foreign), ("access_token", &f.admin_token)]),
        200,
        None,
        "not owned by or shared",
    )
    .await;
    let test = s.admin("POST", "/apps", json!({"name": "T", "owner_business": f.business_id, "test_app": true})).await
        ["id"]
        .as_str()
        .unwrap()
        .to_owned();
    refused(
        &s,
        post(&s, &path, &[("business_app", &test), ("access_token", &f.admin_token)]),
        100,
        None,
        "Test apps cannot be added",
    )
    .await;
    // Target must be a system user.
    refused(
        &s,
        post(
            &s,
            &format!("/{}/applications", f.admin_user_id),
            &[("business_app", &f.app_id), ("access_token", &f.admin_token)],
        ),
        100,
        Some(33),
        "Unsupported post request",
    )
    .await;
    // Unknown system user / unknown app.
    refused(
        &s,
        post(&s, "/999999/applications", &[("business_app", &f.app_id), ("access_token", &f.admin_token)]),
        100,
        Some(33),
        "'999999'",
    )
    .await;
    refused(
        &s,
        post(&s, &path, &[("business_app", "424242"), ("access_token", &f.admin_token)]),
        100,
        None,
        "business_app",
    )
    .await;
    refused(&s, post(&s, &path, &[("access_token", &f.admin_token)]), 100, None, "business_app is required").await;
    refused(&s, post(&s, &path, &[("business_app", &f.app_id)]), 104, None, "access token is required").await;
}

#[tokio::test]
async fn generate_requires_install_and_a_correct_proof() {
    let (s, f) = setup().await;
    let path = format!("/v25.0/{}/access_tokens", f.system_user_id);
    let good = proof(&f.app_secret, &f.admin_token);
    refused(&s, post(&s, &path, &gen_params(&f, &f.admin_token, &good, "ads_read")), 100, None, "has not installed")
        .await;
    install(&s, &f).await;
    // Missing proof.
    refused(
        &s,
        post(&s, &path, &[("business_app", &f.app_id), ("scope", "ads_read"), ("access_token", &f.admin_token)]),
        100,
        None,
        "API calls from the server require an appsecret_proof argument",
    )
    .await;
    // Wrong proof, and one made with another app's secret.
    let a = refused(
        &s,
        post(&s, &path, &gen_params(&f, &f.admin_token, "00ff", "ads_read")),
        100,
        None,
        "Invalid appsecret_proof provided in the API argument",
    )
    .await;
    assert_eq!(a.body["error"]["type"], "GraphMethodException");
    let other = proof("some-other-secret", &f.admin_token);
    refused(
        &s,
        post(&s, &path, &gen_params(&f, &f.admin_token, &other, "ads_read")),
        100,
        None,
        "Invalid appsecret_proof",
    )
    .await;
    // Timed proof: fresh works, 6 minutes old fails.
    let now = s.now().await;
    let secret = suat_core::AppSecret::new(f.app_secret.clone());
    let timed = suat_core::AppSecretProof::compute_timed(&secret, &f.admin_token, now).as_str().to_owned();
    let ts = now.to_string();
    let mut p = gen_params(&f, &f.admin_token, &timed, "ads_read");
    p.push(("appsecret_time", &ts));
    post(&s, &path, &p).await.ok();
    let old_t = (now - 360).to_string();
    let old = suat_core::AppSecretProof::compute_timed(&secret, &f.admin_token, now - 360).as_str().to_owned();
    let mut p = gen_params(&f, &f.admin_token, &old, "ads_read");
    p.push(("appsecret_time", &old_t));
    refused(&s, post(&s, &path, &p), 100, None, "Invalid appsecret_proof").await;
}

#[tokio::test]
async fn generate_scope_rules() {
    let (s, f) = setup().await;
    install(&s, &f).await;
    let path = format!("/{}/access_tokens", f.system_user_id);
    let good = proof(&f.app_secret, &f.admin_token);
    refused(
        &s,
        post(&s, &path, &gen_params(&f, &f.admin_token, &good, "ads_read,not_a_permission")),
        3962,
        None,
        "not_a_permission",
    )
    .await;
    refused(
        &s,
        post(&s, &path, &gen_params(&f, &f.admin_token, &good, "manage_pages")),
        200,
        None,
        "not supported for system users",
    )
    .await;
    refused(
        &s,
        post(&s, &path, &gen_params(&f, &f.admin_token, &good, "publish_actions")),
        200,
        None,
        "April 24, 2018",
    )
    .await;
    refused(
        &s,
        post(&s, &path, &gen_params(&f, &f.admin_token, &good, "business_creative_asset_management")),
        200,
        None,
        "capability",
    )
    .await;
    // An app created before the cutoff, with the permission, may grant publish_actions.
    let old = s.admin("POST", "/apps", json!({"name": "Old", "owner_business": f.business_id, "created_at": 1_500_000_000, "permissions": ["publish_actions", "ads_read"]})).await;
    let old_id = old["id"].as_str().unwrap().to_owned();
    let old_secret = old["secret"].as_str().unwrap().to_owned();
    post(
        &s,
        &path.replace("access_tokens", "applications"),
        &[("business_app", &old_id), ("access_token", &f.admin_token)],
    )
    .await
    .ok();
    let p = proof(&old_secret, &f.admin_token);
    post(
        &s,
        &path,
        &[
            ("business_app", &old_id),
            ("scope", "publish_actions"),
            ("appsecret_proof", &p),
            ("access_token", &f.admin_token),
        ],
    )
    .await
    .ok();
    // Not in the app's approved permissions.
    refused(
        &s,
        post(
            &s,
            &path,
            &[
                ("business_app", &old_id),
                ("scope", "read_insights"),
                ("appsecret_proof", &p),
                ("access_token", &f.admin_token),
            ],
        ),
        200,
        None,
        "Requires extended permission: read_insights",
    )
    .await;
    // Capability-gated with the capability.
    let gated = s.admin("POST", "/apps", json!({"name": "G", "owner_business": f.business_id, "permissions": ["business_creative_asset_management"], "capabilities": ["business_creative_asset_management"]})).await;
    let gid = gated["id"].as_str().unwrap().to_owned();
    post(
        &s,
        &path.replace("access_tokens", "applications"),
        &[("business_app", &gid), ("access_token", &f.admin_token)],
    )
    .await
    .ok();
    let gp = proof(gated["secret"].as_str().unwrap(), &f.admin_token);
    post(
        &s,
        &path,
        &[
            ("business_app", &gid),
            ("scope", "['business_creative_asset_management']"),
            ("appsecret_proof", &gp),
            ("access_token", &f.admin_token),
        ],
    )
    .await
    .ok();
}

#[tokio::test]
async fn generate_caller_must_share_the_business() {
    let (s, f) = setup().await;
    install(&s, &f).await;
    let other_b = s.admin("POST", "/businesses", json!({"name": "Other"})).await["id"].as_str().unwrap().to_owned();
    let eve = s.admin("POST", "/users", json!({"name": "Eve", "business_id": other_b, "admin": true})).await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let eve_t = s.admin("POST", &format!("/users/{eve}/tokens"), json!({"app_id": f.app_id})).await["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let p = proof(&f.app_secret, &eve_t);
    refused(
        &s,
        post(&s, &format!("/{}/access_tokens", f.system_user_id), &gen_params(&f, &eve_t, &p, "ads_read")),
        200,
        None,
        "same Business Manager",
    )
    .await;
}

#[tokio::test]
async fn must_use_expiring_tokens_business() {
    let s = TestServer::start().await;
    let b = s.admin("POST", "/businesses", json!({"name": "Strict", "must_use_expiring_tokens": true})).await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let app = s.admin("POST", "/apps", json!({"name": "A", "owner_business": b})).await;
    let (app_id, secret) = (app["id"].as_str().unwrap().to_owned(), app["secret"].as_str().unwrap().to_owned());
    let admin = s.admin("POST", "/users", json!({"name": "Ad", "business_id": b, "admin": true})).await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let tok = s.admin("POST", &format!("/users/{admin}/tokens"), json!({"app_id": app_id})).await["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let su = s.admin("POST", "/system_users", json!({"business_id": b, "name": "bot"})).await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    post(&s, &format!("/{su}/applications"), &[("business_app", &app_id), ("access_token", &tok)]).await.ok();
    let p = proof(&secret, &tok);
    let path = format!("/{su}/access_tokens");
    let base = [
        ("business_app", app_id.as_str()),
        ("scope", "ads_read"),
        ("appsecret_proof", p.as_str()),
        ("access_token", tok.as_str()),
    ];
    refused(&s, post(&s, &path, &base), 100, None, "requires expiring").await;
    let mut with = base.to_vec();
    with.push(("set_token_expires_in_60_days", "1"));
    post(&s, &path, &with).await.ok();
}

#[tokio::test]
async fn require_app_secret_apps_reject_calls_without_proof() {
    let (s, f) = setup().await;
    let strict = s
        .admin("POST", "/apps", json!({"name": "S", "owner_business": f.business_id, "require_app_secret": true}))
        .await;
    let (sid, ssec) = (strict["id"].as_str().unwrap().to_owned(), strict["secret"].as_str().unwrap().to_owned());
    let tok = s.admin("POST", &format!("/users/{}/tokens", f.admin_user_id), json!({"app_id": sid})).await
        ["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    refused(&s, get(&s, "/me", &[("access_token", &tok)]), 100, None, "require an appsecret_proof").await;
    refused(
        &s,
        get(&s, "/me", &[("access_token", &tok), ("appsecret_proof", &proof("wrong", &tok))]),
        100,
        None,
        "Invalid appsecret_proof",
    )
    .await;
    get(&s, "/me", &[("access_token", &tok), ("appsecret_proof", &proof(&ssec, &tok))]).await.ok();
    // A token inspecting itself is a call like any other: no proof, no answer.
    let inspect_self = |extra: Option<String>| {
        let mut q = vec![("input_token", tok.clone()), ("access_token", tok.clone())];
        q.extend(extra.map(|p| ("appsecret_proof", p)));
        q
    };
    let q = inspect_self(None);
    let q: Vec<(&str, &str)> = q.iter().map(|(k, v)| (*k, v.as_str())).collect();
    refused(&s, get(&s, "/debug_token", &q), 100, None, "require an appsecret_proof").await;
    let q = inspect_self(Some(proof(&ssec, &tok)));
    let q: Vec<(&str, &str)> = q.iter().map(|(k, v)| (*k, v.as_str())).collect();
    assert_eq!(get(&s, "/debug_token", &q).await.ok()["data"]["is_valid"], true);
    // Apps without the flag accept calls without a proof, but still check one that is sent.
    get(&s, "/me", &[("access_token", &f.admin_token)]).await.ok();
    refused(
        &s,
        get(&s, "/me", &[("access_token", &f.admin_token), ("appsecret_proof", "abc")]),
        100,
        None,
        "Invalid appsecret_proof",
    )
    .await;
}

#[tokio::test]
async fn refresh_errors() {
    let (s, f) = setup().await;
    install(&s, &f).await;
    let t = generate(&s, &f, "ads_read", true).await;
    let ex = |id: &str, secret: &str, tok: &str| {
        vec![
            ("grant_type", "fb_exchange_token".to_owned()),
            ("client_id", id.to_owned()),
            ("client_secret", secret.to_owned()),
            ("fb_exchange_token", tok.to_owned()),
        ]
    };
    async fn go(s: &TestServer, p: Vec<(&str, String)>) -> Answer {
        let v: Vec<(&str, &str)> = p.iter().map(|(k, v)| (*k, v.as_str())).collect();
        get(s, "/oauth/access_token", &v).await
    }
    refused(&s, go(&s, ex(&f.app_id, "wrong", &t)), 1, None, "Error validating client secret.").await;
    refused(
        &s,
        go(&s, ex("123", &f.app_secret, &t)),
        101,
        None,
        "Error validating application. Invalid application ID.",
    )
    .await;
    refused(&s, go(&s, ex(&f.app_id, &f.app_secret, "EAAnotatoken")), 190, None, "Cannot parse access token").await;
    // A token of another app cannot be exchanged with this app's credentials.
    let other = s.admin("POST", "/apps", json!({"name": "O", "owner_business": f.business_id})).await;
    refused(
        &s,
        go(&s, ex(other["id"].as_str().unwrap(), other["secret"].as_str().unwrap(), &t)),
        100,
        None,
        "not issued for app",
    )
    .await;
    // Revoked: 466.
    get(
        &s,
        "/oauth/revoke",
        &[
            ("client_id", &f.app_id),
            ("client_secret", &f.app_secret),
            ("revoke_token", &t),
            ("access_token", &app_token(&f)),
        ],
    )
    .await
    .ok();
    refused(&s, go(&s, ex(&f.app_id, &f.app_secret, &t)), 190, Some(466), "invalidated explicitly").await;
    // Expired: 463.
    let t2 = generate(&s, &f, "ads_read", true).await;
    s.advance_clock(61 * 86_400).await;
    refused(&s, go(&s, ex(&f.app_id, &f.app_secret, &t2)), 190, Some(463), "Session has expired").await;
}

#[tokio::test]
async fn revoke_requires_four_way_match() {
    let (s, f) = setup().await;
    install(&s, &f).await;
    let t = generate(&s, &f, "ads_read", false).await;
    let other = s.admin("POST", "/apps", json!({"name": "O", "owner_business": f.business_id})).await;
    let (oid, osec) = (other["id"].as_str().unwrap().to_owned(), other["secret"].as_str().unwrap().to_owned());
    let other_tok = s.admin("POST", &format!("/users/{}/tokens", f.admin_user_id), json!({"app_id": oid})).await
        ["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    // client_secret wrong.
    refused(
        &s,
        get(
            &s,
            "/oauth/revoke",
            &[("client_id", &f.app_id), ("client_secret", &osec), ("revoke_token", &t), ("access_token", &t)],
        ),
        1,
        None,
        "client secret",
    )
    .await;
    // client_id is another app (its own secret): revoke_token's app differs.
    refused(
        &s,
        get(
            &s,
            "/oauth/revoke",
            &[("client_id", &oid), ("client_secret", &osec), ("revoke_token", &t), ("access_token", &other_tok)],
        ),
        100,
        None,
        "must all be the same",
    )
    .await;
    // access_token belongs to another app.
    refused(
        &s,
        get(
            &s,
            "/oauth/revoke",
            &[
                ("client_id", &f.app_id),
                ("client_secret", &f.app_secret),
                ("revoke_token", &t),
                ("access_token", &other_tok),
            ],
        ),
        100,
        None,
        "must all be the same",
    )
    .await;
    // Missing pieces.
    refused(
        &s,
        get(&s, "/oauth/revoke", &[("client_id", &f.app_id), ("client_secret", &f.app_secret), ("access_token", &t)]),
        100,
        None,
        "revoke_token is required",
    )
    .await;
    refused(
        &s,
        get(&s, "/oauth/revoke", &[("client_id", &f.app_id), ("client_secret", &f.app_secret), ("revoke_token", &t)]),
        104,
        None,
        "access token is required",
    )
    .await;
    // All four agree: works, via POST too.
    post(
        &s,
        "/oauth/revoke",
        &[
            ("client_id", &f.app_id),
            ("client_secret", &f.app_secret),
            ("revoke_token", &t),
            ("access_token", &f.admin_token),
        ],
    )
    .await
    .ok();
    assert_eq!(get(&s, "/me", &[("access_token", &t)]).await.err(), (190, Some(466)));
}

#[tokio::test]
async fn debug_token_caller_rules() {
    let (s, f) = setup().await;
    install(&s, &f).await;
    let t = generate(&s, &f, "ads_read", false).await;
    let other = s.admin("POST", "/apps", json!({"name": "O", "owner_business": f.business_id})).await;
    let other_app_token = format!("{}|{}", other["id"].as_str().unwrap(), other["secret"].as_str().unwrap());
    let a = get(&s, "/debug_token", &[("input_token", &t), ("access_token", &other_app_token)]).await;
    assert_eq!(a.err(), (100, None));
    assert_eq!(
        a.msg(),
        "(#100) You must provide an app access token, or a user access token that is an owner or developer of the app"
    );
    // Garbage input: still 200, is_valid false, error 190.
    let g = get(&s, "/debug_token", &[("input_token", "garbage"), ("access_token", &app_token(&f))]).await;
    assert_eq!(g.status, 200);
    assert_eq!(g.body["data"]["is_valid"], false);
    assert_eq!(
        g.body["data"]["error"],
        json!({"code": 190, "message": "Invalid OAuth access token - Cannot parse access token"})
    );
    // A user token of the same app may inspect.
    get(&s, "/debug_token", &[("input_token", &t), ("access_token", &f.admin_token)]).await.ok();
}

#[tokio::test]
async fn legacy_ads_access_token_is_gone() {
    let (s, f) = setup().await;
    let a = post(
        &s,
        &format!("/v25.0/{}/ads_access_token", f.system_user_id),
        &[("business_app", &f.app_id), ("access_token", &f.admin_token)],
    )
    .await;
    assert_eq!(a.err(), (12, None));
    assert!(a.msg().contains("no longer exists"));
}

#[tokio::test]
async fn password_change_invalidates_user_tokens_with_460() {
    let (s, f) = setup().await;
    s.admin("POST", &format!("/users/{}/password_change", f.admin_user_id), Value::Null).await;
    let a = get(&s, "/me", &[("access_token", &f.admin_token)]).await;
    assert_eq!(a.err(), (190, Some(460)));
}

/// A control-plane call whose answer the test inspects (`s.admin` panics on errors).
async fn operator(s: &TestServer, method: &str, path: &str, body: Value) -> Answer {
    let m = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
    let req = s.http.request(m, format!("{}/_suat{path}", s.url)).bearer_auth(&s.admin_key).json(&body);
    answer(req.send().await.unwrap()).await
}

fn revoke_params<'a>(f: &'a Fixture, revoke: &'a str, caller: &'a str) -> [(&'a str, &'a str); 4] {
    [("client_id", &f.app_id), ("client_secret", &f.app_secret), ("revoke_token", revoke), ("access_token", caller)]
}

/// Seed 001: revoking needs an app that is "not throttled, disabled, or deleted", and every token of a disabled or
/// deleted app stops working (190), as does every call made by a throttled app (code 4, HTTP 403), until the operator
/// makes the app active again. Each refusal changes nothing.
#[tokio::test]
async fn throttled_disabled_and_deleted_apps() {
    let (s, f) = setup().await;
    install(&s, &f).await;
    let t = generate(&s, &f, "ads_read", true).await;
    let set = |status: &'static str| {
        let s = &s;
        let path = format!("/apps/{}", f.app_id);
        async move { s.admin("POST", &path, json!({ "status": status })).await }
    };
    let exchange = [
        ("grant_type", "fb_exchange_token"),
        ("client_id", f.app_id.as_str()),
        ("client_secret", f.app_secret.as_str()),
        ("fb_exchange_token", t.as_str()),
    ];
    let credentials =
        [("grant_type", "client_credentials"), ("client_id", &f.app_id), ("client_secret", &f.app_secret)];

    assert_eq!(set("throttled").await, json!({"success": true}));
    let audit = s.admin("GET", "/audit?limit=1", Value::Null).await;
    assert_eq!(audit["data"][0]["action"], "update_app");
    assert_eq!(audit["data"][0]["app_id"], json!(f.app_id));
    assert_eq!(audit["data"][0]["detail"], json!({"status": {"from": "active", "to": "throttled"}}));
    let limit = "(#4) Application request limit reached";
    let a = refused(&s, get(&s, "/oauth/revoke", &revoke_params(&f, &t, &t)), 4, None, limit).await;
    assert_eq!(a.body["error"]["is_transient"], true);
    refused(&s, get(&s, "/me", &[("access_token", &t)]), 4, None, limit).await;
    refused(&s, get(&s, "/oauth/access_token", &exchange), 4, None, limit).await;
    // Calls by the app itself (its app token) are refused too; its tokens stay valid, so they work again at once.
    let app_t = app_token(&f);
    refused(&s, get(&s, "/debug_token", &[("input_token", &t), ("access_token", &app_t)]), 4, None, limit).await;

    for (status, message) in [
        ("disabled", "Error validating application. Application has been disabled."),
        ("deleted", "Error validating application. Application has been deleted."),
    ] {
        set(status).await;
        let a = refused(&s, get(&s, "/oauth/revoke", &revoke_params(&f, &t, &t)), 101, None, message).await;
        assert_eq!(a.msg(), message);
        // Every token of the app, the system user's, the person's and the app's own, fails with 190.
        for token in [t.as_str(), f.admin_token.as_str(), &app_token(&f)] {
            let a = refused(&s, get(&s, "/me", &[("access_token", token)]), 190, None, message).await;
            assert_eq!(a.msg(), message);
        }
        refused(&s, get(&s, "/oauth/access_token", &exchange), 101, None, message).await;
        refused(&s, get(&s, "/oauth/access_token", &credentials), 101, None, message).await;
        // A token may still inspect itself: debug_token says why it is no longer valid.
        let d = get(&s, "/debug_token", &[("input_token", &t), ("access_token", &t)]).await;
        assert_eq!(d.ok()["data"]["is_valid"], false);
        assert_eq!(d.body["data"]["error"], json!({"code": 190, "message": message}));
        // The login dialog signs no one in to it either.
        let before = dump(&s).await;
        let page = s
            .http
            .get(format!("{}/v25.0/dialog/oauth", s.url))
            .query(&[("client_id", f.app_id.as_str()), ("redirect_uri", "https://x.example/cb"), ("scope", "email")])
            .send()
            .await
            .unwrap();
        assert_eq!(page.status(), 400);
        assert!(page.text().await.unwrap().contains(message));
        assert_eq!(dump(&s).await, before);
        let path = format!("/{}/access_tokens", f.system_user_id);
        let p = proof(&f.app_secret, &f.admin_token);
        refused(&s, post(&s, &path, &gen_params(&f, &f.admin_token, &p, "ads_read")), 190, None, message).await;
    }

    // Restored, the app's tokens work again (they were never revoked) and so does revoking.
    set("active").await;
    get(&s, "/me", &[("access_token", &t)]).await.ok();
    get(&s, "/oauth/revoke", &revoke_params(&f, &t, &f.admin_token)).await.ok();
    assert_eq!(get(&s, "/me", &[("access_token", &t)]).await.err(), (190, Some(466)));
}

/// The operator's app update refuses what it cannot apply, and changes nothing then.
#[tokio::test]
async fn app_update_refuses_bad_input() {
    let (s, f) = setup().await;
    let path = format!("/apps/{}", f.app_id);
    for (path, body, needle) in [
        (path.as_str(), json!({"status": "frozen"}), "Invalid JSON body"),
        (path.as_str(), json!({"status": "deleted", "owner": "me"}), "Invalid JSON body"),
        (path.as_str(), json!({}), "give at least one of status, app_scoped_last_query_at"),
        ("/apps/424242", json!({"status": "deleted"}), "app 424242 does not exist"),
        ("/apps/x", json!({"status": "deleted"}), "numeric Graph id"),
    ] {
        refused(&s, operator(&s, "POST", path, body), 100, None, needle).await;
    }
}

/// Seed 002: "apps can only target businesses (or child businesses of those businesses) that have claimed them". A
/// system user of a child business installs and generates with an app its parent owns, and sees through an app its
/// parent has shared the same requirement as for one shared with its own business; an app claimed by neither stays
/// refused with the same error as before.
#[tokio::test]
async fn child_businesses_reach_the_apps_their_parent_claimed() {
    let (s, f) = setup().await;
    let id = |v: Value| v["id"].as_str().unwrap().to_owned();
    let child = id(s.admin("POST", "/businesses", json!({"name": "Acme Kids", "parent_id": f.business_id})).await);
    let kid_admin = id(s.admin("POST", "/users", json!({"name": "Kim", "business_id": child, "admin": true})).await);
    let kim = s.admin("POST", &format!("/users/{kid_admin}/tokens"), json!({"app_id": f.app_id})).await["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let bot = id(s.admin("POST", "/system_users", json!({"business_id": child, "name": "kid-bot"})).await);
    // The parent lists its child; the child has none; outsiders see no such edge.
    let children = get(&s, &format!("/{}/owned_businesses", f.business_id), &[("access_token", &f.admin_token)]).await;
    assert_eq!(children.ok()["data"], json!([{"id": child, "name": "Acme Kids"}]));
    let none = get(&s, &format!("/v25.0/{child}/owned_businesses"), &[("access_token", &kim)]).await;
    assert_eq!(none.ok(), &json!({"data": []}));
    refused(&s, get(&s, &format!("/{}/owned_businesses", f.business_id), &[("access_token", &kim)]), 100, Some(33), "")
        .await;

    // The parent owns the app: the child's system user installs and generates with its own id.
    let install_path = format!("/{bot}/applications");
    post(&s, &install_path, &[("business_app", &f.app_id), ("access_token", &kim)]).await.ok();
    let p = proof(&f.app_secret, &kim);
    let t = post(&s, &format!("/{bot}/access_tokens"), &gen_params(&f, &kim, &p, "ads_read")).await;
    let t = t.ok()["access_token"].as_str().unwrap().to_owned();
    assert_eq!(get(&s, "/me", &[("access_token", &t)]).await.ok()["name"], "kid-bot");
    // The child's admin lists its system users with the parent's app: plain ids, as for an app the business owns.
    let listed = get(&s, &format!("/{child}/system_users"), &[("access_token", &kim)]).await;
    assert_eq!(listed.ok()["data"][0]["id"], json!(bot));

    // An app owned elsewhere and claimed by neither: the error of before.
    let other = id(s.admin("POST", "/businesses", json!({"name": "Other"})).await);
    let app = s.admin("POST", "/apps", json!({"name": "Elsewhere", "owner_business": other})).await;
    let elsewhere = id(app.clone());
    refused(
        &s,
        post(&s, &install_path, &[("business_app", &elsewhere), ("access_token", &kim)]),
        200,
        None,
        &format!("App {elsewhere} is not owned by or shared with Business Manager {child}"),
    )
    .await;
    // Shared with the parent: the child's system user is held to the shared-app rule (a developer role first).
    s.admin("POST", &format!("/apps/{elsewhere}/roles"), json!({"user_id": f.admin_user_id, "role": "developer"}))
        .await;
    let ada_elsewhere = s
        .admin("POST", &format!("/users/{}/tokens", f.admin_user_id), json!({"app_id": elsewhere}))
        .await["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    post(
        &s,
        &format!("/{}/client_apps", f.business_id),
        &[("app_id", elsewhere.as_str()), ("access_token", ada_elsewhere.as_str())],
    )
    .await
    .ok();
    refused(
        &s,
        post(&s, &install_path, &[("business_app", &elsewhere), ("access_token", &kim)]),
        200,
        None,
        &format!("add system user {bot} as a developer of the app first"),
    )
    .await;
}

/// Child businesses are created by the operator with a parent that exists and is not itself a child.
#[tokio::test]
async fn child_business_creation_refuses_bad_parents() {
    let (s, f) = setup().await;
    let child = s.admin("POST", "/businesses", json!({"name": "Kid", "parent_id": f.business_id})).await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    for (parent, needle) in [
        (json!("424242"), "parent_id 424242 does not exist"),
        (json!(child), "is itself a child business"),
        (json!("x1"), "parent_id must be a numeric Graph id"),
    ] {
        let body = json!({"name": "Grandkid", "parent_id": parent});
        refused(&s, operator(&s, "POST", "/businesses", body), 100, None, needle).await;
    }
}

/// The cross-business world of seed 000 (business A owns the app, business B's `bot` reaches it through its
/// app-scoped id), with the app created at `created_at`. Returns (app id, secret, Carol's token, the app-scoped id).
async fn app_scoped_world(s: &TestServer, created_at: i64) -> (String, String, String, String) {
    let id = |v: Value| v["id"].as_str().unwrap().to_owned();
    let a = id(s.admin("POST", "/businesses", json!({"name": "Owner A"})).await);
    let app = s.admin("POST", "/apps", json!({"name": "A's App", "owner_business": a, "created_at": created_at})).await;
    let (app_id, secret) = (id(app.clone()), app["secret"].as_str().unwrap().to_owned());
    let b = id(s.admin("POST", "/businesses", json!({"name": "Client B"})).await);
    let carol = id(s.admin("POST", "/users", json!({"name": "Carol", "business_id": b, "admin": true})).await);
    let token = s.admin("POST", &format!("/users/{carol}/tokens"), json!({"app_id": app_id})).await["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let bot = id(s.admin("POST", "/system_users", json!({"business_id": b, "name": "b-bot"})).await);
    for user in [&carol, &bot] {
        s.admin("POST", &format!("/apps/{app_id}/roles"), json!({"user_id": user, "role": "developer"})).await;
    }
    post(s, &format!("/{b}/client_apps"), &[("app_id", app_id.as_str()), ("access_token", token.as_str())]).await.ok();
    let listed = get(s, &format!("/{b}/system_users"), &[("access_token", &token)]).await;
    let asid = listed.ok()["data"][0]["id"].as_str().unwrap().to_owned();
    post(s, &format!("/{asid}/applications"), &[("business_app", app_id.as_str()), ("access_token", token.as_str())])
        .await
        .ok();
    (app_id, secret, token, asid)
}

/// The app's last app-scoped query as the dump shows it.
async fn last_query(s: &TestServer, app: &str) -> Value {
    let d = dump(s).await;
    d["apps"].as_array().unwrap().iter().find(|a| a["id"] == json!(app)).unwrap()["app_scoped_last_query_at"].clone()
}

/// Seed 000: "POST /<APP_SCOPED_SYSTEM_USER_ID>/access_tokens is temporarily only available to apps that have queried
/// it within the last 90 days". A successful call restarts the 90 days; an app that lapsed is refused (code 200) and
/// nothing changes; one that never made the call counts from its creation.
#[tokio::test]
async fn app_scoped_generation_needs_a_query_within_90_days() {
    const DAY: i64 = 86_400;
    let s = TestServer::start().await;
    let now = s.now().await;
    let (app, secret, token, asid) = app_scoped_world(&s, now).await;
    let p = proof(&secret, &token);
    let params = [
        ("business_app", app.as_str()),
        ("scope", "ads_read"),
        ("appsecret_proof", p.as_str()),
        ("access_token", token.as_str()),
    ];
    let path = format!("/{asid}/access_tokens");
    let generate = || post(&s, &path, &params);
    // A new app that never made the call may; the call is stamped on the server clock.
    assert_eq!(last_query(&s, &app).await, Value::Null);
    generate().await.ok();
    let stamped = last_query(&s, &app).await.as_i64().unwrap();
    assert!(stamped >= now && stamped <= s.now().await, "{stamped}");
    // 90 days ago, to the minute: still in time, and the call restarts the 90 days.
    let in_time = s.now().await - 90 * DAY + 60;
    s.admin("POST", &format!("/apps/{app}"), json!({"app_scoped_last_query_at": in_time})).await;
    generate().await.ok();
    assert!(last_query(&s, &app).await.as_i64().unwrap() >= stamped);
    // Lapsed: refused, and the stamp stays where it was.
    let lapsed = s.now().await - 91 * DAY;
    s.admin("POST", &format!("/apps/{app}"), json!({"app_scoped_last_query_at": lapsed})).await;
    let a = refused(&s, generate(), 200, None, "temporarily disabled for non-active apps").await;
    assert_eq!(a.body["error"]["type"], "OAuthException");
    assert_eq!(last_query(&s, &app).await, json!(lapsed));

    // An app created 100 days ago that never made the call is refused from the start.
    let (old, old_secret, old_token, old_asid) = app_scoped_world(&s, now - 100 * DAY).await;
    let p = proof(&old_secret, &old_token);
    let old_params = [
        ("business_app", old.as_str()),
        ("scope", "ads_read"),
        ("appsecret_proof", p.as_str()),
        ("access_token", old_token.as_str()),
    ];
    let path = format!("/{old_asid}/access_tokens");
    refused(&s, post(&s, &path, &old_params), 200, None, "have not recently accessed this data").await;
    assert_eq!(last_query(&s, &old).await, Value::Null);
}

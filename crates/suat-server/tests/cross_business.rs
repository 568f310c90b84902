//! Seed 000, "Work On Apps Not Owned By Same Business Manager": every step, and the error each missing step gets.
//! Also test apps, usable only through a tester role, and app secret resets.

mod common;
use common::*;

struct Cross {
    app: String,
    secret: String,
    biz_b: String,
    carol: String,
    carol_token: String,
    bot: String,
}

/// Business A owns the app; business B has a system user `bot` and an admin person Carol (with a user token of
/// the app, as a developer of it would have).
async fn cross_world(s: &TestServer) -> Cross {
    let biz_a = s.admin("POST", "/businesses", json!({"name": "Owner A"})).await["id"].as_str().unwrap().to_owned();
    let app = s.admin("POST", "/apps", json!({"name": "A's App", "owner_business": biz_a})).await;
    let biz_b = s.admin("POST", "/businesses", json!({"name": "Client B"})).await["id"].as_str().unwrap().to_owned();
    let carol = s.admin("POST", "/users", json!({"name": "Carol", "business_id": biz_b, "admin": true})).await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let app_id = app["id"].as_str().unwrap().to_owned();
    let carol_token = s.admin("POST", &format!("/users/{carol}/tokens"), json!({"app_id": app_id})).await
        ["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let bot = s
        .admin("POST", "/system_users", json!({"business_id": biz_b, "name": "b-bot", "role": "EMPLOYEE"}))
        .await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    Cross { app: app_id, secret: app["secret"].as_str().unwrap().to_owned(), biz_b, carol, carol_token, bot }
}

async fn role(s: &TestServer, app: &str, user: &str, role: &str) {
    s.admin("POST", &format!("/apps/{app}/roles"), json!({"user_id": user, "role": role})).await;
}

#[tokio::test]
async fn every_step_of_the_cross_business_flow() {
    let s = TestServer::start().await;
    let c = cross_world(&s).await;
    let install = |id: String| {
        let (s, c) = (&s, &c);
        async move {
            post(s, &format!("/v25.0/{id}/applications"), &[("business_app", &c.app), ("access_token", &c.carol_token)])
                .await
        }
    };
    // Not shared yet.
    let a = install(c.bot.clone()).await;
    assert_eq!(a.err(), (200, None));
    assert!(a.msg().contains("not owned by or shared with"));
    // Step 3 needs Carol to be a developer of the app.
    let share_path = format!("/{}/client_apps", c.biz_b);
    let share_params = [("app_id", c.app.as_str()), ("access_token", c.carol_token.as_str())];
    let a = post(&s, &share_path, &share_params).await;
    assert_eq!(a.err(), (200, None));
    assert!(a.msg().contains("developer or admin of app"));
    role(&s, &c.app, &c.carol, "developer").await;
    assert_eq!(post(&s, &share_path, &share_params).await.ok(), &json!({"success": true}));
    let apps = get(&s, &format!("/{}/client_apps", c.biz_b), &[("access_token", &c.carol_token)]).await;
    assert_eq!(apps.ok()["data"], json!([{"id": c.app, "name": "A's App"}]));
    // Step 2 missing: the system user is not a developer of the app.
    let a = install(c.bot.clone()).await;
    assert_eq!(a.err(), (200, None));
    assert!(a.msg().contains("as a developer of the app"));
    role(&s, &c.app, &c.bot, "developer").await;
    // Step 4 skipped: the system user's own id is refused for an app its business does not own.
    let a = install(c.bot.clone()).await;
    assert_eq!(a.err(), (100, None));
    assert!(a.msg().contains("app-scoped id"), "{}", a.msg());
    // Step 4: app-scoped ids, listed with the app's token by Carol (admin of B, developer of the app).
    let l = get(&s, &format!("/v25.0/{}/system_users", c.biz_b), &[("access_token", &c.carol_token)]).await;
    let data = l.ok()["data"].as_array().unwrap().clone();
    assert_eq!(data.len(), 1);
    let asid = data[0]["id"].as_str().unwrap().to_owned();
    assert_ne!(asid, c.bot, "ids are app-scoped for an app the business does not own");
    assert_eq!(data[0]["name"], "b-bot");
    // Listing again gives the same app-scoped id.
    assert_eq!(
        get(&s, &format!("/{}/system_users", c.biz_b), &[("access_token", &c.carol_token)]).await.ok()["data"][0]["id"],
        json!(asid)
    );
    // Step 5: install with the app-scoped id.
    assert_eq!(install(asid.clone()).await.ok(), &json!({"success": true}));
    // Step 6: a token with the app-scoped id and the app secret.
    let proof = proof(&c.secret, &c.carol_token);
    let generate_params = [
        ("business_app", c.app.as_str()),
        ("scope", "ads_read"),
        ("appsecret_proof", proof.as_str()),
        ("access_token", c.carol_token.as_str()),
    ];
    // ... and only with the app-scoped id, even now that the app is installed.
    let raw = post(&s, &format!("/v25.0/{}/access_tokens", c.bot), &generate_params).await;
    assert_eq!(raw.err(), (100, None));
    assert!(raw.msg().contains("app-scoped id"), "{}", raw.msg());
    let t = post(&s, &format!("/v25.0/{asid}/access_tokens"), &generate_params).await;
    let token = t.ok()["access_token"].as_str().unwrap().to_owned();
    let me = get(&s, "/me", &[("access_token", &token)]).await;
    assert_eq!(me.ok()["name"], "b-bot");
    // An app-scoped id speaks only for its app.
    let other = s.admin("POST", "/apps", json!({"name": "B's own", "owner_business": c.biz_b})).await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let a =
        post(&s, &format!("/{asid}/applications"), &[("business_app", &other), ("access_token", &c.carol_token)]).await;
    assert_eq!(a.err(), (100, None));
    assert!(a.msg().contains("belongs to app"));
}

#[tokio::test]
async fn listing_app_scoped_ids_requires_a_developer_of_the_app() {
    let s = TestServer::start().await;
    let c = cross_world(&s).await;
    let a = get(&s, &format!("/{}/system_users", c.biz_b), &[("access_token", &c.carol_token)]).await;
    assert_eq!(a.err(), (200, None));
    assert!(a.msg().contains("developer or admin of that app"));
    // A non-admin of the business cannot list at all.
    let emp = s.admin("POST", "/users", json!({"name": "Emp", "business_id": c.biz_b})).await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let emp_t = s.admin("POST", &format!("/users/{emp}/tokens"), json!({"app_id": c.app})).await["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(get(&s, &format!("/{}/system_users", c.biz_b), &[("access_token", &emp_t)]).await.err(), (200, None));
}

#[tokio::test]
async fn test_apps_only_through_a_tester_role() {
    let (s, f) = setup().await;
    let test_app = s
        .admin(
            "POST",
            "/apps",
            json!({"name": "T", "owner_business": f.business_id, "test_app": true, "access_level": "development"}),
        )
        .await;
    let (tid, tsec) = (test_app["id"].as_str().unwrap().to_owned(), test_app["secret"].as_str().unwrap().to_owned());
    let path = format!("/{}/applications", f.system_user_id);
    let a = post(&s, &path, &[("business_app", &tid), ("access_token", &f.admin_token)]).await;
    assert!(a.msg().contains("Test apps cannot be added to a Business Manager"));
    // Sharing a test app with a business is refused too.
    role(&s, &tid, &f.admin_user_id, "admin").await;
    let a = post(&s, &format!("/{}/client_apps", f.business_id), &[("app_id", &tid), ("access_token", &f.admin_token)])
        .await;
    assert!(a.msg().contains("Test apps cannot be added"));
    role(&s, &tid, &f.system_user_id, "tester").await;
    post(&s, &path, &[("business_app", &tid), ("access_token", &f.admin_token)]).await.ok();
    let p = proof(&tsec, &f.admin_token);
    post(
        &s,
        &format!("/{}/access_tokens", f.system_user_id),
        &[("business_app", &tid), ("scope", "ads_read"), ("appsecret_proof", &p), ("access_token", &f.admin_token)],
    )
    .await
    .ok();
}

#[tokio::test]
async fn app_secret_reset_invalidates_old_proofs_and_app_tokens() {
    let (s, f) = setup().await;
    install(&s, &f).await;
    let su = generate(&s, &f, "ads_read", false).await;
    let old_proof = proof(&f.app_secret, &su);
    get(&s, "/me", &[("access_token", &su), ("appsecret_proof", &old_proof)]).await.ok();
    let credentials = |secret: &str| {
        vec![
            ("grant_type", "client_credentials".to_owned()),
            ("client_id", f.app_id.clone()),
            ("client_secret", secret.to_owned()),
        ]
    };
    let q = credentials(&f.app_secret);
    let q: Vec<(&str, &str)> = q.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let minted = get(&s, "/oauth/access_token", &q).await.ok()["access_token"].as_str().unwrap().to_owned();
    let inspect = |t: &str| vec![("input_token", su.clone()), ("access_token", t.to_owned())];
    let q = inspect(&minted);
    let q: Vec<(&str, &str)> = q.iter().map(|(k, v)| (*k, v.as_str())).collect();
    get(&s, "/debug_token", &q).await.ok();
    let new_secret = s.admin("POST", &format!("/apps/{}/reset_secret", f.app_id), Value::Null).await["secret"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_ne!(new_secret, f.app_secret);
    let a = get(&s, "/me", &[("access_token", &su), ("appsecret_proof", &old_proof)]).await;
    assert_eq!(a.msg(), "Invalid appsecret_proof provided in the API argument");
    get(&s, "/me", &[("access_token", &su), ("appsecret_proof", &proof(&new_secret, &su))]).await.ok();
    // The literal APPID|OLDSECRET is no longer an app token; client_secret checks use the new secret.
    let d = get(&s, "/debug_token", &[("input_token", &su), ("access_token", &app_token(&f))]).await;
    assert_eq!(d.err(), (190, None));
    // An app token minted by client_credentials under the old secret dies with it.
    let q = inspect(&minted);
    let q: Vec<(&str, &str)> = q.iter().map(|(k, v)| (*k, v.as_str())).collect();
    assert_eq!(get(&s, "/debug_token", &q).await.err(), (190, Some(460)));
    let r = get(
        &s,
        "/oauth/access_token",
        &[("grant_type", "client_credentials"), ("client_id", &f.app_id), ("client_secret", &f.app_secret)],
    )
    .await;
    assert_eq!(r.err(), (1, None));
    get(
        &s,
        "/oauth/access_token",
        &[("grant_type", "client_credentials"), ("client_id", &f.app_id), ("client_secret", &new_secret)],
    )
    .await
    .ok();
    // Generation with a proof made from the old secret fails.
    let a = post(
        &s,
        &format!("/{}/access_tokens", f.system_user_id),
        &[
            ("business_app", &f.app_id),
            ("appsecret_proof", &proof(&f.app_secret, &f.admin_token)),
            ("access_token", &f.admin_token),
        ],
    )
    .await;
    assert!(a.msg().contains("Invalid appsecret_proof"));
}

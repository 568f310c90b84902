//! Pages, roles and stable page tokens (seed 004), and the cascade that kills page tokens with what they depend on.

mod common;
use common::*;

/// A page owned by the fixture business, the fixture system user assigned `tasks` on it, and an installed app
/// with a system-user token carrying `pages_show_list`.
async fn page_world(s: &TestServer, f: &Fixture, tasks: &str) -> (String, String) {
    let page = s.admin("POST", "/pages", json!({"name": "Acme Page", "business_id": f.business_id})).await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let r = post(
        s,
        &format!("/v25.0/{page}/assigned_users"),
        &[("user", &f.system_user_id), ("tasks", tasks), ("access_token", &f.admin_token)],
    )
    .await;
    assert_eq!(r.ok(), &json!({"success": true}));
    install(s, f).await;
    let su_token = generate(s, f, "pages_show_list,pages_read_engagement,ads_read", false).await;
    (page, su_token)
}

#[tokio::test]
async fn stable_page_token_from_a_system_user_token() {
    let (s, f) = setup().await;
    let (page, su) = page_world(&s, &f, "MANAGE,CREATE_CONTENT").await;
    let a = get(&s, &format!("/v25.0/{page}"), &[("fields", "access_token"), ("access_token", &su)]).await;
    let body = a.ok().clone();
    assert_eq!(body["id"], json!(page));
    let pt = body["access_token"].as_str().unwrap().to_owned();
    assert!(pt.starts_with("EAA") && pt.len() >= 170 && pt != su);
    // Stable: asking again gives the same token.
    let again = get(&s, &format!("/{page}"), &[("fields", "access_token"), ("access_token", &su)]).await;
    assert_eq!(again.ok()["access_token"], json!(pt));
    // It is a PAGE token that never expires, with the page scopes of its source.
    let d = get(&s, "/debug_token", &[("input_token", &pt), ("access_token", &app_token(&f))]).await;
    let data = &d.ok()["data"];
    assert_eq!(data["type"], "PAGE");
    assert_eq!(data["profile_id"], json!(page));
    assert_eq!(data["expires_at"], 0);
    assert_eq!(data["is_valid"], true);
    assert_eq!(data["scopes"], json!(["pages_show_list", "pages_read_engagement"]));
    assert_eq!(data["granular_scopes"][0], json!({"scope": "pages_show_list", "target_ids": [page]}));
    // /me as the page token is the page, even ten years on.
    s.advance_clock(3650 * 86_400).await;
    assert_eq!(get(&s, "/me", &[("access_token", &pt)]).await.ok(), &json!({"id": page, "name": "Acme Page"}));
}

#[tokio::test]
async fn page_token_needs_page_permission_and_a_task() {
    let (s, f) = setup().await;
    let page = s.admin("POST", "/pages", json!({"name": "P", "business_id": f.business_id})).await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    install(&s, &f).await;
    let su = generate(&s, &f, "pages_show_list", false).await;
    // No task on the page: (#10). (An admin system user may see the business's page, but holds no task on it.)
    let a = get(&s, &format!("/{page}"), &[("fields", "access_token"), ("access_token", &su)]).await;
    assert_eq!(a.err(), (10, None));
    assert!(a.msg().contains("no task on this page"));
    post(
        &s,
        &format!("/{page}/assigned_users"),
        &[("user", &f.system_user_id), ("tasks", "['ANALYZE']"), ("access_token", &f.admin_token)],
    )
    .await
    .ok();
    // No page permission on the token: (#200).
    let ads_only = generate(&s, &f, "ads_read", false).await;
    let a = get(&s, &format!("/{page}"), &[("fields", "access_token"), ("access_token", &ads_only)]).await;
    assert_eq!(a.err(), (200, None));
    // A person's user token cannot mint a stable page token.
    let a = get(&s, &format!("/{page}"), &[("fields", "access_token"), ("access_token", &f.admin_token)]).await;
    assert_eq!(a.err(), (200, None));
    get(&s, &format!("/{page}"), &[("fields", "access_token"), ("access_token", &su)]).await.ok();
}

#[tokio::test]
async fn assigned_users_roles_and_errors() {
    let (s, f) = setup().await;
    let page = s.admin("POST", "/pages", json!({"name": "P", "business_id": f.business_id})).await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let path = format!("/v25.0/{page}/assigned_users");
    let bad = post(&s, &path, &[("user", &f.system_user_id), ("tasks", "OWN"), ("access_token", &f.admin_token)]).await;
    assert_eq!(bad.err(), (100, None));
    assert!(bad.msg().contains("MANAGE, CREATE_CONTENT, MODERATE, ADVERTISE, ANALYZE"));
    let missing = post(&s, &path, &[("user", &f.system_user_id), ("access_token", &f.admin_token)]).await;
    assert!(missing.msg().contains("tasks is required"));
    post(
        &s,
        &path,
        &[("user", &f.system_user_id), ("tasks", r#"["MODERATE","ADVERTISE"]"#), ("access_token", &f.admin_token)],
    )
    .await
    .ok();
    let l = get(&s, &path, &[("access_token", &f.admin_token)]).await;
    assert_eq!(l.ok()["data"], json!([{"id": f.system_user_id, "name": "ci-bot", "tasks": ["MODERATE", "ADVERTISE"]}]));
    // The system user sees the page through ?fields=assigned_pages and the edge.
    let su =
        get(&s, &format!("/{}", f.system_user_id), &[("fields", "assigned_pages"), ("access_token", &f.admin_token)])
            .await;
    assert_eq!(
        su.ok()["assigned_pages"]["data"],
        json!([{"id": page, "name": "P", "tasks": ["MODERATE", "ADVERTISE"]}])
    );
    let edge = get(&s, &format!("/{}/assigned_pages", f.system_user_id), &[("access_token", &f.admin_token)]).await;
    assert_eq!(edge.ok()["data"][0]["id"], json!(page));
    // Someone from another business cannot assign.
    let other_b = s.admin("POST", "/businesses", json!({"name": "O"})).await["id"].as_str().unwrap().to_owned();
    let eve = s.admin("POST", "/users", json!({"name": "Eve", "business_id": other_b, "admin": true})).await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let eve_t = s.admin("POST", &format!("/users/{eve}/tokens"), json!({"app_id": f.app_id})).await["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(
        post(&s, &path, &[("user", &f.system_user_id), ("tasks", "MANAGE"), ("access_token", &eve_t)]).await.err(),
        (200, None)
    );
    // DELETE removes the role; deleting again is an error.
    let d = delete(&s, &path, &[("user", &f.system_user_id), ("access_token", &f.admin_token)]).await;
    assert_eq!(d.ok(), &json!({"success": true}));
    assert_eq!(
        delete(&s, &path, &[("user", &f.system_user_id), ("access_token", &f.admin_token)]).await.err(),
        (100, None)
    );
    assert_eq!(get(&s, &path, &[("access_token", &f.admin_token)]).await.ok()["data"], json!([]));
}

#[tokio::test]
async fn me_accounts_pages_with_absolute_next_urls() {
    let (s, f) = setup().await;
    install(&s, &f).await;
    let mut pages = Vec::new();
    for i in 0..5 {
        let p = s.admin("POST", "/pages", json!({"name": format!("Page {i}"), "business_id": f.business_id})).await
            ["id"]
            .as_str()
            .unwrap()
            .to_owned();
        post(
            &s,
            &format!("/{p}/assigned_users"),
            &[("user", &f.system_user_id), ("tasks", "MANAGE"), ("access_token", &f.admin_token)],
        )
        .await
        .ok();
        pages.push(p);
    }
    let su = generate(&s, &f, "pages_show_list", false).await;
    let first = get(&s, "/v25.0/me/accounts", &[("limit", "2"), ("access_token", &su)]).await;
    let body = first.ok().clone();
    assert_eq!(body["data"].as_array().unwrap().len(), 2);
    assert_eq!(body["data"][0]["id"], json!(pages[0]));
    assert_eq!(body["data"][0]["tasks"], json!(["MANAGE"]));
    assert!(body["data"][0]["access_token"].as_str().unwrap().starts_with("EAA"));
    // Follow paging.next verbatim, as the SDKs do.
    let mut seen: Vec<String> =
        body["data"].as_array().unwrap().iter().map(|p| p["id"].as_str().unwrap().to_owned()).collect();
    let mut next = body["paging"]["next"].as_str().map(str::to_owned);
    while let Some(url) = next {
        assert!(url.starts_with(&format!("{}/v25.0/me/accounts?", s.url)), "{url}");
        assert!(url.contains("access_token="));
        let a = answer(s.http.get(&url).send().await.unwrap()).await;
        let b = a.ok().clone();
        seen.extend(b["data"].as_array().unwrap().iter().map(|p| p["id"].as_str().unwrap().to_owned()));
        next = b["paging"]["next"].as_str().map(str::to_owned);
    }
    assert_eq!(seen, pages);
    assert_eq!(get(&s, "/me/accounts", &[("limit", "0"), ("access_token", &su)]).await.err(), (100, None));
    assert_eq!(get(&s, "/me/accounts", &[("after", "zz"), ("access_token", &su)]).await.err(), (100, None));
}

/// The cascade: each dependency dying kills the page token with its own subcode.
#[tokio::test]
async fn page_tokens_die_with_what_they_depend_on() {
    // 1. Source token revoked -> 466.
    let (s, f) = setup().await;
    let (page, su) = page_world(&s, &f, "MANAGE").await;
    let pt = get(&s, &format!("/{page}"), &[("fields", "access_token"), ("access_token", &su)]).await.ok()
        ["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    get(
        &s,
        "/oauth/revoke",
        &[
            ("client_id", &f.app_id),
            ("client_secret", &f.app_secret),
            ("revoke_token", &su),
            ("access_token", &app_token(&f)),
        ],
    )
    .await
    .ok();
    assert_eq!(get(&s, "/me", &[("access_token", &pt)]).await.err(), (190, Some(466)));
    let d = get(&s, "/debug_token", &[("input_token", &pt), ("access_token", &app_token(&f))]).await;
    assert_eq!(d.ok()["data"]["error"]["subcode"], 466);

    // 2. Page role removed -> 467; restoring the role restores the same token.
    let (s, f) = setup().await;
    let (page, su) = page_world(&s, &f, "MANAGE").await;
    let pt = get(&s, &format!("/{page}"), &[("fields", "access_token"), ("access_token", &su)]).await.ok()
        ["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    delete(&s, &format!("/{page}/assigned_users"), &[("user", &f.system_user_id), ("access_token", &f.admin_token)])
        .await
        .ok();
    assert_eq!(get(&s, "/me", &[("access_token", &pt)]).await.err(), (190, Some(467)));

    // 3. App uninstalled -> 458 (for the system-user token and the page token).
    let (s, f) = setup().await;
    let (page, su) = page_world(&s, &f, "MANAGE").await;
    let pt = get(&s, &format!("/{page}"), &[("fields", "access_token"), ("access_token", &su)]).await.ok()
        ["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    delete(
        &s,
        &format!("/{}/applications", f.system_user_id),
        &[("business_app", &f.app_id), ("access_token", &f.admin_token)],
    )
    .await
    .ok();
    assert_eq!(get(&s, "/me", &[("access_token", &su)]).await.err(), (190, Some(458)));
    assert_eq!(get(&s, "/me", &[("access_token", &pt)]).await.err(), (190, Some(458)));

    // 4. All of the system user's tokens revoked (DELETE access_tokens) -> 466 for the page token too.
    let (s, f) = setup().await;
    let (page, su) = page_world(&s, &f, "MANAGE").await;
    let pt = get(&s, &format!("/{page}"), &[("fields", "access_token"), ("access_token", &su)]).await.ok()
        ["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    delete(&s, &format!("/{}/access_tokens", f.system_user_id), &[("access_token", &f.admin_token)]).await.ok();
    assert_eq!(get(&s, "/me", &[("access_token", &pt)]).await.err(), (190, Some(466)));

    // 5. Source was an expiring token that expired -> 463.
    let (s, f) = setup().await;
    let page = s.admin("POST", "/pages", json!({"name": "P", "business_id": f.business_id})).await["id"]
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
    install(&s, &f).await;
    let su = generate(&s, &f, "pages_show_list", true).await;
    let pt = get(&s, &format!("/{page}"), &[("fields", "access_token"), ("access_token", &su)]).await.ok()
        ["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    s.advance_clock(61 * 86_400).await;
    assert_eq!(get(&s, "/me", &[("access_token", &pt)]).await.err(), (190, Some(463)));
}

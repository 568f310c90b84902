//! The dialog's `response_type` and per-permission decline, and `/me/permissions` (GRAPH-WIRE 5 and 7, r2): what a
//! person grants or declines is what their tokens carry and what `GET /me/permissions` lists; `DELETE
//! /me/permissions` removes the app (their tokens of it then fail with 190/458); `DELETE /me/permissions/{perm}`
//! takes one permission back.

mod common;
use common::*;
use std::collections::HashMap;

/// Signs `person` in on the dialog (`dialog` extra parameters), unticks `untick`, Allows; the redirect's Location.
async fn consent(s: &TestServer, app: &str, person: &str, dialog: &[(&str, &str)], untick: &[&str]) -> String {
    let mut q = vec![("client_id", app), ("redirect_uri", REDIRECT)];
    q.extend_from_slice(dialog);
    let r = s.http.get(format!("{}/v25.0/dialog/oauth", s.url)).query(&q).send().await.unwrap();
    assert_eq!(r.status().as_u16(), 200);
    keep_cookie(s, &r);
    let html = r.text().await.unwrap();
    let mut form: Vec<(String, String)> =
        form_fields(&html).into_iter().filter(|(k, _)| !untick.iter().any(|u| *k == format!("grant:{u}"))).collect();
    form.extend([("user".into(), person.into()), ("password".into(), "correct horse".into())]);
    form.push(("action".into(), "allow".into()));
    let client = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let r =
        as_browser(s, client.post(format!("{}/v25.0/dialog/oauth/confirm", s.url))).form(&form).send().await.unwrap();
    assert_eq!(r.status().as_u16(), 302);
    r.headers()["location"].to_str().unwrap().to_owned()
}

fn pairs(s: &str) -> HashMap<String, String> {
    url::form_urlencoded::parse(s.as_bytes()).into_owned().collect()
}

async fn exchange(s: &TestServer, app: &str, secret: &str, code: &str) -> String {
    let a = get(
        s,
        "/oauth/access_token",
        &[("client_id", app), ("client_secret", secret), ("redirect_uri", REDIRECT), ("code", code)],
    )
    .await;
    a.ok()["access_token"].as_str().unwrap().to_owned()
}

async fn scopes_of(s: &TestServer, app: &str, secret: &str, token: &str) -> Value {
    let d = get(s, "/debug_token", &[("input_token", token), ("access_token", &format!("{app}|{secret}"))]).await;
    d.ok()["data"]["scopes"].clone()
}

#[tokio::test]
async fn response_type_token_puts_a_short_lived_token_in_the_fragment() {
    let s = TestServer::start().await;
    let (app, secret, person) = oauth_world(&s).await;
    let loc = consent(&s, &app, &person, &[("scope", "email"), ("state", "st"), ("response_type", "token")], &[]).await;
    let (base, fragment) = loc.split_once('#').unwrap();
    assert_eq!(base, REDIRECT, "nothing in the query: {loc}");
    let f = pairs(fragment);
    assert_eq!(f["expires_in"], "7200");
    assert_eq!(f["state"], "st");
    assert!(!f.contains_key("code"));
    let token = &f["access_token"];
    assert_eq!(get(&s, "/me", &[("access_token", token)]).await.ok(), &json!({"name": "Pat", "id": person}));
    assert_eq!(scopes_of(&s, &app, &secret, token).await, json!(["email"]));
    let last = s.admin("GET", "/audit?limit=1", Value::Null).await;
    assert_eq!(last["data"][0]["action"], "authorize");
    assert_eq!(last["data"][0]["detail"]["issued"]["kind"], "USER");
    assert!(last["data"][0]["token_ref"].is_string(), "the issued token is audited");
    s.advance_clock(7201).await;
    assert_eq!(get(&s, "/me", &[("access_token", token)]).await.err(), (190, Some(463)));
}

#[tokio::test]
async fn response_type_code_token_puts_both_in_the_fragment() {
    let s = TestServer::start().await;
    let (app, secret, person) = oauth_world(&s).await;
    let loc = consent(
        &s,
        &app,
        &person,
        &[("scope", "email public_profile"), ("state", "st"), ("response_type", "code token")],
        &[],
    )
    .await;
    let (base, fragment) = loc.split_once('#').unwrap();
    assert_eq!(base, REDIRECT);
    let f = pairs(fragment);
    get(&s, "/me", &[("access_token", &f["access_token"])]).await.ok();
    let long = exchange(&s, &app, &secret, &f["code"]).await;
    assert_ne!(&long, &f["access_token"]);
    get(&s, "/me", &[("access_token", &long)]).await.ok();
    // An unknown response_type is refused on the page.
    let r = s
        .http
        .get(format!("{}/dialog/oauth", s.url))
        .query(&[("client_id", app.as_str()), ("redirect_uri", REDIRECT), ("response_type", "id_token")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 400);
    assert!(r.text().await.unwrap().contains("Invalid response_type id_token"));
}

#[tokio::test]
async fn the_default_stays_a_code_in_the_query_and_auth_type_rerequest_is_accepted() {
    let s = TestServer::start().await;
    let (app, secret, person) = oauth_world(&s).await;
    let loc = consent(&s, &app, &person, &[("scope", "email"), ("auth_type", "rerequest")], &[]).await;
    let u = url::Url::parse(&loc).unwrap();
    assert_eq!(u.fragment(), Some("_=_"));
    let code = u.query_pairs().find(|(k, _)| k == "code").unwrap().1.into_owned();
    exchange(&s, &app, &secret, &code).await;
    // The response_type is signed into the form: turning a code flow into a token flow after rendering is refused.
    let r = s
        .http
        .get(format!("{}/dialog/oauth", s.url))
        .query(&[("client_id", app.as_str()), ("redirect_uri", REDIRECT), ("scope", "email")])
        .send()
        .await
        .unwrap();
    keep_cookie(&s, &r);
    let mut form = form_fields(&r.text().await.unwrap());
    for f in form.iter_mut().filter(|f| f.0 == "response_type") {
        f.1 = "token".into();
    }
    form.extend([("user".into(), person.clone()), ("password".into(), "correct horse".into())]);
    form.push(("action".into(), "allow".into()));
    let before = dump(&s).await;
    let r = as_browser(&s, s.http.post(format!("{}/dialog/oauth/confirm", s.url))).form(&form).send().await.unwrap();
    assert_eq!(r.status().as_u16(), 400);
    assert!(r.text().await.unwrap().contains("expired"));
    assert_eq!(dump(&s).await, before);
}

#[tokio::test]
async fn declined_permissions_are_not_granted_and_listed_as_declined() {
    let s = TestServer::start().await;
    let (app, secret, person) = oauth_world(&s).await;
    let loc = consent(&s, &app, &person, &[("scope", "email,public_profile,user_posts")], &["user_posts"]).await;
    let code = url::Url::parse(&loc).unwrap().query_pairs().find(|(k, _)| k == "code").unwrap().1.into_owned();
    let token = exchange(&s, &app, &secret, &code).await;
    assert_eq!(scopes_of(&s, &app, &secret, &token).await, json!(["email", "public_profile"]));
    let list = get(&s, "/v25.0/me/permissions", &[("access_token", &token)]).await;
    assert_eq!(
        list.ok(),
        &json!({"data": [
            {"permission": "email", "status": "granted"},
            {"permission": "public_profile", "status": "granted"},
            {"permission": "user_posts", "status": "declined"},
        ]})
    );
    // Re-asking (auth_type=rerequest) and granting it this time: granted, in its place.
    let loc = consent(&s, &app, &person, &[("scope", "user_posts"), ("auth_type", "rerequest")], &[]).await;
    let code = url::Url::parse(&loc).unwrap().query_pairs().find(|(k, _)| k == "code").unwrap().1.into_owned();
    let second = exchange(&s, &app, &secret, &code).await;
    assert_eq!(scopes_of(&s, &app, &secret, &second).await, json!(["user_posts"]));
    let list = get(&s, "/me/permissions", &[("access_token", &token)]).await;
    assert_eq!(list.ok()["data"][2], json!({"permission": "user_posts", "status": "granted"}));
}

#[tokio::test]
async fn a_failed_sign_in_keeps_the_boxes_as_the_person_left_them() {
    let s = TestServer::start().await;
    let (app, _, person) = oauth_world(&s).await;
    let r = s
        .http
        .get(format!("{}/dialog/oauth", s.url))
        .query(&[("client_id", app.as_str()), ("redirect_uri", REDIRECT), ("scope", "email,public_profile")])
        .send()
        .await
        .unwrap();
    keep_cookie(&s, &r);
    let mut form: Vec<(String, String)> =
        form_fields(&r.text().await.unwrap()).into_iter().filter(|(k, _)| k != "grant:email").collect();
    form.extend([
        ("user".into(), person.clone()),
        ("password".into(), "wrong".into()),
        ("action".into(), "allow".into()),
    ]);
    let r = as_browser(&s, s.http.post(format!("{}/dialog/oauth/confirm", s.url))).form(&form).send().await.unwrap();
    assert_eq!(r.status().as_u16(), 401);
    let again = form_fields(&r.text().await.unwrap());
    assert!(!again.iter().any(|(k, _)| k == "grant:email"), "{again:?}");
    assert!(again.iter().any(|(k, _)| k == "grant:public_profile"), "{again:?}");
}

#[tokio::test]
async fn taking_one_permission_back() {
    let s = TestServer::start().await;
    let (app, secret, person) = oauth_world(&s).await;
    let loc = consent(&s, &app, &person, &[("scope", "email public_profile")], &[]).await;
    let code = url::Url::parse(&loc).unwrap().query_pairs().find(|(k, _)| k == "code").unwrap().1.into_owned();
    let token = exchange(&s, &app, &secret, &code).await;
    // An unknown permission: 3962, nothing changes.
    let before = get(&s, "/me/permissions", &[("access_token", &token)]).await.ok().clone();
    let a = delete(&s, "/me/permissions/not_a_permission", &[("access_token", &token)]).await;
    assert_eq!(a.err(), (3962, None));
    assert_eq!(get(&s, "/me/permissions", &[("access_token", &token)]).await.ok(), &before);
    // fbgraph's way of deleting: a POST with method=delete.
    let a = post(&s, "/v25.0/me/permissions/email?method=delete", &[("access_token", &token)]).await;
    assert_eq!(a.ok(), &json!({"success": true}));
    assert_eq!(
        get(&s, "/me/permissions", &[("access_token", &token)]).await.ok(),
        &json!({"data": [
            {"permission": "email", "status": "declined"},
            {"permission": "public_profile", "status": "granted"},
        ]})
    );
    // The token keeps working, without the permission.
    assert_eq!(scopes_of(&s, &app, &secret, &token).await, json!(["public_profile"]));
    let last = s.admin("GET", "/audit?limit=1", Value::Null).await;
    assert_eq!(last["data"][0]["action"], "decline_permission");
}

#[tokio::test]
async fn removing_the_app_voids_every_token_of_it_with_458() {
    let s = TestServer::start().await;
    let (app, secret, person) = oauth_world(&s).await;
    let mut tokens = Vec::new();
    for _ in 0..2 {
        let loc = consent(&s, &app, &person, &[("scope", "email")], &[]).await;
        let code = url::Url::parse(&loc).unwrap().query_pairs().find(|(k, _)| k == "code").unwrap().1.into_owned();
        tokens.push(exchange(&s, &app, &secret, &code).await);
    }
    // A token of another app for the same person is not affected.
    let other = s.admin("POST", "/apps", json!({"name": "Other"})).await["id"].as_str().unwrap().to_owned();
    let other_t = s.admin("POST", &format!("/users/{person}/tokens"), json!({"app_id": other})).await["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let a = delete(&s, "/v25.0/me/permissions", &[("access_token", &tokens[0])]).await;
    assert_eq!(a.ok(), &json!({"success": true}));
    let msg = format!("Error validating access token: The user has not authorized application {app}.");
    for t in &tokens {
        let a = get(&s, "/me", &[("access_token", t)]).await;
        assert_eq!(a.err(), (190, Some(458)));
        assert_eq!(a.msg(), msg);
        // Nor can it be exchanged for a fresh one.
        let r = get(
            &s,
            "/oauth/access_token",
            &[
                ("grant_type", "fb_exchange_token"),
                ("client_id", &app),
                ("client_secret", &secret),
                ("fb_exchange_token", t),
            ],
        )
        .await;
        assert_eq!(r.err(), (190, Some(458)));
    }
    get(&s, "/me", &[("access_token", &other_t)]).await.ok();
    // debug_token reports it as invalid, with the same subcode (200, as for every inspected token).
    let d = get(&s, "/debug_token", &[("input_token", &tokens[0]), ("access_token", &format!("{app}|{secret}"))]).await;
    assert_eq!(d.ok()["data"]["is_valid"], false);
    assert_eq!(d.body["data"]["error"]["subcode"], 458);
    let last = s.admin("GET", "/audit?limit=1", Value::Null).await;
    assert_eq!(last["data"][0]["action"], "deauthorize");
    // Consenting again (a later second) brings the app back, with no earlier answers.
    s.advance_clock(1).await;
    let loc = consent(&s, &app, &person, &[("scope", "public_profile")], &[]).await;
    let code = url::Url::parse(&loc).unwrap().query_pairs().find(|(k, _)| k == "code").unwrap().1.into_owned();
    let fresh = exchange(&s, &app, &secret, &code).await;
    assert_eq!(
        get(&s, "/me/permissions", &[("access_token", &fresh)]).await.ok(),
        &json!({"data": [{"permission": "public_profile", "status": "granted"}]})
    );
    assert_eq!(get(&s, "/me", &[("access_token", &tokens[1])]).await.err(), (190, Some(458)));
}

#[tokio::test]
async fn system_users_and_app_tokens() {
    let (s, f) = setup().await;
    install(&s, &f).await;
    let t = generate(&s, &f, "ads_read,business_management", false).await;
    let p = proof(&f.app_secret, &t);
    assert_eq!(
        get(&s, "/me/permissions", &[("access_token", &t), ("appsecret_proof", &p)]).await.ok(),
        &json!({"data": [
            {"permission": "ads_read", "status": "granted"},
            {"permission": "business_management", "status": "granted"},
        ]})
    );
    assert_eq!(
        delete(&s, "/me/permissions/ads_read", &[("access_token", &t), ("appsecret_proof", &p)]).await.err(),
        (200, None)
    );
    // An app token has no "me".
    let a = get(&s, "/me/permissions", &[("access_token", &app_token(&f))]).await;
    assert_eq!(a.err(), (2500, None));
    assert_eq!(delete(&s, "/me/permissions", &[("access_token", &app_token(&f))]).await.err(), (2500, None));
    assert_eq!(delete(&s, "/me/permissions", &[]).await.err(), (104, None));
    // A system user removing the app: the uninstallation, 458 for its tokens.
    let a = delete(&s, "/me/permissions", &[("access_token", &t), ("appsecret_proof", &p)]).await;
    assert_eq!(a.ok(), &json!({"success": true}));
    assert_eq!(get(&s, "/me", &[("access_token", &t)]).await.err(), (190, Some(458)));
    let last = s.admin("GET", "/audit?limit=1", Value::Null).await;
    assert_eq!(last["data"][0]["action"], "uninstall");
}

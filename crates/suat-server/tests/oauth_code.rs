//! The OAuth authorization-code flow over plain HTTP (the browser-driven version is in `browser_consent.rs`):
//! dialog page, sign-in and consent, code exchange rules, and short-lived -> long-lived user tokens.

mod common;
use common::*;

fn no_redirects() -> reqwest::Client {
    reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap()
}

/// Fetches the dialog and returns what a browser would submit of its form (hidden fields, ticked boxes).
async fn form(
    s: &TestServer,
    app: &str,
    redirect: &str,
    scope: &str,
    state: &str,
) -> (u16, String, Vec<(String, String)>) {
    let r = s
        .http
        .get(format!("{}/v25.0/dialog/oauth", s.url))
        .query(&[("client_id", app), ("redirect_uri", redirect), ("scope", scope), ("state", state)])
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    keep_cookie(s, &r);
    let ct = r.headers()["content-type"].to_str().unwrap().to_owned();
    assert_eq!(ct, "text/html; charset=utf-8");
    let html = r.text().await.unwrap();
    let fields = form_fields(&html);
    (status, html, fields)
}

async fn submit(s: &TestServer, fields: &[(String, String)], extra: &[(&str, &str)]) -> reqwest::Response {
    let mut all: Vec<(String, String)> = fields.to_vec();
    all.extend(extra.iter().map(|(k, v)| (k.to_string(), v.to_string())));
    as_browser(s, no_redirects().post(format!("{}/v25.0/dialog/oauth/confirm", s.url))).form(&all).send().await.unwrap()
}

fn query_of(location: &str) -> std::collections::HashMap<String, String> {
    let u = url::Url::parse(location).unwrap();
    u.query_pairs().map(|(k, v)| (k.into_owned(), v.into_owned())).collect()
}

/// Signs `person` in on the dialog, allows, and returns the code the redirect carries.
async fn consented_code(s: &TestServer, app: &str, person: &str) -> String {
    let (_, _, fields) = form(s, app, REDIRECT, "", "").await;
    let r = submit(s, &fields, &[("user", person), ("password", "correct horse"), ("action", "allow")]).await;
    query_of(r.headers()["location"].to_str().unwrap())["code"].clone()
}

/// Exchanges `code` at /oauth/access_token with the registered redirect URI.
async fn exchange_code(s: &TestServer, app: &str, secret: &str, code: &str) -> Answer {
    let q = [("client_id", app), ("client_secret", secret), ("redirect_uri", REDIRECT), ("code", code)];
    get(s, "/oauth/access_token", &q).await
}

#[tokio::test]
async fn dialog_allow_exchange_and_extend() {
    let s = TestServer::start().await;
    let (app, secret, person) = oauth_world(&s).await;
    let (status, html, fields) = form(&s, &app, REDIRECT, "email,public_profile", "xyz<&>").await;
    assert_eq!(status, 200);
    assert!(html.contains("Login App wants to access your account"));
    assert!(html.contains("<code>email</code>") && html.contains("<code>public_profile</code>"));
    assert!(!html.contains("xyz<&>"), "state is escaped");
    // Wrong password: the page again, with an error, and no code.
    let r = submit(&s, &fields, &[("user", &person), ("password", "nope"), ("action", "allow")]).await;
    assert_eq!(r.status().as_u16(), 401);
    assert!(r.text().await.unwrap().contains("Incorrect user ID or password."));
    // Allow: redirect to the registered URI with code and state.
    let r = submit(&s, &fields, &[("user", &person), ("password", "correct horse"), ("action", "allow")]).await;
    assert_eq!(r.status().as_u16(), 302);
    let loc = r.headers()["location"].to_str().unwrap().to_owned();
    assert!(loc.starts_with(&format!("{REDIRECT}?")), "{loc}");
    let q = query_of(&loc);
    assert_eq!(q["state"], "xyz<&>");
    let code = q["code"].clone();
    // Exchange with a different redirect_uri: refused, code still usable.
    let bad = get(
        &s,
        "/v25.0/oauth/access_token",
        &[
            ("client_id", &app),
            ("client_secret", &secret),
            ("redirect_uri", "https://app.example/other"),
            ("code", &code),
        ],
    )
    .await;
    assert_eq!(bad.err(), (100, None));
    assert_eq!(bad.msg(), "Error validating verification code. Please make sure your redirect_uri is identical to the one you used in the OAuth dialog request");
    assert!(bad.headers["www-authenticate"].to_str().unwrap().contains("\"invalid_code\""));
    // Exchange: a long-lived (60-day) user token (GRAPH-WIRE r2).
    let ok = get(
        &s,
        "/v25.0/oauth/access_token",
        &[("client_id", &app), ("client_secret", &secret), ("redirect_uri", REDIRECT), ("code", &code)],
    )
    .await;
    let body = ok.ok().clone();
    assert_eq!(body["token_type"], "bearer");
    assert_eq!(body["expires_in"], 5_184_000);
    let user_t = body["access_token"].as_str().unwrap().to_owned();
    assert_eq!(get(&s, "/me", &[("access_token", &user_t)]).await.ok(), &json!({"id": person, "name": "Pat"}));
    let d = get(&s, "/debug_token", &[("input_token", &user_t), ("access_token", &format!("{app}|{secret}"))]).await;
    assert_eq!(d.ok()["data"]["type"], "USER");
    assert_eq!(d.body["data"]["scopes"], json!(["email", "public_profile"]));
    // Single use: 100/36009, no prefix, invalid_code.
    let again = get(
        &s,
        "/oauth/access_token",
        &[("client_id", &app), ("client_secret", &secret), ("redirect_uri", REDIRECT), ("code", &code)],
    )
    .await;
    assert_eq!(again.err(), (100, Some(36009)));
    assert_eq!(again.msg(), "This authorization code has been used.");
    assert!(again.headers["www-authenticate"].to_str().unwrap().contains("\"invalid_code\""));
    // Still valid after a day, expired after 60.
    s.advance_clock(86_400).await;
    get(&s, "/me", &[("access_token", &user_t)]).await.ok();
    s.advance_clock(60 * 86_400).await;
    assert_eq!(get(&s, "/me", &[("access_token", &user_t)]).await.err(), (190, Some(463)));
}

#[tokio::test]
async fn codes_expire_after_ten_minutes() {
    let s = TestServer::start().await;
    let (app, secret, person) = oauth_world(&s).await;
    let code = consented_code(&s, &app, &person).await;
    s.advance_clock(601).await;
    let a = exchange_code(&s, &app, &secret, &code).await;
    assert_eq!(a.err(), (100, None));
    assert_eq!(a.msg(), "This authorization code has expired.");
    let a = get(
        &s,
        "/oauth/access_token",
        &[("client_id", &app), ("client_secret", &secret), ("redirect_uri", REDIRECT), ("code", "AQnotacode")],
    )
    .await;
    assert_eq!(a.msg(), "Invalid verification code format.");
}

#[tokio::test]
async fn a_password_change_voids_codes_issued_before_it() {
    let s = TestServer::start().await;
    let (app, secret, person) = oauth_world(&s).await;
    let code = consented_code(&s, &app, &person).await;
    s.admin("POST", &format!("/users/{person}/password_change"), Value::Null).await;
    let a = exchange_code(&s, &app, &secret, &code).await;
    assert_eq!(a.err(), (100, None));
    assert_eq!(a.msg(), "This authorization code has expired.");
    // A code the user consents to after the change works.
    let code = consented_code(&s, &app, &person).await;
    let t = exchange_code(&s, &app, &secret, &code).await.ok()["access_token"].as_str().unwrap().to_owned();
    get(&s, "/me", &[("access_token", &t)]).await.ok();
}

#[tokio::test]
async fn cancel_redirects_with_access_denied() {
    let s = TestServer::start().await;
    let (app, _, _) = oauth_world(&s).await;
    let (_, _, fields) = form(&s, &app, REDIRECT, "email", "s1").await;
    let r = submit(&s, &fields, &[("action", "cancel")]).await;
    assert_eq!(r.status().as_u16(), 302);
    let q = query_of(r.headers()["location"].to_str().unwrap());
    assert_eq!(q["error"], "access_denied");
    assert_eq!(q["error_reason"], "user_denied");
    assert_eq!(q["state"], "s1");
    assert!(!q.contains_key("code"));
}

#[tokio::test]
async fn unregistered_redirects_and_tampered_forms_are_refused_on_the_page() {
    let s = TestServer::start().await;
    let (app, _, person) = oauth_world(&s).await;
    let (status, html, _) = form(&s, &app, "https://evil.example/steal", "", "").await;
    assert_eq!(status, 400);
    assert!(html.contains("redirect URI is not whitelisted"));
    assert!(!html.contains("<form"));
    let (status, html, _) = form(&s, "999", REDIRECT, "", "").await;
    assert_eq!(status, 400);
    assert!(html.contains("Invalid App ID"));
    let (status, html, _) = form(&s, &app, REDIRECT, "not_a_scope", "").await;
    assert_eq!(status, 400);
    assert!(html.contains("Invalid Scopes"));
    // Changing a signed field after rendering invalidates the form.
    let (_, _, mut fields) = form(&s, &app, REDIRECT, "email", "st").await;
    for f in fields.iter_mut() {
        if f.0 == "scope" {
            f.1 = "email,ads_management".into();
        }
    }
    let r = submit(&s, &fields, &[("user", &person), ("password", "correct horse"), ("action", "allow")]).await;
    assert_eq!(r.status().as_u16(), 400);
    assert!(r.text().await.unwrap().contains("expired"));
}

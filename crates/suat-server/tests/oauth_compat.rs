//! What general-purpose OAuth2 clients send, at the HTTP level (the clients themselves run in `clients_oauth2.rs`):
//! `grant_type=authorization_code`, client credentials by `Authorization: Basic`, space-separated scopes, and the
//! `method` parameter that overrides the HTTP method (GRAPH-WIRE r2, sections 1 and 7).

mod common;
use common::*;

fn basic(id: &str, secret: &str) -> String {
    use base64::Engine;
    let enc = |s: &str| url::form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
    format!("Basic {}", base64::engine::general_purpose::STANDARD.encode(format!("{}:{}", enc(id), enc(secret))))
}

#[tokio::test]
async fn authorization_code_grant_with_basic_credentials_and_space_separated_scope() {
    let s = TestServer::start().await;
    let (app, secret, person) = oauth_world(&s).await;
    let code = obtain_code(&s, &app, &person, REDIRECT, "email public_profile").await;
    // As simple-oauth2 and Authlib send it: a form body, the secret only in the Basic header.
    let r = s
        .http
        .post(format!("{}/v25.0/oauth/access_token", s.url))
        .header("authorization", basic(&app, &secret))
        .form(&[("grant_type", "authorization_code"), ("code", &code), ("redirect_uri", REDIRECT)])
        .send()
        .await
        .unwrap();
    let a = answer(r).await;
    assert_eq!(a.ok()["token_type"], "bearer");
    assert_eq!(a.body["expires_in"], 5_184_000);
    let token = a.body["access_token"].as_str().unwrap().to_owned();
    assert_eq!(get(&s, "/me", &[("access_token", &token)]).await.ok(), &json!({"name": "Pat", "id": person}));
    let d = get(&s, "/debug_token", &[("input_token", &token), ("access_token", &app_token_of(&app, &secret))]).await;
    assert_eq!(d.ok()["data"]["scopes"], json!(["email", "public_profile"]));
    // The same code again: used, 100/36009.
    let r = s
        .http
        .post(format!("{}/oauth/access_token", s.url))
        .header("authorization", basic(&app, &secret))
        .form(&[("grant_type", "authorization_code"), ("code", &code), ("redirect_uri", REDIRECT)])
        .send()
        .await
        .unwrap();
    let again = answer(r).await;
    assert_eq!(again.err(), (100, Some(36009)));
    assert_eq!(again.msg(), "This authorization code has been used.");
    // grant_type=authorization_code without a code names the missing parameter.
    let a = get(
        &s,
        "/oauth/access_token",
        &[("grant_type", "authorization_code"), ("client_id", &app), ("client_secret", &secret)],
    )
    .await;
    assert_eq!(a.err(), (100, None));
    assert_eq!(a.msg(), "(#100) The parameter code is required");
}

#[tokio::test]
async fn basic_credentials_are_checked_like_parameters() {
    let s = TestServer::start().await;
    let (app, secret, person) = oauth_world(&s).await;
    let before = dump(&s).await;
    let with = |auth: String| {
        s.http
            .get(format!("{}/oauth/access_token", s.url))
            .header("authorization", auth)
            .query(&[("grant_type", "client_credentials")])
            .send()
    };
    // A wrong secret in the header: code 1, as in the parameters.
    let a = answer(with(basic(&app, "wrong")).await.unwrap()).await;
    assert_eq!(a.err(), (1, None));
    assert_eq!(a.msg(), "Error validating client secret.");
    // A header that does not decode: a parameter error.
    let a = answer(with("Basic %%%".into()).await.unwrap()).await;
    assert_eq!(a.err(), (100, None));
    // Nothing at all: the missing parameter.
    let a = get(&s, "/oauth/access_token", &[("grant_type", "client_credentials")]).await;
    assert_eq!(a.msg(), "(#100) The parameter client_id is required");
    assert_eq!(dump(&s).await, before, "refused requests change nothing");
    // A parameter wins over the header part: the right secret as a parameter beside a wrong Basic one.
    let r = s
        .http
        .get(format!("{}/oauth/access_token", s.url))
        .header("authorization", basic(&app, "wrong"))
        .query(&[("grant_type", "client_credentials"), ("client_secret", &secret)])
        .send()
        .await
        .unwrap();
    assert!(answer(r).await.ok()["access_token"].as_str().unwrap().starts_with(&format!("{app}|")));
    // A Basic header is never taken for the caller's token.
    let r = s.http.get(format!("{}/me", s.url)).header("authorization", basic(&app, &secret)).send().await.unwrap();
    assert_eq!(answer(r).await.err(), (104, None));
    // Nor does a malformed one break a call that reads no client credentials.
    let person_t = s.admin("POST", &format!("/users/{person}/tokens"), json!({"app_id": app})).await["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let r = s
        .http
        .get(format!("{}/me", s.url))
        .header("authorization", "Basic %%%")
        .query(&[("access_token", &person_t)])
        .send()
        .await
        .unwrap();
    assert_eq!(answer(r).await.ok()["id"], json!(person));
}

#[tokio::test]
async fn revoke_takes_basic_credentials() {
    let s = TestServer::start().await;
    let (app, secret, person) = oauth_world(&s).await;
    let code = obtain_code(&s, &app, &person, REDIRECT, "email").await;
    let t = get(
        &s,
        "/oauth/access_token",
        &[("client_id", &app), ("client_secret", &secret), ("redirect_uri", REDIRECT), ("code", &code)],
    )
    .await
    .ok()["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let r = s
        .http
        .post(format!("{}/oauth/revoke", s.url))
        .header("authorization", basic(&app, &secret))
        .form(&[("revoke_token", t.as_str()), ("access_token", t.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(answer(r).await.ok(), &json!({"success": true}));
    assert_eq!(get(&s, "/me", &[("access_token", &t)]).await.err(), (190, Some(466)));
    let last = s.admin("GET", "/audit?limit=1", Value::Null).await;
    assert_eq!(last["data"][0]["action"], "revoke");
}

#[tokio::test]
async fn the_dialog_takes_space_separated_scopes() {
    let s = TestServer::start().await;
    let (app, _, _) = oauth_world(&s).await;
    let html = s
        .http
        .get(format!("{}/dialog/oauth", s.url))
        .query(&[("client_id", app.as_str()), ("redirect_uri", REDIRECT), ("scope", "email public_profile")])
        .send()
        .await
        .unwrap();
    assert_eq!(html.status().as_u16(), 200);
    let html = html.text().await.unwrap();
    assert!(html.contains("<code>email</code>") && html.contains("<code>public_profile</code>"), "{html}");
    // An unknown name among spaces is still refused.
    let r = s
        .http
        .get(format!("{}/dialog/oauth", s.url))
        .query(&[("client_id", app.as_str()), ("redirect_uri", REDIRECT), ("scope", "email nonsense")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 400);
    assert!(r.text().await.unwrap().contains("Invalid Scopes"));
}

#[tokio::test]
async fn method_delete_on_a_post_revokes_all_and_never_mints() {
    let (s, f) = setup().await;
    install(&s, &f).await;
    let t1 = generate(&s, &f, "ads_read", false).await;
    let before = dump(&s).await["tokens"].as_array().unwrap().len();
    let p = proof(&f.app_secret, &f.admin_token);
    // Everything a mint needs, plus method=delete in the query (fbgraph's `del`): this is the DELETE.
    let a = post(
        &s,
        &format!("/v25.0/{}/access_tokens?method=delete", f.system_user_id),
        &[
            ("business_app", &f.app_id),
            ("scope", "ads_read"),
            ("appsecret_proof", &p),
            ("access_token", &f.admin_token),
        ],
    )
    .await;
    assert_eq!(a.ok(), &json!({"success": true}));
    assert!(a.body.get("access_token").is_none());
    let d = dump(&s).await;
    assert_eq!(d["tokens"].as_array().unwrap().len(), before, "no token minted");
    assert_eq!(get(&s, "/me", &[("access_token", &t1)]).await.err(), (190, Some(466)));
    // In the body, any case: the same.
    let t2 = generate(&s, &f, "ads_read", false).await;
    let n = dump(&s).await["tokens"].as_array().unwrap().len();
    let a = post(
        &s,
        &format!("/{}/access_tokens", f.system_user_id),
        &[("method", "DELETE"), ("business_app", &f.app_id), ("appsecret_proof", &p), ("access_token", &f.admin_token)],
    )
    .await;
    assert_eq!(a.ok(), &json!({"success": true}));
    assert_eq!(dump(&s).await["tokens"].as_array().unwrap().len(), n);
    assert_eq!(get(&s, "/me", &[("access_token", &t2)]).await.err(), (190, Some(466)));
    // method=get on a POST is a GET (/me answers), and an unknown method is refused, changing nothing.
    let t3 = generate(&s, &f, "ads_read", false).await;
    assert_eq!(post(&s, "/me?method=get", &[("access_token", &t3)]).await.ok()["id"], json!(f.system_user_id));
    let before = dump(&s).await;
    let a = post(
        &s,
        &format!("/{}/access_tokens?method=patch", f.system_user_id),
        &[("business_app", &f.app_id), ("appsecret_proof", &p), ("access_token", &f.admin_token)],
    )
    .await;
    assert_eq!(a.err(), (100, None));
    assert_eq!(dump(&s).await, before);
}

fn app_token_of(app: &str, secret: &str) -> String {
    format!("{app}|{secret}")
}

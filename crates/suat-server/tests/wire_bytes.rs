//! GRAPH-WIRE.md revision 2, byte for byte: per endpoint family, the status, the headers of section 3 and the exact
//! body text (key order included) of the success and of each error. `{TRACE}` in an expected body is the answer's
//! own `x-fb-request-id`: the error's `fbtrace_id` must be the id the headers name.

mod common;
use common::*;

/// 2023-11-14 22:13:20 UTC: every test here runs on this server clock, so issue and expiry times are exact.
const T0: i64 = 1_700_000_000;

/// Asserts the headers every answer carries (GRAPH-WIRE §3), for success and error alike.
fn section3(a: &Answer, version: &str) {
    let h = |k: &str| a.headers.get(k).map(|v| v.to_str().unwrap().to_owned()).unwrap_or_default();
    assert_eq!(h("content-type"), "application/json; charset=UTF-8");
    assert_eq!(h("facebook-api-version"), version);
    let trace = h("x-fb-trace-id");
    assert_eq!(trace.len(), 11, "{trace}");
    assert!(trace.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'+' || b == b'/'), "{trace}");
    let req_id = h("x-fb-request-id");
    assert!(req_id.len() == 23 && req_id.starts_with('A'), "{req_id}");
    assert!(!h("x-fb-rev").is_empty() && h("x-fb-rev").bytes().all(|b| b.is_ascii_digit()));
    assert_eq!(h("access-control-allow-origin"), "*");
    assert_eq!(h("pragma"), "no-cache");
    assert_eq!(h("expires"), "Sat, 01 Jan 2000 00:00:00 GMT");
    assert!(a.headers.get("retry-after").is_none());
    // Usage headers (§8) belong to answers to token-authenticated calls: never on a token error or a missing token,
    // never both regimes at once, and always of their exact shape. Which calls carry one: [`usage`].
    let app = a.headers.get("x-app-usage").map(|v| v.to_str().unwrap().to_owned());
    let buc = a.headers.get("x-business-use-case-usage").map(|v| v.to_str().unwrap().to_owned());
    assert!(app.is_none() || buc.is_none(), "one regime per answer");
    if matches!(a.body["error"]["code"].as_i64(), Some(190 | 104)) {
        assert!(app.is_none() && buc.is_none(), "no caller, no usage: {}", a.text);
    }
    if let Some(v) = &app {
        let re = regex_lite(v, &["{\"call_count\":", ",\"total_cputime\":", ",\"total_time\":", "}"]);
        assert!(re, "{v}");
    }
    if let Some(v) = &buc {
        let shaped = ["pages", "ads_management"].iter().any(|t| {
            let head = format!("\":[{{\"type\":\"{t}\",\"call_count\":");
            let tail = [",\"total_cputime\":", ",\"total_time\":", ",\"estimated_time_to_regain_access\":", "}]}"];
            regex_lite(v, &[&["{\"", head.as_str()][..], &tail].concat())
        });
        assert!(shaped, "{v}");
    }
    assert!(a.headers.keys().all(|k| !k.as_str().starts_with("ratelimit")));
    if (200..300).contains(&a.status) {
        assert_eq!(h("cache-control"), "private, no-cache, no-store, must-revalidate");
        assert!(a.headers.get("www-authenticate").is_none());
    } else {
        assert_eq!(h("cache-control"), "no-store");
    }
}

/// Whether `v` is the `parts` with a non-negative integer after each but the last, in order.
fn regex_lite(v: &str, parts: &[&str]) -> bool {
    let mut rest = v;
    for (i, p) in parts.iter().enumerate() {
        let Some(r) = rest.strip_prefix(p) else { return false };
        rest = r;
        if i + 1 < parts.len() {
            let n = rest.bytes().take_while(u8::is_ascii_digit).count();
            if n == 0 {
                return false;
            }
            rest = &rest[n..];
        }
    }
    rest.is_empty()
}

/// The usage header a call's answer must carry (GRAPH-WIRE §3, §8).
#[derive(Clone, Copy, Debug, PartialEq)]
enum Usage {
    /// No valid token came with the call (none, a bad one, or client credentials).
    Absent,
    /// An app or person token: `x-app-usage`.
    App,
    /// A system-user or page token: `x-business-use-case-usage`.
    Business,
}

fn usage(a: &Answer, expected: Usage) {
    let got = match (a.headers.get("x-app-usage"), a.headers.get("x-business-use-case-usage")) {
        (None, None) => Usage::Absent,
        (Some(_), _) => Usage::App,
        (None, Some(_)) => Usage::Business,
    };
    assert_eq!(got, expected, "{} {}", a.status, a.text);
}

/// Asserts status, section-3 headers and the exact body; for errors, also the `WWW-Authenticate` kind.
fn exact(a: &Answer, status: u16, body: &str) {
    assert_eq!(a.status, status, "{}", a.text);
    section3(a, "v25.0");
    let id = a.headers["x-fb-request-id"].to_str().unwrap();
    assert_eq!(a.text, body.replace("{TRACE}", id));
}

fn www(a: &Answer, kind: &str) {
    let msg = a.body["error"]["message"].as_str().unwrap();
    assert_eq!(
        a.headers["www-authenticate"].to_str().unwrap(),
        format!("OAuth \"Facebook Platform\" \"{kind}\" \"{msg}\"")
    );
}

/// A server whose clock stands still at [`T0`] (the control plane still moves it): a second ticking between two
/// calls cannot shift an issue or expiry time.
async fn at_t0() -> (TestServer, Fixture) {
    let s = TestServer::start_at(T0).await;
    let f = s.fixture().await;
    (s, f)
}

/// A page of the fixture business (`spec` gives its name and category) with MANAGE for each of `users`, each
/// assignment checked byte for byte.
async fn page_for(s: &TestServer, f: &Fixture, mut spec: Value, users: &[&String]) -> String {
    spec["business_id"] = json!(f.business_id);
    let p = s.admin("POST", "/pages", spec).await["id"].as_str().unwrap().to_owned();
    for user in users {
        let params = [("user", user.as_str()), ("tasks", "MANAGE"), ("access_token", &f.admin_token)];
        exact(&post(s, &format!("/{p}/assigned_users"), &params).await, 200, r#"{"success":true}"#);
    }
    p
}

fn err(kind: &str, code: i64, sub: Option<i64>, msg: &str) -> String {
    let sub = sub.map(|s| format!(",\"error_subcode\":{s}")).unwrap_or_default();
    format!(r#"{{"error":{{"message":"{msg}","type":"{kind}","code":{code}{sub},"fbtrace_id":"{{TRACE}}"}}}}"#)
}

#[tokio::test]
async fn nodes_and_fields() {
    let (s, f) = at_t0().await;
    let t = f.admin_token.as_str();
    let uid = &f.admin_user_id;
    let a = get(&s, "/v25.0/me", &[("access_token", t)]).await;
    exact(&a, 200, &format!(r#"{{"name":"Ada Admin","id":"{uid}"}}"#));
    usage(&a, Usage::App);
    assert_eq!(a.headers["x-app-usage"], r#"{"call_count":0,"total_cputime":0,"total_time":0}"#);
    let etag = a.headers["etag"].to_str().unwrap().to_owned();
    assert!(etag.len() == 42 && etag.starts_with('"') && etag[1..41].bytes().all(|b| b.is_ascii_hexdigit()), "{etag}");

    let a = get(&s, "/v25.0/me", &[("access_token", t), ("fields", "last_name,id,first_name")]).await;
    exact(&a, 200, &format!(r#"{{"last_name":"Admin","id":"{uid}","first_name":"Ada"}}"#));
    let a = get(&s, "/v25.0/me", &[("access_token", t), ("fields", "email,name")]).await;
    exact(&a, 200, &format!(r#"{{"name":"Ada Admin","id":"{uid}"}}"#));

    let a = get(&s, "/v25.0/me", &[("access_token", t), ("fields", "nonsense")]).await;
    exact(
        &a,
        400,
        &err("OAuthException", 100, None, "(#100) Tried accessing nonexisting field (nonsense) on node type (User)"),
    );
    www(&a, "invalid_request");
    usage(&a, Usage::App);

    let su = &f.system_user_id;
    let a = get(&s, &format!("/v25.0/{su}"), &[("access_token", t), ("fields", "role,name")]).await;
    exact(&a, 200, &format!(r#"{{"role":"ADMIN","name":"ci-bot","id":"{su}"}}"#));

    let b = &f.business_id;
    let a = get(&s, &format!("/v25.0/{b}"), &[("access_token", t), ("fields", "name,system_users{name,role}")]).await;
    exact(
        &a,
        200,
        &format!(
            r#"{{"name":"Acme","system_users":{{"data":[{{"name":"ci-bot","role":"ADMIN","id":"{su}"}}],"paging":{{"cursors":{{"before":"{c}","after":"{c}"}}}}}},"id":"{b}"}}"#,
            c = hex::encode(su)
        ),
    );
    let a = get(&s, &format!("/v25.0/{b}"), &[("access_token", t), ("fields", "owned_pages{nope}")]).await;
    exact(
        &a,
        400,
        &err("OAuthException", 100, None, "(#100) Tried accessing nonexisting field (nope) on node type (Page)"),
    );
}

#[tokio::test]
async fn etag_answers_304_without_a_body() {
    let (s, f) = at_t0().await;
    let url = format!("{}/v25.0/me?access_token={}", s.url, f.admin_token);
    let first = s.http.get(&url).send().await.unwrap();
    let etag = first.headers()["etag"].clone();
    let again = s.http.get(&url).header("if-none-match", etag.clone()).send().await.unwrap();
    assert_eq!(again.status(), 304);
    assert_eq!(again.headers()["etag"], etag);
    assert_eq!(again.text().await.unwrap(), "");
    let other = s.http.get(&url).header("if-none-match", "\"0000\"").send().await.unwrap();
    assert_eq!(other.status(), 200);
}

#[tokio::test]
async fn unknown_objects_aliases_and_paths() {
    let (s, f) = at_t0().await;
    let t = f.admin_token.as_str();
    let graph_docs = "Please read the Graph API documentation at https://developers.facebook.com/docs/graph-api";
    for id in ["999999", "18446744073709551615", "9223372036854775808"] {
        let a = get(&s, &format!("/v25.0/{id}"), &[("access_token", t)]).await;
        let msg = format!("Unsupported get request. Object with ID '{id}' does not exist, cannot be loaded due to missing permissions, or does not support this operation. {graph_docs}");
        exact(&a, 400, &err("GraphMethodException", 100, Some(33), &msg));
        www(&a, "invalid_request");
    }
    let a = get(&s, "/v25.0/nobody", &[("access_token", t)]).await;
    exact(&a, 400, &err("OAuthException", 803, None, "(#803) Some of the aliases you requested do not exist: nobody"));
    let a = get(&s, &format!("/v25.0/{}/nonsense", f.admin_user_id), &[("access_token", t)]).await;
    exact(&a, 400, &err("OAuthException", 2500, None, "Unknown path components: /nonsense"));
    let a = post(&s, "/v25.0/debug_token", &[("input_token", t), ("access_token", t)]).await;
    exact(&a, 400, &err("GraphMethodException", 100, Some(33), &format!("Unsupported post request. {graph_docs}")));
}

#[tokio::test]
async fn token_errors() {
    let (s, f) = at_t0().await;
    let cases = [
        ("not a token", "Invalid OAuth access token - Cannot parse access token".to_owned()),
        ("EAAB0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJ", "The access token could not be decrypted".to_owned()),
        (&*format!("{}|wrong-secret", f.app_id), "Invalid OAuth access token signature.".to_owned()),
        ("123456789|x", "Error validating application. Cannot get application info due to a system error.".to_owned()),
    ];
    for (token, msg) in cases {
        let a = get(&s, "/v25.0/me", &[("access_token", token)]).await;
        exact(&a, 400, &err("OAuthException", 190, None, &msg));
        www(&a, "invalid_token");
    }
    let a = get(&s, "/v25.0/me", &[]).await;
    exact(&a, 400, &err("OAuthException", 104, None, "An access token is required to request this resource."));
    let a = get(&s, "/v25.0/me", &[("access_token", &app_token(&f))]).await;
    exact(
        &a,
        400,
        &err(
            "OAuthException",
            2500,
            None,
            "An active access token must be used to query information about the current user.",
        ),
    );

    // Expired: the message names both instants in US Pacific time.
    install(&s, &f).await;
    let tok = generate(&s, &f, "ads_read", true).await;
    s.admin("POST", "/clock", json!({"set": T0 + 60 * 86400 + 5})).await;
    let a = get(&s, "/v25.0/me", &[("access_token", &tok)]).await;
    exact(
        &a,
        400,
        &err(
            "OAuthException",
            190,
            Some(463),
            "Error validating access token: Session has expired on Saturday, 13-Jan-24 14:13:20 PST. The current time is Saturday, 13-Jan-24 14:13:25 PST.",
        ),
    );
    www(&a, "invalid_token");
}

#[tokio::test]
async fn proofs_and_system_user_tokens() {
    let (s, f) = at_t0().await;
    install(&s, &f).await;
    let path = format!("/v25.0/{}/access_tokens", f.system_user_id);
    let base = [("business_app", f.app_id.as_str()), ("scope", "ads_read"), ("access_token", f.admin_token.as_str())];
    let a = post(&s, &path, &base).await;
    exact(
        &a,
        400,
        &err("GraphMethodException", 100, None, "API calls from the server require an appsecret_proof argument"),
    );
    www(&a, "invalid_request");
    // The token is valid: the call is counted (and reported) even though its proof is missing.
    usage(&a, Usage::App);
    let wrong = proof("another-apps-secret", &f.admin_token);
    let a = post(&s, &path, &[base.as_slice(), &[("appsecret_proof", wrong.as_str())]].concat()).await;
    exact(&a, 400, &err("GraphMethodException", 100, None, "Invalid appsecret_proof provided in the API argument"));
    let good = proof(&f.app_secret, &f.admin_token);
    let a = post(&s, &path, &[base.as_slice(), &[("appsecret_proof", good.as_str())]].concat()).await;
    let tok = a.ok()["access_token"].as_str().unwrap().to_owned();
    assert!(tok.starts_with("EAA") && (170..=220).contains(&tok.len()), "{tok}");
    exact(&a, 200, &format!(r#"{{"access_token":"{tok}"}}"#));
    assert!(a.headers.get("etag").is_none(), "only GETs carry an ETag");
    usage(&a, Usage::App);
    let a = get(&s, "/v25.0/me", &[("access_token", &tok), ("appsecret_proof", &proof(&f.app_secret, &tok))]).await;
    exact(&a, 200, &format!(r#"{{"name":"ci-bot","id":"{}"}}"#, f.system_user_id));
    usage(&a, Usage::Business);

    let a = post(
        &s,
        &format!("/v25.0/{}/system_users", f.business_id),
        &[("name", "bot2"), ("access_token", &f.admin_token)],
    )
    .await;
    let id = a.ok()["id"].as_str().unwrap().to_owned();
    exact(&a, 200, &format!(r#"{{"id":"{id}"}}"#));
}

#[tokio::test]
async fn oauth_endpoints() {
    let (s, f) = at_t0().await;
    let (app, secret) = (f.app_id.as_str(), f.app_secret.as_str());
    let a = get(
        &s,
        "/v25.0/oauth/access_token",
        &[("grant_type", "client_credentials"), ("client_id", app), ("client_secret", secret)],
    )
    .await;
    let at = a.ok()["access_token"].as_str().unwrap().to_owned();
    assert!(at.starts_with(&format!("{app}|")));
    exact(&a, 200, &format!(r#"{{"access_token":"{at}","token_type":"bearer"}}"#));
    usage(&a, Usage::Absent);

    install(&s, &f).await;
    let user = generate(&s, &f, "ads_read", true).await;
    let exchange = [
        ("grant_type", "fb_exchange_token"),
        ("client_id", app),
        ("client_secret", secret),
        ("fb_exchange_token", user.as_str()),
    ];
    let a = post(&s, "/v25.0/oauth/access_token", &exchange).await;
    let fresh = a.ok()["access_token"].as_str().unwrap().to_owned();
    exact(&a, 200, &format!(r#"{{"access_token":"{fresh}","token_type":"bearer","expires_in":5184000}}"#));
    usage(&a, Usage::Absent);

    let mut bad = exchange;
    bad[2].1 = "nope";
    let a = post(&s, "/v25.0/oauth/access_token", &bad).await;
    exact(&a, 400, &err("OAuthException", 1, None, "Error validating client secret."));
    www(&a, "invalid_request");
    bad[1].1 = "424242";
    let a = post(&s, "/v25.0/oauth/access_token", &bad).await;
    exact(&a, 400, &err("OAuthException", 101, None, "Error validating application. Invalid application ID."));

    let a = post(
        &s,
        "/v25.0/oauth/revoke",
        &[("client_id", app), ("client_secret", secret), ("revoke_token", &user), ("access_token", &fresh)],
    )
    .await;
    exact(&a, 200, r#"{"success":true}"#);
    usage(&a, Usage::Business);
    let a = get(&s, "/v25.0/me", &[("access_token", &user)]).await;
    exact(
        &a,
        400,
        &err(
            "OAuthException",
            190,
            Some(466),
            "Error validating access token: The session was invalidated explicitly using an API call.",
        ),
    );
}

#[tokio::test]
async fn debug_token_answers() {
    let (s, f) = at_t0().await;
    install(&s, &f).await;
    let tok = generate(&s, &f, "ads_read,pages_show_list", false).await;
    let (app, su) = (&f.app_id, &f.system_user_id);
    let a = get(&s, "/v25.0/debug_token", &[("input_token", &tok), ("access_token", &app_token(&f))]).await;
    exact(
        &a,
        200,
        &format!(
            r#"{{"data":{{"app_id":"{app}","type":"SYSTEM_USER","application":"Acme Ads","data_access_expires_at":0,"expires_at":0,"is_valid":true,"issued_at":{T0},"scopes":["ads_read","pages_show_list"],"granular_scopes":[{{"scope":"ads_read"}},{{"scope":"pages_show_list"}}],"user_id":"{su}"}}}}"#
        ),
    );
    let a = get(
        &s,
        "/v25.0/debug_token",
        &[("input_token", &tok), ("access_token", &app_token(&f)), ("fields", "user_id,app_id")],
    )
    .await;
    exact(&a, 200, &format!(r#"{{"data":{{"app_id":"{app}","user_id":"{su}"}}}}"#));

    // Revoked: still 200, no issued_at, no scopes kept.
    delete(&s, &format!("/v25.0/{su}/access_tokens"), &[("access_token", &f.admin_token)]).await.ok();
    let a = get(&s, "/v25.0/debug_token", &[("input_token", &tok), ("access_token", &app_token(&f))]).await;
    exact(
        &a,
        200,
        &format!(
            r#"{{"data":{{"app_id":"{app}","type":"SYSTEM_USER","application":"Acme Ads","data_access_expires_at":0,"error":{{"code":190,"message":"Error validating access token: The session was invalidated explicitly using an API call.","subcode":466}},"expires_at":0,"is_valid":false,"scopes":[],"user_id":"{su}"}}}}"#
        ),
    );

    let a = get(&s, "/v25.0/debug_token", &[("input_token", "garbage"), ("access_token", &app_token(&f))]).await;
    exact(
        &a,
        200,
        r#"{"data":{"error":{"code":190,"message":"Invalid OAuth access token - Cannot parse access token"},"is_valid":false,"scopes":[]}}"#,
    );
    let a = get(&s, "/v25.0/debug_token", &[("input_token", "garbage")]).await;
    exact(
        &a,
        400,
        &err(
            "OAuthException",
            100,
            None,
            "(#100) You must provide an app access token, or a user access token that is an owner or developer of the app",
        ),
    );
}

#[tokio::test]
async fn ids_and_batch() {
    let (s, f) = at_t0().await;
    let t = f.admin_token.as_str();
    let (uid, su) = (&f.admin_user_id, &f.system_user_id);
    let ids = format!("{uid},{su}");
    let a = get(&s, "/v25.0/", &[("ids", &ids), ("fields", "name"), ("access_token", t)]).await;
    exact(
        &a,
        200,
        &format!(r#"{{"{uid}":{{"name":"Ada Admin","id":"{uid}"}},"{su}":{{"name":"ci-bot","id":"{su}"}}}}"#),
    );
    let a = get(&s, "/v25.0/", &[("ids", &format!("{uid},999999")), ("access_token", t)]).await;
    assert_eq!(a.err(), (100, Some(33)));

    // A batch: each operation answered as alone, in order; the batch's token fills in, an operation's own wins.
    install(&s, &f).await;
    let ops = json!([
        {"method": "GET", "relative_url": "me?fields=name"},
        {"method": "GET", "relative_url": "v25.0/me?access_token=garbage"},
        {"method": "POST", "relative_url": format!("{su}/access_tokens"), "body": format!("business_app={}&scope=ads_read", f.app_id)},
    ])
    .to_string();
    let a = post(&s, "/v25.0/", &[("batch", &ops), ("include_headers", "false"), ("access_token", t)]).await;
    assert_eq!(a.status, 200, "{}", a.text);
    section3(&a, "v25.0");
    let items = a.body.as_array().unwrap();
    assert_eq!(items.len(), 3);
    assert_eq!(
        serde_json::to_string(&items[0]).unwrap(),
        format!(r#"{{"code":200,"body":"{{\"name\":\"Ada Admin\",\"id\":\"{uid}\"}}"}}"#)
    );
    assert_eq!(items[1]["code"], 400);
    let inner: Value = serde_json::from_str(items[1]["body"].as_str().unwrap()).unwrap();
    assert_eq!(
        (inner["error"]["code"].as_i64(), inner["error"]["message"].as_str()),
        (Some(190), Some("Invalid OAuth access token - Cannot parse access token"))
    );
    // Generating still demands its proof inside a batch: a batch cannot do what its operation could not.
    let inner: Value = serde_json::from_str(items[2]["body"].as_str().unwrap()).unwrap();
    assert_eq!(inner["error"]["message"], "API calls from the server require an appsecret_proof argument");

    // With headers (the default): name/value pairs of the operation's own answer.
    let ops = json!([{"method": "GET", "relative_url": "me"}]).to_string();
    let a = post(&s, "/v25.0/", &[("batch", &ops), ("access_token", t)]).await;
    let headers = a.body[0]["headers"].as_array().unwrap();
    assert!(
        headers.iter().any(|h| h["name"] == "content-type" && h["value"] == "application/json; charset=UTF-8"),
        "{headers:?}"
    );
    // A batch cannot reach the control plane, nor nest.
    // (The nested batch is a valid one: allowed, it would answer 200.)
    let nested = url::form_urlencoded::Serializer::new(String::new())
        .append_pair("batch", &json!([{"method": "GET", "relative_url": "me"}]).to_string())
        .finish();
    let ops = json!([
        {"method": "POST", "relative_url": "_suat/reset"},
        {"method": "POST", "relative_url": format!("?{nested}")},
    ])
    .to_string();
    let a = post(&s, "/v25.0/", &[("batch", &ops), ("access_token", t)]).await;
    assert_eq!(a.body[0]["code"], 400, "{}", a.text);
    assert_eq!(a.body[1]["code"], 400, "{}", a.text);
    assert!(a.body[1]["body"].as_str().unwrap().contains("Unknown path components"), "{}", a.text);
    let too_many = serde_json::to_string(&vec![json!({"method": "GET", "relative_url": "me"}); 51]).unwrap();
    let a = post(&s, "/v25.0/", &[("batch", &too_many), ("access_token", t)]).await;
    exact(
        &a,
        400,
        &err("OAuthException", 100, None, "(#100) Too many requests in batch message. Maximum batch size is 50"),
    );
}

#[tokio::test]
async fn accounts_paging_and_person_page_tokens() {
    let (s, f) = at_t0().await;
    install(&s, &f).await;
    let mut pages = Vec::new();
    for name in ["Alpha", "Beta", "Gamma"] {
        pages.push(
            page_for(&s, &f, json!({"name": name, "category": "Brand"}), &[&f.system_user_id, &f.admin_user_id]).await,
        );
    }
    let su = generate(&s, &f, "pages_show_list", false).await;
    let cat = suat_core::page::Page::category_id("Brand");
    let a = get(&s, "/v25.0/me/accounts", &[("limit", "2"), ("access_token", &su)]).await;
    let data = a.ok()["data"].as_array().unwrap();
    let tokens: Vec<&str> = data.iter().map(|d| d["access_token"].as_str().unwrap()).collect();
    let c = |i: usize| hex::encode(&pages[i]);
    let next = format!("{}/v25.0/me/accounts?access_token={su}&limit=2&after={}", s.url, c(1));
    exact(
        &a,
        200,
        &format!(
            r#"{{"data":[{{"access_token":"{}","category":"Brand","category_list":[{{"id":"{cat}","name":"Brand"}}],"name":"Alpha","id":"{}","tasks":["MANAGE"]}},{{"access_token":"{}","category":"Brand","category_list":[{{"id":"{cat}","name":"Brand"}}],"name":"Beta","id":"{}","tasks":["MANAGE"]}}],"paging":{{"cursors":{{"before":"{}","after":"{}"}},"next":"{next}"}}}}"#,
            tokens[0],
            pages[0],
            tokens[1],
            pages[1],
            c(0),
            c(1)
        ),
    );
    // The Bearer form keeps the token out of the next URL.
    let r =
        s.http.get(format!("{}/v25.0/me/accounts?limit=2&fields=name", s.url)).bearer_auth(&su).send().await.unwrap();
    let a = answer(r).await;
    assert_eq!(a.body["paging"]["next"], format!("{}/v25.0/me/accounts?fields=name&limit=2&after={}", s.url, c(1)));
    assert_eq!(a.body["data"][0], json!({"name": "Alpha", "id": pages[0]}));
    // Nested, as a field of /me.
    let a = get(&s, "/v25.0/me", &[("fields", "accounts.limit(1){name}"), ("access_token", &su)]).await;
    let next =
        format!("{}/v25.0/{}/accounts?fields=name&access_token={su}&limit=1&after={}", s.url, f.system_user_id, c(0));
    exact(
        &a,
        200,
        &format!(
            r#"{{"accounts":{{"data":[{{"name":"Alpha","id":"{}"}}],"paging":{{"cursors":{{"before":"{}","after":"{}"}},"next":"{next}"}}}},"id":"{}"}}"#,
            pages[0],
            c(0),
            c(0),
            f.system_user_id
        ),
    );

    // A person with a role and a page permission gets page tokens too; they never expire but die with their source.
    let person = s
        .admin(
            "POST",
            &format!("/users/{}/tokens", f.admin_user_id),
            json!({"app_id": f.app_id, "scopes": ["pages_show_list"]}),
        )
        .await["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let a = get(&s, &format!("/v25.0/{}", pages[2]), &[("fields", "access_token"), ("access_token", &person)]).await;
    let pt = a.ok()["access_token"].as_str().unwrap().to_owned();
    exact(&a, 200, &format!(r#"{{"access_token":"{pt}","id":"{}"}}"#, pages[2]));
    let d = get(&s, "/v25.0/debug_token", &[("input_token", &pt), ("access_token", &app_token(&f))]).await;
    assert_eq!((d.body["data"]["type"].as_str(), d.body["data"]["expires_at"].as_i64()), (Some("PAGE"), Some(0)));
    assert_eq!(d.body["data"]["profile_id"], json!(pages[2]));
    let a = get(&s, "/v25.0/me", &[("access_token", &pt)]).await;
    exact(&a, 200, &format!(r#"{{"name":"Gamma","id":"{}"}}"#, pages[2]));
    post(
        &s,
        "/v25.0/oauth/revoke",
        &[
            ("client_id", &f.app_id),
            ("client_secret", &f.app_secret),
            ("revoke_token", &person),
            ("access_token", &person),
        ],
    )
    .await
    .ok();
    assert_eq!(get(&s, "/v25.0/me", &[("access_token", &pt)]).await.err(), (190, Some(466)));
}

#[tokio::test]
async fn permissions_override_and_code_exchange() {
    let (s, f) = at_t0().await;
    let t = f.admin_token.as_str();
    let uid = &f.admin_user_id;
    let a = get(&s, "/v25.0/me", &[("fields", "permissions"), ("access_token", t)]).await;
    exact(
        &a,
        200,
        &format!(
            r#"{{"permissions":{{"data":[{{"permission":"business_management","status":"granted"}}]}},"id":"{uid}"}}"#
        ),
    );
    // A GET sent as POST ?method=get is answered as the GET it is, ETag included.
    let a = post(&s, "/v25.0/me", &[("method", "get"), ("access_token", t)]).await;
    exact(&a, 200, &format!(r#"{{"name":"Ada Admin","id":"{uid}"}}"#));
    assert!(a.headers.get("etag").is_some());

    // The code exchange and its errors (no prefix, WWW-Authenticate "invalid_code").
    let redirect = "https://app.example/cb";
    let app = s
        .admin("POST", "/apps", json!({"name": "Web", "owner_business": f.business_id, "redirect_uris": [redirect]}))
        .await;
    let (app_id, secret) = (app["id"].as_str().unwrap(), app["secret"].as_str().unwrap());
    let person = s.admin("POST", "/users", json!({"name": "Pat Doe", "password": "correct horse"})).await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let code = obtain_code(&s, app_id, &person, redirect, "email").await;
    let params = [
        ("client_id", app_id),
        ("client_secret", secret),
        ("redirect_uri", redirect),
        ("code", code.as_str()),
        ("grant_type", "authorization_code"),
    ];
    let a = post(&s, "/v25.0/oauth/access_token", &params).await;
    let tok = a.ok()["access_token"].as_str().unwrap().to_owned();
    exact(&a, 200, &format!(r#"{{"access_token":"{tok}","token_type":"bearer","expires_in":5184000}}"#));
    let a = post(&s, "/v25.0/oauth/access_token", &params).await;
    exact(&a, 400, &err("OAuthException", 100, Some(36009), "This authorization code has been used."));
    www(&a, "invalid_code");
    let mut bad = params;
    bad[3].1 = "AQnot-a-code";
    let a = post(&s, "/v25.0/oauth/access_token", &bad).await;
    exact(&a, 400, &err("OAuthException", 100, None, "Invalid verification code format."));
    www(&a, "invalid_code");
    let code = obtain_code(&s, app_id, &person, redirect, "email").await;
    let mut other = params;
    other[3].1 = code.as_str();
    other[2].1 = "https://app.example/other";
    let a = post(&s, "/v25.0/oauth/access_token", &other).await;
    exact(&a, 400, &err("OAuthException", 100, None, "Error validating verification code. Please make sure your redirect_uri is identical to the one you used in the OAuth dialog request"));
    s.admin("POST", "/clock", json!({"advance": 601})).await;
    other[2].1 = redirect;
    let a = post(&s, "/v25.0/oauth/access_token", &other).await;
    exact(&a, 400, &err("OAuthException", 100, None, "This authorization code has expired."));
    www(&a, "invalid_code");
    let a = get(&s, "/v25.0/me", &[("fields", "first_name,last_name"), ("access_token", &tok)]).await;
    exact(&a, 200, &format!(r#"{{"first_name":"Pat","last_name":"Doe","id":"{person}"}}"#));
}

#[tokio::test]
async fn other_methods_unknown_ids_and_page_tokens_on_permissions() {
    let (s, f) = at_t0().await;
    let t = f.admin_token.as_str();
    let docs = "Please read the Graph API documentation at https://developers.facebook.com/docs/graph-api";
    for (m, name) in [("POST", "post"), ("DELETE", "delete")] {
        for id in ["999999", "18446744073709551615", &f.admin_user_id] {
            let a = call(&s, m, &format!("/v25.0/{id}"), &[("access_token", t)]).await;
            let msg = format!("Unsupported {name} request. Object with ID '{id}' does not exist, cannot be loaded due to missing permissions, or does not support this operation. {docs}");
            exact(&a, 400, &err("GraphMethodException", 100, Some(33), &msg));
        }
        let a = call(&s, m, "/v25.0/nobody", &[("access_token", t)]).await;
        exact(
            &a,
            400,
            &err("OAuthException", 803, None, "(#803) Some of the aliases you requested do not exist: nobody"),
        );
        // assigned_users of something that is not a page: unknown object, alias, or no such edge.
        let params = [("user", f.system_user_id.as_str()), ("tasks", "MANAGE"), ("access_token", t)];
        let a = call(&s, m, "/v25.0/999999/assigned_users", &params).await;
        let msg = format!("Unsupported {name} request. Object with ID '999999' does not exist, cannot be loaded due to missing permissions, or does not support this operation. {docs}");
        exact(&a, 400, &err("GraphMethodException", 100, Some(33), &msg));
        let a = call(&s, m, "/v25.0/nobody/assigned_users", &params).await;
        exact(
            &a,
            400,
            &err("OAuthException", 803, None, "(#803) Some of the aliases you requested do not exist: nobody"),
        );
        let a = call(&s, m, &format!("/v25.0/{}/assigned_users", f.system_user_id), &params).await;
        exact(&a, 400, &err("OAuthException", 2500, None, "Unknown path components: /assigned_users"));
        // Without a token, nothing is looked up.
        let a = call(&s, m, "/v25.0/999999/assigned_users", &params[..2]).await;
        exact(&a, 400, &err("OAuthException", 104, None, "An access token is required to request this resource."));
    }
    // A path that is not UTF-8 is a Graph error like any other.
    let a = answer(s.http.get(format!("{}/v25.0/%FF/x?access_token={t}", s.url)).send().await.unwrap()).await;
    assert_eq!((a.status, a.err().0), (400, 2500), "{}", a.text);
    section3(&a, "v25.0");

    // A page token: /me is the page, which has no permissions edge (and cannot de-authorise its user).
    install(&s, &f).await;
    let page = page_for(&s, &f, json!({"name": "P"}), &[&f.system_user_id]).await;
    let su = generate(&s, &f, "pages_show_list", false).await;
    let pt = get(&s, &format!("/{page}"), &[("fields", "access_token"), ("access_token", &su)]).await.ok()
        ["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    for m in ["GET", "DELETE"] {
        let a = call(&s, m, "/v25.0/me/permissions", &[("access_token", &pt)]).await;
        exact(&a, 400, &err("OAuthException", 2500, None, "Unknown path components: /permissions"));
    }
    let a = get(
        &s,
        "/v25.0/debug_token",
        &[("input_token", &pt), ("access_token", &app_token(&f)), ("fields", "type,data_access_expires_at")],
    )
    .await;
    exact(&a, 200, r#"{"data":{"type":"PAGE","data_access_expires_at":0}}"#);
    let a = get(&s, "/v25.0/me/permissions", &[("fields", "status,nonsense"), ("access_token", t)]).await;
    exact(
        &a,
        400,
        &err(
            "OAuthException",
            100,
            None,
            "(#100) Tried accessing nonexisting field (nonsense) on node type (Permission)",
        ),
    );
    let a = get(&s, "/v25.0/me/permissions", &[("fields", "status"), ("access_token", t)]).await;
    exact(&a, 200, r#"{"data":[{"status":"granted"}]}"#);
    // A Bearer token never lands in a URL, not even through ?ids= and a nested edge (two pages: one per page).
    page_for(&s, &f, json!({"name": "Q"}), &[&f.system_user_id]).await;
    let r =
        s.http.get(format!("{}/v25.0/?ids=me&fields=accounts.limit(1)", s.url)).bearer_auth(&su).send().await.unwrap();
    let a = answer(r).await;
    let next = a.body["me"]["accounts"]["paging"]["next"].as_str().unwrap_or_else(|| panic!("{}", a.text)).to_owned();
    assert!(!a.text.contains(&su) && !next.contains("access_token"), "{}", a.text);
    // The role goes: the page token dies with 467, in the contract's words.
    delete(&s, &format!("/{page}/assigned_users"), &[("user", &f.system_user_id), ("access_token", t)]).await.ok();
    let a = get(&s, "/v25.0/me", &[("access_token", &pt)]).await;
    exact(
        &a,
        400,
        &err(
            "OAuthException",
            190,
            Some(467),
            "Error validating access token: The session is invalid because the user logged out.",
        ),
    );
}

/// A 60-day `email` token of the fixture's person, issued now.
async fn person_token(s: &TestServer, f: &Fixture) -> String {
    let body = json!({"app_id": f.app_id, "scopes": ["email"]});
    s.admin("POST", &format!("/users/{}/tokens", f.admin_user_id), body).await["access_token"]
        .as_str()
        .unwrap()
        .to_owned()
}

#[tokio::test]
async fn debug_token_kinds_and_session_errors() {
    let (s, f) = at_t0().await;
    let (app, uid) = (&f.app_id, &f.admin_user_id);
    let caller = app_token(&f);
    let debug = |input: String| {
        let (s, caller) = (&s, caller.clone());
        async move { get(s, "/v25.0/debug_token", &[("input_token", &input), ("access_token", &caller)]).await }
    };
    let (exp, dae) = (T0 + 60 * 86400, T0 + 90 * 86400);
    let x = person_token(&s, &f).await;
    exact(
        &debug(x.clone()).await,
        200,
        &format!(
            r#"{{"data":{{"app_id":"{app}","type":"USER","application":"Acme Ads","data_access_expires_at":{dae},"expires_at":{exp},"is_valid":true,"issued_at":{T0},"scopes":["email"],"granular_scopes":[{{"scope":"email"}}],"user_id":"{uid}"}}}}"#
        ),
    );
    exact(
        &debug(caller.clone()).await,
        200,
        &format!(
            r#"{{"data":{{"app_id":"{app}","type":"APP","application":"Acme Ads","is_valid":true,"scopes":[]}}}}"#
        ),
    );

    // 458: the app is uninstalled for the system user.
    install(&s, &f).await;
    let y = generate(&s, &f, "ads_read", false).await;
    let su = &f.system_user_id;
    delete(&s, &format!("/v25.0/{su}/applications"), &[("business_app", app), ("access_token", &f.admin_token)])
        .await
        .ok();
    let msg = format!("Error validating access token: The user has not authorized application {app}.");
    exact(&get(&s, "/v25.0/me", &[("access_token", &y)]).await, 400, &err("OAuthException", 190, Some(458), &msg));

    // 460: the person changed their password; debug_token keeps the scopes but not issued_at.
    s.admin("POST", &format!("/users/{uid}/password_change"), Value::Null).await;
    let msg = "Error validating access token: The session has been invalidated because the user changed their password or Facebook has changed the session for security reasons.";
    exact(&get(&s, "/v25.0/me", &[("access_token", &x)]).await, 400, &err("OAuthException", 190, Some(460), msg));
    exact(
        &debug(x.clone()).await,
        200,
        &format!(
            r#"{{"data":{{"app_id":"{app}","type":"USER","application":"Acme Ads","data_access_expires_at":{dae},"error":{{"code":190,"message":"{msg}","subcode":460}},"expires_at":{exp},"is_valid":false,"scopes":["email"],"granular_scopes":[{{"scope":"email"}}],"user_id":"{uid}"}}}}"#
        ),
    );

    // 463: expired; debug_token keeps every field.
    let z = person_token(&s, &f).await;
    s.admin("POST", "/clock", json!({"set": exp + 5})).await;
    let msg = "Error validating access token: Session has expired on Saturday, 13-Jan-24 14:13:20 PST. The current time is Saturday, 13-Jan-24 14:13:25 PST.";
    exact(
        &debug(z).await,
        200,
        &format!(
            r#"{{"data":{{"app_id":"{app}","type":"USER","application":"Acme Ads","data_access_expires_at":{dae},"error":{{"code":190,"message":"{msg}","subcode":463}},"expires_at":{exp},"is_valid":false,"issued_at":{T0},"scopes":["email"],"granular_scopes":[{{"scope":"email"}}],"user_id":"{uid}"}}}}"#
        ),
    );
}

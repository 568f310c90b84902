//! Rate limits (GRAPH-WIRE §8, issue 10): a loop over a configured quota is refused with the real code, status,
//! `is_transient` and message, the usage header counts up to 100 on the way, and moving the server clock past the
//! one-hour window lets the caller back in.

mod common;
use common::*;

/// 2023-11-14 22:13:20 UTC.
const T0: i64 = 1_700_000_000;

/// A server whose clock stands still at [`T0`] until the control plane moves it: "59 minutes 59 seconds later" must
/// not become an hour because a wall-clock second ticked during the test.
async fn at_t0() -> (TestServer, Fixture) {
    let s = TestServer::start_at(T0).await;
    let f = s.fixture().await;
    (s, f)
}

/// A usage header as JSON, if the answer has it.
fn usage(a: &Answer, name: &str) -> Option<Value> {
    a.headers.get(name).map(|v| serde_json::from_str(v.to_str().unwrap()).unwrap())
}

fn app_usage(a: &Answer) -> Value {
    assert!(a.headers.get("x-business-use-case-usage").is_none(), "one regime per answer");
    usage(a, "x-app-usage").unwrap_or_else(|| panic!("no x-app-usage on {} {}", a.status, a.text))
}

/// The single entry of an `x-business-use-case-usage` header, for `business`.
fn buc_usage(a: &Answer, business: &str) -> Value {
    assert!(a.headers.get("x-app-usage").is_none(), "one regime per answer");
    let h = usage(a, "x-business-use-case-usage").unwrap_or_else(|| panic!("no BUC usage on {} {}", a.status, a.text));
    let entries = h[business].as_array().unwrap_or_else(|| panic!("{h}"));
    assert_eq!(entries.len(), 1, "{h}");
    entries[0].clone()
}

/// GRAPH-WIRE §8: no Retry-After, no RateLimit-* headers, on refusals or otherwise.
fn no_retry_headers(a: &Answer) {
    for (name, _) in a.headers.iter() {
        let n = name.as_str();
        assert!(n != "retry-after" && !n.starts_with("ratelimit") && !n.starts_with("x-ratelimit"), "{n}");
    }
}

fn refused(a: &Answer, status: u16, code: i64, message: &str) {
    assert_eq!(a.status, status, "{}", a.text);
    assert_eq!(a.err(), (code, None));
    assert_eq!(a.msg(), message);
    assert_eq!(a.body["error"]["is_transient"], json!(true), "{}", a.text);
    assert_eq!(a.body["error"]["type"], "OAuthException");
    no_retry_headers(a);
}

#[tokio::test]
async fn an_app_over_its_quota_gets_4_until_the_window_rolls_over() {
    let (s, f) = at_t0().await;
    s.admin("POST", &format!("/apps/{}", f.app_id), json!({"rate_limit": 5})).await;
    let tok = app_token(&f);
    let path = format!("/v25.0/{}", f.app_id);
    for i in 1..=5 {
        let a = get(&s, &path, &[("access_token", &tok)]).await;
        a.ok();
        no_retry_headers(&a);
        let pct = i * 20;
        assert_eq!(app_usage(&a), json!({"call_count": pct, "total_cputime": pct, "total_time": pct}));
        // The exact bytes: integers, this key order.
        assert_eq!(
            a.headers["x-app-usage"],
            format!(r#"{{"call_count":{pct},"total_cputime":{pct},"total_time":{pct}}}"#).as_str()
        );
    }
    for _ in 0..3 {
        let a = get(&s, &path, &[("access_token", &tok)]).await;
        refused(&a, 403, 4, "(#4) Application request limit reached");
        assert_eq!(app_usage(&a)["call_count"], 100);
        assert!(a.text.starts_with(r#"{"error":{"message":"(#4) Application request limit reached","type":"OAuthException","is_transient":true,"code":4,"fbtrace_id":"#), "{}", a.text);
    }
    // The control plane reads the window: 5 calls of 5, refusals not counted.
    let u = s.admin("GET", "/usage", Value::Null).await;
    let w = u["windows"].as_array().unwrap().iter().find(|w| w["kind"] == "app").cloned().unwrap();
    assert_eq!((w["calls"].clone(), w["limit"].clone(), w["percent"].clone()), (json!(5), json!(5), json!(100)));
    assert_eq!(w["estimated_time_to_regain_access"], 60);
    assert_eq!(u["apps"][&f.app_id], 5);

    // 59 minutes 59 seconds later: still refused. One hour: back in, a fresh window.
    s.admin("POST", "/clock", json!({"advance": 3599})).await;
    let a = get(&s, &path, &[("access_token", &tok)]).await;
    refused(&a, 403, 4, "(#4) Application request limit reached");
    s.admin("POST", "/clock", json!({"advance": 1})).await;
    let a = get(&s, &path, &[("access_token", &tok)]).await;
    a.ok();
    assert_eq!(app_usage(&a)["call_count"], 20);

    // Issuance counts too: tokens minted for the app spend its allowance (client_credentials).
    let creds = [("grant_type", "client_credentials"), ("client_id", &*f.app_id), ("client_secret", &*f.app_secret)];
    let mint = || post(&s, "/oauth/access_token", &creds);
    for _ in 0..4 {
        mint().await.ok();
    }
    let a = mint().await;
    refused(&a, 403, 4, "(#4) Application request limit reached");

    // The refusals were counted by code.
    let text = s.http.get(format!("{}/metrics", s.url)).send().await.unwrap().text().await.unwrap();
    assert!(text.lines().any(|l| l.starts_with("suat_rate_limited_total{code=\"4\"}")), "{text}");

    // Reset forgets the counts and the override.
    s.admin("POST", "/reset", json!({"to": "empty"})).await;
    let u = s.admin("GET", "/usage", Value::Null).await;
    assert_eq!(u["windows"], json!([]));
    assert_eq!(u["apps"], json!({}));
}

#[tokio::test]
async fn a_system_user_over_its_business_quota_gets_80001_and_80004_until_the_window_rolls_over() {
    let (s, f) = at_t0().await;
    install(&s, &f).await;
    let pages = generate(&s, &f, "pages_show_list", false).await;
    let ads = generate(&s, &f, "ads_management", false).await;
    s.admin("POST", &format!("/businesses/{}", f.business_id), json!({"rate_limit": 4})).await;
    let me = |tok: String| {
        let p = proof(&f.app_secret, &tok);
        let s = &s;
        async move { get(s, "/v25.0/me", &[("access_token", &tok), ("appsecret_proof", &p)]).await }
    };
    for i in 1..=4 {
        let a = me(pages.clone()).await;
        a.ok();
        let pct = i * 25;
        let regain = if i == 4 { 60 } else { 0 };
        assert_eq!(
            buc_usage(&a, &f.business_id),
            json!({"type": "pages", "call_count": pct, "total_cputime": pct, "total_time": pct,
                   "estimated_time_to_regain_access": regain})
        );
    }
    let pages_msg = "There have been too many calls to this Page account. Wait a bit and try again. For more info, \
                     please refer to https://developers.facebook.com/docs/graph-api/overview/rate-limiting.";
    let a = me(pages.clone()).await;
    refused(&a, 400, 80001, pages_msg);
    assert_eq!(buc_usage(&a, &f.business_id)["call_count"], 100);
    assert_eq!(buc_usage(&a, &f.business_id)["estimated_time_to_regain_access"], 60);
    assert_eq!(
        a.headers["x-business-use-case-usage"],
        format!(
            r#"{{"{}":[{{"type":"pages","call_count":100,"total_cputime":100,"total_time":100,"estimated_time_to_regain_access":60}}]}}"#,
            f.business_id
        )
        .as_str()
    );

    // The ads use case has a window of its own.
    for i in 1..=4 {
        let a = me(ads.clone()).await;
        a.ok();
        let u = buc_usage(&a, &f.business_id);
        assert_eq!((u["type"].clone(), u["call_count"].clone()), (json!("ads_management"), json!(i * 25)));
    }
    let a = me(ads.clone()).await;
    refused(
        &a,
        400,
        80004,
        "There have been too many calls to this ad-account. Wait a bit and try again. For more info, please refer to \
         https://developers.facebook.com/docs/graph-api/overview/rate-limiting#ads-management.",
    );
    assert_eq!(buc_usage(&a, &f.business_id)["type"], "ads_management");

    // 30 minutes on: still refused, half an hour left to wait.
    s.admin("POST", "/clock", json!({"advance": 1800})).await;
    let a = me(pages.clone()).await;
    refused(&a, 400, 80001, pages_msg);
    assert_eq!(buc_usage(&a, &f.business_id)["estimated_time_to_regain_access"], 30);
    s.admin("POST", "/clock", json!({"advance": 1800})).await;
    let a = me(pages.clone()).await;
    a.ok();
    assert_eq!(buc_usage(&a, &f.business_id)["call_count"], 25);
    me(ads.clone()).await.ok();
}

#[tokio::test]
async fn a_person_over_their_quota_gets_17_with_http_400() {
    let (s, f) = at_t0().await;
    s.admin("POST", &format!("/apps/{}", f.app_id), json!({"user_rate_limit": 2})).await;
    let p = proof(&f.app_secret, &f.admin_token);
    let params = [("access_token", &*f.admin_token), ("appsecret_proof", &*p)];
    let me = || get(&s, "/v25.0/me", &params);
    let a = me().await;
    a.ok();
    assert_eq!(app_usage(&a)["call_count"], 50);
    let a = me().await;
    a.ok();
    assert_eq!(app_usage(&a)["call_count"], 100);
    let a = me().await;
    refused(&a, 400, 17, "(#17) User request limit reached");
    assert_eq!(app_usage(&a)["call_count"], 100);
    // The app itself is not throttled: its own token still gets through.
    let a = get(&s, &format!("/v25.0/{}", f.app_id), &[("access_token", &app_token(&f))]).await;
    a.ok();
    assert!(app_usage(&a)["call_count"].as_i64().unwrap() < 100);
    s.admin("POST", "/clock", json!({"advance": 3600})).await;
    me().await.ok();
}

#[tokio::test]
async fn no_usage_header_without_an_authenticated_token() {
    let (s, f) = at_t0().await;
    // Client credentials: the app proves itself with its secret, not a token; issuance is counted, not reported.
    let a = post(
        &s,
        "/oauth/access_token",
        &[("grant_type", "client_credentials"), ("client_id", &f.app_id), ("client_secret", &f.app_secret)],
    )
    .await;
    a.ok();
    for a in [
        a,
        get(&s, "/v25.0/me", &[]).await,
        get(&s, "/v25.0/me", &[("access_token", "not a token")]).await,
        get(&s, "/v25.0/me", &[("access_token", &format!("{}|wrong-secret", f.app_id))]).await,
    ] {
        assert!(a.headers.get("x-app-usage").is_none(), "{} {}", a.status, a.text);
        assert!(a.headers.get("x-business-use-case-usage").is_none(), "{} {}", a.status, a.text);
    }
    // The control plane is not the Graph: no usage headers there either.
    let r = s.http.get(format!("{}/_suat/usage", s.url)).bearer_auth(&s.admin_key).send().await.unwrap();
    assert!(r.headers().get("x-app-usage").is_none());
}

#[tokio::test]
async fn quotas_are_checked_on_the_control_plane() {
    let (s, f) = at_t0().await;
    let bad = |path: String, body: Value| {
        let s = &s;
        async move {
            s.http
                .post(format!("{}/_suat{path}", s.url))
                .bearer_auth(&s.admin_key)
                .json(&body)
                .send()
                .await
                .unwrap()
                .status()
                .as_u16()
        }
    };
    assert_eq!(bad(format!("/businesses/{}", f.business_id), json!({"rate_limit": -1})).await, 400);
    assert_eq!(bad(format!("/businesses/{}", f.business_id), json!({})).await, 400);
    assert_eq!(bad("/businesses/999999".into(), json!({"rate_limit": 1})).await, 400);
    assert_eq!(bad(format!("/apps/{}", f.app_id), json!({"rate_limit": "x"})).await, 400);
    assert_eq!(bad(format!("/businesses/{}", f.business_id), json!({"rate_limit": 0})).await, 200);
}

#[tokio::test]
async fn a_seed_sets_quotas_that_a_reset_keeps() {
    let (s, f) = at_t0().await;
    let seed = format!("[rate_limits]\nuser = 7\napps = {{ \"{}\" = 2 }}\n", f.app_id);
    suat_service::seed::apply(&s.state.svc, &seed, false).await.unwrap();
    s.admin("POST", "/reset", json!({"to": "empty"})).await;
    let u = s.admin("GET", "/usage", Value::Null).await;
    assert_eq!((u["apps"][&f.app_id].clone(), u["defaults"]["user"].clone()), (json!(2), json!(7)));
    // The reset emptied the store, but the seed's quota is by id and still in force.
    let limits = &s.state.svc.limits;
    let app = suat_core::AppId(f.app_id.parse().unwrap());
    assert!(limits.mint(app, T0).is_ok() && limits.mint(app, T0).is_ok());
    assert!(limits.mint(app, T0).is_err());
    assert!(suat_service::seed::apply(&s.state.svc, "[rate_limits]\nbusinesses = { x = 1 }\n", false).await.is_err());
}

#[tokio::test]
async fn a_page_token_counts_under_its_business_pages_use_case() {
    let (s, f) = at_t0().await;
    let page = s.admin("POST", "/pages", json!({"name": "Acme Page", "business_id": f.business_id})).await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    post(
        &s,
        &format!("/v25.0/{page}/assigned_users"),
        &[("user", &f.system_user_id), ("tasks", "MANAGE"), ("access_token", &f.admin_token)],
    )
    .await
    .ok();
    install(&s, &f).await;
    let su = generate(&s, &f, "pages_show_list", false).await;
    let a = get(&s, &format!("/v25.0/{page}"), &[("fields", "access_token"), ("access_token", &su)]).await;
    let pt = a.ok()["access_token"].as_str().unwrap().to_owned();
    s.admin("POST", &format!("/businesses/{}", f.business_id), json!({"rate_limit": 3})).await;
    // The system user's call above predates the quota but is in the same window: 1 of 3 spent.
    for pct in [66, 100] {
        let a = get(&s, "/v25.0/me", &[("access_token", &pt)]).await;
        assert_eq!(a.ok()["id"], json!(page));
        let u = buc_usage(&a, &f.business_id);
        assert_eq!((u["type"].clone(), u["call_count"].clone()), (json!("pages"), json!(pct)));
    }
    let a = get(&s, "/v25.0/me", &[("access_token", &pt)]).await;
    assert_eq!((a.status, a.err()), (400, (80001, None)));
    assert_eq!(buc_usage(&a, &f.business_id)["call_count"], 100);
}

//! The wire contract: versioned and unversioned paths, headers, parameter sources and encodings, and bad input that
//! must get a Graph error while leaving the store untouched.

mod common;
use common::*;

#[tokio::test]
async fn headers_on_success_and_error() {
    let (s, f) = setup().await;
    for (path, want) in [("/v2.8/me", "v2.8"), ("/v26.0/me", "v26.0"), ("/me", "v25.0")] {
        let a = get(&s, path, &[("access_token", &f.admin_token)]).await;
        a.ok();
        assert_eq!(a.headers["facebook-api-version"], want);
        assert_eq!(a.headers["content-type"], "application/json; charset=UTF-8");
        assert_eq!(a.headers["cache-control"], "private, no-cache, no-store, must-revalidate");
    }
    let e = get(&s, "/v25.0/me", &[("access_token", "EAAbogus")]).await;
    assert_eq!(e.err(), (190, None));
    assert_eq!(e.msg(), "Invalid OAuth access token - Cannot parse access token");
    assert_eq!(e.headers["content-type"], "application/json; charset=UTF-8");
    assert_eq!(e.headers["facebook-api-version"], "v25.0");
    let www = e.headers["www-authenticate"].to_str().unwrap();
    assert_eq!(
        www,
        "OAuth \"Facebook Platform\" \"invalid_token\" \"Invalid OAuth access token - Cannot parse access token\""
    );
    let e = get(
        &s,
        "/oauth/access_token",
        &[("grant_type", "client_credentials"), ("client_id", &f.app_id), ("client_secret", "nope")],
    )
    .await;
    assert_eq!(
        e.headers["www-authenticate"],
        "OAuth \"Facebook Platform\" \"invalid_request\" \"Error validating client secret.\""
    );
}

#[tokio::test]
async fn unknown_paths_and_objects() {
    let (s, f) = setup().await;
    let a = get(&s, "/v25.0/me/frobnicate", &[("access_token", &f.admin_token)]).await;
    assert_eq!(a.err(), (2500, None));
    assert_eq!(a.msg(), "Unknown path components: /frobnicate");
    assert_eq!(a.status, 400);
    let a = get(&s, "/v25.0/123456789", &[("access_token", &f.admin_token)]).await;
    assert_eq!(a.err(), (100, Some(33)));
    assert_eq!(a.body["error"]["type"], "GraphMethodException");
    assert_eq!(
        a.msg(),
        "Unsupported get request. Object with ID '123456789' does not exist, cannot be loaded due to missing permissions, or does not support this operation. Please read the Graph API documentation at https://developers.facebook.com/docs/graph-api"
    );
    // Objects of the caller's own business are visible.
    get(&s, &format!("/{}", f.system_user_id), &[("access_token", &f.admin_token)]).await.ok();
}

#[tokio::test]
async fn parameters_from_json_multipart_bearer_and_doc_list_syntax() {
    let (s, f) = setup().await;
    install(&s, &f).await;
    let p = proof(&f.app_secret, &f.admin_token);
    let url = format!("{}/v25.0/{}/access_tokens", s.url, f.system_user_id);
    // JSON body with a JSON list, token in the Authorization header (as the Node SDK does).
    let r = s
        .http
        .post(&url)
        .bearer_auth(&f.admin_token)
        .json(&json!({"business_app": f.app_id, "scope": ["ads_read", "ads_management"], "appsecret_proof": p, "set_token_expires_in_60_days": true}))
        .send()
        .await
        .unwrap();
    let a = answer(r).await;
    let t = a.ok()["access_token"].as_str().unwrap().to_owned();
    let d = get(&s, "/debug_token", &[("input_token", &t), ("access_token", &app_token(&f))]).await;
    assert_eq!(d.ok()["data"]["scopes"], json!(["ads_read", "ads_management"]));
    assert!(d.body["data"]["expires_at"].as_i64().unwrap() > 0);
    // multipart/form-data (curl -F), with Meta's own ['A', 'B'] list syntax.
    let form = reqwest::multipart::Form::new()
        .text("business_app", f.app_id.clone())
        .text("scope", "['ads_read', 'business_management']")
        .text("appsecret_proof", p.clone())
        .text("access_token", f.admin_token.clone());
    let a = answer(s.http.post(&url).multipart(form).send().await.unwrap()).await;
    let t = a.ok()["access_token"].as_str().unwrap().to_owned();
    let d = get(&s, "/debug_token", &[("input_token", &t), ("access_token", &app_token(&f))]).await;
    assert_eq!(d.ok()["data"]["scopes"], json!(["ads_read", "business_management"]));
    assert_eq!(d.body["data"]["expires_at"], 0);
    // Query-string parameters on a POST, merged with a form body.
    let r = s
        .http
        .post(format!("{url}?business_app={}&appsecret_proof={p}", f.app_id))
        .form(&[
            ("access_token", f.admin_token.as_str()),
            ("scope", "ads_read"),
            ("summary", "true"),
            ("format", "json"),
        ])
        .send()
        .await
        .unwrap();
    answer(r).await.ok();
}

/// Sends a raw request and asserts a Graph 4xx error and an unchanged store.
async fn bad(s: &TestServer, req: reqwest::RequestBuilder, needle: &str) {
    let before = dump(s).await;
    let a = answer(req.send().await.unwrap()).await;
    assert_eq!(a.status, 400, "{}", a.body);
    assert!(a.body["error"]["code"].is_i64(), "{}", a.body);
    assert!(a.msg().contains(needle), "{:?} lacks {needle:?}", a.msg());
    assert_eq!(dump(s).await, before, "bad input changed the store");
}

#[tokio::test]
async fn bad_input_gets_a_graph_error_and_changes_nothing() {
    let (s, f) = setup().await;
    install(&s, &f).await;
    let url = format!("{}/v25.0/{}/access_tokens", s.url, f.system_user_id);
    let p = proof(&f.app_secret, &f.admin_token);
    let h = &s.http;
    bad(&s, h.post(&url).header("content-type", "application/json").body("{\"business_app\": "), "not valid JSON")
        .await;
    bad(&s, h.post(&url).header("content-type", "application/json").body("[1,2]"), "must be an object").await;
    bad(
        &s,
        h.post(&url).header("content-type", "multipart/form-data; boundary=zz").body("--zz\r\nbroken"),
        "multipart",
    )
    .await;
    // A 1 MB parameter.
    let huge = "A".repeat(1_000_000);
    bad(
        &s,
        h.post(&url).form(&[
            ("business_app", f.app_id.as_str()),
            ("scope", huge.as_str()),
            ("access_token", f.admin_token.as_str()),
        ]),
        "too large",
    )
    .await;
    let big = "A".repeat(100_000);
    bad(
        &s,
        h.post(&url).form(&[
            ("business_app", f.app_id.as_str()),
            ("scope", big.as_str()),
            ("access_token", f.admin_token.as_str()),
        ]),
        "too long",
    )
    .await;
    // Invalid UTF-8 in the body and in the query.
    bad(
        &s,
        h.post(&url)
            .header("content-type", "application/x-www-form-urlencoded")
            .body(b"scope=%C3%28&business_app=1".to_vec()),
        "UTF-8",
    )
    .await;
    bad(&s, h.post(format!("{url}?scope=%FF%FE")).form(&[("access_token", f.admin_token.as_str())]), "UTF-8").await;
    // Wrong types.
    bad(
        &s,
        h.post(&url).form(&[
            ("business_app", "not-a-number"),
            ("access_token", f.admin_token.as_str()),
            ("appsecret_proof", p.as_str()),
        ]),
        "business_app must be a valid ID",
    )
    .await;
    bad(&s, h.post(&url).json(&json!({"business_app": f.app_id, "set_token_expires_in_60_days": "maybe", "access_token": f.admin_token, "appsecret_proof": p})), "must be a boolean").await;
    bad(
        &s,
        h.post(&url).json(
            &json!({"business_app": f.app_id, "scope": {"a": 1}, "access_token": f.admin_token, "appsecret_proof": p}),
        ),
        "Provided permission is not valid",
    )
    .await;
    bad(
        &s,
        h.post(&url).json(&json!({"business_app": [1, 2], "access_token": f.admin_token, "appsecret_proof": p})),
        "business_app must be a valid ID",
    )
    .await;
    // Unknown ids.
    bad(
        &s,
        h.post(format!("{}/v25.0/99999999/access_tokens", s.url)).form(&[
            ("business_app", f.app_id.as_str()),
            ("access_token", f.admin_token.as_str()),
            ("appsecret_proof", p.as_str()),
        ]),
        "does not exist",
    )
    .await;
    bad(
        &s,
        h.post(format!("{}/v25.0/not-an-id/applications", s.url))
            .form(&[("business_app", f.app_id.as_str()), ("access_token", f.admin_token.as_str())]),
        "(#803) Some of the aliases you requested do not exist: not-an-id",
    )
    .await;
    // An id past a signed 64-bit integer is no object, never a server fault.
    bad(
        &s,
        h.get(format!("{}/v25.0/18446744073709551615", s.url)).query(&[("access_token", f.admin_token.as_str())]),
        "Object with ID '18446744073709551615' does not exist",
    )
    .await;
    bad(&s, h.get(format!("{}/v25.0/oauth/access_token?grant_type=fb_exchange_token&client_id=abc&client_secret=x&fb_exchange_token=y", s.url)), "Invalid application ID").await;
    // A NUL byte and a huge token.
    bad(&s, h.get(format!("{}/me?access_token=EAA%00x", s.url)), "NUL").await;
    let long_tok = "E".repeat(5000);
    bad(&s, h.get(format!("{}/me", s.url)).bearer_auth(long_tok), "Cannot parse access token").await;
    // The control plane refuses without its key, and with a malformed body.
    let a =
        answer(h.post(format!("{}/_suat/businesses", s.url)).json(&json!({"name": "x"})).send().await.unwrap()).await;
    assert_eq!(a.status, 401);
    assert_eq!(a.headers["cache-control"], "no-store");
    // Control-plane answers carry secrets: never cached either.
    let created = h
        .post(format!("{}/_suat/apps", s.url))
        .bearer_auth(&s.admin_key)
        .json(&json!({"name": "cached?"}))
        .send()
        .await
        .unwrap();
    assert_eq!(created.headers()["cache-control"], "no-store");
    let before = dump(&s).await;
    let a = answer(
        h.post(format!("{}/_suat/apps", s.url))
            .bearer_auth(&s.admin_key)
            .json(&json!({"name": "x", "permissions": ["nope"]}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(a.err(), (3962, None));
    let a = answer(
        h.post(format!("{}/_suat/apps", s.url))
            .bearer_auth(&s.admin_key)
            .json(&json!({"nam": "x"}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(a.err(), (100, None));
    assert_eq!(dump(&s).await, before);
}

#[tokio::test]
async fn oauth_endpoints_take_get_and_post_and_ignore_stray_params() {
    let (s, f) = setup().await;
    // Each method as sent, and a POST that says it is a GET (fbgraph, old JS SDKs).
    for (m, stray) in [("GET", ("summary", "true")), ("POST", ("summary", "true")), ("POST", ("method", "get"))] {
        let a = call(
            &s,
            m,
            "/v25.0/oauth/access_token",
            &[
                ("grant_type", "client_credentials"),
                ("client_id", &f.app_id),
                ("client_secret", &f.app_secret),
                ("access_token", "stray"),
                stray,
            ],
        )
        .await;
        assert!(a.ok()["access_token"].as_str().unwrap().starts_with(&f.app_id));
    }
}

#[tokio::test]
async fn tokens_are_stored_only_as_keyed_hashes_and_secrets_sealed() {
    let (s, f) = setup().await;
    install(&s, &f).await;
    let t = generate(&s, &f, "ads_read", false).await;
    // Flush the WAL so the file holds everything, then search its raw bytes.
    drop(s.store.dump().await.unwrap());
    let mut raw = std::fs::read(&s.db_path).unwrap();
    let mut wal = s.db_path.clone().into_os_string();
    wal.push("-wal");
    raw.extend(std::fs::read(wal).unwrap_or_default());
    let has = |needle: &str| raw.windows(needle.len()).any(|w| w == needle.as_bytes());
    assert!(!has(&t), "token stored in clear");
    assert!(!has(&f.admin_token), "user token stored in clear");
    assert!(!has(&f.app_secret), "app secret stored in clear");
    assert!(has("Acme Ads"), "sanity: the scan sees plain data");
}

/// Every error answer is a JSON Graph envelope, whatever produced it: the control plane's 405 and a body over its
/// limit (413) included, with their statuses kept.
#[tokio::test]
async fn router_and_extractor_errors_are_graph_envelopes() {
    let s = TestServer::start().await;
    let check = |a: &Answer, status: u16, needle: &str| {
        assert_eq!(a.status, status, "{}", a.text);
        assert_eq!(a.headers["content-type"], "application/json; charset=UTF-8");
        assert_eq!(a.err().0, 100, "{}", a.text);
        assert!(a.msg().contains(needle), "{:?} lacks {needle:?}", a.msg());
        assert!(a.headers.get("www-authenticate").is_some());
    };
    let r = s.http.delete(format!("{}/_suat/clock", s.url)).bearer_auth(&s.admin_key).send().await.unwrap();
    check(&answer(r).await, 405, "does not take this HTTP method");
    let big = format!("{{\"name\": \"{}\"}}", "x".repeat(3 << 20));
    let r = s
        .http
        .post(format!("{}/_suat/businesses", s.url))
        .bearer_auth(&s.admin_key)
        .header("content-type", "application/json")
        .body(big)
        .send()
        .await
        .unwrap();
    check(&answer(r).await, 413, "too large");
    assert_eq!(s.admin("GET", "/dump", Value::Null).await["businesses"], json!([]), "nothing was created");
}

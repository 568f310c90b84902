//! Issue 10: fault rules (one test per effect), the request journal (no secrets in it), `/metrics`, and the Python
//! facebook-business SDK observing an injected transient error.

mod common;
use common::*;
use std::time::{Duration, Instant};

async fn add_fault(s: &TestServer, rule: Value) -> String {
    s.admin("POST", "/faults", rule).await["id"].as_str().unwrap().to_owned()
}

async fn me(s: &TestServer, f: &Fixture) -> Answer {
    get(s, "/v25.0/me", &[("access_token", &f.admin_token)]).await
}

#[tokio::test]
async fn an_error_rule_answers_a_graph_error_through_the_envelope_and_mints_nothing() {
    let (s, f) = setup().await;
    install(&s, &f).await;
    let id = add_fault(
        &s,
        json!({"method": "POST", "path": "/*/access_tokens", "token_kind": "USER", "app_id": f.app_id,
               "error": {"code": 190, "subcode": 463, "status": 401, "message": "Session has expired"}}),
    )
    .await;
    let p = proof(&f.app_secret, &f.admin_token);
    let params = [("business_app", f.app_id.as_str()), ("appsecret_proof", &p), ("access_token", &f.admin_token)];
    let a = post(&s, &format!("/v25.0/{}/access_tokens", f.system_user_id), &params).await;
    assert_eq!(a.status, 401);
    assert_eq!(a.err(), (190, Some(463)));
    assert_eq!(a.msg(), "Session has expired");
    assert_eq!(a.body["error"]["fbtrace_id"], a.headers["x-fb-request-id"].to_str().unwrap());
    assert!(a.headers["www-authenticate"]
        .to_str()
        .unwrap()
        .starts_with("OAuth \"Facebook Platform\" \"invalid_token\""));
    assert_eq!(a.headers["facebook-api-version"], "v25.0");
    assert!(dump(&s).await["tokens"].as_array().unwrap().iter().all(|t| t["kind"] != "SYSTEM_USER"));
    // Other paths, methods and token kinds are untouched.
    me(&s, &f).await.ok();
    let rules = s.admin("GET", "/faults", Value::Null).await;
    assert_eq!(rules["data"][0]["hits"], 1);
    // Removed, the call goes through.
    s.admin("DELETE", &format!("/faults/{id}"), Value::Null).await;
    assert_eq!(s.admin("GET", "/faults", Value::Null).await["data"], json!([]));
    post(&s, &format!("/v25.0/{}/access_tokens", f.system_user_id), &params).await.ok();
    // An injected 5xx is transient code 2 by default, and is not counted as a fault of the server.
    add_fault(&s, json!({"path": "/me", "error": {"code": 2}})).await;
    let a = me(&s, &f).await;
    assert_eq!((a.status, a.err().0, &a.body["error"]["is_transient"]), (500, 2, &json!(true)));
    assert_eq!(s.take_server_errors(), 0);
}

#[tokio::test]
async fn a_latency_rule_delays_the_answer_and_lets_it_through() {
    let (s, f) = setup().await;
    add_fault(&s, json!({"path": "/me", "latency_ms": 400})).await;
    let start = Instant::now();
    let a = me(&s, &f).await;
    assert!(start.elapsed() >= Duration::from_millis(400), "{:?}", start.elapsed());
    assert_eq!(a.ok()["id"], f.admin_user_id.as_str());
    let j = s.admin("GET", "/requests?path=/me", Value::Null).await;
    assert!(j["data"][0]["latency_ms"].as_f64().unwrap() >= 400.0, "{j}");
    // A bound: no rule may park a request for ever.
    let r = s.http.post(format!("{}/_suat/faults", s.url)).bearer_auth(&s.admin_key);
    let r = r.json(&json!({"latency_ms": 3_600_000})).send().await.unwrap();
    assert_eq!(r.status(), 400);
}

#[tokio::test]
async fn a_drop_rule_closes_the_connection_without_an_answer() {
    let (s, f) = setup().await;
    add_fault(&s, json!({"path": "/me", "drop": true, "times": 1})).await;
    let r = s.http.get(format!("{}/v25.0/me", s.url)).query(&[("access_token", &f.admin_token)]).send().await;
    let e = r.expect_err("no answer");
    assert!(!e.is_status() && !e.is_timeout(), "{e:?}");
    // A raw socket sees the connection closed with not a byte written.
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    add_fault(&s, json!({"path": "/me", "drop": true, "times": 1})).await;
    let mut sock = tokio::net::TcpStream::connect(s.url.trim_start_matches("http://")).await.unwrap();
    sock.write_all(b"GET /me HTTP/1.1\r\nhost: x\r\n\r\n").await.unwrap();
    let mut got = Vec::new();
    let _ = sock.read_to_end(&mut got).await;
    assert!(got.is_empty(), "{}", String::from_utf8_lossy(&got));
    // The next call is answered (times: 1 each), and the journal shows the drops as status 0.
    me(&s, &f).await.ok();
    let j = s.admin("GET", "/requests?path=/me", Value::Null).await;
    let statuses: Vec<i64> = j["data"].as_array().unwrap().iter().map(|e| e["status"].as_i64().unwrap()).collect();
    assert_eq!(statuses, [200, 0, 0]);
}

#[tokio::test]
async fn a_times_rule_fires_n_times_then_never_and_reset_clears_rules() {
    let (s, f) = setup().await;
    add_fault(
        &s,
        json!({"path": "/me", "times": 2, "error": {"code": 4, "message": "(#4) Application request limit reached"}}),
    )
    .await;
    for _ in 0..2 {
        let a = me(&s, &f).await;
        assert_eq!((a.status, a.err(), a.msg()), (403, (4, None), "(#4) Application request limit reached"));
    }
    me(&s, &f).await.ok();
    let rules = s.admin("GET", "/faults", Value::Null).await;
    assert_eq!((&rules["data"][0]["hits"], &rules["data"][0]["remaining"]), (&json!(2), &json!(0)));
    s.admin("POST", "/faults", json!({"drop": true})).await;
    s.admin("POST", "/reset", Value::Null).await;
    assert_eq!(s.admin("GET", "/faults", Value::Null).await["data"], json!([]));
}

#[tokio::test]
async fn a_seeded_probability_gives_the_same_sequence_twice() {
    let (s, f) = setup().await;
    let mut runs = vec![];
    for _ in 0..2 {
        let id = add_fault(&s, json!({"path": "/me", "probability": 0.5, "seed": 1234, "error": {"code": 2}})).await;
        let mut seq = vec![];
        for _ in 0..24 {
            seq.push(me(&s, &f).await.status);
        }
        s.admin("DELETE", &format!("/faults/{id}"), Value::Null).await;
        runs.push(seq);
    }
    assert_eq!(runs[0], runs[1]);
    assert!(runs[0].contains(&500) && runs[0].contains(&200), "{:?}", runs[0]);
}

#[tokio::test]
async fn the_journal_records_calls_newest_first_without_secrets() {
    let (s, f) = setup().await;
    install(&s, &f).await;
    let token = generate(&s, &f, "ads_read", true).await;
    let p = proof(&f.app_secret, &token);
    get(&s, "/v25.0/me", &[("access_token", &token), ("appsecret_proof", &p)]).await.ok();
    let app_token = app_token(&f);
    get(&s, "/debug_token", &[("input_token", &token), ("access_token", &app_token)]).await.ok();
    get(&s, "/v25.0/me", &[("access_token", "EAAnotAtoken0123456789")]).await;
    let bad = get(
        &s,
        "/oauth/access_token",
        &[
            ("grant_type", "fb_exchange_token"),
            ("client_id", &f.app_id),
            ("client_secret", "wrong-secret-value"),
            ("fb_exchange_token", &token),
        ],
    )
    .await;
    assert_eq!(bad.err().0, 1);

    let j = s.admin("GET", "/requests", Value::Null).await;
    let text = j.to_string();
    for secret in [token.as_str(), &f.admin_token, &f.app_secret, &p, "EAAnotAtoken0123456789", "wrong-secret-value"] {
        assert!(!text.contains(secret), "journal holds a secret: {text}");
    }
    let data = j["data"].as_array().unwrap();
    let paths: Vec<&str> = data.iter().map(|e| e["path"].as_str().unwrap()).collect();
    let su_path = format!("/{}/access_tokens", f.system_user_id);
    assert_eq!(paths[..4], ["/oauth/access_token", "/me", "/debug_token", "/me"]);
    assert!(paths.contains(&su_path.as_str()));
    let seqs: Vec<i64> = data.iter().map(|e| e["seq"].as_i64().unwrap()).collect();
    assert!(seqs.windows(2).all(|w| w[0] > w[1]), "{seqs:?}");
    // The failing exchange: status, code, client_id's app, the fbtrace_id the client got.
    assert_eq!((data[0]["status"].as_i64(), data[0]["code"].as_i64()), (Some(400), Some(1)));
    assert_eq!(data[0]["app_id"], f.app_id.as_str());
    assert_eq!(data[0]["fbtrace_id"], bad.body["error"]["fbtrace_id"]);
    // The token is named as the audit log names it.
    let audit = s.admin("GET", "/audit?limit=100", Value::Null).await;
    let journal_ref = data[3]["token_ref"].as_str().unwrap();
    let issued =
        audit["data"].as_array().unwrap().iter().find(|a| a["action"] == "issue" && a["token_ref"] == journal_ref);
    assert_eq!(issued.unwrap_or_else(|| panic!("{audit}"))["subject"].to_string().trim_matches('"'), f.system_user_id);
    assert_eq!(data[3]["app_id"], f.app_id.as_str());
    assert!(data[1]["app_id"].is_null(), "an unknown token names no app");
    // Filters.
    let only = |q: &str| {
        let s = &s;
        let q = q.to_owned();
        async move { s.admin("GET", &format!("/requests?{q}"), Value::Null).await["data"].as_array().unwrap().clone() }
    };
    assert_eq!(only("path=/me").await.len(), 2);
    assert!(only("status=4xx").await.iter().all(|e| e["status"].as_i64().unwrap() / 100 == 4));
    assert_eq!(only("status=4xx").await.len(), 2);
    assert_eq!(only("path=/*/access_tokens").await.len(), 1);
    assert!(only(&format!("app_id={}", f.app_id)).await.len() >= 4);
    assert_eq!(only("app_id=1").await.len(), 0);
    assert_eq!(only("limit=1").await.len(), 1);
    // The control plane is not journalled, and is guarded.
    let r = s.http.get(format!("{}/_suat/requests", s.url)).send().await.unwrap();
    assert_eq!(r.status(), 401);
}

#[tokio::test]
async fn metrics_expose_requests_latency_tokens_faults_and_rate_limits() {
    let (s, f) = setup().await;
    install(&s, &f).await;
    let token = generate(&s, &f, "ads_read", true).await;
    get(
        &s,
        "/oauth/access_token",
        &[
            ("grant_type", "fb_exchange_token"),
            ("client_id", &f.app_id),
            ("client_secret", &f.app_secret),
            ("fb_exchange_token", &token),
        ],
    )
    .await
    .ok();
    get(
        &s,
        "/oauth/revoke",
        &[
            ("client_id", &f.app_id),
            ("client_secret", &f.app_secret),
            ("revoke_token", &token),
            ("access_token", &token),
        ],
    )
    .await;
    add_fault(&s, json!({"path": "/me", "times": 1, "error": {"code": 17}})).await;
    assert_eq!(me(&s, &f).await.err().0, 17);
    suat_server::metrics::rate_limited(4);
    let r = s.http.get(format!("{}/metrics", s.url)).send().await.unwrap();
    assert_eq!(r.status(), 200);
    let text = r.text().await.unwrap();
    let value = |prefix: &str| -> f64 {
        text.lines()
            .filter(|l| l.starts_with(prefix))
            .map(|l| l.rsplit(' ').next().unwrap().parse::<f64>().unwrap())
            .sum()
    };
    let su = "suat_requests_total{method=\"POST\",endpoint=\"/{id}/access_tokens\",status=\"200\",code=\"0\"}";
    assert!(value(su) >= 1.0, "{text}");
    assert!(value("suat_requests_total{method=\"GET\",endpoint=\"/me\",status=\"400\",code=\"17\"}") >= 1.0, "{text}");
    assert!(value("suat_request_duration_seconds_bucket{endpoint=\"/me\",le=\"+Inf\"}") >= 1.0, "{text}");
    // The generated token is an issue; its refresh counts as a refresh, not an issue. (The recorder is the process's:
    // other tests in this binary may add to both, hence at least.)
    assert!(value("suat_tokens_issued_total") >= 1.0, "{text}");
    assert!(value("suat_tokens_refreshed_total") >= 1.0, "{text}");
    assert!(value("suat_tokens_refreshed_total") >= 1.0, "{text}");
    assert!(value("suat_tokens_revoked_total") >= 1.0, "{text}");
    assert!(value("suat_fault_hits_total{effect=\"error\"}") >= 1.0, "{text}");
    assert!(value("suat_rate_limited_total{code=\"4\"}") >= 1.0, "{text}");
    // The group-commit writer's histograms: every write above was committed in some group of at least one, and no
    // group is larger than the writer takes. (Each histogram is drained on its own, and other tests in this binary
    // write meanwhile: only figures of one histogram are compared with each other.)
    let (groups, writes) = (value("suat_store_write_group_size_count"), value("suat_store_write_group_size_sum"));
    assert!(groups >= 1.0 && writes >= groups, "{text}");
    assert!(value("suat_store_write_group_size_bucket{le=\"256\"}") == groups, "{text}");
    let timed = value("suat_store_write_group_seconds_count");
    assert!(timed >= 1.0 && value("suat_store_write_group_seconds_bucket{le=\"+Inf\"}") == timed, "{text}");
    // Each phase of the groups that committed, every one counted in its +Inf bucket.
    for phase in ["begin", "writes", "audit", "commit"] {
        let count = value(&format!("suat_store_write_group_phase_seconds_count{{phase=\"{phase}\"}}"));
        let all = value(&format!("suat_store_write_group_phase_seconds_bucket{{phase=\"{phase}\",le=\"+Inf\"}}"));
        assert!(count >= 1.0 && all == count, "{phase}: {text}");
    }
    assert!(!text.contains(&token) && !text.contains(&f.app_secret) && !text.contains(&f.system_user_id));
}

#[tokio::test]
async fn the_python_business_sdk_observes_an_injected_transient_error() {
    let (s, f) = setup().await;
    add_fault(&s, json!({"method": "GET", "path": "/me", "times": 1, "error": {"code": 2}})).await;
    let script = workspace_root().join("tests/sdk/python_business_fault.py");
    let v = run_json(
        &python(),
        &[&script],
        &workspace_root(),
        &[("SUAT_URL", &s.url), ("APP_ID", &f.app_id), ("APP_SECRET", &f.app_secret), ("ADMIN_TOKEN", &f.admin_token)],
    )
    .await;
    let first = &v["first"];
    assert_eq!(first["status"], 500, "{v}");
    assert_eq!(first["code"], 2);
    assert_eq!(first["transient"], true);
    assert_eq!(first["fbtrace_id"], first["request_id"]);
    assert_eq!(v["retry"]["id"], f.admin_user_id.as_str());
    let j = s.admin("GET", "/requests?path=/me", Value::Null).await;
    assert_eq!(j["data"][1]["fault"], "1", "{j}");
    assert_eq!(j["data"][1]["fbtrace_id"], first["fbtrace_id"]);
}

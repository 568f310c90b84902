//! Issue 10: the control plane's OpenAPI document (`/_suat/openapi.json`) names exactly the routes the router
//! serves, and schemathesis, run against a live server from it, finds no 5xx and no answer outside the document.

use serde_json::Value;
use std::{
    collections::BTreeSet,
    path::{Path, PathBuf},
};
use suat_server::test_support::TestServer;

fn crate_src() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

/// `(METHOD, /_suat/path)` of every operation in the document.
fn documented(doc: &Value) -> BTreeSet<(String, String)> {
    let mut ops = BTreeSet::new();
    for (path, item) in doc["paths"].as_object().expect("paths") {
        for method in item.as_object().expect("path item").keys() {
            ops.insert((method.to_ascii_uppercase(), path.clone()));
        }
    }
    ops
}

/// `(METHOD, /_suat/path)` of every route the control-plane router registers, read from its source: the
/// `.route(...)` calls of `control.rs` and of every module it `.merge`s routes from. Reading the source is what
/// makes this independent of the document: a route added without an annotation is caught here.
fn registered() -> BTreeSet<(String, String)> {
    let mut ops = BTreeSet::new();
    let mut files = vec!["control".to_owned()];
    let mut seen = BTreeSet::new();
    while let Some(module) = files.pop() {
        if !seen.insert(module.clone()) {
            continue;
        }
        let text = std::fs::read_to_string(crate_src().join(format!("{module}.rs"))).expect("router source");
        for merged in text.split(".merge(crate::").skip(1) {
            files.push(merged.split("::").next().expect("module").to_owned());
        }
        // Each `.route("/p", get(a).post(b)...)` call: the text up to the next builder call holds its methods.
        for call in text.split(".route(").skip(1) {
            let call = call.trim_start();
            let Some(rest) = call.strip_prefix('"') else { continue };
            let (path, rest) = rest.split_once('"').expect("route path literal");
            let body = rest.split([';']).next().unwrap_or(rest);
            let body = body.split(".route").next().unwrap_or(body);
            let body = body.split(".merge(").next().unwrap_or(body);
            let mut found = false;
            for method in ["get", "post", "delete", "put", "patch"] {
                let direct = body.trim_start_matches([',', ' ', '\n']).starts_with(&format!("{method}("));
                if direct || body.contains(&format!(".{method}(")) {
                    ops.insert((method.to_ascii_uppercase(), format!("/_suat{path}")));
                    found = true;
                }
            }
            assert!(found, "no method found for route {path} in {module}.rs");
        }
    }
    ops
}

async fn fetch_document(s: &TestServer) -> Value {
    // Fetched without the key: generators and fuzzers read it before they have one.
    let r = s.http.get(format!("{}/_suat/openapi.json", s.url)).send().await.expect("reachable");
    assert_eq!(r.status(), 200);
    r.json().await.expect("JSON")
}

#[tokio::test]
async fn the_document_names_exactly_the_registered_routes() {
    let s = TestServer::start().await;
    let doc = fetch_document(&s).await;
    assert_eq!(doc["openapi"], "3.1.0");
    assert_eq!(doc["components"]["securitySchemes"]["admin_key"]["scheme"], "bearer");
    let documented = documented(&doc);
    let registered = registered();
    assert!(registered.len() > 20, "the source scan found too few routes: {registered:?}");
    let undocumented: Vec<_> = registered.difference(&documented).collect();
    let unrouted: Vec<_> = documented.difference(&registered).collect();
    assert!(
        undocumented.is_empty() && unrouted.is_empty(),
        "not documented: {undocumented:?}; not routed: {unrouted:?}"
    );

    // And the live router agrees: each documented operation reaches a handler (a path no route takes falls through
    // to the Graph router, which answers code 2500 "Unknown path components"; a method no route takes is 405),
    // and each other method on a documented path is 405.
    for (method, path) in &documented {
        let url = format!("{}{}", s.url, path.replace("{id}", "1"));
        let m = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
        let r = s.http.request(m, &url).bearer_auth(&s.admin_key).body("{}").send().await.unwrap();
        let status = r.status();
        let body = r.text().await.unwrap();
        let v: Value = serde_json::from_str(&body).unwrap_or_else(|_| panic!("{method} {path}: {status} {body}"));
        assert!(status != 405 && v["error"]["code"] != 2500, "{method} {path}: {status} {body}");
        for other in ["GET", "POST", "DELETE", "PUT", "PATCH"] {
            if documented.contains(&(other.to_owned(), path.clone())) {
                continue;
            }
            let m = reqwest::Method::from_bytes(other.as_bytes()).unwrap();
            let r = s.http.request(m, &url).bearer_auth(&s.admin_key).send().await.unwrap();
            assert_eq!(r.status(), 405, "{other} {path} is answered but not documented");
        }
    }
}

fn schemathesis() -> PathBuf {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let bin = root.join(".venv/bin/schemathesis");
    assert!(bin.exists(), "no schemathesis: run `bash .ci/run` once (it installs the pinned version into .venv)");
    bin
}

/// schemathesis generates valid and invalid input for every operation (reset and snapshot import included: the
/// server is a throwaway), then chains calls along the links it infers (an `id` answered, then used in a path), and
/// fails on any 5xx, any status the document does not list, or any answer that does not match its schema. A fixed
/// seed and one worker make the run repeatable; about 30 s in a debug build.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn schemathesis_finds_no_server_error_and_no_schema_violation() {
    let s = TestServer::start().await;
    // The README's seed: the document's examples name its objects (app 2001, person 3001, ...), so the examples
    // phase reaches real objects, and a fuzzed reset goes back to it.
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let seed = std::fs::read_to_string(root.join("examples/seed.toml")).unwrap();
    suat_service::seed::apply(&s.state.svc, &seed, false).await.expect("seed applies");
    suat_service::operator::remember_seeded_state(&s.state.svc).await.unwrap();
    let work = tempfile::tempdir().unwrap();
    let out = tokio::process::Command::new(schemathesis())
        .current_dir(work.path())
        .arg("run")
        .arg(format!("{}/_suat/openapi.json", s.url))
        .args(["--url", &s.url])
        .args(["--header", &format!("Authorization: Bearer {}", s.admin_key)])
        .args(["--checks", "not_a_server_error,response_schema_conformance,status_code_conformance"])
        .args(["--phases", "examples,coverage,fuzzing,stateful"])
        .args(["--max-examples", "100", "--seed", "20261123"])
        .args(["--workers", "1", "--no-color"])
        .args(["--request-timeout", "10"])
        .env("NO_COLOR", "1")
        .output()
        .await
        .expect("schemathesis runs");
    let report = format!("{}\n{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    eprintln!("{report}");
    assert!(out.status.success(), "schemathesis failed:\n{report}");
    // The server agrees it answered no 5xx (also checked when `s` is dropped).
    assert_eq!(s.take_server_errors(), 0, "{report}");
}

/// Found while fuzzing the clock: `{"set": i64::MIN}` overflowed (a 500), and `{"set": i64::MAX}` was accepted, so
/// every later `now + lifetime` overflowed. Out-of-range input is now a (#100) and moves nothing.
#[tokio::test]
async fn an_out_of_range_clock_or_lifetime_is_refused_and_changes_nothing() {
    let s = TestServer::start().await;
    let f = s.fixture().await;
    let before = s.admin("GET", "/clock", Value::Null).await["offset"].clone();
    for body in [
        serde_json::json!({"set": i64::MIN}),
        serde_json::json!({"set": i64::MAX}),
        serde_json::json!({"set": -1}),
        serde_json::json!({"set": 253_402_300_800_i64}),
        serde_json::json!({"advance": i64::MAX}),
        serde_json::json!({"advance": i64::MIN}),
    ] {
        let r = s.http.post(format!("{}/_suat/clock", s.url)).bearer_auth(&s.admin_key).json(&body).send().await;
        let r = r.unwrap();
        assert_eq!(r.status(), 400, "{body}");
        let v: Value = r.json().await.unwrap();
        assert_eq!(v["error"]["code"], 100, "{body}: {v}");
    }
    assert_eq!(s.admin("GET", "/clock", Value::Null).await["offset"], before);
    let path = format!("{}/_suat/users/{}/tokens", s.url, f.admin_user_id);
    let body = serde_json::json!({"app_id": f.app_id, "expires_in": i64::MAX});
    let r = s.http.post(&path).bearer_auth(&s.admin_key).json(&body).send().await.unwrap();
    assert_eq!(r.status(), 400);
    // The edges still work: the end of year 9999, then a 100-year token issued there.
    s.admin("POST", "/clock", serde_json::json!({"set": 253_402_300_799_i64 - 3_153_600_000})).await;
    s.admin(
        "POST",
        &format!("/users/{}/tokens", f.admin_user_id),
        serde_json::json!({"app_id": f.app_id, "expires_in": 3_153_600_000_i64}),
    )
    .await;
}

/// The fuzzer sends NUL characters in strings: SQLite stores them, PostgreSQL refuses them (which would be a 5xx
/// there). Names and capabilities with one are (#100) on every store, and nothing is created.
#[tokio::test]
async fn a_nul_character_in_stored_text_is_refused_and_creates_nothing() {
    let s = TestServer::start().await;
    let f = s.fixture().await;
    let before = s.admin("GET", "/dump", Value::Null).await;
    for (path, body) in [
        ("/businesses".to_owned(), serde_json::json!({"name": "a\u{0}b"})),
        ("/apps".to_owned(), serde_json::json!({"name": "a\u{0}b"})),
        ("/apps".to_owned(), serde_json::json!({"name": "ok", "capabilities": ["x\u{0}"]})),
        (format!("/apps/{}", f.app_id), serde_json::json!({"capabilities": ["x\u{0}"]})),
        ("/users".to_owned(), serde_json::json!({"name": "\u{0}"})),
        ("/pages".to_owned(), serde_json::json!({"name": "\u{0}", "business_id": f.business_id})),
        ("/system_users".to_owned(), serde_json::json!({"name": "\u{0}", "business_id": f.business_id})),
    ] {
        let r = s.http.post(format!("{}/_suat{path}", s.url)).bearer_auth(&s.admin_key).json(&body).send().await;
        let r = r.unwrap();
        assert_eq!(r.status(), 400, "{path} {body}");
        let v: Value = r.json().await.unwrap();
        assert!(v["error"]["message"].as_str().unwrap().contains("NUL"), "{path}: {v}");
    }
    assert_eq!(s.admin("GET", "/dump", Value::Null).await, before);
}

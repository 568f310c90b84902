//! Shared helpers for the server's HTTP integration tests: a started server plus terse Graph calls.
#![allow(dead_code, unused_imports)]

pub use serde_json::{json, Value};
pub use suat_server::test_support::{Fixture, TestServer};

pub struct Answer {
    pub status: u16,
    pub headers: reqwest::header::HeaderMap,
    pub body: Value,
    /// The body exactly as sent, for byte-level checks.
    pub text: String,
}

impl Answer {
    /// `(code, subcode)` of a Graph error answer.
    pub fn err(&self) -> (i64, Option<i64>) {
        let e = &self.body["error"];
        assert!(e.is_object(), "expected an error, got {} {}", self.status, self.body);
        (e["code"].as_i64().unwrap(), e["error_subcode"].as_i64())
    }
    pub fn msg(&self) -> &str {
        self.body["error"]["message"].as_str().unwrap_or("")
    }
    pub fn ok(&self) -> &Value {
        assert!((200..300).contains(&self.status), "expected success, got {} {}", self.status, self.body);
        &self.body
    }
}

pub async fn call(s: &TestServer, method: &str, path: &str, params: &[(&str, &str)]) -> Answer {
    let m = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
    let url = format!("{}{path}", s.url);
    let req = if m == reqwest::Method::GET || m == reqwest::Method::DELETE {
        s.http.request(m, url).query(params)
    } else {
        s.http.request(m, url).form(params)
    };
    answer(req.send().await.unwrap()).await
}

pub async fn answer(r: reqwest::Response) -> Answer {
    let status = r.status().as_u16();
    let headers = r.headers().clone();
    let text = r.text().await.unwrap();
    let body = serde_json::from_str(&text).unwrap_or_else(|_| panic!("not JSON ({status}): {text}"));
    Answer { status, headers, body, text }
}

pub async fn get(s: &TestServer, path: &str, params: &[(&str, &str)]) -> Answer {
    call(s, "GET", path, params).await
}
pub async fn post(s: &TestServer, path: &str, params: &[(&str, &str)]) -> Answer {
    call(s, "POST", path, params).await
}
pub async fn delete(s: &TestServer, path: &str, params: &[(&str, &str)]) -> Answer {
    call(s, "DELETE", path, params).await
}

pub fn proof(secret: &str, token: &str) -> String {
    suat_core::AppSecretProof::compute(&suat_core::AppSecret::new(secret), token).as_str().to_owned()
}

/// Installs the fixture app for the fixture system user.
pub async fn install(s: &TestServer, f: &Fixture) {
    post(
        s,
        &format!("/v25.0/{}/applications", f.system_user_id),
        &[("business_app", &f.app_id), ("access_token", &f.admin_token)],
    )
    .await
    .ok();
}

/// Generates a system-user token (installs first). `expiring` adds set_token_expires_in_60_days=true.
pub async fn generate(s: &TestServer, f: &Fixture, scope: &str, expiring: bool) -> String {
    let p = proof(&f.app_secret, &f.admin_token);
    let mut params = vec![
        ("business_app", f.app_id.as_str()),
        ("scope", scope),
        ("appsecret_proof", p.as_str()),
        ("access_token", f.admin_token.as_str()),
    ];
    if expiring {
        params.push(("set_token_expires_in_60_days", "true"));
    }
    let a = post(s, &format!("/v25.0/{}/access_tokens", f.system_user_id), &params).await;
    a.ok()["access_token"].as_str().unwrap().to_owned()
}

pub async fn setup() -> (TestServer, Fixture) {
    let s = TestServer::start().await;
    let f = s.fixture().await;
    (s, f)
}

/// The state as the control plane dumps it, without `audit_len`: a refused call changes no state, but a failed
/// authentication among them is audited (`auth_failed`), so the log may have grown.
pub async fn dump(s: &TestServer) -> Value {
    let mut d = s.admin("GET", "/dump", Value::Null).await;
    d.as_object_mut().expect("a dump is an object").remove("audit_len");
    d
}

pub fn app_token(f: &Fixture) -> String {
    format!("{}|{}", f.app_id, f.app_secret)
}

pub fn workspace_root() -> std::path::PathBuf {
    std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The interpreter with the Python SDKs: `SUAT_PYTHON`, else `.venv/bin/python` made by `.ci/run`.
pub fn python() -> std::path::PathBuf {
    if let Ok(p) = std::env::var("SUAT_PYTHON") {
        return p.into();
    }
    let venv = workspace_root().join(".venv/bin/python");
    assert!(venv.exists(), "no Python SDK environment: run `bash .ci/run` once (it creates .venv with the SDKs)");
    venv
}

/// `tests/js`, with its node_modules installed by `.ci/run`.
pub fn js_dir() -> std::path::PathBuf {
    let dir = workspace_root().join("tests/js");
    assert!(dir.join("node_modules").exists(), "no Node test packages: run `bash .ci/run` once (npm ci in tests/js)");
    dir
}

/// Runs a script with env vars, asserts success and parses the JSON it prints.
pub async fn run_json(
    program: &std::path::Path,
    args: &[&std::path::Path],
    cwd: &std::path::Path,
    env: &[(&str, &str)],
) -> Value {
    let mut cmd = tokio::process::Command::new(program);
    cmd.args(args).current_dir(cwd);
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.output().await.unwrap_or_else(|e| panic!("running {}: {e}", program.display()));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{} failed:\n{stdout}\n{}", program.display(), String::from_utf8_lossy(&out.stderr));
    serde_json::from_str(stdout.trim()).unwrap_or_else(|_| panic!("not JSON: {stdout}"))
}

/// What a browser submits of the consent page's form before the person types anything: the hidden fields and the
/// ticked boxes (every permission starts ticked) inside the `<form>`, unescaped.
pub fn form_fields(html: &str) -> Vec<(String, String)> {
    let html = html.split("<form ").nth(1).and_then(|f| f.split("</form>").next()).unwrap_or("");
    let attr = |tag: &str, name: &str| -> Option<String> {
        let v = tag.split(&format!(" {name}=\"")).nth(1)?.split('"').next()?;
        Some(
            v.replace("&lt;", "<")
                .replace("&gt;", ">")
                .replace("&quot;", "\"")
                .replace("&#39;", "'")
                .replace("&amp;", "&"),
        )
    };
    html.split("<input ")
        .skip(1)
        .filter_map(|rest| {
            let tag = format!(" {}", rest.split('>').next()?);
            let submitted = match attr(&tag, "type").as_deref() {
                Some("hidden") => true,
                Some("checkbox") => tag.ends_with(" checked"),
                _ => false,
            };
            submitted.then(|| Some((attr(&tag, "name")?, attr(&tag, "value").unwrap_or_default()))).flatten()
        })
        .collect()
}

/// Signs `person` (password "correct horse") in on the consent page over plain HTTP, clicks Allow, returns the code.
pub async fn obtain_code(s: &TestServer, app: &str, person: &str, redirect: &str, scope: &str) -> String {
    let html = s
        .http
        .get(format!("{}/v25.0/dialog/oauth", s.url))
        .query(&[("client_id", app), ("redirect_uri", redirect), ("scope", scope)])
        .send()
        .await
        .unwrap();
    keep_cookie(s, &html);
    let mut form = form_fields(&html.text().await.unwrap());
    form.extend([
        ("user".into(), person.into()),
        ("password".into(), "correct horse".into()),
        ("action".into(), "allow".into()),
    ]);
    let client = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let r =
        as_browser(s, client.post(format!("{}/v25.0/dialog/oauth/confirm", s.url))).form(&form).send().await.unwrap();
    let loc = r.headers()["location"].to_str().unwrap().to_owned();
    let u = url::Url::parse(&loc).unwrap();
    let code = u.query_pairs().find(|(k, _)| k == "code").map(|(_, v)| v.into_owned());
    code.unwrap_or_else(|| panic!("no code in {loc}"))
}

/// The redirect URI `oauth_world`'s app registers.
pub const REDIRECT: &str = "https://app.example/callback";

/// An app with a registered redirect URI ([`REDIRECT`]) and a person who can sign in ("correct horse"):
/// (app, secret, person).
pub async fn oauth_world(s: &TestServer) -> (String, String, String) {
    let b = s.admin("POST", "/businesses", json!({"name": "B"})).await["id"].as_str().unwrap().to_owned();
    let app =
        s.admin("POST", "/apps", json!({"name": "Login App", "owner_business": b, "redirect_uris": [REDIRECT]})).await;
    let person = s.admin("POST", "/users", json!({"name": "Pat", "password": "correct horse"})).await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    (app["id"].as_str().unwrap().to_owned(), app["secret"].as_str().unwrap().to_owned(), person)
}

/// The consent page's binding cookie of each test server (by URL), as a browser's cookie jar keeps it.
static JAR: std::sync::Mutex<Vec<(String, String)>> = std::sync::Mutex::new(Vec::new());

/// Keeps the binding cookie a dialog page sets, as a browser would.
pub fn keep_cookie(s: &TestServer, r: &reqwest::Response) {
    for v in r.headers().get_all("set-cookie") {
        let pair = v.to_str().unwrap().split(';').next().unwrap().to_owned();
        let mut jar = JAR.lock().unwrap();
        jar.retain(|(u, _)| *u != s.url);
        jar.push((s.url.clone(), pair));
    }
}

/// The binding cookie kept for this server (`name=value`).
pub fn kept_cookie(s: &TestServer) -> Option<String> {
    JAR.lock().unwrap().iter().find(|(u, _)| *u == s.url).map(|(_, c)| c.clone())
}

/// A consent-form POST as a browser sends it: with the kept cookie and the page's Origin.
pub fn as_browser(s: &TestServer, b: reqwest::RequestBuilder) -> reqwest::RequestBuilder {
    as_browser_from(s, b, s.url.trim_end_matches('/'))
}

/// [`as_browser`] from a page at `origin`.
pub fn as_browser_from(s: &TestServer, b: reqwest::RequestBuilder, origin: &str) -> reqwest::RequestBuilder {
    let cookie = kept_cookie(s);
    let b = b.header("origin", origin);
    match cookie {
        Some(c) => b.header("cookie", c),
        None => b,
    }
}

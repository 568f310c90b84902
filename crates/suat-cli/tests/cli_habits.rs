//! What issue 14 asked of the CLI, end to end against the binary: `--json` on the commands that print data,
//! `suat completions` and `suat man`, errors that name the URL they tried and say what to do, a wrong app secret
//! on `token inspect` blamed on the secret (not on the token), and page-token's hint naming `--save-as`.

use serde_json::Value;
use suat_server::test_support::TestServer;

const STORE_KEY: &str = "4242424242424242424242424242424242424242424242424242424242424242";

struct Out {
    code: i32,
    stdout: String,
    stderr: String,
}

async fn suat(args: &[&str], env: &[(&str, &str)]) -> Out {
    let mut c = tokio::process::Command::new(env!("CARGO_BIN_EXE_suat"));
    c.args(args);
    for v in [
        "SUAT_GRAPH_URL",
        "SUAT_API_VERSION",
        "SUAT_APP_ID",
        "SUAT_APP_SECRET",
        "SUAT_ACCESS_TOKEN",
        "SUAT_STORE",
        "SUAT_STORE_KEY",
        "SUAT_STORE_PASSPHRASE",
    ] {
        c.env_remove(v);
    }
    c.envs(env.iter().copied());
    let o = c.output().await.expect("run suat");
    Out {
        code: o.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&o.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&o.stderr).into_owned(),
    }
}

fn json(o: &Out) -> Value {
    assert_eq!(o.code, 0, "failed:\n{}\n{}", o.stdout, o.stderr);
    serde_json::from_str(&o.stdout).unwrap_or_else(|e| panic!("stdout is not one JSON document ({e}):\n{}", o.stdout))
}

/// A port nothing listens on: bound, read, then closed by the drop.
fn closed_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

#[tokio::test]
async fn an_unreachable_server_is_named_with_what_to_do() {
    let url = format!("http://127.0.0.1:{}", closed_port());
    let o = suat(&["token", "inspect", "--access-token", "EAAx", "--graph-url", &url], &[]).await;
    assert_eq!(o.code, 1);
    assert!(o.stderr.contains(&format!("cannot reach GET {url}/v25.0/debug_token")), "{}", o.stderr);
    assert!(!o.stderr.contains("error sending request"), "{}", o.stderr);
    assert!(o.stderr.to_lowercase().contains("connection refused"), "{}", o.stderr);
    assert!(o.stderr.contains("suat serve") && o.stderr.contains("SUAT_GRAPH_URL"), "{}", o.stderr);
    // The token is never part of the URL shown (it travels in a header or the body).
    assert!(!o.stderr.contains("EAAx"), "{}", o.stderr);
}

#[tokio::test]
async fn a_wrong_app_secret_on_inspect_is_blamed_on_the_secret() {
    let s = TestServer::start().await;
    let f = s.fixture().await;
    let env = [("SUAT_GRAPH_URL", s.url.as_str()), ("SUAT_APP_ID", &f.app_id), ("SUAT_ACCESS_TOKEN", &f.admin_token)];
    let o = suat(&["token", "inspect", "--app-secret", "0123456789abcdef0123456789abcdef"], &env).await;
    assert_eq!(o.code, 1);
    assert!(o.stderr.contains("refused the app credentials") && o.stderr.contains("--app-secret"), "{}", o.stderr);
    assert!(o.stderr.contains("the token itself was not inspected"), "{}", o.stderr);
    assert!(!o.stderr.contains("copied whole"), "not the hint for a bad token: {}", o.stderr);
    assert!(o.stderr.contains(&format!("request: GET {}/v25.0/debug_token", s.url)), "{}", o.stderr);
    // The right secret: valid, as JSON.
    let o = suat(&["token", "inspect", "--app-secret", &f.app_secret, "--json"], &env).await;
    assert_eq!(json(&o)["is_valid"], true);
    // A bad token with the right secret is still the token's problem.
    let env = [("SUAT_GRAPH_URL", s.url.as_str()), ("SUAT_APP_ID", &f.app_id), ("SUAT_APP_SECRET", &f.app_secret)];
    let o = suat(&["token", "inspect", "--access-token", "EAAnotatokenofthisserver0123456789"], &env).await;
    assert_eq!(o.code, 1);
    assert!(o.stderr.contains("could not be decrypted") && !o.stderr.contains("app credentials"), "{}", o.stderr);
}

#[tokio::test]
async fn json_everywhere_and_the_page_token_hint() {
    let s = TestServer::start().await;
    let f = s.fixture().await;
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("tokens.json");
    let store = store.to_str().unwrap();
    let env = [
        ("SUAT_GRAPH_URL", s.url.as_str()),
        ("SUAT_APP_ID", &f.app_id),
        ("SUAT_APP_SECRET", &f.app_secret),
        ("SUAT_ACCESS_TOKEN", &f.admin_token),
        ("SUAT_STORE", store),
        ("SUAT_STORE_KEY", STORE_KEY),
    ];
    let su = f.system_user_id.as_str();
    let v = json(&suat(&["app", "install", "--system-user", su, "--json"], &env).await);
    assert_eq!((v["success"].as_bool(), v["system_user_id"].as_str()), (Some(true), Some(su)));
    let v = json(
        &suat(&["token", "generate", "--system-user", su, "--expiring", "--profile", "bot", "--json"], &env).await,
    );
    assert_eq!((v["profile"].as_str(), v["type"].as_str()), (Some("bot"), Some("SYSTEM_USER")));
    assert!(v["expires_at"].is_i64() && v.get("access_token").is_none(), "no token unless --show-token: {v}");
    let v = json(&suat(&["store", "list", "--json"], &env).await);
    assert_eq!(v[0]["profile"], "bot");
    assert!(v[0].get("access_token").is_none());
    let v = json(&suat(&["store", "show", "--profile", "bot", "--json"], &env).await);
    assert_eq!((v["app_secret_stored"].as_bool(), v["system_user_id"].as_str()), (Some(true), Some(su)));
    let v = json(&suat(&["store", "targets", "--profile", "bot", "--add", "file:/tmp/x", "--json"], &env).await);
    assert_eq!(v, serde_json::json!(["file:/tmp/x"]));
    let v = json(&suat(&["proof", "--json"], &env).await);
    assert_eq!(v["appsecret_proof"].as_str().map(str::len), Some(64));
    let v = json(&suat(&["token", "generate", "--system-user", su, "--show-token", "--json"], &env).await);
    let shown = v["access_token"].as_str().expect("--show-token puts the token in the JSON").to_owned();
    let v = json(&suat(&["token", "revoke", "--revoke-token", &shown, "--profile", "bot", "--json"], &env).await);
    assert_eq!((v["revoked"].as_u64(), v["failed"].as_u64()), (Some(1), Some(0)));
    let v = json(&suat(&["watch", "--once", "--json"], &env).await);
    assert_eq!(v[0]["profile"], "bot");
    let o = suat(&["watch", "--json"], &env).await;
    assert!(o.code != 0 && o.stderr.contains("--once"), "{}", o.stderr);

    // --profile on page-token names the asking token; the hint names --save-as, the flag that keeps the page token.
    let o = suat(&["page-token", "--page", "123", "--profile", "bot"], &env).await;
    assert_eq!(o.code, 1);
    assert!(o.stderr.contains("--save-as NAME"), "{}", o.stderr);
    assert!(!o.stderr.contains("pass --profile"), "{}", o.stderr);
    let v = json(&suat(&["store", "remove", "--profile", "bot", "--json"], &env).await);
    assert_eq!(v["removed"], "bot");
}

#[tokio::test]
async fn completions_and_man_pages() {
    for shell in ["bash", "zsh", "fish", "elvish", "powershell"] {
        let o = suat(&["completions", shell], &[]).await;
        assert_eq!(o.code, 0, "{shell}: {}", o.stderr);
        assert!(o.stdout.contains("page-token") && o.stdout.contains("graph-url"), "{shell} completes the tree");
    }
    let o = suat(&["completions", "tcsh"], &[]).await;
    assert_ne!(o.code, 0);
    let o = suat(&["man"], &[]).await;
    assert_eq!(o.code, 0, "{}", o.stderr);
    assert!(o.stdout.starts_with(".ie") && o.stdout.contains(".TH suat 1"), "{}", &o.stdout[..200.min(o.stdout.len())]);
    let dir = tempfile::tempdir().unwrap();
    let o = suat(&["man", "--dir", dir.path().to_str().unwrap()], &[]).await;
    assert_eq!(o.code, 0, "{}", o.stderr);
    let page = std::fs::read_to_string(dir.path().join("suat-token-generate.1")).unwrap();
    assert!(page.contains("json") && page.contains("expiring"), "{page}");
    assert!(dir.path().join("suat-serve.1").exists() && dir.path().join("suat-store-list.1").exists());
}

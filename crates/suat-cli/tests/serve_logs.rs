//! `suat serve --log-format json`: one JSON line per Graph request with method, path, status, Graph code, latency
//! and the fbtrace_id the client got; no ANSI codes when stderr is not a terminal; never a token, secret or proof.

mod support;

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use support::{free_port, wait_listening, Server};

const ADMIN_TOKEN: &str = "EAAdemoAdminUserToken0123456789abcdefghijklmnop";
const SECRET: &str = "acme-demo-secret-0123456789abcdef";

#[tokio::test]
async fn json_request_lines_name_the_fbtrace_id_and_hold_no_secret() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let seed = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/seed.toml");
    let mut child = Command::new(env!("CARGO_BIN_EXE_suat"))
        .args(["serve", "--listen", &format!("127.0.0.1:{port}"), "--log-format", "json", "--seed"])
        .arg(&seed)
        .current_dir(dir.path())
        .env_remove("SUAT_MASTER_KEY")
        .env_remove("SUAT_ADMIN_KEY")
        .env_remove("SUAT_DATABASE_URL")
        .env_remove("SUAT_DB")
        .env("RUST_LOG", "trace")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = child.stderr.take().unwrap();
    let server = Server(child);
    let lines = std::thread::spawn(move || BufReader::new(stderr).lines().map_while(Result::ok).collect::<Vec<_>>());
    wait_listening(port);

    let url = format!("http://127.0.0.1:{port}");
    let http = reqwest::Client::new();
    let mac = {
        use std::process::Command;
        let out = Command::new("openssl")
            .args(["dgst", "-sha256", "-hmac", SECRET])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .and_then(|mut c| {
                use std::io::Write;
                c.stdin.take().unwrap().write_all(ADMIN_TOKEN.as_bytes())?;
                c.wait_with_output()
            })
            .unwrap();
        String::from_utf8(out.stdout).unwrap().rsplit(' ').next().unwrap().trim().to_owned()
    };
    let form =
        [("business_app", "2001"), ("scope", "ads_read"), ("appsecret_proof", &mac), ("access_token", ADMIN_TOKEN)];
    http.post(format!("{url}/v25.0/4001/applications"))
        .form(&form[..1])
        .query(&[("access_token", ADMIN_TOKEN)])
        .send()
        .await
        .unwrap();
    let r: serde_json::Value =
        http.post(format!("{url}/v25.0/4001/access_tokens")).form(&form).send().await.unwrap().json().await.unwrap();
    let token = r["access_token"].as_str().unwrap_or_else(|| panic!("{r}")).to_owned();
    let bad: serde_json::Value = http
        .get(format!("{url}/v25.0/debug_token"))
        .query(&[("input_token", token.as_str()), ("access_token", &format!("2001|{SECRET}x"))])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let fbtrace = bad["error"]["fbtrace_id"].as_str().unwrap_or_else(|| panic!("{bad}")).to_owned();
    drop(server);
    let lines = lines.join().unwrap();
    let all = lines.join("\n");

    for secret in [ADMIN_TOKEN, SECRET, token.as_str(), mac.as_str()] {
        assert!(!all.contains(secret), "a secret in the log:\n{all}");
    }
    assert!(!all.contains('\u{1b}'), "ANSI codes in a piped log:\n{all}");
    let requests: Vec<serde_json::Value> = lines
        .iter()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter(|v| v["target"] == "suat::request")
        .collect();
    assert_eq!(requests.len(), 3, "{all}");
    let failed = &requests[2];
    assert_eq!(failed["method"], "GET");
    assert_eq!(failed["path"], "/debug_token");
    assert_eq!(failed["status"], 400);
    assert_eq!(failed["code"], bad["error"]["code"]);
    assert_eq!(failed["fbtrace_id"], fbtrace.as_str());
    assert!(failed["latency_ms"].as_f64().is_some(), "{failed}");
    assert_eq!(requests[1]["path"], "/4001/access_tokens");
    assert_eq!(requests[1]["status"], 200);
    assert_eq!(requests[1]["app_id"], "2001");
}

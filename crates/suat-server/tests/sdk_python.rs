//! The official Python `facebook-business` SDK, installed from PyPI by `.ci/run`, runs install ->
//! create_access_token -> delete_access_tokens against the real server.

mod common;
use common::*;
use std::path::PathBuf;

fn workspace_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The interpreter with the SDKs: `SUAT_PYTHON`, else `.venv/bin/python` made by `.ci/run`.
pub fn python() -> PathBuf {
    if let Ok(p) = std::env::var("SUAT_PYTHON") {
        return PathBuf::from(p);
    }
    let venv = workspace_root().join(".venv/bin/python");
    assert!(
        venv.exists(),
        "no Python SDK environment: run `bash .ci/run` once (it creates .venv with facebook-business)"
    );
    venv
}

#[tokio::test]
async fn facebook_business_sdk_install_generate_delete() {
    let (s, f) = setup().await;
    let script = workspace_root().join("tests/sdk/python_business.py");
    let out = tokio::process::Command::new(python())
        .arg(&script)
        .env("SUAT_URL", &s.url)
        .env("APP_ID", &f.app_id)
        .env("APP_SECRET", &f.app_secret)
        .env("ADMIN_TOKEN", &f.admin_token)
        .env("SU_ID", &f.system_user_id)
        .output()
        .await
        .expect("run python");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "SDK script failed:\n{stdout}\n{}", String::from_utf8_lossy(&out.stderr));
    let v: Value = serde_json::from_str(&stdout).expect("script prints JSON");
    assert_eq!(v["install"], "ok", "{v}");
    assert_eq!(v["install_raw"], json!({"success": true}));
    assert_eq!(v["token_prefix"], "EAA");
    assert!(v["token_len"].as_u64().unwrap() >= 170);
    assert_eq!(v["me"], json!({"id": f.system_user_id, "name": "ci-bot"}));
    assert_eq!(v["wrong_secret"]["code"], 100);
    assert_eq!(v["wrong_secret"]["message"], "Invalid appsecret_proof provided in the API argument");
    assert_eq!(v["delete"], "ok");
    assert_eq!(v["after_delete"]["code"], 190);
    assert_eq!(v["after_delete"]["subcode"], 466);
    // And the server agrees: one installation, one system-user token, revoked.
    let d = dump(&s).await;
    assert_eq!(d["installs"].as_array().unwrap().len(), 1);
    let su_tokens: Vec<&Value> =
        d["tokens"].as_array().unwrap().iter().filter(|t| t["kind"] == "SYSTEM_USER").collect();
    assert_eq!(su_tokens.len(), 1);
    assert!(su_tokens[0]["revoked_at"].is_i64());
}

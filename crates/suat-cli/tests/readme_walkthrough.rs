//! Runs the README's curl walkthrough verbatim against the real `suat serve` binary started with
//! `examples/seed.toml`, so the documented flow cannot rot.

mod support;

use std::path::PathBuf;
use std::process::{Command, Stdio};
use support::{free_port, wait_listening, Server};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The shell block between `<!-- NAME:start -->` and `<!-- NAME:end -->`.
fn block(readme: &str, name: &str) -> String {
    let b = readme
        .split(&format!("<!-- {name}:start -->"))
        .nth(1)
        .and_then(|s| s.split(&format!("<!-- {name}:end -->")).next())
        .unwrap_or_else(|| panic!("README has the {name} markers"));
    b.trim().trim_start_matches("```sh").trim_end_matches("```").to_owned()
}

#[test]
fn readme_walkthrough_runs_as_written() {
    let readme = std::fs::read_to_string(root().join("README.md")).unwrap();
    let script = block(&readme, "walkthrough");
    let cli_script = block(&readme, "cli");

    let dir = std::env::temp_dir().join(format!("suat-readme-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let port = free_port();
    let child = Command::new(env!("CARGO_BIN_EXE_suat"))
        .args(["serve", "--listen", &format!("127.0.0.1:{port}"), "--seed"])
        .arg(root().join("examples/seed.toml"))
        .current_dir(&dir)
        .env_remove("SUAT_MASTER_KEY")
        .env_remove("SUAT_ADMIN_KEY")
        .env_remove("SUAT_DATABASE_URL")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let _server = Server(child);
    wait_listening(port);

    let out = Command::new("bash")
        .args(["-euo", "pipefail", "-c", &script])
        .env("SUAT", format!("http://127.0.0.1:{port}"))
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "walkthrough failed:\n{stdout}\n{}", String::from_utf8_lossy(&out.stderr));
    // Install, revoke answered success; debug_token showed a valid SYSTEM_USER token; the revoked token got 466.
    assert!(stdout.contains(r#"{"success":true}"#), "{stdout}");
    assert!(stdout.contains(r#""type": "SYSTEM_USER""#), "{stdout}");
    assert!(stdout.contains(r#""error_subcode": 466"#), "{stdout}");
    assert!(stdout.contains(r#""name": "ads-sync-bot""#), "{stdout}");
    // The CLI block, with the built `suat` first on PATH.
    let bin_dir = std::path::Path::new(env!("CARGO_BIN_EXE_suat")).parent().unwrap().to_owned();
    let path = format!("{}:{}", bin_dir.display(), std::env::var("PATH").unwrap_or_default());
    let out = Command::new("bash")
        .args(["-euo", "pipefail", "-c", &cli_script])
        .env("SUAT", format!("http://127.0.0.1:{port}"))
        .env("PATH", path)
        .env_remove("SUAT_STORE_PASSPHRASE")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "CLI walkthrough failed:\n{stdout}\n{stderr}");
    assert!(stdout.contains("ads-bot"), "store list shows the profile: {stdout}");
    // No generated token is ever printed (tokens are EAA + 180 alphanumerics).
    for text in [&stdout, &stderr] {
        let leaked = text.split(|c: char| !c.is_ascii_alphanumeric()).any(|w| w.starts_with("EAA") && w.len() > 100);
        assert!(!leaked, "a token was printed:\n{text}");
    }
    // Nothing secret on disk in the clear, and the key files are private.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        for f in ["suat.key", "suat.admin-key"] {
            let mode = std::fs::metadata(dir.join(f)).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode, 0o600, "{f}");
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
}

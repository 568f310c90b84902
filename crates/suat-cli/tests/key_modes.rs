//! `suat serve` must refuse a key file others on the host can read, saying which file, its mode and the fix, before
//! it opens the database or listens.

#[allow(dead_code)] // wait_listening: this test needs the server never to listen
mod support;

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};
use support::{free_port, Server};

fn write_key(path: &Path, content: &str, mode: u32) {
    std::fs::write(path, content).unwrap();
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
}

/// Runs `suat serve` in `dir` with the two key files; returns its exit status and stderr (fails if it keeps running).
fn serve(dir: &Path) -> (std::process::ExitStatus, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_suat"))
        .args(["serve", "--listen", &format!("127.0.0.1:{}", free_port()), "--db"])
        .arg(dir.join("suat.db"))
        .arg("--key-file")
        .arg(dir.join("suat.key"))
        .arg("--admin-key-file")
        .arg(dir.join("suat.admin-key"))
        .current_dir(dir)
        .env_remove("SUAT_MASTER_KEY")
        .env_remove("SUAT_ADMIN_KEY")
        .env_remove("SUAT_DATABASE_URL")
        .env_remove("SUAT_DB")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if started.elapsed() > Duration::from_secs(10) {
            drop(Server(child));
            panic!("suat serve is still running after 10 s");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    (status, std::io::read_to_string(child.stderr.take().unwrap()).unwrap())
}

#[test]
fn a_group_or_world_readable_key_file_stops_serve_naming_the_file_mode_and_fix() {
    for (loose, mode) in [("suat.key", 0o644), ("suat.admin-key", 0o640)] {
        let dir = tempfile::tempdir().unwrap();
        write_key(&dir.path().join("suat.key"), &"ab".repeat(32), 0o600);
        write_key(&dir.path().join("suat.admin-key"), "0123456789abcdef0123", 0o600);
        let path = dir.path().join(loose);
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)).unwrap();

        let (status, stderr) = serve(dir.path());
        assert!(!status.success(), "serve with a {mode:o} {loose} exited with {status}");
        let expected = format!(
            "suat serve: {} has mode {mode:04o}, readable by others than its owner; refusing to use it as a key \
             (run: chmod 600 {})",
            path.display(),
            path.display()
        );
        assert!(stderr.lines().any(|l| l == expected), "expected the line\n{expected}\non stderr, got:\n{stderr}");
        assert!(!dir.path().join("suat.db").exists(), "nothing is opened before the keys are accepted");
    }
}

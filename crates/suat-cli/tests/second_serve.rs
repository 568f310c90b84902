//! A second `suat serve` on the SQLite file of a running one must refuse at once, saying which process holds the
//! file, instead of sharing it unseen by the first one's cache.

mod support;

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};
use support::{free_port, wait_listening, Server};

fn serve(dir: &Path, port: u16) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_suat"));
    c.args(["serve", "--listen", &format!("127.0.0.1:{port}"), "--db"])
        .arg(dir.join("suat.db"))
        .current_dir(dir)
        .env_remove("SUAT_MASTER_KEY")
        .env_remove("SUAT_ADMIN_KEY")
        .env_remove("SUAT_DATABASE_URL")
        .env_remove("SUAT_DB")
        .stdout(Stdio::null());
    c
}

#[test]
fn a_second_serve_on_the_same_db_exits_at_once_naming_the_first() {
    let dir = std::env::temp_dir().join(format!("suat-second-serve-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let port = free_port();
    let first = Server(serve(&dir, port).stderr(Stdio::null()).spawn().unwrap());
    wait_listening(port);

    let started = Instant::now();
    let mut second = serve(&dir, free_port()).stderr(Stdio::piped()).spawn().unwrap();
    let status = loop {
        if let Some(status) = second.try_wait().unwrap() {
            break status;
        }
        if started.elapsed() > Duration::from_secs(5) {
            let _ = second.kill();
            panic!("the second server is still running after 5 s");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let stderr = std::io::read_to_string(second.stderr.take().unwrap()).unwrap();
    assert!(!status.success(), "the second server exited with {status}");
    let expected = format!(
        "suat serve: {} is in use by another suat process (pid {}): stop it, or give this one another --db",
        dir.join("suat.db").display(),
        first.0.id()
    );
    assert!(stderr.lines().any(|l| l == expected), "expected the line\n{expected}\non stderr, got:\n{stderr}");

    drop(first);
    std::fs::remove_dir_all(&dir).unwrap();
}

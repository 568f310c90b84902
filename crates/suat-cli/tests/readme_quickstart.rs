//! Runs the README's three quick starts as a new user would, from a copy of exactly the files a clone has (tracked
//! and not ignored: no target/, .venv, node_modules or suat.db), block by block, checking each step's output.
//!
//! What the test substitutes, and only that (each substituted line is replaced by a `:` no-op that says why):
//! - `cargo install --path crates/suat-cli ...`: the `suat` this build made is first on PATH instead (a release build
//!   takes minutes, and it is the same source).
//! - `python3 -m venv` and `.venv/bin/pip install ...`: `.venv` is a link to the checkout's, which `.ci/run` made with
//!   the same pinned packages and pytest-suat installed from ./python.
//! - `npm ci` in tests/js: `tests/js/node_modules` is a link to the checkout's, made by `npm ci` from the same lock.
//! - The first line of the CLI block (your app, system user and admin token) gets the demo seed's values, and
//!   SUAT_GRAPH_URL points at the local server: against Meta's Graph it would need a real app.
//! - `suat serve` listens where SUAT_LISTEN says (a free port, not 8787, which may be taken on a CI host) and the
//!   blocks' `SUAT=${SUAT:-...}` is set to it.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..").canonicalize().unwrap()
}

/// The shell block between `<!-- NAME:start -->` and `<!-- NAME:end -->`.
fn block(readme: &str, name: &str) -> String {
    let b = readme
        .split(&format!("<!-- {name}:start -->"))
        .nth(1)
        .and_then(|s| s.split(&format!("<!-- {name}:end -->")).next())
        .unwrap_or_else(|| panic!("README has the {name} markers"));
    b.trim().trim_start_matches("```sh").trim_end_matches("```").trim().to_owned()
}

/// `script` with each line for which `skip` gives a reason replaced by a no-op naming it; panics if no line matched
/// `must_skip` (the README must still say what the test stands in for).
fn substitute(script: &str, skip: &[(&str, &str)]) -> String {
    let mut seen = vec![false; skip.len()];
    let out: Vec<String> = script
        .lines()
        .map(|line| match skip.iter().position(|(start, _)| line.trim_start().starts_with(start)) {
            Some(i) => {
                seen[i] = true;
                assert!(!skip[i].1.contains('\''), "a reason is quoted for the shell");
                format!(": 'substituted by the test: {}'", skip[i].1)
            }
            None => line.to_owned(),
        })
        .collect();
    for (i, s) in seen.iter().enumerate() {
        assert!(s, "the block no longer has a line starting with {:?}:\n{script}", skip[i].0);
    }
    out.join("\n")
}

/// A copy of the clone's files: what `git ls-files` tracks or would (untracked but not ignored).
fn clean_copy(to: &Path) {
    let out = Command::new("git")
        .args(["ls-files", "-z", "--cached", "--others", "--exclude-standard"])
        .current_dir(root())
        .output()
        .unwrap();
    assert!(out.status.success());
    for f in out.stdout.split(|b| *b == 0).filter(|f| !f.is_empty()) {
        let rel = Path::new(std::str::from_utf8(f).unwrap());
        let from = root().join(rel);
        if !from.is_file() {
            continue; // deleted in the working tree but still in the index
        }
        std::fs::create_dir_all(to.join(rel).parent().unwrap()).unwrap();
        std::fs::copy(&from, to.join(rel)).unwrap();
    }
}

/// A process group started by the test, ended by its id when dropped (`bash` and the `suat serve` it runs).
struct Group(Child);
impl Drop for Group {
    fn drop(&mut self) {
        let _ = Command::new("kill").args(["-TERM", "--", &format!("-{}", self.0.id())]).status();
        let _ = self.0.wait();
    }
}

fn bash(script: &str, dir: &Path, envs: &[(&str, String)]) -> (String, String) {
    let bin_dir = Path::new(env!("CARGO_BIN_EXE_suat")).parent().unwrap();
    let out = Command::new("bash")
        .args(["-euo", "pipefail", "-c", script])
        .current_dir(dir)
        .env("PATH", format!("{}:{}", bin_dir.display(), std::env::var("PATH").unwrap_or_default()))
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .envs(envs.iter().map(|(k, v)| (k, v)))
        .env_remove("SUAT_BIN")
        .output()
        .unwrap();
    let (stdout, stderr) =
        (String::from_utf8_lossy(&out.stdout).into_owned(), String::from_utf8_lossy(&out.stderr).into_owned());
    assert!(out.status.success(), "block failed:\n{script}\n--- stdout\n{stdout}\n--- stderr\n{stderr}");
    (stdout, stderr)
}

#[test]
fn the_three_quick_starts_run_as_written() {
    let readme = std::fs::read_to_string(root().join("README.md")).unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let clone = tmp.path().join("suat");
    clean_copy(&clone);
    assert!(!clone.join("target").exists() && !clone.join("suat.db").exists());
    assert!(
        root().join(".venv/bin/python").exists() && root().join("tests/js/node_modules/suat-testing").exists(),
        "run `bash .ci/run` once: it makes .venv and tests/js/node_modules, which this test links in"
    );
    #[cfg(unix)]
    {
        std::os::unix::fs::symlink(root().join(".venv"), clone.join(".venv")).unwrap();
        std::os::unix::fs::symlink(root().join("tests/js/node_modules"), clone.join("tests/js/node_modules")).unwrap();
    }
    let port = free_port();
    let url = format!("http://127.0.0.1:{port}");
    let home = tmp.path().join("home");
    std::fs::create_dir_all(&home).unwrap();

    // 1. Run the emulator: install (substituted), then `suat serve` in the foreground of its own shell.
    let serve = substitute(
        &block(&readme, "quickstart-serve"),
        &[("cargo install --path crates/suat-cli", "the suat of this build is first on PATH")],
    );
    assert!(serve.contains("suat serve --seed examples/seed.toml"), "{serve}");
    let bin_dir = Path::new(env!("CARGO_BIN_EXE_suat")).parent().unwrap();
    let mut child = {
        use std::os::unix::process::CommandExt;
        Command::new("bash")
            .args(["-euo", "pipefail", "-c", &serve])
            .current_dir(&clone)
            .env("PATH", format!("{}:{}", bin_dir.display(), std::env::var("PATH").unwrap_or_default()))
            .env("SUAT_LISTEN", format!("127.0.0.1:{port}"))
            .env("HOME", &home)
            .env_remove("SUAT_MASTER_KEY")
            .env_remove("SUAT_ADMIN_KEY")
            .env_remove("SUAT_DB")
            .env_remove("SUAT_DATABASE_URL")
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .process_group(0)
            .spawn()
            .unwrap()
    };
    let stderr = child.stderr.take().unwrap();
    let server = Group(child);
    // Blocks until the server says it listens, or its shell ends (then the lines say why).
    let mut lines = BufReader::new(stderr).lines();
    let mut seen = Vec::new();
    let listening = loop {
        match lines.next() {
            Some(Ok(l)) => {
                let hit = l.contains(&format!("suat listening on {url}"));
                seen.push(l);
                if hit {
                    break true;
                }
            }
            _ => break false,
        }
    };
    assert!(listening, "suat serve did not start:\n{}", seen.join("\n"));
    std::thread::spawn(move || lines.for_each(drop)); // keep draining: the server must never block on the pipe
    for f in ["suat.db", "suat.key", "suat.admin-key"] {
        assert!(clone.join(f).exists(), "{f} created where the user ran it");
    }
    for f in ["suat.db", "suat.db-wal", "suat.db.lock", "suat.key", "suat.admin-key"] {
        let ignored =
            Command::new("git").args(["check-ignore", "-q", "--no-index", f]).current_dir(root()).status().unwrap();
        assert!(ignored.success(), ".gitignore covers {f}, which suat serve creates");
    }

    // The second terminal: one Graph call and the clock.
    let (out, _) = bash(&block(&readme, "quickstart-try"), &clone, &[("SUAT", url.clone())]);
    assert!(out.contains(r#""name": "Ada Admin""#) && out.contains(r#""id": "3001""#), "{out}");
    assert!(out.contains(r#""offset": 0"#) && out.contains(r#""now""#), "{out}");

    // 2. SDKs and test suites: pytest-suat and suat-testing start their own servers with the suat on PATH.
    let tests = substitute(
        &block(&readme, "quickstart-tests"),
        &[
            ("python3 -m venv", ".venv links to the one .ci/run made"),
            (".venv/bin/pip install", "pytest-suat and the SDKs are installed in it by .ci/run"),
            ("(cd tests/js && npm ci", "tests/js/node_modules links to the one npm ci made from the same lock"),
        ],
    );
    let (out, err) = bash(&tests, &clone, &[("SUAT", url.clone())]);
    assert!(out.contains("4 passed"), "the pytest example suite ran:\n{out}\n{err}");
    assert!(out.contains("# pass 3") && out.contains("# fail 0"), "the node:test example suite ran:\n{out}");
    assert!(out.trim_end().ends_with("true"), "debug_token says the admin token is valid:\n{out}");

    // 3. The CLI: the user's values, and this server instead of Meta's.
    let cli = block(&readme, "quickstart-cli");
    let first = cli.lines().next().unwrap();
    assert!(first.starts_with("APP_ID=your-app-id"), "{first}");
    let cli = cli.replacen(
        first,
        "APP_ID=2001 APP_SECRET=acme-demo-secret-0123456789abcdef SYSTEM_USER=4001 \
         ADMIN_TOKEN=EAAdemoAdminUserToken0123456789abcdefghijklmnop  # substituted by the test: the demo seed",
        1,
    );
    let (out, err) = bash(
        &cli,
        &clone,
        &[
            ("SUAT_GRAPH_URL", url.clone()),
            ("XDG_CONFIG_HOME", home.join("config").display().to_string()),
            ("HOME", home.display().to_string()),
        ],
    );
    assert!(out.contains("SYSTEM_USER") && out.contains("ads_read"), "inspect shows the token:\n{out}\n{err}");
    assert!(out.contains(r#""profile": "ads-bot""#), "store list --json:\n{out}");
    assert!(err.contains("checked 1 profile(s)"), "watch --once:\n{err}");
    assert!(home.join("config/suat/tokens.json").exists(), "the store is where the docs say");
    for text in [&out, &err] {
        let leaked = text.split(|c: char| !c.is_ascii_alphanumeric()).any(|w| w.starts_with("EAA") && w.len() > 100);
        assert!(!leaked, "a token was printed:\n{text}");
    }
    drop(server);
}

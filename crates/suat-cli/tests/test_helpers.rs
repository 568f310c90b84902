//! The test-framework helpers, run by CI against the `suat` binary this build made: pytest-suat's own suite
//! (`python/tests`) and the sample suite that uses it (`examples/python`), then suat-testing's own node:test suite
//! (`js/test`) and its sample suite (`examples/js`). `.ci/run` installs pytest-suat into `.venv` from `./python` and
//! suat-testing into `tests/js/node_modules` from `./js`; the SDKs come from the same places as the SDK tests'.

use std::path::{Path, PathBuf};
use std::process::Command;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..").canonicalize().unwrap()
}

fn python() -> PathBuf {
    let venv = root().join(".venv/bin/python");
    assert!(venv.exists(), "no .venv: run `bash .ci/run` once (it creates .venv with pytest and pytest-suat)");
    venv
}

/// Runs `cmd` to success; gives its stdout.
fn run(mut cmd: Command, what: &str) -> String {
    let out = cmd.output().unwrap_or_else(|e| panic!("{what}: cannot start: {e}"));
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{what} failed:\n{stdout}\n{stderr}");
    eprintln!("{what}:\n{stdout}");
    stdout
}

/// The installed pytest-suat is this checkout's (a stale install would test old code and pass).
fn assert_pytest_suat_installed_from_here() {
    let out = Command::new(python())
        .args(["-c", "import os, pytest_suat; print(os.path.dirname(pytest_suat.__file__))"])
        .current_dir(std::env::temp_dir())
        .output()
        .unwrap();
    assert!(out.status.success(), "pytest-suat is not installed in .venv: run `.venv/bin/pip install ./python`");
    let installed = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim());
    for f in ["__init__.py", "plugin.py", "seed.toml"] {
        let here = std::fs::read(root().join("python/src/pytest_suat").join(f)).unwrap();
        let there = std::fs::read(installed.join(f)).unwrap_or_default();
        assert!(
            here == there,
            "the installed pytest-suat's {f} differs from ./python: run `.venv/bin/pip install ./python`"
        );
    }
}

fn pytest(dir: &Path, what: &str) {
    let mut cmd = Command::new(python());
    cmd.args(["-m", "pytest", "-q", "-p", "no:cacheprovider", "--suat-bin", env!("CARGO_BIN_EXE_suat")])
        .arg(dir)
        .current_dir(dir)
        .env_remove("SUAT_BIN");
    // pytest exits non-zero when it collects nothing, so success means tests ran and passed.
    let out = run(cmd, what);
    assert!(out.contains(" passed"), "{what}: {out}");
}

#[test]
fn pytest_plugin_suite_and_example() {
    assert_pytest_suat_installed_from_here();
    pytest(&root().join("python/tests"), "pytest-suat's own tests");
    pytest(&root().join("examples/python"), "the pytest example suite");
}

fn node_test(dir: &Path, what: &str) {
    let modules = root().join("tests/js/node_modules");
    assert!(
        modules.join("suat-testing").exists(),
        "suat-testing is not installed in tests/js/node_modules: run `bash .ci/run` (npm ci there installs it from ./js)"
    );
    let mut cmd = Command::new("node");
    cmd.arg("--test").current_dir(dir).env("NODE_PATH", &modules).env("SUAT_BIN", env!("CARGO_BIN_EXE_suat"));
    // node --test succeeds when it finds no test file: require that some ran, and none failed.
    let out = run(cmd, what);
    let count = |key: &str| -> usize {
        out.lines().find_map(|l| l.strip_prefix(&format!("# {key} "))).and_then(|n| n.trim().parse().ok()).unwrap_or(0)
    };
    assert!(count("pass") >= 3 && count("fail") == 0, "{what}: {out}");
}

#[test]
fn node_helper_suite_and_example() {
    node_test(&root().join("js"), "suat-testing's own tests");
    node_test(&root().join("examples/js"), "the node:test example suite");
}

/// The helpers ship the demo seed inside their packages (an installed package cannot reach the repository): the
/// copies must stay the repository's `examples/seed.toml`, which the README and `DEMO`/`DEMO_SEED` describe.
#[test]
fn the_bundled_seeds_are_the_examples_seed() {
    let seed = std::fs::read_to_string(root().join("examples/seed.toml")).unwrap();
    for copy in ["python/src/pytest_suat/seed.toml", "js/seed.toml"] {
        let text = std::fs::read_to_string(root().join(copy)).unwrap();
        assert!(text == seed, "{copy} differs from examples/seed.toml: copy it again");
    }
}

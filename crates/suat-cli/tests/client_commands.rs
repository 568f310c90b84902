//! Every client command of the `suat` binary, end to end against a real suat server on a random port: the happy
//! paths and the failures users meet (wrong secret, revoked token, expired token after the clock moved 61 days,
//! a deploy target failing mid-rotation), and that no token is ever printed unless asked.

use serde_json::{json, Value};
use std::{
    path::{Path, PathBuf},
    process::Stdio,
};
use suat_server::test_support::{Fixture, TestServer};
use tokio::io::{AsyncBufReadExt, BufReader};

const DAY: i64 = 86_400;
const STORE_KEY: &str = "4242424242424242424242424242424242424242424242424242424242424242";

struct Out {
    code: i32,
    stdout: String,
    stderr: String,
}

impl Out {
    fn all(&self) -> String {
        format!("{}\n{}", self.stdout, self.stderr)
    }
}

struct Env {
    server: TestServer,
    fx: Fixture,
    dir: tempfile::TempDir,
}

fn command(args: &[&str]) -> tokio::process::Command {
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
    c.kill_on_drop(true);
    c
}

async fn output(mut c: tokio::process::Command) -> Out {
    let o = c.output().await.expect("run suat");
    Out {
        code: o.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&o.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&o.stderr).into_owned(),
    }
}

/// Every `EAA...` token-looking word in `text`.
fn tokens_in(text: &str) -> Vec<&str> {
    text.split(|c: char| !c.is_ascii_alphanumeric()).filter(|w| w.starts_with("EAA") && w.len() > 100).collect()
}

impl Env {
    async fn new() -> Env {
        let server = TestServer::start().await;
        let fx = server.fixture().await;
        Env { server, fx, dir: tempfile::tempdir().unwrap() }
    }

    fn store_path(&self) -> PathBuf {
        self.dir.path().join("tokens.json")
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// `suat ARGS` against this server and store, with the app's id and secret in the environment.
    fn cmd(&self, args: &[&str]) -> tokio::process::Command {
        let mut c = command(args);
        c.env("SUAT_GRAPH_URL", &self.server.url)
            .env("SUAT_STORE", self.store_path())
            .env("SUAT_STORE_KEY", STORE_KEY)
            .env("SUAT_APP_ID", &self.fx.app_id)
            .env("SUAT_APP_SECRET", &self.fx.app_secret);
        c
    }

    async fn run(&self, args: &[&str]) -> Out {
        output(self.cmd(args)).await
    }

    /// Runs with the admin person's token as the caller.
    async fn run_admin(&self, args: &[&str]) -> Out {
        let mut c = self.cmd(args);
        c.env("SUAT_ACCESS_TOKEN", &self.fx.admin_token);
        output(c).await
    }

    async fn ok(&self, args: &[&str]) -> Out {
        let o = self.run(args).await;
        assert_eq!(o.code, 0, "suat {args:?} failed:\n{}", o.all());
        self.no_token_leak(args, &o);
        o
    }

    async fn ok_admin(&self, args: &[&str]) -> Out {
        let o = self.run_admin(args).await;
        assert_eq!(o.code, 0, "suat {args:?} failed:\n{}", o.all());
        self.no_token_leak(args, &o);
        o
    }

    async fn fail(&self, args: &[&str]) -> Out {
        let o = self.run(args).await;
        assert_ne!(o.code, 0, "suat {args:?} should have failed:\n{}", o.all());
        self.no_token_leak(args, &o);
        o
    }

    fn no_token_leak(&self, args: &[&str], o: &Out) {
        if !args.contains(&"--show-token") {
            assert!(tokens_in(&o.all()).is_empty(), "suat {args:?} printed a token:\n{}", o.all());
        }
        assert!(!o.all().contains(&self.fx.app_secret), "suat {args:?} printed the app secret");
    }

    async fn install(&self) {
        let o = self.ok_admin(&["app", "install", "--system-user", &self.fx.system_user_id]).await;
        assert!(o.stderr.contains("installed app"), "{}", o.stderr);
    }

    /// Generates a token into `profile` and returns it (read back from the store).
    async fn generate(&self, profile: &str, expiring: bool, scope: &str) -> String {
        let mut args = vec!["token", "generate", "--system-user", &self.fx.system_user_id, "--scope", scope];
        args.extend(["--profile", profile]);
        if expiring {
            args.push("--expiring");
        }
        let o = self.ok_admin(&args).await;
        assert!(o.stdout.is_empty(), "no token on stdout without --show-token: {}", o.stdout);
        self.stored_token(profile).await
    }

    async fn stored_token(&self, profile: &str) -> String {
        let o = self.ok(&["store", "show", "--profile", profile, "--show-token"]).await;
        let t = tokens_in(&o.stdout);
        assert_eq!(t.len(), 1, "{}", o.stdout);
        t[0].to_owned()
    }

    /// debug_token's data, asked directly over HTTP with the app token.
    async fn debug(&self, token: &str) -> Value {
        let app_token = format!("{}|{}", self.fx.app_id, self.fx.app_secret);
        let r = self
            .server
            .http
            .get(format!("{}/v25.0/debug_token", self.server.url))
            .query(&[("input_token", token), ("access_token", &app_token)])
            .send()
            .await
            .unwrap();
        r.json::<Value>().await.unwrap()["data"].clone()
    }

    async fn valid(&self, token: &str) -> bool {
        self.debug(token).await["is_valid"] == json!(true)
    }

    async fn subcode(&self, token: &str) -> Value {
        self.debug(token).await["error"]["subcode"].clone()
    }
}

#[cfg(unix)]
fn mode(p: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(p).unwrap().permissions().mode() & 0o777
}

#[tokio::test]
async fn proof_plain_and_timed() {
    let o = output(command(&["proof", "--app-secret", "xyz789", "--access-token", "abc123"])).await;
    assert_eq!(o.stdout.trim(), "4dad02ff1693df832f9c183fe400fc4f601360be06514acb4a73edb783eec345");
    let timed = suat_core::AppSecretProof::compute_timed(&suat_core::AppSecret::new("xyz789"), "abc123", 1000);
    let mut c = command(&["proof", "--time", "1000"]);
    c.env("SUAT_APP_SECRET", "xyz789").env("SUAT_ACCESS_TOKEN", "abc123");
    assert_eq!(output(c).await.stdout.trim(), timed.as_str());
    let o = output(command(&["proof", "--app-secret", "xyz789", "--access-token", "abc123", "--timed"])).await;
    assert!(o.stdout.starts_with("appsecret_proof=") && o.stdout.contains("&appsecret_time="), "{}", o.stdout);
}

#[tokio::test]
async fn install_generate_inspect_and_the_store() {
    let e = Env::new().await;
    e.install().await;
    // A token that would go nowhere is refused before anything is generated.
    let o = e.run_admin(&["token", "generate", "--system-user", &e.fx.system_user_id, "--expiring"]).await;
    assert_ne!(o.code, 0);
    assert!(o.stderr.contains("would go nowhere"), "{}", o.stderr);

    let token = e.generate("prod", true, "ads_read,business_management").await;
    assert!(e.valid(&token).await);
    #[cfg(unix)]
    assert_eq!(mode(&e.store_path()), 0o600);
    let raw = std::fs::read_to_string(e.store_path()).unwrap();
    assert!(!raw.contains(&token) && !raw.contains(&e.fx.app_secret), "store holds secrets in the clear");

    let o = e.ok(&["store", "show", "--profile", "prod"]).await;
    assert!(o.stdout.contains("(hidden") && o.stdout.contains("SYSTEM_USER"), "{}", o.stdout);
    let o = e.ok(&["store", "list"]).await;
    assert!(o.stdout.contains("prod") && o.stdout.contains(&e.fx.system_user_id), "{}", o.stdout);

    let o = e.ok(&["token", "inspect", "--profile", "prod"]).await;
    assert!(o.stdout.contains("SYSTEM_USER") && o.stdout.contains("ads_read, business_management"), "{}", o.stdout);
    assert!(o.stdout.contains("Valid") && o.stdout.contains("yes"), "{}", o.stdout);
    let o = e.ok(&["token", "inspect", "--profile", "prod", "--json"]).await;
    let v: Value = serde_json::from_str(&o.stdout).unwrap();
    assert_eq!((v["is_valid"].clone(), v["type"].clone()), (json!(true), json!("SYSTEM_USER")));
    assert_eq!(v["user_id"], json!(e.fx.system_user_id));

    // --show-token prints exactly the token; --out writes it 0600.
    let out = e.path("permanent.token");
    let o = e
        .ok_admin(&[
            "token",
            "generate",
            "--system-user",
            &e.fx.system_user_id,
            "--show-token",
            "--out",
            out.to_str().unwrap(),
        ])
        .await;
    let printed = o.stdout.trim();
    assert_eq!(tokens_in(printed), vec![printed]);
    assert_eq!(std::fs::read_to_string(&out).unwrap().trim(), printed);
    #[cfg(unix)]
    assert_eq!(mode(&out), 0o600);
    assert_eq!(e.debug(printed).await["expires_at"], json!(0));

    // Import an existing token into another profile, then remove it.
    let mut c = e.cmd(&["store", "import", "--profile", "copy"]);
    c.env("SUAT_ACCESS_TOKEN", printed);
    let o = output(c).await;
    assert_eq!(o.code, 0, "{}", o.all());
    assert_eq!(e.stored_token("copy").await, printed);
    e.ok(&["store", "remove", "--profile", "copy"]).await;
    let o = e.fail(&["store", "show", "--profile", "copy"]).await;
    assert!(o.stderr.contains("no profile named"), "{}", o.stderr);
}

#[tokio::test]
async fn store_key_problems_are_clear() {
    let e = Env::new().await;
    e.install().await;
    e.generate("prod", true, "ads_read").await;
    let mut c = e.cmd(&["store", "list"]);
    c.env("SUAT_STORE_KEY", "00".repeat(32));
    let o = output(c).await;
    assert_ne!(o.code, 0);
    assert!(o.stderr.contains("wrong store key"), "{}", o.stderr);
    let mut c = e.cmd(&["store", "list"]);
    c.env_remove("SUAT_STORE_KEY");
    let o = output(c).await;
    assert!(o.code != 0 && o.stderr.contains("SUAT_STORE_KEY"), "{}", o.stderr);
    // A passphrase store, from a file.
    let pass = e.path("pass");
    std::fs::write(&pass, "correct horse battery staple\n").unwrap();
    let other = e.path("pass-store.json");
    let mut c =
        e.cmd(&["store", "list", "--store", other.to_str().unwrap(), "--passphrase-file", pass.to_str().unwrap()]);
    c.env_remove("SUAT_STORE_KEY");
    let o = output(c).await;
    assert_eq!(o.code, 0, "{}", o.all());
    assert!(other.exists());
}

#[tokio::test]
async fn refresh_revoke_bulk_revoke_and_revoke_all() {
    let e = Env::new().await;
    e.install().await;
    let old = e.generate("prod", true, "ads_read").await;
    let o = e.ok(&["token", "refresh", "--profile", "prod"]).await;
    assert!(o.stderr.contains("stays valid"), "{}", o.stderr);
    let new = e.stored_token("prod").await;
    assert_ne!(new, old);
    assert!(e.valid(&old).await && e.valid(&new).await);

    // Revoke the old one, identified by the profile's (new) token.
    e.ok(&["token", "revoke", "--profile", "prod", "--revoke-token", &old]).await;
    assert_eq!(e.subcode(&old).await, json!(466));
    assert!(e.valid(&new).await);
    // Using the revoked token: exit 1 with the code, the subcode and what to do.
    let mut c = e.cmd(&["token", "refresh", "--show-token"]);
    c.env("SUAT_ACCESS_TOKEN", &old);
    let o = output(c).await;
    assert_ne!(o.code, 0);
    assert!(o.stderr.contains("code: 190") && o.stderr.contains("subcode: 466"), "{}", o.stderr);
    assert!(o.stderr.contains("what to do") && o.stderr.contains("revoked"), "{}", o.stderr);

    // Bulk revoke from a file.
    let mut bulk = Vec::new();
    for _ in 0..3 {
        let o = e.ok_admin(&["token", "generate", "--system-user", &e.fx.system_user_id, "--show-token"]).await;
        bulk.push(o.stdout.trim().to_owned());
    }
    let list = e.path("revoke.txt");
    std::fs::write(&list, bulk.join("\n")).unwrap();
    let o = e.ok(&["token", "revoke", "--profile", "prod", "--tokens-file", list.to_str().unwrap()]).await;
    assert!(o.stderr.contains("revoked 3 of 3"), "{}", o.stderr);
    for t in &bulk {
        assert_eq!(e.subcode(t).await, json!(466));
    }
    assert!(e.valid(&new).await);

    // revoke-all wants confirmation, then kills every token of the system user.
    let o = e.run_admin(&["token", "revoke-all", "--system-user", &e.fx.system_user_id]).await;
    assert!(o.code != 0 && o.stderr.contains("--yes"), "{}", o.stderr);
    e.ok_admin(&["token", "revoke-all", "--system-user", &e.fx.system_user_id, "--yes"]).await;
    assert_eq!(e.subcode(&new).await, json!(466));
    let o = e.fail(&["token", "inspect", "--profile", "prod"]).await;
    assert!(o.stdout.contains("NO") && o.stderr.contains("subcode: 466"), "{}", o.all());

    // Revoking a profile's own token, then forgetting the profile.
    let t = e.generate("temp", false, "ads_read").await;
    e.ok(&["token", "revoke", "--profile", "temp", "--forget"]).await;
    assert_eq!(e.subcode(&t).await, json!(466));
    e.fail(&["store", "show", "--profile", "temp"]).await;
}

#[tokio::test]
async fn wrong_secret_and_wrong_app() {
    let e = Env::new().await;
    e.install().await;
    e.generate("prod", true, "ads_read").await;
    let wrong = "0123456789abcdef0123456789abcdef";
    let o = e.fail(&["token", "refresh", "--profile", "prod", "--app-secret", wrong]).await;
    assert!(o.stderr.contains("Error validating client secret") && o.stderr.contains("code: 1"), "{}", o.stderr);
    assert!(o.stderr.contains("what to do: The app secret does not match"), "{}", o.stderr);
    // Generating with the wrong secret: the proof is refused.
    let mut c = e.cmd(&["token", "generate", "--system-user", &e.fx.system_user_id, "--show-token"]);
    c.env("SUAT_ACCESS_TOKEN", &e.fx.admin_token).env("SUAT_APP_SECRET", wrong);
    let o = output(c).await;
    assert_ne!(o.code, 0);
    assert!(o.stderr.contains("Invalid appsecret_proof") && o.stderr.contains("code: 100"), "{}", o.stderr);
    assert!(o.stderr.contains("app secret"), "{}", o.stderr);
    // An unknown app id: 101.
    let o = e.fail(&["token", "refresh", "--profile", "prod", "--app-id", "987654321"]).await;
    assert!(o.stderr.contains("code: 101") && o.stderr.contains("--app-id"), "{}", o.stderr);
    // A scope that is not a permission: 3962.
    let o = e
        .run_admin(&[
            "token",
            "generate",
            "--system-user",
            &e.fx.system_user_id,
            "--scope",
            "ads_mangement",
            "--show-token",
        ])
        .await;
    assert!(o.code != 0 && o.stderr.contains("code: 3962"), "{}", o.stderr);
}

#[tokio::test]
async fn expired_token_after_61_days() {
    let e = Env::new().await;
    e.install().await;
    let t = e.generate("prod", true, "ads_read").await;
    e.server.advance_clock(61 * DAY).await;
    let o = e.fail(&["token", "refresh", "--profile", "prod"]).await;
    assert!(o.stderr.contains("subcode: 463"), "{}", o.stderr);
    assert!(o.stderr.contains("generate a new one"), "{}", o.stderr);
    let target = e.path("app.token");
    let o = e.fail(&["token", "rotate", "--profile", "prod", "--deploy", &format!("file:{}", target.display())]).await;
    assert!(o.stderr.contains("rotation failed at refresh") && o.stderr.contains("463"), "{}", o.stderr);
    assert!(!target.exists());
    let o = e.fail(&["token", "inspect", "--profile", "prod"]).await;
    assert!(o.stderr.contains("subcode: 463"), "{}", o.stderr);
    assert_eq!(e.stored_token("prod").await, t);
}

#[tokio::test]
async fn rotation_end_to_end_and_a_failing_deploy_target() {
    let e = Env::new().await;
    e.install().await;
    let old = e.generate("prod", true, "ads_read").await;
    let file = e.path("app.token");
    let seen = e.path("cmd.seen");
    e.server.advance_clock(31 * DAY).await;
    let o = e
        .ok(&[
            "token",
            "rotate",
            "--profile",
            "prod",
            "--deploy",
            &format!("file:{}", file.display()),
            "--deploy",
            &format!("cmd:cat > {}", seen.display()),
            "--save-targets",
        ])
        .await;
    assert!(o.stderr.contains("old token revoked"), "{}", o.stderr);
    let new = e.stored_token("prod").await;
    assert_ne!(new, old);
    assert_eq!(e.subcode(&old).await, json!(466));
    assert!(e.valid(&new).await);
    assert_eq!(std::fs::read_to_string(&file).unwrap().trim(), new);
    assert_eq!(std::fs::read_to_string(&seen).unwrap().trim(), new);
    #[cfg(unix)]
    assert_eq!(mode(&file), 0o600);
    let o = e.ok(&["store", "show", "--profile", "prod"]).await;
    assert!(o.stdout.contains("file:") && o.stdout.contains("cmd:cat"), "{}", o.stdout);

    // A deploy target fails mid-rotation: non-zero exit, clear message, the old token stays valid and in place.
    let o = e.fail(&["token", "rotate", "--profile", "prod", "--deploy", "cmd:echo 'vault sealed' >&2; exit 1"]).await;
    assert!(o.stderr.contains("rotation failed at deploy"), "{}", o.stderr);
    assert!(o.stderr.contains("NOT revoked") && o.stderr.contains("vault sealed"), "{}", o.stderr);
    assert!(e.valid(&new).await);
    assert_eq!(e.stored_token("prod").await, new);
    assert_eq!(std::fs::read_to_string(&file).unwrap().trim(), new, "the file target was rolled back");

    // Rotating a raw token needs somewhere to deploy it.
    let mut c = e.cmd(&["token", "rotate"]);
    c.env("SUAT_ACCESS_TOKEN", &new);
    let o = output(c).await;
    assert!(o.code != 0 && o.stderr.contains("nowhere to deploy"), "{}", o.stderr);
    let raw_target = e.path("raw.token");
    let mut c = e.cmd(&["token", "rotate", "--deploy", &format!("file:{}", raw_target.display())]);
    c.env("SUAT_ACCESS_TOKEN", &new);
    let o = output(c).await;
    assert_eq!(o.code, 0, "{}", o.all());
    assert_eq!(e.subcode(&new).await, json!(466));
    assert!(e.valid(std::fs::read_to_string(&raw_target).unwrap().trim()).await);
}

/// The store's metadata is readable but authenticated: an edit made without the key (a deploy target changed or
/// added, an expiry moved) makes the next command refuse the store, deploying and revoking nothing.
#[tokio::test]
async fn a_store_edited_without_the_key_is_refused_and_delivers_nothing() {
    const REFUSED: &str = "modified without the store key (the authentication tag does not match); refusing to use it";
    let e = Env::new().await;
    e.install().await;
    let old = e.generate("prod", true, "ads_read").await;
    let target = e.path("app.token");
    e.ok(&["store", "targets", "--profile", "prod", "--add", &format!("file:{}", target.display())]).await;
    let good = std::fs::read(e.store_path()).unwrap();
    e.server.advance_clock(31 * DAY).await;

    let stolen = e.path("stolen.token");
    type Edit<'a> = Box<dyn Fn(&mut Value) + 'a>;
    let edits: [(&str, Edit); 3] = [
        (
            "a cmd: target added",
            Box::new(|v| {
                let t = format!("cmd:cat > {}", stolen.display());
                v["profiles"]["prod"]["targets"].as_array_mut().unwrap().push(t.into());
            }),
        ),
        (
            "the file target moved",
            Box::new(|v| {
                v["profiles"]["prod"]["targets"][0] = format!("file:{}", stolen.display()).into();
            }),
        ),
        ("the expiry moved", Box::new(|v| v["profiles"]["prod"]["expires_at"] = json!(4_102_444_800i64))),
    ];
    for (what, edit) in edits {
        let mut v: Value = serde_json::from_slice(&good).unwrap();
        edit(&mut v);
        std::fs::write(e.store_path(), serde_json::to_vec_pretty(&v).unwrap()).unwrap();
        let t = e.server.now().await.to_string();
        for args in
            [&["token", "rotate", "--profile", "prod"][..], &["watch", "--once", "--now", &t], &["store", "list"]]
        {
            let o = e.fail(args).await;
            assert!(o.stderr.contains(REFUSED), "{what}, suat {args:?}:\n{}", o.stderr);
        }
        assert!(!stolen.exists() && !target.exists(), "{what}: nothing was deployed");
        assert!(e.valid(&old).await, "{what}: nothing was rotated or revoked");
    }
    std::fs::write(e.store_path(), &good).unwrap();
    e.ok(&["token", "rotate", "--profile", "prod"]).await;
    assert!(target.exists() && !stolen.exists(), "the untouched store rotates to its own target only");
}

#[tokio::test]
async fn page_tokens() {
    let e = Env::new().await;
    let page = e.server.admin("POST", "/pages", json!({"name": "Acme Page", "business_id": e.fx.business_id})).await
        ["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let r = e
        .server
        .http
        .post(format!("{}/v25.0/{page}/assigned_users", e.server.url))
        .form(&[("user", e.fx.system_user_id.as_str()), ("tasks", "MANAGE"), ("access_token", &e.fx.admin_token)])
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success());
    e.install().await;
    e.generate("su", false, "pages_show_list,pages_read_engagement").await;

    let o = e.ok(&["page-token", "--page", &page, "--profile", "su", "--show-token"]).await;
    let pt = o.stdout.trim().to_owned();
    assert_eq!(e.debug(&pt).await["type"], json!("PAGE"));
    let o = e.ok(&["page-token", "--all", "--profile", "su"]).await;
    assert!(o.stdout.contains(&page) && o.stdout.contains("Acme Page") && o.stdout.contains("MANAGE"), "{}", o.stdout);
    e.ok(&["page-token", "--page", &page, "--profile", "su", "--save-as", "page"]).await;
    assert_eq!(e.stored_token("page").await, pt);
    let o = e.fail(&["page-token", "--page", "424242", "--profile", "su", "--show-token"]).await;
    assert!(o.stderr.contains("code: 100"), "{}", o.stderr);
}

#[tokio::test]
async fn watch_once_rotates_due_profiles_and_flags_expired_ones() {
    let e = Env::new().await;
    e.install().await;
    let old = e.generate("prod", true, "ads_read").await;
    e.generate("forever", false, "ads_read").await;
    let t = e.server.now().await.to_string();
    let o = e.ok(&["watch", "--once", "--now", &t]).await;
    assert!(o.stderr.contains("0 rotated, 0 need attention"), "{}", o.stderr);
    assert!(o.stderr.contains("forever: never expires"), "{}", o.stderr);

    e.server.advance_clock(31 * DAY).await;
    let t = e.server.now().await.to_string();
    let o = e.ok(&["watch", "--once", "--now", &t]).await;
    assert!(o.stderr.contains("prod: rotated"), "{}", o.stderr);
    assert_eq!(e.subcode(&old).await, json!(466));
    let new = e.stored_token("prod").await;
    assert!(e.valid(&new).await);
    // Run again (a restart): the state in the store says it is done.
    let o = e.ok(&["watch", "--once", "--now", &t]).await;
    assert!(o.stderr.contains("0 rotated"), "{}", o.stderr);

    e.server.advance_clock(70 * DAY).await;
    let t = e.server.now().await.to_string();
    let o = e.fail(&["watch", "--once", "--now", &t]).await;
    assert!(o.stderr.contains("EXPIRED") && o.stderr.contains("suat token generate"), "{}", o.stderr);
}

#[tokio::test]
async fn watch_serves_prometheus_gauges() {
    let e = Env::new().await;
    e.install().await;
    e.generate("prod", true, "ads_read").await;
    let mut c = e.cmd(&["watch", "--metrics-listen", "127.0.0.1:0", "--interval", "1h"]);
    c.stderr(Stdio::piped()).stdout(Stdio::null());
    let mut child = c.spawn().unwrap();
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    let url = tokio::time::timeout(std::time::Duration::from_secs(30), async {
        while let Some(l) = lines.next_line().await.unwrap() {
            if let Some(rest) = l.strip_prefix("metrics at ") {
                return rest.to_owned();
            }
        }
        panic!("watch exited without announcing its metrics endpoint");
    })
    .await
    .expect("metrics endpoint announced");
    let mut body = String::new();
    for _ in 0..100 {
        body = reqwest::get(&url).await.unwrap().text().await.unwrap();
        if body.contains("suat_token_seconds_to_expiry{profile=\"prod\"}") {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let line = body
        .lines()
        .find(|l| l.starts_with("suat_token_seconds_to_expiry{profile=\"prod\"}"))
        .unwrap_or_else(|| panic!("no gauge in:\n{body}"));
    let secs: i64 = line.rsplit(' ').next().unwrap().parse().unwrap();
    assert!((60 * DAY - 120..=60 * DAY).contains(&secs), "{line}");
    assert!(tokens_in(&body).is_empty());
    child.kill().await.unwrap();
}

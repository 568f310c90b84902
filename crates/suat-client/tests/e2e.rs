//! The library end to end against a real suat server on a random port (no HTTP mocks): the whole token lifecycle,
//! its failure paths with the hints users see, rotation with real deploy targets (and a failing one), the store,
//! and a watch pass after the server clock moved.

use serde_json::json;
use std::sync::atomic::{AtomicBool, Ordering};
use suat_client::{
    error::RotationStage,
    rotate::{rotate, rotate_profile, RotationRequest},
    store::{Profile, StoreKey, TokenStore},
    watch::{watch_pass, Action, Quiet, WatchConfig},
    Caller, ClientError, DeployTarget, GenerateRequest, GraphClient, TargetSpec,
};
use suat_core::{AccessToken, AppId, AppSecret, PageId, UserId};
use suat_server::test_support::{Fixture, TestServer};

const DAY: i64 = 86_400;

struct World {
    server: TestServer,
    fx: Fixture,
    client: GraphClient,
    app: AppId,
    secret: AppSecret,
    su: UserId,
}

impl World {
    async fn new() -> World {
        let server = TestServer::start().await;
        let fx = server.fixture().await;
        let client = GraphClient::new(&server.url, "v25.0").unwrap();
        let app = fx.app_id.parse().unwrap();
        let secret = AppSecret::new(fx.app_secret.clone());
        let su = fx.system_user_id.parse().unwrap();
        World { server, fx, client, app, secret, su }
    }

    fn admin(&self) -> Caller {
        Caller::new(AccessToken::from_presented(self.fx.admin_token.clone())).with_secret(Some(self.secret.clone()))
    }

    fn app_caller(&self) -> Caller {
        Caller::app(self.app, &self.secret)
    }

    async fn install(&self) {
        self.client.install_app(&self.admin(), self.su, self.app).await.unwrap();
    }

    async fn generate(&self, expiring: bool, scopes: &[&str]) -> AccessToken {
        let req = GenerateRequest {
            system_user: self.su,
            app: self.app,
            scopes: scopes.iter().map(|s| s.to_string()).collect(),
            expiring,
        };
        self.client.generate_token(&self.admin(), &req).await.unwrap()
    }

    async fn installed_token(&self) -> AccessToken {
        self.install().await;
        self.generate(true, &["ads_read", "business_management"]).await
    }

    async fn is_valid(&self, t: &AccessToken) -> bool {
        self.client.debug_token(t, &self.app_caller()).await.unwrap().is_valid
    }

    async fn subcode(&self, t: &AccessToken) -> Option<i64> {
        self.client.debug_token(t, &self.app_caller()).await.unwrap().problem().and_then(|p| p.subcode)
    }

    fn store(&self, dir: &tempfile::TempDir) -> TokenStore {
        TokenStore::open(&dir.path().join("tokens.json"), &StoreKey::Raw([4; 32])).unwrap()
    }

    async fn profile(&self, store: &TokenStore, name: &str, token: &AccessToken) -> Profile {
        let info = self.client.debug_token(token, &self.app_caller()).await.unwrap();
        let mut p = Profile::new(name, self.app, token.clone());
        p.app_secret = Some(self.secret.clone());
        p.system_user_id = info.user();
        p.issued_at = info.issued_at;
        p.expires_at = info.expires_at();
        p.scopes = info.scopes.clone();
        store.put(&p).unwrap();
        p
    }
}

fn graph_code(e: &ClientError) -> (i64, Option<i64>) {
    let g = e.graph().unwrap_or_else(|| panic!("expected a Graph error, got {e}"));
    (g.code, g.subcode)
}

#[tokio::test]
async fn install_generate_inspect_refresh_revoke() {
    let w = World::new().await;
    w.install().await;
    let permanent = w.generate(false, &["ads_read"]).await;
    let info = w.client.debug_token(&permanent, &w.app_caller()).await.unwrap();
    assert!(info.is_valid);
    assert_eq!(info.kind.as_deref(), Some("SYSTEM_USER"));
    assert_eq!((info.app(), info.user(), info.expires_at()), (Some(w.app), Some(w.su), None));
    assert_eq!(info.scopes, vec!["ads_read"]);

    let expiring = w.generate(true, &["ads_read"]).await;
    let info = w.client.debug_token(&expiring, &w.app_caller()).await.unwrap();
    let exp = info.expires_at().unwrap();
    assert_eq!(exp - info.issued_at.unwrap(), 60 * DAY);

    // A token may inspect itself, and /me names the system user.
    let me = w.client.me(&Caller::new(expiring.clone()).with_secret(Some(w.secret.clone()))).await.unwrap();
    assert_eq!(me.id, w.fx.system_user_id);
    assert!(w.client.debug_token(&expiring, &Caller::new(expiring.clone())).await.unwrap().is_valid);

    // Refresh: a new token, the old one still valid until revoked.
    let r = w.client.refresh_token(w.app, &w.secret, &expiring).await.unwrap();
    assert_ne!(r.token, expiring);
    assert_eq!(r.expires_in, Some(60 * DAY));
    assert!(w.is_valid(&expiring).await && w.is_valid(&r.token).await);
    w.client.revoke_token(w.app, &w.secret, &expiring, &Caller::new(r.token.clone())).await.unwrap();
    assert_eq!(w.subcode(&expiring).await, Some(466));
    assert!(w.is_valid(&r.token).await);

    // Revoke-all kills every token of the system user.
    w.client.revoke_all(&w.admin(), w.su).await.unwrap();
    assert_eq!(w.subcode(&r.token).await, Some(466));
    assert_eq!(w.subcode(&permanent).await, Some(466));
    // Using a revoked token is a typed error with the hint to generate a new one.
    let e = w.client.me(&Caller::new(permanent)).await.unwrap_err();
    assert_eq!(graph_code(&e), (190, Some(466)));
    assert!(e.hint().unwrap().contains("generate a new one"));
}

#[tokio::test]
async fn failure_paths_carry_codes_and_hints() {
    let w = World::new().await;
    // Not installed yet: generate refuses.
    let req = GenerateRequest { system_user: w.su, app: w.app, scopes: vec![], expiring: true };
    let e = w.client.generate_token(&w.admin(), &req).await.unwrap_err();
    assert_eq!(graph_code(&e).0, 100, "{e}");
    // Without the secret the client refuses before calling (the proof is mandatory).
    let e = w.client.generate_token(&Caller::new(AccessToken::from_presented(w.fx.admin_token.clone())), &req).await;
    assert!(matches!(e, Err(ClientError::Invalid(_))));

    let token = w.installed_token().await;
    // Wrong secret: code 1 on refresh, invalid proof on generate.
    let wrong = AppSecret::new("0123456789abcdef0123456789abcdef");
    let e = w.client.refresh_token(w.app, &wrong, &token).await.unwrap_err();
    assert_eq!(graph_code(&e), (1, None));
    assert!(e.hint().unwrap().contains("app secret"), "{:?}", e.hint());
    let bad_admin = Caller::new(AccessToken::from_presented(w.fx.admin_token.clone())).with_secret(Some(wrong));
    let e = w.client.generate_token(&bad_admin, &req).await.unwrap_err();
    assert_eq!(graph_code(&e).0, 100);
    assert!(e.hint().unwrap().contains("app secret"));
    // Unknown app: 101. Bad scope: 3962.
    let e = w.client.refresh_token(AppId(999_999_999), &w.secret, &token).await.unwrap_err();
    assert_eq!(graph_code(&e).0, 101);
    let bad_scope = GenerateRequest { scopes: vec!["ads_mangement".into()], ..req.clone() };
    let e = w.client.generate_token(&w.admin(), &bad_scope).await.unwrap_err();
    assert_eq!(graph_code(&e).0, 3962);
    assert!(e.hint().unwrap().contains("scope"));

    // Expired after 61 days: cannot be refreshed (463), debug_token says why.
    w.server.advance_clock(61 * DAY).await;
    let info = w.client.debug_token(&token, &w.app_caller()).await.unwrap();
    assert_eq!(info.problem().map(|p| (p.code, p.subcode)), Some((190, Some(463))));
    let e = w.client.refresh_token(w.app, &w.secret, &token).await.unwrap_err();
    assert_eq!(graph_code(&e), (190, Some(463)));
    assert!(e.hint().unwrap().contains("generate a new one"));

    // Unreachable server: a transport error whose text never includes the token.
    let dead = GraphClient::new("http://127.0.0.1:9", "v25.0").unwrap();
    let e = dead.debug_token(&token, &w.app_caller()).await.unwrap_err();
    assert!(matches!(e, ClientError::Http { .. }));
    assert!(!format!("{e} {e:?}").contains(token.expose()));
}

#[tokio::test]
async fn rotation_deploys_verifies_then_revokes_the_old_token() {
    let w = World::new().await;
    let old = w.installed_token().await;
    let dir = tempfile::tempdir().unwrap();
    let store = w.store(&dir);
    w.profile(&store, "prod", &old).await;
    let file = dir.path().join("app.token");
    let seen = dir.path().join("cmd.seen");
    store
        .update("prod", |p| {
            p.targets = vec![
                TargetSpec::File(file.clone()),
                TargetSpec::Command(format!("cat > {}", seen.display())),
                "store:mirror".parse().unwrap(),
            ]
        })
        .unwrap();

    w.server.advance_clock(31 * DAY).await;
    let report = rotate_profile(&w.client, &store, "prod", &[], 123).await.unwrap();
    let new = report.new.token.clone();
    assert_ne!(new, old);
    assert_eq!(report.deployed_to.len(), 4, "{:?}", report.deployed_to);
    // Old revoked, new valid everywhere it was deployed.
    assert_eq!(w.subcode(&old).await, Some(466));
    assert!(w.is_valid(&new).await);
    assert_eq!(std::fs::read_to_string(&file).unwrap().trim(), new.expose());
    assert_eq!(std::fs::read_to_string(&seen).unwrap().trim(), new.expose());
    #[cfg(unix)]
    assert_eq!(suat_client::fsutil::mode(&file).unwrap(), 0o600);
    assert_eq!(store.get("mirror").unwrap().token, new);
    let p = store.get("prod").unwrap();
    assert_eq!(p.token, new);
    assert_eq!(p.expires_at, report.new.expires_at);
    assert_eq!(p.expires_at.unwrap() - p.issued_at.unwrap(), 60 * DAY);
    assert_eq!((p.watch.rotations, p.watch.last_rotated_at, p.watch.last_error), (1, Some(123), None));
}

#[tokio::test]
async fn deploy_failure_keeps_the_old_token_and_rolls_back() {
    let w = World::new().await;
    let old = w.installed_token().await;
    let dir = tempfile::tempdir().unwrap();
    let store = w.store(&dir);
    w.profile(&store, "prod", &old).await;
    let file = dir.path().join("app.token");
    std::fs::write(&file, format!("{}\n", old.expose())).unwrap();
    store
        .update("prod", |p| {
            p.targets = vec![
                TargetSpec::File(file.clone()),
                TargetSpec::Command("echo 'cannot reach vault' >&2; exit 7".into()),
            ]
        })
        .unwrap();

    let e = rotate_profile(&w.client, &store, "prod", &[], 50).await.unwrap_err();
    let ClientError::Rotation(f) = &e else { panic!("expected a rotation failure, got {e}") };
    assert_eq!(f.stage, RotationStage::Deploy);
    assert!(f.new_token_revoked, "{e}");
    let msg = e.to_string();
    assert!(msg.contains("NOT revoked") && msg.contains("cannot reach vault") && msg.contains("status 7"), "{msg}");
    // The old token still works, is still in the profile and back in the file.
    assert!(w.is_valid(&old).await);
    assert_eq!(store.get("prod").unwrap().token, old);
    assert_eq!(std::fs::read_to_string(&file).unwrap().trim(), old.expose());
    let p = store.get("prod").unwrap();
    assert_eq!(p.watch.consecutive_failures, 1);
    assert!(p.watch.last_error.unwrap().contains("cannot reach vault"));
    assert!(!msg.contains(old.expose()));
}

/// A target that accepts anything but breaks what it touches, so verification fails after deploy.
struct Sabotage(GraphClient, AppId, AppSecret, AtomicBool);

#[async_trait::async_trait]
impl DeployTarget for Sabotage {
    fn describe(&self) -> String {
        "sabotage".into()
    }
    async fn deploy(&self, d: &suat_client::Deployment) -> Result<(), ClientError> {
        // The first deploy is the new token: kill it so verification sees an invalid token. The second is the
        // rollback to the old token, left alone.
        if !self.3.swap(true, Ordering::SeqCst) {
            let caller = Caller::new(d.token.clone());
            let _ = self.0.revoke_token(self.1, &self.2, &d.token, &caller).await;
        }
        Ok(())
    }
}

#[tokio::test]
async fn verify_failure_keeps_the_old_token() {
    let w = World::new().await;
    let old = w.installed_token().await;
    let req = RotationRequest { app_id: w.app, app_secret: w.secret.clone(), token: old.clone(), profile: None };
    let targets: Vec<Box<dyn DeployTarget>> =
        vec![Box::new(Sabotage(w.client.clone(), w.app, w.secret.clone(), AtomicBool::new(false)))];
    let e = rotate(&w.client, &req, &targets).await.unwrap_err();
    let ClientError::Rotation(f) = &e else { panic!("{e}") };
    assert_eq!(f.stage, RotationStage::Verify, "{e}");
    assert_eq!(f.rolled_back, vec!["sabotage".to_string()]);
    assert!(w.is_valid(&old).await);
}

#[tokio::test]
async fn rotating_an_expired_or_revoked_token_fails_before_deploying() {
    let w = World::new().await;
    let token = w.installed_token().await;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("t");
    let req = RotationRequest { app_id: w.app, app_secret: w.secret.clone(), token: token.clone(), profile: None };
    let targets: Vec<Box<dyn DeployTarget>> = vec![TargetSpec::File(file.clone()).build(None).unwrap()];
    w.server.advance_clock(61 * DAY).await;
    let e = rotate(&w.client, &req, &targets).await.unwrap_err();
    let ClientError::Rotation(f) = &e else { panic!("{e}") };
    assert_eq!(f.stage, RotationStage::Refresh);
    assert_eq!(graph_code(&e), (190, Some(463)));
    assert!(e.hint().unwrap().contains("generate a new one"));
    assert!(!file.exists());
}

#[tokio::test]
async fn watch_rotates_due_tokens_and_survives_restarts() {
    let w = World::new().await;
    let due_token = w.installed_token().await;
    let permanent = w.generate(false, &["ads_read"]).await;
    let dir = tempfile::tempdir().unwrap();
    let store = w.store(&dir);
    w.profile(&store, "due", &due_token).await;
    w.profile(&store, "forever", &permanent).await;
    let cfg = WatchConfig::default();

    // Day 10: nothing to do.
    w.server.advance_clock(10 * DAY).await;
    let out = watch_pass(&w.client, &store, &cfg, w.server.now().await, &Quiet).await.unwrap();
    let by = |name: &str| out.iter().find(|o| o.profile == name).unwrap().action.clone();
    assert!(matches!(by("due"), Action::NotDue { .. }), "{out:?}");
    assert_eq!(by("forever"), Action::NeverExpires);

    // Day 31: past half of the 60 days: rotated.
    w.server.advance_clock(21 * DAY).await;
    let now = w.server.now().await;
    let out = watch_pass(&w.client, &store, &cfg, now, &Quiet).await.unwrap();
    assert_eq!(out.iter().find(|o| o.profile == "due").unwrap().action, Action::Rotated, "{out:?}");
    assert_eq!(w.subcode(&due_token).await, Some(466));
    let fresh = store.get("due").unwrap();
    assert!(w.is_valid(&fresh.token).await);
    assert_eq!(fresh.expires_at, Some(fresh.issued_at.unwrap() + 60 * DAY));

    // A "restarted" watcher (a new store handle, same file) sees the rotation and does nothing more.
    let reopened = TokenStore::open(store.path(), &StoreKey::Raw([4; 32])).unwrap();
    let out = watch_pass(&w.client, &reopened, &cfg, now + 60, &Quiet).await.unwrap();
    assert!(matches!(out.iter().find(|o| o.profile == "due").unwrap().action, Action::NotDue { .. }));

    // Left alone past its expiry: reported as expired with a loud warning.
    w.server.advance_clock(61 * DAY).await;
    let out = watch_pass(&w.client, &reopened, &cfg, w.server.now().await, &Quiet).await.unwrap();
    let due = out.iter().find(|o| o.profile == "due").unwrap();
    assert_eq!(due.action, Action::Expired);
    assert!(due.warning.as_deref().unwrap().contains("EXPIRED"));
}

#[tokio::test]
async fn page_tokens_from_a_system_user_token() {
    let w = World::new().await;
    let page: String =
        w.server.admin("POST", "/pages", json!({"name": "Acme Page", "business_id": w.fx.business_id})).await["id"]
            .as_str()
            .unwrap()
            .to_owned();
    let r = w
        .server
        .http
        .post(format!("{}/v25.0/{page}/assigned_users", w.server.url))
        .form(&[("user", w.fx.system_user_id.as_str()), ("tasks", "MANAGE"), ("access_token", &w.fx.admin_token)])
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success());
    w.install().await;
    let su = w.generate(false, &["pages_show_list", "pages_read_engagement"]).await;
    let caller = Caller::new(su).with_secret(Some(w.secret.clone()));
    let pid: PageId = page.parse().unwrap();
    let pt = w.client.page_token(&caller, pid).await.unwrap();
    let info = w.client.debug_token(&pt, &w.app_caller()).await.unwrap();
    assert_eq!(
        (info.kind.as_deref(), info.profile_id.as_deref(), info.expires_at()),
        (Some("PAGE"), Some(page.as_str()), None)
    );
    let accounts = w.client.accounts(&caller).await.unwrap();
    assert_eq!(accounts.len(), 1);
    assert_eq!(accounts[0].id, page);
    assert_eq!(accounts[0].token, pt);
    assert_eq!(accounts[0].tasks, vec!["MANAGE"]);
    // An unknown page: 100/33 with its hint.
    let e = w.client.page_token(&caller, PageId(424242)).await.unwrap_err();
    assert_eq!(graph_code(&e).0, 100);
}

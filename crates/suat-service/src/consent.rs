//! The OAuth dialog's use cases: validate what an app asks for, sign a person in, record their answer per
//! permission, and issue what the app asked for: the authorization code it will exchange, a token, or both.

use crate::{tokens::Issued, Error, Result, Service};
use argon2::{password_hash::PasswordHash, Argon2, PasswordVerifier};
use std::sync::{
    atomic::{AtomicUsize, Ordering},
    Arc, Mutex,
};
use suat_core::signin::{Policy, Record, Verdict, ACCOUNT, ADDRESS};
use suat_core::{
    oauth::{check_redirect_registered, consent_answers, AuthCode, PermissionStatus, ResponseType},
    rules,
    scope::{parse_scopes, Scope},
    time::SHORT_LIVED,
    AccessToken, AppId, TokenRecord, User, UserId, UserKind,
};
use suat_store::prelude::*;

/// How long a rendered form may be submitted.
pub const FORM_TTL: i64 = 30 * 60;

/// The dialog's inputs, validated: the app, a registered redirect URI, known scopes.
pub struct Dialog {
    pub app: Arc<StoredApp>,
    pub redirect_uri: String,
    pub scope_raw: String,
    pub scopes: Vec<Scope>,
    pub state: String,
    pub response_type: ResponseType,
}

/// What the dialog was asked for, as the browser sent it.
pub struct DialogRequest<'a> {
    pub client_id: Option<&'a str>,
    pub redirect_uri: &'a str,
    pub scope: &'a str,
    pub state: &'a str,
    pub response_type: &'a str,
}

/// What "Allow" hands back to the app.
pub struct Authorized {
    pub code: Option<AccessToken>,
    /// The token of a `token` flow: short-lived (2 hours), like the tokens of Facebook's client-side login.
    pub token: Option<Issued>,
}

impl Service {
    /// Validates a dialog request. Errors carry the sentence the consent page shows.
    pub async fn dialog(&self, r: DialogRequest<'_>) -> Result<Dialog> {
        let app_id: AppId = r
            .client_id
            .and_then(|c| c.parse().ok())
            .ok_or_else(|| Error::param("Invalid App ID: the client_id parameter is missing or malformed."))?;
        let app = self
            .store
            .get_app(app_id)
            .await?
            .ok_or_else(|| Error::param("Invalid App ID: no app has this client_id."))?;
        // Seed 001: a throttled, disabled or deleted app signs no one in (Graph's dialog says a deleted app is).
        rules::check_app_active(&app.app)?;
        check_redirect_registered(&app.app.redirect_uris, r.redirect_uri)?;
        let scopes = parse_scopes(r.scope).map_err(|e| Error::param(format!("Invalid Scopes: {e}")))?;
        let response_type = ResponseType::parse(r.response_type)?;
        Ok(Dialog {
            app,
            redirect_uri: r.redirect_uri.to_owned(),
            scope_raw: r.scope.to_owned(),
            scopes,
            state: r.state.to_owned(),
            response_type,
        })
    }

    /// Binds a rendered form to its inputs and time, so the confirm step only accepts forms this server rendered.
    pub fn form_signature(&self, d: &Dialog, issued: i64) -> String {
        let msg = format!(
            "dialog|{}|{}|{}|{}|{}|{issued}",
            d.app.app.id,
            d.redirect_uri,
            d.scope_raw,
            d.state,
            d.response_type.as_str()
        );
        self.keys.token.hash(&msg).to_hex()
    }

    /// Whether a submitted form is one this server rendered for `d`, less than [`FORM_TTL`] ago.
    pub fn form_is_fresh(&self, d: &Dialog, issued: i64, sig: Option<&str>, now: i64) -> bool {
        let sig_ok = sig.is_some_and(|s| {
            subtle::ConstantTimeEq::ct_eq(s.as_bytes(), self.form_signature(d, issued).as_bytes()).into()
        });
        sig_ok && now - issued <= FORM_TTL && issued <= now + 60
    }

    /// A fresh random value for the browser cookie a rendered form is bound to.
    pub fn new_browser_binding(&self) -> String {
        let mut b = [0u8; 32];
        rand::RngCore::fill_bytes(&mut rand::rngs::OsRng, &mut b);
        b.iter().map(|x| format!("{x:02x}")).collect()
    }

    /// The form's anti-forgery token: a keyed hash of the browser's cookie value, so only a page that can read a
    /// form this server rendered for that browser (not a cross-site one that cannot read or set the cookie) can
    /// submit it.
    pub fn form_token(&self, cookie: &str) -> String {
        self.keys.token.hash(&format!("dialog-browser|{cookie}")).to_hex()
    }

    /// Whether `token` is the form token of `cookie` (both present, the cookie well-formed).
    pub fn form_token_ok(&self, cookie: Option<&str>, token: Option<&str>) -> bool {
        match (cookie, token) {
            (Some(c), Some(t)) if c.len() == 64 && c.bytes().all(|b| b.is_ascii_hexdigit()) => {
                subtle::ConstantTimeEq::ct_eq(t.as_bytes(), self.form_token(c).as_bytes()).into()
            }
            _ => false,
        }
    }

    /// The throttle's answer before any password is checked: `Some(Throttled)` if the account or the address must
    /// wait (its first refusal in a window is audited once), `None` if the try may go on.
    async fn throttled(&self, account: &str, address: &str, now: i64) -> Option<SignIn> {
        if let Some((key, verdict, first, failures)) = self.signin.refused(account, address, now) {
            let until = match verdict {
                Verdict::Wait { until } | Verdict::Locked { until } => until,
                Verdict::Allowed => now,
            };
            if first {
                // One entry per key and window (the first refusal), so a flood of refused tries cannot flood the log.
                let audit = AuditEntry::new(now, "sign_in_refused", key.clone()).detail(serde_json::json!({
                    "key": key,
                    "failures": failures,
                    "locked": matches!(verdict, Verdict::Locked { .. }),
                    "until": until,
                }));
                let _ = self.write(Write::AuditOnly, audit).await;
            }
            return Some(SignIn::Throttled { until, locked: matches!(verdict, Verdict::Locked { .. }) });
        }
        None
    }

    /// Signs the operator in with the control-plane key (the web console's other way in), behind the same throttle
    /// as people's sign-ins: the account is `account:operator`, the address the client's. No argon2 run: the key is
    /// compared in constant time. `Ok(())` is a success; the error is `Wrong` or `Throttled`.
    pub async fn sign_in_operator(
        &self,
        presented: &str,
        expected: &str,
        address: &str,
        now: i64,
    ) -> std::result::Result<(), SignIn> {
        let (account, address) = ("account:operator".to_owned(), format!("address:{address}"));
        if let Some(refused) = self.throttled(&account, &address, now).await {
            return Err(refused);
        }
        let ok: bool = subtle::ConstantTimeEq::ct_eq(presented.trim().as_bytes(), expected.as_bytes()).into();
        if ok && !expected.is_empty() {
            self.signin.succeeded(&account);
            Ok(())
        } else {
            self.signin.failed(&account, &address, now);
            Err(SignIn::Wrong)
        }
    }

    /// Signs a person in from `address` at `now` (the server clock), behind the throttle and the hashing pool.
    ///
    /// An unknown id, a system user or a person without a password costs the same argon2 verification (against a
    /// dummy hash) as a wrong password and is counted the same way, so neither timing nor the throttle tells which
    /// user ids exist. A throttled sign-in costs no argon2 run at all.
    pub async fn sign_in(&self, raw_user: &str, password: &str, address: &str, now: i64) -> SignIn {
        let raw_user = raw_user.trim();
        let id: Option<UserId> = raw_user.parse().ok();
        // Unparseable ids are counted too (capped, so a long one cannot grow the map's keys).
        let account =
            format!("account:{}", id.map(|i| i.to_string()).unwrap_or_else(|| raw_user.chars().take(64).collect()));
        let address = format!("address:{address}");
        if let Some(refused) = self.throttled(&account, &address, now).await {
            return refused;
        }
        let (mut person, mut phc) = (None, None);
        if let Some(id) = id {
            if let Ok(Some(user)) = self.store.get_user(id).await {
                if matches!(user.kind, UserKind::Person { .. }) {
                    phc = self.store.get_password_hash(id).await.ok().flatten();
                    person = Some(user);
                }
            }
        }
        let known = phc.is_some();
        let Some(permit) = self.signin.permit().await else {
            return SignIn::Busy;
        };
        let password = password.to_owned();
        // argon2 is deliberately slow: keep it (and the dummy hash's first computation) off the async workers.
        let ok = tokio::task::spawn_blocking(move || {
            let _permit = permit;
            let phc: &str = match &phc {
                Some(p) => p,
                None => dummy_phc(),
            };
            PasswordHash::new(phc).is_ok_and(|h| Argon2::default().verify_password(password.as_bytes(), &h).is_ok())
        })
        .await
        .unwrap_or(false);
        match person {
            Some(user) if ok && known => {
                self.signin.succeeded(&account);
                SignIn::Ok(user)
            }
            _ => {
                self.signin.failed(&account, &address, now);
                SignIn::Wrong
            }
        }
    }

    /// "Allow": records the person's answer per permission (`ticked` says which boxes were left ticked) and, in
    /// the same write, the authorization code and/or token the dialog hands back; both carry only the granted
    /// permissions. Returned once, for the redirect.
    pub async fn authorize(
        &self,
        d: &Dialog,
        user: &User,
        ticked: impl Fn(&Scope) -> bool,
        now: i64,
    ) -> Result<Authorized> {
        let answers = consent_answers(&d.scopes, ticked);
        let pick = |want: PermissionStatus| -> Vec<Scope> {
            answers.iter().filter(|(_, st)| *st == want).map(|(s, _)| s.clone()).collect()
        };
        let (granted, declined) = (pick(PermissionStatus::Granted), pick(PermissionStatus::Declined));
        let mut audit = AuditEntry::new(now, "authorize", user.id.to_string()).subject(user.id).app(d.app.app.id);
        let code = d.response_type.code.then(|| AccessToken::mint_code(&mut rand::rngs::OsRng));
        let code_rec = code.as_ref().map(|c| AuthCode {
            hash: self.hash(c.expose()),
            app_id: d.app.app.id,
            user_id: user.id,
            redirect_uri: d.redirect_uri.clone(),
            scopes: granted.clone(),
            created_at: now,
            used_at: None,
            session_epoch: user.session_epoch,
        });
        let token = d.response_type.token.then(|| AccessToken::mint(&mut rand::rngs::OsRng));
        let token_rec = token
            .as_ref()
            .map(|t| TokenRecord::user(self.hash(t.expose()), d.app.app.id, user, granted.clone(), now, SHORT_LIVED));
        let mut detail = serde_json::json!({
            "scopes": granted.iter().map(Scope::as_str).collect::<Vec<_>>(),
            "declined": declined.iter().map(Scope::as_str).collect::<Vec<_>>(),
            "response_type": d.response_type.as_str(),
        });
        if let Some(rec) = &token_rec {
            // The token issued here is audited by this entry: its reference, kind and expiry.
            audit = audit.token(&rec.hash);
            detail["issued"] = serde_json::json!({"kind": "USER", "via": "dialog", "expires_at": rec.expires_at});
        }
        let write = Write::Consent { user: user.id, app: d.app.app.id, answers, code: code_rec, token: token_rec };
        self.write(write, audit.detail(detail)).await?;
        Ok(Authorized { code, token: token.map(|token| Issued { token, expires_in: Some(SHORT_LIVED) }) })
    }
}

/// An argon2id hash of a random password, with the same parameters as real ones, made once.
fn dummy_phc() -> &'static str {
    static DUMMY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    DUMMY.get_or_init(|| {
        use argon2::{password_hash::SaltString, PasswordHasher};
        let mut pw = [0u8; 32];
        rand::RngCore::fill_bytes(&mut rand::rngs::OsRng, &mut pw);
        let salt = SaltString::generate(&mut rand::rngs::OsRng);
        Argon2::default().hash_password(&pw, &salt).expect("argon2 with default parameters").to_string()
    })
}

/// How a sign-in went.
pub enum SignIn {
    Ok(User),
    /// Wrong user id or password.
    Wrong,
    /// Refused without checking: too many failures for the account or the address; try again at `until`.
    Throttled {
        until: i64,
        locked: bool,
    },
    /// The hashing pool stayed full for [`POOL_WAIT`]: try again in a moment.
    Busy,
}

/// How long a sign-in waits for a free slot in the hashing pool before it is answered "busy".
pub const POOL_WAIT: std::time::Duration = std::time::Duration::from_secs(2);

/// Keys tracked before expired records are pruned (and beyond which new keys are not tracked until some expire).
const MAX_KEYS: usize = 100_000;

/// The sign-in throttle's records (per account and per client address) and the bounded pool argon2 runs in: each
/// run holds ~19 MiB, so the pool, not the number of concurrent requests, bounds the memory sign-ins can take.
pub struct SignInGuard {
    records: Mutex<std::collections::HashMap<String, Record>>,
    pool: Arc<tokio::sync::Semaphore>,
    size: usize,
    in_use: Arc<AtomicUsize>,
    peak: Arc<AtomicUsize>,
}

impl Default for SignInGuard {
    fn default() -> Self {
        SignInGuard::new(std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1))
    }
}

/// A slot in the hashing pool; counts itself out when dropped.
pub struct Permit {
    _permit: tokio::sync::OwnedSemaphorePermit,
    in_use: Arc<AtomicUsize>,
}

impl Drop for Permit {
    fn drop(&mut self) {
        self.in_use.fetch_sub(1, Ordering::SeqCst);
    }
}

/// The pool's size, slots in use now, and the most ever in use at once.
#[derive(Debug, Clone, Copy, serde::Serialize)]
pub struct PoolStats {
    pub size: usize,
    pub in_use: usize,
    pub peak: usize,
}

impl SignInGuard {
    pub fn new(size: usize) -> SignInGuard {
        let size = size.max(1);
        SignInGuard {
            records: Default::default(),
            pool: Arc::new(tokio::sync::Semaphore::new(size)),
            size,
            in_use: Default::default(),
            peak: Default::default(),
        }
    }

    pub fn pool_stats(&self) -> PoolStats {
        PoolStats {
            size: self.size,
            in_use: self.in_use.load(Ordering::SeqCst),
            peak: self.peak.load(Ordering::SeqCst),
        }
    }

    async fn permit(&self) -> Option<Permit> {
        let permit = tokio::time::timeout(POOL_WAIT, self.pool.clone().acquire_owned()).await.ok()?.ok()?;
        let n = self.in_use.fetch_add(1, Ordering::SeqCst) + 1;
        self.peak.fetch_max(n, Ordering::SeqCst);
        Some(Permit { _permit: permit, in_use: self.in_use.clone() })
    }

    /// The first key (account, then address) that refuses a sign-in now, counting the refusal: (key, verdict,
    /// whether it is the window's first refusal, failures in the window).
    fn refused(&self, account: &str, address: &str, now: i64) -> Option<(String, Verdict, bool, u32)> {
        let mut records = self.records.lock().unwrap_or_else(|e| e.into_inner());
        for (key, p) in [(account, &ACCOUNT), (address, &ADDRESS)] {
            if let Some(r) = records.get_mut(key) {
                let v = r.verdict(p, now);
                if v != Verdict::Allowed {
                    let first = r.refuse();
                    return Some((key.to_owned(), v, first, r.failures));
                }
            }
        }
        None
    }

    fn failed(&self, account: &str, address: &str, now: i64) {
        let mut records = self.records.lock().unwrap_or_else(|e| e.into_inner());
        if records.len() >= MAX_KEYS {
            records.retain(|k, r| !r.expired(policy_of(k), now));
        }
        for (key, p) in [(account, &ACCOUNT), (address, &ADDRESS)] {
            if let Some(r) = records.get_mut(key) {
                r.fail(p, now);
            } else if records.len() < MAX_KEYS {
                let mut r = Record::default();
                r.fail(p, now);
                records.insert(key.to_owned(), r);
            }
        }
    }

    /// A successful sign-in forgets the account's failures (not the address's: one address may try many accounts).
    fn succeeded(&self, account: &str) {
        self.records.lock().unwrap_or_else(|e| e.into_inner()).remove(account);
    }

    /// Forgets every record (the control plane's reset).
    pub fn clear(&self) {
        self.records.lock().unwrap_or_else(|e| e.into_inner()).clear();
    }
}

fn policy_of(key: &str) -> &'static Policy {
    if key.starts_with("address:") {
        &ADDRESS
    } else {
        &ACCOUNT
    }
}

//! The OAuth dialog's use cases: validate what an app asks for, sign a person in, and issue the authorization code
//! the app will exchange.

use crate::{Error, Result, Service};
use argon2::{password_hash::PasswordHash, Argon2, PasswordVerifier};
use std::sync::Arc;
use suat_core::{
    oauth::{check_redirect_registered, AuthCode},
    rules,
    scope::{parse_scopes, Scope},
    AccessToken, AppId, User, UserId, UserKind,
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
}

/// What the dialog was asked for, as the browser sent it.
pub struct DialogRequest<'a> {
    pub client_id: Option<&'a str>,
    pub redirect_uri: &'a str,
    pub scope: &'a str,
    pub state: &'a str,
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
        Ok(Dialog {
            app,
            redirect_uri: r.redirect_uri.to_owned(),
            scope_raw: r.scope.to_owned(),
            scopes,
            state: r.state.to_owned(),
        })
    }

    /// Binds a rendered form to its inputs and time, so the confirm step only accepts forms this server rendered.
    pub fn form_signature(&self, d: &Dialog, issued: i64) -> String {
        let msg = format!("dialog|{}|{}|{}|{}|{issued}", d.app.app.id, d.redirect_uri, d.scope_raw, d.state);
        self.keys.token.hash(&msg).to_hex()
    }

    /// Whether a submitted form is one this server rendered for `d`, less than [`FORM_TTL`] ago.
    pub fn form_is_fresh(&self, d: &Dialog, issued: i64, sig: Option<&str>, now: i64) -> bool {
        let sig_ok = sig.is_some_and(|s| {
            subtle::ConstantTimeEq::ct_eq(s.as_bytes(), self.form_signature(d, issued).as_bytes()).into()
        });
        sig_ok && now - issued <= FORM_TTL && issued <= now + 60
    }

    /// Checks a person's password against the stored argon2id hash. An unknown id, a system user or a person without
    /// a password costs the same argon2 verification (against a dummy hash) as a wrong password, so the page's
    /// timing does not tell which user ids exist.
    pub async fn sign_in(&self, raw_user: &str, password: &str) -> Option<User> {
        let id: Option<UserId> = raw_user.trim().parse().ok();
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
        let password = password.to_owned();
        // argon2 is deliberately slow: keep it (and the dummy hash's first computation) off the async workers.
        let ok = tokio::task::spawn_blocking(move || {
            let phc: &str = match &phc {
                Some(p) => p,
                None => dummy_phc(),
            };
            PasswordHash::new(phc).is_ok_and(|h| Argon2::default().verify_password(password.as_bytes(), &h).is_ok())
        })
        .await
        .unwrap_or(false);
        if ok && known {
            person
        } else {
            None
        }
    }

    /// "Allow": records an authorization code for `user` and returns it (shown once, in the redirect).
    pub async fn authorize(&self, d: &Dialog, user: &User, now: i64) -> Result<AccessToken> {
        let code = AccessToken::mint_code(&mut rand::rngs::OsRng);
        let rec = AuthCode {
            hash: self.hash(code.expose()),
            app_id: d.app.app.id,
            user_id: user.id,
            redirect_uri: d.redirect_uri.clone(),
            scopes: d.scopes.clone(),
            created_at: now,
            used_at: None,
            session_epoch: user.session_epoch,
        };
        let audit = AuditEntry::new(now, "authorize", user.id.to_string())
            .subject(user.id)
            .app(d.app.app.id)
            .detail(serde_json::json!({"scopes": d.scopes.iter().map(|s| s.as_str()).collect::<Vec<_>>()}));
        self.write(Write::InsertCode(rec), audit).await?;
        Ok(code)
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

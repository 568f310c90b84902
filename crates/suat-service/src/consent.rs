//! The OAuth dialog's use cases: validate what an app asks for, sign a person in, record their answer per
//! permission, and issue what the app asked for: the authorization code it will exchange, a token, or both.

use crate::{tokens::Issued, Error, Result, Service};
use argon2::{password_hash::PasswordHash, Argon2, PasswordVerifier};
use std::sync::Arc;
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

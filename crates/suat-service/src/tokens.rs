//! The token endpoints' use cases: refresh (`fb_exchange_token`), app tokens (`client_credentials`), the
//! authorization-code exchange, revocation, and `debug_token`.

use crate::{
    actor,
    caller::{Caller, Presented, ProofPolicy, Resolved},
    Error, Result, Service,
};
use serde_json::json;
use std::sync::Arc;
use suat_core::{
    error::code_messages, oauth, rules, time::SIXTY_DAYS, AccessToken, AppId, CoreError, TokenKind, TokenProblem,
    TokenRecord,
};
use suat_store::{prelude::*, StoreError};

/// An app's credentials as a client presents them (`client_id`, `client_secret`).
pub struct Client<'a> {
    pub id: &'a str,
    pub secret: &'a str,
}

/// A token just issued, with its lifetime in seconds (`None`: it never expires).
pub struct Issued {
    pub token: AccessToken,
    pub expires_in: Option<i64>,
}

/// What `debug_token` reports about a token.
pub struct Debugged {
    pub resolved: Resolved,
    /// The token's kind (app tokens of the literal `APPID|SECRET` form have no record).
    pub kind: Option<TokenKind>,
}

impl Service {
    /// client_id must name an app (101) that is not throttled (4), disabled or deleted (101; seed 001), and
    /// client_secret must be its secret (1), checked in constant time. The app is validated before the secret, as
    /// Graph reports a deleted app to callers that give no secret at all.
    pub async fn client_app(&self, c: &Client<'_>) -> Result<Arc<StoredApp>> {
        let id: AppId = c.id.parse().map_err(|_| CoreError::UnknownApp)?;
        let app = self.store.get_app(id).await?.ok_or(CoreError::UnknownApp)?;
        rules::check_app_active(&app.app)?;
        if !self.app_secret(&app)?.matches(c.secret) {
            self.auth_failed(crate::failures::Failure::client_secret(id, "client_secret")).await;
            return Err(CoreError::ClientSecret.into());
        }
        Ok(app)
    }

    /// `fb_exchange_token`: a new token valid 60 days from now; the old one keeps working until its own expiry.
    pub async fn refresh(&self, client: &Client<'_>, old_token: &str, now: i64) -> Result<Issued> {
        let app = self.client_app(client).await?;
        let old = self.resolve(old_token, now).await?;
        if let Some(problem) = old.problem {
            return Err(problem.into());
        }
        let Some(old_rec) = old.record else {
            return Err(Error::param("fb_exchange_token must be a user or system user access token"));
        };
        rules::check_refresh(app.app.id, &old_rec)?;
        let token = AccessToken::mint(&mut rand::rngs::OsRng);
        let rec = TokenRecord::refreshed(self.hash(token.expose()), &old_rec, now);
        let audit = AuditEntry::new(now, "refresh", format!("app:{}", app.app.id))
            .app(app.app.id)
            .token(&rec.hash)
            .detail(json!({"from": old_rec.hash.reference(), "expires_at": rec.expires_at, "kind": rec.kind.as_str()}));
        let audit = match rec.user_id {
            Some(u) => audit.subject(u),
            None => audit,
        };
        self.write(Write::RefreshToken(rec), audit).await?;
        Ok(Issued { token, expires_in: Some(SIXTY_DAYS) })
    }

    /// `client_credentials`: an app token `APPID|...` that reveals nothing of the secret.
    pub async fn app_token(&self, client: &Client<'_>, now: i64) -> Result<Issued> {
        let app = self.client_app(client).await?;
        let token = AccessToken::mint_app(&mut rand::rngs::OsRng, app.app.id);
        let rec = TokenRecord::app(self.hash(token.expose()), app.app.id, self.app_secret(&app)?.epoch(), now);
        let audit = AuditEntry::new(now, "issue", format!("app:{}", app.app.id))
            .app(app.app.id)
            .token(&rec.hash)
            .detail(json!({"kind": "APP"}));
        self.write(Write::IssueToken(rec), audit).await?;
        Ok(Issued { token, expires_in: None })
    }

    /// The authorization-code exchange: a long-lived (60-day) user token, as Graph's server-side login gives
    /// (GRAPH-WIRE r2); single use, 10 minutes, exact redirect_uri.
    pub async fn exchange_code(&self, client: &Client<'_>, code: &str, redirect_uri: &str, now: i64) -> Result<Issued> {
        let app = self.client_app(client).await?;
        let hash = self.hash(code);
        let Some(code) = self.store.get_code(&hash).await? else {
            return Err(CoreError::InvalidCode(code_messages::FORMAT).into());
        };
        oauth::check_code_exchange(&code, app.app.id, redirect_uri, now)?;
        let user = self.store.get_user(code.user_id).await?.ok_or(CoreError::InvalidCode(code_messages::USED))?;
        oauth::check_code_session(&code, user.session_epoch)?;
        let token = AccessToken::mint(&mut rand::rngs::OsRng);
        let rec = TokenRecord::user(self.hash(token.expose()), app.app.id, &user, code.scopes.clone(), now, SIXTY_DAYS);
        let audit = AuditEntry::new(now, "issue", format!("app:{}", app.app.id))
            .subject(user.id)
            .app(app.app.id)
            .token(&rec.hash)
            .detail(json!({"kind": "USER", "via": "code", "expires_at": rec.expires_at}));
        match self.write(Write::RedeemCode { hash, at: now, token: rec }, audit).await {
            Ok(_) => Ok(Issued { token, expires_in: Some(SIXTY_DAYS) }),
            Err(Error::Store(StoreError::CodeUsed)) => Err(CoreError::InvalidCode(code_messages::USED).into()),
            Err(e) => Err(e),
        }
    }

    /// `/oauth/revoke`: the app of client_id, of the token revoked and of the caller must all match. Revoking an
    /// already-revoked token succeeds: rotation scripts retry, and the outcome is the same. The client's
    /// credentials are checked before the caller's token, as Graph reports them.
    pub async fn revoke(&self, client: &Client<'_>, presented: Presented<'_>, target: &str, now: i64) -> Result<()> {
        let app = self.client_app(client).await?;
        let caller: Caller = self.authenticate(presented, now, ProofPolicy::Standard).await?;
        let target = self.resolve(target, now).await?;
        let Some(target_rec) = target.record else {
            // Unknown tokens and the literal APPID|SECRET cannot be revoked.
            return Err(target.problem.unwrap_or(TokenProblem::Unparseable).into());
        };
        let caller_app = caller.resolved.app_id().ok_or(TokenProblem::Unparseable)?;
        rules::check_revoke(app.app.id, &target_rec, caller_app)?;
        let caller_user = caller.resolved.user.as_ref().map(|u| u.id);
        let audit = AuditEntry::new(now, "revoke", actor(caller_user, caller_app))
            .app(app.app.id)
            .token(&target_rec.hash)
            .detail(json!({"kind": target_rec.kind.as_str()}));
        let audit = match target_rec.user_id {
            Some(u) => audit.subject(u),
            None => audit,
        };
        self.write(Write::RevokeToken { hash: target_rec.hash, at: now }, audit).await?;
        Ok(())
    }

    /// `debug_token`: what `input` is and whether it is valid. A token may inspect itself even when it is no longer
    /// valid; any other caller must itself be valid. Either way a "Require App Secret" app's token is only usable
    /// with a proof, here as on every other call.
    pub async fn debug(&self, input: &str, presented: Presented<'_>, now: i64) -> Result<Debugged> {
        let caller_token = presented.token.ok_or_else(|| {
            CoreError::InvalidParameter(
                "You must provide an app access token, or a user access token that is an owner or developer of the app"
                    .into(),
            )
        })?;
        let same = caller_token == input;
        let resolved = self.resolve(input, now).await?;
        let caller_app = if same {
            if let (Some(app), false) = (&resolved.app, resolved.is_app_token) {
                self.check_proof(app, caller_token, presented, now).await?;
            }
            if let Some(app) = &resolved.app {
                rules::check_caller_app(&app.app)?;
            }
            resolved.app_id()
        } else {
            Some(self.authenticate(presented, now, ProofPolicy::Standard).await?.app().app.id)
        };
        if let Some(caller_app) = caller_app {
            rules::check_debug_caller(resolved.app_id(), caller_app, same)?;
        }
        let kind = match &resolved.record {
            Some(r) => Some(r.kind),
            None if resolved.is_app_token => Some(TokenKind::App),
            None => None,
        };
        Ok(Debugged { resolved, kind })
    }
}

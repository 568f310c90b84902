//! `/oauth/access_token` (token exchange/refresh, app tokens, and the authorization-code exchange) and
//! `/oauth/revoke`. Both accept GET and POST with parameters in query or body.

use super::{actor, success, GraphRequest};
use crate::{
    auth::{authenticate, resolve, ProofPolicy},
    error::{graph_json, GraphError},
    state::AppState,
};
use axum::response::Response;
use serde_json::json;
use suat_core::{
    error::code_messages,
    rules,
    time::{SHORT_LIVED, SIXTY_DAYS},
    AccessToken, AppId, CoreError, TokenKind, TokenRecord,
};
#[allow(unused_imports)]
use suat_store::prelude::*;
use suat_store::{AuditEntry, StoredApp};

/// client_id must name an app (101) and client_secret must be its secret (1), checked in constant time.
async fn client_app(state: &AppState, req: &GraphRequest) -> Result<std::sync::Arc<StoredApp>, GraphError> {
    let raw = req.params.require("client_id")?;
    let id: AppId = raw.parse().map_err(|_| CoreError::UnknownApp)?;
    let app = state.store.get_app(id).await?.ok_or(CoreError::UnknownApp)?;
    let presented = req.params.require("client_secret")?;
    if !state.app_secret(&app)?.matches(presented) {
        return Err(CoreError::ClientSecret.into());
    }
    Ok(app)
}

/// GET|POST /oauth/access_token.
pub async fn access_token(state: &AppState, req: &GraphRequest) -> Result<Response, GraphError> {
    match req.params.get("grant_type") {
        Some("fb_exchange_token") => exchange(state, req).await,
        Some("client_credentials") => app_token(state, req).await,
        None if req.params.get("code").is_some() => exchange_code(state, req).await,
        None => Err(CoreError::MissingParameter("grant_type").into()),
        Some(other) => Err(GraphError::param(format!(
            "Unsupported grant_type {}: use fb_exchange_token or client_credentials",
            other.chars().take(64).collect::<String>()
        ))),
    }
}

/// The authorization-code exchange: a short-lived (2-hour) user token; single use, 10 minutes, exact redirect_uri.
async fn exchange_code(state: &AppState, req: &GraphRequest) -> Result<Response, GraphError> {
    let app = client_app(state, req).await?;
    let raw = req.params.require("code")?;
    let redirect_uri = req.params.get("redirect_uri").unwrap_or("");
    let hash = state.keys.token.hash(raw);
    let Some(code) = state.store.get_code(&hash).await? else {
        return Err(GraphError {
            www_authenticate: Some("invalid_code"),
            ..GraphError::param("Invalid verification code format.")
        });
    };
    suat_core::oauth::check_code_exchange(&code, app.app.id, redirect_uri, req.now)?;
    let user = state.store.get_user(code.user_id).await?.ok_or(CoreError::InvalidCode(code_messages::USED))?;
    suat_core::oauth::check_code_session(&code, user.session_epoch)?;
    let token = AccessToken::mint(&mut rand::rngs::OsRng);
    let rec = TokenRecord {
        hash: state.keys.token.hash(token.expose()),
        kind: TokenKind::User,
        app_id: app.app.id,
        user_id: Some(user.id),
        page_id: None,
        scopes: code.scopes.clone(),
        issued_at: req.now,
        expires_at: Some(req.now + SHORT_LIVED),
        revoked_at: None,
        parent: None,
        session_epoch: user.session_epoch,
    };
    let audit = AuditEntry::new(req.now, "issue", format!("app:{}", app.app.id))
        .subject(user.id)
        .app(app.app.id)
        .token(&rec.hash)
        .detail(json!({"kind": "USER", "via": "code", "expires_at": rec.expires_at}));
    match state.store.execute(&Write::RedeemCode { hash, at: req.now, token: rec.clone() }, &audit).await {
        Ok(_) => {}
        Err(suat_store::StoreError::CodeUsed) => return Err(CoreError::InvalidCode(code_messages::USED).into()),
        Err(e) => return Err(e.into()),
    }
    Ok(graph_json(json!({"access_token": token.expose(), "token_type": "bearer", "expires_in": SHORT_LIVED})))
}

/// Refresh: a new token valid 60 days from now; the old one keeps working until its own expiry.
async fn exchange(state: &AppState, req: &GraphRequest) -> Result<Response, GraphError> {
    let app = client_app(state, req).await?;
    let old_token = req.params.require("fb_exchange_token")?;
    // The flag is optional on refresh (refreshes always yield 60-day tokens) but must be a boolean if given.
    req.params.flag("set_token_expires_in_60_days")?;
    let old = resolve(state, old_token, req.now).await?;
    if let Some(problem) = old.problem {
        return Err(CoreError::Token(problem).into());
    }
    let Some(old_rec) = old.record else {
        return Err(GraphError::param("fb_exchange_token must be a user or system user access token"));
    };
    rules::check_refresh(app.app.id, &old_rec)?;
    let token = AccessToken::mint(&mut rand::rngs::OsRng);
    let rec = TokenRecord {
        hash: state.keys.token.hash(token.expose()),
        issued_at: req.now,
        expires_at: Some(req.now + SIXTY_DAYS),
        revoked_at: None,
        parent: Some(old_rec.hash),
        ..TokenRecord::clone(&old_rec)
    };
    let audit = AuditEntry::new(req.now, "refresh", format!("app:{}", app.app.id))
        .app(app.app.id)
        .token(&rec.hash)
        .detail(json!({"from": old_rec.hash.to_hex()[..16], "expires_at": rec.expires_at, "kind": rec.kind.as_str()}));
    let audit = match rec.user_id {
        Some(u) => audit.subject(u),
        None => audit,
    };
    state.store.execute(&Write::RefreshToken(rec.clone()), &audit).await?;
    Ok(graph_json(json!({
        "access_token": token.expose(),
        "token_type": "bearer",
        "expires_in": SIXTY_DAYS,
    })))
}

/// grant_type=client_credentials: an app token `APPID|...` that reveals nothing of the secret.
async fn app_token(state: &AppState, req: &GraphRequest) -> Result<Response, GraphError> {
    let app = client_app(state, req).await?;
    let token = AccessToken::mint_app(&mut rand::rngs::OsRng, app.app.id);
    let rec = TokenRecord {
        hash: state.keys.token.hash(token.expose()),
        kind: TokenKind::App,
        app_id: app.app.id,
        user_id: None,
        page_id: None,
        scopes: vec![],
        issued_at: req.now,
        expires_at: None,
        revoked_at: None,
        parent: None,
        // Bound to the secret it was minted under: a secret reset invalidates it.
        session_epoch: state.app_secret(&app)?.epoch(),
    };
    let audit = AuditEntry::new(req.now, "issue", format!("app:{}", app.app.id))
        .app(app.app.id)
        .token(&rec.hash)
        .detail(json!({"kind": "APP"}));
    state.store.execute(&Write::IssueToken(rec.clone()), &audit).await?;
    Ok(graph_json(json!({"access_token": token.expose(), "token_type": "bearer"})))
}

/// GET|POST /oauth/revoke `client_id`, `client_secret`, `revoke_token`, `access_token`.
pub async fn revoke(state: &AppState, req: &GraphRequest) -> Result<Response, GraphError> {
    let app = client_app(state, req).await?;
    let revoke_token = req.params.require("revoke_token")?;
    let caller = authenticate(state, &req.params, req.now, ProofPolicy::Standard).await?.resolved;
    let target = resolve(state, revoke_token, req.now).await?;
    let Some(target_rec) = target.record else {
        // Unknown tokens and the literal APPID|SECRET cannot be revoked.
        return Err(CoreError::Token(suat_core::TokenProblem::Unparseable).into());
    };
    let caller_app = caller.app_id().ok_or(CoreError::Token(suat_core::TokenProblem::Unparseable))?;
    rules::check_revoke(app.app.id, &target_rec, caller_app)?;
    let caller_user = caller.user.as_ref().map(|u| u.id);
    let audit = AuditEntry::new(req.now, "revoke", actor(caller_user, caller_app))
        .app(app.app.id)
        .token(&target_rec.hash)
        .detail(json!({"kind": target_rec.kind.as_str()}));
    let audit = match target_rec.user_id {
        Some(u) => audit.subject(u),
        None => audit,
    };
    // Revoking an already-revoked token succeeds: rotation scripts retry, and the outcome is the same.
    state.store.execute(&Write::RevokeToken { hash: target_rec.hash, at: req.now }, &audit).await?;
    success()
}

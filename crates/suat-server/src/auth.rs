//! Who is calling: resolves a presented token to its record, app and subject, checks its validity against the
//! server clock, and enforces appsecret_proof where the app requires it or the caller sent one.

use crate::{error::GraphError, params::Params, state::AppState};
use suat_core::{page, rules, AppId, AppSecretProof, CoreError, TokenKind, TokenProblem, TokenRecord, User};
#[allow(unused_imports)]
use suat_store::prelude::*;
use suat_store::StoredApp;

/// A token looked up, valid or not. `debug_token` reports on this; `authenticate` insists it is valid.
pub struct Resolved {
    pub app: Option<std::sync::Arc<StoredApp>>,
    pub record: Option<std::sync::Arc<TokenRecord>>,
    pub user: Option<User>,
    /// An app token (`APPID|SECRET` or one minted by client_credentials).
    pub is_app_token: bool,
    /// Why the token is unusable, if it is.
    pub problem: Option<TokenProblem>,
}

impl Resolved {
    pub fn app_id(&self) -> Option<AppId> {
        self.app.as_ref().map(|a| a.app.id)
    }
}

/// Resolves `token` at instant `now`.
pub async fn resolve(state: &AppState, token: &str, now: i64) -> Result<Resolved, GraphError> {
    let unparseable = || Resolved {
        app: None,
        record: None,
        user: None,
        is_app_token: false,
        problem: Some(TokenProblem::Unparseable),
    };
    if token.len() > 512 {
        return Ok(unparseable());
    }
    if let Some((app_part, rest)) = token.split_once('|') {
        let Ok(app_id) = app_part.parse::<AppId>() else {
            return Ok(unparseable());
        };
        let Some(app) = state.store.get_app(app_id).await? else {
            return Ok(unparseable());
        };
        // The literal APPID|APPSECRET form.
        let secret = state.app_secret(&app)?;
        if secret.matches(rest) {
            return Ok(Resolved { app: Some(app), record: None, user: None, is_app_token: true, problem: None });
        }
        let hash = state.keys.token.hash(token);
        return Ok(match state.store.get_token(&hash).await? {
            Some(rec) if rec.kind == TokenKind::App && rec.app_id == app_id => {
                let problem = rec.check(now, Some(secret.epoch())).err();
                Resolved { app: Some(app), record: Some(rec), user: None, is_app_token: true, problem }
            }
            _ => unparseable(),
        });
    }
    let hash = state.keys.token.hash(token);
    let Some(rec) = state.store.get_token(&hash).await? else {
        return Ok(unparseable());
    };
    let app = state.store.get_app(rec.app_id).await?;
    let user = match rec.user_id {
        Some(u) => state.store.get_user(u).await?,
        None => None,
    };
    let mut problem = rec.check(now, user.as_ref().map(|u| u.session_epoch)).err();
    if problem.is_none() {
        problem = dependency_problem(state, &rec, now).await?;
    }
    if app.is_none() || (rec.user_id.is_some() && user.is_none()) {
        problem = Some(TokenProblem::Unparseable);
    }
    Ok(Resolved { app, record: Some(rec), user, is_app_token: false, problem })
}

/// What a valid-looking token depends on: a system-user token on its app's installation (458); a page token on its
/// source system-user token (which carries its own 466/463/460/458) and on the system user's role on the page (467).
async fn dependency_problem(state: &AppState, rec: &TokenRecord, now: i64) -> Result<Option<TokenProblem>, GraphError> {
    let Some(u) = rec.user_id else { return Ok(None) };
    match rec.kind {
        TokenKind::SystemUser => {
            let installed = state.store.is_installed(u, rec.app_id).await?;
            Ok(rules::check_installed(rec, installed).err())
        }
        TokenKind::Page => {
            let source = match rec.parent {
                Some(p) => state.store.get_token(&p).await?,
                None => None,
            };
            let source_problem = match &source {
                Some(src) => {
                    let epoch = state.store.get_user(u).await?.map(|x| x.session_epoch);
                    match src.check(now, epoch) {
                        Err(p) => Some(p),
                        Ok(()) => Box::pin(dependency_problem(state, src, now)).await?,
                    }
                }
                None => None,
            };
            let has_role = match rec.page_id {
                Some(page) => state.store.get_page_role(page, u).await?.is_some_and(|r| !r.tasks.is_empty()),
                None => false,
            };
            Ok(page::check_page_dependencies(source.as_deref(), source_problem, has_role).err())
        }
        TokenKind::User | TokenKind::App => Ok(None),
    }
}

/// How an endpoint wants appsecret_proof handled.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum ProofPolicy {
    /// Verify against the caller token's app when present, and demand it when that app requires it.
    Standard,
    /// The endpoint verifies the proof itself (against another app's secret).
    EndpointVerifies,
}

/// A valid caller.
pub struct Caller {
    pub token: String,
    pub resolved: Resolved,
}

impl Caller {
    pub fn app(&self) -> &std::sync::Arc<StoredApp> {
        self.resolved.app.as_ref().expect("a valid caller always has an app")
    }
    /// The person or system user behind the token; app tokens have none.
    pub fn user(&self) -> Result<&User, GraphError> {
        self.resolved.user.as_ref().ok_or_else(|| {
            CoreError::Permission { code: 200, message: "This call requires a user or system user access token".into() }
                .into()
        })
    }
}

/// Authenticates the request's caller token: present, valid at `now`, with a good proof when one is due.
pub async fn authenticate(state: &AppState, p: &Params, now: i64, policy: ProofPolicy) -> Result<Caller, GraphError> {
    let token = p.caller_token().ok_or(CoreError::TokenRequired)?.to_owned();
    let resolved = resolve(state, &token, now).await?;
    if let Some(problem) = resolved.problem.clone() {
        return Err(CoreError::Token(problem).into());
    }
    let caller = Caller { token, resolved };
    if policy == ProofPolicy::Standard && !caller.resolved.is_app_token {
        check_proof(state, caller.app(), &caller.token, p, now)?;
    }
    Ok(caller)
}

/// Verifies the request's appsecret_proof for `token` of `app` when one is sent, and demands one when the app has
/// "Require App Secret" set.
pub fn check_proof(
    state: &AppState,
    app: &std::sync::Arc<StoredApp>,
    token: &str,
    p: &Params,
    now: i64,
) -> Result<(), GraphError> {
    match p.get("appsecret_proof") {
        Some(proof) => {
            let secret = state.app_secret(app)?;
            AppSecretProof::verify(&secret, token, proof, p.get("appsecret_time"), now)?;
        }
        None if app.app.require_app_secret => return Err(CoreError::ProofMissing.into()),
        None => {}
    }
    Ok(())
}

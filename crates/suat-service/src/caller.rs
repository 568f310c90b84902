//! Who is calling: resolves a presented token to its record, app and subject, checks its validity against the
//! server clock, and enforces appsecret_proof where the app requires it or the caller sent one.

use crate::{limits, Error, Result, Service};
use std::sync::Arc;
use suat_core::{oauth, page, rules, AppId, AppSecretProof, CoreError, TokenKind, TokenProblem, TokenRecord, User};
use suat_store::prelude::*;

/// What a request presented to prove who it is: the token and, optionally, its appsecret_proof.
#[derive(Debug, Clone, Copy, Default)]
pub struct Presented<'a> {
    pub token: Option<&'a str>,
    pub proof: Option<&'a str>,
    /// `appsecret_time`, for proofs over `token|time`.
    pub proof_time: Option<&'a str>,
}

/// A token looked up, valid or not. `debug_token` reports on this; [`Service::authenticate`] insists it is valid.
pub struct Resolved {
    pub app: Option<Arc<StoredApp>>,
    pub record: Option<Arc<TokenRecord>>,
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
    fn unparseable() -> Resolved {
        Resolved::invalid(TokenProblem::Unparseable)
    }
    fn invalid(problem: TokenProblem) -> Resolved {
        Resolved { app: None, record: None, user: None, is_app_token: false, problem: Some(problem) }
    }
}

/// How an endpoint wants appsecret_proof handled.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum ProofPolicy {
    /// Verify against the caller token's app when present, and demand it when that app requires it.
    Standard,
    /// The use case verifies the proof itself (against another app's secret).
    UseCaseVerifies,
}

/// A valid caller.
pub struct Caller {
    pub token: String,
    pub resolved: Resolved,
}

impl Caller {
    pub fn app(&self) -> &Arc<StoredApp> {
        self.resolved.app.as_ref().expect("a valid caller always has an app")
    }
    /// The person or system user behind the token; app tokens have none.
    pub fn user(&self) -> Result<&User> {
        self.resolved.user.as_ref().ok_or_else(|| {
            CoreError::Permission { code: 200, message: "This call requires a user or system user access token".into() }
                .into()
        })
    }
    pub fn record(&self) -> Option<&Arc<TokenRecord>> {
        self.resolved.record.as_ref()
    }
}

impl Service {
    /// Resolves `token` at instant `now`.
    pub async fn resolve(&self, token: &str, now: i64) -> Result<Resolved> {
        if token.len() > 512 {
            return Ok(Resolved::unparseable());
        }
        if let Some((app_part, rest)) = token.split_once('|') {
            let Ok(app_id) = app_part.parse::<AppId>() else {
                return Ok(Resolved::unparseable());
            };
            let Some(app) = self.store.get_app(app_id).await? else {
                return Ok(Resolved::invalid(TokenProblem::UnknownApp));
            };
            // The literal APPID|APPSECRET form.
            let secret = self.app_secret(&app)?;
            let app_problem = rules::app_token_problem(&app.app);
            if secret.matches(rest) {
                let problem = app_problem;
                return Ok(Resolved { app: Some(app), record: None, user: None, is_app_token: true, problem });
            }
            return Ok(match self.store.get_token(&self.hash(token)).await? {
                Some(rec) if rec.kind == TokenKind::App && rec.app_id == app_id => {
                    let problem = app_problem.or_else(|| rec.check(now, Some(secret.epoch())).err());
                    Resolved { app: Some(app), record: Some(rec), user: None, is_app_token: true, problem }
                }
                _ => {
                    // Not a token this app was given: a guess at its secret.
                    self.auth_failed(crate::failures::Failure::client_secret(app_id, "app_token")).await;
                    Resolved::invalid(TokenProblem::BadSignature)
                }
            });
        }
        let Some(rec) = self.store.get_token(&self.hash(token)).await? else {
            return Ok(Resolved::invalid(TokenProblem::unknown(token)));
        };
        let app = self.store.get_app(rec.app_id).await?;
        let user = match rec.user_id {
            Some(u) => self.store.get_user(u).await?,
            None => None,
        };
        // The app first, as Graph validates the application before the session: a disabled or deleted app's tokens
        // all stop working (seed 001).
        let mut problem = app.as_ref().and_then(|a| rules::app_token_problem(&a.app));
        if problem.is_none() {
            problem = rec.check(now, user.as_ref().map(|u| u.session_epoch)).err();
        }
        if problem.is_none() {
            problem = self.dependency_problem(&rec, now).await?;
        }
        let mut rec = rec;
        if let (None, TokenKind::User, Some(u)) = (&problem, rec.kind, rec.user_id) {
            // A person's token answers to what they have told the app since: removed (458), or permissions taken
            // back (gone from the token's scopes).
            let auth = self.store.get_authorization(u, rec.app_id).await?;
            problem = oauth::check_authorized(&rec, &auth).err();
            let scopes = oauth::effective_scopes(&rec.scopes, &auth);
            if scopes.len() != rec.scopes.len() {
                rec = Arc::new(TokenRecord { scopes, ..(*rec).clone() });
            }
        }
        if app.is_none() || (rec.user_id.is_some() && user.is_none()) {
            problem = Some(TokenProblem::Unparseable);
        }
        Ok(Resolved { app, record: Some(rec), user, is_app_token: false, problem })
    }

    /// What a valid-looking token depends on: a system-user token on its app's installation (458); a page token on
    /// its source system-user token (which carries its own 466/463/460/458) and on the system user's role on the
    /// page (467).
    async fn dependency_problem(&self, rec: &TokenRecord, now: i64) -> Result<Option<TokenProblem>> {
        let Some(u) = rec.user_id else { return Ok(None) };
        match rec.kind {
            TokenKind::SystemUser => {
                let installed = self.store.is_installed(u, rec.app_id).await?;
                Ok(rules::check_installed(rec, installed).err())
            }
            TokenKind::Page => {
                let source = match rec.parent {
                    Some(p) => self.store.get_token(&p).await?,
                    None => None,
                };
                let source_problem = match &source {
                    Some(src) => {
                        let epoch = self.store.get_user(u).await?.map(|x| x.session_epoch);
                        match src.check(now, epoch) {
                            Err(p) => Some(p),
                            Ok(()) => Box::pin(self.dependency_problem(src, now)).await?,
                        }
                    }
                    None => None,
                };
                let has_role = match rec.page_id {
                    Some(page) => self.store.get_page_role(page, u).await?.is_some_and(|r| !r.tasks.is_empty()),
                    None => false,
                };
                Ok(page::check_page_dependencies(source.as_deref(), source_problem, has_role).err())
            }
            TokenKind::User | TokenKind::App => Ok(None),
        }
    }

    /// Authenticates the caller: a token present, valid at `now`, of an app that is not throttled (seed 001), with a
    /// good proof when one is due.
    pub async fn authenticate(&self, p: Presented<'_>, now: i64, policy: ProofPolicy) -> Result<Caller> {
        let token = p.token.ok_or(CoreError::TokenRequired)?.to_owned();
        let resolved = self.resolve(&token, now).await?;
        if let Some(problem) = resolved.problem.clone() {
            return Err(problem.into());
        }
        let caller = Caller { token, resolved };
        rules::check_caller_app(&caller.app().app)?;
        // Counted once the token is known valid, before the proof: a client retrying with a bad proof spends its
        // allowance too, and every endpoint counts alike whether it or its use case checks the proof.
        self.count_call(&caller, now)?;
        if policy == ProofPolicy::Standard && !caller.resolved.is_app_token {
            self.check_proof(caller.app(), &caller.token, p, now).await?;
        }
        Ok(caller)
    }

    /// Counts an authenticated call under its regime (GRAPH-WIRE §8), once per request, and leaves the usage for
    /// the answer's header: app and person tokens under the platform limits, system-user and page tokens under
    /// their business's use-case limits (a system user without a business falls back to the platform's).
    fn count_call(&self, caller: &Caller, now: i64) -> Result<()> {
        if limits::counted() {
            return Ok(());
        }
        let app = caller.app().app.id;
        let kind = caller.record().map_or(TokenKind::App, |r| r.kind);
        let user = caller.resolved.user.as_ref();
        let regime = match (kind, user) {
            (TokenKind::SystemUser | TokenKind::Page, Some(User { business_id: Some(business), .. })) => {
                let scopes = caller.record().map(|r| r.scopes.iter().map(|s| s.as_str()).collect::<Vec<_>>());
                let use_case = suat_core::limits::UseCase::of(scopes.unwrap_or_default());
                limits::Regime::Business(app, *business, use_case)
            }
            (TokenKind::User, Some(u)) => limits::Regime::Person(app, u.id),
            _ => limits::Regime::App(app),
        };
        match self.limits.hit(regime, now) {
            Ok(report) => {
                limits::note(report);
                Ok(())
            }
            Err((refusal, report)) => {
                limits::note(report);
                Err(refusal.into())
            }
        }
    }

    /// Verifies the presented appsecret_proof for `token` of `app` when one is sent, and demands one when the app
    /// has "Require App Secret" set.
    pub async fn check_proof(&self, app: &Arc<StoredApp>, token: &str, p: Presented<'_>, now: i64) -> Result<()> {
        match p.proof {
            Some(proof) => {
                let secret = self.app_secret(app)?;
                if let Err(e) = AppSecretProof::verify(&secret, token, proof, p.proof_time, now) {
                    self.proof_failed(app.app.id, token, false).await;
                    return Err(Error::Rule(e));
                }
            }
            None if app.app.require_app_secret => {
                self.proof_failed(app.app.id, token, true).await;
                return Err(CoreError::ProofMissing.into());
            }
            None => {}
        }
        Ok(())
    }

    /// Audits a wrong (or, where one is required, `missing`) appsecret_proof for a valid `token` of `app`: the actor
    /// is the token's holder, the token named by its reference.
    pub(crate) async fn proof_failed(&self, app: AppId, token: &str, missing: bool) {
        let hash = self.hash(token);
        let user = self.store.get_token(&hash).await.ok().flatten().and_then(|r| r.user_id);
        let mut detail = serde_json::Map::new();
        detail.insert("missing".into(), missing.into());
        let actor = crate::actor(user, app);
        let reason = crate::failures::Reason::AppSecretProof;
        self.auth_failed(crate::failures::Failure { reason, actor, app: Some(app), token: Some(hash), detail }).await;
    }
}

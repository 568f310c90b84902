//! Zero-downtime rotation, exactly as seed 001 prescribes (refresh, deploy, revoke the old token), made safe:
//! the new token is verified where it was deployed (debug_token says valid, and one authenticated call succeeds)
//! before the old one is revoked. If deploy or verify fails, targets that already took the new token are put back
//! on the old one, the unused new token is revoked when nothing holds it, and the old token is left valid.

use crate::{
    client::{Caller, GraphClient},
    debug::TokenInfo,
    deploy::{DeployTarget, Deployment, StoreEntryTarget, TargetSpec},
    error::{ClientError, RotationFailure, RotationStage},
    store::TokenStore,
};
use suat_core::{AccessToken, AppId, AppSecret, UserId};

/// The token to rotate and the app it belongs to (the secret is needed by refresh and revoke).
#[derive(Debug, Clone)]
pub struct RotationRequest {
    pub app_id: AppId,
    pub app_secret: AppSecret,
    pub token: AccessToken,
    /// The store profile being rotated, if any (for messages and `SUAT_PROFILE`).
    pub profile: Option<String>,
}

/// A completed rotation.
#[derive(Debug, Clone)]
pub struct RotationReport {
    /// The new token, deployed and verified.
    pub new: Deployment,
    /// The old token, now revoked.
    pub old: Deployment,
    pub deployed_to: Vec<String>,
}

/// Checks that `token` works: debug_token (inspected by the app itself) says it is valid, of this app and, when
/// known, of this user; and `GET /me` with it succeeds and names the same user.
pub async fn verify_token(
    client: &GraphClient,
    app: AppId,
    secret: &AppSecret,
    token: &AccessToken,
    expect_user: Option<UserId>,
) -> Result<TokenInfo, ClientError> {
    let info = client.debug_token(token, &Caller::app(app, secret)).await?;
    if let Some(p) = info.problem() {
        return Err(ClientError::Verify(format!("debug_token says the token is not valid: {p}")));
    }
    if info.app() != Some(app) {
        return Err(ClientError::Verify(format!(
            "debug_token says the token belongs to app {}, not {app}",
            info.app_id.as_deref().unwrap_or("?")
        )));
    }
    if let (Some(want), Some(got)) = (expect_user, info.user()) {
        if want != got {
            return Err(ClientError::Verify(format!("the token is for user {got}, expected {want}")));
        }
    }
    let me = client.me(&Caller::new(token.clone()).with_secret(Some(secret.clone()))).await?;
    if let Some(want) = expect_user {
        if me.id != want.to_string() {
            return Err(ClientError::Verify(format!("GET /me answered user {}, expected {want}", me.id)));
        }
    }
    Ok(info)
}

fn deployment(req: &RotationRequest, token: AccessToken, info: &TokenInfo) -> Deployment {
    Deployment::from_info(req.profile.clone(), token, req.app_id, Some(info))
}

fn failed(stage: RotationStage, cause: ClientError) -> ClientError {
    ClientError::Rotation(Box::new(RotationFailure {
        stage,
        cause,
        rolled_back: vec![],
        rollback_failed: vec![],
        new_token_revoked: false,
    }))
}

/// Refresh -> deploy to every target in order -> verify -> revoke the old token.
pub async fn rotate(
    client: &GraphClient,
    req: &RotationRequest,
    targets: &[Box<dyn DeployTarget>],
) -> Result<RotationReport, ClientError> {
    let app_caller = Caller::app(req.app_id, &req.app_secret);

    // Refresh. The old token must be alive: an expired one cannot be exchanged (190/463).
    let old_info = client.debug_token(&req.token, &app_caller).await.map_err(|e| failed(RotationStage::Refresh, e))?;
    if let Some(p) = old_info.problem() {
        return Err(failed(RotationStage::Refresh, p.into()));
    }
    let old = deployment(req, req.token.clone(), &old_info);
    let refreshed = client
        .refresh_token(req.app_id, &req.app_secret, &req.token)
        .await
        .map_err(|e| failed(RotationStage::Refresh, e))?;
    let new_info =
        client.debug_token(&refreshed.token, &app_caller).await.map_err(|e| failed(RotationStage::Refresh, e))?;
    let new = deployment(req, refreshed.token.clone(), &new_info);
    tracing::info!(profile = ?req.profile, expires_at = ?new.expires_at, "refreshed; deploying");

    // Deploy, then verify; on failure undo what was deployed.
    let mut deployed: Vec<&dyn DeployTarget> = Vec::new();
    let mut outcome: Result<(), (RotationStage, ClientError)> = Ok(());
    for t in targets {
        match t.deploy(&new).await {
            Ok(()) => deployed.push(t.as_ref()),
            Err(e) => {
                outcome = Err((RotationStage::Deploy, e));
                break;
            }
        }
    }
    if outcome.is_ok() {
        if let Err(e) = verify_token(client, req.app_id, &req.app_secret, &new.token, old.system_user_id).await {
            outcome = Err((RotationStage::Verify, e));
        }
    }
    if let Err((stage, cause)) = outcome {
        tracing::warn!(profile = ?req.profile, %stage, error = %cause, "rotation failed; rolling back");
        let mut rolled_back = Vec::new();
        let mut rollback_failed = Vec::new();
        for t in deployed.iter().rev() {
            match t.deploy(&old).await {
                Ok(()) => rolled_back.push(t.describe()),
                Err(e) => rollback_failed.push((t.describe(), e.to_string())),
            }
        }
        // Nothing holds the new token any more: revoke it so no unused credential lingers for 60 days.
        let new_token_revoked = rollback_failed.is_empty()
            && client
                .revoke_token(
                    req.app_id,
                    &req.app_secret,
                    &new.token,
                    &Caller::new(req.token.clone()).with_secret(Some(req.app_secret.clone())),
                )
                .await
                .is_ok();
        return Err(ClientError::Rotation(Box::new(RotationFailure {
            stage,
            cause,
            rolled_back,
            rollback_failed,
            new_token_revoked,
        })));
    }

    // Revoke the old token, identified by its successor.
    client
        .revoke_token(
            req.app_id,
            &req.app_secret,
            &req.token,
            &Caller::new(new.token.clone()).with_secret(Some(req.app_secret.clone())),
        )
        .await
        .map_err(|e| failed(RotationStage::RevokeOld, e))?;
    tracing::info!(profile = ?req.profile, "rotation complete; old token revoked");
    Ok(RotationReport { new, old, deployed_to: targets.iter().map(|t| t.describe()).collect() })
}

/// Rotates a stored profile: its own targets plus `extra`, then the profile itself (last, so it only changes once
/// every other target has the new token). Records the outcome in the profile's watch state at `now`.
pub async fn rotate_profile(
    client: &GraphClient,
    store: &TokenStore,
    name: &str,
    extra: &[TargetSpec],
    now: i64,
) -> Result<RotationReport, ClientError> {
    let profile = store.get(name)?;
    let secret = profile.app_secret.clone().ok_or_else(|| {
        ClientError::Invalid(format!(
            "profile {name:?} has no app secret, which refresh and revoke need: store it with \
             `suat store import --profile {name} --app-secret ...`"
        ))
    })?;
    let mut specs = profile.targets.clone();
    for t in extra {
        if !specs.contains(t) {
            specs.push(t.clone());
        }
    }
    let mut targets = Vec::new();
    for s in &specs {
        if *s == TargetSpec::Store(name.to_owned()) {
            continue;
        }
        targets.push(s.build(Some(store))?);
    }
    targets.push(Box::new(StoreEntryTarget::new(store.clone(), name.to_owned())) as Box<dyn DeployTarget>);
    let req = RotationRequest {
        app_id: profile.app_id,
        app_secret: secret,
        token: profile.token.clone(),
        profile: Some(name.to_owned()),
    };
    let result = rotate(client, &req, &targets).await;
    let outcome = match &result {
        Ok(_) => None,
        Err(e) => Some(e.to_string()),
    };
    store.update(name, |p| {
        p.watch.last_attempt_at = Some(now);
        match outcome {
            None => {
                p.watch.last_rotated_at = Some(now);
                p.watch.rotations += 1;
                p.watch.consecutive_failures = 0;
                p.watch.last_error = None;
            }
            Some(e) => {
                p.watch.consecutive_failures += 1;
                p.watch.last_error = Some(e);
            }
        }
    })?;
    result
}

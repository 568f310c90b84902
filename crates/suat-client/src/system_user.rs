//! System-user endpoints from seed 001: install an app for a system user, generate its token (permanent or
//! expiring), and invalidate every token it holds.

use crate::{
    client::{expect_success, wire, Caller, GraphClient},
    error::ClientError,
};
use reqwest::Method;
use suat_core::{AccessToken, AppId, UserId};

/// What to ask `POST /{system-user}/access_tokens` for.
#[derive(Debug, Clone)]
pub struct GenerateRequest {
    pub system_user: UserId,
    /// `business_app`: the app the token is for (the caller's secret must be this app's, for the proof).
    pub app: AppId,
    pub scopes: Vec<String>,
    /// `set_token_expires_in_60_days=true`: the seed's suggested kind, refreshable and rotatable.
    pub expiring: bool,
}

impl GraphClient {
    /// `POST /{su}/applications business_app=APP`: lets the app act for the system user. The caller is an admin
    /// user, an admin system user or a system user of the same business.
    pub async fn install_app(&self, caller: &Caller, system_user: UserId, app: AppId) -> Result<(), ClientError> {
        let path = format!("{system_user}/applications");
        let body = self.call(Method::POST, &path, vec![("business_app", app.to_string())], Some(caller)).await?;
        expect_success(&body, &path)
    }

    /// `POST /{su}/access_tokens`. The Graph demands appsecret_proof here, so the caller must carry the app's secret.
    pub async fn generate_token(&self, caller: &Caller, req: &GenerateRequest) -> Result<AccessToken, ClientError> {
        if caller.secret().is_none() {
            return Err(ClientError::Invalid(
                "generating a system-user token needs the app secret (the Graph requires appsecret_proof): pass \
                 --app-secret or set SUAT_APP_SECRET"
                    .into(),
            ));
        }
        let mut params = vec![("business_app", req.app.to_string())];
        if !req.scopes.is_empty() {
            params.push(("scope", req.scopes.join(",")));
        }
        if req.expiring {
            params.push(("set_token_expires_in_60_days", "true".into()));
        }
        let path = format!("{}/access_tokens", req.system_user);
        let body = self.call(Method::POST, &path, params, Some(caller)).await?;
        let answer: suat_wire::AccessTokenAnswer = wire(body, &path)?;
        Ok(AccessToken::from_presented(answer.access_token))
    }

    /// `DELETE /{su}/access_tokens`: invalidates every token of the system user at once (a compromised system user).
    pub async fn revoke_all(&self, caller: &Caller, system_user: UserId) -> Result<(), ClientError> {
        let path = format!("{system_user}/access_tokens");
        let body = self.call(Method::DELETE, &path, vec![], Some(caller)).await?;
        expect_success(&body, &path)
    }
}

//! `/oauth/access_token` (refresh an expiring token) and `/oauth/revoke`, as seed 001 prescribes them. Both go as
//! POST with a form body, which the Graph accepts like GET, so the app secret never appears in a URL.

use crate::{
    client::{expect_success, wire, Caller, GraphClient},
    error::ClientError,
};
use reqwest::Method;
use suat_core::{AccessToken, AppId, AppSecret};
use suat_wire::TokenAnswer;

/// A refreshed token: new, valid 60 days from now; the old one keeps working until its own expiry.
#[derive(Debug, Clone)]
pub struct Refreshed {
    pub token: AccessToken,
    /// Seconds left, as the Graph reports it (`None` if it did not).
    pub expires_in: Option<i64>,
}

impl GraphClient {
    /// `oauth/access_token?grant_type=fb_exchange_token&set_token_expires_in_60_days=true`.
    pub async fn refresh_token(
        &self,
        app: AppId,
        secret: &AppSecret,
        token: &AccessToken,
    ) -> Result<Refreshed, ClientError> {
        let params = vec![
            ("grant_type", "fb_exchange_token".to_owned()),
            ("client_id", app.to_string()),
            ("client_secret", secret.expose().to_owned()),
            ("set_token_expires_in_60_days", "true".to_owned()),
            ("fb_exchange_token", token.expose().to_owned()),
        ];
        let path = "oauth/access_token";
        let body = self.call(Method::POST, path, params, None).await?;
        let answer: TokenAnswer = wire(body, path)?;
        Ok(Refreshed { token: AccessToken::from_presented(answer.access_token), expires_in: answer.expires_in })
    }

    /// `oauth/revoke`: invalidates `revoke_token` at once. `caller` identifies who asks (a token of the same app,
    /// often the revoked token itself or its successor).
    pub async fn revoke_token(
        &self,
        app: AppId,
        secret: &AppSecret,
        revoke: &AccessToken,
        caller: &Caller,
    ) -> Result<(), ClientError> {
        let params = vec![
            ("client_id", app.to_string()),
            ("client_secret", secret.expose().to_owned()),
            ("revoke_token", revoke.expose().to_owned()),
        ];
        let path = "oauth/revoke";
        let body = self.call(Method::POST, path, params, Some(caller)).await?;
        expect_success(&body, path)
    }
}

//! `GET /debug_token` as a typed answer, and `GET /me`: together they are how a rotation proves the new token works.
//! An invalid token is not an HTTP error here: the Graph answers 200 with `is_valid:false` and an `error` object,
//! which [`TokenInfo::problem`] turns into the same typed error (with its hint) as any other call.

use crate::{
    client::{str_field, Caller, GraphClient},
    error::{ClientError, GraphApiError},
};
use reqwest::Method;
use serde_json::Value;
use suat_core::{AccessToken, AppId, AppSecret, UserId};
use suat_wire::TokenData;

pub use suat_wire::{GranularScope, TokenError};

/// What debug_token says about a token: the shared wire type (read through `Deref`), plus the answer exactly as
/// sent. Never holds the token itself.
#[derive(Debug, Clone)]
pub struct TokenInfo {
    data: TokenData,
    /// `data` exactly as the Graph sent it, for `--json`.
    pub raw: Value,
}

impl std::ops::Deref for TokenInfo {
    type Target = TokenData;
    fn deref(&self) -> &TokenData {
        &self.data
    }
}

impl TokenInfo {
    /// Parses `{"data":{...}}`.
    pub fn from_answer(body: &Value) -> Result<TokenInfo, ClientError> {
        let data = body.get("data").filter(|d| d.is_object()).ok_or_else(|| ClientError::UnexpectedResponse {
            endpoint: "GET /debug_token".into(),
            status: 200,
            detail: "no data object in the answer".into(),
        })?;
        let parsed: TokenData = serde_json::from_value(data.clone()).map_err(|e| ClientError::UnexpectedResponse {
            endpoint: "GET /debug_token".into(),
            status: 200,
            detail: e.to_string(),
        })?;
        Ok(TokenInfo { data: parsed, raw: data.clone() })
    }

    /// Expiry in unix seconds; `None` for a token that never expires.
    pub fn expires_at(&self) -> Option<i64> {
        self.expires_at.filter(|&e| e > 0)
    }

    pub fn app(&self) -> Option<AppId> {
        self.app_id.as_deref().and_then(|s| s.parse().ok())
    }

    pub fn user(&self) -> Option<UserId> {
        self.user_id.as_deref().and_then(|s| s.parse().ok())
    }

    /// Why the token is invalid, as a Graph error with a hint; `None` for a valid token.
    pub fn problem(&self) -> Option<GraphApiError> {
        if self.is_valid {
            return None;
        }
        Some(match &self.error {
            Some(e) => GraphApiError {
                status: 200,
                code: e.code,
                subcode: e.subcode,
                kind: Some("OAuthException".into()),
                message: e.message.clone(),
                user_title: None,
                user_msg: None,
                is_transient: false,
                fbtrace_id: None,
                endpoint: None,
            },
            None => GraphApiError {
                status: 200,
                code: 190,
                subcode: None,
                kind: Some("OAuthException".into()),
                message: "debug_token reports the token as invalid".into(),
                user_title: None,
                user_msg: None,
                is_transient: false,
                fbtrace_id: None,
                endpoint: None,
            },
        })
    }
}

/// `GET /me`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Me {
    pub id: String,
    pub name: Option<String>,
}

impl GraphClient {
    /// `GET /debug_token?input_token=...` inspected by `inspector` (best: the app token `APPID|SECRET`).
    pub async fn debug_token(&self, input: &AccessToken, inspector: &Caller) -> Result<TokenInfo, ClientError> {
        let body = self
            .call(Method::GET, "debug_token", vec![("input_token", input.expose().to_owned())], Some(inspector))
            .await?;
        TokenInfo::from_answer(&body)
    }

    /// debug_token with the best inspector available: the app itself when its secret is known (works for any
    /// token of the app, valid or not), else the token inspecting itself.
    pub async fn inspect(
        &self,
        token: &AccessToken,
        app: Option<AppId>,
        secret: Option<&AppSecret>,
    ) -> Result<TokenInfo, ClientError> {
        match (app, secret) {
            (Some(a), Some(s)) => self.debug_token(token, &Caller::app(a, s)).await.map_err(|e| match e {
                // Problems of the inspected token come back inside a 200 answer; an error envelope here is about
                // the app token the question was asked with.
                ClientError::Graph(g) if matches!(g.code, 190 | 102 | 101 | 1) && !g.is_transient => {
                    ClientError::InspectorRefused { app_id: a.to_string(), source: g }
                }
                e => e,
            }),
            _ => self.debug_token(token, &Caller::new(token.clone()).with_secret(secret.cloned())).await,
        }
    }

    /// `GET /me`: the token's subject. One authenticated call that proves a token really works.
    pub async fn me(&self, caller: &Caller) -> Result<Me, ClientError> {
        let body = self.call(Method::GET, "me", vec![], Some(caller)).await?;
        Ok(Me {
            id: str_field(&body, "id", "GET /me")?,
            name: body.get("name").and_then(Value::as_str).map(Into::into),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn parses_a_system_user_answer() {
        let body = json!({"data": {"app_id": "11", "type": "SYSTEM_USER", "application": "Acme", "data_access_expires_at": 0,
            "expires_at": 0, "is_valid": true, "issued_at": 5, "scopes": ["ads_read"],
            "granular_scopes": [{"scope": "ads_read"}], "user_id": "22"}});
        let i = TokenInfo::from_answer(&body).unwrap();
        assert!(i.is_valid && i.problem().is_none());
        assert_eq!(i.expires_at(), None);
        assert_eq!((i.app(), i.user()), (Some(AppId(11)), Some(UserId(22))));
        assert_eq!(i.raw["application"], "Acme");
    }

    #[test]
    fn invalid_tokens_carry_a_typed_problem() {
        let body = json!({"data": {"app_id": "11", "type": "SYSTEM_USER", "is_valid": false, "expires_at": 100,
            "scopes": [], "error": {"code": 190, "message": "Session has expired", "subcode": 463}}});
        let i = TokenInfo::from_answer(&body).unwrap();
        let p = i.problem().unwrap();
        assert_eq!((p.code, p.subcode), (190, Some(463)));
        assert!(p.hint().contains("generate a new one"));
        assert_eq!(i.expires_at(), Some(100));
        assert!(TokenInfo::from_answer(&json!({"nope": 1})).is_err());
    }
}

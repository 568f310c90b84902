//! Page tokens from a system-user token (seed 004, "stable Page access token"): `GET /{page}?fields=access_token`
//! for one page and `GET /me/accounts` for every page the system user has a task on.

use crate::{
    client::{str_field, Caller, GraphClient},
    error::ClientError,
};
use reqwest::Method;
use serde_json::Value;
use suat_core::{AccessToken, PageId};

/// Pages listed per request, and how many pages of results we follow before stopping (a runaway cursor guard).
const PAGE_SIZE: &str = "100";
const MAX_RESULT_PAGES: usize = 100;

/// One entry of `/me/accounts`.
#[derive(Debug, Clone)]
pub struct PageAccount {
    pub id: String,
    pub name: Option<String>,
    pub tasks: Vec<String>,
    pub token: AccessToken,
}

impl GraphClient {
    /// The page's token, derived from the caller's system-user token. It never expires but dies with the system
    /// user's token, role or installation.
    pub async fn page_token(&self, caller: &Caller, page: PageId) -> Result<AccessToken, ClientError> {
        let path = page.to_string();
        let body = self.call(Method::GET, &path, vec![("fields", "access_token".into())], Some(caller)).await?;
        Ok(AccessToken::from_presented(str_field(&body, "access_token", &format!("GET /{path}"))?))
    }

    /// Every page the caller has a task on, with its token, following the `after` cursor.
    pub async fn accounts(&self, caller: &Caller) -> Result<Vec<PageAccount>, ClientError> {
        let mut out = Vec::new();
        let mut after: Option<String> = None;
        for _ in 0..MAX_RESULT_PAGES {
            let mut params = vec![("fields", "access_token,name,id,tasks".to_owned()), ("limit", PAGE_SIZE.into())];
            if let Some(a) = &after {
                params.push(("after", a.clone()));
            }
            let body = self.call(Method::GET, "me/accounts", params, Some(caller)).await?;
            let data = body.get("data").and_then(Value::as_array).ok_or_else(|| ClientError::UnexpectedResponse {
                endpoint: "GET /me/accounts".into(),
                status: 200,
                detail: "no data list in the answer".into(),
            })?;
            for p in data {
                out.push(PageAccount {
                    id: str_field(p, "id", "GET /me/accounts")?,
                    name: p.get("name").and_then(Value::as_str).map(Into::into),
                    tasks: p
                        .get("tasks")
                        .and_then(Value::as_array)
                        .map(|t| t.iter().filter_map(Value::as_str).map(Into::into).collect())
                        .unwrap_or_default(),
                    token: AccessToken::from_presented(str_field(p, "access_token", "GET /me/accounts")?),
                });
            }
            let has_next = body.pointer("/paging/next").and_then(Value::as_str).is_some();
            after = body.pointer("/paging/cursors/after").and_then(Value::as_str).map(Into::into);
            if !has_next || after.is_none() || data.is_empty() {
                return Ok(out);
            }
        }
        Ok(out)
    }
}

//! Page tokens from a system-user token (seed 004, "stable Page access token"): `GET /{page}?fields=access_token`
//! for one page and `GET /me/accounts` for every page the system user has a task on.

use crate::{
    client::{str_field, wire, Caller, GraphClient},
    error::ClientError,
};
use reqwest::Method;
use suat_core::{AccessToken, PageId};
use suat_wire::{AccountItem, List};

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
            let page: List<AccountItem> = wire(body, "GET /me/accounts")?;
            let empty = page.data.is_empty();
            for p in page.data {
                let token = p.access_token.ok_or_else(|| ClientError::UnexpectedResponse {
                    endpoint: "GET /me/accounts".into(),
                    status: 200,
                    detail: format!("page {} has no access_token", p.id),
                })?;
                out.push(PageAccount {
                    id: p.id,
                    name: p.name,
                    tasks: p.tasks,
                    token: AccessToken::from_presented(token),
                });
            }
            let paging = page.paging.unwrap_or_default();
            after = paging.cursors.map(|c| c.after);
            if paging.next.is_none() || after.is_none() || empty {
                return Ok(out);
            }
        }
        Ok(out)
    }
}

//! `/oauth/access_token` (token exchange/refresh, app tokens, and the authorization-code exchange) and
//! `/oauth/revoke`. Both accept GET and POST with parameters in query or body, and the client's credentials as
//! parameters or `Authorization: Basic` (general-purpose OAuth2 clients send the latter).

use super::{success, Req};
use crate::{
    error::{graph_json, GraphError},
    state::AppState,
};
use axum::{extract::State, response::Response};
use suat_core::CoreError;
use suat_service::tokens::{Client, Issued};

fn client(req: &Req) -> Result<Client<'_>, GraphError> {
    let part = |k: &'static str| match req.params.client_credential(k)? {
        Some(v) => Ok(v),
        None => Err(GraphError::from(CoreError::MissingParameter(k))),
    };
    Ok(Client { id: part("client_id")?, secret: part("client_secret")? })
}

fn issued(i: Issued) -> Response {
    graph_json(&suat_wire::TokenAnswer::bearer(i.token.expose().to_owned(), i.expires_in))
}

/// GET|POST /oauth/access_token.
pub async fn access_token(State(s): State<AppState>, req: Req) -> Result<Response, GraphError> {
    let p = &req.params;
    match p.get("grant_type") {
        Some("fb_exchange_token") => {
            let c = client(&req)?;
            let old = p.require("fb_exchange_token")?;
            // The flag is optional on refresh (refreshes always yield 60-day tokens) but must be a boolean if given.
            p.flag("set_token_expires_in_60_days")?;
            Ok(issued(s.svc.refresh(&c, old, req.now).await?))
        }
        Some("client_credentials") => Ok(issued(s.svc.app_token(&client(&req)?, req.now).await?)),
        // Graph's own clients send no grant_type with a code; RFC 6749 clients send authorization_code.
        Some("authorization_code") => exchange(&s, &req).await,
        None if p.get("code").is_some() => exchange(&s, &req).await,
        None => Err(CoreError::MissingParameter("grant_type").into()),
        Some(other) => Err(GraphError::param(format!(
            "Unsupported grant_type {}: use authorization_code, fb_exchange_token or client_credentials",
            other.chars().take(64).collect::<String>()
        ))),
    }
}

/// The authorization-code exchange.
async fn exchange(s: &AppState, req: &Req) -> Result<Response, GraphError> {
    let p = &req.params;
    let c = client(req)?;
    let code = p.require("code")?;
    Ok(issued(s.svc.exchange_code(&c, code, p.get("redirect_uri").unwrap_or(""), req.now).await?))
}

/// GET|POST /oauth/revoke `client_id`, `client_secret`, `revoke_token`, `access_token`.
pub async fn revoke(State(s): State<AppState>, req: Req) -> Result<Response, GraphError> {
    let c = client(&req)?;
    let target = req.params.require("revoke_token")?;
    s.svc.revoke(&c, req.presented(), target, req.now).await?;
    success()
}

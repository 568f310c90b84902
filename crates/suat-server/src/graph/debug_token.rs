//! GET /debug_token: what a token is and whether it is valid. An invalid input token is still a 200 answer with
//! `is_valid:false` and an `error` object, as on the Graph.

use super::Req;
use crate::{
    error::{graph_json, GraphError},
    state::AppState,
};
use axum::{extract::State, response::Response};
use serde_json::{json, Map, Value};
use suat_core::{scope::is_page_scope, TokenKind};
use suat_service::tokens::Debugged;

pub async fn debug_token(State(st): State<AppState>, req: Req) -> Result<Response, GraphError> {
    let input = req.params.require("input_token")?;
    let Debugged { resolved, kind } = st.svc.debug(input, req.presented(), req.now).await?;
    let mut d = Map::new();
    if let Some(app) = &resolved.app {
        d.insert("app_id".into(), json!(app.app.id.to_string()));
    }
    if let Some(k) = kind {
        d.insert("type".into(), json!(k.as_str()));
    }
    if let Some(app) = &resolved.app {
        d.insert("application".into(), json!(app.app.name));
    }
    let valid = resolved.problem.is_none();
    match (&resolved.record, kind) {
        (Some(r), Some(k)) if k != TokenKind::App => {
            d.insert("data_access_expires_at".into(), json!(0));
            d.insert("expires_at".into(), json!(r.expires_at.unwrap_or(0)));
            d.insert("is_valid".into(), json!(valid));
            d.insert("issued_at".into(), json!(r.issued_at));
            if let Some(page) = r.page_id {
                d.insert("profile_id".into(), json!(page.to_string()));
            }
            let scopes: Vec<&str> = r.scopes.iter().map(|s| s.as_str()).collect();
            d.insert("scopes".into(), json!(scopes));
            let granular: Vec<Value> = scopes
                .iter()
                .map(|s| match r.page_id {
                    Some(p) if is_page_scope(s) => {
                        json!({"scope": s, "target_ids": [p.to_string()]})
                    }
                    _ => json!({"scope": s}),
                })
                .collect();
            d.insert("granular_scopes".into(), json!(granular));
            if let Some(u) = r.user_id {
                d.insert("user_id".into(), json!(u.to_string()));
            }
        }
        _ => {
            d.insert("is_valid".into(), json!(valid));
            d.insert("scopes".into(), json!([]));
        }
    }
    if let Some(problem) = &resolved.problem {
        let mut e = json!({"code": 190, "message": problem.to_string()});
        if let Some(sub) = problem.subcode() {
            e["subcode"] = json!(sub);
        }
        d.insert("error".into(), e);
    }
    if let Some(fields) = req.params.get("fields") {
        let wanted: Vec<String> = suat_core::wire::parse_list("fields", fields)?;
        d.retain(|k, _| wanted.iter().any(|w| w == k));
    }
    Ok(graph_json(json!({ "data": d })))
}

//! GET /debug_token: what a token is and whether it is valid. An invalid input token is still a 200 answer with
//! `is_valid:false` and an `error` object, as on the Graph; which fields an invalid token keeps depends on why it is
//! invalid (GRAPH-WIRE §6).

use super::Req;
use crate::{
    error::{graph_json, GraphError},
    state::AppState,
};
use axum::{extract::State, response::Response};
use suat_core::{scope::is_page_scope, TokenKind, TokenProblem};
use suat_service::tokens::Debugged;
use suat_wire::{DebugToken, GranularScope, TokenData, TokenError};

pub async fn debug_token(State(st): State<AppState>, req: Req) -> Result<Response, GraphError> {
    let input = req.params.require("input_token")?;
    let Debugged { resolved, kind } = st.svc.debug(input, req.presented(), req.now).await?;
    let mut d = TokenData {
        app_id: resolved.app.as_ref().map(|a| a.app.id.to_string()),
        kind: kind.map(|k| k.as_str().to_owned()),
        application: resolved.app.as_ref().map(|a| a.app.name.clone()),
        is_valid: resolved.problem.is_none(),
        error: resolved.problem.as_ref().map(|p| TokenError {
            code: 190,
            message: p.to_string(),
            subcode: p.subcode().map(Into::into),
        }),
        ..TokenData::default()
    };
    if let (Some(r), Some(k)) = (&resolved.record, kind) {
        if k != TokenKind::App {
            // Revoked, logged out or de-authorised: the grant is gone, so are its scopes and issue time. A password
            // change keeps the scopes; an expired token keeps everything.
            let (keep_issued, keep_scopes) = match &resolved.problem {
                None | Some(TokenProblem::Expired { .. }) => (true, true),
                Some(TokenProblem::SessionInvalidated) => (false, true),
                Some(_) => (false, false),
            };
            // System users' tokens, and page tokens derived from them, carry no data-access expiry.
            let of_system_user = resolved.user.as_ref().is_some_and(|u| u.is_system_user());
            d.data_access_expires_at = Some(match k {
                _ if k == TokenKind::SystemUser || of_system_user => 0,
                // Inferred: 90 days after the person last granted access, taken as the token's issue time.
                _ => r.issued_at + 90 * 24 * 3600,
            });
            d.expires_at = Some(r.expires_at.unwrap_or(0));
            d.issued_at = keep_issued.then_some(r.issued_at);
            d.profile_id = r.page_id.map(|p| p.to_string());
            if keep_scopes {
                d.scopes = r.scopes.iter().map(|s| s.as_str().to_owned()).collect();
                d.granular_scopes = Some(
                    r.scopes
                        .iter()
                        .map(|s| GranularScope {
                            scope: s.as_str().to_owned(),
                            target_ids: match r.page_id {
                                Some(p) if is_page_scope(s.as_str()) => vec![p.to_string()],
                                _ => vec![],
                            },
                        })
                        .collect(),
                );
            }
            d.user_id = r.user_id.map(|u| u.to_string());
        }
    }
    let mut data = serde_json::to_value(&d).expect("wire types serialise");
    if let (Some(fields), Some(obj)) = (req.params.get("fields"), data.as_object_mut()) {
        let wanted = suat_wire::Selection::parse(fields).map_err(GraphError::param)?;
        obj.retain(|k, _| wanted.names().any(|w| w == k));
    }
    Ok(graph_json(&DebugToken { data }))
}

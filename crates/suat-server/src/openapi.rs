//! The control plane's OpenAPI 3.1 document, served at `GET /_suat/openapi.json` (without the key: it describes
//! the API and holds nothing secret, and a client generator or fuzzer must be able to read it before it has one).
//!
//! Request bodies are the very structs the handlers parse (`ToSchema` derived on them), so a field added to a spec
//! is in the document by construction. The answers, built with `json!` in the handlers, are described by the
//! shapes below. `tests/openapi.rs` checks that the document names exactly the routes the router serves, and runs
//! schemathesis against a live server.

use crate::{error::graph_json, journal::Entry};
use axum::response::Response;
use std::sync::OnceLock;
use suat_service::operator as ops;
use utoipa::{
    openapi::{
        security::{HttpAuthScheme, HttpBuilder, SecurityScheme},
        ContentBuilder, Ref, RefOr, ResponseBuilder,
    },
    Modify, OpenApi, ToSchema,
};

#[derive(OpenApi)]
#[openapi(
    info(
        title = "suat control plane",
        description = "Operator endpoints of the suat Graph API emulator. Every call but `/_suat/health` and \
                       `/_suat/openapi.json` needs `Authorization: Bearer <admin key>`. Errors are Graph error \
                       envelopes; bad input is code 100 and changes nothing."
    ),
    paths(
        crate::control::health,
        serve,
        crate::control::create_business,
        crate::control::create_app,
        crate::control::create_person,
        crate::control::create_system_user,
        crate::control::create_page,
        crate::control::update_app,
        crate::control::app_role,
        crate::control::reset_secret,
        crate::control::user_token,
        crate::control::password_change,
        crate::control::get_clock,
        crate::control::set_clock,
        crate::control::dump,
        crate::control::audit,
        crate::control::reset,
        crate::control::export_snapshot,
        crate::control::import_snapshot,
        crate::faults::add,
        crate::faults::list,
        crate::faults::remove,
        crate::journal::list,
        crate::limits::update_business,
        crate::limits::usage,
    ),
    components(schemas(ErrorEnvelope, ErrorBody)),
    modifiers(&AdminKey),
    security(("admin_key" = []))
)]
struct Doc;

/// The document, built once.
pub fn document() -> &'static utoipa::openapi::OpenApi {
    static DOC: OnceLock<utoipa::openapi::OpenApi> = OnceLock::new();
    DOC.get_or_init(Doc::openapi)
}

/// `GET /_suat/openapi.json`.
#[utoipa::path(
    get,
    path = "/_suat/openapi.json",
    tag = "control",
    security(()),
    responses((status = 200, description = "This document", body = serde_json::Value))
)]
pub(crate) async fn serve() -> Response {
    graph_json(document())
}

/// Declares the bearer scheme, and gives every guarded operation its 400 and 401 answers: both are the Graph
/// envelope, written by `require_admin` and `GraphError::param` for every route alike, so they are stated once here.
struct AdminKey;

impl Modify for AdminKey {
    fn modify(&self, doc: &mut utoipa::openapi::OpenApi) {
        let components = doc.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "admin_key",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
        let error = |description: &str| {
            let content = ContentBuilder::new().schema(Some(Ref::from_schema_name("ErrorEnvelope"))).build();
            RefOr::T(ResponseBuilder::new().description(description).content("application/json", content).build())
        };
        for item in doc.paths.paths.values_mut() {
            for op in [&mut item.get, &mut item.post, &mut item.delete].into_iter().flatten() {
                let open = op
                    .security
                    .as_ref()
                    .is_some_and(|s| s.iter().any(|r| serde_json::to_value(r).ok() == Some(serde_json::json!({}))));
                if open {
                    continue;
                }
                let r = &mut op.responses.responses;
                r.entry("400".into()).or_insert_with(|| error("Bad input: a Graph error (code 100); nothing changed"));
                r.entry("401".into()).or_insert_with(|| error("Missing or wrong control-plane key (code 190)"));
            }
        }
    }
}

/// Every error answer: GRAPH-WIRE's envelope (`suat_wire::ErrorEnvelope`).
#[derive(ToSchema)]
pub struct ErrorEnvelope {
    pub error: ErrorBody,
}

#[derive(ToSchema)]
pub struct ErrorBody {
    pub message: String,
    #[schema(rename = "type")]
    pub kind: String,
    /// Present, and true, only on transient errors.
    pub is_transient: Option<bool>,
    pub code: i64,
    pub error_subcode: Option<i64>,
    pub fbtrace_id: String,
}

#[derive(ToSchema)]
pub struct HealthAnswer {
    pub ok: bool,
}

/// A created object's Graph id.
#[derive(ToSchema)]
pub struct IdAnswer {
    pub id: String,
}

#[derive(ToSchema)]
pub struct AppCreated {
    pub id: String,
    /// Shown only in this answer.
    pub secret: String,
}

#[derive(ToSchema)]
pub struct SecretAnswer {
    pub id: String,
    pub secret: String,
}

#[derive(ToSchema)]
pub struct TokenAnswer {
    pub access_token: String,
}

#[derive(ToSchema)]
pub struct Success {
    pub success: bool,
}

#[derive(ToSchema)]
pub struct PasswordChanged {
    pub id: String,
    pub session_epoch: i64,
}

#[derive(ToSchema)]
pub struct ClockAnswer {
    /// Unix seconds on the server clock.
    pub now: i64,
    /// Seconds between the server clock and the wall clock.
    pub offset: i64,
}

#[derive(ToSchema)]
pub struct AuditAnswer {
    #[schema(value_type = Vec<Object>)]
    pub data: Vec<serde_json::Value>,
}

#[derive(ToSchema)]
pub struct ResetAnswer {
    pub success: bool,
    pub to: ops::ResetTo,
}

/// A fault rule as listed: what was sent, plus its id, seed, hits and what is left of `times`.
#[derive(ToSchema)]
pub struct FaultRule {
    pub id: String,
    pub method: Option<String>,
    pub path: Option<String>,
    pub app_id: Option<String>,
    pub token_kind: Option<String>,
    pub times: Option<u32>,
    pub probability: Option<f64>,
    pub seed: u64,
    pub error: Option<crate::faults::ErrorSpec>,
    pub latency_ms: Option<u64>,
    pub drop: Option<bool>,
    pub hits: u64,
    pub remaining: Option<u32>,
}

#[derive(ToSchema)]
pub struct FaultList {
    pub data: Vec<FaultRule>,
}

#[derive(ToSchema)]
pub struct JournalAnswer {
    pub data: Vec<Entry>,
}

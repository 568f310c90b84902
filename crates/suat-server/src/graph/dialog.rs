//! The OAuth dialog: `GET /dialog/oauth` serves a real consent page (sign in as a person, see the app and the
//! permissions it asks for, Allow or Cancel); `POST /dialog/oauth/confirm` redirects back to the app's registered
//! redirect_uri with `code` and `state`, or with `error=access_denied`.

use super::GraphRequest;
use crate::{error::GraphError, state::AppState};
use argon2::{password_hash::PasswordHash, Argon2, PasswordVerifier};
use axum::{
    http::{header, HeaderValue, StatusCode},
    response::{IntoResponse, Response},
};
use suat_core::{
    oauth::{check_redirect_registered, AuthCode},
    scope::{parse_scopes, Scope},
    AccessToken, AppId, User, UserId, UserKind,
};
#[allow(unused_imports)]
use suat_store::prelude::*;
use suat_store::{AuditEntry, StoredApp};

/// How long a rendered form may be submitted.
const FORM_TTL: i64 = 30 * 60;

fn esc(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;").replace('\'', "&#39;")
}

fn html(status: StatusCode, body: String) -> Response {
    let mut r = (status, body).into_response();
    let h = r.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/html; charset=utf-8"));
    h.insert("x-frame-options", HeaderValue::from_static("DENY"));
    h.insert("content-security-policy", HeaderValue::from_static("default-src 'none'; style-src 'unsafe-inline'"));
    r
}

fn page(title: &str, inner: &str) -> String {
    format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>{}</title>\
         <meta name=\"viewport\" content=\"width=device-width\"><style>\
         body{{font-family:system-ui,sans-serif;background:#f0f2f5;margin:0}}\
         main{{max-width:420px;margin:48px auto;background:#fff;border-radius:8px;padding:24px;box-shadow:0 1px 4px #0002}}\
         h1{{font-size:20px}} li{{margin:4px 0}} label{{display:block;margin:12px 0 4px}}\
         input[type=text],input[type=password]{{width:100%;padding:8px;box-sizing:border-box}}\
         .row{{display:flex;gap:8px;margin-top:16px}} button{{flex:1;padding:10px;font-size:15px}}\
         #allow{{background:#1877f2;color:#fff;border:0;border-radius:6px}} .err{{color:#b00020}}\
         </style></head><body><main>{}</main></body></html>",
        esc(title),
        inner
    )
}

fn error_page(status: StatusCode, message: &str) -> Response {
    html(
        status,
        page(
            "Error",
            &format!("<h1>Sorry, something went wrong</h1><p class=\"err\" id=\"error\">{}</p>", esc(message)),
        ),
    )
}

/// The dialog's inputs, validated: the app, a registered redirect URI, known scopes.
struct Dialog {
    app: std::sync::Arc<StoredApp>,
    redirect_uri: String,
    scope_raw: String,
    scopes: Vec<Scope>,
    state: String,
}

async fn validate(state: &AppState, req: &GraphRequest) -> Result<Dialog, Response> {
    let p = &req.params;
    let app_id: AppId = p.get("client_id").and_then(|c| c.parse().ok()).ok_or_else(|| {
        error_page(StatusCode::BAD_REQUEST, "Invalid App ID: the client_id parameter is missing or malformed.")
    })?;
    let app = match state.store.get_app(app_id).await {
        Ok(Some(a)) => a,
        Ok(None) => return Err(error_page(StatusCode::BAD_REQUEST, "Invalid App ID: no app has this client_id.")),
        Err(_) => return Err(error_page(StatusCode::INTERNAL_SERVER_ERROR, "Please try again later.")),
    };
    let redirect_uri = p.get("redirect_uri").unwrap_or("").to_owned();
    check_redirect_registered(&app.app.redirect_uris, &redirect_uri)
        .map_err(|e| error_page(StatusCode::BAD_REQUEST, e.to_string().trim_start_matches("(#100) ")))?;
    let scope_raw = p.get("scope").unwrap_or("").to_owned();
    let scopes =
        parse_scopes(&scope_raw).map_err(|e| error_page(StatusCode::BAD_REQUEST, &format!("Invalid Scopes: {e}")))?;
    Ok(Dialog { app, redirect_uri, scope_raw, scopes, state: p.get("state").unwrap_or("").to_owned() })
}

/// Binds a rendered form to its inputs and time, so the confirm step only accepts forms this server rendered.
fn form_sig(state: &AppState, d: &Dialog, issued: i64) -> String {
    let msg = format!("dialog|{}|{}|{}|{}|{issued}", d.app.app.id, d.redirect_uri, d.scope_raw, d.state);
    state.keys.token.hash(&msg).to_hex()
}

fn render(state: &AppState, req: &GraphRequest, d: &Dialog, error: Option<&str>, user_value: &str) -> String {
    let perms: String = if d.scopes.is_empty() {
        "<li>your public profile</li>".into()
    } else {
        d.scopes.iter().map(|s| format!("<li><code>{}</code></li>", esc(s.as_str()))).collect()
    };
    let issued = req.now;
    let hidden = [
        ("client_id", d.app.app.id.to_string()),
        ("redirect_uri", d.redirect_uri.clone()),
        ("scope", d.scope_raw.clone()),
        ("state", d.state.clone()),
        ("issued", issued.to_string()),
        ("sig", form_sig(state, d, issued)),
    ]
    .iter()
    .map(|(k, v)| format!("<input type=\"hidden\" name=\"{k}\" value=\"{}\">", esc(v)))
    .collect::<String>();
    let err = error.map(|e| format!("<p class=\"err\" id=\"error\">{}</p>", esc(e))).unwrap_or_default();
    page(
        &format!("Log in to {}", d.app.app.name),
        &format!(
            "<h1 id=\"app-name\">{app} wants to access your account</h1>{err}\
             <p>{app} will receive:</p><ul id=\"permissions\">{perms}</ul>\
             <form method=\"post\" action=\"/{ver}/dialog/oauth/confirm\">{hidden}\
             <label for=\"user\">User ID</label><input type=\"text\" id=\"user\" name=\"user\" value=\"{user}\" autocomplete=\"username\">\
             <label for=\"password\">Password</label><input type=\"password\" id=\"password\" name=\"password\" autocomplete=\"current-password\">\
             <div class=\"row\"><button type=\"submit\" id=\"cancel\" name=\"action\" value=\"cancel\">Cancel</button>\
             <button type=\"submit\" id=\"allow\" name=\"action\" value=\"allow\">Allow</button></div></form>",
            app = esc(&d.app.app.name),
            ver = esc(&req.version),
            user = esc(user_value),
        ),
    )
}

/// GET /dialog/oauth.
pub async fn show(state: &AppState, req: &GraphRequest) -> Result<Response, GraphError> {
    Ok(match validate(state, req).await {
        Ok(d) => html(StatusCode::OK, render(state, req, &d, None, "")),
        Err(r) => r,
    })
}

fn redirect(to: &str, params: &[(&str, &str)], fragment: bool) -> Response {
    let mut url = to.to_owned();
    let mut ser = url::form_urlencoded::Serializer::new(String::new());
    for (k, v) in params {
        if !v.is_empty() {
            ser.append_pair(k, v);
        }
    }
    url.push(if url.contains('?') { '&' } else { '?' });
    url.push_str(&ser.finish());
    if fragment {
        url.push_str("#_=_");
    }
    let mut r = StatusCode::FOUND.into_response();
    if let Ok(v) = HeaderValue::from_str(&url) {
        r.headers_mut().insert(header::LOCATION, v);
    }
    r
}

/// Checks a person's password against the stored argon2id hash. An unknown id, a system user or a person without
/// a password costs the same argon2 verification (against a dummy hash) as a wrong password, so the page's timing
/// does not tell which user ids exist.
async fn sign_in(state: &AppState, raw_user: &str, password: &str) -> Option<User> {
    let id: Option<UserId> = raw_user.trim().parse().ok();
    let (mut person, mut phc) = (None, None);
    if let Some(id) = id {
        if let Ok(Some(user)) = state.store.get_user(id).await {
            if matches!(user.kind, UserKind::Person { .. }) {
                phc = state.store.get_password_hash(id).await.ok().flatten();
                person = Some(user);
            }
        }
    }
    let known = phc.is_some();
    let password = password.to_owned();
    // argon2 is deliberately slow: keep it (and the dummy hash's first computation) off the async workers.
    let ok = tokio::task::spawn_blocking(move || {
        let phc: &str = match &phc {
            Some(p) => p,
            None => dummy_phc(),
        };
        PasswordHash::new(phc).is_ok_and(|h| Argon2::default().verify_password(password.as_bytes(), &h).is_ok())
    })
    .await
    .unwrap_or(false);
    if ok && known {
        person
    } else {
        None
    }
}

/// An argon2id hash of a random password, with the same parameters as real ones, made once.
fn dummy_phc() -> &'static str {
    static DUMMY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    DUMMY.get_or_init(|| {
        use argon2::{password_hash::SaltString, PasswordHasher};
        let mut pw = [0u8; 32];
        rand::RngCore::fill_bytes(&mut rand::rngs::OsRng, &mut pw);
        let salt = SaltString::generate(&mut rand::rngs::OsRng);
        Argon2::default().hash_password(&pw, &salt).expect("argon2 with default parameters").to_string()
    })
}

/// POST /dialog/oauth/confirm.
pub async fn confirm(state: &AppState, req: &GraphRequest) -> Result<Response, GraphError> {
    let d = match validate(state, req).await {
        Ok(d) => d,
        Err(r) => return Ok(r),
    };
    let p = &req.params;
    let issued: i64 = p.get("issued").and_then(|i| i.parse().ok()).unwrap_or(i64::MIN / 2);
    let sig_ok = p
        .get("sig")
        .is_some_and(|s| subtle::ConstantTimeEq::ct_eq(s.as_bytes(), form_sig(state, &d, issued).as_bytes()).into());
    if !sig_ok || req.now - issued > FORM_TTL || issued > req.now + 60 {
        return Ok(error_page(
            StatusCode::BAD_REQUEST,
            "This login form has expired. Go back to the app and try again.",
        ));
    }
    if p.get("action") != Some("allow") {
        return Ok(redirect(
            &d.redirect_uri,
            &[
                ("error", "access_denied"),
                ("error_code", "200"),
                ("error_description", "Permissions error"),
                ("error_reason", "user_denied"),
                ("state", &d.state),
            ],
            true,
        ));
    }
    let user_raw = p.get("user").unwrap_or("");
    let Some(user) = sign_in(state, user_raw, p.get("password").unwrap_or("")).await else {
        return Ok(html(
            StatusCode::UNAUTHORIZED,
            render(state, req, &d, Some("Incorrect user ID or password."), user_raw),
        ));
    };
    let code = AccessToken::mint_code(&mut rand::rngs::OsRng);
    let rec = AuthCode {
        hash: state.keys.token.hash(code.expose()),
        app_id: d.app.app.id,
        user_id: user.id,
        redirect_uri: d.redirect_uri.clone(),
        scopes: d.scopes.clone(),
        created_at: req.now,
        used_at: None,
        session_epoch: user.session_epoch,
    };
    let audit = AuditEntry::new(req.now, "authorize", user.id.to_string())
        .subject(user.id)
        .app(d.app.app.id)
        .detail(serde_json::json!({"scopes": d.scopes.iter().map(|s| s.as_str()).collect::<Vec<_>>()}));
    state.store.execute(&Write::InsertCode(rec), &audit).await?;
    Ok(redirect(&d.redirect_uri, &[("code", code.expose()), ("state", &d.state)], true))
}

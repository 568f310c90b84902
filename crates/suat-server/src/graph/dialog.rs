//! The OAuth dialog: `GET /dialog/oauth` serves a real consent page (sign in as a person, see the app and the
//! permissions it asks for, each with a box to untick, Allow or Cancel); `POST /dialog/oauth/confirm` redirects back
//! to the app's registered redirect_uri with `code` and `state` in the query (`response_type=code`, the default),
//! or with `access_token`, `expires_in` (and `code`) and `state` in the fragment (`token`, `code token`), or with
//! `error=access_denied`. `auth_type=rerequest` is accepted: the page always asks for every permission requested.

use super::Req;
use crate::{error::GraphError, state::AppState};
use axum::{
    extract::{ConnectInfo, State},
    http::{header, request::Parts, HeaderMap, HeaderValue, StatusCode},
    response::{IntoResponse, Response},
};
use suat_service::{
    consent::{Dialog, DialogRequest, SignIn},
    Error,
};

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

/// The dialog's inputs, validated by the use case; a refusal is an error page with its sentence.
async fn validate(s: &AppState, req: &Req) -> Result<Dialog, Response> {
    let p = &req.params;
    let r = DialogRequest {
        client_id: p.get("client_id"),
        redirect_uri: p.get("redirect_uri").unwrap_or(""),
        scope: p.get("scope").unwrap_or(""),
        state: p.get("state").unwrap_or(""),
        response_type: p.get("response_type").unwrap_or(""),
    };
    s.svc.dialog(r).await.map_err(|e| match e {
        Error::Rule(e) => error_page(StatusCode::BAD_REQUEST, e.to_string().trim_start_matches("(#100) ")),
        _ => error_page(StatusCode::INTERNAL_SERVER_ERROR, "Please try again later."),
    })
}

/// The consent page; `ticked` says which permission boxes start ticked (all, unless the person is back after a
/// failed sign-in: then as they left them).
fn render(
    s: &AppState,
    req: &Req,
    d: &Dialog,
    error: Option<&str>,
    user_value: &str,
    ticked: &dyn Fn(&suat_core::Scope) -> bool,
    browser: &str,
) -> String {
    let perms: String = if d.scopes.is_empty() {
        "<li>your public profile</li>".into()
    } else {
        d.scopes
            .iter()
            .map(|scope| {
                let (s, checked) = (esc(scope.as_str()), if ticked(scope) { " checked" } else { "" });
                format!("<li><label><input type=\"checkbox\" name=\"{GRANT}{s}\" value=\"1\"{checked}> <code>{s}</code></label></li>")
            })
            .collect()
    };
    let issued = req.now;
    let hidden = [
        ("client_id", d.app.app.id.to_string()),
        ("redirect_uri", d.redirect_uri.clone()),
        ("scope", d.scope_raw.clone()),
        ("state", d.state.clone()),
        ("response_type", d.response_type.as_str().to_owned()),
        ("issued", issued.to_string()),
        ("sig", s.svc.form_signature(d, issued)),
        ("browser_token", s.svc.form_token(browser)),
    ]
    .iter()
    .map(|(k, v)| format!("<input type=\"hidden\" name=\"{k}\" value=\"{}\">", esc(v)))
    .collect::<String>();
    let err = error.map(|e| format!("<p class=\"err\" id=\"error\">{}</p>", esc(e))).unwrap_or_default();
    page(
        &format!("Log in to {}", d.app.app.name),
        &format!(
            "<h1 id=\"app-name\">{app} wants to access your account</h1>{err}\
             <form method=\"post\" action=\"/{ver}/dialog/oauth/confirm\">{hidden}\
             <p>{app} will receive:</p><ul id=\"permissions\">{perms}</ul>\
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

/// The cookie a rendered form is bound to. SameSite=Lax: a cross-site POST does not carry it, so a page elsewhere
/// cannot submit a form on the person's behalf; HttpOnly: scripts never see it.
const COOKIE: &str = "suat_dialog";

/// The browser's binding cookie, if it sent a well-formed one.
pub(crate) fn browser_cookie(headers: &HeaderMap) -> Option<&str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, v)| *k == COOKIE && v.len() == 64 && v.bytes().all(|b| b.is_ascii_hexdigit()))
        .map(|(_, v)| v)
}

/// The client's address as the socket saw it (a proxy in front makes all clients one address: see the README).
pub struct Peer(pub String);

impl<S: Send + Sync> axum::extract::FromRequestParts<S> for Peer {
    type Rejection = std::convert::Infallible;
    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Peer, Self::Rejection> {
        let ip = parts.extensions.get::<ConnectInfo<std::net::SocketAddr>>().map(|c| c.0.ip().to_string());
        Ok(Peer(ip.unwrap_or_else(|| "unknown".into())))
    }
}

/// Whether the POST comes from a page of this server: its `Origin` (or, without one, its `Referer`) must be the origin
/// of `--public-url`, where browsers reach this server. The `Host` header is not consulted: a page on a name the
/// attacker controls that resolves to this server (DNS rebinding) sends its own name as both `Host` and `Origin`.
/// When the public URL names the loopback interface, the other loopback names at the same port are the same server
/// (a person opens `localhost:8787` as often as `127.0.0.1:8787`). A request with neither header is refused.
pub(crate) fn same_origin(headers: &HeaderMap, public_url: &str) -> bool {
    // More than one Origin is not something a browser sends: refused rather than picking one.
    if headers.get_all(header::ORIGIN).iter().count() > 1 {
        return false;
    }
    let sent = match headers.get(header::ORIGIN).and_then(|o| o.to_str().ok()) {
        Some(o) => url::Url::parse(o).ok(),
        None => headers.get(header::REFERER).and_then(|r| r.to_str().ok()).and_then(|r| url::Url::parse(r).ok()),
    };
    let (Some(sent), Ok(public)) = (sent, url::Url::parse(public_url)) else {
        return false;
    };
    if sent.origin() == public.origin() {
        return true;
    }
    let loopback = |u: &url::Url| match u.host() {
        Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    };
    loopback(&public)
        && loopback(&sent)
        && sent.scheme() == public.scheme()
        && sent.port_or_known_default() == public.port_or_known_default()
}

/// GET /dialog/oauth. Sets the binding cookie (keeping the browser's, so two open dialogs both stay valid).
pub async fn show(State(s): State<AppState>, headers: HeaderMap, req: Req) -> Response {
    match validate(&s, &req).await {
        Ok(d) => {
            let browser = browser_cookie(&headers).map(str::to_owned).unwrap_or_else(|| s.svc.new_browser_binding());
            let mut r = html(StatusCode::OK, render(&s, &req, &d, None, "", &|_| true, &browser));
            set_cookie(&mut r, &browser);
            r
        }
        Err(r) => r,
    }
}

pub(crate) fn set_cookie(r: &mut Response, browser: &str) {
    let c = format!("{COOKIE}={browser}; Path=/; HttpOnly; SameSite=Lax; Max-Age={}", suat_service::consent::FORM_TTL);
    if let Ok(v) = HeaderValue::from_str(&c) {
        r.headers_mut().append(header::SET_COOKIE, v);
    }
}

/// The name of a permission's box on the form: `grant:<permission>`, present when the box is ticked. One name per
/// permission, since a repeated name would keep only its last value.
const GRANT: &str = "grant:";

/// Where the answer goes: the query (then `#_=_`, as Facebook appends), or the fragment, for flows that return a
/// token (which must never reach the app's server logs).
#[derive(Clone, Copy, PartialEq, Eq)]
enum In {
    Query,
    Fragment,
}

fn redirect(to: &str, params: &[(&str, &str)], place: In) -> Response {
    let mut url = to.to_owned();
    let mut ser = url::form_urlencoded::Serializer::new(String::new());
    for (k, v) in params {
        if !v.is_empty() {
            ser.append_pair(k, v);
        }
    }
    match place {
        In::Query => {
            url.push(if url.contains('?') { '&' } else { '?' });
            url.push_str(&ser.finish());
            url.push_str("#_=_");
        }
        In::Fragment => {
            url.push('#');
            url.push_str(&ser.finish());
        }
    }
    let mut r = StatusCode::FOUND.into_response();
    if let Ok(v) = HeaderValue::from_str(&url) {
        r.headers_mut().insert(header::LOCATION, v);
    }
    r
}

/// A throttled sign-in (consent page or console): 429, the sentence on the page `again` renders, and `Retry-After`.
pub(crate) fn throttled(
    until: i64,
    locked: bool,
    now: i64,
    again: impl FnOnce(StatusCode, &str) -> Response,
) -> Response {
    let wait = (until - now).max(1);
    let message = if locked {
        format!(
            "Too many failed sign-in attempts. Sign-in is locked for {} minute(s); try again later.",
            (wait + 59) / 60
        )
    } else {
        format!("Too many failed sign-in attempts. Wait {wait} second(s) and try again.")
    };
    let mut r = again(StatusCode::TOO_MANY_REQUESTS, &message);
    if let Ok(v) = HeaderValue::from_str(&wait.to_string()) {
        r.headers_mut().insert(header::RETRY_AFTER, v);
    }
    r
}

/// POST /dialog/oauth/confirm.
pub async fn confirm(
    State(s): State<AppState>,
    Peer(peer): Peer,
    headers: HeaderMap,
    req: Req,
) -> Result<Response, GraphError> {
    // Refused before anything else (even Cancel): a forged POST gets no redirect to the app either.
    if !same_origin(&headers, &s.public_url) {
        return Ok(error_page(StatusCode::FORBIDDEN, "This login form was sent from another site and was refused."));
    }
    let browser = browser_cookie(&headers);
    let p = &req.params;
    if !s.svc.form_token_ok(browser, p.get("browser_token")) {
        return Ok(error_page(
            StatusCode::FORBIDDEN,
            "This login form does not belong to this browser. Go back to the app and try again.",
        ));
    }
    let browser = browser.unwrap_or_default();
    let d = match validate(&s, &req).await {
        Ok(d) => d,
        Err(r) => return Ok(r),
    };
    let issued: i64 = p.get("issued").and_then(|i| i.parse().ok()).unwrap_or(i64::MIN / 2);
    if !s.svc.form_is_fresh(&d, issued, p.get("sig"), req.now) {
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
            In::Query,
        ));
    }
    let ticked = |scope: &suat_core::Scope| p.get(&format!("{GRANT}{scope}")).is_some();
    let user_raw = p.get("user").unwrap_or("");
    let again = |status, message: &str| html(status, render(&s, &req, &d, Some(message), user_raw, &ticked, browser));
    let user = match s.svc.sign_in(user_raw, p.get("password").unwrap_or(""), &peer, req.now).await {
        SignIn::Ok(user) => user,
        SignIn::Wrong => return Ok(again(StatusCode::UNAUTHORIZED, "Incorrect user ID or password.")),
        SignIn::Throttled { until, locked } => return Ok(throttled(until, locked, req.now, again)),
        SignIn::Busy => {
            let mut r = again(
                StatusCode::TOO_MANY_REQUESTS,
                "Too many sign-ins are being checked right now. Try again in a moment.",
            );
            r.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
            return Ok(r);
        }
    };
    let done = s.svc.authorize(&d, &user, ticked, req.now).await?;
    let code = done.code.as_ref().map(|c| c.expose()).unwrap_or("");
    Ok(match &done.token {
        None => redirect(&d.redirect_uri, &[("code", code), ("state", &d.state)], In::Query),
        Some(t) => {
            let expires_in = t.expires_in.map(|e| e.to_string()).unwrap_or_default();
            redirect(
                &d.redirect_uri,
                &[("access_token", t.token.expose()), ("expires_in", &expires_in), ("code", code), ("state", &d.state)],
                In::Fragment,
            )
        }
    })
}

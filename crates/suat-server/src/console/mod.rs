//! The web console (issue 13): server-rendered pages for people, next to the Graph. A landing page at `/` (for
//! browsers only: see [`landing`]), Business Settings, the Access Token Debugger and the Graph API Explorer.
//!
//! Pages are built with maud, so every interpolated value is escaped by construction. Every page answers with a
//! strict CSP (no inline script or style: `console.js` and `console.css` are served from here), `X-Frame-Options:
//! DENY` and `Cache-Control: no-store`. Every form POST must come from this origin and carry the form token of the
//! browser's binding cookie: the consent page's own mechanism (`graph::dialog`), reused.

mod business;
mod debugger;
mod explorer;

use crate::{
    graph::dialog::{browser_cookie, same_origin, set_cookie},
    state::AppState,
};
use axum::{
    extract::Request,
    http::{header, HeaderMap, HeaderValue, Method, StatusCode},
    middleware::Next,
    response::{IntoResponse, Response},
    routing::{get, post},
    Router,
};
use maud::{html, Markup, DOCTYPE};
use suat_service::console::Principal;

/// The console's routes, reached through [`gate`] only.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/business_settings", get(business::show))
        .route("/business_settings/sign_in", post(business::sign_in))
        .route("/business_settings/sign_out", post(business::sign_out))
        .route("/business_settings/system_users", post(business::create_system_user))
        .route("/business_settings/install", post(business::install))
        .route("/business_settings/share_app", post(business::share_app))
        .route("/business_settings/assign", post(business::assign))
        .route("/business_settings/generate", get(business::generate_form).post(business::generate))
        .route("/business_settings/revoke", post(business::revoke))
        .route("/business_settings/revoke_all", post(business::revoke_all))
        .route("/tools/debug/accesstoken", get(debugger::show).post(debugger::debug))
        .route("/tools/debug/accesstoken/extend", post(debugger::extend))
        .route("/tools/explorer", get(explorer::show).post(explorer::run))
        .route("/console/console.js", get(script))
        .route("/console/console.css", get(style))
        .fallback(not_found)
        .method_not_allowed_fallback(not_found)
}

/// A console path that is not a page (or not with this method): a page saying so, not a Graph error.
async fn not_found() -> Response {
    page(
        StatusCode::NOT_FOUND,
        "Not found",
        None,
        html! { h1 { "Not found" } p.err #error role="alert" { "There is no such page. " a href="/" { "Start again" } } },
    )
}

/// Whether the request lists `text/html` in its `Accept`: browsers do for pages and form posts; Graph clients
/// (curl's `*/*`, the SDKs' `application/json`) never do.
fn wants_html(req: &Request) -> bool {
    req.headers()
        .get_all(header::ACCEPT)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .any(|v| v.split(',').any(|m| m.split(';').next().is_some_and(|m| m.trim() == "text/html")))
}

/// Before routing, in front of the Graph: a browser's request for a console page (an unversioned console path,
/// `Accept` listing `text/html`; the console's script and style whatever the `Accept`) goes to `pages`, and
/// `GET /` from a browser (no query, no version prefix, no `Authorization`) is the landing page. Everything else,
/// `/` included, is the Graph's, untouched: a Graph client never gets a page, even at a console path.
pub async fn gate(pages: &Router, req: Request, next: Next) -> Response {
    let unversioned = req.extensions().get::<crate::graph::ApiVersion>().is_none();
    let path = req.uri().path();
    if unversioned && path.starts_with("/console/") {
        return run(pages.clone(), req).await;
    }
    let console_path = matches!(path, "/business_settings" | "/tools/explorer" | "/tools/debug/accesstoken")
        || path.starts_with("/business_settings/")
        || path.starts_with("/tools/debug/accesstoken/");
    if unversioned && console_path && wants_html(&req) {
        return run(pages.clone(), req).await;
    }
    let landing = unversioned
        && req.method() == Method::GET
        && path == "/"
        && !matches!(req.uri().query(), Some(q) if !q.is_empty())
        && !req.headers().contains_key(header::AUTHORIZATION)
        && wants_html(&req);
    if !landing {
        return next.run(req).await;
    }
    landing_page()
}

async fn run(pages: Router, req: Request) -> Response {
    match tower::ServiceExt::oneshot(pages, req).await {
        Ok(r) => r,
        Err(never) => match never {},
    }
}

fn landing_page() -> Response {
    page(
        StatusCode::OK,
        "suat",
        None,
        html! {
            h1 { "suat" }
            p { "A Graph-API-compatible token authority for system user access tokens. The Graph API answers on this
                 same address (" code { "/v25.0/..." } "); these pages are the tools people use around it." }
            ul.cards {
                li { a href="/business_settings" { "Business Settings" } p { "System users, apps, pages and their people; generate and revoke tokens." } }
                li { a href="/tools/debug/accesstoken" { "Access Token Debugger" } p { "What a token is, for which app, until when, with which permissions." } }
                li { a href="/tools/explorer" { "Graph API Explorer" } p { "Make a Graph call and see the raw answer, its headers and the curl command." } }
            }
        },
    )
}

/// The content security policy of every console page: only this server's own script and style, forms posting only
/// here, never framed.
const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; \
                   form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

/// A page with the console's headers. `who` shows the signed-in principal in the header.
pub(crate) fn page(status: StatusCode, title: &str, who: Option<&Principal>, body: Markup) -> Response {
    let doc = html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) " · suat" }
                link rel="stylesheet" href="/console/console.css";
                script src="/console/console.js" defer {}
            }
            body {
                a.skip href="#main" { "Skip to content" }
                header.top {
                    nav aria-label="Console" {
                        a href="/" { "suat" }
                        a href="/business_settings" { "Business Settings" }
                        a href="/tools/debug/accesstoken" { "Access Token Debugger" }
                        a href="/tools/explorer" { "Graph API Explorer" }
                    }
                    @if let Some(w) = who {
                        span.who #signed-in { "Signed in as " (principal_name(w)) }
                    }
                }
                main #main { (body) }
            }
        }
    };
    html_response(status, doc.into_string())
}

fn html_response(status: StatusCode, body: String) -> Response {
    let mut r = (status, body).into_response();
    let h = r.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/html; charset=utf-8"));
    secure_headers(h);
    r
}

fn secure_headers(h: &mut HeaderMap) {
    h.insert("content-security-policy", HeaderValue::from_static(CSP));
    h.insert("x-frame-options", HeaderValue::from_static("DENY"));
    h.insert("x-content-type-options", HeaderValue::from_static("nosniff"));
    // Not no-referrer: Chromium then sends `Origin: null` on form POSTs, which the origin check refuses.
    h.insert("referrer-policy", HeaderValue::from_static("same-origin"));
    // Tokens are shown on these pages: never kept by a cache, never restored from history.
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
}

pub(crate) fn principal_name(w: &Principal) -> String {
    match w {
        Principal::Person(u) => format!("{} ({})", u.name, u.id),
        Principal::Operator => "the operator".into(),
    }
}

/// The small script for the copy buttons and the progressive bits (a select that submits its form).
async fn script() -> Response {
    asset(include_str!("console.js"), "text/javascript; charset=utf-8")
}

async fn style() -> Response {
    asset(include_str!("console.css"), "text/css; charset=utf-8")
}

fn asset(body: &'static str, ct: &'static str) -> Response {
    let mut r = body.into_response();
    let h = r.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(ct));
    h.insert("x-content-type-options", HeaderValue::from_static("nosniff"));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    r
}

/// The browser's binding cookie (the consent page's), made if it has none: forms carry its form token.
pub(crate) struct Browser(pub String);

impl Browser {
    pub fn of(s: &AppState, headers: &HeaderMap) -> Browser {
        Browser(browser_cookie(headers).map(str::to_owned).unwrap_or_else(|| s.svc.new_browser_binding()))
    }
    /// The hidden input every console form carries.
    pub fn field(&self, s: &AppState) -> Markup {
        html! { input type="hidden" name="csrf" value=(s.svc.form_token(&self.0)); }
    }
    /// Sets (or refreshes) the cookie on a page that carries forms.
    pub fn bind(&self, mut r: Response) -> Response {
        set_cookie(&mut r, &self.0);
        r
    }
}

/// A urlencoded form body, in order, with repeated names kept (checkboxes).
pub(crate) struct Form(pub Vec<(String, String)>);

impl Form {
    pub fn parse(body: &[u8]) -> Form {
        Form(form_urlencoded::parse(body).into_owned().collect())
    }
    pub fn get(&self, k: &str) -> Option<&str> {
        self.0.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str())
    }
    pub fn text(&self, k: &str) -> &str {
        self.get(k).unwrap_or("")
    }
    pub fn all<'a>(&'a self, k: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.0.iter().filter(move |(n, _)| n == k).map(|(_, v)| v.as_str())
    }
}

/// A console form POST, checked ([`check_form`]) before any handler sees it: its fields and the browser that sent
/// it. An extractor, so no handler can forget the check; the rejection is the refusal page.
pub(crate) struct Posted {
    pub form: Form,
    pub browser: Browser,
}

impl axum::extract::FromRequest<AppState> for Posted {
    type Rejection = Response;

    async fn from_request(req: axum::extract::Request, s: &AppState) -> Result<Posted, Response> {
        let headers = req.headers().clone();
        let body = match axum::body::Bytes::from_request(req, s).await {
            Ok(b) => b,
            Err(e) => return Err(e.into_response()),
        };
        let form = Form::parse(&body);
        if let Some(refusal) = check_form(s, &headers, &form) {
            return Err(refusal);
        }
        Ok(Posted { form, browser: Browser::of(s, &headers) })
    }
}

/// A form POST is taken only from a page of this server (Origin, or Referer) with the form token of the browser's
/// binding cookie; anything else is 403 and does nothing. `Some` is the refusal.
pub(crate) fn check_form(s: &AppState, headers: &HeaderMap, form: &Form) -> Option<Response> {
    if !same_origin(headers, &s.public_url) {
        return Some(refused("This form was sent from another site and was refused."));
    }
    if !s.svc.form_token_ok(browser_cookie(headers), form.get("csrf")) {
        return Some(refused("This form does not belong to this browser (or it is more than 30 minutes old). Reload the page and try again."));
    }
    None
}

fn refused(message: &str) -> Response {
    page(StatusCode::FORBIDDEN, "Refused", None, html! { h1 { "Refused" } p.err #error role="alert" { (message) } })
}

/// An error as Graph would report it, in a sentence: `(#code) message`, with the subcode when there is one.
pub(crate) fn describe(e: suat_service::Error) -> (StatusCode, String) {
    let g = crate::error::GraphError::from(e);
    let mut text = g.message.clone();
    if !text.starts_with("(#") {
        text = format!("(#{}) {text}", g.code);
    }
    if let Some(sub) = g.subcode {
        text.push_str(&format!(" [subcode {sub}: {}]", explain_subcode(sub)));
    }
    (g.status, text)
}

/// What an OAuthException subcode means, for people (GRAPH-WIRE §6).
pub(crate) fn explain_subcode(sub: u32) -> &'static str {
    match sub {
        458 => "the app is not installed for this user any more (uninstalled, or the person removed it)",
        459 => "the user must log in to Facebook to resolve a checkpoint",
        460 => "the password was changed (or the session invalidated) after this token was issued",
        463 => "the token has expired; generate a new one",
        464 => "the user has not confirmed their account",
        466 => "the token was revoked (or the session it came from was)",
        467 => "the token is no longer valid: the page role it depended on was removed, or it is malformed",
        492 => "the user has no role on this page",
        _ => "see the Graph API error reference",
    }
}

/// Human time: a unix instant as a UTC date and its distance from `now` ("in 59 days", "3 hours ago").
pub(crate) fn when(at: i64, now: i64) -> String {
    let date = chrono::DateTime::from_timestamp(at, 0)
        .map(|d| d.format("%Y-%m-%d %H:%M:%S UTC").to_string())
        .unwrap_or_else(|| at.to_string());
    let d = at - now;
    let span = |s: i64| match s {
        s if s >= 2 * 86400 => format!("{} days", s / 86400),
        s if s >= 2 * 3600 => format!("{} hours", s / 3600),
        s if s >= 120 => format!("{} minutes", s / 60),
        1 => "1 second".to_owned(),
        s => format!("{s} seconds"),
    };
    if d == 0 {
        format!("{date} (now)")
    } else if d > 0 {
        format!("{date} (in {})", span(d))
    } else {
        format!("{date} ({} ago)", span(-d))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_in_words() {
        assert_eq!(when(86400 * 60, 0), "1970-03-02 00:00:00 UTC (in 60 days)");
        assert_eq!(when(0, 7200), "1970-01-01 00:00:00 UTC (2 hours ago)");
        assert_eq!(when(5, 5), "1970-01-01 00:00:05 UTC (now)");
        assert_eq!(when(4, 5), "1970-01-01 00:00:04 UTC (1 second ago)");
    }
}

//! The Access Token Debugger (seed 003): paste a token, see `debug_token`'s answer for it as a table (the token
//! inspecting itself, so no other credential is needed), with expiry in words and dates and an invalid token's error
//! explained; "Extend Access Token" refreshes an expiring one (`fb_exchange_token`, which needs the app's secret).
//! The token travels only in POST bodies, never in a URL.

use super::{describe, explain_subcode, page, when, Browser, Posted};
use crate::{graph::batch::Inner, state::AppState};
use axum::{
    body::Body,
    extract::{Request, State},
    http::{header, HeaderMap, StatusCode},
    response::Response,
    Extension,
};
use maud::{html, Markup};
use serde_json::Value;
use suat_service::tokens::Client;
use tower::ServiceExt;

/// GET /tools/debug/accesstoken.
pub async fn show(State(s): State<AppState>, headers: HeaderMap) -> Response {
    let browser = Browser::of(&s, &headers);
    browser.bind(page(StatusCode::OK, "Access Token Debugger", None, form(&s, &browser, "", html! {})))
}

fn form(s: &AppState, browser: &Browser, value: &str, result: Markup) -> Markup {
    html! {
        h1 { "Access Token Debugger" }
        form.card #debug method="post" action="/tools/debug/accesstoken" {
            (browser.field(s))
            label for="input-token" { "Access token" }
            textarea #input-token name="input_token" rows="3" required spellcheck="false" autocomplete="off" { (value) }
            button type="submit" { "Debug" }
        }
        (result)
    }
}

/// `debug_token`'s answer for `token`, asked by the token itself, through the Graph router (the same handler and
/// use case a client reaches; POST with `method=GET` keeps the token out of any URL).
async fn debug_answer(inner: &Inner, token: &str) -> (u16, Value) {
    let body: String = form_urlencoded::Serializer::new(String::new())
        .append_pair("method", "GET")
        .append_pair("input_token", token)
        .append_pair("access_token", token)
        .finish();
    let req = Request::builder()
        .method("POST")
        .uri("/debug_token")
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(Body::from(body));
    let Ok(req) = req else { return (400, Value::Null) };
    let Ok(r) = inner.0.clone().oneshot(req).await;
    let status = r.status().as_u16();
    let bytes = axum::body::to_bytes(r.into_body(), 1 << 20).await.unwrap_or_default();
    (status, serde_json::from_slice(&bytes).unwrap_or(Value::Null))
}

/// POST /tools/debug/accesstoken `input_token`.
pub async fn debug(
    State(s): State<AppState>,
    Extension(inner): Extension<Inner>,
    Posted { form: f, browser }: Posted,
) -> Response {
    let token = f.text("input_token").trim().to_owned();
    let result = table(&s, &browser, &inner, &token).await;
    browser.bind(page(StatusCode::OK, "Access Token Debugger", None, form(&s, &browser, &token, result)))
}

async fn table(s: &AppState, browser: &Browser, inner: &Inner, token: &str) -> Markup {
    let (status, v) = debug_answer(inner, token).await;
    let now = s.now();
    if status != 200 {
        let e = &v["error"];
        let sub = e["error_subcode"].as_u64();
        return html! {
            section #result aria-labelledby="h-result" {
                h2 #h-result { "Access Token Info" }
                p.err #error role="alert" {
                    "(#" (e["code"]) ") " (e["message"].as_str().unwrap_or("The token could not be debugged."))
                    @if let Some(sub) = sub { " [subcode " (sub) ": " (explain_subcode(sub as u32)) "]" }
                }
                details { summary { "Raw answer" } pre { (serde_json::to_string_pretty(&v).unwrap_or_default()) } }
            }
        };
    }
    let d = &v["data"];
    let str_of = |k: &str| d[k].as_str().map(str::to_owned);
    let expires = d["expires_at"].as_i64();
    let valid = d["is_valid"].as_bool() == Some(true);
    let expiring = valid && expires.is_some_and(|e| e > 0);
    let scopes: Vec<String> = d["scopes"]
        .as_array()
        .map(|a| a.iter().filter_map(|x| x.as_str().map(str::to_owned)).collect())
        .unwrap_or_default();
    html! {
        section #result aria-labelledby="h-result" {
            h2 #h-result { "Access Token Info" }
            table #token-info {
                caption.sr { "What debug_token says about this token" }
                tbody {
                    tr { th scope="row" { "App ID" } td #info-app-id { (str_of("app_id").unwrap_or_default()) " : " (str_of("application").unwrap_or_default()) } }
                    tr { th scope="row" { "Type" } td #info-type { (str_of("type").unwrap_or_default()) } }
                    @if let Some(u) = str_of("user_id") { tr { th scope="row" { "User ID" } td #info-user { (u) } } }
                    @if let Some(p) = str_of("profile_id") { tr { th scope="row" { "Page ID" } td #info-page { (p) } } }
                    tr { th scope="row" { "Issued" } td { @match d["issued_at"].as_i64() { Some(i) => (when(i, now)), None => "—" } } }
                    tr { th scope="row" { "Expires" } td #info-expires {
                        @match expires { Some(0) | None => "Never", Some(e) => (when(e, now)) }
                    } }
                    @if let Some(da) = d["data_access_expires_at"].as_i64() {
                        tr { th scope="row" { "Data access expires" } td { @if da == 0 { "Never" } @else { (when(da, now)) } } }
                    }
                    tr { th scope="row" { "Valid" } td #info-valid {
                        @if valid { "True" } @else {
                            "False: " (d["error"]["message"].as_str().unwrap_or(""))
                            @if let Some(sub) = d["error"]["subcode"].as_u64() {
                                span #info-subcode { " (subcode " (sub) ": " (explain_subcode(sub as u32)) ")" }
                            }
                        }
                    } }
                    tr { th scope="row" { "Scopes" } td #info-scopes { (scopes.join(", ")) } }
                }
            }
            @if expiring {
                form.card #extend method="post" action="/tools/debug/accesstoken/extend" {
                    h3 { "Extend Access Token" }
                    p.hint { "A new token valid 60 days from now (" code { "fb_exchange_token" } "); this one keeps working until it expires." }
                    (browser.field(s))
                    input type="hidden" name="input_token" value=(token);
                    input type="hidden" name="app_id" value=(str_of("app_id").unwrap_or_default());
                    label for="extend-secret" { "App secret of app " (str_of("app_id").unwrap_or_default()) }
                    input #extend-secret type="password" name="app_secret" autocomplete="off" required;
                    button type="submit" { "Extend Access Token" }
                }
            }
            details { summary { "Raw answer" } pre #raw { (serde_json::to_string_pretty(&v).unwrap_or_default()) } }
        }
    }
}

/// POST /tools/debug/accesstoken/extend `input_token`, `app_id`, `app_secret`: the refresh use case; the new token
/// is shown once.
pub async fn extend(
    State(s): State<AppState>,
    Extension(inner): Extension<Inner>,
    Posted { form: f, browser }: Posted,
) -> Response {
    let old = f.text("input_token").trim().to_owned();
    let client = Client { id: f.text("app_id"), secret: f.text("app_secret") };
    match s.svc.refresh(&client, &old, s.now()).await {
        Err(e) => {
            let (status, text) = describe(e);
            let result = html! { p.err #error role="alert" { "Could not extend: " (text) } };
            browser.bind(page(status, "Access Token Debugger", None, form(&s, &browser, &old, result)))
        }
        Ok(issued) => {
            let new = issued.token.expose().to_owned();
            let info = table(&s, &browser, &inner, &new).await;
            let result = html! {
                div.card {
                    p.ok role="status" { "New token, valid 60 days. Copy it now: it is shown only once." }
                    label for="new-token" { "Extended access token" }
                    div.copyrow {
                        input #new-token type="text" readonly value=(new) autocomplete="off" spellcheck="false";
                        button #copy-token type="button" data-copy="new-token" { "Copy" }
                    }
                }
                (info)
            };
            browser.bind(page(StatusCode::OK, "Access Token Debugger", None, form(&s, &browser, "", result)))
        }
    }
}

//! The Graph API Explorer (seed 003): method, path, parameters and token; the request runs through the Graph router
//! in-process (as a batch operation does: the same handlers, rules and audit), and the page shows the raw answer with
//! its headers and the curl command that makes the same call. The token is sent as `Authorization: Bearer`, in the
//! explorer's request and in the curl command, never in a URL.

use super::{page, Browser, Posted};
use crate::{
    graph::{batch::Inner, versioned},
    state::AppState,
};
use axum::{
    body::Body,
    extract::{Request, State},
    http::{header, HeaderMap, Method, StatusCode},
    response::Response,
    Extension,
};
use maud::{html, Markup};
use tower::ServiceExt;

/// What the explorer's form holds.
struct Call {
    method: String,
    path: String,
    params: String,
    token: String,
}

/// GET /tools/explorer.
pub async fn show(State(s): State<AppState>, headers: HeaderMap) -> Response {
    let browser = Browser::of(&s, &headers);
    let call = Call {
        method: "GET".into(),
        path: format!("/{}/me", s.api_version),
        params: String::new(),
        token: String::new(),
    };
    browser.bind(page(StatusCode::OK, "Graph API Explorer", None, form(&s, &browser, &call, html! {})))
}

fn form(s: &AppState, browser: &Browser, c: &Call, result: Markup) -> Markup {
    html! {
        h1 { "Graph API Explorer" }
        form.card #explorer method="post" action="/tools/explorer" {
            (browser.field(s))
            div.callrow {
                div {
                    label for="ex-method" { "Method" }
                    select #ex-method name="method" {
                        @for m in ["GET", "POST", "DELETE"] { option value=(m) selected[c.method == m] { (m) } }
                    }
                }
                div.grow {
                    label for="ex-path" { "Path" }
                    input #ex-path type="text" name="path" value=(c.path) required spellcheck="false";
                }
            }
            label for="ex-params" { "Parameters (one name=value a line)" }
            textarea #ex-params name="params" rows="4" spellcheck="false" { (c.params) }
            label for="ex-token" { "Access token" }
            input #ex-token type="password" name="token" value=(c.token) autocomplete="off" spellcheck="false";
            button type="submit" { "Submit" }
        }
        (result)
    }
}

/// Parameters as `name=value` lines (blank lines skipped; a line without `=` is a name with an empty value).
fn pairs(raw: &str) -> Vec<(String, String)> {
    raw.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(|l| match l.split_once('=') {
            Some((k, v)) => (k.trim().to_owned(), v.trim().to_owned()),
            None => (l.to_owned(), String::new()),
        })
        .collect()
}

/// A word for a POSIX shell, single-quoted.
fn sh(word: &str) -> String {
    format!("'{}'", word.replace('\'', r"'\''"))
}

/// POST /tools/explorer `method`, `path`, `params`, `token`.
pub async fn run(
    State(s): State<AppState>,
    Extension(inner): Extension<Inner>,
    Posted { form: f, browser }: Posted,
) -> Response {
    let c = Call {
        method: f.text("method").to_ascii_uppercase(),
        path: f.text("path").trim().to_owned(),
        params: f.text("params").to_owned(),
        token: f.text("token").trim().to_owned(),
    };
    let result = explore(&s, &inner, &c).await;
    browser.bind(page(StatusCode::OK, "Graph API Explorer", None, form(&s, &browser, &c, result)))
}

async fn explore(s: &AppState, inner: &Inner, c: &Call) -> Markup {
    let method = match c.method.as_str() {
        "GET" => Method::GET,
        "POST" => Method::POST,
        "DELETE" => Method::DELETE,
        _ => return html! { p.err #error role="alert" { "Method must be GET, POST or DELETE." } },
    };
    let path = if c.path.starts_with('/') { c.path.clone() } else { format!("/{}", c.path) };
    let (path_only, path_query) = match path.split_once('?') {
        Some((p, q)) => (p.to_owned(), Some(q.to_owned())),
        None => (path.clone(), None),
    };
    let params = pairs(&c.params);
    let encoded = {
        let mut ser = form_urlencoded::Serializer::new(String::new());
        for (k, v) in &params {
            ser.append_pair(k, v);
        }
        ser.finish()
    };
    // GET and DELETE carry the parameters in the query; POST in a form body, as the SDKs send them.
    let in_query = method != Method::POST;
    let mut query: Vec<String> = path_query.into_iter().filter(|q| !q.is_empty()).collect();
    if in_query && !encoded.is_empty() {
        query.push(encoded.clone());
    }
    let uri = if query.is_empty() { path_only.clone() } else { format!("{path_only}?{}", query.join("&")) };
    let mut b = Request::builder().method(method.clone()).uri(&uri);
    if !c.token.is_empty() {
        b = b.header(header::AUTHORIZATION, format!("Bearer {}", c.token));
    }
    let body = if in_query {
        Body::empty()
    } else {
        b = b.header(header::CONTENT_TYPE, "application/x-www-form-urlencoded");
        Body::from(encoded.clone())
    };
    let Ok(req) = b.body(body) else {
        return html! { p.err #error role="alert" { "That path is not a valid URL path." } };
    };
    let req = versioned(req);
    if req.uri().path() == "/" {
        return html! { p.err #error role="alert" { "The root node (batch, ?ids=) cannot be explored here: call it with curl." } };
    }
    let Ok(r) = inner.0.clone().oneshot(req).await;
    let status = r.status();
    let shown_headers: Vec<(String, String)> =
        r.headers().iter().map(|(k, v)| (k.as_str().to_owned(), v.to_str().unwrap_or("<binary>").to_owned())).collect();
    let bytes = axum::body::to_bytes(r.into_body(), 1 << 20).await.unwrap_or_default();
    let raw = String::from_utf8_lossy(&bytes).into_owned();
    let pretty =
        serde_json::from_slice::<serde_json::Value>(&bytes).ok().and_then(|v| serde_json::to_string_pretty(&v).ok());
    let mut curl = format!("curl -i -X {} {}", method, sh(&format!("{}{uri}", s.public_url)));
    if !c.token.is_empty() {
        curl.push_str(&format!(" \\\n  -H {}", sh(&format!("Authorization: Bearer {}", c.token))));
    }
    if !in_query {
        for (k, v) in &params {
            curl.push_str(&format!(" \\\n  --data-urlencode {}", sh(&format!("{k}={v}"))));
        }
    }
    html! {
        section #result aria-labelledby="h-answer" {
            h2 #h-answer { "Answer" }
            p #status { "HTTP " (status.as_u16()) " " (status.canonical_reason().unwrap_or("")) }
            table #headers {
                caption { "Headers" }
                thead { tr { th scope="col" { "Name" } th scope="col" { "Value" } } }
                tbody { @for (k, v) in &shown_headers { tr { th scope="row" { (k) } td { (v) } } } }
            }
            h3 { "Body" }
            pre #body { (raw) }
            @if let Some(p) = pretty { details { summary { "Indented" } pre { (p) } } }
            h3 { label for="curl" { "The same call with curl" } }
            div.copyrow {
                textarea #curl readonly rows="4" spellcheck="false" { (curl) }
                button #copy-curl type="button" data-copy="curl" { "Copy" }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shell_quoting() {
        assert_eq!(sh("a b"), "'a b'");
        assert_eq!(sh("it's"), r"'it'\''s'");
    }

    #[test]
    fn parameter_lines() {
        assert_eq!(
            pairs("fields = id,name\n\nlimit=2\nsummary"),
            vec![("fields".into(), "id,name".into()), ("limit".into(), "2".into()), ("summary".into(), String::new())]
        );
    }
}

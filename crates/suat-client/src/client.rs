//! The HTTP plumbing shared by every Graph call: versioned URLs, how the caller's token and appsecret_proof travel,
//! and turning answers into values or typed errors. Endpoint methods live in one file per Graph resource.
//!
//! GET and DELETE carry the caller's token in `Authorization: Bearer` so it stays out of URLs (and proxy logs);
//! POST carries it in the form body, as Meta's curl examples do.

use crate::error::{ClientError, GraphApiError};
use reqwest::Method;
use serde_json::Value;
use std::{
    fmt,
    sync::{
        atomic::{AtomicBool, AtomicI64, Ordering},
        Arc,
    },
    time::Duration,
};
use suat_core::{AccessToken, AppId, AppSecret, AppSecretProof};
use url::Url;

/// Meta's Graph API.
pub const DEFAULT_GRAPH_URL: &str = "https://graph.facebook.com";
/// The version pinned by default (any `vN.N` is accepted).
pub const DEFAULT_API_VERSION: &str = "v25.0";

/// Who makes an authenticated call: a token and, when known, the secret of its app (then every call carries
/// `appsecret_proof`, which Meta requires when "Require App Secret" is on and always for token generation).
#[derive(Clone)]
pub struct Caller {
    token: AccessToken,
    secret: Option<AppSecret>,
}

impl fmt::Debug for Caller {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Caller").field("token", &self.token).field("with_proof", &self.secret.is_some()).finish()
    }
}

impl Caller {
    pub fn new(token: AccessToken) -> Caller {
        Caller { token, secret: None }
    }

    /// Adds the app secret used to compute appsecret_proof on every call.
    pub fn with_secret(mut self, secret: Option<AppSecret>) -> Caller {
        self.secret = secret;
        self
    }

    /// The app token `APPID|APPSECRET`, accepted everywhere as the app itself (debug_token's preferred inspector).
    pub fn app(app: AppId, secret: &AppSecret) -> Caller {
        Caller::new(AccessToken::from_presented(format!("{app}|{}", secret.expose())))
    }

    pub fn token(&self) -> &AccessToken {
        &self.token
    }

    pub fn secret(&self) -> Option<&AppSecret> {
        self.secret.as_ref()
    }

    fn proof(&self) -> Option<AppSecretProof> {
        self.secret.as_ref().map(|s| AppSecretProof::compute(s, self.token.expose()))
    }
}

/// A Graph API endpoint: Meta's, or any suat server.
#[derive(Clone)]
pub struct GraphClient {
    http: reqwest::Client,
    base: Url,
    version: Option<String>,
    /// How far the server's clock is from ours, learnt from the `Date` of its answers (shared by clones).
    server_clock: Arc<ServerClock>,
}

/// The server's clock as seconds to add to the local one, from the `Date` header of the last answer. Expiry is the
/// server's to decide (Meta's clock on the real Graph, the control-plane clock on suat): deciding by the local clock
/// would call a token valid that the server already refuses, or never find it due for rotation.
#[derive(Debug, Default)]
pub struct ServerClock {
    skew: AtomicI64,
    known: AtomicBool,
}

impl ServerClock {
    /// The server's now (unix seconds): the local clock plus the last skew seen (none before the first answer).
    pub fn now(&self) -> i64 {
        local_now() + self.skew.load(Ordering::Relaxed)
    }

    /// Whether an answer with a `Date` has been seen.
    pub fn known(&self) -> bool {
        self.known.load(Ordering::Relaxed)
    }

    /// Records the `Date` of an answer received now; one that does not parse is ignored.
    pub fn observe(&self, date: &str) {
        if let Some(server) = parse_http_date(date) {
            self.skew.store(server - local_now(), Ordering::Relaxed);
            self.known.store(true, Ordering::Relaxed);
        }
    }
}

pub(crate) fn local_now() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs() as i64).unwrap_or(0)
}

/// An HTTP date (`Sun, 06 Nov 1994 08:49:37 GMT`) as unix seconds.
pub fn parse_http_date(s: &str) -> Option<i64> {
    chrono::DateTime::parse_from_rfc2822(s.trim()).ok().map(|d| d.timestamp())
}

impl fmt::Debug for GraphClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GraphClient").field("base", &self.base.as_str()).field("version", &self.version).finish()
    }
}

impl GraphClient {
    /// `base_url` like `https://graph.facebook.com` (a trailing slash is fine); `version` like `v25.0`, or empty for
    /// unversioned paths.
    pub fn new(base_url: &str, version: &str) -> Result<GraphClient, ClientError> {
        let trimmed = base_url.trim().trim_end_matches('/');
        let base =
            Url::parse(trimmed).map_err(|e| ClientError::Invalid(format!("invalid --graph-url {trimmed:?}: {e}")))?;
        if !matches!(base.scheme(), "http" | "https") || base.cannot_be_a_base() {
            return Err(ClientError::Invalid(format!("--graph-url must be an http(s) URL, got {trimmed:?}")));
        }
        let version = match version.trim() {
            "" => None,
            v if is_version(v) => Some(v.to_owned()),
            v => return Err(ClientError::Invalid(format!("--api-version must look like v25.0, got {v:?}"))),
        };
        let http = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(10))
            .timeout(Duration::from_secs(60))
            .user_agent(concat!("suat-client/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| ClientError::Invalid(format!("cannot build the HTTP client: {e}")))?;
        Ok(GraphClient { http, base, version, server_clock: Default::default() })
    }

    /// Meta's Graph API at the default version.
    pub fn meta() -> GraphClient {
        GraphClient::new(DEFAULT_GRAPH_URL, DEFAULT_API_VERSION).expect("the default Graph URL is valid")
    }

    /// The server's clock as its answers tell it (see [`ServerClock`]).
    pub fn server_clock(&self) -> &Arc<ServerClock> {
        &self.server_clock
    }

    /// The server's now, asking it if need be: one unauthenticated `GET /{version}/` whose answer (an error on the
    /// Graph, which is fine) carries the server's `Date`. Fails only if the server cannot be reached or sends no
    /// usable `Date`.
    pub async fn sync_clock(&self) -> Result<i64, ClientError> {
        let endpoint = self.label(&Method::GET, "");
        let resp = self
            .http
            .get(self.url(""))
            .send()
            .await
            .map_err(|e| ClientError::Http { endpoint: endpoint.clone(), source: e.without_url() })?;
        self.observe(&resp);
        if !self.server_clock.known() {
            return Err(ClientError::UnexpectedResponse {
                endpoint,
                status: resp.status().as_u16(),
                detail: "no Date header: cannot tell the server's time".into(),
            });
        }
        Ok(self.server_clock.now())
    }

    fn observe(&self, resp: &reqwest::Response) {
        if let Some(d) = resp.headers().get(reqwest::header::DATE).and_then(|v| v.to_str().ok()) {
            self.server_clock.observe(d);
        }
    }

    pub fn base_url(&self) -> &str {
        self.base.as_str().trim_end_matches('/')
    }

    /// `GET http://host/v25.0/{path}`, for error messages: the whole URL a person must check (which server, which
    /// version), but never the query (it may carry a token) nor user info (it may carry a password).
    fn label(&self, method: &Method, path: &str) -> String {
        let mut url = self.url(path);
        let _ = url.set_username("");
        let _ = url.set_password(None);
        format!("{method} {url}")
    }

    fn url(&self, path: &str) -> Url {
        let mut url = self.base.clone();
        {
            let mut segs = url.path_segments_mut().expect("checked: can be a base");
            segs.pop_if_empty();
            if let Some(v) = &self.version {
                segs.push(v);
            }
            for s in path.split('/').filter(|s| !s.is_empty()) {
                segs.push(s);
            }
        }
        url
    }

    /// One Graph call. `params` never include the caller's token; it is added here with its proof.
    pub(crate) async fn call(
        &self,
        method: Method,
        path: &str,
        mut params: Vec<(&'static str, String)>,
        caller: Option<&Caller>,
    ) -> Result<Value, ClientError> {
        let endpoint = self.label(&method, path);
        if let Some(proof) = caller.and_then(Caller::proof) {
            params.push(("appsecret_proof", proof.as_str().to_owned()));
        }
        let mut req = self.http.request(method.clone(), self.url(path));
        if method == Method::POST {
            if let Some(c) = caller {
                params.push(("access_token", c.token.expose().to_owned()));
            }
            req = req.form(&params);
        } else {
            req = req.query(&params);
            if let Some(c) = caller {
                req = req.bearer_auth(c.token.expose());
            }
        }
        tracing::debug!(%endpoint, "graph call");
        let resp =
            req.send().await.map_err(|e| ClientError::Http { endpoint: endpoint.clone(), source: e.without_url() })?;
        self.observe(&resp);
        let status = resp.status().as_u16();
        let text =
            resp.text().await.map_err(|e| ClientError::Http { endpoint: endpoint.clone(), source: e.without_url() })?;
        let body: Value = match serde_json::from_str(&text) {
            Ok(v) => v,
            Err(_) => {
                return Err(ClientError::UnexpectedResponse {
                    endpoint,
                    status,
                    detail: format!("not JSON: {}", snippet(&text)),
                })
            }
        };
        if body.get("error").is_some_and(Value::is_object) {
            if let Some(mut g) = GraphApiError::from_body(status, &body) {
                g.endpoint = Some(endpoint);
                return Err(g.into());
            }
        }
        if !(200..300).contains(&status) {
            return Err(ClientError::UnexpectedResponse { endpoint, status, detail: snippet(&text) });
        }
        Ok(body)
    }
}

/// Keeps error messages short.
fn snippet(s: &str) -> String {
    let s = s.trim();
    if s.chars().count() > 200 {
        format!("{}...", s.chars().take(200).collect::<String>())
    } else {
        s.to_owned()
    }
}

/// `vN.N` with digits on both sides.
fn is_version(s: &str) -> bool {
    let Some((a, b)) = s.strip_prefix('v').and_then(|r| r.split_once('.')) else {
        return false;
    };
    let digits = |x: &str| !x.is_empty() && x.len() <= 3 && x.bytes().all(|c| c.is_ascii_digit());
    digits(a) && digits(b)
}

/// Reads a success answer as its wire type (shared with the server), or says which endpoint broke its contract.
pub(crate) fn wire<T: serde::de::DeserializeOwned>(body: Value, endpoint: &str) -> Result<T, ClientError> {
    serde_json::from_value(body).map_err(|e| ClientError::UnexpectedResponse {
        endpoint: endpoint.to_owned(),
        status: 200,
        detail: e.to_string(),
    })
}

/// Reads a string field of a success answer, or says which endpoint broke its contract.
pub(crate) fn str_field(body: &Value, field: &str, endpoint: &str) -> Result<String, ClientError> {
    body.get(field).and_then(Value::as_str).map(str::to_owned).ok_or_else(|| ClientError::UnexpectedResponse {
        endpoint: endpoint.to_owned(),
        status: 200,
        detail: format!("no string field {field:?} in the answer"),
    })
}

/// `{"success":true}` (or Meta's `"true"`, as in seed 001's sample revoke answer).
pub(crate) fn expect_success(body: &Value, endpoint: &str) -> Result<(), ClientError> {
    let ok = match body.get("success") {
        Some(Value::Bool(b)) => *b,
        Some(Value::String(s)) => s == "true",
        _ => matches!(body, Value::Bool(true)),
    };
    if ok {
        Ok(())
    } else {
        Err(ClientError::UnexpectedResponse {
            endpoint: endpoint.to_owned(),
            status: 200,
            detail: format!("expected {{\"success\":true}}, got {}", snippet(&body.to_string())),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builds_versioned_urls() {
        let c = GraphClient::new("http://127.0.0.1:9/", "v25.0").unwrap();
        assert_eq!(c.url("1234/access_tokens").as_str(), "http://127.0.0.1:9/v25.0/1234/access_tokens");
        assert_eq!(c.url("/oauth/access_token").as_str(), "http://127.0.0.1:9/v25.0/oauth/access_token");
        let c = GraphClient::new("https://proxy.example/graph", "").unwrap();
        assert_eq!(c.url("me").as_str(), "https://proxy.example/graph/me");
        assert_eq!(c.base_url(), "https://proxy.example/graph");
    }

    #[test]
    fn rejects_bad_urls_and_versions() {
        assert!(GraphClient::new("ftp://x", "v25.0").is_err());
        assert!(GraphClient::new("not a url", "v25.0").is_err());
        assert!(GraphClient::new("https://graph.facebook.com", "25.0").is_err());
        assert!(GraphClient::new("https://graph.facebook.com", "v2.8").is_ok());
    }

    #[test]
    fn caller_debug_is_redacted() {
        let c = Caller::new(AccessToken::from_presented("EAAsecret")).with_secret(Some(AppSecret::new("shh")));
        let s = format!("{c:?}");
        assert!(!s.contains("EAAsecret") && !s.contains("shh"), "{s}");
        let app = Caller::app(AppId(7), &AppSecret::new("shh"));
        assert_eq!(app.token().expose(), "7|shh");
        assert!(app.secret().is_none());
    }

    #[test]
    fn http_dates_set_the_server_clock() {
        assert_eq!(parse_http_date("Sun, 06 Nov 1994 08:49:37 GMT"), Some(784111777));
        assert_eq!(parse_http_date("not a date"), None);
        let c = ServerClock::default();
        assert!(!c.known());
        c.observe("garbage");
        assert!(!c.known());
        let in_ten_days = chrono::DateTime::from_timestamp(local_now() + 864_000, 0).unwrap().to_rfc2822();
        c.observe(&in_ten_days);
        assert!(c.known());
        assert!((864_000 - 2..=864_000 + 2).contains(&(c.now() - local_now())), "{}", c.now() - local_now());
    }

    #[test]
    fn success_shapes() {
        use serde_json::json;
        assert!(expect_success(&json!({"success": true}), "x").is_ok());
        assert!(expect_success(&json!({"success": "true"}), "x").is_ok());
        assert!(expect_success(&json!(true), "x").is_ok());
        assert!(expect_success(&json!({"success": false}), "x").is_err());
    }
}

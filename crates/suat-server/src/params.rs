//! Graph request parameters: the query string and the body (urlencoded, multipart or JSON) merged into one map, with
//! the size and encoding limits that keep bad input from reaching any rule.

use crate::error::GraphError;
use axum::http::{header, HeaderMap};
use bytes::Bytes;
use suat_core::{wire, CoreError};

/// Largest body accepted. Bigger bodies are refused before parsing.
pub const MAX_BODY: usize = 256 * 1024;
/// Largest single parameter value (tokens are ~200 bytes; scope lists a few KB at most).
pub const MAX_PARAM: usize = 16 * 1024;
/// Most parameters in one request.
pub const MAX_PARAMS: usize = 64;

/// Merged parameters of one request. Body values override query values of the same name.
///
/// A short vector rather than a hash map: requests carry a handful of parameters (at most [`MAX_PARAMS`]), and a
/// linear scan of a few entries beats hashing and allocating a table on every request (see BENCHMARKS.md).
#[derive(Debug, Default, Clone)]
pub struct Params {
    map: Vec<(String, String)>,
    bearer: Option<String>,
    /// `Authorization: Basic` client credentials (id, secret), decoded; a header that does not decode is an error
    /// only where client credentials are read, so it cannot break calls that never look at it.
    basic: Option<Result<(String, String), GraphError>>,
}

impl Params {
    /// Parses query and body. Any malformed or oversized input is a Graph error and nothing else happens.
    pub fn parse(query: Option<&str>, headers: &HeaderMap, body: &Bytes) -> Result<Params, GraphError> {
        let mut p = Params::default();
        if let Some(q) = query {
            p.extend_urlencoded(q.as_bytes())?;
        }
        if !body.is_empty() {
            let ct = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("");
            let mime = ct.split(';').next().unwrap_or("").trim().to_ascii_lowercase();
            match mime.as_str() {
                "application/json" => p.extend_json(body)?,
                "multipart/form-data" => p.extend_multipart(ct, body)?,
                _ => p.extend_urlencoded(body)?,
            }
        }
        p.bearer = bearer(headers);
        p.basic = basic(headers);
        Ok(p)
    }

    fn insert(&mut self, k: String, v: String) -> Result<(), GraphError> {
        if v.len() > MAX_PARAM || k.len() > 256 {
            return Err(GraphError::param(format!(
                "Param {} is too long (max {MAX_PARAM} bytes)",
                k.chars().take(64).collect::<String>()
            )));
        }
        if v.contains('\0') || k.contains('\0') {
            return Err(GraphError::param("Parameters must not contain NUL characters"));
        }
        match self.map.iter_mut().find(|(key, _)| *key == k) {
            Some(slot) => slot.1 = v,
            None => self.map.push((k, v)),
        }
        if self.map.len() > MAX_PARAMS {
            return Err(GraphError::param(format!("Too many parameters (max {MAX_PARAMS})")));
        }
        Ok(())
    }

    fn extend_urlencoded(&mut self, raw: &[u8]) -> Result<(), GraphError> {
        for pair in raw.split(|b| *b == b'&') {
            if pair.is_empty() {
                continue;
            }
            let (k, v) = match pair.iter().position(|b| *b == b'=') {
                Some(i) => (&pair[..i], &pair[i + 1..]),
                None => (pair, &b""[..]),
            };
            let (k, v) = (decode(k)?, decode(v)?);
            self.insert(k, v)?;
        }
        Ok(())
    }

    fn extend_json(&mut self, body: &[u8]) -> Result<(), GraphError> {
        let v: serde_json::Value =
            serde_json::from_slice(body).map_err(|_| GraphError::param("The request body is not valid JSON"))?;
        let serde_json::Value::Object(obj) = v else {
            return Err(GraphError::param("The JSON request body must be an object"));
        };
        for (k, v) in obj {
            let s = match v {
                serde_json::Value::String(s) => s,
                serde_json::Value::Null => continue,
                other => other.to_string(),
            };
            self.insert(k, s)?;
        }
        Ok(())
    }

    fn extend_multipart(&mut self, content_type: &str, body: &Bytes) -> Result<(), GraphError> {
        let boundary = multer::parse_boundary(content_type)
            .map_err(|_| GraphError::param("Malformed multipart/form-data body"))?;
        let stream = futures_util::stream::once(std::future::ready(Ok::<Bytes, std::io::Error>(body.clone())));
        let constraints = multer::Constraints::new()
            .size_limit(multer::SizeLimit::new().whole_stream(MAX_BODY as u64).per_field(MAX_PARAM as u64));
        let mut mp = multer::Multipart::with_constraints(stream, boundary, constraints);
        // multer is async only in name here: the whole body is already in memory.
        let fields = futures_util::FutureExt::now_or_never(async {
            let mut out = Vec::new();
            while let Some(field) = mp.next_field().await? {
                let name = field.name().unwrap_or_default().to_owned();
                let bytes = field.bytes().await?;
                out.push((name, bytes));
            }
            Ok::<_, multer::Error>(out)
        });
        let fields = match fields {
            Some(Ok(f)) => f,
            Some(Err(multer::Error::FieldSizeExceeded { field_name, .. })) => {
                return Err(GraphError::param(format!(
                    "Param {} is too long (max {MAX_PARAM} bytes)",
                    field_name.unwrap_or_default()
                )))
            }
            _ => return Err(GraphError::param("Malformed multipart/form-data body")),
        };
        for (name, bytes) in fields {
            let v = String::from_utf8(bytes.to_vec())
                .map_err(|_| GraphError::param(format!("Param {name} is not valid UTF-8")))?;
            self.insert(name, v)?;
        }
        Ok(())
    }

    /// A parameter's value, if present and non-empty.
    pub fn get(&self, k: &str) -> Option<&str> {
        self.map.iter().find(|(key, _)| key == k).map(|(_, v)| v.as_str()).filter(|s| !s.is_empty())
    }

    /// A required parameter.
    pub fn require(&self, k: &'static str) -> Result<&str, GraphError> {
        self.get(k).ok_or_else(|| CoreError::MissingParameter(k).into())
    }

    /// A boolean parameter; absent is false.
    pub fn flag(&self, k: &'static str) -> Result<bool, GraphError> {
        match self.get(k) {
            None => Ok(false),
            Some(v) => Ok(wire::parse_bool(k, v)?),
        }
    }

    /// A boolean parameter with a default for when it is absent.
    pub fn flag_or(&self, k: &'static str, default: bool) -> Result<bool, GraphError> {
        match self.get(k) {
            None => Ok(default),
            Some(v) => Ok(wire::parse_bool(k, v)?),
        }
    }

    /// A required id-typed parameter.
    pub fn id<T: std::str::FromStr>(&self, k: &'static str) -> Result<T, GraphError> {
        self.require(k)?.parse().map_err(|_| GraphError::param(format!("Param {k} must be a valid ID")))
    }

    /// Every parameter (order unspecified).
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.map.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }

    /// The `Authorization: Bearer` / `OAuth` token, if one was sent.
    pub fn bearer(&self) -> Option<&str> {
        self.bearer.as_deref()
    }

    /// The caller's token: `access_token` parameter, else `Authorization: Bearer` / `OAuth`.
    pub fn caller_token(&self) -> Option<&str> {
        self.get("access_token").or(self.bearer.as_deref())
    }

    /// The OAuth client's `client_id` and `client_secret`, each from its parameter if present, else from
    /// `Authorization: Basic` (RFC 6749 2.3.1). The RFC forbids a client to use both methods at once, but clients
    /// can be told to (requests-oauthlib's `include_client_id=True` puts `client_id` in the body beside its Basic
    /// header): suat reads them leniently, a parameter winning over the header part by part. Mixing cannot widen
    /// access: the secret is always checked against the id.
    pub fn client_credential(&self, k: &'static str) -> Result<Option<&str>, GraphError> {
        if let Some(v) = self.get(k) {
            return Ok(Some(v));
        }
        let from_header = match (k, &self.basic) {
            (_, None) => None,
            (_, Some(Err(e))) => return Err(e.clone()),
            ("client_id", Some(Ok((id, _)))) => Some(id.as_str()),
            ("client_secret", Some(Ok((_, secret)))) => Some(secret.as_str()),
            _ => None,
        };
        Ok(from_header.filter(|v| !v.is_empty()))
    }
}

/// `Authorization: Basic base64(urlencode(id) ":" urlencode(secret))`: the parts are form-urlencoded before base64
/// (RFC 6749 2.3.1), so they are decoded after. A Basic header that does not decode is a parameter error, not an
/// anonymous request. Other schemes are not client credentials.
fn basic(headers: &HeaderMap) -> Option<Result<(String, String), GraphError>> {
    use base64::Engine;
    let (scheme, rest) = headers.get(header::AUTHORIZATION)?.to_str().ok()?.trim().split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let bad =
        || GraphError::param("Malformed Authorization: Basic header (expected base64 of client_id:client_secret)");
    let pair = || {
        let raw = base64::engine::general_purpose::STANDARD.decode(rest.trim()).map_err(|_| bad())?;
        let colon = raw.iter().position(|b| *b == b':').ok_or_else(bad)?;
        let (id, secret) = (decode(&raw[..colon])?, decode(&raw[colon + 1..])?);
        if id.len() > 256 || secret.len() > 256 {
            return Err(bad());
        }
        Ok((id, secret))
    };
    Some(pair())
}

fn bearer(headers: &HeaderMap) -> Option<String> {
    let v = headers.get(header::AUTHORIZATION)?.to_str().ok()?.trim();
    let (scheme, rest) = v.split_once(' ')?;
    if scheme.eq_ignore_ascii_case("bearer") || scheme.eq_ignore_ascii_case("oauth") {
        let t = rest.trim();
        (!t.is_empty()).then(|| t.to_owned())
    } else {
        None
    }
}

/// application/x-www-form-urlencoded decoding that refuses invalid UTF-8 instead of replacing it.
fn decode(raw: &[u8]) -> Result<String, GraphError> {
    // Fast path: tokens, ids and proofs usually need no unescaping at all.
    // memchr2 scans a word at a time; a byte loop over a 200-byte token was a visible share of a cached read.
    if memchr::memchr2(b'%', b'+', raw).is_none() {
        return std::str::from_utf8(raw)
            .map(str::to_owned)
            .map_err(|_| GraphError::param("Parameters must be valid UTF-8"));
    }
    let plus: Vec<u8> = raw.iter().map(|b| if *b == b'+' { b' ' } else { *b }).collect();
    let bytes: Vec<u8> = percent_encoding::percent_decode(&plus).collect();
    String::from_utf8(bytes).map_err(|_| GraphError::param("Parameters must be valid UTF-8"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn hdr(ct: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(header::CONTENT_TYPE, HeaderValue::from_str(ct).unwrap());
        h
    }

    #[test]
    fn merges_query_and_body_body_wins() {
        let p =
            Params::parse(Some("a=1&b=x%20y"), &hdr("application/x-www-form-urlencoded"), &Bytes::from("a=2&c=z+w"))
                .unwrap();
        assert_eq!(p.get("a"), Some("2"));
        assert_eq!(p.get("b"), Some("x y"));
        assert_eq!(p.get("c"), Some("z w"));
    }

    #[test]
    fn json_bodies_lists_and_numbers() {
        let p = Params::parse(
            None,
            &hdr("application/json"),
            &Bytes::from(r#"{"scope":["a","b"],"business_app":123,"x":null}"#),
        )
        .unwrap();
        assert_eq!(p.get("scope"), Some(r#"["a","b"]"#));
        assert_eq!(p.get("business_app"), Some("123"));
        assert_eq!(p.get("x"), None);
        assert!(Params::parse(None, &hdr("application/json"), &Bytes::from("[1]")).is_err());
        assert!(Params::parse(None, &hdr("application/json"), &Bytes::from("{")).is_err());
    }

    #[test]
    fn multipart_like_curl_dash_f() {
        let body = "--XX\r\nContent-Disposition: form-data; name=\"business_app\"\r\n\r\n42\r\n--XX\r\nContent-Disposition: form-data; name=\"access_token\"\r\n\r\nEAAx\r\n--XX--\r\n";
        let p = Params::parse(None, &hdr("multipart/form-data; boundary=XX"), &Bytes::from(body)).unwrap();
        assert_eq!(p.get("business_app"), Some("42"));
        assert_eq!(p.caller_token(), Some("EAAx"));
        assert!(Params::parse(None, &hdr("multipart/form-data; boundary=XX"), &Bytes::from("--XX\r\ngarbage")).is_err());
    }

    #[test]
    fn refuses_invalid_utf8_oversize_and_nul() {
        assert!(Params::parse(Some("a=%FF"), &HeaderMap::new(), &Bytes::new()).is_err());
        let big = format!("a={}", "x".repeat(MAX_PARAM + 1));
        assert!(Params::parse(Some(&big), &HeaderMap::new(), &Bytes::new()).is_err());
        assert!(Params::parse(Some("a=%00"), &HeaderMap::new(), &Bytes::new()).is_err());
    }

    #[test]
    fn bearer_header() {
        let mut h = HeaderMap::new();
        h.insert(header::AUTHORIZATION, HeaderValue::from_static("Bearer EAAtok"));
        let p = Params::parse(None, &h, &Bytes::new()).unwrap();
        assert_eq!(p.caller_token(), Some("EAAtok"));
        let p = Params::parse(Some("access_token=EAAq"), &h, &Bytes::new()).unwrap();
        assert_eq!(p.caller_token(), Some("EAAq"));
    }

    fn basic_header(v: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(header::AUTHORIZATION, HeaderValue::from_str(v).unwrap());
        h
    }

    #[test]
    fn basic_client_credentials_are_decoded_and_never_a_caller_token() {
        use base64::Engine;
        let b64 = |s: &str| base64::engine::general_purpose::STANDARD.encode(s);
        // The parts are form-urlencoded before base64 (RFC 6749 2.3.1): `a+b%3Ac` is `a b:c`.
        let h = basic_header(&format!("Basic {}", b64("2001:a+b%3Ac%25")));
        let p = Params::parse(None, &h, &Bytes::new()).unwrap();
        let cred = |p: &Params, k| p.client_credential(k).unwrap().map(str::to_owned);
        assert_eq!(cred(&p, "client_id").as_deref(), Some("2001"));
        assert_eq!(cred(&p, "client_secret").as_deref(), Some("a b:c%"));
        assert_eq!(p.caller_token(), None, "Basic credentials are not an access token");
        // Parameters win, part by part.
        let p = Params::parse(Some("client_id=9&client_secret=s"), &h, &Bytes::new()).unwrap();
        assert_eq!((cred(&p, "client_id").as_deref(), cred(&p, "client_secret").as_deref()), (Some("9"), Some("s")));
        let p = Params::parse(Some("client_id=2001"), &h, &Bytes::new()).unwrap();
        assert_eq!(cred(&p, "client_secret").as_deref(), Some("a b:c%"));
        // Without Basic, only parameters; a Bearer header gives no client credentials.
        let p = Params::parse(None, &basic_header("Bearer EAAx"), &Bytes::new()).unwrap();
        assert_eq!(cred(&p, "client_id"), None);
        assert_eq!(p.caller_token(), Some("EAAx"));
        // Malformed Basic headers are refused where client credentials are read, and only there.
        for bad in ["Basic !!!", &format!("Basic {}", b64("no-colon")), &format!("Basic {}", b64("a:%FF"))] {
            let p = Params::parse(Some("access_token=EAAq"), &basic_header(bad), &Bytes::new()).unwrap();
            assert!(p.client_credential("client_id").is_err(), "{bad}");
            assert_eq!(p.caller_token(), Some("EAAq"));
        }
    }
}

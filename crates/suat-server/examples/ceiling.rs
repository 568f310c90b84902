//! The ceiling of this box for the benchmark: a bare axum handler answering 200 to every request, on the same
//! runtime and allocator as `suat serve` but served by `axum::serve` (suat's own listener adds connection limits;
//! an A/B at 1d528e3 found it was not what separates the two), so each suat figure can be reported as a ratio of it.
//!
//! With `CEILING_ANSWER=file` (an answer as `curl -si` prints it) it answers those headers and that body instead of
//! `ok`: the cost of serving the bytes of a Graph answer with no work behind them, for `LADDER=1 bash bench/run.sh`.

/// Same allocator as `suat serve`, so the ratio compares the handlers.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

use axum::http::{HeaderMap, HeaderName, HeaderValue};

#[tokio::main]
async fn main() {
    let addr = std::env::args().nth(1).unwrap_or_else(|| "127.0.0.1:8788".into());
    let app = match std::env::var_os("CEILING_ANSWER") {
        Some(path) => {
            let (headers, body) = recorded(&std::fs::read(path).expect("CEILING_ANSWER"));
            axum::Router::new().fallback(move || {
                let (headers, body) = (headers.clone(), body.clone());
                async move { (headers, body) }
            })
        }
        None => axum::Router::new().fallback(|| async { "ok" }),
    };
    let listener = tokio::net::TcpListener::bind(&addr).await.expect("bind");
    eprintln!("ceiling listening on http://{addr}");
    axum::serve(listener, app).await.expect("serve");
}

/// The headers and body of a recorded answer; `content-length` and `date` are left to hyper, as in suat.
fn recorded(raw: &[u8]) -> (HeaderMap, bytes::Bytes) {
    let split = raw.windows(4).position(|w| w == b"\r\n\r\n").expect("a recorded head");
    let head = std::str::from_utf8(&raw[..split]).expect("a text head");
    let mut headers = HeaderMap::new();
    for line in head.lines().skip(1) {
        let (name, value) = line.split_once(':').expect("name: value");
        let name = HeaderName::from_bytes(name.trim().as_bytes()).expect("a header name");
        if name != "content-length" && name != "date" {
            headers.append(name, HeaderValue::from_str(value.trim()).expect("a header value"));
        }
    }
    (headers, bytes::Bytes::copy_from_slice(&raw[split + 4..]))
}

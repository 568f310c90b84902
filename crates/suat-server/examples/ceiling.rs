//! The ceiling of this box for the benchmark: a bare axum handler answering 200 to every request, on the same
//! runtime and allocator as `suat serve` but served by `axum::serve` (suat's own listener adds connection limits;
//! an A/B at 1d528e3 found it was not what separates the two), so each suat figure can be reported as a ratio of it.

/// Same allocator as `suat serve`, so the ratio compares the handlers.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() {
    let addr = std::env::args().nth(1).unwrap_or_else(|| "127.0.0.1:8788".into());
    let app = axum::Router::new().fallback(|| async { "ok" });
    let listener = tokio::net::TcpListener::bind(&addr).await.expect("bind");
    eprintln!("ceiling listening on http://{addr}");
    axum::serve(listener, app).await.expect("serve");
}

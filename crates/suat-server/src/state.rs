//! Shared server state: the use cases (which hold the store, the keys and the clock), the control-plane key and the
//! API version reported when a path names none.

use std::sync::Arc;
use suat_service::Service;

#[derive(Clone)]
pub struct AppState(pub Arc<Inner>);

pub struct Inner {
    pub svc: Service,
    pub admin_key: String,
    pub api_version: String,
    /// `facebook-api-version` for requests without a version in the path, built once.
    pub api_version_header: axum::http::HeaderValue,
    /// `http(s)://host[:port]` clients reach this server at, no trailing slash: paging URLs are built from it,
    /// never from a request's Host header (which a client controls).
    pub public_url: String,
    /// Answers with a 5xx status since start: a Graph emulator must not fault on any input, so tests assert this
    /// stays 0 (and operators can watch it).
    pub server_errors: std::sync::atomic::AtomicU64,
    /// The control plane's fault rules.
    pub faults: crate::faults::Faults,
    /// The latest Graph requests, for `/_suat/requests`.
    pub journal: crate::journal::Journal,
    /// What the listener counted: connections accepted, evicted, refused, timed out, and answers it wrote itself.
    pub connections: std::sync::Arc<suat_listener::Counters>,
}

impl std::ops::Deref for AppState {
    type Target = Inner;
    fn deref(&self) -> &Inner {
        &self.0
    }
}

impl Inner {
    /// The server's notion of now (unix seconds): wall clock plus the control-plane offset.
    pub fn now(&self) -> i64 {
        self.svc.now()
    }
}

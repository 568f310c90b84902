//! Prometheus metrics (issue 10), through the `metrics` facade so any crate can count with one macro (the service
//! counts tokens where it writes them; the rate limiter calls [`rate_limited`]). The recorder is process-wide:
//! servers in one process (tests) share it, as the facade intends.
//!
//! `GET /metrics` is not behind the control-plane key: its labels are route templates, methods, statuses and
//! Graph codes (never an id, token or app), and scrapers expect an open endpoint. Put it behind your proxy if the
//! request volume itself is sensitive.

use axum::http::{header, HeaderValue, Method};
use axum::response::{IntoResponse, Response};
use metrics::{counter, histogram};
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use std::{collections::HashMap, sync::OnceLock, time::Duration};

pub const REQUESTS: &str = "suat_requests_total";
pub const DURATION: &str = "suat_request_duration_seconds";
pub const RATE_LIMITED: &str = "suat_rate_limited_total";
pub const FAULT_HITS: &str = "suat_fault_hits_total";
/// Counted by `suat_service` where it writes the token (see `Service::write`).
pub const TOKENS_ISSUED: &str = "suat_tokens_issued_total";
pub const TOKENS_REFRESHED: &str = "suat_tokens_refreshed_total";
pub const TOKENS_REVOKED: &str = "suat_tokens_revoked_total";

/// Buckets of the write groups' sizes: powers of two up to the writer's limit of 256.
const GROUP_SIZES: [f64; 9] = [1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0, 128.0, 256.0];

static HANDLE: OnceLock<Option<PrometheusHandle>> = OnceLock::new();

/// Installs the Prometheus recorder once per process; None if another recorder was installed first.
pub fn install() -> Option<PrometheusHandle> {
    HANDLE
        .get_or_init(|| {
            let buckets = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0];
            let recorder = PrometheusBuilder::new()
                .set_buckets_for_metric(Matcher::Full(DURATION.into()), &buckets)
                .ok()?
                .set_buckets_for_metric(Matcher::Full(suat_store::WRITE_GROUP_SECONDS.into()), &buckets)
                .ok()?
                .set_buckets_for_metric(Matcher::Full(suat_store::WRITE_GROUP_PHASE_SECONDS.into()), &buckets)
                .ok()?
                .set_buckets_for_metric(Matcher::Full(suat_store::WRITE_GROUP_SIZE.into()), &GROUP_SIZES)
                .ok()?
                .build_recorder();
            let handle = recorder.handle();
            metrics::set_global_recorder(recorder).ok()?;
            describe();
            // Histogram samples wait in the recorder until drained: drain them even if nobody scrapes.
            let h = handle.clone();
            std::thread::Builder::new()
                .name("suat-metrics-upkeep".into())
                .spawn(move || loop {
                    std::thread::sleep(Duration::from_secs(5));
                    h.run_upkeep();
                })
                .ok()?;
            Some(handle)
        })
        .clone()
}

fn describe() {
    use metrics::{describe_counter, describe_histogram, Unit};
    describe_counter!(REQUESTS, "Graph requests answered, by method, endpoint (route template), status and Graph code");
    describe_histogram!(DURATION, Unit::Seconds, "Time to answer a Graph request, by endpoint");
    describe_counter!(RATE_LIMITED, "Graph calls refused by a rate limit, by Graph code");
    describe_counter!(FAULT_HITS, "Graph calls a fault rule answered, delayed or dropped, by effect");
    describe_counter!(TOKENS_ISSUED, "Tokens issued (system-user, user, page and app tokens)");
    describe_counter!(TOKENS_REFRESHED, "Tokens refreshed (fb_exchange_token)");
    describe_counter!(TOKENS_REVOKED, "Token revocations (one token, or all of a system user's for an app)");
    describe_histogram!(suat_store::WRITE_GROUP_SIZE, "Writes the store's group-commit writer took together");
    describe_histogram!(suat_store::WRITE_GROUP_SECONDS, Unit::Seconds, "Time to run and commit one group of writes");
    describe_histogram!(
        suat_store::WRITE_GROUP_PHASE_SECONDS,
        Unit::Seconds,
        "Time of each phase (begin, writes, audit, commit) of a group of writes that committed"
    );
    // Present from the first scrape, so a dashboard can tell 0 from "not exported".
    for c in [RATE_LIMITED, FAULT_HITS, TOKENS_ISSUED, TOKENS_REFRESHED, TOKENS_REVOKED] {
        counter!(c).increment(0);
    }
}

/// The hook for rate limiting: call once per refused call, with the Graph code answered (4, 17, 32, 613, 80000...).
pub fn rate_limited(code: u32) {
    counter!(RATE_LIMITED, "code" => code.to_string()).increment(1);
}

pub(crate) fn fault_hit(effect: &'static str) {
    counter!(FAULT_HITS, "effect" => effect).increment(1);
}

/// The per-thread handle maps' hasher: their keys are the server's own label strings, so SipHash's flooding
/// resistance buys nothing there, and it was most of the cost of counting a request.
type Fold = foldhash::fast::RandomState;

/// Method, endpoint, status and Graph code of a request counted.
type Labels = (&'static str, &'static str, u16, u32);

/// One answered Graph request.
pub(crate) fn request(method: &Method, path: &str, status: u16, code: Option<u32>, latency: Duration) {
    let endpoint = endpoint(path);
    // Static strings for the common labels: no allocation on the hot path.
    let method: &'static str = match *method {
        Method::GET => "GET",
        Method::POST => "POST",
        Method::DELETE => "DELETE",
        _ => "OTHER",
    };
    // The registry hashes every label on each lookup; the handles for a label set are kept per thread (the label
    // sets are few: route templates, statuses and Graph codes), so a request costs two hash-map probes.
    thread_local! {
        static COUNTERS: std::cell::RefCell<HashMap<Labels, metrics::Counter, Fold>> = Default::default();
        static HISTOGRAMS: std::cell::RefCell<HashMap<&'static str, metrics::Histogram, Fold>> = Default::default();
    }
    let code = code.unwrap_or(0);
    COUNTERS.with(|c| {
        c.borrow_mut()
            .entry((method, endpoint, status, code))
            .or_insert_with(|| {
                let (status, code) = (status.to_string(), code.to_string());
                counter!(REQUESTS, "method" => method, "endpoint" => endpoint, "status" => status, "code" => code)
            })
            .increment(1)
    });
    HISTOGRAMS.with(|h| {
        h.borrow_mut()
            .entry(endpoint)
            .or_insert_with(|| histogram!(DURATION, "endpoint" => endpoint))
            .record(latency.as_secs_f64())
    });
}

/// The route template of a path, so labels stay few whatever clients send: ids become `{id}`, unknown edges
/// `{edge}`, and anything deeper `{more}`.
pub fn endpoint(path: &str) -> &'static str {
    // At most four segments are looked at (a fourth is `{more}`), without collecting them.
    let mut s = [""; 4];
    let mut n = 0;
    for seg in path.split('/').filter(|s| !s.is_empty()) {
        s[n] = seg;
        n += 1;
        if n == 4 {
            break;
        }
    }
    match &s[..n] {
        [] => "/",
        ["me"] => "/me",
        ["me", "permissions"] => "/me/permissions",
        ["me", "permissions", _] => "/me/permissions/{permission}",
        ["me", _] => "/me/{edge}",
        ["debug_token"] => "/debug_token",
        ["oauth", "access_token"] => "/oauth/access_token",
        ["oauth", "revoke"] => "/oauth/revoke",
        ["dialog", "oauth"] => "/dialog/oauth",
        ["dialog", "oauth", "confirm"] => "/dialog/oauth/confirm",
        [_] => "/{id}",
        [_, "access_tokens"] => "/{id}/access_tokens",
        [_, "applications"] => "/{id}/applications",
        [_, "assigned_users"] => "/{id}/assigned_users",
        [_, "system_users"] => "/{id}/system_users",
        [_, "client_apps"] => "/{id}/client_apps",
        [_, _] => "/{id}/{edge}",
        _ => "/{more}",
    }
}

/// `GET /metrics`: the Prometheus text format: the recorder's series, then this server's listener counters (kept
/// per server, not in the process-wide recorder, so two servers in one test process each report their own).
pub async fn render(axum::extract::State(state): axum::extract::State<crate::state::AppState>) -> Response {
    let Some(handle) = install() else {
        return (axum::http::StatusCode::NOT_FOUND, "metrics recorder not installed").into_response();
    };
    let mut text = handle.render();
    text.push_str(&listener_series(&state.connections));
    let mut r = text.into_response();
    r.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("text/plain; version=0.0.4"));
    r
}

/// The listener's counters as one Prometheus counter family, by outcome.
fn listener_series(c: &suat_listener::Counters) -> String {
    use std::sync::atomic::Ordering::Relaxed;
    let mut out = String::from(
        "# HELP suat_connections_total Connections accepted, and those closed or refused by the listener's limits\n\
         # TYPE suat_connections_total counter\n",
    );
    for (outcome, n) in [
        ("accepted", &c.accepted),
        ("evicted", &c.evicted),
        ("refused", &c.refused),
        ("timed_out", &c.timed_out),
        ("rewritten", &c.rewritten),
    ] {
        out.push_str(&format!("suat_connections_total{{outcome=\"{outcome}\"}} {}\n", n.load(Relaxed)));
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn listener_counters_are_one_family_by_outcome() {
        let c = suat_listener::Counters::default();
        c.evicted.fetch_add(3, std::sync::atomic::Ordering::Relaxed);
        let text = super::listener_series(&c);
        assert!(text.contains("# TYPE suat_connections_total counter\n"), "{text}");
        assert!(text.contains("suat_connections_total{outcome=\"evicted\"} 3\n"), "{text}");
        assert_eq!(text.lines().filter(|l| l.starts_with("suat_connections_total{")).count(), 5);
    }

    #[test]
    fn endpoints_are_templates() {
        assert_eq!(super::endpoint("/4001/access_tokens"), "/{id}/access_tokens");
        assert_eq!(super::endpoint("/EAAsomething"), "/{id}");
        assert_eq!(super::endpoint("/me/accounts"), "/me/{edge}");
        assert_eq!(super::endpoint("/a/b/c/d"), "/{more}");
        assert_eq!(super::endpoint("/"), "/");
    }
}

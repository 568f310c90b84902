//! Prometheus exposition for `suat watch`: a tiny text endpoint (`GET /metrics`) rather than a metrics framework,
//! since there are three gauges. Seconds to expiry are computed at scrape time from the stored expiry, so the value
//! is live between passes.

use crate::{store::Profile, watch::Clock};
use axum::{http::header, response::IntoResponse, routing::get, Router};
use std::{
    collections::BTreeMap,
    fmt::Write,
    sync::{Arc, Mutex},
};

#[derive(Debug, Clone, Default)]
struct ProfileGauge {
    expires_at: Option<i64>,
    last_rotated_at: Option<i64>,
    consecutive_failures: u32,
}

#[derive(Debug, Default)]
struct State {
    profiles: BTreeMap<String, ProfileGauge>,
    last_pass: Option<i64>,
}

/// The watcher's gauges, shared with the HTTP endpoint.
#[derive(Debug, Clone, Default)]
pub struct Gauges(Arc<Mutex<State>>);

impl Gauges {
    /// Replaces the per-profile values with the store's (restricted to `only` when not empty) after a pass at `now`.
    pub fn update(&self, profiles: &[Profile], only: &[String], now: i64) {
        let mut s = self.0.lock().unwrap_or_else(|e| e.into_inner());
        s.profiles = profiles
            .iter()
            .filter(|p| only.is_empty() || only.contains(&p.name))
            .map(|p| {
                (
                    p.name.clone(),
                    ProfileGauge {
                        expires_at: p.expires_at,
                        last_rotated_at: p.watch.last_rotated_at,
                        consecutive_failures: p.watch.consecutive_failures,
                    },
                )
            })
            .collect();
        s.last_pass = Some(now);
    }

    /// The Prometheus text format (version 0.0.4) at `now`.
    pub fn render(&self, now: i64) -> String {
        let s = self.0.lock().unwrap_or_else(|e| e.into_inner());
        let mut out = String::new();
        let _ = writeln!(
            out,
            "# HELP suat_token_seconds_to_expiry Seconds until the stored token of a profile expires (+Inf: never; negative: expired).\n\
             # TYPE suat_token_seconds_to_expiry gauge"
        );
        for (name, g) in &s.profiles {
            let v = match g.expires_at {
                Some(e) => (e - now).to_string(),
                None => "+Inf".to_owned(),
            };
            let _ = writeln!(out, "suat_token_seconds_to_expiry{{profile=\"{}\"}} {v}", escape(name));
        }
        let _ = writeln!(
            out,
            "# HELP suat_token_rotation_consecutive_failures Failed rotations of a profile since its last success.\n\
             # TYPE suat_token_rotation_consecutive_failures gauge"
        );
        for (name, g) in &s.profiles {
            let _ = writeln!(
                out,
                "suat_token_rotation_consecutive_failures{{profile=\"{}\"}} {}",
                escape(name),
                g.consecutive_failures
            );
        }
        let _ = writeln!(
            out,
            "# HELP suat_token_last_rotation_timestamp_seconds When a profile was last rotated successfully.\n\
             # TYPE suat_token_last_rotation_timestamp_seconds gauge"
        );
        for (name, g) in &s.profiles {
            if let Some(t) = g.last_rotated_at {
                let _ = writeln!(out, "suat_token_last_rotation_timestamp_seconds{{profile=\"{}\"}} {t}", escape(name));
            }
        }
        if let Some(t) = s.last_pass {
            let _ = writeln!(
                out,
                "# HELP suat_watch_last_pass_timestamp_seconds When the watcher last checked the store.\n\
                 # TYPE suat_watch_last_pass_timestamp_seconds gauge\n\
                 suat_watch_last_pass_timestamp_seconds {t}"
            );
        }
        out
    }
}

/// Label values escape backslash, double quote and newline.
fn escape(v: &str) -> String {
    v.replace('\\', "\\\\").replace('"', "\\\"").replace('\n', "\\n")
}

/// Serves `GET /metrics` on `listener` until the task is dropped, under the same connection limits and timeouts as
/// `suat serve` (at most 256 connections: a scraper needs one).
pub async fn serve_metrics(listener: tokio::net::TcpListener, gauges: Gauges, clock: Clock) -> std::io::Result<()> {
    let app = Router::new().route(
        "/metrics",
        get(move || {
            let body = gauges.render(clock.now());
            async move { ([(header::CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")], body).into_response() }
        }),
    );
    let answers: suat_listener::Answers = std::sync::Arc::new(|status| {
        let mut r = axum::http::Response::new(format!("{status}\n").into_bytes());
        *r.status_mut() = status;
        r.headers_mut().insert(header::CONTENT_TYPE, axum::http::HeaderValue::from_static("text/plain; charset=utf-8"));
        r
    });
    let limits = suat_listener::Limits { max_connections: 256, ..suat_listener::Limits::defaults() };
    suat_listener::serve(listener, app, limits, answers, Default::default(), std::future::pending()).await
}

#[cfg(test)]
mod tests {
    use super::*;
    use suat_core::{AccessToken, AppId};

    #[test]
    fn renders_seconds_to_expiry_per_profile() {
        let mut a = Profile::new("prod", AppId(1), AccessToken::from_presented("EAAa"));
        a.expires_at = Some(1_000);
        a.watch.last_rotated_at = Some(400);
        let b = Profile::new("forever", AppId(1), AccessToken::from_presented("EAAb"));
        let mut c = Profile::new("other", AppId(1), AccessToken::from_presented("EAAc"));
        c.watch.consecutive_failures = 2;
        let g = Gauges::default();
        g.update(&[a, b, c], &[], 500);
        let text = g.render(600);
        assert!(text.contains("suat_token_seconds_to_expiry{profile=\"prod\"} 400\n"), "{text}");
        assert!(text.contains("suat_token_seconds_to_expiry{profile=\"forever\"} +Inf\n"), "{text}");
        assert!(text.contains("suat_token_rotation_consecutive_failures{profile=\"other\"} 2\n"), "{text}");
        assert!(text.contains("suat_token_last_rotation_timestamp_seconds{profile=\"prod\"} 400\n"), "{text}");
        assert!(text.contains("suat_watch_last_pass_timestamp_seconds 500\n"), "{text}");
        assert!(!text.contains("EAA"));
        g.update(&[Profile::new("x", AppId(1), AccessToken::from_presented("t"))], &["y".into()], 1);
        assert!(!g.render(1).contains("profile=\"x\""));
    }

    #[test]
    fn escapes_label_values() {
        assert_eq!(escape("a\"b\\c\nd"), "a\\\"b\\\\c\\nd");
    }
}

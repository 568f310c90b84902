//! `suat watch`: rotates stored expiring tokens before they expire, warns as an expiry nears, and serves Prometheus
//! gauges. `--once` does a single pass (for cron and tests) and exits non-zero if a profile needs a person.

use super::{
    args::{parse_duration, parse_fraction, GraphArgs, StoreArgs},
    output::{finish, JsonOut},
    progress::WatchDisplay,
};
use clap::Args;
use serde_json::json;
use std::{net::SocketAddr, process::ExitCode, time::Duration};
use suat_client::{
    metrics::{serve_metrics, Gauges},
    ClientError, Clock, WatchConfig, Watcher,
};

#[derive(Args, Debug)]
pub struct WatchArgs {
    /// Rotate once this fraction of a token's lifetime has passed (0.5 or 50%).
    #[arg(long, default_value = "0.5", value_parser = parse_fraction)]
    refresh_at: f64,
    /// Time between passes (90, 30s, 15m, 2h, 1d).
    #[arg(long, default_value = "1h", value_parser = parse_duration)]
    interval: i64,
    /// Warn loudly when a token has less than this left (7d).
    #[arg(long, default_value = "7d", value_parser = parse_duration)]
    warn_before: i64,
    /// Serve Prometheus metrics at http://ADDR/metrics.
    #[arg(long, value_name = "ADDR")]
    metrics_listen: Option<SocketAddr>,
    /// One pass, then exit (non-zero if a profile failed to rotate or has expired).
    #[arg(long)]
    once: bool,
    /// Watch only these profiles (repeatable).
    #[arg(long, value_name = "PROFILE")]
    only: Vec<String>,
    /// Decide as if the time were this unix instant, instead of by the server's clock (the `Date` of its answers).
    #[arg(long, hide = true)]
    now: Option<i64>,
    #[command(flatten)]
    graph: GraphArgs,
    #[command(flatten)]
    store: StoreArgs,
    #[command(flatten)]
    json: JsonOut,
}

/// One profile's outcome for `--json`.
fn outcome_json(o: &suat_client::watch::ProfileOutcome) -> serde_json::Value {
    use suat_client::watch::Action;
    let (action, refresh_at, error, hint) = match &o.action {
        Action::NeverExpires => ("never_expires", None, None, None),
        Action::NotDue { refresh_at } => ("not_due", Some(*refresh_at), None, None),
        Action::Rotated => ("rotated", None, None, None),
        Action::Failed { error, hint } => ("failed", None, Some(error.clone()), *hint),
        Action::Expired => ("expired", None, None, None),
    };
    json!({"profile": o.profile, "action": action, "refresh_at": refresh_at, "expires_at": o.expires_at,
        "error": error, "hint": hint, "warning": o.warning})
}

async fn shutdown() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = term.recv() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

impl WatchArgs {
    pub async fn run(self) -> ExitCode {
        finish(self.go().await)
    }

    async fn go(self) -> Result<(), ClientError> {
        if self.json.json && !self.once {
            return Err(ClientError::Invalid("--json prints one pass's outcome: use it with --once".into()));
        }
        let client = self.graph.client()?;
        let watcher = Watcher {
            clock: self.now.map(Clock::starting_at).unwrap_or_else(|| Clock::following(&client)),
            client,
            store: self.store.open()?,
            config: WatchConfig {
                fraction: self.refresh_at,
                warn_before: self.warn_before,
                profiles: self.only.clone(),
            },
            interval: Duration::from_secs(self.interval.max(1) as u64),
            gauges: Gauges::default(),
        };
        if let Some(addr) = self.metrics_listen {
            let listener = tokio::net::TcpListener::bind(addr)
                .await
                .map_err(|e| ClientError::Invalid(format!("cannot listen on {addr} for metrics: {e}")))?;
            let local = listener.local_addr().map(|a| a.to_string()).unwrap_or_else(|_| addr.to_string());
            eprintln!("metrics at http://{local}/metrics");
            let (gauges, clock) = (watcher.gauges.clone(), watcher.clock.clone());
            tokio::spawn(async move {
                if let Err(e) = serve_metrics(listener, gauges, clock).await {
                    eprintln!("error: metrics endpoint stopped: {e}");
                }
            });
        }
        let display = WatchDisplay::new(self.once);
        if self.once {
            let outcomes = watcher.pass(&display).await?;
            let bad = outcomes.iter().filter(|o| o.is_failure()).count();
            let rotated = outcomes.iter().filter(|o| o.action == suat_client::watch::Action::Rotated).count();
            self.json.print(&json!(outcomes.iter().map(outcome_json).collect::<Vec<_>>()));
            eprintln!("checked {} profile(s): {rotated} rotated, {bad} need attention", outcomes.len());
            if bad > 0 {
                return Err(ClientError::Invalid(format!("{bad} profile(s) failed to rotate or have expired")));
            }
            return Ok(());
        }
        eprintln!(
            "watching {} every {}s (rotating at {:.0}% of each token's lifetime); Ctrl-C to stop",
            watcher.store.path().display(),
            self.interval,
            self.refresh_at * 100.0
        );
        watcher.run(&display, shutdown()).await;
        Ok(())
    }
}

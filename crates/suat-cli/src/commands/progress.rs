//! Progress display for bulk operations (a bulk revoke, a watch pass over many profiles). indicatif draws on stderr
//! only when it is a terminal, so scripts and CI logs get the plain per-item lines and no escape codes.

use super::output::expiry;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::sync::Mutex;
use suat_client::watch::{Action, ProfileOutcome, WatchObserver};
use suat_core::time::graph_date;

/// A bar of `len` steps on stderr.
pub fn bar(len: u64, what: &str) -> ProgressBar {
    let pb = ProgressBar::with_draw_target(Some(len), ProgressDrawTarget::stderr());
    let style = ProgressStyle::with_template("{spinner} {prefix} [{bar:30}] {pos}/{len} {msg}")
        .unwrap_or_else(|_| ProgressStyle::default_bar())
        .progress_chars("=> ");
    pb.set_style(style);
    pb.set_prefix(what.to_owned());
    pb
}

/// Prints a line without tearing the bar.
pub fn line(pb: &ProgressBar, s: &str) {
    pb.suspend(|| eprintln!("{s}"));
}

/// Shows a watch pass: a bar across profiles, one line per profile that did something (every profile when
/// `verbose`), and warnings in capitals.
pub struct WatchDisplay {
    verbose: bool,
    bar: Mutex<Option<ProgressBar>>,
}

impl WatchDisplay {
    pub fn new(verbose: bool) -> WatchDisplay {
        WatchDisplay { verbose, bar: Mutex::new(None) }
    }

    fn print(&self, s: &str) {
        match self.bar.lock().unwrap_or_else(|e| e.into_inner()).as_ref() {
            Some(pb) => line(pb, s),
            None => eprintln!("{s}"),
        }
    }
}

impl WatchObserver for WatchDisplay {
    fn pass_started(&self, profiles: usize) {
        *self.bar.lock().unwrap_or_else(|e| e.into_inner()) = Some(bar(profiles as u64, "checking"));
    }

    fn profile_done(&self, o: &ProfileOutcome) {
        let name = &o.profile;
        let text = match &o.action {
            Action::NeverExpires => self.verbose.then(|| format!("{name}: never expires; nothing to do")),
            Action::NotDue { refresh_at } => self.verbose.then(|| {
                format!("{name}: not due; rotation at {}, expires {}", graph_date(*refresh_at), expiry(o.expires_at))
            }),
            Action::Rotated => Some(format!("{name}: rotated; new token expires {}", expiry(o.expires_at))),
            Action::Failed { error, hint } => Some(match hint {
                Some(h) => format!("{name}: ROTATION FAILED: {error}\n  what to do: {h}"),
                None => format!("{name}: ROTATION FAILED: {error}"),
            }),
            Action::Expired => Some(format!("{name}: EXPIRED")),
        };
        if let Some(t) = text {
            self.print(&t);
        }
        if let Some(w) = &o.warning {
            self.print(&format!("WARNING: {w}"));
        }
        if let Some(pb) = self.bar.lock().unwrap_or_else(|e| e.into_inner()).as_ref() {
            pb.set_message(name.clone());
            pb.inc(1);
        }
    }

    fn pass_finished(&self) {
        if let Some(pb) = self.bar.lock().unwrap_or_else(|e| e.into_inner()).take() {
            pb.finish_and_clear();
        }
    }
}

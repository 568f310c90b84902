//! `suat watch`: keeps every stored expiring token alive by rotating it once a set fraction of its lifetime has
//! passed (half, by default, so a failure leaves a month to notice), and warns loudly as an expiry nears.
//!
//! The decision is a pure function ([`due`]); a pass applies it to every profile; the loop repeats passes. All state
//! (issue and expiry times, last rotation, failures) lives in the token store, so a restarted watcher carries on.

use crate::{
    client::{GraphClient, ServerClock},
    error::ClientError,
    metrics::Gauges,
    rotate::rotate_profile,
    store::{Profile, TokenStore},
};
use std::{future::Future, sync::Arc, time::Duration};
use suat_core::time::SIXTY_DAYS;

/// Rotate once half of the lifetime has passed.
pub const DEFAULT_REFRESH_FRACTION: f64 = 0.5;
/// Warn when less than a week is left.
pub const DEFAULT_WARN_BEFORE: i64 = 7 * 24 * 3600;

/// Where a token stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Due {
    NeverExpires,
    /// Fine until `refresh_at`.
    NotYet {
        refresh_at: i64,
    },
    /// Past the refresh point, still valid: rotate now.
    Now,
    /// Past its expiry: it can no longer be refreshed.
    Expired,
}

/// Is the token due for rotation at `now`? `fraction` of the lifetime `issued_at..expires_at` must have passed;
/// without a usable `issued_at` the lifetime is taken as the seed's 60 days.
pub fn due(now: i64, issued_at: Option<i64>, expires_at: Option<i64>, fraction: f64) -> Due {
    let Some(exp) = expires_at else { return Due::NeverExpires };
    if now >= exp {
        return Due::Expired;
    }
    let issued = match issued_at {
        Some(i) if i < exp => i,
        _ => exp - SIXTY_DAYS,
    };
    let fraction = if fraction.is_finite() { fraction.clamp(0.0, 1.0) } else { DEFAULT_REFRESH_FRACTION };
    let refresh_at = issued + ((exp - issued) as f64 * fraction).floor() as i64;
    if now >= refresh_at {
        Due::Now
    } else {
        Due::NotYet { refresh_at }
    }
}

/// The clock a watcher decides by: the server's (from the `Date` of its answers; the default, so rotation follows
/// the clock that decides expiry), the local one, or one started at a given instant (`--now`).
#[derive(Debug, Clone, Default)]
pub struct Clock {
    offset: i64,
    server: Option<Arc<ServerClock>>,
}

impl Clock {
    pub fn system() -> Clock {
        Clock { offset: 0, server: None }
    }

    /// A clock that reads `now` at this moment and then advances with real time.
    pub fn starting_at(now: i64) -> Clock {
        Clock { offset: now - system_now(), server: None }
    }

    /// The clock of `client`'s server, as its answers tell it; [`Watcher::pass`] asks the server before deciding.
    pub fn following(client: &GraphClient) -> Clock {
        Clock { offset: 0, server: Some(client.server_clock().clone()) }
    }

    pub fn follows_server(&self) -> bool {
        self.server.is_some()
    }

    pub fn now(&self) -> i64 {
        match &self.server {
            Some(s) => s.now(),
            None => system_now() + self.offset,
        }
    }
}

fn system_now() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs() as i64).unwrap_or(0)
}

/// How the watcher decides.
#[derive(Debug, Clone)]
pub struct WatchConfig {
    pub fraction: f64,
    pub warn_before: i64,
    /// Only these profiles (empty: all).
    pub profiles: Vec<String>,
}

impl Default for WatchConfig {
    fn default() -> Self {
        WatchConfig { fraction: DEFAULT_REFRESH_FRACTION, warn_before: DEFAULT_WARN_BEFORE, profiles: vec![] }
    }
}

/// What a pass did with one profile.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    NeverExpires,
    NotDue {
        refresh_at: i64,
    },
    Rotated,
    /// Rotation failed; the old token is still in place.
    Failed {
        error: String,
        hint: Option<&'static str>,
    },
    /// Expired before it could be rotated: a new token must be generated.
    Expired,
}

/// One profile after a pass.
#[derive(Debug, Clone)]
pub struct ProfileOutcome {
    pub profile: String,
    pub action: Action,
    /// Expiry of the token now in the profile.
    pub expires_at: Option<i64>,
    /// Set when a person must act soon; printed loudly.
    pub warning: Option<String>,
}

impl ProfileOutcome {
    pub fn is_failure(&self) -> bool {
        matches!(self.action, Action::Failed { .. } | Action::Expired)
    }
}

/// Progress of a pass, for a progress bar or a log.
pub trait WatchObserver: Send + Sync {
    fn pass_started(&self, _profiles: usize) {}
    fn profile_done(&self, _outcome: &ProfileOutcome) {}
    fn pass_finished(&self) {}
}

/// Observes nothing.
pub struct Quiet;
impl WatchObserver for Quiet {}

/// `2d 4h`, `3h 12m`, `45s`: for warnings people read.
pub fn human_duration(secs: i64) -> String {
    let s = secs.unsigned_abs();
    let (d, h, m) = (s / 86400, (s % 86400) / 3600, (s % 3600) / 60);
    let body = if d > 0 {
        format!("{d}d {h}h")
    } else if h > 0 {
        format!("{h}h {m}m")
    } else if m > 0 {
        format!("{m}m {}s", s % 60)
    } else {
        format!("{s}s")
    };
    if secs < 0 {
        format!("-{body}")
    } else {
        body
    }
}

fn expiry_warning(p: &Profile, now: i64, warn_before: i64, why: &str) -> Option<String> {
    let exp = p.expires_at?;
    let left = exp - now;
    if left <= 0 {
        Some(format!(
            "token of profile {:?} EXPIRED {} ago and cannot be refreshed: generate a new one with \
             `suat token generate --expiring --profile {}`",
            p.name,
            human_duration(-left),
            p.name
        ))
    } else if left <= warn_before {
        Some(format!(
            "token of profile {:?} expires in {}{why}: rotate it (`suat token rotate --profile {}`) before it does",
            p.name,
            human_duration(left),
            p.name
        ))
    } else {
        None
    }
}

/// One pass over the store: rotate what is due, report the rest.
pub async fn watch_pass(
    client: &GraphClient,
    store: &TokenStore,
    cfg: &WatchConfig,
    now: i64,
    observer: &dyn WatchObserver,
) -> Result<Vec<ProfileOutcome>, ClientError> {
    let profiles: Vec<Profile> =
        store.list()?.into_iter().filter(|p| cfg.profiles.is_empty() || cfg.profiles.contains(&p.name)).collect();
    for wanted in &cfg.profiles {
        if !profiles.iter().any(|p| &p.name == wanted) {
            return Err(ClientError::NoProfile(wanted.clone()));
        }
    }
    observer.pass_started(profiles.len());
    let mut out = Vec::with_capacity(profiles.len());
    for p in profiles {
        let outcome = match due(now, p.issued_at, p.expires_at, cfg.fraction) {
            Due::NeverExpires => ProfileOutcome {
                profile: p.name.clone(),
                action: Action::NeverExpires,
                expires_at: None,
                warning: None,
            },
            Due::NotYet { refresh_at } => ProfileOutcome {
                profile: p.name.clone(),
                action: Action::NotDue { refresh_at },
                expires_at: p.expires_at,
                warning: expiry_warning(&p, now, cfg.warn_before, ""),
            },
            Due::Expired => ProfileOutcome {
                profile: p.name.clone(),
                action: Action::Expired,
                expires_at: p.expires_at,
                warning: expiry_warning(&p, now, cfg.warn_before, ""),
            },
            Due::Now => match rotate_profile(client, store, &p.name, &[], now).await {
                Ok(report) => ProfileOutcome {
                    profile: p.name.clone(),
                    action: Action::Rotated,
                    expires_at: report.new.expires_at,
                    warning: None,
                },
                Err(e) => {
                    let expired = e.graph().is_some_and(|g| g.code == 190 && g.subcode == Some(463));
                    let action =
                        if expired { Action::Expired } else { Action::Failed { error: e.to_string(), hint: e.hint() } };
                    let warning = if expired {
                        Some(format!(
                            "token of profile {:?} has EXPIRED and cannot be refreshed: generate a new one with \
                             `suat token generate --expiring --profile {}`",
                            p.name, p.name
                        ))
                    } else {
                        expiry_warning(&p, now, cfg.warn_before, " and rotation is failing")
                    };
                    ProfileOutcome { profile: p.name.clone(), action, expires_at: p.expires_at, warning }
                }
            },
        };
        match (&outcome.action, &outcome.warning) {
            (_, Some(w)) => tracing::error!(profile = %outcome.profile, "{w}"),
            (Action::Failed { error, .. }, None) => {
                tracing::warn!(profile = %outcome.profile, "rotation failed: {error}")
            }
            (Action::Rotated, None) => tracing::info!(profile = %outcome.profile, "rotated"),
            _ => tracing::debug!(profile = %outcome.profile, action = ?outcome.action, "checked"),
        }
        observer.profile_done(&outcome);
        out.push(outcome);
    }
    observer.pass_finished();
    Ok(out)
}

/// The long-running watcher.
pub struct Watcher {
    pub client: GraphClient,
    pub store: TokenStore,
    pub config: WatchConfig,
    pub clock: Clock,
    pub interval: Duration,
    pub gauges: Gauges,
}

impl Watcher {
    /// One pass, with the gauges updated from the store afterwards.
    pub async fn pass(&self, observer: &dyn WatchObserver) -> Result<Vec<ProfileOutcome>, ClientError> {
        if self.clock.follows_server() {
            // Each pass decides by the server's clock as it is now, which may have moved since the last answer.
            self.client.sync_clock().await?;
        }
        let now = self.clock.now();
        let result = watch_pass(&self.client, &self.store, &self.config, now, observer).await;
        // Gauges come from the store (not the outcomes) so they also reflect what another process changed.
        match self.store.list() {
            Ok(profiles) => self.gauges.update(&profiles, &self.config.profiles, now),
            Err(e) => tracing::error!("cannot read the token store for metrics: {e}"),
        }
        result
    }

    /// Passes every `interval` until `shutdown` resolves. A failing pass is logged, never fatal: the next one retries.
    pub async fn run(&self, observer: &dyn WatchObserver, shutdown: impl Future<Output = ()>) {
        tokio::pin!(shutdown);
        loop {
            if let Err(e) = self.pass(observer).await {
                tracing::error!("watch pass failed: {e}");
            }
            tokio::select! {
                _ = &mut shutdown => return,
                _ = tokio::time::sleep(self.interval) => {}
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DAY: i64 = 86400;

    #[test]
    fn due_at_the_set_fraction_of_the_lifetime() {
        let (iss, exp) = (1_000_000, 1_000_000 + 60 * DAY);
        assert_eq!(due(iss, Some(iss), Some(exp), 0.5), Due::NotYet { refresh_at: iss + 30 * DAY });
        assert_eq!(due(iss + 30 * DAY - 1, Some(iss), Some(exp), 0.5), Due::NotYet { refresh_at: iss + 30 * DAY });
        assert_eq!(due(iss + 30 * DAY, Some(iss), Some(exp), 0.5), Due::Now);
        assert_eq!(due(iss + 45 * DAY, Some(iss), Some(exp), 0.8), Due::NotYet { refresh_at: iss + 48 * DAY });
        assert_eq!(due(exp - 1, Some(iss), Some(exp), 0.99), Due::Now);
        assert_eq!(due(exp, Some(iss), Some(exp), 0.5), Due::Expired);
        assert_eq!(due(exp + 5, Some(iss), Some(exp), 0.5), Due::Expired);
    }

    #[test]
    fn never_expiring_and_unknown_issue_times() {
        assert_eq!(due(5, Some(1), None, 0.5), Due::NeverExpires);
        let exp = 100 * DAY;
        // Unknown (or nonsensical) issue time: assume 60 days.
        assert_eq!(due(0, None, Some(exp), 0.5), Due::NotYet { refresh_at: exp - 30 * DAY });
        assert_eq!(due(0, Some(exp + 1), Some(exp), 0.5), Due::NotYet { refresh_at: exp - 30 * DAY });
    }

    #[test]
    fn fractions_are_clamped() {
        let (iss, exp) = (0, 60 * DAY);
        assert_eq!(due(0, Some(iss), Some(exp), -1.0), Due::Now);
        assert_eq!(due(0, Some(iss), Some(exp), 0.0), Due::Now);
        assert_eq!(due(exp - 1, Some(iss), Some(exp), 7.0), Due::NotYet { refresh_at: exp });
        assert_eq!(due(0, Some(iss), Some(exp), f64::NAN), Due::NotYet { refresh_at: 30 * DAY });
    }

    #[test]
    fn clock_can_start_elsewhere() {
        let c = Clock::starting_at(1_000);
        assert!((1_000..1_005).contains(&c.now()));
        assert!(Clock::system().now() > 1_700_000_000);
    }

    #[test]
    fn durations_read_well() {
        assert_eq!(human_duration(2 * DAY + 4 * 3600 + 7), "2d 4h");
        assert_eq!(human_duration(3 * 3600 + 12 * 60), "3h 12m");
        assert_eq!(human_duration(45), "45s");
        assert_eq!(human_duration(-90), "-1m 30s");
    }

    #[test]
    fn warnings_near_and_past_expiry() {
        let mut p = Profile::new("prod", suat_core::AppId(1), suat_core::AccessToken::from_presented("EAAx"));
        p.expires_at = Some(10 * DAY);
        assert!(expiry_warning(&p, 0, 7 * DAY, "").is_none());
        let w = expiry_warning(&p, 4 * DAY, 7 * DAY, " and rotation is failing").unwrap();
        assert!(w.contains("expires in 6d 0h and rotation is failing"), "{w}");
        assert!(expiry_warning(&p, 11 * DAY, 7 * DAY, "").unwrap().contains("EXPIRED 1d 0h ago"));
    }
}

//! Rate limiting (GRAPH-WIRE §8): counts every token-authenticated call in [`crate::Service::authenticate`] and
//! every token minted in [`crate::Service::write`], in memory, per server process (replicas count separately).
//! The arithmetic is [`suat_core::limits`]; this module keeps the windows, the quotas and the per-request report
//! the server turns into a usage header.

use serde::{Deserialize, Serialize};
use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
};
use suat_core::{
    limits::{Report, Usage, UseCase, Window, APP_LIMIT, USER_LIMIT},
    AppId, BusinessId, CoreError, UserId,
};

/// Calls per hour (one window) allowed by default, unless the control plane overrides them for an app or business.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Quotas {
    /// Per app, platform regime (app and person tokens, and tokens minted for the app).
    pub app: u64,
    /// Per person with one app.
    pub user: u64,
    /// Per business, app and use case (system-user and page tokens).
    pub business: u64,
}

impl Quotas {
    /// High enough that no test that does not ask for throttling meets it.
    pub const DEFAULT: Quotas = Quotas { app: 1_000_000, user: 1_000_000, business: 1_000_000 };
}

impl Default for Quotas {
    fn default() -> Quotas {
        Quotas::DEFAULT
    }
}

/// Windows kept at most: stale ones are evicted first; should live ones alone fill it, all are dropped (a burst of
/// that many distinct callers within an hour costs precision, never memory).
pub const MAX_WINDOWS: usize = 100_000;

/// What a window counts.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Key {
    App(AppId),
    User(AppId, UserId),
    Business(AppId, BusinessId, UseCase),
}

/// The regime a caller falls under, from its token (see [`crate::caller`]).
#[derive(Clone, Copy, Debug)]
pub enum Regime {
    /// An app token.
    App(AppId),
    /// A person's token: the app's allowance and the person's own.
    Person(AppId, UserId),
    /// A system-user or page token of a business.
    Business(AppId, BusinessId, UseCase),
}

#[derive(Clone, Default)]
struct Tables {
    defaults: Quotas,
    windows: HashMap<Key, Window>,
    app_quota: HashMap<AppId, u64>,
    user_quota: HashMap<AppId, u64>,
    business_quota: HashMap<BusinessId, u64>,
}

/// The counters and quotas of one server process.
pub struct Limiter {
    tables: Mutex<Tables>,
    /// What `reset` returns to: the configured defaults and the seed's quotas, no windows.
    baseline: Mutex<Tables>,
}

/// `[rate_limits]` of a seed file: defaults (replacing the flags') and per-app and per-business quotas, by id.
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct QuotaSpec {
    pub app: Option<u64>,
    pub user: Option<u64>,
    pub business: Option<u64>,
    #[serde(default)]
    pub apps: std::collections::BTreeMap<String, u64>,
    #[serde(default)]
    pub app_users: std::collections::BTreeMap<String, u64>,
    #[serde(default)]
    pub businesses: std::collections::BTreeMap<String, u64>,
}

impl Limiter {
    pub fn new(defaults: Quotas) -> Limiter {
        let base = Tables { defaults, ..Default::default() };
        Limiter { tables: Mutex::new(base.clone()), baseline: Mutex::new(base) }
    }

    /// Applies a seed's quotas, which `reset` keeps (they are configuration, like the flags).
    pub fn seed(&self, spec: &QuotaSpec) -> Result<(), String> {
        // Every id parsed before anything changes: a bad seed changes nothing.
        let ids = |m: &std::collections::BTreeMap<String, u64>| {
            m.iter()
                .map(|(k, q)| {
                    k.parse::<u64>()
                        .map(|id| (id, *q))
                        .map_err(|_| format!("rate_limits: {k:?} is not a numeric Graph id"))
                })
                .collect::<Result<Vec<_>, String>>()
        };
        let (apps, app_users, businesses) = (ids(&spec.apps)?, ids(&spec.app_users)?, ids(&spec.businesses)?);
        let mut base = self.baseline.lock().unwrap_or_else(|e| e.into_inner());
        let d = &mut base.defaults;
        *d = Quotas {
            app: spec.app.unwrap_or(d.app),
            user: spec.user.unwrap_or(d.user),
            business: spec.business.unwrap_or(d.business),
        };
        base.app_quota.extend(apps.into_iter().map(|(id, q)| (AppId(id), q)));
        base.user_quota.extend(app_users.into_iter().map(|(id, q)| (AppId(id), q)));
        base.business_quota.extend(businesses.into_iter().map(|(id, q)| (BusinessId(id), q)));
        let mut t = self.lock();
        let windows = std::mem::take(&mut t.windows);
        *t = Tables { windows, ..base.clone() };
        Ok(())
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Tables> {
        self.tables.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Counts one call of `regime` at `now`: the report for its usage header, or the refusal (with the report at
    /// 100). A refused call is not counted: the window's count stays at its limit.
    pub fn hit(&self, regime: Regime, now: i64) -> Result<Report, (CoreError, Report)> {
        let mut t = self.lock();
        evict(&mut t.windows, now);
        let app_limit = |t: &Tables, a: &AppId| t.app_quota.get(a).copied().unwrap_or(t.defaults.app);
        match regime {
            Regime::App(app) => {
                let limit = app_limit(&t, &app);
                let w = t.windows.entry(Key::App(app)).or_default();
                if !w.admits(now, limit) {
                    let r = Report::App(w.usage(now, limit));
                    return Err((CoreError::RateLimited { code: 4, message: APP_LIMIT }, r));
                }
                Ok(Report::App(w.count(now, limit)))
            }
            Regime::Person(app, user) => {
                let (al, ul) = (app_limit(&t, &app), t.user_quota.get(&app).copied().unwrap_or(t.defaults.user));
                let mut aw = t.windows.get(&Key::App(app)).copied().unwrap_or_default();
                let mut uw = t.windows.get(&Key::User(app, user)).copied().unwrap_or_default();
                // The tighter of the two: the header is what a client backs off by (inferred).
                let refusal = if !aw.admits(now, al) {
                    Some((4, APP_LIMIT))
                } else if !uw.admits(now, ul) {
                    Some((17, USER_LIMIT))
                } else {
                    None
                };
                let usage = match refusal {
                    Some(_) => aw.usage(now, al).max(uw.usage(now, ul)),
                    None => aw.count(now, al).max(uw.count(now, ul)),
                };
                t.windows.insert(Key::App(app), aw);
                t.windows.insert(Key::User(app, user), uw);
                match refusal {
                    Some((code, message)) => Err((CoreError::RateLimited { code, message }, Report::App(usage))),
                    None => Ok(Report::App(usage)),
                }
            }
            Regime::Business(app, business, use_case) => {
                let limit = t.business_quota.get(&business).copied().unwrap_or(t.defaults.business);
                let w = t.windows.entry(Key::Business(app, business, use_case)).or_default();
                let report = |usage: Usage| Report::Business { business, use_case, usage };
                if !w.admits(now, limit) {
                    let r = report(w.usage(now, limit));
                    return Err((CoreError::RateLimited { code: use_case.code(), message: use_case.message() }, r));
                }
                Ok(report(w.count(now, limit)))
            }
        }
    }

    /// Counts one token minted for `app` against the app's allowance (so a runaway client cannot fill the disk):
    /// refused with code 4 once it is spent.
    pub fn mint(&self, app: AppId, now: i64) -> Result<(), CoreError> {
        self.hit(Regime::App(app), now).map(|_| ()).map_err(|(e, _)| e)
    }

    /// Sets (or with `None` removes) an app's calls-per-hour quota.
    pub fn set_app_quota(&self, app: AppId, quota: Option<u64>) {
        let mut t = self.lock();
        match quota {
            Some(q) => t.app_quota.insert(app, q),
            None => t.app_quota.remove(&app),
        };
    }

    /// Sets (or with `None` removes) the calls-per-hour quota of each person with an app.
    pub fn set_user_quota(&self, app: AppId, quota: Option<u64>) {
        let mut t = self.lock();
        match quota {
            Some(q) => t.user_quota.insert(app, q),
            None => t.user_quota.remove(&app),
        };
    }

    /// Sets (or with `None` removes) a business's calls-per-hour quota (per app and use case).
    pub fn set_business_quota(&self, business: BusinessId, quota: Option<u64>) {
        let mut t = self.lock();
        match quota {
            Some(q) => t.business_quota.insert(business, q),
            None => t.business_quota.remove(&business),
        };
    }

    /// Forgets every count and every control-plane quota (`POST /_suat/reset`): back to the configured defaults and
    /// the seed's quotas.
    pub fn reset(&self) {
        let base = self.baseline.lock().unwrap_or_else(|e| e.into_inner()).clone();
        *self.lock() = base;
    }

    /// The current usage of every live window, for `GET /_suat/usage`.
    pub fn usage(&self, now: i64) -> UsageDocument {
        let mut t = self.lock();
        evict(&mut t.windows, now);
        let mut windows: Vec<WindowUsage> = t
            .windows
            .iter()
            .filter(|(_, w)| !w.is_stale(now))
            .map(|(k, w)| {
                let (kind, app, user, business, use_case, limit) = match *k {
                    Key::App(a) => ("app", a, None, None, None, t.app_quota.get(&a).copied().unwrap_or(t.defaults.app)),
                    Key::User(a, u) => {
                        ("user", a, Some(u), None, None, t.user_quota.get(&a).copied().unwrap_or(t.defaults.user))
                    }
                    Key::Business(a, b, c) => (
                        "business",
                        a,
                        None,
                        Some(b),
                        Some(c.as_str()),
                        t.business_quota.get(&b).copied().unwrap_or(t.defaults.business),
                    ),
                };
                let u = w.usage(now, limit);
                WindowUsage {
                    kind,
                    app,
                    user,
                    business,
                    use_case,
                    calls: w.calls,
                    limit,
                    percent: u.percent,
                    window_start: w.start,
                    estimated_time_to_regain_access: u.regain_minutes,
                }
            })
            .collect();
        windows.sort_by_key(|w| (w.kind, w.app.0, w.user.map(|u| u.0), w.business.map(|b| b.0), w.use_case));
        UsageDocument {
            defaults: t.defaults,
            apps: t.app_quota.iter().map(|(a, q)| (a.to_string(), *q)).collect(),
            app_users: t.user_quota.iter().map(|(a, q)| (a.to_string(), *q)).collect(),
            businesses: t.business_quota.iter().map(|(b, q)| (b.to_string(), *q)).collect(),
            windows,
        }
    }
}

/// Drops stale windows when the table is full; if live ones alone fill it, drops them all (bounded memory first).
fn evict(windows: &mut HashMap<Key, Window>, now: i64) {
    if windows.len() < MAX_WINDOWS {
        return;
    }
    windows.retain(|_, w| !w.is_stale(now));
    if windows.len() >= MAX_WINDOWS {
        windows.clear();
    }
}

/// `GET /_suat/usage`: the quotas in force and every live window.
#[derive(Debug, Serialize)]
pub struct UsageDocument {
    pub defaults: Quotas,
    /// Per-app overrides, by app id.
    pub apps: std::collections::BTreeMap<String, u64>,
    /// Per-app overrides of the per-person quota, by app id.
    pub app_users: std::collections::BTreeMap<String, u64>,
    /// Per-business overrides, by business id.
    pub businesses: std::collections::BTreeMap<String, u64>,
    pub windows: Vec<WindowUsage>,
}

#[derive(Debug, Serialize)]
pub struct WindowUsage {
    pub kind: &'static str,
    pub app: AppId,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user: Option<UserId>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub business: Option<BusinessId>,
    #[serde(rename = "type", skip_serializing_if = "Option::is_none")]
    pub use_case: Option<&'static str>,
    pub calls: u64,
    pub limit: u64,
    pub percent: u32,
    pub window_start: i64,
    pub estimated_time_to_regain_access: u32,
}

/// The usage report of the request being answered: the server opens a slot per Graph request ([`scope`]), the
/// caller's authentication fills it, the server's header layer reads it ([`ReportSlot::get`]).
#[derive(Clone, Default)]
pub struct ReportSlot(Arc<Mutex<Option<Report>>>);

impl ReportSlot {
    pub fn get(&self) -> Option<Report> {
        *self.0.lock().unwrap_or_else(|e| e.into_inner())
    }
    fn set(&self, r: Report) {
        *self.0.lock().unwrap_or_else(|e| e.into_inner()) = Some(r);
    }
}

tokio::task_local! {
    static SLOT: ReportSlot;
}

/// Runs one request with a fresh report slot.
pub async fn scope<F: std::future::Future>(slot: ReportSlot, f: F) -> F::Output {
    SLOT.scope(slot, f).await
}

/// Whether this request was already counted (a use case that authenticates again counts once).
pub(crate) fn counted() -> bool {
    SLOT.try_with(|s| s.get().is_some()).unwrap_or(false)
}

/// Leaves the report for the request's usage header (no-op outside a request, e.g. in unit tests).
pub(crate) fn note(r: Report) {
    let _ = SLOT.try_with(|s| s.set(r));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn persons_count_against_their_app_and_themselves() {
        let l = Limiter::new(Quotas { app: 10, user: 2, business: 1 });
        let (a, u) = (AppId(1), UserId(2));
        assert!(l.hit(Regime::Person(a, u), 0).is_ok());
        assert_eq!(l.hit(Regime::Person(a, u), 0).unwrap(), Report::App(Usage { percent: 100, regain_minutes: 60 }));
        let (e, _) = l.hit(Regime::Person(a, u), 0).unwrap_err();
        assert_eq!(e, CoreError::RateLimited { code: 17, message: USER_LIMIT });
        assert_eq!(l.hit(Regime::App(a), 0).unwrap(), Report::App(Usage { percent: 30, regain_minutes: 0 }));
        l.set_app_quota(a, Some(3));
        assert!(matches!(l.hit(Regime::App(a), 0), Err((CoreError::RateLimited { code: 4, .. }, _))));
        assert!(l.mint(a, 0).is_err());
        let b = Regime::Business(a, BusinessId(9), UseCase::AdsManagement);
        assert!(l.hit(b, 0).is_ok());
        assert!(matches!(l.hit(b, 0), Err((CoreError::RateLimited { code: 80004, .. }, _))));
        assert_eq!(l.usage(0).windows.len(), 3);
        assert!(l.mint(a, 3600).is_ok());
        l.reset();
        assert!(l.hit(b, 0).is_ok());
    }

    #[test]
    fn seeded_quotas_survive_a_reset() {
        let l = Limiter::new(Quotas::default());
        let spec: QuotaSpec = serde_json::from_value(serde_json::json!({"user": 1, "apps": {"5": 1}})).unwrap();
        l.seed(&spec).unwrap();
        l.set_app_quota(AppId(6), Some(1));
        l.reset();
        let u = l.usage(0);
        assert_eq!((u.defaults.user, u.apps.len(), u.apps["5"]), (1, 1, 1));
        assert!(l.hit(Regime::App(AppId(5)), 0).is_ok());
        assert!(l.hit(Regime::App(AppId(5)), 0).is_err());
        let bad: QuotaSpec =
            serde_json::from_value(serde_json::json!({"user": 9, "apps": {"7": 1}, "businesses": {"x": 1}})).unwrap();
        assert!(l.seed(&bad).is_err());
        let u = l.usage(0);
        assert_eq!((u.defaults.user, u.apps.len()), (1, 1), "a bad seed changes nothing");
    }

    #[test]
    fn memory_is_bounded() {
        let l = Limiter::new(Quotas::default());
        for i in 0..MAX_WINDOWS as u64 {
            let _ = l.hit(Regime::App(AppId(i)), 0);
        }
        assert_eq!(l.lock().windows.len(), MAX_WINDOWS);
        // Full of stale windows: they go first.
        let _ = l.hit(Regime::App(AppId(0)), 3600);
        assert_eq!(l.lock().windows.len(), 1);
        for i in 0..(MAX_WINDOWS as u64 + 10) {
            let _ = l.hit(Regime::App(AppId(i)), 3600);
        }
        assert!(l.lock().windows.len() <= MAX_WINDOWS);
    }
}

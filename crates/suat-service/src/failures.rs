//! Failed authentications in the audit log: a wrong client secret (`client_secret`, HTTP Basic, the `APPID|SECRET`
//! app token), a wrong or missing-when-required appsecret_proof, a wrong control-plane key. Each is logged as
//! `auth_failed` with its reason, at most once per (reason, actor) and window of the server clock; the failures the
//! window then keeps silent are counted in memory and reported (`suppressed`) by the next entry of that key, so a
//! flood of bad guesses cannot flood the log. Never the secret, proof or key itself.

use crate::Service;
use std::{collections::HashMap, sync::Mutex};
use suat_core::{audit::FailureWindow, AppId, TokenHash};
use suat_store::prelude::*;

/// Why an authentication failed: the `reason` of its audit entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Reason {
    ClientSecret,
    AppSecretProof,
    AdminKey,
}

impl Reason {
    pub fn as_str(self) -> &'static str {
        match self {
            Reason::ClientSecret => "client_secret",
            Reason::AppSecretProof => "appsecret_proof",
            Reason::AdminKey => "admin_key",
        }
    }
}

/// One failed authentication, as the audit log will name it.
#[derive(Debug, Clone)]
pub struct Failure {
    pub reason: Reason,
    /// `app:<id>`, a user id, or `address:<ip>`.
    pub actor: String,
    pub app: Option<AppId>,
    /// The presented token, only when it is a known, valid token (a bad proof for it).
    pub token: Option<TokenHash>,
    /// Secret-free detail added to the entry (`via`, `missing`...).
    pub detail: serde_json::Map<String, serde_json::Value>,
}

impl Failure {
    /// A wrong secret for app `app`, presented `via` a token endpoint's parameters or an `APPID|SECRET` token.
    pub fn client_secret(app: AppId, via: &str) -> Failure {
        let mut detail = serde_json::Map::new();
        detail.insert("via".into(), via.into());
        Failure { reason: Reason::ClientSecret, actor: format!("app:{app}"), app: Some(app), token: None, detail }
    }

    /// A missing (`presented: false`) or wrong control-plane key from client address `ip` (the socket's peer).
    pub fn admin_key(ip: Option<std::net::IpAddr>, presented: bool) -> Failure {
        let mut detail = serde_json::Map::new();
        detail.insert("presented".into(), presented.into());
        let actor = format!("address:{}", ip.map_or_else(|| "unknown".to_owned(), |ip| ip.to_string()));
        Failure { reason: Reason::AdminKey, actor, app: None, token: None, detail }
    }
}

/// Keys tracked before expired windows are pruned; beyond it (after pruning), new keys share one overflow key.
const MAX_KEYS: usize = 100_000;

/// The actor of the shared window that failures of untracked keys fall into when the map is full.
pub const OVERFLOW_ACTOR: &str = "*";

/// The windows of this process, per (reason, actor).
#[derive(Default)]
pub struct FailureLog {
    windows: Mutex<HashMap<(Reason, String), FailureWindow>>,
}

impl FailureLog {
    /// Counts a failure at `now`: `Some((actor, suppressed))` if it is to be logged (under `actor`, the overflow
    /// actor when the map is full), `None` if only counted.
    fn note(&self, reason: Reason, actor: &str, now: i64) -> Option<(String, u64)> {
        let mut w = self.windows.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(r) = w.get_mut(&(reason, actor.to_owned())) {
            return r.fail(now).map(|n| (actor.to_owned(), n));
        }
        if w.len() >= MAX_KEYS {
            w.retain(|_, r| !r.expired(now));
        }
        let key = if w.len() < MAX_KEYS { actor } else { OVERFLOW_ACTOR };
        match w.get_mut(&(reason, key.to_owned())) {
            Some(r) => r.fail(now).map(|n| (key.to_owned(), n)),
            None => {
                w.insert((reason, key.to_owned()), FailureWindow::start(now));
                Some((key.to_owned(), 0))
            }
        }
    }

    /// Keys tracked now (for tests of the bound).
    pub fn len(&self) -> usize {
        self.windows.lock().unwrap_or_else(|e| e.into_inner()).len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Forgets every window (the control plane's reset).
    pub fn clear(&self) {
        self.windows.lock().unwrap_or_else(|e| e.into_inner()).clear();
    }
}

impl Service {
    /// Records a failed authentication at the server clock's now, if it is the first of its window. A failed audit
    /// write is only logged: the caller's answer (the Graph error it gets) must not change.
    pub async fn auth_failed(&self, f: Failure) {
        let now = self.now();
        let Some((actor, suppressed)) = self.failures.note(f.reason, &f.actor, now) else { return };
        let mut detail = f.detail;
        detail.insert("reason".into(), f.reason.as_str().into());
        detail.insert("suppressed".into(), suppressed.into());
        if actor == OVERFLOW_ACTOR {
            detail.insert("overflow".into(), true.into());
        }
        let mut audit = AuditEntry::new(now, "auth_failed", actor).detail(serde_json::Value::Object(detail));
        if let Some(app) = f.app {
            audit = audit.app(app);
        }
        if let Some(h) = &f.token {
            audit = audit.token(h);
        }
        if let Err(e) = self.write(Write::AuditOnly, audit).await {
            tracing::warn!(error = %e, reason = f.reason.as_str(), "could not audit a failed authentication");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use suat_core::audit::FAILURE_WINDOW;

    #[test]
    fn memory_is_bounded_and_a_full_map_shares_one_overflow_window() {
        let log = FailureLog::default();
        for i in 0..MAX_KEYS {
            assert_eq!(log.note(Reason::AdminKey, &format!("address:{i}"), 0), Some((format!("address:{i}"), 0)));
        }
        assert_eq!(log.len(), MAX_KEYS);
        // Full, nothing expired: new actors fall into the overflow window, logged once per window.
        assert_eq!(log.note(Reason::AdminKey, "address:new-1", 1), Some((OVERFLOW_ACTOR.to_owned(), 0)));
        assert_eq!(log.note(Reason::AdminKey, "address:new-2", 2), None);
        assert_eq!(log.len(), MAX_KEYS + 1, "the overflow key is the only one added");
        // A tracked actor keeps its own window.
        assert_eq!(log.note(Reason::AdminKey, "address:7", 3), None);
        // Once the windows are over, the expired ones are pruned and new actors are tracked again.
        assert_eq!(
            log.note(Reason::AdminKey, "address:new-3", FAILURE_WINDOW + 2),
            Some(("address:new-3".to_owned(), 0))
        );
        assert!(log.len() <= 2, "{} keys left", log.len());
        log.clear();
        assert!(log.is_empty());
    }

    #[test]
    fn reasons_are_separate_keys() {
        let log = FailureLog::default();
        assert!(log.note(Reason::ClientSecret, "app:1", 0).is_some());
        assert!(log.note(Reason::AppSecretProof, "app:1", 0).is_some());
        assert!(log.note(Reason::ClientSecret, "app:1", 1).is_none());
    }
}

//! Sign-in throttling arithmetic: how many failed sign-ins a key (an account, or a client address) may have in a
//! window before each further try must wait, and before it is locked out until the window ends. Pure: the caller
//! keeps the records and passes the server clock, so tests move time with the control plane instead of sleeping.

/// The limits of one kind of key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Policy {
    /// Failures in a window that cost nothing more than the failure itself.
    pub free: u32,
    /// Failures in a window after which the key is locked out until the window ends.
    pub lock_after: u32,
    /// Seconds from a key's first counted failure until its count is forgotten.
    pub window: i64,
}

/// Per account: a person mistyping a few times is not slowed; a guesser gets 5 tries per 15 minutes.
pub const ACCOUNT: Policy = Policy { free: 3, lock_after: 5, window: 15 * 60 };

/// Per client address: looser (a shared address signs several people in), but it bounds one address spraying one
/// password across many accounts, which the per-account limit alone cannot see.
pub const ADDRESS: Policy = Policy { free: 10, lock_after: 20, window: 15 * 60 };

/// The longest growing delay, in seconds, before the lockout takes over.
pub const MAX_DELAY: i64 = 60;

/// One key's failures in its current window.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Record {
    pub failures: u32,
    /// When the window started (the first failure counted in it).
    pub since: i64,
    /// The latest failure.
    pub last: i64,
    /// Sign-ins refused because of this record, in this window (audited once per window, with this count).
    pub refused: u32,
}

/// May a sign-in be tried now?
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    Allowed,
    /// Too soon after the latest failure: try again at `until`.
    Wait {
        until: i64,
    },
    /// Locked out until the window ends, at `until`.
    Locked {
        until: i64,
    },
}

impl Record {
    /// Whether the window this record counts in is over at `now` (then it counts as empty).
    pub fn expired(&self, p: &Policy, now: i64) -> bool {
        self.failures == 0 || now >= self.since + p.window
    }

    /// Failures counted at `now`.
    pub fn current(&self, p: &Policy, now: i64) -> u32 {
        if self.expired(p, now) {
            0
        } else {
            self.failures
        }
    }

    pub fn verdict(&self, p: &Policy, now: i64) -> Verdict {
        let n = self.current(p, now);
        if n >= p.lock_after {
            return Verdict::Locked { until: self.since + p.window };
        }
        match delay(p, n) {
            d if d > 0 && now < self.last + d => Verdict::Wait { until: self.last + d },
            _ => Verdict::Allowed,
        }
    }

    /// Counts a failed sign-in at `now`, starting a new window if the last one is over.
    pub fn fail(&mut self, p: &Policy, now: i64) {
        if self.expired(p, now) {
            *self = Record { failures: 0, since: now, last: now, refused: 0 };
        }
        self.failures += 1;
        self.last = now;
    }

    /// Counts a refused sign-in; true for the first one of the window (the one to audit).
    pub fn refuse(&mut self) -> bool {
        self.refused += 1;
        self.refused == 1
    }
}

/// The wait after `failures` failures: none while free, then 1, 2, 4, ... seconds, at most [`MAX_DELAY`].
pub fn delay(p: &Policy, failures: u32) -> i64 {
    if failures <= p.free {
        return 0;
    }
    let exp = (failures - p.free - 1).min(6);
    (1i64 << exp).min(MAX_DELAY)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn free_then_growing_delays_then_lockout_until_the_window_ends() {
        let p = ACCOUNT;
        let mut r = Record::default();
        let t = 1_000;
        for i in 0..p.free {
            assert_eq!(r.verdict(&p, t), Verdict::Allowed, "try {i}");
            r.fail(&p, t);
        }
        assert_eq!(r.verdict(&p, t), Verdict::Allowed);
        r.fail(&p, t);
        assert_eq!(r.verdict(&p, t), Verdict::Wait { until: t + 1 });
        assert_eq!(r.verdict(&p, t + 1), Verdict::Allowed);
        r.fail(&p, t + 1);
        assert_eq!(r.current(&p, t + 1), p.lock_after);
        assert_eq!(r.verdict(&p, t + 100), Verdict::Locked { until: t + p.window });
        assert_eq!(r.verdict(&p, t + p.window), Verdict::Allowed);
        r.fail(&p, t + p.window);
        assert_eq!(r.current(&p, t + p.window), 1, "a new window starts from one");
    }

    #[test]
    fn delays_grow_and_are_capped() {
        let p = Policy { free: 0, lock_after: 100, window: 10_000 };
        let d: Vec<i64> = (0..10).map(|n| delay(&p, n)).collect();
        assert_eq!(d, vec![0, 1, 2, 4, 8, 16, 32, 60, 60, 60]);
    }

    #[test]
    fn only_the_first_refusal_of_a_window_is_audited() {
        let mut r = Record::default();
        r.fail(&ACCOUNT, 0);
        assert!(r.refuse());
        assert!(!r.refuse());
        assert_eq!(r.refused, 2);
        r.fail(&ACCOUNT, ACCOUNT.window);
        assert!(r.refuse(), "a new window audits again");
    }
}

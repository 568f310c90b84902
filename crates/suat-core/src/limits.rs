//! Rate-limit arithmetic (GRAPH-WIRE §8): fixed one-hour windows on the server clock, the percentages the usage
//! headers report, and the codes and messages of a refusal. Pure: the caller passes the clock and keeps the windows.

use crate::BusinessId;

/// Length of a window, seconds of the server clock (GRAPH-WIRE §8: windows roll over one hour).
pub const WINDOW: i64 = 3600;

/// `(#4)`: an app over its platform allowance (HTTP 403).
pub const APP_LIMIT: &str = "(#4) Application request limit reached";
/// `(#17)`: one person over their allowance with an app (HTTP 400).
pub const USER_LIMIT: &str = "(#17) User request limit reached";

/// The calls counted in one window of one key (an app, a person with an app, a business use case).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Window {
    pub start: i64,
    pub calls: u64,
}

/// What a usage header reports for one window: percent of the allowance used, and minutes until the window rolls
/// over when the allowance is spent (0 otherwise).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct Usage {
    pub percent: u32,
    pub regain_minutes: u32,
}

impl Usage {
    /// The tighter of two usages: the header shows what the client must back off for.
    pub fn max(self, other: Usage) -> Usage {
        if other.percent > self.percent || (other.percent == self.percent && other.regain_minutes > self.regain_minutes)
        {
            other
        } else {
            self
        }
    }
}

impl Window {
    /// A window that has run its hour (or lies in the future, after the clock moved back) is over.
    pub fn is_stale(&self, now: i64) -> bool {
        now >= self.start.saturating_add(WINDOW) || now < self.start
    }

    /// Starts a new window at `now` if this one is over.
    fn roll(&mut self, now: i64) {
        if self.is_stale(now) {
            *self = Window { start: now, calls: 0 };
        }
    }

    /// Whether one more call at `now` fits in `limit` calls per window.
    pub fn admits(&mut self, now: i64, limit: u64) -> bool {
        self.roll(now);
        self.calls < limit
    }

    /// Counts one call at `now` (the caller checked [`Window::admits`]) and reports the usage after it.
    pub fn count(&mut self, now: i64, limit: u64) -> Usage {
        self.roll(now);
        self.calls = self.calls.saturating_add(1);
        self.usage(now, limit)
    }

    /// The usage at `now` without counting.
    pub fn usage(&self, now: i64, limit: u64) -> Usage {
        if self.is_stale(now) {
            return Usage::default();
        }
        // A zero allowance is all spent.
        let percent = self.calls.saturating_mul(100).checked_div(limit).map_or(100, |p| p.min(100) as u32);
        let regain_minutes = if self.calls >= limit {
            // Whole minutes, rounded up: "1" until the last second of the window.
            ((self.start + WINDOW - now).max(0) as u64).div_ceil(60) as u32
        } else {
            0
        };
        Usage { percent, regain_minutes }
    }
}

/// The business use case a call is counted under, chosen from the token's scopes (inferred mapping: a token that
/// may manage or read ads counts as `ads_management`; every other system-user or page token as `pages`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum UseCase {
    Pages,
    AdsManagement,
}

impl UseCase {
    pub fn of<'a>(scopes: impl IntoIterator<Item = &'a str>) -> UseCase {
        if scopes.into_iter().any(|s| s == "ads_management" || s == "ads_read") {
            UseCase::AdsManagement
        } else {
            UseCase::Pages
        }
    }

    /// The `type` of the usage header.
    pub fn as_str(self) -> &'static str {
        match self {
            UseCase::Pages => "pages",
            UseCase::AdsManagement => "ads_management",
        }
    }

    /// The Graph code of a refusal (GRAPH-WIRE §8: 80001 pages, 80004 ads_management).
    pub fn code(self) -> u32 {
        match self {
            UseCase::Pages => 80001,
            UseCase::AdsManagement => 80004,
        }
    }

    /// The refusal's message (inferred: the wording Graph documents for these codes; no `(#N)` prefix, as
    /// business-use-case errors carry none).
    pub fn message(self) -> &'static str {
        match self {
            UseCase::Pages => {
                "There have been too many calls to this Page account. Wait a bit and try again. For more info, please \
                 refer to https://developers.facebook.com/docs/graph-api/overview/rate-limiting."
            }
            UseCase::AdsManagement => {
                "There have been too many calls to this ad-account. Wait a bit and try again. For more info, please \
                 refer to https://developers.facebook.com/docs/graph-api/overview/rate-limiting#ads-management."
            }
        }
    }
}

/// The usage header of one answer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Report {
    /// `x-app-usage`, for app and person tokens.
    App(Usage),
    /// `x-business-use-case-usage`, for system-user and page tokens.
    Business { business: BusinessId, use_case: UseCase, usage: Usage },
}

impl Report {
    /// The header's name and value. `total_cputime` and `total_time` equal `call_count` (inferred: suat has no cost
    /// model, every call costs the same).
    pub fn header(&self) -> (&'static str, String) {
        match *self {
            Report::App(Usage { percent: p, .. }) => {
                ("x-app-usage", format!(r#"{{"call_count":{p},"total_cputime":{p},"total_time":{p}}}"#))
            }
            Report::Business { business, use_case, usage: Usage { percent: p, regain_minutes: m } } => (
                "x-business-use-case-usage",
                format!(
                    r#"{{"{business}":[{{"type":"{}","call_count":{p},"total_cputime":{p},"total_time":{p},"estimated_time_to_regain_access":{m}}}]}}"#,
                    use_case.as_str()
                ),
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_window_admits_its_limit_then_refuses_until_it_rolls_over() {
        let mut w = Window::default();
        let t = 1_000_000;
        for i in 1..=4u32 {
            assert!(w.admits(t, 4));
            assert_eq!(w.count(t, 4).percent, i * 25);
        }
        assert!(!w.admits(t + 10, 4));
        assert_eq!(w.usage(t + 10, 4), Usage { percent: 100, regain_minutes: 60 });
        assert_eq!(w.usage(t + 3599, 4).regain_minutes, 1);
        assert!(w.admits(t + WINDOW, 4));
        assert_eq!(w.calls, 0);
        assert_eq!(w.count(t + WINDOW, 4).percent, 25);
    }

    #[test]
    fn a_clock_moved_back_starts_a_new_window_and_zero_refuses_all() {
        let mut w = Window { start: 5000, calls: 9 };
        assert!(w.admits(4000, 10));
        assert_eq!(w, Window { start: 4000, calls: 0 });
        assert!(!Window::default().admits(10, 0));
        assert_eq!(Window { start: 10, calls: 0 }.usage(10, 0).percent, 100);
        assert_eq!(Window { start: 10, calls: 1 }.usage(10, 3).percent, 33);
    }

    #[test]
    fn use_cases_and_headers() {
        assert_eq!(UseCase::of(["pages_show_list", "ads_read"]), UseCase::AdsManagement);
        assert_eq!(UseCase::of(["pages_manage_posts"]), UseCase::Pages);
        assert_eq!((UseCase::Pages.code(), UseCase::AdsManagement.code()), (80001, 80004));
        let u = Usage { percent: 100, regain_minutes: 7 };
        assert_eq!(
            Report::App(u).header(),
            ("x-app-usage", r#"{"call_count":100,"total_cputime":100,"total_time":100}"#.to_owned())
        );
        let b = Report::Business { business: BusinessId(77), use_case: UseCase::Pages, usage: u };
        assert_eq!(
            b.header().1,
            r#"{"77":[{"type":"pages","call_count":100,"total_cputime":100,"total_time":100,"estimated_time_to_regain_access":7}]}"#
        );
        let low = Usage { percent: 20, regain_minutes: 0 };
        assert_eq!(low.max(u), u);
        assert_eq!(u.max(low), u);
    }
}

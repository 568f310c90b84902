//! Time as the domain sees it: unix seconds handed in by the caller, plus the lifetimes the seeds define.

/// Lifetime of an expiring system-user token and of a long-lived user token: 60 days.
pub const SIXTY_DAYS: i64 = 60 * 24 * 3600;
/// Lifetime of a short-lived user token from the OAuth dialog.
pub const SHORT_LIVED: i64 = 2 * 3600;
/// Lifetime of an authorization code.
pub const CODE_TTL: i64 = 10 * 60;
/// How old an `appsecret_time` may be.
pub const PROOF_TIME_WINDOW: i64 = 5 * 60;
/// The latest instant the server clock may show: 9999-12-31T23:59:59Z, the last second an HTTP `Date` header can
/// name. Bounding the clock (and lifetimes, [`MAX_LIFETIME`]) keeps every `now + lifetime` far from overflowing.
pub const MAX_CLOCK: i64 = 253_402_300_799;
/// The longest lifetime an operator may give a token: 100 years (365-day years).
pub const MAX_LIFETIME: i64 = 100 * 365 * 24 * 3600;
/// Apps created before this instant may still request `publish_actions` (2018-04-24T00:00:00Z).
pub const PUBLISH_ACTIONS_CUTOFF: i64 = 1_524_528_000;

/// Formats an instant the way Graph's 463 message does (GRAPH-WIRE §4): US Pacific time, PST or PDT as the date
/// falls, e.g. `Wednesday, 16-Nov-22 07:45:51 PST`.
pub fn graph_date(unix: i64) -> String {
    let (offset, zone) = if is_pacific_dst(unix) { (-7 * 3600, "PDT") } else { (-8 * 3600, "PST") };
    match chrono::DateTime::from_timestamp(unix + offset, 0) {
        Some(t) => format!("{} {zone}", t.format("%A, %d-%b-%y %H:%M:%S")),
        None => unix.to_string(),
    }
}

/// US daylight saving time as in force since 2007: from 02:00 PST on the second Sunday of March to 02:00 PDT on
/// the first Sunday of November (10:00 and 09:00 UTC). Written out rather than pulling in a time-zone database for
/// one zone whose rule has not changed since 2007 (earlier instants are formatted by the same rule).
fn is_pacific_dst(unix: i64) -> bool {
    use chrono::{Datelike, NaiveDate, Weekday};
    let Some(t) = chrono::DateTime::from_timestamp(unix, 0) else { return false };
    let year = t.year();
    let nth_sunday = |month: u32, n: u8| {
        NaiveDate::from_weekday_of_month_opt(year, month, Weekday::Sun, n).map(|d| d.and_hms_opt(0, 0, 0))
    };
    let (Some(Some(start)), Some(Some(end))) = (nth_sunday(3, 2), nth_sunday(11, 1)) else { return false };
    let start = start.and_utc().timestamp() + 10 * 3600;
    let end = end.and_utc().timestamp() + 9 * 3600;
    (start..end).contains(&unix)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_like_graph() {
        // The capture of GRAPH-WIRE §4.
        assert_eq!(graph_date(1_668_613_551), "Wednesday, 16-Nov-22 07:45:51 PST");
        assert_eq!(graph_date(0), "Wednesday, 31-Dec-69 16:00:00 PST");
        assert_eq!(graph_date(1_700_000_000), "Tuesday, 14-Nov-23 14:13:20 PST");
        assert_eq!(graph_date(1_690_000_000), "Friday, 21-Jul-23 21:26:40 PDT");
    }

    #[test]
    fn daylight_saving_transitions_2024() {
        // 2024-03-10 10:00:00 UTC is 03:00 PDT; one second earlier is 01:59:59 PST.
        assert_eq!(graph_date(1_710_064_800), "Sunday, 10-Mar-24 03:00:00 PDT");
        assert_eq!(graph_date(1_710_064_799), "Sunday, 10-Mar-24 01:59:59 PST");
        // 2024-11-03 09:00:00 UTC is 01:00 PST; one second earlier is 01:59:59 PDT.
        assert_eq!(graph_date(1_730_624_400), "Sunday, 03-Nov-24 01:00:00 PST");
        assert_eq!(graph_date(1_730_624_399), "Sunday, 03-Nov-24 01:59:59 PDT");
    }
}

//! Time as the domain sees it: unix seconds handed in by the caller, plus the lifetimes the seeds define.

/// Lifetime of an expiring system-user token and of a long-lived user token: 60 days.
pub const SIXTY_DAYS: i64 = 60 * 24 * 3600;
/// Lifetime of a short-lived user token from the OAuth dialog.
pub const SHORT_LIVED: i64 = 2 * 3600;
/// Lifetime of an authorization code.
pub const CODE_TTL: i64 = 10 * 60;
/// How old an `appsecret_time` may be.
pub const PROOF_TIME_WINDOW: i64 = 5 * 60;
/// Apps created before this instant may still request `publish_actions` (2018-04-24T00:00:00Z).
pub const PUBLISH_ACTIONS_CUTOFF: i64 = 1_524_528_000;

/// Formats an instant the way Graph's 463 message does, e.g. `Tuesday, 24-Nov-26 10:00:00 UTC`.
pub fn graph_date(unix: i64) -> String {
    match chrono::DateTime::from_timestamp(unix, 0) {
        Some(t) => t.format("%A, %d-%b-%y %H:%M:%S UTC").to_string(),
        None => unix.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_like_graph() {
        assert_eq!(graph_date(0), "Thursday, 01-Jan-70 00:00:00 UTC");
        assert_eq!(graph_date(PUBLISH_ACTIONS_CUTOFF), "Tuesday, 24-Apr-18 00:00:00 UTC");
    }
}

//! The audit log's integrity and flood rules, as arithmetic: the keyed hash chain over audit rows (each row's
//! `hash` is an HMAC of the previous row's hash and the row itself, so a row edited, removed or slipped in without
//! the key breaks the chain at that row), and the window that lets one failed authentication per (reason, actor)
//! through to the log while counting the rest. Pure: the store and the service hold the rows and the records.

use hmac::{Hmac, Mac};
use sha2::Sha256;
use std::fmt;

/// The key of the audit chain, derived from the master key (so only a holder of the master key can extend or
/// re-seal the log).
#[derive(Clone)]
pub struct ChainKey([u8; 32]);

impl fmt::Debug for ChainKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ChainKey(<redacted>)")
    }
}

/// `prev` of the first chained row: the chain starts from nothing (rows written before the chain existed have no
/// hash and are not covered).
pub const GENESIS: [u8; 32] = [0; 32];

/// One audit row as stored, the fields the chain covers. `detail` is the stored JSON text itself, so the hash does
/// not depend on how a JSON value would be re-serialised.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChainRow<'a> {
    pub seq: i64,
    pub at: i64,
    pub action: &'a str,
    pub actor: &'a str,
    pub subject: Option<i64>,
    pub app_id: Option<i64>,
    pub token_ref: Option<&'a str>,
    pub detail: &'a str,
}

impl ChainKey {
    pub fn new(bytes: [u8; 32]) -> ChainKey {
        ChainKey(bytes)
    }

    /// `HMAC(key, "suat audit chain v1" || prev || canonical(row))`. The canonical encoding gives every field a
    /// presence byte and a length, so no two different rows encode alike (moving text between fields changes it).
    pub fn link(&self, prev: &[u8; 32], row: &ChainRow<'_>) -> [u8; 32] {
        let mut m = Hmac::<Sha256>::new_from_slice(&self.0).expect("HMAC takes any key length");
        m.update(b"suat audit chain v1");
        m.update(prev);
        let int = |m: &mut Hmac<Sha256>, v: Option<i64>| match v {
            Some(v) => {
                m.update(&[1]);
                m.update(&v.to_be_bytes());
            }
            None => m.update(&[0]),
        };
        let text = |m: &mut Hmac<Sha256>, v: Option<&str>| match v {
            Some(s) => {
                m.update(&[1]);
                m.update(&(s.len() as u64).to_be_bytes());
                m.update(s.as_bytes());
            }
            None => m.update(&[0]),
        };
        int(&mut m, Some(row.seq));
        int(&mut m, Some(row.at));
        text(&mut m, Some(row.action));
        text(&mut m, Some(row.actor));
        int(&mut m, row.subject);
        int(&mut m, row.app_id);
        text(&mut m, row.token_ref);
        text(&mut m, Some(row.detail));
        m.finalize().into_bytes().into()
    }
}

/// What is wrong at the first bad row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Break {
    /// The row has no hash, after chained rows (only rows from before the chain may have none).
    Unchained,
    /// `prev` is not the hash of the row before: a row was removed, inserted or reordered here.
    PrevMismatch,
    /// The hash does not match the row: the row was changed (or forged without the key).
    HashMismatch,
    /// `prev` or `hash` is not 64 hex characters.
    Malformed,
    /// The seq does not follow the previous row's (rows missing before it).
    SeqGap { after: i64 },
}

impl fmt::Display for Break {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Break::Unchained => {
                f.write_str("the row carries no hash, after chained rows (rows inserted without the key?)")
            }
            Break::PrevMismatch => {
                f.write_str("prev is not the hash of the row before it (a row was deleted, inserted or reordered)")
            }
            Break::HashMismatch => f.write_str("the hash does not match the row's content (the row was modified)"),
            Break::Malformed => f.write_str("prev or hash is not 64 hex characters"),
            Break::SeqGap { after } => {
                write!(f, "seq does not follow {after} (rows before it were deleted, or it was inserted)")
            }
        }
    }
}

/// Walks the rows in seq order: rows without a hash before the first chained one are counted as from before the
/// chain; from the first chained row on, each must link to the one before.
#[derive(Debug)]
pub struct Verifier<'k> {
    key: &'k ChainKey,
    /// The previous chained row: (seq, hash).
    last: Option<(i64, [u8; 32])>,
    /// Rows from before the chain.
    pub legacy: u64,
    /// Chained rows verified.
    pub chained: u64,
}

impl<'k> Verifier<'k> {
    pub fn new(key: &'k ChainKey) -> Verifier<'k> {
        Verifier { key, last: None, legacy: 0, chained: 0 }
    }

    /// The head of the chain so far: the last chained row's seq and hash.
    pub fn head(&self) -> Option<(i64, [u8; 32])> {
        self.last
    }

    /// Checks the next row (with its stored `prev` and `hash`, hex).
    pub fn next(&mut self, row: &ChainRow<'_>, prev: Option<&str>, hash: Option<&str>) -> Result<(), Break> {
        let (prev, hash) = match (prev, hash, self.last) {
            (None, None, None) => {
                self.legacy += 1;
                return Ok(());
            }
            (Some(p), Some(h), _) => (unhex(p).ok_or(Break::Malformed)?, unhex(h).ok_or(Break::Malformed)?),
            (None, _, _) | (_, None, _) => return Err(Break::Unchained),
        };
        let expected_prev = match self.last {
            Some((last_seq, last_hash)) => {
                if row.seq != last_seq + 1 {
                    // A chained row names its seq: a gap means rows were taken out (whatever their prev says).
                    return Err(if prev == last_hash {
                        Break::HashMismatch
                    } else {
                        Break::SeqGap { after: last_seq }
                    });
                }
                last_hash
            }
            None => GENESIS,
        };
        if prev != expected_prev {
            return Err(Break::PrevMismatch);
        }
        let ok: bool = subtle::ConstantTimeEq::ct_eq(&self.key.link(&prev, row)[..], &hash[..]).into();
        if !ok {
            return Err(Break::HashMismatch);
        }
        self.last = Some((row.seq, hash));
        self.chained += 1;
        Ok(())
    }
}

fn unhex(s: &str) -> Option<[u8; 32]> {
    hex::decode(s).ok()?.try_into().ok()
}

/// One (reason, actor)'s failed authentications in its current window: the first failure of a window is logged,
/// the later ones are only counted and reported by the next logged entry.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FailureWindow {
    /// When the window started (its logged failure).
    pub since: i64,
    /// Failures in the window that were not logged.
    pub suppressed: u64,
}

/// How long one logged failure stands for the failures after it (server-clock seconds).
pub const FAILURE_WINDOW: i64 = 5 * 60;

impl FailureWindow {
    /// A new record, for a first failure at `now` (to be logged, with nothing suppressed before it).
    pub fn start(now: i64) -> FailureWindow {
        FailureWindow { since: now, suppressed: 0 }
    }

    /// Whether the window is over at `now` (a clock moved back also ends it, so a record cannot stay silent forever).
    pub fn expired(&self, now: i64) -> bool {
        now >= self.since + FAILURE_WINDOW || now < self.since
    }

    /// Counts a failure at `now`: `Some(n)` if it is to be logged (a new window starts), `n` being the failures the
    /// window before kept silent; `None` if it is only counted.
    pub fn fail(&mut self, now: i64) -> Option<u64> {
        if self.expired(now) {
            let n = self.suppressed;
            *self = FailureWindow::start(now);
            Some(n)
        } else {
            self.suppressed += 1;
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(seq: i64, detail: &str) -> ChainRow<'_> {
        ChainRow {
            seq,
            at: 100 + seq,
            action: "issue",
            actor: "app:1",
            subject: Some(7),
            app_id: None,
            token_ref: Some("abcd"),
            detail,
        }
    }

    fn chain(key: &ChainKey, n: i64) -> Vec<(ChainRow<'static>, String, String)> {
        let mut prev = GENESIS;
        (1..=n)
            .map(|s| {
                let r = row(s, "{}");
                let h = key.link(&prev, &r);
                let out = (r, hex::encode(prev), hex::encode(h));
                prev = h;
                out
            })
            .collect()
    }

    fn verify(key: &ChainKey, rows: &[(ChainRow<'_>, String, String)]) -> Result<u64, (i64, Break)> {
        let mut v = Verifier::new(key);
        for (r, p, h) in rows {
            v.next(r, Some(p), Some(h)).map_err(|b| (r.seq, b))?;
        }
        Ok(v.chained)
    }

    #[test]
    fn an_untouched_chain_verifies_and_every_tampering_names_its_row() {
        let key = ChainKey::new([7; 32]);
        let rows = chain(&key, 5);
        assert_eq!(verify(&key, &rows), Ok(5));
        // Edited content.
        let mut edited = rows.clone();
        edited[2].0.detail = "{\"x\":1}";
        assert_eq!(verify(&key, &edited), Err((3, Break::HashMismatch)));
        // A row deleted in the middle.
        let mut deleted = rows.clone();
        deleted.remove(2);
        assert_eq!(verify(&key, &deleted), Err((4, Break::SeqGap { after: 2 })));
        // A row forged with a wrong key, at the end.
        let mut forged = rows.clone();
        let other = ChainKey::new([8; 32]);
        let r = row(6, "{}");
        let prev = unhex(&rows[4].2).unwrap();
        forged.push((r.clone(), hex::encode(prev), hex::encode(other.link(&prev, &r))));
        assert_eq!(verify(&key, &forged), Err((6, Break::HashMismatch)));
        // The wrong key sees nothing right.
        assert_eq!(verify(&other, &rows), Err((1, Break::HashMismatch)));
        // Moving text between fields changes the encoding.
        let a = ChainRow { action: "ab", actor: "c", ..row(1, "{}") };
        let b = ChainRow { action: "a", actor: "bc", ..row(1, "{}") };
        assert_ne!(key.link(&GENESIS, &a), key.link(&GENESIS, &b));
    }

    #[test]
    fn rows_before_the_chain_are_counted_apart_but_none_may_follow_it() {
        let key = ChainKey::new([1; 32]);
        let mut v = Verifier::new(&key);
        for s in 1..=3 {
            v.next(&row(s, "{}"), None, None).unwrap();
        }
        let r = row(4, "{}");
        let h = key.link(&GENESIS, &r);
        v.next(&r, Some(&hex::encode(GENESIS)), Some(&hex::encode(h))).unwrap();
        assert_eq!((v.legacy, v.chained), (3, 1));
        assert_eq!(v.next(&row(5, "{}"), None, None), Err(Break::Unchained));
        assert_eq!(v.next(&row(5, "{}"), Some("zz"), Some("00")), Err(Break::Malformed));
    }

    #[test]
    fn one_failure_per_window_is_logged_carrying_the_count_of_the_window_before() {
        let mut w = FailureWindow::start(1000);
        assert_eq!(w.fail(1001), None);
        assert_eq!(w.fail(1000 + FAILURE_WINDOW - 1), None);
        assert_eq!(w.suppressed, 2);
        assert_eq!(w.fail(1000 + FAILURE_WINDOW), Some(2));
        assert_eq!(w, FailureWindow::start(1000 + FAILURE_WINDOW));
        assert_eq!(w.fail(10), Some(0), "a clock moved back starts a new window");
    }
}

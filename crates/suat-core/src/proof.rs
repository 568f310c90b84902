//! appsecret_proof: `hex(HMAC_SHA256(key = app secret, msg = access token [+ "|" + appsecret_time]))`.
//! Verification is constant-time and tolerant of upper-case hex, so only the secret decides the outcome.

use crate::{time::PROOF_TIME_WINDOW, CoreError};
use hmac::{Hmac, Mac};
use sha2::Sha256;
use std::fmt;
use subtle::ConstantTimeEq;

type HmacSha256 = Hmac<Sha256>;

/// An app secret in the clear. Debug output is redacted so it can never reach a log by accident. It carries the
/// HMAC keyed with it, ready: every proof checked on a request would otherwise redo the key's two blocks.
#[derive(Clone)]
pub struct AppSecret(String, HmacSha256);

impl PartialEq for AppSecret {
    fn eq(&self, other: &AppSecret) -> bool {
        self.0 == other.0
    }
}

impl Eq for AppSecret {}

impl AppSecret {
    pub fn new(s: impl Into<String>) -> AppSecret {
        let s = s.into();
        let mac = HmacSha256::new_from_slice(s.as_bytes()).expect("HMAC takes any key length");
        AppSecret(s, mac)
    }
    pub fn expose(&self) -> &str {
        &self.0
    }
    /// Constant-time equality against a presented client_secret.
    pub fn matches(&self, presented: &str) -> bool {
        self.0.as_bytes().ct_eq(presented.as_bytes()).into()
    }
    /// A stamp of this secret for the app tokens minted under it, so that resetting the secret invalidates them
    /// (190/460) without storing anything of the secret beside the token. Keyed by the secret, so it reveals nothing.
    pub fn epoch(&self) -> i64 {
        let mut mac = self.1.clone();
        mac.update(b"suat app-token epoch");
        let d = mac.finalize().into_bytes();
        i64::from_be_bytes(d[..8].try_into().expect("8 bytes"))
    }
    /// Mints a 32-hex-character secret like Meta's, from 128 random bits.
    pub fn generate(rng: &mut impl rand::RngCore) -> AppSecret {
        let mut b = [0u8; 16];
        rng.fill_bytes(&mut b);
        AppSecret::new(hex::encode(b))
    }
}

impl fmt::Debug for AppSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("AppSecret(<redacted>)")
    }
}

/// A computed proof (64 lower-case hex characters).
#[derive(Clone, PartialEq, Eq)]
pub struct AppSecretProof(String);

impl fmt::Debug for AppSecretProof {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("AppSecretProof(<redacted>)")
    }
}

impl AppSecretProof {
    /// The plain proof over the token alone.
    pub fn compute(secret: &AppSecret, token: &str) -> AppSecretProof {
        Self::mac(secret, token.as_bytes(), None)
    }

    /// The timed proof over `token|time`.
    pub fn compute_timed(secret: &AppSecret, token: &str, time: i64) -> AppSecretProof {
        Self::mac(secret, token.as_bytes(), Some(time))
    }

    fn mac(secret: &AppSecret, token: &[u8], time: Option<i64>) -> AppSecretProof {
        AppSecretProof(hex::encode(Self::raw(secret, token, time)))
    }

    fn raw(secret: &AppSecret, token: &[u8], time: Option<i64>) -> [u8; 32] {
        let mut m = secret.1.clone();
        m.update(token);
        if let Some(t) = time {
            m.update(b"|");
            m.update(t.to_string().as_bytes());
        }
        m.finalize().into_bytes().into()
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Checks a presented proof (and optional appsecret_time) for `token` at instant `now`.
    ///
    /// `time` is the raw appsecret_time parameter: it must be an integer no more than five minutes old (and not more
    /// than five minutes in the future, which would let a leaked proof outlive its window).
    pub fn verify(
        secret: &AppSecret,
        token: &str,
        presented: &str,
        time: Option<&str>,
        now: i64,
    ) -> Result<(), CoreError> {
        let expected = match time {
            None => Self::raw(secret, token.as_bytes(), None),
            Some(raw) => {
                let t: i64 = raw.trim().parse().map_err(|_| CoreError::ProofInvalid)?;
                if now - t > PROOF_TIME_WINDOW || t - now > PROOF_TIME_WINDOW {
                    return Err(CoreError::ProofInvalid);
                }
                Self::raw(secret, token.as_bytes(), Some(t))
            }
        };
        // Compare bytes, not hex: no allocation, and upper- or lower-case hex both decode to the same bytes.
        let mut presented_bytes = [0u8; 32];
        if hex::decode_to_slice(presented.trim(), &mut presented_bytes).is_err() {
            return Err(CoreError::ProofInvalid);
        }
        if expected.ct_eq(&presented_bytes).into() {
            Ok(())
        } else {
            Err(CoreError::ProofInvalid)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_the_wire_contract_test_vector() {
        let p = AppSecretProof::compute(&AppSecret::new("xyz789"), "abc123");
        assert_eq!(p.as_str(), "4dad02ff1693df832f9c183fe400fc4f601360be06514acb4a73edb783eec345");
    }

    #[test]
    fn verifies_plain_and_timed() {
        let s = AppSecret::new("xyz789");
        let good = "4dad02ff1693df832f9c183fe400fc4f601360be06514acb4a73edb783eec345";
        assert!(AppSecretProof::verify(&s, "abc123", good, None, 0).is_ok());
        assert!(AppSecretProof::verify(&s, "abc123", &good.to_uppercase(), None, 0).is_ok());
        assert_eq!(
            AppSecretProof::verify(&AppSecret::new("other"), "abc123", good, None, 0),
            Err(CoreError::ProofInvalid)
        );
        let timed = AppSecretProof::compute_timed(&s, "abc123", 1000);
        assert!(AppSecretProof::verify(&s, "abc123", timed.as_str(), Some("1000"), 1000 + 300).is_ok());
        assert_eq!(
            AppSecretProof::verify(&s, "abc123", timed.as_str(), Some("1000"), 1000 + 301),
            Err(CoreError::ProofInvalid)
        );
        assert_eq!(AppSecretProof::verify(&s, "abc123", timed.as_str(), None, 1000), Err(CoreError::ProofInvalid));
        assert_eq!(AppSecretProof::verify(&s, "abc123", timed.as_str(), Some("x"), 1000), Err(CoreError::ProofInvalid));
    }

    #[test]
    fn debug_never_shows_secret_material() {
        let s = AppSecret::new("xyz789");
        assert!(!format!("{s:?}").contains("xyz789"));
        let p = AppSecretProof::compute(&s, "abc123");
        assert!(!format!("{p:?}").contains("4dad"));
    }
}

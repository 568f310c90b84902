//! The token store's key: 32 raw bytes from `SUAT_STORE_KEY` (hex), or a passphrase stretched with Argon2id.
//!
//! Argon2id because it is the memory-hard KDF that RFC 9106 and OWASP recommend for passwords: a stolen store file
//! cannot be brute-forced cheaply on GPUs. Parameters and salt are stored in the file so they can be raised later.
//! The OS keyring is not used: it needs a running secret service, which headless servers (and CI) lack.

use crate::error::ClientError;
use serde::{Deserialize, Serialize};
use std::fmt;

/// Environment variable holding the raw store key, 64 hex characters.
pub const KEY_ENV: &str = "SUAT_STORE_KEY";
/// Environment variable holding the store passphrase.
pub const PASSPHRASE_ENV: &str = "SUAT_STORE_PASSPHRASE";

/// Where the store's encryption key comes from.
#[derive(Clone)]
pub enum StoreKey {
    Raw([u8; 32]),
    Passphrase(String),
}

impl fmt::Debug for StoreKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            StoreKey::Raw(_) => "StoreKey::Raw(<redacted>)",
            StoreKey::Passphrase(_) => "StoreKey::Passphrase(<redacted>)",
        })
    }
}

impl StoreKey {
    /// Parses 64 hex characters.
    pub fn from_hex(s: &str) -> Result<StoreKey, ClientError> {
        let mut key = [0u8; 32];
        hex::decode_to_slice(s.trim(), &mut key)
            .map_err(|_| ClientError::Invalid(format!("{KEY_ENV} must be 64 hex characters (32 bytes)")))?;
        Ok(StoreKey::Raw(key))
    }

    /// `SUAT_STORE_KEY` if set, else `SUAT_STORE_PASSPHRASE`.
    pub fn from_env() -> Result<StoreKey, ClientError> {
        if let Ok(k) = std::env::var(KEY_ENV) {
            if !k.trim().is_empty() {
                return StoreKey::from_hex(&k);
            }
        }
        match std::env::var(PASSPHRASE_ENV) {
            Ok(p) if !p.is_empty() => Ok(StoreKey::Passphrase(p)),
            _ => Err(ClientError::Invalid(format!(
                "the token store needs a key: set {KEY_ENV} (64 hex characters) or {PASSPHRASE_ENV} \
                 (the OS keyring is not supported in this build)"
            ))),
        }
    }

    /// The 32-byte key for this store's KDF parameters.
    pub(crate) fn derive(&self, kdf: &KdfParams) -> Result<[u8; 32], ClientError> {
        match self {
            StoreKey::Raw(k) => Ok(*k),
            StoreKey::Passphrase(p) => kdf.stretch(p.as_bytes()),
        }
    }
}

/// Argon2id parameters and salt, stored in the clear in the file header.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KdfParams {
    pub algorithm: String,
    /// Hex, 16 random bytes.
    pub salt: String,
    /// Memory in KiB.
    pub m_cost: u32,
    pub t_cost: u32,
    pub p_cost: u32,
}

impl KdfParams {
    /// Fresh salt with argon2's defaults (19 MiB, 2 passes, 1 lane: OWASP's minimum for Argon2id).
    pub fn generate() -> KdfParams {
        let mut salt = [0u8; 16];
        rand::RngCore::fill_bytes(&mut rand::rngs::OsRng, &mut salt);
        let d = argon2::Params::DEFAULT;
        KdfParams {
            algorithm: "argon2id".into(),
            salt: hex::encode(salt),
            m_cost: d.m_cost(),
            t_cost: d.t_cost(),
            p_cost: d.p_cost(),
        }
    }

    fn stretch(&self, passphrase: &[u8]) -> Result<[u8; 32], ClientError> {
        if self.algorithm != "argon2id" {
            return Err(ClientError::Invalid(format!("unsupported store KDF {:?}", self.algorithm)));
        }
        let salt = hex::decode(&self.salt).map_err(|_| ClientError::Invalid("corrupt store KDF salt".into()))?;
        let params = argon2::Params::new(self.m_cost, self.t_cost, self.p_cost, Some(32))
            .map_err(|e| ClientError::Invalid(format!("bad store KDF parameters: {e}")))?;
        let a = argon2::Argon2::new(argon2::Algorithm::Argon2id, argon2::Version::V0x13, params);
        let mut out = [0u8; 32];
        a.hash_password_into(passphrase, &salt, &mut out)
            .map_err(|e| ClientError::Invalid(format!("store key derivation failed: {e}")))?;
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn raw_keys_parse_from_hex_only() {
        assert!(matches!(StoreKey::from_hex(&"ab".repeat(32)), Ok(StoreKey::Raw(k)) if k == [0xab; 32]));
        assert!(StoreKey::from_hex("abcd").is_err());
        assert!(StoreKey::from_hex(&"zz".repeat(32)).is_err());
        assert!(!format!("{:?}", StoreKey::Passphrase("hunter2".into())).contains("hunter2"));
    }

    #[test]
    fn passphrases_stretch_deterministically_per_salt() {
        // Small parameters keep the unit test fast; the store uses the defaults.
        let kdf = KdfParams { m_cost: 64, t_cost: 1, ..KdfParams::generate() };
        let other = KdfParams { m_cost: 64, t_cost: 1, ..KdfParams::generate() };
        let k = StoreKey::Passphrase("correct horse".into());
        assert_eq!(k.derive(&kdf).unwrap(), k.derive(&kdf).unwrap());
        assert_ne!(k.derive(&kdf).unwrap(), k.derive(&other).unwrap());
        assert_ne!(k.derive(&kdf).unwrap(), StoreKey::Passphrase("wrong".into()).derive(&kdf).unwrap());
    }
}

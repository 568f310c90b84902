//! Encryption of app secrets at rest: XChaCha20-Poly1305 under a master key, random 192-bit nonce per value, the
//! app id as associated data so a ciphertext cannot be moved to another app's row.

use chacha20poly1305::{
    aead::{Aead, KeyInit, Payload},
    XChaCha20Poly1305, XNonce,
};
use std::fmt;

/// The master key for secrets at rest.
#[derive(Clone)]
pub struct SecretBox(XChaCha20Poly1305);

impl fmt::Debug for SecretBox {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SecretBox(<redacted>)")
    }
}

/// A ciphertext failed to authenticate: wrong master key or a tampered row.
#[derive(Debug, PartialEq, Eq)]
pub struct OpenError;

impl SecretBox {
    pub fn new(key: &[u8; 32]) -> SecretBox {
        SecretBox(XChaCha20Poly1305::new(key.into()))
    }

    /// `nonce || ciphertext`.
    pub fn seal(&self, rng: &mut impl rand::RngCore, aad: &[u8], plaintext: &[u8]) -> Vec<u8> {
        let mut nonce = [0u8; 24];
        rng.fill_bytes(&mut nonce);
        let ct = self
            .0
            .encrypt(XNonce::from_slice(&nonce), Payload { msg: plaintext, aad })
            .expect("XChaCha20-Poly1305 encryption cannot fail for in-memory buffers");
        let mut out = nonce.to_vec();
        out.extend_from_slice(&ct);
        out
    }

    pub fn open(&self, aad: &[u8], sealed: &[u8]) -> Result<Vec<u8>, OpenError> {
        if sealed.len() < 24 {
            return Err(OpenError);
        }
        let (nonce, ct) = sealed.split_at(24);
        self.0.decrypt(XNonce::from_slice(nonce), Payload { msg: ct, aad }).map_err(|_| OpenError)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_binds_to_aad_and_key() {
        let mut rng = rand::thread_rng();
        let b = SecretBox::new(&[7; 32]);
        let sealed = b.seal(&mut rng, b"app:1", b"s3cret");
        assert!(!sealed.windows(6).any(|w| w == b"s3cret"));
        assert_eq!(b.open(b"app:1", &sealed).unwrap(), b"s3cret");
        assert_eq!(b.open(b"app:2", &sealed), Err(OpenError));
        assert_eq!(SecretBox::new(&[8; 32]).open(b"app:1", &sealed), Err(OpenError));
    }
}

//! Access tokens: minting, keyed hashing, and the record the authority keeps for each one.
//!
//! The server never stores a token, only `HMAC-SHA256(server key, token)`: a leaked database yields no usable token and
//! cannot be brute-forced offline without the key. Tokens carry ~1,070 bits of randomness (far above the 256 required).

use crate::{
    error::TokenProblem,
    ids::{AppId, PageId, UserId},
    model::User,
    scope::Scope,
    time::{graph_date, SIXTY_DAYS},
};
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;
use std::fmt;

const BASE62: &[u8; 62] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
/// Random base62 characters after the `EAA` prefix: 180 * log2(62) ~ 1,071 bits; total length 183, inside the
/// 170-220 range real tokens have.
const TOKEN_BODY_LEN: usize = 180;

/// A bearer token in the clear. Debug is redacted; only [`AccessToken::expose`] shows it.
#[derive(Clone, PartialEq, Eq)]
pub struct AccessToken(String);

impl fmt::Debug for AccessToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("AccessToken(<redacted>)")
    }
}

impl AccessToken {
    /// Mints a user/system-user/page token: `EAA` + 180 uniformly random base62 characters.
    pub fn mint(rng: &mut impl rand::RngCore) -> AccessToken {
        let mut s = String::with_capacity(3 + TOKEN_BODY_LEN);
        s.push_str("EAA");
        s.push_str(&random_base62(rng, TOKEN_BODY_LEN));
        AccessToken(s)
    }

    /// Mints an app token `APPID|<43 base62 chars>` (256 bits), which reveals nothing of the secret.
    pub fn mint_app(rng: &mut impl rand::RngCore, app: AppId) -> AccessToken {
        AccessToken(format!("{app}|{}", random_base62(rng, 43)))
    }

    /// Mints an OAuth authorization code: `AQ` + 160 random base62 characters (~950 bits).
    pub fn mint_code(rng: &mut impl rand::RngCore) -> AccessToken {
        AccessToken(format!("AQ{}", random_base62(rng, 160)))
    }

    pub fn from_presented(s: impl Into<String>) -> AccessToken {
        AccessToken(s.into())
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

/// Uniform base62 by rejection sampling (bytes >= 248 are discarded, so no character is favoured).
fn random_base62(rng: &mut impl rand::RngCore, len: usize) -> String {
    let mut out = String::with_capacity(len);
    let mut buf = [0u8; 64];
    while out.len() < len {
        rng.fill_bytes(&mut buf);
        for &b in &buf {
            if b < 248 && out.len() < len {
                out.push(BASE62[(b % 62) as usize] as char);
            }
        }
    }
    out
}

/// The server's token-hashing key, kept with its HMAC state pre-keyed (hashing a token is on every request's path,
/// and re-deriving the key schedule each time doubled its cost).
#[derive(Clone)]
pub struct TokenKey([u8; 32], Hmac<Sha256>);

impl fmt::Debug for TokenKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("TokenKey(<redacted>)")
    }
}

impl TokenKey {
    pub fn new(bytes: [u8; 32]) -> TokenKey {
        TokenKey(bytes, Hmac::<Sha256>::new_from_slice(&bytes).expect("HMAC takes any key length"))
    }

    /// A stable page token for (source system-user token, page): a keyed PRF of both, so asking again returns the
    /// same token without the server ever storing it, and nobody without the key can predict it. HMAC in counter
    /// mode gives the 180 base62 characters (rejection-sampled like minted tokens).
    pub fn derive_page_token(&self, source: &TokenHash, page: PageId) -> AccessToken {
        let mut out = String::with_capacity(3 + TOKEN_BODY_LEN);
        out.push_str("EAA");
        let mut counter: u32 = 0;
        while out.len() < 3 + TOKEN_BODY_LEN {
            let mut m = Hmac::<Sha256>::new_from_slice(&self.0).expect("HMAC takes any key length");
            m.update(b"suat page token v1");
            m.update(&source.0);
            m.update(&page.0.to_be_bytes());
            m.update(&counter.to_be_bytes());
            for b in m.finalize().into_bytes() {
                if b < 248 && out.len() < 3 + TOKEN_BODY_LEN {
                    out.push(BASE62[(b % 62) as usize] as char);
                }
            }
            counter += 1;
        }
        AccessToken(out)
    }

    /// The stored identity of a token.
    pub fn hash(&self, token: &str) -> TokenHash {
        let mut m = self.1.clone();
        m.update(token.as_bytes());
        TokenHash(m.finalize().into_bytes().into())
    }
}

/// `HMAC-SHA256(server key, token)`: what storage keeps instead of the token.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct TokenHash(pub [u8; 32]);

impl TokenHash {
    pub fn to_hex(&self) -> String {
        hex_string(&self.0)
    }
    /// The first 16 hex digits: how logs, the journal and the audit log name a token without its hash.
    pub fn reference(&self) -> String {
        hex_string(&self.0[..8])
    }
    pub fn from_slice(b: &[u8]) -> Option<TokenHash> {
        b.try_into().ok().map(TokenHash)
    }
}

/// Lowercase hex through a buffer: `hex::encode` builds its string a `char` at a time, a visible cost where every
/// request names its token.
fn hex_string(bytes: &[u8]) -> String {
    let mut out = vec![0u8; bytes.len() * 2];
    hex::encode_to_slice(bytes, &mut out).expect("twice the length");
    String::from_utf8(out).expect("hex digits are ASCII")
}

impl fmt::Debug for TokenHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "TokenHash({}..)", &self.to_hex()[..12])
    }
}

/// What a token stands for; `debug_token`'s `type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum TokenKind {
    SystemUser,
    User,
    Page,
    App,
}

impl TokenKind {
    pub fn as_str(self) -> &'static str {
        match self {
            TokenKind::SystemUser => "SYSTEM_USER",
            TokenKind::User => "USER",
            TokenKind::Page => "PAGE",
            TokenKind::App => "APP",
        }
    }
    pub fn parse(s: &str) -> Option<TokenKind> {
        Some(match s {
            "SYSTEM_USER" => TokenKind::SystemUser,
            "USER" => TokenKind::User,
            "PAGE" => TokenKind::Page,
            "APP" => TokenKind::App,
            _ => return None,
        })
    }
}

/// Everything the authority remembers about one issued token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenRecord {
    pub hash: TokenHash,
    pub kind: TokenKind,
    pub app_id: AppId,
    /// The subject: system user or person; `None` for app tokens.
    pub user_id: Option<UserId>,
    /// The page, for page tokens.
    pub page_id: Option<PageId>,
    pub scopes: Vec<Scope>,
    pub issued_at: i64,
    /// `None` = never expires.
    pub expires_at: Option<i64>,
    pub revoked_at: Option<i64>,
    /// The token this one was refreshed from, or (for page tokens) derived from.
    pub parent: Option<TokenHash>,
    /// The subject's session epoch when issued; a later epoch (password change) invalidates it.
    pub session_epoch: i64,
}

impl TokenRecord {
    /// Checks the token's own state at `now` given the subject's current session epoch.
    /// Dependency checks (installation, page role) are in [`crate::rules`].
    pub fn check(&self, now: i64, subject_epoch: Option<i64>) -> Result<(), TokenProblem> {
        if self.revoked_at.is_some() {
            return Err(TokenProblem::Revoked);
        }
        if let Some(epoch) = subject_epoch {
            if epoch != self.session_epoch {
                return Err(TokenProblem::SessionInvalidated);
            }
        }
        if let Some(exp) = self.expires_at {
            if now >= exp {
                return Err(TokenProblem::Expired { expired_on: graph_date(exp), now: graph_date(now) });
            }
        }
        Ok(())
    }

    /// A system user's token (seed 001): permanent, or 60 days from `now` when `expiring`.
    pub fn system_user(hash: TokenHash, app: AppId, su: &User, scopes: Vec<Scope>, now: i64, expiring: bool) -> Self {
        TokenRecord {
            hash,
            kind: TokenKind::SystemUser,
            app_id: app,
            user_id: Some(su.id),
            page_id: None,
            scopes,
            issued_at: now,
            expires_at: expiring.then_some(now + SIXTY_DAYS),
            revoked_at: None,
            parent: None,
            session_epoch: su.session_epoch,
        }
    }

    /// A person's user token for `app`, living `lifetime` seconds (2 hours from a code, 60 days when long-lived).
    pub fn user(hash: TokenHash, app: AppId, person: &User, scopes: Vec<Scope>, now: i64, lifetime: i64) -> Self {
        TokenRecord {
            kind: TokenKind::User,
            expires_at: Some(now + lifetime),
            ..TokenRecord::system_user(hash, app, person, scopes, now, false)
        }
    }

    /// The stable page token derived from `source` for `page` (seed 004): no expiry of its own (it dies with its
    /// source, see [`crate::page::check_page_dependencies`]) and only the source's page permissions.
    pub fn page(hash: TokenHash, source: &TokenRecord, su: &User, page: PageId, now: i64) -> Self {
        TokenRecord {
            hash,
            kind: TokenKind::Page,
            app_id: source.app_id,
            user_id: Some(su.id),
            page_id: Some(page),
            scopes: source.scopes.iter().filter(|s| crate::scope::is_page_scope(s.as_str())).cloned().collect(),
            issued_at: now,
            expires_at: None,
            revoked_at: None,
            parent: Some(source.hash),
            session_epoch: su.session_epoch,
        }
    }

    /// An app token minted by `client_credentials`, bound to the epoch of the secret it was minted under, so that
    /// a secret reset invalidates it.
    pub fn app(hash: TokenHash, app: AppId, secret_epoch: i64, now: i64) -> Self {
        TokenRecord {
            hash,
            kind: TokenKind::App,
            app_id: app,
            user_id: None,
            page_id: None,
            scopes: vec![],
            issued_at: now,
            expires_at: None,
            revoked_at: None,
            parent: None,
            session_epoch: secret_epoch,
        }
    }

    /// The refresh of `old` (`fb_exchange_token`): same kind, app, subject and scopes, valid 60 days from `now`
    /// whatever `old` was; `old` stays valid until its own expiry.
    pub fn refreshed(hash: TokenHash, old: &TokenRecord, now: i64) -> Self {
        TokenRecord {
            hash,
            issued_at: now,
            expires_at: Some(now + SIXTY_DAYS),
            revoked_at: None,
            parent: Some(old.hash),
            ..old.clone()
        }
    }

    /// Seconds left, for `expires_in`; `None` for tokens that never expire.
    pub fn expires_in(&self, now: i64) -> Option<i64> {
        self.expires_at.map(|e| (e - now).max(0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn hashes_print_as_lowercase_hex_and_their_reference_is_its_start() {
        let h = TokenHash(std::array::from_fn(|i| (i * 37 + 5) as u8));
        let hex: String = h.0.iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(h.to_hex(), hex);
        assert_eq!(h.reference(), hex[..16]);
    }

    #[test]
    fn one_constructor_per_kind() {
        let su = User {
            id: UserId(2),
            name: "su".into(),
            business_id: None,
            kind: crate::UserKind::SystemUser { role: crate::SystemUserRole::Admin },
            session_epoch: 4,
            email: None,
        };
        let scopes = vec![Scope::from_stored("ads_read".into()), Scope::from_stored("pages_show_list".into())];
        let h = |n| TokenHash([n; 32]);
        let perm = TokenRecord::system_user(h(1), AppId(1), &su, scopes.clone(), 100, false);
        assert_eq!((perm.kind, perm.expires_at, perm.session_epoch), (TokenKind::SystemUser, None, 4));
        let exp = TokenRecord::system_user(h(2), AppId(1), &su, scopes.clone(), 100, true);
        assert_eq!(exp.expires_at, Some(100 + SIXTY_DAYS));
        let user = TokenRecord::user(h(3), AppId(1), &su, vec![], 100, 7200);
        assert_eq!((user.kind, user.expires_at), (TokenKind::User, Some(7300)));
        let page = TokenRecord::page(h(4), &exp, &su, PageId(9), 200);
        assert_eq!((page.kind, page.expires_at, page.parent), (TokenKind::Page, None, Some(h(2))));
        assert_eq!(page.scopes.iter().map(|s| s.as_str()).collect::<Vec<_>>(), ["pages_show_list"]);
        let app = TokenRecord::app(h(5), AppId(1), 77, 100);
        assert_eq!((app.kind, app.user_id, app.session_epoch), (TokenKind::App, None, 77));
        let r = TokenRecord::refreshed(h(6), &perm, 500);
        assert_eq!(
            (r.kind, r.user_id, r.expires_at, r.parent),
            (perm.kind, perm.user_id, Some(500 + SIXTY_DAYS), Some(h(1)))
        );
        assert_eq!(r.scopes, perm.scopes);
    }

    fn rec() -> TokenRecord {
        TokenRecord {
            hash: TokenHash([0; 32]),
            kind: TokenKind::SystemUser,
            app_id: AppId(1),
            user_id: Some(UserId(2)),
            page_id: None,
            scopes: vec![],
            issued_at: 100,
            expires_at: Some(200),
            revoked_at: None,
            parent: None,
            session_epoch: 0,
        }
    }

    #[test]
    fn minted_tokens_look_real_and_differ() {
        let mut rng = rand::rngs::StdRng::seed_from_u64(1);
        let a = AccessToken::mint(&mut rng);
        let b = AccessToken::mint(&mut rng);
        assert_ne!(a, b);
        assert!(a.expose().starts_with("EAA"));
        assert!((170..=220).contains(&a.expose().len()));
        assert!(a.expose().bytes().all(|c| c.is_ascii_alphanumeric()));
        assert!(!format!("{a:?}").contains(a.expose()));
        let app = AccessToken::mint_app(&mut rng, AppId(42));
        assert!(app.expose().starts_with("42|"));
    }

    #[test]
    fn page_tokens_are_stable_per_source_and_page() {
        let k = TokenKey::new([1; 32]);
        let a = k.derive_page_token(&TokenHash([5; 32]), PageId(9));
        assert_eq!(a, k.derive_page_token(&TokenHash([5; 32]), PageId(9)));
        assert_ne!(a, k.derive_page_token(&TokenHash([6; 32]), PageId(9)));
        assert_ne!(a, k.derive_page_token(&TokenHash([5; 32]), PageId(10)));
        assert_ne!(a, TokenKey::new([2; 32]).derive_page_token(&TokenHash([5; 32]), PageId(9)));
        assert!(a.expose().starts_with("EAA") && a.expose().len() == 183);
        assert!(a.expose().bytes().all(|c| c.is_ascii_alphanumeric()));
    }

    #[test]
    fn keyed_hash_depends_on_key_and_token() {
        let k1 = TokenKey::new([1; 32]);
        let k2 = TokenKey::new([2; 32]);
        assert_eq!(k1.hash("t"), k1.hash("t"));
        assert_ne!(k1.hash("t"), k2.hash("t"));
        assert_ne!(k1.hash("t"), k1.hash("u"));
    }

    #[test]
    fn lifecycle_checks_in_priority_order() {
        let r = rec();
        assert_eq!(r.check(150, Some(0)), Ok(()));
        assert_eq!(r.check(200, Some(0)).unwrap_err().subcode(), Some(463));
        assert_eq!(r.check(150, Some(1)), Err(TokenProblem::SessionInvalidated));
        let revoked = TokenRecord { revoked_at: Some(120), ..r.clone() };
        assert_eq!(revoked.check(500, Some(1)), Err(TokenProblem::Revoked));
        let forever = TokenRecord { expires_at: None, ..r };
        assert_eq!(forever.check(i64::MAX / 2, Some(0)), Ok(()));
        assert_eq!(forever.expires_in(5), None);
    }

    #[test]
    fn expired_message_names_both_dates() {
        let err = rec().check(200, None).unwrap_err().to_string();
        assert_eq!(
            err,
            "Error validating access token: Session has expired on Wednesday, 31-Dec-69 16:03:20 PST. \
             The current time is Wednesday, 31-Dec-69 16:03:20 PST."
        );
    }
}

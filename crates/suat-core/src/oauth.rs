//! The OAuth authorization-code flow's rules: codes are single-use, live ten minutes, and are bound to the exact
//! redirect_uri of the dialog; redirect URIs must be registered on the app.

use crate::{
    error::code_messages,
    ids::{AppId, UserId},
    scope::Scope,
    time::CODE_TTL,
    token::TokenHash,
    CoreError,
};

/// What the authority remembers of an issued code (the code itself is stored only as a keyed hash).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthCode {
    pub hash: TokenHash,
    pub app_id: AppId,
    pub user_id: UserId,
    pub redirect_uri: String,
    pub scopes: Vec<Scope>,
    pub created_at: i64,
    pub used_at: Option<i64>,
    /// The user's session epoch when they consented: a password change since then voids the code.
    pub session_epoch: i64,
}

/// The exchange's checks, in the order Graph reports them.
pub fn check_code_exchange(code: &AuthCode, client: AppId, redirect_uri: &str, now: i64) -> Result<(), CoreError> {
    if code.app_id != client {
        return Err(CoreError::InvalidCode(code_messages::REDIRECT_MISMATCH));
    }
    if code.used_at.is_some() {
        return Err(CoreError::InvalidCode(code_messages::USED));
    }
    if now - code.created_at >= CODE_TTL {
        return Err(CoreError::InvalidCode(code_messages::EXPIRED));
    }
    if code.redirect_uri != redirect_uri {
        return Err(CoreError::InvalidCode(code_messages::REDIRECT_MISMATCH));
    }
    Ok(())
}

/// A code carries the consent of a session: if the user's password changed since (their epoch moved on), the code
/// can no longer be exchanged, just as the tokens of that session no longer work (190/460).
pub fn check_code_session(code: &AuthCode, subject_epoch: i64) -> Result<(), CoreError> {
    if code.session_epoch == subject_epoch {
        Ok(())
    } else {
        Err(CoreError::InvalidCode(code_messages::EXPIRED))
    }
}

/// The dialog only redirects to URIs the app registered (exact match), so a code can never be sent elsewhere.
pub fn check_redirect_registered(registered: &[String], redirect_uri: &str) -> Result<(), CoreError> {
    if registered.iter().any(|r| r == redirect_uri) {
        Ok(())
    } else {
        Err(CoreError::InvalidParameter(
            "URL blocked: this redirect failed because the redirect URI is not whitelisted in the app's Client OAuth Settings"
                .into(),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn code() -> AuthCode {
        AuthCode {
            hash: TokenHash([0; 32]),
            app_id: AppId(1),
            user_id: UserId(2),
            redirect_uri: "https://app.example/cb".into(),
            scopes: vec![],
            created_at: 1000,
            used_at: None,
            session_epoch: 4,
        }
    }

    #[test]
    fn exchange_rules() {
        let c = code();
        assert_eq!(check_code_exchange(&c, AppId(1), "https://app.example/cb", 1000 + 599), Ok(()));
        assert_eq!(
            check_code_exchange(&c, AppId(1), "https://app.example/cb", 1000 + 600),
            Err(CoreError::InvalidCode(code_messages::EXPIRED))
        );
        assert_eq!(
            check_code_exchange(&c, AppId(1), "https://app.example/cb/", 1001),
            Err(CoreError::InvalidCode(code_messages::REDIRECT_MISMATCH))
        );
        let used = AuthCode { used_at: Some(1001), ..c };
        assert_eq!(
            check_code_exchange(&used, AppId(1), "https://app.example/cb", 1002),
            Err(CoreError::InvalidCode(code_messages::USED))
        );
    }

    #[test]
    fn a_password_change_voids_codes_issued_before_it() {
        assert_eq!(check_code_session(&code(), 4), Ok(()));
        assert_eq!(check_code_session(&code(), 5), Err(CoreError::InvalidCode(code_messages::EXPIRED)));
    }

    #[test]
    fn redirects_must_be_registered_exactly() {
        let reg = vec!["https://app.example/cb".to_string()];
        assert!(check_redirect_registered(&reg, "https://app.example/cb").is_ok());
        assert!(check_redirect_registered(&reg, "https://evil.example/cb").is_err());
        assert!(check_redirect_registered(&reg, "https://app.example/cb?x=1").is_err());
    }
}

//! The OAuth dialog's rules: codes are single-use, live ten minutes, and are bound to the exact redirect_uri of the
//! dialog; redirect URIs must be registered on the app; what the dialog hands back (`response_type`); and a person's
//! answers per permission, which decide what their tokens of that app carry and whether they work at all.

use crate::{
    error::code_messages,
    ids::{AppId, UserId},
    scope::Scope,
    time::CODE_TTL,
    token::{TokenHash, TokenKind, TokenRecord},
    CoreError, TokenProblem,
};

/// What the dialog hands back to the app: a code (in the query, the default), a token (in the fragment), or both
/// (`code token`: then everything goes in the fragment, as Facebook does for any flow that returns a token).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ResponseType {
    pub code: bool,
    pub token: bool,
}

impl ResponseType {
    /// `code` (also when absent), `token`, or both, separated by spaces or commas in either order.
    pub fn parse(raw: &str) -> Result<ResponseType, CoreError> {
        let mut r = ResponseType { code: false, token: false };
        for word in raw.split(|c: char| c == ',' || c.is_whitespace()).filter(|w| !w.is_empty()) {
            match word {
                "code" => r.code = true,
                "token" => r.token = true,
                other => {
                    return Err(CoreError::InvalidParameter(format!(
                        "Invalid response_type {}: use code, token or \"code token\"",
                        other.chars().take(64).collect::<String>()
                    )))
                }
            }
        }
        if !r.token {
            r.code = true;
        }
        Ok(r)
    }

    /// The canonical spelling, for the signed consent form.
    pub fn as_str(self) -> &'static str {
        match (self.code, self.token) {
            (true, true) => "code token",
            (false, true) => "token",
            _ => "code",
        }
    }
}

/// A person's answer to one permission an app asked for (`GET /me/permissions`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PermissionStatus {
    Granted,
    Declined,
}

impl PermissionStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            PermissionStatus::Granted => "granted",
            PermissionStatus::Declined => "declined",
        }
    }
    pub fn parse(s: &str) -> Option<PermissionStatus> {
        match s {
            "granted" => Some(PermissionStatus::Granted),
            "declined" => Some(PermissionStatus::Declined),
            _ => None,
        }
    }
}

/// What a person has told an app: their answer per permission (in the order first asked), and when they last
/// removed the app altogether (`DELETE /me/permissions`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Authorization {
    pub answers: Vec<(Scope, PermissionStatus)>,
    pub deauthorized_at: Option<i64>,
}

/// The consent page's answer: each requested permission is granted if its box was left ticked, declined if not.
pub fn consent_answers(requested: &[Scope], ticked: impl Fn(&Scope) -> bool) -> Vec<(Scope, PermissionStatus)> {
    requested
        .iter()
        .map(|s| (s.clone(), if ticked(s) { PermissionStatus::Granted } else { PermissionStatus::Declined }))
        .collect()
}

/// A person's token of an app is void once they removed the app after it was issued: 190/458. A token issued in the
/// same second as the removal counts as issued before it (the clock has one-second resolution; failing closed).
pub fn check_authorized(rec: &TokenRecord, auth: &Authorization) -> Result<(), TokenProblem> {
    match auth.deauthorized_at {
        Some(at) if rec.kind == TokenKind::User && rec.issued_at <= at => {
            Err(TokenProblem::AppNotInstalled(rec.app_id.to_string()))
        }
        _ => Ok(()),
    }
}

/// The scopes a person's token carries now: those it was issued with, less any the person has declined since
/// (`DELETE /me/permissions/{permission}`).
pub fn effective_scopes(issued: &[Scope], auth: &Authorization) -> Vec<Scope> {
    let declined = |s: &Scope| auth.answers.iter().any(|(a, st)| a == s && *st == PermissionStatus::Declined);
    issued.iter().filter(|s| !declined(s)).cloned().collect()
}

/// `GET /me/permissions`: the person's answers to the app, then any scope of the caller's token they were never
/// asked about (tokens made by the operator, and system users, who never see the dialog), as granted.
pub fn permission_list(token_scopes: &[Scope], auth: &Authorization) -> Vec<(Scope, PermissionStatus)> {
    let mut out = auth.answers.clone();
    for s in token_scopes {
        if !out.iter().any(|(a, _)| a == s) {
            out.push((s.clone(), PermissionStatus::Granted));
        }
    }
    out
}

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

/// A redirect URI an app may register: an absolute `http(s)` URL without a fragment (RFC 6749 3.1.2), no
/// whitespace or control characters, at most 2,000 characters; at most 100 per app.
pub fn check_redirect_uris(uris: &[String]) -> Result<(), CoreError> {
    if uris.len() > 100 {
        return Err(CoreError::InvalidParameter("an app has at most 100 redirect_uris".into()));
    }
    for u in uris {
        let rest = u.strip_prefix("https://").or_else(|| u.strip_prefix("http://"));
        let host_ok = rest.is_some_and(|r| !r.is_empty() && !r.starts_with('/'));
        if !host_ok || u.len() > 2000 || u.contains('#') || u.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(CoreError::InvalidParameter(format!(
                "redirect_uris: {u:?} is not an absolute http(s) URL without a fragment"
            )));
        }
    }
    Ok(())
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

    #[test]
    fn registrable_redirect_uris() {
        let ok = |u: &str| check_redirect_uris(&[u.to_owned()]).is_ok();
        assert!(ok("https://app.example/cb") && ok("http://127.0.0.1:8080/callback?x=1"));
        for bad in ["app.example/cb", "https://", "https:///x", "https://a.example/cb#frag", "https://a b", "ftp://x"] {
            assert!(!ok(bad), "{bad}");
        }
        assert!(check_redirect_uris(&vec!["https://a.example/".to_owned(); 101]).is_err());
    }

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
    fn response_types() {
        let rt = |raw: &str| ResponseType::parse(raw).map(ResponseType::as_str);
        assert_eq!(rt(""), Ok("code"));
        assert_eq!(rt("code"), Ok("code"));
        assert_eq!(rt("token"), Ok("token"));
        assert_eq!(rt("code token"), Ok("code token"));
        assert_eq!(rt("token,code"), Ok("code token"));
        assert!(ResponseType::parse("id_token").is_err());
    }

    fn scopes(names: &[&str]) -> Vec<Scope> {
        names.iter().map(|n| Scope::parse(n).unwrap()).collect()
    }

    #[test]
    fn answers_scopes_and_deauthorization() {
        use PermissionStatus::*;
        let asked = scopes(&["email", "public_profile", "user_posts"]);
        let answers = consent_answers(&asked, |s| s.as_str() != "user_posts");
        assert_eq!(answers.iter().map(|(_, st)| *st).collect::<Vec<_>>(), [Granted, Granted, Declined]);
        let auth = Authorization { answers, deauthorized_at: None };
        assert_eq!(effective_scopes(&scopes(&["email", "user_posts"]), &auth), scopes(&["email"]));
        let listed = permission_list(&scopes(&["email", "ads_read"]), &auth);
        assert_eq!(
            listed.iter().map(|(s, st)| (s.as_str(), st.as_str())).collect::<Vec<_>>(),
            [("email", "granted"), ("public_profile", "granted"), ("user_posts", "declined"), ("ads_read", "granted")]
        );
        let user = crate::User {
            id: UserId(2),
            name: "p".into(),
            business_id: None,
            kind: crate::UserKind::Person { admin: false },
            session_epoch: 0,
            email: None,
        };
        let rec = TokenRecord::user(TokenHash([1; 32]), AppId(1), &user, vec![], 100, 7200);
        let gone = Authorization { answers: vec![], deauthorized_at: Some(100) };
        assert_eq!(check_authorized(&rec, &gone), Err(TokenProblem::AppNotInstalled("1".into())));
        let earlier = Authorization { answers: vec![], deauthorized_at: Some(99) };
        assert_eq!(check_authorized(&rec, &earlier), Ok(()));
        assert_eq!(check_authorized(&rec, &Authorization::default()), Ok(()));
    }

    #[test]
    fn redirects_must_be_registered_exactly() {
        let reg = vec!["https://app.example/cb".to_string()];
        assert!(check_redirect_registered(&reg, "https://app.example/cb").is_ok());
        assert!(check_redirect_registered(&reg, "https://evil.example/cb").is_err());
        assert!(check_redirect_registered(&reg, "https://app.example/cb?x=1").is_err());
    }
}

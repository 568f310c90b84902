//! Pages, page roles (tasks) and stable page tokens (seed 004, "Business Login for Direct Businesses").
//!
//! A page token is derived from a system-user token and never expires on its own; it depends on the system user. The
//! cascade (documented in the README): it dies with its source token (revoked -> 466, expired -> 463), with the system
//! user's role on the page (-> 467), and with the app's installation (-> 458).

use crate::{
    error::TokenProblem,
    ids::{BusinessId, PageId, UserId},
    model::User,
    token::{TokenKind, TokenRecord},
    CoreError,
};
use serde::{Deserialize, Serialize};

/// A Facebook Page owned by a business.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Page {
    pub id: PageId,
    pub name: String,
    pub business_id: BusinessId,
    /// The page's category (`Brand`, `Software`...), as the operator seeded it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub category: Option<String>,
}

impl Page {
    /// `category_list`'s id for the page's category. Graph's category ids are Meta's own; suat derives a stable
    /// 15-digit id from the name (inferred, documented in the README), so the same category always has one id.
    pub fn category_id(category: &str) -> String {
        use sha2::{Digest, Sha256};
        let h = Sha256::digest(category.as_bytes());
        let n = u64::from_be_bytes(h[..8].try_into().expect("8 bytes")) % 900_000_000_000_000 + 100_000_000_000_000;
        n.to_string()
    }
}

/// Tasks a user can be assigned on a page.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum PageTask {
    Manage,
    CreateContent,
    Moderate,
    Advertise,
    Analyze,
}

impl PageTask {
    pub const ALL: [PageTask; 5] =
        [PageTask::Manage, PageTask::CreateContent, PageTask::Moderate, PageTask::Advertise, PageTask::Analyze];

    pub fn as_str(self) -> &'static str {
        match self {
            PageTask::Manage => "MANAGE",
            PageTask::CreateContent => "CREATE_CONTENT",
            PageTask::Moderate => "MODERATE",
            PageTask::Advertise => "ADVERTISE",
            PageTask::Analyze => "ANALYZE",
        }
    }

    pub fn parse(s: &str) -> Option<PageTask> {
        PageTask::ALL.into_iter().find(|t| t.as_str().eq_ignore_ascii_case(s.trim()))
    }
}

/// Parses a `tasks` parameter (any list encoding) into a non-empty, sorted, distinct set.
pub fn parse_tasks(raw: &str) -> Result<Vec<PageTask>, CoreError> {
    let mut out = Vec::new();
    for item in crate::wire::parse_list("tasks", raw)? {
        let t = PageTask::parse(&item).ok_or_else(|| {
            CoreError::InvalidParameter(format!(
                "Param tasks[{}] must be one of {{MANAGE, CREATE_CONTENT, MODERATE, ADVERTISE, ANALYZE}}",
                out.len()
            ))
        })?;
        out.push(t);
    }
    if out.is_empty() {
        return Err(CoreError::MissingParameter("tasks"));
    }
    out.sort();
    out.dedup();
    Ok(out)
}

/// A user's role on a page.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PageRole {
    pub page_id: PageId,
    pub user_id: UserId,
    pub tasks: Vec<PageTask>,
}

/// POST/DELETE /{page}/assigned_users: the caller must be an admin of the page's business, and the assignee a user
/// of that same business.
pub fn check_assign(caller: &User, page: &Page, assignee: &User) -> Result<(), CoreError> {
    if caller.business_id != Some(page.business_id) || !caller.is_business_admin() {
        return Err(CoreError::Permission {
            code: 200,
            message: "Only admins of the Business Manager that owns the page can assign its users".into(),
        });
    }
    if assignee.business_id != Some(page.business_id) {
        return Err(CoreError::Permission {
            code: 200,
            message: format!("User {} does not belong to the Business Manager that owns the page", assignee.id),
        });
    }
    Ok(())
}

/// GET /{page}?fields=access_token: the source must be a system user's or a person's token with at least one page
/// permission, and its user must hold a task on the page. (From a person's token the page token never expires
/// either, but dies with its source: GRAPH-WIRE §5, inferred.)
pub fn check_page_token(source: &TokenRecord, role: Option<&PageRole>) -> Result<(), CoreError> {
    if !matches!(source.kind, TokenKind::SystemUser | TokenKind::User) {
        return Err(CoreError::Permission {
            code: 200,
            message: "A page access token can only be derived from a user or system user access token".into(),
        });
    }
    if !source.scopes.iter().any(|s| crate::scope::is_page_scope(s.as_str())) {
        return Err(CoreError::Permission {
            code: 200,
            message:
                "Requires one of the page permissions (pages_show_list, pages_read_engagement, pages_manage_*, ...)"
                    .into(),
        });
    }
    if role.is_none_or(|r| r.tasks.is_empty()) {
        return Err(CoreError::Permission {
            code: 10,
            message: "The user has no task on this page: assign it with POST /{page-id}/assigned_users".into(),
        });
    }
    Ok(())
}

/// The cascade: is a page token still usable given the state of what it depends on?
/// `source` is the system-user token it was derived from, checked at `now` against the user's epoch.
pub fn check_page_dependencies(
    source: Option<&TokenRecord>,
    source_problem: Option<TokenProblem>,
    has_role: bool,
) -> Result<(), TokenProblem> {
    if source.is_none() {
        return Err(TokenProblem::Unparseable);
    }
    if let Some(p) = source_problem {
        return Err(p);
    }
    if !has_role {
        return Err(TokenProblem::Dependency);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{model::SystemUserRole, model::UserKind, scope::Scope, token::TokenHash, AppId};

    fn su() -> TokenRecord {
        TokenRecord {
            hash: TokenHash([0; 32]),
            kind: TokenKind::SystemUser,
            app_id: AppId(1),
            user_id: Some(UserId(2)),
            page_id: None,
            scopes: vec![Scope::parse("pages_show_list").unwrap()],
            issued_at: 0,
            expires_at: None,
            revoked_at: None,
            parent: None,
            session_epoch: 0,
        }
    }

    #[test]
    fn tasks_parse_in_every_encoding() {
        assert_eq!(parse_tasks("MANAGE,analyze").unwrap(), vec![PageTask::Manage, PageTask::Analyze]);
        assert_eq!(parse_tasks("['MODERATE', 'MODERATE']").unwrap(), vec![PageTask::Moderate]);
        assert!(parse_tasks("OWN").is_err());
        assert_eq!(parse_tasks(""), Err(CoreError::MissingParameter("tasks")));
    }

    #[test]
    fn assign_needs_business_admin_and_same_business_assignee() {
        let page = Page { id: PageId(9), name: "p".into(), business_id: BusinessId(1), category: None };
        let admin = User {
            id: UserId(1),
            name: "a".into(),
            business_id: Some(BusinessId(1)),
            kind: UserKind::Person { admin: true },
            session_epoch: 0,
            email: None,
        };
        let bot =
            User { id: UserId(2), kind: UserKind::SystemUser { role: SystemUserRole::Employee }, ..admin.clone() };
        assert_eq!(check_assign(&admin, &page, &bot), Ok(()));
        assert!(check_assign(&bot, &page, &admin).is_err());
        let outsider = User { business_id: Some(BusinessId(5)), ..bot.clone() };
        assert!(check_assign(&admin, &page, &outsider).is_err());
    }

    #[test]
    fn page_token_needs_page_scope_and_task() {
        let role = PageRole { page_id: PageId(9), user_id: UserId(2), tasks: vec![PageTask::Moderate] };
        assert_eq!(check_page_token(&su(), Some(&role)), Ok(()));
        assert!(check_page_token(&su(), None).unwrap_err().to_string().starts_with("(#10)"));
        let no_scope = TokenRecord { scopes: vec![Scope::parse("ads_read").unwrap()], ..su() };
        assert!(check_page_token(&no_scope, Some(&role)).is_err());
        let person = TokenRecord { kind: TokenKind::User, ..su() };
        assert_eq!(check_page_token(&person, Some(&role)), Ok(()));
        let page = TokenRecord { kind: TokenKind::Page, ..su() };
        assert!(check_page_token(&page, Some(&role)).is_err());
    }

    #[test]
    fn cascade() {
        let s = su();
        assert_eq!(check_page_dependencies(Some(&s), None, true), Ok(()));
        assert_eq!(check_page_dependencies(Some(&s), Some(TokenProblem::Revoked), true), Err(TokenProblem::Revoked));
        assert_eq!(check_page_dependencies(Some(&s), None, false), Err(TokenProblem::Dependency));
        assert_eq!(check_page_dependencies(None, None, true), Err(TokenProblem::Unparseable));
    }
}

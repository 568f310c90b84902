//! The lifecycle rules of the seed pages, as pure functions of the objects involved. A handler gathers the objects,
//! calls one of these, and only then writes; so a request that breaks a rule changes nothing.

use crate::{
    error::TokenProblem,
    model::{AccessLevel, App, AppRole, AppStatus, Business, User},
    scope::{Scope, ScopeClass},
    time::PUBLISH_ACTIONS_CUTOFF,
    token::{TokenKind, TokenRecord},
    AppId, BusinessId, CoreError,
};

fn perm(code: u32, message: impl Into<String>) -> CoreError {
    CoreError::Permission { code, message: message.into() }
}

/// Seeds 000/001: the caller must be an admin user, an admin system user or a system user of the system user's own
/// Business Manager.
pub fn check_caller_in_business(caller: &User, su: &User) -> Result<(), CoreError> {
    let same = caller.business_id.is_some() && caller.business_id == su.business_id;
    let eligible = caller.is_system_user() || caller.is_business_admin();
    if same && eligible {
        Ok(())
    } else {
        Err(perm(
            200,
            "The access token must belong to an admin user, admin system user or system user of the same Business Manager as the system user",
        ))
    }
}

/// Managing a business (its system users, the apps shared with it, its pages' people) is for its admins: admin
/// people and admin system users of that business. `what` completes "Only admins of this Business Manager can ...".
pub fn check_business_admin(caller: &User, business: crate::BusinessId, what: &str) -> Result<(), CoreError> {
    if caller.business_id == Some(business) && caller.is_business_admin() {
        Ok(())
    } else {
        Err(perm(200, format!("Only admins of this Business Manager can {what}")))
    }
}

/// Seed 000 step 3: only a developer or admin of an app may share it with a Business Manager.
pub fn check_can_share_app(caller: &User, app: &App, business: crate::BusinessId) -> Result<(), CoreError> {
    check_business_admin(caller, business, "add client apps")?;
    if !matches!(app.role_of(caller.id), Some(AppRole::Developer | AppRole::Admin)) {
        return Err(perm(
            200,
            format!("You must be a developer or admin of app {} to share it with a Business Manager", app.id),
        ));
    }
    if app.is_test_app {
        return Err(CoreError::InvalidParameter("Test apps cannot be added to a Business Manager".into()));
    }
    Ok(())
}

/// Seed 000 step 4: listing a business's system users with a token of an app the business does not own gives
/// app-scoped ids, and needs a developer or admin of that app.
pub fn check_can_list_app_scoped(caller: &User, app: &App) -> Result<(), CoreError> {
    if matches!(app.role_of(caller.id), Some(AppRole::Developer | AppRole::Admin)) {
        Ok(())
    } else {
        Err(perm(
            200,
            format!(
                "To list app-scoped system user ids for app {}, the access token must belong to a developer or admin of that app",
                app.id
            ),
        ))
    }
}

/// An app-scoped system-user id only speaks for its own app.
pub fn check_app_scoped_id(scoped_to: Option<AppId>, app: AppId) -> Result<(), CoreError> {
    match scoped_to {
        Some(a) if a != app => {
            Err(CoreError::InvalidParameter(format!("This app-scoped system user id belongs to app {a}, not {app}")))
        }
        _ => Ok(()),
    }
}

/// The target of /{id}/applications and /{id}/access_tokens must be a system user.
pub fn check_is_system_user(method: &'static str, target: &User) -> Result<(), CoreError> {
    if target.is_system_user() {
        Ok(())
    } else {
        Err(CoreError::UnknownObject { method, id: target.id.to_string() })
    }
}

/// How a business holds an app: it has it shared with it (a client app), or it owns it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Claim {
    Shared,
    Owned,
}

/// Seed 002: "apps can only target businesses (or child businesses of those businesses) that have claimed them".
/// A business holds an app it owns or has shared with it, and so does each of its child businesses; owning wins
/// over sharing whichever of the two holds it.
pub fn claim(app: &App, business: &Business) -> Option<Claim> {
    let of = |b: BusinessId| {
        if app.owner_business == Some(b) {
            Some(Claim::Owned)
        } else if app.client_businesses.contains(&b) {
            Some(Claim::Shared)
        } else {
            None
        }
    };
    [Some(business.id), business.parent_id].into_iter().flatten().filter_map(of).max()
}

/// Graph's `(#4)`: the app is over its rate limit (HTTP 403, transient).
fn app_throttled() -> CoreError {
    perm(4, "Application request limit reached")
}

/// Seed 001: "the app is not throttled, disabled, or deleted", for an app named by id (`client_id` of the OAuth
/// endpoints, `business_app` of install and generate). Deleted: code 101 `Error validating application. Application
/// has been deleted.`, as Graph answers a deleted app's client_id; disabled: the same words with "disabled"
/// (inferred); throttled: `(#4) Application request limit reached`, Graph's app rate-limit error.
pub fn check_app_active(app: &App) -> Result<(), CoreError> {
    match app.status {
        AppStatus::Active => Ok(()),
        AppStatus::Throttled => Err(app_throttled()),
        AppStatus::Disabled => Err(CoreError::AppUnavailable("Application has been disabled.")),
        AppStatus::Deleted => Err(CoreError::AppUnavailable("Application has been deleted.")),
    }
}

/// Seed 001, for the app's tokens: every token of a disabled or deleted app stops working (190, no subcode;
/// inferred), and works again if the operator restores the app. A throttled app's tokens stay valid (debug_token says
/// so), but calls made with them are refused: [`check_caller_app`].
pub fn app_token_problem(app: &App) -> Option<TokenProblem> {
    match app.status {
        AppStatus::Disabled => Some(TokenProblem::AppDisabled),
        AppStatus::Deleted => Some(TokenProblem::AppDeleted),
        AppStatus::Active | AppStatus::Throttled => None,
    }
}

/// A call made with a token (already valid) of a throttled app is refused with code 4 until the app is active again.
pub fn check_caller_app(app: &App) -> Result<(), CoreError> {
    if app.status == AppStatus::Throttled {
        return Err(app_throttled());
    }
    Ok(())
}

/// Seed 000: "POST /<APP_SCOPED_SYSTEM_USER_ID>/access_tokens is temporarily only available to apps that have queried
/// it within the last 90 days".
pub const APP_SCOPED_QUERY_WINDOW: i64 = 90 * 86_400;

/// Seed 000's 90-day rule for generating through an app-scoped id, at server time `now`. An app that never made the
/// call counts from its creation: one created within the last 90 days may (it never had the chance before), an older
/// one may not. The answer is Graph's code-200 message for data "temporarily disabled for non-active apps" of the
/// same 2018 restrictions, captured on another endpoint (inferred for this one).
pub fn check_app_scoped_query_window(app: &App, now: i64) -> Result<(), CoreError> {
    let since = app.app_scoped_last_query_at.unwrap_or(app.created_at);
    if now.saturating_sub(since) <= APP_SCOPED_QUERY_WINDOW {
        return Ok(());
    }
    Err(perm(
        200,
        "Access to this data is temporarily disabled for non-active apps or apps that have not recently accessed this data due to changes we are making to the Facebook Platform.",
    ))
}

/// Whether `su` (of `business`, its own Business Manager) may use `app` at all: an active app claimed by its
/// business or by that business's parent (seed 002), owned, or shared with the system user as a developer (seed 000);
/// or a test app on which the system user is a tester.
pub fn check_app_usable(su: &User, business: &Business, app: &App) -> Result<(), CoreError> {
    check_app_active(app)?;
    let role = app.role_of(su.id);
    if app.is_test_app {
        return match role {
            Some(AppRole::Tester | AppRole::Developer | AppRole::Admin) => Ok(()),
            None => Err(CoreError::InvalidParameter(format!(
                "Test apps cannot be added to a Business Manager. Add system user {} as a tester of test app {} instead",
                su.id, app.id
            ))),
        };
    }
    if su.business_id != Some(business.id) {
        return Err(perm(200, "The system user does not belong to a Business Manager"));
    }
    match claim(app, business) {
        None => {
            return Err(perm(
                200,
                format!("App {} is not owned by or shared with Business Manager {}", app.id, business.id),
            ))
        }
        Some(Claim::Shared) if !matches!(role, Some(AppRole::Developer | AppRole::Admin)) => {
            return Err(perm(
                200,
                format!(
                    "App {} belongs to another Business Manager: add system user {} as a developer of the app first",
                    app.id, su.id
                ),
            ));
        }
        Some(_) => {}
    }
    if app.access_level < AccessLevel::Standard {
        return Err(perm(200, "Only apps with Ads Management API standard access and above can be installed"));
    }
    Ok(())
}

/// Seed 000, steps 4-6: an app the system user's Business Manager (or its parent, seed 002) does not own is
/// installed, and its tokens are generated, through the system user's app-scoped id (listed by
/// `/{business}/system_users`), never its own id. Test apps are reached through a tester role instead, with the
/// plain id.
pub fn check_addressed_for_app(business: &Business, app: &App, by_app_scoped_id: bool) -> Result<(), CoreError> {
    let foreign = !app.is_test_app && claim(app, business) != Some(Claim::Owned);
    if foreign && !by_app_scoped_id {
        return Err(CoreError::InvalidParameter(format!(
            "App {} is not owned by the system user's Business Manager: use the system user's app-scoped id for this app, listed by /{{business-id}}/system_users",
            app.id
        )));
    }
    Ok(())
}

/// POST /{su}/applications; `business` is the system user's own.
pub fn check_install(caller: &User, su: &User, business: &Business, app: &App) -> Result<(), CoreError> {
    check_is_system_user("post", su)?;
    check_caller_in_business(caller, su)?;
    check_app_usable(su, business, app)
}

/// Whether `app` may grant each of `scopes` to a system user.
pub fn check_scopes(app: &App, scopes: &[Scope]) -> Result<(), CoreError> {
    for s in scopes {
        match s.class() {
            ScopeClass::Supported => {}
            ScopeClass::PublishActions => {
                if app.created_at >= PUBLISH_ACTIONS_CUTOFF {
                    return Err(perm(
                        200,
                        "publish_actions is deprecated and only available to apps created before April 24, 2018",
                    ));
                }
            }
            ScopeClass::Gated(cap) => {
                if !app.capabilities.iter().any(|c| c == cap) {
                    return Err(perm(200, format!("Permission {s} requires the app capability {cap}")));
                }
            }
            ScopeClass::NotForSystemUsers => {
                return Err(perm(200, format!("Permission {s} is not supported for system users")));
            }
        }
        if !app.has_permission(s.as_str()) {
            return Err(perm(200, format!("Requires extended permission: {s}")));
        }
    }
    Ok(())
}

/// POST /{su}/access_tokens (appsecret_proof is verified separately, before this); `business` is the system user's
/// own.
pub fn check_generate(
    caller: &User,
    su: &User,
    app: &App,
    business: &Business,
    installed: bool,
    scopes: &[Scope],
    expiring: bool,
) -> Result<(), CoreError> {
    check_is_system_user("post", su)?;
    check_caller_in_business(caller, su)?;
    if !installed {
        return Err(CoreError::InvalidParameter(format!(
            "System user {} has not installed app {}: POST /{}/applications first",
            su.id, app.id, su.id
        )));
    }
    check_app_usable(su, business, app)?;
    check_scopes(app, scopes)?;
    if business.must_use_expiring_tokens && !expiring {
        return Err(CoreError::InvalidParameter(format!(
            "Business {} requires expiring system user access tokens: pass set_token_expires_in_60_days=true",
            business.id
        )));
    }
    Ok(())
}

/// grant_type=fb_exchange_token: only user and system-user tokens of the client app can be exchanged. Validity of
/// the old token (463/466/460) is checked by [`TokenRecord::check`] before this.
pub fn check_refresh(client: AppId, old: &TokenRecord) -> Result<(), CoreError> {
    if !matches!(old.kind, TokenKind::SystemUser | TokenKind::User) {
        return Err(CoreError::InvalidParameter("fb_exchange_token must be a user or system user access token".into()));
    }
    if old.app_id != client {
        return Err(CoreError::InvalidParameter(format!("fb_exchange_token was not issued for app {client}")));
    }
    Ok(())
}

/// GET /oauth/revoke: client_id, the app of revoke_token, the app of access_token (and client_secret, checked before
/// this) must all be the same.
pub fn check_revoke(client: AppId, revoke: &TokenRecord, caller_app: AppId) -> Result<(), CoreError> {
    if revoke.app_id != client || caller_app != client {
        return Err(CoreError::InvalidParameter(
            "client_id, client_secret, the app of revoke_token and the app of access_token must all be the same".into(),
        ));
    }
    Ok(())
}

/// Who may call debug_token: an app token of the input token's app, any valid token of that app, or the input
/// token itself.
pub fn check_debug_caller(input_app: Option<AppId>, caller_app: AppId, same_token: bool) -> Result<(), CoreError> {
    if same_token || input_app.is_none_or(|a| a == caller_app) {
        Ok(())
    } else {
        Err(perm(
            100,
            "You must provide an app access token, or a user access token that is an owner or developer of the app",
        ))
    }
}

/// A system-user token's app must still be installed for its system user (otherwise 190/458).
pub fn check_installed(record: &TokenRecord, installed: bool) -> Result<(), TokenProblem> {
    if record.kind == TokenKind::SystemUser && !installed {
        return Err(TokenProblem::AppNotInstalled(record.app_id.to_string()));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn business_admin_sharing_and_app_scoped_listing() {
        let person = |id, admin| User {
            id: crate::UserId(id),
            name: "p".into(),
            business_id: Some(crate::BusinessId(1)),
            kind: crate::model::UserKind::Person { admin },
            session_epoch: 0,
            email: None,
        };
        let (admin, staff) = (person(1, true), person(2, false));
        assert!(check_business_admin(&admin, crate::BusinessId(1), "x").is_ok());
        let e = check_business_admin(&staff, crate::BusinessId(1), "manage its system users").unwrap_err();
        assert_eq!(e.to_string(), "(#200) Only admins of this Business Manager can manage its system users");
        assert!(check_business_admin(&admin, crate::BusinessId(2), "x").is_err());
        let mut app = App {
            id: AppId(9),
            name: "a".into(),
            owner_business: Some(crate::BusinessId(3)),
            access_level: AccessLevel::Standard,
            is_test_app: false,
            require_app_secret: false,
            permissions: vec![],
            capabilities: vec![],
            created_at: 0,
            redirect_uris: vec![],
            client_businesses: vec![],
            roles: vec![],
            status: AppStatus::Active,
            app_scoped_last_query_at: None,
        };
        assert!(check_can_share_app(&admin, &app, crate::BusinessId(1)).is_err());
        assert!(check_can_list_app_scoped(&admin, &app).is_err());
        app.roles.push((admin.id, AppRole::Developer));
        assert!(check_can_share_app(&admin, &app, crate::BusinessId(1)).is_ok());
        assert!(check_can_list_app_scoped(&admin, &app).is_ok());
        app.is_test_app = true;
        assert!(matches!(check_can_share_app(&admin, &app, crate::BusinessId(1)), Err(CoreError::InvalidParameter(_))));
    }
    use crate::{
        model::{SystemUserRole, UserKind},
        scope::parse_scopes,
        token::TokenHash,
        BusinessId, UserId,
    };

    const B: BusinessId = BusinessId(10);

    fn su(id: u64, role: SystemUserRole) -> User {
        User {
            id: UserId(id),
            name: "su".into(),
            business_id: Some(B),
            kind: UserKind::SystemUser { role },
            session_epoch: 0,
            email: None,
        }
    }
    fn person(id: u64, admin: bool, biz: Option<BusinessId>) -> User {
        User {
            id: UserId(id),
            name: "p".into(),
            business_id: biz,
            kind: UserKind::Person { admin },
            session_epoch: 0,
            email: None,
        }
    }
    fn app() -> App {
        App {
            id: AppId(100),
            name: "app".into(),
            owner_business: Some(B),
            access_level: AccessLevel::Standard,
            is_test_app: false,
            require_app_secret: false,
            permissions: vec!["ads_read".into(), "ads_management".into(), "publish_actions".into()],
            capabilities: vec![],
            created_at: 1_700_000_000,
            redirect_uris: vec![],
            client_businesses: vec![],
            roles: vec![],
            status: AppStatus::Active,
            app_scoped_last_query_at: None,
        }
    }
    fn biz() -> Business {
        Business { id: B, name: "b".into(), must_use_expiring_tokens: false, parent_id: None }
    }
    fn code(e: CoreError) -> u32 {
        match e {
            CoreError::Permission { code, .. } => code,
            CoreError::InvalidParameter(_) | CoreError::UnknownObject { .. } => 100,
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn apps_of_another_business_are_addressed_by_app_scoped_id() {
        assert_eq!(check_addressed_for_app(&biz(), &app(), false), Ok(()));
        let foreign = App { owner_business: Some(BusinessId(11)), ..app() };
        let unowned = App { owner_business: None, ..app() };
        for a in [&foreign, &unowned] {
            assert_eq!(code(check_addressed_for_app(&biz(), a, false).unwrap_err()), 100);
            assert_eq!(check_addressed_for_app(&biz(), a, true), Ok(()));
        }
        let test_app = App { is_test_app: true, ..foreign };
        assert_eq!(check_addressed_for_app(&biz(), &test_app, false), Ok(()));
    }

    #[test]
    fn callers_admin_user_admin_su_and_su_of_same_business() {
        let target = su(1, SystemUserRole::Employee);
        for caller in [person(2, true, Some(B)), su(3, SystemUserRole::Admin), su(4, SystemUserRole::Employee)] {
            assert_eq!(check_install(&caller, &target, &biz(), &app()), Ok(()));
        }
        assert_eq!(code(check_install(&person(5, false, Some(B)), &target, &biz(), &app()).unwrap_err()), 200);
        assert_eq!(
            code(check_install(&person(6, true, Some(BusinessId(11))), &target, &biz(), &app()).unwrap_err()),
            200
        );
        assert_eq!(code(check_install(&person(7, true, None), &target, &biz(), &app()).unwrap_err()), 200);
    }

    #[test]
    fn only_system_users_install() {
        let err = check_install(&person(2, true, Some(B)), &person(8, true, Some(B)), &biz(), &app()).unwrap_err();
        assert!(matches!(err, CoreError::UnknownObject { .. }));
    }

    #[test]
    fn app_must_be_standard_owned_or_shared_and_not_test() {
        let s = su(1, SystemUserRole::Admin);
        let dev = App { access_level: AccessLevel::Development, ..app() };
        assert!(check_app_usable(&s, &biz(), &dev).unwrap_err().to_string().contains("standard access"));
        let foreign = App { owner_business: Some(BusinessId(99)), ..app() };
        assert!(check_app_usable(&s, &biz(), &foreign).unwrap_err().to_string().contains("not owned by or shared"));
        let shared = App { client_businesses: vec![B], ..foreign.clone() };
        assert!(check_app_usable(&s, &biz(), &shared).unwrap_err().to_string().contains("developer"));
        let shared_dev = App { roles: vec![(s.id, AppRole::Developer)], ..shared };
        assert_eq!(check_app_usable(&s, &biz(), &shared_dev), Ok(()));
        let test = App { is_test_app: true, ..app() };
        assert!(check_app_usable(&s, &biz(), &test).unwrap_err().to_string().contains("Test apps cannot be added"));
        let tester = App { roles: vec![(s.id, AppRole::Tester)], ..test };
        assert_eq!(check_app_usable(&s, &biz(), &tester), Ok(()));
    }

    #[test]
    fn scope_rules() {
        let a = app();
        assert_eq!(check_scopes(&a, &parse_scopes("ads_read,ads_management").unwrap()), Ok(()));
        // Supported for system users but not approved for this app.
        assert!(check_scopes(&a, &parse_scopes("read_insights").unwrap())
            .unwrap_err()
            .to_string()
            .contains("Requires extended permission"));
        // publish_actions only for apps from before 2018-04-24.
        let pa = parse_scopes("publish_actions").unwrap();
        assert!(check_scopes(&a, &pa).unwrap_err().to_string().contains("April 24, 2018"));
        let old = App { created_at: PUBLISH_ACTIONS_CUTOFF - 1, ..app() };
        assert_eq!(check_scopes(&old, &pa), Ok(()));
        // Capability gated.
        let gated = parse_scopes("business_creative_asset_management").unwrap();
        let with_perm = App { permissions: vec!["business_creative_asset_management".into()], ..app() };
        assert!(check_scopes(&with_perm, &gated).unwrap_err().to_string().contains("capability"));
        let with_cap = App { capabilities: vec!["business_creative_asset_management".into()], ..with_perm };
        assert_eq!(check_scopes(&with_cap, &gated), Ok(()));
        // A real permission that system users cannot hold (the seed's own example uses it).
        let mp = parse_scopes("manage_pages").unwrap();
        assert!(check_scopes(&a, &mp).unwrap_err().to_string().contains("not supported for system users"));
    }

    #[test]
    fn generate_needs_install_and_honours_expiring_only_businesses() {
        let s = su(1, SystemUserRole::Admin);
        let caller = person(2, true, Some(B));
        let scopes = parse_scopes("ads_read").unwrap();
        assert!(check_generate(&caller, &s, &app(), &biz(), false, &scopes, false)
            .unwrap_err()
            .to_string()
            .contains("has not installed"));
        assert_eq!(check_generate(&caller, &s, &app(), &biz(), true, &scopes, false), Ok(()));
        let strict = Business { must_use_expiring_tokens: true, ..biz() };
        assert!(check_generate(&caller, &s, &app(), &strict, true, &scopes, false).is_err());
        assert_eq!(check_generate(&caller, &s, &app(), &strict, true, &scopes, true), Ok(()));
    }

    fn rec(kind: TokenKind, app: u64) -> TokenRecord {
        TokenRecord {
            hash: TokenHash([1; 32]),
            kind,
            app_id: AppId(app),
            user_id: Some(UserId(1)),
            page_id: None,
            scopes: vec![],
            issued_at: 0,
            expires_at: None,
            revoked_at: None,
            parent: None,
            session_epoch: 0,
        }
    }

    #[test]
    fn refresh_revoke_and_debug_matching() {
        assert_eq!(check_refresh(AppId(100), &rec(TokenKind::SystemUser, 100)), Ok(()));
        assert!(check_refresh(AppId(100), &rec(TokenKind::SystemUser, 101)).is_err());
        assert!(check_refresh(AppId(100), &rec(TokenKind::Page, 100)).is_err());
        assert_eq!(check_revoke(AppId(100), &rec(TokenKind::SystemUser, 100), AppId(100)), Ok(()));
        assert!(check_revoke(AppId(100), &rec(TokenKind::SystemUser, 101), AppId(100)).is_err());
        assert!(check_revoke(AppId(100), &rec(TokenKind::SystemUser, 100), AppId(101)).is_err());
        assert_eq!(check_debug_caller(Some(AppId(1)), AppId(1), false), Ok(()));
        assert_eq!(check_debug_caller(Some(AppId(1)), AppId(2), true), Ok(()));
        assert!(check_debug_caller(Some(AppId(1)), AppId(2), false)
            .unwrap_err()
            .to_string()
            .starts_with("(#100) You must provide"));
        assert_eq!(check_installed(&rec(TokenKind::SystemUser, 1), false).unwrap_err().subcode(), Some(458));
    }

    /// Seed 001: a throttled app is refused with code 4; a disabled or deleted one, by id with 101 and through its
    /// tokens with 190; an active one passes everywhere.
    #[test]
    fn throttled_disabled_and_deleted_apps() {
        let s = su(1, SystemUserRole::Admin);
        assert_eq!(check_app_active(&app()), Ok(()));
        assert_eq!(app_token_problem(&app()), None);
        assert_eq!(check_caller_app(&app()), Ok(()));
        let throttled = App { status: AppStatus::Throttled, ..app() };
        let e = check_app_active(&throttled).unwrap_err();
        assert_eq!((code(e.clone()), e.to_string().as_str()), (4, "(#4) Application request limit reached"));
        assert_eq!(check_caller_app(&throttled), Err(e));
        assert_eq!(app_token_problem(&throttled), None, "a throttled app's tokens stay valid");
        for (status, problem, message) in [
            (
                AppStatus::Disabled,
                TokenProblem::AppDisabled,
                "Error validating application. Application has been disabled.",
            ),
            (
                AppStatus::Deleted,
                TokenProblem::AppDeleted,
                "Error validating application. Application has been deleted.",
            ),
        ] {
            let gone = App { status, ..app() };
            let e = check_app_active(&gone).unwrap_err();
            assert!(matches!(e, CoreError::AppUnavailable(_)));
            assert_eq!(e.to_string(), message);
            assert_eq!(app_token_problem(&gone), Some(problem.clone()));
            assert_eq!(problem.to_string(), message);
            assert_eq!(problem.subcode(), None);
            assert_eq!(check_caller_app(&gone), Ok(()), "its tokens already fail with 190");
            // Installing or generating for it is refused too.
            assert_eq!(check_app_usable(&s, &biz(), &gone), Err(e));
        }
    }

    /// Seed 002: a child business holds what its parent claimed, owned or shared; an app claimed by neither the
    /// business nor its parent stays out of reach with the same error as before.
    #[test]
    fn child_businesses_reach_the_apps_their_parent_claimed() {
        const PARENT: BusinessId = BusinessId(5);
        let child = Business { parent_id: Some(PARENT), ..biz() };
        let s = su(1, SystemUserRole::Employee);
        let owned_by_parent = App { owner_business: Some(PARENT), ..app() };
        assert_eq!(claim(&owned_by_parent, &child), Some(Claim::Owned));
        assert_eq!(claim(&owned_by_parent, &biz()), None);
        assert_eq!(check_app_usable(&s, &child, &owned_by_parent), Ok(()));
        assert_eq!(check_addressed_for_app(&child, &owned_by_parent, false), Ok(()));
        assert!(check_app_usable(&s, &biz(), &owned_by_parent)
            .unwrap_err()
            .to_string()
            .contains("is not owned by or shared with Business Manager 10"));
        // Shared with the parent: as if shared with the child (developer role, app-scoped id).
        let shared_with_parent = App { owner_business: Some(BusinessId(99)), client_businesses: vec![PARENT], ..app() };
        assert_eq!(claim(&shared_with_parent, &child), Some(Claim::Shared));
        assert!(check_app_usable(&s, &child, &shared_with_parent).unwrap_err().to_string().contains("developer"));
        let dev = App { roles: vec![(s.id, AppRole::Developer)], ..shared_with_parent };
        assert_eq!(check_app_usable(&s, &child, &dev), Ok(()));
        assert_eq!(code(check_addressed_for_app(&child, &dev, false).unwrap_err()), 100);
        assert_eq!(check_addressed_for_app(&child, &dev, true), Ok(()));
        // Owned by the parent and shared with the child: owning wins.
        let both = App { client_businesses: vec![B], ..owned_by_parent.clone() };
        assert_eq!(claim(&both, &child), Some(Claim::Owned));
        // Claimed by another business only: refused, child or not.
        let elsewhere = App { owner_business: Some(BusinessId(99)), client_businesses: vec![BusinessId(98)], ..app() };
        assert_eq!(claim(&elsewhere, &child), None);
        let e = check_generate(&person(2, true, Some(B)), &s, &elsewhere, &child, true, &[], false).unwrap_err();
        assert_eq!(
            (code(e.clone()), e.to_string()),
            (200, "(#200) App 100 is not owned by or shared with Business Manager 10".into())
        );
        // The system user must belong to the business given.
        let stranger = User { business_id: Some(BusinessId(12)), ..s.clone() };
        assert_eq!(code(check_app_usable(&stranger, &child, &owned_by_parent).unwrap_err()), 200);
    }

    /// Seed 000: generating through an app-scoped id only within 90 days of the app's last such call, or of its
    /// creation if it never made one.
    #[test]
    fn app_scoped_generation_needs_a_query_within_90_days() {
        let created = app().created_at;
        let never = app();
        assert_eq!(check_app_scoped_query_window(&never, created + APP_SCOPED_QUERY_WINDOW), Ok(()));
        let e = check_app_scoped_query_window(&never, created + APP_SCOPED_QUERY_WINDOW + 1).unwrap_err();
        assert_eq!(code(e.clone()), 200);
        assert!(e.to_string().starts_with("(#200) Access to this data is temporarily disabled for non-active apps"));
        let recent = App { app_scoped_last_query_at: Some(created + 200 * 86_400), ..app() };
        assert_eq!(check_app_scoped_query_window(&recent, created + 250 * 86_400), Ok(()));
        assert_eq!(check_app_scoped_query_window(&recent, created + 290 * 86_400), Ok(()));
        assert!(check_app_scoped_query_window(&recent, created + 290 * 86_400 + 1).is_err());
        // A query in the "future" (the clock moved back) counts as recent.
        assert_eq!(check_app_scoped_query_window(&recent, created), Ok(()));
    }
}

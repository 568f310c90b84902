//! The operator's use cases: creating the world (businesses, apps, people, system users, pages, user tokens),
//! app roles and secret resets, password changes, the clock, reset, dump and audit, and seeding. Shared by the control
//! plane (`/_suat/...`) and `--seed`, so a seeded object and one created over HTTP are the same thing.

use crate::{Error, Result, Service};
use serde::Deserialize;
use serde_json::json;
use suat_core::{
    page::Page,
    scope::{parse_scopes, SUPPORTED},
    AccessLevel, AccessToken, App, AppId, AppRole, AppSecret, AppStatus, Business, BusinessId, PageId, SystemUserRole,
    TokenRecord, User, UserId, UserKind,
};
use suat_store::{prelude::*, AuditEntry, Dump, StoredApp};

const OPERATOR: &str = "operator";

fn id_or_new<T: std::str::FromStr>(raw: &Option<String>, what: &str) -> Result<Option<T>> {
    match raw {
        None => Ok(None),
        Some(s) => s.parse().map(Some).map_err(|_| Error::param(format!("{what} must be a numeric Graph id"))),
    }
}

use suat_core::text::{self, EMAIL_MAX, LABEL_MAX, NAME_MAX, URI_MAX};

/// One text field against its bound (and NUL, which PostgreSQL's `text` cannot hold): a `(#100)` naming it.
fn bounded(what: &str, value: &str, max: usize) -> Result<()> {
    text::check(what, value, max).map_err(Error::param)
}

/// Each item of a list against its bound, and the list against [`text::LIST_MAX`].
fn bounded_list<'a>(what: &str, values: impl IntoIterator<Item = &'a String>, max: usize) -> Result<()> {
    text::check_list(what, values, max).map_err(Error::param)
}

async fn fresh_id(svc: &Service, given: Option<u64>) -> Result<u64> {
    match given {
        Some(id) => Ok(id),
        None => Ok(svc.store.next_id().await?),
    }
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BusinessSpec {
    pub id: Option<String>,
    pub name: String,
    #[serde(default)]
    pub must_use_expiring_tokens: bool,
    /// Makes the new business a child business of this one (seed 002; listed by `/{parent}/owned_businesses`).
    pub parent_id: Option<String>,
}

pub async fn create_business(svc: &Service, spec: BusinessSpec) -> Result<BusinessId> {
    bounded("name", &spec.name, NAME_MAX)?;
    let given: Option<BusinessId> = id_or_new(&spec.id, "id")?;
    let parent: Option<BusinessId> = id_or_new(&spec.parent_id, "parent_id")?;
    if let Some(p) = parent {
        let Some(parent) = svc.store.get_business(p).await? else {
            return Err(Error::param(format!("parent_id {p} does not exist")));
        };
        // Child businesses are one level deep (inferred): the claim rule of seed 002 looks at a business and its
        // parent only.
        if parent.parent_id.is_some() {
            return Err(Error::param(format!("parent_id {p} is itself a child business and cannot own businesses")));
        }
    }
    let id = BusinessId(fresh_id(svc, given.map(|b| b.0)).await?);
    let b =
        Business { id, name: spec.name, must_use_expiring_tokens: spec.must_use_expiring_tokens, parent_id: parent };
    let audit =
        AuditEntry::new(svc.now(), "create_business", OPERATOR).detail(json!({"business": id, "parent": parent}));
    svc.store.execute(&Write::CreateBusiness(b), &audit).await?;
    Ok(id)
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AppSpec {
    pub id: Option<String>,
    pub name: String,
    /// Generated (128 random bits, hex) when absent.
    pub secret: Option<String>,
    #[schema(example = "1001")]
    pub owner_business: Option<String>,
    #[serde(default = "standard")]
    pub access_level: AccessLevel,
    #[serde(default)]
    pub test_app: bool,
    #[serde(default)]
    pub require_app_secret: bool,
    /// Defaults to every supported system-user scope.
    pub permissions: Option<Vec<String>>,
    #[serde(default)]
    pub capabilities: Vec<String>,
    /// Unix seconds; defaults to now. Set before 2018-04-24 to allow `publish_actions`.
    pub created_at: Option<i64>,
    #[serde(default)]
    pub redirect_uris: Vec<String>,
}

fn standard() -> AccessLevel {
    AccessLevel::Standard
}

pub async fn create_app(svc: &Service, spec: AppSpec) -> Result<(AppId, AppSecret)> {
    bounded("name", &spec.name, NAME_MAX)?;
    bounded_list("capabilities", &spec.capabilities, LABEL_MAX)?;
    bounded_list("redirect_uris", &spec.redirect_uris, URI_MAX)?;
    bounded_list("permissions", spec.permissions.iter().flatten(), LABEL_MAX)?;
    if let Some(secret) = &spec.secret {
        bounded("secret", secret, LABEL_MAX)?;
    }
    let given: Option<AppId> = id_or_new(&spec.id, "id")?;
    let owner: Option<BusinessId> = id_or_new(&spec.owner_business, "owner_business")?;
    if let Some(b) = owner {
        if svc.store.get_business(b).await?.is_none() {
            return Err(Error::param(format!("owner_business {b} does not exist")));
        }
    }
    let secret = match spec.secret {
        Some(s) if s.len() >= 8 && !s.contains('|') => AppSecret::new(s),
        Some(_) => return Err(Error::param("secret must be at least 8 characters and contain no '|'")),
        None => AppSecret::generate(&mut rand::rngs::OsRng),
    };
    suat_core::oauth::check_redirect_uris(&spec.redirect_uris)?;
    let permissions = spec.permissions.unwrap_or_else(|| SUPPORTED.iter().map(|s| s.to_string()).collect());
    // Validate names now so a typo in a seed file fails loudly instead of silently granting nothing.
    parse_scopes(&serde_json::to_string(&permissions).unwrap_or_default())?;
    let id = AppId(fresh_id(svc, given.map(|a| a.0)).await?);
    let app = App {
        id,
        name: spec.name,
        owner_business: owner,
        access_level: spec.access_level,
        is_test_app: spec.test_app,
        require_app_secret: spec.require_app_secret,
        permissions,
        capabilities: spec.capabilities,
        created_at: spec.created_at.unwrap_or_else(|| svc.now()),
        redirect_uris: spec.redirect_uris,
        client_businesses: vec![],
        roles: vec![],
        status: AppStatus::Active,
        app_scoped_last_query_at: None,
    };
    let stored = StoredApp { sealed_secret: svc.seal_secret(id, &secret), app };
    let audit = AuditEntry::new(svc.now(), "create_app", OPERATOR).app(id);
    svc.store.execute(&Write::CreateApp(stored), &audit).await?;
    Ok((id, secret))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PersonSpec {
    pub id: Option<String>,
    pub name: String,
    #[schema(example = "1001")]
    pub business_id: Option<String>,
    #[serde(default)]
    pub admin: bool,
    /// Sign-in password for the OAuth consent page; stored only as an argon2id hash.
    pub password: Option<String>,
    /// Answered as the `email` field (GRAPH-WIRE §5: seeded).
    pub email: Option<String>,
}

pub async fn create_person(svc: &Service, spec: PersonSpec) -> Result<UserId> {
    bounded("name", &spec.name, NAME_MAX)?;
    if let Some(e) = &spec.email {
        bounded("email", e, EMAIL_MAX)?;
    }
    let given: Option<UserId> = id_or_new(&spec.id, "id")?;
    let business: Option<BusinessId> = id_or_new(&spec.business_id, "business_id")?;
    if let Some(b) = business {
        if svc.store.get_business(b).await?.is_none() {
            return Err(Error::param(format!("business_id {b} does not exist")));
        }
    }
    if let Some(e) = &spec.email {
        if e.len() > 254 || e.split('@').count() != 2 || e.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(Error::param("email must be one address, like pat@example.com"));
        }
    }
    let id = UserId(fresh_id(svc, given.map(|u| u.0)).await?);
    let user = User {
        id,
        name: spec.name,
        business_id: business,
        kind: UserKind::Person { admin: spec.admin },
        session_epoch: 0,
        email: spec.email,
    };
    let audit = AuditEntry::new(svc.now(), "create_user", OPERATOR).subject(id);
    let phc = match &spec.password {
        Some(pw) => Some(hash_password(pw).await?),
        None => None,
    };
    svc.store.execute(&Write::CreateUser(user), &audit).await?;
    if let Some(phc) = phc {
        let audit = AuditEntry::new(svc.now(), "set_password", OPERATOR).subject(id);
        svc.store.execute(&Write::SetPassword { user: id, phc }, &audit).await?;
    }
    Ok(id)
}

/// argon2id with a random salt, off the async workers.
async fn hash_password(pw: &str) -> Result<String> {
    if pw.len() < 8 || pw.len() > 1024 {
        return Err(Error::param("password must be 8 to 1024 characters"));
    }
    let pw = pw.to_owned();
    tokio::task::spawn_blocking(move || {
        use argon2::{password_hash::SaltString, Argon2, PasswordHasher};
        let salt = SaltString::generate(&mut rand::rngs::OsRng);
        Argon2::default().hash_password(pw.as_bytes(), &salt).map(|h| h.to_string())
    })
    .await
    .map_err(|_| Error::Internal("argon2"))?
    .map_err(|_| Error::Internal("argon2"))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PageSpec {
    pub id: Option<String>,
    pub name: String,
    #[schema(example = "1001")]
    pub business_id: String,
    /// Answered as `category` and in `category_list` (e.g. `Brand`).
    pub category: Option<String>,
}

pub async fn create_page(svc: &Service, spec: PageSpec) -> Result<PageId> {
    bounded("name", &spec.name, NAME_MAX)?;
    let given: Option<PageId> = id_or_new(&spec.id, "id")?;
    let business: BusinessId =
        spec.business_id.parse().map_err(|_| Error::param("business_id must be a numeric Graph id"))?;
    if svc.store.get_business(business).await?.is_none() {
        return Err(Error::param(format!("business_id {business} does not exist")));
    }
    let id = PageId(fresh_id(svc, given.map(|p| p.0)).await?);
    if spec.category.as_ref().is_some_and(|c| c.is_empty() || c.len() > 100 || c.chars().any(char::is_control)) {
        return Err(Error::param("category must be 1 to 100 printable characters"));
    }
    let page = Page { id, name: spec.name, business_id: business, category: spec.category };
    let audit = AuditEntry::new(svc.now(), "create_page", OPERATOR).detail(json!({"page": id, "business": business}));
    svc.store.execute(&Write::CreatePage(page), &audit).await?;
    Ok(id)
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AppRoleSpec {
    #[schema(example = "4001")]
    pub user_id: String,
    pub role: AppRole,
}

/// The app dashboard's "add as developer/tester/admin" (seed 000, step 2; test apps' testers).
pub async fn add_app_role(svc: &Service, app_id: AppId, spec: AppRoleSpec) -> Result<()> {
    let user: UserId = spec.user_id.parse().map_err(|_| Error::param("user_id must be a numeric Graph id"))?;
    if svc.store.get_user(user).await?.is_none() {
        return Err(Error::param(format!("user {user} does not exist")));
    }
    let app = svc.store.get_app(app_id).await?.ok_or_else(|| Error::param(format!("app {app_id} does not exist")))?;
    let audit = AuditEntry::new(svc.now(), "app_role", OPERATOR).subject(user).app(app_id);
    svc.store.execute(&Write::SetAppRole { app: app.app.id, user, role: spec.role }, &audit).await?;
    Ok(())
}

/// "Reset app secret": a new secret; proofs and `APPID|SECRET` tokens made with the old one stop working.
/// `POST /_suat/businesses/{id}`: the business's calls-per-hour quota per app and use case (GRAPH-WIRE §8), in
/// this process only.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BusinessUpdateSpec {
    pub rate_limit: u64,
}

pub async fn update_business(svc: &Service, id: BusinessId, spec: BusinessUpdateSpec) -> Result<()> {
    svc.store.get_business(id).await?.ok_or_else(|| Error::param(format!("business {id} does not exist")))?;
    svc.limits.set_business_quota(id, Some(spec.rate_limit));
    Ok(())
}

pub async fn reset_app_secret(svc: &Service, app_id: AppId) -> Result<AppSecret> {
    let app = svc.store.get_app(app_id).await?.ok_or_else(|| Error::param(format!("app {app_id} does not exist")))?;
    let secret = AppSecret::generate(&mut rand::rngs::OsRng);
    let sealed_secret = svc.seal_secret(app.app.id, &secret);
    let audit = AuditEntry::new(svc.now(), "reset_secret", OPERATOR).app(app_id);
    svc.store.execute(&Write::ResetSecret { app: app.app.id, sealed_secret }, &audit).await?;
    Ok(secret)
}

/// `POST /_suat/apps/{id}`: what the operator changes about an existing app. At least one field; each field given
/// replaces the app's (the lists whole), the others stay.
#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AppUpdateSpec {
    /// Seed 001's states: `active`, `throttled`, `disabled`, `deleted`.
    pub status: Option<AppStatus>,
    /// Unix seconds of the app's last `POST /{app-scoped-id}/access_tokens` (seed 000's 90-day rule): set it more
    /// than 90 days back to make the app lapse.
    pub app_scoped_last_query_at: Option<i64>,
    /// The OAuth dialog's registered redirect URIs (absolute http(s), no fragment).
    pub redirect_uris: Option<Vec<String>>,
    pub require_app_secret: Option<bool>,
    pub access_level: Option<AccessLevel>,
    pub test_app: Option<bool>,
    /// The permissions the app may be granted (supported system-user scopes).
    pub permissions: Option<Vec<String>>,
    pub capabilities: Option<Vec<String>>,
    /// Calls per hour of the server clock before `(#4)` (GRAPH-WIRE §8), in this process only; `POST /_suat/reset`
    /// returns to the configured default.
    pub rate_limit: Option<u64>,
    /// Calls per hour of the server clock each person may make with the app before `(#17)`, likewise.
    pub user_rate_limit: Option<u64>,
}

/// The operator's app update, audited with what each field was and became. Bad input is refused before anything is
/// written.
pub async fn update_app(svc: &Service, app_id: AppId, spec: AppUpdateSpec) -> Result<()> {
    let AppUpdateSpec {
        status,
        app_scoped_last_query_at,
        redirect_uris,
        require_app_secret,
        access_level,
        test_app,
        permissions,
        capabilities,
        rate_limit,
        user_rate_limit,
    } = spec;
    let settings = suat_store::AppSettings {
        redirect_uris,
        require_app_secret,
        access_level,
        is_test_app: test_app,
        permissions,
        capabilities,
    };
    let stored_unchanged = status.is_none() && app_scoped_last_query_at.is_none() && settings == Default::default();
    if stored_unchanged && rate_limit.is_none() && user_rate_limit.is_none() {
        return Err(Error::param(
            "give at least one of status, app_scoped_last_query_at, redirect_uris, require_app_secret, access_level, \
             test_app, permissions, capabilities, rate_limit, user_rate_limit",
        ));
    }
    if let Some(uris) = &settings.redirect_uris {
        suat_core::oauth::check_redirect_uris(uris)?;
    }
    bounded_list("capabilities", settings.capabilities.iter().flatten(), LABEL_MAX)?;
    bounded_list("redirect_uris", settings.redirect_uris.iter().flatten(), URI_MAX)?;
    bounded_list("permissions", settings.permissions.iter().flatten(), LABEL_MAX)?;
    if let Some(p) = &settings.permissions {
        parse_scopes(&serde_json::to_string(p).unwrap_or_default())?;
    }
    let app = svc.store.get_app(app_id).await?.ok_or_else(|| Error::param(format!("app {app_id} does not exist")))?;
    if let Some(q) = rate_limit {
        svc.limits.set_app_quota(app_id, Some(q));
    }
    if let Some(q) = user_rate_limit {
        svc.limits.set_user_quota(app_id, Some(q));
    }
    if stored_unchanged {
        return Ok(());
    }
    let a = &app.app;
    let mut detail = serde_json::Map::new();
    let mut changed = |field: &str, from: serde_json::Value, to: serde_json::Value| {
        detail.insert(field.into(), json!({"from": from, "to": to}));
    };
    if let Some(to) = status {
        changed("status", json!(a.status.as_str()), json!(to.as_str()));
    }
    if let Some(to) = app_scoped_last_query_at {
        changed("app_scoped_last_query_at", json!(a.app_scoped_last_query_at), json!(to));
    }
    let c = &settings;
    if let Some(to) = &c.redirect_uris {
        changed("redirect_uris", json!(a.redirect_uris), json!(to));
    }
    if let Some(to) = c.require_app_secret {
        changed("require_app_secret", json!(a.require_app_secret), json!(to));
    }
    if let Some(to) = c.access_level {
        changed("access_level", json!(a.access_level), json!(to));
    }
    if let Some(to) = c.is_test_app {
        changed("test_app", json!(a.is_test_app), json!(to));
    }
    if let Some(to) = &c.permissions {
        changed("permissions", json!(a.permissions), json!(to));
    }
    if let Some(to) = &c.capabilities {
        changed("capabilities", json!(a.capabilities), json!(to));
    }
    let audit = AuditEntry::new(svc.now(), "update_app", OPERATOR).app(app_id).detail(detail.into());
    let w = Write::UpdateApp { app: a.id, status, app_scoped_last_query_at, settings };
    svc.store.execute(&w, &audit).await?;
    Ok(())
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SystemUserSpec {
    pub id: Option<String>,
    #[schema(example = "1001")]
    pub business_id: String,
    pub name: String,
    #[serde(default = "employee")]
    pub role: SystemUserRole,
}

fn employee() -> SystemUserRole {
    SystemUserRole::Employee
}

pub async fn create_system_user(svc: &Service, spec: SystemUserSpec) -> Result<UserId> {
    bounded("name", &spec.name, NAME_MAX)?;
    let given: Option<UserId> = id_or_new(&spec.id, "id")?;
    let business: BusinessId =
        spec.business_id.parse().map_err(|_| Error::param("business_id must be a numeric Graph id"))?;
    if svc.store.get_business(business).await?.is_none() {
        return Err(Error::param(format!("business_id {business} does not exist")));
    }
    let id = UserId(fresh_id(svc, given.map(|u| u.0)).await?);
    let user = User {
        id,
        name: spec.name,
        business_id: Some(business),
        kind: UserKind::SystemUser { role: spec.role },
        session_epoch: 0,
        email: None,
    };
    let audit = AuditEntry::new(svc.now(), "create_system_user", OPERATOR).subject(id);
    svc.store.execute(&Write::CreateUser(user), &audit).await?;
    Ok(id)
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UserTokenSpec {
    #[schema(example = "2001")]
    pub app_id: String,
    #[serde(default)]
    pub scopes: Vec<String>,
    /// Seconds until expiry, at most 100 years; absent = 60 days (a long-lived user token).
    #[schema(minimum = 1, maximum = 3_153_600_000_i64)]
    pub expires_in: Option<i64>,
    /// A fixed token string, for test suites that hard-code tokens. Must be at least 32 alphanumeric characters.
    pub access_token: Option<String>,
    /// A token that never expires (`expires_in` must then be absent): a seeded admin token that keeps working
    /// however far a test moves the server clock.
    #[serde(default)]
    pub permanent: bool,
}

/// Issues a user token (a person's login token for `app_id`), as the OAuth flow would.
pub async fn issue_user_token(svc: &Service, user: UserId, spec: UserTokenSpec) -> Result<AccessToken> {
    let app_id: AppId = spec.app_id.parse().map_err(|_| Error::param("app_id must be a numeric Graph id"))?;
    let u = svc.store.get_user(user).await?.ok_or_else(|| Error::param(format!("user {user} does not exist")))?;
    if u.is_system_user() {
        return Err(Error::param("system users get tokens through POST /{su}/access_tokens"));
    }
    if svc.store.get_app(app_id).await?.is_none() {
        return Err(Error::param(format!("app {app_id} does not exist")));
    }
    bounded_list("scopes", &spec.scopes, LABEL_MAX)?;
    let scopes = parse_scopes(&serde_json::to_string(&spec.scopes).unwrap_or_default())?;
    let token = match spec.access_token {
        Some(t) if t.len() >= 32 && t.len() <= 255 && t.bytes().all(|b| b.is_ascii_alphanumeric()) => {
            AccessToken::from_presented(t)
        }
        Some(_) => return Err(Error::param("access_token must be 32 to 255 alphanumeric characters")),
        None => AccessToken::mint(&mut rand::rngs::OsRng),
    };
    let now = svc.now();
    if spec.permanent && spec.expires_in.is_some() {
        return Err(Error::param("give expires_in or permanent, not both"));
    }
    let expires_in = spec.expires_in.unwrap_or(suat_core::time::SIXTY_DAYS);
    if !(1..=suat_core::time::MAX_LIFETIME).contains(&expires_in) {
        return Err(Error::param(format!("expires_in must be 1 to {} seconds", suat_core::time::MAX_LIFETIME)));
    }
    let mut rec = TokenRecord::user(svc.hash(token.expose()), app_id, &u, scopes, now, expires_in);
    if spec.permanent {
        rec.expires_at = None;
    }
    let audit = AuditEntry::new(now, "issue", OPERATOR)
        .subject(user)
        .app(app_id)
        .token(&rec.hash)
        .detail(json!({"kind": "USER", "expires_at": rec.expires_at}));
    svc.store.execute(&Write::IssueToken(rec.clone()), &audit).await?;
    Ok(token)
}

/// A user's "password change": every token issued to them before now fails with 190/460. Returns the new epoch.
pub async fn password_change(svc: &Service, user: UserId) -> Result<i64> {
    let audit = AuditEntry::new(svc.now(), "password_change", OPERATOR).subject(user);
    match svc.write(Write::BumpSessionEpoch(user), audit).await? {
        Written::Epoch(e) => Ok(e),
        _ => Err(Error::Internal("a password change did not report its epoch")),
    }
}

/// Moves the clock every expiry rule reads: to `set` (unix seconds) or by `advance` seconds, exactly one of them.
pub async fn set_clock(svc: &Service, set: Option<i64>, advance: Option<i64>) -> Result<()> {
    use suat_core::time::MAX_CLOCK;
    let current = svc.cache.clock_offset_now();
    let now = svc.now();
    let target = match (set, advance) {
        (Some(t), None) => Some(t),
        (None, Some(d)) => now.checked_add(d),
        _ => return Err(Error::param("give exactly one of set (unix seconds) or advance (seconds)")),
    };
    // Outside these bounds every later `now + lifetime` (and the `Date` header) could overflow.
    let Some(target) = target.filter(|t| (0..=MAX_CLOCK).contains(t)) else {
        return Err(Error::param(format!("the clock must stay between 0 and {MAX_CLOCK} (unix seconds, year 9999)")));
    };
    // Both terms are bounded now: `current` is `now` less the wall clock.
    let offset = current + (target - now);
    let audit = AuditEntry::new(svc.now(), "clock", OPERATOR).detail(json!({"offset": offset}));
    svc.write(Write::SetClockOffset(offset), audit).await?;
    Ok(())
}

/// Where `POST /_suat/reset` goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum ResetTo {
    /// The state the server had right after applying its `--seed` at start-up (clock offset 0).
    Seed,
    /// No objects, no tokens, clock offset 0.
    Empty,
}

/// `POST /_suat/reset` body: `{"to": "seed" | "empty"}`; absent: the seed if the server has one, else empty.
#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ResetSpec {
    pub to: Option<ResetTo>,
}

/// Remembers the current state as the one `reset` returns to (called once the seed is applied at start-up). The
/// clock offset is not part of it: a reset always puts the clock back to the wall clock.
pub async fn remember_seeded_state(svc: &Service) -> Result<()> {
    let mut s = svc.store.snapshot().await?;
    s.clock_offset = 0;
    *svc.seeded.write().expect("seed state lock") = Some(std::sync::Arc::new(s));
    Ok(())
}

/// Returns to the seeded state or empties the store (objects and tokens; the audit log is kept), in one write.
/// Returns where it went.
pub async fn reset(svc: &Service, spec: ResetSpec) -> Result<ResetTo> {
    let seeded = svc.seeded.read().expect("seed state lock").clone();
    let to = spec.to.unwrap_or(if seeded.is_some() { ResetTo::Seed } else { ResetTo::Empty });
    let audit = AuditEntry::new(svc.now(), "reset", OPERATOR);
    match (to, seeded) {
        (ResetTo::Empty, _) => svc.write(Write::Reset, audit.detail(json!({"to": "empty"}))).await?,
        (ResetTo::Seed, Some(s)) => {
            let w = Write::Restore(Box::new(s.as_ref().clone()));
            svc.write(w, audit.detail(json!({"to": "seed"}))).await?
        }
        (ResetTo::Seed, None) => {
            return Err(Error::param("this server was started without --seed: reset to \"empty\" instead"))
        }
    };
    // Rate-limit counters and control-plane quotas belong to the run being reset.
    svc.limits.reset();
    // So are the sign-in throttle's failure counts (the pool's peak is a process figure and stays).
    svc.signin.clear();
    svc.failures.clear();
    Ok(to)
}

/// The format tag of a snapshot document: a document of another format is refused, not half-read.
pub const SNAPSHOT_FORMAT: &str = "suat-snapshot/1";

/// `GET /_suat/snapshot`: the whole state as one document. Only hashes and sealed secrets are in it, so it opens
/// only on a server with the same master key, which `key_check` names (a keyed hash of a fixed label, not the key).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SnapshotDocument {
    pub format: String,
    pub key_check: String,
    /// Every table but the audit log (see the README's "Snapshots").
    #[schema(value_type = Object)]
    pub state: suat_store::Snapshot,
}

fn key_check(svc: &Service) -> String {
    svc.hash("suat snapshot key check v1").reference()
}

pub async fn export_snapshot(svc: &Service) -> Result<SnapshotDocument> {
    let state = svc.store.snapshot().await?;
    Ok(SnapshotDocument { format: SNAPSHOT_FORMAT.into(), key_check: key_check(svc), state })
}

/// `POST /_suat/snapshot`: replaces the whole state (but the audit log) with `doc`, in one write, audited with the
/// counts of what it holds. Refused, with nothing changed, if it was made under another master key, if its next id
/// would hand out an id it already holds, or if the database refuses a row.
pub async fn import_snapshot(svc: &Service, doc: SnapshotDocument) -> Result<()> {
    if doc.format != SNAPSHOT_FORMAT {
        return Err(Error::param(format!("format must be {SNAPSHOT_FORMAT:?}")));
    }
    if doc.key_check != key_check(svc) {
        return Err(Error::param(
            "this snapshot was made by a server with another master key: its tokens and app secrets cannot be opened here",
        ));
    }
    let s = doc.state;
    let ids = s.businesses.iter().map(|b| b.id).chain(s.users.iter().map(|u| u.id)).chain(s.apps.iter().map(|a| a.id));
    let ids = ids.chain(s.pages.iter().map(|p| p.id)).chain(s.app_scoped_ids.iter().map(|a| a.id));
    if let Some(max) = ids.max() {
        if s.next_id <= max as u64 {
            return Err(Error::param(format!(
                "next_id {} must be greater than every id in the snapshot ({max})",
                s.next_id
            )));
        }
    }
    if s.next_id == 0 || i64::try_from(s.next_id).is_err() {
        return Err(Error::param("next_id must be a positive 63-bit integer"));
    }
    let detail = json!({
        "businesses": s.businesses.len(), "users": s.users.len(), "apps": s.apps.len(), "pages": s.pages.len(),
        "tokens": s.tokens.len(), "clock_offset": s.clock_offset,
    });
    let audit = AuditEntry::new(svc.now(), "snapshot_import", OPERATOR).detail(detail);
    svc.write(Write::Restore(Box::new(s)), audit).await.map_err(|e| match e {
        Error::Store(se @ (suat_store::StoreError::Conflict(_) | suat_store::StoreError::NotFound(_))) => {
            Error::param(format!("the snapshot does not hold together: {se}"))
        }
        other => other,
    })?;
    Ok(())
}

/// The whole state, without any token or secret.
pub async fn dump(svc: &Service) -> Result<Dump> {
    Ok(svc.store.dump().await?)
}

/// The newest `limit` audit entries (1 to 10,000), oldest first.
pub async fn audit(svc: &Service, limit: i64) -> Result<Vec<AuditEntry>> {
    Ok(svc.store.audit_tail(limit.clamp(1, 10_000)).await?)
}

//! Rows as both backends read them (`sqlx::FromRow`, derived once for any database) and their conversion into
//! domain values, plus the few parameter sets written from more than one place.

use crate::{codec::*, AuditEntry, Result, StoreError, StoredApp, TokenSummary};
use sqlx::FromRow;
use suat_core::{
    oauth::AuthCode,
    page::{Page, PageRole},
    App, AppId, AppRole, Business, BusinessId, PageId, TokenRecord, User, UserId, UserKind,
};

#[derive(FromRow)]
pub(crate) struct BusinessRow {
    id: i64,
    name: String,
    must_use_expiring_tokens: bool,
    parent_id: Option<i64>,
}

/// Columns of a business row, in [`BusinessRow`]'s names.
pub(crate) const BUSINESS_COLUMNS: &str = "id, name, must_use_expiring_tokens, parent_id";

impl BusinessRow {
    pub(crate) fn domain(self) -> Result<Business> {
        Ok(Business {
            id: BusinessId(to_u64(self.id)),
            name: self.name,
            must_use_expiring_tokens: self.must_use_expiring_tokens,
            parent_id: self.parent_id.map(|p| BusinessId(to_u64(p))),
        })
    }
}

/// Columns of a user row, in [`UserRow`]'s names.
pub(crate) const USER_COLUMNS: &str = "id, name, business_id, kind, admin, role, session_epoch, email";

#[derive(FromRow)]
pub(crate) struct UserRow {
    id: i64,
    name: String,
    business_id: Option<i64>,
    kind: String,
    admin: Option<bool>,
    role: Option<String>,
    session_epoch: i64,
    email: Option<String>,
}

impl UserRow {
    pub(crate) fn domain(self) -> Result<User> {
        let kind = match (self.kind.as_str(), self.admin, self.role) {
            ("person", Some(admin), None) => UserKind::Person { admin },
            ("system_user", None, Some(role)) => UserKind::SystemUser { role: enum_from(&role, "system user role")? },
            (k, ..) => return Err(StoreError::Corrupt(format!("user {} kind {k}", self.id))),
        };
        Ok(User {
            id: UserId(to_u64(self.id)),
            name: self.name,
            business_id: self.business_id.map(|b| BusinessId(to_u64(b))),
            kind,
            session_epoch: self.session_epoch,
            email: self.email,
        })
    }
}

/// `users.kind`, `users.admin` and `users.role` of a user kind.
pub(crate) fn kind_columns(k: &UserKind) -> (&'static str, Option<bool>, Option<String>) {
    match k {
        UserKind::Person { admin } => ("person", Some(*admin), None),
        UserKind::SystemUser { role } => ("system_user", None, Some(enum_text(role))),
    }
}

/// Columns of an app row, in [`AppRow`]'s names.
pub(crate) const APP_COLUMNS: &str = "id, name, owner_business, access_level, is_test_app, require_app_secret, \
     permissions, capabilities, created_at, redirect_uris, sealed_secret, status, app_scoped_last_query_at";

#[derive(FromRow)]
pub(crate) struct AppRow {
    id: i64,
    name: String,
    owner_business: Option<i64>,
    access_level: String,
    is_test_app: bool,
    require_app_secret: bool,
    permissions: String,
    capabilities: String,
    created_at: i64,
    redirect_uris: String,
    sealed_secret: Vec<u8>,
    status: String,
    app_scoped_last_query_at: Option<i64>,
}

impl AppRow {
    pub(crate) fn id(&self) -> i64 {
        self.id
    }

    /// The app with its roles and shares (each already in the order the app lists them).
    pub(crate) fn domain(self, roles: Vec<AppRoleRow>, clients: Vec<AppClientRow>) -> Result<StoredApp> {
        Ok(StoredApp {
            app: App {
                id: AppId(to_u64(self.id)),
                name: self.name,
                owner_business: self.owner_business.map(|b| BusinessId(to_u64(b))),
                access_level: enum_from(&self.access_level, "access level")?,
                is_test_app: self.is_test_app,
                require_app_secret: self.require_app_secret,
                permissions: from_json(&self.permissions, "app permissions")?,
                capabilities: from_json(&self.capabilities, "app capabilities")?,
                created_at: self.created_at,
                redirect_uris: from_json(&self.redirect_uris, "app redirect uris")?,
                client_businesses: clients.into_iter().map(|c| BusinessId(to_u64(c.business_id))).collect(),
                roles: roles.into_iter().map(AppRoleRow::domain).collect::<Result<_>>()?,
                status: enum_from(&self.status, "app status")?,
                app_scoped_last_query_at: self.app_scoped_last_query_at,
            },
            sealed_secret: self.sealed_secret,
        })
    }
}

#[derive(FromRow)]
pub(crate) struct AppRoleRow {
    pub(crate) app_id: i64,
    user_id: i64,
    role: String,
}

impl AppRoleRow {
    fn domain(self) -> Result<(UserId, AppRole)> {
        Ok((UserId(to_u64(self.user_id)), enum_from(&self.role, "app role")?))
    }
}

#[derive(FromRow)]
pub(crate) struct AppClientRow {
    pub(crate) app_id: i64,
    business_id: i64,
}

/// Columns of a token row, in [`TokenRow`]'s names.
pub(crate) const TOKEN_COLUMNS: &str =
    "hash, kind, app_id, user_id, page_id, scopes, issued_at, expires_at, revoked_at, parent, session_epoch";

#[derive(FromRow)]
pub(crate) struct TokenRow {
    hash: Vec<u8>,
    kind: String,
    app_id: i64,
    user_id: Option<i64>,
    page_id: Option<i64>,
    scopes: String,
    issued_at: i64,
    expires_at: Option<i64>,
    revoked_at: Option<i64>,
    parent: Option<Vec<u8>>,
    session_epoch: i64,
}

impl TokenRow {
    pub(crate) fn domain(self) -> Result<TokenRecord> {
        token_from(
            &self.hash,
            &self.kind,
            self.app_id,
            self.user_id,
            self.page_id,
            &self.scopes,
            self.issued_at,
            self.expires_at,
            self.revoked_at,
            self.parent.as_deref(),
            self.session_epoch,
        )
    }
}

/// A token as bound into `INSERT INTO tokens ({TOKEN_COLUMNS})`, in that order.
pub(crate) struct TokenParams {
    pub hash: Vec<u8>,
    pub kind: &'static str,
    pub app_id: i64,
    pub user_id: Option<i64>,
    pub page_id: Option<i64>,
    pub scopes: String,
    pub issued_at: i64,
    pub expires_at: Option<i64>,
    pub revoked_at: Option<i64>,
    pub parent: Option<Vec<u8>>,
    pub session_epoch: i64,
}

impl TokenParams {
    pub(crate) fn of(t: &TokenRecord) -> Result<TokenParams> {
        Ok(TokenParams {
            hash: t.hash.0.to_vec(),
            kind: t.kind.as_str(),
            app_id: to_i64(t.app_id.0)?,
            user_id: t.user_id.map(|u| to_i64(u.0)).transpose()?,
            page_id: t.page_id.map(|p| to_i64(p.0)).transpose()?,
            scopes: scopes_json(&t.scopes),
            issued_at: t.issued_at,
            expires_at: t.expires_at,
            revoked_at: t.revoked_at,
            parent: t.parent.as_ref().map(|p| p.0.to_vec()),
            session_epoch: t.session_epoch,
        })
    }
}

/// An audit entry as bound into `INSERT INTO audit ({AUDIT_INSERT_COLUMNS})`, in that order.
pub(crate) struct AuditParams {
    pub at: i64,
    pub action: String,
    pub actor: String,
    pub subject: Option<i64>,
    pub app_id: Option<i64>,
    pub token_ref: Option<String>,
    pub detail: String,
    /// The audit chain's link (hex), on a backend that chains (see `suat_core::audit`); else `None`.
    pub prev: Option<String>,
    pub hash: Option<String>,
}

pub(crate) const AUDIT_INSERT_COLUMNS: &str = "at, action, actor, subject, app_id, token_ref, detail, prev, hash";

impl AuditParams {
    pub(crate) fn of(a: &AuditEntry) -> Result<AuditParams> {
        Ok(AuditParams {
            at: a.at,
            action: a.action.clone(),
            actor: a.actor.clone(),
            subject: a.subject.map(|u| to_i64(u.0)).transpose()?,
            app_id: a.app_id.map(|x| to_i64(x.0)).transpose()?,
            token_ref: a.token_ref.clone(),
            detail: json(&a.detail),
            prev: None,
            hash: None,
        })
    }

    /// The row as the chain covers it, once it gets `seq`.
    pub(crate) fn chain_row(&self, seq: i64) -> suat_core::audit::ChainRow<'_> {
        suat_core::audit::ChainRow {
            seq,
            at: self.at,
            action: &self.action,
            actor: &self.actor,
            subject: self.subject,
            app_id: self.app_id,
            token_ref: self.token_ref.as_deref(),
            detail: &self.detail,
        }
    }
}

/// An audit row with its chain link, as `suat audit verify` reads it.
#[derive(FromRow, Debug, Clone)]
pub(crate) struct ChainedRow {
    pub seq: i64,
    pub at: i64,
    pub action: String,
    pub actor: String,
    pub subject: Option<i64>,
    pub app_id: Option<i64>,
    pub token_ref: Option<String>,
    pub detail: String,
    pub prev: Option<String>,
    pub hash: Option<String>,
}

impl ChainedRow {
    pub(crate) fn chain_row(&self) -> suat_core::audit::ChainRow<'_> {
        suat_core::audit::ChainRow {
            seq: self.seq,
            at: self.at,
            action: &self.action,
            actor: &self.actor,
            subject: self.subject,
            app_id: self.app_id,
            token_ref: self.token_ref.as_deref(),
            detail: &self.detail,
        }
    }
}

#[derive(FromRow)]
pub(crate) struct AuditRow {
    seq: i64,
    at: i64,
    action: String,
    actor: String,
    subject: Option<i64>,
    app_id: Option<i64>,
    token_ref: Option<String>,
    detail: String,
}

impl AuditRow {
    pub(crate) fn domain(self) -> Result<AuditEntry> {
        Ok(AuditEntry {
            seq: self.seq,
            at: self.at,
            action: self.action,
            actor: self.actor,
            subject: self.subject.map(|u| UserId(to_u64(u))),
            app_id: self.app_id.map(|a| AppId(to_u64(a))),
            token_ref: self.token_ref,
            detail: from_json(&self.detail, "audit detail")?,
        })
    }
}

#[derive(FromRow)]
pub(crate) struct PageRow {
    id: i64,
    name: String,
    business_id: i64,
    category: Option<String>,
}

impl PageRow {
    pub(crate) fn domain(self) -> Result<Page> {
        Ok(Page {
            id: PageId(to_u64(self.id)),
            name: self.name,
            business_id: BusinessId(to_u64(self.business_id)),
            category: self.category,
        })
    }
}

#[derive(FromRow)]
pub(crate) struct PageRoleRow {
    page_id: i64,
    user_id: i64,
    tasks: String,
}

impl PageRoleRow {
    pub(crate) fn domain(self) -> Result<PageRole> {
        Ok(PageRole {
            page_id: PageId(to_u64(self.page_id)),
            user_id: UserId(to_u64(self.user_id)),
            tasks: from_json(&self.tasks, "page tasks")?,
        })
    }
}

/// A page joined with a user's role on it.
#[derive(FromRow)]
pub(crate) struct UserPageRow {
    #[sqlx(flatten)]
    page: PageRow,
    #[sqlx(flatten)]
    role: PageRoleRow,
}

impl UserPageRow {
    pub(crate) fn domain(self) -> Result<(Page, PageRole)> {
        Ok((self.page.domain()?, self.role.domain()?))
    }
}

/// A pair of ids: an installation (system user, app) or an app-scoped id's (app, system user).
#[derive(FromRow)]
pub(crate) struct PairRow {
    user_id: i64,
    app_id: i64,
}

impl PairRow {
    pub(crate) fn domain(self) -> (UserId, AppId) {
        (UserId(to_u64(self.user_id)), AppId(to_u64(self.app_id)))
    }
}

#[derive(FromRow)]
pub(crate) struct CodeRow {
    hash: Vec<u8>,
    app_id: i64,
    user_id: i64,
    redirect_uri: String,
    scopes: String,
    created_at: i64,
    used_at: Option<i64>,
    session_epoch: i64,
}

impl CodeRow {
    pub(crate) fn domain(self) -> Result<AuthCode> {
        Ok(AuthCode {
            hash: hash_from(&self.hash)?,
            app_id: AppId(to_u64(self.app_id)),
            user_id: UserId(to_u64(self.user_id)),
            redirect_uri: self.redirect_uri,
            scopes: scopes_from(&self.scopes)?,
            created_at: self.created_at,
            used_at: self.used_at,
            session_epoch: self.session_epoch,
        })
    }
}

/// A token row as the dump shows it: no hash, only its audit reference.
pub(crate) fn summary(t: &TokenRecord) -> TokenSummary {
    TokenSummary {
        token_ref: t.hash.reference(),
        kind: t.kind.as_str().to_owned(),
        app_id: t.app_id,
        user_id: t.user_id,
        scopes: t.scopes.iter().map(|s| s.as_str().to_owned()).collect(),
        issued_at: t.issued_at,
        expires_at: t.expires_at,
        revoked_at: t.revoked_at,
    }
}

//! The objects of the Business Manager world the seeds talk about: businesses, people, system users and apps.

use crate::ids::{AppId, BusinessId, UserId};
use serde::{Deserialize, Serialize};

/// A Business Manager.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Business {
    pub id: BusinessId,
    pub name: String,
    /// "Must use expiring tokens": generating a permanent system-user token is refused.
    #[serde(default)]
    pub must_use_expiring_tokens: bool,
    /// The business this one is a child of (`/{parent}/owned_businesses`). Seed 002: an app claimed by the parent
    /// may also target this business. One level only: a child business has no children of its own.
    #[serde(default)]
    pub parent_id: Option<BusinessId>,
}

/// System user roles as the Graph spells them (`role` on POST /{business}/system_users).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "UPPERCASE")]
pub enum SystemUserRole {
    Admin,
    Employee,
}

impl SystemUserRole {
    pub fn as_str(self) -> &'static str {
        match self {
            SystemUserRole::Admin => "ADMIN",
            SystemUserRole::Employee => "EMPLOYEE",
        }
    }
    pub fn parse(s: &str) -> Option<SystemUserRole> {
        match s.trim().to_ascii_uppercase().as_str() {
            "ADMIN" => Some(SystemUserRole::Admin),
            "EMPLOYEE" | "" => Some(SystemUserRole::Employee),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum UserKind {
    /// A person; `admin` when they are an admin of their business.
    Person {
        admin: bool,
    },
    SystemUser {
        role: SystemUserRole,
    },
}

/// A person or a system user.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct User {
    pub id: UserId,
    pub name: String,
    /// The business the user belongs to; people may belong to none.
    pub business_id: Option<BusinessId>,
    pub kind: UserKind,
    /// Bumped on "password change"; tokens issued under an older epoch are invalid (190/460).
    #[serde(default)]
    pub session_epoch: i64,
    /// A person's email, as the operator seeded it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
}

impl User {
    pub fn is_system_user(&self) -> bool {
        matches!(self.kind, UserKind::SystemUser { .. })
    }
    /// Admin user or admin system user.
    pub fn is_business_admin(&self) -> bool {
        matches!(self.kind, UserKind::Person { admin: true } | UserKind::SystemUser { role: SystemUserRole::Admin })
    }
}

/// Ads Management API access tier. Only Standard and above can be installed for system users.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum AccessLevel {
    Development,
    Standard,
    Advanced,
}

/// Where an app stands with the platform. Seed 001 names the states that stop an app from revoking tokens ("not
/// throttled, disabled, or deleted"); suat also stops the app's tokens and credentials working while it is in them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum AppStatus {
    #[default]
    Active,
    /// Over its rate limit: calls are refused for now (code 4), tokens stay valid.
    Throttled,
    /// Disabled by the platform: its tokens and credentials stop working until it is restored.
    Disabled,
    /// Deleted by its admins: its tokens and credentials stop working.
    Deleted,
}

impl AppStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            AppStatus::Active => "active",
            AppStatus::Throttled => "throttled",
            AppStatus::Disabled => "disabled",
            AppStatus::Deleted => "deleted",
        }
    }
}

/// A user's role on an app (from the app dashboard).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum AppRole {
    Admin,
    Developer,
    Tester,
}

/// An app. Its secret is kept apart (sealed at rest) and never part of this value.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct App {
    pub id: AppId,
    pub name: String,
    pub owner_business: Option<BusinessId>,
    pub access_level: AccessLevel,
    pub is_test_app: bool,
    /// "Require App Secret": every call with this app's tokens needs appsecret_proof.
    pub require_app_secret: bool,
    /// Permissions the app has been approved for; tokens can only carry these.
    pub permissions: Vec<String>,
    /// Capabilities that unlock gated permissions.
    pub capabilities: Vec<String>,
    /// Unix seconds; decides whether `publish_actions` is still visible.
    pub created_at: i64,
    /// OAuth redirect URIs the dialog accepts.
    #[serde(default)]
    pub redirect_uris: Vec<String>,
    /// Businesses the app is shared with (`client_apps`).
    #[serde(default)]
    pub client_businesses: Vec<BusinessId>,
    /// People and system users with a role on the app.
    #[serde(default)]
    pub roles: Vec<(UserId, AppRole)>,
    /// Seed 001's throttled / disabled / deleted, set by the operator.
    #[serde(default)]
    pub status: AppStatus,
    /// Server-clock unix seconds of the app's last successful `POST /{app-scoped-id}/access_tokens` (seed 000: that
    /// call is only available to apps that made it within the last 90 days); `None` if it never did.
    #[serde(default)]
    pub app_scoped_last_query_at: Option<i64>,
}

impl App {
    pub fn role_of(&self, user: UserId) -> Option<AppRole> {
        self.roles.iter().find(|(u, _)| *u == user).map(|(_, r)| *r)
    }
    pub fn has_permission(&self, scope: &str) -> bool {
        self.permissions.iter().any(|p| p == scope)
    }
}

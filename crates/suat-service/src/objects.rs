//! Reading objects (the token's subject, users, businesses, apps), a business's app and page edges, and sharing an
//! app with a business (`client_apps`, seed 000 step 3).

use crate::{caller::Caller, Error, Result, Service};
use serde_json::json;
use suat_core::{page::Page, rules, App, AppId, Business, BusinessId, CoreError, TokenKind, User, UserId};
use suat_store::prelude::*;

/// What `GET /{id}` found, among what the caller may see.
pub enum Object {
    User(User),
    Business(Business),
    App(std::sync::Arc<StoredApp>),
}

/// A business's edges that list apps.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum AppEdge {
    Owned,
    Clients,
}

fn unknown(id: u64, method: &'static str) -> Error {
    CoreError::UnknownObject { method, id: id.to_string() }.into()
}

/// A user is visible to itself and to users of its business.
fn visible(caller: Option<&User>, u: &User) -> bool {
    caller.is_some_and(|c| c.id == u.id || (u.business_id.is_some() && u.business_id == c.business_id))
}

/// The subject of `/me`: the page of a page token, else the token's user.
pub enum Me {
    Page(Page),
    User(User),
}

impl Service {
    /// GET /me: the token's subject (for a page token, the page). App tokens have none (2500).
    pub async fn me(&self, caller: &Caller) -> Result<Me> {
        if let Some(rec) = caller.record().filter(|r| r.kind == TokenKind::Page) {
            if let Some(page_id) = rec.page_id {
                if let Some(page) = self.store.get_page(page_id).await? {
                    return Ok(Me::Page(page));
                }
            }
        }
        match &caller.resolved.user {
            Some(u) => Ok(Me::User(u.clone())),
            None => Err(CoreError::NoCurrentUser.into()),
        }
    }

    /// GET /{id} for users, businesses and apps (pages have their own use case).
    pub async fn object(&self, caller: &Caller, id: u64) -> Result<Object> {
        let me = caller.resolved.user.as_ref();
        if let Some(u) = self.store.get_user(UserId(id)).await? {
            return if visible(me, &u) { Ok(Object::User(u)) } else { Err(unknown(id, "get")) };
        }
        if let Some(b) = self.store.get_business(BusinessId(id)).await? {
            return if me.and_then(|u| u.business_id) == Some(b.id) {
                Ok(Object::Business(b))
            } else {
                Err(unknown(id, "get"))
            };
        }
        if let Some(a) = self.store.get_app(AppId(id)).await? {
            return Ok(Object::App(a));
        }
        Err(unknown(id, "get"))
    }

    /// A user the caller may see (for `/{user}/assigned_pages`).
    pub async fn visible_user(&self, caller: &Caller, id: UserId) -> Result<User> {
        let u = self.store.get_user(id).await?.ok_or_else(|| unknown(id.0, "get"))?;
        if visible(caller.resolved.user.as_ref(), &u) {
            Ok(u)
        } else {
            Err(unknown(id.0, "get"))
        }
    }

    /// The business, if the caller is one of its members.
    async fn member_business(&self, caller: &Caller, business: BusinessId) -> Result<Business> {
        let b = self.store.get_business(business).await?.ok_or_else(|| unknown(business.0, "get"))?;
        if caller.user()?.business_id != Some(b.id) {
            return Err(unknown(business.0, "get"));
        }
        Ok(b)
    }

    /// GET /{business}/owned_pages, for members of the business.
    pub async fn business_pages(&self, caller: &Caller, business: BusinessId) -> Result<Vec<Page>> {
        let b = self.member_business(caller, business).await?;
        Ok(self.store.list_business_pages(b.id).await?)
    }

    /// GET /{business}/owned_businesses: its child businesses (seed 002), for members of the business.
    pub async fn child_businesses(&self, caller: &Caller, business: BusinessId) -> Result<Vec<Business>> {
        let b = self.member_business(caller, business).await?;
        Ok(self.store.list_child_businesses(b.id).await?)
    }

    /// GET /{business}/owned_apps and /client_apps, for members of the business.
    pub async fn business_apps(&self, caller: &Caller, business: BusinessId, edge: AppEdge) -> Result<Vec<App>> {
        let b = self.member_business(caller, business).await?;
        let dump = self.store.dump().await?;
        Ok(dump
            .apps
            .into_iter()
            .filter(|a| match edge {
                AppEdge::Owned => a.owner_business == Some(b.id),
                AppEdge::Clients => a.client_businesses.contains(&b.id),
            })
            .collect())
    }

    /// POST /{business}/client_apps: shares an app owned elsewhere with this business. The caller must be an admin
    /// of the business and a developer or admin of the app.
    pub async fn share_app(&self, caller: &Caller, business: BusinessId, app_id: AppId, now: i64) -> Result<()> {
        let user = caller.user()?;
        self.load_business(business, "post").await?;
        let app = self
            .store
            .get_app(app_id)
            .await?
            .ok_or_else(|| Error::param(format!("Param app_id must be a valid app ID: {app_id}")))?;
        rules::check_can_share_app(user, &app.app, business)?;
        if app.app.owner_business != Some(business) && !app.app.client_businesses.contains(&business) {
            let audit = AuditEntry::new(now, "share_app", user.id.to_string())
                .app(app_id)
                .detail(json!({"business": business}));
            self.write(Write::ShareApp { app: app_id, business }, audit).await?;
        }
        Ok(())
    }
}

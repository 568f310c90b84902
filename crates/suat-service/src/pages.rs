//! Pages and the stable page token (seed 004): page roles, a page's token for a system user, and the pages a user
//! has a role on.

use crate::{caller::Caller, Error, Result, Service};
use serde_json::json;
use suat_core::{
    page::{self, Page, PageRole, PageTask},
    CoreError, PageId, TokenRecord, User, UserId,
};
use suat_store::{prelude::*, StoreError};

impl Service {
    /// The page a path id names, if it is one.
    pub async fn find_page(&self, id: PageId) -> Result<Option<Page>> {
        Ok(self.store.get_page(id).await?)
    }

    async fn load_assignee(&self, id: UserId) -> Result<User> {
        self.store.get_user(id).await?.ok_or_else(|| Error::param(format!("Param user must be a valid user ID: {id}")))
    }

    /// POST /{page}/assigned_users: gives `user` `tasks` on the page.
    pub async fn assign(
        &self,
        caller: &Caller,
        page: &Page,
        user: UserId,
        tasks: Vec<PageTask>,
        now: i64,
    ) -> Result<()> {
        let caller_user = caller.user()?;
        let assignee = self.load_assignee(user).await?;
        page::check_assign(caller_user, page, &assignee)?;
        let role = PageRole { page_id: page.id, user_id: user, tasks };
        let audit = AuditEntry::new(now, "assign_page", caller_user.id.to_string())
            .subject(user)
            .detail(json!({"page": page.id, "tasks": role.tasks.iter().map(|t| t.as_str()).collect::<Vec<_>>()}));
        self.write(Write::SetPageRole(role), audit).await?;
        Ok(())
    }

    /// DELETE /{page}/assigned_users: page tokens of that user for this page die with the role (467).
    pub async fn unassign(&self, caller: &Caller, page: &Page, user: UserId, now: i64) -> Result<()> {
        let caller_user = caller.user()?;
        let assignee = self.load_assignee(user).await?;
        page::check_assign(caller_user, page, &assignee)?;
        if self.store.get_page_role(page.id, user).await?.is_none() {
            return Err(Error::param(format!("User {user} has no role on page {}", page.id)));
        }
        let audit = AuditEntry::new(now, "unassign_page", caller_user.id.to_string())
            .subject(user)
            .detail(json!({"page": page.id}));
        self.write(Write::RemovePageRole { page: page.id, user }, audit).await?;
        Ok(())
    }

    /// Who may read a page's roles: admins of its business and users with a role on it.
    async fn check_can_read(&self, caller: &Caller, page: &Page) -> Result<()> {
        let user = caller.user()?;
        let admin = user.business_id == Some(page.business_id) && user.is_business_admin();
        if admin || self.store.get_page_role(page.id, user.id).await?.is_some() {
            Ok(())
        } else {
            Err(CoreError::UnknownObject { method: "get", id: page.id.to_string() }.into())
        }
    }

    /// GET /{page}/assigned_users: the people and system users with a role on the page.
    pub async fn assigned_users(&self, caller: &Caller, page: &Page) -> Result<Vec<(User, PageRole)>> {
        self.check_can_read(caller, page).await?;
        let mut out = Vec::new();
        for role in self.store.list_page_roles(page.id).await? {
            if let Some(u) = self.store.get_user(role.user_id).await? {
                out.push((u, role));
            }
        }
        Ok(out)
    }

    /// The stable page token for the caller's system-user (or person's) token on `page`, recorded (by hash) on first
    /// derivation.
    pub async fn page_token(&self, caller: &Caller, page: &Page, now: i64) -> Result<String> {
        let source = caller.record().ok_or_else(|| -> Error {
            CoreError::Permission {
                code: 200,
                message: "A page access token needs a user or system user access token".into(),
            }
            .into()
        })?;
        let user = caller.user()?;
        let role = self.store.get_page_role(page.id, user.id).await?;
        page::check_page_token(source, role.as_ref())?;
        let token = self.keys.token.derive_page_token(&source.hash, page.id);
        let hash = self.hash(token.expose());
        if self.store.get_token(&hash).await?.is_none() {
            let rec = TokenRecord::page(hash, source, user, page.id, now);
            let audit = AuditEntry::new(now, "issue", user.id.to_string())
                .subject(user.id)
                .app(source.app_id)
                .token(&hash)
                .detail(json!({"kind": "PAGE", "page": page.id, "from": source.hash.reference()}));
            match self.write(Write::IssueToken(rec), audit).await {
                // Two concurrent first derivations insert the same row; the loser's token is the same string.
                Ok(_) | Err(Error::Store(StoreError::Conflict(_))) => {}
                Err(e) => return Err(e),
            }
        }
        Ok(token.expose().to_owned())
    }

    /// GET /{page}: whether the caller may read it, and whether the caller's token is this page's own token.
    pub async fn read_page(&self, caller: &Caller, page: &Page) -> Result<bool> {
        // A page token may read its own page.
        let own_page = caller.record().is_some_and(|r| r.page_id == Some(page.id));
        if !own_page {
            self.check_can_read(caller, page).await?;
        }
        Ok(own_page)
    }

    /// The caller's role on a page, if any.
    pub async fn my_role(&self, caller: &Caller, page: &Page) -> Result<Option<PageRole>> {
        match caller.user() {
            Ok(u) => Ok(self.store.get_page_role(page.id, u.id).await?),
            Err(_) => Ok(None),
        }
    }

    /// The pages `user` has a role on, by page id.
    pub async fn user_pages(&self, user: UserId) -> Result<Vec<(Page, PageRole)>> {
        Ok(self.store.list_user_pages(user).await?)
    }
}

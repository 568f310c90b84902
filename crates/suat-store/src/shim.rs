//! Maps the store traits onto each backend's per-operation methods.

macro_rules! delegate_store {
    ($ty:ty) => {
        #[async_trait::async_trait]
        impl $crate::Tokens for $ty {
            async fn get_token(
                &self,
                hash: &suat_core::TokenHash,
            ) -> $crate::Result<Option<std::sync::Arc<suat_core::TokenRecord>>> {
                <$ty>::get_token(self, hash).await
            }
            async fn get_code(
                &self,
                hash: &suat_core::TokenHash,
            ) -> $crate::Result<Option<suat_core::oauth::AuthCode>> {
                <$ty>::get_code(self, hash).await
            }
        }

        #[async_trait::async_trait]
        impl $crate::Directory for $ty {
            async fn next_id(&self) -> $crate::Result<u64> {
                <$ty>::next_id(self).await
            }
            async fn get_business(&self, id: suat_core::BusinessId) -> $crate::Result<Option<suat_core::Business>> {
                <$ty>::get_business(self, id).await
            }
            async fn get_user(&self, id: suat_core::UserId) -> $crate::Result<Option<suat_core::User>> {
                <$ty>::get_user(self, id).await
            }
            async fn list_system_users(&self, b: suat_core::BusinessId) -> $crate::Result<Vec<suat_core::User>> {
                <$ty>::list_system_users(self, b).await
            }
            async fn get_password_hash(&self, user: suat_core::UserId) -> $crate::Result<Option<String>> {
                <$ty>::get_password_hash(self, user).await
            }
            async fn get_app(&self, id: suat_core::AppId) -> $crate::Result<Option<std::sync::Arc<$crate::StoredApp>>> {
                <$ty>::get_app(self, id).await
            }
            async fn is_installed(&self, su: suat_core::UserId, app: suat_core::AppId) -> $crate::Result<bool> {
                <$ty>::is_installed(self, su, app).await
            }
            async fn app_scoped_id(
                &self,
                app: suat_core::AppId,
                su: suat_core::UserId,
            ) -> $crate::Result<suat_core::UserId> {
                <$ty>::app_scoped_id(self, app, su).await
            }
            async fn resolve_app_scoped_id(
                &self,
                id: suat_core::UserId,
            ) -> $crate::Result<Option<(suat_core::AppId, suat_core::UserId)>> {
                <$ty>::resolve_app_scoped_id(self, id).await
            }
            async fn get_page(&self, id: suat_core::PageId) -> $crate::Result<Option<suat_core::page::Page>> {
                <$ty>::get_page(self, id).await
            }
            async fn list_business_pages(
                &self,
                b: suat_core::BusinessId,
            ) -> $crate::Result<Vec<suat_core::page::Page>> {
                <$ty>::list_business_pages(self, b).await
            }
            async fn get_page_role(
                &self,
                page: suat_core::PageId,
                user: suat_core::UserId,
            ) -> $crate::Result<Option<suat_core::page::PageRole>> {
                <$ty>::get_page_role(self, page, user).await
            }
            async fn list_page_roles(&self, page: suat_core::PageId) -> $crate::Result<Vec<suat_core::page::PageRole>> {
                <$ty>::list_page_roles(self, page).await
            }
            async fn list_user_pages(
                &self,
                user: suat_core::UserId,
            ) -> $crate::Result<Vec<(suat_core::page::Page, suat_core::page::PageRole)>> {
                <$ty>::list_user_pages(self, user).await
            }
        }

        #[async_trait::async_trait]
        impl $crate::AuditLog for $ty {
            async fn audit_tail(&self, limit: i64) -> $crate::Result<Vec<$crate::AuditEntry>> {
                <$ty>::audit_tail(self, limit).await
            }
        }

        #[async_trait::async_trait]
        impl $crate::Operator for $ty {
            async fn clock_offset(&self) -> $crate::Result<i64> {
                <$ty>::clock_offset(self).await
            }
            async fn dump(&self) -> $crate::Result<$crate::Dump> {
                <$ty>::dump(self).await
            }
            fn subscribe(&self) -> Option<tokio::sync::mpsc::UnboundedReceiver<$crate::Invalidation>> {
                <$ty>::changes(self)
            }
        }

        #[async_trait::async_trait]
        impl $crate::Writes for $ty {
            async fn execute(&self, w: &$crate::Write, a: &$crate::AuditEntry) -> $crate::Result<$crate::Written> {
                use $crate::{Write as W, Written as D};
                Ok(match w {
                    W::CreateBusiness(b) => self.create_business(b, a).await.map(|_| D::Done)?,
                    W::CreateUser(u) => self.create_user(u, a).await.map(|_| D::Done)?,
                    W::SetPassword { user, phc } => self.set_password_hash(*user, phc, a).await.map(|_| D::Done)?,
                    W::BumpSessionEpoch(u) => D::Epoch(self.bump_session_epoch(*u, a).await?),
                    W::CreateApp(app) => self.create_app(app, a).await.map(|_| D::Done)?,
                    W::SetAppRole { app, user, role } => {
                        if <$ty>::get_user(self, *user).await?.is_none() {
                            return Err($crate::StoreError::NotFound(format!("user {user}")));
                        }
                        let mut s = self.app_for_update(*app).await?;
                        s.app.roles.retain(|(u, _)| u != user);
                        s.app.roles.push((*user, *role));
                        self.update_app(&s, a).await.map(|_| D::Done)?
                    }
                    W::ShareApp { app, business } => {
                        let mut s = self.app_for_update(*app).await?;
                        let new = !s.app.client_businesses.contains(business);
                        if new {
                            s.app.client_businesses.push(*business);
                        }
                        self.update_app(&s, a).await?;
                        D::Changed(new)
                    }
                    W::ResetSecret { app, sealed_secret } => {
                        let mut s = self.app_for_update(*app).await?;
                        s.sealed_secret = sealed_secret.clone();
                        self.update_app(&s, a).await.map(|_| D::Done)?
                    }
                    W::Install { su, app } => D::Changed(self.install_app(*su, *app, a).await?),
                    W::Uninstall { su, app } => D::Changed(self.uninstall_app(*su, *app, a).await?),
                    W::IssueToken(t) => self.insert_token(t, a).await.map(|_| D::Done)?,
                    W::RefreshToken(t) => self.refresh_token(t, a).await.map(|_| D::Done)?,
                    W::RevokeToken { hash, at } => D::Changed(self.revoke_token(hash, *at, a).await?),
                    W::RevokeAllForUser { user, at } => D::Count(self.revoke_all_for_user(*user, *at, a).await?),
                    W::CreatePage(p) => self.create_page(p, a).await.map(|_| D::Done)?,
                    W::SetPageRole(r) => self.set_page_role(r, a).await.map(|_| D::Done)?,
                    W::RemovePageRole { page, user } => D::Changed(self.remove_page_role(*page, *user, a).await?),
                    W::InsertCode(c) => self.insert_code(c, a).await.map(|_| D::Done)?,
                    W::RedeemCode { hash, at, token } => {
                        self.redeem_code(hash, *at, token, a).await.map(|_| D::Done)?
                    }
                    W::SetClockOffset(o) => self.set_clock_offset(*o, a).await.map(|_| D::Done)?,
                    W::AuditOnly => self.append_audit(a).await.map(|_| D::Done)?,
                    W::Reset => self.reset(a).await.map(|_| D::Done)?,
                })
            }
        }

        impl $ty {
            async fn app_for_update(&self, app: suat_core::AppId) -> $crate::Result<$crate::StoredApp> {
                <$ty>::get_app(self, app)
                    .await?
                    .map(|s| $crate::StoredApp::clone(&s))
                    .ok_or_else(|| $crate::StoreError::NotFound(format!("app {app}")))
            }
        }
    };
}
pub(crate) use delegate_store;

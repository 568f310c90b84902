//! `/me/permissions`: what a person has told an app (granted or declined, per permission), removing the app
//! altogether, and taking back one permission.

use crate::{actor, caller::Caller, Result, Service};
use serde_json::json;
use suat_core::{
    oauth::{permission_list, PermissionStatus},
    scope::Scope,
    CoreError, User, UserKind,
};
use suat_store::prelude::*;

/// The person or system user behind the caller's token; `/me` means nobody for an app token (2500).
fn me(c: &Caller) -> Result<&User> {
    Ok(c.resolved.user.as_ref().ok_or(CoreError::NoCurrentUser)?)
}

impl Service {
    /// `GET /me/permissions`: the caller's answers to the app of its token, then its token's other scopes as
    /// granted (system users never see the dialog: their token's scopes are their permissions).
    pub async fn permissions(&self, c: &Caller) -> Result<Vec<(Scope, PermissionStatus)>> {
        let user = me(c)?;
        let scopes = c.record().map(|r| r.scopes.clone()).unwrap_or_default();
        let auth = match user.kind {
            UserKind::Person { .. } => self.store.get_authorization(user.id, c.app().app.id).await?,
            UserKind::SystemUser { .. } => Default::default(),
        };
        Ok(permission_list(&scopes, &auth))
    }

    /// `DELETE /me/permissions`: the app loses the caller altogether. For a person, every token of theirs for the
    /// app issued until now fails with 190/458 (the caller's own included); for a system user this is the
    /// uninstallation, with the same effect.
    pub async fn deauthorize(&self, c: &Caller, now: i64) -> Result<()> {
        let (user, app) = (me(c)?, c.app().app.id);
        let (action, write) = match user.kind {
            UserKind::Person { .. } => ("deauthorize", Write::Deauthorize { user: user.id, app, at: now }),
            UserKind::SystemUser { .. } => ("uninstall", Write::Uninstall { su: user.id, app }),
        };
        let audit = AuditEntry::new(now, action, actor(Some(user.id), app)).subject(user.id).app(app);
        self.write(write, audit.detail(json!({"via": "DELETE /me/permissions"}))).await?;
        Ok(())
    }

    /// `DELETE /me/permissions/{permission}`: a person takes one permission back; it is `declined` from now on,
    /// and gone from the scopes of their tokens of the app. A system user's permissions are its token's scopes,
    /// fixed when it was generated (code 200).
    pub async fn remove_permission(&self, c: &Caller, permission: &str, now: i64) -> Result<()> {
        let (user, app) = (me(c)?, c.app().app.id);
        let permission = Scope::parse(permission)?;
        if let UserKind::SystemUser { .. } = user.kind {
            return Err(CoreError::Permission {
                code: 200,
                message:
                    "A system user's permissions are the scopes of its token: generate a token with the scopes it needs"
                        .into(),
            }
            .into());
        }
        let audit = AuditEntry::new(now, "decline_permission", actor(Some(user.id), app))
            .subject(user.id)
            .app(app)
            .detail(json!({"permission": permission.as_str()}));
        self.write(Write::DeclinePermission { user: user.id, app, permission }, audit).await?;
        Ok(())
    }
}

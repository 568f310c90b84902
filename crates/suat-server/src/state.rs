//! Shared server state: the store, the keys, the control-plane key and the clock every expiry rule reads.

use crate::{config::Keys, error::GraphError};
use std::sync::Arc;
use suat_core::AppSecret;
#[allow(unused_imports)]
use suat_store::prelude::*;
use suat_store::{CachedStore, Store, StoredApp};

#[derive(Clone)]
pub struct AppState(pub Arc<Inner>);

pub struct Inner {
    /// The store behind its read cache (as a trait object, for handlers).
    pub store: Arc<dyn Store>,
    /// The same cache, for the clock offset every request reads.
    pub cache: Arc<CachedStore>,
    pub keys: Keys,
    pub admin_key: String,
    pub api_version: String,
    /// `facebook-api-version` for requests without a version in the path, built once.
    pub api_version_header: axum::http::HeaderValue,
    /// Opened app secrets, keyed by app and tied to the exact cached `StoredApp` they came from: a reset secret
    /// arrives as a new `Arc` from the store cache, so a stale entry can never match (the held `Arc` prevents reuse of
    /// its address).
    pub opened: std::sync::RwLock<std::collections::HashMap<suat_core::AppId, (Arc<StoredApp>, AppSecret)>>,
}

impl std::ops::Deref for AppState {
    type Target = Inner;
    fn deref(&self) -> &Inner {
        &self.0
    }
}

impl Inner {
    /// The server's notion of now (unix seconds): wall clock plus the control-plane offset.
    pub fn now(&self) -> i64 {
        let wall =
            std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs() as i64).unwrap_or(0);
        wall + self.cache.clock_offset_now()
    }

    /// Associated data binding a sealed secret to its app.
    pub fn secret_aad(app: suat_core::AppId) -> Vec<u8> {
        format!("app:{app}").into_bytes()
    }

    pub fn seal_secret(&self, app: suat_core::AppId, secret: &AppSecret) -> Vec<u8> {
        self.keys.secrets.seal(&mut rand::rngs::OsRng, &Self::secret_aad(app), secret.expose().as_bytes())
    }

    /// An app's secret in the clear, opened once per stored version of the app.
    pub fn app_secret(&self, app: &Arc<StoredApp>) -> Result<AppSecret, GraphError> {
        if let Some((held, secret)) = self.opened.read().expect("secret cache lock").get(&app.app.id) {
            if Arc::ptr_eq(held, app) {
                return Ok(secret.clone());
            }
        }
        let secret = self.open_secret(app)?;
        let mut map = self.opened.write().expect("secret cache lock");
        if map.len() > 10_000 {
            map.clear();
        }
        map.insert(app.app.id, (app.clone(), secret.clone()));
        Ok(secret)
    }

    /// Decrypts an app's secret. Failure means the master key does not match the database: a server fault.
    fn open_secret(&self, app: &StoredApp) -> Result<AppSecret, GraphError> {
        let plain = self.keys.secrets.open(&Self::secret_aad(app.app.id), &app.sealed_secret).map_err(|_| {
            tracing::error!(app = %app.app.id, "cannot open app secret: wrong master key or tampered row");
            GraphError::internal()
        })?;
        String::from_utf8(plain).map(AppSecret::new).map_err(|_| GraphError::internal())
    }
}

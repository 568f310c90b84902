//! The client side of system-user access tokens (SUAT): every call of Meta's token lifecycle (install, generate,
//! inspect, refresh, revoke, revoke all, page tokens) against the Graph API or any suat server, plus what a team
//! needs around it: zero-downtime rotation with pluggable deploy targets, an encrypted local token store, and a
//! watcher that rotates before expiry.
//!
//! Nothing here prints or logs a token, secret or proof: their types redact themselves in `Debug`, and errors never
//! carry them.

pub mod client;
pub mod debug;
pub mod deploy;
pub mod error;
pub mod fsutil;
pub mod metrics;
pub mod oauth;
pub mod page;
pub mod rotate;
pub mod store;
pub mod system_user;
pub mod watch;

pub use client::{Caller, GraphClient, ServerClock, DEFAULT_API_VERSION, DEFAULT_GRAPH_URL};
pub use debug::{Me, TokenInfo};
pub use deploy::{CommandTarget, DeployTarget, Deployment, FileTarget, StoreEntryTarget, TargetSpec};
pub use error::{ClientError, GraphApiError, RotationFailure, RotationStage};
pub use oauth::Refreshed;
pub use page::PageAccount;
pub use rotate::{rotate, rotate_profile, verify_token, RotationReport, RotationRequest};
pub use store::{Profile, StoreKey, TokenStore, WatchState};
pub use system_user::GenerateRequest;
pub use watch::{due, watch_pass, Clock, Due, WatchConfig, Watcher};

/// appsecret_proof for `token` (timed when `time` is given), as the Graph expects it.
pub fn appsecret_proof(secret: &suat_core::AppSecret, token: &str, time: Option<i64>) -> suat_core::AppSecretProof {
    match time {
        Some(t) => suat_core::AppSecretProof::compute_timed(secret, token, t),
        None => suat_core::AppSecretProof::compute(secret, token),
    }
}

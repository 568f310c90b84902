//! Pure domain of system-user access tokens, as Meta's seed pages describe them.
//!
//! Everything here is deterministic: the clock is a number the caller passes in and randomness comes from an RNG the
//! caller supplies, so every rule can be unit-tested without IO. Storage and HTTP live in other crates.

pub mod audit;
pub mod crypto;
pub mod error;
pub mod ids;
pub mod limits;
pub mod model;
pub mod oauth;
pub mod page;
pub mod proof;
pub mod rules;
pub mod scope;
pub mod signin;
pub mod text;
pub mod time;
pub mod token;
pub mod wire;

pub use error::{CoreError, TokenProblem};
pub use ids::{AppId, BusinessId, PageId, UserId};
pub use model::{AccessLevel, App, AppRole, AppStatus, Business, SystemUserRole, User, UserKind};
pub use proof::{AppSecret, AppSecretProof};
pub use scope::Scope;
pub use token::{AccessToken, TokenHash, TokenKey, TokenKind, TokenRecord};

//! System-user scopes, as listed in seed 001 ("Supported scopes for system users").
//!
//! Three tiers: the plain supported list; `publish_actions`, visible only to apps created before 2018-04-24; and the
//! permissions gated by an app capability. The seed's capability table lost its permission column in scraping, so we
//! read it as each capability gating the permission of the same name (recorded as an inference in the README).

use serde::{Deserialize, Deserializer, Serialize};
use std::{borrow::Cow, fmt};

/// Scopes any installed app with the permission may grant a system user.
pub const SUPPORTED: &[&str] = &[
    "ads_management",
    "ads_read",
    "attribution_read",
    "business_management",
    "catalog_management",
    "commerce_account_manage_orders",
    "commerce_account_read_orders",
    "commerce_account_read_settings",
    "instagram_basic",
    "instagram_branded_content_ads_brand",
    "instagram_branded_content_brand",
    "instagram_content_publish",
    "instagram_manage_comments",
    "instagram_manage_insights",
    "instagram_manage_messages",
    "instagram_shopping_tag_products",
    "leads_retrieval",
    "manage_notifications",
    "page_events",
    "pages_manage_ads",
    "pages_manage_cta",
    "pages_manage_engagement",
    "pages_manage_instant_articles",
    "pages_manage_metadata",
    "pages_manage_posts",
    "pages_messaging",
    "pages_read_engagement",
    "pages_read_user_content",
    "pages_show_list",
    "private_computation_access",
    "publish_video",
    "read_audience_network_insights",
    "read_insights",
    "read_page_mailboxes",
    "rsvp_event",
    "whatsapp_business_management",
    "whatsapp_business_messaging",
];

/// Deprecated; only apps created before [`crate::time::PUBLISH_ACTIONS_CUTOFF`] may request it.
pub const PUBLISH_ACTIONS: &str = "publish_actions";

/// (permission, capability the app must hold).
pub const CAPABILITY_GATED: &[(&str, &str)] = &[
    ("business_creative_asset_management", "business_creative_asset_management"),
    ("commerce_public_api_beta_testing", "commerce_public_api_beta_testing"),
];

/// Older names that appear in Meta's own examples (`manage_pages`) and in real user tokens, accepted as known
/// permissions so a request naming them gets a permission error rather than "not a permission".
pub const LEGACY_KNOWN: &[&str] = &["manage_pages", "publish_pages", "email", "public_profile", "user_posts"];

/// Scopes a page token carries when derived from a system-user token (the page-related subset).
pub fn is_page_scope(s: &str) -> bool {
    s.starts_with("pages_") || s == "read_insights" || s == "page_events" || s == "read_page_mailboxes"
}

/// A permission name known to this authority. Names of the lists above are held as `&'static str`, so a scope
/// costs no allocation to make or to clone (token records carry them, and the token cache copies them out on every
/// hit); any other name read back from storage is held as a string of its own.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(transparent)]
pub struct Scope(Cow<'static, str>);

impl<'de> Deserialize<'de> for Scope {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Scope, D::Error> {
        String::deserialize(d).map(Scope::from_stored)
    }
}

/// The static copy of a name of the lists above.
fn known(s: &str) -> Option<&'static str> {
    SUPPORTED
        .iter()
        .chain(std::iter::once(&PUBLISH_ACTIONS))
        .chain(CAPABILITY_GATED.iter().map(|(p, _)| p))
        .chain(LEGACY_KNOWN)
        .find(|k| **k == s)
        .copied()
}

/// Where a scope stands for system users.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScopeClass {
    Supported,
    PublishActions,
    Gated(&'static str),
    /// A real permission that system users cannot be granted.
    NotForSystemUsers,
}

impl Scope {
    /// Parses a permission name; unknown names are code 3962.
    pub fn parse(s: &str) -> Result<Scope, crate::CoreError> {
        let s = s.trim();
        match known(s) {
            Some(k) => Ok(Scope(Cow::Borrowed(k))),
            None => Err(crate::CoreError::InvalidScope(s.chars().take(100).collect())),
        }
    }

    /// Trusted construction for values read back from storage.
    pub fn from_stored(s: String) -> Scope {
        Scope(known(&s).map_or(Cow::Owned(s), Cow::Borrowed))
    }

    fn classify(s: &str) -> Option<ScopeClass> {
        if SUPPORTED.contains(&s) {
            Some(ScopeClass::Supported)
        } else if s == PUBLISH_ACTIONS {
            Some(ScopeClass::PublishActions)
        } else if let Some((_, cap)) = CAPABILITY_GATED.iter().find(|(p, _)| *p == s) {
            Some(ScopeClass::Gated(cap))
        } else if LEGACY_KNOWN.contains(&s) {
            Some(ScopeClass::NotForSystemUsers)
        } else {
            None
        }
    }

    pub fn class(&self) -> ScopeClass {
        Self::classify(&self.0).unwrap_or(ScopeClass::NotForSystemUsers)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Parses a raw scope parameter (any list encoding) into distinct scopes, order kept. Besides the Graph encodings,
/// items may be separated by spaces: RFC 6749 3.3 joins scopes with spaces, and the general-purpose OAuth2 clients
/// (oauthlib, Authlib, simple-oauth2) send them so. A permission name never contains a space.
pub fn parse_scopes(raw: &str) -> Result<Vec<Scope>, crate::CoreError> {
    let mut out: Vec<Scope> = Vec::new();
    for item in crate::wire::parse_list("scope", raw)? {
        for word in item.split_whitespace() {
            let s = Scope::parse(word)?;
            if !out.contains(&s) {
                out.push(s);
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classifies_every_tier() {
        assert_eq!(Scope::parse("ads_read").unwrap().class(), ScopeClass::Supported);
        assert_eq!(Scope::parse("publish_actions").unwrap().class(), ScopeClass::PublishActions);
        assert!(matches!(
            Scope::parse("business_creative_asset_management").unwrap().class(),
            ScopeClass::Gated("business_creative_asset_management")
        ));
        assert_eq!(Scope::parse("manage_pages").unwrap().class(), ScopeClass::NotForSystemUsers);
        assert_eq!(Scope::parse("ads_mgmt"), Err(crate::CoreError::InvalidScope("ads_mgmt".into())));
    }

    #[test]
    fn known_names_are_static_and_others_kept() {
        for name in SUPPORTED.iter().chain([&PUBLISH_ACTIONS]).chain(LEGACY_KNOWN) {
            assert!(matches!(Scope::parse(name).unwrap().0, Cow::Borrowed(_)), "{name}");
            assert!(matches!(Scope::from_stored(name.to_string()).0, Cow::Borrowed(_)), "{name}");
        }
        let odd = Scope::from_stored("retired_permission".into());
        assert_eq!((odd.as_str(), matches!(odd.0, Cow::Owned(_))), ("retired_permission", true));
        let read: Scope = serde_json::from_str("\"ads_read\"").unwrap();
        assert_eq!((read.clone(), matches!(read.0, Cow::Borrowed(_))), (Scope::parse("ads_read").unwrap(), true));
        assert_eq!(serde_json::to_string(&read).unwrap(), "\"ads_read\"");
    }

    #[test]
    fn parses_and_dedups_lists() {
        let v = parse_scopes("['ads_read', 'ads_read', 'ads_management']").unwrap();
        assert_eq!(v.iter().map(Scope::as_str).collect::<Vec<_>>(), ["ads_read", "ads_management"]);
    }

    #[test]
    fn space_separated_scopes_as_rfc_6749_clients_send_them() {
        let names = |raw: &str| parse_scopes(raw).unwrap().iter().map(|s| s.as_str().to_owned()).collect::<Vec<_>>();
        let want = ["email", "public_profile", "ads_read"];
        assert_eq!(names("email public_profile ads_read"), want);
        assert_eq!(names("email,public_profile ads_read"), want);
        assert_eq!(names(" email  public_profile\tads_read "), want);
        assert_eq!(names("email, public_profile, ads_read"), want);
        assert_eq!(names(r#"["email","public_profile","ads_read"]"#), want);
        assert_eq!(names("['email', 'public_profile', 'ads_read']"), want);
        assert_eq!(parse_scopes("email nonsense"), Err(crate::CoreError::InvalidScope("nonsense".into())));
    }
}

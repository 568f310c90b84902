//! Graph object ids. Meta's ids are decimal strings; parsing once here means no handler ever holds an unchecked id.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

macro_rules! graph_id {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(into = "String", try_from = "String")]
        pub struct $name(pub u64);

        impl FromStr for $name {
            type Err = ();
            /// Decimal digits only, no sign, no leading `+`, and within a signed 64-bit integer: Graph ids are, and
            /// so are the database columns that hold them (2^64-1 is no object, not a storage fault).
            fn from_str(s: &str) -> Result<Self, ()> {
                if s.is_empty() || s.len() > 20 || !s.bytes().all(|b| b.is_ascii_digit()) {
                    return Err(());
                }
                s.parse::<u64>().ok().filter(|v| *v <= i64::MAX as u64).map($name).ok_or(())
            }
        }
        impl From<u64> for $name {
            fn from(v: u64) -> $name {
                $name(v)
            }
        }
        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}", self.0)
            }
        }
        impl From<$name> for String {
            fn from(v: $name) -> String {
                v.to_string()
            }
        }
        impl TryFrom<String> for $name {
            type Error = String;
            fn try_from(s: String) -> Result<Self, String> {
                s.parse().map_err(|_| format!("not a Graph id: {s:?}"))
            }
        }
    };
}

graph_id!(
    /// An app (client_id).
    AppId
);
graph_id!(
    /// A Business Manager.
    BusinessId
);
graph_id!(
    /// A person (admin user) or a system user; they share one id space as on the Graph.
    UserId
);
graph_id!(
    /// A Facebook Page.
    PageId
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_only_decimal_ids() {
        assert_eq!("123".parse::<AppId>(), Ok(AppId(123)));
        assert_eq!("9223372036854775807".parse::<AppId>(), Ok(AppId(i64::MAX as u64)));
        for bad in [
            "",
            "-1",
            "+1",
            "12a",
            " 1",
            "123456789012345678901",
            "99999999999999999999",
            "18446744073709551615",
            "9223372036854775808",
        ] {
            assert!(bad.parse::<AppId>().is_err(), "{bad:?} must not parse");
        }
    }

    #[test]
    fn serializes_as_string_like_the_graph() {
        assert_eq!(serde_json::to_string(&UserId(7)).unwrap(), "\"7\"");
        assert_eq!(serde_json::from_str::<UserId>("\"7\"").unwrap(), UserId(7));
    }
}

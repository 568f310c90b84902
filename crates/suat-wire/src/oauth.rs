//! `/oauth/access_token` answers: `{"access_token","token_type":"bearer","expires_in"?}`.

use serde::{Deserialize, Deserializer, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenAnswer {
    pub access_token: String,
    #[serde(default = "bearer")]
    pub token_type: String,
    /// Seconds left; absent for tokens that never expire. Some older Graph versions sent it as a string.
    #[serde(default, skip_serializing_if = "Option::is_none", deserialize_with = "number_or_string")]
    pub expires_in: Option<i64>,
}

impl TokenAnswer {
    pub fn bearer(access_token: String, expires_in: Option<i64>) -> TokenAnswer {
        TokenAnswer { access_token, token_type: bearer(), expires_in }
    }
}

fn bearer() -> String {
    "bearer".into()
}

fn number_or_string<'de, D: Deserializer<'de>>(d: D) -> Result<Option<i64>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum N {
        I(i64),
        S(String),
    }
    Ok(match Option::<N>::deserialize(d)? {
        Some(N::I(i)) => Some(i),
        Some(N::S(s)) => s.parse().ok(),
        None => None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn byte_exact_and_lenient() {
        let a = TokenAnswer::bearer("EAAx".into(), Some(5183999));
        assert_eq!(crate::to_text(&a), r#"{"access_token":"EAAx","token_type":"bearer","expires_in":5183999}"#);
        assert_eq!(
            crate::to_text(&TokenAnswer::bearer("1|x".into(), None)),
            r#"{"access_token":"1|x","token_type":"bearer"}"#
        );
        let old: TokenAnswer = serde_json::from_str(r#"{"access_token":"t","expires_in":"60"}"#).unwrap();
        assert_eq!(old.expires_in, Some(60));
    }
}

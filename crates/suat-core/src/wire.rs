//! Parameter encodings clients actually send: lists as `a,b`, JSON `["a","b"]` or Meta's own `['A', 'B']`;
//! booleans as `true`/`1`. Parsing is strict about shape so a malformed list is an error, not a silent empty one.

use crate::CoreError;

/// Parses a list parameter in any of the three encodings. Items are trimmed; empty items are dropped.
pub fn parse_list(name: &'static str, raw: &str) -> Result<Vec<String>, CoreError> {
    let s = raw.trim();
    if s.starts_with('[') {
        if let Ok(v) = serde_json::from_str::<Vec<String>>(s) {
            return Ok(v.into_iter().map(|x| x.trim().to_owned()).filter(|x| !x.is_empty()).collect());
        }
        // Meta's doc example: ['ads_management', 'ads_read'] (single quotes, not JSON).
        let inner = s.strip_prefix('[').and_then(|x| x.strip_suffix(']')).ok_or_else(|| bad_list(name))?;
        let mut out = Vec::new();
        for item in inner.split(',') {
            let item = item.trim();
            if item.is_empty() {
                continue;
            }
            let unq = item
                .strip_prefix('\'')
                .and_then(|x| x.strip_suffix('\''))
                .or_else(|| item.strip_prefix('"').and_then(|x| x.strip_suffix('"')))
                .unwrap_or(item);
            if unq.contains(['\'', '"', '[', ']']) {
                return Err(bad_list(name));
            }
            out.push(unq.trim().to_owned());
        }
        return Ok(out.into_iter().filter(|x| !x.is_empty()).collect());
    }
    Ok(s.split(',').map(|x| x.trim().to_owned()).filter(|x| !x.is_empty()).collect())
}

fn bad_list(name: &str) -> CoreError {
    CoreError::InvalidParameter(format!("Param {name} must be a comma-separated or JSON list"))
}

/// Parses a boolean parameter: `true`/`1` are true, `false`/`0`/empty are false, anything else is an error.
pub fn parse_bool(name: &'static str, raw: &str) -> Result<bool, CoreError> {
    match raw.trim().to_ascii_lowercase().as_str() {
        "true" | "1" => Ok(true),
        "false" | "0" | "" => Ok(false),
        _ => Err(CoreError::InvalidParameter(format!("Param {name} must be a boolean"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_in_all_three_encodings() {
        let want = vec!["ads_management".to_string(), "ads_read".to_string()];
        assert_eq!(parse_list("scope", "ads_management,ads_read").unwrap(), want);
        assert_eq!(parse_list("scope", " ads_management , ads_read ").unwrap(), want);
        assert_eq!(parse_list("scope", r#"["ads_management","ads_read"]"#).unwrap(), want);
        assert_eq!(parse_list("scope", "['ads_management', 'ads_read']").unwrap(), want);
        assert_eq!(parse_list("scope", "").unwrap(), Vec::<String>::new());
        assert!(parse_list("scope", "['a', [b]]").is_err());
        assert!(parse_list("scope", "[unterminated").is_err());
    }

    #[test]
    fn booleans() {
        assert!(parse_bool("x", "true").unwrap());
        assert!(parse_bool("x", "1").unwrap());
        assert!(parse_bool("x", "TRUE").unwrap());
        assert!(!parse_bool("x", "false").unwrap());
        assert!(!parse_bool("x", "0").unwrap());
        assert!(parse_bool("x", "yes please").is_err());
    }
}

//! Bounds on the text people and operators give suat (names, passwords, e-mail addresses, URIs, category names):
//! every string a store row keeps has a length it may not pass, so a 1 MiB business name is a clear `(#100)` rather
//! than a row that slows every listing it appears in. Lengths count characters, as a person typing them would.

/// Names of businesses, apps, people, system users and pages.
pub const NAME_MAX: usize = 256;
/// A sign-in password (argon2 hashes it whatever its length; the bound keeps the request small).
pub const PASSWORD_MAX: usize = 1024;
/// An e-mail address (RFC 5321's 64 + 1 + 255).
pub const EMAIL_MAX: usize = 320;
/// A redirect URI, or any other URL a row keeps.
pub const URI_MAX: usize = 2048;
/// A short label: a page category, an app capability, a permission name, an app secret.
pub const LABEL_MAX: usize = 128;
/// Items in one list (redirect URIs, capabilities, permissions, scopes).
pub const LIST_MAX: usize = 100;

/// Checks `value` against `max` characters and for a NUL (PostgreSQL's `text` cannot hold one, and no Graph name
/// does): `Err` is the `(#100)` sentence naming the field.
pub fn check(what: &str, value: &str, max: usize) -> Result<(), String> {
    if value.contains('\0') {
        return Err(format!("{what} must not contain a NUL character"));
    }
    let n = value.chars().count();
    if n > max {
        return Err(format!("{what} is {n} characters long; at most {max} are allowed"));
    }
    Ok(())
}

/// [`check`] on each item of a list, and the list's own length against [`LIST_MAX`].
pub fn check_list<'a>(what: &str, values: impl IntoIterator<Item = &'a String>, max: usize) -> Result<(), String> {
    let mut n = 0;
    for v in values {
        n += 1;
        if n > LIST_MAX {
            return Err(format!("{what} has more than {LIST_MAX} items"));
        }
        check(what, v, max)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bounds_characters_not_bytes_and_refuses_nul() {
        assert!(check("name", &"é".repeat(NAME_MAX), NAME_MAX).is_ok());
        assert_eq!(
            check("name", &"a".repeat(NAME_MAX + 1), NAME_MAX).unwrap_err(),
            "name is 257 characters long; at most 256 are allowed"
        );
        assert_eq!(check("name", "a\0b", NAME_MAX).unwrap_err(), "name must not contain a NUL character");
        let many: Vec<String> = (0..=LIST_MAX).map(|i| i.to_string()).collect();
        assert_eq!(check_list("scopes", &many, LABEL_MAX).unwrap_err(), "scopes has more than 100 items");
        assert!(check_list("scopes", &many[..LIST_MAX], LABEL_MAX).is_ok());
    }
}

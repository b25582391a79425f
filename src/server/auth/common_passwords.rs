//! Passwords too easy to guess, refused when a password is chosen: the 10,000 most common ones,
//! and the user's own email address.
//!
//! `common-passwords.txt` is Mark Burnett's list of the 10,000 most common passwords (published
//! in SecLists as `Passwords/Common-Credentials/10k-most-common.txt`), as shipped in the npm
//! package `common-password` 0.1.2 (ISC licence), one lowercase password a line. It is compiled
//! into the server only; the browser's bundle checks lengths and leaves this to the server.

use std::{collections::HashSet, sync::OnceLock};

use crate::domain::{AppError, EmailAddress, Password};

pub const TOO_COMMON: &str = "This password is too common; choose one that is harder to guess.";
pub const SAME_AS_EMAIL: &str =
    "Your password cannot be your email address or the part of it before the @; choose one that is harder to guess.";

const LIST: &str = include_str!("common-passwords.txt");

fn common() -> &'static HashSet<&'static str> {
    static COMMON: OnceLock<HashSet<&'static str>> = OnceLock::new();
    COMMON.get_or_init(|| LIST.lines().filter(|l| !l.is_empty()).collect())
}

/// Whether the password is on the list, whatever its case and surrounding spaces.
pub fn is_common(password: &str) -> bool {
    common().contains(password.trim().to_lowercase().as_str())
}

/// Refuses a new password that is on the list, or that is the user's email address or its local
/// part (what people reuse as a user name, and the first guess of whoever knows the address),
/// with a message on the `password` field.
pub fn check(password: &Password, email: &EmailAddress) -> Result<(), AppError> {
    let typed = password.expose().trim().to_lowercase();
    let local_part = email.as_str().split('@').next().unwrap_or_default();
    if typed == email.as_str() || typed == local_part {
        return Err(AppError::invalid("password", SAME_AS_EMAIL));
    }
    if is_common(&typed) {
        return Err(AppError::invalid("password", TOO_COMMON));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn checked(password: &str, email: &str) -> Result<(), String> {
        check(
            &Password::parse(password).unwrap(),
            &EmailAddress::parse(email).unwrap(),
        )
        .map_err(|e| match e {
            AppError::Invalid { field, message } => {
                assert_eq!(field, "password");
                message
            }
            other => panic!("unexpected {other:?}"),
        })
    }

    #[test]
    fn the_list_has_the_10000_most_common_passwords() {
        assert_eq!(common().len(), 10_000);
        assert!(LIST.starts_with("password\n123456\n"));
    }

    #[test]
    fn common_passwords_are_refused_whatever_their_case() {
        for common in [
            "password1",
            "Password1",
            "QWERTYUIOP",
            " baseball1 ",
            "iloveyou1",
        ] {
            assert_eq!(
                checked(common, "ada@example.com").unwrap_err(),
                TOO_COMMON,
                "{common}"
            );
        }
    }

    #[test]
    fn uncommon_passwords_are_accepted() {
        for fine in [
            "correct horse battery",
            "password1-for-gatehouse",
            "Tr0ub4dor&3x",
        ] {
            assert_eq!(checked(fine, "ada@example.com"), Ok(()), "{fine}");
        }
    }

    #[test]
    fn the_email_address_and_its_local_part_are_refused() {
        for same in [
            "ada.lovelace@example.com",
            "Ada.Lovelace@Example.com",
            "ada.lovelace",
        ] {
            assert_eq!(
                checked(same, "ada.lovelace@example.com").unwrap_err(),
                SAME_AS_EMAIL,
                "{same}"
            );
        }
        assert_eq!(checked("ada.lovelace!", "ada.lovelace@example.com"), Ok(()));
    }
}

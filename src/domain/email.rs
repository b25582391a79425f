//! An email address, trimmed, lower-cased and checked when it is parsed.

use serde::{Deserialize, Serialize};
use std::fmt;

use super::AppError;

/// A normalized email address: trimmed, lower-cased, at most 254 characters, of the shape
/// `local@domain.tld`. A value of this type is always valid.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct EmailAddress(String);

impl EmailAddress {
    pub const MAX_LEN: usize = 254;

    pub fn parse(input: &str) -> Result<Self, AppError> {
        let email = input.trim().to_lowercase();
        let invalid = |message: &str| Err(AppError::invalid("email", message));
        if email.is_empty() {
            return invalid("Enter your email address.");
        }
        if email.chars().count() > Self::MAX_LEN {
            return invalid("An email address has at most 254 characters.");
        }
        let Some((local, domain)) = email.split_once('@') else {
            return invalid("Enter a valid email address, like name@example.com.");
        };
        let local_ok = !local.is_empty()
            && local.len() <= 64
            && !local.starts_with('.')
            && !local.ends_with('.')
            && !local.contains("..")
            && local
                .chars()
                .all(|c| c.is_alphanumeric() || "!#$%&'*+-/=?^_`{|}~.".contains(c));
        let domain_ok = domain.contains('.')
            && domain.split('.').all(|label| {
                !label.is_empty()
                    && label.len() <= 63
                    && !label.starts_with('-')
                    && !label.ends_with('-')
                    && label.chars().all(|c| c.is_alphanumeric() || c == '-')
            });
        if !local_ok || !domain_ok {
            return invalid("Enter a valid email address, like name@example.com.");
        }
        Ok(Self(email))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for EmailAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl TryFrom<String> for EmailAddress {
    type Error = AppError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl From<EmailAddress> for String {
    fn from(value: EmailAddress) -> Self {
        value.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn email_is_trimmed_and_lower_cased() {
        assert_eq!(
            EmailAddress::parse("  Ada@Example.COM ").unwrap().as_str(),
            "ada@example.com"
        );
    }

    #[test]
    fn plus_addresses_and_subdomains_are_accepted() {
        assert!(EmailAddress::parse("ada+labels@mail.example.co.uk").is_ok());
    }

    #[test]
    fn malformed_addresses_are_rejected() {
        for bad in [
            "",
            "   ",
            "ada",
            "ada@",
            "@example.com",
            "ada@example",
            "ada@@example.com",
            "ada example@x.com",
            "ada@exa mple.com",
            ".ada@example.com",
            "ada..b@example.com",
            "ada@-example.com",
            "ada@example..com",
            "<ada@example.com>",
        ] {
            let err = EmailAddress::parse(bad).unwrap_err();
            assert!(
                matches!(err, AppError::Invalid { ref field, .. } if field == "email"),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn an_address_longer_than_254_characters_is_rejected() {
        let long = format!(
            "{}@{}.com",
            "a".repeat(64),
            vec!["b".repeat(60); 4].join(".")
        );
        assert!(long.len() > 254);
        let err = EmailAddress::parse(&long).unwrap_err();
        assert!(err.to_string().contains("254"), "{err}");
    }

    #[test]
    fn email_deserializes_only_when_valid() {
        assert!(serde_json::from_str::<EmailAddress>("\"x@y.io\"").is_ok());
        assert!(serde_json::from_str::<EmailAddress>("\"nope\"").is_err());
    }
}

//! An email address, trimmed, lower-cased and checked when it is parsed.

use serde::{Deserialize, Serialize};
use std::fmt;

use super::AppError;

/// A normalized email address: trimmed, lower-cased, at most 254 characters, of the shape
/// `local@domain.tld`. The part before the `@` is ASCII; the domain is ASCII too, an
/// internationalized one in its punycode form (`xn--…`). A value of this type is always valid.
///
/// The browser checks the shape only; the server also turns an internationalized domain into
/// punycode by the rules of IDNA (UTS #46), and refuses a label that mixes scripts (a Cyrillic
/// `е` among Latin letters), which is how look-alike addresses are made.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct EmailAddress(String);

/// The signs allowed before the `@` besides ASCII letters and digits.
const LOCAL_SIGNS: &str = "!#$%&'*+-/=?^_`{|}~.";

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
        if let Some(c) = local.chars().find(|c| !c.is_ascii()) {
            return Err(AppError::invalid(
                "email",
                format!(
                    "The part before the @ can only have the letters a–z, the digits 0–9 and signs \
                     such as . _ - +; \u{2018}{c}\u{2019} (U+{:04X}) is not one of them, even if \
                     it looks like one. Retype the address.",
                    u32::from(c)
                ),
            ));
        }
        let local_ok = !local.is_empty()
            && local.len() <= 64
            && !local.starts_with('.')
            && !local.ends_with('.')
            && !local.contains("..")
            && local
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || LOCAL_SIGNS.contains(c));
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
        #[cfg(feature = "ssr")]
        let email = {
            let domain = idn::to_ascii(domain)?;
            let email = format!("{local}@{domain}");
            if email.len() > Self::MAX_LEN {
                return invalid("An email address has at most 254 characters.");
            }
            email
        };
        Ok(Self(email))
    }

    /// The domain as people read it: an internationalized domain decoded from punycode, with its
    /// ASCII form beside it (`name@bücher.example (xn--bcher-kva.example)`); any other address
    /// as it is.
    #[cfg(feature = "ssr")]
    pub fn readable(&self) -> String {
        readable(&self.0)
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

/// An address as people read it: see [`EmailAddress::readable`]. An address that does not parse
/// is shown as it is.
#[cfg(feature = "ssr")]
pub fn readable(address: &str) -> String {
    match address.split_once('@') {
        Some((local, domain)) if domain.split('.').any(|l| l.starts_with("xn--")) => {
            match idna::domain_to_unicode(domain) {
                (unicode, Ok(())) if unicode != domain => format!("{local}@{unicode} ({domain})"),
                _ => address.to_owned(),
            }
        }
        _ => address.to_owned(),
    }
}

/// Internationalized domains, on the server: IDNA (UTS #46) and the one-script rule.
#[cfg(feature = "ssr")]
mod idn {
    use icu_properties::{props::Script, CodePointMapData};
    use idna::uts46::{AsciiDenyList, DnsLength, Hyphens, Uts46};

    use crate::domain::AppError;

    /// The domain in ASCII: as it is when it is ASCII (and valid), else its punycode form.
    /// Refuses what IDNA refuses, and a label whose letters come from scripts that are not used
    /// together (see [`one_script`]).
    pub fn to_ascii(domain: &str) -> Result<String, AppError> {
        let ascii = Uts46::new()
            .to_ascii(
                domain.as_bytes(),
                AsciiDenyList::STD3,
                Hyphens::CheckFirstLast,
                DnsLength::Verify,
            )
            .map_err(|_| {
                AppError::invalid(
                    "email",
                    format!(
                        "The domain \u{201C}{domain}\u{201D} is not a valid domain name. Check the \
                         part after the @, or write the domain in plain letters a–z."
                    ),
                )
            })?
            .into_owned();
        let (unicode, decoded) = idna::domain_to_unicode(&ascii);
        if decoded.is_err() {
            return Err(AppError::invalid(
                "email",
                format!("The domain \u{201C}{domain}\u{201D} is not a valid domain name."),
            ));
        }
        if let Some(label) = unicode.split('.').find(|label| !one_script(label)) {
            return Err(AppError::invalid(
                "email",
                format!(
                    "The domain part \u{201C}{label}\u{201D} mixes letters of different alphabets \
                     (such as a Cyrillic \u{2018}е\u{2019} among Latin letters), which is how \
                     look-alike addresses are made. Retype the address."
                ),
            ));
        }
        Ok(ascii)
    }

    /// Whether a label's letters come from one script, setting aside the signs and digits every
    /// script shares (Unicode's Common and Inherited). Latin may also go with the scripts written
    /// together in Japanese, Chinese or Korean (Han with Hiragana and Katakana, with Bopomofo, or
    /// with Hangul): UTS #39's "highly restrictive" level.
    pub fn one_script(label: &str) -> bool {
        let scripts = CodePointMapData::<Script>::new();
        let mut seen: Vec<Script> = Vec::new();
        for c in label.chars() {
            let script = scripts.get(c);
            if script != Script::Common && script != Script::Inherited && !seen.contains(&script) {
                seen.push(script);
            }
        }
        if seen.len() <= 1 {
            return true;
        }
        let japanese = [
            Script::Latin,
            Script::Han,
            Script::Hiragana,
            Script::Katakana,
        ];
        let chinese = [Script::Latin, Script::Han, Script::Bopomofo];
        let korean = [Script::Latin, Script::Han, Script::Hangul];
        [&japanese[..], &chinese, &korean]
            .iter()
            .any(|allowed| seen.iter().all(|s| allowed.contains(s)))
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
    fn look_alike_letters_before_the_at_are_refused_with_the_letter_named() {
        for (bad, named) in [
            ("\u{043E}wner@a.test", "U+043E"),
            ("\u{FF4F}wner@a.test", "U+FF4F"),
            ("\u{1D428}wner@a.test", "U+1D428"),
            ("owner\u{0661}@a.test", "U+0661"),
            ("ada\u{200B}@a.test", "U+200B"),
        ] {
            match EmailAddress::parse(bad) {
                Err(AppError::Invalid { field, message }) => {
                    assert_eq!(field, "email");
                    assert!(message.contains(named), "{bad:?}: {message}");
                    assert!(message.contains("before the @"), "{message}");
                }
                other => panic!("{bad:?} accepted: {other:?}"),
            }
        }
    }

    #[cfg(feature = "ssr")]
    #[test]
    fn a_domain_that_mixes_scripts_is_refused() {
        for bad in [
            "admin@a.t\u{0435}st",
            "admin@p\u{0430}ypal.com",
            "admin@exa\u{03BC}ple.com",
        ] {
            match EmailAddress::parse(bad) {
                Err(AppError::Invalid { field, message }) => {
                    assert_eq!(field, "email");
                    assert!(message.contains("alphabets"), "{bad:?}: {message}");
                }
                other => panic!("{bad:?} accepted: {other:?}"),
            }
        }
    }

    #[cfg(feature = "ssr")]
    #[test]
    fn an_internationalized_domain_is_stored_as_punycode_and_read_decoded() {
        let email = EmailAddress::parse("Ada@B\u{00FC}cher.example").unwrap();
        assert_eq!(email.as_str(), "ada@xn--bcher-kva.example");
        assert_eq!(
            email.readable(),
            "ada@b\u{00FC}cher.example (xn--bcher-kva.example)"
        );
        assert_eq!(
            EmailAddress::parse("ada@xn--bcher-kva.example").unwrap(),
            email,
            "the punycode form is the same address"
        );
        assert_eq!(
            EmailAddress::parse("ada@\u{0434}\u{043E}\u{043C}.\u{0440}\u{0444}")
                .unwrap()
                .as_str(),
            "ada@xn--d1aqf.xn--p1ai",
            "a label wholly in one script is welcome"
        );
        assert!(EmailAddress::parse("ada@\u{6771}\u{4EAC}\u{30C6}\u{30EC}\u{30D3}.jp").is_ok());
        assert_eq!(
            EmailAddress::parse("owner@a.test").unwrap().readable(),
            "owner@a.test"
        );
        // Full-width letters in a domain are the same ASCII letters under IDNA's mapping.
        assert_eq!(
            EmailAddress::parse("owner@\u{FF41}.test").unwrap().as_str(),
            "owner@a.test"
        );
    }

    #[cfg(feature = "ssr")]
    #[test]
    fn a_domain_idna_refuses_is_refused() {
        for bad in [
            "ada@xn--a.example",
            "ada@a\u{2488}.example",
            "admin@a\u{0661}.test",
        ] {
            let err = EmailAddress::parse(bad).unwrap_err();
            assert!(
                matches!(err, AppError::Invalid { ref field, .. } if field == "email"),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn email_deserializes_only_when_valid() {
        assert!(serde_json::from_str::<EmailAddress>("\"x@y.io\"").is_ok());
        assert!(serde_json::from_str::<EmailAddress>("\"nope\"").is_err());
    }
}

//! A user's own account: their name, and the sessions they are signed in with.

use serde::{Deserialize, Serialize};

use super::{title::unwanted_text_character, AppError};

/// A first or last name: trimmed, at most 150 characters, no control characters, invisible format
/// characters (bidirectional overrides, zero-width spaces and joiners, which could make a name read
/// differently in the members table), line or paragraph separators or noncharacters. Empty means
/// not given.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PersonName(String);

impl PersonName {
    pub const MAX_LEN: usize = 150;

    /// Parses the name typed into `field` (`first_name` or `last_name`).
    pub fn parse(field: &str, input: &str) -> Result<Self, AppError> {
        // As typed: the limits hold before trimming, as the API document says.
        let name = input.trim();
        if input.chars().count() > Self::MAX_LEN {
            return Err(AppError::invalid(
                field,
                "A name has at most 150 characters.",
            ));
        }
        if input.chars().any(char::is_control) {
            return Err(AppError::invalid(
                field,
                "A name cannot contain control characters.",
            ));
        }
        if let Some(problem) = unwanted_text_character(input) {
            return Err(AppError::invalid(
                field,
                format!("A name cannot contain {problem}"),
            ));
        }
        Ok(Self(name.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// The optional first and last name given at signup (or on the Account page).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FullName {
    pub first: PersonName,
    pub last: PersonName,
}

impl FullName {
    /// Parses both names; a missing one is empty.
    pub fn parse(first: Option<&str>, last: Option<&str>) -> Result<Self, AppError> {
        Ok(Self {
            first: PersonName::parse("first_name", first.unwrap_or_default())?,
            last: PersonName::parse("last_name", last.unwrap_or_default())?,
        })
    }

    pub fn is_empty(&self) -> bool {
        self.first.as_str().is_empty() && self.last.as_str().is_empty()
    }
}

/// The signed-in user's own account, as the Account page and `PATCH /api/current-user` show it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct Profile {
    /// The user id.
    pub id: i64,
    #[cfg_attr(feature = "ssr", schema(format = Email))]
    pub email: String,
    /// Empty when not given.
    pub first_name: String,
    /// Empty when not given.
    pub last_name: String,
}

/// One of the user's active sessions. It never carries the session's secret.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema), schema(as = Session))]
pub struct SessionView {
    /// An opaque id for ending this session (`DELETE /api/current-user/sessions/{session_id}`);
    /// it cannot be used to sign in.
    pub id: String,
    /// When the session began, RFC 3339 in UTC.
    #[cfg_attr(feature = "ssr", schema(format = DateTime))]
    pub signed_in_at: String,
    /// When it was last used (to the minute), RFC 3339 in UTC.
    #[cfg_attr(feature = "ssr", schema(format = DateTime))]
    pub last_seen_at: String,
    /// The client's address when it signed in; empty for sessions older than this record.
    pub client_address: String,
    /// The browser and system read from the user agent, e.g. "Chrome 120 on Linux".
    pub browser: String,
    /// The user agent as sent (at most 300 characters).
    pub user_agent: String,
    /// Whether this is the session the request was made with.
    pub current: bool,
    /// How it was opened; absent for sessions older than this record.
    pub opened_by: Option<SignInMethod>,
}

/// How a session was opened: the credential that proved who signed in.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum SignInMethod {
    /// The email address and password.
    Password,
    /// Signing up: the account was made in this session.
    Signup,
    /// Signing up with an invite link or an email invitation.
    Invitation,
    /// A password reset link, with the new password.
    ResetLink,
    /// Single sign-on through the organization's identity provider.
    Sso,
    /// A passkey, without a password.
    Passkey,
}

impl SignInMethod {
    pub const ALL: [Self; 6] = [
        Self::Password,
        Self::Signup,
        Self::Invitation,
        Self::ResetLink,
        Self::Sso,
        Self::Passkey,
    ];

    /// As stored and sent.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Password => "password",
            Self::Signup => "signup",
            Self::Invitation => "invitation",
            Self::ResetLink => "reset_link",
            Self::Sso => "sso",
            Self::Passkey => "passkey",
        }
    }

    /// Whether an account with a second factor must give it after this credential: a password
    /// and a reset link prove only what someone knows.
    pub fn asks_second_factor(self) -> bool {
        matches!(self, Self::Password | Self::ResetLink)
    }

    pub fn parse(stored: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|m| m.as_str() == stored)
    }

    /// As the Account page says it, after "signed in ".
    pub fn phrase(self) -> &'static str {
        match self {
            Self::Password => "with a password",
            Self::Signup => "by signing up",
            Self::Invitation => "by accepting an invitation",
            Self::ResetLink => "with a password reset link",
            Self::Sso => "through single sign-on",
            Self::Passkey => "with a passkey",
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_sign_in_method_reads_back_as_stored() {
        use super::SignInMethod;
        for method in SignInMethod::ALL {
            assert_eq!(SignInMethod::parse(method.as_str()), Some(method));
            assert_eq!(
                serde_json::to_value(method).unwrap(),
                serde_json::Value::from(method.as_str())
            );
        }
        assert_eq!(SignInMethod::parse("saml"), None);
    }

    use super::*;

    #[test]
    fn the_api_pattern_accepts_exactly_the_names_that_parse() {
        let pattern = regex::Regex::new(crate::domain::NAME_PATTERN).unwrap();
        let samples = (0..0x3100u32)
            .chain([
                0xfdd0, 0xfeff, 0xfffd, 0xfffe, 0x1f600, 0x110bd, 0xe0001, 0x10ffff,
            ])
            .filter_map(char::from_u32);
        for c in samples {
            let name = format!("a{c}b");
            assert_eq!(
                pattern.is_match(&name),
                PersonName::parse("first_name", &name).is_ok(),
                "U+{:04X}",
                c as u32
            );
        }
    }

    #[test]
    fn names_are_trimmed_and_may_be_empty() {
        assert_eq!(
            PersonName::parse("first_name", "  Ada ").unwrap().as_str(),
            "Ada"
        );
        assert_eq!(PersonName::parse("first_name", "   ").unwrap().as_str(), "");
        assert!(PersonName::parse("last_name", &"é".repeat(150)).is_ok());
    }

    #[test]
    fn long_names_and_control_characters_are_refused_on_their_field() {
        for bad in [
            "x".repeat(151),
            "Ada\nLovelace".into(),
            "Ada\u{0}".into(),
            "evil\u{202E}txt.exe".into(),
            "a\u{2067}b".into(),
            "Ada\u{200B}".into(),
            "A\u{200D}da".into(),
            "\u{2060}Ada".into(),
            "Ada\u{FEFF}".into(),
            "Ada\u{2028}Lovelace".into(),
            "Ada\u{FFFF}".into(),
        ] {
            let err = PersonName::parse("last_name", &bad).unwrap_err();
            assert!(
                matches!(err, AppError::Invalid { ref field, .. } if field == "last_name"),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn an_invisible_character_is_named_in_the_refusal() {
        let err = PersonName::parse("first_name", "Ada\u{200B}").unwrap_err();
        assert!(err.to_string().contains("U+200B"), "{err}");
        assert!(err.to_string().contains("invisible"), "{err}");
        let err = PersonName::parse("first_name", "Ada\u{FFFF}").unwrap_err();
        assert!(err.to_string().contains("noncharacter"), "{err}");
    }
}

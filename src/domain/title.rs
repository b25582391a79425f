//! An organization's title, checked when it is parsed.

use serde::{Deserialize, Serialize};

use super::AppError;

/// An organization's title: at most 1000 characters as given, trimmed, not blank, no control
/// characters.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrgTitle(String);

impl OrgTitle {
    pub const MAX_LEN: usize = 1000;

    /// The same rule as a JSON Schema (ECMA-262) pattern, for the API's documentation: no control
    /// character (`char::is_control`), and at least one character that `str::trim` keeps.
    pub const PATTERN: &'static str = "^[^\\x00-\\x1f\\x7f-\\x9f]*[^\\x00-\\x20\\x7f-\\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000][^\\x00-\\x1f\\x7f-\\x9f]*$";

    pub fn parse(input: &str) -> Result<Self, AppError> {
        if input.chars().count() > Self::MAX_LEN {
            return Err(AppError::invalid(
                "title",
                "The title has at most 1000 characters.",
            ));
        }
        let title = input.trim();
        if title.is_empty() {
            return Err(AppError::invalid("title", "The title cannot be empty."));
        }
        if title.chars().any(char::is_control) {
            return Err(AppError::invalid(
                "title",
                "The title cannot contain control characters such as line breaks.",
            ));
        }
        Ok(Self(title.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn title_is_trimmed() {
        assert_eq!(
            OrgTitle::parse("  Labelers  ").unwrap().as_str(),
            "Labelers"
        );
    }

    #[test]
    fn empty_and_blank_titles_are_rejected() {
        for bad in ["", "   "] {
            assert!(
                matches!(OrgTitle::parse(bad), Err(AppError::Invalid { ref field, .. }) if field == "title")
            );
        }
    }

    #[test]
    fn a_title_of_1000_characters_is_accepted_and_1001_rejected() {
        assert!(OrgTitle::parse(&"t".repeat(1000)).is_ok());
        let err = OrgTitle::parse(&"t".repeat(1001)).unwrap_err();
        assert!(err.to_string().contains("1000"));
    }

    #[test]
    fn the_limit_counts_the_title_as_given() {
        assert!(OrgTitle::parse(&format!(" {} ", "t".repeat(998))).is_ok());
        assert!(OrgTitle::parse(&format!(" {} ", "t".repeat(999))).is_err());
    }

    #[test]
    fn control_characters_are_rejected() {
        assert!(OrgTitle::parse("a\nb").is_err());
    }
}

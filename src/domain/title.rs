//! An organization's title, checked when it is parsed.

use serde::{Deserialize, Serialize};

use super::AppError;

/// An organization's title: trimmed, 1 to 1000 characters.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrgTitle(String);

impl OrgTitle {
    pub const MAX_LEN: usize = 1000;

    pub fn parse(input: &str) -> Result<Self, AppError> {
        let title = input.trim();
        if title.is_empty() {
            return Err(AppError::invalid("title", "The title cannot be empty."));
        }
        if title.chars().count() > Self::MAX_LEN {
            return Err(AppError::invalid("title", "The title has at most 1000 characters."));
        }
        if title.chars().any(char::is_control) {
            return Err(AppError::invalid("title", "The title cannot contain control characters such as line breaks."));
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
        assert_eq!(OrgTitle::parse("  Labelers  ").unwrap().as_str(), "Labelers");
    }

    #[test]
    fn empty_and_blank_titles_are_rejected() {
        for bad in ["", "   "] {
            assert!(matches!(OrgTitle::parse(bad), Err(AppError::Invalid { ref field, .. }) if field == "title"));
        }
    }

    #[test]
    fn a_title_of_1000_characters_is_accepted_and_1001_rejected() {
        assert!(OrgTitle::parse(&"t".repeat(1000)).is_ok());
        let err = OrgTitle::parse(&"t".repeat(1001)).unwrap_err();
        assert!(err.to_string().contains("1000"));
    }

    #[test]
    fn control_characters_are_rejected() {
        assert!(OrgTitle::parse("a\nb").is_err());
    }
}

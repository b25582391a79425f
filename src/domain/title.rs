//! An organization's title, checked when it is parsed.

use serde::{Deserialize, Serialize};

use super::AppError;

/// An organization's title: at most 1000 characters as given, trimmed, not blank, with no control
/// characters and no invisible text-direction characters (which can make a title, shown in a mail
/// or a list, read as something else).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrgTitle(String);

/// The characters that change the direction of the text around them without being seen: the
/// embeddings and overrides (U+202A–U+202E), the isolates (U+2066–U+2069) and the marks (U+200E,
/// U+200F, U+061C).
pub fn is_direction_control(c: char) -> bool {
    matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}' | '\u{200E}' | '\u{200F}' | '\u{061C}')
}

impl OrgTitle {
    pub const MAX_LEN: usize = 1000;

    /// The same rule as a JSON Schema (ECMA-262) pattern, for the API's documentation: no control
    /// character (`char::is_control`) and no direction control ([`is_direction_control`])
    /// anywhere, and at least one character that `str::trim` keeps.
    pub const PATTERN: &'static str = "^[^\\x00-\\x1f\\x7f-\\x9f\\u061c\\u200e\\u200f\\u202a-\\u202e\\u2066-\\u2069]*[^\\x00-\\x20\\x7f-\\xa0\\u061c\\u1680\\u2000-\\u200a\\u200e\\u200f\\u2028\\u2029\\u202a-\\u202f\\u205f\\u2066-\\u2069\\u3000][^\\x00-\\x1f\\x7f-\\x9f\\u061c\\u200e\\u200f\\u202a-\\u202e\\u2066-\\u2069]*$";

    pub fn parse(input: &str) -> Result<Self, AppError> {
        if input.chars().count() > Self::MAX_LEN {
            return Err(AppError::invalid(
                "title",
                "The title has at most 1000 characters.",
            ));
        }
        // Checked on the title as given, as the pattern does: a line break is refused even at
        // the end, where trimming would have removed it.
        if input.chars().any(char::is_control) {
            return Err(AppError::invalid(
                "title",
                "The title cannot contain control characters such as line breaks.",
            ));
        }
        if let Some(c) = input.chars().find(|c| is_direction_control(*c)) {
            return Err(AppError::invalid(
                "title",
                format!(
                    "The title cannot contain invisible text-direction characters; remove U+{:04X} \
                     (it often comes with text copied from elsewhere: retype the title).",
                    u32::from(c)
                ),
            ));
        }
        let title = input.trim();
        if title.is_empty() {
            return Err(AppError::invalid("title", "The title cannot be empty."));
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
    fn control_characters_are_rejected_even_where_trimming_would_remove_them() {
        for bad in ["a\nb", "a\u{7}", "title\n", "\ttitle", "a\u{85}b"] {
            let err = OrgTitle::parse(bad).unwrap_err();
            assert!(
                err.to_string().contains("control characters"),
                "{bad:?}: {err}"
            );
        }
    }

    #[test]
    fn the_pattern_accepts_exactly_the_titles_that_parse() {
        let pattern = regex::Regex::new(OrgTitle::PATTERN).unwrap();
        let samples = (0..0x3100u32)
            .chain([0xfeff, 0xfff9, 0x1f600])
            .filter_map(char::from_u32);
        for c in samples {
            for title in [
                c.to_string(),
                format!("a{c}"),
                format!("{c}a"),
                format!(" {c} "),
                format!("{c}{c}"),
            ] {
                assert_eq!(
                    pattern.is_match(&title),
                    OrgTitle::parse(&title).is_ok(),
                    "U+{:04X} in {title:?}",
                    u32::from(c)
                );
            }
        }
    }

    #[test]
    fn direction_controls_are_rejected_with_what_to_remove() {
        for (bad, named) in [
            ("Acme\u{202E}sbaL", "U+202E"),
            ("\u{202A}Acme", "U+202A"),
            ("Acme\u{2066}x\u{2069}", "U+2066"),
            ("Acme\u{200F}", "U+200F"),
            ("\u{200E}Acme", "U+200E"),
            ("Acme\u{061C}", "U+061C"),
        ] {
            match OrgTitle::parse(bad) {
                Err(AppError::Invalid { field, message }) => {
                    assert_eq!(field, "title");
                    assert!(message.contains(named), "{bad:?}: {message}");
                    assert!(message.contains("text-direction"), "{message}");
                }
                other => panic!("{bad:?} accepted: {other:?}"),
            }
        }
        // Right-to-left text itself is welcome; only the invisible controls are not.
        assert!(OrgTitle::parse("مختبر الوسوم").is_ok());
        assert!(
            OrgTitle::parse("Acme \u{200D} Labs").is_ok(),
            "a joiner is not a direction control"
        );
    }
}

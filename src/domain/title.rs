//! An organization's title, checked when it is parsed.

use serde::{Deserialize, Serialize};

use super::AppError;

/// The characters [`OrgTitle::parse`] refuses anywhere, as the inside of a pattern's class. The
/// characters beyond U+FFFF are written as themselves, not as `\u{…}` escapes, which only
/// ECMA-262's `u` flag reads (Python's `re`, which API test tools use, does not).
macro_rules! unwanted_in_text {
    () => {
        "\\x00-\\x1f\\x7f-\\x9f\\xad\\u0600-\\u0605\\u061c\\u06dd\\u070f\\u0890\\u0891\\u08e2\\u180e\\u200b-\\u200f\\u2028-\\u202e\\u2060-\\u2064\\u2066-\\u206f\\ufdd0-\\ufdef\\ufeff\\ufff9-\\ufffb\\ufffe\\uffff\u{110bd}\u{110cd}\u{13430}-\u{1343f}\u{1bca0}-\u{1bca3}\u{1d173}-\u{1d17a}\u{e0001}\u{e0020}-\u{e007f}\u{1fffe}\u{1ffff}\u{2fffe}\u{2ffff}\u{3fffe}\u{3ffff}\u{4fffe}\u{4ffff}\u{5fffe}\u{5ffff}\u{6fffe}\u{6ffff}\u{7fffe}\u{7ffff}\u{8fffe}\u{8ffff}\u{9fffe}\u{9ffff}\u{afffe}\u{affff}\u{bfffe}\u{bffff}\u{cfffe}\u{cffff}\u{dfffe}\u{dffff}\u{efffe}\u{effff}\u{ffffe}\u{fffff}\u{10fffe}\u{10ffff}"
    };
}

/// A person's name (first or last) as a JSON Schema pattern: none of the characters a title
/// refuses anywhere; it may be empty.
pub const NAME_PATTERN: &str = concat!("^[^", unwanted_in_text!(), "]*$");

/// An organization's title: at most 1000 characters as given, trimmed, not blank, with no control
/// characters, no invisible format characters (text-direction controls, zero-width spaces and
/// joiners, which can make a title, shown in a mail or a list, read as something else), no line
/// or paragraph separators and no noncharacters.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrgTitle(String);

/// The characters that change the direction of the text around them without being seen: the
/// embeddings and overrides (U+202A–U+202E), the isolates (U+2066–U+2069) and the marks (U+200E,
/// U+200F, U+061C).
pub fn is_direction_control(c: char) -> bool {
    matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}' | '\u{200E}' | '\u{200F}' | '\u{061C}')
}

/// The format characters (Unicode general category Cf, Unicode 16): invisible, they join, hide or
/// reorder the text around them, so that two names that read the same can differ.
pub fn is_format_character(c: char) -> bool {
    matches!(
        c,
        '\u{00AD}'
            | '\u{0600}'..='\u{0605}'
            | '\u{061C}'
            | '\u{06DD}'
            | '\u{070F}'
            | '\u{0890}'..='\u{0891}'
            | '\u{08E2}'
            | '\u{180E}'
            | '\u{200B}'..='\u{200F}'
            | '\u{202A}'..='\u{202E}'
            | '\u{2060}'..='\u{2064}'
            | '\u{2066}'..='\u{206F}'
            | '\u{FEFF}'
            | '\u{FFF9}'..='\u{FFFB}'
            | '\u{110BD}'
            | '\u{110CD}'
            | '\u{13430}'..='\u{1343F}'
            | '\u{1BCA0}'..='\u{1BCA3}'
            | '\u{1D173}'..='\u{1D17A}'
            | '\u{E0001}'
            | '\u{E0020}'..='\u{E007F}'
    )
}

/// The 66 noncharacters: U+FDD0–U+FDEF and the last two code points of every plane (U+FFFE,
/// U+FFFF, U+1FFFE, …). Unicode keeps them for a program's own use; they are never text.
pub fn is_noncharacter(c: char) -> bool {
    let c = u32::from(c);
    (0xFDD0..=0xFDEF).contains(&c) || c & 0xFFFE == 0xFFFE
}

/// What is wrong with a character in a name or a title, if anything: a sentence to end "cannot
/// contain …", naming the character. Control characters are for the caller to refuse first.
pub fn unwanted_text_character(text: &str) -> Option<String> {
    text.chars().find_map(|c| {
        let code = u32::from(c);
        let what = if is_direction_control(c) {
            "invisible text-direction characters"
        } else if is_format_character(c) {
            "invisible formatting characters (such as zero-width spaces and joiners)"
        } else if matches!(c, '\u{2028}' | '\u{2029}') {
            "line or paragraph separators"
        } else if is_noncharacter(c) {
            "noncharacters (code points Unicode reserves, never text)"
        } else {
            return None;
        };
        Some(format!(
            "{what}; remove U+{code:04X} (it often comes with text copied from elsewhere: retype it)."
        ))
    })
}

impl OrgTitle {
    pub const MAX_LEN: usize = 1000;

    /// The same rule as a JSON Schema (ECMA-262) pattern, for the API's documentation:
    /// no control character (`char::is_control`), format character ([`is_format_character`]),
    /// line or paragraph separator or noncharacter ([`is_noncharacter`]) anywhere, and at least
    /// one character that `str::trim` keeps.
    pub const PATTERN: &'static str = concat!(
        "^[^",
        unwanted_in_text!(),
        "]*[^\\x20\\xa0\\u1680\\u2000-\\u200a\\u202f\\u205f\\u3000",
        unwanted_in_text!(),
        "][^",
        unwanted_in_text!(),
        "]*$"
    );

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
        if let Some(problem) = unwanted_text_character(input) {
            return Err(AppError::invalid(
                "title",
                format!("The title cannot contain {problem}"),
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
            .chain([
                0xfdd0, 0xfdef, 0xfeff, 0xfff9, 0xfffd, 0xfffe, 0xffff, 0x1f600,
            ])
            .chain([
                0x110bd, 0x13430, 0x1d173, 0xe0001, 0xe007f, 0x1fffe, 0x10ffff,
            ])
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
    }

    #[test]
    fn invisible_separating_and_non_characters_are_rejected_with_what_to_remove() {
        for (bad, named, problem) in [
            ("Acme\u{200B}Labs", "U+200B", "invisible formatting"),
            ("Acme \u{200D} Labs", "U+200D", "invisible formatting"),
            ("Ac\u{2060}me", "U+2060", "invisible formatting"),
            ("\u{FEFF}Acme", "U+FEFF", "invisible formatting"),
            ("Ac\u{00AD}me", "U+00AD", "invisible formatting"),
            ("Acme\u{E0041}", "U+E0041", "invisible formatting"),
            ("Acme\u{2028}Labs", "U+2028", "line or paragraph separators"),
            ("Acme\u{2029}", "U+2029", "line or paragraph separators"),
            ("Acme\u{FFFF}", "U+FFFF", "noncharacters"),
            ("Acme\u{FFFE}", "U+FFFE", "noncharacters"),
            ("Acme\u{FDD0}", "U+FDD0", "noncharacters"),
            ("Acme\u{10FFFF}", "U+10FFFF", "noncharacters"),
            ("Acme\u{1FFFE}", "U+1FFFE", "noncharacters"),
        ] {
            match OrgTitle::parse(bad) {
                Err(AppError::Invalid { field, message }) => {
                    assert_eq!(field, "title");
                    assert!(message.contains(named), "{bad:?}: {message}");
                    assert!(message.contains(problem), "{bad:?}: {message}");
                }
                other => panic!("{bad:?} accepted: {other:?}"),
            }
        }
        assert!(OrgTitle::parse("Acme Labs 🏷️ ąčę").is_ok());
    }

    /// The list of format characters is Unicode's category Cf, as the ICU data the server
    /// carries knows it.
    #[cfg(feature = "ssr")]
    #[test]
    fn format_characters_are_exactly_unicode_category_cf() {
        use icu_properties::{props::GeneralCategory, CodePointMapData};
        let category = CodePointMapData::<GeneralCategory>::new();
        for c in (0..=0x10FFFFu32).filter_map(char::from_u32) {
            assert_eq!(
                is_format_character(c),
                category.get(c) == GeneralCategory::Format,
                "U+{:04X}",
                u32::from(c)
            );
        }
    }

    #[test]
    fn noncharacters_are_the_66_of_unicode() {
        let all: Vec<u32> = (0..=0x10FFFFu32)
            .filter_map(char::from_u32)
            .filter(|c| is_noncharacter(*c))
            .map(u32::from)
            .collect();
        assert_eq!(all.len(), 66);
        assert!(all.contains(&0xFDD0) && all.contains(&0xFDEF) && all.contains(&0x10FFFE));
        assert!(!is_noncharacter('\u{FFFD}') && !is_noncharacter('\u{FDCF}'));
    }
}

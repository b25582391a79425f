//! A password, checked for length when it is parsed; never logged or serialized.

use super::AppError;

/// A password of 8 to 128 characters. Never logged, never serialized.
pub struct Password(String);

impl Password {
    pub const MIN_LEN: usize = 8;
    pub const MAX_LEN: usize = 128;

    pub fn parse(input: &str) -> Result<Self, AppError> {
        let len = input.chars().count();
        if len < Self::MIN_LEN {
            return Err(AppError::invalid(
                "password",
                "Use at least 8 characters for your password.",
            ));
        }
        if len > Self::MAX_LEN {
            return Err(AppError::invalid(
                "password",
                "A password has at most 128 characters.",
            ));
        }
        Ok(Self(input.to_owned()))
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Password {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Password(***)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_between_8_and_128_characters_are_accepted() {
        assert!(Password::parse("12345678").is_ok());
        assert!(Password::parse(&"p".repeat(128)).is_ok());
        // Length counts characters, not bytes.
        assert!(Password::parse(&"é".repeat(100)).is_ok());
    }

    #[test]
    fn short_and_long_passwords_are_rejected_on_the_password_field() {
        for bad in ["", "1234567", &"p".repeat(129)] {
            let err = Password::parse(bad).unwrap_err();
            assert!(matches!(err, AppError::Invalid { ref field, .. } if field == "password"));
        }
    }

    #[test]
    fn debug_output_hides_the_password() {
        assert_eq!(
            format!("{:?}", Password::parse("secret-pass").unwrap()),
            "Password(***)"
        );
    }
}

//! Argon2id password hashing (the crate's defaults are OWASP's: 19 MiB, 2 passes, 1 lane), run on
//! the blocking pool so that it never stalls the async runtime.

use std::sync::OnceLock;

use argon2::{
    password_hash::{rand_core::OsRng, PasswordHash, PasswordHasher, PasswordVerifier, SaltString},
    Argon2,
};

use crate::{
    domain::{AppError, Password},
    server::error::OrInternal,
};

pub async fn hash(password: Password) -> Result<String, AppError> {
    tokio::task::spawn_blocking(move || {
        Argon2::default()
            .hash_password(
                password.expose().as_bytes(),
                &SaltString::generate(&mut OsRng),
            )
            .map(|h| h.to_string())
    })
    .await
    .or_internal("joining the password hasher")?
    .or_internal("hashing a password")
}

/// Checks a password against a stored hash. With no hash (unknown account) it checks against a
/// fixed one, so that a wrong email takes as long as a wrong password.
pub async fn verify(stored: Option<String>, password: String) -> Result<bool, AppError> {
    tokio::task::spawn_blocking(move || {
        let known = stored.is_some();
        let Ok(parsed) = PasswordHash::new(stored.as_deref().unwrap_or_else(|| dummy_hash()))
        else {
            return false;
        };
        let matches = Argon2::default()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok();
        known && matches
    })
    .await
    .or_internal("joining the password verifier")
}

fn dummy_hash() -> &'static str {
    static DUMMY: OnceLock<String> = OnceLock::new();
    DUMMY.get_or_init(|| {
        Argon2::default()
            .hash_password(
                b"no account has this password",
                &SaltString::generate(&mut OsRng),
            )
            .map(|h| h.to_string())
            .unwrap_or_default()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_hashed_password_verifies_and_a_wrong_one_does_not() {
        let stored = hash(Password::parse("correct horse").unwrap())
            .await
            .unwrap();
        assert!(stored.starts_with("$argon2id$"));
        assert!(verify(Some(stored.clone()), "correct horse".into())
            .await
            .unwrap());
        assert!(!verify(Some(stored), "wrong horse!".into()).await.unwrap());
    }

    #[tokio::test]
    async fn an_unknown_account_never_verifies() {
        assert!(!verify(None, "no account has this password".into())
            .await
            .unwrap());
    }
}

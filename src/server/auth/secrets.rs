//! Random secrets (session ids, API tokens, invite links): 256 bits, a short prefix that makes a
//! leaked one recognizable, stored only as SHA-256 hashes.

use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine};
use rand::{rngs::OsRng, RngCore};
use sha2::{Digest, Sha256};

/// Session ids, in the session cookie (`c` for cookie; sessions made before SCIM tokens took
/// `ghs_` still work: only the hash is looked up).
pub const SESSION_PREFIX: &str = "ghc_";
/// An organization's SCIM token (SPEC section 11).
pub const SCIM_TOKEN_PREFIX: &str = "ghs_";

/// A new random secret: `prefix` followed by 32 random bytes in URL-safe base64.
pub fn generate(prefix: &str) -> String {
    let mut bytes = [0u8; 32];
    OsRng.fill_bytes(&mut bytes);
    format!("{prefix}{}", URL_SAFE_NO_PAD.encode(bytes))
}

pub fn random_bytes<const N: usize>() -> [u8; N] {
    let mut bytes = [0u8; N];
    OsRng.fill_bytes(&mut bytes);
    bytes
}

/// What the database stores in place of a secret.
pub fn hash(secret: &str) -> [u8; 32] {
    Sha256::digest(secret.as_bytes()).into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_prefixed_and_never_repeat() {
        let a = generate(SESSION_PREFIX);
        let b = generate(SESSION_PREFIX);
        assert!(a.starts_with("ghc_"));
        assert_eq!(a.len(), 4 + 43);
        assert_ne!(a, b);
        assert_ne!(hash(&a), hash(&b));
    }
}

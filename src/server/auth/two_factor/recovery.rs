//! Recovery codes: ten of them, each ten characters of an alphabet without look-alikes (about 49
//! bits), shown once, stored as SHA-256 hashes, each good for one sign-in.

use rand::{rngs::OsRng, Rng};

use crate::domain::{normalize_code, RECOVERY_CODES};
use crate::server::auth::secrets;

/// No 0/o, 1/l/i: what is read off paper is typed back right.
const ALPHABET: &[u8] = b"abcdefghjkmnpqrstuvwxyz23456789";

/// A new set of codes (`xxxxx-xxxxx`) and the hashes to store.
pub fn generate() -> (Vec<String>, Vec<[u8; 32]>) {
    let codes: Vec<String> = (0..RECOVERY_CODES)
        .map(|_| {
            let chars: String = (0..10)
                .map(|_| ALPHABET[OsRng.gen_range(0..ALPHABET.len())] as char)
                .collect();
            format!("{}-{}", &chars[..5], &chars[5..])
        })
        .collect();
    let hashes = codes.iter().map(|c| hash(c)).collect();
    (codes, hashes)
}

/// The stored form of a code as typed (case, spaces and the dash do not matter).
pub fn hash(typed: &str) -> [u8; 32] {
    secrets::hash(&normalize_code(typed))
}

/// Whether `typed` is shaped like a recovery code (rather than an app's six digits).
pub fn looks_like_one(typed: &str) -> bool {
    let code = normalize_code(typed);
    code.len() == 10 && code.bytes().all(|b| ALPHABET.contains(&b))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_ten_distinct_and_read_back_however_typed() {
        let (codes, hashes) = generate();
        assert_eq!(codes.len(), 10);
        let distinct: std::collections::HashSet<_> = codes.iter().collect();
        assert_eq!(distinct.len(), 10);
        for (code, stored) in codes.iter().zip(&hashes) {
            assert!(looks_like_one(code), "{code}");
            assert_eq!(&hash(&code.to_uppercase().replace('-', " ")), stored);
        }
        assert!(!looks_like_one("123456"));
    }
}

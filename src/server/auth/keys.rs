//! The server key. API tokens are derived from it (HMAC of the user and a per-user salt), so the
//! database holds only their hashes and salts, yet a user can see their token again.

use std::{io::Write, path::Path};

use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine};
use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};

pub const API_TOKEN_PREFIX: &str = "ght_";
pub const INVITE_LINK_PREFIX: &str = "ghl_";
pub const INVITATION_PREFIX: &str = "ghi_";
pub const PASSWORD_RESET_PREFIX: &str = "ghr_";

pub struct Keys {
    secret: [u8; 32],
}

impl Keys {
    pub fn from_secret(secret: &str) -> Self {
        Self {
            secret: Sha256::digest(secret.as_bytes()).into(),
        }
    }

    /// Reads the key file, creating it (readable by this user only) on first start.
    pub fn load_or_create(path: &Path) -> std::io::Result<Self> {
        if let Ok(existing) = std::fs::read_to_string(path) {
            if !existing.trim().is_empty() {
                return Ok(Self::from_secret(existing.trim()));
            }
        }
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)?;
        }
        let secret = hex::encode(super::secrets::random_bytes::<32>());
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        match options.open(path) {
            Ok(mut file) => {
                file.write_all(secret.as_bytes())?;
                Ok(Self::from_secret(&secret))
            }
            // Another process created it first: use theirs.
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                Ok(Self::from_secret(std::fs::read_to_string(path)?.trim()))
            }
            Err(e) => Err(e),
        }
    }

    /// The API token of `user_id` for the given salt.
    pub fn api_token(&self, user_id: i64, salt: &[u8]) -> String {
        self.derive(
            API_TOKEN_PREFIX,
            b"gatehouse api token",
            &[&user_id.to_be_bytes(), salt],
        )
    }

    /// The secret of an organization's invite link for the given salt.
    pub fn invite_link(&self, salt: &[u8]) -> String {
        self.derive(INVITE_LINK_PREFIX, b"gatehouse invite link", &[salt])
    }

    /// The secret of one email invitation for the given salt.
    pub fn invitation(&self, salt: &[u8]) -> String {
        self.derive(INVITATION_PREFIX, b"gatehouse invitation", &[salt])
    }

    /// The secret of one password-reset link for the given salt.
    pub fn password_reset(&self, salt: &[u8]) -> String {
        self.derive(PASSWORD_RESET_PREFIX, b"gatehouse password reset", &[salt])
    }

    fn derive(&self, prefix: &str, purpose: &[u8], parts: &[&[u8]]) -> String {
        let mut mac =
            Hmac::<Sha256>::new_from_slice(&self.secret).expect("HMAC takes any key length");
        mac.update(purpose);
        mac.update(b"\0");
        for part in parts {
            mac.update(part);
        }
        format!(
            "{prefix}{}",
            URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes())
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn api_tokens_depend_on_key_user_and_salt() {
        let keys = Keys::from_secret("k1");
        let t = keys.api_token(1, b"salt");
        assert!(t.starts_with(API_TOKEN_PREFIX));
        assert_eq!(t, keys.api_token(1, b"salt"));
        assert_ne!(t, keys.api_token(2, b"salt"));
        assert_ne!(t, keys.api_token(1, b"pepper"));
        assert_ne!(t, Keys::from_secret("k2").api_token(1, b"salt"));
    }

    #[test]
    fn each_kind_of_secret_has_its_own_prefix_and_value() {
        let keys = Keys::from_secret("k1");
        let link = keys.invite_link(b"salt");
        let invitation = keys.invitation(b"salt");
        assert!(link.starts_with(INVITE_LINK_PREFIX) && invitation.starts_with(INVITATION_PREFIX));
        assert_ne!(link[4..], invitation[4..]);
        let reset = keys.password_reset(b"salt");
        assert!(reset.starts_with(PASSWORD_RESET_PREFIX));
        assert_ne!(reset[4..], invitation[4..]);
        assert_ne!(reset[4..], link[4..]);
    }

    #[test]
    fn key_file_is_created_once_and_reused() {
        let dir = std::env::temp_dir().join(format!(
            "gatehouse-keys-{}",
            hex::encode(crate::server::auth::secrets::random_bytes::<6>())
        ));
        let path = dir.join("secret.key");
        let a = Keys::load_or_create(&path).unwrap().api_token(1, b"s");
        let b = Keys::load_or_create(&path).unwrap().api_token(1, b"s");
        assert_eq!(a, b);
        std::fs::remove_dir_all(dir).unwrap();
    }
}

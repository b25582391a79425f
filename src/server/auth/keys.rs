//! The server key. API tokens are derived from it (HMAC of the user and a per-user salt), so the
//! database holds only their hashes and salts, yet a user can see their token again.

use std::{
    io::{self, Write},
    path::Path,
};

use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine};
use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};

use crate::server::{files, Config};

pub const API_TOKEN_PREFIX: &str = "ght_";
pub const INVITE_LINK_PREFIX: &str = "ghl_";
pub const INVITATION_PREFIX: &str = "ghi_";
pub const PASSWORD_RESET_PREFIX: &str = "ghr_";
pub const EMAIL_VERIFICATION_PREFIX: &str = "ghv_";

/// The shortest server key accepted, in bytes (256 bits, as much as the HMAC uses).
pub const MIN_KEY_BYTES: usize = 32;
/// The key file's name in the data folder.
pub const KEY_FILE: &str = "secret.key";

/// What replacing the key costs, as the messages below tell it.
const WHAT_A_NEW_KEY_COSTS: &str =
    "API tokens, invite links and open email invitations made with the old key stop working";

pub struct Keys {
    secret: [u8; 32],
}

impl Keys {
    fn from_secret(secret: &str) -> Self {
        Self {
            secret: Sha256::digest(secret.as_bytes()).into(),
        }
    }

    /// The server key the settings name: `LABEL_STUDIO_SECRET_KEY` when it is set, else the key
    /// file in the data folder, made on first start. A key shorter than [`MIN_KEY_BYTES`] is an
    /// error that says what to do, never silently replaced.
    pub fn from_config(config: &Config) -> Result<Self, String> {
        match &config.secret_key {
            Some(secret) => Self::from_setting(secret),
            None => Self::load_or_create(&config.data_dir.join(KEY_FILE)),
        }
    }

    /// The key given by `LABEL_STUDIO_SECRET_KEY`, used as it is given (its length is counted
    /// without surrounding spaces).
    pub fn from_setting(secret: &str) -> Result<Self, String> {
        let length = secret.trim().len();
        if length < MIN_KEY_BYTES {
            return Err(format!(
                "LABEL_STUDIO_SECRET_KEY is {length} bytes long; a server key needs at least \
                 {MIN_KEY_BYTES}. Generate one with `openssl rand -hex 32` and set it on every \
                 instance that shares the database ({WHAT_A_NEW_KEY_COSTS}), or unset \
                 LABEL_STUDIO_SECRET_KEY to have a key made and kept in <data dir>/{KEY_FILE}."
            ));
        }
        Ok(Self::from_secret(secret))
    }

    /// Reads the key file, creating it (readable by this user only) on first start. The new key
    /// is written to a temporary file and then linked to its name, which fails if the name
    /// exists: the file is never seen half-written, and of two instances starting at once, the
    /// second uses the first one's key.
    pub fn load_or_create(path: &Path) -> Result<Self, String> {
        match std::fs::read_to_string(path) {
            Ok(existing) => return Self::from_key_file(path, &existing),
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => {
                return Err(format!(
                    "cannot read the server key {}: {e}",
                    path.display()
                ))
            }
        }
        let secret = hex::encode(super::secrets::random_bytes::<MIN_KEY_BYTES>());
        match write_new_file(path, secret.as_bytes()) {
            Ok(()) => Ok(Self::from_secret(&secret)),
            // Another process created it first: use theirs.
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
                let theirs = std::fs::read_to_string(path)
                    .map_err(|e| format!("cannot read the server key {}: {e}", path.display()))?;
                Self::from_key_file(path, &theirs)
            }
            Err(e) => Err(format!(
                "cannot create the server key {}: {e}. Make the data folder (LABEL_STUDIO_DATA_DIR) \
                 writable, or set LABEL_STUDIO_SECRET_KEY (generate one with `openssl rand -hex 32`).",
                path.display()
            )),
        }
    }

    fn from_key_file(path: &Path, contents: &str) -> Result<Self, String> {
        let secret = contents.trim();
        let path = path.display();
        if secret.is_empty() {
            return Err(format!(
                "the server key file {path} is empty (was the disk full when it was written?). \
                 Put the key back from a backup, or delete the file to have a new key made at the \
                 next start ({WHAT_A_NEW_KEY_COSTS})."
            ));
        }
        if secret.len() < MIN_KEY_BYTES {
            return Err(format!(
                "the server key file {path} holds {} bytes; a server key needs at least \
                 {MIN_KEY_BYTES} (was the file cut short?). Put the key back from a backup, or \
                 delete the file to have a new key made at the next start ({WHAT_A_NEW_KEY_COSTS}).",
                secret.len()
            ));
        }
        Ok(Self::from_secret(secret))
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

    /// The secret of one email-verification link for the given salt.
    pub fn email_verification(&self, salt: &[u8]) -> String {
        self.derive(
            EMAIL_VERIFICATION_PREFIX,
            b"gatehouse email verification",
            &[salt],
        )
    }

    /// The signature of what an answer to a form puts in a page's address (each part is
    /// length-prefixed, so that no two lists of parts sign alike).
    pub fn form_answer(&self, parts: &[&[u8]]) -> String {
        let framed: Vec<Vec<u8>> = parts
            .iter()
            .map(|part| [&(part.len() as u64).to_be_bytes()[..], part].concat())
            .collect();
        let framed: Vec<&[u8]> = framed.iter().map(Vec::as_slice).collect();
        self.derive("", b"gatehouse form answer", &framed)
    }

    /// Signs `claims` as a JWT (HS256) with a key derived from the server key for personal
    /// access tokens only.
    pub fn sign_jwt(&self, claims: &impl serde::Serialize) -> String {
        let key = jsonwebtoken::EncodingKey::from_secret(&self.jwt_key());
        jsonwebtoken::encode(&jsonwebtoken::Header::default(), claims, &key)
            .expect("claims of plain fields serialize")
    }

    /// The claims of a JWT this server signed (HS256 only), if its signature holds. Its expiry is
    /// the caller's to check, against the app's clock.
    pub fn read_jwt<T: serde::de::DeserializeOwned>(&self, token: &str) -> Option<T> {
        let key = jsonwebtoken::DecodingKey::from_secret(&self.jwt_key());
        let mut validation = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::HS256);
        validation.validate_exp = false;
        validation.required_spec_claims = ["exp".to_owned()].into();
        jsonwebtoken::decode::<T>(token, &key, &validation)
            .ok()
            .map(|data| data.claims)
    }

    fn jwt_key(&self) -> [u8; 32] {
        self.mac(b"gatehouse personal access token", &[]).into()
    }

    /// The mask an authenticator app's secret is kept under: a key stream for this account and
    /// this nonce (a new one with every secret), so the database alone does not give the secret
    /// away.
    pub fn totp_mask(&self, user_id: i64, nonce: &[u8]) -> [u8; 32] {
        self.mac(b"gatehouse totp secret", &[&user_id.to_be_bytes(), nonce])
            .into()
    }

    /// The user handle passkeys carry for `user_id`: stable, and meaningless without the server
    /// key (it does not give away the account's number).
    pub fn passkey_user_handle(&self, user_id: i64) -> [u8; 16] {
        let mac = self.mac(b"gatehouse passkey user handle", &[&user_id.to_be_bytes()]);
        let mut handle = [0u8; 16];
        handle.copy_from_slice(&mac[..16]);
        handle
    }

    fn mac(&self, purpose: &[u8], parts: &[&[u8]]) -> hmac::digest::Output<Hmac<Sha256>> {
        let mut mac =
            Hmac::<Sha256>::new_from_slice(&self.secret).expect("HMAC takes any key length");
        mac.update(purpose);
        mac.update(b"\0");
        for part in parts {
            mac.update(part);
        }
        mac.finalize().into_bytes()
    }

    fn derive(&self, prefix: &str, purpose: &[u8], parts: &[&[u8]]) -> String {
        format!(
            "{prefix}{}",
            URL_SAFE_NO_PAD.encode(self.mac(purpose, parts))
        )
    }
}

/// Writes `contents` to a new file at `path`, readable by its owner only, all at once: the bytes
/// go to a temporary file in the same folder, which is then linked to `path`. Fails with
/// `AlreadyExists`, changing nothing, when `path` exists.
fn write_new_file(path: &Path, contents: &[u8]) -> io::Result<()> {
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    files::create_private_dir(dir)?;
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let temporary = dir.join(format!(
        ".{name}.{}.tmp",
        hex::encode(super::secrets::random_bytes::<6>())
    ));
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, files::PRIVATE_FILE_MODE);
    let written = options.open(&temporary).and_then(|mut file| {
        file.write_all(contents)?;
        file.sync_all()
    });
    // A hard link, unlike a rename, never replaces a file that is already there.
    let linked = written.and_then(|()| std::fs::hard_link(&temporary, path));
    let _ = std::fs::remove_file(&temporary);
    linked?;
    // The new name survives a crash only once its folder is written out too.
    #[cfg(unix)]
    if let Ok(folder) = std::fs::File::open(dir) {
        let _ = folder.sync_all();
    }
    Ok(())
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
        let verification = keys.email_verification(b"salt");
        assert!(verification.starts_with(EMAIL_VERIFICATION_PREFIX));
        assert_ne!(verification[4..], reset[4..]);
    }

    fn scratch_dir() -> std::path::PathBuf {
        std::env::temp_dir().join(format!(
            "gatehouse-keys-{}",
            hex::encode(crate::server::auth::secrets::random_bytes::<6>())
        ))
    }

    #[test]
    fn key_file_is_created_once_and_reused() {
        let dir = scratch_dir();
        let path = dir.join("secret.key");
        let a = Keys::load_or_create(&path).unwrap().api_token(1, b"s");
        let b = Keys::load_or_create(&path).unwrap().api_token(1, b"s");
        assert_eq!(a, b);
        let entries: Vec<_> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(entries, ["secret.key"], "no temporary file is left behind");
        assert_eq!(std::fs::read_to_string(&path).unwrap().len(), 64);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode(&path), 0o600);
            assert_eq!(mode(&dir), 0o700);
        }
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn instances_starting_at_once_agree_on_one_key() {
        let dir = scratch_dir();
        let path = dir.join("secret.key");
        let start = std::sync::Arc::new(std::sync::Barrier::new(8));
        let tokens: Vec<String> = (0..8)
            .map(|_| {
                let (path, start) = (path.clone(), start.clone());
                std::thread::spawn(move || {
                    start.wait();
                    Keys::load_or_create(&path).unwrap().api_token(1, b"s")
                })
            })
            .collect::<Vec<_>>()
            .into_iter()
            .map(|t| t.join().unwrap())
            .collect();
        assert!(tokens.iter().all(|t| *t == tokens[0]), "{tokens:?}");
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn an_empty_or_truncated_key_file_is_an_error_that_says_what_to_do() {
        let dir = scratch_dir();
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("secret.key");
        for (contents, words) in [
            ("", "is empty"),
            ("\n", "is empty"),
            ("0123456789abcdef", "holds 16 bytes"),
        ] {
            std::fs::write(&path, contents).unwrap();
            let err = Keys::load_or_create(&path).err().expect("refused");
            assert!(err.contains(words), "{err}");
            assert!(
                err.contains("delete the file") && err.contains("backup"),
                "{err}"
            );
            assert_eq!(
                std::fs::read_to_string(&path).unwrap(),
                contents,
                "left as it was"
            );
        }
        std::fs::write(&path, format!("{}\n", "k".repeat(32))).unwrap();
        assert_eq!(
            Keys::load_or_create(&path).unwrap().api_token(1, b"s"),
            Keys::from_secret(&"k".repeat(32)).api_token(1, b"s"),
            "a key of 32 bytes is used without its line break"
        );
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn a_short_key_setting_is_an_error_that_says_how_to_make_one() {
        let err = Keys::from_setting("integration tests")
            .err()
            .expect("refused");
        assert!(
            err.contains("LABEL_STUDIO_SECRET_KEY is 17 bytes long"),
            "{err}"
        );
        assert!(err.contains("openssl rand -hex 32"), "{err}");
        let key = "k".repeat(MIN_KEY_BYTES);
        assert_eq!(
            Keys::from_setting(&key).unwrap().api_token(1, b"s"),
            Keys::from_secret(&key).api_token(1, b"s")
        );
    }
}

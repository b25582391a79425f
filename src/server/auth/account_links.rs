//! One-time links mailed to an account (password resets, email verifications): the token's row
//! and its message are written in one transaction, and the secret is derived again from the
//! server key and the row's salt when the message is delivered, so the database holds only the
//! secret's hash.

use super::secrets;
use crate::domain::AppError;
use crate::server::{
    change::Change,
    clock::seconds,
    db::{
        self,
        account_tokens::Purpose,
        outbox::{MessageKind, NewMessage},
    },
    error::OrInternal,
    AppState,
};

/// The secret of `purpose` for `salt`.
pub fn secret(state: &AppState, purpose: Purpose, salt: &[u8]) -> String {
    match purpose {
        Purpose::PasswordReset => state.keys.password_reset(salt),
        Purpose::EmailVerification => state.keys.email_verification(salt),
    }
}

/// The page a link of `purpose` opens.
pub fn path(purpose: Purpose) -> &'static str {
    match purpose {
        Purpose::PasswordReset => "/user/reset-password",
        Purpose::EmailVerification => "/user/verify-email",
    }
}

fn kind(purpose: Purpose) -> MessageKind {
    match purpose {
        Purpose::PasswordReset => MessageKind::PasswordReset,
        Purpose::EmailVerification => MessageKind::EmailVerification,
    }
}

fn lifetime(state: &AppState, purpose: Purpose) -> i64 {
    seconds(match purpose {
        Purpose::PasswordReset => state.config.password_reset_lifetime,
        Purpose::EmailVerification => state.config.email_verification_lifetime,
    })
}

/// In `change`: ends the account's unused links of `purpose`, makes a new one and queues its
/// message to `email`, with links on `origin`.
pub async fn issue_in(
    change: &mut Change<'_>,
    state: &AppState,
    purpose: Purpose,
    user_id: i64,
    email: &str,
    origin: &str,
) -> Result<(), AppError> {
    db::account_tokens::delete_unused(&mut **change.tx(), user_id, purpose)
        .await
        .or_internal("ending earlier links")?;
    let link = Link {
        purpose,
        kind: kind(purpose),
        lifetime: lifetime(state, purpose),
    };
    link.queue_in(change, state, user_id, email, origin).await
}

/// A link to mail: what its token is for, the message that carries it, and how long it lives.
struct Link {
    purpose: Purpose,
    kind: MessageKind,
    lifetime: i64,
}

impl Link {
    /// Makes the link's token (stored as its hash, with the salt it is derived from again at
    /// delivery) and queues its message to `email`, with links on `origin`.
    async fn queue_in(
        &self,
        change: &mut Change<'_>,
        state: &AppState,
        user_id: i64,
        email: &str,
        origin: &str,
    ) -> Result<(), AppError> {
        let now = change.now();
        let salt = secrets::random_bytes::<16>();
        let token_hash = secrets::hash(&secret(state, self.purpose, &salt));
        let token_id = db::account_tokens::insert(
            &mut **change.tx(),
            user_id,
            self.purpose,
            &token_hash,
            &salt,
            now,
            now + self.lifetime,
        )
        .await
        .or_internal("storing a link")?;
        let message = NewMessage {
            account_token_id: Some(token_id),
            user_id: Some(user_id),
            ..NewMessage::new(self.kind, email, origin, now)
        };
        change.queue(&message).await
    }
}

/// How long the password link of an account the identity provider made stays valid.
pub const PROVISIONED_LIFETIME: i64 = 7 * 24 * 60 * 60;

/// In `change`: a `ghr_` link valid for [`PROVISIONED_LIFETIME`] that sets the password of
/// `user_id`, an account the identity provider just made, queued to `email` with links on
/// `origin`.
pub async fn issue_provisioned_in(
    change: &mut Change<'_>,
    state: &AppState,
    user_id: i64,
    email: &str,
    origin: &str,
) -> Result<(), AppError> {
    let link = Link {
        purpose: Purpose::PasswordReset,
        kind: MessageKind::AccountProvisioned,
        lifetime: PROVISIONED_LIFETIME,
    };
    link.queue_in(change, state, user_id, email, origin).await
}

/// The hash a link's token is stored by, if `raw` has the form of a token with `prefix`.
pub fn token_hash(raw: &str, prefix: &str) -> Option<[u8; 32]> {
    let raw = raw.trim();
    match raw.strip_prefix(prefix) {
        Some(rest) if !rest.is_empty() => Some(secrets::hash(raw)),
        _ => None,
    }
}

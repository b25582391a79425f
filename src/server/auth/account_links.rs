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
    let now = change.now();
    let salt = secrets::random_bytes::<16>();
    let token_hash = secrets::hash(&secret(state, purpose, &salt));
    let tx = change.tx();
    db::account_tokens::delete_unused(&mut **tx, user_id, purpose)
        .await
        .or_internal("ending earlier links")?;
    let token_id = db::account_tokens::insert(
        &mut **tx,
        user_id,
        purpose,
        &token_hash,
        &salt,
        now,
        now + lifetime(state, purpose),
    )
    .await
    .or_internal("storing a link")?;
    let message = NewMessage {
        account_token_id: Some(token_id),
        user_id: Some(user_id),
        ..NewMessage::new(kind(purpose), email, origin, now)
    };
    change.queue(&message).await
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
    let now = change.now();
    let purpose = Purpose::PasswordReset;
    let salt = secrets::random_bytes::<16>();
    let token_hash = secrets::hash(&secret(state, purpose, &salt));
    let token_id = db::account_tokens::insert(
        &mut **change.tx(),
        user_id,
        purpose,
        &token_hash,
        &salt,
        now,
        now + PROVISIONED_LIFETIME,
    )
    .await
    .or_internal("storing a link")?;
    let message = NewMessage {
        account_token_id: Some(token_id),
        user_id: Some(user_id),
        ..NewMessage::new(MessageKind::AccountProvisioned, email, origin, now)
    };
    change.queue(&message).await
}

/// The hash a link's token is stored by, if `raw` has the form of a token with `prefix`.
pub fn token_hash(raw: &str, prefix: &str) -> Option<[u8; 32]> {
    let raw = raw.trim();
    match raw.strip_prefix(prefix) {
        Some(rest) if !rest.is_empty() => Some(secrets::hash(raw)),
        _ => None,
    }
}

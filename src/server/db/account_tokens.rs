//! One-time secrets sent by mail (password resets, email verifications): found by the hash of the
//! secret, which is derived from the server key and the row's salt.

use sqlx::AnyExecutor;

/// What an account token is for (the `purpose` column).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Purpose {
    PasswordReset,
    EmailVerification,
}

impl Purpose {
    pub fn as_str(self) -> &'static str {
        match self {
            Purpose::PasswordReset => "password_reset",
            Purpose::EmailVerification => "email_verification",
        }
    }
}

#[derive(sqlx::FromRow)]
pub struct AccountTokenRecord {
    pub id: i64,
    pub user_id: i64,
    pub salt: Vec<u8>,
    pub expires_at: i64,
    pub used_at: Option<i64>,
}

impl AccountTokenRecord {
    /// Neither used nor expired at `now`.
    pub fn is_live(&self, now: i64) -> bool {
        self.used_at.is_none() && self.expires_at > now
    }
}

/// Stores a new token; returns its id.
pub async fn insert<'e>(
    ex: impl AnyExecutor<'e>,
    user_id: i64,
    purpose: Purpose,
    token_hash: &[u8],
    salt: &[u8],
    now: i64,
    expires_at: i64,
) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar(
        "INSERT INTO account_tokens (user_id, purpose, token_hash, salt, created_at, expires_at) \
         VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
    )
    .bind(user_id)
    .bind(purpose.as_str())
    .bind(token_hash.to_vec())
    .bind(salt.to_vec())
    .bind(now)
    .bind(expires_at)
    .fetch_one(ex)
    .await
}

pub async fn find<'e>(
    ex: impl AnyExecutor<'e>,
    id: i64,
) -> Result<Option<AccountTokenRecord>, sqlx::Error> {
    sqlx::query_as(
        "SELECT id, user_id, salt, expires_at, used_at FROM account_tokens WHERE id = $1",
    )
    .bind(id)
    .fetch_optional(ex)
    .await
}

pub async fn find_by_hash<'e>(
    ex: impl AnyExecutor<'e>,
    purpose: Purpose,
    token_hash: &[u8],
) -> Result<Option<AccountTokenRecord>, sqlx::Error> {
    sqlx::query_as(
        "SELECT id, user_id, salt, expires_at, used_at FROM account_tokens \
         WHERE token_hash = $1 AND purpose = $2",
    )
    .bind(token_hash.to_vec())
    .bind(purpose.as_str())
    .fetch_optional(ex)
    .await
}

/// Uses the token, once: marks it used if it is neither used nor expired at `now`, nor replaced
/// by a newer token of its user and purpose (however close together the two were asked for),
/// and returns its user. Two concurrent uses cannot both succeed.
pub async fn use_once<'e>(
    ex: impl AnyExecutor<'e>,
    purpose: Purpose,
    token_hash: &[u8],
    now: i64,
) -> Result<Option<i64>, sqlx::Error> {
    sqlx::query_scalar(
        "UPDATE account_tokens SET used_at = $1 \
         WHERE token_hash = $2 AND purpose = $3 AND used_at IS NULL AND expires_at > $1 \
         AND NOT EXISTS (SELECT 1 FROM account_tokens newer \
             WHERE newer.user_id = account_tokens.user_id AND newer.purpose = account_tokens.purpose \
             AND newer.id > account_tokens.id) \
         RETURNING user_id",
    )
    .bind(now)
    .bind(token_hash.to_vec())
    .bind(purpose.as_str())
    .fetch_optional(ex)
    .await
}

/// Deletes the user's unused tokens of `purpose` (a newer one was asked for, or the password
/// changed), and with them their undelivered messages.
pub async fn delete_unused<'e>(
    ex: impl AnyExecutor<'e>,
    user_id: i64,
    purpose: Purpose,
) -> Result<u64, sqlx::Error> {
    sqlx::query(
        "DELETE FROM account_tokens WHERE user_id = $1 AND purpose = $2 AND used_at IS NULL",
    )
    .bind(user_id)
    .bind(purpose.as_str())
    .execute(ex)
    .await
    .map(|d| d.rows_affected())
}

/// When the user's newest unused, unexpired token of `purpose` was made, if they have one.
pub async fn newest_live_created_at<'e>(
    ex: impl AnyExecutor<'e>,
    user_id: i64,
    purpose: Purpose,
    now: i64,
) -> Result<Option<i64>, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT MAX(created_at) FROM account_tokens \
         WHERE user_id = $1 AND purpose = $2 AND used_at IS NULL AND expires_at > $3",
    )
    .bind(user_id)
    .bind(purpose.as_str())
    .bind(now)
    .fetch_one(ex)
    .await
}

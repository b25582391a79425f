//! Personal access tokens: JWT refresh tokens stored as their id (`jti`) and the hash of the
//! whole token. A user holds at most one that has not been revoked (a partial unique index).

use sqlx::AnyExecutor;

/// A token as its owner sees it (never its secret).
#[derive(Clone, Debug, sqlx::FromRow)]
pub struct TokenRecord {
    pub jti: String,
    pub user_id: i64,
    pub created_at: i64,
    pub expires_at: i64,
    pub last_used_at: Option<i64>,
}

const COLUMNS: &str = "jti, user_id, created_at, expires_at, last_used_at";

pub async fn insert<'e>(
    ex: impl AnyExecutor<'e>,
    jti: &str,
    user_id: i64,
    token_hash: &[u8],
    now: i64,
    expires_at: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO personal_access_tokens (jti, user_id, token_hash, created_at, expires_at) \
         VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(jti)
    .bind(user_id)
    .bind(token_hash.to_vec())
    .bind(now)
    .bind(expires_at)
    .execute(ex)
    .await
    .map(drop)
}

/// Marks the user's expired tokens revoked (at their expiry), so that a new one may be made.
pub async fn retire_expired<'e>(
    ex: impl AnyExecutor<'e>,
    user_id: i64,
    now: i64,
) -> Result<u64, sqlx::Error> {
    sqlx::query(
        "UPDATE personal_access_tokens SET revoked_at = expires_at \
         WHERE user_id = $1 AND revoked_at IS NULL AND expires_at <= $2",
    )
    .bind(user_id)
    .bind(now)
    .execute(ex)
    .await
    .map(|d| d.rows_affected())
}

/// The user's live tokens (neither revoked nor expired): none or one.
pub async fn live_of<'e>(
    ex: impl AnyExecutor<'e>,
    user_id: i64,
    now: i64,
) -> Result<Vec<TokenRecord>, sqlx::Error> {
    sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM personal_access_tokens \
         WHERE user_id = $1 AND revoked_at IS NULL AND expires_at > $2 ORDER BY created_at DESC"
    ))
    .bind(user_id)
    .bind(now)
    .fetch_all(ex)
    .await
}

/// The live token with this id and hash, if there is one.
pub async fn find_live<'e>(
    ex: impl AnyExecutor<'e>,
    jti: &str,
    token_hash: &[u8],
    now: i64,
) -> Result<Option<TokenRecord>, sqlx::Error> {
    sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM personal_access_tokens \
         WHERE jti = $1 AND token_hash = $2 AND revoked_at IS NULL AND expires_at > $3"
    ))
    .bind(jti)
    .bind(token_hash.to_vec())
    .bind(now)
    .fetch_optional(ex)
    .await
}

/// Revokes one of the user's tokens; whether it was live.
pub async fn revoke<'e>(
    ex: impl AnyExecutor<'e>,
    user_id: i64,
    jti: &str,
    now: i64,
) -> Result<bool, sqlx::Error> {
    sqlx::query(
        "UPDATE personal_access_tokens SET revoked_at = $1 \
         WHERE user_id = $2 AND jti = $3 AND revoked_at IS NULL",
    )
    .bind(now)
    .bind(user_id)
    .bind(jti)
    .execute(ex)
    .await
    .map(|d| d.rows_affected() > 0)
}

/// Revokes every token of the user (deactivation, removal, a password reset); how many were live.
pub async fn revoke_all_of<'e>(
    ex: impl AnyExecutor<'e>,
    user_id: i64,
    now: i64,
) -> Result<u64, sqlx::Error> {
    sqlx::query(
        "UPDATE personal_access_tokens SET revoked_at = $1 \
         WHERE user_id = $2 AND revoked_at IS NULL AND expires_at > $1",
    )
    .bind(now)
    .bind(user_id)
    .execute(ex)
    .await
    .map(|d| d.rows_affected())
}

/// Records that the token was used (an access token made from it, or a request with one).
pub async fn touch<'e>(ex: impl AnyExecutor<'e>, jti: &str, now: i64) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE personal_access_tokens SET last_used_at = $1 \
         WHERE jti = $2 AND (last_used_at IS NULL OR last_used_at < $1)",
    )
    .bind(now)
    .bind(jti)
    .execute(ex)
    .await
    .map(drop)
}

/// Deletes the tokens that have ended (revoked or expired): nothing reads them again, and the
/// audit log keeps their history.
pub async fn delete_ended<'e>(ex: impl AnyExecutor<'e>, now: i64) -> Result<u64, sqlx::Error> {
    sqlx::query(
        "DELETE FROM personal_access_tokens WHERE revoked_at IS NOT NULL OR expires_at <= $1",
    )
    .bind(now)
    .execute(ex)
    .await
    .map(|d| d.rows_affected())
}

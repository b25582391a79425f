//! Personal API tokens: one per user, stored as a hash and the salt it was derived from.

use sqlx::AnyExecutor;

/// Creates or replaces the user's token (one per user); the old token stops matching at once.
pub async fn upsert<'e>(
    ex: impl AnyExecutor<'e>,
    user_id: i64,
    token_hash: &[u8],
    salt: &[u8],
    now: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO api_tokens (user_id, token_hash, salt, created_at) VALUES ($1, $2, $3, $4) \
         ON CONFLICT (user_id) DO UPDATE SET token_hash = excluded.token_hash, \
         salt = excluded.salt, created_at = excluded.created_at",
    )
    .bind(user_id)
    .bind(token_hash.to_vec())
    .bind(salt.to_vec())
    .bind(now)
    .execute(ex)
    .await
    .map(|_| ())
}

pub async fn find_salt<'e>(
    ex: impl AnyExecutor<'e>,
    user_id: i64,
) -> Result<Option<Vec<u8>>, sqlx::Error> {
    sqlx::query_scalar("SELECT salt FROM api_tokens WHERE user_id = $1")
        .bind(user_id)
        .fetch_optional(ex)
        .await
}

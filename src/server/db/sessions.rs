//! Sessions: stored by the hash of their id, with an expiry.

use sqlx::AnyExecutor;

pub async fn insert<'e>(
    ex: impl AnyExecutor<'e>,
    id_hash: &[u8],
    user_id: i64,
    now: i64,
    expires_at: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO sessions (id_hash, user_id, created_at, expires_at) VALUES ($1, $2, $3, $4)",
    )
    .bind(id_hash.to_vec())
    .bind(user_id)
    .bind(now)
    .bind(expires_at)
    .execute(ex)
    .await
    .map(|_| ())
}

pub async fn delete<'e>(ex: impl AnyExecutor<'e>, id_hash: &[u8]) -> Result<(), sqlx::Error> {
    sqlx::query("DELETE FROM sessions WHERE id_hash = $1")
        .bind(id_hash.to_vec())
        .execute(ex)
        .await
        .map(|_| ())
}

pub async fn delete_expired<'e>(ex: impl AnyExecutor<'e>, now: i64) -> Result<u64, sqlx::Error> {
    sqlx::query("DELETE FROM sessions WHERE expires_at <= $1")
        .bind(now)
        .execute(ex)
        .await
        .map(|d| d.rows_affected())
}

use sqlx::{AnyExecutor, Row};

use crate::domain::EmailAddress;

pub struct UserRecord {
    pub id: i64,
    pub email: String,
    pub password_hash: String,
}

/// Inserts a user; a duplicate email fails with a unique violation.
pub async fn insert<'e>(
    ex: impl AnyExecutor<'e>,
    email: &EmailAddress,
    password_hash: &str,
    now: i64,
) -> Result<i64, sqlx::Error> {
    sqlx::query("INSERT INTO users (email, password_hash, created_at) VALUES ($1, $2, $3) RETURNING id")
        .bind(email.as_str())
        .bind(password_hash)
        .bind(now)
        .fetch_one(ex)
        .await?
        .try_get(0)
}

pub async fn find_by_email<'e>(
    ex: impl AnyExecutor<'e>,
    email: &EmailAddress,
) -> Result<Option<UserRecord>, sqlx::Error> {
    let row = sqlx::query("SELECT id, email, password_hash FROM users WHERE email = $1")
        .bind(email.as_str())
        .fetch_optional(ex)
        .await?;
    row.map(|r| {
        Ok(UserRecord { id: r.try_get(0)?, email: r.try_get(1)?, password_hash: r.try_get(2)? })
    })
    .transpose()
}

pub async fn find_password_hash<'e>(
    ex: impl AnyExecutor<'e>,
    user_id: i64,
) -> Result<Option<String>, sqlx::Error> {
    sqlx::query("SELECT password_hash FROM users WHERE id = $1")
        .bind(user_id)
        .fetch_optional(ex)
        .await?
        .map(|r| r.try_get(0))
        .transpose()
}

pub async fn count<'e>(ex: impl AnyExecutor<'e>) -> Result<i64, sqlx::Error> {
    sqlx::query("SELECT COUNT(*) FROM users").fetch_one(ex).await?.try_get(0)
}

/// Records activity at most once a minute per user, to keep writes off the hot path.
pub async fn touch_activity<'e>(ex: impl AnyExecutor<'e>, user_id: i64, now: i64) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE users SET last_activity_at = $1 \
         WHERE id = $2 AND (last_activity_at IS NULL OR last_activity_at < $3)",
    )
    .bind(now)
    .bind(user_id)
    .bind(now - 60)
    .execute(ex)
    .await
    .map(|_| ())
}

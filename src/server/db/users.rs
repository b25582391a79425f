//! Users: their email, password hash and last activity.

use sqlx::AnyExecutor;

use crate::domain::EmailAddress;

#[derive(sqlx::FromRow)]
pub struct UserRecord {
    pub id: i64,
    pub password_hash: String,
}

/// Inserts a user; a duplicate email fails with a unique violation.
pub async fn insert<'e>(
    ex: impl AnyExecutor<'e>,
    email: &EmailAddress,
    password_hash: &str,
    now: i64,
) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar(
        "INSERT INTO users (email, password_hash, created_at) VALUES ($1, $2, $3) RETURNING id",
    )
    .bind(email.as_str())
    .bind(password_hash)
    .bind(now)
    .fetch_one(ex)
    .await
}

pub async fn find_by_email<'e>(
    ex: impl AnyExecutor<'e>,
    email: &EmailAddress,
) -> Result<Option<UserRecord>, sqlx::Error> {
    sqlx::query_as("SELECT id, password_hash FROM users WHERE email = $1")
        .bind(email.as_str())
        .fetch_optional(ex)
        .await
}

pub async fn find_password_hash<'e>(
    ex: impl AnyExecutor<'e>,
    user_id: i64,
) -> Result<Option<String>, sqlx::Error> {
    sqlx::query_scalar("SELECT password_hash FROM users WHERE id = $1")
        .bind(user_id)
        .fetch_optional(ex)
        .await
}

/// Records activity at most once a minute per user, to keep writes off the hot path.
pub async fn touch_activity<'e>(
    ex: impl AnyExecutor<'e>,
    user_id: i64,
    now: i64,
) -> Result<(), sqlx::Error> {
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

/// A user's own account details.
#[derive(sqlx::FromRow)]
pub struct ProfileRecord {
    pub id: i64,
    pub email: String,
    pub first_name: String,
    pub last_name: String,
}

pub async fn find_profile<'e>(
    ex: impl AnyExecutor<'e>,
    user_id: i64,
) -> Result<Option<ProfileRecord>, sqlx::Error> {
    sqlx::query_as("SELECT id, email, first_name, last_name FROM users WHERE id = $1")
        .bind(user_id)
        .fetch_optional(ex)
        .await
}

pub async fn set_name<'e>(
    ex: impl AnyExecutor<'e>,
    user_id: i64,
    first_name: &str,
    last_name: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE users SET first_name = $1, last_name = $2 WHERE id = $3")
        .bind(first_name)
        .bind(last_name)
        .bind(user_id)
        .execute(ex)
        .await
        .map(|_| ())
}

/// Replaces the password hash, if it is still `old_hash` (so that of two concurrent changes,
/// only the one that checked the current password wins); whether it was replaced.
pub async fn replace_password_hash<'e>(
    ex: impl AnyExecutor<'e>,
    user_id: i64,
    old_hash: &str,
    new_hash: &str,
) -> Result<bool, sqlx::Error> {
    sqlx::query("UPDATE users SET password_hash = $1 WHERE id = $2 AND password_hash = $3")
        .bind(new_hash)
        .bind(user_id)
        .bind(old_hash)
        .execute(ex)
        .await
        .map(|d| d.rows_affected() > 0)
}

/// Records that the user proved their address (an email invitation, or the verification link).
pub async fn mark_verified<'e>(
    ex: impl AnyExecutor<'e>,
    user_id: i64,
    now: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE users SET email_verified_at = $1 WHERE id = $2 AND email_verified_at IS NULL",
    )
    .bind(now)
    .bind(user_id)
    .execute(ex)
    .await
    .map(|_| ())
}

/// When the user proved their address: `None` when there is no such user, `Some(None)` while
/// unproven.
pub async fn verified_at<'e>(
    ex: impl AnyExecutor<'e>,
    user_id: i64,
) -> Result<Option<Option<i64>>, sqlx::Error> {
    sqlx::query_scalar("SELECT email_verified_at FROM users WHERE id = $1")
        .bind(user_id)
        .fetch_optional(ex)
        .await
}

/// Deletes an account, and with it (by cascade) its membership, sessions, API token, links and
/// undelivered mail; `false` when there is no such user, or when the account created an
/// organization (whose record names it), which keeps it.
pub async fn delete_account<'e>(
    ex: impl AnyExecutor<'e>,
    user_id: i64,
) -> Result<bool, sqlx::Error> {
    sqlx::query(
        "DELETE FROM users WHERE id = $1 \
         AND NOT EXISTS (SELECT 1 FROM organizations WHERE created_by = $1)",
    )
    .bind(user_id)
    .execute(ex)
    .await
    .map(|d| d.rows_affected() == 1)
}

/// Replaces a user's password hash; `false` when there is no such user.
pub async fn set_password_hash<'e>(
    ex: impl AnyExecutor<'e>,
    user_id: i64,
    password_hash: &str,
) -> Result<bool, sqlx::Error> {
    sqlx::query("UPDATE users SET password_hash = $1 WHERE id = $2")
        .bind(password_hash)
        .bind(user_id)
        .execute(ex)
        .await
        .map(|d| d.rows_affected() == 1)
}

pub async fn email_of<'e>(
    ex: impl AnyExecutor<'e>,
    user_id: i64,
) -> Result<Option<String>, sqlx::Error> {
    sqlx::query_scalar("SELECT email FROM users WHERE id = $1")
        .bind(user_id)
        .fetch_optional(ex)
        .await
}

/// Holds the user's row until the transaction ends (a row lock on PostgreSQL; SQLite's
/// `BEGIN IMMEDIATE` already holds the database), so that two requests about one account decide
/// one after the other. `false` when there is no such user.
pub async fn lock<'e>(ex: impl AnyExecutor<'e>, user_id: i64) -> Result<bool, sqlx::Error> {
    sqlx::query("UPDATE users SET id = id WHERE id = $1")
        .bind(user_id)
        .execute(ex)
        .await
        .map(|d| d.rows_affected() == 1)
}

/// Changes the account's address (to one no other account has: a unique violation otherwise).
pub async fn set_email<'e>(
    ex: impl AnyExecutor<'e>,
    user_id: i64,
    email: &EmailAddress,
) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE users SET email = $1 WHERE id = $2")
        .bind(email.as_str())
        .bind(user_id)
        .execute(ex)
        .await
        .map(drop)
}

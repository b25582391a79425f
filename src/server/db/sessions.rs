//! Sessions: stored by the hash of their id, with a fixed expiry and the time of their last
//! request (a session idle for too long has ended too).

use sqlx::AnyExecutor;

/// A session as its owner sees it on the Account page.
#[derive(sqlx::FromRow)]
pub struct SessionRecord {
    pub id_hash: Vec<u8>,
    pub created_at: i64,
    pub last_seen_at: i64,
    pub client_address: String,
    pub user_agent: String,
    /// How it was opened (a [`crate::domain::SignInMethod`]); `None` before this was recorded.
    pub opened_by: Option<String>,
}

/// Where a session was started from: the client's address and its `User-Agent`.
pub struct Device<'a> {
    pub client_address: &'a str,
    pub user_agent: &'a str,
}

pub async fn insert<'e>(
    ex: impl AnyExecutor<'e>,
    id_hash: &[u8],
    user_id: i64,
    now: i64,
    expires_at: i64,
    device: &Device<'_>,
    opened_by: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO sessions (id_hash, user_id, created_at, expires_at, last_seen_at, client_address, user_agent, opened_by) \
         VALUES ($1, $2, $3, $4, $3, $5, $6, $7)",
    )
    .bind(id_hash.to_vec())
    .bind(user_id)
    .bind(now)
    .bind(expires_at)
    .bind(device.client_address)
    .bind(device.user_agent)
    .bind(opened_by)
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

/// Records a request on the session.
pub async fn touch<'e>(
    ex: impl AnyExecutor<'e>,
    id_hash: &[u8],
    now: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE sessions SET last_seen_at = $1 WHERE id_hash = $2 AND last_seen_at < $1")
        .bind(now)
        .bind(id_hash.to_vec())
        .execute(ex)
        .await
        .map(|_| ())
}

/// Ends every session of a user (deactivated, removed, or a new password).
pub async fn delete_all_of<'e>(ex: impl AnyExecutor<'e>, user_id: i64) -> Result<u64, sqlx::Error> {
    sqlx::query("DELETE FROM sessions WHERE user_id = $1")
        .bind(user_id)
        .execute(ex)
        .await
        .map(|d| d.rows_affected())
}

/// Deletes sessions that have expired or gone idle.
pub async fn delete_expired<'e>(
    ex: impl AnyExecutor<'e>,
    now: i64,
    idle_since: i64,
) -> Result<u64, sqlx::Error> {
    sqlx::query("DELETE FROM sessions WHERE expires_at <= $1 OR last_seen_at <= $2")
        .bind(now)
        .bind(idle_since)
        .execute(ex)
        .await
        .map(|d| d.rows_affected())
}

/// The user's sessions that have neither expired nor gone idle, most recently used first.
pub async fn list_of<'e>(
    ex: impl AnyExecutor<'e>,
    user_id: i64,
    now: i64,
    idle_since: i64,
) -> Result<Vec<SessionRecord>, sqlx::Error> {
    sqlx::query_as(
        "SELECT id_hash, created_at, last_seen_at, client_address, user_agent, opened_by FROM sessions \
         WHERE user_id = $1 AND expires_at > $2 AND last_seen_at > $3 \
         ORDER BY last_seen_at DESC, created_at DESC",
    )
    .bind(user_id)
    .bind(now)
    .bind(idle_since)
    .fetch_all(ex)
    .await
}

/// Ends one session of a user; whether it existed.
pub async fn delete_of<'e>(
    ex: impl AnyExecutor<'e>,
    user_id: i64,
    id_hash: &[u8],
) -> Result<bool, sqlx::Error> {
    sqlx::query("DELETE FROM sessions WHERE user_id = $1 AND id_hash = $2")
        .bind(user_id)
        .bind(id_hash.to_vec())
        .execute(ex)
        .await
        .map(|d| d.rows_affected() > 0)
}

/// Ends every session of a user but `keep`.
pub async fn delete_all_but<'e>(
    ex: impl AnyExecutor<'e>,
    user_id: i64,
    keep: &[u8],
) -> Result<u64, sqlx::Error> {
    sqlx::query("DELETE FROM sessions WHERE user_id = $1 AND id_hash <> $2")
        .bind(user_id)
        .bind(keep.to_vec())
        .execute(ex)
        .await
        .map(|d| d.rows_affected())
}

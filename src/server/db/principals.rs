//! Who is making a request: a session or an API token resolved to a user and membership, in one
//! statement per request.

use sqlx::AnyExecutor;

use crate::domain::Role;

#[derive(sqlx::FromRow)]
pub struct PrincipalRecord {
    pub user_id: i64,
    pub email: String,
    /// `None` for an account that belongs to no organization.
    pub organization_id: Option<i64>,
    pub role: Option<Role>,
    pub last_activity_at: Option<i64>,
    pub email_verified_at: Option<i64>,
    /// When the session was last seen (sessions only).
    pub session_seen_at: Option<i64>,
}

macro_rules! select_principal {
    ($seen:literal, $tail:literal) => {
        concat!(
            "SELECT u.id AS user_id, u.email, m.organization_id, m.role, u.last_activity_at, ",
            "u.email_verified_at, ",
            $seen,
            " AS session_seen_at FROM users u LEFT JOIN memberships m ON m.user_id = u.id ",
            $tail
        )
    };
}

/// The user of a session that has neither expired (`expires_at`) nor gone idle (not seen since
/// `idle_since`).
pub async fn by_session<'e>(
    ex: impl AnyExecutor<'e>,
    id_hash: &[u8],
    now: i64,
    idle_since: i64,
) -> Result<Option<PrincipalRecord>, sqlx::Error> {
    sqlx::query_as(select_principal!(
        "s.last_seen_at",
        "JOIN sessions s ON s.user_id = u.id \
         WHERE s.id_hash = $1 AND s.expires_at > $2 AND s.last_seen_at > $3"
    ))
    .bind(id_hash.to_vec())
    .bind(now)
    .bind(idle_since)
    .fetch_optional(ex)
    .await
}

pub async fn by_api_token<'e>(
    ex: impl AnyExecutor<'e>,
    token_hash: &[u8],
) -> Result<Option<PrincipalRecord>, sqlx::Error> {
    sqlx::query_as(select_principal!(
        "CAST(NULL AS BIGINT)",
        "JOIN api_tokens t ON t.user_id = u.id WHERE t.token_hash = $1"
    ))
    .bind(token_hash.to_vec())
    .fetch_optional(ex)
    .await
}

pub async fn by_user_id<'e>(
    ex: impl AnyExecutor<'e>,
    user_id: i64,
) -> Result<Option<PrincipalRecord>, sqlx::Error> {
    sqlx::query_as(select_principal!("CAST(NULL AS BIGINT)", "WHERE u.id = $1"))
        .bind(user_id)
        .fetch_optional(ex)
        .await
}

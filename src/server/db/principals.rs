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
    /// When the session (or the personal access token) was last used.
    pub session_seen_at: Option<i64>,
    /// The organization's token settings and session policy (none without an organization).
    pub legacy_api_tokens_enabled: Option<i64>,
    pub api_tokens_enabled: Option<i64>,
    pub max_session_age: Option<i64>,
    pub max_time_between_activity: Option<i64>,
    /// For a session in an organization that requires a second factor, when one has (or had) to
    /// be added by, while the account has none and the session is not exempt (SSO); `None` when
    /// nothing is asked of it. API tokens are never asked.
    pub two_factor_deadline: Option<i64>,
}

impl PrincipalRecord {
    /// Whether `Authorization: Token` may be used (an account in no organization may).
    pub fn legacy_tokens_allowed(&self) -> bool {
        self.legacy_api_tokens_enabled != Some(0)
    }

    /// Whether personal access tokens may be used.
    pub fn personal_tokens_allowed(&self) -> bool {
        self.api_tokens_enabled != Some(0)
    }
}

macro_rules! select_principal {
    ($seen:literal, $tail:literal) => {
        select_principal!($seen, "CAST(NULL AS BIGINT)", $tail)
    };
    ($seen:literal, $deadline:literal, $tail:literal) => {
        concat!(
            "SELECT u.id AS user_id, u.email, m.organization_id, m.role, u.last_activity_at, ",
            "u.email_verified_at, o.legacy_api_tokens_enabled, o.api_tokens_enabled, ",
            "o.max_session_age, o.max_time_between_activity, ",
            $seen,
            " AS session_seen_at, ",
            $deadline,
            " AS two_factor_deadline FROM users u LEFT JOIN memberships m ON m.user_id = u.id ",
            "LEFT JOIN organizations o ON o.id = m.organization_id ",
            $tail
        )
    };
}

/// The user of a session that has neither expired (`expires_at`) nor gone idle (not seen since
/// `idle_since`), nor outlived its organization's session policy (a shorter age or idle time, in
/// minutes).
pub async fn by_session<'e>(
    ex: impl AnyExecutor<'e>,
    id_hash: &[u8],
    now: i64,
    idle_since: i64,
) -> Result<Option<PrincipalRecord>, sqlx::Error> {
    sqlx::query_as(select_principal!(
        "s.last_seen_at",
        // The grace runs from when the policy began, or from when the member joined if later.
        "CASE WHEN o.two_factor_required_since IS NULL \
           OR (o.two_factor_sso_exempt = 1 AND s.opened_by = 'sso') \
           OR EXISTS (SELECT 1 FROM totp_secrets f WHERE f.user_id = u.id AND f.confirmed_at IS NOT NULL) \
           OR EXISTS (SELECT 1 FROM passkeys k WHERE k.user_id = u.id) THEN NULL \
         WHEN m.created_at > o.two_factor_required_since THEN m.created_at + o.two_factor_grace_days * 86400 \
         ELSE o.two_factor_required_since + o.two_factor_grace_days * 86400 END",
        "JOIN sessions s ON s.user_id = u.id \
         WHERE s.id_hash = $1 AND s.expires_at > $2 AND s.last_seen_at > $3 \
         AND (o.max_session_age IS NULL OR s.created_at > $2 - o.max_session_age * 60) \
         AND (o.max_time_between_activity IS NULL OR s.last_seen_at > $2 - o.max_time_between_activity * 60)"
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

/// The user of a live personal access token (`jti`): neither revoked nor expired.
pub async fn by_personal_token<'e>(
    ex: impl AnyExecutor<'e>,
    jti: &str,
    user_id: i64,
    now: i64,
) -> Result<Option<PrincipalRecord>, sqlx::Error> {
    sqlx::query_as(select_principal!(
        "p.last_used_at",
        "JOIN personal_access_tokens p ON p.user_id = u.id \
         WHERE p.jti = $1 AND u.id = $2 AND p.revoked_at IS NULL AND p.expires_at > $3"
    ))
    .bind(jti)
    .bind(user_id)
    .bind(now)
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

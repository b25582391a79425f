//! Organizations: title, seat limit, the invite link (salt and hash), and their seat count.

use std::sync::LazyLock;

use sqlx::AnyExecutor;

use super::sql::seats_used;
use crate::domain::{
    format_timestamp, OrgTitle, OrganizationView, OwnerView, SeatsView, TokenSettings,
};

pub async fn insert<'e>(
    ex: impl AnyExecutor<'e>,
    title: &str,
    seats: Option<i64>,
    created_by: i64,
    now: i64,
) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar(
        "INSERT INTO organizations (title, seats, created_by, created_at, updated_at, sso_key) \
         VALUES ($1, $2, $3, $4, $4, $5) RETURNING id",
    )
    .bind(title)
    .bind(seats)
    .bind(created_by)
    .bind(now)
    // Its key in single sign-on addresses: random, and never changed.
    .bind(hex::encode(
        crate::server::auth::secrets::random_bytes::<12>(),
    ))
    .fetch_one(ex)
    .await
}

#[derive(sqlx::FromRow)]
struct ViewRecord {
    id: i64,
    title: String,
    created_at: i64,
    seats: Option<i64>,
    owner_id: i64,
    owner_email: String,
    seats_used: i64,
    pending_members: i64,
}

static FIND_VIEW: LazyLock<String> = LazyLock::new(|| {
    format!(
        "SELECT o.id, o.title, o.created_at, o.seats, u.id AS owner_id, u.email AS owner_email, {} AS seats_used, \
         (SELECT COUNT(*) FROM memberships p WHERE p.organization_id = o.id AND p.role = 'NOT_ACTIVATED') AS pending_members \
         FROM organizations o \
         JOIN memberships m ON m.organization_id = o.id AND m.role = 'OWNER' \
         JOIN users u ON u.id = m.user_id \
         WHERE o.id = $1",
        seats_used("$2")
    )
});

/// The organization with its Owner and seat count, in one statement.
pub async fn find_view<'e>(
    ex: impl AnyExecutor<'e>,
    id: i64,
    now: i64,
) -> Result<Option<OrganizationView>, sqlx::Error> {
    let record: Option<ViewRecord> = sqlx::query_as(FIND_VIEW.as_str())
        .bind(id)
        .bind(now)
        .fetch_optional(ex)
        .await?;
    Ok(record.map(|r| OrganizationView {
        id: r.id,
        title: r.title,
        created_at: format_timestamp(r.created_at),
        seats: SeatsView {
            limit: r.seats,
            used: r.seats_used,
        },
        owner: OwnerView {
            id: r.owner_id,
            email: r.owner_email,
        },
        pending_members: r.pending_members,
    }))
}

/// Renames; returns whether the organization exists.
pub async fn rename<'e>(
    ex: impl AnyExecutor<'e>,
    id: i64,
    title: &OrgTitle,
    now: i64,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query("UPDATE organizations SET title = $1, updated_at = $2 WHERE id = $3")
        .bind(title.as_str())
        .bind(now)
        .bind(id)
        .execute(ex)
        .await?;
    Ok(done.rows_affected() == 1)
}

/// Sets the seat limit (`None` = unlimited); returns whether the organization exists.
pub async fn set_seats<'e>(
    ex: impl AnyExecutor<'e>,
    id: i64,
    seats: Option<i64>,
    now: i64,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query("UPDATE organizations SET seats = $1, updated_at = $2 WHERE id = $3")
        .bind(seats)
        .bind(now)
        .bind(id)
        .execute(ex)
        .await?;
    Ok(done.rows_affected() == 1)
}

/// The salt of the organization's invite link, if one was made.
pub async fn invite_salt<'e>(
    ex: impl AnyExecutor<'e>,
    id: i64,
) -> Result<Option<Vec<u8>>, sqlx::Error> {
    let salt: Option<Option<Vec<u8>>> =
        sqlx::query_scalar("SELECT invite_salt FROM organizations WHERE id = $1")
            .bind(id)
            .fetch_optional(ex)
            .await?;
    Ok(salt.flatten())
}

/// Makes the organization's first invite link (salt and hash of the secret), unless it has one.
pub async fn create_invite_link<'e>(
    ex: impl AnyExecutor<'e>,
    id: i64,
    salt: &[u8],
    token_hash: &[u8],
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(
        "UPDATE organizations SET invite_salt = $1, invite_token_hash = $2 WHERE id = $3 AND invite_salt IS NULL",
    )
    .bind(salt.to_vec())
    .bind(token_hash.to_vec())
    .bind(id)
    .execute(ex)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Replaces the organization's invite link; the old one stops matching at once.
pub async fn replace_invite_link<'e>(
    ex: impl AnyExecutor<'e>,
    id: i64,
    salt: &[u8],
    token_hash: &[u8],
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(
        "UPDATE organizations SET invite_salt = $1, invite_token_hash = $2 WHERE id = $3",
    )
    .bind(salt.to_vec())
    .bind(token_hash.to_vec())
    .bind(id)
    .execute(ex)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// The organization an invite link leads to.
#[derive(sqlx::FromRow)]
pub struct LinkTarget {
    pub id: i64,
    pub title: String,
}

/// The organization whose invite link has this hash.
pub async fn find_by_invite_hash<'e>(
    ex: impl AnyExecutor<'e>,
    token_hash: &[u8],
) -> Result<Option<LinkTarget>, sqlx::Error> {
    sqlx::query_as("SELECT id, title FROM organizations WHERE invite_token_hash = $1")
        .bind(token_hash.to_vec())
        .fetch_optional(ex)
        .await
}

pub async fn title<'e>(ex: impl AnyExecutor<'e>, id: i64) -> Result<Option<String>, sqlx::Error> {
    sqlx::query_scalar("SELECT title FROM organizations WHERE id = $1")
        .bind(id)
        .fetch_optional(ex)
        .await
}

/// Seats in use and the limit (`None` = unlimited) of an organization.
#[derive(sqlx::FromRow)]
pub struct SeatUsage {
    pub used: i64,
    pub limit: Option<i64>,
}

static SEAT_USAGE: LazyLock<String> = LazyLock::new(|| {
    format!(
        "SELECT {} AS used, o.seats AS \"limit\" FROM organizations o WHERE o.id = $1",
        seats_used("$2")
    )
});

/// The organization's seat usage at `now`.
pub async fn seat_usage<'e>(
    ex: impl AnyExecutor<'e>,
    id: i64,
    now: i64,
) -> Result<Option<SeatUsage>, sqlx::Error> {
    sqlx::query_as(SEAT_USAGE.as_str())
        .bind(id)
        .bind(now)
        .fetch_optional(ex)
        .await
}

/// How many members of the organization wait for a role (Pending).
pub async fn pending_members<'e>(ex: impl AnyExecutor<'e>, id: i64) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT COUNT(*) FROM memberships WHERE organization_id = $1 AND role = 'NOT_ACTIVATED'",
    )
    .bind(id)
    .fetch_one(ex)
    .await
}

/// The organization's API token settings and session policy, as stored.
#[derive(sqlx::FromRow)]
struct SettingsRecord {
    legacy_api_tokens_enabled: i64,
    api_tokens_enabled: i64,
    api_token_ttl_days: i64,
    max_session_age: Option<i64>,
    max_time_between_activity: Option<i64>,
}

/// The session policy as stored, in minutes: `None` follows the server's settings.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StoredSessionPolicy {
    pub max_session_age: Option<i64>,
    pub max_time_between_activity: Option<i64>,
}

async fn settings<'e>(
    ex: impl AnyExecutor<'e>,
    id: i64,
) -> Result<Option<SettingsRecord>, sqlx::Error> {
    sqlx::query_as(
        "SELECT legacy_api_tokens_enabled, api_tokens_enabled, api_token_ttl_days, max_session_age, \
         max_time_between_activity FROM organizations WHERE id = $1",
    )
    .bind(id)
    .fetch_optional(ex)
    .await
}

pub async fn token_settings<'e>(
    ex: impl AnyExecutor<'e>,
    id: i64,
) -> Result<Option<TokenSettings>, sqlx::Error> {
    Ok(settings(ex, id).await?.map(|s| TokenSettings {
        legacy_api_tokens_enabled: s.legacy_api_tokens_enabled != 0,
        api_tokens_enabled: s.api_tokens_enabled != 0,
        api_token_ttl_days: s.api_token_ttl_days,
    }))
}

pub async fn set_token_settings<'e>(
    ex: impl AnyExecutor<'e>,
    id: i64,
    settings: &TokenSettings,
    now: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE organizations SET legacy_api_tokens_enabled = $1, api_tokens_enabled = $2, \
         api_token_ttl_days = $3, updated_at = $4 WHERE id = $5",
    )
    .bind(i64::from(settings.legacy_api_tokens_enabled))
    .bind(i64::from(settings.api_tokens_enabled))
    .bind(settings.api_token_ttl_days)
    .bind(now)
    .bind(id)
    .execute(ex)
    .await
    .map(drop)
}

pub async fn session_policy<'e>(
    ex: impl AnyExecutor<'e>,
    id: i64,
) -> Result<Option<StoredSessionPolicy>, sqlx::Error> {
    Ok(settings(ex, id).await?.map(|s| StoredSessionPolicy {
        max_session_age: s.max_session_age,
        max_time_between_activity: s.max_time_between_activity,
    }))
}

pub async fn set_session_policy<'e>(
    ex: impl AnyExecutor<'e>,
    id: i64,
    policy: StoredSessionPolicy,
    now: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE organizations SET max_session_age = $1, max_time_between_activity = $2, \
         updated_at = $3 WHERE id = $4",
    )
    .bind(policy.max_session_age)
    .bind(policy.max_time_between_activity)
    .bind(now)
    .bind(id)
    .execute(ex)
    .await
    .map(drop)
}

//! Memberships: a user's role in their organization, and the single Owner.

use std::sync::LazyLock;

use sqlx::AnyExecutor;

use super::sql::ACTIVE_MEMBER_ROLES;
use crate::domain::Role;

pub async fn insert<'e>(
    ex: impl AnyExecutor<'e>,
    organization_id: i64,
    user_id: i64,
    role: Role,
    now: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO memberships (organization_id, user_id, role, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $4)",
    )
    .bind(organization_id)
    .bind(user_id)
    .bind(role)
    .bind(now)
    .execute(ex)
    .await
    .map(|_| ())
}

/// The Owner and Administrators of the organization: their ids and addresses.
pub async fn admins<'e>(
    ex: impl AnyExecutor<'e>,
    organization_id: i64,
) -> Result<Vec<(i64, String)>, sqlx::Error> {
    sqlx::query_as(
        "SELECT u.id, u.email FROM memberships m JOIN users u ON u.id = m.user_id \
         WHERE m.organization_id = $1 AND m.role IN ('OWNER', 'ADMINISTRATOR') ORDER BY u.id",
    )
    .bind(organization_id)
    .fetch_all(ex)
    .await
}

/// The role of `user_id` in the organization, if a member.
pub async fn role_of<'e>(
    ex: impl AnyExecutor<'e>,
    organization_id: i64,
    user_id: i64,
) -> Result<Option<Role>, sqlx::Error> {
    sqlx::query_scalar("SELECT role FROM memberships WHERE organization_id = $1 AND user_id = $2")
        .bind(organization_id)
        .bind(user_id)
        .fetch_optional(ex)
        .await
}

/// A member's role and email.
pub async fn role_and_email<'e>(
    ex: impl AnyExecutor<'e>,
    organization_id: i64,
    user_id: i64,
) -> Result<Option<(Role, String)>, sqlx::Error> {
    sqlx::query_as(
        "SELECT m.role, u.email FROM memberships m JOIN users u ON u.id = m.user_id \
         WHERE m.organization_id = $1 AND m.user_id = $2",
    )
    .bind(organization_id)
    .bind(user_id)
    .fetch_optional(ex)
    .await
}

/// Sets a member's role, unless they are the Owner or `from` no longer holds.
pub async fn set_role<'e>(
    ex: impl AnyExecutor<'e>,
    organization_id: i64,
    user_id: i64,
    from: Role,
    to: Role,
    now: i64,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(
        "UPDATE memberships SET role = $1, updated_at = $2 \
         WHERE organization_id = $3 AND user_id = $4 AND role = $5 AND role <> 'OWNER'",
    )
    .bind(to)
    .bind(now)
    .bind(organization_id)
    .bind(user_id)
    .bind(from)
    .execute(ex)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// The Owner's user id.
pub async fn owner<'e>(
    ex: impl AnyExecutor<'e>,
    organization_id: i64,
) -> Result<Option<i64>, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT user_id FROM memberships WHERE organization_id = $1 AND role = 'OWNER'",
    )
    .bind(organization_id)
    .fetch_optional(ex)
    .await
}

/// Step one of a transfer: the Owner `user_id` becomes an Administrator.
pub async fn demote_owner<'e>(
    ex: impl AnyExecutor<'e>,
    organization_id: i64,
    user_id: i64,
    now: i64,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(
        "UPDATE memberships SET role = 'ADMINISTRATOR', updated_at = $1 \
         WHERE organization_id = $2 AND user_id = $3 AND role = 'OWNER'",
    )
    .bind(now)
    .bind(organization_id)
    .bind(user_id)
    .execute(ex)
    .await?;
    Ok(done.rows_affected() == 1)
}

static PROMOTE_TO_OWNER: LazyLock<String> = LazyLock::new(|| {
    format!(
        "UPDATE memberships SET role = 'OWNER', updated_at = $1 \
         WHERE organization_id = $2 AND user_id = $3 AND role IN ({})",
        *ACTIVE_MEMBER_ROLES
    )
});

/// Step two of a transfer: an active member becomes the Owner.
pub async fn promote_to_owner<'e>(
    ex: impl AnyExecutor<'e>,
    organization_id: i64,
    user_id: i64,
    now: i64,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(PROMOTE_TO_OWNER.as_str())
        .bind(now)
        .bind(organization_id)
        .bind(user_id)
        .execute(ex)
        .await?;
    Ok(done.rows_affected() == 1)
}

/// Removes a member from their organization (the account stays, in no organization); returns
/// the role they had, or `None` if they were not a member of it. Never the Owner.
pub async fn delete<'e>(
    ex: impl AnyExecutor<'e>,
    organization_id: i64,
    user_id: i64,
) -> Result<Option<Role>, sqlx::Error> {
    sqlx::query_scalar(
        "DELETE FROM memberships WHERE organization_id = $1 AND user_id = $2 AND role <> 'OWNER' \
         RETURNING role",
    )
    .bind(organization_id)
    .bind(user_id)
    .fetch_optional(ex)
    .await
}

/// The organization a user belongs to, if any.
pub async fn organization_of<'e>(
    ex: impl AnyExecutor<'e>,
    user_id: i64,
) -> Result<Option<i64>, sqlx::Error> {
    sqlx::query_scalar("SELECT organization_id FROM memberships WHERE user_id = $1")
        .bind(user_id)
        .fetch_optional(ex)
        .await
}

/// When `user_id` joined `organization_id`, if they are a member.
pub async fn joined_at<'e>(
    ex: impl AnyExecutor<'e>,
    organization_id: i64,
    user_id: i64,
) -> Result<Option<i64>, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT created_at FROM memberships WHERE organization_id = $1 AND user_id = $2",
    )
    .bind(organization_id)
    .bind(user_id)
    .fetch_optional(ex)
    .await
}

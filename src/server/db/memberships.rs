use sqlx::{AnyExecutor, Row};

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
    .bind(role.as_str())
    .bind(now)
    .execute(ex)
    .await
    .map(|_| ())
}

/// The role of `user_id` in the organization, if a member.
pub async fn role_of<'e>(ex: impl AnyExecutor<'e>, organization_id: i64, user_id: i64) -> Result<Option<String>, sqlx::Error> {
    sqlx::query("SELECT role FROM memberships WHERE organization_id = $1 AND user_id = $2")
        .bind(organization_id)
        .bind(user_id)
        .fetch_optional(ex)
        .await?
        .map(|r| r.try_get(0))
        .transpose()
}

/// Sets a member's role, unless they are the Owner or `from` no longer holds.
pub async fn set_role<'e>(
    ex: impl AnyExecutor<'e>,
    organization_id: i64,
    user_id: i64,
    from: &str,
    to: &str,
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

/// The Owner's user id and email.
pub async fn owner<'e>(ex: impl AnyExecutor<'e>, organization_id: i64) -> Result<Option<(i64, String)>, sqlx::Error> {
    sqlx::query("SELECT u.id, u.email FROM memberships m JOIN users u ON u.id = m.user_id WHERE m.organization_id = $1 AND m.role = 'OWNER'")
        .bind(organization_id)
        .fetch_optional(ex)
        .await?
        .map(|r| Ok((r.try_get(0)?, r.try_get(1)?)))
        .transpose()
}

/// Step one of a transfer: the Owner `user_id` becomes an Administrator.
pub async fn demote_owner<'e>(ex: impl AnyExecutor<'e>, organization_id: i64, user_id: i64, now: i64) -> Result<bool, sqlx::Error> {
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

/// Step two of a transfer: an active member becomes the Owner.
pub async fn promote_to_owner<'e>(ex: impl AnyExecutor<'e>, organization_id: i64, user_id: i64, now: i64) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(
        "UPDATE memberships SET role = 'OWNER', updated_at = $1 \
         WHERE organization_id = $2 AND user_id = $3 AND role IN ('ADMINISTRATOR', 'MANAGER', 'REVIEWER', 'ANNOTATOR')",
    )
    .bind(now)
    .bind(organization_id)
    .bind(user_id)
    .execute(ex)
    .await?;
    Ok(done.rows_affected() == 1)
}

use sqlx::{AnyExecutor, Row};

use crate::domain::{format_timestamp, OrgTitle, OrganizationView, OwnerView, SeatsView};

pub async fn insert<'e>(
    ex: impl AnyExecutor<'e>,
    title: &str,
    seats: Option<i64>,
    created_by: i64,
    now: i64,
) -> Result<i64, sqlx::Error> {
    sqlx::query(
        "INSERT INTO organizations (title, seats, created_by, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $4) RETURNING id",
    )
    .bind(title)
    .bind(seats)
    .bind(created_by)
    .bind(now)
    .fetch_one(ex)
    .await?
    .try_get(0)
}

/// The organization with its Owner and seat count, in one statement.
pub async fn find_view<'e>(ex: impl AnyExecutor<'e>, id: i64, now: i64) -> Result<Option<OrganizationView>, sqlx::Error> {
    let row = sqlx::query(concat!(
        "SELECT o.id, o.title, o.created_at, o.seats, u.id, u.email, ",
        seats_used_sql!(),
        " FROM organizations o \
         JOIN memberships m ON m.organization_id = o.id AND m.role = 'OWNER' \
         JOIN users u ON u.id = m.user_id \
         WHERE o.id = $1"
    ))
    .bind(id)
    .bind(now)
    .fetch_optional(ex)
    .await?;
    row.map(|r| {
        Ok(OrganizationView {
            id: r.try_get(0)?,
            title: r.try_get(1)?,
            created_at: format_timestamp(r.try_get(2)?),
            seats: SeatsView { limit: r.try_get(3)?, used: r.try_get(6)? },
            owner: OwnerView { id: r.try_get(4)?, email: r.try_get(5)? },
        })
    })
    .transpose()
}

/// Renames; returns whether the organization exists.
pub async fn rename<'e>(ex: impl AnyExecutor<'e>, id: i64, title: &OrgTitle, now: i64) -> Result<bool, sqlx::Error> {
    let done = sqlx::query("UPDATE organizations SET title = $1, updated_at = $2 WHERE id = $3")
        .bind(title.as_str())
        .bind(now)
        .bind(id)
        .execute(ex)
        .await?;
    Ok(done.rows_affected() == 1)
}

/// Sets the seat limit (`None` = unlimited); returns whether the organization exists.
pub async fn set_seats<'e>(ex: impl AnyExecutor<'e>, id: i64, seats: Option<i64>, now: i64) -> Result<bool, sqlx::Error> {
    let done = sqlx::query("UPDATE organizations SET seats = $1, updated_at = $2 WHERE id = $3")
        .bind(seats)
        .bind(now)
        .bind(id)
        .execute(ex)
        .await?;
    Ok(done.rows_affected() == 1)
}

/// The salt of the organization's invite link, if one was made.
pub async fn invite_salt<'e>(ex: impl AnyExecutor<'e>, id: i64) -> Result<Option<Vec<u8>>, sqlx::Error> {
    let row = sqlx::query("SELECT invite_salt FROM organizations WHERE id = $1").bind(id).fetch_optional(ex).await?;
    Ok(row.map(|r| r.try_get::<Option<Vec<u8>>, _>(0)).transpose()?.flatten())
}

/// Sets the invite link (salt and hash of the secret); `only_if_missing` keeps an existing one.
pub async fn set_invite_link<'e>(
    ex: impl AnyExecutor<'e>,
    id: i64,
    salt: &[u8],
    token_hash: &[u8],
    only_if_missing: bool,
) -> Result<bool, sqlx::Error> {
    let sql = if only_if_missing {
        "UPDATE organizations SET invite_salt = $1, invite_token_hash = $2 WHERE id = $3 AND invite_salt IS NULL"
    } else {
        "UPDATE organizations SET invite_salt = $1, invite_token_hash = $2 WHERE id = $3"
    };
    let done = sqlx::query(sql).bind(salt.to_vec()).bind(token_hash.to_vec()).bind(id).execute(ex).await?;
    Ok(done.rows_affected() == 1)
}

/// The organization whose invite link has this hash: its id and title.
pub async fn find_by_invite_hash<'e>(
    ex: impl AnyExecutor<'e>,
    token_hash: &[u8],
) -> Result<Option<(i64, String)>, sqlx::Error> {
    sqlx::query("SELECT id, title FROM organizations WHERE invite_token_hash = $1")
        .bind(token_hash.to_vec())
        .fetch_optional(ex)
        .await?
        .map(|r| Ok((r.try_get(0)?, r.try_get(1)?)))
        .transpose()
}

pub async fn title<'e>(ex: impl AnyExecutor<'e>, id: i64) -> Result<Option<String>, sqlx::Error> {
    sqlx::query("SELECT title FROM organizations WHERE id = $1")
        .bind(id)
        .fetch_optional(ex)
        .await?
        .map(|r| r.try_get(0))
        .transpose()
}

/// Seats in use and the limit (`None` = unlimited) of the organization, at `now`.
pub async fn seat_usage<'e>(ex: impl AnyExecutor<'e>, id: i64, now: i64) -> Result<Option<(i64, Option<i64>)>, sqlx::Error> {
    sqlx::query(concat!("SELECT ", seats_used_sql!(), ", o.seats FROM organizations o WHERE o.id = $1"))
        .bind(id)
        .bind(now)
        .fetch_optional(ex)
        .await?
        .map(|r| Ok((r.try_get(0)?, r.try_get(1)?)))
        .transpose()
}

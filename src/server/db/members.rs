//! The members table: filtered, counted, sorted and paged by the database.

use sqlx::{any::AnyRow, AnyExecutor, Row};

pub struct MemberRecord {
    pub user_id: i64,
    pub email: String,
    pub first_name: String,
    pub last_name: String,
    pub role: String,
    pub joined_at: i64,
    pub last_activity_at: Option<i64>,
}

/// `role` empty = any role; `pattern` empty = no search, else a lower-case LIKE pattern.
pub struct Filter<'a> {
    pub organization_id: i64,
    pub role: &'a str,
    pub pattern: &'a str,
}

macro_rules! filtered {
    ($head:literal, $tail:literal) => {
        concat!(
            $head,
            " FROM memberships m JOIN users u ON u.id = m.user_id \
             WHERE m.organization_id = $1 AND ($2 = '' OR m.role = $2) \
             AND ($3 = '' OR lower(u.email) LIKE $3 ESCAPE '\\' \
                  OR lower(u.first_name || ' ' || u.last_name) LIKE $3 ESCAPE '\\') ",
            $tail
        )
    };
}

pub async fn count<'e>(ex: impl AnyExecutor<'e>, f: &Filter<'_>) -> Result<i64, sqlx::Error> {
    if f.pattern.is_empty() {
        // Without a search the count needs no user: the membership index answers it alone.
        return sqlx::query("SELECT COUNT(*) FROM memberships m WHERE m.organization_id = $1 AND ($2 = '' OR m.role = $2)")
            .bind(f.organization_id)
            .bind(f.role)
            .fetch_one(ex)
            .await?
            .try_get(0);
    }
    sqlx::query(filtered!("SELECT COUNT(*)", ""))
        .bind(f.organization_id)
        .bind(f.role)
        .bind(f.pattern)
        .fetch_one(ex)
        .await?
        .try_get(0)
}

pub async fn page<'e>(ex: impl AnyExecutor<'e>, f: &Filter<'_>, limit: i64, offset: i64) -> Result<Vec<MemberRecord>, sqlx::Error> {
    sqlx::query(filtered!(
        "SELECT u.id, u.email, u.first_name, u.last_name, m.role, m.created_at, u.last_activity_at",
        "ORDER BY m.created_at, u.id LIMIT $4 OFFSET $5"
    ))
    .bind(f.organization_id)
    .bind(f.role)
    .bind(f.pattern)
    .bind(limit)
    .bind(offset)
    .fetch_all(ex)
    .await?
    .into_iter()
    .map(record)
    .collect()
}

fn record(r: AnyRow) -> Result<MemberRecord, sqlx::Error> {
    Ok(MemberRecord {
        user_id: r.try_get(0)?,
        email: r.try_get(1)?,
        first_name: r.try_get(2)?,
        last_name: r.try_get(3)?,
        role: r.try_get(4)?,
        joined_at: r.try_get(5)?,
        last_activity_at: r.try_get(6)?,
    })
}

/// The organization of the user with this email, if the address has an account.
pub async fn organization_of_email<'e>(ex: impl AnyExecutor<'e>, email: &str) -> Result<Option<i64>, sqlx::Error> {
    sqlx::query("SELECT m.organization_id FROM users u JOIN memberships m ON m.user_id = u.id WHERE u.email = $1")
        .bind(email)
        .fetch_optional(ex)
        .await?
        .map(|r| r.try_get(0))
        .transpose()
}

pub async fn one<'e>(ex: impl AnyExecutor<'e>, organization_id: i64, user_id: i64) -> Result<Option<MemberRecord>, sqlx::Error> {
    sqlx::query(
        "SELECT u.id, u.email, u.first_name, u.last_name, m.role, m.created_at, u.last_activity_at \
         FROM memberships m JOIN users u ON u.id = m.user_id WHERE m.organization_id = $1 AND u.id = $2",
    )
    .bind(organization_id)
    .bind(user_id)
    .fetch_optional(ex)
    .await?
    .map(record)
    .transpose()
}

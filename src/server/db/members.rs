//! The members table: filtered, counted, sorted and paged by the database.

use sqlx::AnyExecutor;

use crate::domain::Role;

#[derive(sqlx::FromRow)]
pub struct MemberRecord {
    pub user_id: i64,
    pub email: String,
    pub first_name: String,
    pub last_name: String,
    pub role: Role,
    pub joined_at: i64,
    pub last_activity_at: Option<i64>,
    pub email_verified_at: Option<i64>,
}

/// Which members of an organization to show.
pub struct Filter<'a> {
    pub organization_id: i64,
    /// Only this role or status.
    pub role: Option<Role>,
    /// A lower-case `LIKE` pattern matched against the email and the name.
    pub pattern: Option<&'a str>,
}

impl Filter<'_> {
    /// The `WHERE` clause; its parameters are bound by [`Filter::bind`] in the same order.
    fn condition(&self) -> String {
        let mut sql = String::from(" WHERE m.organization_id = $1");
        let mut n = 1;
        if self.role.is_some() {
            n += 1;
            sql.push_str(&format!(" AND m.role = ${n}"));
        }
        if self.pattern.is_some() {
            n += 1;
            sql.push_str(&format!(
                " AND (lower(u.email) LIKE ${n} ESCAPE '\\' OR lower(u.first_name || ' ' || u.last_name) LIKE ${n} ESCAPE '\\')"
            ));
        }
        sql
    }
}

macro_rules! bind_filter {
    ($query:expr, $filter:expr) => {{
        let mut query = $query.bind($filter.organization_id);
        if let Some(role) = $filter.role {
            query = query.bind(role);
        }
        if let Some(pattern) = $filter.pattern {
            query = query.bind(pattern);
        }
        query
    }};
}

/// The members who joined the organization at `since` or later and still wait for a role, in the
/// order they joined (at most `limit`).
pub async fn pending_since<'e>(
    ex: impl AnyExecutor<'e>,
    organization_id: i64,
    since: i64,
    limit: i64,
) -> Result<Vec<MemberRecord>, sqlx::Error> {
    let sql = format!(
        "{SELECT_MEMBER} WHERE m.organization_id = $1 AND m.role = 'NOT_ACTIVATED' AND m.created_at >= $2 \
         ORDER BY m.created_at, u.id LIMIT $3"
    );
    sqlx::query_as(&sql)
        .bind(organization_id)
        .bind(since)
        .bind(limit)
        .fetch_all(ex)
        .await
}

pub async fn count<'e>(ex: impl AnyExecutor<'e>, f: &Filter<'_>) -> Result<i64, sqlx::Error> {
    // Without a search the count needs no user: the membership index answers it alone.
    let from = if f.pattern.is_some() {
        "memberships m JOIN users u ON u.id = m.user_id"
    } else {
        "memberships m"
    };
    let sql = format!("SELECT COUNT(*) FROM {from}{}", f.condition());
    bind_filter!(sqlx::query_scalar(&sql), f)
        .fetch_one(ex)
        .await
}

const SELECT_MEMBER: &str = "SELECT u.id AS user_id, u.email, u.first_name, u.last_name, m.role, \
     m.created_at AS joined_at, u.last_activity_at, u.email_verified_at \
     FROM memberships m JOIN users u ON u.id = m.user_id";

pub async fn page<'e>(
    ex: impl AnyExecutor<'e>,
    f: &Filter<'_>,
    limit: i64,
    offset: i64,
) -> Result<Vec<MemberRecord>, sqlx::Error> {
    let condition = f.condition();
    let n = 1 + usize::from(f.role.is_some()) + usize::from(f.pattern.is_some());
    let sql = format!(
        "{SELECT_MEMBER}{condition} ORDER BY m.created_at, u.id LIMIT ${} OFFSET ${}",
        n + 1,
        n + 2
    );
    bind_filter!(sqlx::query_as(&sql), f)
        .bind(limit)
        .bind(offset)
        .fetch_all(ex)
        .await
}

/// The organization of the user with this email, if the address has an account.
pub async fn organization_of_email<'e>(
    ex: impl AnyExecutor<'e>,
    email: &str,
) -> Result<Option<i64>, sqlx::Error> {
    sqlx::query_scalar("SELECT m.organization_id FROM users u JOIN memberships m ON m.user_id = u.id WHERE u.email = $1")
        .bind(email)
        .fetch_optional(ex)
        .await
}

pub async fn one<'e>(
    ex: impl AnyExecutor<'e>,
    organization_id: i64,
    user_id: i64,
) -> Result<Option<MemberRecord>, sqlx::Error> {
    let sql = format!("{SELECT_MEMBER} WHERE m.organization_id = $1 AND u.id = $2");
    sqlx::query_as(&sql)
        .bind(organization_id)
        .bind(user_id)
        .fetch_optional(ex)
        .await
}

//! The members table: filtered, counted, sorted and paged by the database.

use sqlx::{AnyExecutor, AnyPool};

use super::filter::{containing, Conditions};
use crate::domain::{Page, Paged, Role, Search};

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
    /// 1 when the identity provider manages them over SCIM, else 0.
    pub scim_managed: i64,
    pub scim_external_id: Option<String>,
    /// 1 when they have a second factor (an authenticator app or a passkey), else 0.
    pub two_factor: i64,
}

/// Which members of an organization to show.
pub struct Filter<'a> {
    pub organization_id: i64,
    /// Only this role or status.
    pub role: Option<Role>,
    /// Matched against the email and the name.
    pub search: &'a Search,
}

impl Filter<'_> {
    fn conditions(&self) -> Conditions {
        Conditions::new("m.organization_id = $?", self.organization_id)
            .and_given("m.role = $?", self.role)
            .and_given(
                "(lower(u.email) LIKE $? ESCAPE '\\' OR lower(u.first_name || ' ' || u.last_name) LIKE $? ESCAPE '\\')",
                containing(self.search),
            )
    }
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

const SELECT_MEMBER: &str = "SELECT u.id AS user_id, u.email, u.first_name, u.last_name, m.role, \
     m.created_at AS joined_at, u.last_activity_at, u.email_verified_at, \
     CAST(CASE WHEN s.user_id IS NULL THEN 0 ELSE 1 END AS BIGINT) AS scim_managed, \
     s.external_id AS scim_external_id, \
     CAST(CASE WHEN EXISTS (SELECT 1 FROM totp_secrets f WHERE f.user_id = m.user_id AND f.confirmed_at IS NOT NULL) \
     OR EXISTS (SELECT 1 FROM passkeys k WHERE k.user_id = m.user_id) THEN 1 ELSE 0 END AS BIGINT) AS two_factor \
     FROM memberships m JOIN users u ON u.id = m.user_id \
     LEFT JOIN scim_users s ON s.user_id = m.user_id";

/// A page of the members who match, in the order they joined, and how many match.
pub async fn page(
    pool: &AnyPool,
    f: &Filter<'_>,
    page: Page,
) -> Result<Paged<MemberRecord>, sqlx::Error> {
    // Without a search the count needs no user: the membership index answers it alone.
    let count_from = if f.search.is_empty() {
        "memberships m"
    } else {
        "memberships m JOIN users u ON u.id = m.user_id"
    };
    f.conditions()
        .page(pool, count_from, SELECT_MEMBER, "m.created_at, u.id", page)
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

/// An account with its membership, as Label Studio's `/api/users/` shows it.
#[derive(sqlx::FromRow)]
pub struct AccountRecord {
    pub user_id: i64,
    pub email: String,
    pub first_name: String,
    pub last_name: String,
    pub created_at: i64,
    pub last_activity_at: Option<i64>,
    pub organization_id: Option<i64>,
    pub role: Option<Role>,
    pub joined_at: Option<i64>,
}

const SELECT_ACCOUNT: &str =
    "SELECT u.id AS user_id, u.email, u.first_name, u.last_name, u.created_at, \
     u.last_activity_at, m.organization_id, m.role, m.created_at AS joined_at \
     FROM users u LEFT JOIN memberships m ON m.user_id = u.id";

/// One account, whatever its membership.
pub async fn account<'e>(
    ex: impl AnyExecutor<'e>,
    user_id: i64,
) -> Result<Option<AccountRecord>, sqlx::Error> {
    sqlx::query_as(&format!("{SELECT_ACCOUNT} WHERE u.id = $1"))
        .bind(user_id)
        .fetch_optional(ex)
        .await
}

/// Every member of an organization, in the order they joined.
pub async fn accounts_of<'e>(
    ex: impl AnyExecutor<'e>,
    organization_id: i64,
) -> Result<Vec<AccountRecord>, sqlx::Error> {
    sqlx::query_as(&format!(
        "{SELECT_ACCOUNT} WHERE m.organization_id = $1 ORDER BY m.created_at, u.id"
    ))
    .bind(organization_id)
    .fetch_all(ex)
    .await
}

/// A member of an organization, by user id.
pub async fn account_in<'e>(
    ex: impl AnyExecutor<'e>,
    organization_id: i64,
    user_id: i64,
) -> Result<Option<AccountRecord>, sqlx::Error> {
    sqlx::query_as(&format!(
        "{SELECT_ACCOUNT} WHERE m.organization_id = $1 AND u.id = $2"
    ))
    .bind(organization_id)
    .bind(user_id)
    .fetch_optional(ex)
    .await
}

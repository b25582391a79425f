//! SCIM provisioning (SPEC section 11): the organization's token and mappings, what gatehouse
//! keeps of the members the identity provider manages, and its groups.

use sqlx::AnyExecutor;

use super::filter::Conditions;
use crate::domain::Role;

/// The live token an organization's identity provider presents.
#[derive(Debug, sqlx::FromRow)]
pub struct TokenRecord {
    pub id: i64,
    pub organization_id: i64,
    pub created_at: i64,
    pub last_used_at: Option<i64>,
}

pub async fn insert_token<'e>(
    ex: impl AnyExecutor<'e>,
    organization_id: i64,
    token_hash: &[u8],
    created_by: i64,
    now: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO scim_tokens (organization_id, token_hash, created_by, created_at) \
         VALUES ($1, $2, $3, $4)",
    )
    .bind(organization_id)
    .bind(token_hash)
    .bind(created_by)
    .bind(now)
    .execute(ex)
    .await
    .map(drop)
}

/// Revokes the organization's live token; whether there was one.
pub async fn revoke_live<'e>(
    ex: impl AnyExecutor<'e>,
    organization_id: i64,
    now: i64,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(
        "UPDATE scim_tokens SET revoked_at = $1 WHERE organization_id = $2 AND revoked_at IS NULL",
    )
    .bind(now)
    .bind(organization_id)
    .execute(ex)
    .await?;
    Ok(done.rows_affected() > 0)
}

pub async fn live_token<'e>(
    ex: impl AnyExecutor<'e>,
    organization_id: i64,
) -> Result<Option<TokenRecord>, sqlx::Error> {
    sqlx::query_as(
        "SELECT id, organization_id, created_at, last_used_at FROM scim_tokens \
         WHERE organization_id = $1 AND revoked_at IS NULL",
    )
    .bind(organization_id)
    .fetch_optional(ex)
    .await
}

/// The live token stored by `token_hash`.
pub async fn token_by_hash<'e>(
    ex: impl AnyExecutor<'e>,
    token_hash: &[u8],
) -> Result<Option<TokenRecord>, sqlx::Error> {
    sqlx::query_as(
        "SELECT id, organization_id, created_at, last_used_at FROM scim_tokens \
         WHERE token_hash = $1 AND revoked_at IS NULL",
    )
    .bind(token_hash)
    .fetch_optional(ex)
    .await
}

/// Records the token's use, at most once a minute.
pub async fn touch_token<'e>(
    ex: impl AnyExecutor<'e>,
    id: i64,
    now: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE scim_tokens SET last_used_at = $1 \
         WHERE id = $2 AND (last_used_at IS NULL OR last_used_at < $3)",
    )
    .bind(now)
    .bind(id)
    .bind(now - 60)
    .execute(ex)
    .await
    .map(drop)
}

/// SCIM's group → role mappings (JSON), if the organization saved any.
pub async fn roles_groups<'e>(
    ex: impl AnyExecutor<'e>,
    organization_id: i64,
) -> Result<Option<String>, sqlx::Error> {
    sqlx::query_scalar("SELECT roles_groups FROM scim_settings WHERE organization_id = $1")
        .bind(organization_id)
        .fetch_optional(ex)
        .await
}

pub async fn save_roles_groups<'e>(
    ex: impl AnyExecutor<'e>,
    organization_id: i64,
    roles_groups: &str,
    now: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO scim_settings (organization_id, roles_groups, updated_at) VALUES ($1, $2, $3) \
         ON CONFLICT (organization_id) DO UPDATE \
         SET roles_groups = excluded.roles_groups, updated_at = excluded.updated_at",
    )
    .bind(organization_id)
    .bind(roles_groups)
    .bind(now)
    .execute(ex)
    .await
    .map(drop)
}

/// The rows `select` reads that meet `c`, in `order`, `limit` after the first `offset`, and how
/// many rows of `from` meet it.
async fn page_of<R: super::filter::Row>(
    conn: &mut sqlx::AnyConnection,
    c: &Conditions,
    from: &str,
    select: &str,
    order: &str,
    offset: i64,
    limit: i64,
) -> Result<(Vec<R>, i64), sqlx::Error> {
    let total = c.count(&mut *conn, from).await?;
    let rows = if limit > 0 && offset < total {
        c.rows(&mut *conn, select, order, limit, Some(offset))
            .await?
    } else {
        Vec::new()
    };
    Ok((rows, total))
}

/// A member as SCIM shows them.
#[derive(Clone, Debug, sqlx::FromRow)]
pub struct UserRecord {
    pub user_id: i64,
    pub email: String,
    pub first_name: String,
    pub last_name: String,
    pub role: Role,
    pub created_at: i64,
    pub updated_at: i64,
    /// 1 when the identity provider manages them (a `scim_users` row), else 0.
    pub managed: i64,
    /// The provider's userName, when it manages them.
    pub user_name: Option<String>,
    pub external_id: Option<String>,
    pub attributes: Option<String>,
    pub role_before_deactivation: Option<Role>,
}

const USER_SELECT: &str = "SELECT m.user_id, u.email, u.first_name, u.last_name, m.role, \
     m.created_at, CASE WHEN s.updated_at > m.updated_at THEN s.updated_at ELSE m.updated_at END AS updated_at, \
     CAST(CASE WHEN s.user_id IS NULL THEN 0 ELSE 1 END AS BIGINT) AS managed, s.user_name, s.external_id, s.attributes, s.role_before_deactivation \
     FROM memberships m JOIN users u ON u.id = m.user_id \
     LEFT JOIN scim_users s ON s.user_id = m.user_id";

const USER_FROM: &str = "memberships m JOIN users u ON u.id = m.user_id \
     LEFT JOIN scim_users s ON s.user_id = m.user_id";

/// What a SCIM filter on users compares (`m`: memberships, `u`: users, `s`: scim_users).
pub enum UserCondition {
    /// The provider's userName (a member it does not manage yet answers to their address).
    UserName(String),
    Email(String),
    ExternalId(String),
    Id(i64),
}

fn user_conditions(organization_id: i64, conditions: &[UserCondition]) -> Conditions {
    conditions.iter().fold(
        Conditions::new("m.organization_id = $?", organization_id),
        |c, condition| match condition {
            // Two indexed lookups rather than an OR across the join, which no index answers.
            UserCondition::UserName(name) => c.and(
                "m.user_id IN (SELECT su.user_id FROM scim_users su WHERE su.user_name = $? \
                 UNION SELECT uu.id FROM users uu WHERE uu.email = $? \
                 AND NOT EXISTS (SELECT 1 FROM scim_users sx WHERE sx.user_id = uu.id))",
                name.as_str(),
            ),
            UserCondition::Email(email) => c.and("u.email = $?", email.as_str()),
            UserCondition::ExternalId(id) => c.and("s.external_id = $?", id.as_str()),
            UserCondition::Id(id) => c.and("m.user_id = $?", *id),
        },
    )
}

/// The members that meet `conditions`, by id, `limit` after the first `offset`, and how many
/// meet them in all.
pub async fn users(
    conn: &mut sqlx::AnyConnection,
    organization_id: i64,
    conditions: &[UserCondition],
    offset: i64,
    limit: i64,
) -> Result<(Vec<UserRecord>, i64), sqlx::Error> {
    let c = user_conditions(organization_id, conditions);
    page_of(conn, &c, USER_FROM, USER_SELECT, "m.user_id", offset, limit).await
}

pub async fn user<'e>(
    ex: impl AnyExecutor<'e>,
    organization_id: i64,
    user_id: i64,
) -> Result<Option<UserRecord>, sqlx::Error> {
    let c = user_conditions(organization_id, &[UserCondition::Id(user_id)]);
    Ok(c.rows(ex, USER_SELECT, "m.user_id", 1, None).await?.pop())
}

/// Marks `user_id` as managed by the identity provider, with what it keeps of them.
pub async fn upsert_user<'e>(
    ex: impl AnyExecutor<'e>,
    organization_id: i64,
    user_id: i64,
    user_name: &str,
    external_id: Option<&str>,
    attributes: &str,
    now: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO scim_users (user_id, organization_id, user_name, external_id, attributes, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $6) \
         ON CONFLICT (user_id) DO UPDATE SET user_name = excluded.user_name, external_id = excluded.external_id, \
         attributes = excluded.attributes, updated_at = excluded.updated_at",
    )
    .bind(user_id)
    .bind(organization_id)
    .bind(user_name)
    .bind(external_id)
    .bind(attributes)
    .bind(now)
    .execute(ex)
    .await
    .map(drop)
}

/// Remembers the role a member had as the identity provider deactivates them (`None` forgets it).
pub async fn set_role_before_deactivation<'e>(
    ex: impl AnyExecutor<'e>,
    user_id: i64,
    role: Option<Role>,
) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE scim_users SET role_before_deactivation = $1 WHERE user_id = $2")
        .bind(role.map(Role::as_str))
        .bind(user_id)
        .execute(ex)
        .await
        .map(drop)
}

/// The names of the groups `user_id` is in.
pub async fn groups_of<'e>(
    ex: impl AnyExecutor<'e>,
    user_id: i64,
) -> Result<Vec<String>, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT g.display_name FROM scim_group_members gm JOIN scim_groups g ON g.id = gm.group_id \
         WHERE gm.user_id = $1 ORDER BY g.display_name",
    )
    .bind(user_id)
    .fetch_all(ex)
    .await
}

/// The groups `user_id` is in, as (id, name).
pub async fn group_refs_of<'e>(
    ex: impl AnyExecutor<'e>,
    user_id: i64,
) -> Result<Vec<(i64, String)>, sqlx::Error> {
    sqlx::query_as(
        "SELECT g.id, g.display_name FROM scim_group_members gm JOIN scim_groups g ON g.id = gm.group_id \
         WHERE gm.user_id = $1 ORDER BY g.id",
    )
    .bind(user_id)
    .fetch_all(ex)
    .await
}

#[derive(Clone, Debug, sqlx::FromRow)]
pub struct GroupRecord {
    pub id: i64,
    pub display_name: String,
    pub external_id: Option<String>,
    pub created_at: i64,
    pub updated_at: i64,
}

/// What a SCIM filter on groups compares.
pub enum GroupCondition {
    DisplayName(String),
    ExternalId(String),
    Id(i64),
    Member(i64),
}

const GROUP_SELECT: &str =
    "SELECT g.id, g.display_name, g.external_id, g.created_at, g.updated_at FROM scim_groups g";

fn group_conditions(organization_id: i64, conditions: &[GroupCondition]) -> Conditions {
    conditions.iter().fold(
        Conditions::new("g.organization_id = $?", organization_id),
        |c, condition| match condition {
            GroupCondition::DisplayName(name) => c.and("g.display_name = $?", name.as_str()),
            GroupCondition::ExternalId(id) => c.and("g.external_id = $?", id.as_str()),
            GroupCondition::Id(id) => c.and("g.id = $?", *id),
            GroupCondition::Member(user_id) => c.and(
                "EXISTS (SELECT 1 FROM scim_group_members gm WHERE gm.group_id = g.id AND gm.user_id = $?)",
                *user_id,
            ),
        },
    )
}

pub async fn groups(
    conn: &mut sqlx::AnyConnection,
    organization_id: i64,
    conditions: &[GroupCondition],
    offset: i64,
    limit: i64,
) -> Result<(Vec<GroupRecord>, i64), sqlx::Error> {
    let c = group_conditions(organization_id, conditions);
    page_of(
        conn,
        &c,
        "scim_groups g",
        GROUP_SELECT,
        "g.id",
        offset,
        limit,
    )
    .await
}

pub async fn group<'e>(
    ex: impl AnyExecutor<'e>,
    organization_id: i64,
    id: i64,
) -> Result<Option<GroupRecord>, sqlx::Error> {
    let c = group_conditions(organization_id, &[GroupCondition::Id(id)]);
    Ok(c.rows(ex, GROUP_SELECT, "g.id", 1, None).await?.pop())
}

/// The members of group `id`, as (user id, email), by id.
pub async fn group_members<'e>(
    ex: impl AnyExecutor<'e>,
    id: i64,
) -> Result<Vec<(i64, String)>, sqlx::Error> {
    sqlx::query_as(
        "SELECT gm.user_id, u.email FROM scim_group_members gm JOIN users u ON u.id = gm.user_id \
         WHERE gm.group_id = $1 ORDER BY gm.user_id",
    )
    .bind(id)
    .fetch_all(ex)
    .await
}

/// Inserts a group; a name the organization already has fails with a unique violation.
pub async fn insert_group<'e>(
    ex: impl AnyExecutor<'e>,
    organization_id: i64,
    display_name: &str,
    external_id: Option<&str>,
    now: i64,
) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar(
        "INSERT INTO scim_groups (organization_id, display_name, external_id, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $4) RETURNING id",
    )
    .bind(organization_id)
    .bind(display_name)
    .bind(external_id)
    .bind(now)
    .fetch_one(ex)
    .await
}

pub async fn update_group<'e>(
    ex: impl AnyExecutor<'e>,
    id: i64,
    display_name: &str,
    external_id: Option<&str>,
    now: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE scim_groups SET display_name = $1, external_id = $2, updated_at = $3 WHERE id = $4",
    )
    .bind(display_name)
    .bind(external_id)
    .bind(now)
    .bind(id)
    .execute(ex)
    .await
    .map(drop)
}

pub async fn delete_group<'e>(ex: impl AnyExecutor<'e>, id: i64) -> Result<(), sqlx::Error> {
    sqlx::query("DELETE FROM scim_groups WHERE id = $1")
        .bind(id)
        .execute(ex)
        .await
        .map(drop)
}

pub async fn add_group_member<'e>(
    ex: impl AnyExecutor<'e>,
    id: i64,
    user_id: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO scim_group_members (group_id, user_id) VALUES ($1, $2) ON CONFLICT DO NOTHING",
    )
    .bind(id)
    .bind(user_id)
    .execute(ex)
    .await
    .map(drop)
}

pub async fn remove_group_member<'e>(
    ex: impl AnyExecutor<'e>,
    id: i64,
    user_id: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query("DELETE FROM scim_group_members WHERE group_id = $1 AND user_id = $2")
        .bind(id)
        .bind(user_id)
        .execute(ex)
        .await
        .map(drop)
}

/// Which of `user_ids` are members of the organization.
pub async fn members_among<'e>(
    ex: impl AnyExecutor<'e>,
    organization_id: i64,
    user_ids: &[i64],
) -> Result<Vec<i64>, sqlx::Error> {
    if user_ids.is_empty() {
        return Ok(Vec::new());
    }
    let list = user_ids
        .iter()
        .map(i64::to_string)
        .collect::<Vec<_>>()
        .join(",");
    sqlx::query_scalar(&format!(
        "SELECT user_id FROM memberships WHERE organization_id = $1 AND user_id IN ({list})"
    ))
    .bind(organization_id)
    .fetch_all(ex)
    .await
}

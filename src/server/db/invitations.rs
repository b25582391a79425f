//! Email invitations. "Open" means neither accepted nor revoked; "live" means open and unexpired
//! (see [`super::sql`]).

use std::sync::LazyLock;

use sqlx::{AnyExecutor, AnyPool};

use super::{
    filter::{containing, Conditions},
    sql::open_invitation,
};
use crate::domain::{Page, Paged, Role, Search};

#[derive(sqlx::FromRow)]
pub struct InvitationRecord {
    pub id: i64,
    pub organization_id: i64,
    pub email: String,
    pub role: Role,
    pub salt: Vec<u8>,
    /// The inviter's email, if they still have an account.
    pub invited_by: Option<String>,
    pub created_at: i64,
    pub expires_at: i64,
    pub accepted_at: Option<i64>,
    pub revoked_at: Option<i64>,
}

impl InvitationRecord {
    pub fn is_open(&self) -> bool {
        self.accepted_at.is_none() && self.revoked_at.is_none()
    }
}

const SELECT_INVITATION: &str = "SELECT i.id, i.organization_id, i.email, i.role, i.salt, u.email AS invited_by, \
     i.created_at, i.expires_at, i.accepted_at, i.revoked_at FROM invitations i LEFT JOIN users u ON u.id = i.invited_by";

static FIND_BY_HASH: LazyLock<String> =
    LazyLock::new(|| format!("{SELECT_INVITATION} WHERE i.token_hash = $1"));
static FIND: LazyLock<String> = LazyLock::new(|| format!("{SELECT_INVITATION} WHERE i.id = $1"));
static FIND_OPEN: LazyLock<String> = LazyLock::new(|| {
    format!("SELECT i.id, i.created_at, i.expires_at FROM invitations i WHERE i.organization_id = $1 AND i.email = $2 AND {}", open_invitation("i"))
});
static RENEW: LazyLock<String> = LazyLock::new(|| {
    format!(
        "UPDATE invitations SET token_hash = $1, salt = $2, role = $3, invited_by = $4, created_at = $5, expires_at = $6 \
         WHERE id = $7 AND organization_id = $8 AND {}",
        open_invitation("invitations")
    )
});
static REVOKE_BY_ID: LazyLock<String> = LazyLock::new(|| {
    format!(
        "UPDATE invitations SET revoked_at = $1 WHERE organization_id = $2 AND id = $3 AND {} RETURNING id",
        open_invitation("invitations")
    )
});
static REVOKE_BY_EMAIL: LazyLock<String> = LazyLock::new(|| {
    format!(
        "UPDATE invitations SET revoked_at = $1 WHERE organization_id = $2 AND email = $3 AND {} RETURNING id",
        open_invitation("invitations")
    )
});
static ACCEPT: LazyLock<String> = LazyLock::new(|| {
    format!(
        "UPDATE invitations SET accepted_at = $1 WHERE token_hash = $2 AND {} \
         RETURNING id, organization_id, email, role, salt, NULL AS invited_by, created_at, expires_at, accepted_at, revoked_at",
        super::sql::live_invitation("invitations", "$1")
    )
});

pub async fn find_by_hash<'e>(
    ex: impl AnyExecutor<'e>,
    token_hash: &[u8],
) -> Result<Option<InvitationRecord>, sqlx::Error> {
    sqlx::query_as(FIND_BY_HASH.as_str())
        .bind(token_hash.to_vec())
        .fetch_optional(ex)
        .await
}

pub async fn find<'e>(
    ex: impl AnyExecutor<'e>,
    id: i64,
) -> Result<Option<InvitationRecord>, sqlx::Error> {
    sqlx::query_as(FIND.as_str())
        .bind(id)
        .fetch_optional(ex)
        .await
}

/// The open invitation of `email` in the organization, if any: its id and when it expires.
#[derive(sqlx::FromRow)]
pub struct OpenInvitation {
    pub id: i64,
    /// When it was last sent.
    pub created_at: i64,
    pub expires_at: i64,
}

pub async fn find_open<'e>(
    ex: impl AnyExecutor<'e>,
    organization_id: i64,
    email: &str,
) -> Result<Option<OpenInvitation>, sqlx::Error> {
    sqlx::query_as(FIND_OPEN.as_str())
        .bind(organization_id)
        .bind(email)
        .fetch_optional(ex)
        .await
}

/// A page of the organization's open invitations whose address contains `search`, newest first,
/// and how many match. They are counted on the invitations alone: the join that names the
/// inviter is only for the page shown.
pub async fn open_page(
    pool: &AnyPool,
    organization_id: i64,
    search: &Search,
    page: Page,
) -> Result<Paged<InvitationRecord>, sqlx::Error> {
    Conditions::new("i.organization_id = $?", organization_id)
        .and_sql(&open_invitation("i"))
        .and_given("i.email LIKE $? ESCAPE '\\'", containing(search))
        .page(
            pool,
            "invitations i",
            SELECT_INVITATION,
            "i.created_at DESC, i.id DESC",
            page,
        )
        .await
}

pub struct NewInvitation<'a> {
    pub organization_id: i64,
    pub email: &'a str,
    pub role: Role,
    pub token_hash: &'a [u8],
    pub salt: &'a [u8],
    pub invited_by: i64,
    pub now: i64,
    pub expires_at: i64,
}

pub async fn insert<'e>(
    ex: impl AnyExecutor<'e>,
    n: NewInvitation<'_>,
) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar(
        "INSERT INTO invitations (organization_id, email, role, token_hash, salt, invited_by, created_at, expires_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id",
    )
    .bind(n.organization_id)
    .bind(n.email)
    .bind(n.role)
    .bind(n.token_hash.to_vec())
    .bind(n.salt.to_vec())
    .bind(n.invited_by)
    .bind(n.now)
    .bind(n.expires_at)
    .fetch_one(ex)
    .await
}

/// Gives an open invitation a new secret, role, inviter and expiry (a resend).
pub async fn renew<'e>(
    ex: impl AnyExecutor<'e>,
    id: i64,
    n: NewInvitation<'_>,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(RENEW.as_str())
        .bind(n.token_hash.to_vec())
        .bind(n.salt.to_vec())
        .bind(n.role)
        .bind(n.invited_by)
        .bind(n.now)
        .bind(n.expires_at)
        .bind(id)
        .bind(n.organization_id)
        .execute(ex)
        .await?;
    Ok(done.rows_affected() == 1)
}

/// Revokes the organization's open invitation with this id; returns its id.
pub async fn revoke_by_id<'e>(
    ex: impl AnyExecutor<'e>,
    organization_id: i64,
    id: i64,
    now: i64,
) -> Result<Option<i64>, sqlx::Error> {
    sqlx::query_scalar(REVOKE_BY_ID.as_str())
        .bind(now)
        .bind(organization_id)
        .bind(id)
        .fetch_optional(ex)
        .await
}

/// Revokes the organization's open invitation of this address; returns its id.
pub async fn revoke_by_email<'e>(
    ex: impl AnyExecutor<'e>,
    organization_id: i64,
    email: &str,
    now: i64,
) -> Result<Option<i64>, sqlx::Error> {
    sqlx::query_scalar(REVOKE_BY_EMAIL.as_str())
        .bind(now)
        .bind(organization_id)
        .bind(email)
        .fetch_optional(ex)
        .await
}

/// Marks the invitation with this secret accepted, if it is live: the one place an invitation is
/// used, so it can be used once only, even under concurrency.
pub async fn accept<'e>(
    ex: impl AnyExecutor<'e>,
    token_hash: &[u8],
    now: i64,
) -> Result<Option<InvitationRecord>, sqlx::Error> {
    sqlx::query_as(ACCEPT.as_str())
        .bind(now)
        .bind(token_hash.to_vec())
        .fetch_optional(ex)
        .await
}

//! Email invitations. "Open" means neither accepted nor revoked (it may have expired).

use sqlx::{any::AnyRow, AnyExecutor, Row};

pub struct InvitationRecord {
    pub id: i64,
    pub organization_id: i64,
    pub email: String,
    pub role: String,
    pub salt: Vec<u8>,
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

macro_rules! select_invitation {
    ($tail:literal) => {
        concat!(
            "SELECT i.id, i.organization_id, i.email, i.role, i.salt, u.email, i.created_at, i.expires_at, \
             i.accepted_at, i.revoked_at FROM invitations i LEFT JOIN users u ON u.id = i.invited_by ",
            $tail
        )
    };
}

fn record(r: AnyRow) -> Result<InvitationRecord, sqlx::Error> {
    Ok(InvitationRecord {
        id: r.try_get(0)?,
        organization_id: r.try_get(1)?,
        email: r.try_get(2)?,
        role: r.try_get(3)?,
        salt: r.try_get(4)?,
        invited_by: r.try_get(5)?,
        created_at: r.try_get(6)?,
        expires_at: r.try_get(7)?,
        accepted_at: r.try_get(8)?,
        revoked_at: r.try_get(9)?,
    })
}

pub async fn find_by_hash<'e>(ex: impl AnyExecutor<'e>, token_hash: &[u8]) -> Result<Option<InvitationRecord>, sqlx::Error> {
    sqlx::query(select_invitation!("WHERE i.token_hash = $1"))
        .bind(token_hash.to_vec())
        .fetch_optional(ex)
        .await?
        .map(record)
        .transpose()
}

pub async fn find<'e>(ex: impl AnyExecutor<'e>, id: i64) -> Result<Option<InvitationRecord>, sqlx::Error> {
    sqlx::query(select_invitation!("WHERE i.id = $1")).bind(id).fetch_optional(ex).await?.map(record).transpose()
}

/// The open invitation of `email` in the organization, if any: its id and when it expires.
pub async fn find_open<'e>(
    ex: impl AnyExecutor<'e>,
    organization_id: i64,
    email: &str,
) -> Result<Option<(i64, i64)>, sqlx::Error> {
    sqlx::query(
        "SELECT id, expires_at FROM invitations WHERE organization_id = $1 AND email = $2 \
         AND accepted_at IS NULL AND revoked_at IS NULL",
    )
    .bind(organization_id)
    .bind(email)
    .fetch_optional(ex)
    .await?
    .map(|r| Ok((r.try_get(0)?, r.try_get(1)?)))
    .transpose()
}

/// The newest open invitations of the organization, at most `limit`.
pub async fn list_open<'e>(ex: impl AnyExecutor<'e>, organization_id: i64, limit: i64) -> Result<Vec<InvitationRecord>, sqlx::Error> {
    sqlx::query(select_invitation!(
        "WHERE i.organization_id = $1 AND i.accepted_at IS NULL AND i.revoked_at IS NULL \
         ORDER BY i.created_at DESC, i.id DESC LIMIT $2"
    ))
    .bind(organization_id)
    .bind(limit)
    .fetch_all(ex)
    .await?
    .into_iter()
    .map(record)
    .collect()
}

pub async fn count_open<'e>(ex: impl AnyExecutor<'e>, organization_id: i64) -> Result<i64, sqlx::Error> {
    sqlx::query("SELECT COUNT(*) FROM invitations WHERE organization_id = $1 AND accepted_at IS NULL AND revoked_at IS NULL")
        .bind(organization_id)
        .fetch_one(ex)
        .await?
        .try_get(0)
}

pub struct NewInvitation<'a> {
    pub organization_id: i64,
    pub email: &'a str,
    pub role: &'a str,
    pub token_hash: &'a [u8],
    pub salt: &'a [u8],
    pub invited_by: i64,
    pub now: i64,
    pub expires_at: i64,
}

pub async fn insert<'e>(ex: impl AnyExecutor<'e>, n: NewInvitation<'_>) -> Result<i64, sqlx::Error> {
    sqlx::query(
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
    .await?
    .try_get(0)
}

/// Gives an open invitation a new secret, role, inviter and expiry (a resend).
pub async fn renew<'e>(ex: impl AnyExecutor<'e>, id: i64, n: NewInvitation<'_>) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(
        "UPDATE invitations SET token_hash = $1, salt = $2, role = $3, invited_by = $4, created_at = $5, expires_at = $6 \
         WHERE id = $7 AND organization_id = $8 AND accepted_at IS NULL AND revoked_at IS NULL",
    )
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

/// Revokes the open invitation with this id or address; returns its id.
pub async fn revoke<'e>(
    ex: impl AnyExecutor<'e>,
    organization_id: i64,
    id: Option<i64>,
    email: Option<&str>,
    now: i64,
) -> Result<Option<i64>, sqlx::Error> {
    sqlx::query(
        "UPDATE invitations SET revoked_at = $1 \
         WHERE organization_id = $2 AND (id = $3 OR email = $4) AND accepted_at IS NULL AND revoked_at IS NULL \
         RETURNING id",
    )
    .bind(now)
    .bind(organization_id)
    .bind(id.unwrap_or(-1))
    .bind(email.unwrap_or(""))
    .fetch_optional(ex)
    .await?
    .map(|r| r.try_get(0))
    .transpose()
}

/// Marks the invitation with this secret accepted, if it is open and unexpired: the one place an
/// invitation is used, so it can be used once only, even under concurrency.
pub async fn accept<'e>(ex: impl AnyExecutor<'e>, token_hash: &[u8], now: i64) -> Result<Option<InvitationRecord>, sqlx::Error> {
    let row = sqlx::query(
        "UPDATE invitations SET accepted_at = $1 \
         WHERE token_hash = $2 AND accepted_at IS NULL AND revoked_at IS NULL AND expires_at > $1 \
         RETURNING id, organization_id, email, role, salt, NULL, created_at, expires_at, accepted_at, revoked_at",
    )
    .bind(now)
    .bind(token_hash.to_vec())
    .fetch_optional(ex)
    .await?;
    row.map(record).transpose()
}

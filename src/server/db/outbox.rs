//! The email outbox: messages written with their invitation, delivered and retried by a worker.

use std::{fmt, str::FromStr};

use sqlx::AnyExecutor;

/// What a queued message is; the outbox stores it and renders the message by it at delivery.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MessageKind {
    /// An email invitation; the row's `invitation_id` says which.
    Invitation,
    /// A password-reset link; the row's `account_token_id` says which.
    PasswordReset,
    /// An email-verification link; the row's `account_token_id` says which.
    EmailVerification,
    /// To an Owner or Administrator (`user_id`): who joined their organization
    /// (`organization_id`) through the invite link and waits for a role.
    PendingMembers,
    /// To a member (`user_id`) who was Pending: they have a role in `organization_id` now.
    RoleGranted,
    /// To an account (`user_id`) whose address someone tried to sign up with.
    AccountExists,
    /// A link to set the password of an account the identity provider made; the row's
    /// `account_token_id` says which.
    AccountProvisioned,
    /// To an account (`user_id`): one of its recovery codes was used to sign in.
    RecoveryCodeUsed,
    /// To a member (`user_id`) of `organization_id`: an administrator reset their second factors.
    TwoFactorReset,
}

impl MessageKind {
    pub const ALL: [MessageKind; 9] = [
        MessageKind::Invitation,
        MessageKind::PasswordReset,
        MessageKind::EmailVerification,
        MessageKind::PendingMembers,
        MessageKind::RoleGranted,
        MessageKind::AccountExists,
        MessageKind::AccountProvisioned,
        MessageKind::RecoveryCodeUsed,
        MessageKind::TwoFactorReset,
    ];

    /// The value of the `email_outbox.kind` column.
    pub fn as_str(self) -> &'static str {
        match self {
            MessageKind::Invitation => "invitation",
            MessageKind::PasswordReset => "password_reset",
            MessageKind::EmailVerification => "email_verification",
            MessageKind::PendingMembers => "pending_members",
            MessageKind::RoleGranted => "role_granted",
            MessageKind::AccountExists => "account_exists",
            MessageKind::AccountProvisioned => "account_provisioned",
            MessageKind::RecoveryCodeUsed => "recovery_code_used",
            MessageKind::TwoFactorReset => "two_factor_reset",
        }
    }
}

impl fmt::Display for MessageKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for MessageKind {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|k| k.as_str() == s)
            .ok_or_else(|| format!("unknown message kind {s:?}"))
    }
}

#[derive(sqlx::FromRow)]
pub struct OutboxRecord {
    pub id: i64,
    pub kind: MessageKind,
    /// Set for invitations (and only for them).
    pub invitation_id: Option<i64>,
    /// Set for messages that carry a one-time account token (a password reset, a verification).
    pub account_token_id: Option<i64>,
    /// The user a message is to or about (account tokens, notices).
    pub user_id: Option<i64>,
    /// The organization a notice is about.
    pub organization_id: Option<i64>,
    pub created_at: i64,
    pub recipient: String,
    pub origin: String,
    pub attempts: i64,
}

/// A message to queue. It is rendered when it is delivered, from the rows it names.
pub struct NewMessage<'a> {
    pub kind: MessageKind,
    pub recipient: &'a str,
    pub origin: &'a str,
    /// The invitation it sends.
    pub invitation_id: Option<i64>,
    /// The one-time account token it carries (its secret is derived when it is delivered).
    pub account_token_id: Option<i64>,
    /// The user it is to or about.
    pub user_id: Option<i64>,
    /// The organization a notice is about.
    pub organization_id: Option<i64>,
    pub created_at: i64,
    /// When it is first due: at once, or later for a notice that waits to gather others.
    pub due: i64,
}

impl<'a> NewMessage<'a> {
    /// A message of `kind` to `recipient`, due at once, about nothing yet.
    pub fn new(kind: MessageKind, recipient: &'a str, origin: &'a str, now: i64) -> Self {
        Self {
            kind,
            recipient,
            origin,
            invitation_id: None,
            account_token_id: None,
            user_id: None,
            organization_id: None,
            created_at: now,
            due: now,
        }
    }
}

pub async fn enqueue<'e>(ex: impl AnyExecutor<'e>, m: &NewMessage<'_>) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO email_outbox (kind, invitation_id, account_token_id, user_id, organization_id, \
         recipient, origin, created_at, next_attempt_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
    )
    .bind(m.kind)
    .bind(m.invitation_id)
    .bind(m.account_token_id)
    .bind(m.user_id)
    .bind(m.organization_id)
    .bind(m.recipient)
    .bind(m.origin)
    .bind(m.created_at)
    .bind(m.due)
    .execute(ex)
    .await
    .map(|_| ())
}

/// Whether a notice of `kind` about the organization is still waiting to be delivered.
pub async fn notice_waiting<'e>(
    ex: impl AnyExecutor<'e>,
    kind: MessageKind,
    organization_id: i64,
) -> Result<bool, sqlx::Error> {
    sqlx::query_scalar::<_, i64>(
        "SELECT COUNT(*) FROM email_outbox WHERE organization_id = $1 AND kind = $2 AND sent_at IS NULL",
    )
    .bind(organization_id)
    .bind(kind)
    .fetch_one(ex)
    .await
    .map(|n| n > 0)
}

/// When the last notice of `kind` about the organization went out (or was queued, if it never
/// did), if there was one.
pub async fn last_notice<'e>(
    ex: impl AnyExecutor<'e>,
    kind: MessageKind,
    organization_id: i64,
) -> Result<Option<i64>, sqlx::Error> {
    sqlx::query_scalar::<_, Option<i64>>(
        "SELECT MAX(COALESCE(sent_at, created_at)) FROM email_outbox WHERE organization_id = $1 AND kind = $2",
    )
    .bind(organization_id)
    .bind(kind)
    .fetch_one(ex)
    .await
}

/// Drops the undelivered messages of an invitation (revoked, or about to be sent anew).
pub async fn cancel_unsent<'e>(
    ex: impl AnyExecutor<'e>,
    invitation_id: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query("DELETE FROM email_outbox WHERE invitation_id = $1 AND sent_at IS NULL")
        .bind(invitation_id)
        .execute(ex)
        .await
        .map(|_| ())
}

pub async fn due<'e>(
    ex: impl AnyExecutor<'e>,
    now: i64,
    limit: i64,
) -> Result<Vec<OutboxRecord>, sqlx::Error> {
    sqlx::query_as(
        "SELECT id, kind, invitation_id, account_token_id, user_id, organization_id, created_at, recipient, origin, attempts \
         FROM email_outbox \
         WHERE sent_at IS NULL AND next_attempt_at <= $1 ORDER BY next_attempt_at, id LIMIT $2",
    )
    .bind(now)
    .bind(limit)
    .fetch_all(ex)
    .await
}

/// Takes a message for delivery until `lease_until`, unless another worker (of this or another
/// instance) took it first.
pub async fn claim<'e>(
    ex: impl AnyExecutor<'e>,
    id: i64,
    now: i64,
    lease_until: i64,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(
        "UPDATE email_outbox SET next_attempt_at = $1 WHERE id = $2 AND sent_at IS NULL AND next_attempt_at <= $3",
    )
    .bind(lease_until)
    .bind(id)
    .bind(now)
    .execute(ex)
    .await?;
    Ok(done.rows_affected() == 1)
}

pub async fn mark_sent<'e>(ex: impl AnyExecutor<'e>, id: i64, now: i64) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE email_outbox SET sent_at = $1, attempts = attempts + 1, last_error = NULL WHERE id = $2")
        .bind(now)
        .bind(id)
        .execute(ex)
        .await
        .map(|_| ())
}

pub async fn mark_failed<'e>(
    ex: impl AnyExecutor<'e>,
    id: i64,
    error: &str,
    retry_at: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE email_outbox SET attempts = attempts + 1, last_error = $1, next_attempt_at = $2 WHERE id = $3")
        .bind(error)
        .bind(retry_at)
        .bind(id)
        .execute(ex)
        .await
        .map(|_| ())
}

pub async fn delete<'e>(ex: impl AnyExecutor<'e>, id: i64) -> Result<(), sqlx::Error> {
    sqlx::query("DELETE FROM email_outbox WHERE id = $1")
        .bind(id)
        .execute(ex)
        .await
        .map(|_| ())
}

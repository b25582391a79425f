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
}

impl MessageKind {
    pub const ALL: [MessageKind; 6] = [
        MessageKind::Invitation,
        MessageKind::PasswordReset,
        MessageKind::EmailVerification,
        MessageKind::PendingMembers,
        MessageKind::RoleGranted,
        MessageKind::AccountExists,
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

/// Queues a message of `kind` about `invitation_id`; it is rendered when it is delivered.
pub async fn enqueue<'e>(
    ex: impl AnyExecutor<'e>,
    kind: MessageKind,
    invitation_id: i64,
    recipient: &str,
    origin: &str,
    now: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO email_outbox (kind, invitation_id, recipient, origin, created_at, next_attempt_at) \
         VALUES ($1, $2, $3, $4, $5, $5)",
    )
    .bind(kind)
    .bind(invitation_id)
    .bind(recipient)
    .bind(origin)
    .bind(now)
    .execute(ex)
    .await
    .map(|_| ())
}

/// Queues a message of `kind` that carries the one-time account token `account_token_id` of
/// `user_id`; it is rendered (and its secret derived) when it is delivered.
pub async fn enqueue_account_token<'e>(
    ex: impl AnyExecutor<'e>,
    kind: MessageKind,
    account_token_id: i64,
    user_id: i64,
    recipient: &str,
    origin: &str,
    now: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO email_outbox (kind, account_token_id, user_id, recipient, origin, created_at, next_attempt_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $6)",
    )
    .bind(kind)
    .bind(account_token_id)
    .bind(user_id)
    .bind(recipient)
    .bind(origin)
    .bind(now)
    .execute(ex)
    .await
    .map(|_| ())
}

/// Queues a notice of `kind` to `user_id` (at `recipient`) about their organization, due at
/// `due`; it is rendered, from the organization as it is then, when it is delivered.
#[allow(clippy::too_many_arguments)]
pub async fn enqueue_notice<'e>(
    ex: impl AnyExecutor<'e>,
    kind: MessageKind,
    organization_id: i64,
    user_id: i64,
    recipient: &str,
    origin: &str,
    now: i64,
    due: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO email_outbox (kind, organization_id, user_id, recipient, origin, created_at, next_attempt_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(kind)
    .bind(organization_id)
    .bind(user_id)
    .bind(recipient)
    .bind(origin)
    .bind(now)
    .bind(due)
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

/// Queues a message of `kind` to the account `user_id` that needs nothing else to be rendered.
pub async fn enqueue_to_user<'e>(
    ex: impl AnyExecutor<'e>,
    kind: MessageKind,
    user_id: i64,
    recipient: &str,
    origin: &str,
    now: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO email_outbox (kind, user_id, recipient, origin, created_at, next_attempt_at) \
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(kind)
    .bind(user_id)
    .bind(recipient)
    .bind(origin)
    .bind(now)
    .bind(now)
    .execute(ex)
    .await
    .map(|_| ())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_message_kind_reads_back_from_its_column_value() {
        for kind in MessageKind::ALL {
            assert_eq!(kind.as_str().parse::<MessageKind>(), Ok(kind));
        }
        assert!("newsletter".parse::<MessageKind>().is_err());
    }
}

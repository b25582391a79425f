//! The outbox worker: claim with a lease, render by kind at delivery, send, mark sent or retry later.

use super::{
    auth::account_links,
    db::{
        self,
        account_tokens::Purpose,
        outbox::{MessageKind, OutboxRecord},
    },
    mail::templates,
    AppState,
};
use crate::domain::Need;

/// How long a worker holds a message it is delivering before another may retry it.
const LEASE_SECONDS: i64 = 120;
const MAX_RETRY_DELAY_SECONDS: i64 = 60 * 60;

/// Runs until the app stops (in every instance: the lease keeps two from sending one message):
/// delivers due messages, then sleeps until woken or the poll interval.
pub async fn run_outbox(state: AppState) {
    loop {
        match deliver_due(&state).await {
            Ok(delivered) if delivered > 0 => continue,
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, "the outbox could not be read; retrying"),
        }
        tokio::select! {
            _ = state.outbox_wake.notified() => {}
            _ = tokio::time::sleep(state.config.mail_poll_interval) => {}
        }
    }
}

/// Delivers every message that is due; returns how many were handled.
pub async fn deliver_due(state: &AppState) -> Result<usize, sqlx::Error> {
    let now = state.now();
    let due = db::outbox::due(state.db.pool(), now, 50).await?;
    let mut handled = 0;
    for item in due {
        if !db::outbox::claim(state.db.pool(), item.id, now, now + LEASE_SECONDS).await? {
            continue;
        }
        handled += 1;
        let Some(draft) = draft(state, &item).await? else {
            // Accepted, revoked, used or replaced since it was queued: nothing to send.
            db::outbox::delete(state.db.pool(), item.id).await?;
            continue;
        };
        let result = match draft
            .content
            .and_then(|content| state.mailer.compose(item.id, &item.recipient, content))
        {
            Ok(email) => state.mailer.send(&email).await,
            Err(e) => Err(e),
        };
        let kind = item.kind.as_str();
        match result {
            Ok(()) => {
                db::outbox::mark_sent(state.db.pool(), item.id, state.now()).await?;
                if state.mailer.transport().is_local() {
                    tracing::info!(to = %item.recipient, link = %draft.link, "{kind} written to the mail folder (no SMTP configured)");
                } else {
                    tracing::info!(to = %item.recipient, "{kind} sent");
                }
            }
            Err(error) => {
                let delay = retry_delay(state.config.mail_retry_base_seconds, item.attempts);
                tracing::warn!(to = %item.recipient, attempts = item.attempts + 1, retry_in_seconds = delay, %error, "{kind} not delivered");
                db::outbox::mark_failed(state.db.pool(), item.id, &error, state.now() + delay)
                    .await?;
            }
        }
    }
    Ok(handled)
}

/// A message worked out at delivery from what its row points at (the row holds no secret).
struct Draft {
    /// The link the message carries, logged when the transport keeps messages locally.
    link: String,
    content: Result<templates::Content, String>,
}

/// `None` when there is nothing to send any more.
async fn draft(state: &AppState, item: &OutboxRecord) -> Result<Option<Draft>, sqlx::Error> {
    match item.kind {
        MessageKind::Invitation => invitation(state, item).await,
        MessageKind::PasswordReset => account_link(state, item, Purpose::PasswordReset).await,
        // The password link of an account the identity provider made.
        MessageKind::AccountProvisioned => account_link(state, item, Purpose::PasswordReset).await,
        MessageKind::EmailVerification => {
            account_link(state, item, Purpose::EmailVerification).await
        }
        MessageKind::PendingMembers => pending_members(state, item).await,
        MessageKind::RoleGranted => role_granted(state, item).await,
        MessageKind::AccountExists => Ok(Some(account_exists(item))),
        MessageKind::RecoveryCodeUsed | MessageKind::TwoFactorReset => {
            security_notice(state, item).await
        }
    }
}

/// To an account whose second factors changed without it: a recovery code was used, or an
/// administrator reset them. It says what happened and where to look after the account.
async fn security_notice(
    state: &AppState,
    item: &OutboxRecord,
) -> Result<Option<Draft>, sqlx::Error> {
    let pool = state.db.pool();
    let Some(user_id) = item.user_id else {
        return Ok(None);
    };
    // The link only where mailed links may point (the configured or a strictly allowed host).
    let link = if item.origin.is_empty() {
        String::new()
    } else {
        format!("{}/user/account", item.origin)
    };
    let content = match item.kind {
        MessageKind::RecoveryCodeUsed => templates::RecoveryCodeUsed {
            to: &item.recipient,
            at: item.created_at,
            left: db::two_factor::recovery_codes_left(pool, user_id).await?,
            link: &link,
        }
        .render(),
        _ => {
            let organization = match item.organization_id {
                Some(id) => db::organizations::title(pool, id)
                    .await?
                    .unwrap_or_default(),
                None => String::new(),
            };
            templates::TwoFactorReset {
                to: &item.recipient,
                organization: &organization,
                link: &link,
            }
            .render()
        }
    };
    Ok(Some(Draft { link, content }))
}

/// To an address that has an account: where to sign in. (It holds no secret: the reset link leads
/// to the form that mails one.)
fn account_exists(item: &OutboxRecord) -> Draft {
    let link = format!("{}/user/login", item.origin);
    let reset_link = format!("{}/user/forgot-password", item.origin);
    let content = templates::AccountExists {
        to: &item.recipient,
        link: &link,
        reset_link: &reset_link,
    }
    .render();
    Draft { link, content }
}

/// A password-reset, provisioned-account or verification link, while its token is neither used,
/// replaced nor expired; its message's kind says which words carry it.
async fn account_link(
    state: &AppState,
    item: &OutboxRecord,
    purpose: Purpose,
) -> Result<Option<Draft>, sqlx::Error> {
    let Some(token_id) = item.account_token_id else {
        return Ok(None);
    };
    let token = db::account_tokens::find(state.db.pool(), token_id).await?;
    let Some(token) = token.filter(|t| t.is_live(state.now())) else {
        return Ok(None);
    };
    let link = format!(
        "{}{}?token={}",
        item.origin,
        account_links::path(purpose),
        account_links::secret(state, purpose, &token.salt)
    );
    let content = match (purpose, item.kind) {
        (Purpose::PasswordReset, MessageKind::AccountProvisioned) => {
            templates::AccountProvisioned {
                to: &item.recipient,
                link: &link,
                expires_at: token.expires_at,
            }
            .render()
        }
        (Purpose::PasswordReset, _) => templates::PasswordReset {
            to: &item.recipient,
            link: &link,
            expires_at: token.expires_at,
        }
        .render(),
        (Purpose::EmailVerification, _) => templates::EmailVerification {
            to: &item.recipient,
            link: &link,
            expires_at: token.expires_at,
        }
        .render(),
    };
    Ok(Some(Draft { link, content }))
}

/// The most people a pending-members notice names; it counts the rest.
const NOTICE_NAMES: i64 = 50;

/// Who joined through the invite link since the notice was queued and still waits, to an Owner or
/// Administrator who still is one.
async fn pending_members(
    state: &AppState,
    item: &OutboxRecord,
) -> Result<Option<Draft>, sqlx::Error> {
    let pool = state.db.pool();
    let (Some(organization_id), Some(admin_id)) = (item.organization_id, item.user_id) else {
        return Ok(None);
    };
    let still_admin = db::memberships::role_of(pool, organization_id, admin_id)
        .await?
        .is_some_and(|role| role.allows(Need::Admin).is_ok());
    if !still_admin {
        return Ok(None);
    }
    let waiting =
        db::members::pending_since(pool, organization_id, item.created_at, NOTICE_NAMES + 1)
            .await?;
    if waiting.is_empty() {
        return Ok(None);
    }
    let more = if waiting.len() > NOTICE_NAMES as usize {
        db::organizations::pending_members(pool, organization_id).await? - NOTICE_NAMES
    } else {
        0
    };
    let people = waiting
        .iter()
        .take(NOTICE_NAMES as usize)
        .map(|m| templates::Waiting {
            email: &m.email,
            name: (&m.first_name, &m.last_name),
            joined_at: m.joined_at,
            verified: m.email_verified_at.is_some(),
        })
        .collect::<Vec<_>>();
    let organization = db::organizations::title(pool, organization_id)
        .await?
        .unwrap_or_default();
    let link = format!("{}/organization?role=NOT_ACTIVATED", item.origin);
    let content = templates::PendingMembers {
        organization: &organization,
        people: &people,
        more: more.max(0),
        link: &link,
    }
    .render();
    Ok(Some(Draft { link, content }))
}

/// To a member who was Pending, while they still have a role that lets them work.
async fn role_granted(state: &AppState, item: &OutboxRecord) -> Result<Option<Draft>, sqlx::Error> {
    let pool = state.db.pool();
    let (Some(organization_id), Some(user_id)) = (item.organization_id, item.user_id) else {
        return Ok(None);
    };
    let Some(role) = db::memberships::role_of(pool, organization_id, user_id)
        .await?
        .filter(|role| role.allows(Need::Active).is_ok())
    else {
        return Ok(None);
    };
    let organization = db::organizations::title(pool, organization_id)
        .await?
        .unwrap_or_default();
    let link = format!("{}/", item.origin);
    let content = templates::RoleGranted {
        to: &item.recipient,
        organization: &organization,
        role,
        link: &link,
    }
    .render();
    Ok(Some(Draft { link, content }))
}

async fn invitation(state: &AppState, item: &OutboxRecord) -> Result<Option<Draft>, sqlx::Error> {
    let Some(invitation_id) = item.invitation_id else {
        return Ok(None);
    };
    let invitation = db::invitations::find(state.db.pool(), invitation_id).await?;
    let Some(invitation) = invitation.filter(|i| i.is_open()) else {
        return Ok(None);
    };
    let organization = db::organizations::title(state.db.pool(), invitation.organization_id)
        .await?
        .unwrap_or_default();
    let link = format!(
        "{}/user/signup?token={}",
        item.origin,
        state.keys.invitation(&invitation.salt)
    );
    // The link opens "Log in to accept" for an address with an account: the mail says so too.
    let has_account = match crate::domain::EmailAddress::parse(&item.recipient) {
        Ok(email) => db::users::find_by_email(state.db.pool(), &email)
            .await?
            .is_some(),
        Err(_) => false,
    };
    let content = templates::Invitation {
        to: &item.recipient,
        organization: &organization,
        inviter: invitation
            .invited_by
            .as_deref()
            .unwrap_or("An administrator"),
        role: invitation.role,
        link: &link,
        expires_at: invitation.expires_at,
        has_account,
    }
    .render();
    Ok(Some(Draft { link, content }))
}

/// Doubles with each failed attempt, from `base` up to an hour.
pub fn retry_delay(base: i64, attempts: i64) -> i64 {
    base.saturating_mul(1i64 << attempts.clamp(0, 20))
        .clamp(1, MAX_RETRY_DELAY_SECONDS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_delay_doubles_up_to_an_hour() {
        assert_eq!(retry_delay(5, 0), 5);
        assert_eq!(retry_delay(5, 1), 10);
        assert_eq!(retry_delay(5, 3), 40);
        assert_eq!(retry_delay(5, 30), 3600);
    }
}

//! Mails that tell people where they stand (SPEC section 6): the Owner and Administrators hear who
//! joined through the invite link and waits for a role, at most once an hour per organization,
//! and a Pending member hears when they get a role.

use super::{
    change::Change,
    db::{
        self,
        outbox::{MessageKind, NewMessage},
    },
    error::OrInternal,
    origin::{RequestOrigin, NO_MAIL_ORIGIN},
    AppState,
};
use crate::domain::{AppError, Need, Role};

/// In the change of a join through the invite link to `organization_id`, which holds its lock (so
/// two joins at once cannot both queue a notice), before the membership is written (at the same
/// time, the change's): unless a notice to the organization's admins is already waiting to go,
/// queues one to each of them, due an interval after the last one. The notice lists, when it
/// is delivered, everyone who joined since it was queued and still waits. (Times are whole
/// seconds: someone who joins in the very second a notice goes out may be named in the next one
/// too, never in neither.)
pub async fn pending_joined_in(
    change: &mut Change<'_>,
    organization_id: i64,
    state: &AppState,
    origin: &RequestOrigin,
) -> Result<(), AppError> {
    let joined_at = change.now();
    if !state.config.notify_pending {
        return Ok(());
    }
    let Some(origin) = origin.mail_origin() else {
        tracing::warn!(
            organization_id,
            "no notice of a Pending member to the administrators: {NO_MAIL_ORIGIN}"
        );
        return Ok(());
    };
    let tx = change.tx();
    let kind = MessageKind::PendingMembers;
    if db::outbox::notice_waiting(&mut **tx, kind, organization_id)
        .await
        .or_internal("reading the outbox")?
    {
        return Ok(());
    }
    let interval = super::clock::seconds(state.config.pending_notice_interval);
    let due = db::outbox::last_notice(&mut **tx, kind, organization_id)
        .await
        .or_internal("reading the outbox")?
        .map_or(joined_at, |last| (last + interval).max(joined_at));
    for (admin_id, email) in db::memberships::admins(&mut **tx, organization_id)
        .await
        .or_internal("reading the administrators")?
    {
        let message = NewMessage {
            organization_id: Some(organization_id),
            user_id: Some(admin_id),
            due,
            ..NewMessage::new(kind, &email, origin, joined_at)
        };
        change.queue(&message).await?;
    }
    Ok(())
}

/// In the change of a role: a Pending member who now has a role that lets them
/// work is told so.
pub async fn role_changed_in(
    change: &mut Change<'_>,
    organization_id: i64,
    user_id: i64,
    from: Role,
    to: Role,
    origin: &RequestOrigin,
) -> Result<(), AppError> {
    let now = change.now();
    if from != Role::NotActivated || to.allows(Need::Active).is_err() {
        return Ok(());
    }
    let Some(origin) = origin.mail_origin() else {
        tracing::warn!(
            user_id,
            "no mail to a member who got a role: {NO_MAIL_ORIGIN}"
        );
        return Ok(());
    };
    let Some(email) = db::users::email_of(&mut **change.tx(), user_id)
        .await
        .or_internal("reading an account")?
    else {
        return Ok(());
    };
    let message = NewMessage {
        organization_id: Some(organization_id),
        user_id: Some(user_id),
        ..NewMessage::new(MessageKind::RoleGranted, &email, origin, now)
    };
    change.queue(&message).await
}

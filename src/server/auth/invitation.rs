//! Accepting an invitation: an account that belongs to no organization joins the one an invite
//! token leads to, as it signs up or logs in with the token.

use serde_json::json;

use crate::domain::{Action, AppError, EmailAddress, Role};
use crate::server::{
    audit::{Actor, Event, Target},
    change::Change,
    db,
    error::{is_unique_violation, OrInternal},
    invite_token::{self, InviteToken},
    notices,
    origin::RequestOrigin,
    AppState,
};

pub const OTHER_ADDRESS: &str =
    "This invitation was sent to another email address. Sign up with the address it was sent to.";
pub const LOG_IN_TO_ACCEPT: &str =
    "An account with this email already exists: log in to accept the invitation.";
pub const ALREADY_IN_AN_ORGANIZATION: &str =
    "This account already belongs to an organization, and an account belongs to one organization at a time: to accept, leave it first (ask its Owner or an Administrator to remove you; an Owner transfers ownership first), then log in with this invitation again.";
/// Whether `change` holds the lock of the organization an invite token leads to, taken before it
/// changed anything. The token leads there still (it was read again inside the change); should
/// it not, it is no longer valid.
fn check_locked(change: &Change<'_>, organization_id: i64) -> Result<(), AppError> {
    match change.organization() {
        Some(lock) if lock.id == organization_id => Ok(()),
        _ => Err(invite_token::invalid()),
    }
}

/// A new member joined through the invite link, as Pending.
fn joined_event(user_id: i64, email: &EmailAddress) -> Event {
    let target = Target::User {
        id: user_id,
        email: email.to_string(),
    };
    Event::new(Actor::user(user_id, email), Action::MemberJoined, target)
        .details(json!({"role": Role::NotActivated.as_str()}))
}

/// A member accepted an email invitation and has its role.
fn accepted_event(
    user_id: i64,
    email: &EmailAddress,
    invitation: &db::invitations::InvitationRecord,
) -> Event {
    let target = Target::Invitation {
        id: invitation.id,
        email: invitation.email.clone(),
    };
    Event::new(
        Actor::user(user_id, email),
        Action::InvitationAccepted,
        target,
    )
    .details(json!({"role": invitation.role.as_str(), "user_id": user_id}))
}

/// An account that belongs to no organization joins the one its invite token leads to, inside
/// `change` (which holds that organization's lock): as Pending through the invite link, with the
/// invited role through an email invitation to its own address (which proves the address). The
/// one join of signing up with a token and of logging in with one. Returns the role it got.
pub(in crate::server::auth) async fn join_in(
    change: &mut Change<'_>,
    state: &AppState,
    user_id: i64,
    email: &EmailAddress,
    token: InviteToken,
    origin: &RequestOrigin,
) -> Result<Role, AppError> {
    if db::memberships::organization_of(&mut **change.tx(), user_id)
        .await
        .or_internal("reading a membership")?
        .is_some()
    {
        return Err(AppError::Conflict(ALREADY_IN_AN_ORGANIZATION.into()));
    }
    let now = change.now();
    let (organization_id, role, event) = match token {
        InviteToken::Link(token_hash) => {
            let org = db::organizations::find_by_invite_hash(&mut **change.tx(), &token_hash)
                .await
                .or_internal("finding an invite link")?
                .ok_or_else(invite_token::invalid)?;
            (org.id, Role::NotActivated, joined_event(user_id, email))
        }
        InviteToken::Invitation(token_hash) => {
            let invitation = db::invitations::accept(&mut **change.tx(), &token_hash, now)
                .await
                .or_internal("accepting an invitation")?
                .ok_or_else(invite_token::invalid)?;
            if invitation.email != email.as_str() {
                return Err(AppError::invalid("email", OTHER_ADDRESS));
            }
            db::outbox::cancel_unsent(&mut **change.tx(), invitation.id)
                .await
                .or_internal("cancelling a message")?;
            db::users::mark_verified(&mut **change.tx(), user_id, now)
                .await
                .or_internal("recording a verified address")?;
            let event = accepted_event(user_id, email, &invitation);
            (invitation.organization_id, invitation.role, event)
        }
    };
    check_locked(change, organization_id)?;
    if role == Role::NotActivated {
        // Before the membership refers to the organization (see `signup::sign_up`).
        notices::pending_joined_in(change, organization_id, state, origin).await?;
    }
    match db::memberships::insert(&mut **change.tx(), organization_id, user_id, role, now).await {
        Ok(_) => {
            change.record(event.from(origin));
            tracing::info!(user_id, organization_id, role = %role, "joined an organization");
            Ok(role)
        }
        Err(e) if is_unique_violation(&e) => {
            Err(AppError::Conflict(ALREADY_IN_AN_ORGANIZATION.into()))
        }
        Err(e) => Err(crate::server::error::internal("joining an organization", e)),
    }
}

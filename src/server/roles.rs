//! Role changes, seats and the single Owner (SPEC sections 1 and 2). Every rule is decided in one
//! transaction that holds the organization's lock, so concurrent requests cannot both take the
//! last seat or both become the Owner.

use super::{
    audit::{Actor, Event, Target},
    auth::{password, Admin, Member, Owner},
    change::Change,
    db,
    error::OrInternal,
    seats, AppState,
};
use crate::domain::{Action, AppError, EmailAddress, MemberRow, Role};
use serde_json::json;

fn not_a_member() -> AppError {
    AppError::NotFound("There is no such member in this organization.".into())
}

/// A change holding the caller's organization's lock, and the role `user_id` has in it under
/// that lock (a change decided on it cannot race another), with the member as the log names them.
/// The caller's own role is read again under the lock too.
pub(crate) async fn locked_role_of<'s>(
    state: &'s AppState,
    me: &Admin,
    user_id: i64,
) -> Result<(Change<'s>, Role, Target), AppError> {
    let organization_id = me.organization_id();
    let mut tx = state
        .db
        .begin()
        .await
        .or_internal("starting a membership change")?;
    let (lock, member) = state
        .db
        .lock_organization_and_member(&mut tx, organization_id, user_id)
        .await
        .or_internal("locking the organization")?
        .ok_or_else(super::auth::organization_not_found)?;
    me.recheck(&mut tx).await?;
    // Their email at this moment, for the log.
    let (role, email) = member.ok_or_else(not_a_member)?;
    let change = Change::locked(state, tx, lock);
    Ok((change, role, Target::User { id: user_id, email }))
}

/// Changes a member's role. `OWNER` is never assignable, nobody changes the Owner's role or
/// their own, and a change that takes a seat needs a free one.
pub async fn change_role(
    state: &AppState,
    me: &Admin,
    user_id: i64,
    role: Role,
) -> Result<MemberRow, AppError> {
    if role == Role::Owner {
        return Err(AppError::invalid(
            "role",
            "The Owner role cannot be assigned; the Owner can transfer ownership instead.",
        ));
    }
    if user_id == me.user_id() {
        return Err(AppError::Forbidden(
            "You cannot change your own role.".into(),
        ));
    }
    let org = me.organization_id();
    let (mut change, current, target) = locked_role_of(state, me, user_id).await?;
    let now = change.now();
    if current == Role::Owner {
        return Err(AppError::Forbidden(
            "Nobody can change the Owner's role.".into(),
        ));
    }
    if current != role {
        if role.counts_seat() && !current.counts_seat() {
            seats::ensure_free(change.tx(), org, now).await?;
        }
        if !db::memberships::set_role(&mut **change.tx(), org, user_id, current, role, now)
            .await
            .or_internal("changing a role")?
        {
            return Err(AppError::Conflict(
                "The member's role changed meanwhile. Reload and try again.".into(),
            ));
        }
        if role == Role::Deactivated {
            // Restoring them later must not revive a stolen session or token.
            super::auth::api_tokens::revoke_credentials(change.tx(), &state.keys, user_id, now)
                .await?;
        }
        let action = if role == Role::Deactivated {
            Action::MemberDeactivated
        } else if current == Role::Deactivated {
            Action::MemberRestored
        } else {
            Action::MemberRoleChanged
        };
        let event = Event::by(me, action, target)
            .details(json!({"from": current.as_str(), "to": role.as_str()}));
        change.record(event);
        super::notices::role_changed_in(&mut change, org, user_id, current, role, me.origin())
            .await?;
    }
    change.commit().await?;
    tracing::info!(organization_id = org, by = me.user_id(), client = %me.origin().client, user_id, from = %current, to = %role, "changed a role");
    super::members::one(state, me, user_id)
        .await?
        .ok_or_else(not_a_member)
}

/// Removes a member (any role but Owner, never oneself) from the organization: their seat is free
/// at once, their sessions end and their token is replaced; the account stays, in no organization,
/// so that any organization may invite it again.
pub async fn remove_member(state: &AppState, me: &Admin, user_id: i64) -> Result<(), AppError> {
    if user_id == me.user_id() {
        return Err(AppError::Forbidden(
            "You cannot remove yourself from the organization.".into(),
        ));
    }
    let org = me.organization_id();
    let (mut change, current, target) = locked_role_of(state, me, user_id).await?;
    if current == Role::Owner {
        return Err(AppError::Forbidden(
            "Nobody can remove the Owner; the Owner can transfer ownership first.".into(),
        ));
    }
    db::memberships::delete(&mut **change.tx(), org, user_id)
        .await
        .or_internal("removing a member")?
        .ok_or_else(not_a_member)?;
    let now = change.now();
    super::auth::api_tokens::revoke_credentials(change.tx(), &state.keys, user_id, now).await?;
    let event =
        Event::by(me, Action::MemberRemoved, target).details(json!({"role": current.as_str()}));
    change.record(event);
    change.commit().await?;
    tracing::info!(organization_id = org, by = me.user_id(), client = %me.origin().client, user_id, role = %current, "removed a member");
    Ok(())
}

/// The Owner hands the organization to an active member, confirming with their password (checked
/// as at sign-in, under its limits: [`password::confirm`]). The old Owner becomes an
/// Administrator, in the same transaction.
pub async fn transfer_ownership(
    state: &AppState,
    me: &Owner,
    to: &str,
    password_text: &str,
) -> Result<(), AppError> {
    let claimant = password::Claimant::Account {
        user_id: me.user_id(),
        email: me.email(),
    };
    if password::confirm(state, claimant, password_text, me.origin())
        .await?
        .is_none()
    {
        return Err(AppError::invalid("password", "That is not your password."));
    }
    transfer(state, me.organization_id(), Some(&**me), to).await
}

/// Moves ownership of `organization_id` to the member with email `to`. `by` the Owner, only if
/// they still are (the UI); without, from whoever is (the server administrator's command).
pub async fn transfer(
    state: &AppState,
    organization_id: i64,
    by: Option<&Member>,
    to: &str,
) -> Result<(), AppError> {
    let from = by.map(Member::user_id);
    let to = EmailAddress::parse(to)?;
    let mut change = Change::to_organization(state, organization_id).await?;
    let now = change.now();
    let tx = change.tx();
    let owner_id = db::memberships::owner(&mut **tx, organization_id)
        .await
        .or_internal("finding the Owner")?
        .ok_or_else(|| AppError::Conflict("The organization has no Owner.".into()))?;
    if from.is_some_and(|f| f != owner_id) {
        return Err(AppError::Forbidden(
            "Your role no longer allows this: you are no longer the Owner of this organization."
                .into(),
        ));
    }
    // An address without an account and one whose account belongs to another organization read
    // the same: the form tells nothing about other organizations.
    let not_a_member = || {
        AppError::invalid(
            "email",
            format!("{to} is not a member of this organization."),
        )
    };
    let target_id = db::users::find_by_email(&mut **tx, &to)
        .await
        .or_internal("finding a user")?
        .map(|u| u.id)
        .ok_or_else(not_a_member)?;
    if db::memberships::role_of(&mut **tx, organization_id, target_id)
        .await
        .or_internal("reading a role")?
        .is_none()
    {
        return Err(not_a_member());
    }
    if target_id == owner_id {
        return Err(AppError::invalid(
            "email",
            format!("{to} is already the Owner."),
        ));
    }
    if !db::memberships::demote_owner(&mut **tx, organization_id, owner_id, now)
        .await
        .or_internal("demoting the Owner")?
    {
        return Err(AppError::Conflict(
            "Ownership changed meanwhile. Reload and try again.".into(),
        ));
    }
    if !db::memberships::promote_to_owner(&mut **tx, organization_id, target_id, now)
        .await
        .or_internal("promoting the new Owner")?
    {
        // Dropping `tx` rolls back the demotion too.
        return Err(AppError::invalid(
            "email",
            format!(
                "{to} must be an active member of this organization (not Pending or Deactivated)."
            ),
        ));
    }
    let from_email = db::users::email_of(&mut **tx, owner_id)
        .await
        .or_internal("reading an email")?
        .unwrap_or_default();
    let target = Target::User {
        id: target_id,
        email: to.to_string(),
    };
    let event = match by {
        Some(me) => Event::by(me, Action::OwnershipTransferred, target),
        None => Event::new(Actor::Cli, Action::OwnershipTransferred, target),
    };
    change.record(event.details(json!({"from_id": owner_id, "from_email": from_email})));
    change.commit().await?;
    tracing::info!(
        organization_id,
        from = owner_id,
        to = target_id,
        "transferred ownership"
    );
    Ok(())
}

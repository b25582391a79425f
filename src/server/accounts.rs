//! Accounts: making one with its organization, the signed-in user as the app shell shows them,
//! and how the log names an account. Signing up, in and out is `auth`'s.

use super::{
    audit::{self, Actor, Event, Target},
    auth::{self, api_tokens, keys::Keys, secrets, Visitor},
    db::{self, Locked, Tx},
    error::{is_unique_violation, OrInternal},
    now,
    origin::RequestOrigin,
    AppState,
};
use crate::domain::{Action, AppError, CurrentUser, EmailAddress, Need, PersonName, Role};
use serde_json::json;

pub const EMAIL_TAKEN: &str = "User with this email already exists";
/// The optional first and last name given at signup (or on the Account page).
#[derive(Clone, Debug, Default)]
pub struct FullName {
    pub first: PersonName,
    pub last: PersonName,
}

impl FullName {
    /// Parses both names; a missing one is empty.
    pub fn parse(first: Option<&str>, last: Option<&str>) -> Result<Self, AppError> {
        Ok(Self {
            first: PersonName::parse("first_name", first.unwrap_or_default())?,
            last: PersonName::parse("last_name", last.unwrap_or_default())?,
        })
    }

    pub fn is_empty(&self) -> bool {
        self.first.as_str().is_empty() && self.last.as_str().is_empty()
    }
}

/// Creates a user, their organization and their Owner membership inside `tx`, and starts the
/// organization's audit log with it: done by the new user from `origin`, or (without) by the
/// command line. Returns the user id. (The new organization needs no lock: no other transaction
/// can see it before this one commits.)
pub async fn create_owner_in(
    tx: &mut Tx,
    keys: &Keys,
    email: &EmailAddress,
    password_hash: &str,
    seats: Option<i64>,
    origin: Option<&RequestOrigin>,
) -> Result<i64, AppError> {
    let now = now();
    let user_id = insert_user(tx, email, password_hash, now).await?;
    let org_id = db::organizations::insert(&mut **tx, email.as_str(), seats, user_id, now)
        .await
        .or_internal("creating an organization")?;
    let link_salt = secrets::random_bytes::<16>();
    db::organizations::create_invite_link(
        &mut **tx,
        org_id,
        &link_salt,
        &secrets::hash(&keys.invite_link(&link_salt)),
    )
    .await
    .or_internal("creating the invite link")?;
    db::memberships::insert(&mut **tx, org_id, user_id, Role::Owner, now)
        .await
        .or_internal("creating the Owner membership")?;
    api_tokens::replace(tx, keys, user_id).await?;
    let target = Target::Organization {
        id: org_id,
        title: email.to_string(),
    };
    let details = json!({"title": email.as_str(), "seats": seats, "owner_id": user_id, "owner_email": email.as_str()});
    let event = match origin {
        Some(origin) => {
            Event::new(actor(user_id, email), Action::OrganizationCreated, target).from(origin)
        }
        None => Event::new(Actor::Cli, Action::OrganizationCreated, target),
    };
    let mut lock = Locked::created(org_id, email.to_string());
    audit::record(tx, &mut lock, event.details(details), now).await?;
    Ok(user_id)
}

/// The member themselves, as the target of a change to their own account.
pub fn own(me: &impl auth::Identity) -> Target {
    Target::User {
        id: me.user_id(),
        email: me.email().to_owned(),
    }
}

pub(crate) fn actor(id: i64, email: &EmailAddress) -> Actor {
    Actor::User {
        id,
        email: email.to_string(),
    }
}

/// Inserts a user inside `tx`; an address that has an account is [`EMAIL_TAKEN`].
pub(crate) async fn insert_user(
    tx: &mut Tx,
    email: &EmailAddress,
    password_hash: &str,
    now: i64,
) -> Result<i64, AppError> {
    match db::users::insert(&mut **tx, email, password_hash, now).await {
        Ok(id) => Ok(id),
        Err(e) if is_unique_violation(&e) => Err(AppError::invalid("email", EMAIL_TAKEN)),
        Err(e) => Err(super::error::internal("creating a user", e)),
    }
}

/// The signed-in user as the app shell needs them, or `None`.
pub async fn current_user(
    state: &AppState,
    visitor: &Visitor,
) -> Result<Option<CurrentUser>, AppError> {
    let Some(me) = visitor.account() else {
        return Ok(None);
    };
    let (title, pending_members) = match me.organization_id() {
        Some(organization) => {
            let title = db::organizations::title(state.db.pool(), organization)
                .await
                .or_internal("reading the organization")?
                .unwrap_or_default();
            let admin = me.role().is_some_and(|r| r.allows(Need::Admin).is_ok());
            let pending = if admin {
                db::organizations::pending_members(state.db.pool(), organization)
                    .await
                    .or_internal("counting pending members")?
            } else {
                0
            };
            (title, pending)
        }
        None => (String::new(), 0),
    };
    Ok(Some(CurrentUser {
        id: me.user_id(),
        email: me.email().to_owned(),
        role: me.role(),
        organization_id: me.organization_id(),
        organization_title: title,
        pending_members,
        email_verified: me.email_verified(),
    }))
}

//! What a provisioning request does to roles: the rules it decides by (SCIM's own group
//! mappings, and the default role and manual role management of the organization's single
//! sign-on settings, decided by the same [`role_from_groups`] as SSO sign-ins), and the one
//! function that changes a member's role for the identity provider: within the seats (a
//! seat-taking role without a free seat leaves them Pending), never the Owner's, logged with the
//! actor `scim`.

use serde_json::{json, Value};

use super::{Provider, ScimError};
use crate::domain::{role_from_groups, Action, AppError, Mapped, Role, RoleGroup};
use crate::server::{
    audit::{Actor, Event, Target},
    auth::api_tokens,
    change::Change,
    db,
    error::OrInternal,
    notices, seats, sso, AppState,
};

/// How the organization decides provisioned members' roles.
pub struct Rules {
    pub mappings: Vec<RoleGroup>,
    pub manual: bool,
    pub default_role: Role,
}

/// The role a new member gets when the organization has no single sign-on settings to say.
pub const DEFAULT_ROLE: Role = Role::Annotator;

impl Rules {
    pub async fn of(change: &mut Change<'_>, organization_id: i64) -> Result<Self, AppError> {
        let mappings = match db::scim::roles_groups(&mut **change.tx(), organization_id)
            .await
            .or_internal("reading the SCIM settings")?
        {
            Some(text) => serde_json::from_str(&text).map_err(|e| {
                AppError::Internal(format!("the stored SCIM mappings cannot be read: {e}"))
            })?,
            None => Vec::new(),
        };
        let common = match sso::settings::saml(&mut **change.tx(), organization_id).await? {
            Some(saml) => Some(saml.common),
            None => sso::settings::oidc(&mut **change.tx(), organization_id)
                .await?
                .map(|oidc| oidc.common),
        };
        Ok(Self {
            mappings,
            manual: common.as_ref().is_some_and(|c| c.manual_role_management),
            default_role: common.map_or(DEFAULT_ROLE, |c| c.default_role),
        })
    }

    /// What the groups decide for a member whose role is `current`.
    pub fn decide(&self, groups: &[String], current: Role) -> Mapped {
        role_from_groups(
            &self.mappings,
            groups,
            Some(current),
            self.manual,
            self.default_role,
        )
    }

    /// The most elevated role a mapped group gives, if any.
    pub fn mapped(&self, groups: &[String]) -> Option<Role> {
        match role_from_groups(&self.mappings, groups, None, false, Role::Deactivated) {
            Mapped::Role(Role::Deactivated) | Mapped::Keep => None,
            Mapped::Role(role) => Some(role),
        }
    }
}

/// A member as a change names them.
pub struct Person<'a> {
    pub user_id: i64,
    pub email: &'a str,
}

impl Person<'_> {
    pub fn target(&self) -> Target {
        Target::User {
            id: self.user_id,
            email: self.email.to_owned(),
        }
    }
}

/// The role `wanted`, or Pending when it takes a seat that `from` did not hold and none is free.
async fn within_seats(
    change: &mut Change<'_>,
    organization_id: i64,
    from: Option<Role>,
    wanted: Role,
) -> Result<Role, AppError> {
    if !wanted.counts_seat() || from.is_some_and(Role::counts_seat) {
        return Ok(wanted);
    }
    let now = change.now();
    match seats::ensure_free(change.tx(), organization_id, now).await {
        Ok(()) => Ok(wanted),
        Err(AppError::NoFreeSeat { used, limit }) => {
            tracing::info!(organization_id, used, limit, wanted = %wanted, "SCIM left a member Pending: no free seat");
            Ok(Role::NotActivated)
        }
        Err(e) => Err(e),
    }
}

/// Makes `person` (an account in no organization) a member with `wanted` (within the seats), as
/// the provider asked; returns their role.
pub async fn join(
    change: &mut Change<'_>,
    state: &AppState,
    provider: &Provider,
    person: &Person<'_>,
    wanted: Role,
) -> Result<Role, ScimError> {
    let org = provider.organization_id;
    let role = within_seats(change, org, None, wanted).await?;
    if role == Role::NotActivated {
        // Before the membership is written (see `notices::pending_joined_in`).
        notices::pending_joined_in(change, org, state, &provider.origin).await?;
    }
    let now = change.now();
    match db::memberships::insert(&mut **change.tx(), org, person.user_id, role, now).await {
        Ok(()) => {}
        Err(e) if crate::server::error::is_unique_violation(&e) => {
            return Err(ScimError::uniqueness(format!(
                "{} belongs to another organization.",
                person.email
            )))
        }
        Err(e) => return Err(crate::server::error::internal("adding a member", e).into()),
    }
    Ok(role)
}

/// Moves `person` from `from` to `wanted` (within the seats; never the Owner), logged with
/// `details` besides the roles; returns their role afterwards.
pub async fn set_role(
    change: &mut Change<'_>,
    provider: &Provider,
    keys: &crate::server::auth::keys::Keys,
    person: &Person<'_>,
    from: Role,
    wanted: Role,
    details: Value,
) -> Result<Role, ScimError> {
    if from == Role::Owner || from == wanted {
        return Ok(from);
    }
    let org = provider.organization_id;
    let role = within_seats(change, org, Some(from), wanted).await?;
    if role == from {
        return Ok(from);
    }
    let now = change.now();
    if !db::memberships::set_role(&mut **change.tx(), org, person.user_id, from, role, now)
        .await
        .or_internal("changing a role")?
    {
        return Err(AppError::Conflict(
            "The member's role changed meanwhile; send the request again.".into(),
        )
        .into());
    }
    if role == Role::Deactivated {
        api_tokens::revoke_credentials(change.tx(), keys, person.user_id, now).await?;
    }
    let action = if role == Role::Deactivated {
        Action::MemberDeactivated
    } else if from == Role::Deactivated {
        Action::MemberRestored
    } else {
        Action::MemberRoleChanged
    };
    let mut all = json!({"from": from.as_str(), "to": role.as_str(), "wanted": wanted.as_str()});
    if let (Some(all), Value::Object(more)) = (all.as_object_mut(), details) {
        all.extend(more);
    }
    change.record(
        Event::new(Actor::Scim, action, person.target())
            .details(all)
            .from(&provider.origin),
    );
    notices::role_changed_in(change, org, person.user_id, from, role, &provider.origin).await?;
    tracing::info!(user_id = person.user_id, organization_id = org, from = %from, to = %role, "SCIM changed a role");
    Ok(role)
}

/// Applies what their groups now decide to the members in `user_ids` (after a group's members or
/// name changed): members the provider deactivated stay so until it restores them.
pub async fn regroup(
    change: &mut Change<'_>,
    state: &AppState,
    provider: &Provider,
    rules: &Rules,
    user_ids: &[i64],
    why: &str,
) -> Result<(), ScimError> {
    let org = provider.organization_id;
    for &user_id in user_ids {
        let Some(member) = db::scim::user(&mut **change.tx(), org, user_id)
            .await
            .or_internal("reading a member")?
        else {
            continue;
        };
        if member.role_before_deactivation.is_some() {
            continue;
        }
        let groups = db::scim::groups_of(&mut **change.tx(), user_id)
            .await
            .or_internal("reading a member's groups")?;
        let Mapped::Role(wanted) = rules.decide(&groups, member.role) else {
            continue;
        };
        let person = Person {
            user_id,
            email: &member.email,
        };
        set_role(
            change,
            provider,
            &state.keys,
            &person,
            member.role,
            wanted,
            json!({"groups": groups, "because": why}),
        )
        .await?;
    }
    Ok(())
}

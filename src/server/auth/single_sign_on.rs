//! Signing in through the organization's identity provider (SPEC section 10): once its answer is
//! verified (`server::sso`), the person it names is found by their identity, linked by address
//! when the settings allow, or given an account just in time; their groups decide their role;
//! and the session opens, all in one change under the organization's lock.

use serde_json::json;

use super::{
    api_tokens,
    proven::Proven,
    signin::{self, Next},
    signup::insert_user,
};
use crate::domain::{
    Action, AppError, EmailAddress, Mapped, Protocol, Role, SignInMethod, SsoProblem,
};
use crate::server::{
    audit::{Actor, Event, Target},
    change::Change,
    db,
    error::{is_unique_violation, OrInternal},
    notices,
    origin::RequestOrigin,
    seats,
    sso::settings::Common,
    AppState,
};

/// What an identity provider's verified answer says of a person.
#[derive(Clone, Debug)]
pub struct Answer {
    pub protocol: Protocol,
    /// The OIDC issuer or SAML entity id.
    pub issuer: String,
    /// The OIDC `sub` or SAML NameID.
    pub subject: String,
    pub email: EmailAddress,
    pub first_name: String,
    pub last_name: String,
    pub groups: Vec<String>,
}

/// Why a sign-in failed: a problem the person is told of (with its cause, for the log), or an
/// error of the server's own.
#[derive(Debug)]
pub enum Failed {
    Problem {
        problem: SsoProblem,
        cause: String,
        /// The account concerned, when one was found.
        user: Option<(i64, String)>,
    },
    Error(AppError),
}

impl Failed {
    pub fn problem(problem: SsoProblem, cause: impl Into<String>) -> Self {
        Self::Problem {
            problem,
            cause: cause.into(),
            user: None,
        }
    }

    fn of(problem: SsoProblem, cause: impl Into<String>, user_id: i64, email: &str) -> Self {
        Self::Problem {
            problem,
            cause: cause.into(),
            user: Some((user_id, email.to_owned())),
        }
    }
}

impl From<AppError> for Failed {
    fn from(e: AppError) -> Self {
        Self::Error(e)
    }
}

/// Signs in the person `answer` names, in `organization_id` with its `settings`.
pub async fn sign_in(
    state: &AppState,
    organization_id: i64,
    settings: &Common,
    answer: &Answer,
    origin: &RequestOrigin,
    old_session: Option<&str>,
) -> Result<Next, Failed> {
    let mut change = Change::to_organization(state, organization_id).await?;
    let now = change.now();
    let email = &answer.email;
    let identity = db::sso::find_identity(
        &mut **change.tx(),
        organization_id,
        &answer.issuer,
        &answer.subject,
    )
    .await
    .or_internal("finding an SSO identity")?;
    let (user_id, current) = match identity {
        Some(identity) => {
            db::sso::signed_in_with(&mut **change.tx(), identity.id, email.as_str(), now)
                .await
                .or_internal("recording an SSO sign-in")?;
            let principal = db::principals::by_user_id(&mut **change.tx(), identity.user_id)
                .await
                .or_internal("reading a membership")?;
            let Some(principal) = principal else {
                return Err(
                    AppError::Internal("an SSO identity without its account".into()).into(),
                );
            };
            match principal.organization_id {
                Some(id) if id == organization_id => (identity.user_id, principal.role),
                Some(_) => {
                    return Err(Failed::of(
                        SsoProblem::OtherOrganization,
                        "the identity's account joined another organization",
                        identity.user_id,
                        &principal.email,
                    ))
                }
                // Removed from the organization since: the identity brings them back.
                None => (identity.user_id, None),
            }
        }
        None => match db::users::find_by_email(&mut **change.tx(), email)
            .await
            .or_internal("finding a user")?
        {
            Some(user) => {
                let membership = db::memberships::organization_of(&mut **change.tx(), user.id)
                    .await
                    .or_internal("reading a membership")?;
                if membership != Some(organization_id) {
                    return Err(Failed::of(
                        if membership.is_some() {
                            SsoProblem::OtherOrganization
                        } else {
                            SsoProblem::AccountExists
                        },
                        "an account with the address exists outside the organization",
                        user.id,
                        email.as_str(),
                    ));
                }
                if !settings.link_existing_by_email {
                    return Err(Failed::of(
                        SsoProblem::AccountExists,
                        "an account with the address exists and linking by address is off",
                        user.id,
                        email.as_str(),
                    ));
                }
                link(&mut change, organization_id, answer, user.id, origin).await?;
                let role = db::memberships::role_of(&mut **change.tx(), organization_id, user.id)
                    .await
                    .or_internal("reading a role")?;
                (user.id, role)
            }
            None => {
                let user_id = create_account(state, &mut change, answer, origin).await?;
                link(&mut change, organization_id, answer, user_id, origin).await?;
                (user_id, None)
            }
        },
    };
    let role = apply_groups(
        state,
        &mut change,
        organization_id,
        settings,
        answer,
        user_id,
        current,
        origin,
    )
    .await?;
    if !answer.first_name.is_empty() || !answer.last_name.is_empty() {
        db::users::set_name(
            &mut **change.tx(),
            user_id,
            &answer.first_name,
            &answer.last_name,
        )
        .await
        .or_internal("saving a name")?;
    }
    if role == Role::Deactivated {
        // What the groups decided stands, but nobody signs in.
        change.commit().await?;
        return Err(Failed::of(
            SsoProblem::Deactivated,
            "the member is deactivated",
            user_id,
            email.as_str(),
        ));
    }
    let proven = Proven::new(user_id, SignInMethod::Sso);
    let next = signin::proceed(state, &mut change, proven, origin, old_session).await?;
    let target = Target::User {
        id: user_id,
        email: email.to_string(),
    };
    change.record(
        Event::new(Actor::user(user_id, email), Action::SsoSignedIn, target)
            .details(json!({"protocol": answer.protocol.as_str(), "issuer": answer.issuer}))
            .from(origin),
    );
    change.commit().await?;
    tracing::info!(user_id, organization_id, client = %origin.client, "signed in through SSO");
    Ok(next)
}

/// A new account for the address the provider vouched for: verified, with no usable password.
async fn create_account(
    state: &AppState,
    change: &mut Change<'_>,
    answer: &Answer,
    origin: &RequestOrigin,
) -> Result<i64, Failed> {
    let now = change.now();
    let user_id = match insert_user(change.tx(), &answer.email, NO_PASSWORD, now).await {
        Ok(id) => id,
        Err(e) if e.for_field("email").is_some() => {
            return Err(Failed::problem(
                SsoProblem::AccountExists,
                "an account with the address was made meanwhile",
            ))
        }
        Err(e) => return Err(e.into()),
    };
    db::users::mark_verified(&mut **change.tx(), user_id, now)
        .await
        .or_internal("recording a verified address")?;
    api_tokens::replace(change.tx(), &state.keys, user_id, now).await?;
    tracing::info!(user_id, client = %origin.client, "made an account through SSO");
    Ok(user_id)
}

/// What an account made by single sign-on has for a password hash: nothing a password matches.
pub const NO_PASSWORD: &str = "";

/// Links the provider's identity to `user_id` (logged in its organization's log).
pub(crate) async fn link(
    change: &mut Change<'_>,
    organization_id: i64,
    answer: &Answer,
    user_id: i64,
    origin: &RequestOrigin,
) -> Result<(), Failed> {
    let now = change.now();
    match db::sso::insert_identity(
        &mut **change.tx(),
        organization_id,
        answer.protocol,
        &answer.issuer,
        &answer.subject,
        user_id,
        answer.email.as_str(),
        now,
    )
    .await
    {
        Ok(_) => {}
        Err(e) if is_unique_violation(&e) => {
            return Err(Failed::problem(
                SsoProblem::Expired,
                "the identity was linked by a concurrent sign-in",
            ))
        }
        Err(e) => return Err(crate::server::error::internal("linking an SSO identity", e).into()),
    }
    let target = Target::User {
        id: user_id,
        email: answer.email.to_string(),
    };
    change.record(
        Event::new(
            Actor::user(user_id, &answer.email),
            Action::SsoAccountLinked,
            target,
        )
        .details(json!({
            "protocol": answer.protocol.as_str(),
            "issuer": answer.issuer,
            "subject": answer.subject,
        }))
        .from(origin),
    );
    Ok(())
}

/// Gives the member the role their groups decide (a new member joins with it), within the seats:
/// a seat-taking role without a free seat leaves them Pending, and the administrators are told.
/// Returns their role afterwards.
#[allow(clippy::too_many_arguments)]
async fn apply_groups(
    state: &AppState,
    change: &mut Change<'_>,
    organization_id: i64,
    settings: &Common,
    answer: &Answer,
    user_id: i64,
    current: Option<Role>,
    origin: &RequestOrigin,
) -> Result<Role, Failed> {
    let now = change.now();
    let decided = settings.decide(&answer.groups, current);
    let wanted = match (decided, current) {
        (Mapped::Keep, Some(role)) => return Ok(role),
        (Mapped::Keep, None) => settings.default_role,
        (Mapped::Role(role), _) => role,
    };
    if current == Some(wanted) {
        return Ok(wanted);
    }
    let needs_seat = wanted.counts_seat() && !current.is_some_and(Role::counts_seat);
    let role = if needs_seat {
        match seats::ensure_free(change.tx(), organization_id, now).await {
            Ok(()) => wanted,
            Err(AppError::NoFreeSeat { used, limit }) => {
                tracing::info!(
                    user_id,
                    organization_id,
                    used,
                    limit,
                    wanted = %wanted,
                    "SSO left a member Pending: no free seat"
                );
                Role::NotActivated
            }
            Err(e) => return Err(e.into()),
        }
    } else {
        wanted
    };
    if current == Some(role) {
        return Ok(role);
    }
    if role == Role::NotActivated {
        // Before the membership is written (see `notices::pending_joined_in`).
        notices::pending_joined_in(change, organization_id, state, origin).await?;
    }
    let target = Target::User {
        id: user_id,
        email: answer.email.to_string(),
    };
    let details = json!({
        "from": current.map(Role::as_str),
        "to": role.as_str(),
        "role": role.as_str(),
        "groups": answer.groups,
        "wanted": wanted.as_str(),
    });
    match current {
        None => {
            let joined =
                db::memberships::insert(&mut **change.tx(), organization_id, user_id, role, now)
                    .await;
            match joined {
                Ok(()) => {}
                Err(e) if is_unique_violation(&e) => {
                    return Err(Failed::problem(
                        SsoProblem::OtherOrganization,
                        "the account joined an organization meanwhile",
                    ))
                }
                Err(e) => {
                    return Err(crate::server::error::internal("joining an organization", e).into())
                }
            }
            change
                .record(Event::new(Actor::Sso, Action::SsoAccountCreated, target).details(details));
        }
        Some(from) => {
            if !db::memberships::set_role(
                &mut **change.tx(),
                organization_id,
                user_id,
                from,
                role,
                now,
            )
            .await
            .or_internal("changing a role")?
            {
                return Err(AppError::Conflict(
                    "The member's role changed meanwhile. Try signing in again.".into(),
                )
                .into());
            }
            if role == Role::Deactivated {
                api_tokens::revoke_credentials(change.tx(), &state.keys, user_id, now).await?;
            }
            let action = if role == Role::Deactivated {
                Action::MemberDeactivated
            } else if from == Role::Deactivated {
                Action::MemberRestored
            } else {
                Action::MemberRoleChanged
            };
            change.record(Event::new(Actor::Sso, action, target).details(details));
            notices::role_changed_in(change, organization_id, user_id, from, role, origin).await?;
        }
    }
    tracing::info!(user_id, organization_id, from = ?current, to = %role, "SSO set a role from groups");
    Ok(role)
}

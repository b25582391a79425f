//! Signing in with an email address and password; with an invite token, an account in no
//! organization also accepts the invitation.

use super::{confirm, Claimant};
use crate::domain::{Action, AppError, EmailAddress, Refusal, Role, SignInMethod};
use crate::server::{
    audit::{Actor, Event, Target},
    auth::{
        invitation,
        proven::Proven,
        signin::{self, Next},
        two_factor, Anyone,
    },
    change::Change,
    db,
    error::OrInternal,
    invite_token::InviteToken,
    AppState,
};

pub const LOGIN_MISMATCH: &str = "The email and password you entered don't match.";

/// The password credential: checks the password ([`confirm`]) and proceeds to a new session. Every mismatch reads the
/// same and costs the same time, whether or not the account exists. Failed attempts are counted
/// per email and per client address; over either limit the attempt is refused before any password
/// is checked.
pub async fn sign_in(
    state: &AppState,
    caller: &Anyone,
    email: &str,
    password: &str,
    old_session: Option<&str>,
    invite_token: Option<&str>,
) -> Result<Next, AppError> {
    let client = caller.origin().client.to_string();
    let pool = state.db.pool();
    let claimant = Claimant::Address(email);
    let Some(confirmed) = confirm(state, claimant, password, caller.origin()).await? else {
        return Err(AppError::Unauthenticated(LOGIN_MISMATCH.into()));
    };
    let user_id = confirmed.user_id;
    // The password matched an account's, so this is its address.
    let email = EmailAddress::parse(email)?;
    let principal = db::principals::by_user_id(pool, user_id)
        .await
        .or_internal("reading a membership")?;
    if principal
        .as_ref()
        .is_some_and(|p| p.role == Some(Role::Deactivated))
    {
        tracing::info!(client = %client, user_id, "refused a login: deactivated");
        return Err(Refusal::Deactivated.into());
    }
    if let Some(p) = principal.as_ref().filter(|p| p.organization_id.is_some()) {
        let organization = p.organization_id.unwrap_or_default();
        if crate::server::sso::settings::sso_required_for(pool, organization, p.role).await? {
            tracing::info!(client = %client, user_id, "refused a login: the organization requires SSO");
            return Err(AppError::Forbidden(
                crate::server::sso::settings::SSO_REQUIRED.into(),
            ));
        }
    }
    let token = invite_token
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .map(InviteToken::parse)
        .transpose()?;
    // The organization whose log records the sign-in: the one joined with a token, else theirs.
    let organization = match (&token, principal.and_then(|p| p.organization_id)) {
        (Some(_), Some(_)) => {
            return Err(AppError::Conflict(
                invitation::ALREADY_IN_AN_ORGANIZATION.into(),
            ))
        }
        (Some(token), None) => Some(token.resolve(pool, state.now()).await?.organization_id()),
        (None, theirs) => theirs,
    };
    let mut change = Change::to(state, organization).await?;
    let mut proven = Proven::new(user_id, SignInMethod::Password);
    if let Some(token) = token {
        // A password alone accepts no invitation for an account with a second factor: it is
        // accepted when the factor is given.
        if two_factor::has_factor(change.tx(), user_id).await? {
            proven = proven.joining(token);
        } else {
            invitation::join_in(&mut change, state, user_id, &email, token, caller.origin())
                .await?;
        }
    }
    let next = signin::proceed(state, &mut change, proven, caller.origin(), old_session).await?;
    // With a second factor to give, the sign-in succeeds (and is logged) when it is given.
    if let Next::SignedIn(_) = next {
        let target = Target::User {
            id: user_id,
            email: email.to_string(),
        };
        let event = Event::new(
            Actor::user(user_id, &email),
            Action::SignInSucceeded,
            target,
        )
        .from(caller.origin());
        change.record(event);
    }
    change.commit().await?;
    match next {
        Next::SignedIn(_) => tracing::info!(client = %client, user_id, "logged in"),
        Next::SecondFactor(_) => {
            tracing::info!(client = %client, user_id, "password accepted: waiting for the second factor")
        }
    }
    Ok(next)
}

//! The signed-in user's own account: their name and their password.

use super::{
    audit::{Event, Target},
    auth::{api_tokens, common_passwords, password, sessions, SignedIn},
    change::Change,
    db,
    error::OrInternal,
    AppState,
};
use crate::domain::{Action, AppError, EmailAddress, FullName, Password, Profile};
use serde_json::json;

pub const WRONG_CURRENT_PASSWORD: &str = "That is not your current password.";
pub const SAME_PASSWORD: &str = "Choose a password different from your current one.";

/// The caller's account details.
pub async fn get(state: &AppState, me: &SignedIn) -> Result<Profile, AppError> {
    let record = db::users::find_profile(state.db.pool(), me.user_id())
        .await
        .or_internal("reading an account")?
        .ok_or_else(AppError::signed_out)?;
    Ok(Profile {
        id: record.id,
        email: record.email,
        first_name: record.first_name,
        last_name: record.last_name,
    })
}

/// Sets the caller's first and last name (either may be empty); returns the account as saved.
pub async fn rename(state: &AppState, me: &SignedIn, name: &FullName) -> Result<Profile, AppError> {
    let mut change = Change::to_account(state, me.user_id()).await?;
    db::users::set_name(
        &mut **change.tx(),
        me.user_id(),
        name.first.as_str(),
        name.last.as_str(),
    )
    .await
    .or_internal("saving a name")?;
    let event = Event::by(me, Action::NameChanged, Target::own(me))
        .details(json!({"first_name": name.first.as_str(), "last_name": name.last.as_str()}));
    change.record(event);
    change.commit().await?;
    tracing::info!(client = %me.origin().client, user_id = me.user_id(), "changed their name");
    get(state, me).await
}

/// Changes the caller's password after checking the current one. Every other session ends;
/// `current_session` (the one the request came with, if any) stays. With `reset_api_token`, the
/// personal API token is replaced too. The current password is checked as at sign-in
/// ([`password::confirm`]): wrong ones count as failed logins of the account, so they cannot be
/// guessed here either.
pub async fn change_password(
    state: &AppState,
    me: &SignedIn,
    current_password: &str,
    new_password: &str,
    reset_api_token: bool,
) -> Result<(), AppError> {
    let on_new_field = |e: AppError| AppError::invalid("new_password", e.to_string());
    let new_password = Password::parse(new_password).map_err(on_new_field)?;
    common_passwords::check(&new_password, &EmailAddress::parse(me.email())?)
        .map_err(on_new_field)?;
    if new_password.expose() == current_password {
        return Err(AppError::invalid("new_password", SAME_PASSWORD));
    }
    let client = me.origin().client;
    let claimant = password::Claimant::Account {
        user_id: me.user_id(),
        email: me.email(),
    };
    let Some(confirmed) = password::confirm(state, claimant, current_password, me.origin()).await?
    else {
        tracing::info!(client = %client, user_id = me.user_id(), "refused a password change: wrong current password");
        return Err(AppError::invalid(
            "current_password",
            WRONG_CURRENT_PASSWORD,
        ));
    };
    let stored = confirmed.hash;
    let hash = password::hash(&state.hashing, new_password).await?;
    let mut change = Change::to_account(state, me.user_id()).await?;
    if !db::users::replace_password_hash(&mut **change.tx(), me.user_id(), &stored, &hash)
        .await
        .or_internal("changing a password")?
    {
        // Changed meanwhile by another request: the password just checked is no longer current.
        return Err(AppError::invalid(
            "current_password",
            WRONG_CURRENT_PASSWORD,
        ));
    }
    // A reset link sent before the change dies with the old password.
    db::account_tokens::delete_unused(
        &mut **change.tx(),
        me.user_id(),
        db::account_tokens::Purpose::PasswordReset,
    )
    .await
    .or_internal("ending password resets")?;
    let ended = sessions::end_all_but_current(change.tx(), me).await?;
    if reset_api_token {
        let now = change.now();
        api_tokens::replace(change.tx(), &state.keys, me.user_id(), now).await?;
    }
    let event = Event::by(me, Action::PasswordChanged, Target::own(me))
        .details(json!({"ended_sessions": ended, "api_token_reset": reset_api_token}));
    change.record(event);
    change.commit().await?;
    tracing::info!(client = %client, user_id = me.user_id(), ended_sessions = ended, reset_api_token, "changed the password");
    Ok(())
}

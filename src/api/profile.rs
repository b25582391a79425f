//! The caller's own account: name, password and sessions.

use leptos::prelude::*;

use crate::domain::{AppError, Profile, SessionView};

/// The caller's name and email.
#[server(prefix = "/_sfn", endpoint = "account/profile")]
pub async fn get_profile() -> Result<Profile, AppError> {
    use super::ssr::*;
    use crate::server::{auth::SignedIn, profile};
    authorized(|state, me: SignedIn| async move { profile::get(&state, &me).await }).await
}

/// Sets the caller's first and last name (either may be empty).
#[server(prefix = "/_sfn", endpoint = "account/rename")]
pub async fn rename_me(first_name: String, last_name: String) -> Result<Profile, AppError> {
    use super::ssr::*;
    use crate::{
        domain::FullName,
        server::{auth::SignedIn, profile},
    };
    authorized(|state, me: SignedIn| async move {
        let name = FullName::parse(Some(&first_name), Some(&last_name))?;
        profile::rename(&state, &me, &name).await
    })
    .await
}

/// Changes the caller's password; every other session ends, this one stays. With
/// `reset_api_token` (a checkbox: present when ticked), the personal API token is replaced too.
#[server(prefix = "/_sfn", endpoint = "account/change_password")]
pub async fn change_password(
    current_password: String,
    new_password: String,
    #[server(default)] reset_api_token: Option<String>,
) -> Result<(), AppError> {
    use super::ssr::*;
    use crate::server::{auth::SignedIn, profile};
    authorized(|state, me: SignedIn| async move {
        let reset_api_token = reset_api_token.is_some();
        profile::change_password(
            &state,
            &me,
            &current_password,
            &new_password,
            reset_api_token,
        )
        .await
    })
    .await
}

/// The caller's active sessions, this one marked.
#[server(prefix = "/_sfn", endpoint = "account/sessions")]
pub async fn list_sessions() -> Result<Vec<SessionView>, AppError> {
    use super::ssr::*;
    use crate::server::auth::{sessions, SignedIn};
    authorized(|state, me: SignedIn| async move { sessions::list(&state, &me).await }).await
}

/// Ends one of the caller's sessions, by the id the list shows.
#[server(prefix = "/_sfn", endpoint = "account/end_session")]
pub async fn end_session(id: String) -> Result<(), AppError> {
    use super::ssr::*;
    use crate::server::auth::{sessions, SignedIn};
    authorized(|state, me: SignedIn| async move { sessions::end_one(&state, &me, &id).await }).await
}

/// Ends every session of the caller but this one; returns how many ended.
#[server(prefix = "/_sfn", endpoint = "account/end_other_sessions")]
pub async fn end_other_sessions() -> Result<u64, AppError> {
    use super::ssr::*;
    use crate::server::auth::{sessions, SignedIn};
    authorized(|state, me: SignedIn| async move { sessions::end_others(&state, &me).await }).await
}

//! A forgotten password: asking for a link, setting a new password with it, and an
//! administrator sending a member the link.

use leptos::prelude::*;

use crate::domain::AppError;

/// Asks for a reset link for `email`; the answer is the same whether or not it has an account.
#[server(prefix = "/_sfn", endpoint = "password_reset/request")]
pub async fn request_password_reset(email: String) -> Result<(), AppError> {
    use super::ssr::*;
    use crate::server::auth::{reset_link, Anyone};
    authorized(
        |state, caller: Anyone| async move { reset_link::request(&state, &caller, &email).await },
    )
    .await
}

/// Sets a new password with the token of a reset link; every other session ends and this one is
/// signed in (after its second factor, for an account that has one). The answer is where to go.
#[server(prefix = "/_sfn", endpoint = "password_reset/confirm")]
pub async fn confirm_password_reset(token: String, password: String) -> Result<String, AppError> {
    use super::ssr::*;
    use crate::server::auth::{reset_link, Anyone};
    authorized(|state, caller: Anyone| async move {
        let next = reset_link::confirm(&state, &caller, &token, &password).await?;
        set_cookie(next.set_cookie());
        land_on(next.landing());
        Ok(next.landing().to_owned())
    })
    .await
}

/// An Owner or Administrator sends a member of their organization a reset link.
#[server(prefix = "/_sfn", endpoint = "members/send_password_reset")]
pub async fn send_password_reset(user_id: i64) -> Result<(), AppError> {
    use super::ssr::*;
    use crate::server::auth::{reset_link, Admin};
    authorized(
        |state, me: Admin| async move { reset_link::send_to_member(&state, &me, user_id).await },
    )
    .await
}

//! Signing up, in and out, and who the caller is.

use leptos::prelude::*;

use crate::domain::{AppError, Visit};

/// Creates an account (and, without an invite link, an organization) and signs in. The first
/// and last name are optional.
#[server(prefix = "/_sfn", endpoint = "auth/sign_up")]
pub async fn sign_up(
    email: String,
    password: String,
    token: Option<String>,
    first_name: Option<String>,
    last_name: Option<String>,
) -> Result<(), AppError> {
    use super::ssr::*;
    use crate::server::auth::{
        sessions::{self, NewSession},
        signup::{self, SignedUp},
        Anyone,
    };
    authorized(|state, caller: Anyone| async move {
        let name = crate::domain::FullName::parse(first_name.as_deref(), last_name.as_deref())?;
        let headers = headers();
        let old_session = sessions::cookie(&headers, caller.origin().https);
        let signed_up = signup::sign_up(
            &state,
            &caller,
            &email,
            &password,
            token.as_deref(),
            &name,
            old_session,
        )
        .await?;
        match signed_up {
            SignedUp::New(next) => set_cookie(next.set_cookie()),
            // Answered as a new account is: a session cookie, for a session that does not exist
            // (the next page asks to sign in; the address's owner was mailed why).
            SignedUp::AlreadyRegistered => {
                set_cookie(NewSession::decoy(&state, caller.origin()).set_cookie())
            }
        }
        land_on("/");
        Ok(())
    })
    .await
}

/// Signs in; with an invite token, an account in no organization joins the inviting one. The
/// answer is where to go: the app, or the second step for an account with a second factor.
#[server(prefix = "/_sfn", endpoint = "auth/log_in")]
pub async fn log_in(
    email: String,
    password: String,
    token: Option<String>,
) -> Result<String, AppError> {
    use super::ssr::*;
    use crate::server::auth::{password, sessions, Anyone};
    authorized(|state, caller: Anyone| async move {
        let headers = headers();
        let old_session = sessions::cookie(&headers, caller.origin().https);
        let next = password::sign_in(
            &state,
            &caller,
            &email,
            &password,
            old_session,
            token.as_deref(),
        )
        .await?;
        set_cookie(next.set_cookie());
        land_on(next.landing());
        Ok(next.landing().to_owned())
    })
    .await
}

#[server(prefix = "/_sfn", endpoint = "auth/log_out")]
pub async fn log_out() -> Result<(), AppError> {
    use super::ssr::*;
    use crate::server::auth::{sessions, Visitor};
    authorized(|state, me: Visitor| async move {
        let https = me.origin().https;
        let headers = headers();
        sessions::sign_out(&state, &me, sessions::cookie(&headers, https)).await?;
        set_cookie(&sessions::clear_cookie(https));
        land_on("/user/login");
        Ok(())
    })
    .await
}

/// The signed-in user (or `None`) and the signup settings. Pending and deactivated users are
/// returned too, so the app can tell them where they stand.
#[server(prefix = "/_sfn", endpoint = "auth/current_user")]
pub async fn get_current_user() -> Result<Visit, AppError> {
    use super::ssr::*;
    use crate::server::{accounts, auth::Visitor};
    authorized(|state, me: Visitor| async move {
        Ok(Visit {
            user: accounts::current_user(&state, &me).await?,
            signup_without_link_disabled: state.config.disable_signup_without_link,
            passkeys_available: crate::server::auth::passkeys::available(&state, me.origin()),
        })
    })
    .await
}

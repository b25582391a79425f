//! Proving an email address: the page of the link from the mail, confirming or disowning it,
//! and asking for it again.

use leptos::prelude::*;

use crate::domain::{AppError, EmailVerified, VerificationDisowned, VerificationLink};

/// Whose account a verification link is for; changes nothing.
#[server(prefix = "/_sfn", endpoint = "verification/inspect")]
pub async fn inspect_verification(token: String) -> Result<VerificationLink, AppError> {
    use super::ssr::*;
    use crate::server::auth::{verification, Anyone};
    authorized(|state, _: Anyone| async move { verification::inspect(&state, &token).await }).await
}

/// "Confirm my address": uses the token of a verification link; nobody needs to be signed in.
#[server(prefix = "/_sfn", endpoint = "verification/confirm")]
pub async fn verify_email(token: String) -> Result<EmailVerified, AppError> {
    use super::ssr::*;
    use crate::server::auth::{verification, Anyone};
    authorized(|state, caller: Anyone| async move {
        verification::confirm(&state, &caller, &token).await
    })
    .await
}

/// Sends the signed-in user a new verification link (a limited number of times).
#[server(prefix = "/_sfn", endpoint = "verification/resend")]
pub async fn resend_verification() -> Result<(), AppError> {
    use super::ssr::*;
    use crate::server::auth::{verification, SignedIn};
    authorized(|state, me: SignedIn| async move { verification::resend(&state, &me).await }).await
}

/// "This wasn't me": disowns the account a verification link is for (see
/// `server::auth::verification::disown`); nobody needs to be signed in.
#[server(prefix = "/_sfn", endpoint = "verification/disown")]
pub async fn disown_verification(token: String) -> Result<VerificationDisowned, AppError> {
    use super::ssr::*;
    use crate::server::auth::{verification, Anyone};
    authorized(|state, caller: Anyone| async move {
        let done = verification::disown(&state, &caller, &token).await?;
        // Without JavaScript, to the page that says which of the two happened.
        land_on(if done.deleted {
            "/user/verify-email?disowned=deleted"
        } else {
            "/user/verify-email?disowned=reported"
        });
        Ok(done)
    })
    .await
}

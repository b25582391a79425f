//! Proving an email address: opening the link from the mail, and asking for it again.

use leptos::prelude::*;

use crate::domain::{AppError, EmailVerified};

/// Uses the token of a verification link; nobody needs to be signed in to open it.
#[server(prefix = "/_sfn", endpoint = "verification/confirm")]
pub async fn verify_email(token: String) -> Result<EmailVerified, AppError> {
    use super::ssr::*;
    use crate::server::{auth::Anyone, verification};
    authorized(|state, caller: Anyone| async move {
        verification::confirm(&state, &caller, &token).await
    })
    .await
}

/// Sends the signed-in user a new verification link (a limited number of times).
#[server(prefix = "/_sfn", endpoint = "verification/resend")]
pub async fn resend_verification() -> Result<(), AppError> {
    use super::ssr::*;
    use crate::server::{auth::SignedIn, verification};
    authorized(|state, me: SignedIn| async move { verification::resend(&state, &me).await }).await
}

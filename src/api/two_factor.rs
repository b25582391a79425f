//! Second factors on the Account page, the second step of signing in, passkeys (which the
//! page's WebAuthn script calls), and the organization's two-factor policy.

use leptos::prelude::*;

use crate::domain::{
    AppError, PasskeyAdded, PasskeyChallenge, RecoveryCodes, TotpSetup, TwoFactorPolicy,
    TwoFactorStatus,
};

/// The caller's second factors.
#[server(prefix = "/_sfn", endpoint = "two_factor/status")]
pub async fn get_two_factor_status() -> Result<TwoFactorStatus, AppError> {
    use super::ssr::*;
    use crate::server::auth::{two_factor, SignedIn};
    authorized(|state, me: SignedIn| async move { two_factor::status(&state, &me).await }).await
}

/// Starts setting up an authenticator app: its secret as a QR code and as text.
#[server(prefix = "/_sfn", endpoint = "two_factor/start_app")]
pub async fn start_authenticator_app() -> Result<TotpSetup, AppError> {
    use super::ssr::*;
    use crate::server::auth::{two_factor, SignedIn};
    authorized(
        |state, me: SignedIn| async move { two_factor::start_authenticator(&state, &me).await },
    )
    .await
}

/// Confirms the authenticator app with a code from it; the recovery codes come with the first
/// second factor.
#[server(prefix = "/_sfn", endpoint = "two_factor/confirm_app")]
pub async fn confirm_authenticator_app(code: String) -> Result<RecoveryCodes, AppError> {
    use super::ssr::*;
    use crate::server::auth::{two_factor, SignedIn};
    authorized(|state, me: SignedIn| async move {
        two_factor::confirm_authenticator(&state, &me, &code).await
    })
    .await
}

/// Removes the authenticator app (with the password; with a code too when it is the last
/// second factor).
#[server(prefix = "/_sfn", endpoint = "two_factor/remove_app")]
pub async fn remove_authenticator_app(
    password: String,
    code: Option<String>,
) -> Result<(), AppError> {
    use super::ssr::*;
    use crate::server::auth::{two_factor, SignedIn};
    authorized(|state, me: SignedIn| async move {
        let factor = two_factor::Factor::AuthenticatorApp;
        two_factor::remove(&state, &me, factor, Some(&password), code.as_deref()).await
    })
    .await
}

/// Removes a passkey (the last second factor with the password and a code).
#[server(prefix = "/_sfn", endpoint = "two_factor/remove_passkey")]
pub async fn remove_passkey(
    id: i64,
    password: Option<String>,
    code: Option<String>,
) -> Result<(), AppError> {
    use super::ssr::*;
    use crate::server::auth::{two_factor, SignedIn};
    authorized(|state, me: SignedIn| async move {
        let factor = two_factor::Factor::Passkey(id);
        two_factor::remove(&state, &me, factor, password.as_deref(), code.as_deref()).await
    })
    .await
}

/// New recovery codes in place of the old ones; needs the password.
#[server(prefix = "/_sfn", endpoint = "two_factor/recovery_codes")]
pub async fn new_recovery_codes(password: String) -> Result<RecoveryCodes, AppError> {
    use super::ssr::*;
    use crate::server::auth::{two_factor, SignedIn};
    authorized(|state, me: SignedIn| async move {
        two_factor::new_recovery_codes(&state, &me, &password).await
    })
    .await
}

/// The second step of signing in: a code from the authenticator app, or a recovery code. The
/// answer is where to go.
#[server(prefix = "/_sfn", endpoint = "two_factor/verify")]
pub async fn verify_second_factor(code: String) -> Result<String, AppError> {
    use super::ssr::*;
    use crate::server::auth::{two_factor::pending, Anyone};
    authorized(|state, caller: Anyone| async move {
        let headers = headers();
        let https = caller.origin().https;
        let session =
            pending::finish_with_code(&state, &caller, pending::cookie(&headers, https), &code)
                .await?;
        set_cookie(session.set_cookie());
        set_cookie(&pending::clear_cookie(https));
        land_on("/");
        Ok("/".to_owned())
    })
    .await
}

/// A challenge for one of the account's security keys, in the second step of signing in.
#[server(prefix = "/_sfn", endpoint = "two_factor/passkey_challenge")]
pub async fn second_factor_challenge() -> Result<PasskeyChallenge, AppError> {
    use super::ssr::*;
    use crate::server::auth::{passkeys, two_factor::pending, Anyone};
    authorized(|state, caller: Anyone| async move {
        let headers = headers();
        let secret = pending::cookie(&headers, caller.origin().https);
        passkeys::start_second_factor(&state, &caller, secret).await
    })
    .await
}

/// The security key's answer in the second step of signing in. The answer is where to go.
#[server(prefix = "/_sfn", endpoint = "two_factor/passkey")]
pub async fn second_factor_passkey(
    ceremony: String,
    credential: String,
) -> Result<String, AppError> {
    use super::ssr::*;
    use crate::server::auth::{passkeys, two_factor::pending, Anyone};
    authorized(|state, caller: Anyone| async move {
        let headers = headers();
        let https = caller.origin().https;
        let credential = parse_credential(&credential)?;
        let session = passkeys::finish_second_factor(
            &state,
            &caller,
            pending::cookie(&headers, https),
            &ceremony,
            &credential,
        )
        .await?;
        set_cookie(session.set_cookie());
        set_cookie(&pending::clear_cookie(https));
        Ok("/".to_owned())
    })
    .await
}

/// A challenge to add a passkey to the caller's account.
#[server(prefix = "/_sfn", endpoint = "passkeys/registration_challenge")]
pub async fn passkey_registration_challenge() -> Result<PasskeyChallenge, AppError> {
    use super::ssr::*;
    use crate::server::auth::{passkeys, SignedIn};
    authorized(|state, me: SignedIn| async move { passkeys::start_registration(&state, &me).await })
        .await
}

/// Adds a passkey with the browser's answer to the challenge.
#[server(prefix = "/_sfn", endpoint = "passkeys/register")]
pub async fn register_passkey(
    ceremony: String,
    name: String,
    credential: String,
) -> Result<PasskeyAdded, AppError> {
    use super::ssr::*;
    use crate::server::auth::{passkeys, SignedIn};
    authorized(|state, me: SignedIn| async move {
        let credential = parse_credential(&credential)?;
        passkeys::finish_registration(&state, &me, &ceremony, &name, &credential).await
    })
    .await
}

/// A challenge for "Sign in with a passkey".
#[server(prefix = "/_sfn", endpoint = "passkeys/sign_in_challenge")]
pub async fn passkey_sign_in_challenge() -> Result<PasskeyChallenge, AppError> {
    use super::ssr::*;
    use crate::server::auth::{passkeys, Anyone};
    authorized(
        |state, caller: Anyone| async move { passkeys::start_sign_in(&state, &caller).await },
    )
    .await
}

/// Signs in with a passkey's answer to the challenge. The answer is where to go.
#[server(prefix = "/_sfn", endpoint = "passkeys/sign_in")]
pub async fn passkey_sign_in(ceremony: String, credential: String) -> Result<String, AppError> {
    use super::ssr::*;
    use crate::server::auth::{passkeys, sessions, Anyone};
    authorized(|state, caller: Anyone| async move {
        let headers = headers();
        let old_session = sessions::cookie(&headers, caller.origin().https);
        let credential = parse_credential(&credential)?;
        let next =
            passkeys::finish_sign_in(&state, &caller, &ceremony, &credential, old_session).await?;
        set_cookie(next.set_cookie());
        Ok(next.landing().to_owned())
    })
    .await
}

/// Resets a member's second factors (Owner and Administrators): they are mailed, and signed out.
#[server(prefix = "/_sfn", endpoint = "members/reset_two_factor")]
pub async fn reset_member_two_factor(user_id: i64) -> Result<(), AppError> {
    use super::ssr::*;
    use crate::server::auth::{two_factor, Admin};
    authorized(
        |state, me: Admin| async move { two_factor::reset_member(&state, &me, user_id).await },
    )
    .await
}

/// The organization's two-factor policy (Owner and Administrators).
#[server(prefix = "/_sfn", endpoint = "organization/two_factor_policy")]
pub async fn get_two_factor_policy() -> Result<TwoFactorPolicy, AppError> {
    use super::ssr::*;
    use crate::server::auth::{two_factor, Admin};
    authorized(
        |state, me: Admin| async move { two_factor::policy(&state, me.organization_id()).await },
    )
    .await
}

/// Saves the organization's two-factor policy. The switches are checkboxes: sent (with any value)
/// when on, left out when off.
#[server(prefix = "/_sfn", endpoint = "organization/save_two_factor_policy")]
pub async fn save_two_factor_policy(
    required: Option<String>,
    grace_period_days: i64,
    sso_exempt: Option<String>,
) -> Result<TwoFactorPolicy, AppError> {
    use super::ssr::*;
    use crate::{
        domain::TwoFactorPolicyChange,
        server::auth::{two_factor, Admin},
    };
    authorized(|state, me: Admin| async move {
        let change = TwoFactorPolicyChange {
            required: Some(required.is_some()),
            grace_period_days: Some(grace_period_days),
            sso_exempt: Some(sso_exempt.is_some()),
        };
        two_factor::change_policy(&state, &me, &change).await
    })
    .await
}

/// The browser's answer to a WebAuthn challenge, as the page's script sends it (JSON).
#[cfg(feature = "ssr")]
fn parse_credential(text: &str) -> Result<serde_json::Value, AppError> {
    serde_json::from_str(text).map_err(|_| {
        AppError::invalid(
            "credential",
            "The browser's answer could not be read. Try again.",
        )
    })
}

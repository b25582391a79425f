//! Personal access tokens (the Account page) and the organization's API token settings (the
//! Organization page).

use leptos::prelude::*;

use crate::domain::{AppError, NewPersonalToken, PersonalToken, TokenSettings};

/// The caller's live personal access tokens, without their secrets.
#[server(prefix = "/_sfn", endpoint = "tokens/list")]
pub async fn list_personal_tokens() -> Result<Vec<PersonalToken>, AppError> {
    use super::ssr::*;
    use crate::server::auth::{personal_tokens, Active};
    authorized(|state, me: Active| async move { personal_tokens::list(&state, &me).await }).await
}

/// Makes the caller a personal access token, shown this once.
#[server(prefix = "/_sfn", endpoint = "tokens/create")]
pub async fn create_personal_token() -> Result<NewPersonalToken, AppError> {
    use super::ssr::*;
    use crate::server::auth::{personal_tokens, Active};
    authorized(|state, me: Active| async move { personal_tokens::create(&state, &me).await }).await
}

/// Revokes one of the caller's personal access tokens.
#[server(prefix = "/_sfn", endpoint = "tokens/revoke")]
pub async fn revoke_personal_token(id: String) -> Result<(), AppError> {
    use super::ssr::*;
    use crate::server::auth::{personal_tokens, Active};
    authorized(|state, me: Active| async move { personal_tokens::revoke(&state, &me, &id).await })
        .await
}

/// The organization's API token settings (Owner and Administrators).
#[server(prefix = "/_sfn", endpoint = "tokens/settings")]
pub async fn get_token_settings() -> Result<TokenSettings, AppError> {
    use super::ssr::*;
    use crate::server::{api_settings, auth::Admin};
    authorized(|state, me: Admin| async move { api_settings::token_settings(&state, &me).await })
        .await
}

/// Saves the organization's API token settings (Owner and Administrators). The switches are
/// checkboxes: sent (with any value) when on, left out when off.
#[server(prefix = "/_sfn", endpoint = "tokens/save_settings")]
pub async fn save_token_settings(
    legacy_api_tokens_enabled: Option<String>,
    api_tokens_enabled: Option<String>,
    api_token_ttl_days: i64,
) -> Result<TokenSettings, AppError> {
    use super::ssr::*;
    use crate::server::{
        api_settings::{self, TokenSettingsChange},
        auth::Admin,
    };
    authorized(|state, me: Admin| async move {
        let change = TokenSettingsChange {
            legacy_api_tokens_enabled: Some(legacy_api_tokens_enabled.is_some()),
            api_tokens_enabled: Some(api_tokens_enabled.is_some()),
            api_token_ttl_days: Some(api_token_ttl_days),
        };
        api_settings::change_token_settings(&state, &me, change).await
    })
    .await
}

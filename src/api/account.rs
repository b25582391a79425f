//! The caller's personal API token.

use leptos::prelude::*;

use crate::domain::AppError;

/// The caller's personal API token.
#[server(prefix = "/_sfn", endpoint = "account/api_token")]
pub async fn get_api_token() -> Result<String, AppError> {
    use super::ssr::*;
    use crate::server::auth::{api_tokens, Active};
    authorized(|state, me: Active| async move { api_tokens::current(&state, &me).await }).await
}

/// Whether the caller's organization accepts the personal API token (`Authorization: Token`).
#[server(prefix = "/_sfn", endpoint = "account/api_token_accepted")]
pub async fn api_token_accepted() -> Result<bool, AppError> {
    use super::ssr::*;
    use crate::server::{api_settings, auth::Active};
    authorized(|state, me: Active| async move {
        api_settings::legacy_tokens_accepted(&state, &me).await
    })
    .await
}

/// Replaces the caller's API token; the old one stops working at once.
#[server(prefix = "/_sfn", endpoint = "account/reset_api_token")]
pub async fn reset_api_token() -> Result<String, AppError> {
    use super::ssr::*;
    use crate::server::auth::{api_tokens, Active};
    authorized(|state, me: Active| async move { api_tokens::reset(&state, &me).await }).await
}

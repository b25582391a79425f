use leptos::prelude::*;

use crate::domain::AppError;

/// The caller's personal API token.
#[server(prefix = "/_sfn", endpoint = "account/api_token")]
pub async fn get_api_token() -> Result<String, AppError> {
    use super::ssr::*;
    use crate::server::{accounts, auth};
    reply(async {
        let state = state()?;
        let me = auth::require_active(principal(&state).await?)?;
        accounts::api_token(&state, me.user_id).await
    }
    .await)
}

/// Replaces the caller's API token; the old one stops working at once.
#[server(prefix = "/_sfn", endpoint = "account/reset_api_token")]
pub async fn reset_api_token() -> Result<String, AppError> {
    use super::ssr::*;
    use crate::server::{accounts, auth};
    reply(async {
        let state = state()?;
        let me = auth::require_active(principal(&state).await?)?;
        accounts::reset_api_token(&state, me.user_id).await
    }
    .await)
}

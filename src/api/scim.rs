//! SCIM provisioning as the single sign-on page shows it: the token and SCIM's own mappings.

use leptos::prelude::*;

use crate::domain::{AppError, ScimOverview};

/// The SCIM address, whether a token is live, and SCIM's mappings (Owner and Administrators).
#[server(prefix = "/_sfn", endpoint = "scim/overview")]
pub async fn get_scim_overview() -> Result<ScimOverview, AppError> {
    use super::ssr::*;
    use crate::server::{auth::Admin, scim::token};
    authorized(|state, me: Admin| async move { token::overview(&state, &me).await }).await
}

/// Makes a new SCIM token (Owner only), replacing the live one; the answer is the only time it
/// is shown.
#[server(prefix = "/_sfn", endpoint = "scim/create_token")]
pub async fn create_scim_token() -> Result<String, AppError> {
    use super::ssr::*;
    use crate::server::{auth::Owner, scim::token};
    authorized(|state, me: Owner| async move { token::create_token(&state, &me).await }).await
}

/// Revokes the SCIM token (Owner only).
#[server(prefix = "/_sfn", endpoint = "scim/revoke_token")]
pub async fn revoke_scim_token() -> Result<(), AppError> {
    use super::ssr::*;
    use crate::server::{auth::Owner, scim::token};
    authorized(|state, me: Owner| async move { token::revoke_token(&state, &me).await }).await
}

/// Saves SCIM's group → role mappings (Owner only): the table's rows (`mapping_role[i]`,
/// `mapping_group[i]`), blank ones left out.
#[server(prefix = "/_sfn", endpoint = "scim/save_settings")]
pub async fn save_scim_settings(
    mapping_role: Option<Vec<String>>,
    mapping_group: Option<Vec<String>>,
) -> Result<ScimOverview, AppError> {
    use super::ssr::*;
    use crate::server::{auth::Owner, scim::token};
    authorized(|state, me: Owner| async move {
        let mappings = super::sso::table_rows(mapping_role, mapping_group)?;
        token::save_settings(&state, &me, mappings).await?;
        token::overview(&state, &me.admin()).await
    })
    .await
}

//! The Organization page's card: reading and renaming the organization.

use leptos::prelude::*;

use crate::domain::{AppError, OrganizationView};

#[server(prefix = "/_sfn", endpoint = "organization/get")]
pub async fn get_organization() -> Result<OrganizationView, AppError> {
    use super::ssr::*;
    use crate::server::{auth::Admin, organization};
    authorized(|state, me: Admin| async move { organization::view(&state, &me.active()).await })
        .await
}

#[server(prefix = "/_sfn", endpoint = "organization/rename")]
pub async fn rename_organization(title: String) -> Result<OrganizationView, AppError> {
    use super::ssr::*;
    use crate::server::{auth::Admin, organization};
    authorized(|state, me: Admin| async move { organization::rename(&state, &me, &title).await })
        .await
}

use leptos::prelude::*;

use crate::domain::{AppError, OrganizationView};

#[server(prefix = "/_sfn", endpoint = "organization/get")]
pub async fn get_organization() -> Result<OrganizationView, AppError> {
    use super::ssr::*;
    use crate::server::{auth, organization};
    reply(async {
        let state = state()?;
        let me = auth::require_admin(principal(&state).await?)?;
        organization::view(&state, &me, me.organization_id).await
    }
    .await)
}

#[server(prefix = "/_sfn", endpoint = "organization/rename")]
pub async fn rename_organization(title: String) -> Result<OrganizationView, AppError> {
    use super::ssr::*;
    use crate::server::{auth, organization};
    reply(async {
        let state = state()?;
        let me = auth::require_admin(principal(&state).await?)?;
        organization::rename(&state, &me, me.organization_id, &title).await
    }
    .await)
}

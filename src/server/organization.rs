//! The caller's organization: reading and renaming it.

use super::{
    auth::{organization_not_found, Active, Admin},
    db,
    error::OrInternal,
    now, AppState,
};
use crate::domain::{AppError, OrgTitle, OrganizationView};

/// The caller's organization, with its Owner and seats.
pub async fn view(state: &AppState, me: &Active) -> Result<OrganizationView, AppError> {
    db::organizations::find_view(state.db.pool(), me.organization_id(), now())
        .await
        .or_internal("reading an organization")?
        .ok_or_else(organization_not_found)
}

/// Renames the caller's organization.
pub async fn rename(
    state: &AppState,
    me: &Admin,
    title: &str,
) -> Result<OrganizationView, AppError> {
    let title = OrgTitle::parse(title)?;
    let id = me.organization_id();
    if !db::organizations::rename(state.db.pool(), id, &title, now())
        .await
        .or_internal("renaming an organization")?
    {
        return Err(organization_not_found());
    }
    tracing::info!(
        organization_id = id,
        user_id = me.user_id(),
        "renamed the organization"
    );
    view(state, &me.active()).await
}

//! The caller's organization: reading and renaming it.

use super::{auth::Principal, db, error::OrInternal, now, AppState};
use crate::domain::{AppError, OrgTitle, OrganizationView};

fn not_found() -> AppError {
    AppError::NotFound("Organization not found.".into())
}

/// The organization `id` as seen by `caller`: another organization is reported as not found.
pub async fn view(state: &AppState, caller: &Principal, id: i64) -> Result<OrganizationView, AppError> {
    if id != caller.organization_id {
        return Err(not_found());
    }
    db::organizations::find_view(state.db.pool(), id, now())
        .await
        .or_internal("reading an organization")?
        .ok_or_else(not_found)
}

/// Renames the organization `id`; only its Owner or an Administrator may.
pub async fn rename(state: &AppState, caller: &Principal, id: i64, title: &str) -> Result<OrganizationView, AppError> {
    if id != caller.organization_id {
        return Err(not_found());
    }
    if !caller.role.manages_organization() {
        return Err(AppError::Forbidden(
            "Only the Owner or an Administrator can rename the organization.".into(),
        ));
    }
    let title = OrgTitle::parse(title)?;
    if !db::organizations::rename(state.db.pool(), id, &title, now()).await.or_internal("renaming an organization")? {
        return Err(not_found());
    }
    tracing::info!(organization_id = id, user_id = caller.user_id, "renamed the organization");
    view(state, caller, id).await
}

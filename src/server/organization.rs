//! The caller's organization: reading and renaming it.

use super::{
    audit::{Event, Target},
    auth::{organization_not_found, Active, Admin},
    change::Change,
    db,
    error::OrInternal,
    AppState,
};
use crate::domain::{Action, AppError, OrgTitle, OrganizationView};
use serde_json::json;

/// The caller's organization, with its Owner and seats.
pub async fn view(state: &AppState, me: &Active) -> Result<OrganizationView, AppError> {
    db::organizations::find_view(state.db.pool(), me.organization_id(), state.now())
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
    let mut change = Change::by(state, me).await?;
    let now = change.now();
    if !db::organizations::rename(&mut **change.tx(), id, &title, now)
        .await
        .or_internal("renaming an organization")?
    {
        return Err(organization_not_found());
    }
    let target = Target::Organization {
        id,
        title: title.as_str().to_owned(),
    };
    let from = change.organization().map(|lock| lock.title.clone());
    let event = Event::by(me, Action::OrganizationRenamed, target)
        .details(json!({"from": from, "to": title.as_str()}));
    change.record(event);
    change.commit().await?;
    tracing::info!(
        organization_id = id,
        user_id = me.user_id(),
        "renamed the organization"
    );
    view(state, &me.active()).await
}

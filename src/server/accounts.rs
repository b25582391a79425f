//! The signed-in account as the app shell shows it.

use super::{auth::Visitor, db, error::OrInternal, AppState};
use crate::domain::{AppError, CurrentUser, Need};

/// The signed-in user as the app shell needs them, or `None`.
pub async fn current_user(
    state: &AppState,
    visitor: &Visitor,
) -> Result<Option<CurrentUser>, AppError> {
    let Some(me) = visitor.account() else {
        return Ok(None);
    };
    let (title, pending_members) = match me.organization_id() {
        Some(organization) => {
            let title = db::organizations::title(state.db.pool(), organization)
                .await
                .or_internal("reading the organization")?
                .unwrap_or_default();
            let admin = me.role().is_some_and(|r| r.allows(Need::Admin).is_ok());
            let pending = if admin {
                db::organizations::pending_members(state.db.pool(), organization)
                    .await
                    .or_internal("counting pending members")?
            } else {
                0
            };
            (title, pending)
        }
        None => (String::new(), 0),
    };
    Ok(Some(CurrentUser {
        id: me.user_id(),
        email: me.email().to_owned(),
        role: me.role(),
        organization_id: me.organization_id(),
        organization_title: title,
        pending_members,
        email_verified: me.email_verified(),
        two_factor_required: me.two_factor_due(),
    }))
}

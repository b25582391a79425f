//! The members table of the Organization page and `GET /api/organizations/{id}/memberships`.

use super::{auth::Admin, db, error::OrInternal, AppState};
use crate::domain::{format_timestamp, AppError, MemberPage, MemberRow, Page, Role, Search};

/// A page of the caller's organization's members: those with `role` (any, without) whose email
/// or name contains `search`, in the order they joined.
pub async fn list(
    state: &AppState,
    me: &Admin,
    page: Page,
    role: Option<Role>,
    search: &Search,
) -> Result<MemberPage, AppError> {
    let filter = db::members::Filter {
        organization_id: me.organization_id(),
        role,
        search,
    };
    let found = db::members::page(state.db.pool(), &filter, page)
        .await
        .or_internal("listing members")?;
    Ok(found.map(row))
}

/// One member's row, if `user_id` belongs to the caller's organization.
pub async fn one(
    state: &AppState,
    me: &Admin,
    user_id: i64,
) -> Result<Option<MemberRow>, AppError> {
    let m = db::members::one(state.db.pool(), me.organization_id(), user_id)
        .await
        .or_internal("reading a member")?;
    Ok(m.map(row))
}

fn row(m: db::members::MemberRecord) -> MemberRow {
    MemberRow {
        user_id: m.user_id,
        name: format!("{} {}", m.first_name, m.last_name)
            .trim()
            .to_owned(),
        first_name: m.first_name,
        last_name: m.last_name,
        email_display: crate::domain::readable_email(&m.email),
        email: m.email,
        role: m.role,
        joined_at: format_timestamp(m.joined_at),
        last_activity_at: m.last_activity_at.map(format_timestamp),
        email_verified: m.email_verified_at.is_some(),
        scim_managed: m.scim_managed == 1,
        scim_external_id: m.scim_external_id,
        two_factor: m.two_factor == 1,
    }
}

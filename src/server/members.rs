//! The members table of the Organization page and `GET /api/organizations/{id}/memberships`.

use super::{auth::Admin, db, error::OrInternal, AppState};
use crate::domain::{format_timestamp, AppError, MemberPage, MemberRow, Role};

pub const MAX_PAGE_SIZE: i64 = 100;

pub struct Query {
    pub page: i64,
    pub page_size: i64,
    pub role: Option<Role>,
    pub search: String,
}

/// A page of the caller's organization's members.
pub async fn list(state: &AppState, me: &Admin, q: Query) -> Result<MemberPage, AppError> {
    if q.page < 1 {
        return Err(AppError::invalid("page", "page starts at 1."));
    }
    if !(1..=MAX_PAGE_SIZE).contains(&q.page_size) {
        return Err(AppError::invalid(
            "page_size",
            format!("page_size must be between 1 and {MAX_PAGE_SIZE}."),
        ));
    }
    let search = q.search.trim().to_lowercase();
    if search.chars().count() > 254 {
        return Err(AppError::invalid(
            "search",
            "Search for at most 254 characters.",
        ));
    }
    let pattern = (!search.is_empty()).then(|| {
        let escaped = search
            .replace('\\', "\\\\")
            .replace('%', "\\%")
            .replace('_', "\\_");
        format!("%{escaped}%")
    });
    let filter = db::members::Filter {
        organization_id: me.organization_id(),
        role: q.role,
        pattern: pattern.as_deref(),
    };
    let count = db::members::count(state.db.pool(), &filter)
        .await
        .or_internal("counting members")?;
    let offset = (q.page - 1).saturating_mul(q.page_size);
    let rows = db::members::page(state.db.pool(), &filter, q.page_size, offset)
        .await
        .or_internal("listing members")?;
    let results = rows.into_iter().map(row).collect();
    Ok(MemberPage {
        count,
        page: q.page,
        page_size: q.page_size,
        results,
    })
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
    }
}

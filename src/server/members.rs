//! The members table of the Organization page and `GET /api/organizations/{id}/memberships`.

use super::{db, error::OrInternal, AppState};
use crate::domain::{format_timestamp, AppError, MemberPage, MemberRow, Role};

pub const MAX_PAGE_SIZE: i64 = 100;

pub struct Query {
    pub page: i64,
    pub page_size: i64,
    pub role: Option<Role>,
    pub search: String,
}

pub async fn list(state: &AppState, organization_id: i64, q: Query) -> Result<MemberPage, AppError> {
    if q.page < 1 {
        return Err(AppError::invalid("page", "page starts at 1."));
    }
    if !(1..=MAX_PAGE_SIZE).contains(&q.page_size) {
        return Err(AppError::invalid("page_size", format!("page_size must be between 1 and {MAX_PAGE_SIZE}.")));
    }
    let search = q.search.trim().to_lowercase();
    if search.chars().count() > 254 {
        return Err(AppError::invalid("search", "Search for at most 254 characters."));
    }
    let pattern = if search.is_empty() {
        String::new()
    } else {
        let escaped = search.replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_");
        format!("%{escaped}%")
    };
    let filter = db::members::Filter {
        organization_id,
        role: q.role.map(Role::as_str).unwrap_or(""),
        pattern: &pattern,
    };
    let count = db::members::count(state.db.pool(), &filter).await.or_internal("counting members")?;
    let offset = (q.page - 1).saturating_mul(q.page_size);
    let rows = db::members::page(state.db.pool(), &filter, q.page_size, offset).await.or_internal("listing members")?;
    let results = rows.into_iter().map(row).collect::<Result<_, AppError>>()?;
    Ok(MemberPage { count, page: q.page, page_size: q.page_size, results })
}

/// One member's row, if `user_id` belongs to the organization.
pub async fn one(state: &AppState, organization_id: i64, user_id: i64) -> Result<Option<MemberRow>, AppError> {
    let m = db::members::one(state.db.pool(), organization_id, user_id).await.or_internal("reading a member")?;
    m.map(row).transpose()
}

fn row(m: db::members::MemberRecord) -> Result<MemberRow, AppError> {
    Ok(MemberRow {
        user_id: m.user_id,
        name: format!("{} {}", m.first_name, m.last_name).trim().to_owned(),
        email: m.email,
        role: m.role.parse().or_internal("reading a stored role")?,
        joined_at: format_timestamp(m.joined_at),
        last_activity_at: m.last_activity_at.map(format_timestamp),
    })
}

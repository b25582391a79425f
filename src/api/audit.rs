//! The Activity page: the organization's audit log.

use leptos::prelude::*;

use crate::domain::{AppError, AuditPage};

/// Entries of the Activity page.
pub const ENTRIES_PER_PAGE: i64 = 50;

/// A page of the organization's audit log, newest first. `action` is a dotted name; `actor` part
/// of an email (or `cli`, `system`); `since` and `until` are dates (`2026-11-01`) or times, each
/// empty for no bound.
#[server(prefix = "/_sfn", endpoint = "audit/list")]
pub async fn list_audit_log(
    page: i64,
    action: Option<String>,
    actor: String,
    since: String,
    until: String,
) -> Result<AuditPage, AppError> {
    use super::ssr::*;
    use crate::{
        domain::Page,
        server::{activity, auth::Admin},
    };
    authorized(|state, me: Admin| async move {
        let page = Page::parse(page, ENTRIES_PER_PAGE)?;
        let query = activity::Query {
            action: action.filter(|a| !a.is_empty()),
            actor: Some(actor),
            since: Some(since),
            until: Some(until),
        };
        activity::list(&state, &me, page, &query).await
    })
    .await
}

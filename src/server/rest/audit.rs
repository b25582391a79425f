//! `/api/organizations/{id}/audit-log` and its CSV export.

use axum::{
    body::Body,
    extract::State,
    http::header,
    response::{IntoResponse, Response},
    Json,
};
use serde::Deserialize;
use utoipa::{
    openapi::{schema::Type, ObjectBuilder},
    IntoParams,
};

use super::{responses::*, ApiResult, Authorized, OrganizationId, PageQuery, QueryParams};
use crate::{
    domain::{Action, AuditPage},
    server::{
        activity,
        auth::Admin,
        error::{ApiError, ErrorBody},
        AppState,
    },
};

/// Which entries to list or export. Values are read as text first, so that a bad one gets a
/// clear message.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AuditQuery {
    #[param(schema_with = action)]
    action: Option<String>,
    /// The actor: part of their email (without regard to case), or `cli` or `system`. At most 254 characters.
    #[param(max_length = 254)]
    actor: Option<String>,
    /// Entries from this moment on: an ISO 8601 date (`2026-11-01`, midnight UTC) or time (`2026-11-01T14:02:00Z`).
    #[param(
        pattern = r"^\s*(\d{4}-\d{2}-\d{2}([Tt ]\d{2}:\d{2}(:\d{2}([.,]\d+)?)?([Zz]|[+-]\d{2}:?\d{2})?)?)?\s*$"
    )]
    since: Option<String>,
    /// Entries up to this moment: an ISO 8601 time, or a date (up to the end of that day, UTC).
    #[param(
        pattern = r"^\s*(\d{4}-\d{2}-\d{2}([Tt ]\d{2}:\d{2}(:\d{2}([.,]\d+)?)?([Zz]|[+-]\d{2}:?\d{2})?)?)?\s*$"
    )]
    until: Option<String>,
}

impl From<AuditQuery> for activity::Query {
    fn from(q: AuditQuery) -> Self {
        activity::Query {
            action: q.action,
            actor: q.actor,
            since: q.since,
            until: q.until,
        }
    }
}

fn action() -> ObjectBuilder {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .enum_values(Some(Action::ALL.into_iter().map(Action::as_str)))
        .description(Some(
            "Only this action, by its dotted name (`member.role_changed`).",
        ))
}

/// The organization's audit log, newest first
///
/// Owner or Administrator only. Every change to the organization, its members, invitations and
/// their accounts, and every sign-in of its members, with who did it, from where, and what
/// changed. Filtered, counted and paged by the database.
#[utoipa::path(get, path = "/organizations/{id}/audit-log", tag = "organization", operation_id = "listAuditLog",
    params(OrganizationId, PageQuery, AuditQuery),
    responses(
        (status = 200, description = "A page of entries, newest first.", body = AuditPage),
        (status = 400, description = "A bad page, page_size, action, actor, since or until (`validation_errors` names it).", body = ErrorBody),
        (status = 404, response = OrganizationNotFound),
        AdminErrors,
    ))]
pub async fn list(
    State(state): State<AppState>,
    Authorized(me): Authorized<Admin>,
    QueryParams(page): QueryParams<PageQuery>,
    QueryParams(q): QueryParams<AuditQuery>,
) -> ApiResult<AuditPage> {
    let page = page.parse()?;
    Ok(Json(activity::list(&state, &me, page, &q.into()).await?))
}

/// The organization's audit log as CSV
///
/// Owner or Administrator only. Every matching entry, newest first, streamed as it is read:
/// `id,seq,time,actor_kind,actor_user_id,actor_email,action,target_kind,target_id,target,details,client_address,user_agent,summary,hash`.
/// Fields holding a comma, a quote or a line break are quoted (RFC 4180); text a spreadsheet would
/// run as a formula (starting with `=`, `+`, `-` or `@`) is prefixed with `'`.
#[utoipa::path(get, path = "/organizations/{id}/audit-log.csv", tag = "organization", operation_id = "exportAuditLog",
    params(OrganizationId, AuditQuery),
    responses(
        (status = 200, description = "Every matching entry, as CSV with a header line.", content_type = "text/csv", body = String),
        (status = 400, description = "A bad action, actor, since or until (`validation_errors` names it).", body = ErrorBody),
        (status = 404, response = OrganizationNotFound),
        AdminErrors,
    ))]
pub async fn export(
    State(state): State<AppState>,
    Authorized(me): Authorized<Admin>,
    QueryParams(q): QueryParams<AuditQuery>,
) -> Result<Response, ApiError> {
    let stream = activity::csv(&state, &me, &q.into())?;
    let filename = format!(
        "attachment; filename=\"audit-log-{}.csv\"",
        me.organization_id()
    );
    Ok((
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_owned()),
            (header::CONTENT_DISPOSITION, filename),
        ],
        Body::from_stream(stream),
    )
        .into_response())
}

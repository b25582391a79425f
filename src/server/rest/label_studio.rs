//! Label Studio's own paths, in the shapes its SDK reads (`GET /api/current-user`,
//! `/api/organizations/`, one membership, `/api/users/`, `/api/activity-logs/`). Roles are
//! answered with gatehouse's names (`REVIEWER`), and taken as names or Label Studio's codes (`RE`).

use axum::{
    extract::{RawPathParams, State},
    Json,
};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::{
    no_such_member, optional_query_number, path_user_id, responses::*, ApiResult, Authorized,
    OrganizationId, PageQuery, QueryParams,
};
use crate::{
    domain::{format_timestamp, AppError, OrganizationView, Role},
    server::{
        activity,
        auth::{Active, Admin, SignedIn},
        db::{self, members::AccountRecord},
        error::{ErrorBody, OrInternal},
        organization, AppState,
    },
};

/// A membership as Label Studio's user objects list it.
#[derive(Serialize, ToSchema)]
pub struct OrgMembership {
    /// The role or status, by gatehouse's name (`REVIEWER`, `NOT_ACTIVATED`…).
    role: Role,
    /// Whether the member may use the organization (not Pending, not Deactivated).
    active: bool,
    organization_id: i64,
}

/// A user, as Label Studio shows one.
#[derive(Serialize, ToSchema)]
pub struct LsUser {
    id: i64,
    #[schema(format = Email)]
    email: String,
    /// The email address (Label Studio's usernames are the address).
    username: String,
    first_name: String,
    last_name: String,
    /// The user's organization; `null` once removed from it.
    active_organization: Option<i64>,
    /// The user's membership (none or one).
    org_membership: Vec<OrgMembership>,
    /// When the account was made, RFC 3339 in UTC.
    #[schema(format = DateTime)]
    date_joined: String,
    /// When the user last used the app or the API (to the minute), RFC 3339 in UTC.
    #[schema(format = DateTime)]
    last_activity: Option<String>,
}

impl From<AccountRecord> for LsUser {
    fn from(a: AccountRecord) -> Self {
        let membership = a
            .organization_id
            .zip(a.role)
            .map(|(organization_id, role)| OrgMembership {
                role,
                active: role.counts_seat(),
                organization_id,
            });
        Self {
            id: a.user_id,
            username: a.email.clone(),
            email: a.email,
            first_name: a.first_name,
            last_name: a.last_name,
            active_organization: a.organization_id,
            org_membership: membership.into_iter().collect(),
            date_joined: format_timestamp(a.created_at),
            last_activity: a.last_activity_at.map(format_timestamp),
        }
    }
}

/// The signed-in user
///
/// Label Studio's `GET /api/current-user`: the caller's account, their organization and their
/// membership with its role. Any signed-in account may call it, Pending members and accounts
/// without an organization included.
#[utoipa::path(get, path = "/current-user", tag = "current-user", operation_id = "getCurrentUser",
    responses(
        (status = 200, description = "The caller.", body = LsUser),
        SignedInErrors,
    ))]
pub async fn current_user(
    State(state): State<AppState>,
    Authorized(me): Authorized<SignedIn>,
) -> ApiResult<LsUser> {
    let account = db::members::account(state.db.pool(), me.user_id())
        .await
        .or_internal("reading an account")?
        .ok_or_else(AppError::signed_out)?;
    Ok(Json(account.into()))
}

/// The caller's organizations
///
/// Label Studio's `GET /api/organizations/`: a list holding the caller's organization (a member
/// belongs to one). Any active member may call it.
#[utoipa::path(get, path = "/organizations/", tag = "organization", operation_id = "listOrganizations",
    responses(
        (status = 200, description = "The caller's organization, in a list.", body = Vec<OrganizationView>),
        ActiveErrors,
    ))]
pub async fn organizations(
    State(state): State<AppState>,
    Authorized(me): Authorized<Active>,
) -> ApiResult<Vec<OrganizationView>> {
    Ok(Json(vec![organization::view(&state, &me).await?]))
}

/// A user, as a membership names them.
#[derive(Serialize, ToSchema)]
pub struct MemberUser {
    id: i64,
    #[schema(format = Email)]
    email: String,
    /// The email address (Label Studio's usernames are the address).
    username: String,
    first_name: String,
    last_name: String,
}

impl MemberUser {
    pub fn new(id: i64, email: &str, first_name: &str, last_name: &str) -> Self {
        Self {
            id,
            email: email.to_owned(),
            username: email.to_owned(),
            first_name: first_name.to_owned(),
            last_name: last_name.to_owned(),
        }
    }
}

/// One member of the organization, as Label Studio shows a membership.
#[derive(Serialize, ToSchema)]
pub struct Membership {
    /// The organization's id.
    organization: i64,
    user: MemberUser,
    /// The role or status, by gatehouse's name.
    role: Role,
    /// When the member joined, RFC 3339 in UTC.
    #[schema(format = DateTime)]
    created_at: String,
}

/// One member
///
/// Label Studio's membership: the user with their names, the role and when they joined. Owner or
/// Administrator only. The same endpoint also answers without the trailing slash.
#[utoipa::path(get, path = "/organizations/{id}/memberships/{user_id}/", tag = "organization", operation_id = "getMembership",
    params(
        OrganizationId,
        ("user_id" = i64, Path, description = "The member's user id."),
    ),
    responses(
        (status = 200, description = "The member.", body = Membership),
        (status = 401, response = Unauthenticated),
        (status = 403, description = "Not an Owner or Administrator.", body = ErrorBody),
        (status = 404, description = "No such organization, or no such member in it.", body = ErrorBody),
        (status = 500, response = InternalError),
    ))]
pub async fn membership(
    State(state): State<AppState>,
    Authorized(me): Authorized<Admin>,
    params: RawPathParams,
) -> ApiResult<Membership> {
    let user_id = path_user_id(&params)?;
    let a = db::members::account_in(state.db.pool(), me.organization_id(), user_id)
        .await
        .or_internal("reading a member")?
        .ok_or_else(no_such_member)?;
    Ok(Json(Membership {
        organization: me.organization_id(),
        role: a.role.ok_or_else(no_such_member)?,
        created_at: format_timestamp(a.joined_at.unwrap_or(a.created_at)),
        user: MemberUser::new(a.user_id, &a.email, &a.first_name, &a.last_name),
    }))
}

/// One member (without the trailing slash)
///
/// As `GET /api/organizations/{id}/memberships/{user_id}/`.
#[utoipa::path(get, path = "/organizations/{id}/memberships/{user_id}", tag = "organization", operation_id = "getMembershipWithoutSlash",
    params(
        OrganizationId,
        ("user_id" = i64, Path, description = "The member's user id."),
    ),
    responses(
        (status = 200, description = "The member.", body = Membership),
        (status = 401, response = Unauthenticated),
        (status = 403, description = "Not an Owner or Administrator.", body = ErrorBody),
        (status = 404, description = "No such organization, or no such member in it.", body = ErrorBody),
        (status = 500, response = InternalError),
    ))]
pub async fn membership_without_slash(
    state: State<AppState>,
    me: Authorized<Admin>,
    params: RawPathParams,
) -> ApiResult<Membership> {
    membership(state, me, params).await
}

/// Remove a member (Label Studio's path)
///
/// As `DELETE /api/organizations/{id}/memberships/{user_id}`. The same endpoint also answers
/// without the trailing slash.
#[utoipa::path(delete, path = "/organizations/{id}/memberships/{user_id}/", tag = "organization", operation_id = "removeMembership",
    params(
        OrganizationId,
        ("user_id" = i64, Path, description = "The member's user id."),
    ),
    responses(
        (status = 204, description = "Removed."),
        (status = 401, response = Unauthenticated),
        (status = 403, description = "Not an Owner or Administrator, the Owner, or oneself.", body = ErrorBody),
        (status = 404, description = "No such organization, or no such member in it.", body = ErrorBody),
        (status = 500, response = InternalError),
    ))]
pub async fn remove_membership(
    state: State<AppState>,
    me: Authorized<Admin>,
    params: RawPathParams,
) -> Result<axum::http::StatusCode, crate::server::error::ApiError> {
    super::organization::remove_membership(state, me, params).await
}

/// The organization's members, as users
///
/// Label Studio's `GET /api/users/`: every member of the caller's organization (Pending and
/// Deactivated included), in the order they joined, as one list. Owner or Administrator only.
#[utoipa::path(get, path = "/users/", tag = "organization", operation_id = "listUsers",
    responses(
        (status = 200, description = "The members.", body = Vec<LsUser>),
        AdminErrors,
    ))]
pub async fn users(
    State(state): State<AppState>,
    Authorized(me): Authorized<Admin>,
) -> ApiResult<Vec<LsUser>> {
    let all = db::members::accounts_of(state.db.pool(), me.organization_id())
        .await
        .or_internal("listing members")?;
    Ok(Json(all.into_iter().map(LsUser::from).collect()))
}

/// One member, as a user
///
/// Label Studio's `GET /api/users/{id}/`, for a member of the caller's organization; any other id
/// is 404. Owner or Administrator only. The same endpoint also answers without the trailing slash.
#[utoipa::path(get, path = "/users/{user_id}/", tag = "organization", operation_id = "getUser",
    params(("user_id" = i64, Path, description = "The user's id.")),
    responses(
        (status = 200, description = "The member.", body = LsUser),
        (status = 404, description = "No such member in this organization.", body = ErrorBody),
        AdminErrors,
    ))]
pub async fn user(
    State(state): State<AppState>,
    Authorized(me): Authorized<Admin>,
    params: RawPathParams,
) -> ApiResult<LsUser> {
    let user_id = path_user_id(&params)?;
    let a = db::members::account_in(state.db.pool(), me.organization_id(), user_id)
        .await
        .or_internal("reading a member")?
        .ok_or_else(no_such_member)?;
    Ok(Json(a.into()))
}

/// Which entries of the activity log to list. Values are read as text first, so that a bad one
/// gets a clear message.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ActivityQuery {
    /// Entries from this moment on: an ISO 8601 date (`2026-11-01`, midnight UTC) or time (`2026-11-01T14:02:00Z`).
    #[param(
        pattern = r"^\s*(\d{4}-\d{2}-\d{2}([Tt ]\d{2}:\d{2}(:\d{2}([.,]\d+)?)?([Zz]|[+-]\d{2}:?\d{2})?)?)?\s*$"
    )]
    start_date: Option<String>,
    /// Entries up to this moment: an ISO 8601 time, or a date (to the end of that day, UTC).
    #[param(
        pattern = r"^\s*(\d{4}-\d{2}-\d{2}([Tt ]\d{2}:\d{2}(:\d{2}([.,]\d+)?)?([Zz]|[+-]\d{2}:?\d{2})?)?)?\s*$"
    )]
    end_date: Option<String>,
    /// Only entries of this user (the actor).
    #[param(value_type = Option<i64>)]
    user_id: Option<String>,
    /// As `user_id` (the name Label Studio's SDK sends).
    #[param(value_type = Option<i64>)]
    user: Option<String>,
}

/// One entry of the activity log, in Label Studio's fields.
#[derive(Serialize, ToSchema)]
pub struct ActivityLog {
    id: i64,
    /// When, RFC 3339 in UTC.
    #[schema(format = DateTime)]
    datetime: String,
    /// The actor's email at that moment (empty for the command line and the server).
    email: String,
    /// The actor's user id (`null` for the command line and the server).
    user_id: Option<i64>,
    organization_id: i64,
    /// The method of the request that made the entry (empty for the command line and for
    /// entries made before this was recorded).
    request_method: String,
    /// The path of that request (never its query).
    request_url: String,
    /// Always `null`: an entry is written with the change it records, before the answer's
    /// status is known (the change itself succeeded, except for `signin.failed` and
    /// `signin.locked_out` entries).
    response_code: Option<String>,
    ip_address: String,
    user_agent: String,
    /// The audit entry: its `action`, `summary`, `target` and `details`.
    extra_data: serde_json::Value,
}

/// A page of the activity log, as Label Studio answers it.
#[derive(Serialize, ToSchema)]
pub struct ActivityLogPage {
    /// The entries of this page, newest first.
    data: Vec<ActivityLog>,
    /// How many entries the organization's log holds.
    #[serde(rename = "recordsTotal")]
    records_total: i64,
    /// How many match the filters.
    #[serde(rename = "recordsFiltered")]
    records_filtered: i64,
    /// How many match the filters (as `recordsFiltered`).
    count: i64,
    page: i64,
    page_size: i64,
}

/// The organization's activity log, in Label Studio's shape
///
/// Label Studio's `GET /api/activity-logs/`: the audit log's entries, newest first, with the
/// request that made each (method and path), who made it and from where. Owner or Administrator
/// only.
#[utoipa::path(get, path = "/activity-logs/", tag = "organization", operation_id = "listActivityLogs",
    params(PageQuery, ActivityQuery),
    responses(
        (status = 200, description = "A page of entries, newest first.", body = ActivityLogPage),
        (status = 400, description = "A bad page, page_size, user_id, start_date or end_date (`validation_errors` names it).", body = ErrorBody),
        AdminErrors,
    ))]
pub async fn activity_logs(
    State(state): State<AppState>,
    Authorized(me): Authorized<Admin>,
    QueryParams(page): QueryParams<PageQuery>,
    QueryParams(q): QueryParams<ActivityQuery>,
) -> ApiResult<ActivityLogPage> {
    let page = page.parse()?;
    // Both are read (a malformed one is a 400 even beside a good one); `user_id` wins.
    let by_user_id = optional_query_number("user_id", q.user_id)?;
    let by_user = optional_query_number("user", q.user)?;
    let actor = by_user_id.or(by_user);
    let (since, until) =
        activity::time_range(("start_date", &q.start_date), ("end_date", &q.end_date))?;
    let filter = db::audit::Filter {
        organization_id: me.organization_id(),
        action: None,
        actor_email: None,
        actor_kind: None,
        actor_user_id: actor,
        since,
        until,
    };
    let pool = state.db.pool();
    let found = db::audit::page(pool, &filter, page)
        .await
        .or_internal("listing activity")?;
    let total = db::audit::count(pool, me.organization_id())
        .await
        .or_internal("counting activity")?;
    let data = found
        .results
        .into_iter()
        .map(|e| {
            let request_method = e.request_method.clone();
            let request_url = e.request_path.clone();
            let view = activity::view(e);
            ActivityLog {
                id: view.id,
                datetime: view.created_at,
                email: view.actor.email.clone(),
                user_id: view.actor.user_id,
                organization_id: me.organization_id(),
                response_code: None,
                request_method,
                request_url,
                ip_address: view.client_address,
                user_agent: view.user_agent,
                extra_data: serde_json::json!({
                    "action": view.action,
                    "summary": view.summary,
                    "target": view.target,
                    "details": view.details,
                    "seq": view.seq,
                }),
            }
        })
        .collect();
    Ok(Json(ActivityLogPage {
        data,
        records_total: total,
        records_filtered: found.count,
        count: found.count,
        page: found.page,
        page_size: found.page_size,
    }))
}

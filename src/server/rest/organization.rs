//! `/api/organization/`, `/api/organizations/{id}` and its memberships.

use axum::{
    extract::{RawPathParams, State},
    http::StatusCode,
    routing::{get, MethodRouter},
    Json,
};
use serde::{Deserialize, Serialize};
use utoipa::{
    openapi::{schema::Type, ObjectBuilder},
    IntoParams, ToSchema,
};

use super::{
    label_studio::MemberUser, responses::*, ApiResult, Authorized, JsonBody, OrganizationId,
    PageQuery, QueryParams,
};
use crate::{
    domain::{AppError, MemberRow, OrgTitle, OrganizationView, Paged, PagedRow, Role, Search},
    server::{
        auth::{Active, Admin},
        error::{ApiError, ErrorBody},
        members, organization, roles, AppState,
    },
};

pub fn own_routes() -> MethodRouter<AppState> {
    get(get_own).patch(rename_own)
}

pub fn by_id_routes() -> MethodRouter<AppState> {
    get(get_by_id).patch(rename_by_id)
}

pub fn membership_routes() -> MethodRouter<AppState> {
    get(list_memberships).patch(change_membership)
}

fn title() -> ObjectBuilder {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .max_length(Some(OrgTitle::MAX_LEN))
        .pattern(Some(OrgTitle::PATTERN))
        .description(Some(
            "The new title: at most 1000 characters, not blank, no control characters (such as line breaks), \
             invisible format characters (such as zero-width spaces and text-direction controls), line or \
             paragraph separators or noncharacters. Leading and trailing whitespace is trimmed.",
        ))
}

/// The new title of the organization.
#[derive(Deserialize, ToSchema)]
pub struct OrganizationPatch {
    #[schema(schema_with = title, required = true)]
    title: Option<String>,
}

impl OrganizationPatch {
    fn title(self) -> Result<String, ApiError> {
        self.title.ok_or_else(|| {
            ApiError(AppError::invalid(
                "title",
                "Send the new title as {\"title\": \"...\"}.",
            ))
        })
    }
}

/// Get the caller's organization
///
/// Any active member may call it (Owner, Administrator, Manager, Reviewer, Annotator); Pending
/// and Deactivated members get 403. The same endpoint also answers without the trailing slash.
#[utoipa::path(get, path = "/organization/", tag = "organization", operation_id = "getOwnOrganization",
    responses(
        (status = 200, description = "The organization.", body = OrganizationView),
        ActiveErrors,
    ))]
pub async fn get_own(
    State(state): State<AppState>,
    Authorized(me): Authorized<Active>,
) -> ApiResult<OrganizationView> {
    Ok(Json(organization::view(&state, &me).await?))
}

/// Rename the caller's organization
///
/// Only the Owner or an Administrator may; other roles get 403. Returns the renamed
/// organization. The same endpoint also answers without the trailing slash.
#[utoipa::path(patch, path = "/organization/", tag = "organization", operation_id = "renameOwnOrganization",
    request_body = OrganizationPatch,
    responses(
        (status = 200, description = "The renamed organization.", body = OrganizationView),
        (status = 400, description = "A body that cannot be read, or a missing or invalid `title` (`validation_errors` names it).", body = ErrorBody),
        AdminErrors,
        BodyErrors,
    ))]
pub async fn rename_own(
    State(state): State<AppState>,
    Authorized(me): Authorized<Admin>,
    JsonBody(patch): JsonBody<OrganizationPatch>,
) -> ApiResult<OrganizationView> {
    Ok(Json(
        organization::rename(&state, &me, &patch.title()?).await?,
    ))
}

/// Get an organization by id
///
/// The id must be the caller's own organization: any other id, and a non-numeric one, is
/// answered with 404. Any active member may call it. The same endpoint also answers with a
/// trailing slash.
#[utoipa::path(get, path = "/organizations/{id}", tag = "organization", operation_id = "getOrganization",
    params(OrganizationId),
    responses(
        (status = 200, description = "The organization.", body = OrganizationView),
        (status = 404, response = OrganizationNotFound),
        ActiveErrors,
    ))]
pub async fn get_by_id(
    state: State<AppState>,
    me: Authorized<Active>,
) -> ApiResult<OrganizationView> {
    get_own(state, me).await
}

/// Rename an organization by id
///
/// As `PATCH /api/organization/`, for the caller's organization named by its id (any other id is
/// 404). The same endpoint also answers with a trailing slash.
#[utoipa::path(patch, path = "/organizations/{id}", tag = "organization", operation_id = "renameOrganization",
    params(OrganizationId),
    request_body = OrganizationPatch,
    responses(
        (status = 200, description = "The renamed organization.", body = OrganizationView),
        (status = 400, description = "A body that cannot be read, or a missing or invalid `title` (`validation_errors` names it).", body = ErrorBody),
        (status = 404, response = OrganizationNotFound),
        AdminErrors,
        BodyErrors,
    ))]
pub async fn rename_by_id(
    state: State<AppState>,
    me: Authorized<Admin>,
    patch: JsonBody<OrganizationPatch>,
) -> ApiResult<OrganizationView> {
    rename_own(state, me, patch).await
}

/// Which members to list. Values are read as text first, so that a bad one (an empty one too)
/// gets a clear message.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct MembershipQuery {
    /// Any role or status, NOT_ACTIVATED and DEACTIVATED too, by name or by Label Studio's code.
    #[param(schema_with = any_role)]
    role: Option<String>,
    /// Matches email or name, without regard to case; `%` and `_` are literal. At most 254 characters.
    #[param(max_length = 254)]
    search: Option<String>,
}

/// A member as the REST API lists them: the members table's row, with Label Studio's
/// `organization` and `user` beside it (what its SDK reads).
#[derive(Serialize, ToSchema)]
#[schema(as = Member)]
pub struct MemberEntry {
    #[serde(flatten)]
    row: MemberRow,
    /// The organization's id.
    organization: i64,
    /// The member as a user.
    user: MemberUser,
}

impl MemberEntry {
    fn of(organization: i64, row: MemberRow) -> Self {
        let user = MemberUser::new(row.user_id, &row.email, &row.first_name, &row.last_name);
        Self {
            row,
            organization,
            user,
        }
    }
}

/// A page of members, as the REST API lists them.
pub type MemberEntryPage = Paged<MemberEntry>;

impl PagedRow for MemberEntry {
    const PAGE_NAME: &'static str = "MemberPage";
    const PAGE_DESCRIPTION: &'static str = "A page of members, counted and sorted by the database.";
    const COUNT_DESCRIPTION: &'static str = "How many members match, on every page.";
}

/// Members of the organization, paged
///
/// Owner or Administrator only. Counted, filtered, sorted (by joining) and paged by the database.
#[utoipa::path(get, path = "/organizations/{id}/memberships", tag = "organization", operation_id = "listMemberships",
    params(OrganizationId, PageQuery, MembershipQuery),
    responses(
        (status = 200, description = "A page of members.", body = MemberEntryPage),
        (status = 400, description = "A bad page, page_size, role or search (`validation_errors` names it).", body = ErrorBody),
        (status = 404, response = OrganizationNotFound),
        AdminErrors,
    ))]
pub async fn list_memberships(
    State(state): State<AppState>,
    Authorized(me): Authorized<Admin>,
    QueryParams(page): QueryParams<PageQuery>,
    QueryParams(q): QueryParams<MembershipQuery>,
) -> ApiResult<MemberEntryPage> {
    let role = q.role.as_deref().map(str::parse::<Role>).transpose()?;
    let page = page.parse()?;
    let search = Search::parse("search", q.search.as_deref().unwrap_or_default())?;
    let organization = me.organization_id();
    let found = members::list(&state, &me, page, role, &search).await?;
    Ok(Json(found.map(|row| MemberEntry::of(organization, row))))
}

/// Roles by name and by Label Studio's code.
fn role_names(roles: impl Iterator<Item = Role>) -> impl Iterator<Item = &'static str> {
    roles.flat_map(|r| [r.as_str(), r.code()])
}

fn any_role() -> ObjectBuilder {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .enum_values(Some(role_names(Role::ALL.into_iter())))
}

fn assignable_role() -> ObjectBuilder {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .enum_values(Some(role_names(
            Role::ALL.into_iter().filter(|r| *r != Role::Owner),
        )))
        .description(Some(
            "The new role or status, by name or by Label Studio's code (AD, MA, RE, AN, NO, DI); \
             OWNER (OW) is never assignable (ownership moves by a transfer).",
        ))
}

/// A role change.
#[derive(Deserialize, ToSchema)]
pub struct MembershipChange {
    /// The member's user id.
    #[serde(deserialize_with = "super::whole_number")]
    user_id: i64,
    #[schema(schema_with = assignable_role)]
    role: Role,
}

/// Change a member's role
///
/// Owner or Administrator only. OWNER is never assignable; nobody changes the Owner's role or
/// their own. A change that takes a seat (from Pending or Deactivated to a role) needs a free
/// one. Deactivating ends the member's access at once and frees the seat.
#[utoipa::path(patch, path = "/organizations/{id}/memberships", tag = "organization", operation_id = "changeMembershipRole",
    params(OrganizationId),
    request_body = MembershipChange,
    responses(
        (status = 200, description = "The member with the new role.", body = MemberEntry),
        (status = 400, description = "A body that cannot be read, an unknown role, or OWNER.", body = ErrorBody),
        (status = 401, response = Unauthenticated),
        (status = 403, description = "Not an Owner or Administrator, the Owner's role, or one's own.", body = ErrorBody),
        (status = 404, description = "No such organization, or no such member in it.", body = ErrorBody),
        (status = 409, description = "No free seats: N of N in use. Deactivate a member or raise the license.", body = ErrorBody),
        BodyErrors,
        (status = 500, response = InternalError),
    ))]
pub async fn change_membership(
    State(state): State<AppState>,
    Authorized(me): Authorized<Admin>,
    JsonBody(change): JsonBody<MembershipChange>,
) -> ApiResult<MemberEntry> {
    let row = roles::change_role(&state, &me, change.user_id, change.role).await?;
    Ok(Json(MemberEntry::of(me.organization_id(), row)))
}

/// Remove a member
///
/// Owner or Administrator only. Any member but the Owner, never oneself, whatever their status.
/// Their seat is free at once, their sessions end and their API token is replaced; the account
/// remains, in no organization, and any organization may invite it again.
#[utoipa::path(delete, path = "/organizations/{id}/memberships/{user_id}", tag = "organization", operation_id = "removeMember",
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
    State(state): State<AppState>,
    Authorized(me): Authorized<Admin>,
    params: RawPathParams,
) -> Result<StatusCode, ApiError> {
    // An id that is not a whole number names no member.
    let user_id = super::path_user_id(&params)?;
    roles::remove_member(&state, &me, user_id).await?;
    Ok(StatusCode::NO_CONTENT)
}

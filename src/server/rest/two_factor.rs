//! `/api/current-user/two-factor`, `/api/organizations/{id}/two-factor-policy` and
//! `/api/organizations/{id}/memberships/{user_id}/two-factor` (SPEC section 12): the caller's
//! second factors, the organization's requirement, and an administrator's reset of a member's.

use axum::{
    extract::{RawPathParams, State},
    http::StatusCode,
    Json,
};

use super::{responses::*, ApiError, ApiResult, Authorized, JsonBody, OrganizationId};
use crate::{
    domain::{TwoFactorPolicy, TwoFactorPolicyChange, TwoFactorStatus},
    server::{
        auth::{two_factor, Admin, SignedIn},
        error::ErrorBody,
        AppState,
    },
};

/// The caller's second factors
///
/// Which factors the account has (an authenticator app, security keys and passkeys), how many
/// recovery codes are left, and whether the organization requires a second factor (and by when,
/// for an account without one). They are set up on the Account page. Any signed-in account may
/// call it, Pending members included.
#[utoipa::path(get, path = "/current-user/two-factor", tag = "current-user", operation_id = "getTwoFactor",
    responses(
        (status = 200, description = "The caller's second factors.", body = TwoFactorStatus),
        SignedInErrors,
    ))]
pub async fn status(
    State(state): State<AppState>,
    Authorized(me): Authorized<SignedIn>,
) -> ApiResult<TwoFactorStatus> {
    Ok(Json(two_factor::status(&state, &me).await?))
}

/// The organization's two-factor policy
///
/// Whether members must have a second factor, the grace period they get to add one (from when
/// the requirement began, or from when they joined if later), and whether members signed in
/// through single sign-on are exempt. The Owner and Administrators may call it; the id must be
/// the caller's organization (any other is 404).
#[utoipa::path(get, path = "/organizations/{id}/two-factor-policy", tag = "organization", operation_id = "getTwoFactorPolicy",
    params(OrganizationId),
    responses(
        (status = 200, description = "The policy.", body = TwoFactorPolicy),
        (status = 404, response = OrganizationNotFound),
        AdminErrors,
    ))]
pub async fn get_policy(
    State(state): State<AppState>,
    Authorized(me): Authorized<Admin>,
) -> ApiResult<TwoFactorPolicy> {
    Ok(Json(
        two_factor::policy(&state, me.organization_id()).await?,
    ))
}

/// Change the organization's two-factor policy
///
/// The fields given change. Turning `required` on starts the grace period now; after it, a
/// member without a second factor can use only their own account page (their API tokens keep
/// working). Only the Owner changes `sso_exempt`. Recorded in the audit log as
/// `organization.two_factor_policy_changed`.
#[utoipa::path(patch, path = "/organizations/{id}/two-factor-policy", tag = "organization", operation_id = "changeTwoFactorPolicy",
    params(OrganizationId),
    request_body = TwoFactorPolicyChange,
    responses(
        (status = 200, description = "The policy as changed.", body = TwoFactorPolicy),
        (status = 400, description = "A body that cannot be read, an unknown field, or a grace period outside 0 to 365 days (`validation_errors` names it).", body = ErrorBody),
        (status = 404, response = OrganizationNotFound),
        AdminErrors,
        BodyErrors,
    ))]
pub async fn change_policy(
    State(state): State<AppState>,
    Authorized(me): Authorized<Admin>,
    JsonBody(change): JsonBody<TwoFactorPolicyChange>,
) -> ApiResult<TwoFactorPolicy> {
    Ok(Json(two_factor::change_policy(&state, &me, &change).await?))
}

/// Reset a member's second factors
///
/// For a member who lost their authenticator app and their recovery codes. Their authenticator
/// app, security keys, passkeys and recovery codes are removed, their sessions end (their API
/// tokens keep working), and they are mailed. They then sign in with their password alone, and
/// add a second factor again (at once if the organization requires one and its grace period is
/// over). The Owner and Administrators may call it, for any member but the Owner and themselves.
/// Recorded in the audit log as `two_factor.reset`.
#[utoipa::path(delete, path = "/organizations/{id}/memberships/{user_id}/two-factor", tag = "organization", operation_id = "resetMemberTwoFactor",
    params(
        OrganizationId,
        ("user_id" = i64, Path, description = "The member's user id."),
    ),
    responses(
        (status = 204, description = "Reset: the member has no second factor now."),
        (status = 401, response = Unauthenticated),
        (status = 403, description = "Not an Owner or Administrator, the Owner's factors, or one's own.", body = ErrorBody),
        (status = 404, description = "No such organization, or no such member in it.", body = ErrorBody),
        (status = 409, description = "The member has no second factor to reset.", body = ErrorBody),
        (status = 500, response = InternalError),
    ))]
pub async fn reset_member(
    State(state): State<AppState>,
    Authorized(me): Authorized<Admin>,
    params: RawPathParams,
) -> Result<StatusCode, ApiError> {
    let user_id = super::path_user_id(&params)?;
    two_factor::reset_member(&state, &me, user_id).await?;
    Ok(StatusCode::NO_CONTENT)
}

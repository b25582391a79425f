//! `/api/current-user/…`: who the caller is, and their API token.

use axum::{extract::State, Json};
use serde::Serialize;
use utoipa::ToSchema;

use super::{responses::*, ApiResult, Authorized};
use crate::{
    domain::Role,
    server::{accounts, auth::Active, AppState},
};

/// The caller.
#[derive(Serialize, ToSchema)]
pub struct WhoAmI {
    /// The caller's user id.
    id: i64,
    email: String,
    /// The caller's role; since only active members may call the API, one of OWNER,
    /// ADMINISTRATOR, MANAGER, REVIEWER or ANNOTATOR.
    role: Role,
    organization_id: i64,
}

/// A personal API token.
#[derive(Serialize, ToSchema)]
pub struct Token {
    /// Send it as `Authorization: Token <token>`.
    token: String,
}

/// Who the caller is
///
/// Any active member may call it; Pending and Deactivated members get 403.
#[utoipa::path(get, path = "/current-user/whoami", tag = "current-user", operation_id = "whoami",
    responses(
        (status = 200, description = "The caller.", body = WhoAmI),
        ActiveErrors,
    ))]
pub async fn whoami(Authorized(me): Authorized<Active>) -> Json<WhoAmI> {
    Json(WhoAmI {
        id: me.user_id(),
        email: me.email().to_owned(),
        role: me.role(),
        organization_id: me.organization_id(),
    })
}

/// The caller's API token
///
/// The token shown on the Account page; if the caller has none yet, one is created. Any active
/// member may call it; Pending and Deactivated members get 403.
#[utoipa::path(get, path = "/current-user/token", tag = "current-user", operation_id = "getToken",
    responses(
        (status = 200, description = "The caller's API token.", body = Token),
        ActiveErrors,
    ))]
pub async fn token(
    State(state): State<AppState>,
    Authorized(me): Authorized<Active>,
) -> ApiResult<Token> {
    Ok(Json(Token {
        token: accounts::api_token(&state, &me).await?,
    }))
}

/// Replace the caller's API token
///
/// Creates a new personal API token and returns it; the old token stops working at once. No
/// request body is needed. Any active member may call it.
#[utoipa::path(post, path = "/current-user/reset-token", tag = "current-user", operation_id = "resetToken",
    responses(
        (status = 200, description = "The new API token.", body = Token),
        ActiveErrors,
    ))]
pub async fn reset_token(
    State(state): State<AppState>,
    Authorized(me): Authorized<Active>,
) -> ApiResult<Token> {
    Ok(Json(Token {
        token: accounts::reset_api_token(&state, &me).await?,
    }))
}

//! `/api/current-user/…`: who the caller is, their name, password, sessions and API token.

use axum::{
    extract::{RawPathParams, State},
    http::StatusCode,
    Json,
};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::{responses::*, ApiResult, Authorized, JsonBody};
use crate::{
    domain::{FullName, Profile, Role, SessionView},
    server::{
        auth::{api_tokens, sessions, Active, SignedIn},
        error::{ApiError, ErrorBody},
        profile, AppState,
    },
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
        token: api_tokens::current(&state, &me).await?,
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
        token: api_tokens::reset(&state, &me).await?,
    }))
}

/// The caller's new name; a field left out keeps its value.
#[derive(ToSchema)]
pub struct NamePatch {
    #[schema(schema_with = name_schema)]
    first_name: Option<String>,
    #[schema(schema_with = name_schema)]
    last_name: Option<String>,
}

/// A first or last name as the API takes it.
fn name_schema() -> utoipa::openapi::Object {
    use utoipa::openapi::schema::{ObjectBuilder, SchemaType, Type};
    ObjectBuilder::new()
        .schema_type(SchemaType::from_iter([Type::String, Type::Null]))
        .max_length(Some(150))
        .pattern(Some(crate::domain::NAME_PATTERN))
        .description(Some(
            "At most 150 characters; no control characters, invisible format characters (such as \
             zero-width spaces and text-direction controls), line or paragraph separators or \
             noncharacters; trimmed; empty clears it. Left out, it keeps its value.",
        ))
        .build()
}

impl<'de> serde::Deserialize<'de> for NamePatch {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(serde::Deserialize)]
        struct Fields {
            first_name: Option<String>,
            last_name: Option<String>,
        }
        super::password_reset::from_object::<D, Fields>(d).map(|f| Self {
            first_name: f.first_name,
            last_name: f.last_name,
        })
    }
}

/// Change the caller's name
///
/// Sets the first and last name shown in the members table (and found by its search). A field
/// left out keeps its value. Any signed-in account may call it, Pending members and accounts without an organization included.
#[utoipa::path(patch, path = "/current-user", tag = "current-user", operation_id = "updateCurrentUser",
    request_body = NamePatch,
    responses(
        (status = 200, description = "The caller's account as saved.", body = Profile),
        (status = 400, description = "A name longer than 150 characters, or with control characters.", body = ErrorBody),
        SignedInErrors,
        BodyErrors,
    ))]
pub async fn update(
    State(state): State<AppState>,
    Authorized(me): Authorized<SignedIn>,
    JsonBody(body): JsonBody<NamePatch>,
) -> ApiResult<Profile> {
    let saved = profile::get(&state, &me).await?;
    let name = FullName::parse(
        Some(body.first_name.as_deref().unwrap_or(&saved.first_name)),
        Some(body.last_name.as_deref().unwrap_or(&saved.last_name)),
    )?;
    Ok(Json(profile::rename(&state, &me, &name).await?))
}

/// The current password, and the new one.
#[derive(Deserialize, ToSchema)]
pub struct PasswordChange {
    current_password: String,
    /// 8 to 128 characters.
    #[schema(min_length = 8, max_length = 128)]
    new_password: String,
    /// Also replace the personal API token (default false). Called with the token itself, that
    /// token stops working: the new one is on the Account page.
    #[serde(default)]
    reset_api_token: bool,
}

/// Change the caller's password
///
/// Checks the current password, then sets the new one. Every other session of the caller ends;
/// the session this request was made with (cookie authentication) stays. Called with an API
/// token, every session ends; the token itself keeps working unless `reset_api_token` replaces it. A wrong current password is
/// answered 400 on `current_password` and counts as a failed login of the account (past
/// LABEL_STUDIO_LOGIN_MAX_FAILURES, 429). Any signed-in account may call it, Pending members and accounts without an organization included.
#[utoipa::path(post, path = "/current-user/password", tag = "current-user", operation_id = "changePassword",
    request_body = PasswordChange,
    responses(
        (status = 204, description = "Changed; the other sessions have ended."),
        (status = 400, description = "A wrong current password, or a new one that is not allowed.", body = ErrorBody),
        (status = 429, description = "Too many wrong passwords for this account; `Retry-After` says when to try again.", body = ErrorBody,
            headers(("Retry-After" = u64, description = "Seconds to wait."))),
        SignedInErrors,
        BodyErrors,
    ))]
pub async fn change_password(
    State(state): State<AppState>,
    Authorized(me): Authorized<SignedIn>,
    JsonBody(body): JsonBody<PasswordChange>,
) -> Result<StatusCode, ApiError> {
    profile::change_password(
        &state,
        &me,
        &body.current_password,
        &body.new_password,
        body.reset_api_token,
    )
    .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The caller's sessions.
#[derive(Serialize, ToSchema)]
pub struct Sessions {
    /// Active sessions, most recently used first.
    results: Vec<SessionView>,
}

/// The caller's sessions
///
/// Every session the caller is signed in with that has neither expired nor gone idle: when it
/// began, when it was last used, from which address and browser. The one this request was made
/// with (cookie authentication) is marked `current`. No session's secret is ever shown. Any
/// signed-in account may call it, Pending members and accounts without an organization included.
#[utoipa::path(get, path = "/current-user/sessions", tag = "current-user", operation_id = "listSessions",
    responses(
        (status = 200, description = "The caller's sessions.", body = Sessions),
        SignedInErrors,
    ))]
pub async fn list_sessions(
    State(state): State<AppState>,
    Authorized(me): Authorized<SignedIn>,
) -> ApiResult<Sessions> {
    Ok(Json(Sessions {
        results: sessions::list(&state, &me).await?,
    }))
}

/// How many sessions ended.
#[derive(Serialize, ToSchema)]
pub struct Ended {
    ended: u64,
}

/// Sign out everywhere else
///
/// Ends every session of the caller but the one this request was made with. Called with an API
/// token (which belongs to no session), it ends every session; the token keeps working (replace
/// it with `POST /api/current-user/reset-token`). Any signed-in account may call it, Pending members and accounts without an organization included.
#[utoipa::path(delete, path = "/current-user/sessions", tag = "current-user", operation_id = "endOtherSessions",
    responses(
        (status = 200, description = "How many sessions ended.", body = Ended),
        SignedInErrors,
    ))]
pub async fn end_other_sessions(
    State(state): State<AppState>,
    Authorized(me): Authorized<SignedIn>,
) -> ApiResult<Ended> {
    Ok(Json(Ended {
        ended: sessions::end_others(&state, &me).await?,
    }))
}

/// End one session
///
/// Signs the caller out of one of their sessions, named by the `id` that
/// `GET /api/current-user/sessions` shows. Any signed-in account may call it, Pending members and accounts without an organization included.
#[utoipa::path(delete, path = "/current-user/sessions/{session_id}", tag = "current-user", operation_id = "endSession",
    params(("session_id" = String, Path, description = "The session's id, as listed.")),
    responses(
        (status = 204, description = "The session has ended."),
        (status = 404, description = "The caller has no such session (it may have ended already).", body = ErrorBody),
        SignedInErrors,
    ))]
pub async fn end_session(
    State(state): State<AppState>,
    Authorized(me): Authorized<SignedIn>,
    params: RawPathParams,
) -> Result<StatusCode, ApiError> {
    let id = params
        .iter()
        .find(|(name, _)| *name == "session_id")
        .map(|(_, value)| value.to_owned())
        .unwrap_or_default();
    sessions::end_one(&state, &me, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

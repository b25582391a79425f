//! Personal access tokens (`/api/token/…`) and the organization's token settings
//! (`/api/jwt/settings`) and session policy (`/api/session-policy/`), as Label Studio serves
//! them to its SDK (SPEC section 13).

use axum::{extract::State, http::StatusCode, Json};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::{responses::*, ApiResult, Authorized, JsonBody};
use crate::{
    domain::{NewPersonalToken, PersonalToken, SessionPolicy, TokenSettings},
    server::{
        api_settings::{self, TokenSettingsChange},
        auth::{personal_tokens, Active, Admin, Anyone},
        error::{ApiError, ErrorBody},
        AppState,
    },
};

/// A personal access token just made: `token` is shown this once.
#[derive(Serialize, ToSchema)]
pub struct CreatedToken {
    /// The refresh token (a JWT): exchange it for access tokens at `POST /api/token/refresh/`.
    token: String,
    /// The token's id (its `jti` claim).
    id: String,
    #[schema(format = DateTime)]
    created_at: String,
    #[schema(format = DateTime)]
    expires_at: String,
}

impl From<NewPersonalToken> for CreatedToken {
    fn from(t: NewPersonalToken) -> Self {
        Self {
            token: t.token,
            id: t.about.id,
            created_at: t.about.created_at,
            expires_at: t.about.expires_at,
        }
    }
}

/// A refresh token, as the token endpoints take it.
#[derive(ToSchema)]
pub struct RefreshBody {
    /// A personal access token (the refresh token `POST /api/token/` made).
    refresh: String,
}

impl<'de> Deserialize<'de> for RefreshBody {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        struct Fields {
            refresh: String,
        }
        super::password_reset::from_object::<D, Fields>(d).map(|f| Self { refresh: f.refresh })
    }
}

/// A new access token.
#[derive(Serialize, ToSchema)]
pub struct Access {
    /// Send it as `Authorization: Bearer <access>`; it lives 5 minutes.
    access: String,
}

/// The refresh token that replaced the one sent.
#[derive(Serialize, ToSchema)]
pub struct Rotated {
    refresh: String,
}

/// The caller's personal access tokens
///
/// The live one, if any (a user holds at most one): when it was made, when it expires and when it
/// was last used; never its secret. Any active member may call it.
#[utoipa::path(get, path = "/token/", tag = "tokens", operation_id = "listPersonalAccessTokens",
    responses(
        (status = 200, description = "The caller's live personal access tokens.", body = Vec<PersonalToken>),
        ActiveErrors,
    ))]
pub async fn list(
    State(state): State<AppState>,
    Authorized(me): Authorized<Active>,
) -> ApiResult<Vec<PersonalToken>> {
    Ok(Json(personal_tokens::list(&state, &me).await?))
}

/// Create a personal access token
///
/// A refresh token (a JWT carrying `token_type`, `exp`, `iat`, `jti` and `user_id`) that lives
/// as many days as the organization's `api_token_ttl_days`; shown this once. A user holds at most
/// one: with a live one, 409 (revoke or rotate it first). Refused with 403 when the organization
/// turned personal access tokens off. No request body is needed. Any active member may call it.
#[utoipa::path(post, path = "/token/", tag = "tokens", operation_id = "createPersonalAccessToken",
    responses(
        (status = 201, description = "The new token, shown this once.", body = CreatedToken),
        (status = 409, description = "The caller already has a live personal access token.", body = ErrorBody),
        ActiveErrors,
    ))]
pub async fn create(
    State(state): State<AppState>,
    Authorized(me): Authorized<Active>,
) -> Result<(StatusCode, Json<CreatedToken>), ApiError> {
    let made = personal_tokens::create(&state, &me).await?;
    Ok((StatusCode::CREATED, Json(made.into())))
}

/// Exchange a personal access token for an access token
///
/// Needs no other credential: the refresh token is the proof. Returns an access token that lives
/// 5 minutes, to send as `Authorization: Bearer <access>`. A refresh token that is unknown,
/// expired, rotated away or revoked, or of a deactivated or removed member, is answered 401; one
/// of an organization that turned personal access tokens off, 403.
#[utoipa::path(post, path = "/token/refresh/", tag = "tokens", operation_id = "refreshPersonalAccessToken",
    security(()),
    request_body = RefreshBody,
    responses(
        (status = 200, description = "An access token.", body = Access),
        (status = 400, description = "A body that cannot be read.", body = ErrorBody),
        (status = 401, description = "The refresh token is invalid, expired or revoked.", body = ErrorBody),
        (status = 403, description = "The organization turned personal access tokens off.", body = ErrorBody),
        BodyErrors,
    ))]
pub async fn refresh(
    State(state): State<AppState>,
    Authorized(_anyone): Authorized<Anyone>,
    JsonBody(body): JsonBody<RefreshBody>,
) -> ApiResult<Access> {
    Ok(Json(Access {
        access: personal_tokens::refresh(&state, &body.refresh).await?,
    }))
}

/// Rotate a personal access token
///
/// Replaces the refresh token sent with a new one (same lifetime rules), which is returned; the
/// old one stops working at once, and so do the access tokens made from it. The refresh token is
/// the proof; no other credential is needed.
#[utoipa::path(post, path = "/token/rotate/", tag = "tokens", operation_id = "rotatePersonalAccessToken",
    security(()),
    request_body = RefreshBody,
    responses(
        (status = 200, description = "The new refresh token.", body = Rotated),
        (status = 400, description = "A body that cannot be read.", body = ErrorBody),
        (status = 401, description = "The refresh token is invalid, expired or revoked.", body = ErrorBody),
        (status = 403, description = "The organization turned personal access tokens off.", body = ErrorBody),
        BodyErrors,
    ))]
pub async fn rotate(
    State(state): State<AppState>,
    Authorized(anyone): Authorized<Anyone>,
    JsonBody(body): JsonBody<RefreshBody>,
) -> ApiResult<Rotated> {
    let made = personal_tokens::rotate(&state, anyone.origin(), &body.refresh).await?;
    Ok(Json(Rotated {
        refresh: made.token,
    }))
}

/// Revoke a personal access token
///
/// The refresh token sent stops working at once, on every instance, and so do the access tokens
/// made from it. The refresh token is the proof; no other credential is needed.
#[utoipa::path(post, path = "/token/blacklist/", tag = "tokens", operation_id = "revokePersonalAccessToken",
    security(()),
    request_body = RefreshBody,
    responses(
        (status = 204, description = "Revoked."),
        (status = 400, description = "A body that cannot be read.", body = ErrorBody),
        (status = 401, description = "The refresh token is invalid, expired or revoked already.", body = ErrorBody),
        BodyErrors,
    ))]
pub async fn blacklist(
    State(state): State<AppState>,
    Authorized(anyone): Authorized<Anyone>,
    JsonBody(body): JsonBody<RefreshBody>,
) -> Result<StatusCode, ApiError> {
    personal_tokens::blacklist(&state, anyone.origin(), &body.refresh).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The organization's API token settings
///
/// Whether the legacy `Authorization: Token` works, whether personal access tokens may be made,
/// and how many days a new one lives. Owner or Administrator only.
#[utoipa::path(get, path = "/jwt/settings", tag = "tokens", operation_id = "getTokenSettings",
    responses(
        (status = 200, description = "The settings.", body = TokenSettings),
        AdminErrors,
    ))]
pub async fn get_settings(
    State(state): State<AppState>,
    Authorized(me): Authorized<Admin>,
) -> ApiResult<TokenSettings> {
    Ok(Json(api_settings::token_settings(&state, &me).await?))
}

/// A change to the token settings; a field left out keeps its value.
#[derive(ToSchema)]
pub struct TokenSettingsBody {
    /// Whether `Authorization: Token <api token>` is accepted. Turned off, it is answered 401.
    legacy_api_tokens_enabled: Option<bool>,
    /// Whether personal access tokens may be made and refreshed. Turned off, access tokens stop
    /// working too.
    api_tokens_enabled: Option<bool>,
    /// How many days a new personal access token lives: 1 to 73000.
    #[schema(minimum = 1, maximum = 73000)]
    api_token_ttl_days: Option<i64>,
}

impl<'de> Deserialize<'de> for TokenSettingsBody {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        struct Fields {
            legacy_api_tokens_enabled: Option<bool>,
            api_tokens_enabled: Option<bool>,
            #[serde(default, deserialize_with = "optional_whole_number")]
            api_token_ttl_days: Option<i64>,
        }
        super::password_reset::from_object::<D, Fields>(d).map(|f| Self {
            legacy_api_tokens_enabled: f.legacy_api_tokens_enabled,
            api_tokens_enabled: f.api_tokens_enabled,
            api_token_ttl_days: f.api_token_ttl_days,
        })
    }
}

/// A whole number (`7` or `7.0`), or `null` for none.
fn optional_whole_number<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<i64>, D::Error> {
    #[derive(Deserialize)]
    struct Whole(#[serde(deserialize_with = "super::whole_number")] i64);
    Ok(Option::<Whole>::deserialize(d)?.map(|Whole(n)| n))
}

/// Change the organization's API token settings
///
/// Owner or Administrator only; logged. Turning legacy tokens off makes every
/// `Authorization: Token` request of the organization's members 401, this one's caller included
/// (use a session or a personal access token).
#[utoipa::path(post, path = "/jwt/settings", tag = "tokens", operation_id = "changeTokenSettings",
    request_body = TokenSettingsBody,
    responses(
        (status = 200, description = "The settings as saved.", body = TokenSettings),
        (status = 400, description = "A body that cannot be read, or a lifetime out of range.", body = ErrorBody),
        AdminErrors,
        BodyErrors,
    ))]
pub async fn change_settings(
    State(state): State<AppState>,
    Authorized(me): Authorized<Admin>,
    JsonBody(body): JsonBody<TokenSettingsBody>,
) -> ApiResult<TokenSettings> {
    let change = TokenSettingsChange {
        legacy_api_tokens_enabled: body.legacy_api_tokens_enabled,
        api_tokens_enabled: body.api_tokens_enabled,
        api_token_ttl_days: body.api_token_ttl_days,
    };
    Ok(Json(
        api_settings::change_token_settings(&state, &me, change).await?,
    ))
}

/// The organization's session policy
///
/// In minutes: how long a session lasts after sign-in, and without a request. The server's
/// `LABEL_STUDIO_SESSION_MAX_DAYS` and `LABEL_STUDIO_SESSION_IDLE_HOURS` are the defaults and
/// the upper limits. Owner or Administrator only.
#[utoipa::path(get, path = "/session-policy/", tag = "tokens", operation_id = "getSessionPolicy",
    responses(
        (status = 200, description = "The policy.", body = SessionPolicy),
        AdminErrors,
    ))]
pub async fn get_session_policy(
    State(state): State<AppState>,
    Authorized(me): Authorized<Admin>,
) -> ApiResult<SessionPolicy> {
    Ok(Json(api_settings::session_policy(&state, &me).await?))
}

/// A change to the session policy, in minutes; a field left out keeps its value.
#[derive(ToSchema)]
pub struct SessionPolicyBody {
    /// 1 up to the server's `LABEL_STUDIO_SESSION_MAX_DAYS` in minutes.
    #[schema(minimum = 1)]
    max_session_age: Option<i64>,
    /// 1 up to the server's `LABEL_STUDIO_SESSION_IDLE_HOURS` in minutes.
    #[schema(minimum = 1)]
    max_time_between_activity: Option<i64>,
}

impl<'de> Deserialize<'de> for SessionPolicyBody {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        struct Fields {
            #[serde(default, deserialize_with = "optional_whole_number")]
            max_session_age: Option<i64>,
            #[serde(default, deserialize_with = "optional_whole_number")]
            max_time_between_activity: Option<i64>,
        }
        super::password_reset::from_object::<D, Fields>(d).map(|f| Self {
            max_session_age: f.max_session_age,
            max_time_between_activity: f.max_time_between_activity,
        })
    }
}

/// Change the organization's session policy
///
/// Owner or Administrator only; logged. Every session of the organization's members follows it
/// from their next request: one older, or idle for longer, than it allows has ended.
#[utoipa::path(patch, path = "/session-policy/", tag = "tokens", operation_id = "changeSessionPolicy",
    request_body = SessionPolicyBody,
    responses(
        (status = 200, description = "The policy as saved.", body = SessionPolicy),
        (status = 400, description = "A body that cannot be read, or a value out of range.", body = ErrorBody),
        AdminErrors,
        BodyErrors,
    ))]
pub async fn change_session_policy(
    State(state): State<AppState>,
    Authorized(me): Authorized<Admin>,
    JsonBody(body): JsonBody<SessionPolicyBody>,
) -> ApiResult<SessionPolicy> {
    Ok(Json(
        api_settings::change_session_policy(
            &state,
            &me,
            body.max_session_age,
            body.max_time_between_activity,
        )
        .await?,
    ))
}

//! `/api/password-reset/…`: asking for a reset link, and setting a new password with one.

use axum::{
    extract::State,
    http::{header, HeaderValue, StatusCode},
    response::{IntoResponse, Response},
    Json,
};
use serde::{de::DeserializeOwned, Deserialize, Deserializer, Serialize};
use utoipa::ToSchema;

use super::{responses::*, Authorized, JsonBody};
use crate::server::{
    auth::{reset_link, Anyone},
    error::{ApiError, ErrorBody},
    AppState,
};

/// Reads a body as `T` only from a JSON object (serde would take an array of the fields too).
pub(super) fn from_object<'de, D: Deserializer<'de>, T: DeserializeOwned>(
    d: D,
) -> Result<T, D::Error> {
    let object = serde_json::Map::<String, serde_json::Value>::deserialize(d)?;
    serde_json::from_value(serde_json::Value::Object(object)).map_err(serde::de::Error::custom)
}

/// Whose password to reset.
#[derive(ToSchema)]
pub struct ResetRequest {
    /// The account's email address. Any string is answered alike.
    email: String,
}

impl<'de> Deserialize<'de> for ResetRequest {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        struct Fields {
            email: String,
        }
        from_object::<D, Fields>(d).map(|f| Self { email: f.email })
    }
}

/// The answer to a reset request, the same for every address.
#[derive(Serialize, ToSchema)]
pub struct ResetRequested {
    /// "If an account exists for that address, we sent a link."
    detail: &'static str,
}

/// Ask for a password reset link
///
/// No authentication. If the address has an account, a mail with a link to
/// `/user/reset-password?token=ghr_…` is queued; the link works once, for an hour, and asking
/// again ends the earlier link. Every address, with or without an account, even one that is not
/// an address at all, gets the same answer (202) in the same time. At most
/// LABEL_STUDIO_SIGNUPS_PER_HOUR requests (with signups and verification resends) per client
/// address in an hour.
#[utoipa::path(post, path = "/password-reset/request", tag = "password-reset", operation_id = "requestPasswordReset",
    security(()),
    request_body = ResetRequest,
    responses(
        (status = 202, description = "Accepted, whatever the address.", body = ResetRequested),
        (status = 400, description = "A body that is not an object with an `email` string.", body = ErrorBody),
        (status = 429, description = "Too many requests from this client address. `Retry-After` says when to try again.", body = ErrorBody,
            headers(("Retry-After" = u64, description = "Seconds to wait."))),
        (status = 500, response = InternalError),
        BodyErrors,
    ))]
pub async fn request(
    State(state): State<AppState>,
    Authorized(caller): Authorized<Anyone>,
    JsonBody(body): JsonBody<ResetRequest>,
) -> Result<Response, ApiError> {
    reset_link::request(&state, &caller, &body.email).await?;
    Ok((
        StatusCode::ACCEPTED,
        Json(ResetRequested {
            detail: reset_link::REQUESTED,
        }),
    )
        .into_response())
}

/// A new password, with the token from the reset link.
#[derive(ToSchema)]
pub struct ResetConfirm {
    /// The `token` of the link in the mail (`ghr_…`).
    token: String,
    /// The new password: 8 to 128 characters.
    password: String,
}

impl<'de> Deserialize<'de> for ResetConfirm {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        struct Fields {
            token: String,
            password: String,
        }
        from_object::<D, Fields>(d).map(|f| Self {
            token: f.token,
            password: f.password,
        })
    }
}

/// Set a new password with a reset link
///
/// No authentication: the token is the proof. The token is used up, every session of the
/// account ends, and a new session starts (its cookie is set). The API token is unchanged.
#[utoipa::path(post, path = "/password-reset/confirm", tag = "password-reset", operation_id = "confirmPasswordReset",
    security(()),
    request_body = ResetConfirm,
    responses(
        (status = 204, description = "The password is set; the response sets the new session cookie.",
            headers(("Set-Cookie" = String, description = "The new session."))),
        (status = 400, description = "A body that cannot be read, a password that is too short or too long, or a token that is invalid, expired, already used or replaced by a newer one (\"… Request a new one.\").", body = ErrorBody),
        (status = 500, response = InternalError),
        (status = 503, description = "The server is busy hashing passwords. `Retry-After` says when to try again.", body = ErrorBody,
            headers(("Retry-After" = u64, description = "Seconds to wait."))),
        BodyErrors,
    ))]
pub async fn confirm(
    State(state): State<AppState>,
    Authorized(caller): Authorized<Anyone>,
    JsonBody(body): JsonBody<ResetConfirm>,
) -> Result<Response, ApiError> {
    let next = reset_link::confirm(&state, &caller, &body.token, &body.password).await?;
    let mut response = StatusCode::NO_CONTENT.into_response();
    if let Ok(cookie) = HeaderValue::from_str(next.set_cookie()) {
        response.headers_mut().insert(header::SET_COOKIE, cookie);
    }
    Ok(response)
}

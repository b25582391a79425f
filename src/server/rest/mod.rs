//! The REST API under `/api` (SPEC section 6): JSON in and out, JSON errors, token or session auth.

use axum::{
    extract::{FromRequest, FromRequestParts, RawPathParams, Request, State},
    http::{request::Parts, HeaderMap},
    response::IntoResponse,
    routing::{get, post},
    Json, Router,
};
use serde::{de::DeserializeOwned, Deserialize};
use serde_json::json;

use super::{
    accounts,
    auth::{self, Active, Admin, Scope, Witness},
    error::ApiError,
    invites, members, organization, roles, AppState,
};
use crate::domain::{split_email_list, AppError, InviteLink, MemberPage, MemberRow, OrganizationView, Role};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/organization", get(get_organization).patch(patch_organization))
        .route("/organization/", get(get_organization).patch(patch_organization))
        .route("/organizations/{id}", get(get_organization).patch(patch_organization))
        .route("/organizations/{id}/", get(get_organization).patch(patch_organization))
        .route("/organizations/{id}/memberships", get(list_memberships).patch(change_membership))
        .route("/organizations/{id}/memberships/", get(list_memberships).patch(change_membership))
        .route("/invite", get(get_invite))
        .route("/invite/", get(get_invite))
        .route("/invite/reset-token", post(reset_invite))
        .route("/invite/send-email", post(send_email_invites))
        .route("/invite/revoke", post(revoke_invite))
        .route("/current-user/whoami", get(whoami))
        .route("/current-user/token", get(get_token))
        .route("/current-user/reset-token", post(reset_token))
        .route("/openapi.json", get(openapi))
        .fallback(|| async { ApiError(AppError::NotFound("There is no API endpoint at this address.".into())) })
}

type ApiResult<T> = Result<Json<T>, ApiError>;

/// The caller, proven to meet `W` (see `auth::authorize`, the one way in). On a path with an
/// `{id}`, that id must name the caller's organization; another is "not found".
pub struct Authorized<W>(pub W);

impl<W: Witness> FromRequestParts<AppState> for Authorized<W> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let params = RawPathParams::from_request_parts(parts, state).await.ok();
        let named = params.as_ref().and_then(|p| p.iter().find(|(name, _)| *name == "id").map(|(_, value)| value));
        let scope = named.map_or(Scope::Own, Scope::Named);
        Ok(Authorized(auth::authorize::<W>(state, &parts.headers, scope).await?))
    }
}

/// A JSON body whose every rejection (bad syntax, wrong type, wrong content type, too large)
/// becomes a JSON error with a 4xx status.
pub struct JsonBody<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for JsonBody<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        use axum::extract::rejection::JsonRejection;
        match Json::<T>::from_request(req, state).await {
            Ok(Json(value)) => Ok(JsonBody(value)),
            Err(rejection) => Err(ApiError(match rejection {
                JsonRejection::MissingJsonContentType(_) => {
                    AppError::BadRequest("Send a JSON body with the header Content-Type: application/json.".into())
                }
                r if r.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE => AppError::PayloadTooLarge,
                r => AppError::BadRequest(r.body_text()),
            })),
        }
    }
}

#[derive(Deserialize)]
struct OrganizationPatch {
    title: Option<String>,
}

impl OrganizationPatch {
    fn title(self) -> Result<String, ApiError> {
        self.title.ok_or_else(|| ApiError(AppError::invalid("title", "Send the new title as {\"title\": \"...\"}.")))
    }
}

async fn get_organization(State(state): State<AppState>, Authorized(me): Authorized<Active>) -> ApiResult<OrganizationView> {
    Ok(Json(organization::view(&state, &me).await?))
}

async fn patch_organization(
    State(state): State<AppState>,
    Authorized(me): Authorized<Admin>,
    JsonBody(patch): JsonBody<OrganizationPatch>,
) -> ApiResult<OrganizationView> {
    Ok(Json(organization::rename(&state, &me, &patch.title()?).await?))
}

#[derive(Deserialize)]
struct MembershipQuery {
    page: Option<String>,
    page_size: Option<String>,
    role: Option<String>,
    search: Option<String>,
}

fn number(field: &str, value: Option<String>, default: i64) -> Result<i64, ApiError> {
    match value.as_deref().map(str::trim) {
        None | Some("") => Ok(default),
        Some(v) => v.parse().map_err(|_| ApiError(AppError::invalid(field, format!("{field} must be a whole number, not {v:?}.")))),
    }
}

async fn list_memberships(
    State(state): State<AppState>,
    Authorized(me): Authorized<Admin>,
    query: Result<axum::extract::Query<MembershipQuery>, axum::extract::rejection::QueryRejection>,
) -> ApiResult<MemberPage> {
    let axum::extract::Query(q) = query.map_err(|e| ApiError(AppError::BadRequest(e.body_text())))?;
    let role = match q.role.as_deref().map(str::trim) {
        None | Some("") => None,
        Some(r) => Some(r.parse::<Role>()?),
    };
    let query = members::Query {
        page: number("page", q.page, 1)?,
        page_size: number("page_size", q.page_size, 50)?,
        role,
        search: q.search.unwrap_or_default(),
    };
    Ok(Json(members::list(&state, &me, query).await?))
}

#[derive(Deserialize)]
struct MembershipChange {
    user_id: i64,
    role: Role,
}

async fn change_membership(
    State(state): State<AppState>,
    Authorized(me): Authorized<Admin>,
    JsonBody(change): JsonBody<MembershipChange>,
) -> ApiResult<MemberRow> {
    Ok(Json(roles::change_role(&state, &me, change.user_id, change.role).await?))
}

async fn get_invite(State(state): State<AppState>, Authorized(me): Authorized<Admin>, headers: HeaderMap) -> ApiResult<InviteLink> {
    Ok(Json(invites::link(&state, &me, &headers).await?))
}

async fn reset_invite(State(state): State<AppState>, Authorized(me): Authorized<Admin>, headers: HeaderMap) -> ApiResult<InviteLink> {
    Ok(Json(invites::reset_link(&state, &me, &headers).await?))
}

#[derive(Deserialize)]
struct SendEmails {
    emails: Vec<String>,
    role: Option<Role>,
}

async fn send_email_invites(
    State(state): State<AppState>,
    Authorized(me): Authorized<Admin>,
    headers: HeaderMap,
    JsonBody(body): JsonBody<SendEmails>,
) -> Result<impl IntoResponse, ApiError> {
    let addresses = split_email_list(&body.emails.join("\n"));
    let role = body.role.unwrap_or(Role::Annotator);
    let invited = invites::send(&state, &me, &addresses, role, &headers).await?;
    Ok(match invited.refusal {
        Some(refusal) => {
            let body = json!({ "status_code": 409, "detail": refusal.to_string(), "validation_errors": {}, "results": invited.results });
            (axum::http::StatusCode::CONFLICT, Json(body))
        }
        None => (axum::http::StatusCode::OK, Json(json!({ "results": invited.results }))),
    })
}

#[derive(Deserialize)]
struct Revoke {
    email: String,
}

async fn revoke_invite(
    State(state): State<AppState>,
    Authorized(me): Authorized<Admin>,
    JsonBody(body): JsonBody<Revoke>,
) -> Result<impl IntoResponse, ApiError> {
    invites::revoke_address(&state, &me, &body.email).await?;
    Ok(Json(json!({ "detail": format!("The invitation for {} was revoked; its link no longer works.", body.email.trim().to_lowercase()) })))
}

async fn whoami(Authorized(me): Authorized<Active>) -> impl IntoResponse {
    Json(json!({
        "id": me.user_id(),
        "email": me.email(),
        "role": me.role(),
        "organization_id": me.organization_id(),
    }))
}

async fn get_token(State(state): State<AppState>, Authorized(me): Authorized<Active>) -> Result<impl IntoResponse, ApiError> {
    Ok(Json(json!({ "token": accounts::api_token(&state, &me).await? })))
}

async fn reset_token(State(state): State<AppState>, Authorized(me): Authorized<Active>) -> Result<impl IntoResponse, ApiError> {
    Ok(Json(json!({ "token": accounts::reset_api_token(&state, &me).await? })))
}

async fn openapi() -> impl IntoResponse {
    (
        [(axum::http::header::CONTENT_TYPE, "application/json")],
        include_str!("openapi.json"),
    )
}

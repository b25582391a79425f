//! The REST API under `/api` (SPEC section 6): JSON in and out, JSON errors, token or session
//! auth. The routes and the OpenAPI document at `/api/openapi.json` are built from the same
//! handlers, so the two cannot drift.

mod audit;
mod current_user;
mod invites;
mod label_studio;
mod meta;
mod organization;
mod password_reset;
mod responses;
mod scim;
mod sso;
mod tokens;
mod two_factor;

use std::sync::LazyLock;

use axum::{
    extract::{FromRequest, FromRequestParts, Query, RawPathParams, Request},
    http::{header, request::Parts, StatusCode},
    response::{IntoResponse, Response},
    routing::{delete, get, post},
    Json, Router,
};
use serde::{de::DeserializeOwned, Deserialize};
use utoipa::{
    openapi::security::{ApiKey, ApiKeyValue, SecurityScheme},
    IntoParams, Modify, OpenApi,
};
use utoipa_axum::{router::OpenApiRouter, routes};

use super::{
    auth::{self, Scope, Witness},
    error::ApiError,
    AppState,
};
use crate::domain::{AppError, Page};

const DESCRIPTION: &str = "The REST API of gatehouse: JSON in and out, JSON errors.

Authenticate with your personal API token, shown on the Account page or returned by `GET /api/current-user/token`, in the header `Authorization: Token <api token>`:

```sh
curl -X PATCH -H \"Content-Type: application/json\" -H \"Authorization: Token $TOKEN\" -d '{\"title\": \"new title\"}' http://127.0.0.1:3000/api/organization/
```

Label Studio's personal access tokens work too (its SDK uses them): `POST /api/token/` makes a refresh token (a JWT, shown once), `POST /api/token/refresh/` with `{\"refresh\": \"<token>\"}` gives an access token that lives 5 minutes, and that is sent as `Authorization: Bearer <access token>` wherever `Token` works.

Roles are answered by name (`OWNER`, `ADMINISTRATOR`, `MANAGER`, `REVIEWER`, `ANNOTATOR`, `NOT_ACTIVATED`, `DEACTIVATED`) and taken by name or by Label Studio's two-letter code (`OW`, `AD`, `MA`, `RE`, `AN`, `NO`, `DI`), without regard to case. Label Studio's paths are served beside gatehouse's, with or without their trailing slash.

In the browser the session cookie works too; a state-changing request (anything but GET, HEAD or OPTIONS) sent with the cookie and without an `Authorization` header must come from the app's own origin, or it is refused with 403.

Every error is a JSON object `{\"status_code\", \"detail\", \"validation_errors\"}` (see the `Error` schema). Request bodies are limited to 256 KiB. A path under `/api` that matches no endpoint is answered with a 404 error, and a method an endpoint does not take with 405 and an `Allow` header.";

#[derive(OpenApi)]
#[openapi(
    info(title = "gatehouse REST API", description = DESCRIPTION),
    modifiers(&Security),
    security(("TokenAuth" = []), ("BearerAuth" = []), ("SessionCookie" = [])),
    components(responses(
        responses::Unauthenticated,
        responses::ForbiddenInactive,
        responses::ForbiddenDeactivated,
        responses::ForbiddenManage,
        responses::OrganizationNotFound,
        responses::PayloadTooLarge,
        responses::InternalError,
    )),
    tags(
        (name = "organization", description = "The caller's organization and its members."),
        (name = "invitations", description = "The invite link and email invitations."),
        (name = "current-user", description = "The caller's own account: name, password, sessions and API token."),
        (name = "tokens", description = "Personal access tokens (Label Studio's JWT refresh and access tokens), and the organization's token settings and session policy."),
        (name = "password-reset", description = "A forgotten password: a link by mail, then a new password."),
        (name = "sso", description = "Single sign-on and SCIM provisioning: the organization's identity provider settings. SCIM 2.0 itself is served under /scim/v2 with the organization's SCIM token (Authorization: Bearer ghs_…)."),
        (name = "meta", description = "This document and the health check."),
    )
)]
struct ApiDoc;

struct Security;

impl Modify for Security {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "TokenAuth",
            SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::with_description(
                "Authorization",
                "`Token <api token>`: the personal API token from the Account page or from `GET /api/current-user/token`. \
                 The scheme word `Token` is case-insensitive. When this header is present it is used and the session \
                 cookie is ignored; a malformed header or an unknown token is answered with 401.",
            ))),
        );
        components.add_security_scheme(
            "BearerAuth",
            SecurityScheme::Http(
                utoipa::openapi::security::HttpBuilder::new()
                    .scheme(utoipa::openapi::security::HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .description(Some(
                        "`Bearer <access token>`: an access token from `POST /api/token/refresh/`, which lives 5 \
                         minutes. An expired one, one whose personal access token was revoked, and one of an \
                         organization that turned personal access tokens off are answered with 401.",
                    ))
                    .build(),
            ),
        );
        components.add_security_scheme(
            "SessionCookie",
            SecurityScheme::ApiKey(ApiKey::Cookie(ApiKeyValue::with_description(
                auth::sessions::SESSION_COOKIE,
                "The browser session set at sign-in. State-changing requests authenticated this way must come from \
                 the app's own origin; cross-site ones get 403. An expired or unknown session counts as no credentials (401).",
            ))),
        );
    }
}

/// The routes and their document, from the handlers' annotations.
fn parts() -> (Router<AppState>, utoipa::openapi::OpenApi) {
    let api = OpenApiRouter::new()
        .routes(routes!(organization::get_own, organization::rename_own))
        .routes(routes!(organization::get_by_id, organization::rename_by_id))
        .routes(routes!(
            organization::list_memberships,
            organization::change_membership
        ))
        .routes(routes!(
            label_studio::membership_without_slash,
            organization::remove_membership
        ))
        .routes(routes!(
            label_studio::membership,
            label_studio::remove_membership
        ))
        .routes(routes!(label_studio::organizations))
        .routes(routes!(label_studio::users))
        .routes(routes!(label_studio::user))
        .routes(routes!(label_studio::activity_logs))
        .routes(routes!(tokens::list, tokens::create))
        .routes(routes!(tokens::refresh))
        .routes(routes!(tokens::rotate))
        .routes(routes!(tokens::blacklist))
        .routes(routes!(tokens::get_settings, tokens::change_settings))
        .routes(routes!(
            tokens::get_session_policy,
            tokens::change_session_policy
        ))
        .routes(routes!(sso::get_oidc, sso::change_oidc, sso::delete_oidc))
        .routes(routes!(sso::get_saml, sso::change_saml, sso::delete_saml))
        .routes(routes!(scim::get_settings, scim::change_settings))
        .routes(routes!(audit::list))
        .routes(routes!(audit::export))
        .routes(routes!(invites::get_link))
        .routes(routes!(invites::reset_link))
        .routes(routes!(invites::send_email))
        .routes(routes!(invites::revoke))
        .routes(routes!(current_user::whoami))
        .routes(routes!(current_user::token))
        .routes(routes!(current_user::reset_token))
        .routes(routes!(password_reset::request))
        .routes(routes!(password_reset::confirm))
        .routes(routes!(label_studio::current_user, current_user::update))
        .routes(routes!(current_user::change_password))
        .routes(routes!(
            current_user::list_sessions,
            current_user::end_other_sessions
        ))
        .routes(routes!(current_user::end_session))
        .routes(routes!(two_factor::status))
        .routes(routes!(two_factor::get_policy, two_factor::change_policy))
        .routes(routes!(two_factor::reset_member))
        .routes(routes!(meta::openapi));
    let (api, api_doc) = api.split_for_parts();
    // The same endpoints with and without a trailing slash (the document lists one spelling).
    let api = api
        .route("/organization", organization::own_routes())
        .route("/organizations/{id}/", organization::by_id_routes())
        .route(
            "/organizations/{id}/memberships/",
            organization::membership_routes(),
        )
        .route("/invite/", get(invites::get_link))
        // Label Studio's SDK spells these with a trailing slash, or without.
        .route("/organizations", get(label_studio::organizations))
        .route("/users", get(label_studio::users))
        .route("/users/{user_id}", get(label_studio::user))
        .route("/activity-logs", get(label_studio::activity_logs))
        .route(
            "/current-user/",
            get(label_studio::current_user).patch(current_user::update),
        )
        .route(
            "/current-user/reset-token/",
            post(current_user::reset_token),
        )
        .route("/token", get(tokens::list).post(tokens::create))
        .route("/token/refresh", post(tokens::refresh))
        .route("/token/rotate", post(tokens::rotate))
        .route("/token/blacklist", post(tokens::blacklist))
        .route(
            "/jwt/settings/",
            get(tokens::get_settings).post(tokens::change_settings),
        )
        .route(
            "/saml/settings/",
            get(sso::get_saml)
                .post(sso::change_saml)
                .delete(sso::delete_saml),
        )
        .route(
            "/oidc/settings/",
            get(sso::get_oidc)
                .post(sso::change_oidc)
                .delete(sso::delete_oidc),
        )
        .route(
            "/scim/settings/",
            get(scim::get_settings).post(scim::change_settings),
        )
        .route("/current-user/two-factor/", get(two_factor::status))
        .route(
            "/organizations/{id}/two-factor-policy/",
            get(two_factor::get_policy).patch(two_factor::change_policy),
        )
        .route(
            "/organizations/{id}/memberships/{user_id}/two-factor/",
            delete(two_factor::reset_member),
        )
        .route(
            "/session-policy",
            get(tokens::get_session_policy).patch(tokens::change_session_policy),
        )
        .fallback(|| async {
            ApiError(AppError::NotFound(
                "There is no API endpoint at this address.".into(),
            ))
        });
    let (root, root_doc) = OpenApiRouter::with_openapi(ApiDoc::openapi())
        .routes(routes!(meta::health))
        .split_for_parts();
    let router = root
        .nest("/api", api)
        .layer(axum::middleware::map_response(method_not_allowed_as_json));
    (router, root_doc.nest("/api", api_doc))
}

/// The router answers a method an endpoint does not take with 405 and an `Allow` header; this
/// gives that answer the API's JSON error body too.
async fn method_not_allowed_as_json(response: Response) -> Response {
    if response.status() != StatusCode::METHOD_NOT_ALLOWED {
        return response;
    }
    let allow = response.headers().get(header::ALLOW).cloned();
    let mut json = ApiError(AppError::MethodNotAllowed(
        "This endpoint does not take this method; the Allow header lists those it takes.".into(),
    ))
    .into_response();
    if let Some(allow) = allow {
        json.headers_mut().insert(header::ALLOW, allow);
    }
    json
}

/// `/health` and the REST API under `/api`.
pub fn router() -> Router<AppState> {
    parts().0
}

/// The OpenAPI document, as served at `/api/openapi.json`.
pub fn document() -> &'static str {
    static DOCUMENT: LazyLock<String> = LazyLock::new(|| {
        parts()
            .1
            .to_pretty_json()
            .expect("the OpenAPI document serializes")
    });
    &DOCUMENT
}

type ApiResult<T> = Result<Json<T>, ApiError>;

/// The caller, proven to meet `W` (see `auth::authorize`, the one way in). On a path with an
/// `{id}`, that id must name the caller's organization; another is "not found".
pub struct Authorized<W>(pub W);

impl<W: Witness> FromRequestParts<AppState> for Authorized<W> {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        // A path whose parameters cannot be read (an id that is not UTF-8) names nothing of the
        // caller's: it is "not found", never the caller's own.
        let params = RawPathParams::from_request_parts(parts, state)
            .await
            .map_err(|_| ApiError(unreadable_path(parts)))?;
        let named = params
            .iter()
            .find(|(name, _)| *name == "id")
            .map(|(_, value)| value);
        let scope = named.map_or(Scope::Own, Scope::Named);
        Ok(Authorized(auth::authorize::<W>(state, parts, scope).await?))
    }
}

/// What a path that cannot be read would have named, as "not found": the route's parameters say
/// what it is about.
fn unreadable_path(parts: &Parts) -> AppError {
    let route = parts
        .extensions
        .get::<axum::extract::MatchedPath>()
        .map_or("", |m| m.as_str());
    if route.contains("{session_id}") {
        AppError::NotFound(super::auth::sessions::NO_SUCH_SESSION.into())
    } else if route.contains("{user_id}") {
        no_such_member()
    } else {
        auth::organization_not_found()
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
                JsonRejection::MissingJsonContentType(_) => AppError::BadRequest(
                    "Send a JSON body with the header Content-Type: application/json.".into(),
                ),
                r if r.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE => {
                    AppError::PayloadTooLarge
                }
                r => AppError::BadRequest(r.body_text()),
            })),
        }
    }
}

/// The `{id}` of a path under `/organizations/`, as the OpenAPI document describes it; the
/// [`Authorized`] caller is checked against it.
#[derive(IntoParams)]
#[into_params(names("id"), parameter_in = Path)]
#[allow(dead_code)] // described, never built: the caller's organization is the one that counts
pub struct OrganizationId(
    /// The caller's organization's id.
    i64,
);

/// The query string read as `T`; one that cannot be read is refused with 400 and the reason.
pub struct QueryParams<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequestParts<S> for QueryParams<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        match Query::<T>::from_request_parts(parts, state).await {
            Ok(Query(value)) => Ok(QueryParams(value)),
            Err(rejection) => Err(ApiError(AppError::BadRequest(rejection.body_text()))),
        }
    }
}

/// Which page of a list. Values are read as text first, so that a bad one gets a clear message.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PageQuery {
    /// From 1.
    #[param(value_type = Option<i64>, minimum = 1)]
    page: Option<String>,
    /// 1 to 100 (default 50).
    #[param(value_type = Option<i64>, minimum = 1, maximum = 100)]
    page_size: Option<String>,
}

impl PageQuery {
    /// The page asked for; without `page` or `page_size`, the first one, of 50 rows.
    pub fn parse(self) -> Result<Page, ApiError> {
        let number = query_number("page", self.page, 1)?;
        let size = query_number("page_size", self.page_size, 50)?;
        Ok(Page::parse(number, size)?)
    }
}

/// A whole-number query parameter (`page`, `page_size`): `default` when absent, a 400 on the
/// field otherwise.
fn query_number(field: &str, value: Option<String>, default: i64) -> Result<i64, ApiError> {
    Ok(optional_query_number(field, value)?.unwrap_or(default))
}

/// A whole-number query parameter, if given; a 400 on the field when it is not one.
fn optional_query_number(field: &str, value: Option<String>) -> Result<Option<i64>, ApiError> {
    value
        .as_deref()
        .map(str::trim)
        .map(|v| {
            v.parse().map_err(|_| {
                ApiError(AppError::invalid(
                    field,
                    format!("{field} must be a whole number, not {v:?}."),
                ))
            })
        })
        .transpose()
}

/// The `{user_id}` of a path: a whole number, else no such member (a 404).
fn path_user_id(params: &RawPathParams) -> Result<i64, ApiError> {
    params
        .iter()
        .find(|(name, _)| *name == "user_id")
        .and_then(|(_, value)| value.parse::<i64>().ok())
        .ok_or_else(|| ApiError(no_such_member()))
}

fn no_such_member() -> AppError {
    AppError::NotFound("There is no such member in this organization.".into())
}

/// Reads an integer as JSON Schema defines one: `7` and `7.0` alike (a number with a fractional
/// part, or out of range, is refused).
fn whole_number<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<i64, D::Error> {
    let number = serde_json::Number::deserialize(deserializer)?;
    number
        .as_i64()
        .or_else(|| {
            number
                .as_f64()
                .filter(|f| f.fract() == 0.0 && *f >= i64::MIN as f64 && *f < i64::MAX as f64)
                .map(|f| f as i64)
        })
        .ok_or_else(|| serde::de::Error::custom(format!("expected a whole number, not {number}")))
}

//! Cross-site request forgery protection (the security headers are in `headers`).
//!
//! A state-changing request that a browser sends with our session cookie must come from our own
//! origin: its `Origin` (or, failing that, `Sec-Fetch-Site`) says so. Requests authenticated by
//! `Authorization: Token …` are exempt: a cross-site page cannot set that header (only that
//! scheme is: it is the only one the app accepts).

use axum::{
    extract::{Request, State},
    http::{header, HeaderMap, Method},
    middleware::Next,
    response::{IntoResponse, Response},
};

use super::{error::ApiError, origin::RequestOrigin, AppState};
use crate::domain::AppError;

pub async fn same_origin_only(
    State(state): State<AppState>,
    request: Request,
    next: Next,
) -> Response {
    let safe = matches!(
        *request.method(),
        Method::GET | Method::HEAD | Method::OPTIONS
    );
    if !safe && !has_token(request.headers()) && !is_saml_acs(request.uri().path()) {
        if request.headers().get_all(header::ORIGIN).iter().count() > 1 {
            tracing::warn!(path = %request.uri().path(), "refused a request with two Origin headers");
            return ApiError(AppError::Forbidden(
                "Request refused: it carries more than one Origin header. Send it again from the app's own pages (a browser sends one)."
                    .into(),
            ))
            .into_response();
        }
        if !is_same_origin(&state, &request) {
            tracing::warn!(path = %request.uri().path(), "refused a cross-site request");
            return ApiError(AppError::Forbidden(
                "Cross-site request refused: this action must be sent from the app's own pages."
                    .into(),
            ))
            .into_response();
        }
    }
    next.run(request).await
}

/// Whether the request is an identity provider's SAML response (`/sso/{key}/saml/acs`): posted
/// from the provider's page, so cross-site by design, and proven by its signature instead.
fn is_saml_acs(path: &str) -> bool {
    path.strip_prefix("/sso/")
        .and_then(|rest| rest.split_once('/'))
        .is_some_and(|(key, rest)| !key.is_empty() && rest == "saml/acs")
}

/// Whether the request carries an `Authorization: Token …` header.
fn has_token(headers: &HeaderMap) -> bool {
    headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim_start().get(..6))
        .is_some_and(|scheme| scheme.eq_ignore_ascii_case("token "))
}

fn is_same_origin(state: &AppState, request: &Request) -> bool {
    let headers = request.headers();
    if let Some(origin) = headers.get(header::ORIGIN).and_then(|v| v.to_str().ok()) {
        // Browsers send the scheme in lower case: `HTTP://…` comes from something else.
        let (scheme, _) = origin.split_once("://").unwrap_or_default();
        if scheme.bytes().any(|b| b.is_ascii_uppercase()) {
            return false;
        }
        let ours = request
            .extensions()
            .get::<RequestOrigin>()
            .map(|o| o.public.as_str());
        return [ours, state.config.public_url.as_deref()]
            .into_iter()
            .flatten()
            .any(|ours| origin.eq_ignore_ascii_case(ours));
    }
    // No Origin: only a browser that says the request is cross-site is refused; other clients
    // (scripts, curl) carry no ambient cookie unless they chose to send one.
    !matches!(
        headers.get("sec-fetch-site").and_then(|v| v.to_str().ok()),
        Some("cross-site") | Some("same-site")
    )
}

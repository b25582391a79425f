//! Cross-site request forgery protection and security headers.
//!
//! A state-changing request that a browser sends with our session cookie must come from our own
//! origin: its `Origin` (or, failing that, `Sec-Fetch-Site`) says so. Requests authenticated by
//! `Authorization: Token` are exempt: a cross-site page cannot set that header.

use axum::{
    extract::{Request, State},
    http::{header, HeaderMap, HeaderValue, Method},
    middleware::Next,
    response::{IntoResponse, Response},
};

use super::{error::ApiError, AppState};
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
    if !safe
        && !request.headers().contains_key(header::AUTHORIZATION)
        && !is_same_origin(&state, request.headers())
    {
        tracing::warn!(path = %request.uri().path(), "refused a cross-site request");
        return ApiError(AppError::Forbidden(
            "Cross-site request refused: this action must be sent from the app's own pages.".into(),
        ))
        .into_response();
    }
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
    response
}

fn is_same_origin(state: &AppState, headers: &HeaderMap) -> bool {
    if let Some(origin) = headers.get(header::ORIGIN).and_then(|v| v.to_str().ok()) {
        if let Some(public) = &state.config.public_url {
            if origin.eq_ignore_ascii_case(public) {
                return true;
            }
        }
        let host = headers.get(header::HOST).and_then(|v| v.to_str().ok());
        let origin_host = origin
            .strip_prefix("http://")
            .or_else(|| origin.strip_prefix("https://"));
        return matches!((origin_host, host), (Some(o), Some(h)) if o.eq_ignore_ascii_case(h));
    }
    // No Origin: only a browser that says the request is cross-site is refused; other clients
    // (scripts, curl) carry no ambient cookie unless they chose to send one.
    !matches!(
        headers.get("sec-fetch-site").and_then(|v| v.to_str().ok()),
        Some("cross-site") | Some("same-site")
    )
}

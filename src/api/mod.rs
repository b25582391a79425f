//! Server functions: thin adapters that parse, authorize, call `server::*` and set the status.

pub mod account;
pub mod auth;
pub mod invites;
pub mod organization;

/// Set on every server function response that failed inside our code (with its status).
pub const ERROR_REFERENCE_HEADER: &str = "x-gatehouse-error";

#[cfg(feature = "ssr")]
pub(crate) mod ssr {
    use leptos::prelude::*;
    use leptos_axum::ResponseOptions;

    use crate::{
        domain::AppError,
        server::{auth, AppState},
    };

    pub fn state() -> Result<AppState, AppError> {
        use_context::<AppState>().ok_or_else(|| crate::server::error::internal("server function", "no AppState in context"))
    }

    pub fn headers() -> http::HeaderMap {
        use_context::<http::request::Parts>().map(|p| p.headers).unwrap_or_default()
    }

    /// The caller, if signed in (session cookie or API token).
    pub async fn principal(state: &AppState) -> Result<Option<auth::Principal>, AppError> {
        auth::authenticate(state, &headers()).await
    }

    /// Gives a failed server function its HTTP status.
    pub fn reply<T>(result: Result<T, AppError>) -> Result<T, AppError> {
        if let Err(e) = &result {
            if let Some(res) = use_context::<ResponseOptions>() {
                res.set_status(http::StatusCode::from_u16(e.status_code()).unwrap_or(http::StatusCode::BAD_REQUEST));
                res.insert_header(
                    http::HeaderName::from_static(super::ERROR_REFERENCE_HEADER),
                    http::HeaderValue::from_static("1"),
                );
            }
        }
        result
    }

    pub fn set_cookie(value: &str) {
        if let (Some(res), Ok(value)) = (use_context::<ResponseOptions>(), http::HeaderValue::from_str(value)) {
            res.append_header(http::header::SET_COOKIE, value);
        }
    }
}

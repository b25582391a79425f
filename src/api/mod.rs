//! Server functions: thin adapters, each one expression that names the witness it needs and
//! calls `server::*` with it.

pub mod account;
pub mod audit;
pub mod auth;
pub mod invites;
pub mod organization;
pub mod password_reset;
pub mod profile;
pub mod verification;

/// Set on every server function response that failed inside our code (with its status).
pub const ERROR_REFERENCE_HEADER: &str = "x-gatehouse-error";

#[cfg(feature = "ssr")]
pub(crate) mod ssr {
    use std::future::Future;

    use leptos::prelude::*;
    use leptos_axum::ResponseOptions;

    use crate::{
        domain::AppError,
        server::{
            auth::{self, Scope, Witness},
            AppState,
        },
    };

    /// Runs a server function's body for a caller who meets `W`: the one way in. A refusal, like
    /// any failure of the body, becomes the response's status and error.
    pub async fn authorized<W, T, Fut>(body: impl FnOnce(AppState, W) -> Fut) -> Result<T, AppError>
    where
        W: Witness,
        Fut: Future<Output = Result<T, AppError>>,
    {
        let result = async {
            let state = use_context::<AppState>().ok_or_else(|| {
                crate::server::error::internal("server function", "no AppState in context")
            })?;
            let request = use_context::<http::request::Parts>().ok_or_else(|| {
                crate::server::error::internal("server function", "no request in context")
            })?;
            let me = auth::authorize::<W>(&state, &request, Scope::Own).await?;
            body(state, me).await
        }
        .await;
        if let Err(e) = &result {
            if let Some(res) = use_context::<ResponseOptions>() {
                res.set_status(
                    http::StatusCode::from_u16(e.status_code())
                        .unwrap_or(http::StatusCode::BAD_REQUEST),
                );
                res.insert_header(
                    http::HeaderName::from_static(super::ERROR_REFERENCE_HEADER),
                    http::HeaderValue::from_static("1"),
                );
                if let Some(seconds) = e.retry_after() {
                    res.insert_header(http::header::RETRY_AFTER, seconds.into());
                }
            }
        }
        result
    }

    /// The request's headers.
    pub fn headers() -> http::HeaderMap {
        use_context::<http::request::Parts>()
            .map(|p| p.headers)
            .unwrap_or_default()
    }

    pub fn set_cookie(value: &str) {
        if let (Some(res), Ok(value)) = (
            use_context::<ResponseOptions>(),
            http::HeaderValue::from_str(value),
        ) {
            res.append_header(http::header::SET_COOKIE, value);
        }
    }
}

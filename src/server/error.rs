//! The server side of [`AppError`]: logging internal failures, HTTP responses.

use axum::{
    http::StatusCode,
    response::{IntoResponse, Response},
    Json,
};
use rand::Rng;

use crate::domain::AppError;

/// Logs the full cause of an unexpected failure and returns an [`AppError::Internal`] that names
/// the log line, never the cause itself (no SQL text reaches a client). A database that cannot
/// be reached is not a bug: that is [`database_unreachable`], a 503 the caller may retry.
pub fn internal(context: &str, cause: impl std::fmt::Display + 'static) -> AppError {
    if let Some(e) = (&cause as &dyn std::any::Any).downcast_ref::<sqlx::Error>() {
        if is_unreachable(e) {
            tracing::warn!(context, error = %e, "database unreachable");
            return database_unreachable();
        }
    }
    let reference = format!("{:08x}", rand::thread_rng().gen::<u32>());
    tracing::error!(reference, context, error = %cause, "internal error");
    AppError::Internal(reference)
}

pub trait OrInternal<T> {
    /// Turns any error into a logged [`AppError::Internal`].
    fn or_internal(self, context: &str) -> Result<T, AppError>;
}

impl<T, E: std::fmt::Display + 'static> OrInternal<T> for Result<T, E> {
    fn or_internal(self, context: &str) -> Result<T, AppError> {
        self.map_err(|e| internal(context, e))
    }
}

/// Seconds a caller is asked to wait when the database is unreachable.
pub const DATABASE_RETRY_AFTER_SECONDS: u64 = 5;

/// The answer while the database cannot be reached: 503 with `Retry-After`.
pub fn database_unreachable() -> AppError {
    AppError::Unavailable {
        message: "The database is unreachable; try again in a moment.".into(),
        retry_after: DATABASE_RETRY_AFTER_SECONDS,
    }
}

/// Whether the error says the database could not be reached (no connection within the pool's
/// acquire timeout, a connection refused, reset or dropped, the server shutting down), rather
/// than that a statement failed.
pub fn is_unreachable(err: &sqlx::Error) -> bool {
    match err {
        sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::Io(_)
        | sqlx::Error::Tls(_) => true,
        // PostgreSQL: connection exceptions (class 08), the server shutting down or starting up
        // (57P01-57P03), no connection slots left (53300).
        sqlx::Error::Database(e) => e.code().is_some_and(|code| {
            code.starts_with("08") || matches!(&*code, "57P01" | "57P02" | "57P03" | "53300")
        }),
        _ => false,
    }
}

pub fn is_unique_violation(err: &sqlx::Error) -> bool {
    matches!(err, sqlx::Error::Database(e) if e.is_unique_violation())
}

/// Every error the REST API returns, as JSON.
#[derive(serde::Serialize, utoipa::ToSchema)]
#[schema(as = Error)]
pub struct ErrorBody {
    /// The HTTP status, repeated.
    pub status_code: u16,
    /// A message written for the person who reads it.
    pub detail: String,
    /// For invalid input tied to a JSON key or parameter: that key mapped to its messages. Empty
    /// for every other error.
    pub validation_errors: std::collections::BTreeMap<String, Vec<String>>,
}

impl ErrorBody {
    pub fn new(error: &AppError) -> Self {
        let validation_errors = match error {
            AppError::Invalid { field, message } => [(field.clone(), vec![message.clone()])].into(),
            _ => Default::default(),
        };
        Self {
            status_code: error.status_code(),
            detail: error.to_string(),
            validation_errors,
        }
    }
}

/// An [`AppError`] as a REST response: its status and [`ErrorBody`].
pub struct ApiError(pub AppError);

impl From<AppError> for ApiError {
    fn from(value: AppError) -> Self {
        Self(value)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status =
            StatusCode::from_u16(self.0.status_code()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let mut response = (status, Json(ErrorBody::new(&self.0))).into_response();
        if let Some(seconds) = self.0.retry_after() {
            response
                .headers_mut()
                .insert(axum::http::header::RETRY_AFTER, seconds.into());
        }
        if matches!(self.0, AppError::Unauthenticated(_)) {
            response.headers_mut().insert(
                axum::http::header::WWW_AUTHENTICATE,
                axum::http::HeaderValue::from_static("Token"),
            );
        }
        response
    }
}

//! The server side of [`AppError`]: logging internal failures, HTTP responses.

use axum::{
    http::StatusCode,
    response::{IntoResponse, Response},
    Json,
};
use rand::Rng;
use serde_json::json;

use crate::domain::AppError;

/// Logs the full cause of an unexpected failure and returns an [`AppError::Internal`] that names
/// the log line, never the cause itself (no SQL text reaches a client).
pub fn internal(context: &str, cause: impl std::fmt::Display) -> AppError {
    let reference = format!("{:08x}", rand::thread_rng().gen::<u32>());
    tracing::error!(reference, context, error = %cause, "internal error");
    AppError::Internal(reference)
}

pub trait OrInternal<T> {
    /// Turns any error into a logged [`AppError::Internal`].
    fn or_internal(self, context: &str) -> Result<T, AppError>;
}

impl<T, E: std::fmt::Display> OrInternal<T> for Result<T, E> {
    fn or_internal(self, context: &str) -> Result<T, AppError> {
        self.map_err(|e| internal(context, e))
    }
}

pub fn is_unique_violation(err: &sqlx::Error) -> bool {
    matches!(err, sqlx::Error::Database(e) if e.is_unique_violation())
}

/// The JSON error body of the REST API: `{"status_code", "detail", "validation_errors"}`.
pub struct ApiError(pub AppError);

impl From<AppError> for ApiError {
    fn from(value: AppError) -> Self {
        Self(value)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = StatusCode::from_u16(self.0.status_code())
            .unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let validation_errors = match &self.0 {
            AppError::Invalid { field, message } => json!({ field: [message] }),
            _ => json!({}),
        };
        let body = json!({
            "status_code": status.as_u16(),
            "detail": self.0.to_string(),
            "validation_errors": validation_errors,
        });
        let mut response = (status, Json(body)).into_response();
        if matches!(self.0, AppError::Unauthenticated(_)) {
            response.headers_mut().insert(
                axum::http::header::WWW_AUTHENTICATE,
                axum::http::HeaderValue::from_static("Token"),
            );
        }
        response
    }
}

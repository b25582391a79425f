//! The one error type of the product, with messages written for people.

use serde::{Deserialize, Serialize};

/// Every failure the product reports, to the browser (server functions) and to scripts (REST).
/// Messages are written for the person who reads them.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
pub enum AppError {
    /// Bad input, tied to the form field or JSON key it came from.
    #[error("{message}")]
    Invalid { field: String, message: String },
    #[error("{0}")]
    BadRequest(String),
    #[error("{0}")]
    Unauthenticated(String),
    #[error("{0}")]
    Forbidden(String),
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    MethodNotAllowed(String),
    #[error("{0}")]
    Conflict(String),
    #[error("No free seats: {used} of {limit} in use. Deactivate a member or raise the license.")]
    NoFreeSeat { used: i64, limit: i64 },
    #[error("The request body is too large.")]
    PayloadTooLarge,
    /// Too many attempts from this caller (or for this account); the answer carries
    /// `Retry-After`.
    #[error("{message}")]
    TooManyRequests { message: String, retry_after: u64 },
    /// The server cannot answer right now (it is saturated, or the database is unreachable); the
    /// answer carries `Retry-After`.
    #[error("{message}")]
    Unavailable { message: String, retry_after: u64 },
    /// Something broke on the server; the reference finds the full cause in the logs.
    #[error("Something went wrong on our side. Try again; if it keeps happening, give your administrator this reference: {0}")]
    Internal(String),
}

impl AppError {
    pub fn invalid(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self::Invalid {
            field: field.into(),
            message: message.into(),
        }
    }

    pub fn signed_out() -> Self {
        Self::Unauthenticated("Sign in to continue.".into())
    }

    pub fn status_code(&self) -> u16 {
        match self {
            AppError::Invalid { .. } | AppError::BadRequest(_) => 400,
            AppError::Unauthenticated(_) => 401,
            AppError::Forbidden(_) => 403,
            AppError::NotFound(_) => 404,
            AppError::MethodNotAllowed(_) => 405,
            AppError::Conflict(_) | AppError::NoFreeSeat { .. } => 409,
            AppError::PayloadTooLarge => 413,
            AppError::TooManyRequests { .. } => 429,
            AppError::Internal(_) => 500,
            AppError::Unavailable { .. } => 503,
        }
    }

    /// Seconds the caller should wait before trying again (the `Retry-After` header), if any.
    pub fn retry_after(&self) -> Option<u64> {
        match self {
            AppError::TooManyRequests { retry_after, .. }
            | AppError::Unavailable { retry_after, .. } => Some(*retry_after),
            _ => None,
        }
    }

    /// The message for a given form field, if this error belongs to it.
    pub fn for_field(&self, name: &str) -> Option<String> {
        match self {
            AppError::Invalid { field, message } if field == name => Some(message.clone()),
            _ => None,
        }
    }
}

/// What the browser says when a request to the server did not get through.
pub const UNREACHABLE: &str = "Could not reach the server. Check your connection and try again.";

impl leptos::server_fn::error::FromServerFnError for AppError {
    type Encoder = leptos::server_fn::codec::JsonEncoding;

    fn from_server_fn_error(value: leptos::server_fn::error::ServerFnErrorErr) -> Self {
        use leptos::server_fn::error::ServerFnErrorErr as E;
        match value {
            E::Args(m) | E::MissingArg(m) | E::Deserialization(m) => {
                AppError::BadRequest(format!("The request could not be read: {m}"))
            }
            // The browser's request failed on its way (no network, the server down or restarting).
            E::Request(_) => AppError::Unavailable {
                message: UNREACHABLE.into(),
                retry_after: 0,
            },
            other => AppError::Internal(other.to_string()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_free_seat_message_names_the_counts() {
        let e = AppError::NoFreeSeat {
            used: 10,
            limit: 10,
        };
        assert_eq!(
            e.to_string(),
            "No free seats: 10 of 10 in use. Deactivate a member or raise the license."
        );
        assert_eq!(e.status_code(), 409);
    }

    #[test]
    fn a_request_that_does_not_get_through_says_the_server_could_not_be_reached() {
        use leptos::server_fn::error::{FromServerFnError, ServerFnErrorErr};
        let e = AppError::from_server_fn_error(ServerFnErrorErr::Request(
            "TypeError: Failed to fetch".into(),
        ));
        assert_eq!(
            e.to_string(),
            "Could not reach the server. Check your connection and try again."
        );
        assert!(!matches!(e, AppError::Internal(_)), "{e:?}");
    }

    #[test]
    fn field_errors_belong_to_their_field_only() {
        let e = AppError::invalid("email", "bad");
        assert_eq!(e.for_field("email").as_deref(), Some("bad"));
        assert_eq!(e.for_field("password"), None);
    }
}

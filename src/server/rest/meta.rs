//! `/health` and `/api/openapi.json`.

use axum::{
    extract::State,
    http::{header, StatusCode},
    response::{IntoResponse, Response},
    Json,
};
use serde::Serialize;
use utoipa::ToSchema;

use crate::server::AppState;

/// Whether the server reaches its database.
#[derive(Serialize, ToSchema)]
pub struct Health {
    #[schema(pattern = "^(ok|database unreachable)$")]
    status: &'static str,
}

/// Health check
///
/// Reports whether the server can reach its database. No authentication is needed.
#[utoipa::path(get, path = "/health", tag = "meta", operation_id = "health", security(()),
    responses(
        (status = 200, description = "The server and its database are up.", body = Health),
        (status = 503, description = "The database does not answer.", body = Health),
    ))]
pub async fn health(State(state): State<AppState>) -> Response {
    match state.db.ping().await {
        Ok(()) => Json(Health { status: "ok" }).into_response(),
        Err(e) => {
            tracing::error!(error = %e, "health check: database unreachable");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                Json(Health {
                    status: "database unreachable",
                }),
            )
                .into_response()
        }
    }
}

/// This OpenAPI document
///
/// Generated from the handlers that serve the API. No authentication is needed.
#[utoipa::path(get, path = "/openapi.json", tag = "meta", operation_id = "getOpenApi", security(()),
    responses((status = 200, description = "The OpenAPI 3.1 document.", content_type = "application/json", body = Object)))]
pub async fn openapi() -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "application/json")],
        super::document(),
    )
}

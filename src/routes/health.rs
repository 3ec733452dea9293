//! `/health` (the process is up) and `/ready` (the database answers).

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use utoipa::ToSchema;

use crate::state::AppState;

#[derive(Debug, Serialize, ToSchema)]
pub struct Health {
    #[schema(value_type = String, example = "ok")]
    pub status: &'static str,
    /// Why the service is not ready (`/ready` only).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>)]
    pub error: Option<&'static str>,
}

/// The process is up.
#[utoipa::path(get, path = "/health", tag = "operations", responses(
    (status = 200, description = "The process is up.", body = Health, example = json!({ "status": "ok" })),
))]
pub async fn health() -> Response {
    Json(Health { status: "ok", error: None }).into_response()
}

/// The database answers.
#[utoipa::path(get, path = "/ready", tag = "operations", responses(
    (status = 200, description = "The database answers.", body = Health, example = json!({ "status": "ready" })),
    (status = 503, description = "The database does not answer.", body = Health,
        example = json!({ "status": "unavailable", "error": "the database does not answer" })),
))]
pub async fn ready(State(state): State<AppState>) -> Response {
    match state.store.ping().await {
        Ok(()) => Json(Health { status: "ready", error: None }).into_response(),
        Err(error) => {
            tracing::warn!(error = %error, "readiness check failed");
            let body = Health { status: "unavailable", error: Some("the database does not answer") };
            (StatusCode::SERVICE_UNAVAILABLE, Json(body)).into_response()
        }
    }
}

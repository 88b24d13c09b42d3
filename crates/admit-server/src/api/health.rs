//! Liveness, readiness and the API's own description.

use std::sync::Arc;
use std::time::Duration;

use axum::extract::State;
use axum::http::StatusCode;
use axum::Extension;
use serde::Serialize;
use utoipa::ToSchema;

use admit_api::ErrorBody;

use crate::error::{HttpError, HttpResult};
use crate::extract::Json;
use crate::AppState;

/// A readiness check that takes longer than this counts as a database that does not answer.
const READY_TIMEOUT: Duration = Duration::from_secs(2);

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Health {
    /// `ok` (live) or `ready`.
    pub status: &'static str,
}

/// The process is up. Says nothing about the database (see `/ready`).
#[utoipa::path(
    get, path = "/health", tag = "health",
    responses((status = 200, description = "The server is running", body = Health)),
)]
pub async fn health() -> Json<Health> {
    Json(Health { status: "ok" })
}

/// The server can serve requests: its database answers.
#[utoipa::path(
    get, path = "/ready", tag = "health",
    responses(
        (status = 200, description = "Ready", body = Health),
        (status = 503, description = "The database does not answer", body = ErrorBody),
    ),
)]
pub async fn ready(State(app): State<AppState>) -> HttpResult<Json<Health>> {
    let unavailable = |why: String| {
        tracing::warn!(%why, "not ready");
        let mut e = HttpError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "busy",
            "the database does not answer",
        );
        e.retry_after = Some(1);
        e
    };
    match tokio::time::timeout(READY_TIMEOUT, app.admit.store().ping()).await {
        Ok(Ok(())) => Ok(Json(Health { status: "ready" })),
        Ok(Err(e)) => Err(unavailable(e.to_string())),
        Err(_) => Err(unavailable("timed out".into())),
    }
}

/// This document: every route with its request and answer schemas (OpenAPI 3.1).
#[utoipa::path(
    get, path = "/openapi.json", tag = "health",
    responses((status = 200, description = "The OpenAPI document", body = Object)),
)]
pub async fn openapi(
    Extension(doc): Extension<Arc<utoipa::openapi::OpenApi>>,
) -> axum::Json<utoipa::openapi::OpenApi> {
    axum::Json((*doc).clone())
}

//! Pairing devices with the server, listing and revoking them.

use axum::extract::State;
use axum::http::StatusCode;

use admit_api::{ErrorBody, PairInput, Pairing, PairingCodeInput, PairingCodeIssued};
use admit_core::device::Device;

use crate::error::HttpResult;
use crate::extract::{Caller, Json, Path};
use crate::AppState;

/// An owner makes a one-time code (15 minutes by default) for a device to pair with.
#[utoipa::path(
    post, path = "/pairing-codes", tag = "devices",
    security(("bearer" = [])),
    request_body = PairingCodeInput,
    responses(
        (status = 201, description = "The code, shown once", body = PairingCodeIssued),
        (status = 400, description = "Bad input", body = ErrorBody),
        (status = 401, description = "No valid token", body = ErrorBody),
        (status = 403, description = "Only owners pair devices", body = ErrorBody),
    ),
)]
pub async fn create_pairing_code(
    State(app): State<AppState>,
    Caller(s): Caller,
    Json(input): Json<PairingCodeInput>,
) -> HttpResult<(StatusCode, Json<PairingCodeIssued>)> {
    let code = app.admit.create_pairing_code(&s, &input, app.now()).await?;
    Ok((StatusCode::CREATED, Json(code)))
}

/// A device trades a pairing code for its bearer token. A code is good once.
#[utoipa::path(
    post, path = "/pair", tag = "devices",
    request_body = PairInput,
    responses(
        (status = 201, description = "The device and its token, shown once", body = Pairing),
        (status = 400, description = "Unknown, used or expired code", body = ErrorBody),
    ),
)]
pub async fn pair(
    State(app): State<AppState>,
    Json(input): Json<PairInput>,
) -> HttpResult<(StatusCode, Json<Pairing>)> {
    let pairing = app.admit.pair_device(&input, app.now()).await?;
    Ok((StatusCode::CREATED, Json(pairing)))
}

#[utoipa::path(
    get, path = "/devices", tag = "devices",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Paired devices, newest first", body = Vec<Device>),
        (status = 401, description = "No valid token", body = ErrorBody),
        (status = 403, description = "Only owners see devices", body = ErrorBody),
    ),
)]
pub async fn list_devices(
    State(app): State<AppState>,
    Caller(s): Caller,
) -> HttpResult<Json<Vec<Device>>> {
    Ok(Json(app.admit.list_devices(&s).await?))
}

/// Revoke a device: its token and user are refused from now on.
#[utoipa::path(
    post, path = "/devices/{id}/revoke", tag = "devices",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "Device id")),
    responses(
        (status = 200, description = "The revoked device", body = Device),
        (status = 400, description = "Bad id", body = ErrorBody),
        (status = 401, description = "No valid token", body = ErrorBody),
        (status = 403, description = "Only owners revoke devices", body = ErrorBody),
        (status = 404, description = "No such device", body = ErrorBody),
        (status = 409, description = "Revoked already, or changed meanwhile", body = ErrorBody),
    ),
)]
pub async fn revoke_device(
    State(app): State<AppState>,
    Caller(s): Caller,
    Path(id): Path<String>,
) -> HttpResult<Json<Device>> {
    Ok(Json(app.admit.revoke_device(&s, &id, app.now()).await?))
}

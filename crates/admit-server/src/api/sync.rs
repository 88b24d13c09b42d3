//! Sync for paired devices: upload, the change feed, allocations of stock, signing keys for
//! devices that sell, and the conflicts people must look at. Wire types: `admit_sync::wire`.

use axum::extract::State;
use serde::Deserialize;

use admit_api::{ApiError, ErrorBody};
use admit_sync::wire::{
    AllocationRequest, AllocationResponse, ChangesResponse, ConflictsResponse, Holding, MoveResult,
    SigningKeysResponse, UploadRequest, UploadResponse, PROTOCOL,
};

use crate::error::HttpResult;
use crate::extract::{Caller, DeviceCaller, Json, Query};
use crate::AppState;

fn check_protocol(protocol: u32) -> Result<(), ApiError> {
    if protocol == PROTOCOL {
        Ok(())
    } else {
        Err(ApiError::invalid(
            "protocol",
            format!("this server speaks sync protocol {PROTOCOL}, not {protocol}"),
        ))
    }
}

/// Upload the device's own changes, oldest first. Each change is applied once however often
/// it is sent; the answer has one outcome per change, in order.
#[utoipa::path(
    post, path = "/sync/upload", tag = "sync",
    security(("bearer" = [])),
    request_body = UploadRequest,
    responses(
        (status = 200, description = "One outcome per change", body = UploadResponse),
        (status = 400, description = "Bad input or protocol", body = ErrorBody),
        (status = 401, description = "No valid device token", body = ErrorBody),
        (status = 403, description = "Not a device, or its role may not make these changes", body = ErrorBody),
    ),
)]
pub async fn upload(
    State(app): State<AppState>,
    d: DeviceCaller,
    Json(input): Json<UploadRequest>,
) -> HttpResult<Json<UploadResponse>> {
    check_protocol(input.protocol)?;
    let outcomes = app
        .admit
        .sync_upload(&d.session, &input.changes, app.now())
        .await?;
    Ok(Json(UploadResponse {
        protocol: PROTOCOL,
        outcomes,
    }))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub struct ChangesQuery {
    /// Where the last page ended; empty for the beginning.
    #[serde(default)]
    pub cursor: String,
    /// Changes per page (1–1000).
    #[serde(default = "default_limit")]
    pub limit: u32,
}

fn default_limit() -> u32 {
    1000
}

/// The server's changes after a cursor, in commit order. Resumable: ask again from the last
/// cursor received.
#[utoipa::path(
    get, path = "/sync/changes", tag = "sync",
    security(("bearer" = [])),
    params(ChangesQuery),
    responses(
        (status = 200, description = "A page of changes", body = ChangesResponse),
        (status = 400, description = "Bad cursor", body = ErrorBody),
        (status = 401, description = "No valid device token", body = ErrorBody),
    ),
)]
pub async fn changes(
    State(app): State<AppState>,
    d: DeviceCaller,
    Query(q): Query<ChangesQuery>,
) -> HttpResult<Json<ChangesResponse>> {
    let page = app
        .admit
        .sync_changes(&d.session, &q.cursor, q.limit)
        .await?;
    Ok(Json(ChangesResponse {
        protocol: PROTOCOL,
        page,
        server_time: app.now(),
    }))
}

/// Grant units of quotas to the device or take back units it returns. Each move happens once
/// by its id; the answer also says what the device holds now.
#[utoipa::path(
    post, path = "/sync/allocations", tag = "sync",
    security(("bearer" = [])),
    request_body = AllocationRequest,
    responses(
        (status = 200, description = "What moved, and the device's holdings", body = AllocationResponse),
        (status = 400, description = "Bad input or protocol", body = ErrorBody),
        (status = 401, description = "No valid device token", body = ErrorBody),
        (status = 403, description = "The device does not sell", body = ErrorBody),
    ),
)]
pub async fn allocations(
    State(app): State<AppState>,
    d: DeviceCaller,
    Json(input): Json<AllocationRequest>,
) -> HttpResult<Json<AllocationResponse>> {
    check_protocol(input.protocol)?;
    let moves: Vec<_> = input
        .moves
        .iter()
        .map(|m| (m.id, m.quota_id, m.asked))
        .collect();
    let (moved, holdings) = app
        .admit
        .sync_move_allocations(&d.session, &moves, app.now())
        .await?;
    Ok(Json(AllocationResponse {
        protocol: PROTOCOL,
        moved: moved
            .into_iter()
            .map(|(id, quota_id, moved)| MoveResult {
                id,
                quota_id,
                moved,
            })
            .collect(),
        holdings: holdings
            .into_iter()
            .map(|(quota_id, units)| Holding { quota_id, units })
            .collect(),
    }))
}

/// Each event's signing key, for a device that sells and must print tickets offline.
#[utoipa::path(
    get, path = "/sync/keys", tag = "sync",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Signing keys", body = SigningKeysResponse),
        (status = 401, description = "No valid device token", body = ErrorBody),
        (status = 403, description = "The device does not issue tickets", body = ErrorBody),
    ),
)]
pub async fn keys(
    State(app): State<AppState>,
    d: DeviceCaller,
) -> HttpResult<Json<SigningKeysResponse>> {
    let keys = app.admit.sync_signing_keys(&d.session, app.now()).await?;
    Ok(Json(SigningKeysResponse {
        protocol: PROTOCOL,
        keys,
    }))
}

/// Tickets let in twice by doors that were offline, and uploads that could not be applied.
#[utoipa::path(
    get, path = "/sync/conflicts", tag = "sync",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Conflicts, newest first", body = ConflictsResponse),
        (status = 401, description = "No valid token", body = ErrorBody),
        (status = 403, description = "Not allowed to see orders", body = ErrorBody),
    ),
)]
pub async fn conflicts(
    State(app): State<AppState>,
    Caller(s): Caller,
) -> HttpResult<Json<ConflictsResponse>> {
    let (double_admissions, uploads) = app.admit.sync_conflicts(&s, 1000).await?;
    Ok(Json(ConflictsResponse {
        protocol: PROTOCOL,
        double_admissions,
        uploads,
    }))
}

//! The wire types of sync, protocol version [`PROTOCOL`]. Every request and answer names its
//! version; a server refuses a version it does not speak with `unsupported_protocol`, so an
//! old device never misreads a newer server.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use admit_core::audit::OutboxEntry;
use admit_core::QuotaId;

pub use admit_store::{ChangePage, DoubleAdmission, SyncConflict, UploadOutcome};

/// The protocol version this build speaks.
pub const PROTOCOL: u32 = 1;

/// Most changes in one upload, and in one downloaded page.
pub const MAX_BATCH: usize = 1000;

/// A device's own changes, oldest first (its outbox rows, unchanged).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct UploadRequest {
    pub protocol: u32,
    pub changes: Vec<OutboxEntry>,
}

/// One outcome per uploaded change, in the same order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct UploadResponse {
    pub protocol: u32,
    pub outcomes: Vec<UploadOutcome>,
}

/// A page of the server's changes after `cursor`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ChangesResponse {
    pub protocol: u32,
    #[serde(flatten)]
    pub page: ChangePage,
    /// The server's clock when it answered, so a device can tell how far its own is off.
    pub server_time: DateTime<Utc>,
}

/// Grants (`asked` > 0) and returns (`asked` < 0) of stock, each by an id the device chose
/// and keeps until it hears the answer: asking again with the same id moves nothing new.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AllocationRequest {
    pub protocol: u32,
    pub moves: Vec<MoveRequest>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct MoveRequest {
    pub id: Uuid,
    pub quota_id: QuotaId,
    pub asked: i64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AllocationResponse {
    pub protocol: u32,
    pub moved: Vec<MoveResult>,
    /// What the device holds on the server now, per quota.
    pub holdings: Vec<Holding>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct MoveResult {
    pub id: Uuid,
    pub quota_id: QuotaId,
    /// Units granted (> 0) or taken back (< 0): fewer than asked when the pool ran short.
    pub moved: i64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Holding {
    pub quota_id: QuotaId,
    pub units: i64,
}

/// What a person has to look at after sync.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ConflictsResponse {
    pub protocol: u32,
    pub double_admissions: Vec<DoubleAdmission>,
    pub uploads: Vec<SyncConflict>,
}

/// Signing keys for a device that sells (see `Admit::sync_signing_keys`).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SigningKeysResponse {
    pub protocol: u32,
    pub keys: Vec<admit_api::DeviceSigningKey>,
}

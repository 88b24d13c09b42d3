//! What the stores exchange with the sync layer.
//!
//! The model: the server's outbox is the change feed every device downloads; a device's own
//! outbox is what it uploads. Stock moves between the server and devices as allocations: the
//! server takes units out of a quota's free pool and grants them to a device (they count as
//! taken on the server); the device sells only those, so no two devices can sell the same
//! unit, online or not. An uploaded sale uses up the device's granted units; a ticket the
//! device cancels gives its units back to the device's allocation.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use admit_core::audit::OutboxEntry;
use admit_core::{CheckinListId, DeviceId, QuotaId, ScanId, TicketId};

/// One page of the change feed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ChangePage {
    pub changes: Vec<OutboxEntry>,
    /// Where the next page starts; unchanged when there was nothing new.
    pub next_cursor: String,
    /// More changes are ready after this page.
    pub more: bool,
    /// Changes after this page exist but wait for transactions still running (on
    /// PostgreSQL): ask again shortly.
    #[serde(default)]
    pub held_back: bool,
}

/// What became of one uploaded change.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum UploadOutcome {
    Applied,
    /// Applied before (the same entry uploaded again), or the server already has a newer
    /// version of the record.
    Duplicate,
    /// Not a kind of change devices upload; nothing was written.
    Skipped,
    /// Depends on a record the server does not have yet (an order's tickets before the
    /// order): upload it again later.
    Deferred {
        reason: String,
    },
    /// Could not be applied as it was; kept with its payload for a person to resolve.
    Conflict {
        reason: String,
    },
}

/// A grant (`asked` > 0) or return (`asked` < 0) of a quota's units, by an id the device chose.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AllocationMove {
    pub id: Uuid,
    pub device_id: DeviceId,
    pub quota_id: QuotaId,
    pub asked: i64,
    pub at: DateTime<Utc>,
}

/// An uploaded change the server could not apply as it was.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SyncConflict {
    pub entry_id: Uuid,
    pub device_id: DeviceId,
    pub entity: String,
    pub reason: String,
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub payload: serde_json::Value,
    pub at: DateTime<Utc>,
}

/// A ticket let in twice: a counted entry uploaded after another counted entry on the same
/// single-entry list with no exit between (two offline doors, typically).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DoubleAdmission {
    pub scan_id: ScanId,
    pub ticket_id: Option<TicketId>,
    pub list_id: CheckinListId,
    /// Who let the ticket in the second time, where and when.
    pub device_id: Option<DeviceId>,
    pub gate: Option<String>,
    pub at: DateTime<Utc>,
    /// The earlier entry it collided with, for people to read.
    pub explanation: String,
}

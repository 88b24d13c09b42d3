//! Audit entries and sync outbox entries. Each use case writes both in the transaction that
//! makes its change, so neither can be lost or invented.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::id::{AuditId, DeviceId, UserId};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuditEntry {
    pub id: AuditId,
    pub at: DateTime<Utc>,
    pub user_id: Option<UserId>,
    pub device_id: Option<DeviceId>,
    /// What was done, e.g. `order.sell`.
    pub action: String,
    pub entity: String,
    pub entity_id: Uuid,
    /// What changed, for people reading the log; secrets never go in here.
    pub detail: serde_json::Value,
}

/// One record that changed and must reach the server. `payload` is the record as it is now.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct OutboxEntry {
    pub id: Uuid,
    pub at: DateTime<Utc>,
    pub entity: String,
    pub entity_id: Uuid,
    pub version: i64,
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub payload: serde_json::Value,
}

/// The audit entry and outbox rows that go with one change.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Change {
    pub audit: Vec<AuditEntry>,
    pub outbox: Vec<OutboxEntry>,
}

impl Change {
    pub fn new(
        at: DateTime<Utc>,
        user_id: Option<UserId>,
        device_id: Option<DeviceId>,
        action: &str,
        entity: &str,
        entity_id: Uuid,
        detail: serde_json::Value,
    ) -> Self {
        Change {
            audit: vec![AuditEntry {
                id: AuditId::new(at),
                at,
                user_id,
                device_id,
                action: action.to_string(),
                entity: entity.to_string(),
                entity_id,
                detail,
            }],
            outbox: Vec::new(),
        }
    }

    /// Queue a record for sync.
    pub fn sync<T: Serialize>(
        mut self,
        at: DateTime<Utc>,
        entity: &str,
        entity_id: Uuid,
        version: i64,
        record: &T,
    ) -> Self {
        self.outbox.push(OutboxEntry {
            id: crate::id::uuid_v7_at(at),
            at,
            entity: entity.to_string(),
            entity_id,
            version,
            payload: serde_json::to_value(record).expect("domain records serialise"),
        });
        self
    }
}

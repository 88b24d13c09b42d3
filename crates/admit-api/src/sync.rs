//! The server's side of sync, as use cases: a paired device uploads its changes, downloads
//! the server's, moves stock in and out of its allocation, and people read the conflicts.
//! The caller is the device's session (its service user, with the device's id).

use std::collections::HashMap;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use serde_json::json;
use uuid::Uuid;

use admit_core::audit::OutboxEntry;
use admit_core::checkin::{CheckinList, Direction, PriorScan, Verdict};
use admit_core::role::Action;
use admit_core::{CheckinListId, DeviceId, QuotaId, TicketId};
use admit_store::{
    AllocationMove, ChangePage, Decide, DoubleAdmission, ScanAttempt, ScanContext, ScanRecord,
    ScanResolution, StoreError, SyncConflict, UploadOutcome,
};

use crate::{Admit, ApiError, ApiResult, Session};

/// Most changes in one upload and one downloaded page.
pub const MAX_SYNC_BATCH: usize = 1000;

fn device_of(s: &Session) -> ApiResult<DeviceId> {
    s.device_id.ok_or(ApiError::Forbidden {
        action: Action::Redeem,
    })
}

/// The counted entry another counted entry collides with on a single-entry list: the nearest
/// counted scan before it is an entry, or the nearest after it is (scans upload out of order,
/// so the later one may arrive first); where the list lets nobody back in after an exit, any
/// other entry at all.
fn colliding_entry<'a>(
    list: &CheckinList,
    direction: Direction,
    at: DateTime<Utc>,
    history: &'a [PriorScan],
) -> Option<&'a PriorScan> {
    if direction != Direction::Entry || list.allow_multi_entry {
        return None;
    }
    let mut all: Vec<&PriorScan> = history.iter().collect();
    all.sort_by_key(|p| p.at);
    let split = all.partition_point(|p| p.at <= at);
    let (before, after) = all.split_at(split);
    let entry = |p: &&&PriorScan| p.direction == Direction::Entry;
    if !list.allow_entry_after_exit {
        return before
            .iter()
            .rev()
            .find(entry)
            .or(after.iter().find(entry))
            .copied();
    }
    before
        .last()
        .filter(entry)
        .or(after.first().filter(entry))
        .copied()
}

fn scan_outcome(duplicate: bool) -> UploadOutcome {
    if duplicate {
        UploadOutcome::Duplicate
    } else {
        UploadOutcome::Applied
    }
}

/// The decision for an uploaded scan: what the door decided stands, except that a counted
/// entry colliding with another counted entry is kept, flagged `forced` with the verdict
/// `already_redeemed` (a double admission).
fn keep_door_decision(list: Arc<CheckinList>, rec: ScanRecord) -> Decide {
    Arc::new(move |ctx: &ScanContext| {
        let earlier = if rec.counted {
            colliding_entry(&list, rec.direction, rec.at, &ctx.history)
        } else {
            None
        };
        let (verdict, explanation) = match earlier {
            Some(p) => (
                Verdict::AlreadyRedeemed,
                format!(
                    "let in twice: also entered at {}{}",
                    p.at.to_rfc3339(),
                    p.gate
                        .as_deref()
                        .map(|g| format!(" at {g}"))
                        .unwrap_or_default()
                ),
            ),
            None if rec.counted => (Verdict::Ok, String::new()),
            None => (rec.verdict, "refused at the door".to_string()),
        };
        ScanResolution {
            verdict,
            explanation: explanation.clone(),
            counted: rec.counted,
            forced: earlier.is_some(),
            answer: json!({ "verdict": verdict, "explanation": explanation, "uploaded": true }),
        }
    })
}

impl Admit {
    /// Forget what the use cases keep briefly about catalogues and doors: a device calls
    /// this after sync has written the server's changes into its store.
    pub fn forget_cached(&self) {
        self.forget_door_contexts();
        self.forget_catalogue();
    }

    /// Apply a device's uploaded changes. Orders, tickets, revocations and blocks go in one
    /// transaction; each scan is recorded as the device decided it, with its own time and
    /// nonce: a counted entry that collides with an earlier one is kept, flagged `forced`
    /// with the verdict `already_redeemed` (a double admission), never dropped.
    pub async fn sync_upload(
        &self,
        s: &Session,
        changes: &[OutboxEntry],
        now: DateTime<Utc>,
    ) -> ApiResult<Vec<UploadOutcome>> {
        let device = device_of(s)?;
        if changes.len() > MAX_SYNC_BATCH {
            return Err(ApiError::invalid(
                "changes",
                format!("at most {MAX_SYNC_BATCH} per upload"),
            ));
        }
        if changes.iter().any(|c| c.entity == "scan") {
            s.require(Action::Redeem)?;
        }
        if changes
            .iter()
            .any(|c| matches!(c.entity.as_str(), "order" | "ticket" | "revocation"))
        {
            s.require(Action::Sell)?;
        }
        if changes.iter().any(|c| c.entity == "block") {
            s.require(Action::BlockTickets)?;
        }
        let rows: Vec<OutboxEntry> = changes
            .iter()
            .filter(|c| c.entity != "scan")
            .cloned()
            .collect();
        let mut applied = if rows.is_empty() {
            Vec::new()
        } else {
            self.store.apply_upload(device, &rows, now).await?
        }
        .into_iter();
        let mut outcomes: Vec<Option<UploadOutcome>> = Vec::with_capacity(changes.len());
        let mut lists: HashMap<CheckinListId, Option<Arc<CheckinList>>> = HashMap::new();
        let mut scans: Vec<(usize, ScanAttempt, Decide)> = Vec::new();
        for (i, c) in changes.iter().enumerate() {
            if c.entity != "scan" {
                outcomes.push(Some(applied.next().ok_or_else(|| {
                    ApiError::Internal("the store answered fewer outcomes than changes".into())
                })?));
                continue;
            }
            match self.uploaded_scan(s, device, c, now, &mut lists).await? {
                Ok((attempt, decide)) => {
                    outcomes.push(None);
                    scans.push((i, attempt, decide));
                }
                Err(outcome) => outcomes.push(Some(outcome)),
            }
        }
        // Scans that share a ticket or a nonce with another scan of the batch depend on each
        // other's order: they go one by one, in the order sent. All the others are
        // independent and are recorded together.
        let mut per_ticket: HashMap<TicketId, usize> = HashMap::new();
        let mut per_nonce: HashMap<&str, usize> = HashMap::new();
        for (_, a, _) in &scans {
            if let Some(t) = a.ticket_id {
                *per_ticket.entry(t).or_default() += 1;
            }
            *per_nonce.entry(a.nonce.as_str()).or_default() += 1;
        }
        let independent = |a: &ScanAttempt| {
            per_nonce.get(a.nonce.as_str()) == Some(&1)
                && a.ticket_id.is_none_or(|t| per_ticket.get(&t) == Some(&1))
        };
        let (together, one_by_one): (Vec<_>, Vec<_>) =
            scans.iter().partition(|(_, a, _)| independent(a));
        let batch: Vec<(ScanAttempt, Decide)> = together
            .iter()
            .map(|(_, a, d)| (a.clone(), d.clone()))
            .collect();
        if !batch.is_empty() {
            let recorded = self.store.redeem_many(&batch).await?;
            if recorded.len() != batch.len() {
                return Err(ApiError::Internal(
                    "the store answered fewer outcomes than scans".into(),
                ));
            }
            for ((i, _, _), r) in together.iter().zip(recorded) {
                outcomes[*i] = Some(scan_outcome(r.duplicate));
            }
        }
        for (i, attempt, decide) in one_by_one {
            let r = self.store.redeem(attempt, decide.clone()).await?;
            outcomes[*i] = Some(scan_outcome(r.duplicate));
        }
        let outcomes = outcomes
            .into_iter()
            .map(|o| o.ok_or_else(|| ApiError::Internal("a scan got no outcome".into())))
            .collect::<ApiResult<Vec<_>>>()?;
        if outcomes.contains(&UploadOutcome::Applied) {
            self.forget_door_contexts();
        }
        Ok(outcomes)
    }

    /// An uploaded scan as the store records it, with the decision that keeps what the door
    /// decided; or the outcome already known when it cannot be recorded.
    async fn uploaded_scan(
        &self,
        s: &Session,
        device: DeviceId,
        c: &OutboxEntry,
        now: DateTime<Utc>,
        lists: &mut HashMap<CheckinListId, Option<Arc<CheckinList>>>,
    ) -> ApiResult<Result<(ScanAttempt, Decide), UploadOutcome>> {
        let rec: ScanRecord = match serde_json::from_value(c.payload.clone()) {
            Ok(r) => r,
            Err(e) => {
                return Ok(Err(UploadOutcome::Conflict {
                    reason: format!("unreadable scan: {e}"),
                }))
            }
        };
        let list = match lists.get(&rec.list_id) {
            Some(known) => known.clone(),
            None => {
                let found = match self.store.get_checkin_list(rec.list_id).await {
                    Ok(l) => Some(Arc::new(l)),
                    Err(StoreError::NotFound { .. }) => None,
                    Err(e) => return Err(e.into()),
                };
                lists.insert(rec.list_id, found.clone());
                found
            }
        };
        let Some(list) = list else {
            return Ok(Err(UploadOutcome::Deferred {
                reason: "the scan's check-in list is not on this server".into(),
            }));
        };
        let attempt = ScanAttempt {
            id: rec.id,
            nonce: rec.nonce.clone(),
            list_id: rec.list_id,
            event_id: list.event_id,
            ticket_id: rec.ticket_id,
            fingerprint: None,
            direction: rec.direction,
            device_id: Some(device),
            gate: rec.gate.clone(),
            user_id: Some(s.user.id),
            at: rec.at,
            recorded_at: now,
            raw: rec.raw.clone(),
        };
        Ok(Ok((attempt, keep_door_decision(list, rec))))
    }

    /// The server's changes after `cursor`, for a device.
    pub async fn sync_changes(
        &self,
        s: &Session,
        cursor: &str,
        limit: u32,
    ) -> ApiResult<ChangePage> {
        device_of(s)?;
        s.require(Action::ViewEvents)?;
        let limit = limit.clamp(1, MAX_SYNC_BATCH as u32);
        self.store
            .changes_since(cursor, limit)
            .await
            .map_err(|e| match e {
                StoreError::NotFound { .. } => ApiError::invalid("cursor", "is not a sync cursor"),
                e => e.into(),
            })
    }

    /// Grant or take back units of quotas for the calling device; each move happens once
    /// by its id. A quota the server does not know moves nothing.
    pub async fn sync_move_allocations(
        &self,
        s: &Session,
        moves: &[(Uuid, QuotaId, i64)],
        now: DateTime<Utc>,
    ) -> ApiResult<(Vec<(Uuid, QuotaId, i64)>, Vec<(QuotaId, i64)>)> {
        let device_id = device_of(s)?;
        s.require(Action::Sell)?;
        if moves.len() > MAX_SYNC_BATCH {
            return Err(ApiError::invalid(
                "moves",
                format!("at most {MAX_SYNC_BATCH} per request"),
            ));
        }
        let mut moved = Vec::with_capacity(moves.len());
        for (i, (id, quota_id, asked)) in moves.iter().enumerate() {
            if asked.unsigned_abs() > 1_000_000 {
                return Err(ApiError::invalid(
                    format!("moves[{i}].asked"),
                    "must be between -1000000 and 1000000",
                ));
            }
            let m = AllocationMove {
                id: *id,
                device_id,
                quota_id: *quota_id,
                asked: *asked,
                at: now,
            };
            let n = match self.store.move_allocation(&m).await {
                Ok(n) => n,
                Err(StoreError::NotFound { .. }) => 0,
                Err(e) => return Err(e.into()),
            };
            moved.push((*id, *quota_id, n));
        }
        let holdings = self.store.allocations_of(device_id).await?;
        Ok((moved, holdings))
    }

    /// Double admissions (from uploaded scans) and uploads that could not be applied.
    pub async fn sync_conflicts(
        &self,
        s: &Session,
        limit: u32,
    ) -> ApiResult<(Vec<DoubleAdmission>, Vec<SyncConflict>)> {
        s.require(Action::ViewOrders)?;
        let limit = limit.clamp(1, 10_000);
        let doubles = self.store.double_admissions(limit).await?;
        let uploads = self.store.sync_conflicts(limit).await?;
        Ok((doubles, uploads))
    }

    /// The signing keys a selling device needs to print tickets while offline: each event's
    /// current key (made on first use), with its secret. Door devices never get one.
    pub async fn sync_signing_keys(
        &self,
        s: &Session,
        now: DateTime<Utc>,
    ) -> ApiResult<Vec<DeviceSigningKey>> {
        device_of(s)?;
        s.require(Action::IssueTickets)?;
        let mut keys = Vec::new();
        for event in self.store.list_events().await? {
            if !matches!(
                event.status,
                admit_core::model::EventStatus::Published | admit_core::model::EventStatus::Draft
            ) {
                continue;
            }
            let key = self.signing_key(s, event.id, now).await?;
            keys.push(DeviceSigningKey {
                event_id: event.id,
                key_id: key.key_id(),
                public_key: key.public_key(),
                secret: key.expose_secret_bytes(),
            });
        }
        Ok(keys)
    }
}

/// An event's signing key, for a device that sells. `Debug` leaves the secret out.
#[derive(Clone, serde::Serialize, serde::Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DeviceSigningKey {
    pub event_id: admit_core::EventId,
    #[cfg_attr(feature = "openapi", schema(value_type = u16))]
    pub key_id: admit_core::secret::KeyId,
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub public_key: admit_core::secret::PublicKey,
    #[cfg_attr(feature = "openapi", schema(value_type = Vec<u8>))]
    pub secret: [u8; 32],
}

impl std::fmt::Debug for DeviceSigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DeviceSigningKey")
            .field("event_id", &self.event_id)
            .field("key_id", &self.key_id)
            .field("secret", &"<redacted>")
            .finish()
    }
}

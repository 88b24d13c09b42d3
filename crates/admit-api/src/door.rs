//! The door: event keys, ticket secrets, revocation and block lists, check-in lists and redeem.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::json;

use admit_core::checkin::{
    self, AdmittedTypes, CheckinList, CheckinListSpec, Direction, EarlierEntry, ScanInput, Verdict,
};
use admit_core::model::*;
use admit_core::role::Action;
use admit_core::secret::{
    self, EventKeyring, KeyId, KeyringEntry, SigningKey, TicketPayload, ValidityWindow,
};
use admit_core::time::parse_timestamp;
use admit_core::*;
use admit_store::{
    Block, Decide, EventKey, IssuedSecret, Revocation, ScanAttempt, ScanContext, ScanRecord,
    ScanResolution, StoreError,
};

use crate::{optional, Admit, ApiError, ApiResult, Session};

/// How long a door trusts its copy of a list, the event's zone and keys. Changes made through
/// this `Admit` clear the copy at once; changes by another process sharing the database (a
/// second desktop on one PostgreSQL) reach this door within this time.
const DOOR_CONTEXT_TTL: std::time::Duration = std::time::Duration::from_secs(2);

pub(crate) struct DoorContext {
    list: CheckinList,
    time_zone: admit_core::time::TimeZone,
    keyring: EventKeyring,
    loaded: std::time::Instant,
}

pub(crate) type DoorCache =
    Arc<std::sync::Mutex<std::collections::HashMap<CheckinListId, Arc<DoorContext>>>>;

/// Refused scans keep this much of what was scanned, for the log.
const MAX_RAW_KEPT: usize = 512;

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CheckinListInput {
    pub event_id: String,
    pub name: String,
    /// Ticket types admitted; empty admits every type of the event.
    #[serde(default)]
    pub ticket_type_ids: Vec<String>,
    #[serde(default)]
    pub admit_pending: bool,
    #[serde(default)]
    pub allow_multi_entry: bool,
    #[serde(default)]
    pub allow_entry_after_exit: bool,
    #[serde(default)]
    pub admission_opens: Option<String>,
    #[serde(default)]
    pub admission_closes: Option<String>,
    #[serde(default)]
    pub max_entries_total: Option<i64>,
    #[serde(default)]
    pub max_entries_per_day: Option<i64>,
    #[serde(default)]
    pub gates: Vec<String>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RedeemInput {
    /// Exactly what the scanner produced.
    pub raw: String,
    pub list_id: String,
    /// entry (default) or exit
    #[serde(default)]
    pub direction: Option<String>,
    #[serde(default)]
    pub gate: Option<String>,
    /// Chosen by the scanning device, unique per scan: a repeat returns the first answer.
    pub nonce: String,
    /// When the scan happened (RFC 3339); defaults to now. Offline uploads carry their own.
    #[serde(default)]
    pub at: Option<String>,
    /// Record the scan as having taken effect whatever the verdict (an offline door's scan
    /// being uploaded); it is flagged `forced` when it would have been refused.
    #[serde(default)]
    pub force: bool,
}

/// What the door shows.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RedeemAnswer {
    pub verdict: Verdict,
    pub ok: bool,
    /// For people; empty when ok.
    pub explanation: String,
    pub forced: bool,
    /// The nonce was seen before: this is the first answer again, nothing new recorded.
    #[serde(default)]
    pub duplicate: bool,
    pub scan_id: ScanId,
    pub direction: Direction,
    pub at: DateTime<Utc>,
    pub ticket_id: Option<TicketId>,
    pub ticket_type_id: Option<TicketTypeId>,
    pub ticket_type: Option<String>,
    pub attendee_name: Option<String>,
    pub order_code: Option<String>,
    /// For `already_redeemed`: when and where the ticket went in.
    pub earlier_entry: Option<EarlierEntry>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CheckinCounts {
    pub admitted: u64,
    pub inside: u64,
}

/// Everything a door needs to scan one event with no network and no ticket rows.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct DoorPackage {
    pub event: Event,
    pub lists: Vec<CheckinList>,
    pub keys: Vec<KeyringEntry>,
    pub revocations: Vec<(SecretFingerprintHex, TicketId, String, DateTime<Utc>)>,
    pub blocks: Vec<(TicketId, String, DateTime<Utc>)>,
}

pub type SecretFingerprintHex = String;

fn parse_list_spec(input: &CheckinListInput, types: &[TicketType]) -> ApiResult<CheckinListSpec> {
    let admitted = if input.ticket_type_ids.is_empty() {
        AdmittedTypes::All
    } else {
        let mut ids = Vec::new();
        for (i, raw) in input.ticket_type_ids.iter().enumerate() {
            let field = format!("ticket_type_ids[{i}]");
            let id = TicketTypeId::parse(&field, raw)?;
            if !types.iter().any(|t| t.id == id) {
                return Err(ApiError::invalid(
                    field,
                    "is not a ticket type of this event",
                ));
            }
            ids.push(id);
        }
        AdmittedTypes::Only(ids)
    };
    let limit = |field: &str, v: Option<i64>| -> ApiResult<Option<u32>> {
        match v {
            None => Ok(None),
            Some(n) if (1..=100_000).contains(&n) => Ok(Some(n as u32)),
            Some(_) => Err(ApiError::invalid(field, "must be between 1 and 100000")),
        }
    };
    Ok(CheckinListSpec {
        name: input.name.clone(),
        admitted,
        admit_pending: input.admit_pending,
        allow_multi_entry: input.allow_multi_entry,
        allow_entry_after_exit: input.allow_entry_after_exit,
        admission_opens: optional(&input.admission_opens, |t| {
            parse_timestamp("admission_opens", t)
        })?,
        admission_closes: optional(&input.admission_closes, |t| {
            parse_timestamp("admission_closes", t)
        })?,
        max_entries_total: limit("max_entries_total", input.max_entries_total)?,
        max_entries_per_day: limit("max_entries_per_day", input.max_entries_per_day)?,
        gates: input.gates.clone(),
    })
}

/// Keep at most `max` bytes of a string, cut at a character boundary.
fn bounded(s: &str, max: usize) -> String {
    let mut end = s.len().min(max);
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    s[..end].to_string()
}

impl Admit {
    // ---- keys and secrets

    /// The event's current signing key, made on first use. Only issuing devices call this.
    pub(crate) async fn signing_key(
        &self,
        s: &Session,
        event_id: EventId,
        now: DateTime<Utc>,
    ) -> ApiResult<SigningKey> {
        // Public keys first: a key and its private half commit together, so if another device's
        // new key is seen here, its private half is seen by the next read.
        let keys_exist = !self.store.event_keys(event_id).await?.is_empty();
        if let Some((key_id, secret)) = self.store.signing_key(event_id).await? {
            return Ok(SigningKey::from_secret_bytes(event_id, key_id, &secret));
        }
        if keys_exist {
            // Public keys only: a door device, which must not mint tickets.
            return Err(ApiError::Conflict {
                message: "this device holds no signing key for the event; print tickets where they are sold".into(),
            });
        }
        // Always key 1 here, so devices racing to make the first key make the same row.
        self.add_event_key(s, event_id, KeyId(1), now).await
    }

    async fn add_event_key(
        &self,
        s: &Session,
        event_id: EventId,
        key_id: KeyId,
        now: DateTime<Utc>,
    ) -> ApiResult<SigningKey> {
        let key = SigningKey::generate(event_id, key_id, &mut rand::rngs::OsRng);
        let row = EventKey {
            event_id,
            key_id,
            public_key: key.public_key(),
            retired: false,
            meta: Meta::new(now),
        };
        let change = s
            .change(
                now,
                "event_key.create",
                "event",
                event_id.0,
                json!({ "key_id": key_id.0 }),
            )
            .sync(now, "event_key", event_id.0, 1, &row);
        self.store
            .put_event_key(&row, Some(key.expose_secret_bytes()), &change)
            .await?;
        self.forget_door_contexts();
        // Devices printing an event's first tickets at the same moment each make a key with the
        // same id and only one is kept: sign with the one the store holds, never our own copy.
        let (key_id, secret) = self
            .store
            .signing_key(event_id)
            .await?
            .ok_or(ApiError::Busy)?;
        Ok(SigningKey::from_secret_bytes(event_id, key_id, &secret))
    }

    /// Start signing with a new key; tickets signed with older keys stay valid until retired.
    pub async fn rotate_event_key(
        &self,
        s: &Session,
        event_id: &str,
        now: DateTime<Utc>,
    ) -> ApiResult<KeyringEntry> {
        s.require(Action::ManageEvents)?;
        let event_id = EventId::parse("event_id", event_id)?;
        self.store.get_event(event_id).await?;
        let keys = self.store.event_keys(event_id).await?;
        let next = keys
            .iter()
            .map(|k| k.key_id.0)
            .max()
            .map_or(Some(1), |m| m.checked_add(1))
            .ok_or_else(|| ApiError::Conflict {
                message: "the event has no key ids left".into(),
            })?;
        Ok(self
            .add_event_key(s, event_id, KeyId(next), now)
            .await?
            .keyring_entry())
    }

    /// Stop admitting tickets signed with this key.
    pub async fn retire_event_key(
        &self,
        s: &Session,
        event_id: &str,
        key_id: u16,
        now: DateTime<Utc>,
    ) -> ApiResult<()> {
        s.require(Action::ManageEvents)?;
        let event_id = EventId::parse("event_id", event_id)?;
        let mut key = self
            .store
            .event_keys(event_id)
            .await?
            .into_iter()
            .find(|k| k.key_id.0 == key_id)
            .ok_or_else(|| ApiError::invalid("key_id", "is not a key of this event"))?;
        key.retired = true;
        key.meta = key.meta.touched(now);
        let change = s
            .change(
                now,
                "event_key.retire",
                "event",
                event_id.0,
                json!({ "key_id": key_id }),
            )
            .sync(now, "event_key", event_id.0, key.meta.version, &key);
        self.store.put_event_key(&key, None, &change).await?;
        self.forget_door_contexts();
        Ok(())
    }

    /// The public keys a door needs to verify this event's tickets.
    pub async fn event_keyring(&self, s: &Session, event_id: &str) -> ApiResult<EventKeyring> {
        s.require(Action::Redeem)?;
        self.keyring(EventId::parse("event_id", event_id)?).await
    }

    async fn keyring(&self, event_id: EventId) -> ApiResult<EventKeyring> {
        let keys = self
            .store
            .event_keys(event_id)
            .await?
            .into_iter()
            .map(|k| KeyringEntry {
                key_id: k.key_id,
                public_key: k.public_key,
                retired: k.retired,
            })
            .collect();
        Ok(EventKeyring::new(event_id, keys)?)
    }

    async fn live_ticket(&self, ticket_id: &str) -> ApiResult<(Ticket, Order)> {
        let id = TicketId::parse("ticket_id", ticket_id)?;
        let order = self
            .store
            .get_order_of_ticket(id)
            .await
            .map_err(|e| match e {
                StoreError::NotFound { .. } => ApiError::NotFound {
                    entity: "ticket".into(),
                },
                e => e.into(),
            })?;
        let ticket =
            order
                .tickets
                .iter()
                .find(|t| t.id == id)
                .cloned()
                .ok_or(ApiError::NotFound {
                    entity: "ticket".into(),
                })?;
        Ok((ticket, order.order))
    }

    /// The secret printed on a ticket, issued on first request and the same ever after.
    pub async fn ticket_secret(
        &self,
        s: &Session,
        ticket_id: &str,
        now: DateTime<Utc>,
    ) -> ApiResult<IssuedSecret> {
        s.require(Action::IssueTickets)?;
        let (ticket, order) = self.live_ticket(ticket_id).await?;
        if let Some(existing) = self.store.ticket_secret(ticket.id).await? {
            return Ok(existing);
        }
        unpaid_gets_no_code(&order)?;
        if ticket.status != TicketStatus::Valid || !order.status.is_live() {
            return Err(ApiError::Conflict {
                message: "the ticket is cancelled; it gets no QR code".into(),
            });
        }
        let key = self.signing_key(s, ticket.event_id, now).await?;
        let payload = TicketPayload::new(
            ticket.id,
            ticket.ticket_type_id,
            now,
            ValidityWindow::ALWAYS,
        )?;
        let issued = issued_secret(&payload, &key, ticket.event_id)?;
        let change = s.change(
            now,
            "ticket.issue_secret",
            "ticket",
            ticket.id.0,
            json!({ "key_id": key.key_id().0, "fingerprint": issued.fingerprint.to_hex() }),
        );
        match self.store.put_ticket_secret(&issued, None, &change).await {
            Ok(()) => Ok(issued),
            // Printed on two devices at once: both print the first one.
            Err(StoreError::Conflict { constraint }) if constraint == "ticket_secret_exists" => {
                self.store
                    .ticket_secret(ticket.id)
                    .await?
                    .ok_or(ApiError::Busy)
            }
            Err(e) => Err(e.into()),
        }
    }

    /// A new secret for a ticket (lost or copied QR): the old one goes on the revocation list.
    pub async fn reissue_ticket_secret(
        &self,
        s: &Session,
        ticket_id: &str,
        now: DateTime<Utc>,
    ) -> ApiResult<IssuedSecret> {
        s.require(Action::IssueTickets)?;
        let (ticket, order) = self.live_ticket(ticket_id).await?;
        unpaid_gets_no_code(&order)?;
        if ticket.status != TicketStatus::Valid || !order.status.is_live() {
            return Err(ApiError::Conflict {
                message: "the ticket is cancelled; it gets no QR code".into(),
            });
        }
        let Some(old) = self.store.ticket_secret(ticket.id).await? else {
            return self.ticket_secret(s, ticket_id, now).await;
        };
        let key = self.signing_key(s, ticket.event_id, now).await?;
        // A later issue time than the old secret's makes a different secret and fingerprint.
        let issued_at = if now > old.issued_at {
            now
        } else {
            old.issued_at + chrono::Duration::seconds(1)
        };
        let payload = TicketPayload::new(
            ticket.id,
            ticket.ticket_type_id,
            issued_at,
            ValidityWindow::ALWAYS,
        )?;
        let issued = issued_secret(&payload, &key, ticket.event_id)?;
        let revoke = Revocation {
            event_id: ticket.event_id,
            fingerprint: old.fingerprint,
            ticket_id: ticket.id,
            reason: "reissued".into(),
            at: now,
        };
        let change = s
            .change(
                now,
                "ticket.reissue_secret",
                "ticket",
                ticket.id.0,
                json!({ "old": old.fingerprint.to_hex(), "new": issued.fingerprint.to_hex() }),
            )
            .sync(now, "revocation", ticket.id.0, 1, &revoke);
        self.store
            .put_ticket_secret(&issued, Some(&revoke), &change)
            .await?;
        Ok(issued)
    }

    /// Block (or unblock) a ticket at every door of its event.
    pub async fn set_ticket_blocked(
        &self,
        s: &Session,
        ticket_id: &str,
        blocked: bool,
        reason: &str,
        now: DateTime<Utc>,
    ) -> ApiResult<()> {
        s.require(Action::BlockTickets)?;
        let (ticket, _) = self.live_ticket(ticket_id).await?;
        let reason = if blocked {
            admit_core::text::Name::parse("reason", reason)?
                .as_str()
                .to_string()
        } else {
            String::new()
        };
        let block = Block {
            event_id: ticket.event_id,
            ticket_id: ticket.id,
            reason,
            at: now,
        };
        let change = s
            .change(
                now,
                if blocked {
                    "ticket.block"
                } else {
                    "ticket.unblock"
                },
                "ticket",
                ticket.id.0,
                json!({ "reason": block.reason }),
            )
            .sync(
                now,
                "block",
                ticket.id.0,
                1,
                &json!({ "block": blocked.then_some(&block), "ticket_id": ticket.id }),
            );
        Ok(self
            .store
            .set_block(
                ticket.event_id,
                ticket.id,
                blocked.then_some(&block),
                &change,
            )
            .await?)
    }

    // ---- check-in lists

    pub async fn create_checkin_list(
        &self,
        s: &Session,
        input: &CheckinListInput,
        now: DateTime<Utc>,
    ) -> ApiResult<CheckinList> {
        s.require(Action::ManageCheckinLists)?;
        let event_id = EventId::parse("event_id", &input.event_id)?;
        self.store
            .get_event(event_id)
            .await
            .map_err(|_| ApiError::invalid("event_id", "is not an event"))?;
        let types = self.store.list_ticket_types(event_id).await?;
        let list = CheckinList::create(event_id, parse_list_spec(input, &types)?, now)?;
        let change = s
            .change(
                now,
                "checkin_list.create",
                "checkin_list",
                list.id.0,
                json!({ "name": list.name.as_str() }),
            )
            .sync(now, "checkin_list", list.id.0, 1, &list);
        self.store.create_checkin_list(&list, &change).await?;
        Ok(list)
    }

    pub async fn update_checkin_list(
        &self,
        s: &Session,
        id: &str,
        expected_version: i64,
        input: &CheckinListInput,
        now: DateTime<Utc>,
    ) -> ApiResult<CheckinList> {
        s.require(Action::ManageCheckinLists)?;
        let current = self
            .store
            .get_checkin_list(CheckinListId::parse("id", id)?)
            .await?;
        let types = self.store.list_ticket_types(current.event_id).await?;
        let list = current.updated(parse_list_spec(input, &types)?, now)?;
        let change = s
            .change(
                now,
                "checkin_list.update",
                "checkin_list",
                list.id.0,
                json!({ "name": list.name.as_str() }),
            )
            .sync(now, "checkin_list", list.id.0, list.meta.version, &list);
        self.store
            .update_checkin_list(&list, expected_version, &change)
            .await?;
        self.forget_door_contexts();
        Ok(list)
    }

    pub async fn list_checkin_lists(
        &self,
        s: &Session,
        event_id: &str,
    ) -> ApiResult<Vec<CheckinList>> {
        s.require(Action::ViewEvents)?;
        Ok(self
            .store
            .list_checkin_lists(EventId::parse("event_id", event_id)?)
            .await?)
    }

    // ---- redeem

    /// Scan a ticket at a door. Verification needs only the event's public keys, so a door
    /// without the ticket's row (offline) still decides, from the revocation and block lists.
    /// Every scan is recorded, refused ones with what was scanned.
    pub async fn redeem(
        &self,
        s: &Session,
        input: &RedeemInput,
        now: DateTime<Utc>,
    ) -> ApiResult<RedeemAnswer> {
        s.require(Action::Redeem)?;
        let list_id = CheckinListId::parse("list_id", &input.list_id)?;
        let direction = match input.direction.as_deref() {
            None | Some("") => Direction::Entry,
            Some(d) => Direction::parse("direction", d)?,
        };
        let nonce = input.nonce.trim();
        if nonce.is_empty() || nonce.len() > 100 || nonce.chars().any(char::is_control) {
            return Err(ApiError::invalid(
                "nonce",
                "must be 1–100 printable characters",
            ));
        }
        let gate = optional(&input.gate, |g| admit_core::text::Name::parse("gate", g))?
            .map(|g| g.as_str().to_string());
        let at = optional(&input.at, |t| parse_timestamp("at", t))?.unwrap_or(now);
        let door = self.door_context(list_id).await?;
        let (list, time_zone, keyring) = (door.list.clone(), door.time_zone, &door.keyring);
        let claims = keyring.verify(&input.raw);
        let (ticket_id, fingerprint) = match &claims {
            Ok(c) => (Some(c.ticket_id), Some(c.fingerprint)),
            Err(_) => (None, None),
        };
        let attempt = ScanAttempt {
            id: ScanId::new(now),
            nonce: nonce.to_string(),
            list_id,
            event_id: list.event_id,
            ticket_id,
            fingerprint,
            direction,
            device_id: s.device_id,
            gate: gate.clone(),
            user_id: Some(s.user.id),
            at,
            recorded_at: now,
            // NUL cannot be stored in PostgreSQL text; keep a visible stand-in.
            raw: Some(bounded(&input.raw, MAX_RAW_KEPT).replace('\0', "\u{FFFD}")),
        };
        let force = input.force;
        let scan_id = attempt.id;
        let decide: Decide = Arc::new(move |ctx: &ScanContext| {
            let state = ctx.ticket.as_ref().map(|t| t.state);
            // Cancelling revokes a ticket's secret so that doors without its row refuse it;
            // where the row is known, say what really happened: it was cancelled.
            let cancelled = state.is_some_and(|t| {
                t.ticket_status != TicketStatus::Valid || !t.order_status.is_live()
            });
            let decision = checkin::decide(&ScanInput {
                secret: claims.as_ref().map_err(|e| *e),
                list: &list,
                time_zone,
                direction,
                gate: gate.as_deref(),
                at,
                ticket: state.as_ref(),
                revoked: ctx.revoked && !cancelled,
                blocked: ctx.blocked,
                history: &ctx.history,
            });
            let ok = decision.is_ok();
            let claims = claims.as_ref().ok();
            let answer = RedeemAnswer {
                verdict: decision.verdict,
                ok,
                explanation: decision.explanation.clone(),
                forced: force && !ok,
                duplicate: false,
                scan_id,
                direction,
                at,
                ticket_id: claims.map(|c| c.ticket_id),
                ticket_type_id: state
                    .map(|t| t.ticket_type_id)
                    .or(claims.map(|c| c.ticket_type_id)),
                ticket_type: ctx.ticket.as_ref().map(|t| t.ticket_type_name.clone()),
                attendee_name: ctx.ticket.as_ref().and_then(|t| t.attendee_name.clone()),
                order_code: ctx.ticket.as_ref().map(|t| t.order_code.clone()),
                earlier_entry: decision.earlier_entry.clone(),
            };
            ScanResolution {
                verdict: decision.verdict,
                explanation: decision.explanation,
                counted: ok || force,
                forced: force && !ok,
                answer: serde_json::to_value(&answer).expect("answers serialise"),
            }
        });
        let outcome = self.store.redeem(&attempt, decide).await?;
        let mut answer: RedeemAnswer = serde_json::from_value(outcome.answer)
            .map_err(|e| ApiError::Internal(format!("stored answer: {e}")))?;
        answer.duplicate = outcome.duplicate;
        Ok(answer)
    }

    async fn door_context(&self, list_id: CheckinListId) -> ApiResult<Arc<DoorContext>> {
        if let Some(c) = self.door_cache.lock().expect("door cache").get(&list_id) {
            if c.loaded.elapsed() < DOOR_CONTEXT_TTL {
                return Ok(c.clone());
            }
        }
        let list = self
            .store
            .get_checkin_list(list_id)
            .await
            .map_err(|e| match e {
                StoreError::NotFound { .. } => {
                    ApiError::invalid("list_id", "is not a check-in list")
                }
                e => e.into(),
            })?;
        let event = self.store.get_event(list.event_id).await?;
        let keyring = self.keyring(list.event_id).await?;
        let c = Arc::new(DoorContext {
            list,
            time_zone: event.time_zone,
            keyring,
            loaded: std::time::Instant::now(),
        });
        self.door_cache
            .lock()
            .expect("door cache")
            .insert(list_id, c.clone());
        Ok(c)
    }

    /// Forget every cached door context after a change to lists, keys or events.
    pub(crate) fn forget_door_contexts(&self) {
        self.door_cache.lock().expect("door cache").clear();
    }

    pub async fn checkin_counts(&self, s: &Session, list_id: &str) -> ApiResult<CheckinCounts> {
        s.require(Action::Redeem)?;
        let (admitted, inside) = self
            .store
            .checkin_counts(CheckinListId::parse("list_id", list_id)?)
            .await?;
        Ok(CheckinCounts { admitted, inside })
    }

    pub async fn list_scans(
        &self,
        s: &Session,
        list_id: &str,
        ticket_id: Option<&str>,
        limit: u32,
    ) -> ApiResult<Vec<ScanRecord>> {
        s.require(Action::ViewOrders)?;
        let list_id = CheckinListId::parse("list_id", list_id)?;
        let ticket_id = optional(&ticket_id.map(str::to_string), |t| {
            TicketId::parse("ticket_id", t)
        })?;
        Ok(self.store.list_scans(list_id, ticket_id, limit).await?)
    }

    // ---- door packages

    /// What an offline door needs for one event: event, lists, public keys, revocation and
    /// block lists. No ticket rows and no signing keys.
    pub async fn export_door_package(&self, s: &Session, event_id: &str) -> ApiResult<DoorPackage> {
        s.require(Action::ManageCheckinLists)?;
        let event_id = EventId::parse("event_id", event_id)?;
        Ok(DoorPackage {
            event: self.store.get_event(event_id).await?,
            lists: self.store.list_checkin_lists(event_id).await?,
            keys: self.keyring(event_id).await?.keys().to_vec(),
            revocations: self
                .store
                .revocations(event_id)
                .await?
                .into_iter()
                .map(|r| (r.fingerprint.to_hex(), r.ticket_id, r.reason, r.at))
                .collect(),
            blocks: self
                .store
                .blocks(event_id)
                .await?
                .into_iter()
                .map(|b| (b.ticket_id, b.reason, b.at))
                .collect(),
        })
    }

    /// Load a door package into this device's store (newer versions win; nothing is deleted).
    pub async fn import_door_package(
        &self,
        s: &Session,
        p: &DoorPackage,
        now: DateTime<Utc>,
    ) -> ApiResult<()> {
        s.require(Action::ManageCheckinLists)?;
        let event_id = p.event.id;
        if p.lists.iter().any(|l| l.event_id != event_id) {
            return Err(ApiError::invalid("lists", "belong to another event"));
        }
        EventKeyring::new(event_id, p.keys.clone())?;
        let revocations = p
            .revocations
            .iter()
            .enumerate()
            .map(|(i, (fp, ticket_id, reason, at))| {
                Ok(Revocation {
                    event_id,
                    fingerprint: secret::SecretFingerprint::parse(
                        &format!("revocations[{i}]"),
                        fp,
                    )?,
                    ticket_id: *ticket_id,
                    reason: reason.clone(),
                    at: *at,
                })
            })
            .collect::<ApiResult<Vec<_>>>()?;
        let change = || s.change(now, "door_package.import", "event", event_id.0, json!({}));
        self.store.import_event(&p.event, &change()).await?;
        for k in &p.keys {
            let key = EventKey {
                event_id,
                key_id: k.key_id,
                public_key: k.public_key,
                retired: k.retired,
                meta: Meta::new(now),
            };
            self.store
                .put_event_key(&key, None, &admit_core::audit::Change::default())
                .await?;
        }
        for l in &p.lists {
            self.store
                .import_checkin_list(l, &admit_core::audit::Change::default())
                .await?;
        }
        self.store
            .add_revocations(&revocations, &admit_core::audit::Change::default())
            .await?;
        for (ticket_id, reason, at) in &p.blocks {
            let b = Block {
                event_id,
                ticket_id: *ticket_id,
                reason: reason.clone(),
                at: *at,
            };
            self.store
                .set_block(
                    event_id,
                    *ticket_id,
                    Some(&b),
                    &admit_core::audit::Change::default(),
                )
                .await?;
        }
        self.forget_door_contexts();
        Ok(())
    }
}

fn issued_secret(
    payload: &TicketPayload,
    key: &SigningKey,
    event_id: EventId,
) -> ApiResult<IssuedSecret> {
    let text = secret::issue(payload, key);
    let fingerprint = secret::secret_fingerprint(&text, event_id)
        .map_err(|e| ApiError::Internal(format!("fresh secret: {e}")))?;
    Ok(IssuedSecret {
        ticket_id: payload.ticket_id(),
        event_id,
        secret: text,
        fingerprint,
        key_id: key.key_id(),
        issued_at: payload.issued_at(),
    })
}

/// Tickets of an unpaid pay-later order get no QR code until it is paid: an unpaid reservation
/// cannot get anyone in, and one that expires leaves no printed code behind.
pub(crate) fn unpaid_gets_no_code(order: &Order) -> ApiResult<()> {
    if order.status == OrderStatus::Pending {
        return Err(ApiError::Conflict {
            message: "the order is not paid yet; its tickets get their QR codes once it is".into(),
        });
    }
    Ok(())
}

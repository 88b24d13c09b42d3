//! The server side of sync on PostgreSQL: the change feed in commit order, devices' uploads,
//! and the stock escrowed to devices (allocations). See `sync_types.rs` for the model.

use chrono::{DateTime, Utc};
use sqlx::{PgConnection, PgPool, Row};
use uuid::Uuid;

use admit_core::audit::{AuditEntry, Change, OutboxEntry};
use admit_core::model::*;
use admit_core::text::{Email, Name};
use admit_core::*;

use super::{record_change, retrying, rows, PgStore};
use crate::{
    AllocationMove, Block, ChangePage, Decide, DoubleAdmission, Revocation, ScanAttempt,
    ScanContext, ScanOutcome, ScanResolution, StoreError, StoreResult, SyncConflict, UploadOutcome,
};

/// `txid.seq` of the last row handed out; "" before the first.
fn parse_cursor(cursor: &str) -> StoreResult<(String, i64)> {
    if cursor.is_empty() {
        return Ok(("0".into(), 0));
    }
    let bad = || StoreError::NotFound {
        entity: "sync cursor",
    };
    let (txid, seq) = cursor.split_once('.').ok_or_else(bad)?;
    let txid: u64 = txid.parse().map_err(|_| bad())?;
    Ok((txid.to_string(), seq.parse().map_err(|_| bad())?))
}

/// Rows in (txid, seq) order, and only those of transactions older than the oldest one still
/// running: any transaction that commits later has a txid at least that high, so it sorts
/// after every row handed out so far.
pub(super) async fn changes_since(
    pool: &PgPool,
    cursor: &str,
    limit: u32,
) -> StoreResult<ChangePage> {
    let (txid, seq) = parse_cursor(cursor)?;
    let rows = sqlx::query(
        "select seq, txid::text as txid, id, at, entity, entity_id, version, payload from outbox
         where (txid, seq) > ($1::text::xid8, $2)
           and txid < pg_snapshot_xmin(pg_current_snapshot())
         order by txid, seq
         limit $3",
    )
    .bind(&txid)
    .bind(seq)
    .bind(i64::from(limit) + 1)
    .fetch_all(pool)
    .await?;
    let more = rows.len() > limit as usize;
    let rows = &rows[..rows.len().min(limit as usize)];
    let next_cursor = match rows.last() {
        Some(r) => format!(
            "{}.{}",
            r.try_get::<String, _>("txid")?,
            r.try_get::<i64, _>("seq")?
        ),
        None => cursor.to_string(),
    };
    let changes = rows
        .iter()
        .map(|r| rows::outbox_entry(r).map(|(_, e)| e))
        .collect::<StoreResult<Vec<_>>>()?;
    let held_back = !more && {
        let (txid, seq) = parse_cursor(&next_cursor)?;
        sqlx::query_scalar::<_, bool>(
            "select exists (select 1 from outbox where (txid, seq) > ($1::text::xid8, $2)
                            and txid >= pg_snapshot_xmin(pg_current_snapshot()))",
        )
        .bind(&txid)
        .bind(seq)
        .fetch_one(pool)
        .await?
    };
    Ok(ChangePage {
        changes,
        next_cursor,
        more,
        held_back,
    })
}

fn payload<T: serde::de::DeserializeOwned>(e: &OutboxEntry) -> Result<T, UploadOutcome> {
    serde_json::from_value(e.payload.clone()).map_err(|err| UploadOutcome::Conflict {
        reason: format!("unreadable {}: {err}", e.entity),
    })
}

pub(super) async fn apply_upload(
    pool: &PgPool,
    device: DeviceId,
    entries: &[OutboxEntry],
    now: DateTime<Utc>,
) -> StoreResult<Vec<UploadOutcome>> {
    retrying("apply_upload", || async {
        let mut tx = pool.begin().await?;
        let ids: Vec<Uuid> = entries.iter().map(|e| e.id).collect();
        let seen: Vec<Uuid> =
            sqlx::query_scalar("select entry_id from sync_applied where entry_id = any($1)")
                .bind(&ids)
                .fetch_all(&mut *tx)
                .await?;
        let mut outcomes = Vec::with_capacity(entries.len());
        let mut change = Change::default();
        for e in entries {
            if seen.contains(&e.id) {
                outcomes.push(UploadOutcome::Duplicate);
                continue;
            }
            let mut sp = sqlx::Connection::begin(&mut *tx).await?;
            let outcome = match apply_one(&mut sp, device, e, now).await? {
                Ok(o) => o,
                Err(o) => o,
            };
            match &outcome {
                UploadOutcome::Applied => {
                    sp.commit().await?;
                    change.audit.push(AuditEntry {
                        id: AuditId::new(now),
                        at: now,
                        user_id: None,
                        device_id: Some(device),
                        action: format!("{}.upload", e.entity),
                        entity: e.entity.clone(),
                        entity_id: e.entity_id,
                        detail: serde_json::json!({ "version": e.version }),
                    });
                    change.outbox.push(OutboxEntry {
                        id: admit_core::id::uuid_v7_at(now),
                        at: now,
                        ..e.clone()
                    });
                }
                UploadOutcome::Duplicate => sp.commit().await?,
                _ => sp.rollback().await?,
            }
            let (kind, reason) = match &outcome {
                UploadOutcome::Applied => ("applied", None),
                UploadOutcome::Duplicate => ("duplicate", None),
                UploadOutcome::Conflict { reason } => ("conflict", Some(reason.as_str())),
                UploadOutcome::Skipped | UploadOutcome::Deferred { .. } => {
                    outcomes.push(outcome);
                    continue;
                }
            };
            sqlx::query(
                "insert into sync_applied (entry_id, device_id, entity, outcome, reason, payload, at)
                 values ($1, $2, $3, $4, $5, $6, $7)",
            )
            .bind(e.id)
            .bind(device.0)
            .bind(&e.entity)
            .bind(kind)
            .bind(reason)
            .bind((kind == "conflict").then_some(&e.payload))
            .bind(now)
            .execute(&mut *tx)
            .await?;
            outcomes.push(outcome);
        }
        record_change(&mut tx, &change).await?;
        tx.commit().await?;
        Ok(outcomes)
    })
    .await
}

type Applied = StoreResult<Result<UploadOutcome, UploadOutcome>>;

async fn apply_one(
    conn: &mut PgConnection,
    device: DeviceId,
    e: &OutboxEntry,
    now: DateTime<Utc>,
) -> Applied {
    Ok(Ok(match e.entity.as_str() {
        "order" => {
            let o: Order = match payload(e) {
                Ok(o) => o,
                Err(x) => return Ok(Err(x)),
            };
            return upsert_order(conn, &o).await;
        }
        "ticket" => {
            let t: Ticket = match payload(e) {
                Ok(t) => t,
                Err(x) => return Ok(Err(x)),
            };
            return upsert_ticket(conn, device, &t, now).await;
        }
        "revocation" => {
            let r: Revocation = match payload(e) {
                Ok(r) => r,
                Err(x) => return Ok(Err(x)),
            };
            sqlx::query(
                "insert into revocations (event_id, fingerprint, ticket_id, reason, at)
                 values ($1, $2, $3, $4, $5) on conflict do nothing",
            )
            .bind(r.event_id.0)
            .bind(r.fingerprint.0.to_vec())
            .bind(r.ticket_id.0)
            .bind(&r.reason)
            .bind(r.at)
            .execute(&mut *conn)
            .await?;
            UploadOutcome::Applied
        }
        "block" => {
            #[derive(serde::Deserialize)]
            struct BlockChange {
                block: Option<Block>,
                ticket_id: TicketId,
            }
            let b: BlockChange = match payload(e) {
                Ok(b) => b,
                Err(x) => return Ok(Err(x)),
            };
            match b.block {
                Some(block) => {
                    sqlx::query(
                        "insert into blocks (event_id, ticket_id, reason, at) values ($1, $2, $3, $4)
                         on conflict (event_id, ticket_id) do update
                         set reason = excluded.reason, at = excluded.at",
                    )
                    .bind(block.event_id.0)
                    .bind(b.ticket_id.0)
                    .bind(&block.reason)
                    .bind(block.at)
                    .execute(&mut *conn)
                    .await?;
                }
                None => {
                    sqlx::query("delete from blocks where ticket_id = $1")
                        .bind(b.ticket_id.0)
                        .execute(&mut *conn)
                        .await?;
                }
            }
            UploadOutcome::Applied
        }
        _ => UploadOutcome::Skipped,
    }))
}

/// A user the server has no row for (a device's local cashier): a placeholder that cannot log
/// in, so the order keeps saying who sold it.
async fn ensure_user(conn: &mut PgConnection, id: UserId, at: DateTime<Utc>) -> StoreResult<()> {
    sqlx::query(
        "insert into users (id, username, display_name, role, password_hash, active,
                            created_at, updated_at, version)
         values ($1, 'synced-' || $1::text, 'Staff of a device', 'box_office', '!', false,
                 $2, $2, 1)
         on conflict (id) do nothing",
    )
    .bind(id.0)
    .bind(at)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

async fn upsert_order(conn: &mut PgConnection, o: &Order) -> Applied {
    let event: bool = sqlx::query_scalar("select exists (select 1 from events where id = $1)")
        .bind(o.event_id.0)
        .fetch_one(&mut *conn)
        .await?;
    if !event {
        return Ok(Err(UploadOutcome::Conflict {
            reason: "the order's event is not on this server".into(),
        }));
    }
    ensure_user(conn, o.created_by, o.meta.created_at).await?;
    if let Some(u) = o.payment.paid_by {
        ensure_user(conn, u, o.meta.updated_at).await?;
    }
    let done = sqlx::query(
        "insert into orders (id, code, event_id, buyer_name, buyer_email, channel,
             payment_method, status, total_minor, currency, created_by, device_id,
             created_at, updated_at, version, coupon_id, discount_minor,
             payment_due, paid_at, paid_by, paid_device, tendered_minor, payment_note)
         values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17,
                 $18, $19, $20, $21, $22, $23)
         on conflict (id) do update set buyer_name = excluded.buyer_name,
             buyer_email = excluded.buyer_email, payment_method = excluded.payment_method,
             status = excluded.status, total_minor = excluded.total_minor,
             updated_at = excluded.updated_at, version = excluded.version,
             discount_minor = excluded.discount_minor, payment_due = excluded.payment_due,
             paid_at = excluded.paid_at, paid_by = excluded.paid_by,
             paid_device = excluded.paid_device, tendered_minor = excluded.tendered_minor,
             payment_note = excluded.payment_note
         where excluded.version > orders.version",
    )
    .bind(o.id.0)
    .bind(o.code.as_str())
    .bind(o.event_id.0)
    .bind(o.buyer_name.as_ref().map(Name::as_str))
    .bind(o.buyer_email.as_ref().map(Email::as_str))
    .bind(o.channel.as_str())
    .bind(o.payment_method.as_str())
    .bind(o.status.as_str())
    .bind(o.total.minor)
    .bind(o.total.currency.code())
    .bind(o.created_by.0)
    .bind(o.device_id.map(|d| d.0))
    .bind(o.meta.created_at)
    .bind(o.meta.updated_at)
    .bind(o.meta.version)
    // A coupon lives on the device that sold with it; the server keeps the discount.
    .bind(None::<Uuid>)
    .bind(o.discount_minor)
    .bind(o.payment.due)
    .bind(o.payment.paid_at)
    .bind(o.payment.paid_by.map(|u| u.0))
    .bind(o.payment.paid_device.map(|d| d.0))
    .bind(o.payment.tendered_minor)
    .bind(o.payment.note.as_deref())
    .execute(&mut *conn)
    .await;
    match done {
        Ok(r) if r.rows_affected() > 0 => Ok(Ok(UploadOutcome::Applied)),
        Ok(_) => Ok(Ok(UploadOutcome::Duplicate)),
        Err(e) => match StoreError::from(e) {
            StoreError::Conflict { constraint } => Ok(Err(UploadOutcome::Conflict {
                reason: format!("refused by {constraint}"),
            })),
            other => Err(other),
        },
    }
}

async fn upsert_ticket(
    conn: &mut PgConnection,
    device: DeviceId,
    t: &Ticket,
    now: DateTime<Utc>,
) -> Applied {
    let known: Option<(String, i64)> =
        sqlx::query_as("select status, version from tickets where id = $1 for update")
            .bind(t.id.0)
            .fetch_optional(&mut *conn)
            .await?;
    let valid = t.status == TicketStatus::Valid;
    match known {
        None => {
            let order: bool =
                sqlx::query_scalar("select exists (select 1 from orders where id = $1)")
                    .bind(t.order_id.0)
                    .fetch_one(&mut *conn)
                    .await?;
            if !order {
                return Ok(Err(UploadOutcome::Deferred {
                    reason: "the ticket's order has not arrived".into(),
                }));
            }
            let inserted = sqlx::query(
                "insert into tickets (id, order_id, event_id, ticket_type_id, price_minor,
                     currency, attendee_name, status, created_at, updated_at, version)
                 values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
            )
            .bind(t.id.0)
            .bind(t.order_id.0)
            .bind(t.event_id.0)
            .bind(t.ticket_type_id.0)
            .bind(t.price.minor)
            .bind(t.price.currency.code())
            .bind(t.attendee_name.as_ref().map(Name::as_str))
            .bind(t.status.as_str())
            .bind(t.meta.created_at)
            .bind(t.meta.updated_at)
            .bind(t.meta.version)
            .execute(&mut *conn)
            .await;
            if let Err(e) = inserted {
                return match StoreError::from(e) {
                    StoreError::Conflict { constraint } => Ok(Err(UploadOutcome::Conflict {
                        reason: format!("refused by {constraint}"),
                    })),
                    other => Err(other),
                };
            }
            sqlx::query(
                "insert into ticket_quotas (ticket_id, quota_id)
                 select $1, quota_id from quota_ticket_types where ticket_type_id = $2",
            )
            .bind(t.id.0)
            .bind(t.ticket_type_id.0)
            .execute(&mut *conn)
            .await?;
            if valid {
                if let Some(reason) = take_units(conn, device, t.id).await? {
                    return Ok(Err(UploadOutcome::Conflict { reason }));
                }
            }
            Ok(Ok(UploadOutcome::Applied))
        }
        Some((_, version)) if version >= t.meta.version => Ok(Ok(UploadOutcome::Duplicate)),
        Some((status, _)) => {
            sqlx::query(
                "update tickets set attendee_name = $2, status = $3, updated_at = $4, version = $5
                 where id = $1",
            )
            .bind(t.id.0)
            .bind(t.attendee_name.as_ref().map(Name::as_str))
            .bind(t.status.as_str())
            .bind(t.meta.updated_at)
            .bind(t.meta.version)
            .execute(&mut *conn)
            .await?;
            let was_valid = status == TicketStatus::Valid.as_str();
            if was_valid && !valid {
                give_units(conn, device, t.id, now).await?;
            } else if !was_valid && valid {
                if let Some(reason) = take_units(conn, device, t.id).await? {
                    return Ok(Err(UploadOutcome::Conflict { reason }));
                }
            }
            Ok(Ok(UploadOutcome::Applied))
        }
    }
}

/// One unit of every quota the ticket counts in, out of the device's allocation, or else the
/// free pool. `Some(reason)` when a quota has neither.
async fn take_units(
    conn: &mut PgConnection,
    device: DeviceId,
    ticket: TicketId,
) -> StoreResult<Option<String>> {
    let quotas: Vec<Uuid> = sqlx::query_scalar(
        "select quota_id from ticket_quotas where ticket_id = $1 order by quota_id",
    )
    .bind(ticket.0)
    .fetch_all(&mut *conn)
    .await?;
    for q in quotas {
        let from_allocation = sqlx::query(
            "update allocations set units = units - 1 where device_id = $1 and quota_id = $2
             and units >= 1",
        )
        .bind(device.0)
        .bind(q)
        .execute(&mut *conn)
        .await?
        .rows_affected();
        if from_allocation == 1 {
            continue;
        }
        let from_pool =
            sqlx::query("update quotas set taken = taken + 1 where id = $1 and taken + 1 <= size")
                .bind(q)
                .execute(&mut *conn)
                .await?
                .rows_affected();
        if from_pool == 0 {
            return Ok(Some(format!(
                "sold out: quota {q} has no unit left for a ticket sold beyond the device's allocation"
            )));
        }
    }
    Ok(None)
}

/// The units of a ticket the device cancelled go back to that device's allocation: it may
/// sell them again, and they stay counted as taken here until it returns them.
async fn give_units(
    conn: &mut PgConnection,
    device: DeviceId,
    ticket: TicketId,
    now: DateTime<Utc>,
) -> StoreResult<()> {
    sqlx::query(
        "insert into allocations (device_id, quota_id, units, updated_at)
         select $1, quota_id, 1, $3 from ticket_quotas where ticket_id = $2
         on conflict (device_id, quota_id) do update
         set units = allocations.units + 1, updated_at = excluded.updated_at",
    )
    .bind(device.0)
    .bind(ticket.0)
    .bind(now)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

pub(super) async fn move_allocation(pool: &PgPool, m: &AllocationMove) -> StoreResult<i64> {
    retrying("move_allocation", || async {
        let mut tx = pool.begin().await?;
        // The quota's row lock orders moves of one quota; a repeated move id then sees the
        // first one's row.
        let free: Option<i64> =
            sqlx::query_scalar("select (size - taken)::int8 from quotas where id = $1 for update")
                .bind(m.quota_id.0)
                .fetch_optional(&mut *tx)
                .await?;
        let Some(free) = free else {
            return Err(StoreError::NotFound { entity: "quota" });
        };
        let before: Option<i64> =
            sqlx::query_scalar("select moved from allocation_moves where id = $1")
                .bind(m.id)
                .fetch_optional(&mut *tx)
                .await?;
        if let Some(moved) = before {
            return Ok(moved);
        }
        let held: i64 = sqlx::query_scalar(
            "select coalesce((select units from allocations where device_id = $1 and quota_id = $2), 0)",
        )
        .bind(m.device_id.0)
        .bind(m.quota_id.0)
        .fetch_one(&mut *tx)
        .await?;
        let moved = if m.asked >= 0 {
            m.asked.min(free)
        } else {
            -(-m.asked).min(held)
        };
        if moved != 0 {
            sqlx::query("update quotas set taken = taken + $2 where id = $1")
                .bind(m.quota_id.0)
                .bind(moved as i32)
                .execute(&mut *tx)
                .await?;
            sqlx::query(
                "insert into allocations (device_id, quota_id, units, updated_at)
                 values ($1, $2, $3, $4)
                 on conflict (device_id, quota_id) do update
                 set units = allocations.units + excluded.units, updated_at = excluded.updated_at",
            )
            .bind(m.device_id.0)
            .bind(m.quota_id.0)
            .bind(moved)
            .bind(m.at)
            .execute(&mut *tx)
            .await?;
        }
        sqlx::query(
            "insert into allocation_moves (id, device_id, quota_id, asked, moved, at)
             values ($1, $2, $3, $4, $5, $6)",
        )
        .bind(m.id)
        .bind(m.device_id.0)
        .bind(m.quota_id.0)
        .bind(m.asked)
        .bind(moved)
        .bind(m.at)
        .execute(&mut *tx)
        .await?;
        let change = Change::new(
            m.at,
            None,
            Some(m.device_id),
            if moved >= 0 {
                "allocation.grant"
            } else {
                "allocation.return"
            },
            "quota",
            m.quota_id.0,
            serde_json::json!({ "asked": m.asked, "moved": moved }),
        );
        record_change(&mut tx, &change).await?;
        tx.commit().await?;
        Ok(moved)
    })
    .await
}

pub(super) async fn allocations_of(
    pool: &PgPool,
    device: DeviceId,
) -> StoreResult<Vec<(QuotaId, i64)>> {
    let rows: Vec<(Uuid, i64)> = sqlx::query_as(
        "select quota_id, units from allocations where device_id = $1 order by quota_id",
    )
    .bind(device.0)
    .fetch_all(pool)
    .await?;
    Ok(rows.into_iter().map(|(q, n)| (QuotaId(q), n)).collect())
}

pub(super) async fn sync_conflicts(pool: &PgPool, limit: u32) -> StoreResult<Vec<SyncConflict>> {
    let rows = sqlx::query(
        "select entry_id, device_id, entity, reason, payload, at from sync_applied
         where outcome = 'conflict' order by at desc, entry_id limit $1",
    )
    .bind(i64::from(limit))
    .fetch_all(pool)
    .await?;
    rows.iter()
        .map(|r| {
            Ok(SyncConflict {
                entry_id: r.try_get("entry_id")?,
                device_id: DeviceId(r.try_get("device_id")?),
                entity: r.try_get("entity")?,
                reason: r
                    .try_get::<Option<String>, _>("reason")?
                    .unwrap_or_default(),
                payload: r
                    .try_get::<Option<serde_json::Value>, _>("payload")?
                    .unwrap_or_default(),
                at: r.try_get("at")?,
            })
        })
        .collect()
}

pub(super) async fn double_admissions(
    pool: &PgPool,
    limit: u32,
) -> StoreResult<Vec<DoubleAdmission>> {
    let rows = sqlx::query(
        "select id, ticket_id, list_id, device_id, gate, at, explanation from scans
         where forced and verdict = 'already_redeemed' order by at desc limit $1",
    )
    .bind(i64::from(limit))
    .fetch_all(pool)
    .await?;
    rows.iter()
        .map(|r| {
            Ok(DoubleAdmission {
                scan_id: ScanId(r.try_get("id")?),
                ticket_id: r.try_get::<Option<Uuid>, _>("ticket_id")?.map(TicketId),
                list_id: CheckinListId(r.try_get("list_id")?),
                device_id: r.try_get::<Option<Uuid>, _>("device_id")?.map(DeviceId),
                gate: r.try_get("gate")?,
                at: r.try_get("at")?,
                explanation: r.try_get("explanation")?,
            })
        })
        .collect()
}

/// Scans per transaction in [`redeem_many`]: each holds one advisory lock per ticket until it
/// commits, and PostgreSQL's shared lock table is sized for about 64 per connection (6,400
/// with the default 100 connections), shared by every transaction running.
const SCANS_PER_TRANSACTION: usize = 500;

/// Many independent scans (no shared ticket or nonce), each decided exactly as `redeem` would
/// decide it: the same ticket locks, taken in one statement in key order so two batches never
/// wait for each other's; every context read in one statement; the scans and their outbox
/// rows written by one `insert … select from unnest(…)`.
pub(super) async fn redeem_many(
    store: &PgStore,
    scans: &[(ScanAttempt, Decide)],
) -> StoreResult<Vec<ScanOutcome>> {
    crate::check_independent(scans)?;
    let mut outcomes = Vec::with_capacity(scans.len());
    for chunk in scans.chunks(SCANS_PER_TRANSACTION) {
        outcomes.extend(retrying("redeem_many", || redeem_chunk(store.pool(), chunk)).await?);
    }
    Ok(outcomes)
}

async fn redeem_chunk(
    pool: &PgPool,
    scans: &[(ScanAttempt, Decide)],
) -> StoreResult<Vec<ScanOutcome>> {
    let mut tx = pool.begin().await?;
    let tickets: Vec<Uuid> = scans
        .iter()
        .filter_map(|(a, _)| a.ticket_id.map(|t| t.0))
        .collect();
    if !tickets.is_empty() {
        sqlx::query(
            "select pg_advisory_xact_lock(k) from (
                 select distinct hashtextextended(t::text, 0) as k from unnest($1::uuid[]) as t
                 order by k
             ) as keys",
        )
        .bind(&tickets)
        .execute(&mut *tx)
        .await?;
    }
    // The same context as `redeem` reads, one row per scan, numbered by its place in `scans`.
    let rows = sqlx::query(
        "select u.i, (select answer from scans where nonce = u.nonce) as prior_answer,
                t.ticket_type_id, t.status as ticket_status, o.status as order_status,
                t.attendee_name, tt.name as ticket_type_name, o.code as order_code,
                exists (select 1 from revocations r
                        where r.event_id = u.event_id and r.fingerprint = u.fingerprint)
                    as revoked,
                exists (select 1 from blocks b
                        where b.event_id = u.event_id and b.ticket_id = u.ticket_id) as blocked,
                h.history_at, h.history_direction, h.history_gate
         from unnest($1::int4[], $2::uuid[], $3::uuid[], $4::bytea[], $5::text[], $6::uuid[])
              as u(i, ticket_id, event_id, fingerprint, nonce, list_id)
         left join tickets t on t.id = u.ticket_id
         left join orders o on o.id = t.order_id
         left join ticket_types tt on tt.id = t.ticket_type_id
         cross join lateral (
             select coalesce(array_agg(s.at order by s.at, s.id), '{}') as history_at,
                    coalesce(array_agg(s.direction order by s.at, s.id), '{}')
                        as history_direction,
                    coalesce(array_agg(s.gate order by s.at, s.id), '{}') as history_gate
             from scans s
             where s.ticket_id = u.ticket_id and s.list_id = u.list_id and s.counted
         ) as h",
    )
    .bind((0..scans.len() as i32).collect::<Vec<_>>())
    .bind(
        scans
            .iter()
            .map(|(a, _)| a.ticket_id.map(|t| t.0))
            .collect::<Vec<_>>(),
    )
    .bind(scans.iter().map(|(a, _)| a.event_id.0).collect::<Vec<_>>())
    .bind(
        scans
            .iter()
            .map(|(a, _)| a.ticket_id.and(a.fingerprint).map(|f| f.0.to_vec()))
            .collect::<Vec<_>>(),
    )
    .bind(
        scans
            .iter()
            .map(|(a, _)| a.nonce.as_str())
            .collect::<Vec<_>>(),
    )
    .bind(scans.iter().map(|(a, _)| a.list_id.0).collect::<Vec<_>>())
    .fetch_all(&mut *tx)
    .await?;
    let mut answers: Vec<Option<ScanOutcome>> = vec![None; scans.len()];
    let mut fresh = FreshScans::default();
    for row in &rows {
        let i = usize::try_from(row.try_get::<i32, _>("i")?)
            .map_err(|_| StoreError::Other("scan number out of range".into()))?;
        let (a, decide) = scans
            .get(i)
            .ok_or_else(|| StoreError::Other("scan number out of range".into()))?;
        if let Some(answer) = row.try_get::<Option<serde_json::Value>, _>("prior_answer")? {
            answers[i] = Some(ScanOutcome {
                answer,
                duplicate: true,
            });
            continue;
        }
        let ctx = ScanContext {
            ticket: super::rows::ticket_view(row)?,
            revoked: row.try_get("revoked")?,
            blocked: row.try_get("blocked")?,
            history: super::rows::history(row)?,
        };
        let res = decide(&ctx);
        fresh.push(a, res)?;
        answers[i] = Some(ScanOutcome {
            answer: fresh.answer.last().cloned().unwrap_or_default(),
            duplicate: false,
        });
    }
    if !fresh.id.is_empty() {
        // The outbox rows hang off the insert, so a nonce that lost a race queues nothing.
        let inserted: Vec<String> = sqlx::query_scalar(
            "with s as (
                 insert into scans (id, nonce, list_id, event_id, ticket_id, direction,
                                    device_id, gate, user_id, at, recorded_at, verdict,
                                    explanation, counted, forced, raw, answer)
                 select id, nonce, list_id, event_id, ticket_id, direction, device_id, gate,
                        user_id, at, recorded_at, verdict, explanation, counted, forced, raw,
                        answer::jsonb
                 from unnest($1::uuid[], $2::text[], $3::uuid[], $4::uuid[], $5::uuid[],
                             $6::text[], $7::uuid[], $8::text[], $9::uuid[],
                             $10::timestamptz[], $11::timestamptz[], $12::text[], $13::text[],
                             $14::bool[], $15::bool[], $16::text[], $17::text[])
                      as u(id, nonce, list_id, event_id, ticket_id, direction, device_id, gate,
                           user_id, at, recorded_at, verdict, explanation, counted, forced,
                           raw, answer)
                 on conflict (nonce) do nothing
                 returning id, nonce
             ),
             o as (
                 insert into outbox (id, at, entity, entity_id, version, payload)
                 select q.outbox_id, q.at, 'scan', s.id, 1, q.payload::jsonb
                 from s join unnest($18::uuid[], $11::timestamptz[], $19::text[], $2::text[])
                             as q(outbox_id, at, payload, nonce) on q.nonce = s.nonce
             )
             select nonce from s",
        )
        .bind(&fresh.id)
        .bind(&fresh.nonce)
        .bind(&fresh.list_id)
        .bind(&fresh.event_id)
        .bind(&fresh.ticket_id)
        .bind(&fresh.direction)
        .bind(&fresh.device_id)
        .bind(&fresh.gate)
        .bind(&fresh.user_id)
        .bind(&fresh.at)
        .bind(&fresh.recorded_at)
        .bind(&fresh.verdict)
        .bind(&fresh.explanation)
        .bind(&fresh.counted)
        .bind(&fresh.forced)
        .bind(&fresh.raw)
        .bind(
            fresh
                .answer
                .iter()
                .map(serde_json::Value::to_string)
                .collect::<Vec<_>>(),
        )
        .bind(&fresh.outbox_id)
        .bind(&fresh.payload)
        .fetch_all(&mut *tx)
        .await?;
        if inserted.len() < fresh.id.len() {
            // The same nonce committed meanwhile (possible only without a ticket to lock on,
            // a secret that did not verify): that scan's answer stands.
            let inserted: std::collections::HashSet<&str> =
                inserted.iter().map(String::as_str).collect();
            for (i, (a, _)) in scans.iter().enumerate() {
                let lost = answers[i].as_ref().is_some_and(|o| !o.duplicate)
                    && !inserted.contains(a.nonce.as_str());
                if lost {
                    let answer: serde_json::Value =
                        sqlx::query_scalar("select answer from scans where nonce = $1")
                            .bind(&a.nonce)
                            .fetch_optional(&mut *tx)
                            .await?
                            .ok_or_else(|| {
                                StoreError::Other(format!("scan with nonce {:?} vanished", a.nonce))
                            })?;
                    answers[i] = Some(ScanOutcome {
                        answer,
                        duplicate: true,
                    });
                }
            }
        }
    }
    tx.commit().await?;
    answers
        .into_iter()
        .map(|o| o.ok_or_else(|| StoreError::Other("a scan got no context row".into())))
        .collect()
}

/// The columns of the scans a batch writes, one vector per column.
#[derive(Default)]
struct FreshScans {
    id: Vec<Uuid>,
    nonce: Vec<String>,
    list_id: Vec<Uuid>,
    event_id: Vec<Uuid>,
    ticket_id: Vec<Option<Uuid>>,
    direction: Vec<&'static str>,
    device_id: Vec<Option<Uuid>>,
    gate: Vec<Option<String>>,
    user_id: Vec<Option<Uuid>>,
    at: Vec<DateTime<Utc>>,
    recorded_at: Vec<DateTime<Utc>>,
    verdict: Vec<&'static str>,
    explanation: Vec<String>,
    counted: Vec<bool>,
    forced: Vec<bool>,
    raw: Vec<Option<String>>,
    answer: Vec<serde_json::Value>,
    outbox_id: Vec<Uuid>,
    payload: Vec<String>,
}

impl FreshScans {
    fn push(&mut self, a: &ScanAttempt, res: ScanResolution) -> StoreResult<()> {
        let raw = if res.counted { None } else { a.raw.as_deref() };
        self.payload
            .push(super::door::scan_payload(a, &res, raw)?.to_string());
        self.id.push(a.id.0);
        self.nonce.push(a.nonce.clone());
        self.list_id.push(a.list_id.0);
        self.event_id.push(a.event_id.0);
        self.ticket_id.push(a.ticket_id.map(|t| t.0));
        self.direction.push(a.direction.as_str());
        self.device_id.push(a.device_id.map(|d| d.0));
        self.gate.push(a.gate.clone());
        self.user_id.push(a.user_id.map(|u| u.0));
        self.at.push(a.at);
        self.recorded_at.push(a.recorded_at);
        self.verdict.push(res.verdict.as_str());
        self.explanation.push(res.explanation);
        self.counted.push(res.counted);
        self.forced.push(res.forced);
        self.raw.push(raw.map(str::to_string));
        self.answer.push(res.answer);
        self.outbox_id.push(uuid_v7_at(a.recorded_at));
        Ok(())
    }
}

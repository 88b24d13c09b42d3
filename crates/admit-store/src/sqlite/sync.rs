//! The device side of sync on SQLite: applying the server's changes, the units the server
//! granted, and the client's own state (cursors).
//!
//! A synced device sells a quota up to its local `size`, and that size is kept equal to the
//! units its store counts as taken plus the units the server granted it and it has not used.
//! So the sale path needs no extra check: the conditional update that guards every sale also
//! keeps the device inside its allocation. A grant raises `size`, a return lowers it; a sale
//! or ticket downloaded from elsewhere raises `taken` and `size` together (it was sold out of
//! someone else's units), and one cancelled elsewhere lowers both.

use chrono::{DateTime, Utc};
use rusqlite::{params, Connection, OptionalExtension};
use uuid::Uuid;

use admit_core::audit::{Change, OutboxEntry};
use admit_core::checkin::CheckinList;
use admit_core::model::*;
use admit_core::text::{Email, Name};
use admit_core::*;

use super::{door, replace_quota_types, us};
use crate::{Block, EventKey, Revocation, ScanRecord, StoreError, StoreResult};

fn payload<T: serde::de::DeserializeOwned>(e: &OutboxEntry) -> StoreResult<T> {
    serde_json::from_value(e.payload.clone())
        .map_err(|err| StoreError::Other(format!("{} {}: {err}", e.entity, e.entity_id)))
}

/// Apply one page of the server's feed in one transaction; returns how many records changed.
pub(super) fn apply_downloaded(c: &Connection, changes: &[OutboxEntry]) -> StoreResult<u32> {
    let none = Change::default();
    let mut applied = 0;
    for e in changes {
        let changed = match e.entity.as_str() {
            "event" => {
                let ev: Event = payload(e)?;
                door::import_event(c, &ev, &none)?;
                true
            }
            "ticket_type" => upsert_ticket_type(c, &payload(e)?)?,
            "quota" => upsert_quota(c, &payload(e)?)?,
            "checkin_list" => {
                let l: CheckinList = payload(e)?;
                door::upsert_list(c, &l, true, &none)?;
                true
            }
            "event_key" => {
                let k: EventKey = payload(e)?;
                door::put_event_key(c, &k, None, &none)?;
                true
            }
            "revocation" => {
                let r: Revocation = payload(e)?;
                door::insert_revocations(c, &[r])?;
                true
            }
            "block" => apply_block(c, e)?,
            "order" => upsert_order(c, &payload(e)?)?,
            "ticket" => upsert_ticket(c, &payload(e)?)?,
            "scan" => insert_scan(c, &payload(e)?)?,
            // Users, coupons, shifts, mail and the rest stay on the server.
            _ => false,
        };
        applied += changed as u32;
    }
    Ok(applied)
}

fn upsert_ticket_type(c: &Connection, t: &TicketType) -> StoreResult<bool> {
    let n = c
        .prepare_cached(
            "insert into ticket_types (id, event_id, name, price_minor, currency, sales_start,
                 sales_end, min_per_order, max_per_order, active, sort_order,
                 created_at, updated_at, version)
             values (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)
             on conflict (id) do update set name = excluded.name,
                 price_minor = excluded.price_minor, currency = excluded.currency,
                 sales_start = excluded.sales_start, sales_end = excluded.sales_end,
                 min_per_order = excluded.min_per_order, max_per_order = excluded.max_per_order,
                 active = excluded.active, sort_order = excluded.sort_order,
                 updated_at = excluded.updated_at, version = excluded.version
             where excluded.version > ticket_types.version",
        )?
        .execute(params![
            t.id.0,
            t.event_id.0,
            t.name.as_str(),
            t.price.minor,
            t.price.currency.code(),
            t.sales_start.map(us),
            t.sales_end.map(us),
            t.min_per_order as i64,
            t.max_per_order as i64,
            t.active,
            t.sort_order as i64,
            us(t.meta.created_at),
            us(t.meta.updated_at),
            t.meta.version,
        ])?;
    Ok(n > 0)
}

/// A quota new to the device starts with nothing granted (size 0); its real size is kept in
/// `remote_size`. Coverage follows the server.
fn upsert_quota(c: &Connection, q: &Quota) -> StoreResult<bool> {
    let n = c
        .prepare_cached(
            "insert into quotas (id, event_id, name, size, taken, remote_size,
                                 created_at, updated_at, version)
             values (?1, ?2, ?3, 0, 0, ?4, ?5, ?6, ?7)
             on conflict (id) do update set name = excluded.name,
                 remote_size = excluded.remote_size, updated_at = excluded.updated_at,
                 version = excluded.version
             where excluded.version > quotas.version",
        )?
        .execute(params![
            q.id.0,
            q.event_id.0,
            q.name.as_str(),
            q.size as i64,
            us(q.meta.created_at),
            us(q.meta.updated_at),
            q.meta.version,
        ])?;
    if n > 0 {
        replace_quota_types(c, q)?;
    }
    Ok(n > 0)
}

fn apply_block(c: &Connection, e: &OutboxEntry) -> StoreResult<bool> {
    #[derive(serde::Deserialize)]
    struct BlockChange {
        block: Option<Block>,
        ticket_id: TicketId,
    }
    let b: BlockChange = payload(e)?;
    match b.block {
        Some(block) => door::set_block(
            c,
            block.event_id,
            b.ticket_id,
            Some(&block),
            &Change::default(),
        )?,
        None => {
            c.prepare_cached("delete from blocks where ticket_id = ?1")?
                .execute([b.ticket_id.0])?;
        }
    }
    Ok(true)
}

/// A user this device has no row for (who sold on another device): a placeholder that cannot
/// log in, so the order keeps saying who sold it.
fn ensure_user(c: &Connection, id: UserId, at: DateTime<Utc>) -> StoreResult<()> {
    c.prepare_cached(
        "insert or ignore into users (id, username, display_name, role, password_hash, active,
                                      created_at, updated_at, version)
         values (?1, 'synced-' || lower(hex(?1)), 'Staff of another device', 'box_office', '!',
                 0, ?2, ?2, 1)",
    )?
    .execute(params![id.0, us(at)])?;
    Ok(())
}

fn upsert_order(c: &Connection, o: &Order) -> StoreResult<bool> {
    ensure_user(c, o.created_by, o.meta.created_at)?;
    if let Some(u) = o.payment.paid_by {
        ensure_user(c, u, o.meta.updated_at)?;
    }
    let n = c
        .prepare_cached(concat!(
            insert_order_sql!(),
            " on conflict (id) do update set buyer_name = excluded.buyer_name,
                 buyer_email = excluded.buyer_email, payment_method = excluded.payment_method,
                 status = excluded.status, total_minor = excluded.total_minor,
                 updated_at = excluded.updated_at, version = excluded.version,
                 discount_minor = excluded.discount_minor, payment_due = excluded.payment_due,
                 paid_at = excluded.paid_at, paid_by = excluded.paid_by,
                 paid_device = excluded.paid_device, tendered_minor = excluded.tendered_minor,
                 payment_note = excluded.payment_note
             where excluded.version > orders.version"
        ))?
        .execute(order_params!(o))?;
    Ok(n > 0)
}

/// Move `delta` units of `taken` and `size` together on every quota the ticket counts in.
fn shift_units(c: &Connection, ticket: TicketId, delta: i64) -> StoreResult<()> {
    c.prepare_cached(
        "update quotas set taken = taken + ?2, size = size + ?2
         where id in (select quota_id from ticket_quotas where ticket_id = ?1)",
    )?
    .execute(params![ticket.0, delta])?;
    Ok(())
}

fn upsert_ticket(c: &Connection, t: &Ticket) -> StoreResult<bool> {
    let known: Option<(String, i64)> = c
        .prepare_cached("select status, version from tickets where id = ?1")?
        .query_row([t.id.0], |r| Ok((r.get(0)?, r.get(1)?)))
        .optional()?;
    let valid = t.status == TicketStatus::Valid;
    match known {
        None => {
            c.prepare_cached(
                "insert into tickets (id, order_id, event_id, ticket_type_id, price_minor,
                     currency, attendee_name, status, created_at, updated_at, version)
                 values (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
            )?
            .execute(params![
                t.id.0,
                t.order_id.0,
                t.event_id.0,
                t.ticket_type_id.0,
                t.price.minor,
                t.price.currency.code(),
                t.attendee_name.as_ref().map(Name::as_str),
                t.status.as_str(),
                us(t.meta.created_at),
                us(t.meta.updated_at),
                t.meta.version,
            ])?;
            // The quotas that covered the type when it was sold: the ones a cancellation
            // will give back to.
            c.prepare_cached(
                "insert into ticket_quotas (ticket_id, quota_id)
                 select ?1, quota_id from quota_ticket_types where ticket_type_id = ?2",
            )?
            .execute(params![t.id.0, t.ticket_type_id.0])?;
            if valid {
                shift_units(c, t.id, 1)?;
            }
            Ok(true)
        }
        Some((_, version)) if version >= t.meta.version => Ok(false),
        Some((status, _)) => {
            c.prepare_cached(
                "update tickets set attendee_name = ?2, status = ?3, updated_at = ?4,
                     version = ?5
                 where id = ?1",
            )?
            .execute(params![
                t.id.0,
                t.attendee_name.as_ref().map(Name::as_str),
                t.status.as_str(),
                us(t.meta.updated_at),
                t.meta.version,
            ])?;
            let was_valid = status == TicketStatus::Valid.as_str();
            if was_valid != valid {
                shift_units(c, t.id, if valid { 1 } else { -1 })?;
            }
            Ok(true)
        }
    }
}

/// Another door's scan, as history: it decides what this door answers next.
fn insert_scan(c: &Connection, s: &ScanRecord) -> StoreResult<bool> {
    let n = c
        .prepare_cached(
            "insert into scans (id, nonce, list_id, event_id, ticket_id, direction, device_id,
                 gate, user_id, at, recorded_at, verdict, explanation, counted, forced, raw,
                 answer)
             select ?1, ?2, l.id, l.event_id, ?3, ?4, ?5, ?6, null, ?7, ?7, ?8, '', ?9, ?10,
                    ?11, '{}'
             from checkin_lists l where l.id = ?12
             on conflict do nothing",
        )?
        .execute(params![
            s.id.0,
            s.nonce,
            s.ticket_id.map(|t| t.0),
            s.direction.as_str(),
            s.device_id.map(|d| d.0),
            s.gate,
            us(s.at),
            s.verdict.as_str(),
            s.counted,
            s.forced,
            s.raw,
            s.list_id.0,
        ])?;
    Ok(n > 0)
}

/// Count a grant or return once. A grant raises the quota's size; a return lowers it, and
/// only out of units the device holds spare (else `Ok(false)` and nothing changes).
pub(super) fn record_grant(
    c: &Connection,
    id: Uuid,
    quota: QuotaId,
    units: i64,
    confirmed: bool,
    now: DateTime<Utc>,
) -> StoreResult<bool> {
    let new = c
        .prepare_cached(
            "insert into sync_grants (id, quota_id, units, at, confirmed) values (?1, ?2, ?3, ?4, ?5)
             on conflict do nothing",
        )?
        .execute(params![id, quota.0, units, us(now), confirmed])?;
    if new == 0 {
        if confirmed {
            c.prepare_cached("update sync_grants set confirmed = 1 where id = ?1")?
                .execute([id])?;
        }
        return Ok(false);
    }
    let moved = c
        .prepare_cached("update quotas set size = size + ?2 where id = ?1 and size + ?2 >= taken")?
        .execute(params![quota.0, units])?;
    if moved == 0 {
        return Err(StoreError::SoldOut {
            quota_id: quota,
            available: 0,
        });
    }
    Ok(true)
}

/// Returns made on the device and not yet confirmed by the server.
pub(super) fn unconfirmed_returns(c: &Connection) -> StoreResult<Vec<(Uuid, QuotaId, i64)>> {
    let rows = c
        .prepare_cached(
            "select id, quota_id, units from sync_grants where confirmed = 0 order by at, id",
        )?
        .query_map([], |r| Ok((r.get(0)?, QuotaId(r.get(1)?), r.get(2)?)))?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(rows)
}

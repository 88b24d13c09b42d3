//! The common sale in one statement, alone or many at once.
//!
//! A sale that consumes no hold, uses no coupon, takes up no waiting-list offer and queues no
//! mail, of an event none of whose active holds is overdue, has nothing to settle: it only
//! takes units ([`quick_path_applies`]). [`PLAIN_SALES`] does that for one or many such sales
//! as one autocommitted statement (no `BEGIN`/`COMMIT` round trips, one commit for all of
//! them, and the quota locks go with the statement's own commit): it locks the demanded quotas
//! by primary key, in id order like every other stock writer (`stock.rs`), and only when every
//! one of them has the units for all the sales together does it take them and insert every
//! sale's order, tickets, links, audit entries and outbox rows. It is all or nothing: a batch
//! never sells some of its sales.
//!
//! Anything else it declines, having written nothing: an overdue hold to sweep, a quota short
//! of units for the batch or missing. The callers then sell one by one (`PgStore::sell`): a
//! sale alone through this statement again, and when that declines too the general path
//! (`move_stock` in a transaction), which sweeps, and which decides and reports `SoldOut` /
//! `NotFound` under its own locks exactly as before. So every buyer gets the answer it would
//! have had alone. Selling out is the rare case; it pays a few extra statements.

use chrono::{DateTime, Utc};
use sqlx::{PgConnection, Row};
use uuid::Uuid;

use std::borrow::Borrow;
use std::collections::BTreeMap;

use admit_core::audit::Change;
use admit_core::model::{HoldStatus, Order, Ticket};
use admit_core::{EventId, HoldId, QuotaId, TicketId};

use super::record_change;
use super::stock::{move_stock, StockMove, Sweep};
use crate::{NewSale, StoreError, StoreResult};

/// What the quick path did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum QuickSale {
    /// Sold (every sale of the batch) and committed.
    Sold,
    /// Nothing was written: an active hold of an event is overdue, or a quota lacks units for
    /// the batch or does not exist. The sales are sold one by one.
    Declined,
}

// $1–$36 the sales' rows (see `bind_rows`): orders $1–$15 and $29–$36, tickets $16–$26,
// ticket-quota links $27/$28; $37–$44 the audit entries; $45–$50 the outbox rows; $51/$52 the
// demand (quota ids, units; a quota may repeat); $53/$54 each sale's event and time.
//
// `overdue` looks for an active hold of any of the batch's events that is overdue as of that
// event's latest sale in the batch: a sale alone would sweep it first, so the batch declines
// and its sales go one by one.
//
// `locked` is materialized and sorted before it locks, so quota locks follow in id order, and
// it reads each quota by primary key. `gate` needs all of `locked`; `moved` and every insert
// wait on `gate`, so nothing is written unless every demanded quota had the units for the
// whole batch.
//
// `moved` joins nothing: it reads each quota by primary key and its demand by a sub-query, so
// that when it meets a row version newer than its snapshot (the one `locked` locked), the
// re-check sees that version and the update cannot silently skip it, which an autocommitted
// statement could not undo. It has no `taken + wanted <= size` condition of its own: `gate`
// checked that on the rows `locked` returned, and should those figures be behind the version
// the update writes (the behavioural suite's mixed traffic showed it happen), the schema's
// `taken <= size` check fails the whole statement and the sales go one by one.
//
// Like `MOVE_STOCK`, the locks are `for no key update`: the `ticket_quotas` inserts put
// key-share locks on the quotas they name, which this mode does not wait for.
const PLAIN_SALES: &str = "
with demand as (
    select quota_id, sum(units)::int8 as wanted
    from unnest($51::uuid[], $52::int8[]) as t (quota_id, units)
    group by quota_id
),
overdue as (
    -- holds_active_expiry finds these
    select exists (
        select 1
        from (select event_id, max(at) as at
              from unnest($53::uuid[], $54::timestamptz[]) as s (event_id, at)
              group by event_id) as s
        join holds h on h.event_id = s.event_id
        where h.status = 'active' and h.expires_at <= s.at
    ) as found
),
locked as materialized (
    select q.id, q.size::int8 - q.taken::int8 as free
    from quotas q
    where q.id = any($51::uuid[]) and not (select found from overdue)
    order by q.id
    for no key update of q
),
gate as materialized (
    select not (select found from overdue)
       and (select count(*) from locked l join demand d on d.quota_id = l.id
            where d.wanted <= l.free)
         = (select count(*) from demand) as go
),
moved as (
    update quotas q
    set taken = q.taken + (select d.wanted from demand d where d.quota_id = q.id)
    where q.id = any($51::uuid[]) and (select go from gate)
    returning q.id
),
sold as materialized (
    -- A stock move that touched fewer quotas than were locked must never commit (the statement
    -- commits itself): fail the whole statement. The cast of a run-time text cannot be folded
    -- at plan time, so it only fails when reached.
    select case
        when not (select go from gate) then false
        when (select count(*) from moved) = (select count(*) from demand) then true
        else ('partial stock move: ' || (select count(*) from moved)::text)::bool
    end as go
),
new_orders as (
    insert into orders (id, code, event_id, buyer_name, buyer_email, channel,
                        payment_method, status, total_minor, currency, created_by,
                        device_id, created_at, updated_at, version, coupon_id, discount_minor,
                        payment_due, paid_at, paid_by, paid_device, tendered_minor,
                        payment_note)
    select * from unnest($1::uuid[], $2::text[], $3::uuid[], $4::text[], $5::text[],
                         $6::text[], $7::text[], $8::text[], $9::int8[], $10::text[],
                         $11::uuid[], $12::uuid[], $13::timestamptz[],
                         $14::timestamptz[], $15::int8[], $29::uuid[], $30::int8[],
                         $31::timestamptz[], $32::timestamptz[], $33::uuid[],
                         $34::uuid[], $35::int8[], $36::text[])
    where (select go from sold)
),
new_tickets as (
    insert into tickets (id, order_id, event_id, ticket_type_id, price_minor, currency,
                         attendee_name, status, created_at, updated_at, version)
    select * from unnest($16::uuid[], $17::uuid[], $18::uuid[], $19::uuid[], $20::int8[],
                         $21::text[], $22::text[], $23::text[], $24::timestamptz[],
                         $25::timestamptz[], $26::int8[])
    where (select go from sold)
),
new_links as (
    insert into ticket_quotas (ticket_id, quota_id)
    select * from unnest($27::uuid[], $28::uuid[])
    where (select go from sold)
),
audit as (
    insert into audit_log (id, at, user_id, device_id, action, entity, entity_id, detail)
    select * from unnest($37::uuid[], $38::timestamptz[], $39::uuid[], $40::uuid[], $41::text[],
                         $42::text[], $43::uuid[], $44::jsonb[])
    where (select go from sold)
),
outbox as (
    insert into outbox (id, at, entity, entity_id, version, payload)
    select * from unnest($45::uuid[], $46::timestamptz[], $47::text[], $48::uuid[], $49::int8[],
                         $50::jsonb[])
    where (select go from sold)
)
select (select found from overdue) as overdue, (select go from sold) as sold
";

/// Whether `sale` may go through [`sell_plain`]: it only takes units and writes its own rows.
/// A hold to consume, a coupon use to take, a waiting-list offer to mark sold or a mail to
/// queue all need the general path's transaction.
pub(super) fn quick_path_applies(sale: &NewSale) -> bool {
    sale.hold.is_none()
        && sale.order.coupon_id.is_none()
        && sale.waitlist_entry.is_none()
        && sale.mail.is_none()
}

/// Sell all of `sales` (for each of which [`quick_path_applies`]) in one autocommitted
/// statement on `conn`, which must not be inside a transaction, or none of them. Each sale is
/// checked as of its own time for overdue holds (`order.meta.created_at`, as on the general
/// path).
pub(super) async fn sell_plain<S: Borrow<NewSale>>(
    conn: &mut PgConnection,
    sales: &[S],
) -> StoreResult<QuickSale> {
    let sales: Vec<&NewSale> = sales.iter().map(Borrow::borrow).collect();
    debug_assert!(sales.iter().all(|s| quick_path_applies(s)));
    let a: Vec<_> = sales.iter().flat_map(|s| &s.change.audit).collect();
    let x: Vec<_> = sales.iter().flat_map(|s| &s.change.outbox).collect();
    let (quota_ids, units): (Vec<Uuid>, Vec<i64>) = sales
        .iter()
        .flat_map(|s| &s.demand)
        .map(|(q, n)| (q.0, i64::from(*n)))
        .unzip();
    let row = bind_rows(sqlx::query(PLAIN_SALES), &sales)
        // the audit entries
        .bind(a.iter().map(|e| e.id.0).collect::<Vec<_>>())
        .bind(a.iter().map(|e| e.at).collect::<Vec<_>>())
        .bind(a.iter().map(|e| e.user_id.map(|u| u.0)).collect::<Vec<_>>())
        .bind(
            a.iter()
                .map(|e| e.device_id.map(|d| d.0))
                .collect::<Vec<_>>(),
        )
        .bind(a.iter().map(|e| e.action.as_str()).collect::<Vec<_>>())
        .bind(a.iter().map(|e| e.entity.as_str()).collect::<Vec<_>>())
        .bind(a.iter().map(|e| e.entity_id).collect::<Vec<_>>())
        .bind(a.iter().map(|e| &e.detail).collect::<Vec<_>>())
        // the outbox rows
        .bind(x.iter().map(|e| e.id).collect::<Vec<_>>())
        .bind(x.iter().map(|e| e.at).collect::<Vec<_>>())
        .bind(x.iter().map(|e| e.entity.as_str()).collect::<Vec<_>>())
        .bind(x.iter().map(|e| e.entity_id).collect::<Vec<_>>())
        .bind(x.iter().map(|e| e.version).collect::<Vec<_>>())
        .bind(x.iter().map(|e| &e.payload).collect::<Vec<_>>())
        // the demand, and each sale's event and time
        .bind(quota_ids)
        .bind(units)
        .bind(sales.iter().map(|s| s.order.event_id.0).collect::<Vec<_>>())
        .bind(
            sales
                .iter()
                .map(|s| s.order.meta.created_at)
                .collect::<Vec<_>>(),
        )
        .fetch_one(&mut *conn)
        .await;
    let row = match row {
        Ok(row) => row,
        // The schema's `taken <= size` check failed the statement (so nothing was written):
        // what `gate` saw is out of date. The sales go one by one.
        Err(sqlx::Error::Database(db)) if db.constraint() == Some("quotas_check") => {
            return Ok(QuickSale::Declined)
        }
        Err(e) => return Err(e.into()),
    };

    if row.try_get::<bool, _>("sold")? {
        return Ok(QuickSale::Sold);
    }
    if row.try_get::<bool, _>("overdue")? {
        tracing::debug!("overdue holds to sweep; selling on the general path");
    } else {
        tracing::debug!("a quota is short or missing; selling one by one");
    }
    Ok(QuickSale::Declined)
}

type PgQuery<'q> = sqlx::query::Query<'q, sqlx::Postgres, sqlx::postgres::PgArguments>;

/// Bind the columns of `tickets` as eleven arrays, in the order of the `tickets` table:
/// id, order_id, event_id, ticket_type_id, price_minor, currency, attendee_name, status,
/// created_at, updated_at, version.
fn bind_tickets<'q>(q: PgQuery<'q>, tickets: &[&'q Ticket]) -> PgQuery<'q> {
    let t = || tickets.iter().copied();
    q.bind(t().map(|t| t.id.0).collect::<Vec<_>>())
        .bind(t().map(|t| t.order_id.0).collect::<Vec<_>>())
        .bind(t().map(|t| t.event_id.0).collect::<Vec<_>>())
        .bind(t().map(|t| t.ticket_type_id.0).collect::<Vec<_>>())
        .bind(t().map(|t| t.price.minor).collect::<Vec<_>>())
        .bind(t().map(|t| t.price.currency.code()).collect::<Vec<_>>())
        .bind(
            t().map(|t| t.attendee_name.as_ref().map(|n| n.as_str()))
                .collect::<Vec<_>>(),
        )
        .bind(t().map(|t| t.status.as_str()).collect::<Vec<_>>())
        .bind(t().map(|t| t.meta.created_at).collect::<Vec<_>>())
        .bind(t().map(|t| t.meta.updated_at).collect::<Vec<_>>())
        .bind(t().map(|t| t.meta.version).collect::<Vec<_>>())
}

/// Bind the rows of `sales` as $1–$36: the orders' columns in the order of the `orders`
/// table as $1–$15 (id … version) and $29–$36 (coupon, discount and payment), the tickets as
/// $16–$26 ([`bind_tickets`]), the ticket-quota links as $27/$28.
fn bind_rows<'q>(q: PgQuery<'q>, sales: &[&'q NewSale]) -> PgQuery<'q> {
    let o: Vec<&'q Order> = sales.iter().map(|s| &s.order).collect();
    let t: Vec<&'q Ticket> = sales.iter().flat_map(|s| &s.tickets).collect();
    let links: Vec<&'q (TicketId, QuotaId)> = sales.iter().flat_map(|s| &s.ticket_quotas).collect();
    let q = q
        // the orders
        .bind(o.iter().map(|o| o.id.0).collect::<Vec<_>>())
        .bind(o.iter().map(|o| o.code.as_str()).collect::<Vec<_>>())
        .bind(o.iter().map(|o| o.event_id.0).collect::<Vec<_>>())
        .bind(
            o.iter()
                .map(|o| o.buyer_name.as_ref().map(|n| n.as_str()))
                .collect::<Vec<_>>(),
        )
        .bind(
            o.iter()
                .map(|o| o.buyer_email.as_ref().map(|e| e.as_str()))
                .collect::<Vec<_>>(),
        )
        .bind(o.iter().map(|o| o.channel.as_str()).collect::<Vec<_>>())
        .bind(
            o.iter()
                .map(|o| o.payment_method.as_str())
                .collect::<Vec<_>>(),
        )
        .bind(o.iter().map(|o| o.status.as_str()).collect::<Vec<_>>())
        .bind(o.iter().map(|o| o.total.minor).collect::<Vec<_>>())
        .bind(
            o.iter()
                .map(|o| o.total.currency.code())
                .collect::<Vec<_>>(),
        )
        .bind(o.iter().map(|o| o.created_by.0).collect::<Vec<_>>())
        .bind(
            o.iter()
                .map(|o| o.device_id.map(|d| d.0))
                .collect::<Vec<_>>(),
        )
        .bind(o.iter().map(|o| o.meta.created_at).collect::<Vec<_>>())
        .bind(o.iter().map(|o| o.meta.updated_at).collect::<Vec<_>>())
        .bind(o.iter().map(|o| o.meta.version).collect::<Vec<_>>());
    bind_tickets(q, &t)
        // the links
        .bind(links.iter().map(|(t, _)| t.0).collect::<Vec<_>>())
        .bind(links.iter().map(|(_, q)| q.0).collect::<Vec<_>>())
        // the orders' coupon, discount and payment
        .bind(
            o.iter()
                .map(|o| o.coupon_id.map(|c| c.0))
                .collect::<Vec<_>>(),
        )
        .bind(o.iter().map(|o| o.discount_minor).collect::<Vec<_>>())
        .bind(o.iter().map(|o| o.payment.due).collect::<Vec<_>>())
        .bind(o.iter().map(|o| o.payment.paid_at).collect::<Vec<_>>())
        .bind(
            o.iter()
                .map(|o| o.payment.paid_by.map(|u| u.0))
                .collect::<Vec<_>>(),
        )
        .bind(
            o.iter()
                .map(|o| o.payment.paid_device.map(|d| d.0))
                .collect::<Vec<_>>(),
        )
        .bind(
            o.iter()
                .map(|o| o.payment.tendered_minor)
                .collect::<Vec<_>>(),
        )
        .bind(
            o.iter()
                .map(|o| o.payment.note.as_deref())
                .collect::<Vec<_>>(),
        )
}

/// Insert the orders, tickets and ticket-quota links of many sales, each table in one
/// `insert … select from unnest(…)`, all in one statement. Stock is not touched.
pub(super) async fn insert_sales(conn: &mut PgConnection, sales: &[NewSale]) -> StoreResult<()> {
    let sales: Vec<&NewSale> = sales.iter().collect();
    let q = sqlx::query(
        "with new_orders as (
             insert into orders (id, code, event_id, buyer_name, buyer_email, channel,
                                 payment_method, status, total_minor, currency, created_by,
                                 device_id, created_at, updated_at, version, coupon_id,
                                 discount_minor, payment_due, paid_at, paid_by, paid_device,
                                 tendered_minor, payment_note)
             select * from unnest($1::uuid[], $2::text[], $3::uuid[], $4::text[], $5::text[],
                                  $6::text[], $7::text[], $8::text[], $9::int8[], $10::text[],
                                  $11::uuid[], $12::uuid[], $13::timestamptz[],
                                  $14::timestamptz[], $15::int8[], $29::uuid[], $30::int8[],
                                  $31::timestamptz[], $32::timestamptz[], $33::uuid[],
                                  $34::uuid[], $35::int8[], $36::text[])
         ),
         new_tickets as (
             insert into tickets (id, order_id, event_id, ticket_type_id, price_minor, currency,
                                  attendee_name, status, created_at, updated_at, version)
             select * from unnest($16::uuid[], $17::uuid[], $18::uuid[], $19::uuid[], $20::int8[],
                                  $21::text[], $22::text[], $23::text[], $24::timestamptz[],
                                  $25::timestamptz[], $26::int8[])
         )
         insert into ticket_quotas (ticket_id, quota_id)
         select * from unnest($27::uuid[], $28::uuid[])",
    );
    bind_rows(q, &sales).execute(&mut *conn).await?;
    Ok(())
}

/// Write many sales in the transaction `conn` is in: every row first, then the holds the
/// sales consume (by hold id, each after its event's overdue holds are swept as of that
/// sale's time, as for a single sale), then every event swept as of its latest sale and the
/// demand of all the sales summed per quota, taken once through the same conditional update
/// as the general sale path (quotas locked in id order). SQLite settles in the same order, so
/// a batch fits on both backends or on neither. Any error leaves the caller to roll back, so
/// nothing of the batch stays.
///
/// Imported orders carry their coupon, discount and payment columns as written elsewhere; an
/// import takes no coupon use, marks no waiting-list entry and queues no mail.
pub(super) async fn import_sales(conn: &mut PgConnection, sales: &[NewSale]) -> StoreResult<()> {
    insert_sales(conn, sales).await?;
    let mut change = Change::default();
    for s in sales {
        change.audit.extend(s.change.audit.iter().cloned());
        change.outbox.extend(s.change.outbox.iter().cloned());
    }
    record_change(conn, &change).await?;

    let mut holds: Vec<(HoldId, EventId, DateTime<Utc>)> = sales
        .iter()
        .filter_map(|s| {
            s.hold
                .map(|h| (h, s.order.event_id, s.order.meta.created_at))
        })
        .collect();
    holds.sort_by_key(|(h, _, _)| *h);
    for (hold, event, now) in holds {
        let consume = StockMove {
            sweep: Sweep::Event(event),
            now,
            settle: Some((hold, HoldStatus::Consumed)),
            take: &[],
        };
        move_stock(conn, consume).await?;
    }

    // Each event is swept as of its latest sale.
    let mut latest: BTreeMap<EventId, DateTime<Utc>> = BTreeMap::new();
    let mut demand: BTreeMap<QuotaId, u32> = BTreeMap::new();
    for s in sales {
        let at = latest
            .entry(s.order.event_id)
            .or_insert(s.order.meta.created_at);
        *at = (*at).max(s.order.meta.created_at);
        for (q, n) in &s.demand {
            let units = demand.entry(*q).or_default();
            *units = units.checked_add(*n).ok_or_else(|| {
                StoreError::Other(format!("the import takes too many units of quota {q}"))
            })?;
        }
    }
    let demand: Vec<(QuotaId, u32)> = demand.into_iter().collect();
    let events: Vec<(EventId, DateTime<Utc>)> = latest.into_iter().collect();
    let Some(((last, last_at), others)) = events.split_last() else {
        return Ok(());
    };
    for (event, now) in others {
        let sweep = StockMove {
            sweep: Sweep::Event(*event),
            now: *now,
            settle: None,
            take: &[],
        };
        move_stock(conn, sweep).await?;
    }
    let take = StockMove {
        sweep: Sweep::Event(*last),
        now: *last_at,
        settle: None,
        take: &demand,
    };
    move_stock(conn, take).await?;
    Ok(())
}

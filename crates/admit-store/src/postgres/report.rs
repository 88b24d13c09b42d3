//! Figures, reports and exports, aggregated in SQL; and the refunds that only reports read.
//!
//! A time bucket of `w` seconds starts at `date_bin(w seconds, t, epoch)`: the floor of `t` to
//! a multiple of the width since the Unix epoch, UTC. Text keys sort bytewise (`collate "C"`),
//! as on SQLite.

use chrono::{DateTime, Utc};
use sqlx::{PgConnection, PgPool, Row};
use uuid::Uuid;

use admit_core::model::Order;
use admit_core::*;

use super::rows;
use crate::{
    AttendeeRow, DoorBucket, EventSales, ExportCounts, Refund, RevenueRow, SalesBucket, ScanRecord,
    ShiftQuery, ShiftRow, StoreError, StoreResult,
};

/// Most rows one export page returns.
const MAX_PAGE: u32 = 10_000;

pub(super) async fn sales_summary(
    pool: &PgPool,
    since: DateTime<Utc>,
) -> StoreResult<Vec<EventSales>> {
    // Tickets are counted per order first so that an order's total is summed once.
    let rows = sqlx::query(
        "select o.event_id, o.currency,
                count(*)::int8 as orders,
                sum(t.n)::int8 as tickets,
                sum(o.total_minor)::int8 as revenue,
                count(*) filter (where o.created_at >= $1)::int8 as orders_since,
                coalesce(sum(t.n) filter (where o.created_at >= $1), 0)::int8 as tickets_since,
                coalesce(sum(o.total_minor) filter (where o.created_at >= $1), 0)::int8
                    as revenue_since
         from orders o
         join (select order_id, count(*) as n from tickets where status = 'valid'
               group by order_id) t on t.order_id = o.id
         where o.status in ('paid', 'pending')
         group by o.event_id, o.currency
         order by o.event_id, o.currency",
    )
    .bind(since)
    .fetch_all(pool)
    .await?;
    rows.iter()
        .map(|r| {
            Ok(EventSales {
                event_id: EventId(r.try_get("event_id")?),
                currency: r.try_get("currency")?,
                orders: r.try_get::<i64, _>("orders")? as u64,
                tickets: r.try_get::<i64, _>("tickets")? as u64,
                revenue_minor: r.try_get("revenue")?,
                orders_since: r.try_get::<i64, _>("orders_since")? as u64,
                tickets_since: r.try_get::<i64, _>("tickets_since")? as u64,
                revenue_minor_since: r.try_get("revenue_since")?,
            })
        })
        .collect()
}

/// A bucket width in seconds for `make_interval`; zero is refused before any SQL runs.
fn width(bucket_secs: u32) -> StoreResult<f64> {
    if bucket_secs == 0 {
        return Err(StoreError::Other(
            "a time bucket must be at least one second wide".into(),
        ));
    }
    Ok(f64::from(bucket_secs))
}

pub(super) async fn sales_buckets(
    pool: &PgPool,
    event_id: EventId,
    bucket_secs: u32,
) -> StoreResult<Vec<SalesBucket>> {
    let width = width(bucket_secs)?;
    // Live tickets (valid, of paid and pending orders), as the dashboard's "sold" counts them.
    sqlx::query(
        "select date_bin(make_interval(secs => $2), o.created_at, timestamptz 'epoch') as start,
                t.ticket_type_id, count(*)::int8 as tickets
         from orders o
         join tickets t on t.order_id = o.id
         where o.event_id = $1 and o.status in ('paid', 'pending') and t.status = 'valid'
         group by 1, 2
         order by 1, 2",
    )
    .bind(event_id.0)
    .bind(width)
    .fetch_all(pool)
    .await?
    .iter()
    .map(rows::sales_bucket)
    .collect()
}

pub(super) async fn revenue(pool: &PgPool, event_id: EventId) -> StoreResult<Vec<RevenueRow>> {
    // Gross: every ticket of an order whose money was taken, cancelled since or not. Refunds:
    // every refund of the event (money paid out is reported whatever became of its order),
    // under the refunded ticket's type, or none for a refund against a whole order.
    sqlx::query(
        r#"select ticket_type_id, channel, payment_method, currency,
                  sum(tickets)::int8 as tickets, sum(gross)::int8 as gross,
                  sum(refunds)::int8 as refunds, sum(refunded)::int8 as refunded
           from (
               select t.ticket_type_id, o.channel, o.payment_method, t.currency,
                      count(*) as tickets, sum(t.price_minor) as gross,
                      0 as refunds, 0 as refunded
               from orders o
               join tickets t on t.order_id = o.id
               where o.event_id = $1 and o.status in ('paid', 'cancelled', 'refunded')
                 and o.paid_at is not null
               group by t.ticket_type_id, o.channel, o.payment_method, t.currency
               union all
               select t.ticket_type_id, o.channel, o.payment_method, r.currency,
                      0, 0, count(*), sum(r.amount_minor)
               from refunds r
               join orders o on o.id = r.order_id
               left join tickets t on t.id = r.ticket_id
               where r.event_id = $1
               group by t.ticket_type_id, o.channel, o.payment_method, r.currency
           ) as parts
           group by ticket_type_id, channel, payment_method, currency
           order by ticket_type_id nulls last, channel collate "C",
                    payment_method collate "C", currency collate "C""#,
    )
    .bind(event_id.0)
    .fetch_all(pool)
    .await?
    .iter()
    .map(rows::revenue_row)
    .collect()
}

pub(super) async fn door_buckets(
    pool: &PgPool,
    event_id: EventId,
    bucket_secs: u32,
) -> StoreResult<Vec<DoorBucket>> {
    let width = width(bucket_secs)?;
    // `where … and counted` matches the partial index scans_event_counted, which holds every
    // column read here.
    sqlx::query(
        r#"select date_bin(make_interval(secs => $2), at, timestamptz 'epoch') as start, gate,
                  count(*) filter (where direction = 'entry')::int8 as entries,
                  count(*) filter (where direction = 'exit')::int8 as exits
           from scans
           where event_id = $1 and counted
           group by 1, 2
           order by start, gate collate "C" nulls first"#,
    )
    .bind(event_id.0)
    .bind(width)
    .fetch_all(pool)
    .await?
    .iter()
    .map(rows::door_bucket)
    .collect()
}

pub(super) async fn shift_totals(pool: &PgPool, q: &ShiftQuery) -> StoreResult<Vec<ShiftRow>> {
    // A sale belongs to whoever took the money, where and when they took it (`paid_*`): a
    // pay-later order counts in the drawer of the cashier who was paid, not of the one who
    // booked it, and not before it was paid. Orders never paid have no `paid_at` and fall
    // outside every window.
    //
    // A filter that is given is spelt out as a plain equality (no `$1 is null or …`), so every
    // plan, generic ones too, can use orders_paid_by and refunds_created_by; one that is not
    // given becomes a constant condition.
    let (order_user, refund_user) = match q.user_id {
        Some(_) => ("and o.paid_by = $1", "and r.created_by = $1"),
        None => ("and $1::uuid is null", "and $1::uuid is null"),
    };
    let (order_device, refund_device) = match q.device_id {
        Some(_) => ("and o.paid_device = $2", "and r.device_id = $2"),
        None => ("and $2::uuid is null", "and $2::uuid is null"),
    };
    let sql = format!(
        r#"select user_id, device_id, method, currency,
                  sum(orders)::int8 as orders, sum(tickets)::int8 as tickets,
                  sum(sales)::int8 as sales, sum(refunds)::int8 as refunds,
                  sum(refunded)::int8 as refunded
           from (
               select o.paid_by as user_id, o.paid_device as device_id,
                      o.payment_method as method, o.currency, count(distinct o.id) as orders,
                      count(*) as tickets, sum(t.price_minor) as sales, 0 as refunds,
                      0 as refunded
               from orders o
               join tickets t on t.order_id = o.id
               where o.paid_at >= $3 and o.paid_at < $4 and o.paid_by is not null
                 and o.status in ('paid', 'cancelled', 'refunded')
                 {order_user} {order_device}
               group by o.paid_by, o.paid_device, o.payment_method, o.currency
               union all
               select r.created_by, r.device_id, r.method, r.currency,
                      0, 0, 0, count(*), sum(r.amount_minor)
               from refunds r
               where r.created_at >= $3 and r.created_at < $4 {refund_user} {refund_device}
               group by r.created_by, r.device_id, r.method, r.currency
           ) as parts
           group by user_id, device_id, method, currency
           order by user_id, device_id nulls first, method collate "C", currency collate "C""#
    );
    sqlx::query(&sql)
        .bind(q.user_id.map(|u| u.0))
        .bind(q.device_id.map(|d| d.0))
        .bind(q.from)
        .bind(q.to)
        .fetch_all(pool)
        .await?
        .iter()
        .map(rows::shift_row)
        .collect()
}

pub(super) async fn refunds_of_order(pool: &PgPool, order_id: OrderId) -> StoreResult<Vec<Refund>> {
    sqlx::query("select * from refunds where order_id = $1 order by created_at, id")
        .bind(order_id.0)
        .fetch_all(pool)
        .await?
        .iter()
        .map(rows::refund)
        .collect()
}

/// Insert the refunds of a cancellation, all in one statement.
pub(super) async fn insert_refunds(conn: &mut PgConnection, refunds: &[Refund]) -> StoreResult<()> {
    if refunds.is_empty() {
        return Ok(());
    }
    let r = refunds;
    sqlx::query(
        "insert into refunds (id, order_id, event_id, ticket_id, amount_minor, currency, method,
                              created_by, device_id, created_at)
         select * from unnest($1::uuid[], $2::uuid[], $3::uuid[], $4::uuid[], $5::int8[],
                              $6::text[], $7::text[], $8::uuid[], $9::uuid[], $10::timestamptz[])",
    )
    .bind(r.iter().map(|r| r.id.0).collect::<Vec<_>>())
    .bind(r.iter().map(|r| r.order_id.0).collect::<Vec<_>>())
    .bind(r.iter().map(|r| r.event_id.0).collect::<Vec<_>>())
    .bind(
        r.iter()
            .map(|r| r.ticket_id.map(|t| t.0))
            .collect::<Vec<_>>(),
    )
    .bind(r.iter().map(|r| r.amount.minor).collect::<Vec<_>>())
    .bind(
        r.iter()
            .map(|r| r.amount.currency.code())
            .collect::<Vec<_>>(),
    )
    .bind(r.iter().map(|r| r.method.as_str()).collect::<Vec<_>>())
    .bind(r.iter().map(|r| r.created_by.0).collect::<Vec<_>>())
    .bind(
        r.iter()
            .map(|r| r.device_id.map(|d| d.0))
            .collect::<Vec<_>>(),
    )
    .bind(r.iter().map(|r| r.at).collect::<Vec<_>>())
    .execute(&mut *conn)
    .await?;
    Ok(())
}

pub(super) async fn export_counts(pool: &PgPool, event_id: EventId) -> StoreResult<ExportCounts> {
    let r = sqlx::query(
        "select (select count(*) from orders where event_id = $1) as orders,
                (select count(*) from tickets where event_id = $1) as tickets,
                (select count(*) from scans where event_id = $1) as scans",
    )
    .bind(event_id.0)
    .fetch_one(pool)
    .await?;
    Ok(ExportCounts {
        orders: rows::tally(&r, "orders")?,
        tickets: rows::tally(&r, "tickets")?,
        scans: rows::tally(&r, "scans")?,
    })
}

/// The id a page starts after: the nil id sorts before every UUIDv7, so it starts at the top.
fn after(id: Option<Uuid>) -> Uuid {
    id.unwrap_or(Uuid::nil())
}

fn page(limit: u32) -> i64 {
    i64::from(limit.clamp(1, MAX_PAGE))
}

pub(super) async fn export_orders(
    pool: &PgPool,
    event_id: EventId,
    after_id: Option<OrderId>,
    limit: u32,
) -> StoreResult<Vec<Order>> {
    sqlx::query("select * from orders where event_id = $1 and id > $2 order by id limit $3")
        .bind(event_id.0)
        .bind(after(after_id.map(|o| o.0)))
        .bind(page(limit))
        .fetch_all(pool)
        .await?
        .iter()
        .map(rows::order)
        .collect()
}

pub(super) async fn export_attendees(
    pool: &PgPool,
    event_id: EventId,
    after_id: Option<TicketId>,
    limit: u32,
) -> StoreResult<Vec<AttendeeRow>> {
    // scans_ticket_list finds a ticket's scans (a ticket's scans are all of its event; naming
    // the event as well would lead the planner to the event's scans instead).
    sqlx::query(
        "select t.*, tt.name as ticket_type_name, o.code, o.buyer_name, o.buyer_email,
                o.status as order_status,
                (select min(s.at) from scans s
                 where s.ticket_id = t.id and s.counted and s.direction = 'entry')
                    as first_entry_at
         from tickets t
         join orders o on o.id = t.order_id
         join ticket_types tt on tt.id = t.ticket_type_id
         where t.event_id = $1 and t.id > $2
         order by t.id
         limit $3",
    )
    .bind(event_id.0)
    .bind(after(after_id.map(|t| t.0)))
    .bind(page(limit))
    .fetch_all(pool)
    .await?
    .iter()
    .map(rows::attendee)
    .collect()
}

pub(super) async fn export_scans(
    pool: &PgPool,
    event_id: EventId,
    after_id: Option<ScanId>,
    limit: u32,
) -> StoreResult<Vec<ScanRecord>> {
    sqlx::query("select * from scans where event_id = $1 and id > $2 order by id limit $3")
        .bind(event_id.0)
        .bind(after(after_id.map(|s| s.0)))
        .bind(page(limit))
        .fetch_all(pool)
        .await?
        .iter()
        .map(rows::scan_record)
        .collect()
}

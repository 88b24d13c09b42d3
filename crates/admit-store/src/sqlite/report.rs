//! Figures, reports and exports, aggregated in SQL; and the refunds that only reports read.
//!
//! Every time here is integer microseconds since the Unix epoch. A time bucket of `w` seconds
//! starts at `t - ((t % W) + W) % W` with `W = w * 1_000_000`: the floor of `t` to a multiple
//! of the width, also for times before the epoch (SQLite's `%` truncates towards zero).

use rusqlite::{params, Connection};
use sqlx::{Row, SqlitePool};
use uuid::Uuid;

use admit_core::model::*;
use admit_core::*;

use super::door::scan_from;
use super::{corrupt, dom, from_us, money, opt_from_us, order_from, ticket_from, us};
use crate::{
    AttendeeRow, DoorBucket, EventSales, ExportCounts, Refund, RevenueRow, SalesBucket, ScanRecord,
    ShiftQuery, ShiftRow, StoreResult,
};

/// Most rows one export page returns.
const MAX_PAGE: u32 = 10_000;

/// `since` in microseconds, as every timestamp column here.
pub(super) async fn sales_summary(pool: &SqlitePool, since: i64) -> StoreResult<Vec<EventSales>> {
    // Tickets are counted per order first so that an order's total is summed once.
    let rows = sqlx::query(
        "select o.event_id, o.currency,
                count(*) as orders,
                sum(t.n) as tickets,
                sum(o.total_minor) as revenue,
                sum(o.created_at >= $1) as orders_since,
                sum(case when o.created_at >= $1 then t.n else 0 end) as tickets_since,
                sum(case when o.created_at >= $1 then o.total_minor else 0 end) as revenue_since
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

/// A bucket width in microseconds; zero is refused before any SQL runs.
fn width_us(bucket_secs: u32) -> StoreResult<i64> {
    if bucket_secs == 0 {
        return Err(crate::StoreError::Other(
            "a time bucket must be at least one second wide".into(),
        ));
    }
    Ok(i64::from(bucket_secs) * 1_000_000)
}

fn count(r: &sqlx::sqlite::SqliteRow, col: &str) -> StoreResult<u64> {
    let v: i64 = r.try_get(col)?;
    u64::try_from(v).map_err(|_| corrupt(format!("{col} is negative ({v})")))
}

pub(super) async fn sales_buckets(
    pool: &SqlitePool,
    event_id: EventId,
    bucket_secs: u32,
) -> StoreResult<Vec<SalesBucket>> {
    let width = width_us(bucket_secs)?;
    // Live tickets (valid, of paid and pending orders), as the dashboard's "sold" counts them.
    sqlx::query(
        "select o.created_at - ((o.created_at % $2) + $2) % $2 as start,
                t.ticket_type_id, count(*) as tickets
         from orders o
         join tickets t on t.order_id = o.id
         where o.event_id = $1 and o.status in ('paid', 'pending') and t.status = 'valid'
         group by start, t.ticket_type_id
         order by start, t.ticket_type_id",
    )
    .bind(event_id.0)
    .bind(width)
    .fetch_all(pool)
    .await?
    .iter()
    .map(|r| {
        Ok(SalesBucket {
            start: from_us(r.try_get("start")?)?,
            ticket_type_id: TicketTypeId(r.try_get("ticket_type_id")?),
            tickets: count(r, "tickets")?,
        })
    })
    .collect()
}

pub(super) async fn revenue(pool: &SqlitePool, event_id: EventId) -> StoreResult<Vec<RevenueRow>> {
    // Gross: every ticket of an order whose money was taken, cancelled since or not. Refunds:
    // every refund of the event (money paid out is reported whatever became of its order),
    // under the refunded ticket's type, or none for a refund against a whole order.
    sqlx::query(
        "select ticket_type_id, channel, payment_method, currency,
                sum(tickets) as tickets, sum(gross) as gross,
                sum(refunds) as refunds, sum(refunded) as refunded
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
         )
         group by ticket_type_id, channel, payment_method, currency
         order by ticket_type_id nulls last, channel, payment_method, currency",
    )
    .bind(event_id.0)
    .fetch_all(pool)
    .await?
    .iter()
    .map(|r| {
        Ok(RevenueRow {
            ticket_type_id: r
                .try_get::<Option<Uuid>, _>("ticket_type_id")?
                .map(TicketTypeId),
            channel: dom(Channel::parse("channel", r.try_get("channel")?))?,
            payment_method: dom(PaymentMethod::parse(
                "payment_method",
                r.try_get("payment_method")?,
            ))?,
            currency: r.try_get("currency")?,
            tickets: count(r, "tickets")?,
            gross_minor: r.try_get("gross")?,
            refunds: count(r, "refunds")?,
            refunded_minor: r.try_get("refunded")?,
        })
    })
    .collect()
}

pub(super) async fn door_buckets(
    pool: &SqlitePool,
    event_id: EventId,
    bucket_secs: u32,
) -> StoreResult<Vec<DoorBucket>> {
    let width = width_us(bucket_secs)?;
    // `where counted` as written matches the partial index scans_event_counted, which holds
    // every column read here.
    sqlx::query(
        "select at - ((at % $2) + $2) % $2 as start, gate,
                sum(direction = 'entry') as entries, sum(direction = 'exit') as exits
         from scans
         where event_id = $1 and counted
         group by start, gate
         order by start, gate",
    )
    .bind(event_id.0)
    .bind(width)
    .fetch_all(pool)
    .await?
    .iter()
    .map(|r| {
        Ok(DoorBucket {
            start: from_us(r.try_get("start")?)?,
            gate: r.try_get("gate")?,
            entries: count(r, "entries")?,
            exits: count(r, "exits")?,
        })
    })
    .collect()
}

pub(super) async fn shift_totals(pool: &SqlitePool, q: &ShiftQuery) -> StoreResult<Vec<ShiftRow>> {
    // A filter that is given is spelt out as a plain equality (no `$1 is null or …`), so the
    // planner can use orders_paid_by and refunds_created_by; one that is not given becomes
    // a constant condition, which keeps every parameter in the statement.
    let (order_user, refund_user) = match q.user_id {
        Some(_) => ("and o.paid_by = $1", "and r.created_by = $1"),
        None => ("and $1 is null", "and $1 is null"),
    };
    let (order_device, refund_device) = match q.device_id {
        Some(_) => ("and o.paid_device = $2", "and r.device_id = $2"),
        None => ("and $2 is null", "and $2 is null"),
    };
    let sql = format!(
        "select user_id, device_id, method, currency,
                sum(orders) as orders, sum(tickets) as tickets, sum(sales) as sales,
                sum(refunds) as refunds, sum(refunded) as refunded
         from (
             select o.paid_by as user_id, o.paid_device as device_id, o.payment_method as method,
                    o.currency, count(distinct o.id) as orders, count(*) as tickets,
                    sum(t.price_minor) as sales, 0 as refunds, 0 as refunded
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
         )
         group by user_id, device_id, method, currency
         order by user_id, device_id nulls first, method, currency"
    );
    sqlx::query(&sql)
        .bind(q.user_id.map(|u| u.0))
        .bind(q.device_id.map(|d| d.0))
        .bind(us(q.from))
        .bind(us(q.to))
        .fetch_all(pool)
        .await?
        .iter()
        .map(|r| {
            Ok(ShiftRow {
                user_id: UserId(r.try_get("user_id")?),
                device_id: r.try_get::<Option<Uuid>, _>("device_id")?.map(DeviceId),
                method: dom(PaymentMethod::parse("method", r.try_get("method")?))?,
                currency: r.try_get("currency")?,
                orders: count(r, "orders")?,
                tickets: count(r, "tickets")?,
                sales_minor: r.try_get("sales")?,
                refunds: count(r, "refunds")?,
                refunded_minor: r.try_get("refunded")?,
            })
        })
        .collect()
}

fn refund_from(r: &sqlx::sqlite::SqliteRow) -> StoreResult<Refund> {
    Ok(Refund {
        id: RefundId(r.try_get("id")?),
        order_id: OrderId(r.try_get("order_id")?),
        event_id: EventId(r.try_get("event_id")?),
        ticket_id: r.try_get::<Option<Uuid>, _>("ticket_id")?.map(TicketId),
        amount: money(r, "amount_minor")?,
        method: dom(PaymentMethod::parse("method", r.try_get("method")?))?,
        created_by: UserId(r.try_get("created_by")?),
        device_id: r.try_get::<Option<Uuid>, _>("device_id")?.map(DeviceId),
        at: from_us(r.try_get("created_at")?)?,
    })
}

pub(super) async fn refunds_of_order(
    pool: &SqlitePool,
    order_id: OrderId,
) -> StoreResult<Vec<Refund>> {
    sqlx::query("select * from refunds where order_id = $1 order by created_at, id")
        .bind(order_id.0)
        .fetch_all(pool)
        .await?
        .iter()
        .map(refund_from)
        .collect()
}

/// Insert the refunds of a cancellation, inside the writer's transaction.
pub(super) fn insert_refunds(c: &Connection, refunds: &[Refund]) -> StoreResult<()> {
    if refunds.is_empty() {
        return Ok(());
    }
    let mut st = c.prepare_cached(
        "insert into refunds (id, order_id, event_id, ticket_id, amount_minor, currency, method,
                              created_by, device_id, created_at)
         values (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
    )?;
    for r in refunds {
        st.execute(params![
            r.id.0,
            r.order_id.0,
            r.event_id.0,
            r.ticket_id.map(|t| t.0),
            r.amount.minor,
            r.amount.currency.code(),
            r.method.as_str(),
            r.created_by.0,
            r.device_id.map(|d| d.0),
            us(r.at),
        ])?;
    }
    Ok(())
}

pub(super) async fn export_counts(
    pool: &SqlitePool,
    event_id: EventId,
) -> StoreResult<ExportCounts> {
    let r = sqlx::query(
        "select (select count(*) from orders where event_id = $1) as orders,
                (select count(*) from tickets where event_id = $1) as tickets,
                (select count(*) from scans where event_id = $1) as scans",
    )
    .bind(event_id.0)
    .fetch_one(pool)
    .await?;
    Ok(ExportCounts {
        orders: count(&r, "orders")?,
        tickets: count(&r, "tickets")?,
        scans: count(&r, "scans")?,
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
    pool: &SqlitePool,
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
        .map(order_from)
        .collect()
}

pub(super) async fn export_attendees(
    pool: &SqlitePool,
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
    .map(|r| {
        Ok(AttendeeRow {
            ticket: ticket_from(r)?,
            ticket_type_name: r.try_get("ticket_type_name")?,
            order_code: r.try_get("code")?,
            buyer_name: r.try_get("buyer_name")?,
            buyer_email: r.try_get("buyer_email")?,
            order_status: dom(OrderStatus::parse(
                "order_status",
                r.try_get("order_status")?,
            ))?,
            first_entry_at: opt_from_us(r.try_get("first_entry_at")?)?,
        })
    })
    .collect()
}

pub(super) async fn export_scans(
    pool: &SqlitePool,
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
        .map(scan_from)
        .collect()
}

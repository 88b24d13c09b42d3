//! Figures for the dashboard, aggregated in SQL.

use sqlx::{Row, SqlitePool};

use admit_core::EventId;

use crate::{EventSales, StoreResult};

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

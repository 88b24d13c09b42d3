//! Figures for the dashboard, aggregated in SQL.

use chrono::{DateTime, Utc};
use sqlx::{PgPool, Row};

use admit_core::EventId;

use crate::{EventSales, StoreResult};

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

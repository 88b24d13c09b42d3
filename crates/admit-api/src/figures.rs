//! Figures for the dashboard: today's sales and each event's progress.

use chrono::{DateTime, Utc};
use serde::Serialize;

use admit_core::model::{Event, EventStatus};
use admit_core::money::{Currency, Money};
use admit_core::role::Action;

use crate::{Admit, ApiError, ApiResult, Session};

/// One event's progress: units sold against capacity, money taken, people through the door.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct EventProgress {
    pub event: Event,
    /// Valid tickets of paid and pending orders.
    pub sold: u64,
    /// The smallest quota covering every ticket type of the event; none when no quota does.
    pub capacity: Option<u64>,
    /// One amount per currency the event sells in.
    pub revenue: Vec<Money>,
    /// Over all the event's check-in lists.
    pub admitted: u64,
    pub inside: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Dashboard {
    pub today_orders: u64,
    pub today_tickets: u64,
    /// One amount per currency.
    pub today_revenue: Vec<Money>,
    /// Every event that is not archived, soonest first.
    pub events: Vec<EventProgress>,
}

/// An event's capacity: the smallest quota covering every one of its ticket types; none when
/// no quota does.
pub(crate) fn capacity(
    types: &[admit_core::model::TicketType],
    quotas: &[admit_core::model::QuotaUsage],
) -> Option<u64> {
    quotas
        .iter()
        .filter(|q| {
            !types.is_empty()
                && types
                    .iter()
                    .all(|t| q.quota.ticket_type_ids.contains(&t.id))
        })
        .map(|q| q.quota.size as u64)
        .min()
}

fn add(into: &mut Vec<Money>, currency: &str, minor: i64) -> ApiResult<()> {
    let currency = Currency::parse("currency", currency)
        .map_err(|e| ApiError::Internal(format!("stored currency: {e}")))?;
    match into.iter_mut().find(|m| m.currency == currency) {
        Some(m) => m.minor += minor,
        None => into.push(Money { minor, currency }),
    }
    Ok(())
}

impl Admit {
    /// Today's sales over all events and each live event's progress. `today_start` is the start
    /// of the caller's day (the desktop passes local midnight).
    pub async fn dashboard(&self, s: &Session, today_start: DateTime<Utc>) -> ApiResult<Dashboard> {
        s.require(Action::ViewReports)?;
        let sales = self.store.sales_summary(today_start).await?;
        let mut events = self.store.list_events().await?;
        events.retain(|e| e.status != EventStatus::Archived);
        events.sort_by_key(|e| e.starts_at);

        let mut dash = Dashboard {
            today_orders: 0,
            today_tickets: 0,
            today_revenue: Vec::new(),
            events: Vec::with_capacity(events.len()),
        };
        for row in &sales {
            dash.today_orders += row.orders_since;
            dash.today_tickets += row.tickets_since;
            if row.orders_since > 0 {
                add(
                    &mut dash.today_revenue,
                    &row.currency,
                    row.revenue_minor_since,
                )?;
            }
        }
        for event in events {
            let mut p = EventProgress {
                sold: 0,
                capacity: None,
                revenue: Vec::new(),
                admitted: 0,
                inside: 0,
                event,
            };
            for row in sales.iter().filter(|r| r.event_id == p.event.id) {
                p.sold += row.tickets;
                add(&mut p.revenue, &row.currency, row.revenue_minor)?;
            }
            let types = self.store.list_ticket_types(p.event.id).await?;
            let quotas = self.store.list_quotas(p.event.id).await?;
            p.capacity = capacity(&types, &quotas);
            for list in self.store.list_checkin_lists(p.event.id).await? {
                let (admitted, inside) = self.store.checkin_counts(list.id).await?;
                p.admitted += admitted;
                p.inside += inside;
            }
            dash.events.push(p);
        }
        Ok(dash)
    }
}

//! Stock arithmetic. A ticket type may sit in several quotas; its availability is the minimum
//! over them. A sale or hold takes one unit from every quota covering each ticket it makes.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap};

use crate::error::DomainError;
use crate::id::{QuotaId, TicketTypeId};
use crate::model::{Event, EventStatus, Line, Quota, QuotaUsage, TicketType};
use crate::money::Money;

/// No single order may carry more tickets than this; more is a typing accident.
pub const MAX_TICKETS_PER_ORDER: u32 = 500;

/// Availability of each ticket type: `None` means no quota covers it (unlimited).
pub fn availability(
    types: &[TicketType],
    usage: &[QuotaUsage],
) -> HashMap<TicketTypeId, Option<u32>> {
    types
        .iter()
        .map(|t| {
            let min = usage
                .iter()
                .filter(|u| u.quota.ticket_type_ids.contains(&t.id))
                .map(QuotaUsage::available)
                .min();
            (t.id, min)
        })
        .collect()
}

/// What a validated sale or hold will take.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StockPlan {
    /// One line per ticket type, in the order given.
    pub lines: Vec<Line>,
    /// Units per quota, sorted by quota id: the fixed order in which stores lock them.
    pub quota_demand: Vec<(QuotaId, u32)>,
    /// Price of each ticket to make, in line order.
    pub unit_prices: Vec<(TicketTypeId, Money)>,
    pub total: Money,
}

/// Check a requested set of lines against the event's catalogue at `now` and work out what it
/// takes from which quota. Stock itself is checked by the store inside its transaction.
pub fn plan(
    event: &Event,
    types: &[TicketType],
    quotas: &[Quota],
    requested: &[Line],
    now: DateTime<Utc>,
) -> Result<StockPlan, DomainError> {
    if event.status != EventStatus::Published {
        return Err(DomainError::invalid(
            "event_id",
            format!("event is {}, not on sale", event.status),
        ));
    }
    if requested.is_empty() {
        return Err(DomainError::invalid(
            "lines",
            "must name at least one ticket",
        ));
    }
    // Merge repeated lines for the same type so per-order limits see the real quantity.
    let mut lines: Vec<Line> = Vec::new();
    for (i, l) in requested.iter().enumerate() {
        if l.quantity == 0 {
            return Err(DomainError::invalid(
                format!("lines[{i}].quantity"),
                "must be at least 1",
            ));
        }
        match lines
            .iter_mut()
            .find(|m| m.ticket_type_id == l.ticket_type_id)
        {
            Some(m) => m.quantity = m.quantity.saturating_add(l.quantity),
            None => lines.push(*l),
        }
    }
    let total_qty: u64 = lines.iter().map(|l| l.quantity as u64).sum();
    if total_qty > MAX_TICKETS_PER_ORDER as u64 {
        return Err(DomainError::invalid(
            "lines",
            format!("an order holds at most {MAX_TICKETS_PER_ORDER} tickets"),
        ));
    }
    let currency = types
        .first()
        .map(|t| t.price.currency)
        .ok_or_else(|| DomainError::invalid("lines", "the event has no ticket types"))?;
    let mut total = Money::zero(currency);
    let mut unit_prices = Vec::with_capacity(total_qty as usize);
    let mut demand: BTreeMap<QuotaId, u32> = BTreeMap::new();
    for (i, l) in lines.iter().enumerate() {
        let field = format!("lines[{i}].ticket_type_id");
        let t = types
            .iter()
            .find(|t| t.id == l.ticket_type_id && t.event_id == event.id)
            .ok_or_else(|| DomainError::invalid(&field, "is not a ticket type of this event"))?;
        if !t.active {
            return Err(DomainError::invalid(
                &field,
                format!("{} is not active", t.name),
            ));
        }
        if let Some(start) = t.sales_start {
            if now < start {
                return Err(DomainError::invalid(
                    &field,
                    format!("{} is on sale from {start}", t.name),
                ));
            }
        }
        if let Some(end) = t.sales_end {
            if now >= end {
                return Err(DomainError::invalid(
                    &field,
                    format!("{} sales ended at {end}", t.name),
                ));
            }
        }
        let qfield = format!("lines[{i}].quantity");
        if l.quantity < t.min_per_order {
            return Err(DomainError::invalid(
                qfield,
                format!("{} needs at least {} per order", t.name, t.min_per_order),
            ));
        }
        if l.quantity > t.max_per_order {
            return Err(DomainError::invalid(
                qfield,
                format!("{} allows at most {} per order", t.name, t.max_per_order),
            ));
        }
        let line_total = t
            .price
            .checked_mul(l.quantity as i64)
            .and_then(|m| total.checked_add(m))
            .ok_or_else(|| DomainError::invalid(&field, "total is too large"))?;
        total = line_total;
        for _ in 0..l.quantity {
            unit_prices.push((t.id, t.price));
        }
        for q in quotas.iter().filter(|q| q.ticket_type_ids.contains(&t.id)) {
            *demand.entry(q.id).or_default() += l.quantity;
        }
    }
    Ok(StockPlan {
        lines,
        quota_demand: demand.into_iter().collect(),
        unit_prices,
        total,
    })
}

/// Units per quota given back when tickets of these types are cancelled, sorted by quota id.
pub fn release_demand(quotas: &[Quota], ticket_types: &[TicketTypeId]) -> Vec<(QuotaId, u32)> {
    let mut demand: BTreeMap<QuotaId, u32> = BTreeMap::new();
    for tt in ticket_types {
        for q in quotas.iter().filter(|q| q.ticket_type_ids.contains(tt)) {
            *demand.entry(q.id).or_default() += 1;
        }
    }
    demand.into_iter().collect()
}

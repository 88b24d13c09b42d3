//! Commerce at the box office: coupons and quotes, pay-later orders, refunds in full or in
//! part, the waiting list, cashier shifts, and the housekeeping that expires what ran out.

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use serde_json::json;

use admit_core::commerce::*;
use admit_core::model::*;
use admit_core::role::{Action, Role};
use admit_core::stock;
use admit_core::text::{Email, Name};
use admit_core::time::parse_timestamp;
use admit_core::*;
use admit_store::{Reinstatement, StoreError};

use crate::sales::{parse_ticket_ids, refunded_of, By, Settle};
use crate::{optional, Admit, ApiError, ApiResult, LineInput, Session, ShiftReportInput};

/// How long a waiting-list offer holds its units unless configured otherwise.
pub const DEFAULT_OFFER_MINUTES: i64 = 60;

// ---- payment terms of a sale

/// When the money of a sale is taken.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum PaymentTerms {
    /// Now, with an optional note (card reference, or why a comp is free).
    Now { note: Option<String> },
    /// By `due`, or the order expires.
    Later { due: DateTime<Utc> },
}

impl PaymentTerms {
    pub fn parse(
        method: PaymentMethod,
        pay_later: bool,
        due: Option<&str>,
        card_confirmed: bool,
        note: Option<&str>,
        now: DateTime<Utc>,
    ) -> ApiResult<Self> {
        let note = optional(&note.map(str::to_string), |v| {
            Name::parse("payment_note", v)
        })?
        .map(|n| n.as_str().to_string());
        let due = optional(&due.map(str::to_string), |v| {
            parse_timestamp("payment_due", v)
        })?;
        if pay_later {
            if method == PaymentMethod::Comp {
                return Err(ApiError::invalid(
                    "pay_later",
                    "free tickets are not paid later",
                ));
            }
            if note.is_some() {
                return Err(ApiError::invalid(
                    "payment_note",
                    "is written when the money is taken",
                ));
            }
            let due = due.ok_or_else(|| {
                ApiError::invalid("payment_due", "say by when the order must be paid")
            })?;
            if due <= now {
                return Err(ApiError::invalid("payment_due", "must be in the future"));
            }
            if due > now + Duration::days(366) {
                return Err(ApiError::invalid("payment_due", "must be within a year"));
            }
            return Ok(PaymentTerms::Later { due });
        }
        if due.is_some() {
            return Err(ApiError::invalid(
                "payment_due",
                "is only for orders paid later",
            ));
        }
        check_taken(method, card_confirmed, note.as_deref())?;
        Ok(PaymentTerms::Now { note })
    }

    pub fn pay_later(&self) -> bool {
        matches!(self, PaymentTerms::Later { .. })
    }
}

/// Money taken now: a card needs the terminal's approval, a comp its reason.
fn check_taken(method: PaymentMethod, card_confirmed: bool, note: Option<&str>) -> ApiResult<()> {
    match method {
        PaymentMethod::Card if !card_confirmed => Err(ApiError::invalid(
            "card_confirmed",
            "confirm that the card terminal approved the payment",
        )),
        PaymentMethod::Comp if note.is_none() => Err(ApiError::invalid(
            "payment_note",
            "say why the tickets are free",
        )),
        _ => Ok(()),
    }
}

/// The cash handed over, in minor units: only where cash is taken now (`cash_now`), and never
/// less than `total`.
pub(crate) fn tendered(
    given: Option<&str>,
    cash_now: bool,
    total: Money,
) -> ApiResult<Option<i64>> {
    match given.map(str::trim) {
        None | Some("") => Ok(None),
        Some(_) if !cash_now => Err(ApiError::invalid("tendered", "is only for cash taken now")),
        Some(v) => {
            let given = Money::parse_decimal("tendered", v, total.currency)?;
            if given.minor < total.minor {
                return Err(ApiError::invalid(
                    "tendered",
                    format!("is less than the total of {total}"),
                ));
            }
            Ok(Some(given.minor))
        }
    }
}

/// Check that a sale takes up `entry`'s open offer as offered, and return the offer's hold.
pub(crate) fn offer_matches(
    entry: &WaitlistEntry,
    event_id: EventId,
    lines: &[Line],
    hold: Option<HoldId>,
    now: DateTime<Utc>,
) -> ApiResult<HoldId> {
    if entry.event_id != event_id {
        return Err(ApiError::invalid(
            "waitlist_entry_id",
            "is not on this event's waiting list",
        ));
    }
    if entry.status != WaitlistStatus::Offered {
        return Err(ApiError::Conflict {
            message: format!(
                "that waiting-list entry has no open offer (it is {})",
                entry.status.as_str()
            ),
        });
    }
    if entry.offer_expires_at.is_some_and(|t| t <= now) {
        return Err(ApiError::Conflict {
            message: "that waiting-list offer has run out".into(),
        });
    }
    match lines {
        [l] if l.ticket_type_id == entry.ticket_type_id && l.quantity <= entry.quantity => {}
        _ => {
            return Err(ApiError::invalid(
                "lines",
                format!(
                    "the offer is for up to {} ticket(s) of its one type",
                    entry.quantity
                ),
            ))
        }
    }
    let offer_hold = entry
        .hold_id
        .ok_or_else(|| ApiError::Internal("an offered entry without a hold".into()))?;
    if hold.is_some_and(|h| h != offer_hold) {
        return Err(ApiError::invalid("hold_id", "is not the offer's hold"));
    }
    Ok(offer_hold)
}

// ---- inputs and outputs

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct CouponInput {
    pub event_id: String,
    pub code: String,
    /// percent, amount_off or fixed_price
    pub kind: String,
    /// A percentage such as "15" or "12.5" (at most two decimals), or an amount such as
    /// "5.00" in the event's currency.
    pub value: String,
    /// Limit to these ticket types; empty: all of the event's.
    #[serde(default)]
    pub ticket_type_ids: Vec<String>,
    /// RFC 3339.
    #[serde(default)]
    pub valid_from: Option<String>,
    #[serde(default)]
    pub valid_until: Option<String>,
    /// The order's list-price total must be at least this, e.g. "20.00".
    #[serde(default)]
    pub min_order: Option<String>,
    /// Blank: unlimited.
    #[serde(default)]
    pub max_uses: Option<i64>,
    /// Defaults to on.
    #[serde(default)]
    pub active: Option<bool>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct QuoteInput {
    pub event_id: String,
    pub lines: Vec<LineInput>,
    #[serde(default)]
    pub coupon_code: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct QuoteLine {
    pub ticket_type_id: TicketTypeId,
    pub name: String,
    pub quantity: u32,
    pub unit_list: Money,
    pub unit_price: Money,
    pub line_total: Money,
}

/// What an order would cost now, before it is paid.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Quote {
    pub lines: Vec<QuoteLine>,
    pub list_total: Money,
    pub discount: Money,
    pub total: Money,
    pub coupon: Option<Coupon>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct PaymentInput {
    pub order_id: String,
    /// cash or card
    pub payment_method: String,
    /// Cash: the amount handed over; at least the total.
    #[serde(default)]
    pub tendered: Option<String>,
    /// Card: the terminal approved it.
    #[serde(default)]
    pub card_confirmed: bool,
    /// Card: the terminal's reference.
    #[serde(default)]
    pub payment_note: Option<String>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct RefundInput {
    pub order_id: String,
    /// Tickets to refund; empty: every valid ticket of the order.
    #[serde(default)]
    pub ticket_ids: Vec<String>,
    /// Hand back only this much (e.g. "5.00"), spread over the tickets in order; the tickets
    /// stay valid. Blank: everything left of their price, and they are cancelled.
    #[serde(default)]
    pub amount: Option<String>,
    /// cash or card; defaults to how the order was paid.
    #[serde(default)]
    pub method: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct RefundLine {
    pub ticket_id: Option<TicketId>,
    pub amount: Money,
    pub method: PaymentMethod,
    pub at: DateTime<Utc>,
    pub created_by: UserId,
}

/// An order's money: what was paid, what went back, what is left to refund.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct OrderMoney {
    pub order: OrderWithTickets,
    pub refunds: Vec<RefundLine>,
    pub refunded: Money,
    /// What could still be refunded: the valid and cancelled tickets' prices less their refunds
    /// (nothing for unpaid or free orders).
    pub refundable: Money,
    /// What paying the order now would take: the total of a pending order, or of the tickets
    /// an expired one had when it expired; `None` when there is nothing to pay.
    pub to_pay: Option<Money>,
}

/// The tickets an expired pay-later order loses at expiry and gets back when paid late: those
/// cancelled by the expiry itself (in the same change as the order), not any cancelled before.
fn cancelled_at_expiry(order: &OrderWithTickets) -> Vec<&Ticket> {
    order
        .tickets
        .iter()
        .filter(|t| {
            t.status == TicketStatus::Cancelled && t.meta.updated_at == order.order.meta.updated_at
        })
        .collect()
}

fn sum_prices(tickets: &[&Ticket], currency: Currency) -> Money {
    Money {
        minor: tickets.iter().map(|t| t.price.minor).sum(),
        currency,
    }
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct WaitlistInput {
    pub event_id: String,
    pub ticket_type_id: String,
    pub name: String,
    #[serde(default)]
    pub email: Option<String>,
    #[serde(default)]
    pub phone: Option<String>,
    pub quantity: i64,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct OpenShiftInput {
    /// Cash in the drawer at opening, e.g. "150.00".
    pub float: String,
    pub currency: String,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct CloseShiftInput {
    /// Cash counted in the drawer, e.g. "412.50".
    pub counted: String,
    #[serde(default)]
    pub note: Option<String>,
}

/// A shift with its cash figures so far.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct ShiftStatus {
    pub shift: Shift,
    pub float: Money,
    pub cash_taken: Money,
    pub cash_refunded: Money,
    /// float + cash taken − cash refunded.
    pub expected: Money,
}

/// What one round of housekeeping did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Housekeeping {
    pub holds_expired: u32,
    pub orders_expired: u32,
    pub offers_expired: u32,
    pub offers_made: u32,
}

fn parse_percent(v: &str) -> ApiResult<i64> {
    // "12.5" → 1,250 hundredths of a percent: parsed as an amount with two decimals.
    let two = Currency::parse("value", "EUR").map_err(ApiError::from)?;
    let m = Money::parse_decimal("value", v, two)
        .map_err(|_| ApiError::invalid("value", "is not a percentage such as 15 or 12.5"))?;
    Ok(m.minor)
}

impl Admit {
    async fn event_currency(&self, event_id: EventId) -> ApiResult<Currency> {
        let types = self.store.list_ticket_types(event_id).await?;
        types.first().map(|t| t.price.currency).ok_or_else(|| {
            ApiError::invalid(
                "event_id",
                "the event has no ticket types, so no currency yet",
            )
        })
    }

    fn coupon_from_input(
        &self,
        input: &CouponInput,
        event: &Event,
        types: &[TicketType],
        currency: Currency,
    ) -> ApiResult<(CouponCode, CouponKind, i64, Vec<TicketTypeId>, CouponLimits)> {
        let code = CouponCode::parse("code", &input.code)?;
        let kind = CouponKind::parse("kind", &input.kind)?;
        let value = match kind {
            CouponKind::Percent => parse_percent(&input.value)?,
            _ => Money::parse_decimal("value", &input.value, currency)?.minor,
        };
        if input.ticket_type_ids.len() > 200 {
            return Err(ApiError::invalid(
                "ticket_type_ids",
                "too many ticket types",
            ));
        }
        let mut ids = Vec::new();
        for (i, t) in input.ticket_type_ids.iter().enumerate() {
            let field = format!("ticket_type_ids[{i}]");
            let id = TicketTypeId::parse(&field, t)?;
            if !types
                .iter()
                .any(|tt| tt.id == id && tt.event_id == event.id)
            {
                return Err(ApiError::invalid(
                    field,
                    "is not a ticket type of this event",
                ));
            }
            if !ids.contains(&id) {
                ids.push(id);
            }
        }
        ids.sort();
        let valid_from = optional(&input.valid_from, |v| parse_timestamp("valid_from", v))?;
        let valid_until = optional(&input.valid_until, |v| parse_timestamp("valid_until", v))?;
        let min_order_minor = optional(&input.min_order, |v| {
            Money::parse_decimal("min_order", v, currency)
        })?
        .map_or(0, |m| m.minor);
        let max_uses = match input.max_uses {
            None => None,
            Some(n) if (1..=1_000_000).contains(&n) => Some(n as u32),
            Some(_) => {
                return Err(ApiError::invalid(
                    "max_uses",
                    "must be between 1 and 1,000,000, or blank for unlimited",
                ))
            }
        };
        Ok((
            code,
            kind,
            value,
            ids,
            CouponLimits {
                valid_from,
                valid_until,
                min_order_minor,
                max_uses,
                active: input.active.unwrap_or(true),
            },
        ))
    }

    /// The event's coupon a cashier typed, checked against the order it would price; `None`
    /// when no code was given.
    pub(crate) async fn coupon_for(
        &self,
        event_id: EventId,
        code: &Option<String>,
        plan: &stock::StockPlan,
        now: DateTime<Utc>,
    ) -> ApiResult<Option<Coupon>> {
        let Some(code) = optional(code, |v| CouponCode::parse("coupon_code", v))? else {
            return Ok(None);
        };
        let c = self
            .store
            .coupon_by_code(event_id, code.as_str())
            .await?
            .ok_or_else(|| ApiError::invalid("coupon_code", "is not a coupon of this event"))?;
        match coupon_refusal(&c, plan, now) {
            Some(e) => Err(e.into()),
            None => Ok(Some(c)),
        }
    }

    // ---- coupons

    pub async fn create_coupon(
        &self,
        s: &Session,
        input: &CouponInput,
        now: DateTime<Utc>,
    ) -> ApiResult<Coupon> {
        s.require(Action::ManageCoupons)?;
        let event_id = EventId::parse("event_id", &input.event_id)?;
        let event = self.store.get_event(event_id).await.map_err(|e| match e {
            StoreError::NotFound { .. } => ApiError::invalid("event_id", "is not an event"),
            e => e.into(),
        })?;
        let types = self.store.list_ticket_types(event_id).await?;
        let currency = self.event_currency(event_id).await?;
        let (code, kind, value, ids, l) =
            self.coupon_from_input(input, &event, &types, currency)?;
        let coupon = Coupon {
            id: CouponId::new(now),
            event_id,
            code,
            kind,
            value,
            currency,
            ticket_type_ids: ids,
            valid_from: l.valid_from,
            valid_until: l.valid_until,
            min_order_minor: l.min_order_minor,
            max_uses: l.max_uses,
            used: 0,
            active: l.active,
            meta: Meta::new(now),
        };
        coupon.validate()?;
        let change = s
            .change(
                now,
                "coupon.create",
                "coupon",
                coupon.id.0,
                json!({ "code": coupon.code.as_str(), "kind": kind.as_str(), "value": value }),
            )
            .sync(now, "coupon", coupon.id.0, 1, &coupon);
        self.store.create_coupon(&coupon, &change).await?;
        Ok(coupon)
    }

    pub async fn update_coupon(
        &self,
        s: &Session,
        id: &str,
        expected_version: i64,
        input: &CouponInput,
        now: DateTime<Utc>,
    ) -> ApiResult<Coupon> {
        s.require(Action::ManageCoupons)?;
        let id = CouponId::parse("id", id)?;
        let current = self.store.get_coupon(id).await?;
        if current.event_id.to_string() != input.event_id.trim() {
            return Err(ApiError::invalid(
                "event_id",
                "a coupon stays with its event",
            ));
        }
        let event = self.store.get_event(current.event_id).await?;
        let types = self.store.list_ticket_types(current.event_id).await?;
        let (code, kind, value, ids, l) =
            self.coupon_from_input(input, &event, &types, current.currency)?;
        let coupon = Coupon {
            code,
            kind,
            value,
            ticket_type_ids: ids,
            valid_from: l.valid_from,
            valid_until: l.valid_until,
            min_order_minor: l.min_order_minor,
            max_uses: l.max_uses,
            active: l.active,
            meta: current.meta.touched(now),
            ..current.clone()
        };
        coupon.validate()?;
        let change = s
            .change(
                now,
                "coupon.update",
                "coupon",
                coupon.id.0,
                json!({ "code": coupon.code.as_str(), "active": coupon.active }),
            )
            .sync(now, "coupon", coupon.id.0, coupon.meta.version, &coupon);
        self.store
            .update_coupon(&coupon, expected_version, &change)
            .await?;
        Ok(self.store.get_coupon(id).await?)
    }

    pub async fn list_coupons(&self, s: &Session, event_id: &str) -> ApiResult<Vec<Coupon>> {
        s.require(Action::ManageCoupons)?;
        Ok(self
            .store
            .list_coupons(EventId::parse("event_id", event_id)?)
            .await?)
    }

    /// What an order would cost now, with a coupon if given. Refuses a coupon that cannot be
    /// used on it, with the reason.
    pub async fn quote(
        &self,
        s: &Session,
        input: &QuoteInput,
        now: DateTime<Utc>,
    ) -> ApiResult<Quote> {
        s.require(Action::Sell)?;
        let event_id = EventId::parse("event_id", &input.event_id)?;
        let lines = crate::sales::parse_line_quantities(&input.lines)?;
        let event = self.store.get_event(event_id).await.map_err(|e| match e {
            StoreError::NotFound { .. } => ApiError::invalid("event_id", "is not an event"),
            e => e.into(),
        })?;
        let types = self.store.list_ticket_types(event_id).await?;
        let quotas: Vec<Quota> = self
            .store
            .list_quotas(event_id)
            .await?
            .into_iter()
            .map(|u| u.quota)
            .collect();
        let plan = stock::plan(&event, &types, &quotas, &lines, now)?;
        let coupon = self
            .coupon_for(event_id, &input.coupon_code, &plan, now)
            .await?;
        let priced = price(&plan, coupon.as_ref());
        let mut out: Vec<QuoteLine> = Vec::new();
        for ((tt, list), (_, unit)) in plan.unit_prices.iter().zip(&priced.unit_prices) {
            match out
                .iter_mut()
                .find(|l| l.ticket_type_id == *tt && l.unit_price == *unit)
            {
                Some(l) => {
                    l.quantity += 1;
                    l.line_total.minor += unit.minor;
                }
                None => out.push(QuoteLine {
                    ticket_type_id: *tt,
                    name: types
                        .iter()
                        .find(|t| t.id == *tt)
                        .map(|t| t.name.as_str().to_string())
                        .unwrap_or_default(),
                    quantity: 1,
                    unit_list: *list,
                    unit_price: *unit,
                    line_total: *unit,
                }),
            }
        }
        Ok(Quote {
            lines: out,
            list_total: plan.total,
            discount: priced.discount,
            total: priced.total,
            coupon,
        })
    }

    // ---- paying later

    /// Take the money of a pay-later order. Before its deadline this only records the payment;
    /// after it (the order expired and its units went back) it succeeds only if the units are
    /// still free, taking them again in the same transaction.
    pub async fn pay_order(
        &self,
        s: &Session,
        input: &PaymentInput,
        now: DateTime<Utc>,
    ) -> ApiResult<OrderWithTickets> {
        s.require(Action::TakePayment)?;
        let order_id = OrderId::parse("order_id", &input.order_id)?;
        let method = PaymentMethod::parse("payment_method", &input.payment_method)?;
        if method == PaymentMethod::Comp {
            return Err(ApiError::invalid(
                "payment_method",
                "a pay-later order is paid in cash or by card",
            ));
        }
        let note = optional(&input.payment_note, |v| Name::parse("payment_note", v))?
            .map(|n| n.as_str().to_string());
        check_taken(method, input.card_confirmed, note.as_deref())?;
        // Expire it first if its time is up, so the order is settled one way.
        let current = self.store.get_order(order_id).await?;
        if current.order.status == OrderStatus::Pending
            && current.order.payment.due.is_some_and(|d| d <= now)
        {
            self.expire_order(order_id, now).await?;
        }
        let mut attempt = 0;
        loop {
            let current = self.store.get_order(order_id).await?;
            let expired = match current.order.status {
                OrderStatus::Pending => false,
                OrderStatus::Expired => true,
                other => {
                    return Err(ApiError::Conflict {
                        message: format!("the order is {other}; there is nothing to pay"),
                    })
                }
            };
            // An expired order is paid for the tickets it had when it expired.
            let tickets: Vec<Ticket> = if expired {
                cancelled_at_expiry(&current)
                    .into_iter()
                    .map(|t| Ticket {
                        status: TicketStatus::Valid,
                        meta: t.meta.touched(now),
                        ..t.clone()
                    })
                    .collect()
            } else {
                Vec::new()
            };
            let total = if expired {
                let mut sum = Money::zero(current.order.total.currency);
                for t in &tickets {
                    sum = sum.checked_add(t.price).unwrap_or(sum);
                }
                sum
            } else {
                current.order.total
            };
            let tendered_minor = tendered(
                input.tendered.as_deref(),
                method == PaymentMethod::Cash,
                total,
            )?;
            let order = Order {
                status: OrderStatus::Paid,
                payment_method: method,
                total,
                payment: Payment {
                    due: current.order.payment.due,
                    tendered_minor,
                    note: note.clone(),
                    ..Payment::taken(now, s.user.id, s.device_id)
                },
                meta: current.order.meta.touched(now),
                ..current.order.clone()
            };
            let mut change = s
                .change(
                    now,
                    if expired { "order.pay_late" } else { "order.pay" },
                    "order",
                    order.id.0,
                    json!({ "code": order.code.as_str(), "payment_method": method, "total_minor": total.minor }),
                )
                .sync(now, "order", order.id.0, order.meta.version, &order);
            for t in &tickets {
                change = change.sync(now, "ticket", t.id.0, t.meta.version, t);
            }
            let result = if expired {
                if tickets.is_empty() {
                    return Err(ApiError::Conflict {
                        message: "the expired order has no tickets to bring back".into(),
                    });
                }
                let ids: Vec<TicketId> = tickets.iter().map(|t| t.id).collect();
                let mut demand: std::collections::BTreeMap<QuotaId, u32> = Default::default();
                for (_, q) in self.store.ticket_quotas(&ids).await? {
                    *demand.entry(q).or_default() += 1;
                }
                self.store
                    .reinstate_order(&Reinstatement {
                        order,
                        expected_version: current.order.meta.version,
                        tickets,
                        demand: demand.into_iter().collect(),
                        change,
                    })
                    .await
            } else {
                self.store
                    .record_payment(&order, current.order.meta.version, &change)
                    .await
            };
            match result {
                Ok(()) => {
                    self.confirm_paid(s, order_id, now).await;
                    return Ok(self.store.get_order(order_id).await?);
                }
                Err(StoreError::Stale { .. } | StoreError::Busy)
                    if attempt < self.config.write_retries =>
                {
                    attempt += 1;
                }
                Err(e) => return Err(e.into()),
            }
        }
    }

    /// A buyer who asked for a confirmation when reserving got one without tickets (an unpaid
    /// order has no QR codes); once paid, the confirmation with the tickets is queued. A
    /// failure is logged: the payment has committed and the cashier can send it again.
    async fn confirm_paid(&self, s: &Session, order_id: OrderId, now: DateTime<Utc>) {
        let queued = match self.store.mail_of_order(order_id).await {
            Ok(m) => m,
            Err(e) => {
                tracing::warn!(%order_id, error = %e, "could not read the order's mail");
                return;
            }
        };
        let Some(first) = queued
            .iter()
            .find(|m| m.kind == MailKind::OrderConfirmation)
        else {
            return;
        };
        let message = MailMessage {
            id: MailId::new(now),
            status: MailStatus::Queued,
            attempts: 0,
            next_attempt_at: now,
            last_error: None,
            sent_at: None,
            meta: Meta::new(now),
            ..first.clone()
        };
        let change = s.change(
            now,
            "mail.queue",
            "mail",
            message.id.0,
            json!({ "order_id": order_id, "kind": MailKind::OrderConfirmation.as_str(), "reason": "paid" }),
        );
        if let Err(e) = self.store.enqueue_mail(&message, &change).await {
            tracing::warn!(%order_id, error = %e, "could not queue the confirmation");
        }
    }

    /// Expire one overdue pay-later order: its tickets are cancelled, its units and coupon use
    /// go back. Does nothing to an order that is no longer pending.
    async fn expire_order(&self, order_id: OrderId, now: DateTime<Utc>) -> ApiResult<bool> {
        let current = self.store.get_order(order_id).await?;
        if current.order.status != OrderStatus::Pending
            || current.order.payment.due.is_none_or(|d| d > now)
        {
            return Ok(false);
        }
        match self
            .cancel_tickets(&By::system(), order_id, &[], Settle::Expire, now)
            .await
        {
            Ok(_) => Ok(true),
            // Paid or cancelled by someone in the meantime.
            Err(ApiError::Conflict { .. }) => Ok(false),
            Err(e) => Err(e),
        }
    }

    // ---- refunds

    /// An order's payment and refunds, and what is left to refund.
    pub async fn order_money(&self, s: &Session, order_id: &str) -> ApiResult<OrderMoney> {
        s.require(Action::ViewOrders)?;
        let id = OrderId::parse("order_id", order_id)?;
        let order = self.store.get_order(id).await?;
        self.money_of(order).await
    }

    async fn money_of(&self, order: OrderWithTickets) -> ApiResult<OrderMoney> {
        let refunds = self.store.refunds_of_order(order.order.id).await?;
        let currency = order.order.total.currency;
        let refunded: i64 = refunds.iter().map(|r| r.amount.minor).sum();
        let refundable: i64 = if money_taken(&order.order) {
            order
                .tickets
                .iter()
                .map(|t| (t.price.minor - refunded_of(&refunds, t.id)).max(0))
                .sum()
        } else {
            0
        };
        Ok(OrderMoney {
            refunds: refunds
                .iter()
                .map(|r| RefundLine {
                    ticket_id: r.ticket_id,
                    amount: r.amount,
                    method: r.method,
                    at: r.at,
                    created_by: r.created_by,
                })
                .collect(),
            refunded: Money {
                minor: refunded,
                currency,
            },
            refundable: Money {
                minor: refundable,
                currency,
            },
            to_pay: match order.order.status {
                OrderStatus::Pending => Some(order.order.total),
                OrderStatus::Expired if order.order.payment.due.is_some() => {
                    Some(sum_prices(&cancelled_at_expiry(&order), currency))
                }
                _ => None,
            },
            order,
        })
    }

    /// Hand money back. Without an amount, each chosen ticket's remaining price goes back and
    /// the ticket is cancelled (its units return, its QR stops admitting); with an amount, that
    /// much goes back, spread over the chosen tickets in order, and they stay valid.
    pub async fn refund(
        &self,
        s: &Session,
        input: &RefundInput,
        now: DateTime<Utc>,
    ) -> ApiResult<OrderMoney> {
        s.require(Action::Refund)?;
        let order_id = OrderId::parse("order_id", &input.order_id)?;
        let wanted = parse_ticket_ids(&input.ticket_ids)?;
        let method = match input.method.as_deref().map(str::trim) {
            None | Some("") => None,
            Some(m) => match PaymentMethod::parse("method", m)? {
                PaymentMethod::Comp => {
                    return Err(ApiError::invalid(
                        "method",
                        "money goes back in cash or by card",
                    ))
                }
                m => Some(m),
            },
        };
        let current = self.store.get_order(order_id).await?;
        if !money_taken(&current.order) {
            return Err(ApiError::Conflict {
                message: format!(
                    "the order is {}; no money was taken, so cancel it instead",
                    current.order.status
                ),
            });
        }
        if current.order.payment_method == PaymentMethod::Comp {
            return Err(ApiError::Conflict {
                message: "the tickets were free; there is nothing to refund".into(),
            });
        }
        let amount = optional(&input.amount, |v| {
            Money::parse_decimal("amount", v, current.order.total.currency)
        })?;
        let Some(amount) = amount else {
            let done = self
                .cancel_tickets(
                    &By::session(s),
                    order_id,
                    &wanted,
                    Settle::RefundInFull { method },
                    now,
                )
                .await?;
            self.after_units_freed(done.order.event_id, now).await;
            return self.money_of(done).await;
        };
        if amount.minor <= 0 {
            return Err(ApiError::invalid("amount", "must be more than zero"));
        }
        let mut attempt = 0;
        loop {
            let current = self.store.get_order(order_id).await?;
            let earlier = self.store.refunds_of_order(order_id).await?;
            let chosen: Vec<&Ticket> = if wanted.is_empty() {
                current.tickets.iter().collect()
            } else {
                let mut v = Vec::new();
                for (i, id) in wanted.iter().enumerate() {
                    v.push(
                        current
                            .tickets
                            .iter()
                            .find(|t| t.id == *id)
                            .ok_or_else(|| {
                                ApiError::invalid(
                                    format!("ticket_ids[{i}]"),
                                    "is not a ticket of this order",
                                )
                            })?,
                    );
                }
                v
            };
            let left: i64 = chosen
                .iter()
                .map(|t| (t.price.minor - refunded_of(&earlier, t.id)).max(0))
                .sum();
            if amount.minor > left {
                return Err(ApiError::invalid(
                    "amount",
                    format!(
                        "is more than the {} left to refund",
                        Money {
                            minor: left,
                            currency: amount.currency
                        }
                    ),
                ));
            }
            let mut to_go = amount.minor;
            let mut refunds = Vec::new();
            for t in &chosen {
                if to_go == 0 {
                    break;
                }
                let part = (t.price.minor - refunded_of(&earlier, t.id))
                    .max(0)
                    .min(to_go);
                if part > 0 {
                    refunds.push(admit_store::Refund {
                        id: RefundId::new(now),
                        order_id,
                        event_id: current.order.event_id,
                        ticket_id: Some(t.id),
                        amount: Money {
                            minor: part,
                            currency: amount.currency,
                        },
                        method: method.unwrap_or(current.order.payment_method),
                        created_by: s.user.id,
                        device_id: s.device_id,
                        at: now,
                    });
                    to_go -= part;
                }
            }
            let order = Order {
                meta: current.order.meta.touched(now),
                ..current.order.clone()
            };
            let mut change = s
                .change(
                    now,
                    "order.refund_part",
                    "order",
                    order_id.0,
                    json!({ "code": order.code.as_str(), "amount_minor": amount.minor, "method": method.unwrap_or(order.payment_method) }),
                )
                .sync(now, "order", order_id.0, order.meta.version, &order);
            for r in &refunds {
                change = change.sync(now, "refund", r.id.0, 1, r);
            }
            let c = admit_store::Cancellation {
                order,
                expected_version: current.order.meta.version,
                tickets: Vec::new(),
                release: Vec::new(),
                revoke: Vec::new(),
                refunds,
                coupon_release: None,
                change,
            };
            match self.store.cancel(&c).await {
                Ok(()) => {
                    let done = self.store.get_order(order_id).await?;
                    return self.money_of(done).await;
                }
                Err(StoreError::Stale { .. } | StoreError::Busy)
                    if attempt < self.config.write_retries =>
                {
                    attempt += 1;
                }
                Err(e) => return Err(e.into()),
            }
        }
    }

    // ---- the waiting list

    /// Put a buyer on a ticket type's waiting list. Only for a type that cannot supply the
    /// quantity now; they are offered units in order of arrival as units free up.
    pub async fn join_waitlist(
        &self,
        s: &Session,
        input: &WaitlistInput,
        now: DateTime<Utc>,
    ) -> ApiResult<WaitlistEntry> {
        s.require(Action::UseWaitlist)?;
        let event_id = EventId::parse("event_id", &input.event_id)?;
        let ticket_type_id = TicketTypeId::parse("ticket_type_id", &input.ticket_type_id)?;
        let name = Name::parse("name", &input.name)?;
        let email = optional(&input.email, |v| Email::parse("email", v))?;
        let phone = optional(&input.phone, |v| Name::parse("phone", v))?;
        if !(1..=MAX_WAITLIST_QUANTITY as i64).contains(&input.quantity) {
            return Err(ApiError::invalid(
                "quantity",
                format!("must be between 1 and {MAX_WAITLIST_QUANTITY}"),
            ));
        }
        let quantity = input.quantity as u32;
        let event = self.store.get_event(event_id).await.map_err(|e| match e {
            StoreError::NotFound { .. } => ApiError::invalid("event_id", "is not an event"),
            e => e.into(),
        })?;
        let types = self.store.list_ticket_types(event_id).await?;
        if !types.iter().any(|t| t.id == ticket_type_id) {
            return Err(ApiError::invalid(
                "ticket_type_id",
                "is not a ticket type of this event",
            ));
        }
        let usage = self.store.list_quotas(event_id).await?;
        let available = stock::availability(&types, &usage)
            .get(&ticket_type_id)
            .copied()
            .flatten();
        if available.is_none_or(|a| a >= quantity) {
            return Err(ApiError::Conflict {
                message: "that ticket type is not sold out; sell the tickets instead".into(),
            });
        }
        let entry = WaitlistEntry {
            id: WaitlistId::new(now),
            event_id: event.id,
            ticket_type_id,
            name,
            email,
            phone,
            quantity,
            status: WaitlistStatus::Waiting,
            hold_id: None,
            offer_expires_at: None,
            order_id: None,
            created_by: s.user.id,
            meta: Meta::new(now),
        };
        let change = s
            .change(
                now,
                "waitlist.join",
                "waitlist",
                entry.id.0,
                json!({ "ticket_type_id": ticket_type_id, "quantity": quantity }),
            )
            .sync(now, "waitlist", entry.id.0, 1, &entry);
        self.store.add_waitlist(&entry, &change).await?;
        Ok(entry)
    }

    pub async fn list_waitlist(
        &self,
        s: &Session,
        event_id: &str,
    ) -> ApiResult<Vec<WaitlistEntry>> {
        s.require(Action::UseWaitlist)?;
        Ok(self
            .store
            .list_waitlist(EventId::parse("event_id", event_id)?)
            .await?)
    }

    /// Take someone off the list; an open offer's units go to the next person.
    pub async fn withdraw_waitlist(
        &self,
        s: &Session,
        entry_id: &str,
        now: DateTime<Utc>,
    ) -> ApiResult<WaitlistEntry> {
        s.require(Action::UseWaitlist)?;
        let id = WaitlistId::parse("entry_id", entry_id)?;
        let entry = self.store.get_waitlist_entry(id).await?;
        if !matches!(
            entry.status,
            WaitlistStatus::Waiting | WaitlistStatus::Offered
        ) {
            return Err(ApiError::Conflict {
                message: format!("the entry is {} already", entry.status.as_str()),
            });
        }
        let after = WaitlistEntry {
            status: WaitlistStatus::Withdrawn,
            meta: entry.meta.touched(now),
            ..entry.clone()
        };
        let change = s
            .change(now, "waitlist.withdraw", "waitlist", id.0, json!({}))
            .sync(now, "waitlist", id.0, after.meta.version, &after);
        self.store
            .update_waitlist(&after, entry.meta.version, &change)
            .await?;
        self.after_units_freed(entry.event_id, now).await;
        Ok(self.store.get_waitlist_entry(id).await?)
    }

    /// Units may have come back to an event: offer them down its waiting list. Failures are
    /// logged, never passed to the action that freed the units (it has committed).
    pub(crate) async fn after_units_freed(&self, event_id: EventId, now: DateTime<Utc>) {
        if let Err(e) = self.advance_waitlist(event_id, now).await {
            tracing::warn!(%event_id, error = %e, "could not advance the waiting list");
        }
    }

    /// Expire the event's lapsed offers, then offer free units to the people waiting, in order
    /// of arrival per ticket type: each gets a hold of their quantity for the offer time. A
    /// ticket type's queue stops at the first person whose quantity does not fit, so no one is
    /// passed over. Returns (offers expired, offers made).
    pub async fn advance_waitlist(
        &self,
        event_id: EventId,
        now: DateTime<Utc>,
    ) -> ApiResult<(u32, u32)> {
        let entries = self.store.list_waitlist(event_id).await?;
        let mut expired = 0;
        for e in entries.iter().filter(|e| {
            e.status == WaitlistStatus::Offered && e.offer_expires_at.is_some_and(|t| t <= now)
        }) {
            let after = WaitlistEntry {
                status: WaitlistStatus::Expired,
                meta: e.meta.touched(now),
                ..e.clone()
            };
            let change = By::system()
                .change(now, "waitlist.offer_expired", "waitlist", e.id.0, json!({}))
                .sync(now, "waitlist", e.id.0, after.meta.version, &after);
            match self
                .store
                .update_waitlist(&after, e.meta.version, &change)
                .await
            {
                Ok(()) => expired += 1,
                Err(StoreError::Stale { .. }) => {}
                Err(e) => return Err(e.into()),
            }
        }
        let waiting: Vec<&WaitlistEntry> = entries
            .iter()
            .filter(|e| e.status == WaitlistStatus::Waiting)
            .collect();
        if waiting.is_empty() {
            return Ok((expired, 0));
        }
        let event = self.store.get_event(event_id).await?;
        let quotas: Vec<Quota> = self
            .store
            .list_quotas(event_id)
            .await?
            .into_iter()
            .map(|u| u.quota)
            .collect();
        let mut made = 0;
        let mut blocked: Vec<TicketTypeId> = Vec::new();
        for e in waiting {
            if blocked.contains(&e.ticket_type_id) {
                continue;
            }
            let lines = [Line {
                ticket_type_id: e.ticket_type_id,
                quantity: e.quantity,
            }];
            // Per-order limits and sales windows were met when they joined; only stock counts.
            let demand: Vec<(QuotaId, u32)> = {
                let mut d: std::collections::BTreeMap<QuotaId, u32> = Default::default();
                for q in quotas
                    .iter()
                    .filter(|q| q.ticket_type_ids.contains(&e.ticket_type_id))
                {
                    *d.entry(q.id).or_default() += e.quantity;
                }
                d.into_iter().collect()
            };
            let expires = now + Duration::minutes(self.config.offer_minutes);
            let hold = Hold {
                id: HoldId::new(now),
                event_id,
                lines: lines.to_vec(),
                status: HoldStatus::Active,
                expires_at: expires,
                created_by: e.created_by,
                device_id: None,
                meta: Meta::new(now),
            };
            let after = WaitlistEntry {
                status: WaitlistStatus::Offered,
                hold_id: Some(hold.id),
                offer_expires_at: Some(expires),
                meta: e.meta.touched(now),
                ..e.clone()
            };
            let mail = e.email.as_ref().map(|to| MailMessage {
                id: MailId::new(now),
                kind: MailKind::WaitlistOffer,
                order_id: None,
                waitlist_id: Some(e.id),
                to: to.clone(),
                status: MailStatus::Queued,
                attempts: 0,
                next_attempt_at: now,
                last_error: None,
                sent_at: None,
                meta: Meta::new(now),
            });
            let change = By::system()
                .change(
                    now,
                    "waitlist.offer",
                    "waitlist",
                    e.id.0,
                    json!({ "hold_id": hold.id, "quantity": e.quantity, "until": expires, "event": event.name.as_str() }),
                )
                .sync(now, "waitlist", e.id.0, after.meta.version, &after);
            match self
                .store
                .offer_waitlist(
                    &after,
                    e.meta.version,
                    &hold,
                    &demand,
                    mail.as_ref(),
                    &change,
                )
                .await
            {
                Ok(()) => made += 1,
                Err(StoreError::SoldOut { .. }) => blocked.push(e.ticket_type_id),
                Err(StoreError::Stale { .. }) => {}
                Err(e) => return Err(e.into()),
            }
        }
        Ok((expired, made))
    }

    /// Expire what ran out: overdue holds, unpaid pay-later orders past their deadline, lapsed
    /// waiting-list offers; then offer freed units down the waiting lists. Run periodically by
    /// every front end that sells.
    pub async fn housekeeping(&self, now: DateTime<Utc>) -> ApiResult<Housekeeping> {
        let mut done = Housekeeping {
            holds_expired: self.store.sweep_expired_holds(now).await?,
            ..Housekeeping::default()
        };
        let mut events: Vec<EventId> = Vec::new();
        for id in self.store.overdue_orders(now, 500).await? {
            if self.expire_order(id, now).await? {
                done.orders_expired += 1;
                let o = self.store.get_order(id).await?;
                if !events.contains(&o.order.event_id) {
                    events.push(o.order.event_id);
                }
            }
        }
        for e in self.store.list_events().await? {
            if !matches!(e.status, EventStatus::Published) && !events.contains(&e.id) {
                continue;
            }
            let (expired, made) = self.advance_waitlist(e.id, now).await?;
            done.offers_expired += expired;
            done.offers_made += made;
        }
        Ok(done)
    }

    // ---- cashier shifts

    /// Open one's drawer with a float. One open shift per cashier.
    pub async fn open_shift(
        &self,
        s: &Session,
        input: &OpenShiftInput,
        now: DateTime<Utc>,
    ) -> ApiResult<ShiftStatus> {
        s.require(Action::RunShift)?;
        let currency = Currency::parse("currency", &input.currency)?;
        let float = Money::parse_decimal("float", &input.float, currency)?;
        let shift = Shift {
            id: ShiftId::new(now),
            user_id: s.user.id,
            device_id: s.device_id,
            currency,
            opened_at: now,
            float_minor: float.minor,
            closed_at: None,
            expected_minor: None,
            counted_minor: None,
            difference_minor: None,
            note: None,
            meta: Meta::new(now),
        };
        let change = s
            .change(
                now,
                "shift.open",
                "shift",
                shift.id.0,
                json!({ "float_minor": float.minor, "currency": currency.code() }),
            )
            .sync(now, "shift", shift.id.0, 1, &shift);
        self.store.open_shift(&shift, &change).await?;
        self.shift_status(s, shift, now).await
    }

    /// The caller's open shift with its cash so far, if one is open.
    pub async fn current_shift(
        &self,
        s: &Session,
        now: DateTime<Utc>,
    ) -> ApiResult<Option<ShiftStatus>> {
        s.require(Action::RunShift)?;
        match self.store.open_shift_of(s.user.id).await? {
            None => Ok(None),
            Some(shift) => Ok(Some(self.shift_status(s, shift, now).await?)),
        }
    }

    async fn shift_status(
        &self,
        s: &Session,
        shift: Shift,
        now: DateTime<Utc>,
    ) -> ApiResult<ShiftStatus> {
        let to = shift.closed_at.unwrap_or(now) + Duration::microseconds(1);
        let report = self
            .shift_report(
                s,
                &ShiftReportInput {
                    user_id: Some(shift.user_id.to_string()),
                    device_id: None,
                    from: shift.opened_at.to_rfc3339(),
                    to: to.to_rfc3339(),
                },
            )
            .await?;
        let c = shift.currency;
        let (mut taken, mut refunded) = (0i64, 0i64);
        for d in report
            .drawers
            .iter()
            .filter(|d| d.user_id == shift.user_id && d.cash_sales.currency == c)
        {
            taken += d.cash_sales.minor;
            refunded += d.cash_refunded.minor;
        }
        let m = |minor| Money { minor, currency: c };
        Ok(ShiftStatus {
            float: m(shift.float_minor),
            cash_taken: m(taken),
            cash_refunded: m(refunded),
            expected: m(shift.float_minor + taken - refunded),
            shift,
        })
    }

    /// Close one's drawer with the cash counted; the difference against what it should hold
    /// is recorded and shown.
    pub async fn close_shift(
        &self,
        s: &Session,
        input: &CloseShiftInput,
        now: DateTime<Utc>,
    ) -> ApiResult<ShiftStatus> {
        s.require(Action::RunShift)?;
        let shift =
            self.store
                .open_shift_of(s.user.id)
                .await?
                .ok_or_else(|| ApiError::Conflict {
                    message: "you have no open shift".into(),
                })?;
        let counted = Money::parse_decimal("counted", &input.counted, shift.currency)?;
        let note =
            optional(&input.note, |v| Name::parse("note", v))?.map(|n| n.as_str().to_string());
        let status = self.shift_status(s, shift.clone(), now).await?;
        let closed = Shift {
            closed_at: Some(now),
            expected_minor: Some(status.expected.minor),
            counted_minor: Some(counted.minor),
            difference_minor: Some(counted.minor - status.expected.minor),
            note,
            meta: shift.meta.touched(now),
            ..shift.clone()
        };
        let change = s
            .change(
                now,
                "shift.close",
                "shift",
                shift.id.0,
                json!({ "expected_minor": status.expected.minor, "counted_minor": counted.minor, "difference_minor": counted.minor - status.expected.minor }),
            )
            .sync(now, "shift", shift.id.0, closed.meta.version, &closed);
        self.store
            .close_shift(&closed, shift.meta.version, &change)
            .await?;
        Ok(ShiftStatus {
            shift: closed,
            ..status
        })
    }

    /// Shifts, newest first: one's own for the box office, anyone's for managers.
    pub async fn list_shifts(
        &self,
        s: &Session,
        user_id: Option<&str>,
        limit: u32,
    ) -> ApiResult<Vec<Shift>> {
        s.require(Action::ViewShiftReport)?;
        let user = optional(&user_id.map(str::to_string), |v| {
            UserId::parse("user_id", v)
        })?;
        let user = match (s.user.role, user) {
            (Role::BoxOffice, Some(u)) if u != s.user.id => {
                return Err(ApiError::Forbidden {
                    action: Action::ViewShiftReport,
                })
            }
            (Role::BoxOffice, _) => Some(s.user.id),
            (_, u) => u,
        };
        Ok(self.store.list_shifts(user, limit.clamp(1, 500)).await?)
    }
}

/// Paid orders, and cancelled or refunded ones that were paid before: their money was taken.
/// (A pay-later order cancelled before it was paid took none.)
fn money_taken(order: &Order) -> bool {
    order.payment.paid_at.is_some()
        && matches!(
            order.status,
            OrderStatus::Paid | OrderStatus::Cancelled | OrderStatus::Refunded
        )
}

struct CouponLimits {
    valid_from: Option<DateTime<Utc>>,
    valid_until: Option<DateTime<Utc>>,
    min_order_minor: i64,
    max_uses: Option<u32>,
    active: bool,
}

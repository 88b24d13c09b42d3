//! Holds, sales, cancellations and order look-up.

use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use serde_json::json;

use admit_core::audit::AuditEntry;
use admit_core::commerce::{self, WaitlistEntry, WaitlistStatus};
use admit_core::model::*;
use admit_core::order_code::OrderCode;
use admit_core::role::Action;
use admit_core::stock;
use admit_core::text::{Email, Name};
use admit_core::*;
use admit_store::{Cancellation, NewSale, OrderQuery, StoreError};

use crate::commerce::{offer_matches, tendered, PaymentTerms};
use crate::{optional, Admit, ApiError, ApiResult, Session};

const CATALOGUE_TTL: std::time::Duration = std::time::Duration::from_secs(2);

pub(crate) struct Catalogue {
    event: Event,
    types: Vec<TicketType>,
    quotas: Vec<Quota>,
    loaded: std::time::Instant,
}

pub(crate) type CatalogueCache =
    std::sync::Arc<std::sync::Mutex<std::collections::HashMap<EventId, std::sync::Arc<Catalogue>>>>;

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct LineInput {
    pub ticket_type_id: String,
    pub quantity: i64,
    /// Optional attendee names, one per ticket; walk-ins need none.
    #[serde(default)]
    pub attendee_names: Vec<String>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct HoldInput {
    pub event_id: String,
    pub lines: Vec<LineInput>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SaleInput {
    pub event_id: String,
    pub lines: Vec<LineInput>,
    #[serde(default)]
    pub buyer_name: Option<String>,
    #[serde(default)]
    pub buyer_email: Option<String>,
    /// box_office (default), kiosk or online
    #[serde(default)]
    pub channel: Option<String>,
    /// cash, card or comp (free)
    pub payment_method: String,
    /// The hold that kept these units while the sale was open.
    #[serde(default)]
    pub hold_id: Option<String>,
    /// A coupon of the event; the price it gives is computed here.
    #[serde(default)]
    pub coupon_code: Option<String>,
    /// Cash: the amount handed over, e.g. "50.00"; at least the total. Change is the
    /// difference.
    #[serde(default)]
    pub tendered: Option<String>,
    /// Card: the cashier confirms that the card terminal approved the payment.
    #[serde(default)]
    pub card_confirmed: bool,
    /// Card: the terminal's reference (optional). Comp: why the tickets are free (required).
    #[serde(default)]
    pub payment_note: Option<String>,
    /// Reserve now, pay by `payment_due` (RFC 3339): the order stays pending, its tickets get
    /// no QR code until paid, and its units go back if it is not paid in time.
    #[serde(default)]
    pub pay_later: bool,
    #[serde(default)]
    pub payment_due: Option<String>,
    /// The waiting-list offer this sale takes up (its held units are used).
    #[serde(default)]
    pub waitlist_entry_id: Option<String>,
    /// Queue an e-mail confirmation with the tickets to the buyer's address.
    #[serde(default)]
    pub send_confirmation: bool,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CancelInput {
    pub order_id: String,
    /// Tickets to cancel; empty cancels the whole order.
    #[serde(default)]
    pub ticket_ids: Vec<String>,
    /// Mark the order refunded rather than cancelled once nothing valid is left.
    #[serde(default)]
    pub refund: bool,
}

struct ParsedLines {
    lines: Vec<Line>,
    names: Vec<Vec<Option<Name>>>,
}

/// The lines of a cart without attendee names (quotes).
pub(crate) fn parse_line_quantities(input: &[LineInput]) -> ApiResult<Vec<Line>> {
    Ok(parse_lines(input)?.lines)
}

fn parse_lines(input: &[LineInput]) -> ApiResult<ParsedLines> {
    if input.is_empty() {
        return Err(ApiError::invalid("lines", "must name at least one ticket"));
    }
    if input.len() > 100 {
        return Err(ApiError::invalid("lines", "too many lines"));
    }
    let mut lines = Vec::with_capacity(input.len());
    let mut names = Vec::with_capacity(input.len());
    for (i, l) in input.iter().enumerate() {
        let ticket_type_id =
            TicketTypeId::parse(&format!("lines[{i}].ticket_type_id"), &l.ticket_type_id)?;
        let qfield = format!("lines[{i}].quantity");
        if l.quantity < 1 || l.quantity > stock::MAX_TICKETS_PER_ORDER as i64 {
            return Err(ApiError::invalid(
                qfield,
                format!("must be between 1 and {}", stock::MAX_TICKETS_PER_ORDER),
            ));
        }
        if l.attendee_names.len() > l.quantity as usize {
            return Err(ApiError::invalid(
                format!("lines[{i}].attendee_names"),
                "has more names than tickets",
            ));
        }
        let mut line_names = Vec::with_capacity(l.quantity as usize);
        for (j, n) in l.attendee_names.iter().enumerate() {
            line_names.push(optional(&Some(n.clone()), |s| {
                Name::parse(&format!("lines[{i}].attendee_names[{j}]"), s)
            })?);
        }
        line_names.resize(l.quantity as usize, None);
        lines.push(Line {
            ticket_type_id,
            quantity: l.quantity as u32,
        });
        names.push(line_names);
    }
    Ok(ParsedLines { lines, names })
}

impl Admit {
    /// The event's catalogue as sales see it. Kept for `CATALOGUE_TTL`: re-reading every type
    /// and quota of the event was the larger part of a sale's cost. Changes made through this
    /// `Admit` clear it at once; another process's changes (a second desktop on one PostgreSQL)
    /// are seen within the TTL, as they would be by a sale that read just before them. Stock
    /// itself is never cached: the store checks and takes it inside the sale's transaction.
    async fn catalogue(&self, event_id: EventId) -> ApiResult<Arc<Catalogue>> {
        if let Some(c) = self
            .catalogue_cache
            .lock()
            .expect("catalogue cache")
            .get(&event_id)
        {
            if c.loaded.elapsed() < CATALOGUE_TTL {
                return Ok(c.clone());
            }
        }
        let event = self.store.get_event(event_id).await.map_err(|e| match e {
            StoreError::NotFound { .. } => ApiError::invalid("event_id", "is not an event"),
            e => e.into(),
        })?;
        let types = self.store.list_ticket_types(event_id).await?;
        let quotas = self
            .store
            .list_quotas(event_id)
            .await?
            .into_iter()
            .map(|u| u.quota)
            .collect();
        let c = Arc::new(Catalogue {
            event,
            types,
            quotas,
            loaded: std::time::Instant::now(),
        });
        self.catalogue_cache
            .lock()
            .expect("catalogue cache")
            .insert(event_id, c.clone());
        Ok(c)
    }

    /// Forget cached catalogues and door contexts after a catalogue change.
    pub(crate) fn forget_catalogue(&self) {
        self.catalogue_cache
            .lock()
            .expect("catalogue cache")
            .clear();
        self.forget_door_contexts();
    }

    /// Keep units for a cart while the buyer decides. The hold expires by itself.
    pub async fn hold(
        &self,
        s: &Session,
        input: &HoldInput,
        now: DateTime<Utc>,
    ) -> ApiResult<Hold> {
        s.require(Action::Hold)?;
        let event_id = EventId::parse("event_id", &input.event_id)?;
        let parsed = parse_lines(&input.lines)?;
        let cat = self.catalogue(event_id).await?;
        let (event, types, quotas) = (&cat.event, &cat.types, &cat.quotas);
        let plan = stock::plan(event, types, quotas, &parsed.lines, now)?;
        let hold = Hold {
            id: HoldId::new(now),
            event_id,
            lines: plan.lines.clone(),
            status: HoldStatus::Active,
            expires_at: now + Duration::minutes(self.config.hold_minutes),
            created_by: s.user.id,
            device_id: s.device_id,
            meta: Meta::new(now),
        };
        let change = s.change(
            now,
            "hold.create",
            "hold",
            hold.id.0,
            json!({ "lines": plan.lines }),
        );
        self.store
            .create_hold(&hold, &plan.quota_demand, &change)
            .await?;
        Ok(hold)
    }

    pub async fn release_hold(
        &self,
        s: &Session,
        hold_id: &str,
        now: DateTime<Utc>,
    ) -> ApiResult<()> {
        s.require(Action::Hold)?;
        let id = HoldId::parse("hold_id", hold_id)?;
        let change = s.change(now, "hold.release", "hold", id.0, json!({}));
        Ok(self.store.release_hold(id, now, &change).await?)
    }

    /// Expire holds past their time and free their units. Sales do this for their own event
    /// as they go; a periodic sweep keeps availability honest for everyone else.
    pub async fn sweep_expired_holds(&self, now: DateTime<Utc>) -> ApiResult<u32> {
        Ok(self.store.sweep_expired_holds(now).await?)
    }

    /// Sell tickets. Prices and totals come from the catalogue, never from the input; every
    /// quota is checked and taken in the store's one transaction, so the last unit cannot be
    /// sold twice and an order is never partial.
    pub async fn sell(
        &self,
        s: &Session,
        input: &SaleInput,
        now: DateTime<Utc>,
    ) -> ApiResult<OrderWithTickets> {
        s.require(Action::Sell)?;
        let event_id = EventId::parse("event_id", &input.event_id)?;
        let parsed = parse_lines(&input.lines)?;
        let buyer_name = optional(&input.buyer_name, |v| Name::parse("buyer_name", v))?;
        let buyer_email = optional(&input.buyer_email, |v| Email::parse("buyer_email", v))?;
        let channel = match input.channel.as_deref() {
            None | Some("") => Channel::BoxOffice,
            Some(c) => Channel::parse("channel", c)?,
        };
        let payment_method = PaymentMethod::parse("payment_method", &input.payment_method)?;
        let mut hold = optional(&input.hold_id, |h| HoldId::parse("hold_id", h))?;
        let terms = PaymentTerms::parse(
            payment_method,
            input.pay_later,
            input.payment_due.as_deref(),
            input.card_confirmed,
            input.payment_note.as_deref(),
            now,
        )?;
        if input.send_confirmation && buyer_email.is_none() {
            return Err(ApiError::invalid(
                "buyer_email",
                "is needed to send a confirmation",
            ));
        }
        let cat = self.catalogue(event_id).await?;
        let (event, types, quotas) = (&cat.event, &cat.types, &cat.quotas);
        let plan = stock::plan(event, types, quotas, &parsed.lines, now)?;

        // A waiting-list offer: its hold kept the units for exactly this buyer.
        let waitlist = match optional(&input.waitlist_entry_id, |v| {
            WaitlistId::parse("waitlist_entry_id", v)
        })? {
            None => None,
            Some(id) => {
                let entry = self.store.get_waitlist_entry(id).await?;
                let entry_hold = offer_matches(&entry, event_id, &plan.lines, hold, now)?;
                hold = Some(entry_hold);
                Some(entry)
            }
        };

        if payment_method == PaymentMethod::Comp
            && optional(&input.coupon_code, |v| Ok(v.to_string()))?.is_some()
        {
            return Err(ApiError::invalid(
                "coupon_code",
                "free tickets take no coupon",
            ));
        }
        let coupon = self
            .coupon_for(event_id, &input.coupon_code, &plan, now)
            .await?;
        let comp = payment_method == PaymentMethod::Comp;
        let priced = commerce::price(&plan, coupon.as_ref());
        let total = if comp {
            Money::zero(plan.total.currency)
        } else {
            priced.total
        };
        let tendered_minor = tendered(
            input.tendered.as_deref(),
            payment_method == PaymentMethod::Cash && !terms.pay_later(),
            total,
        )?;

        let order_id = OrderId::new(now);
        let mut tickets = Vec::with_capacity(priced.unit_prices.len());
        let mut ticket_quotas = Vec::new();
        let mut names = parsed.names.iter().flatten();
        // plan.lines merges repeated types; names follow the input order, which matches for
        // the usual one-line-per-type input and is harmless otherwise (names are optional).
        for (tt, price) in &priced.unit_prices {
            let t = Ticket {
                id: TicketId::new(now),
                order_id,
                event_id,
                ticket_type_id: *tt,
                price: if comp {
                    Money::zero(price.currency)
                } else {
                    *price
                },
                attendee_name: names.next().cloned().flatten(),
                status: TicketStatus::Valid,
                meta: Meta::new(now),
            };
            for q in quotas.iter().filter(|q| q.ticket_type_ids.contains(tt)) {
                ticket_quotas.push((t.id, q.id));
            }
            tickets.push(t);
        }
        let (status, payment) = match terms {
            PaymentTerms::Later { due } => (
                OrderStatus::Pending,
                Payment {
                    due: Some(due),
                    ..Payment::default()
                },
            ),
            PaymentTerms::Now { note } => (
                OrderStatus::Paid,
                Payment {
                    tendered_minor,
                    note,
                    ..Payment::taken(now, s.user.id, s.device_id)
                },
            ),
        };
        let mail = match (&buyer_email, input.send_confirmation) {
            (Some(to), true) => Some(commerce::MailMessage {
                id: MailId::new(now),
                kind: commerce::MailKind::OrderConfirmation,
                order_id: Some(order_id),
                waitlist_id: None,
                to: to.clone(),
                status: commerce::MailStatus::Queued,
                attempts: 0,
                next_attempt_at: now,
                last_error: None,
                sent_at: None,
                meta: Meta::new(now),
            }),
            _ => None,
        };

        let mut attempt = 0;
        loop {
            let order = Order {
                id: order_id,
                code: OrderCode::generate(),
                event_id,
                buyer_name: buyer_name.clone(),
                buyer_email: buyer_email.clone(),
                channel,
                payment_method,
                status,
                total,
                created_by: s.user.id,
                device_id: s.device_id,
                coupon_id: coupon.as_ref().map(|c| c.id),
                discount_minor: if comp { 0 } else { priced.discount.minor },
                payment: payment.clone(),
                meta: Meta::new(now),
            };
            let mut change = s
                .change(
                    now,
                    "order.sell",
                    "order",
                    order.id.0,
                    json!({
                        "code": order.code.as_str(),
                        "tickets": tickets.len(),
                        "total_minor": total.minor,
                        "payment_method": payment_method,
                        "status": status,
                        "coupon": coupon.as_ref().map(|c| c.code.as_str()),
                        "discount_minor": order.discount_minor,
                    }),
                )
                .sync(now, "order", order.id.0, 1, &order);
            for t in &tickets {
                change = change.sync(now, "ticket", t.id.0, 1, t);
            }
            if let Some(e) = &waitlist {
                let sold = WaitlistEntry {
                    status: WaitlistStatus::Sold,
                    order_id: Some(order.id),
                    meta: e.meta.touched(now),
                    ..e.clone()
                };
                change = change.sync(now, "waitlist", e.id.0, sold.meta.version, &sold);
            }
            let sale = NewSale {
                order,
                tickets: tickets.clone(),
                demand: plan.quota_demand.clone(),
                ticket_quotas: ticket_quotas.clone(),
                hold,
                waitlist_entry: waitlist.as_ref().map(|e| e.id),
                mail: mail.clone(),
                change,
            };
            match self.store.sell(&sale).await {
                Ok(()) => {
                    return Ok(OrderWithTickets {
                        order: sale.order,
                        tickets: sale.tickets,
                    })
                }
                // A clash of random order codes: draw another.
                Err(StoreError::Conflict { constraint })
                    if constraint == "orders_code_key" && attempt < self.config.write_retries => {}
                Err(StoreError::Busy) if attempt < self.config.write_retries => {
                    tokio::time::sleep(std::time::Duration::from_millis(2 << attempt.min(6))).await;
                }
                Err(e) => return Err(e.into()),
            }
            attempt += 1;
        }
    }

    /// Cancel single tickets or a whole order; their units go back to every quota they came from.
    /// With `refund`, each cancelled ticket's money goes back in full by the order's method
    /// (the [`Admit::refund`] use case refunds in part, or by another method).
    pub async fn cancel(
        &self,
        s: &Session,
        input: &CancelInput,
        now: DateTime<Utc>,
    ) -> ApiResult<OrderWithTickets> {
        s.require(Action::CancelOrder)?;
        if input.refund {
            s.require(Action::Refund)?;
        }
        let order_id = OrderId::parse("order_id", &input.order_id)?;
        let wanted = parse_ticket_ids(&input.ticket_ids)?;
        let how = if input.refund {
            Settle::RefundInFull { method: None }
        } else {
            Settle::Keep
        };
        let by = By::session(s);
        let done = self
            .cancel_tickets(&by, order_id, &wanted, how, now)
            .await?;
        self.after_units_freed(done.order.event_id, now).await;
        Ok(done)
    }

    /// Cancel tickets of an order (all valid ones when `wanted` is empty), settling the money
    /// as `how` says, in one store transaction with its audit and outbox rows. Retries when
    /// someone else changed the order in between.
    pub(crate) async fn cancel_tickets(
        &self,
        by: &By,
        order_id: OrderId,
        wanted: &[TicketId],
        how: Settle,
        now: DateTime<Utc>,
    ) -> ApiResult<OrderWithTickets> {
        let mut attempt = 0;
        loop {
            let current = self.store.get_order(order_id).await?;
            let c = self.cancellation(by, &current, wanted, &how, now).await?;
            match self.store.cancel(&c).await {
                Ok(()) => return Ok(self.store.get_order(order_id).await?),
                Err(StoreError::Stale { .. } | StoreError::Busy)
                    if attempt < self.config.write_retries =>
                {
                    attempt += 1;
                }
                Err(StoreError::Conflict { constraint }) if constraint == "ticket_not_valid" => {
                    return Err(ApiError::Conflict {
                        message: "that ticket is cancelled already".into(),
                    })
                }
                Err(e) => return Err(e.into()),
            }
        }
    }

    /// What cancelling `wanted` of `current` writes.
    async fn cancellation(
        &self,
        by: &By,
        current: &OrderWithTickets,
        wanted: &[TicketId],
        how: &Settle,
        now: DateTime<Utc>,
    ) -> ApiResult<Cancellation> {
        let cancel_ids: Vec<TicketId> = if wanted.is_empty() {
            current
                .tickets
                .iter()
                .filter(|t| t.status == TicketStatus::Valid)
                .map(|t| t.id)
                .collect()
        } else {
            for (i, id) in wanted.iter().enumerate() {
                match current.tickets.iter().find(|t| t.id == *id) {
                    None => {
                        return Err(ApiError::invalid(
                            format!("ticket_ids[{i}]"),
                            "is not a ticket of this order",
                        ))
                    }
                    Some(t) if t.status != TicketStatus::Valid => {
                        return Err(ApiError::Conflict {
                            message: "that ticket is cancelled already".into(),
                        })
                    }
                    Some(_) => {}
                }
            }
            wanted.to_vec()
        };
        if cancel_ids.is_empty() {
            return Err(ApiError::Conflict {
                message: "nothing left to cancel in this order".into(),
            });
        }
        let mut tickets = Vec::new();
        let mut remaining = Money::zero(current.order.total.currency);
        for t in &current.tickets {
            if cancel_ids.contains(&t.id) {
                tickets.push(Ticket {
                    status: TicketStatus::Cancelled,
                    meta: t.meta.touched(now),
                    ..t.clone()
                });
            } else if t.status == TicketStatus::Valid {
                remaining = remaining.checked_add(t.price).unwrap_or(remaining);
            }
        }
        let any_left = current
            .tickets
            .iter()
            .any(|t| t.status == TicketStatus::Valid && !cancel_ids.contains(&t.id));
        let status = match (any_left, how) {
            (true, _) => current.order.status,
            (false, Settle::RefundInFull { .. }) => OrderStatus::Refunded,
            (false, Settle::Expire) => OrderStatus::Expired,
            (false, Settle::Keep) => OrderStatus::Cancelled,
        };
        let expected_version = current.order.meta.version;
        let order = Order {
            status,
            total: remaining,
            meta: current.order.meta.touched(now),
            ..current.order.clone()
        };
        let mut release: std::collections::BTreeMap<QuotaId, u32> = Default::default();
        for (_, q) in self.store.ticket_quotas(&cancel_ids).await? {
            *release.entry(q).or_default() += 1;
        }
        let action = match how {
            Settle::RefundInFull { .. } => "order.refund",
            Settle::Expire => "order.expire",
            Settle::Keep => "order.cancel",
        };
        let mut change = by
            .change(
                now,
                action,
                "order",
                order.id.0,
                json!({ "code": order.code.as_str(), "tickets": cancel_ids, "status": status }),
            )
            .sync(now, "order", order.id.0, order.meta.version, &order);
        for t in &tickets {
            change = change.sync(now, "ticket", t.id.0, t.meta.version, t);
        }
        // Printed secrets of these tickets must stop admitting, even at doors without rows.
        let mut revoke = Vec::new();
        for id in &cancel_ids {
            if let Some(secret) = self.store.ticket_secret(*id).await? {
                revoke.push(admit_store::Revocation {
                    event_id: order.event_id,
                    fingerprint: secret.fingerprint,
                    ticket_id: *id,
                    reason: "cancelled".into(),
                    at: now,
                });
            }
        }
        for r in &revoke {
            change = change.sync(now, "revocation", r.ticket_id.0, 1, r);
        }
        // A full refund hands back what is left of each ticket's price (a ticket refunded in
        // part before gets the rest), by the way it was paid unless the cashier chose another.
        let refunds = match how {
            Settle::RefundInFull { method } => {
                let user = by.user.ok_or_else(|| {
                    ApiError::Internal("a refund needs the cashier who pays it out".into())
                })?;
                let earlier = self.store.refunds_of_order(order.id).await?;
                let mut out = Vec::new();
                for t in &tickets {
                    let left = t.price.minor - refunded_of(&earlier, t.id);
                    if left > 0 {
                        out.push(admit_store::Refund {
                            id: RefundId::new(now),
                            order_id: order.id,
                            event_id: order.event_id,
                            ticket_id: Some(t.id),
                            amount: Money {
                                minor: left,
                                currency: t.price.currency,
                            },
                            method: method.unwrap_or(order.payment_method),
                            created_by: user,
                            device_id: by.device,
                            at: now,
                        });
                    }
                }
                out
            }
            Settle::Keep | Settle::Expire => Vec::new(),
        };
        for r in &refunds {
            change = change.sync(now, "refund", r.id.0, 1, r);
        }
        // An order with nothing valid left gives its coupon use back.
        let coupon_release = if any_left {
            None
        } else {
            current.order.coupon_id
        };
        Ok(Cancellation {
            order,
            expected_version,
            refunds,
            tickets,
            release: release.into_iter().collect(),
            revoke,
            coupon_release,
            change,
        })
    }

    pub async fn get_order(&self, s: &Session, id: &str) -> ApiResult<OrderWithTickets> {
        s.require(Action::ViewOrders)?;
        Ok(self.store.get_order(OrderId::parse("id", id)?).await?)
    }

    pub async fn get_order_by_code(&self, s: &Session, code: &str) -> ApiResult<OrderWithTickets> {
        s.require(Action::ViewOrders)?;
        let code = OrderCode::parse("code", code)?;
        Ok(self.store.get_order_by_code(code.as_str()).await?)
    }

    /// The order a ticket belongs to (e.g. to print the ticket's card).
    pub async fn get_order_of_ticket(
        &self,
        s: &Session,
        ticket_id: &str,
    ) -> ApiResult<OrderWithTickets> {
        s.require(Action::ViewOrders)?;
        Ok(self
            .store
            .get_order_of_ticket(TicketId::parse("ticket_id", ticket_id)?)
            .await?)
    }

    /// Orders by code, buyer name or e-mail as the cashier types.
    pub async fn search_orders(
        &self,
        s: &Session,
        event_id: Option<&str>,
        text: &str,
        limit: u32,
    ) -> ApiResult<Vec<Order>> {
        s.require(Action::ViewOrders)?;
        let event_id = optional(&event_id.map(str::to_string), |e| {
            EventId::parse("event_id", e)
        })?;
        if text.chars().count() > 200 {
            return Err(ApiError::invalid("text", "is longer than 200 characters"));
        }
        Ok(self
            .store
            .search_orders(&OrderQuery {
                event_id,
                text: Some(text.to_string()),
                limit: limit.clamp(1, 500),
            })
            .await?)
    }

    pub async fn list_audit(&self, s: &Session, limit: u32) -> ApiResult<Vec<AuditEntry>> {
        s.require(Action::ViewAudit)?;
        Ok(self.store.list_audit(limit).await?)
    }
}

/// How a cancellation settles the money.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Settle {
    /// The money taken is kept (a plain cancellation).
    Keep,
    /// What is left of each ticket's price goes back, by `method` or the order's own.
    RefundInFull { method: Option<PaymentMethod> },
    /// A pay-later order ran past its deadline unpaid: there is no money to settle.
    Expire,
}

/// Who makes a change: a session's user on its device, or Admit itself (housekeeping).
#[derive(Debug, Clone, Copy)]
pub(crate) struct By {
    pub user: Option<UserId>,
    pub device: Option<DeviceId>,
}

impl By {
    pub fn session(s: &Session) -> Self {
        By {
            user: Some(s.user.id),
            device: s.device_id,
        }
    }
    pub fn system() -> Self {
        By {
            user: None,
            device: None,
        }
    }
    pub fn change(
        &self,
        now: DateTime<Utc>,
        action: &str,
        entity: &str,
        entity_id: uuid::Uuid,
        detail: serde_json::Value,
    ) -> admit_core::audit::Change {
        admit_core::audit::Change::new(
            now,
            self.user,
            self.device,
            action,
            entity,
            entity_id,
            detail,
        )
    }
}

/// Money refunded so far against one ticket.
pub(crate) fn refunded_of(refunds: &[admit_store::Refund], ticket: TicketId) -> i64 {
    refunds
        .iter()
        .filter(|r| r.ticket_id == Some(ticket))
        .map(|r| r.amount.minor)
        .sum()
}

pub(crate) fn parse_ticket_ids(ids: &[String]) -> ApiResult<Vec<TicketId>> {
    if ids.len() > stock::MAX_TICKETS_PER_ORDER as usize {
        return Err(ApiError::invalid("ticket_ids", "too many tickets"));
    }
    Ok(ids
        .iter()
        .enumerate()
        .map(|(i, t)| TicketId::parse(&format!("ticket_ids[{i}]"), t))
        .collect::<Result<Vec<_>, _>>()?)
}

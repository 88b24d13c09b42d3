//! Import of orders and attendees from CSV (for example an export from another ticketing
//! system): a dry run that lists every problem row by row, then the import itself in one
//! transaction, so a file is imported whole or not at all.
//!
//! The file needs a header row. Recognised columns (case and spacing ignored):
//! - `ticket_type` (also `ticket type`, `product`, `category`): the ticket type's name. Required.
//! - `order` (also `order_ref`, `order_code`, `order_id`, `reference`): rows with the same
//!   value become one order; without the column each row is its own order.
//! - `buyer_name` (`name`, `buyer`), `buyer_email` (`email`), `attendee_name` (`attendee`).
//! - `quantity` (`qty`): tickets on the row, 1 when absent.
//! - `payment_method` (`payment`): cash, card or comp; the import's default when absent.
//! - `ordered_at` (`created_at`, `date`): RFC 3339; the import time when absent.
//!
//! Other columns are reported and ignored. Prices come from Admit's ticket types (comp is
//! free), never from the file. Sales windows and per-order limits are not applied: these
//! orders were made elsewhere. Stock is: an import that does not fit the quotas is refused.

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::json;

use admit_core::model::*;
use admit_core::order_code::OrderCode;
use admit_core::role::Action;
use admit_core::text::{Email, Name};
use admit_core::time::parse_timestamp;
use admit_core::*;
use admit_store::{NewSale, StoreError};

use crate::{Admit, ApiError, ApiResult, Session};

/// The largest file accepted, in bytes.
pub const MAX_IMPORT_BYTES: usize = 20 * 1024 * 1024;
/// The most tickets one import creates.
pub const MAX_IMPORT_TICKETS: u64 = 100_000;
/// Problems listed in a preview; the count says how many there were in all.
const MAX_ISSUES: usize = 500;
/// Orders shown in a preview.
const SAMPLE: usize = 50;

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct ImportInput {
    pub event_id: String,
    /// The file's text.
    pub csv: String,
    /// For rows without a payment method: cash, card or comp (card when not given).
    #[serde(default)]
    pub payment_method: Option<String>,
    /// box_office, kiosk or online (online when not given).
    #[serde(default)]
    pub channel: Option<String>,
}

/// A problem with one row (line numbers count the header as line 1) or with the whole file
/// (line 0).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct ImportIssue {
    pub line: u64,
    pub column: Option<String>,
    pub message: String,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct ImportOrderPreview {
    /// The first line of the order in the file.
    pub line: u64,
    pub reference: String,
    pub buyer_name: Option<String>,
    pub buyer_email: Option<String>,
    pub payment_method: PaymentMethod,
    pub ordered_at: DateTime<Utc>,
    /// (ticket type, attendee) per ticket.
    pub tickets: Vec<(String, Option<String>)>,
    pub total: Money,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct ImportTypeCount {
    pub ticket_type_id: TicketTypeId,
    pub name: String,
    pub tickets: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct ImportPreview {
    pub rows: u64,
    pub orders: u64,
    pub tickets: u64,
    /// What the orders come to, one amount per currency.
    pub total: Vec<Money>,
    pub by_type: Vec<ImportTypeCount>,
    /// The columns used, as named in the file.
    pub columns: Vec<String>,
    pub ignored_columns: Vec<String>,
    /// Empty when the import can go ahead.
    pub issues: Vec<ImportIssue>,
    /// All problems, when there were more than listed.
    pub issue_count: u64,
    /// The first orders, as they would be made.
    pub sample: Vec<ImportOrderPreview>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct ImportResult {
    pub orders: u64,
    pub tickets: u64,
}

#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
enum Col {
    Order,
    BuyerName,
    BuyerEmail,
    TicketType,
    Attendee,
    Quantity,
    Payment,
    OrderedAt,
}

fn column(header: &str) -> Option<Col> {
    let h: String = header
        .trim()
        .trim_start_matches('\u{feff}')
        .to_lowercase()
        .chars()
        .map(|c| if c == ' ' || c == '-' { '_' } else { c })
        .collect();
    Some(match h.as_str() {
        "order" | "order_ref" | "order_reference" | "order_code" | "order_id" | "reference" => {
            Col::Order
        }
        "buyer_name" | "name" | "buyer" => Col::BuyerName,
        "buyer_email" | "email" | "e_mail" => Col::BuyerEmail,
        "ticket_type" | "tickettype" | "product" | "category" => Col::TicketType,
        "attendee_name" | "attendee" => Col::Attendee,
        "quantity" | "qty" => Col::Quantity,
        "payment_method" | "payment" => Col::Payment,
        "ordered_at" | "created_at" | "date" => Col::OrderedAt,
        _ => return None,
    })
}

fn col_name(c: Col) -> &'static str {
    match c {
        Col::Order => "order",
        Col::BuyerName => "buyer_name",
        Col::BuyerEmail => "buyer_email",
        Col::TicketType => "ticket_type",
        Col::Attendee => "attendee_name",
        Col::Quantity => "quantity",
        Col::Payment => "payment_method",
        Col::OrderedAt => "ordered_at",
    }
}

/// One order as read from the file, checked.
struct Planned {
    line: u64,
    reference: String,
    buyer_name: Option<Name>,
    buyer_email: Option<Email>,
    payment_method: PaymentMethod,
    ordered_at: DateTime<Utc>,
    tickets: Vec<(TicketTypeId, Option<Name>)>,
}

struct Plan {
    preview: ImportPreview,
    orders: Vec<Planned>,
}

struct Issues {
    list: Vec<ImportIssue>,
    count: u64,
}

impl Issues {
    fn add(&mut self, line: u64, column: Option<Col>, message: impl Into<String>) {
        self.count += 1;
        if self.list.len() < MAX_ISSUES {
            self.list.push(ImportIssue {
                line,
                column: column.map(|c| col_name(c).to_string()),
                message: message.into(),
            });
        }
    }
}

impl Admit {
    /// Read and check a file without writing anything.
    pub async fn import_preview(
        &self,
        s: &Session,
        input: &ImportInput,
        now: DateTime<Utc>,
    ) -> ApiResult<ImportPreview> {
        s.require(Action::ImportOrders)?;
        Ok(self.plan_import(input, now).await?.preview)
    }

    /// Import a file: every order in one transaction, or nothing when any row has a problem
    /// or the stock does not suffice.
    pub async fn import_orders(
        &self,
        s: &Session,
        input: &ImportInput,
        now: DateTime<Utc>,
    ) -> ApiResult<ImportResult> {
        s.require(Action::ImportOrders)?;
        let plan = self.plan_import(input, now).await?;
        if let Some(first) = plan.preview.issues.first() {
            let field = match &first.column {
                Some(c) => format!("csv line {} {c}", first.line),
                None if first.line > 0 => format!("csv line {}", first.line),
                None => "csv".to_string(),
            };
            let more = if plan.preview.issue_count > 1 {
                format!(
                    " ({} problems in all; see the preview)",
                    plan.preview.issue_count
                )
            } else {
                String::new()
            };
            return Err(ApiError::invalid(field, format!("{}{more}", first.message)));
        }
        let event_id = EventId::parse("event_id", &input.event_id)?;
        let types = self.store.list_ticket_types(event_id).await?;
        let quotas: Vec<Quota> = self
            .store
            .list_quotas(event_id)
            .await?
            .into_iter()
            .map(|u| u.quota)
            .collect();
        let channel = match input.channel.as_deref().map(str::trim) {
            None | Some("") => Channel::Online,
            Some(c) => Channel::parse("channel", c)?,
        };

        let mut attempt = 0;
        loop {
            let mut sales = Vec::with_capacity(plan.orders.len());
            for p in &plan.orders {
                sales.push(self.imported_sale(s, p, &types, &quotas, event_id, channel, now)?);
            }
            match self.store.import_sales(&sales).await {
                Ok(()) => {
                    self.forget_catalogue();
                    return Ok(ImportResult {
                        orders: plan.preview.orders,
                        tickets: plan.preview.tickets,
                    });
                }
                // Two random order codes clashed: draw them all again.
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

    #[allow(clippy::too_many_arguments)]
    fn imported_sale(
        &self,
        s: &Session,
        p: &Planned,
        types: &[TicketType],
        quotas: &[Quota],
        event_id: EventId,
        channel: Channel,
        now: DateTime<Utc>,
    ) -> ApiResult<NewSale> {
        let at = p.ordered_at;
        let order_id = OrderId::new(at);
        let comp = p.payment_method == PaymentMethod::Comp;
        let mut tickets = Vec::with_capacity(p.tickets.len());
        let mut ticket_quotas = Vec::new();
        let mut demand: BTreeMap<QuotaId, u32> = BTreeMap::new();
        let mut total: Option<Money> = None;
        for (tt, name) in &p.tickets {
            let ty = types
                .iter()
                .find(|t| t.id == *tt)
                .ok_or_else(|| ApiError::Internal("ticket type vanished".into()))?;
            let price = if comp {
                Money::zero(ty.price.currency)
            } else {
                ty.price
            };
            total = Some(match total {
                None => price,
                Some(t) => t.checked_add(price).ok_or_else(|| {
                    ApiError::invalid("csv", "an order mixes currencies or is too large")
                })?,
            });
            let t = Ticket {
                id: TicketId::new(at),
                order_id,
                event_id,
                ticket_type_id: *tt,
                price,
                attendee_name: name.clone(),
                status: TicketStatus::Valid,
                meta: Meta::new(at),
            };
            for q in quotas.iter().filter(|q| q.ticket_type_ids.contains(tt)) {
                ticket_quotas.push((t.id, q.id));
                *demand.entry(q.id).or_default() += 1;
            }
            tickets.push(t);
        }
        let total = total.ok_or_else(|| ApiError::invalid("csv", "an order has no tickets"))?;
        let order = Order {
            id: order_id,
            code: OrderCode::generate(),
            event_id,
            buyer_name: p.buyer_name.clone(),
            buyer_email: p.buyer_email.clone(),
            channel,
            payment_method: p.payment_method,
            status: OrderStatus::Paid,
            total,
            created_by: s.user.id,
            device_id: s.device_id,
            coupon_id: None,
            discount_minor: 0,
            // Paid elsewhere: no cashier's drawer holds this money.
            payment: Payment {
                paid_at: Some(at),
                ..Payment::default()
            },
            meta: Meta::new(at),
        };
        let mut change = s
            .change(
                now,
                "order.import",
                "order",
                order.id.0,
                json!({ "code": order.code.as_str(), "reference": p.reference, "line": p.line, "tickets": tickets.len(), "total_minor": total.minor }),
            )
            .sync(now, "order", order.id.0, 1, &order);
        for t in &tickets {
            change = change.sync(now, "ticket", t.id.0, 1, t);
        }
        Ok(NewSale {
            order,
            tickets,
            demand: demand.into_iter().collect(),
            ticket_quotas,
            hold: None,
            waitlist_entry: None,
            mail: None,
            change,
        })
    }

    async fn plan_import(&self, input: &ImportInput, now: DateTime<Utc>) -> ApiResult<Plan> {
        let event_id = EventId::parse("event_id", &input.event_id)?;
        let event = self.store.get_event(event_id).await.map_err(|e| match e {
            StoreError::NotFound { .. } => ApiError::invalid("event_id", "is not an event"),
            e => e.into(),
        })?;
        if matches!(event.status, EventStatus::Cancelled | EventStatus::Archived) {
            return Err(ApiError::invalid(
                "event_id",
                format!("event is {}; nothing can be imported into it", event.status),
            ));
        }
        if input.csv.len() > MAX_IMPORT_BYTES {
            return Err(ApiError::invalid(
                "csv",
                format!("is larger than {} MB", MAX_IMPORT_BYTES / 1024 / 1024),
            ));
        }
        let default_method = match input.payment_method.as_deref().map(str::trim) {
            None | Some("") => PaymentMethod::Card,
            Some(m) => PaymentMethod::parse("payment_method", m)?,
        };
        if let Some(c) = input.channel.as_deref().map(str::trim) {
            if !c.is_empty() {
                Channel::parse("channel", c)?;
            }
        }
        let types = self.store.list_ticket_types(event_id).await?;
        let quotas = self.store.list_quotas(event_id).await?;
        let by_name: HashMap<String, &TicketType> = types
            .iter()
            .map(|t| (t.name.as_str().trim().to_lowercase(), t))
            .collect();

        let text = input.csv.strip_prefix('\u{feff}').unwrap_or(&input.csv);
        let mut reader = csv::ReaderBuilder::new()
            .has_headers(true)
            .flexible(true)
            .from_reader(text.as_bytes());
        let headers = reader
            .headers()
            .map_err(|e| ApiError::invalid("csv", format!("the header row cannot be read: {e}")))?
            .clone();
        let mut cols: HashMap<Col, usize> = HashMap::new();
        let mut columns = Vec::new();
        let mut ignored = Vec::new();
        let mut issues = Issues {
            list: Vec::new(),
            count: 0,
        };
        for (i, h) in headers.iter().enumerate() {
            match column(h) {
                Some(c) if cols.contains_key(&c) => issues.add(
                    1,
                    Some(c),
                    format!("the column \"{}\" appears twice", h.trim()),
                ),
                Some(c) => {
                    cols.insert(c, i);
                    columns.push(h.trim().to_string());
                }
                None if h.trim().is_empty() => {}
                None => ignored.push(h.trim().to_string()),
            }
        }
        if !cols.contains_key(&Col::TicketType) {
            return Err(ApiError::invalid(
                "csv",
                "has no ticket_type column (the header row must name one)",
            ));
        }

        let mut orders: Vec<Planned> = Vec::new();
        let mut by_ref: HashMap<String, usize> = HashMap::new();
        let mut rows = 0u64;
        let mut tickets_total = 0u64;
        for (i, record) in reader.records().enumerate() {
            let line = i as u64 + 2;
            let record = match record {
                Ok(r) => r,
                Err(e) => {
                    issues.add(line, None, format!("cannot be read: {e}"));
                    continue;
                }
            };
            if record.iter().all(|f| f.trim().is_empty()) {
                continue;
            }
            rows += 1;
            let get = |c: Col| -> Option<&str> {
                cols.get(&c)
                    .and_then(|&i| record.get(i))
                    .map(str::trim)
                    .filter(|v| !v.is_empty())
            };
            let mut ok = true;
            let ty = match get(Col::TicketType) {
                None => {
                    issues.add(line, Some(Col::TicketType), "is empty");
                    ok = false;
                    None
                }
                Some(name) => match by_name.get(&name.to_lowercase()) {
                    Some(t) => Some(t.id),
                    None => {
                        let known: Vec<&str> = types.iter().map(|t| t.name.as_str()).collect();
                        issues.add(
                            line,
                            Some(Col::TicketType),
                            format!(
                                "\"{}\" is not a ticket type of this event (it has: {})",
                                clip(name),
                                known.join(", ")
                            ),
                        );
                        ok = false;
                        None
                    }
                },
            };
            let quantity = match get(Col::Quantity) {
                None => 1,
                Some(q) => match q.parse::<u32>() {
                    Ok(n) if (1..=100).contains(&n) => n,
                    _ => {
                        issues.add(
                            line,
                            Some(Col::Quantity),
                            "must be a whole number from 1 to 100",
                        );
                        ok = false;
                        1
                    }
                },
            };
            let mut parse_opt = |c: Col, f: &dyn Fn(&str) -> Result<(), DomainError>| {
                if let Some(v) = get(c) {
                    if let Err(e) = f(v) {
                        issues.add(line, Some(c), domain_message(e));
                        return false;
                    }
                }
                true
            };
            ok &= parse_opt(Col::BuyerName, &|v| {
                Name::parse("buyer_name", v).map(|_| ())
            });
            ok &= parse_opt(Col::BuyerEmail, &|v| {
                Email::parse("buyer_email", v).map(|_| ())
            });
            ok &= parse_opt(Col::Attendee, &|v| {
                Name::parse("attendee_name", v).map(|_| ())
            });
            ok &= parse_opt(Col::Payment, &|v| {
                PaymentMethod::parse("payment_method", v).map(|_| ())
            });
            ok &= parse_opt(Col::OrderedAt, &|v| {
                let t = parse_timestamp("ordered_at", v)?;
                if t > now {
                    return Err(DomainError::invalid("ordered_at", "is in the future"));
                }
                Ok(())
            });
            if quantity > 1 && get(Col::Attendee).is_some() {
                issues.add(
                    line,
                    Some(Col::Attendee),
                    "one name for several tickets: give each attendee a row of their own",
                );
                ok = false;
            }
            if !ok {
                continue;
            }
            let buyer_name = get(Col::BuyerName)
                .map(|v| Name::parse("buyer_name", v))
                .transpose()?;
            let buyer_email = get(Col::BuyerEmail)
                .map(|v| Email::parse("buyer_email", v))
                .transpose()?;
            let attendee = get(Col::Attendee)
                .map(|v| Name::parse("attendee_name", v))
                .transpose()?;
            let payment_method = get(Col::Payment)
                .map(|v| PaymentMethod::parse("payment_method", v))
                .transpose()?
                .unwrap_or(default_method);
            let ordered_at = get(Col::OrderedAt)
                .map(|v| parse_timestamp("ordered_at", v))
                .transpose()?
                .unwrap_or(now);
            let tt = ty.expect("checked above");
            tickets_total += quantity as u64;
            if tickets_total > MAX_IMPORT_TICKETS {
                issues.add(
                    line,
                    None,
                    format!("an import makes at most {MAX_IMPORT_TICKETS} tickets"),
                );
                break;
            }
            let reference = get(Col::Order)
                .map(str::to_string)
                .unwrap_or_else(|| format!("line {line}"));
            match by_ref.get(&reference) {
                Some(&k) => {
                    let o = &mut orders[k];
                    let same = o.buyer_name == buyer_name || buyer_name.is_none();
                    let same_email = o.buyer_email == buyer_email || buyer_email.is_none();
                    let same_method =
                        get(Col::Payment).is_none() || o.payment_method == payment_method;
                    if !(same && same_email && same_method) {
                        issues.add(
                            line,
                            Some(Col::Order),
                            format!(
                                "order \"{}\" (first on line {}) has another buyer or payment method here",
                                clip(&reference),
                                o.line
                            ),
                        );
                        continue;
                    }
                    for _ in 0..quantity {
                        o.tickets.push((tt, attendee.clone()));
                    }
                }
                None => {
                    by_ref.insert(reference.clone(), orders.len());
                    orders.push(Planned {
                        line,
                        reference,
                        buyer_name,
                        buyer_email,
                        payment_method,
                        ordered_at,
                        tickets: vec![(tt, attendee); quantity as usize],
                    });
                }
            }
        }
        if rows == 0 && issues.count == 0 {
            issues.add(0, None, "the file has no rows under its header");
        }

        // Stock: the whole import against what each quota has left now. The store checks it
        // again inside the import's transaction.
        let mut per_type: BTreeMap<TicketTypeId, u64> = BTreeMap::new();
        for o in &orders {
            for (tt, _) in &o.tickets {
                *per_type.entry(*tt).or_default() += 1;
            }
        }
        for q in &quotas {
            let needed: u64 = per_type
                .iter()
                .filter(|(tt, _)| q.quota.ticket_type_ids.contains(tt))
                .map(|(_, n)| *n)
                .sum();
            if needed > q.available() as u64 {
                issues.add(
                    0,
                    None,
                    format!(
                        "quota \"{}\" has {} left but the file needs {needed}",
                        q.quota.name.as_str(),
                        q.available()
                    ),
                );
            }
        }

        let mut total: Vec<Money> = Vec::new();
        let mut sample = Vec::new();
        for o in &orders {
            let mut order_total: Option<Money> = None;
            for (tt, _) in &o.tickets {
                let ty = types.iter().find(|t| t.id == *tt).expect("known type");
                let price = if o.payment_method == PaymentMethod::Comp {
                    Money::zero(ty.price.currency)
                } else {
                    ty.price
                };
                order_total = match order_total {
                    None => Some(price),
                    Some(t) => match t.checked_add(price) {
                        Some(sum) => Some(sum),
                        None => {
                            issues.add(o.line, Some(Col::Order), "an order cannot mix currencies");
                            Some(t)
                        }
                    },
                };
                match total.iter_mut().find(|m| m.currency == price.currency) {
                    Some(m) => m.minor += price.minor,
                    None => total.push(price),
                }
            }
            if sample.len() < SAMPLE {
                if let Some(order_total) = order_total {
                    sample.push(ImportOrderPreview {
                        line: o.line,
                        reference: o.reference.clone(),
                        buyer_name: o.buyer_name.as_ref().map(|n| n.as_str().to_string()),
                        buyer_email: o.buyer_email.as_ref().map(|e| e.as_str().to_string()),
                        payment_method: o.payment_method,
                        ordered_at: o.ordered_at,
                        tickets: o
                            .tickets
                            .iter()
                            .map(|(tt, n)| {
                                (
                                    types
                                        .iter()
                                        .find(|t| t.id == *tt)
                                        .map(|t| t.name.as_str().to_string())
                                        .unwrap_or_default(),
                                    n.as_ref().map(|n| n.as_str().to_string()),
                                )
                            })
                            .collect(),
                        total: order_total,
                    });
                }
            }
        }
        let by_type = types
            .iter()
            .filter_map(|t| {
                per_type.get(&t.id).map(|n| ImportTypeCount {
                    ticket_type_id: t.id,
                    name: t.name.as_str().to_string(),
                    tickets: *n,
                })
            })
            .collect();
        issues.list.sort_by_key(|i| i.line);
        Ok(Plan {
            preview: ImportPreview {
                rows,
                orders: orders.len() as u64,
                tickets: orders.iter().map(|o| o.tickets.len() as u64).sum(),
                total,
                by_type,
                columns,
                ignored_columns: ignored,
                issues: issues.list,
                issue_count: issues.count,
                sample,
            },
            orders,
        })
    }
}

/// A value from the file, shortened for a message.
fn clip(v: &str) -> String {
    let mut out: String = v.chars().take(60).collect();
    if v.chars().count() > 60 {
        out.push('…');
    }
    out
}

fn domain_message(e: DomainError) -> String {
    match ApiError::from(e) {
        ApiError::Invalid { message, .. } => message,
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers_are_recognised_loosely() {
        assert_eq!(column("Ticket Type"), Some(Col::TicketType));
        assert_eq!(column("\u{feff}order_ref"), Some(Col::Order));
        assert_eq!(column(" E-mail "), Some(Col::BuyerEmail));
        assert_eq!(column("Attendee"), Some(Col::Attendee));
        assert_eq!(column("price"), None);
    }

    #[test]
    fn long_values_are_clipped_in_messages() {
        let long = "x".repeat(200);
        assert_eq!(clip(&long).chars().count(), 61);
        assert_eq!(clip("Zoë"), "Zoë");
    }
}

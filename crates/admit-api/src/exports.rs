//! Exports: CSV of orders, attendees and scans, written page by page with progress, and
//! printable tickets in batch as one PDF.

use std::collections::HashMap;
use std::io::Write;

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};

use admit_core::model::*;
use admit_core::role::Action;
use admit_core::*;
use admit_report::pdf::{tickets_pdf, TicketLayout};

use crate::{optional, Admit, ApiError, ApiResult, Session};

/// Rows read from the store per page.
const PAGE: u32 = 2_000;
/// The most tickets one PDF holds.
pub const MAX_TICKETS_PER_PDF: usize = 10_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub enum ExportKind {
    Orders,
    Attendees,
    Scans,
}

impl ExportKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ExportKind::Orders => "orders",
            ExportKind::Attendees => "attendees",
            ExportKind::Scans => "scans",
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct ExportInput {
    pub event_id: String,
    pub kind: ExportKind,
    /// For spreadsheet programs: a UTF-8 byte-order mark first, and text that a spreadsheet
    /// would run as a formula (starting with = + - @) prefixed with an apostrophe.
    #[serde(default)]
    pub spreadsheet: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct ExportSummary {
    /// Data rows written (the header not counted).
    pub rows: u64,
    pub bytes: u64,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct TicketsPdfInput {
    /// The valid tickets of this order…
    #[serde(default)]
    pub order_id: Option<String>,
    /// …or of every live order of this event.
    #[serde(default)]
    pub event_id: Option<String>,
    /// "one_per_page" (default) or "four_per_a4".
    #[serde(default)]
    pub layout: Option<String>,
}

/// Counts bytes on their way to the real writer.
struct Counting<'a> {
    inner: &'a mut (dyn Write + Send),
    bytes: u64,
}

impl Write for Counting<'_> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.bytes += n as u64;
        Ok(n)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

fn io(e: impl std::fmt::Display) -> ApiError {
    ApiError::Internal(format!("could not write the export: {e}"))
}

/// Money as a plain decimal number in major units ("12.50"), which spreadsheets read as a
/// number; the currency goes in its own column.
pub fn decimal(m: Money) -> String {
    let exp = m.currency.exponent() as u32;
    let sign = if m.minor < 0 { "-" } else { "" };
    let abs = m.minor.unsigned_abs();
    if exp == 0 {
        format!("{sign}{abs}")
    } else {
        let p = 10u64.pow(exp);
        format!("{sign}{}.{:0w$}", abs / p, abs % p, w = exp as usize)
    }
}

/// A time in the event's zone with its offset, e.g. 2026-05-01T19:30:00+02:00.
fn local(t: DateTime<Utc>, zone: Tz) -> String {
    t.with_timezone(&zone)
        .format("%Y-%m-%dT%H:%M:%S%:z")
        .to_string()
}

struct Cells {
    spreadsheet: bool,
    row: Vec<String>,
}

impl Cells {
    /// Text a person typed: kept exactly, unless a spreadsheet would run it as a formula.
    fn text(&mut self, v: Option<&str>) {
        let v = v.unwrap_or("");
        if self.spreadsheet && v.starts_with(['=', '+', '-', '@', '\t', '\r']) {
            self.row.push(format!("'{v}"));
        } else {
            self.row.push(v.to_string());
        }
    }
    /// A value Admit made (ids, codes, numbers, times): written as it is.
    fn val(&mut self, v: impl ToString) {
        self.row.push(v.to_string());
    }
    fn opt(&mut self, v: Option<impl ToString>) {
        self.row.push(v.map(|v| v.to_string()).unwrap_or_default());
    }
}

impl Admit {
    /// Write one export of an event as CSV (RFC 4180: fields with commas, quotes or line
    /// breaks are quoted, quotes doubled). `progress(done, total)` is called after each page.
    pub async fn export_csv(
        &self,
        s: &Session,
        input: &ExportInput,
        out: &mut (dyn Write + Send),
        progress: &mut (dyn FnMut(u64, u64) + Send),
    ) -> ApiResult<ExportSummary> {
        s.require(Action::ExportData)?;
        let event_id = EventId::parse("event_id", &input.event_id)?;
        let event = self.store.get_event(event_id).await.map_err(|e| match e {
            admit_store::StoreError::NotFound { .. } => {
                ApiError::invalid("event_id", "is not an event")
            }
            e => e.into(),
        })?;
        let zone = event.time_zone.0;
        let counts = self.store.export_counts(event_id).await?;
        let total = match input.kind {
            ExportKind::Orders => counts.orders,
            ExportKind::Attendees => counts.tickets,
            ExportKind::Scans => counts.scans,
        };
        let users: HashMap<UserId, String> = self
            .store
            .list_users()
            .await?
            .into_iter()
            .map(|u| (u.id, u.username.as_str().to_string()))
            .collect();

        let mut counting = Counting {
            inner: out,
            bytes: 0,
        };
        if input.spreadsheet {
            counting.write_all("\u{feff}".as_bytes()).map_err(io)?;
        }
        let mut w = csv::WriterBuilder::new()
            .terminator(csv::Terminator::CRLF)
            .from_writer(&mut counting);
        let mut cells = Cells {
            spreadsheet: input.spreadsheet,
            row: Vec::with_capacity(16),
        };
        let mut rows = 0u64;
        progress(0, total);
        match input.kind {
            ExportKind::Orders => {
                w.write_record([
                    "order_id",
                    "code",
                    "created_at",
                    "status",
                    "channel",
                    "payment_method",
                    "buyer_name",
                    "buyer_email",
                    "total",
                    "currency",
                    "sold_by",
                    "device_id",
                ])
                .map_err(io)?;
                let mut after = None;
                loop {
                    let page = self.store.export_orders(event_id, after, PAGE).await?;
                    for o in &page {
                        cells.row.clear();
                        cells.val(o.id);
                        cells.val(o.code.as_str());
                        cells.val(local(o.meta.created_at, zone));
                        cells.val(o.status.as_str());
                        cells.val(o.channel.as_str());
                        cells.val(o.payment_method.as_str());
                        cells.text(o.buyer_name.as_ref().map(|n| n.as_str()));
                        cells.text(o.buyer_email.as_ref().map(|e| e.as_str()));
                        cells.val(decimal(o.total));
                        cells.val(o.total.currency);
                        cells.text(users.get(&o.created_by).map(String::as_str));
                        cells.opt(o.device_id);
                        w.write_record(&cells.row).map_err(io)?;
                    }
                    rows += page.len() as u64;
                    progress(rows, total.max(rows));
                    match page.last() {
                        Some(o) if page.len() == PAGE as usize => after = Some(o.id),
                        _ => break,
                    }
                }
            }
            ExportKind::Attendees => {
                w.write_record([
                    "ticket_id",
                    "order_code",
                    "ticket_type",
                    "attendee_name",
                    "buyer_name",
                    "buyer_email",
                    "price",
                    "currency",
                    "ticket_status",
                    "order_status",
                    "first_entry_at",
                ])
                .map_err(io)?;
                let mut after = None;
                loop {
                    let page = self.store.export_attendees(event_id, after, PAGE).await?;
                    for a in &page {
                        cells.row.clear();
                        cells.val(a.ticket.id);
                        cells.val(&a.order_code);
                        cells.text(Some(&a.ticket_type_name));
                        cells.text(a.ticket.attendee_name.as_ref().map(|n| n.as_str()));
                        cells.text(a.buyer_name.as_deref());
                        cells.text(a.buyer_email.as_deref());
                        cells.val(decimal(a.ticket.price));
                        cells.val(a.ticket.price.currency);
                        cells.val(a.ticket.status.as_str());
                        cells.val(a.order_status.as_str());
                        cells.opt(a.first_entry_at.map(|t| local(t, zone)));
                        w.write_record(&cells.row).map_err(io)?;
                    }
                    rows += page.len() as u64;
                    progress(rows, total.max(rows));
                    match page.last() {
                        Some(a) if page.len() == PAGE as usize => after = Some(a.ticket.id),
                        _ => break,
                    }
                }
            }
            ExportKind::Scans => {
                let lists: HashMap<CheckinListId, String> = self
                    .store
                    .list_checkin_lists(event_id)
                    .await?
                    .into_iter()
                    .map(|l| (l.id, l.name.as_str().to_string()))
                    .collect();
                w.write_record([
                    "scan_id",
                    "at",
                    "direction",
                    "verdict",
                    "counted",
                    "forced",
                    "check_in_list",
                    "gate",
                    "device_id",
                    "ticket_id",
                    "scanned_text",
                ])
                .map_err(io)?;
                let mut after = None;
                loop {
                    let page = self.store.export_scans(event_id, after, PAGE).await?;
                    for sc in &page {
                        cells.row.clear();
                        cells.val(sc.id);
                        cells.val(local(sc.at, zone));
                        cells.val(sc.direction.as_str());
                        cells.val(sc.verdict.as_str());
                        cells.val(if sc.counted { "yes" } else { "no" });
                        cells.val(if sc.forced { "yes" } else { "no" });
                        cells.text(lists.get(&sc.list_id).map(String::as_str));
                        cells.text(sc.gate.as_deref());
                        cells.opt(sc.device_id);
                        cells.opt(sc.ticket_id);
                        cells.text(sc.raw.as_deref());
                        w.write_record(&cells.row).map_err(io)?;
                    }
                    rows += page.len() as u64;
                    progress(rows, total.max(rows));
                    match page.last() {
                        Some(sc) if page.len() == PAGE as usize => after = Some(sc.id),
                        _ => break,
                    }
                }
            }
        }
        w.flush().map_err(io)?;
        drop(w);
        Ok(ExportSummary {
            rows,
            bytes: counting.bytes,
        })
    }

    /// Printable tickets: one PDF with the valid tickets of an order or of a whole event,
    /// each with its QR code. Tickets without a secret yet are issued one (as printing does).
    pub async fn tickets_pdf(
        &self,
        s: &Session,
        input: &TicketsPdfInput,
        now: DateTime<Utc>,
    ) -> ApiResult<Vec<u8>> {
        s.require(Action::IssueTickets)?;
        let layout = match input.layout.as_deref().map(str::trim) {
            None | Some("") | Some("one_per_page") => TicketLayout::OnePerPage,
            Some("four_per_a4") => TicketLayout::FourPerA4,
            Some(_) => {
                return Err(ApiError::invalid(
                    "layout",
                    "must be one_per_page or four_per_a4",
                ))
            }
        };
        let order_id = optional(&input.order_id, |v| OrderId::parse("order_id", v))?;
        let event_id = optional(&input.event_id, |v| EventId::parse("event_id", v))?;
        // (ticket, order code, ticket type name)
        let mut wanted: Vec<(Ticket, String, String)> = Vec::new();
        let event = match (order_id, event_id) {
            (Some(id), None) => {
                let (_, event, cards) = self.order_cards(id).await?;
                wanted = cards;
                event
            }
            (None, Some(id)) => {
                let event = self.store.get_event(id).await.map_err(|e| match e {
                    admit_store::StoreError::NotFound { .. } => {
                        ApiError::invalid("event_id", "is not an event")
                    }
                    e => e.into(),
                })?;
                let mut after = None;
                loop {
                    let page = self.store.export_attendees(id, after, PAGE).await?;
                    let full = page.len() == PAGE as usize;
                    after = page.last().map(|a| a.ticket.id);
                    for a in page {
                        if a.ticket.status == TicketStatus::Valid && a.order_status.is_live() {
                            if wanted.len() == MAX_TICKETS_PER_PDF {
                                return Err(ApiError::invalid(
                                    "event_id",
                                    format!(
                                        "has more than {MAX_TICKETS_PER_PDF} tickets; print them by order"
                                    ),
                                ));
                            }
                            wanted.push((a.ticket, a.order_code, a.ticket_type_name));
                        }
                    }
                    if !full {
                        break;
                    }
                }
                event
            }
            _ => {
                return Err(ApiError::invalid(
                    "order_id",
                    "name either an order or an event",
                ))
            }
        };
        self.render_cards(s, event, wanted, layout, now).await
    }

    /// One order's tickets as one PDF, one ticket a page, for the e-mail that carries them.
    /// No caller to check: the mail worker runs on its own. Tickets without a secret yet are
    /// issued one, recorded as issued by the cashier who sold the order (see
    /// [`Admit::acting_for_sale`]).
    pub(crate) async fn order_tickets_pdf(
        &self,
        order_id: OrderId,
        now: DateTime<Utc>,
    ) -> ApiResult<Vec<u8>> {
        let (order, event, cards) = self.order_cards(order_id).await?;
        let acting = self.acting_for_sale(&order).await?;
        self.render_cards(&acting, event, cards, TicketLayout::OnePerPage, now)
            .await
    }

    /// Whom work done later for a sale (issuing its tickets' secrets to e-mail them) is
    /// recorded as: the cashier who sold it. The sale was authorised when it was made, so the
    /// cashier's role today does not matter (they may have been switched off since); the
    /// session carries the box-office role only so that issuing passes its own check.
    async fn acting_for_sale(&self, order: &Order) -> ApiResult<Session> {
        let user = self.store.get_user(order.created_by).await?;
        Ok(Session {
            user: User {
                role: admit_core::role::Role::BoxOffice,
                active: true,
                ..user
            },
            device_id: None,
        })
    }

    /// The valid tickets of a live order, with the order and its event.
    async fn order_cards(
        &self,
        id: OrderId,
    ) -> ApiResult<(Order, Event, Vec<(Ticket, String, String)>)> {
        let o = self.store.get_order(id).await?;
        if !o.order.status.is_live() {
            return Err(ApiError::Conflict {
                message: "the order is not live; its tickets cannot be printed".into(),
            });
        }
        let types = self.store.list_ticket_types(o.order.event_id).await?;
        let mut wanted = Vec::new();
        for t in o.tickets {
            if t.status == TicketStatus::Valid {
                let name = types
                    .iter()
                    .find(|tt| tt.id == t.ticket_type_id)
                    .map(|tt| tt.name.as_str().to_string())
                    .unwrap_or_default();
                wanted.push((t, o.order.code.as_str().to_string(), name));
            }
        }
        let event = self.store.get_event(o.order.event_id).await?;
        Ok((o.order, event, wanted))
    }

    /// Draw tickets (ticket, order code, ticket type name) as one PDF, issuing secrets where
    /// missing as `s`.
    async fn render_cards(
        &self,
        s: &Session,
        event: Event,
        wanted: Vec<(Ticket, String, String)>,
        layout: TicketLayout,
        now: DateTime<Utc>,
    ) -> ApiResult<Vec<u8>> {
        if wanted.is_empty() {
            return Err(ApiError::Conflict {
                message: "there are no valid tickets to print".into(),
            });
        }
        let mut secrets = Vec::with_capacity(wanted.len());
        for (t, _, _) in &wanted {
            secrets.push(self.ticket_secret(s, &t.id.to_string(), now).await?.secret);
        }
        let event_name = event.name.as_str().to_string();
        let venue = event.venue.as_str().to_string();
        tokio::task::spawn_blocking(move || {
            let cards: Vec<admit_qr::TicketCard<'_>> = wanted
                .iter()
                .zip(&secrets)
                .map(|((t, code, type_name), secret)| admit_qr::TicketCard {
                    event_name: &event_name,
                    starts_at: event.starts_at,
                    time_zone: event.time_zone,
                    venue: &venue,
                    ticket_type: type_name,
                    attendee: t.attendee_name.as_ref().map(|n| n.as_str()),
                    order_code: code,
                    secret,
                })
                .collect();
            tickets_pdf(&cards, layout).map_err(|e| ApiError::Internal(e.to_string()))
        })
        .await
        .map_err(|e| ApiError::Internal(format!("PDF rendering stopped: {e}")))?
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn money_is_a_plain_decimal() {
        let eur = Currency::parse("c", "EUR").unwrap();
        let jpy = Currency::parse("c", "JPY").unwrap();
        let bhd = Currency::parse("c", "BHD").unwrap();
        assert_eq!(
            decimal(Money {
                minor: 1250,
                currency: eur
            }),
            "12.50"
        );
        assert_eq!(
            decimal(Money {
                minor: -5,
                currency: eur
            }),
            "-0.05"
        );
        assert_eq!(
            decimal(Money {
                minor: 1500,
                currency: jpy
            }),
            "1500"
        );
        assert_eq!(
            decimal(Money {
                minor: 1234,
                currency: bhd
            }),
            "1.234"
        );
    }

    #[test]
    fn formulas_are_neutralised_only_for_spreadsheets() {
        let mut c = Cells {
            spreadsheet: true,
            row: vec![],
        };
        c.text(Some("=HYPERLINK(\"x\")"));
        c.text(Some("Zoë, \"Z\""));
        c.val("-12.50");
        assert_eq!(c.row, ["'=HYPERLINK(\"x\")", "Zoë, \"Z\"", "-12.50"]);
        let mut c = Cells {
            spreadsheet: false,
            row: vec![],
        };
        c.text(Some("=1+1"));
        assert_eq!(c.row, ["=1+1"]);
    }
}

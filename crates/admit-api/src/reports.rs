//! Reports for owners: the three charts (sales velocity, revenue, door) and the end-of-shift
//! report. Figures are aggregated in SQL by the store; this module arranges them in the
//! event's time zone and hands them to `admit-report` to draw.

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, NaiveTime, TimeZone as _, Timelike, Utc};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};

use admit_core::model::*;
use admit_core::role::{Action, Role};
use admit_core::time::parse_timestamp;
use admit_core::*;
use admit_report::chart::{
    DoorChart, GateArrivals, RevenueBar, RevenueChart, SalesChart, SalesStep, TypeSales,
};
use admit_store::{ShiftQuery, ShiftRow};

use crate::{optional, Admit, ApiError, ApiResult, Session};

/// Sales are fetched in 15-minute buckets: every time zone's offset is a multiple of 15
/// minutes, so they fold exactly into local hours and days.
const SALES_BUCKET_SECS: u32 = 900;
/// Arrivals are shown per 5 minutes.
pub const DOOR_BUCKET_SECS: u32 = 300;
/// Sales spread over more than this are shown per day, else per hour.
const HOURLY_SPAN: i64 = 72;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub enum ChartKind {
    Sales,
    Revenue,
    Door,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub enum ChartFormat {
    Svg,
    Png,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct ChartInput {
    pub event_id: String,
    pub kind: ChartKind,
    /// Pixels; 960 × 540 when not given. Between 320 and 4,000.
    #[serde(default)]
    pub width: Option<u32>,
    #[serde(default)]
    pub height: Option<u32>,
    /// Sales chart only: "hour" or "day"; chosen from the spread of sales when not given.
    #[serde(default)]
    pub step: Option<String>,
    /// Revenue chart only: the currency to show (the event's main one when not given).
    #[serde(default)]
    pub currency: Option<String>,
}

/// A chart drawn for the screen (SVG) or for export (PNG).
#[derive(Debug, Clone, PartialEq)]
pub enum ChartImage {
    Svg(String),
    Png(Vec<u8>),
}

/// The figures behind a chart, ready to draw.
#[derive(Debug, Clone, PartialEq)]
pub enum ChartData {
    Sales(SalesChart),
    Revenue(RevenueChart),
    Door(DoorChart),
}

impl ChartData {
    pub fn svg(&self, width: u32, height: u32) -> ApiResult<String> {
        match self {
            ChartData::Sales(c) => c.svg(width, height),
            ChartData::Revenue(c) => c.svg(width, height),
            ChartData::Door(c) => c.svg(width, height),
        }
        .map_err(|e| ApiError::Internal(e.to_string()))
    }
    pub fn png(&self, width: u32, height: u32) -> ApiResult<Vec<u8>> {
        match self {
            ChartData::Sales(c) => c.png(width, height),
            ChartData::Revenue(c) => c.png(width, height),
            ChartData::Door(c) => c.png(width, height),
        }
        .map_err(|e| ApiError::Internal(e.to_string()))
    }
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct ShiftReportInput {
    /// The cashier; the caller when not given. Box office staff may only ask for their own.
    #[serde(default)]
    pub user_id: Option<String>,
    /// One device only; every device when not given.
    #[serde(default)]
    pub device_id: Option<String>,
    /// RFC 3339; the window is `[from, to)`.
    pub from: String,
    pub to: String,
}

/// What one cashier took and paid back with one method, on one device.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct ShiftLine {
    pub user_id: UserId,
    pub username: String,
    pub display_name: String,
    pub device_id: Option<DeviceId>,
    pub method: PaymentMethod,
    pub orders: u64,
    pub tickets: u64,
    pub sales: Money,
    pub refunds: u64,
    pub refunded: Money,
    /// sales − refunded
    pub net: Money,
}

/// Cash a drawer should hold at the end of the shift (before any float): cash taken minus
/// cash paid back, per cashier, device and currency.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Drawer {
    pub user_id: UserId,
    pub username: String,
    pub device_id: Option<DeviceId>,
    pub cash_sales: Money,
    pub cash_refunded: Money,
    pub cash_expected: Money,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct ShiftReport {
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
    pub lines: Vec<ShiftLine>,
    pub drawers: Vec<Drawer>,
    /// Per payment method over all lines, one entry per method and currency.
    pub by_method: Vec<MethodTotal>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct MethodTotal {
    pub method: PaymentMethod,
    pub orders: u64,
    pub tickets: u64,
    pub sales: Money,
    pub refunds: u64,
    pub refunded: Money,
    pub net: Money,
}

fn currency(code: &str) -> ApiResult<Currency> {
    Currency::parse("currency", code)
        .map_err(|e| ApiError::Internal(format!("stored currency: {e}")))
}

fn size(v: Option<u32>, default: u32, field: &str) -> ApiResult<u32> {
    let v = v.unwrap_or(default);
    if !(320..=4000).contains(&v) {
        return Err(ApiError::invalid(
            field,
            "must be between 320 and 4000 pixels",
        ));
    }
    Ok(v)
}

/// The start of the local hour or day holding `t`, as UTC.
fn local_start(t: DateTime<Utc>, zone: Tz, step: SalesStep) -> DateTime<Utc> {
    let local = t.with_timezone(&zone);
    match step {
        SalesStep::Hour => {
            // Truncate in local time; offsets are whole quarter hours, so this is exact.
            let secs = local.minute() as i64 * 60 + local.second() as i64;
            t - Duration::seconds(secs) - Duration::nanoseconds(t.timestamp_subsec_nanos() as i64)
        }
        SalesStep::Day => {
            let midnight = local.date_naive().and_time(NaiveTime::MIN);
            // A day that starts in a DST gap starts at its first valid instant.
            zone.from_local_datetime(&midnight)
                .earliest()
                .or_else(|| {
                    zone.from_local_datetime(&(midnight + Duration::hours(1)))
                        .earliest()
                })
                .map(|d| d.with_timezone(&Utc))
                .unwrap_or(t)
        }
    }
}

fn channel_label(c: Channel) -> &'static str {
    match c {
        Channel::BoxOffice => "Box office",
        Channel::Kiosk => "Kiosk",
        Channel::Online => "Online",
    }
}

fn method_label(m: PaymentMethod) -> &'static str {
    match m {
        PaymentMethod::Cash => "Cash",
        PaymentMethod::Card => "Card",
        PaymentMethod::Comp => "Comp",
    }
}

fn bar<'a>(bars: &'a mut Vec<RevenueBar>, label: &str) -> &'a mut RevenueBar {
    if let Some(i) = bars.iter().position(|b| b.label == label) {
        return &mut bars[i];
    }
    bars.push(RevenueBar {
        label: label.to_string(),
        gross_minor: 0,
        refunded_minor: 0,
    });
    bars.last_mut().expect("just pushed")
}

impl Admit {
    async fn report_event(&self, event_id: &str) -> ApiResult<Event> {
        let id = EventId::parse("event_id", event_id)?;
        self.store.get_event(id).await.map_err(|e| match e {
            admit_store::StoreError::NotFound { .. } => {
                ApiError::invalid("event_id", "is not an event")
            }
            e => e.into(),
        })
    }

    /// The figures behind a chart, aggregated in SQL and arranged in the event's zone.
    pub async fn chart_data(&self, s: &Session, input: &ChartInput) -> ApiResult<ChartData> {
        s.require(Action::ViewReports)?;
        let event = self.report_event(&input.event_id).await?;
        let zone = event.time_zone.0;
        // In the event's order (sort order, then name), as everywhere else.
        let types = self.store.list_ticket_types(event.id).await?;
        match input.kind {
            ChartKind::Sales => {
                let buckets = self
                    .store
                    .sales_buckets(event.id, SALES_BUCKET_SECS)
                    .await?;
                let step = match input.step.as_deref().map(str::trim) {
                    None | Some("") => {
                        let first = buckets.iter().map(|b| b.start).min();
                        let last = buckets.iter().map(|b| b.start).max();
                        match (first, last) {
                            (Some(a), Some(b)) if (b - a).num_hours() > HOURLY_SPAN => {
                                SalesStep::Day
                            }
                            _ => SalesStep::Hour,
                        }
                    }
                    Some("hour") => SalesStep::Hour,
                    Some("day") => SalesStep::Day,
                    Some(_) => return Err(ApiError::invalid("step", "must be hour or day")),
                };
                let mut per_type: BTreeMap<TicketTypeId, BTreeMap<DateTime<Utc>, u64>> =
                    BTreeMap::new();
                for b in &buckets {
                    *per_type
                        .entry(b.ticket_type_id)
                        .or_default()
                        .entry(local_start(b.start, zone, step))
                        .or_default() += b.tickets;
                }
                let quotas = self.store.list_quotas(event.id).await?;
                let capacity = crate::figures::capacity(&types, &quotas);
                let on_sale = types
                    .iter()
                    .filter_map(|t| t.sales_start)
                    .min()
                    .or_else(|| types.iter().map(|t| t.meta.created_at).min());
                Ok(ChartData::Sales(SalesChart {
                    title: format!("Ticket sales — {}", event.name.as_str()),
                    zone,
                    step,
                    on_sale,
                    capacity,
                    types: types
                        .iter()
                        .map(|t| TypeSales {
                            name: t.name.as_str().to_string(),
                            points: per_type
                                .remove(&t.id)
                                .unwrap_or_default()
                                .into_iter()
                                .collect(),
                        })
                        .collect(),
                }))
            }
            ChartKind::Revenue => {
                let rows = self.store.revenue(event.id).await?;
                let wanted = match input.currency.as_deref().map(str::trim) {
                    Some(c) if !c.is_empty() => Currency::parse("currency", c)?,
                    _ => {
                        // The event's main currency: the one with most gross, else its types'.
                        let mut gross: BTreeMap<&str, i64> = BTreeMap::new();
                        for r in &rows {
                            *gross.entry(r.currency.as_str()).or_default() += r.gross_minor;
                        }
                        match gross.into_iter().max_by_key(|(_, g)| *g) {
                            Some((c, _)) => currency(c)?,
                            None => match types.first() {
                                Some(t) => t.price.currency,
                                None => Currency::parse("currency", "EUR")?,
                            },
                        }
                    }
                };
                let mut chart = RevenueChart {
                    title: format!("Revenue — {} ({wanted})", event.name.as_str()),
                    currency: wanted,
                    by_ticket_type: types
                        .iter()
                        .map(|t| RevenueBar {
                            label: t.name.as_str().to_string(),
                            gross_minor: 0,
                            refunded_minor: 0,
                        })
                        .collect(),
                    by_channel: Vec::new(),
                    by_payment_method: Vec::new(),
                };
                for r in rows.iter().filter(|r| r.currency == wanted.code()) {
                    let type_label = r
                        .ticket_type_id
                        .and_then(|id| types.iter().find(|t| t.id == id))
                        .map(|t| t.name.as_str().to_string())
                        .unwrap_or_else(|| "Whole orders".to_string());
                    for b in [
                        bar(&mut chart.by_ticket_type, &type_label),
                        bar(&mut chart.by_channel, channel_label(r.channel)),
                        bar(&mut chart.by_payment_method, method_label(r.payment_method)),
                    ] {
                        b.gross_minor += r.gross_minor;
                        b.refunded_minor += r.refunded_minor;
                    }
                }
                Ok(ChartData::Revenue(chart))
            }
            ChartKind::Door => {
                let buckets = self.store.door_buckets(event.id, DOOR_BUCKET_SECS).await?;
                let mut gates: BTreeMap<String, Vec<(DateTime<Utc>, u64)>> = BTreeMap::new();
                let mut net: BTreeMap<DateTime<Utc>, i64> = BTreeMap::new();
                for b in &buckets {
                    let gate = b.gate.clone().unwrap_or_else(|| "No gate".to_string());
                    if b.entries > 0 {
                        gates.entry(gate).or_default().push((b.start, b.entries));
                    }
                    *net.entry(b.start).or_default() += b.entries as i64 - b.exits as i64;
                }
                let mut inside = Vec::with_capacity(net.len());
                let mut now_inside = 0i64;
                for (t, n) in net {
                    now_inside += n;
                    inside.push((t, now_inside));
                }
                Ok(ChartData::Door(DoorChart {
                    title: format!("Door — {}", event.name.as_str()),
                    zone,
                    bucket_secs: DOOR_BUCKET_SECS,
                    gates: gates
                        .into_iter()
                        .map(|(gate, mut points)| {
                            points.sort_by_key(|p| p.0);
                            GateArrivals { gate, points }
                        })
                        .collect(),
                    inside,
                }))
            }
        }
    }

    /// A chart as SVG (for the screen) or PNG (for export).
    pub async fn chart(
        &self,
        s: &Session,
        input: &ChartInput,
        format: ChartFormat,
    ) -> ApiResult<ChartImage> {
        let width = size(input.width, 960, "width")?;
        let height = size(input.height, 540, "height")?;
        let data = self.chart_data(s, input).await?;
        // Drawing is CPU work: keep it off the async workers.
        tokio::task::spawn_blocking(move || match format {
            ChartFormat::Svg => data.svg(width, height).map(ChartImage::Svg),
            ChartFormat::Png => data.png(width, height).map(ChartImage::Png),
        })
        .await
        .map_err(|e| ApiError::Internal(format!("chart drawing stopped: {e}")))?
    }

    /// The end-of-shift report: what each cashier sold and paid back per payment method in a
    /// window, and the cash each drawer should hold.
    pub async fn shift_report(
        &self,
        s: &Session,
        input: &ShiftReportInput,
    ) -> ApiResult<ShiftReport> {
        s.require(Action::ViewShiftReport)?;
        let user_id = optional(&input.user_id, |v| UserId::parse("user_id", v))?;
        let device_id = optional(&input.device_id, |v| DeviceId::parse("device_id", v))?;
        let from = parse_timestamp("from", &input.from)?;
        let to = parse_timestamp("to", &input.to)?;
        if to <= from {
            return Err(ApiError::invalid("to", "must come after from"));
        }
        if to - from > Duration::days(366) {
            return Err(ApiError::invalid(
                "to",
                "a shift report covers at most a year",
            ));
        }
        // The box office sees its own shift only.
        let user_id = match (s.user.role, user_id) {
            (Role::BoxOffice, Some(u)) if u != s.user.id => {
                return Err(ApiError::Forbidden {
                    action: Action::ViewShiftReport,
                })
            }
            (Role::BoxOffice, _) => Some(s.user.id),
            (_, u) => u,
        };
        let rows = self
            .store
            .shift_totals(&ShiftQuery {
                user_id,
                device_id,
                from,
                to,
            })
            .await?;
        let users = self.store.list_users().await?;
        let name_of = |id: UserId| {
            users
                .iter()
                .find(|u| u.id == id)
                .map(|u| {
                    (
                        u.username.as_str().to_string(),
                        u.display_name.as_str().to_string(),
                    )
                })
                .unwrap_or_else(|| (id.to_string(), String::new()))
        };
        let line = |r: &ShiftRow| -> ApiResult<ShiftLine> {
            let c = currency(&r.currency)?;
            let (username, display_name) = name_of(r.user_id);
            Ok(ShiftLine {
                user_id: r.user_id,
                username,
                display_name,
                device_id: r.device_id,
                method: r.method,
                orders: r.orders,
                tickets: r.tickets,
                sales: Money {
                    minor: r.sales_minor,
                    currency: c,
                },
                refunds: r.refunds,
                refunded: Money {
                    minor: r.refunded_minor,
                    currency: c,
                },
                net: Money {
                    minor: r.sales_minor - r.refunded_minor,
                    currency: c,
                },
            })
        };
        let lines = rows.iter().map(line).collect::<ApiResult<Vec<_>>>()?;

        let mut drawers: Vec<Drawer> = Vec::new();
        for l in lines.iter().filter(|l| l.method == PaymentMethod::Cash) {
            match drawers.iter_mut().find(|d| {
                d.user_id == l.user_id
                    && d.device_id == l.device_id
                    && d.cash_sales.currency == l.sales.currency
            }) {
                Some(d) => {
                    d.cash_sales.minor += l.sales.minor;
                    d.cash_refunded.minor += l.refunded.minor;
                    d.cash_expected.minor += l.net.minor;
                }
                None => drawers.push(Drawer {
                    user_id: l.user_id,
                    username: l.username.clone(),
                    device_id: l.device_id,
                    cash_sales: l.sales,
                    cash_refunded: l.refunded,
                    cash_expected: l.net,
                }),
            }
        }
        let mut by_method: Vec<MethodTotal> = Vec::new();
        for l in &lines {
            match by_method
                .iter_mut()
                .find(|m| m.method == l.method && m.sales.currency == l.sales.currency)
            {
                Some(m) => {
                    m.orders += l.orders;
                    m.tickets += l.tickets;
                    m.sales.minor += l.sales.minor;
                    m.refunds += l.refunds;
                    m.refunded.minor += l.refunded.minor;
                    m.net.minor += l.net.minor;
                }
                None => by_method.push(MethodTotal {
                    method: l.method,
                    orders: l.orders,
                    tickets: l.tickets,
                    sales: l.sales,
                    refunds: l.refunds,
                    refunded: l.refunded,
                    net: l.net,
                }),
            }
        }
        by_method.sort_by_key(|m| (m.method.as_str(), m.sales.currency.code().to_string()));
        Ok(ShiftReport {
            from,
            to,
            lines,
            drawers,
            by_method,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    #[test]
    fn local_hours_and_days_follow_the_zone() {
        let berlin: Tz = "Europe/Berlin".parse().unwrap();
        // 23:40 UTC on 28 March is 00:40 local on the 29th (CET, +1).
        let t = at("2026-03-28T23:40:00Z");
        assert_eq!(
            local_start(t, berlin, SalesStep::Hour),
            at("2026-03-28T23:00:00Z")
        );
        assert_eq!(
            local_start(t, berlin, SalesStep::Day),
            at("2026-03-28T23:00:00Z")
        );
        // After the switch to summer time the local day starts at 22:00 UTC.
        let t = at("2026-03-30T10:00:00Z");
        assert_eq!(
            local_start(t, berlin, SalesStep::Day),
            at("2026-03-29T22:00:00Z")
        );
        // Kathmandu is +05:45: its hours start at :15 UTC.
        let ktm: Tz = "Asia/Kathmandu".parse().unwrap();
        assert_eq!(
            local_start(at("2026-05-01T10:20:00Z"), ktm, SalesStep::Hour),
            at("2026-05-01T10:15:00Z")
        );
    }

    #[test]
    fn a_day_that_starts_in_a_gap_starts_at_its_first_instant() {
        // Santiago skips 00:00–01:00 local when summer time starts (2026-09-06).
        let scl: Tz = "America/Santiago".parse().unwrap();
        let t = at("2026-09-06T12:00:00Z");
        let start = local_start(t, scl, SalesStep::Day);
        let local = start.with_timezone(&scl);
        assert_eq!(local.date_naive().to_string(), "2026-09-06");
        assert!(local.hour() <= 1, "{local}");
    }
}

//! Charts for the owner's dashboard. Each chart is built from plain figures and can be drawn as
//! SVG (for the screen) or PNG (for export) at any size.
//!
//! One drawing routine per chart serves both backends. Text in PNGs is drawn from the bundled
//! DejaVu Sans, so exports look the same on every machine and need no system fonts; SVGs name
//! the generic `sans-serif` family and let the viewer choose. Times are drawn in the event's
//! zone: buckets are local hours or days (a local day is 23 or 25 hours at a DST change), ticks
//! sit on round local times, and the time axis names the zone.
//!
//! Points may come pre-aggregated or raw (one per order or scan): either way they are summed
//! into their bucket, so the drawing grows with the number of buckets, not of orders.

mod axis;
mod door;
mod draw;
mod revenue;
mod sales;

pub use draw::{MAX_SIDE, MIN_SIDE};

use chrono::{DateTime, Utc};
use chrono_tz::Tz;

use admit_core::money::Currency;

/// Width of a sales bucket.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SalesStep {
    Hour,
    Day,
}

/// Tickets sold per local hour or day, per ticket type, with the cumulative total against the
/// event's capacity and the on-sale moment marked.
#[derive(Debug, Clone, PartialEq)]
pub struct SalesChart {
    pub title: String,
    /// The event's zone: axes show local times and say which zone.
    pub zone: Tz,
    pub step: SalesStep,
    /// When sales opened (the earliest sales start of the event's ticket types), if known.
    pub on_sale: Option<DateTime<Utc>>,
    pub capacity: Option<u64>,
    /// One series per ticket type, in the event's order. Points are (bucket start, tickets
    /// sold in it); buckets with no sales may be missing.
    pub types: Vec<TypeSales>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct TypeSales {
    pub name: String,
    pub points: Vec<(DateTime<Utc>, u64)>,
}

/// Gross, refunds and net, broken down three ways.
#[derive(Debug, Clone, PartialEq)]
pub struct RevenueChart {
    pub title: String,
    /// Amounts are minor units of this currency (one chart per currency).
    pub currency: Currency,
    pub by_ticket_type: Vec<RevenueBar>,
    pub by_channel: Vec<RevenueBar>,
    pub by_payment_method: Vec<RevenueBar>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct RevenueBar {
    pub label: String,
    pub gross_minor: i64,
    pub refunded_minor: i64,
}

/// Arrivals per 5 minutes per gate, and people inside over time.
#[derive(Debug, Clone, PartialEq)]
pub struct DoorChart {
    pub title: String,
    pub zone: Tz,
    /// Bucket width in seconds (300 for 5 minutes).
    pub bucket_secs: u32,
    /// One series per gate ("—" or similar for scans without a gate): (bucket start, entries).
    pub gates: Vec<GateArrivals>,
    /// People inside at the end of each bucket: (bucket start, entries − exits so far).
    pub inside: Vec<(DateTime<Utc>, i64)>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct GateArrivals {
    pub gate: String,
    pub points: Vec<(DateTime<Utc>, u64)>,
}

//! What commands return beyond the use cases' own types: shapes for screens, nothing decided here.

use std::collections::BTreeMap;

use serde::Serialize;

use admit_api::{EventAvailability, Session};
use admit_core::checkin::CheckinList;
use admit_core::model::{Event, OrderWithTickets};
use admit_core::money::Money;
use admit_core::role::Role;
use admit_core::time::TimeZone;

use crate::settings::Settings;

#[derive(Debug, Clone, PartialEq, Serialize, ts_rs::TS)]
pub struct SessionView {
    pub user_id: String,
    pub username: String,
    pub display_name: String,
    pub role: Role,
}

impl From<&Session> for SessionView {
    fn from(s: &Session) -> Self {
        SessionView {
            user_id: s.user.id.to_string(),
            username: s.user.username.as_str().to_string(),
            display_name: s.user.display_name.as_str().to_string(),
            role: s.user.role,
        }
    }
}

/// Everything the first screen needs to decide what to show.
#[derive(Debug, Clone, PartialEq, Serialize, ts_rs::TS)]
pub struct AppStatus {
    /// No owner exists yet (or no database is chosen): show the first-run screen.
    pub needs_setup: bool,
    /// Where data lives, for people (a PostgreSQL password is masked); none until chosen.
    pub database: Option<String>,
    /// Why the chosen database could not be opened, if it could not.
    pub database_error: Option<String>,
    /// The SQLite file used unless another place is chosen.
    pub default_database: String,
    pub session: Option<SessionView>,
    pub settings: Settings,
    pub kiosk: bool,
    pub version: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, ts_rs::TS)]
pub struct EventDetail {
    pub availability: EventAvailability,
    pub lists: Vec<CheckinList>,
}

/// A check-in list with its event, for the door's list picker.
#[derive(Debug, Clone, PartialEq, Serialize, ts_rs::TS)]
pub struct DoorList {
    pub list: CheckinList,
    pub event: Event,
}

/// One printable ticket.
#[derive(Debug, Clone, PartialEq, Serialize, ts_rs::TS)]
pub struct TicketCard {
    pub ticket_id: String,
    pub event_name: String,
    pub venue: String,
    /// The start in the event's own zone, e.g. "Fri 1 May 2026, 19:30 CEST".
    pub starts_local: String,
    pub ticket_type: String,
    pub attendee_name: Option<String>,
    pub order_code: String,
    pub price: Money,
    /// An `<svg>` document of the QR code.
    pub qr_svg: String,
    /// What the QR code says; typed at the door when a screen is too damaged to scan.
    pub secret: String,
}

/// An order with its tickets ready to print. A pay-later order that is not paid yet has no
/// cards: its tickets get their QR codes once it is paid.
#[derive(Debug, Clone, PartialEq, Serialize, ts_rs::TS)]
pub struct SoldOrder {
    pub order: OrderWithTickets,
    pub cards: Vec<TicketCard>,
}

#[derive(Debug, Clone, PartialEq, Serialize, ts_rs::TS)]
pub struct OrderView {
    pub order: OrderWithTickets,
    /// Ticket type names by id, for the order's tickets.
    pub type_names: BTreeMap<String, String>,
    pub event_name: String,
    /// The event's zone: the order's times (e.g. when it is due) are shown in it.
    pub time_zone: TimeZone,
}

/// The mail settings screen: the server (password never included) and what the background
/// work did last.
#[derive(Debug, Clone, PartialEq, Serialize, ts_rs::TS)]
pub struct MailSettings {
    pub smtp: Option<crate::settings::SmtpView>,
    pub worker: crate::worker::WorkerStatus,
}

/// A file saved into the exports folder.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ts_rs::TS)]
pub struct SavedFile {
    /// Where it is, for people to find it.
    pub path: String,
    pub bytes: u64,
    /// Data rows, for a CSV export (its header not counted).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub rows: Option<u64>,
}

/// How far an export has come: rows written of the rows there are.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ts_rs::TS)]
pub struct ExportProgress {
    pub done: u64,
    pub total: u64,
}

//! Check-in lists and the redeem decision: given what a door device knows at the moment of a
//! scan, which verdict the scan gets. Pure: the caller verifies the secret, loads the list, the
//! ticket row (if the device has it), revocation and block lists and the ticket's history, and
//! records the result.
//!
//! # Verdicts and their order
//!
//! Reasons are checked in this order and the first that applies wins: `invalid`, `revoked`,
//! `canceled`, `blocked`, `invalid_time`, `product`, `unpaid`, `rules`, `already_redeemed`.
//! Exits never use a ticket up: they are refused only for `invalid`, `canceled`, `blocked`,
//! `product` and `unpaid`, so nobody is held inside by a limit, a window or a replaced code.
//!
//! # History
//!
//! `history` holds the scans of this ticket on this list that took effect: verdict `ok`, or
//! recorded as forced (an offline door let the person through). It is evaluated by scan time,
//! whatever order it arrives in, so an offline scan uploaded late lands in its place:
//!
//! - limits count every entry in the history, earlier or later than the scan;
//! - on a single-entry list the ticket is inside at scan time if the last scan at or before
//!   that time is an entry; and an entry recorded after the scan time with no exit between
//!   means the scan conflicts with it. Either way the scan is `already_redeemed`, which is how
//!   a double admission by two offline doors shows up when the second one uploads.
//!
//! # Forced scans
//!
//! [`decide`] always returns the verdict the scan would get. A forced upload is recorded with
//! that verdict as its reason and flagged `forced` when it is not `ok`.

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use std::fmt;

use crate::error::{DomainError, DomainResult};
use crate::id::{CheckinListId, EventId, TicketTypeId};
use crate::model::{Meta, OrderStatus, TicketStatus};
use crate::secret::{SecretError, TicketClaims};
use crate::text::Name;
use crate::time::TimeZone;

/// More gates than this is a data-entry accident, not a venue.
pub const MAX_GATES: usize = 64;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum Direction {
    Entry,
    Exit,
}

impl Direction {
    pub const ALL: &'static [Direction] = &[Direction::Entry, Direction::Exit];

    pub fn as_str(&self) -> &'static str {
        match self {
            Direction::Entry => "entry",
            Direction::Exit => "exit",
        }
    }

    pub fn parse(field: &str, s: &str) -> DomainResult<Self> {
        match s.trim() {
            "entry" => Ok(Direction::Entry),
            "exit" => Ok(Direction::Exit),
            _ => Err(DomainError::invalid(field, "must be one of entry, exit")),
        }
    }
}

impl fmt::Display for Direction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The outcome of a scan: `ok` or the reason it was refused. Variants are in check order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum Verdict {
    Ok,
    /// Unknown, malformed, forged, retired key or another event's ticket.
    Invalid,
    /// This secret was replaced or withdrawn (on the event's revocation list).
    Revoked,
    /// The order or ticket is cancelled, refunded or expired.
    Canceled,
    /// On the event's block list.
    Blocked,
    /// Outside the ticket's validity window (entries only).
    InvalidTime,
    /// The ticket type is not admitted by this list.
    Product,
    /// The order is pending and the list does not admit pending orders.
    Unpaid,
    /// Gate, admission window or entry limits.
    Rules,
    /// Single-entry list and the ticket is already inside or used.
    AlreadyRedeemed,
}

impl Verdict {
    pub const ALL: &'static [Verdict] = &[
        Verdict::Ok,
        Verdict::Invalid,
        Verdict::Revoked,
        Verdict::Canceled,
        Verdict::Blocked,
        Verdict::InvalidTime,
        Verdict::Product,
        Verdict::Unpaid,
        Verdict::Rules,
        Verdict::AlreadyRedeemed,
    ];

    pub fn as_str(&self) -> &'static str {
        match self {
            Verdict::Ok => "ok",
            Verdict::Invalid => "invalid",
            Verdict::Revoked => "revoked",
            Verdict::Canceled => "canceled",
            Verdict::Blocked => "blocked",
            Verdict::InvalidTime => "invalid_time",
            Verdict::Product => "product",
            Verdict::Unpaid => "unpaid",
            Verdict::Rules => "rules",
            Verdict::AlreadyRedeemed => "already_redeemed",
        }
    }

    pub fn parse(field: &str, s: &str) -> DomainResult<Self> {
        let s = s.trim();
        Verdict::ALL
            .iter()
            .copied()
            .find(|v| v.as_str() == s)
            .ok_or_else(|| {
                let names: Vec<&str> = Verdict::ALL.iter().map(Verdict::as_str).collect();
                DomainError::invalid(field, format!("must be one of {}", names.join(", ")))
            })
    }

    pub fn is_ok(&self) -> bool {
        *self == Verdict::Ok
    }
}

impl fmt::Display for Verdict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Which ticket types a list admits. `All` also covers types added after the list was made.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind", content = "ticket_type_ids")]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum AdmittedTypes {
    All,
    Only(Vec<TicketTypeId>),
}

impl AdmittedTypes {
    pub fn admits(&self, ticket_type_id: TicketTypeId) -> bool {
        match self {
            AdmittedTypes::All => true,
            AdmittedTypes::Only(ids) => ids.contains(&ticket_type_id),
        }
    }
}

/// A check-in list as the user sets it; [`CheckinList::new`] validates it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CheckinListSpec {
    pub name: String,
    pub admitted: AdmittedTypes,
    pub admit_pending: bool,
    pub allow_multi_entry: bool,
    /// Single-entry lists only: after an exit the ticket may enter again.
    pub allow_entry_after_exit: bool,
    /// Inclusive.
    pub admission_opens: Option<DateTime<Utc>>,
    /// Exclusive.
    pub admission_closes: Option<DateTime<Utc>>,
    pub max_entries_total: Option<u32>,
    /// "Day" is the calendar day in the event's time zone.
    pub max_entries_per_day: Option<u32>,
    /// Empty: any gate.
    pub gates: Vec<String>,
}

/// A list of who may enter where and how often. Build it with [`CheckinList::new`]; the fields
/// are public for reading and for stores that load rows written through `new`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CheckinList {
    pub id: CheckinListId,
    pub event_id: EventId,
    pub name: Name,
    pub admitted: AdmittedTypes,
    pub admit_pending: bool,
    pub allow_multi_entry: bool,
    pub allow_entry_after_exit: bool,
    pub admission_opens: Option<DateTime<Utc>>,
    pub admission_closes: Option<DateTime<Utc>>,
    pub max_entries_total: Option<u32>,
    pub max_entries_per_day: Option<u32>,
    pub gates: Vec<Name>,
    pub meta: Meta,
}

impl CheckinList {
    /// Validate `spec`; each error names the field at fault. Whether the ticket types belong
    /// to the event is for the caller to check against its catalogue.
    pub fn new(
        id: CheckinListId,
        event_id: EventId,
        spec: CheckinListSpec,
        meta: Meta,
    ) -> DomainResult<Self> {
        let name = Name::parse("name", &spec.name)?;
        if let AdmittedTypes::Only(ids) = &spec.admitted {
            if ids.is_empty() {
                return Err(DomainError::invalid(
                    "ticket_type_ids",
                    "must name at least one ticket type, or admit all types",
                ));
            }
            for (i, t) in ids.iter().enumerate() {
                if ids[..i].contains(t) {
                    return Err(DomainError::invalid(
                        format!("ticket_type_ids[{i}]"),
                        "is listed twice",
                    ));
                }
            }
        }
        if let (Some(o), Some(c)) = (spec.admission_opens, spec.admission_closes) {
            if c <= o {
                return Err(DomainError::invalid(
                    "admission_closes",
                    "must be after admission_opens",
                ));
            }
        }
        if spec.max_entries_total == Some(0) {
            return Err(DomainError::invalid(
                "max_entries_total",
                "must be at least 1",
            ));
        }
        if spec.max_entries_per_day == Some(0) {
            return Err(DomainError::invalid(
                "max_entries_per_day",
                "must be at least 1",
            ));
        }
        if spec.gates.len() > MAX_GATES {
            return Err(DomainError::invalid(
                "gates",
                format!("at most {MAX_GATES} gates"),
            ));
        }
        let mut gates: Vec<Name> = Vec::with_capacity(spec.gates.len());
        for (i, g) in spec.gates.iter().enumerate() {
            let g = Name::parse(&format!("gates[{i}]"), g)?;
            if gates.iter().any(|o| same_gate(o.as_str(), g.as_str())) {
                return Err(DomainError::invalid(
                    format!("gates[{i}]"),
                    "is listed twice",
                ));
            }
            gates.push(g);
        }
        Ok(CheckinList {
            id,
            event_id,
            name,
            admitted: spec.admitted,
            admit_pending: spec.admit_pending,
            allow_multi_entry: spec.allow_multi_entry,
            allow_entry_after_exit: spec.allow_entry_after_exit,
            admission_opens: spec.admission_opens,
            admission_closes: spec.admission_closes,
            max_entries_total: spec.max_entries_total,
            max_entries_per_day: spec.max_entries_per_day,
            gates,
            meta,
        })
    }

    /// A new list made now on this device.
    pub fn create(
        event_id: EventId,
        spec: CheckinListSpec,
        now: DateTime<Utc>,
    ) -> DomainResult<Self> {
        Self::new(CheckinListId::new(now), event_id, spec, Meta::new(now))
    }

    /// This list with new settings; id and event stay, the version grows.
    pub fn updated(&self, spec: CheckinListSpec, now: DateTime<Utc>) -> DomainResult<Self> {
        Self::new(self.id, self.event_id, spec, self.meta.touched(now))
    }

    pub fn spec(&self) -> CheckinListSpec {
        CheckinListSpec {
            name: self.name.as_str().to_string(),
            admitted: self.admitted.clone(),
            admit_pending: self.admit_pending,
            allow_multi_entry: self.allow_multi_entry,
            allow_entry_after_exit: self.allow_entry_after_exit,
            admission_opens: self.admission_opens,
            admission_closes: self.admission_closes,
            max_entries_total: self.max_entries_total,
            max_entries_per_day: self.max_entries_per_day,
            gates: self.gates.iter().map(|g| g.as_str().to_string()).collect(),
        }
    }
}

/// Gate names are typed on several devices; capitalisation and stray spaces must not lock
/// anyone out.
fn same_gate(a: &str, b: &str) -> bool {
    a.trim().to_lowercase() == b.trim().to_lowercase()
}

/// What the device's ticket row says, when it has the row.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct TicketState {
    /// Wins over the type in the secret: the row is current, the secret is as issued.
    pub ticket_type_id: TicketTypeId,
    pub ticket_status: TicketStatus,
    pub order_status: OrderStatus,
}

/// A scan of this ticket on this list that took effect (`ok`, or recorded as forced).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PriorScan {
    pub at: DateTime<Utc>,
    pub direction: Direction,
    pub gate: Option<String>,
}

/// Everything [`decide`] looks at.
#[derive(Debug, Clone, Copy)]
pub struct ScanInput<'a> {
    /// The result of verifying the scanned text against the event's keyring.
    pub secret: Result<&'a TicketClaims, SecretError>,
    pub list: &'a CheckinList,
    /// The event's zone: for "per day" and for times shown to staff.
    pub time_zone: TimeZone,
    pub direction: Direction,
    pub gate: Option<&'a str>,
    pub at: DateTime<Utc>,
    /// `None` when the device lacks the row (offline): order and ticket state are then not
    /// checked, while revocation and block lists still are.
    pub ticket: Option<&'a TicketState>,
    /// The secret's fingerprint is on the event's revocation list.
    pub revoked: bool,
    /// The secret's fingerprint (or the ticket) is on the event's block list.
    pub blocked: bool,
    /// In any order.
    pub history: &'a [PriorScan],
}

/// The entry that makes a scan `already_redeemed`, for the door to show.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct EarlierEntry {
    pub at: DateTime<Utc>,
    pub gate: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Decision {
    pub verdict: Verdict,
    /// For staff, in English, times in the event's zone. Empty when `ok`.
    pub explanation: String,
    /// Set for `already_redeemed`.
    pub earlier_entry: Option<EarlierEntry>,
}

impl Decision {
    fn ok() -> Self {
        Decision {
            verdict: Verdict::Ok,
            explanation: String::new(),
            earlier_entry: None,
        }
    }

    fn refuse(verdict: Verdict, explanation: impl Into<String>) -> Self {
        Decision {
            verdict,
            explanation: explanation.into(),
            earlier_entry: None,
        }
    }

    pub fn is_ok(&self) -> bool {
        self.verdict.is_ok()
    }
}

/// The verdict for one scan. See the module docs for the order of checks and how history is
/// read.
pub fn decide(input: &ScanInput<'_>) -> Decision {
    let list = input.list;
    let entry = input.direction == Direction::Entry;
    let claims = match input.secret {
        Ok(c) => c,
        Err(e) => return Decision::refuse(Verdict::Invalid, e.to_string()),
    };
    if claims.event_id != list.event_id {
        return Decision::refuse(Verdict::Invalid, SecretError::WrongEvent.to_string());
    }
    if entry && input.revoked {
        return Decision::refuse(
            Verdict::Revoked,
            "this ticket code was replaced or withdrawn; ask for the current ticket",
        );
    }
    if let Some(t) = input.ticket {
        let order = match t.order_status {
            OrderStatus::Cancelled => Some("order is cancelled"),
            OrderStatus::Refunded => Some("order is refunded"),
            OrderStatus::Expired => Some("order expired unpaid"),
            OrderStatus::Paid | OrderStatus::Pending => None,
        };
        if let Some(why) = order {
            return Decision::refuse(Verdict::Canceled, why);
        }
        if t.ticket_status == TicketStatus::Cancelled {
            return Decision::refuse(Verdict::Canceled, "ticket is cancelled");
        }
    }
    if input.blocked {
        return Decision::refuse(Verdict::Blocked, "ticket is blocked");
    }
    if entry && !claims.validity.contains(input.at) {
        let tz = input.time_zone;
        let why = match (claims.validity.not_before(), claims.validity.not_after()) {
            (Some(b), _) if input.at < b => {
                format!("ticket is valid only from {}", local(b, tz, input.at))
            }
            (_, Some(a)) => format!("ticket was valid only until {}", local(a, tz, input.at)),
            _ => "ticket is outside its validity window".to_string(),
        };
        return Decision::refuse(Verdict::InvalidTime, why);
    }
    let ticket_type_id = input
        .ticket
        .map_or(claims.ticket_type_id, |t| t.ticket_type_id);
    if !list.admitted.admits(ticket_type_id) {
        return Decision::refuse(
            Verdict::Product,
            format!("ticket type is not admitted on list {}", list.name),
        );
    }
    if let Some(t) = input.ticket {
        if t.order_status == OrderStatus::Pending && !list.admit_pending {
            return Decision::refuse(Verdict::Unpaid, "order is not paid yet");
        }
    }
    if !entry {
        return Decision::ok();
    }
    if let Some(why) = broken_rule(input) {
        return Decision::refuse(Verdict::Rules, why);
    }
    if !list.allow_multi_entry {
        if let Some(d) = already_redeemed(input) {
            return d;
        }
    }
    Decision::ok()
}

fn broken_rule(input: &ScanInput<'_>) -> Option<String> {
    let list = input.list;
    let tz = input.time_zone;
    let at = input.at;
    if !list.gates.is_empty() {
        let names: Vec<&str> = list.gates.iter().map(Name::as_str).collect();
        match input.gate {
            Some(g) if names.iter().any(|n| same_gate(n, g)) => {}
            Some(g) => {
                return Some(format!(
                    "not allowed at gate {}; use {}",
                    g.trim(),
                    names.join(", ")
                ))
            }
            None => return Some(format!("only allowed at gate {}", names.join(", "))),
        }
    }
    if let Some(o) = list.admission_opens {
        if at < o {
            return Some(format!("only allowed from {}", local(o, tz, at)));
        }
    }
    if let Some(c) = list.admission_closes {
        if at >= c {
            return Some(format!("admission closed at {}", local(c, tz, at)));
        }
    }
    let entries = || {
        input
            .history
            .iter()
            .filter(|s| s.direction == Direction::Entry)
    };
    if let Some(max) = list.max_entries_total {
        let n = entries().count();
        if n >= max as usize {
            return Some(format!(
                "at most {max} entries on this list; {n} already made"
            ));
        }
    }
    if let Some(max) = list.max_entries_per_day {
        let day = local_date(at, tz);
        let n = entries().filter(|s| local_date(s.at, tz) == day).count();
        if n >= max as usize {
            return Some(format!(
                "at most {max} entries per day; {n} already made on {day}"
            ));
        }
    }
    None
}

fn already_redeemed(input: &ScanInput<'_>) -> Option<Decision> {
    let mut history: Vec<&PriorScan> = input.history.iter().collect();
    // Stable, so scans with equal times keep the order the store gave them.
    history.sort_by_key(|s| s.at);
    let at = input.at;
    let split = history.partition_point(|s| s.at <= at);
    let (before, after) = history.split_at(split);
    let last_entry_before = before
        .iter()
        .rev()
        .find(|s| s.direction == Direction::Entry);
    let first_entry_after = after.iter().find(|s| s.direction == Direction::Entry);

    let conflict = if !input.list.allow_entry_after_exit {
        // The first entry used the ticket; show the one nearest before the scan.
        last_entry_before.or(first_entry_after)
    } else {
        match (before.last(), after.first()) {
            (Some(last), _) if last.direction == Direction::Entry => Some(last),
            (_, Some(next)) if next.direction == Direction::Entry => Some(next),
            _ => None,
        }
    }?;
    let tz = input.time_zone;
    let mut why = format!("already entered at {}", local(conflict.at, tz, at));
    if let Some(g) = &conflict.gate {
        why.push_str(&format!(" at gate {g}"));
    }
    if !input.list.allow_entry_after_exit {
        why.push_str("; one entry per ticket on this list");
    }
    Some(Decision {
        verdict: Verdict::AlreadyRedeemed,
        explanation: why,
        earlier_entry: Some(EarlierEntry {
            at: conflict.at,
            gate: conflict.gate.clone(),
        }),
    })
}

fn local_date(t: DateTime<Utc>, tz: TimeZone) -> NaiveDate {
    t.with_timezone(&tz.0).date_naive()
}

/// A time for staff at the door: just the clock time when it falls on the scan's day, with the
/// date otherwise.
fn local(t: DateTime<Utc>, tz: TimeZone, scan: DateTime<Utc>) -> String {
    let l = t.with_timezone(&tz.0);
    if l.date_naive() == local_date(scan, tz) {
        l.format("%H:%M").to_string()
    } else {
        l.format("%Y-%m-%d %H:%M").to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::id::TicketId;
    use crate::secret::{KeyId, SecretFingerprint, ValidityWindow};
    use chrono::{Duration, TimeZone as _};
    use uuid::Uuid;

    const EVENT: EventId = EventId(Uuid::from_bytes([1; 16]));
    const OTHER_EVENT: EventId = EventId(Uuid::from_bytes([2; 16]));
    const ADULT: TicketTypeId = TicketTypeId(Uuid::from_bytes([10; 16]));
    const CHILD: TicketTypeId = TicketTypeId(Uuid::from_bytes([11; 16]));
    const VIP: TicketTypeId = TicketTypeId(Uuid::from_bytes([12; 16]));

    fn berlin() -> TimeZone {
        TimeZone::parse("tz", "Europe/Berlin").unwrap()
    }

    fn new_york() -> TimeZone {
        TimeZone::parse("tz", "America/New_York").unwrap()
    }

    /// A wall-clock time in `tz`, as UTC.
    fn at(tz: TimeZone, y: i32, mo: u32, d: u32, h: u32, mi: u32, s: u32) -> DateTime<Utc> {
        tz.0.with_ymd_and_hms(y, mo, d, h, mi, s)
            .single()
            .unwrap()
            .with_timezone(&Utc)
    }

    /// 2026-05-01 (a Friday) in Berlin, CEST.
    fn may(h: u32, mi: u32) -> DateTime<Utc> {
        at(berlin(), 2026, 5, 1, h, mi, 0)
    }

    fn spec() -> CheckinListSpec {
        CheckinListSpec {
            name: "Main entrance".into(),
            admitted: AdmittedTypes::Only(vec![ADULT, CHILD]),
            admit_pending: false,
            allow_multi_entry: false,
            allow_entry_after_exit: false,
            admission_opens: None,
            admission_closes: None,
            max_entries_total: None,
            max_entries_per_day: None,
            gates: vec![],
        }
    }

    fn list(f: impl FnOnce(&mut CheckinListSpec)) -> CheckinList {
        let mut s = spec();
        f(&mut s);
        CheckinList::create(EVENT, s, may(9, 0)).unwrap()
    }

    fn claims() -> TicketClaims {
        TicketClaims {
            ticket_id: TicketId(Uuid::from_bytes([5; 16])),
            event_id: EVENT,
            ticket_type_id: ADULT,
            key_id: KeyId(1),
            issued_at: may(9, 0),
            validity: ValidityWindow::new(
                Some(may(18, 0)),
                Some(at(berlin(), 2026, 5, 2, 4, 0, 0)),
            )
            .unwrap(),
            fingerprint: SecretFingerprint([0; 16]),
        }
    }

    fn paid() -> TicketState {
        TicketState {
            ticket_type_id: ADULT,
            ticket_status: TicketStatus::Valid,
            order_status: OrderStatus::Paid,
        }
    }

    fn entry(t: DateTime<Utc>, gate: &str) -> PriorScan {
        PriorScan {
            at: t,
            direction: Direction::Entry,
            gate: Some(gate.to_string()),
        }
    }

    fn exit(t: DateTime<Utc>) -> PriorScan {
        PriorScan {
            at: t,
            direction: Direction::Exit,
            gate: None,
        }
    }

    /// One scan with everything in order, changed field by field in each case.
    #[derive(Clone)]
    struct Scan {
        secret: Result<TicketClaims, SecretError>,
        list: CheckinList,
        tz: TimeZone,
        direction: Direction,
        gate: Option<String>,
        at: DateTime<Utc>,
        ticket: Option<TicketState>,
        revoked: bool,
        blocked: bool,
        history: Vec<PriorScan>,
    }

    fn scan() -> Scan {
        Scan {
            secret: Ok(claims()),
            list: list(|_| {}),
            tz: berlin(),
            direction: Direction::Entry,
            gate: Some("North".into()),
            at: may(19, 0),
            ticket: Some(paid()),
            revoked: false,
            blocked: false,
            history: vec![],
        }
    }

    impl Scan {
        fn decide(&self) -> Decision {
            let claims = self.secret.as_ref().map_err(|e| *e);
            decide(&ScanInput {
                secret: claims,
                list: &self.list,
                time_zone: self.tz,
                direction: self.direction,
                gate: self.gate.as_deref(),
                at: self.at,
                ticket: self.ticket.as_ref(),
                revoked: self.revoked,
                blocked: self.blocked,
                history: &self.history,
            })
        }
        fn verdict(&self) -> Verdict {
            self.decide().verdict
        }
        fn exit(mut self) -> Self {
            self.direction = Direction::Exit;
            self
        }
        fn at(mut self, t: DateTime<Utc>) -> Self {
            self.at = t;
            self
        }
        fn list(mut self, f: impl FnOnce(&mut CheckinListSpec)) -> Self {
            self.list = list(f);
            self
        }
        fn history(mut self, h: Vec<PriorScan>) -> Self {
            self.history = h;
            self
        }
        fn ticket(mut self, f: impl FnOnce(&mut TicketState)) -> Self {
            let mut t = self.ticket.unwrap_or_else(paid);
            f(&mut t);
            self.ticket = Some(t);
            self
        }
        fn offline(mut self) -> Self {
            self.ticket = None;
            self
        }
        fn claims(mut self, f: impl FnOnce(&mut TicketClaims)) -> Self {
            let mut c = claims();
            f(&mut c);
            self.secret = Ok(c);
            self
        }
        fn gate(mut self, g: Option<&str>) -> Self {
            self.gate = g.map(str::to_string);
            self
        }
    }

    #[test]
    fn every_reason_on_entry_and_exit() {
        use Verdict::*;
        let secs = Duration::seconds(1);
        let nb = may(18, 0);
        let na = at(berlin(), 2026, 5, 2, 4, 0, 0);
        #[rustfmt::skip]
        let cases: Vec<(&str, Scan, Verdict, Verdict)> = vec![
            // (case, scan, verdict on entry, verdict on exit)
            ("all in order", scan(), Ok, Ok),
            ("malformed", Scan { secret: Err(SecretError::Malformed("empty")), ..scan() }, Invalid, Invalid),
            ("bad signature", Scan { secret: Err(SecretError::BadSignature), ..scan() }, Invalid, Invalid),
            ("unknown key", Scan { secret: Err(SecretError::UnknownKey(KeyId(9))), ..scan() }, Invalid, Invalid),
            ("retired key", Scan { secret: Err(SecretError::RetiredKey(KeyId(1))), ..scan() }, Invalid, Invalid),
            ("wrong event (verifier)", Scan { secret: Err(SecretError::WrongEvent), ..scan() }, Invalid, Invalid),
            ("wrong event (list)", scan().claims(|c| c.event_id = OTHER_EVENT), Invalid, Invalid),
            ("revoked secret", Scan { revoked: true, ..scan() }, Revoked, Ok),
            ("order cancelled", scan().ticket(|t| t.order_status = OrderStatus::Cancelled), Canceled, Canceled),
            ("order refunded", scan().ticket(|t| t.order_status = OrderStatus::Refunded), Canceled, Canceled),
            ("order expired", scan().ticket(|t| t.order_status = OrderStatus::Expired), Canceled, Canceled),
            ("ticket cancelled", scan().ticket(|t| t.ticket_status = TicketStatus::Cancelled), Canceled, Canceled),
            ("blocked", Scan { blocked: true, ..scan() }, Blocked, Blocked),
            ("one second before valid", scan().at(nb - secs), InvalidTime, Ok),
            ("first valid second", scan().at(nb), Ok, Ok),
            ("last valid second", scan().at(na - secs), Ok, Ok),
            ("validity ends (exclusive)", scan().at(na), InvalidTime, Ok),
            ("type not on list", scan().claims(|c| c.ticket_type_id = VIP).ticket(|t| t.ticket_type_id = VIP), Product, Product),
            ("list admits all types", scan().claims(|c| c.ticket_type_id = VIP).ticket(|t| t.ticket_type_id = VIP).list(|s| s.admitted = AdmittedTypes::All), Ok, Ok),
            ("row type wins over secret", scan().ticket(|t| t.ticket_type_id = VIP), Product, Product),
            ("offline: secret type decides", scan().claims(|c| c.ticket_type_id = VIP).offline(), Product, Product),
            ("pending order", scan().ticket(|t| t.order_status = OrderStatus::Pending), Unpaid, Unpaid),
            ("pending admitted", scan().ticket(|t| t.order_status = OrderStatus::Pending).list(|s| s.admit_pending = true), Ok, Ok),
            ("wrong gate", scan().list(|s| s.gates = vec!["South".into()]), Rules, Ok),
            ("no gate set", scan().gate(None).list(|s| s.gates = vec!["South".into()]), Rules, Ok),
            ("gate matches loosely", scan().gate(Some(" north ")).list(|s| s.gates = vec!["South".into(), "North".into()]), Ok, Ok),
            ("before admission opens", scan().list(|s| s.admission_opens = Some(may(19, 0) + secs)), Rules, Ok),
            ("admission opens (inclusive)", scan().list(|s| s.admission_opens = Some(may(19, 0))), Ok, Ok),
            ("admission closes (exclusive)", scan().list(|s| s.admission_closes = Some(may(19, 0))), Rules, Ok),
            ("last second before closing", scan().list(|s| s.admission_closes = Some(may(19, 0) + secs)), Ok, Ok),
            ("total limit reached", scan().list(|s| { s.allow_multi_entry = true; s.max_entries_total = Some(2) }).history(vec![entry(may(18, 0), "North"), exit(may(18, 10)), entry(may(18, 20), "North"), exit(may(18, 30))]), Rules, Ok),
            ("total limit not reached", scan().list(|s| { s.allow_multi_entry = true; s.max_entries_total = Some(3) }).history(vec![entry(may(18, 0), "North"), entry(may(18, 20), "North")]), Ok, Ok),
            ("already inside", scan().history(vec![entry(may(18, 30), "West")]), AlreadyRedeemed, Ok),
            ("multi-entry list", scan().list(|s| s.allow_multi_entry = true).history(vec![entry(may(18, 30), "West")]), Ok, Ok),
        ];
        for (name, s, on_entry, on_exit) in cases {
            assert_eq!(s.verdict(), on_entry, "entry: {name}: {:?}", s.decide());
            let d = s.clone().exit().decide();
            assert_eq!(d.verdict, on_exit, "exit: {name}: {d:?}");
            let d = s.decide();
            assert_eq!(d.explanation.is_empty(), d.verdict == Ok, "{name}: {d:?}");
        }
    }

    /// Start from a scan that breaks every rule at once and mend one thing at a time: each
    /// step must reveal exactly the next reason in the documented order.
    #[test]
    fn reasons_are_checked_in_the_documented_order() {
        let mut s = Scan {
            secret: Err(SecretError::BadSignature),
            revoked: true,
            blocked: true,
            ..scan()
        }
        .claims(|c| c.ticket_type_id = VIP)
        .ticket(|t| {
            t.order_status = OrderStatus::Cancelled;
            t.ticket_type_id = VIP;
        })
        .at(may(17, 0))
        .list(|s| {
            s.gates = vec!["South".into()];
            s.admit_pending = false;
        })
        .history(vec![entry(may(16, 0), "South")]);
        s.secret = Err(SecretError::BadSignature);

        let mut seen = vec![s.verdict()];
        s.secret = Ok(claims());
        s.secret.as_mut().unwrap().ticket_type_id = VIP;
        seen.push(s.verdict());
        s.revoked = false;
        seen.push(s.verdict());
        s.ticket.as_mut().unwrap().order_status = OrderStatus::Pending;
        seen.push(s.verdict());
        s.blocked = false;
        seen.push(s.verdict());
        s.at = may(19, 0);
        seen.push(s.verdict());
        s.ticket.as_mut().unwrap().ticket_type_id = ADULT;
        seen.push(s.verdict());
        s.ticket.as_mut().unwrap().order_status = OrderStatus::Paid;
        seen.push(s.verdict());
        s.gate = Some("South".into());
        seen.push(s.verdict());
        s.history.clear();
        seen.push(s.verdict());
        assert_eq!(
            seen,
            Verdict::ALL[1..]
                .iter()
                .copied()
                .chain([Verdict::Ok])
                .collect::<Vec<_>>()
        );
    }

    #[test]
    fn offline_without_the_ticket_row_still_applies_lists() {
        // The device cannot know the order was cancelled…
        let s = scan().offline();
        assert_eq!(s.verdict(), Verdict::Ok);
        // …but the cancellation reached it through the revocation list, and blocks apply.
        assert_eq!(
            Scan {
                revoked: true,
                ..s.clone()
            }
            .verdict(),
            Verdict::Revoked
        );
        assert_eq!(
            Scan {
                blocked: true,
                ..s.clone()
            }
            .verdict(),
            Verdict::Blocked
        );
        assert_eq!(
            Scan {
                blocked: true,
                ..s.clone()
            }
            .exit()
            .verdict(),
            Verdict::Blocked
        );
        assert_eq!(s.clone().at(may(17, 59)).verdict(), Verdict::InvalidTime);
        assert_eq!(
            s.history(vec![entry(may(18, 5), "North")]).verdict(),
            Verdict::AlreadyRedeemed
        );
    }

    type SpecFn = dyn Fn(&mut CheckinListSpec);

    #[test]
    fn entry_and_exit_sequences() {
        use Verdict::*;
        let reentry = |s: &mut CheckinListSpec| s.allow_entry_after_exit = true;
        let single = |_: &mut CheckinListSpec| {};
        let e1 = entry(may(18, 0), "North");
        let x1 = exit(may(18, 30));
        let e2 = entry(may(18, 45), "South");
        let x2 = exit(may(18, 50));
        #[rustfmt::skip]
        let cases: Vec<(&str, &SpecFn, Vec<PriorScan>, Direction, Verdict)> = vec![
            ("first entry", &single, vec![], Direction::Entry, Ok),
            ("entry, entry", &single, vec![e1.clone()], Direction::Entry, AlreadyRedeemed),
            ("entry, exit, entry without re-entry", &single, vec![e1.clone(), x1.clone()], Direction::Entry, AlreadyRedeemed),
            ("entry, exit, entry with re-entry", &reentry, vec![e1.clone(), x1.clone()], Direction::Entry, Ok),
            ("entry, exit, entry, entry with re-entry", &reentry, vec![e1.clone(), x1.clone(), e2.clone()], Direction::Entry, AlreadyRedeemed),
            ("entry, exit, entry, exit, entry with re-entry", &reentry, vec![e1.clone(), x1.clone(), e2.clone(), x2.clone()], Direction::Entry, Ok),
            ("exit, exit", &single, vec![e1.clone(), x1.clone()], Direction::Exit, Ok),
            ("exit before any entry", &single, vec![], Direction::Exit, Ok),
            ("exits never use the ticket up", &single, vec![x1.clone(), x2.clone()], Direction::Entry, Ok),
            ("history arrives out of order", &reentry, vec![x2.clone(), e2.clone(), x1.clone(), e1.clone()], Direction::Entry, Ok),
            ("out of order, still inside", &reentry, vec![e2.clone(), x1.clone(), e1.clone()], Direction::Entry, AlreadyRedeemed),
        ];
        for (name, f, history, direction, want) in cases {
            let s = Scan {
                direction,
                ..scan()
            }
            .list(f)
            .history(history);
            assert_eq!(s.verdict(), want, "{name}: {:?}", s.decide());
        }
    }

    #[test]
    fn already_redeemed_names_the_earlier_entry() {
        let d = scan().history(vec![entry(may(18, 2), "West")]).decide();
        assert_eq!(d.verdict, Verdict::AlreadyRedeemed);
        assert_eq!(
            d.earlier_entry,
            Some(EarlierEntry {
                at: may(18, 2),
                gate: Some("West".into())
            })
        );
        assert!(d.explanation.contains("18:02"), "{}", d.explanation);
        assert!(d.explanation.contains("gate West"), "{}", d.explanation);
        // An entry on another day shows its date.
        let d = scan()
            .history(vec![entry(at(berlin(), 2026, 4, 30, 20, 0, 0), "West")])
            .decide();
        assert!(
            d.explanation.contains("2026-04-30 20:00"),
            "{}",
            d.explanation
        );
        // With re-entry, the entry shown is the one the person is still inside on.
        let d = scan()
            .list(|s| s.allow_entry_after_exit = true)
            .history(vec![
                entry(may(17, 0), "A"),
                exit(may(17, 30)),
                entry(may(18, 0), "B"),
            ])
            .decide();
        assert_eq!(d.earlier_entry.unwrap().gate.as_deref(), Some("B"));
    }

    /// Two offline doors both admit the ticket; the second to upload is the double admission,
    /// whichever scan happened first.
    #[test]
    fn late_uploads_are_placed_by_scan_time() {
        // Door A scanned at 19:00 offline; door B admitted at 19:05 and uploaded first.
        let upload_a = scan().at(may(19, 0)).history(vec![entry(may(19, 5), "B")]);
        let d = upload_a.decide();
        assert_eq!(d.verdict, Verdict::AlreadyRedeemed);
        assert_eq!(d.earlier_entry.unwrap().at, may(19, 5));

        // With re-entry: A's 19:00 entry followed by an exit at 19:30 that was uploaded first
        // is consistent, not a conflict.
        let s = scan()
            .list(|s| s.allow_entry_after_exit = true)
            .at(may(19, 0))
            .history(vec![exit(may(19, 30))]);
        assert_eq!(s.verdict(), Verdict::Ok);
        // An entry between the late scan and the exit is.
        let s = s.history(vec![entry(may(19, 10), "B"), exit(may(19, 30))]);
        assert_eq!(s.verdict(), Verdict::AlreadyRedeemed);

        // Clocks a few seconds apart on two online doors must not admit twice either.
        let s = scan()
            .at(may(19, 0))
            .history(vec![entry(may(19, 0) + Duration::seconds(3), "B")]);
        assert_eq!(s.verdict(), Verdict::AlreadyRedeemed);
        // Same instant at two doors: the recorded one wins.
        let s = scan().at(may(19, 0)).history(vec![entry(may(19, 0), "B")]);
        assert_eq!(s.verdict(), Verdict::AlreadyRedeemed);
    }

    #[test]
    fn per_day_limits_use_midnight_in_the_events_zone() {
        let daily = |s: &mut CheckinListSpec| {
            s.admitted = AdmittedTypes::All;
            s.allow_multi_entry = true;
            s.max_entries_per_day = Some(1);
        };
        let season = |s: &mut TicketClaims| s.validity = ValidityWindow::ALWAYS;
        let tz = berlin();
        // 23:30 and 00:30 Berlin are both on 28 March in UTC, but on two Berlin days.
        let late = at(tz, 2026, 3, 28, 23, 30, 0);
        let after_midnight = at(tz, 2026, 3, 29, 0, 30, 0);
        assert_eq!(late.date_naive(), after_midnight.date_naive());
        let s = scan()
            .claims(season)
            .list(daily)
            .at(after_midnight)
            .history(vec![entry(late, "North")]);
        assert_eq!(s.verdict(), Verdict::Ok);
        // Across the spring-forward night (02:00 → 03:00), 00:30 CET and 23:30 CEST are one
        // Berlin day of 23 hours: the second entry is refused even though 23 h apart.
        let s = s
            .at(at(tz, 2026, 3, 29, 23, 30, 0))
            .history(vec![entry(after_midnight, "North")]);
        let d = s.decide();
        assert_eq!(d.verdict, Verdict::Rules);
        assert!(d.explanation.contains("per day"), "{}", d.explanation);
        assert!(d.explanation.contains("2026-03-29"), "{}", d.explanation);
        // 00:10 the next Berlin day is a new day although still 29 March in UTC.
        let next = at(tz, 2026, 3, 30, 0, 10, 0);
        assert_eq!(
            next.date_naive(),
            at(tz, 2026, 3, 29, 23, 30, 0).date_naive()
        );
        let s = s
            .at(next)
            .history(vec![entry(at(tz, 2026, 3, 29, 23, 30, 0), "North")]);
        assert_eq!(s.verdict(), Verdict::Ok);

        // New York on the fall-back day (25 hours): 00:30 EDT and 23:59:59 EST are one local
        // day, and 18:00 and 23:59:59 are on two UTC days.
        let ny = new_york();
        let s = Scan { tz: ny, ..scan() }
            .claims(season)
            .list(daily)
            .at(at(ny, 2026, 11, 1, 23, 59, 59))
            .history(vec![entry(at(ny, 2026, 11, 1, 18, 0, 0), "North")]);
        assert_ne!(s.at.date_naive(), s.history[0].at.date_naive());
        assert_eq!(s.verdict(), Verdict::Rules);
        let early = s
            .clone()
            .history(vec![entry(at(ny, 2026, 11, 1, 0, 30, 0), "North")]);
        assert_eq!(early.verdict(), Verdict::Rules);
        // One second later it is a new day in New York.
        assert_eq!(
            s.clone().at(at(ny, 2026, 11, 2, 0, 0, 0)).verdict(),
            Verdict::Ok
        );
        // Two entries a day allowed: the third that day is refused, history order irrelevant.
        let s = s
            .list(|sp| {
                daily(sp);
                sp.max_entries_per_day = Some(2);
            })
            .history(vec![
                entry(at(ny, 2026, 11, 1, 22, 0, 0), "North"),
                entry(at(ny, 2026, 10, 31, 22, 0, 0), "North"),
                entry(at(ny, 2026, 11, 1, 9, 0, 0), "North"),
            ]);
        assert_eq!(s.verdict(), Verdict::Rules);
    }

    #[test]
    fn rules_explain_themselves_in_the_events_zone() {
        let d = scan()
            .list(|s| s.admission_opens = Some(may(18, 30)))
            .at(may(18, 0))
            .decide();
        assert_eq!(d.verdict, Verdict::Rules);
        assert_eq!(d.explanation, "only allowed from 18:30");
        let d = scan()
            .list(|s| s.admission_opens = Some(at(berlin(), 2026, 5, 2, 18, 30, 0)))
            .decide();
        assert_eq!(d.explanation, "only allowed from 2026-05-02 18:30");
        let d = scan()
            .list(|s| s.admission_closes = Some(may(18, 45)))
            .decide();
        assert_eq!(d.explanation, "admission closed at 18:45");
        let d = scan()
            .list(|s| s.gates = vec!["South".into(), "East".into()])
            .decide();
        assert_eq!(d.explanation, "not allowed at gate North; use South, East");
        let d = scan()
            .list(|s| {
                s.allow_multi_entry = true;
                s.max_entries_total = Some(1);
            })
            .history(vec![entry(may(18, 0), "North")])
            .decide();
        assert!(
            d.explanation.contains("at most 1 entries"),
            "{}",
            d.explanation
        );
        let d = scan().at(may(17, 0)).decide();
        assert_eq!(d.explanation, "ticket is valid only from 18:00");
        let d = scan().at(at(berlin(), 2026, 5, 2, 5, 0, 0)).decide();
        assert_eq!(d.explanation, "ticket was valid only until 04:00");
        let d = Scan {
            secret: Err(SecretError::BadSignature),
            ..scan()
        }
        .decide();
        assert!(d.explanation.contains("forged"), "{}", d.explanation);
    }

    #[test]
    fn lists_are_validated_field_by_field() {
        let err = |f: fn(&mut CheckinListSpec)| {
            let mut s = spec();
            f(&mut s);
            CheckinList::create(EVENT, s, may(9, 0))
                .unwrap_err()
                .field()
                .to_string()
        };
        assert_eq!(err(|s| s.name = "  ".into()), "name");
        assert_eq!(
            err(|s| s.admitted = AdmittedTypes::Only(vec![])),
            "ticket_type_ids"
        );
        assert_eq!(
            err(|s| s.admitted = AdmittedTypes::Only(vec![ADULT, CHILD, ADULT])),
            "ticket_type_ids[2]"
        );
        assert_eq!(
            err(|s| {
                s.admission_opens = Some(may(19, 0));
                s.admission_closes = Some(may(19, 0));
            }),
            "admission_closes"
        );
        assert_eq!(err(|s| s.max_entries_total = Some(0)), "max_entries_total");
        assert_eq!(
            err(|s| s.max_entries_per_day = Some(0)),
            "max_entries_per_day"
        );
        assert_eq!(
            err(|s| s.gates = vec!["North".into(), "".into()]),
            "gates[1]"
        );
        assert_eq!(
            err(|s| s.gates = vec!["North".into(), " NORTH".into()]),
            "gates[1]"
        );
        assert_eq!(
            err(|s| s.gates = (0..=MAX_GATES).map(|i| format!("G{i}")).collect()),
            "gates"
        );

        let l = list(|s| s.gates = vec![" North ".into()]);
        assert_eq!(l.gates[0].as_str(), "North");
        assert_eq!(l.event_id, EVENT);
        let mut sp = l.spec();
        sp.name = "Side door".into();
        let u = l.updated(sp, may(10, 0)).unwrap();
        assert_eq!(
            (u.id, u.meta.version, u.name.as_str()),
            (l.id, 2, "Side door")
        );
    }

    #[test]
    fn codes_round_trip() {
        for v in Verdict::ALL {
            assert_eq!(Verdict::parse("verdict", v.as_str()).unwrap(), *v);
            assert_eq!(
                serde_json::to_string(v).unwrap(),
                format!("\"{}\"", v.as_str())
            );
        }
        assert!(Verdict::parse("verdict", "maybe").is_err());
        for d in Direction::ALL {
            assert_eq!(Direction::parse("direction", d.as_str()).unwrap(), *d);
        }
        assert_eq!(
            Direction::parse("direction", "in").unwrap_err().field(),
            "direction"
        );
        let l = list(|_| {});
        let json = serde_json::to_string(&l).unwrap();
        assert_eq!(serde_json::from_str::<CheckinList>(&json).unwrap(), l);
    }
}

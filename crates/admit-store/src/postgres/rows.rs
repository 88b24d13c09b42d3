//! Rows to domain values and back. Stored text was validated on the way in, so it is parsed
//! with the domain parsers again; a value that no longer parses is reported as a corrupt row
//! rather than trusted or panicked on.

use std::fmt::Display;

use chrono::{DateTime, Utc};
use sqlx::postgres::PgRow;
use sqlx::types::Json;
use sqlx::Row;
use uuid::Uuid;

use admit_core::audit::{AuditEntry, OutboxEntry};
use admit_core::checkin::{
    AdmittedTypes, CheckinList, CheckinListSpec, Direction, PriorScan, TicketState, Verdict,
};
use admit_core::commerce::{
    Coupon, CouponCode, CouponKind, MailKind, MailMessage, MailStatus, Shift, WaitlistEntry,
    WaitlistStatus,
};
use admit_core::model::*;
use admit_core::order_code::OrderCode;
use admit_core::role::Role;
use admit_core::secret::{KeyId, PublicKey, SecretFingerprint};
use admit_core::text::{Description, Email, Name, Username};
use admit_core::time::TimeZone;
use admit_core::*;

use crate::{
    AttendeeRow, Block, Credentials, DoorBucket, EventKey, IssuedSecret, Refund, RevenueRow,
    Revocation, SalesBucket, ScanRecord, ShiftRow, StoreError, StoreResult, TicketView,
};

pub(super) fn corrupt(what: impl Display) -> StoreError {
    StoreError::Other(format!("corrupt row: {what}"))
}

fn dom<T>(r: Result<T, DomainError>) -> StoreResult<T> {
    r.map_err(corrupt)
}

/// A domain count as an `integer` column. Counts above `i32::MAX` cannot be stored; saying so
/// beats wrapping into a negative number.
pub(super) fn int4(field: &str, v: u32) -> StoreResult<i32> {
    i32::try_from(v).map_err(|_| StoreError::Other(format!("{field} {v} is too large to store")))
}

fn count(row: &PgRow, col: &str) -> StoreResult<u32> {
    let v: i32 = row.try_get(col)?;
    u32::try_from(v).map_err(|_| corrupt(format!("{col} is negative ({v})")))
}

fn name(row: &PgRow, col: &str) -> StoreResult<Name> {
    dom(Name::parse(col, row.try_get(col)?))
}

fn opt_name(row: &PgRow, col: &str) -> StoreResult<Option<Name>> {
    row.try_get::<Option<&str>, _>(col)?
        .map(|s| dom(Name::parse(col, s)))
        .transpose()
}

fn money(row: &PgRow, minor: &str) -> StoreResult<Money> {
    let currency = dom(Currency::parse("currency", row.try_get("currency")?))?;
    Ok(Money {
        minor: row.try_get(minor)?,
        currency,
    })
}

fn meta(row: &PgRow) -> StoreResult<Meta> {
    Ok(Meta {
        created_at: row.try_get("created_at")?,
        updated_at: row.try_get("updated_at")?,
        version: row.try_get("version")?,
    })
}

pub(super) fn user(row: &PgRow) -> StoreResult<User> {
    Ok(User {
        id: UserId(row.try_get("id")?),
        username: dom(Username::parse("username", row.try_get("username")?))?,
        display_name: name(row, "display_name")?,
        role: dom(Role::parse("role", row.try_get("role")?))?,
        active: row.try_get("active")?,
        meta: meta(row)?,
    })
}

pub(super) fn credentials(row: &PgRow) -> StoreResult<Credentials> {
    Ok(Credentials {
        user: user(row)?,
        password_hash: row.try_get("password_hash")?,
        failed_logins: count(row, "failed_logins")?,
        locked_until: row.try_get("locked_until")?,
    })
}

pub(super) fn category(row: &PgRow) -> StoreResult<Category> {
    Ok(Category {
        id: CategoryId(row.try_get("id")?),
        parent_id: row.try_get::<Option<Uuid>, _>("parent_id")?.map(CategoryId),
        name: name(row, "name")?,
        meta: meta(row)?,
    })
}

pub(super) fn event(row: &PgRow) -> StoreResult<Event> {
    Ok(Event {
        id: EventId(row.try_get("id")?),
        name: name(row, "name")?,
        description: dom(Description::parse(
            "description",
            row.try_get("description")?,
        ))?,
        venue: name(row, "venue")?,
        starts_at: row.try_get("starts_at")?,
        ends_at: row.try_get("ends_at")?,
        time_zone: dom(TimeZone::parse("time_zone", row.try_get("time_zone")?))?,
        status: dom(EventStatus::parse("status", row.try_get("status")?))?,
        category_id: row
            .try_get::<Option<Uuid>, _>("category_id")?
            .map(CategoryId),
        meta: meta(row)?,
    })
}

pub(super) fn ticket_type(row: &PgRow) -> StoreResult<TicketType> {
    Ok(TicketType {
        id: TicketTypeId(row.try_get("id")?),
        event_id: EventId(row.try_get("event_id")?),
        name: name(row, "name")?,
        price: money(row, "price_minor")?,
        sales_start: row.try_get("sales_start")?,
        sales_end: row.try_get("sales_end")?,
        min_per_order: count(row, "min_per_order")?,
        max_per_order: count(row, "max_per_order")?,
        active: row.try_get("active")?,
        sort_order: row.try_get("sort_order")?,
        meta: meta(row)?,
    })
}

pub(super) fn quota_usage(row: &PgRow) -> StoreResult<QuotaUsage> {
    let type_ids: Vec<Uuid> = row.try_get("ticket_type_ids")?;
    Ok(QuotaUsage {
        quota: Quota {
            id: QuotaId(row.try_get("id")?),
            event_id: EventId(row.try_get("event_id")?),
            name: name(row, "name")?,
            size: count(row, "size")?,
            ticket_type_ids: type_ids.into_iter().map(TicketTypeId).collect(),
            meta: meta(row)?,
        },
        taken: count(row, "taken")?,
    })
}

pub(super) fn line(row: &PgRow) -> StoreResult<Line> {
    Ok(Line {
        ticket_type_id: TicketTypeId(row.try_get("ticket_type_id")?),
        quantity: count(row, "quantity")?,
    })
}

pub(super) fn hold(row: &PgRow, lines: Vec<Line>) -> StoreResult<Hold> {
    Ok(Hold {
        id: HoldId(row.try_get("id")?),
        event_id: EventId(row.try_get("event_id")?),
        lines,
        status: dom(HoldStatus::parse("status", row.try_get("status")?))?,
        expires_at: row.try_get("expires_at")?,
        created_by: UserId(row.try_get("created_by")?),
        device_id: row.try_get::<Option<Uuid>, _>("device_id")?.map(DeviceId),
        meta: meta(row)?,
    })
}

pub(super) fn order(row: &PgRow) -> StoreResult<Order> {
    Ok(Order {
        id: OrderId(row.try_get("id")?),
        code: dom(OrderCode::parse("code", row.try_get("code")?))?,
        event_id: EventId(row.try_get("event_id")?),
        buyer_name: opt_name(row, "buyer_name")?,
        buyer_email: row
            .try_get::<Option<&str>, _>("buyer_email")?
            .map(|s| dom(Email::parse("buyer_email", s)))
            .transpose()?,
        channel: dom(Channel::parse("channel", row.try_get("channel")?))?,
        payment_method: dom(PaymentMethod::parse(
            "payment_method",
            row.try_get("payment_method")?,
        ))?,
        status: dom(OrderStatus::parse("status", row.try_get("status")?))?,
        total: money(row, "total_minor")?,
        created_by: UserId(row.try_get("created_by")?),
        device_id: row.try_get::<Option<Uuid>, _>("device_id")?.map(DeviceId),
        coupon_id: row.try_get::<Option<Uuid>, _>("coupon_id")?.map(CouponId),
        discount_minor: row.try_get("discount_minor")?,
        payment: Payment {
            due: row.try_get("payment_due")?,
            paid_at: row.try_get("paid_at")?,
            paid_by: row.try_get::<Option<Uuid>, _>("paid_by")?.map(UserId),
            paid_device: row.try_get::<Option<Uuid>, _>("paid_device")?.map(DeviceId),
            tendered_minor: row.try_get("tendered_minor")?,
            note: row.try_get("payment_note")?,
        },
        meta: meta(row)?,
    })
}

pub(super) fn ticket(row: &PgRow) -> StoreResult<Ticket> {
    Ok(Ticket {
        id: TicketId(row.try_get("id")?),
        order_id: OrderId(row.try_get("order_id")?),
        event_id: EventId(row.try_get("event_id")?),
        ticket_type_id: TicketTypeId(row.try_get("ticket_type_id")?),
        price: money(row, "price_minor")?,
        attendee_name: opt_name(row, "attendee_name")?,
        status: dom(TicketStatus::parse("status", row.try_get("status")?))?,
        meta: meta(row)?,
    })
}

pub(super) fn audit_entry(row: &PgRow) -> StoreResult<AuditEntry> {
    Ok(AuditEntry {
        id: AuditId(row.try_get("id")?),
        at: row.try_get("at")?,
        user_id: row.try_get::<Option<Uuid>, _>("user_id")?.map(UserId),
        device_id: row.try_get::<Option<Uuid>, _>("device_id")?.map(DeviceId),
        action: row.try_get("action")?,
        entity: row.try_get("entity")?,
        entity_id: row.try_get("entity_id")?,
        detail: row.try_get("detail")?,
    })
}

pub(super) fn outbox_entry(row: &PgRow) -> StoreResult<(i64, OutboxEntry)> {
    Ok((
        row.try_get("seq")?,
        OutboxEntry {
            id: row.try_get("id")?,
            at: row.try_get("at")?,
            entity: row.try_get("entity")?,
            entity_id: row.try_get("entity_id")?,
            version: row.try_get("version")?,
            payload: row.try_get("payload")?,
        },
    ))
}

// ---- the door

fn key_id(row: &PgRow, col: &str) -> StoreResult<KeyId> {
    let v: i32 = row.try_get(col)?;
    u16::try_from(v)
        .map(KeyId)
        .map_err(|_| corrupt(format!("{col} is out of range ({v})")))
}

fn fingerprint(row: &PgRow, col: &str) -> StoreResult<SecretFingerprint> {
    let bytes: &[u8] = row.try_get(col)?;
    <[u8; 16]>::try_from(bytes)
        .map(SecretFingerprint)
        .map_err(|_| corrupt(format!("{col} is not 16 bytes")))
}

fn opt_count(row: &PgRow, col: &str) -> StoreResult<Option<u32>> {
    row.try_get::<Option<i32>, _>(col)?
        .map(|v| u32::try_from(v).map_err(|_| corrupt(format!("{col} is negative ({v})"))))
        .transpose()
}

pub(super) fn event_key(row: &PgRow) -> StoreResult<EventKey> {
    let bytes: &[u8] = row.try_get("public_key")?;
    Ok(EventKey {
        event_id: EventId(row.try_get("event_id")?),
        key_id: key_id(row, "key_id")?,
        public_key: dom(PublicKey::from_bytes("public_key", bytes))?,
        retired: row.try_get("retired")?,
        meta: meta(row)?,
    })
}

pub(super) fn signing_key(row: &PgRow) -> StoreResult<(KeyId, [u8; 32])> {
    let bytes: &[u8] = row.try_get("secret_key")?;
    let secret = <[u8; 32]>::try_from(bytes).map_err(|_| corrupt("secret_key is not 32 bytes"))?;
    Ok((key_id(row, "key_id")?, secret))
}

pub(super) fn issued_secret(row: &PgRow) -> StoreResult<IssuedSecret> {
    Ok(IssuedSecret {
        ticket_id: TicketId(row.try_get("ticket_id")?),
        event_id: EventId(row.try_get("event_id")?),
        secret: row.try_get("secret")?,
        fingerprint: fingerprint(row, "fingerprint")?,
        key_id: key_id(row, "key_id")?,
        issued_at: row.try_get("issued_at")?,
    })
}

pub(super) fn revocation(row: &PgRow) -> StoreResult<Revocation> {
    Ok(Revocation {
        event_id: EventId(row.try_get("event_id")?),
        fingerprint: fingerprint(row, "fingerprint")?,
        ticket_id: TicketId(row.try_get("ticket_id")?),
        reason: row.try_get("reason")?,
        at: row.try_get("at")?,
    })
}

pub(super) fn block(row: &PgRow) -> StoreResult<Block> {
    Ok(Block {
        event_id: EventId(row.try_get("event_id")?),
        ticket_id: TicketId(row.try_get("ticket_id")?),
        reason: row.try_get("reason")?,
        at: row.try_get("at")?,
    })
}

/// Read back through [`CheckinList::new`], so a row that no longer passes the list rules is
/// reported rather than handed to the door.
pub(super) fn checkin_list(row: &PgRow) -> StoreResult<CheckinList> {
    let Json(admitted) = row.try_get::<Json<AdmittedTypes>, _>("admitted")?;
    let Json(gates) = row.try_get::<Json<Vec<String>>, _>("gates")?;
    let spec = CheckinListSpec {
        name: row.try_get("name")?,
        admitted,
        admit_pending: row.try_get("admit_pending")?,
        allow_multi_entry: row.try_get("allow_multi_entry")?,
        allow_entry_after_exit: row.try_get("allow_entry_after_exit")?,
        admission_opens: row.try_get("admission_opens")?,
        admission_closes: row.try_get("admission_closes")?,
        max_entries_total: opt_count(row, "max_entries_total")?,
        max_entries_per_day: opt_count(row, "max_entries_per_day")?,
        gates,
    };
    dom(CheckinList::new(
        CheckinListId(row.try_get("id")?),
        EventId(row.try_get("event_id")?),
        spec,
        meta(row)?,
    ))
}

/// The ticket's row as the door sees it; `None` when the outer join found no ticket.
pub(super) fn ticket_view(row: &PgRow) -> StoreResult<Option<TicketView>> {
    let Some(ticket_type_id) = row.try_get::<Option<Uuid>, _>("ticket_type_id")? else {
        return Ok(None);
    };
    Ok(Some(TicketView {
        state: TicketState {
            ticket_type_id: TicketTypeId(ticket_type_id),
            ticket_status: dom(TicketStatus::parse(
                "ticket_status",
                row.try_get("ticket_status")?,
            ))?,
            order_status: dom(OrderStatus::parse(
                "order_status",
                row.try_get("order_status")?,
            ))?,
        },
        attendee_name: row.try_get("attendee_name")?,
        ticket_type_name: row.try_get("ticket_type_name")?,
        order_code: row.try_get("order_code")?,
    }))
}

/// The history arrives as three parallel arrays (one row per context read, not one per scan).
pub(super) fn history(row: &PgRow) -> StoreResult<Vec<PriorScan>> {
    let ats: Vec<DateTime<Utc>> = row.try_get("history_at")?;
    let directions: Vec<String> = row.try_get("history_direction")?;
    let gates: Vec<Option<String>> = row.try_get("history_gate")?;
    if ats.len() != directions.len() || ats.len() != gates.len() {
        return Err(corrupt("scan history arrays differ in length"));
    }
    ats.into_iter()
        .zip(directions)
        .zip(gates)
        .map(|((at, direction), gate)| {
            Ok(PriorScan {
                at,
                direction: dom(Direction::parse("direction", &direction))?,
                gate,
            })
        })
        .collect()
}

pub(super) fn scan_record(row: &PgRow) -> StoreResult<ScanRecord> {
    Ok(ScanRecord {
        id: ScanId(row.try_get("id")?),
        nonce: row.try_get("nonce")?,
        list_id: CheckinListId(row.try_get("list_id")?),
        ticket_id: row.try_get::<Option<Uuid>, _>("ticket_id")?.map(TicketId),
        direction: dom(Direction::parse("direction", row.try_get("direction")?))?,
        device_id: row.try_get::<Option<Uuid>, _>("device_id")?.map(DeviceId),
        gate: row.try_get("gate")?,
        at: row.try_get("at")?,
        verdict: dom(Verdict::parse("verdict", row.try_get("verdict")?))?,
        counted: row.try_get("counted")?,
        forced: row.try_get("forced")?,
        raw: row.try_get("raw")?,
    })
}

// ---- reports

pub(super) fn refund(row: &PgRow) -> StoreResult<Refund> {
    Ok(Refund {
        id: RefundId(row.try_get("id")?),
        order_id: OrderId(row.try_get("order_id")?),
        event_id: EventId(row.try_get("event_id")?),
        ticket_id: row.try_get::<Option<Uuid>, _>("ticket_id")?.map(TicketId),
        amount: money(row, "amount_minor")?,
        method: dom(PaymentMethod::parse("method", row.try_get("method")?))?,
        created_by: UserId(row.try_get("created_by")?),
        device_id: row.try_get::<Option<Uuid>, _>("device_id")?.map(DeviceId),
        at: row.try_get("created_at")?,
    })
}

/// A non-negative `bigint` count or sum of counts.
pub(super) fn tally(row: &PgRow, col: &str) -> StoreResult<u64> {
    let v: i64 = row.try_get(col)?;
    u64::try_from(v).map_err(|_| corrupt(format!("{col} is negative ({v})")))
}

pub(super) fn sales_bucket(row: &PgRow) -> StoreResult<SalesBucket> {
    Ok(SalesBucket {
        start: row.try_get("start")?,
        ticket_type_id: TicketTypeId(row.try_get("ticket_type_id")?),
        tickets: tally(row, "tickets")?,
    })
}

pub(super) fn revenue_row(row: &PgRow) -> StoreResult<RevenueRow> {
    Ok(RevenueRow {
        ticket_type_id: row
            .try_get::<Option<Uuid>, _>("ticket_type_id")?
            .map(TicketTypeId),
        channel: dom(Channel::parse("channel", row.try_get("channel")?))?,
        payment_method: dom(PaymentMethod::parse(
            "payment_method",
            row.try_get("payment_method")?,
        ))?,
        currency: row.try_get("currency")?,
        tickets: tally(row, "tickets")?,
        gross_minor: row.try_get("gross")?,
        refunds: tally(row, "refunds")?,
        refunded_minor: row.try_get("refunded")?,
    })
}

pub(super) fn door_bucket(row: &PgRow) -> StoreResult<DoorBucket> {
    Ok(DoorBucket {
        start: row.try_get("start")?,
        gate: row.try_get("gate")?,
        entries: tally(row, "entries")?,
        exits: tally(row, "exits")?,
    })
}

pub(super) fn shift_row(row: &PgRow) -> StoreResult<ShiftRow> {
    Ok(ShiftRow {
        user_id: UserId(row.try_get("user_id")?),
        device_id: row.try_get::<Option<Uuid>, _>("device_id")?.map(DeviceId),
        method: dom(PaymentMethod::parse("method", row.try_get("method")?))?,
        currency: row.try_get("currency")?,
        orders: tally(row, "orders")?,
        tickets: tally(row, "tickets")?,
        sales_minor: row.try_get("sales")?,
        refunds: tally(row, "refunds")?,
        refunded_minor: row.try_get("refunded")?,
    })
}

pub(super) fn attendee(row: &PgRow) -> StoreResult<AttendeeRow> {
    Ok(AttendeeRow {
        ticket: ticket(row)?,
        ticket_type_name: row.try_get("ticket_type_name")?,
        order_code: row.try_get("code")?,
        buyer_name: row.try_get("buyer_name")?,
        buyer_email: row.try_get("buyer_email")?,
        order_status: dom(OrderStatus::parse(
            "order_status",
            row.try_get("order_status")?,
        ))?,
        first_entry_at: row.try_get("first_entry_at")?,
    })
}

// ---- commerce

/// A count kept in a `bigint` column (the commerce tables use `bigint` throughout).
fn big_count(row: &PgRow, col: &str) -> StoreResult<u32> {
    let v: i64 = row.try_get(col)?;
    u32::try_from(v).map_err(|_| corrupt(format!("{col} is out of range ({v})")))
}

fn email(row: &PgRow, col: &str) -> StoreResult<Email> {
    dom(Email::parse(col, row.try_get(col)?))
}

fn opt_email(row: &PgRow, col: &str) -> StoreResult<Option<Email>> {
    row.try_get::<Option<&str>, _>(col)?
        .map(|s| dom(Email::parse(col, s)))
        .transpose()
}

/// A coupon row with its ticket types aggregated into a `ticket_type_ids` uuid[] column.
pub(super) fn coupon(row: &PgRow) -> StoreResult<Coupon> {
    let type_ids: Vec<Uuid> = row.try_get("ticket_type_ids")?;
    let max_uses = row
        .try_get::<Option<i64>, _>("max_uses")?
        .map(|v| u32::try_from(v).map_err(|_| corrupt(format!("max_uses is out of range ({v})"))))
        .transpose()?;
    Ok(Coupon {
        id: CouponId(row.try_get("id")?),
        event_id: EventId(row.try_get("event_id")?),
        code: dom(CouponCode::parse("code", row.try_get("code")?))?,
        kind: dom(CouponKind::parse("kind", row.try_get("kind")?))?,
        value: row.try_get("value")?,
        currency: dom(Currency::parse("currency", row.try_get("currency")?))?,
        ticket_type_ids: type_ids.into_iter().map(TicketTypeId).collect(),
        valid_from: row.try_get("valid_from")?,
        valid_until: row.try_get("valid_until")?,
        min_order_minor: row.try_get("min_order_minor")?,
        max_uses,
        used: big_count(row, "used")?,
        active: row.try_get("active")?,
        meta: meta(row)?,
    })
}

pub(super) fn waitlist_entry(row: &PgRow) -> StoreResult<WaitlistEntry> {
    Ok(WaitlistEntry {
        id: WaitlistId(row.try_get("id")?),
        event_id: EventId(row.try_get("event_id")?),
        ticket_type_id: TicketTypeId(row.try_get("ticket_type_id")?),
        name: name(row, "name")?,
        email: opt_email(row, "email")?,
        phone: opt_name(row, "phone")?,
        quantity: big_count(row, "quantity")?,
        status: dom(WaitlistStatus::parse("status", row.try_get("status")?))?,
        hold_id: row.try_get::<Option<Uuid>, _>("hold_id")?.map(HoldId),
        offer_expires_at: row.try_get("offer_expires_at")?,
        order_id: row.try_get::<Option<Uuid>, _>("order_id")?.map(OrderId),
        created_by: UserId(row.try_get("created_by")?),
        meta: meta(row)?,
    })
}

pub(super) fn shift(row: &PgRow) -> StoreResult<Shift> {
    Ok(Shift {
        id: ShiftId(row.try_get("id")?),
        user_id: UserId(row.try_get("user_id")?),
        device_id: row.try_get::<Option<Uuid>, _>("device_id")?.map(DeviceId),
        currency: dom(Currency::parse("currency", row.try_get("currency")?))?,
        opened_at: row.try_get("opened_at")?,
        float_minor: row.try_get("float_minor")?,
        closed_at: row.try_get("closed_at")?,
        expected_minor: row.try_get("expected_minor")?,
        counted_minor: row.try_get("counted_minor")?,
        difference_minor: row.try_get("difference_minor")?,
        note: row.try_get("note")?,
        meta: meta(row)?,
    })
}

pub(super) fn mail_message(row: &PgRow) -> StoreResult<MailMessage> {
    Ok(MailMessage {
        id: MailId(row.try_get("id")?),
        kind: dom(MailKind::parse("kind", row.try_get("kind")?))?,
        order_id: row.try_get::<Option<Uuid>, _>("order_id")?.map(OrderId),
        waitlist_id: row
            .try_get::<Option<Uuid>, _>("waitlist_id")?
            .map(WaitlistId),
        to: email(row, "to_address")?,
        status: dom(MailStatus::parse("status", row.try_get("status")?))?,
        attempts: big_count(row, "attempts")?,
        next_attempt_at: row.try_get("next_attempt_at")?,
        last_error: row.try_get("last_error")?,
        sent_at: row.try_get("sent_at")?,
        meta: meta(row)?,
    })
}

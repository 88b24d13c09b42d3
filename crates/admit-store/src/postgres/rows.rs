//! Rows to domain values and back. Stored text was validated on the way in, so it is parsed
//! with the domain parsers again; a value that no longer parses is reported as a corrupt row
//! rather than trusted or panicked on.

use std::fmt::Display;

use sqlx::postgres::PgRow;
use sqlx::Row;
use uuid::Uuid;

use admit_core::audit::{AuditEntry, OutboxEntry};
use admit_core::model::*;
use admit_core::order_code::OrderCode;
use admit_core::role::Role;
use admit_core::text::{Description, Email, Name, Username};
use admit_core::time::TimeZone;
use admit_core::*;

use crate::{Credentials, StoreError, StoreResult};

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

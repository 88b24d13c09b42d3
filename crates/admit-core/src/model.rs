//! The records of the box office. Every synced record carries created/updated times and a
//! version that grows by one on each change.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::error::DomainError;
use crate::id::*;
use crate::money::Money;
use crate::order_code::OrderCode;
use crate::role::Role;
use crate::text::{Description, Email, Name, Username};
use crate::time::TimeZone;

/// A string-backed enum: stored and sent as its snake_case name.
macro_rules! str_enum {
    ($(#[$doc:meta])* $name:ident { $($variant:ident = $s:literal),* $(,)? }) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
        #[serde(rename_all = "snake_case")]
        #[cfg_attr(feature = "ts", derive(ts_rs::TS))]
        #[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
        pub enum $name { $($variant),* }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),*];
            pub fn as_str(&self) -> &'static str {
                match self { $($name::$variant => $s),* }
            }
            pub fn parse(field: &str, s: &str) -> Result<Self, DomainError> {
                match s.trim() {
                    $($s => Ok($name::$variant),)*
                    _ => Err(DomainError::invalid(
                        field,
                        format!("must be one of {}", [$($s),*].join(", ")),
                    )),
                }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

str_enum!(EventStatus { Draft = "draft", Published = "published", Cancelled = "cancelled", Archived = "archived" });
str_enum!(OrderStatus { Pending = "pending", Paid = "paid", Cancelled = "cancelled", Refunded = "refunded", Expired = "expired" });
str_enum!(Channel { BoxOffice = "box_office", Kiosk = "kiosk", Online = "online" });
str_enum!(PaymentMethod { Cash = "cash", Card = "card", Comp = "comp" });
str_enum!(
    /// A ticket is live until it is cancelled (alone or with its order).
    TicketStatus { Valid = "valid", Cancelled = "cancelled" }
);
str_enum!(HoldStatus { Active = "active", Consumed = "consumed", Released = "released", Expired = "expired" });

impl OrderStatus {
    /// Paid and pending orders hold stock; the rest have given it back.
    pub fn is_live(&self) -> bool {
        matches!(self, OrderStatus::Paid | OrderStatus::Pending)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Meta {
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// Starts at 1 and grows by one on every change; stale edits are refused by it.
    pub version: i64,
}

impl Meta {
    pub fn new(now: DateTime<Utc>) -> Self {
        Meta {
            created_at: now,
            updated_at: now,
            version: 1,
        }
    }
    pub fn touched(&self, now: DateTime<Utc>) -> Self {
        Meta {
            created_at: self.created_at,
            updated_at: now.max(self.updated_at),
            version: self.version + 1,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct User {
    pub id: UserId,
    pub username: Username,
    pub display_name: Name,
    pub role: Role,
    pub active: bool,
    pub meta: Meta,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Category {
    pub id: CategoryId,
    pub parent_id: Option<CategoryId>,
    pub name: Name,
    pub meta: Meta,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Event {
    pub id: EventId,
    pub name: Name,
    pub description: Description,
    pub venue: Name,
    pub starts_at: DateTime<Utc>,
    pub ends_at: DateTime<Utc>,
    pub time_zone: TimeZone,
    pub status: EventStatus,
    pub category_id: Option<CategoryId>,
    pub meta: Meta,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TicketType {
    pub id: TicketTypeId,
    pub event_id: EventId,
    pub name: Name,
    pub price: Money,
    pub sales_start: Option<DateTime<Utc>>,
    pub sales_end: Option<DateTime<Utc>>,
    pub min_per_order: u32,
    pub max_per_order: u32,
    pub active: bool,
    pub sort_order: i32,
    pub meta: Meta,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Quota {
    pub id: QuotaId,
    pub event_id: EventId,
    pub name: Name,
    pub size: u32,
    pub ticket_type_ids: Vec<TicketTypeId>,
    pub meta: Meta,
}

/// A quota with how much of it is taken right now (paid, pending and unexpired holds).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct QuotaUsage {
    pub quota: Quota,
    pub taken: u32,
}

impl QuotaUsage {
    pub fn available(&self) -> u32 {
        self.quota.size.saturating_sub(self.taken)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Line {
    pub ticket_type_id: TicketTypeId,
    pub quantity: u32,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Hold {
    pub id: HoldId,
    pub event_id: EventId,
    pub lines: Vec<Line>,
    pub status: HoldStatus,
    pub expires_at: DateTime<Utc>,
    pub created_by: UserId,
    pub device_id: Option<DeviceId>,
    pub meta: Meta,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Order {
    pub id: OrderId,
    pub code: OrderCode,
    pub event_id: EventId,
    pub buyer_name: Option<Name>,
    pub buyer_email: Option<Email>,
    pub channel: Channel,
    pub payment_method: PaymentMethod,
    pub status: OrderStatus,
    /// Sum of the live tickets' prices, computed on our side.
    pub total: Money,
    pub created_by: UserId,
    pub device_id: Option<DeviceId>,
    /// The coupon the order used, if any.
    pub coupon_id: Option<CouponId>,
    /// What the coupon took off the list prices, in minor units of the total's currency.
    pub discount_minor: i64,
    pub payment: Payment,
    pub meta: Meta,
}

/// How and when an order's money was taken, or is due.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Payment {
    /// Pay-later orders: the deadline after which the order expires and its units go back.
    pub due: Option<DateTime<Utc>>,
    /// When the money was taken (`None` while pending).
    pub paid_at: Option<DateTime<Utc>>,
    /// The cashier who took it, and where: their drawer holds the cash.
    pub paid_by: Option<UserId>,
    pub paid_device: Option<DeviceId>,
    /// Cash handed over, in minor units; the change given was this minus the total.
    pub tendered_minor: Option<i64>,
    /// The card terminal's reference, or why the tickets were given for free.
    pub note: Option<String>,
}

impl Payment {
    /// Money taken at `at` by `by`. The time is kept to the microsecond, as stores keep it,
    /// so the payment handed back is the one stored.
    pub fn taken(at: DateTime<Utc>, by: UserId, device: Option<DeviceId>) -> Self {
        use chrono::SubsecRound;
        Payment {
            due: None,
            paid_at: Some(at.trunc_subsecs(6)),
            paid_by: Some(by),
            paid_device: device,
            tendered_minor: None,
            note: None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Ticket {
    pub id: TicketId,
    pub order_id: OrderId,
    pub event_id: EventId,
    pub ticket_type_id: TicketTypeId,
    pub price: Money,
    pub attendee_name: Option<Name>,
    pub status: TicketStatus,
    pub meta: Meta,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct OrderWithTickets {
    pub order: Order,
    pub tickets: Vec<Ticket>,
}

/// What a device knows about itself when it writes: who acts and from where.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Actor {
    pub user_id: UserId,
    pub role: Role,
    pub device_id: Option<DeviceId>,
}

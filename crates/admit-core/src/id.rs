//! Typed UUIDv7 ids. They are created where the record is made (device or server) so that
//! uploads are idempotent; the time part comes from the caller's `now`.

use chrono::{DateTime, Utc};
use rand::RngCore;
use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;
use uuid::Uuid;

use crate::error::DomainError;

/// A new UUIDv7 whose timestamp is `now` and whose remaining bits are random.
pub fn uuid_v7_at(now: DateTime<Utc>) -> Uuid {
    let mut random = [0u8; 10];
    rand::thread_rng().fill_bytes(&mut random);
    let millis = now.timestamp_millis().max(0) as u64;
    uuid::Builder::from_unix_timestamp_millis(millis, &random).into_uuid()
}

macro_rules! typed_id {
    ($($name:ident),* $(,)?) => {$(
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(transparent)]
        #[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(type = "string"))]
        #[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
        pub struct $name(pub Uuid);

        impl $name {
            pub fn new(now: DateTime<Utc>) -> Self {
                Self(uuid_v7_at(now))
            }
            pub fn as_uuid(&self) -> Uuid {
                self.0
            }
            /// Parse an id given by a user or a peer; `field` names the input in the error.
            pub fn parse(field: &str, s: &str) -> Result<Self, DomainError> {
                Uuid::parse_str(s.trim())
                    .map(Self)
                    .map_err(|_| DomainError::invalid(field, "is not a valid id"))
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.fmt(f)
            }
        }

        impl FromStr for $name {
            type Err = DomainError;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Self::parse(stringify!($name), s)
            }
        }

        impl From<Uuid> for $name {
            fn from(u: Uuid) -> Self {
                Self(u)
            }
        }
    )*};
}

typed_id!(
    UserId,
    DeviceId,
    EventId,
    CategoryId,
    TicketTypeId,
    QuotaId,
    HoldId,
    OrderId,
    TicketId,
    AuditId,
    CheckinListId,
    ScanId,
    RefundId,
    CouponId,
    WaitlistId,
    ShiftId,
    MailId,
);

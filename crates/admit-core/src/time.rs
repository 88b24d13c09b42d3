//! Time zones and time ranges. Timestamps are UTC; an event's IANA zone is for display and for
//! deciding what "today" means at the door.

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};
use std::fmt;

use crate::error::DomainError;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(type = "string"))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(value_type = String, example = "Europe/Berlin"))]
pub struct TimeZone(pub Tz);

impl TimeZone {
    pub fn parse(field: &str, s: &str) -> Result<Self, DomainError> {
        s.trim().parse::<Tz>().map(TimeZone).map_err(|_| {
            DomainError::invalid(field, "is not an IANA time zone such as Europe/Berlin")
        })
    }
    pub fn name(&self) -> &'static str {
        self.0.name()
    }
}

impl fmt::Display for TimeZone {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0.name())
    }
}

/// Parse an RFC 3339 timestamp given by a user or a peer.
pub fn parse_timestamp(field: &str, s: &str) -> Result<DateTime<Utc>, DomainError> {
    DateTime::parse_from_rfc3339(s.trim())
        .map(|t| t.with_timezone(&Utc))
        .map_err(|_| DomainError::invalid(field, "is not a time such as 2026-05-01T19:30:00Z"))
}

/// Check that `end` comes strictly after `start`; the error names `end_field`.
pub fn ensure_ordered(
    end_field: &str,
    start: DateTime<Utc>,
    end: DateTime<Utc>,
) -> Result<(), DomainError> {
    if end <= start {
        return Err(DomainError::invalid(end_field, "must be after the start"));
    }
    Ok(())
}

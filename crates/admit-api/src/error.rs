use serde::Serialize;

use admit_core::role::Action;
use admit_core::{DomainError, QuotaId};
use admit_store::StoreError;

/// What every front end shows: a stable code the UI branches on, a message for people, and
/// for bad input the field at fault.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ApiError {
    #[error("{field}: {message}")]
    Invalid { field: String, message: String },
    #[error("wrong username or password")]
    Unauthenticated,
    #[error("too many failed logins; try again after {until}")]
    LockedOut {
        until: chrono::DateTime<chrono::Utc>,
    },
    #[error("your role may not {action:?}")]
    Forbidden { action: Action },
    #[error("{entity} not found")]
    NotFound { entity: String },
    #[error("{message}")]
    Conflict { message: String },
    #[error("{entity} was changed by someone else; reload and try again")]
    Stale { entity: String },
    #[error("sold out: only {available} left")]
    SoldOut { quota_id: QuotaId, available: u32 },
    #[error("the database is busy; try again")]
    Busy,
    #[error("internal error: {0}")]
    Internal(String),
}

pub type ApiResult<T> = Result<T, ApiError>;

impl ApiError {
    pub fn invalid(field: impl Into<String>, message: impl Into<String>) -> Self {
        ApiError::Invalid {
            field: field.into(),
            message: message.into(),
        }
    }

    /// The stable code front ends branch on.
    pub fn code(&self) -> &'static str {
        match self {
            ApiError::Invalid { .. } => "invalid_input",
            ApiError::Unauthenticated => "unauthenticated",
            ApiError::LockedOut { .. } => "locked_out",
            ApiError::Forbidden { .. } => "forbidden",
            ApiError::NotFound { .. } => "not_found",
            ApiError::Conflict { .. } => "conflict",
            ApiError::Stale { .. } => "stale",
            ApiError::SoldOut { .. } => "sold_out",
            ApiError::Busy => "busy",
            ApiError::Internal(_) => "internal",
        }
    }

    pub fn to_json(&self) -> ErrorBody {
        ErrorBody {
            code: self.code(),
            message: self.to_string(),
            field: match self {
                ApiError::Invalid { field, .. } => Some(field.clone()),
                _ => None,
            },
        }
    }
}

/// The `{code, message}` shape every front end returns.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ErrorBody {
    pub code: &'static str,
    pub message: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "ts", ts(optional))]
    pub field: Option<String>,
}

impl From<DomainError> for ApiError {
    fn from(e: DomainError) -> Self {
        match e {
            DomainError::Invalid { field, message } => ApiError::Invalid { field, message },
        }
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound { entity } => ApiError::NotFound {
                entity: entity.to_string(),
            },
            StoreError::Conflict { constraint } => ApiError::Conflict {
                message: match constraint.as_str() {
                    "users_username_key" => "that username is taken".to_string(),
                    "users_exist" => "the first owner exists already; log in instead".to_string(),
                    "ticket_not_valid" => "a ticket was cancelled already".to_string(),
                    "coupon_used_up" => "this coupon is used up".to_string(),
                    "coupons_event_id_code_key" => {
                        "the event has a coupon with that code already".to_string()
                    }
                    "coupon_max_uses_below_used" => {
                        "the coupon has been used more often than that already".to_string()
                    }
                    "waitlist_not_offered" => {
                        "that waiting-list offer is no longer open".to_string()
                    }
                    "shifts_one_open" => {
                        "you have a shift open already; close it first".to_string()
                    }
                    "ticket_not_cancelled" => "a ticket of the order is valid already".to_string(),
                    other => format!("the change conflicts with existing data ({other})"),
                },
            },
            StoreError::Stale { entity } => ApiError::Stale {
                entity: entity.to_string(),
            },
            StoreError::SoldOut {
                quota_id,
                available,
            } => ApiError::SoldOut {
                quota_id,
                available,
            },
            StoreError::QuotaBelowTaken { taken, .. } => ApiError::invalid(
                "size",
                format!("{taken} units are sold or held; the size cannot go below that"),
            ),
            StoreError::HoldNotActive { status } => ApiError::Conflict {
                message: format!("the hold is {status}"),
            },
            StoreError::Busy => ApiError::Busy,
            StoreError::Other(m) => ApiError::Internal(m),
        }
    }
}

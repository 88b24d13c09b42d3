//! Admit's use cases: one async function per user action. Each checks the caller's role,
//! parses its input into domain values (naming the field at fault), and makes its change in
//! one store transaction together with the audit entry and the sync outbox rows. Front ends
//! (desktop, server, CLI) call these and nothing below them.

mod auth;
mod catalogue;
mod commerce;
mod devices;
mod door;
mod error;
mod exports;
mod figures;
mod import;
pub mod mail;
mod reports;
mod sales;
mod sync;

use std::sync::Arc;

use chrono::{DateTime, Utc};
use serde::Serialize;

use admit_core::audit::Change;
use admit_core::model::User;
use admit_core::role::{allowed, Action};
use admit_core::DeviceId;
use admit_store::Store;

pub use auth::{LoginPolicy, NewUserInput, UpdateUserInput};
pub use catalogue::{
    EventAvailability, EventInput, QuotaInput, TicketTypeAvailability, TicketTypeInput,
};
pub use commerce::{
    CloseShiftInput, CouponInput, Housekeeping, OpenShiftInput, OrderMoney, PaymentInput, Quote,
    QuoteInput, QuoteLine, RefundInput, RefundLine, ShiftStatus, WaitlistInput,
    DEFAULT_OFFER_MINUTES,
};
pub use devices::{
    Authenticated, LoginToken, PairInput, Pairing, PairingCodeInput, PairingCodeIssued,
    DEFAULT_PAIRING_MINUTES, LOGIN_TOKEN_HOURS, MAX_PAIRING_MINUTES,
};
pub use door::{CheckinCounts, CheckinListInput, DoorPackage, RedeemAnswer, RedeemInput};
pub use error::{ApiError, ApiResult, ErrorBody};
pub use exports::{
    decimal, ExportInput, ExportKind, ExportSummary, TicketsPdfInput, MAX_TICKETS_PER_PDF,
};
pub use figures::{Dashboard, EventProgress};
pub use import::{
    ImportInput, ImportIssue, ImportOrderPreview, ImportPreview, ImportResult, ImportTypeCount,
    MAX_IMPORT_BYTES, MAX_IMPORT_TICKETS,
};
pub use reports::{
    ChartData, ChartFormat, ChartImage, ChartInput, ChartKind, Drawer, MethodTotal, ShiftLine,
    ShiftReport, ShiftReportInput, DOOR_BUCKET_SECS,
};
pub use sales::{CancelInput, HoldInput, LineInput, SaleInput};
pub use sync::{DeviceSigningKey, MAX_SYNC_BATCH};

/// Behaviour that an installation may tune.
#[derive(Debug, Clone)]
pub struct Config {
    /// How long a hold keeps its units (the field's default is 15–30 minutes).
    pub hold_minutes: i64,
    pub login: LoginPolicy,
    /// Bounded retries of a write that lost a race (stale version, code clash, busy database).
    pub write_retries: u32,
    /// How long a waiting-list offer holds its units.
    pub offer_minutes: i64,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            hold_minutes: 15,
            login: LoginPolicy::default(),
            write_retries: 8,
            offer_minutes: commerce::DEFAULT_OFFER_MINUTES,
        }
    }
}

/// The caller of a use case: a logged-in user, on a device.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Session {
    pub user: User,
    pub device_id: Option<DeviceId>,
}

impl Session {
    pub fn require(&self, action: Action) -> ApiResult<()> {
        if self.user.active && allowed(self.user.role, action) {
            Ok(())
        } else {
            Err(ApiError::Forbidden { action })
        }
    }

    /// The audit entry for a change this caller makes now.
    pub(crate) fn change(
        &self,
        now: DateTime<Utc>,
        action: &str,
        entity: &str,
        entity_id: uuid::Uuid,
        detail: serde_json::Value,
    ) -> Change {
        Change::new(
            now,
            Some(self.user.id),
            self.device_id,
            action,
            entity,
            entity_id,
            detail,
        )
    }
}

/// The use cases over one store.
#[derive(Clone)]
pub struct Admit {
    store: Arc<dyn Store>,
    config: Config,
    /// What a door needs per check-in list (list, zone, keys), kept briefly: see `door.rs`.
    door_cache: door::DoorCache,
    /// Each event's catalogue as sales see it, kept briefly: see `sales.rs`.
    catalogue_cache: sales::CatalogueCache,
}

impl Admit {
    pub fn new(store: Arc<dyn Store>) -> Self {
        Self::with_config(store, Config::default())
    }

    pub fn with_config(store: Arc<dyn Store>, config: Config) -> Self {
        Admit {
            store,
            config,
            door_cache: Default::default(),
            catalogue_cache: Default::default(),
        }
    }

    pub fn store(&self) -> &Arc<dyn Store> {
        &self.store
    }

    pub fn config(&self) -> &Config {
        &self.config
    }
}

/// Parse an optional text input: absent or blank means none.
pub(crate) fn optional<T>(
    value: &Option<String>,
    parse: impl FnOnce(&str) -> Result<T, admit_core::DomainError>,
) -> ApiResult<Option<T>> {
    match value.as_deref().map(str::trim) {
        None | Some("") => Ok(None),
        Some(s) => Ok(Some(parse(s)?)),
    }
}

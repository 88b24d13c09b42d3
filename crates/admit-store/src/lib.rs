//! Admit storage: one interface ([`Store`]) with two implementations, SQLite (the embedded
//! default) and PostgreSQL. Each backend owns its SQL and speaks its own dialect; the same
//! behavioural test suite runs against both.
//!
//! Every write method is one transaction that also writes the [`Change`] (audit entries and
//! sync outbox rows) handed in by the use case, so a change and its record of itself commit or
//! vanish together. Updates are optimistic: they name the version they read and fail with
//! [`StoreError::Stale`] when someone else changed the record in between.

mod error;
pub mod postgres;
pub mod sqlite;

use std::sync::Arc;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::Serialize;

use admit_core::audit::{AuditEntry, Change, OutboxEntry};
use admit_core::model::*;
use admit_core::*;

pub use error::{StoreError, StoreResult};

/// Which database a store speaks to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// A user with what login needs to know. The hash never leaves the use-case layer.
#[derive(Clone)]
pub struct Credentials {
    pub user: User,
    pub password_hash: String,
    pub failed_logins: u32,
    pub locked_until: Option<DateTime<Utc>>,
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credentials")
            .field("user", &self.user)
            .field("password_hash", &"<redacted>")
            .field("failed_logins", &self.failed_logins)
            .field("locked_until", &self.locked_until)
            .finish()
    }
}

/// A sale ready to be written: the use case has priced it and worked out which quotas it takes.
#[derive(Debug, Clone)]
pub struct NewSale {
    pub order: Order,
    pub tickets: Vec<Ticket>,
    /// Units to take per quota, sorted by quota id (the lock order).
    pub demand: Vec<(QuotaId, u32)>,
    /// Which quotas each ticket takes a unit from (recorded so a cancellation gives back
    /// exactly these, whatever the quotas cover by then).
    pub ticket_quotas: Vec<(TicketId, QuotaId)>,
    /// A hold of this cart to consume: its units are given back first and the sale then takes
    /// its own, all in the same transaction.
    pub hold: Option<HoldId>,
    pub change: Change,
}

/// A cancellation ready to be written.
#[derive(Debug, Clone)]
pub struct Cancellation {
    /// The order as it will be afterwards (status, total, version + 1).
    pub order: Order,
    /// The version the use case read; the write fails as stale if it moved.
    pub expected_version: i64,
    /// The tickets to cancel, as they will be afterwards.
    pub tickets: Vec<Ticket>,
    /// Units to give back per quota, sorted by quota id.
    pub release: Vec<(QuotaId, u32)>,
    pub change: Change,
}

/// Search for orders by code prefix, buyer name or e-mail (case-insensitive substring).
#[derive(Debug, Clone, Default)]
pub struct OrderQuery {
    pub event_id: Option<EventId>,
    pub text: Option<String>,
    pub limit: u32,
}

#[async_trait]
pub trait Store: Send + Sync + 'static {
    fn backend(&self) -> Backend;

    // ---- users
    async fn count_users(&self) -> StoreResult<u64>;
    /// Insert the first owner; fails with `Conflict { constraint: "users_exist" }` when any
    /// user exists already (checked inside the transaction).
    async fn create_first_user(
        &self,
        user: &User,
        password_hash: &str,
        change: &Change,
    ) -> StoreResult<()>;
    async fn create_user(
        &self,
        user: &User,
        password_hash: &str,
        change: &Change,
    ) -> StoreResult<()>;
    async fn update_user(
        &self,
        user: &User,
        expected_version: i64,
        password_hash: Option<&str>,
        change: &Change,
    ) -> StoreResult<()>;
    async fn get_user(&self, id: UserId) -> StoreResult<User>;
    async fn list_users(&self) -> StoreResult<Vec<User>>;
    async fn credentials(&self, username: &str) -> StoreResult<Option<Credentials>>;
    /// Record the outcome of a login attempt (not audited as a change of the user record).
    async fn record_login(
        &self,
        user_id: UserId,
        failed_logins: u32,
        locked_until: Option<DateTime<Utc>>,
    ) -> StoreResult<()>;

    // ---- categories
    async fn create_category(&self, category: &Category, change: &Change) -> StoreResult<()>;
    async fn list_categories(&self) -> StoreResult<Vec<Category>>;

    // ---- events and catalogue
    async fn create_event(&self, event: &Event, change: &Change) -> StoreResult<()>;
    async fn update_event(
        &self,
        event: &Event,
        expected_version: i64,
        change: &Change,
    ) -> StoreResult<()>;
    async fn get_event(&self, id: EventId) -> StoreResult<Event>;
    async fn list_events(&self) -> StoreResult<Vec<Event>>;

    async fn create_ticket_type(
        &self,
        ticket_type: &TicketType,
        change: &Change,
    ) -> StoreResult<()>;
    async fn update_ticket_type(
        &self,
        ticket_type: &TicketType,
        expected_version: i64,
        change: &Change,
    ) -> StoreResult<()>;
    async fn list_ticket_types(&self, event_id: EventId) -> StoreResult<Vec<TicketType>>;

    async fn create_quota(&self, quota: &Quota, change: &Change) -> StoreResult<()>;
    /// Fails with `QuotaBelowTaken` when the new size is below what is taken right now.
    async fn update_quota(
        &self,
        quota: &Quota,
        expected_version: i64,
        change: &Change,
    ) -> StoreResult<()>;
    async fn list_quotas(&self, event_id: EventId) -> StoreResult<Vec<QuotaUsage>>;

    // ---- stock
    /// Take `demand` for a hold (recorded in hold_quotas so exactly that is given back). Fails
    /// with `SoldOut` and writes nothing if any quota lacks units.
    async fn create_hold(
        &self,
        hold: &Hold,
        demand: &[(QuotaId, u32)],
        change: &Change,
    ) -> StoreResult<()>;
    /// Give an active hold's units back (status `released`).
    async fn release_hold(
        &self,
        hold_id: HoldId,
        now: DateTime<Utc>,
        change: &Change,
    ) -> StoreResult<()>;
    async fn get_hold(&self, hold_id: HoldId) -> StoreResult<Hold>;
    /// Expire every active hold past its expiry and give its units back; returns how many.
    async fn sweep_expired_holds(&self, now: DateTime<Utc>) -> StoreResult<u32>;
    /// Take every quota in `sale.demand` and write the order and its tickets, or write nothing.
    /// Expired holds of the event are swept first, inside the same transaction.
    async fn sell(&self, sale: &NewSale) -> StoreResult<()>;
    async fn cancel(&self, cancellation: &Cancellation) -> StoreResult<()>;

    // ---- orders
    async fn get_order(&self, id: OrderId) -> StoreResult<OrderWithTickets>;
    async fn get_order_by_code(&self, code: &str) -> StoreResult<OrderWithTickets>;
    async fn search_orders(&self, query: &OrderQuery) -> StoreResult<Vec<Order>>;
    /// The quotas the given tickets took units from.
    async fn ticket_quotas(&self, tickets: &[TicketId]) -> StoreResult<Vec<(TicketId, QuotaId)>>;

    // ---- audit and sync
    async fn list_audit(&self, limit: u32) -> StoreResult<Vec<AuditEntry>>;
    /// Outbox rows after `after_seq`, in upload order, with their sequence numbers.
    async fn list_outbox(&self, after_seq: i64, limit: u32)
        -> StoreResult<Vec<(i64, OutboxEntry)>>;
}

/// Open the store a location names: a `postgres://` or `postgresql://` URL, or else a SQLite
/// file path (created if missing). Migrations run on open.
pub async fn open(location: &str) -> StoreResult<Arc<dyn Store>> {
    if location.starts_with("postgres://") || location.starts_with("postgresql://") {
        Ok(Arc::new(postgres::PgStore::connect(location).await?))
    } else {
        let path = location.strip_prefix("sqlite://").unwrap_or(location);
        Ok(Arc::new(sqlite::SqliteStore::open(path).await?))
    }
}

/// Migration versions each backend ships, for the check that both lists agree.
pub fn migration_versions(backend: Backend) -> Vec<(i64, String)> {
    let m = match backend {
        Backend::Sqlite => &sqlite::MIGRATOR,
        Backend::Postgres => &postgres::MIGRATOR,
    };
    m.iter()
        .map(|m| (m.version, m.description.to_string()))
        .collect()
}

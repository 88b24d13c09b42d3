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
mod sync_types;

use std::sync::Arc;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use admit_core::audit::{AuditEntry, Change, OutboxEntry};
use admit_core::checkin::{CheckinList, Direction, PriorScan, TicketState, Verdict};
use admit_core::commerce::{Coupon, MailMessage, Shift, WaitlistEntry};
use admit_core::model::*;
use admit_core::secret::{KeyId, PublicKey, SecretFingerprint};
use admit_core::*;

pub use error::{StoreError, StoreResult};
pub use sync_types::{AllocationMove, ChangePage, DoubleAdmission, SyncConflict, UploadOutcome};

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
    /// The waiting-list entry whose offer this sale takes up: it must be `offered`, and
    /// becomes `sold` with the order's id (`Conflict { constraint: "waitlist_not_offered" }`
    /// otherwise). Its hold is the sale's `hold`.
    pub waitlist_entry: Option<WaitlistId>,
    /// A confirmation to queue with the sale, so it is never lost and never blocks it.
    pub mail: Option<MailMessage>,
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
    /// Secrets of the cancelled tickets that must stop admitting (inserted if not there yet).
    pub revoke: Vec<Revocation>,
    /// Money handed back with this cancellation (one row per refunded ticket); empty for a
    /// plain cancellation, where the money taken is kept.
    pub refunds: Vec<Refund>,
    /// The coupon whose use the order gives back (it no longer has valid tickets).
    pub coupon_release: Option<CouponId>,
    pub change: Change,
}

/// An expired pay-later order paid after its deadline: its tickets become valid again and
/// take their units back (they are `SoldOut` if the units went to someone else), the coupon
/// use is taken again, and the order is paid, all in one transaction.
#[derive(Debug, Clone)]
pub struct Reinstatement {
    /// The order as it will be afterwards (paid, with its payment).
    pub order: Order,
    pub expected_version: i64,
    /// The tickets as they will be afterwards (valid); each must be cancelled now.
    pub tickets: Vec<Ticket>,
    /// Units per quota the tickets take again, sorted by quota id.
    pub demand: Vec<(QuotaId, u32)>,
    pub change: Change,
}

/// Money handed back to a buyer. Reports subtract these from gross sales; the shift report
/// counts them against the drawer of the cashier who paid them out.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Refund {
    pub id: RefundId,
    pub order_id: OrderId,
    pub event_id: EventId,
    /// The ticket refunded; `None` for an amount against the whole order.
    pub ticket_id: Option<TicketId>,
    pub amount: Money,
    /// How the money went back (the order's payment method unless the cashier chose another).
    pub method: PaymentMethod,
    pub created_by: UserId,
    pub device_id: Option<DeviceId>,
    pub at: DateTime<Utc>,
}

/// Live tickets sold in one time bucket, per ticket type (the sales-velocity chart).
/// Counts valid tickets of paid and pending orders by their order's time, so the buckets add
/// up to the dashboard's "sold".
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SalesBucket {
    /// Start of the bucket: a multiple of the bucket width since the Unix epoch, UTC.
    pub start: DateTime<Utc>,
    pub ticket_type_id: TicketTypeId,
    pub tickets: u64,
}

/// Money of one event, per ticket type, channel, payment method and currency.
///
/// `gross` is what tickets sold for in orders whose money was taken (status paid, cancelled
/// or refunded, with a payment time; pending and expired orders, and pay-later orders
/// cancelled before they were paid, took none), whether or not the ticket is still valid. `refunded` is the sum of refunds of those tickets (by the ticket's type; a refund
/// against a whole order has no type and is reported with `ticket_type_id: None`). Every
/// refund of the event counts, whatever its order's status: it is money paid out.
/// Net is gross − refunded.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RevenueRow {
    pub ticket_type_id: Option<TicketTypeId>,
    pub channel: Channel,
    pub payment_method: PaymentMethod,
    pub currency: String,
    /// Tickets sold (as counted in `gross`).
    pub tickets: u64,
    pub gross_minor: i64,
    pub refunds: u64,
    pub refunded_minor: i64,
}

/// Counted scans of one event in one time bucket and gate (the door chart).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DoorBucket {
    pub start: DateTime<Utc>,
    pub gate: Option<String>,
    pub entries: u64,
    pub exits: u64,
}

/// What the end-of-shift report asks for: one cashier's or one device's sales in a window.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShiftQuery {
    /// `None`: every user.
    pub user_id: Option<UserId>,
    /// `None`: every device (and sales made with no device).
    pub device_id: Option<DeviceId>,
    /// Half-open window `[from, to)`.
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
}

/// One line of an end-of-shift report: per user, device, payment method and currency.
/// Sales are orders whose money the user took in the window (by when and where it was paid,
/// which for a pay-later order is when it was paid, not when it was made; status as in
/// [`RevenueRow`]); refunds are refunds the user paid out in the window, by refund method.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ShiftRow {
    pub user_id: UserId,
    pub device_id: Option<DeviceId>,
    pub method: PaymentMethod,
    pub currency: String,
    pub orders: u64,
    pub tickets: u64,
    pub sales_minor: i64,
    pub refunds: u64,
    pub refunded_minor: i64,
}

/// One ticket as the attendee export lists it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AttendeeRow {
    pub ticket: Ticket,
    pub ticket_type_name: String,
    pub order_code: String,
    pub buyer_name: Option<String>,
    pub buyer_email: Option<String>,
    pub order_status: OrderStatus,
    /// First counted entry scan on any list of the event.
    pub first_entry_at: Option<DateTime<Utc>>,
}

/// How many rows each export of an event will have (for progress).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Default)]
pub struct ExportCounts {
    pub orders: u64,
    pub tickets: u64,
    pub scans: u64,
}

/// A public key of an event, as stored and synced.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EventKey {
    pub event_id: EventId,
    pub key_id: KeyId,
    pub public_key: PublicKey,
    pub retired: bool,
    pub meta: Meta,
}

/// The secret printed on a ticket now.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct IssuedSecret {
    pub ticket_id: TicketId,
    pub event_id: EventId,
    pub secret: String,
    pub fingerprint: SecretFingerprint,
    pub key_id: KeyId,
    pub issued_at: DateTime<Utc>,
}

/// An issued secret that must no longer admit anyone.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Revocation {
    pub event_id: EventId,
    pub fingerprint: SecretFingerprint,
    pub ticket_id: TicketId,
    /// `cancelled` or `reissued`
    pub reason: String,
    pub at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Block {
    pub event_id: EventId,
    pub ticket_id: TicketId,
    pub reason: String,
    pub at: DateTime<Utc>,
}

/// What the door shows about a ticket the store has a row for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TicketView {
    pub state: TicketState,
    pub attendee_name: Option<String>,
    pub ticket_type_name: String,
    pub order_code: String,
}

/// What the store knows about a scanned ticket, read inside the scan's transaction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScanContext {
    /// `None` when this store has no row for the ticket (an offline door) or the secret did
    /// not verify.
    pub ticket: Option<TicketView>,
    pub revoked: bool,
    pub blocked: bool,
    /// Earlier scans of the ticket on the list that took effect.
    pub history: Vec<PriorScan>,
}

/// A scan to record. The store reads the [`ScanContext`] and hands it to the decision
/// function inside one transaction, so two doors cannot both admit a single-entry ticket.
#[derive(Debug, Clone)]
pub struct ScanAttempt {
    pub id: ScanId,
    pub nonce: String,
    pub list_id: CheckinListId,
    pub event_id: EventId,
    /// From the verified secret; `None` when it did not verify.
    pub ticket_id: Option<TicketId>,
    pub fingerprint: Option<SecretFingerprint>,
    pub direction: Direction,
    pub device_id: Option<DeviceId>,
    pub gate: Option<String>,
    pub user_id: Option<UserId>,
    /// When the scan happened (device clock).
    pub at: DateTime<Utc>,
    pub recorded_at: DateTime<Utc>,
    /// The scanned text, kept only if the scan is refused.
    pub raw: Option<String>,
}

/// The decision for a scan, made by the use case from the context.
#[derive(Debug, Clone, PartialEq)]
pub struct ScanResolution {
    pub verdict: Verdict,
    pub explanation: String,
    /// The scan takes effect (ok, or forced through).
    pub counted: bool,
    pub forced: bool,
    /// The full answer given to the door; returned again for a repeated nonce.
    pub answer: serde_json::Value,
}

pub type Decide = std::sync::Arc<dyn Fn(&ScanContext) -> ScanResolution + Send + Sync>;

/// Refuse a [`Store::redeem_many`] batch in which two scans share a ticket or a nonce: their
/// order would decide their verdicts, and a batch has none.
pub fn check_independent(scans: &[(ScanAttempt, Decide)]) -> StoreResult<()> {
    let mut tickets = std::collections::HashSet::with_capacity(scans.len());
    let mut nonces = std::collections::HashSet::with_capacity(scans.len());
    for (a, _) in scans {
        if !nonces.insert(a.nonce.as_str()) || a.ticket_id.is_some_and(|t| !tickets.insert(t)) {
            return Err(StoreError::Conflict {
                constraint: "redeem_many_independent_scans".into(),
            });
        }
    }
    Ok(())
}

#[derive(Debug, Clone, PartialEq)]
pub struct ScanOutcome {
    pub answer: serde_json::Value,
    /// The nonce was seen before: nothing new was recorded.
    pub duplicate: bool,
}

/// A recorded scan, for lists and reports.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScanRecord {
    pub id: ScanId,
    pub nonce: String,
    pub list_id: CheckinListId,
    pub ticket_id: Option<TicketId>,
    pub direction: Direction,
    pub device_id: Option<DeviceId>,
    pub gate: Option<String>,
    pub at: DateTime<Utc>,
    pub verdict: Verdict,
    pub counted: bool,
    pub forced: bool,
    pub raw: Option<String>,
}

/// Live sales of one event in one currency: paid and pending orders, and their valid tickets.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct EventSales {
    pub event_id: EventId,
    pub currency: String,
    pub orders: u64,
    pub tickets: u64,
    /// Sum of the live orders' totals, in minor units of `currency`.
    pub revenue_minor: i64,
    /// The same, for orders made at or after the `since` of the query.
    pub orders_since: u64,
    pub tickets_since: u64,
    pub revenue_minor_since: i64,
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
    /// The order a ticket belongs to, with all its tickets.
    async fn get_order_of_ticket(&self, ticket_id: TicketId) -> StoreResult<OrderWithTickets>;
    async fn search_orders(&self, query: &OrderQuery) -> StoreResult<Vec<Order>>;
    /// The quotas the given tickets took units from.
    async fn ticket_quotas(&self, tickets: &[TicketId]) -> StoreResult<Vec<(TicketId, QuotaId)>>;

    // ---- the door
    /// Insert an event key, or update its meta and `retired` flag if it exists; retiring is
    /// one-way (an upsert never un-retires). The private half is stored only when given.
    async fn put_event_key(
        &self,
        key: &EventKey,
        secret: Option<[u8; 32]>,
        change: &Change,
    ) -> StoreResult<()>;
    async fn event_keys(&self, event_id: EventId) -> StoreResult<Vec<EventKey>>;
    /// The newest unretired key of the event whose private half this store holds.
    async fn signing_key(&self, event_id: EventId) -> StoreResult<Option<(KeyId, [u8; 32])>>;
    async fn ticket_secret(&self, ticket_id: TicketId) -> StoreResult<Option<IssuedSecret>>;
    /// Store a ticket's secret, replacing the one it had; `revoke` (the replaced secret) goes on
    /// the revocation list in the same transaction. Fails with `Conflict{constraint:
    /// "ticket_secret_exists"}` when `revoke` is None and the ticket has a secret already.
    async fn put_ticket_secret(
        &self,
        issued: &IssuedSecret,
        revoke: Option<&Revocation>,
        change: &Change,
    ) -> StoreResult<()>;
    /// Add revocations, ignoring ones already present (for imports).
    async fn add_revocations(&self, revocations: &[Revocation], change: &Change)
        -> StoreResult<()>;
    async fn revocations(&self, event_id: EventId) -> StoreResult<Vec<Revocation>>;
    /// Put a ticket on the event's block list (`Some`) or take it off (`None`).
    async fn set_block(
        &self,
        event_id: EventId,
        ticket_id: TicketId,
        block: Option<&Block>,
        change: &Change,
    ) -> StoreResult<()>;
    async fn blocks(&self, event_id: EventId) -> StoreResult<Vec<Block>>;

    async fn create_checkin_list(&self, list: &CheckinList, change: &Change) -> StoreResult<()>;
    async fn update_checkin_list(
        &self,
        list: &CheckinList,
        expected_version: i64,
        change: &Change,
    ) -> StoreResult<()>;
    async fn get_checkin_list(&self, id: CheckinListId) -> StoreResult<CheckinList>;
    async fn list_checkin_lists(&self, event_id: EventId) -> StoreResult<Vec<CheckinList>>;
    /// Upsert records made elsewhere (a door package or, later, sync), ignoring versions older
    /// than what is stored.
    async fn import_event(&self, event: &Event, change: &Change) -> StoreResult<()>;
    async fn import_checkin_list(&self, list: &CheckinList, change: &Change) -> StoreResult<()>;

    /// Record one scan: a repeated nonce returns the stored answer; otherwise the context is
    /// read, `decide` resolves it and the scan is written, all in one transaction that also
    /// queues the scan for sync. Scans of one ticket are serialised.
    async fn redeem(&self, attempt: &ScanAttempt, decide: Decide) -> StoreResult<ScanOutcome>;
    /// Record many scans, each exactly as [`Store::redeem`] would (a repeated nonce returns
    /// the stored answer; otherwise its own context is read and its own `decide` resolves
    /// it), answering in the order given. No two of the scans may share a ticket or a nonce:
    /// the caller sends scans that depend on each other through `redeem`, one by one.
    /// A backend may write them in fewer transactions than one per scan; the default is
    /// one `redeem` each.
    async fn redeem_many(&self, scans: &[(ScanAttempt, Decide)]) -> StoreResult<Vec<ScanOutcome>> {
        check_independent(scans)?;
        let mut outcomes = Vec::with_capacity(scans.len());
        for (attempt, decide) in scans {
            outcomes.push(self.redeem(attempt, decide.clone()).await?);
        }
        Ok(outcomes)
    }
    /// Scans of a list, newest first, optionally of one ticket.
    async fn list_scans(
        &self,
        list_id: CheckinListId,
        ticket_id: Option<TicketId>,
        limit: u32,
    ) -> StoreResult<Vec<ScanRecord>>;
    /// Tickets admitted at least once on the list, and tickets inside now (last counted scan
    /// an entry).
    async fn checkin_counts(&self, list_id: CheckinListId) -> StoreResult<(u64, u64)>;

    // ---- figures
    /// Live sales per event and currency, all time and since `since` (e.g. today's start).
    async fn sales_summary(&self, since: DateTime<Utc>) -> StoreResult<Vec<EventSales>>;

    // ---- reports (aggregated in SQL; see the row types for what each counts)
    /// Tickets sold per bucket of `bucket_secs` seconds and ticket type, oldest first.
    /// A width of zero is refused (`Other`) before any query runs.
    async fn sales_buckets(
        &self,
        event_id: EventId,
        bucket_secs: u32,
    ) -> StoreResult<Vec<SalesBucket>>;
    async fn revenue(&self, event_id: EventId) -> StoreResult<Vec<RevenueRow>>;
    /// Counted scans per bucket of `bucket_secs` seconds and gate, oldest first.
    async fn door_buckets(
        &self,
        event_id: EventId,
        bucket_secs: u32,
    ) -> StoreResult<Vec<DoorBucket>>;
    /// Over all events; sorted by user, device (none first), method, currency.
    async fn shift_totals(&self, query: &ShiftQuery) -> StoreResult<Vec<ShiftRow>>;
    /// Refunds of an order, oldest first.
    async fn refunds_of_order(&self, order_id: OrderId) -> StoreResult<Vec<Refund>>;

    // ---- exports: pages in id order (ids are time-ordered), after the last id of the page before
    // (`None`: from the first); at most 10,000 rows a page. Every row of the event is exported,
    // whatever its status: all orders, all tickets, all scans (refused ones too).
    async fn export_counts(&self, event_id: EventId) -> StoreResult<ExportCounts>;
    async fn export_orders(
        &self,
        event_id: EventId,
        after: Option<OrderId>,
        limit: u32,
    ) -> StoreResult<Vec<Order>>;
    async fn export_attendees(
        &self,
        event_id: EventId,
        after: Option<TicketId>,
        limit: u32,
    ) -> StoreResult<Vec<AttendeeRow>>;
    async fn export_scans(
        &self,
        event_id: EventId,
        after: Option<ScanId>,
        limit: u32,
    ) -> StoreResult<Vec<ScanRecord>>;

    // ---- import
    /// Write many sales in one transaction: all of them, or none (the first error is returned
    /// and nothing is written). Stock is checked and taken as for single sales. The holds the
    /// sales name are consumed first, then every event's overdue holds are swept as of its
    /// latest sale, then the demand is taken: the batch goes in exactly when all of it fits
    /// after those units came back.
    async fn import_sales(&self, sales: &[NewSale]) -> StoreResult<()>;

    // ---- coupons
    /// Fails with `Conflict { constraint: "coupons_event_id_code_key" }` when the event has a
    /// coupon with that code.
    async fn create_coupon(&self, coupon: &Coupon, change: &Change) -> StoreResult<()>;
    /// Changes everything but `used`, which only sales and cancellations move. Fails with
    /// `Conflict { constraint: "coupon_max_uses_below_used" }` when the new maximum is below
    /// the uses taken right now.
    async fn update_coupon(
        &self,
        coupon: &Coupon,
        expected_version: i64,
        change: &Change,
    ) -> StoreResult<()>;
    async fn get_coupon(&self, id: CouponId) -> StoreResult<Coupon>;
    /// The event's coupon with this (upper-case) code.
    async fn coupon_by_code(&self, event_id: EventId, code: &str) -> StoreResult<Option<Coupon>>;
    /// By code.
    async fn list_coupons(&self, event_id: EventId) -> StoreResult<Vec<Coupon>>;

    // ---- payments
    /// Pending orders whose payment is due at or before `now`, earliest due first.
    async fn overdue_orders(&self, now: DateTime<Utc>, limit: u32) -> StoreResult<Vec<OrderId>>;
    /// Write a pending order's payment: status, method and payment fields (version checked).
    async fn record_payment(
        &self,
        order: &Order,
        expected_version: i64,
        change: &Change,
    ) -> StoreResult<()>;
    async fn reinstate_order(&self, reinstatement: &Reinstatement) -> StoreResult<()>;

    // ---- the waiting list
    async fn add_waitlist(&self, entry: &WaitlistEntry, change: &Change) -> StoreResult<()>;
    async fn get_waitlist_entry(&self, id: WaitlistId) -> StoreResult<WaitlistEntry>;
    /// Every entry of the event, in queue order (by arrival).
    async fn list_waitlist(&self, event_id: EventId) -> StoreResult<Vec<WaitlistEntry>>;
    /// Hold units for an entry and mark it offered (`entry` as it will be), in one
    /// transaction; `SoldOut` writes nothing. `mail` (the offer) is queued with it.
    async fn offer_waitlist(
        &self,
        entry: &WaitlistEntry,
        expected_version: i64,
        hold: &Hold,
        demand: &[(QuotaId, u32)],
        mail: Option<&MailMessage>,
        change: &Change,
    ) -> StoreResult<()>;
    /// Change an entry's status (expired, withdrawn). Its hold, if still active, is released
    /// in the same transaction.
    async fn update_waitlist(
        &self,
        entry: &WaitlistEntry,
        expected_version: i64,
        change: &Change,
    ) -> StoreResult<()>;

    // ---- cashier shifts
    /// Fails with `Conflict { constraint: "shifts_one_open" }` when the user has an open shift.
    async fn open_shift(&self, shift: &Shift, change: &Change) -> StoreResult<()>;
    /// Write the closing figures (version checked).
    async fn close_shift(
        &self,
        shift: &Shift,
        expected_version: i64,
        change: &Change,
    ) -> StoreResult<()>;
    async fn open_shift_of(&self, user_id: UserId) -> StoreResult<Option<Shift>>;
    /// Newest first, of one user or everyone.
    async fn list_shifts(&self, user_id: Option<UserId>, limit: u32) -> StoreResult<Vec<Shift>>;

    // ---- outgoing mail
    async fn enqueue_mail(&self, message: &MailMessage, change: &Change) -> StoreResult<()>;
    /// Queued messages due at `now`, earliest first.
    async fn due_mail(&self, now: DateTime<Utc>, limit: u32) -> StoreResult<Vec<MailMessage>>;
    /// Write a message's new state if its version is still `expected_version` (its version
    /// becomes `message.meta.version`); false when another sender changed it first.
    async fn update_mail(&self, message: &MailMessage, expected_version: i64) -> StoreResult<bool>;
    /// An order's messages, oldest first.
    async fn mail_of_order(&self, order_id: OrderId) -> StoreResult<Vec<MailMessage>>;
    async fn get_mail(&self, id: MailId) -> StoreResult<MailMessage>;

    // ---- sync with an Admit server (see `sync.rs` for the model)
    /// Changes after `cursor` ("" for the beginning), oldest first, at most `limit`. On
    /// PostgreSQL the feed is in commit order: a row is handed out only once every transaction
    /// that could still commit before it has finished, so a reader never skips one.
    async fn changes_since(&self, cursor: &str, limit: u32) -> StoreResult<ChangePage>;
    /// Server side: apply one device's uploaded orders, tickets, revocations and blocks
    /// (scans go through [`Store::redeem`]). Each entry is applied once: an entry already
    /// applied answers `Duplicate`. Units of uploaded valid tickets come out of the device's
    /// allocation (or the free pool), never beyond a quota's size.
    async fn apply_upload(
        &self,
        device: DeviceId,
        entries: &[OutboxEntry],
        now: DateTime<Utc>,
    ) -> StoreResult<Vec<UploadOutcome>>;
    /// Server side: grant units of a quota to a device out of the free pool (`asked` > 0, as
    /// many as are free up to that) or take back units it holds (`asked` < 0). The move's id
    /// makes it happen once; asking again answers what was moved the first time.
    async fn move_allocation(&self, m: &AllocationMove) -> StoreResult<i64>;
    /// Server side: units each quota has granted to the device and it has not sold.
    async fn allocations_of(&self, device: DeviceId) -> StoreResult<Vec<(QuotaId, i64)>>;
    /// Server side: uploaded changes that could not be applied as they were, newest first.
    async fn sync_conflicts(&self, limit: u32) -> StoreResult<Vec<SyncConflict>>;
    /// Server side: tickets let in twice (counted entries kept as forced `already_redeemed`),
    /// newest first, each with the explanation naming the entry it collided with.
    async fn double_admissions(&self, limit: u32) -> StoreResult<Vec<DoubleAdmission>>;
    /// Device side: apply a page of the server's changes (no outbox rows, no audit: they are
    /// the server's records). Records already at that version or newer are left alone.
    async fn apply_downloaded(&self, changes: &[OutboxEntry]) -> StoreResult<u32>;
    /// Device side: units the server granted (`units` > 0) or took back (< 0) by a move of
    /// this id, counted once. A synced device sells a quota up to its local `size`, which
    /// grants raise and returns lower.
    /// `confirmed` is false for a return made here before the server hears of it; it is
    /// sent until the server answers, then recorded again as confirmed. A return larger than
    /// the spare units is refused as `SoldOut` and changes nothing.
    async fn record_grant(
        &self,
        id: uuid::Uuid,
        quota: QuotaId,
        units: i64,
        confirmed: bool,
        now: DateTime<Utc>,
    ) -> StoreResult<bool>;
    /// Device side: returns made here that the server has not confirmed yet.
    async fn unconfirmed_returns(&self) -> StoreResult<Vec<(uuid::Uuid, QuotaId, i64)>>;
    /// Device side: units of the quota the device holds and has not sold or held.
    async fn spare_units(&self, quota: QuotaId) -> StoreResult<i64>;
    async fn sync_value(&self, key: &str) -> StoreResult<Option<String>>;
    async fn set_sync_value(&self, key: &str, value: &str) -> StoreResult<()>;

    // ---- audit and sync
    async fn list_audit(&self, limit: u32) -> StoreResult<Vec<AuditEntry>>;
    /// Outbox rows after `after_seq`, in upload order, with their sequence numbers.
    async fn list_outbox(&self, after_seq: i64, limit: u32)
        -> StoreResult<Vec<(i64, OutboxEntry)>>;

    // ---- devices, pairing codes and bearer tokens (the server)
    // Codes and tokens are stored only as their SHA-256 hashes.
    async fn create_pairing_code(
        &self,
        code: &PairingCodeRecord,
        change: &Change,
    ) -> StoreResult<()>;
    /// The code with this hash, used or not, expired or not.
    async fn pairing_code(
        &self,
        code_hash: &device::SecretHash,
    ) -> StoreResult<Option<PairingCodeRecord>>;
    /// Trade a code for a device in one transaction: the code is marked used (it must still be
    /// unused and unexpired at `pairing.now`, else `Conflict { constraint:
    /// "pairing_code_used" }` and nothing is written), and the device's service user, the
    /// device and its token are inserted with the change.
    async fn pair_device(&self, pairing: &NewPairing) -> StoreResult<()>;
    async fn get_device(&self, id: DeviceId) -> StoreResult<device::Device>;
    /// Newest first.
    async fn list_devices(&self) -> StoreResult<Vec<device::Device>>;
    /// Write `device` as revoked (version checked), revoke its tokens and deactivate its user,
    /// in one transaction.
    async fn revoke_device(
        &self,
        device: &device::Device,
        expected_version: i64,
        change: &Change,
    ) -> StoreResult<()>;
    /// Record when a device was last seen (not audited; an older time never replaces a newer).
    async fn touch_device(&self, id: DeviceId, at: DateTime<Utc>) -> StoreResult<()>;
    async fn create_api_token(&self, token: &ApiToken, change: &Change) -> StoreResult<()>;
    /// The token with this hash with its user and device, whatever their state: the caller
    /// decides whether it is still good.
    async fn token_holder(
        &self,
        token_hash: &device::SecretHash,
    ) -> StoreResult<Option<TokenHolder>>;
    /// Revoke one token; false (and nothing written) when it was revoked already.
    async fn revoke_api_token(
        &self,
        id: uuid::Uuid,
        at: DateTime<Utc>,
        change: &Change,
    ) -> StoreResult<bool>;
    /// Whether the database answers (the server's readiness check).
    async fn ping(&self) -> StoreResult<()>;
}

/// A pairing code as stored: its hash and what it will make.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PairingCodeRecord {
    pub id: uuid::Uuid,
    pub code_hash: device::SecretHash,
    pub device_name: text::Name,
    pub role: device::DeviceRole,
    pub created_by: UserId,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    /// Set when a device traded the code.
    pub used_at: Option<DateTime<Utc>>,
    pub device_id: Option<DeviceId>,
}

/// A bearer token as stored: its hash, never the token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiToken {
    pub id: uuid::Uuid,
    pub hash: device::SecretHash,
    pub kind: device::TokenKind,
    pub user_id: UserId,
    /// Device tokens only.
    pub device_id: Option<DeviceId>,
    pub created_at: DateTime<Utc>,
    /// Login tokens expire; device tokens live until revoked.
    pub expires_at: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
}

/// A pairing ready to be written (see [`Store::pair_device`]).
#[derive(Debug, Clone)]
pub struct NewPairing {
    pub code_id: uuid::Uuid,
    /// The device's service user.
    pub user: User,
    /// A hash no password matches: the service user cannot log in by password.
    pub password_hash: String,
    pub device: device::Device,
    pub token: ApiToken,
    pub now: DateTime<Utc>,
    pub change: Change,
}

/// What a presented token stands for.
#[derive(Debug, Clone, PartialEq)]
pub struct TokenHolder {
    pub token: ApiToken,
    pub user: User,
    /// For device tokens.
    pub device: Option<device::Device>,
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

//! The embedded SQLite backend.
//!
//! All writes go through one writer thread that owns the only writing connection. Callers queue
//! a job; the writer takes whatever is queued (up to [`MAX_BATCH`]), runs each job inside its
//! own savepoint of one `BEGIN IMMEDIATE` transaction and answers every caller only after the
//! `COMMIT` (group commit). One fsync then covers many sales, and writers never fight over the
//! lock, so there are no busy retries inside the process and no tail-latency spikes from them
//! (see MEASURED.md: 5.6k tx/s with group commit against 1.5–3.4k for a pool of writers).
//! Reads use a separate sqlx pool of read-only connections; WAL lets them run beside the writer.
//!
//! The writer talks to SQLite through rusqlite on its own OS thread (see [`writer_thread`]),
//! with every statement prepared once and cached, so a write costs SQLite's own work and
//! little else. Durability is `synchronous=FULL`, except for scans, which commit with
//! `synchronous=NORMAL` and which a WAL keeper thread beside the writer makes durable within
//! milliseconds (see `sqlite/durable.rs`).

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use rusqlite::{params, Connection, OptionalExtension};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteRow,
    SqliteSynchronous,
};
use sqlx::{ConnectOptions, Row};
use tokio::sync::{mpsc, oneshot};
use uuid::Uuid;

use admit_core::audit::{AuditEntry, Change, OutboxEntry};
use admit_core::model::*;
use admit_core::order_code::OrderCode;
use admit_core::role::Role;
use admit_core::text::{Description, Email, Name, Username};
use admit_core::time::TimeZone;
use admit_core::*;

use admit_core::checkin::CheckinList;
use admit_core::commerce::{Coupon, MailMessage, Shift, WaitlistEntry};
use admit_core::secret::KeyId;

use crate::{
    AttendeeRow, Backend, Block, Cancellation, Credentials, Decide, DoorBucket, EventKey,
    ExportCounts, IssuedSecret, NewSale, OrderQuery, Refund, Reinstatement, RevenueRow, Revocation,
    SalesBucket, ScanAttempt, ScanOutcome, ScanRecord, ShiftQuery, ShiftRow, Store, StoreError,
    StoreResult,
};

/// `insert into orders (…all columns…) values (?1 … ?23)`, the parameters bound by
/// [`order_params!`]: a sale writes an order with it, a downloaded order is upserted with it.
macro_rules! insert_order_sql {
    () => {
        "insert into orders (id, code, event_id, buyer_name, buyer_email, channel, payment_method,
                             status, total_minor, currency, created_by, device_id,
                             created_at, updated_at, version, coupon_id, discount_minor,
                             payment_due, paid_at, paid_by, paid_device, tendered_minor,
                             payment_note)
         values (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17,
                 ?18, ?19, ?20, ?21, ?22, ?23)"
    };
}

/// The 23 parameters of [`insert_order_sql!`] for the order `$o`.
macro_rules! order_params {
    ($o:ident) => {
        rusqlite::params![
            $o.id.0,
            $o.code.as_str(),
            $o.event_id.0,
            $o.buyer_name.as_ref().map(Name::as_str),
            $o.buyer_email.as_ref().map(Email::as_str),
            $o.channel.as_str(),
            $o.payment_method.as_str(),
            $o.status.as_str(),
            $o.total.minor,
            $o.total.currency.code(),
            $o.created_by.0,
            $o.device_id.map(|d| d.0),
            us($o.meta.created_at),
            us($o.meta.updated_at),
            $o.meta.version,
            $o.coupon_id.map(|c| c.0),
            $o.discount_minor,
            $o.payment.due.map(us),
            $o.payment.paid_at.map(us),
            $o.payment.paid_by.map(|u| u.0),
            $o.payment.paid_device.map(|d| d.0),
            $o.payment.tendered_minor,
            $o.payment.note,
        ]
    };
}

mod commerce;
mod devices;
mod door;
mod durable;
mod report;
mod sync;
#[cfg(test)]
mod tests;

use durable::{Durability, Durable, WalFlush};

pub static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("../../migrations/sqlite");

/// Most jobs one transaction carries. Larger batches amortise the fsync further but make the
/// first caller in a batch wait for the others.
const MAX_BATCH: usize = 32;

/// Prepared statements the writer keeps; every write statement is a fixed string, so they all
/// stay compiled.
const STATEMENT_CACHE: usize = 256;

type JobFn<T> = Box<dyn FnOnce(&Connection) -> StoreResult<T> + Send>;

/// A queued write with its type erased so one channel carries them all.
trait Job: Send {
    /// How its commit must be made durable.
    fn durability(&self) -> Durability;
    /// Run the job's statements; true when it succeeded.
    fn run(&mut self, conn: &Connection) -> bool;
    /// Answer the caller once the batch's fate is known.
    fn finish(self: Box<Self>, commit: Result<(), StoreError>);
}

struct TypedJob<T> {
    durability: Durability,
    f: Option<JobFn<T>>,
    result: Option<StoreResult<T>>,
    reply: oneshot::Sender<StoreResult<T>>,
}

impl<T: Send + 'static> Job for TypedJob<T> {
    fn durability(&self) -> Durability {
        self.durability
    }

    fn run(&mut self, conn: &Connection) -> bool {
        let Some(f) = self.f.take() else { return false };
        let r = f(conn);
        let ok = r.is_ok();
        self.result = Some(r);
        ok
    }

    fn finish(self: Box<Self>, commit: Result<(), StoreError>) {
        let answer = match (self.result, commit) {
            (Some(Err(e)), _) => Err(e),
            (Some(Ok(v)), Ok(())) => Ok(v),
            (_, Err(e)) => Err(e),
            (None, Ok(())) => Err(StoreError::Other("write was not run".into())),
        };
        // The caller may have gone away (cancelled future); the write stands regardless.
        let _ = self.reply.send(answer);
    }
}

pub struct SqliteStore {
    read: SqlitePool,
    writer: mpsc::Sender<Box<dyn Job>>,
    /// Shared with the writer and its WAL keeper.
    #[cfg_attr(not(test), allow(dead_code))]
    durable: Arc<Durable>,
}

/// Durability: `synchronous=FULL` in WAL mode, on the writer and everywhere else, except for
/// the writer's scan batches (see [`Durability`]).
///
/// A sale takes money; the caller is told only after the `COMMIT`, and FULL makes that
/// `COMMIT` wait for the WAL's fsync, so what a caller was told survives power loss and an OS
/// crash, not only a crash of the app. NORMAL would skip that fsync and lose the last commits
/// (up to a checkpoint's worth, ~1000 pages) on power loss, silently. FULL's cost is one fsync
/// per transaction, and the group commit shares it among every write queued meanwhile, so
/// concurrent buyers pay a fraction of it each. Scans commit with NORMAL and the WAL keeper
/// bounds what a power loss can take back to a few milliseconds of scans.
fn options(path: &str) -> SqliteConnectOptions {
    SqliteConnectOptions::new()
        .filename(path)
        .create_if_missing(true)
        .journal_mode(SqliteJournalMode::Wal)
        .synchronous(SqliteSynchronous::Full)
        .foreign_keys(true)
        // Another process (the CLI beside the desktop) may hold the write lock for a moment.
        .busy_timeout(Duration::from_secs(5))
        .disable_statement_logging()
}

/// The writer's own connection, with the same settings as [`options`], and in WAL mode the
/// keeper thread that flushes and checkpoints its WAL (`sqlite/durable.rs`).
fn open_writer(
    path: &str,
    durable: &Arc<Durable>,
) -> StoreResult<(Connection, Option<std::thread::JoinHandle<()>>)> {
    let conn = Connection::open(path)?;
    conn.busy_timeout(Duration::from_secs(5))?;
    // `temp_store = memory`: the savepoint each job of a batch runs in journals the pages it
    // changes (a statement journal); past 64 KiB SQLite would spill that journal to a temporary
    // file, created, written and deleted for every batch of a few sales.
    conn.execute_batch(
        "pragma journal_mode = wal; pragma synchronous = full; pragma foreign_keys = on;
         pragma temp_store = memory;",
    )?;
    conn.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
    let Some(flush) = WalFlush::of(&conn)? else {
        return Ok((conn, None));
    };
    let keeper_conn = durable::open_keeper(path)?;
    conn.execute_batch(&format!(
        "pragma wal_autocheckpoint = {};",
        durable::WRITER_AUTOCHECKPOINT
    ))?;
    let shared = durable.clone();
    let keeper = std::thread::Builder::new()
        .name("admit-sqlite-wal".into())
        .spawn(move || durable::keep_wal(shared, flush, keeper_conn))
        .map_err(|e| StoreError::Other(format!("cannot start the WAL keeper: {e}")))?;
    durable.enable_flush();
    Ok((conn, Some(keeper)))
}

impl SqliteStore {
    /// Open (creating if missing) the database file and bring its schema up to date.
    pub async fn open(path: &str) -> StoreResult<Self> {
        let opts = options(path);
        // Migrate through a one-connection pool, not `&mut SqliteConnection`: the latter makes
        // this future impossible to prove `Send` in callers such as the desktop's commands.
        let migrate = SqlitePoolOptions::new()
            .max_connections(1)
            .connect_with(opts.clone())
            .await?;
        MIGRATOR.run(&migrate).await?;
        migrate.close().await;
        let read = SqlitePoolOptions::new()
            .max_connections(4)
            .min_connections(1)
            .connect_with(opts.read_only(true))
            .await?;
        let (tx, rx) = mpsc::channel(4096);
        let (ready, opened) = oneshot::channel();
        let path = path.to_string();
        let durable = Durable::new();
        let shared = durable.clone();
        std::thread::Builder::new()
            .name("admit-sqlite-writer".into())
            .spawn(move || match open_writer(&path, &shared) {
                Ok((conn, keeper)) => {
                    let _ = ready.send(Ok(()));
                    writer_thread(conn, &shared, rx);
                    shared.close();
                    if let Some(k) = keeper {
                        let _ = k.join();
                    }
                }
                Err(e) => {
                    let _ = ready.send(Err(e));
                }
            })
            .map_err(|e| StoreError::Other(format!("cannot start the database writer: {e}")))?;
        opened
            .await
            .map_err(|_| StoreError::Other("the database writer has stopped".into()))??;
        Ok(SqliteStore {
            read,
            writer: tx,
            durable,
        })
    }

    /// A read-only pool on the same file, for tests and reports.
    pub fn read_pool(&self) -> &SqlitePool {
        &self.read
    }

    /// Run `f` in the writer's transaction, committed with `synchronous=FULL`.
    async fn write<T, F>(&self, f: F) -> StoreResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> StoreResult<T> + Send + 'static,
    {
        self.write_as(Durability::Full, f).await
    }

    async fn write_as<T, F>(&self, durability: Durability, f: F) -> StoreResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> StoreResult<T> + Send + 'static,
    {
        let (reply, answer) = oneshot::channel();
        let job = TypedJob {
            durability,
            f: Some(Box::new(f)),
            result: None,
            reply,
        };
        self.writer
            .send(Box::new(job))
            .await
            .map_err(|_| StoreError::Other("the database writer has stopped".into()))?;
        answer
            .await
            .map_err(|_| StoreError::Other("the database writer has stopped".into()))?
    }
}

/// The writer: an OS thread of its own with a rusqlite connection. Through sqlx every
/// statement was a hop to sqlx's worker thread and back (MEASURED.md: ~2,200 tx/s on one
/// connection against 23,000 for rusqlite on the same file); here a job's statements run
/// back to back on the thread that owns the connection, and the only hops left are one
/// queue in and one answer out per job. It ends when the store (the last sender) is dropped.
///
/// Before each transaction it sets `synchronous` for the kind of batch (`durable.rs`), and
/// after it tells the keeper what was committed.
fn writer_thread(conn: Connection, durable: &Durable, mut rx: mpsc::Receiver<Box<dyn Job>>) {
    let mut batch: Vec<Box<dyn Job>> = Vec::with_capacity(MAX_BATCH);
    let mut current = Durability::Full;
    while let Some(job) = rx.blocking_recv() {
        batch.push(job);
        while batch.len() < MAX_BATCH {
            match rx.try_recv() {
                Ok(j) => batch.push(j),
                Err(_) => break,
            }
        }
        let durability = durable.of_batch(batch.iter().all(|j| j.durability() == Durability::Scan));
        let changes = conn.total_changes();
        // A job that panics must not take the writer (and every later write) down with it.
        let commit = match catch_unwind(AssertUnwindSafe(|| {
            if current != durability {
                conn.execute_batch(durability.pragma())?;
                current = durability;
            }
            run_batch(&conn, &mut batch)
        })) {
            Ok(Ok(committed)) => {
                if committed {
                    durable.committed(durability, conn.total_changes() != changes);
                }
                Ok(())
            }
            Ok(Err(e)) => Err(e),
            Err(_) => {
                let _ = conn.execute_batch("rollback");
                Err(StoreError::Other("a write failed unexpectedly".into()))
            }
        };
        for job in batch.drain(..) {
            job.finish(commit.clone());
        }
    }
}

/// Run a batch in one `BEGIN IMMEDIATE` transaction, each job of several in its own savepoint
/// so that a failing job takes back only its own statements. True when it ended in `COMMIT`.
fn run_batch(conn: &Connection, batch: &mut [Box<dyn Job>]) -> Result<bool, StoreError> {
    let single = batch.len() == 1;
    conn.execute_batch("begin immediate")?;
    let step = |conn: &Connection, job: &mut Box<dyn Job>| -> Result<bool, StoreError> {
        if single {
            return Ok(job.run(conn));
        }
        // Cached statements: parsing them afresh for every job of a batch showed in profiles.
        conn.prepare_cached("savepoint job")?.execute([])?;
        if !job.run(conn) {
            conn.prepare_cached("rollback to job")?.execute([])?;
        }
        conn.prepare_cached("release job")?.execute([])?;
        Ok(true)
    };
    for job in batch.iter_mut() {
        match step(conn, job) {
            Ok(true) => {}
            Ok(false) => {
                // A lone job's own error answers it; nothing of it may stay.
                conn.execute_batch("rollback")?;
                return Ok(false);
            }
            Err(e) => {
                let _ = conn.execute_batch("rollback");
                return Err(e);
            }
        }
    }
    if let Err(e) = conn.execute_batch("commit") {
        let _ = conn.execute_batch("rollback");
        return Err(e.into());
    }
    Ok(true)
}

// ---- value conversions

fn us(t: DateTime<Utc>) -> i64 {
    t.timestamp_micros()
}

fn from_us(v: i64) -> StoreResult<DateTime<Utc>> {
    DateTime::from_timestamp_micros(v).ok_or_else(|| corrupt("timestamp out of range"))
}

fn opt_from_us(v: Option<i64>) -> StoreResult<Option<DateTime<Utc>>> {
    v.map(from_us).transpose()
}

fn corrupt(what: impl std::fmt::Display) -> StoreError {
    StoreError::Other(format!("corrupt row: {what}"))
}

fn dom<T>(r: Result<T, DomainError>) -> StoreResult<T> {
    r.map_err(corrupt)
}

fn meta(row: &SqliteRow) -> StoreResult<Meta> {
    Ok(Meta {
        created_at: from_us(row.try_get("created_at")?)?,
        updated_at: from_us(row.try_get("updated_at")?)?,
        version: row.try_get("version")?,
    })
}

fn user_from(row: &SqliteRow) -> StoreResult<User> {
    Ok(User {
        id: UserId(row.try_get("id")?),
        username: dom(Username::parse("username", row.try_get("username")?))?,
        display_name: dom(Name::parse("display_name", row.try_get("display_name")?))?,
        role: dom(Role::parse("role", row.try_get("role")?))?,
        active: row.try_get("active")?,
        meta: meta(row)?,
    })
}

fn category_from(row: &SqliteRow) -> StoreResult<Category> {
    Ok(Category {
        id: CategoryId(row.try_get("id")?),
        parent_id: row.try_get::<Option<Uuid>, _>("parent_id")?.map(CategoryId),
        name: dom(Name::parse("name", row.try_get("name")?))?,
        meta: meta(row)?,
    })
}

fn event_from(row: &SqliteRow) -> StoreResult<Event> {
    Ok(Event {
        id: EventId(row.try_get("id")?),
        name: dom(Name::parse("name", row.try_get("name")?))?,
        description: dom(Description::parse(
            "description",
            row.try_get("description")?,
        ))?,
        venue: dom(Name::parse("venue", row.try_get("venue")?))?,
        starts_at: from_us(row.try_get("starts_at")?)?,
        ends_at: from_us(row.try_get("ends_at")?)?,
        time_zone: dom(TimeZone::parse("time_zone", row.try_get("time_zone")?))?,
        status: dom(EventStatus::parse("status", row.try_get("status")?))?,
        category_id: row
            .try_get::<Option<Uuid>, _>("category_id")?
            .map(CategoryId),
        meta: meta(row)?,
    })
}

fn money(row: &SqliteRow, minor: &str) -> StoreResult<Money> {
    let currency = dom(Currency::parse("currency", row.try_get("currency")?))?;
    Ok(Money {
        minor: row.try_get(minor)?,
        currency,
    })
}

fn ticket_type_from(row: &SqliteRow) -> StoreResult<TicketType> {
    Ok(TicketType {
        id: TicketTypeId(row.try_get("id")?),
        event_id: EventId(row.try_get("event_id")?),
        name: dom(Name::parse("name", row.try_get("name")?))?,
        price: money(row, "price_minor")?,
        sales_start: opt_from_us(row.try_get("sales_start")?)?,
        sales_end: opt_from_us(row.try_get("sales_end")?)?,
        min_per_order: row.try_get::<i64, _>("min_per_order")? as u32,
        max_per_order: row.try_get::<i64, _>("max_per_order")? as u32,
        active: row.try_get("active")?,
        sort_order: row.try_get::<i64, _>("sort_order")? as i32,
        meta: meta(row)?,
    })
}

fn uuid_list(s: Option<String>) -> StoreResult<Vec<TicketTypeId>> {
    // group_concat(hex(id)) gives 32 hex digits per id
    let Some(s) = s else { return Ok(Vec::new()) };
    let mut ids: Vec<TicketTypeId> = s
        .split(',')
        .filter(|p| !p.is_empty())
        .map(|p| Uuid::parse_str(p).map(TicketTypeId).map_err(corrupt))
        .collect::<StoreResult<_>>()?;
    ids.sort();
    Ok(ids)
}

fn quota_usage_from(row: &SqliteRow) -> StoreResult<QuotaUsage> {
    Ok(QuotaUsage {
        quota: Quota {
            id: QuotaId(row.try_get("id")?),
            event_id: EventId(row.try_get("event_id")?),
            name: dom(Name::parse("name", row.try_get("name")?))?,
            size: row.try_get::<i64, _>("size")? as u32,
            ticket_type_ids: uuid_list(row.try_get("type_ids")?)?,
            meta: meta(row)?,
        },
        taken: row.try_get::<i64, _>("taken")? as u32,
    })
}

fn opt_name(row: &SqliteRow, col: &str) -> StoreResult<Option<Name>> {
    row.try_get::<Option<String>, _>(col)?
        .map(|s| dom(Name::parse(col, &s)))
        .transpose()
}

fn order_from(row: &SqliteRow) -> StoreResult<Order> {
    Ok(Order {
        id: OrderId(row.try_get("id")?),
        code: dom(OrderCode::parse("code", row.try_get("code")?))?,
        event_id: EventId(row.try_get("event_id")?),
        buyer_name: opt_name(row, "buyer_name")?,
        buyer_email: row
            .try_get::<Option<String>, _>("buyer_email")?
            .map(|s| dom(Email::parse("buyer_email", &s)))
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
            due: opt_from_us(row.try_get("payment_due")?)?,
            paid_at: opt_from_us(row.try_get("paid_at")?)?,
            paid_by: row.try_get::<Option<Uuid>, _>("paid_by")?.map(UserId),
            paid_device: row.try_get::<Option<Uuid>, _>("paid_device")?.map(DeviceId),
            tendered_minor: row.try_get("tendered_minor")?,
            note: row.try_get("payment_note")?,
        },
        meta: meta(row)?,
    })
}

fn ticket_from(row: &SqliteRow) -> StoreResult<Ticket> {
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

fn hold_from(row: &SqliteRow, lines: Vec<Line>) -> StoreResult<Hold> {
    Ok(Hold {
        id: HoldId(row.try_get("id")?),
        event_id: EventId(row.try_get("event_id")?),
        lines,
        status: dom(HoldStatus::parse("status", row.try_get("status")?))?,
        expires_at: from_us(row.try_get("expires_at")?)?,
        created_by: UserId(row.try_get("created_by")?),
        device_id: row.try_get::<Option<Uuid>, _>("device_id")?.map(DeviceId),
        meta: meta(row)?,
    })
}

// ---- statements shared by several writes

/// The JSON texts of a change's audit details and outbox payloads. A hot write makes them in
/// its caller's task before queueing the job ([`SqliteStore::sell`]), so the writer thread,
/// which every write waits for, does not spend its time serialising.
struct ChangeTexts {
    details: Vec<String>,
    payloads: Vec<String>,
}

impl ChangeTexts {
    fn of(change: &Change) -> Self {
        ChangeTexts {
            details: change.audit.iter().map(|a| a.detail.to_string()).collect(),
            payloads: change
                .outbox
                .iter()
                .map(|o| o.payload.to_string())
                .collect(),
        }
    }
}

/// Insert the audit and outbox rows of `change`.
fn write_change(c: &Connection, change: &Change) -> StoreResult<()> {
    write_change_texts(c, change, &ChangeTexts::of(change))
}

/// Insert the audit and outbox rows of `change`, whose JSON is `texts`.
fn write_change_texts(c: &Connection, change: &Change, texts: &ChangeTexts) -> StoreResult<()> {
    if !change.audit.is_empty() {
        let mut st = c.prepare_cached(
            "insert into audit_log (id, at, user_id, device_id, action, entity, entity_id, detail)
             values (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
        )?;
        for (a, detail) in change.audit.iter().zip(&texts.details) {
            st.execute(params![
                a.id.0,
                us(a.at),
                a.user_id.map(|u| u.0),
                a.device_id.map(|d| d.0),
                a.action,
                a.entity,
                a.entity_id,
                detail,
            ])?;
        }
    }
    if !change.outbox.is_empty() {
        // Rows go in in the order given, so `seq` keeps the upload order.
        let mut st = c.prepare_cached(
            "insert into outbox (id, at, entity, entity_id, version, payload)
             values (?1, ?2, ?3, ?4, ?5, ?6)",
        )?;
        for (o, payload) in change.outbox.iter().zip(&texts.payloads) {
            st.execute(params![
                o.id,
                us(o.at),
                o.entity,
                o.entity_id,
                o.version,
                payload,
            ])?;
        }
    }
    Ok(())
}

/// After an update matched no row: tell a missing record from a stale one.
fn stale_or_missing(
    c: &Connection,
    table: &'static str,
    entity: &'static str,
    id: Uuid,
) -> StoreError {
    let sql = format!("select 1 from {table} where id = ?1");
    match c
        .prepare_cached(&sql)
        .and_then(|mut st| st.query_row([id], |_| Ok(())).optional())
    {
        Ok(Some(())) => StoreError::Stale { entity },
        Ok(None) => StoreError::NotFound { entity },
        Err(e) => e.into(),
    }
}

/// Take `n` units from each quota, in the order given (sorted by id).
fn take(c: &Connection, demand: &[(QuotaId, u32)]) -> StoreResult<()> {
    for (q, n) in demand {
        let done = c
            .prepare_cached(
                "update quotas set taken = taken + ?2 where id = ?1 and taken + ?2 <= size",
            )?
            .execute(params![q.0, *n as i64])?;
        if done == 0 {
            return Err(short_of(c, *q)?);
        }
    }
    Ok(())
}

/// Why a quota's take matched no row.
fn short_of(c: &Connection, q: QuotaId) -> StoreResult<StoreError> {
    let available: Option<i64> = c
        .prepare_cached("select size - taken from quotas where id = ?1")?
        .query_row([q.0], |r| r.get(0))
        .optional()?;
    Ok(match available {
        Some(a) => StoreError::SoldOut {
            quota_id: q,
            available: a.max(0) as u32,
        },
        None => StoreError::NotFound { entity: "quota" },
    })
}

/// Expire the event's lapsed holds (as [`sweep`] does), then take `demand` as [`take`] does.
///
/// The check for lapsed holds rides on the first quota's update, which saves the sweep's own
/// select on the hot path: taking first and giving back after ends in the same counts, and
/// when that update finds too few units the sweep runs first and the take is tried again, so a
/// sale is never refused for units a lapsed hold still had.
fn sweep_and_take(
    c: &Connection,
    event: EventId,
    now: DateTime<Utc>,
    demand: &[(QuotaId, u32)],
) -> StoreResult<()> {
    let Some(((q, n), rest)) = demand.split_first() else {
        sweep(c, Some(event), now)?;
        return Ok(());
    };
    let lapsed: Option<bool> = c
        .prepare_cached(
            "update quotas set taken = taken + ?2 where id = ?1 and taken + ?2 <= size
             returning exists(select 1 from holds
                              where status = 'active' and expires_at <= ?3 and event_id = ?4)",
        )?
        .query_row(params![q.0, *n as i64, us(now), event.0], |r| r.get(0))
        .optional()?;
    match lapsed {
        Some(false) => take(c, rest),
        Some(true) => {
            sweep(c, Some(event), now)?;
            take(c, rest)
        }
        None => {
            sweep(c, Some(event), now)?;
            take(c, demand)
        }
    }
}

fn give_back(c: &Connection, release: &[(QuotaId, u32)]) -> StoreResult<()> {
    let mut st = c.prepare_cached("update quotas set taken = taken - ?2 where id = ?1")?;
    for (q, n) in release {
        st.execute(params![q.0, *n as i64])?;
    }
    Ok(())
}

/// Give back exactly the units one hold took.
fn give_back_hold(c: &Connection, hold_id: Uuid) -> StoreResult<()> {
    c.prepare_cached(
        "update quotas set taken = taken - (
             select hq.quantity from hold_quotas hq where hq.hold_id = ?1 and hq.quota_id = quotas.id)
         where id in (select quota_id from hold_quotas where hold_id = ?1)",
    )?
    .execute([hold_id])?;
    Ok(())
}

/// Expire active holds past `now` (of one event, or all) and give their units back.
fn sweep(c: &Connection, event: Option<EventId>, now: DateTime<Utc>) -> StoreResult<u32> {
    let ids: Vec<Uuid> = c
        .prepare_cached(
            "select id from holds where status = 'active' and expires_at <= ?1
             and (?2 is null or event_id = ?2)",
        )?
        .query_map(params![us(now), event.map(|e| e.0)], |r| r.get(0))?
        .collect::<Result<_, _>>()?;
    for id in &ids {
        give_back_hold(c, *id)?;
        c.prepare_cached(
            "update holds set status = 'expired', updated_at = ?2, version = version + 1
             where id = ?1",
        )?
        .execute(params![id, us(now)])?;
    }
    Ok(ids.len() as u32)
}

fn insert_user(c: &Connection, user: &User, hash: &str) -> StoreResult<()> {
    c.prepare_cached(
        "insert into users (id, username, display_name, role, password_hash, active,
                            created_at, updated_at, version)
         values (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
    )?
    .execute(params![
        user.id.0,
        user.username.as_str(),
        user.display_name.as_str(),
        user.role.as_str(),
        hash,
        user.active,
        us(user.meta.created_at),
        us(user.meta.updated_at),
        user.meta.version,
    ])
    .map_err(|e| match StoreError::from(e) {
        StoreError::Conflict { constraint } if constraint.contains("username") => {
            StoreError::Conflict {
                constraint: "users_username_key".into(),
            }
        }
        other => other,
    })?;
    Ok(())
}

fn replace_quota_types(c: &Connection, quota: &Quota) -> StoreResult<()> {
    replace_type_links(
        c,
        "quota_ticket_types",
        "quota_id",
        quota.id.0,
        quota.event_id,
        &quota.ticket_type_ids,
    )
}

/// Make the links of `owner` in `table` (keyed by `owner_col` and `ticket_type_id`) name
/// exactly `types`. Only types of the owner's own event may be linked; a stranger is reported
/// as missing. Used for what quotas cover and what coupons apply to.
fn replace_type_links(
    c: &Connection,
    table: &'static str,
    owner_col: &'static str,
    owner: Uuid,
    event: EventId,
    types: &[TicketTypeId],
) -> StoreResult<()> {
    c.prepare_cached(&format!("delete from {table} where {owner_col} = ?1"))?
        .execute([owner])?;
    let mut st = c.prepare_cached(&format!(
        "insert or ignore into {table} ({owner_col}, ticket_type_id)
         select ?1, id from ticket_types where id = ?2 and event_id = ?3"
    ))?;
    for t in types {
        let linked = st.execute(params![owner, t.0, event.0])?;
        let known = linked == 1
            || c.prepare_cached("select 1 from ticket_types where id = ?1 and event_id = ?2")?
                .exists(params![t.0, event.0])?;
        if !known {
            return Err(StoreError::NotFound {
                entity: "ticket type",
            });
        }
    }
    Ok(())
}

async fn order_with_tickets(
    pool: &SqlitePool,
    row: Option<SqliteRow>,
) -> StoreResult<OrderWithTickets> {
    let row = row.ok_or(StoreError::NotFound { entity: "order" })?;
    let order = order_from(&row)?;
    let tickets = sqlx::query("select * from tickets where order_id = $1 order by id")
        .bind(order.id.0)
        .fetch_all(pool)
        .await?
        .iter()
        .map(ticket_from)
        .collect::<StoreResult<Vec<_>>>()?;
    Ok(OrderWithTickets { order, tickets })
}

const QUOTA_SELECT: &str = "select q.*, (select group_concat(lower(hex(qt.ticket_type_id)), ',')
                                  from quota_ticket_types qt where qt.quota_id = q.id) as type_ids
                            from quotas q";

#[async_trait]
impl Store for SqliteStore {
    fn backend(&self) -> Backend {
        Backend::Sqlite
    }

    async fn count_users(&self) -> StoreResult<u64> {
        let n: i64 = sqlx::query_scalar("select count(*) from users")
            .fetch_one(&self.read)
            .await?;
        Ok(n as u64)
    }

    async fn create_first_user(
        &self,
        user: &User,
        password_hash: &str,
        change: &Change,
    ) -> StoreResult<()> {
        let (user, hash, change) = (user.clone(), password_hash.to_string(), change.clone());
        self.write(move |c| {
            // Inside the single writer's transaction, so no other first owner can slip in.
            let n: i64 = c.query_row("select count(*) from users", [], |r| r.get(0))?;
            if n > 0 {
                return Err(StoreError::Conflict {
                    constraint: "users_exist".into(),
                });
            }
            insert_user(c, &user, &hash)?;
            write_change(c, &change)
        })
        .await
    }

    async fn create_user(
        &self,
        user: &User,
        password_hash: &str,
        change: &Change,
    ) -> StoreResult<()> {
        let (user, hash, change) = (user.clone(), password_hash.to_string(), change.clone());
        self.write(move |c| {
            insert_user(c, &user, &hash)?;
            write_change(c, &change)
        })
        .await
    }

    async fn update_user(
        &self,
        user: &User,
        expected_version: i64,
        password_hash: Option<&str>,
        change: &Change,
    ) -> StoreResult<()> {
        let (user, hash, change) = (
            user.clone(),
            password_hash.map(str::to_string),
            change.clone(),
        );
        self.write(move |c| {
            let n = c
                .prepare_cached(
                    "update users set display_name = ?2, role = ?3, active = ?4,
                         password_hash = coalesce(?5, password_hash),
                         updated_at = ?6, version = ?7
                     where id = ?1 and version = ?8",
                )?
                .execute(params![
                    user.id.0,
                    user.display_name.as_str(),
                    user.role.as_str(),
                    user.active,
                    hash,
                    us(user.meta.updated_at),
                    user.meta.version,
                    expected_version,
                ])?;
            if n == 0 {
                return Err(stale_or_missing(c, "users", "user", user.id.0));
            }
            write_change(c, &change)
        })
        .await
    }

    async fn get_user(&self, id: UserId) -> StoreResult<User> {
        let row = sqlx::query("select * from users where id = $1")
            .bind(id.0)
            .fetch_optional(&self.read)
            .await?
            .ok_or(StoreError::NotFound { entity: "user" })?;
        user_from(&row)
    }

    async fn list_users(&self) -> StoreResult<Vec<User>> {
        sqlx::query("select * from users order by username")
            .fetch_all(&self.read)
            .await?
            .iter()
            .map(user_from)
            .collect()
    }

    async fn credentials(&self, username: &str) -> StoreResult<Option<Credentials>> {
        let Some(row) = sqlx::query("select * from users where username = $1")
            .bind(username)
            .fetch_optional(&self.read)
            .await?
        else {
            return Ok(None);
        };
        Ok(Some(Credentials {
            user: user_from(&row)?,
            password_hash: row.try_get("password_hash")?,
            failed_logins: row.try_get::<i64, _>("failed_logins")? as u32,
            locked_until: opt_from_us(row.try_get("locked_until")?)?,
        }))
    }

    async fn record_login(
        &self,
        user_id: UserId,
        failed_logins: u32,
        locked_until: Option<DateTime<Utc>>,
    ) -> StoreResult<()> {
        self.write(move |c| {
            c.prepare_cached(
                "update users set failed_logins = ?2, locked_until = ?3 where id = ?1",
            )?
            .execute(params![
                user_id.0,
                failed_logins as i64,
                locked_until.map(us)
            ])?;
            Ok(())
        })
        .await
    }

    async fn create_category(&self, category: &Category, change: &Change) -> StoreResult<()> {
        let (cat, change) = (category.clone(), change.clone());
        self.write(move |c| {
            c.prepare_cached(
                "insert into categories (id, parent_id, name, created_at, updated_at, version)
                 values (?1, ?2, ?3, ?4, ?5, ?6)",
            )?
            .execute(params![
                cat.id.0,
                cat.parent_id.map(|p| p.0),
                cat.name.as_str(),
                us(cat.meta.created_at),
                us(cat.meta.updated_at),
                cat.meta.version,
            ])?;
            write_change(c, &change)
        })
        .await
    }

    async fn list_categories(&self) -> StoreResult<Vec<Category>> {
        sqlx::query("select * from categories order by name")
            .fetch_all(&self.read)
            .await?
            .iter()
            .map(category_from)
            .collect()
    }

    async fn create_event(&self, event: &Event, change: &Change) -> StoreResult<()> {
        let (e, change) = (event.clone(), change.clone());
        self.write(move |c| {
            c.prepare_cached(
                "insert into events (id, name, description, venue, starts_at, ends_at, time_zone,
                                     status, category_id, created_at, updated_at, version)
                 values (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
            )?
            .execute(params![
                e.id.0,
                e.name.as_str(),
                e.description.as_str(),
                e.venue.as_str(),
                us(e.starts_at),
                us(e.ends_at),
                e.time_zone.name(),
                e.status.as_str(),
                e.category_id.map(|c| c.0),
                us(e.meta.created_at),
                us(e.meta.updated_at),
                e.meta.version,
            ])?;
            write_change(c, &change)
        })
        .await
    }

    async fn update_event(
        &self,
        event: &Event,
        expected_version: i64,
        change: &Change,
    ) -> StoreResult<()> {
        let (e, change) = (event.clone(), change.clone());
        self.write(move |c| {
            let n = c
                .prepare_cached(
                    "update events set name = ?2, description = ?3, venue = ?4, starts_at = ?5,
                         ends_at = ?6, time_zone = ?7, status = ?8, category_id = ?9,
                         updated_at = ?10, version = ?11
                     where id = ?1 and version = ?12",
                )?
                .execute(params![
                    e.id.0,
                    e.name.as_str(),
                    e.description.as_str(),
                    e.venue.as_str(),
                    us(e.starts_at),
                    us(e.ends_at),
                    e.time_zone.name(),
                    e.status.as_str(),
                    e.category_id.map(|c| c.0),
                    us(e.meta.updated_at),
                    e.meta.version,
                    expected_version,
                ])?;
            if n == 0 {
                return Err(stale_or_missing(c, "events", "event", e.id.0));
            }
            write_change(c, &change)
        })
        .await
    }

    async fn get_event(&self, id: EventId) -> StoreResult<Event> {
        let row = sqlx::query("select * from events where id = $1")
            .bind(id.0)
            .fetch_optional(&self.read)
            .await?
            .ok_or(StoreError::NotFound { entity: "event" })?;
        event_from(&row)
    }

    async fn list_events(&self) -> StoreResult<Vec<Event>> {
        sqlx::query("select * from events order by starts_at, name")
            .fetch_all(&self.read)
            .await?
            .iter()
            .map(event_from)
            .collect()
    }

    async fn create_ticket_type(
        &self,
        ticket_type: &TicketType,
        change: &Change,
    ) -> StoreResult<()> {
        let (t, change) = (ticket_type.clone(), change.clone());
        self.write(move |c| {
            c.prepare_cached(
                "insert into ticket_types (id, event_id, name, price_minor, currency, sales_start,
                     sales_end, min_per_order, max_per_order, active, sort_order,
                     created_at, updated_at, version)
                 values (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)",
            )?
            .execute(params![
                t.id.0,
                t.event_id.0,
                t.name.as_str(),
                t.price.minor,
                t.price.currency.code(),
                t.sales_start.map(us),
                t.sales_end.map(us),
                t.min_per_order as i64,
                t.max_per_order as i64,
                t.active,
                t.sort_order as i64,
                us(t.meta.created_at),
                us(t.meta.updated_at),
                t.meta.version,
            ])?;
            write_change(c, &change)
        })
        .await
    }

    async fn update_ticket_type(
        &self,
        ticket_type: &TicketType,
        expected_version: i64,
        change: &Change,
    ) -> StoreResult<()> {
        let (t, change) = (ticket_type.clone(), change.clone());
        self.write(move |c| {
            let n = c
                .prepare_cached(
                    "update ticket_types set name = ?2, price_minor = ?3, currency = ?4,
                         sales_start = ?5, sales_end = ?6, min_per_order = ?7, max_per_order = ?8,
                         active = ?9, sort_order = ?10, updated_at = ?11, version = ?12
                     where id = ?1 and version = ?13",
                )?
                .execute(params![
                    t.id.0,
                    t.name.as_str(),
                    t.price.minor,
                    t.price.currency.code(),
                    t.sales_start.map(us),
                    t.sales_end.map(us),
                    t.min_per_order as i64,
                    t.max_per_order as i64,
                    t.active,
                    t.sort_order as i64,
                    us(t.meta.updated_at),
                    t.meta.version,
                    expected_version,
                ])?;
            if n == 0 {
                return Err(stale_or_missing(c, "ticket_types", "ticket type", t.id.0));
            }
            write_change(c, &change)
        })
        .await
    }

    async fn list_ticket_types(&self, event_id: EventId) -> StoreResult<Vec<TicketType>> {
        sqlx::query("select * from ticket_types where event_id = $1 order by sort_order, name")
            .bind(event_id.0)
            .fetch_all(&self.read)
            .await?
            .iter()
            .map(ticket_type_from)
            .collect()
    }

    async fn create_quota(&self, quota: &Quota, change: &Change) -> StoreResult<()> {
        let (q, change) = (quota.clone(), change.clone());
        self.write(move |c| {
            c.prepare_cached(
                "insert into quotas (id, event_id, name, size, taken, created_at, updated_at, version)
                 values (?1, ?2, ?3, ?4, 0, ?5, ?6, ?7)",
            )?
            .execute(params![
                q.id.0,
                q.event_id.0,
                q.name.as_str(),
                q.size as i64,
                us(q.meta.created_at),
                us(q.meta.updated_at),
                q.meta.version,
            ])?;
            replace_quota_types(c, &q)?;
            write_change(c, &change)
        })
        .await
    }

    async fn update_quota(
        &self,
        quota: &Quota,
        expected_version: i64,
        change: &Change,
    ) -> StoreResult<()> {
        let (q, change) = (quota.clone(), change.clone());
        self.write(move |c| {
            let taken: Option<i64> = c
                .prepare_cached("select taken from quotas where id = ?1")?
                .query_row([q.id.0], |r| r.get(0))
                .optional()?;
            let taken = taken.ok_or(StoreError::NotFound { entity: "quota" })?;
            if (q.size as i64) < taken {
                return Err(StoreError::QuotaBelowTaken {
                    quota_id: q.id,
                    taken: taken as u32,
                });
            }
            let n = c
                .prepare_cached(
                    "update quotas set name = ?2, size = ?3, updated_at = ?4, version = ?5
                     where id = ?1 and version = ?6",
                )?
                .execute(params![
                    q.id.0,
                    q.name.as_str(),
                    q.size as i64,
                    us(q.meta.updated_at),
                    q.meta.version,
                    expected_version,
                ])?;
            if n == 0 {
                return Err(StoreError::Stale { entity: "quota" });
            }
            replace_quota_types(c, &q)?;
            write_change(c, &change)
        })
        .await
    }

    async fn list_quotas(&self, event_id: EventId) -> StoreResult<Vec<QuotaUsage>> {
        sqlx::query(&format!(
            "{QUOTA_SELECT} where q.event_id = $1 order by q.name"
        ))
        .bind(event_id.0)
        .fetch_all(&self.read)
        .await?
        .iter()
        .map(quota_usage_from)
        .collect()
    }

    async fn create_hold(
        &self,
        hold: &Hold,
        demand: &[(QuotaId, u32)],
        change: &Change,
    ) -> StoreResult<()> {
        let (h, demand, change) = (hold.clone(), demand.to_vec(), change.clone());
        self.write(move |c| {
            sweep_and_take(c, h.event_id, h.meta.created_at, &demand)?;
            commerce::insert_hold(c, &h, &demand)?;
            write_change(c, &change)
        })
        .await
    }

    async fn release_hold(
        &self,
        hold_id: HoldId,
        now: DateTime<Utc>,
        change: &Change,
    ) -> StoreResult<()> {
        let change = change.clone();
        self.write(move |c| {
            consume_hold(c, hold_id, "released", now)?;
            write_change(c, &change)
        })
        .await
    }

    async fn get_hold(&self, hold_id: HoldId) -> StoreResult<Hold> {
        let row = sqlx::query("select * from holds where id = $1")
            .bind(hold_id.0)
            .fetch_optional(&self.read)
            .await?
            .ok_or(StoreError::NotFound { entity: "hold" })?;
        let lines =
            sqlx::query("select ticket_type_id, quantity from hold_lines where hold_id = $1")
                .bind(hold_id.0)
                .fetch_all(&self.read)
                .await?
                .iter()
                .map(|r| {
                    Ok(Line {
                        ticket_type_id: TicketTypeId(r.try_get("ticket_type_id")?),
                        quantity: r.try_get::<i64, _>("quantity")? as u32,
                    })
                })
                .collect::<StoreResult<Vec<_>>>()?;
        hold_from(&row, lines)
    }

    async fn sweep_expired_holds(&self, now: DateTime<Utc>) -> StoreResult<u32> {
        self.write(move |c| sweep(c, None, now)).await
    }

    async fn sell(&self, sale: &NewSale) -> StoreResult<()> {
        // The JSON is written and the copy of the sale freed here, in the caller's task: the
        // writer thread, which every write queues for, only runs the statements.
        let job = Arc::new((sale.clone(), ChangeTexts::of(&sale.change)));
        let theirs = job.clone();
        let done = self.write(move |c| sell_tx(c, &theirs.0, &theirs.1)).await;
        drop(job);
        done
    }

    async fn cancel(&self, cancellation: &Cancellation) -> StoreResult<()> {
        let x = cancellation.clone();
        self.write(move |c| {
            let mut st = c.prepare_cached(
                "update tickets set status = ?2, updated_at = ?3, version = ?4
                 where id = ?1 and order_id = ?5 and status = 'valid'",
            )?;
            for t in &x.tickets {
                let n = st.execute(params![
                    t.id.0,
                    t.status.as_str(),
                    us(t.meta.updated_at),
                    t.meta.version,
                    x.order.id.0,
                ])?;
                if n == 0 {
                    return Err(StoreError::Conflict {
                        constraint: "ticket_not_valid".into(),
                    });
                }
            }
            let o = &x.order;
            let n = c
                .prepare_cached(
                    "update orders set status = ?2, total_minor = ?3, updated_at = ?4, version = ?5
                     where id = ?1 and version = ?6",
                )?
                .execute(params![
                    o.id.0,
                    o.status.as_str(),
                    o.total.minor,
                    us(o.meta.updated_at),
                    o.meta.version,
                    x.expected_version,
                ])?;
            if n == 0 {
                return Err(stale_or_missing(c, "orders", "order", o.id.0));
            }
            give_back(c, &x.release)?;
            door::insert_revocations(c, &x.revoke)?;
            report::insert_refunds(c, &x.refunds)?;
            if let Some(coupon) = x.coupon_release {
                commerce::give_coupon_use_back(c, coupon)?;
            }
            write_change(c, &x.change)
        })
        .await
    }

    async fn get_order(&self, id: OrderId) -> StoreResult<OrderWithTickets> {
        let row = sqlx::query("select * from orders where id = $1")
            .bind(id.0)
            .fetch_optional(&self.read)
            .await?;
        order_with_tickets(&self.read, row).await
    }

    async fn get_order_by_code(&self, code: &str) -> StoreResult<OrderWithTickets> {
        let row = sqlx::query("select * from orders where code = $1")
            .bind(code)
            .fetch_optional(&self.read)
            .await?;
        order_with_tickets(&self.read, row).await
    }

    async fn get_order_of_ticket(&self, ticket_id: TicketId) -> StoreResult<OrderWithTickets> {
        let row = sqlx::query(
            "select o.* from orders o join tickets t on t.order_id = o.id where t.id = $1",
        )
        .bind(ticket_id.0)
        .fetch_optional(&self.read)
        .await?;
        order_with_tickets(&self.read, row).await
    }

    async fn search_orders(&self, query: &OrderQuery) -> StoreResult<Vec<Order>> {
        let text = query
            .text
            .as_deref()
            .map(str::trim)
            .filter(|t| !t.is_empty());
        let pattern = text.map(|t| format!("%{}%", escape_like(t)));
        let code_prefix = text.map(|t| format!("{}%", escape_like(&t.to_uppercase())));
        sqlx::query(
            "select * from orders
             where ($1 is null or event_id = $1)
               and ($2 is null
                    or code like $3 escape '\\'
                    or buyer_name like $2 escape '\\'
                    or buyer_email like $2 escape '\\')
             order by created_at desc, id desc
             limit $4",
        )
        .bind(query.event_id.map(|e| e.0))
        .bind(pattern)
        .bind(code_prefix)
        .bind(query.limit.clamp(1, 500) as i64)
        .fetch_all(&self.read)
        .await?
        .iter()
        .map(order_from)
        .collect()
    }

    async fn ticket_quotas(&self, tickets: &[TicketId]) -> StoreResult<Vec<(TicketId, QuotaId)>> {
        let mut out = Vec::new();
        // Cancellations name a handful of tickets; one indexed look-up each is cheap.
        for t in tickets {
            let rows: Vec<Uuid> =
                sqlx::query_scalar("select quota_id from ticket_quotas where ticket_id = $1")
                    .bind(t.0)
                    .fetch_all(&self.read)
                    .await?;
            out.extend(rows.into_iter().map(|q| (*t, QuotaId(q))));
        }
        Ok(out)
    }

    async fn put_event_key(
        &self,
        key: &EventKey,
        secret: Option<[u8; 32]>,
        change: &Change,
    ) -> StoreResult<()> {
        let (k, change) = (key.clone(), change.clone());
        self.write(move |c| door::put_event_key(c, &k, secret, &change))
            .await
    }

    async fn event_keys(&self, event_id: EventId) -> StoreResult<Vec<EventKey>> {
        sqlx::query("select * from event_keys where event_id = $1 order by key_id")
            .bind(event_id.0)
            .fetch_all(&self.read)
            .await?
            .iter()
            .map(door::event_key_from)
            .collect()
    }

    async fn signing_key(&self, event_id: EventId) -> StoreResult<Option<(KeyId, [u8; 32])>> {
        door::signing_key(&self.read, event_id).await
    }

    async fn ticket_secret(&self, ticket_id: TicketId) -> StoreResult<Option<IssuedSecret>> {
        sqlx::query("select * from ticket_secrets where ticket_id = $1")
            .bind(ticket_id.0)
            .fetch_optional(&self.read)
            .await?
            .as_ref()
            .map(door::issued_from)
            .transpose()
    }

    async fn put_ticket_secret(
        &self,
        issued: &IssuedSecret,
        revoke: Option<&Revocation>,
        change: &Change,
    ) -> StoreResult<()> {
        let (i, r, change) = (issued.clone(), revoke.cloned(), change.clone());
        self.write(move |c| door::put_ticket_secret(c, &i, r.as_ref(), &change))
            .await
    }

    async fn add_revocations(
        &self,
        revocations: &[Revocation],
        change: &Change,
    ) -> StoreResult<()> {
        let (r, change) = (revocations.to_vec(), change.clone());
        self.write(move |c| {
            door::insert_revocations(c, &r)?;
            write_change(c, &change)
        })
        .await
    }

    async fn revocations(&self, event_id: EventId) -> StoreResult<Vec<Revocation>> {
        sqlx::query("select * from revocations where event_id = $1 order by at")
            .bind(event_id.0)
            .fetch_all(&self.read)
            .await?
            .iter()
            .map(door::revocation_from)
            .collect()
    }

    async fn set_block(
        &self,
        event_id: EventId,
        ticket_id: TicketId,
        block: Option<&Block>,
        change: &Change,
    ) -> StoreResult<()> {
        let (b, change) = (block.cloned(), change.clone());
        self.write(move |c| door::set_block(c, event_id, ticket_id, b.as_ref(), &change))
            .await
    }

    async fn blocks(&self, event_id: EventId) -> StoreResult<Vec<Block>> {
        sqlx::query("select * from blocks where event_id = $1 order by at")
            .bind(event_id.0)
            .fetch_all(&self.read)
            .await?
            .iter()
            .map(door::block_from)
            .collect()
    }

    async fn create_checkin_list(&self, list: &CheckinList, change: &Change) -> StoreResult<()> {
        let (l, change) = (list.clone(), change.clone());
        self.write(move |c| door::upsert_list(c, &l, false, &change))
            .await
    }

    async fn update_checkin_list(
        &self,
        list: &CheckinList,
        expected_version: i64,
        change: &Change,
    ) -> StoreResult<()> {
        let (l, change) = (list.clone(), change.clone());
        self.write(move |c| door::update_list(c, &l, expected_version, &change))
            .await
    }

    async fn get_checkin_list(&self, id: CheckinListId) -> StoreResult<CheckinList> {
        let row = sqlx::query("select * from checkin_lists where id = $1")
            .bind(id.0)
            .fetch_optional(&self.read)
            .await?
            .ok_or(StoreError::NotFound {
                entity: "checkin list",
            })?;
        door::list_from(&row)
    }

    async fn list_checkin_lists(&self, event_id: EventId) -> StoreResult<Vec<CheckinList>> {
        sqlx::query("select * from checkin_lists where event_id = $1 order by name")
            .bind(event_id.0)
            .fetch_all(&self.read)
            .await?
            .iter()
            .map(door::list_from)
            .collect()
    }

    async fn import_event(&self, event: &Event, change: &Change) -> StoreResult<()> {
        let (e, change) = (event.clone(), change.clone());
        self.write(move |c| door::import_event(c, &e, &change))
            .await
    }

    async fn import_checkin_list(&self, list: &CheckinList, change: &Change) -> StoreResult<()> {
        let (l, change) = (list.clone(), change.clone());
        self.write(move |c| door::upsert_list(c, &l, true, &change))
            .await
    }

    async fn redeem(&self, attempt: &ScanAttempt, decide: Decide) -> StoreResult<ScanOutcome> {
        let a = attempt.clone();
        self.write_as(Durability::Scan, move |c| door::redeem(c, &a, &decide))
            .await
    }

    async fn list_scans(
        &self,
        list_id: CheckinListId,
        ticket_id: Option<TicketId>,
        limit: u32,
    ) -> StoreResult<Vec<ScanRecord>> {
        sqlx::query(
            "select * from scans where list_id = $1 and ($2 is null or ticket_id = $2)
             order by at desc, recorded_at desc limit $3",
        )
        .bind(list_id.0)
        .bind(ticket_id.map(|t| t.0))
        .bind(limit.clamp(1, 10_000) as i64)
        .fetch_all(&self.read)
        .await?
        .iter()
        .map(door::scan_from)
        .collect()
    }

    async fn checkin_counts(&self, list_id: CheckinListId) -> StoreResult<(u64, u64)> {
        door::checkin_counts(&self.read, list_id).await
    }

    async fn sales_summary(&self, since: DateTime<Utc>) -> StoreResult<Vec<crate::EventSales>> {
        report::sales_summary(&self.read, us(since)).await
    }

    // ---- reports and exports (sqlite/report.rs)

    async fn sales_buckets(
        &self,
        event_id: EventId,
        bucket_secs: u32,
    ) -> StoreResult<Vec<SalesBucket>> {
        report::sales_buckets(&self.read, event_id, bucket_secs).await
    }

    async fn revenue(&self, event_id: EventId) -> StoreResult<Vec<RevenueRow>> {
        report::revenue(&self.read, event_id).await
    }

    async fn door_buckets(
        &self,
        event_id: EventId,
        bucket_secs: u32,
    ) -> StoreResult<Vec<DoorBucket>> {
        report::door_buckets(&self.read, event_id, bucket_secs).await
    }

    async fn shift_totals(&self, query: &ShiftQuery) -> StoreResult<Vec<ShiftRow>> {
        report::shift_totals(&self.read, query).await
    }

    async fn refunds_of_order(&self, order_id: OrderId) -> StoreResult<Vec<Refund>> {
        report::refunds_of_order(&self.read, order_id).await
    }

    async fn export_counts(&self, event_id: EventId) -> StoreResult<ExportCounts> {
        report::export_counts(&self.read, event_id).await
    }

    async fn export_orders(
        &self,
        event_id: EventId,
        after: Option<OrderId>,
        limit: u32,
    ) -> StoreResult<Vec<Order>> {
        report::export_orders(&self.read, event_id, after, limit).await
    }

    async fn export_attendees(
        &self,
        event_id: EventId,
        after: Option<TicketId>,
        limit: u32,
    ) -> StoreResult<Vec<AttendeeRow>> {
        report::export_attendees(&self.read, event_id, after, limit).await
    }

    async fn export_scans(
        &self,
        event_id: EventId,
        after: Option<ScanId>,
        limit: u32,
    ) -> StoreResult<Vec<ScanRecord>> {
        report::export_scans(&self.read, event_id, after, limit).await
    }

    // ---- commerce (sqlite/commerce.rs)

    async fn create_coupon(&self, coupon: &Coupon, change: &Change) -> StoreResult<()> {
        self.create_coupon_impl(coupon, change).await
    }
    async fn update_coupon(
        &self,
        coupon: &Coupon,
        expected_version: i64,
        change: &Change,
    ) -> StoreResult<()> {
        self.update_coupon_impl(coupon, expected_version, change)
            .await
    }
    async fn get_coupon(&self, id: CouponId) -> StoreResult<Coupon> {
        self.get_coupon_impl(id).await
    }
    async fn coupon_by_code(&self, event_id: EventId, code: &str) -> StoreResult<Option<Coupon>> {
        self.coupon_by_code_impl(event_id, code).await
    }
    async fn list_coupons(&self, event_id: EventId) -> StoreResult<Vec<Coupon>> {
        self.list_coupons_impl(event_id).await
    }
    async fn overdue_orders(&self, now: DateTime<Utc>, limit: u32) -> StoreResult<Vec<OrderId>> {
        self.overdue_orders_impl(now, limit).await
    }
    async fn record_payment(
        &self,
        order: &Order,
        expected_version: i64,
        change: &Change,
    ) -> StoreResult<()> {
        self.record_payment_impl(order, expected_version, change)
            .await
    }
    async fn reinstate_order(&self, reinstatement: &Reinstatement) -> StoreResult<()> {
        self.reinstate_order_impl(reinstatement).await
    }
    async fn add_waitlist(&self, entry: &WaitlistEntry, change: &Change) -> StoreResult<()> {
        self.add_waitlist_impl(entry, change).await
    }
    async fn get_waitlist_entry(&self, id: WaitlistId) -> StoreResult<WaitlistEntry> {
        self.get_waitlist_entry_impl(id).await
    }
    async fn list_waitlist(&self, event_id: EventId) -> StoreResult<Vec<WaitlistEntry>> {
        self.list_waitlist_impl(event_id).await
    }
    async fn offer_waitlist(
        &self,
        entry: &WaitlistEntry,
        expected_version: i64,
        hold: &Hold,
        demand: &[(QuotaId, u32)],
        mail: Option<&MailMessage>,
        change: &Change,
    ) -> StoreResult<()> {
        self.offer_waitlist_impl(entry, expected_version, hold, demand, mail, change)
            .await
    }
    async fn update_waitlist(
        &self,
        entry: &WaitlistEntry,
        expected_version: i64,
        change: &Change,
    ) -> StoreResult<()> {
        self.update_waitlist_impl(entry, expected_version, change)
            .await
    }
    async fn open_shift(&self, shift: &Shift, change: &Change) -> StoreResult<()> {
        self.open_shift_impl(shift, change).await
    }
    async fn close_shift(
        &self,
        shift: &Shift,
        expected_version: i64,
        change: &Change,
    ) -> StoreResult<()> {
        self.close_shift_impl(shift, expected_version, change).await
    }
    async fn open_shift_of(&self, user_id: UserId) -> StoreResult<Option<Shift>> {
        self.open_shift_of_impl(user_id).await
    }
    async fn list_shifts(&self, user_id: Option<UserId>, limit: u32) -> StoreResult<Vec<Shift>> {
        self.list_shifts_impl(user_id, limit).await
    }
    async fn enqueue_mail(&self, message: &MailMessage, change: &Change) -> StoreResult<()> {
        self.enqueue_mail_impl(message, change).await
    }
    async fn due_mail(&self, now: DateTime<Utc>, limit: u32) -> StoreResult<Vec<MailMessage>> {
        self.due_mail_impl(now, limit).await
    }
    async fn update_mail(&self, message: &MailMessage, expected_version: i64) -> StoreResult<bool> {
        self.update_mail_impl(message, expected_version).await
    }
    async fn mail_of_order(&self, order_id: OrderId) -> StoreResult<Vec<MailMessage>> {
        self.mail_of_order_impl(order_id).await
    }
    async fn get_mail(&self, id: MailId) -> StoreResult<MailMessage> {
        self.get_mail_impl(id).await
    }

    async fn import_sales(&self, sales: &[NewSale]) -> StoreResult<()> {
        if sales.is_empty() {
            return Ok(());
        }
        // One writer job, so one transaction (or savepoint of one) holds every sale or none:
        // the first sale that fails ends the job and takes the others back with it.
        let sales = sales.to_vec();
        self.write(move |c| import_tx(c, &sales)).await
    }

    async fn changes_since(&self, cursor: &str, limit: u32) -> StoreResult<crate::ChangePage> {
        let after: i64 = if cursor.is_empty() {
            0
        } else {
            cursor.parse().map_err(|_| StoreError::NotFound {
                entity: "sync cursor",
            })?
        };
        let rows = self.list_outbox(after, limit.saturating_add(1)).await?;
        let more = rows.len() > limit as usize;
        let rows = &rows[..rows.len().min(limit as usize)];
        Ok(crate::ChangePage {
            next_cursor: rows
                .last()
                .map_or_else(|| cursor.to_string(), |(seq, _)| seq.to_string()),
            changes: rows.iter().map(|(_, e)| e.clone()).collect(),
            more,
            // One writer: a row is in the outbox only once committed, in commit order.
            held_back: false,
        })
    }

    async fn apply_upload(
        &self,
        _device: DeviceId,
        _entries: &[OutboxEntry],
        _now: DateTime<Utc>,
    ) -> StoreResult<Vec<crate::UploadOutcome>> {
        Err(server_only())
    }

    async fn move_allocation(&self, _m: &crate::AllocationMove) -> StoreResult<i64> {
        Err(server_only())
    }

    async fn allocations_of(&self, _device: DeviceId) -> StoreResult<Vec<(QuotaId, i64)>> {
        Err(server_only())
    }

    async fn sync_conflicts(&self, _limit: u32) -> StoreResult<Vec<crate::SyncConflict>> {
        Err(server_only())
    }

    async fn double_admissions(&self, _limit: u32) -> StoreResult<Vec<crate::DoubleAdmission>> {
        Err(server_only())
    }

    async fn apply_downloaded(&self, changes: &[OutboxEntry]) -> StoreResult<u32> {
        let changes = changes.to_vec();
        self.write(move |c| sync::apply_downloaded(c, &changes))
            .await
    }

    async fn record_grant(
        &self,
        id: Uuid,
        quota: QuotaId,
        units: i64,
        confirmed: bool,
        now: DateTime<Utc>,
    ) -> StoreResult<bool> {
        self.write(move |c| sync::record_grant(c, id, quota, units, confirmed, now))
            .await
    }

    async fn unconfirmed_returns(&self) -> StoreResult<Vec<(Uuid, QuotaId, i64)>> {
        self.write(sync::unconfirmed_returns).await
    }

    async fn spare_units(&self, quota: QuotaId) -> StoreResult<i64> {
        sqlx::query_scalar("select size - taken from quotas where id = $1")
            .bind(quota.0)
            .fetch_optional(&self.read)
            .await?
            .ok_or(StoreError::NotFound { entity: "quota" })
    }

    async fn sync_value(&self, key: &str) -> StoreResult<Option<String>> {
        Ok(
            sqlx::query_scalar("select value from sync_state where key = $1")
                .bind(key)
                .fetch_optional(&self.read)
                .await?,
        )
    }

    async fn set_sync_value(&self, key: &str, value: &str) -> StoreResult<()> {
        let (key, value) = (key.to_string(), value.to_string());
        self.write(move |c| {
            c.prepare_cached(
                "insert into sync_state (key, value) values (?1, ?2)
                 on conflict (key) do update set value = excluded.value",
            )?
            .execute(params![key, value])?;
            Ok(())
        })
        .await
    }

    async fn list_audit(&self, limit: u32) -> StoreResult<Vec<AuditEntry>> {
        sqlx::query("select * from audit_log order by at desc, id desc limit $1")
            .bind(limit.clamp(1, 10_000) as i64)
            .fetch_all(&self.read)
            .await?
            .iter()
            .map(|r| {
                Ok(AuditEntry {
                    id: AuditId(r.try_get("id")?),
                    at: from_us(r.try_get("at")?)?,
                    user_id: r.try_get::<Option<Uuid>, _>("user_id")?.map(UserId),
                    device_id: r.try_get::<Option<Uuid>, _>("device_id")?.map(DeviceId),
                    action: r.try_get("action")?,
                    entity: r.try_get("entity")?,
                    entity_id: r.try_get("entity_id")?,
                    detail: serde_json::from_str(r.try_get("detail")?).map_err(corrupt)?,
                })
            })
            .collect()
    }

    async fn list_outbox(
        &self,
        after_seq: i64,
        limit: u32,
    ) -> StoreResult<Vec<(i64, OutboxEntry)>> {
        sqlx::query("select * from outbox where seq > $1 order by seq limit $2")
            .bind(after_seq)
            .bind(limit.clamp(1, 10_000) as i64)
            .fetch_all(&self.read)
            .await?
            .iter()
            .map(|r| {
                Ok((
                    r.try_get("seq")?,
                    OutboxEntry {
                        id: r.try_get("id")?,
                        at: from_us(r.try_get("at")?)?,
                        entity: r.try_get("entity")?,
                        entity_id: r.try_get("entity_id")?,
                        version: r.try_get("version")?,
                        payload: serde_json::from_str(r.try_get("payload")?).map_err(corrupt)?,
                    },
                ))
            })
            .collect()
    }

    // ---- devices, pairing codes and bearer tokens (sqlite/devices.rs)

    async fn create_pairing_code(
        &self,
        code: &crate::PairingCodeRecord,
        change: &Change,
    ) -> StoreResult<()> {
        self.devices_create_pairing_code(code, change).await
    }
    async fn pairing_code(
        &self,
        code_hash: &admit_core::device::SecretHash,
    ) -> StoreResult<Option<crate::PairingCodeRecord>> {
        self.devices_pairing_code(code_hash).await
    }
    async fn pair_device(&self, pairing: &crate::NewPairing) -> StoreResult<()> {
        self.devices_pair_device(pairing).await
    }
    async fn get_device(&self, id: DeviceId) -> StoreResult<admit_core::device::Device> {
        self.devices_get_device(id).await
    }
    async fn list_devices(&self) -> StoreResult<Vec<admit_core::device::Device>> {
        self.devices_list_devices().await
    }
    async fn revoke_device(
        &self,
        device: &admit_core::device::Device,
        expected_version: i64,
        change: &Change,
    ) -> StoreResult<()> {
        self.devices_revoke_device(device, expected_version, change)
            .await
    }
    async fn touch_device(&self, id: DeviceId, at: DateTime<Utc>) -> StoreResult<()> {
        self.devices_touch_device(id, at).await
    }
    async fn create_api_token(&self, token: &crate::ApiToken, change: &Change) -> StoreResult<()> {
        self.devices_create_api_token(token, change).await
    }
    async fn token_holder(
        &self,
        token_hash: &admit_core::device::SecretHash,
    ) -> StoreResult<Option<crate::TokenHolder>> {
        self.devices_token_holder(token_hash).await
    }
    async fn revoke_api_token(
        &self,
        id: Uuid,
        at: DateTime<Utc>,
        change: &Change,
    ) -> StoreResult<bool> {
        self.devices_revoke_api_token(id, at, change).await
    }
    async fn ping(&self) -> StoreResult<()> {
        self.devices_ping().await
    }
}

/// `%`, `_` and `\` typed by a user match themselves.
fn escape_like(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for ch in s.chars() {
        if matches!(ch, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(ch);
    }
    out
}

/// Move an active hold to `status`, giving its units back.
fn consume_hold(
    c: &Connection,
    hold_id: HoldId,
    status: &str,
    now: DateTime<Utc>,
) -> StoreResult<()> {
    let current: Option<String> = c
        .prepare_cached("select status from holds where id = ?1")?
        .query_row([hold_id.0], |r| r.get(0))
        .optional()?;
    match current.as_deref() {
        None => return Err(StoreError::NotFound { entity: "hold" }),
        Some("active") => {}
        Some(s) => {
            return Err(StoreError::HoldNotActive {
                status: s.to_string(),
            })
        }
    }
    give_back_hold(c, hold_id.0)?;
    c.prepare_cached(
        "update holds set status = ?2, updated_at = ?3, version = version + 1 where id = ?1",
    )?
    .execute(params![hold_id.0, status, us(now)])?;
    Ok(())
}

/// Many sales in the writer's transaction, settled in the same order as on PostgreSQL (see
/// `postgres/sale.rs`), so a batch fits on one backend exactly when it fits on the other: the
/// holds the sales consume first (by hold id, each after its event's overdue holds are swept as
/// of that sale's time), then every event swept as of its latest sale, then each sale through
/// [`sell_tx`] (its hold already consumed).
fn import_tx(c: &Connection, sales: &[NewSale]) -> StoreResult<()> {
    let mut holds: Vec<(HoldId, EventId, DateTime<Utc>)> = sales
        .iter()
        .filter_map(|s| {
            s.hold
                .map(|h| (h, s.order.event_id, s.order.meta.created_at))
        })
        .collect();
    holds.sort_by_key(|(h, _, _)| *h);
    for (hold, event, now) in holds {
        sweep(c, Some(event), now)?;
        consume_hold(c, hold, "consumed", now)?;
    }
    let mut latest: std::collections::BTreeMap<EventId, DateTime<Utc>> = Default::default();
    for s in sales {
        let at = latest
            .entry(s.order.event_id)
            .or_insert(s.order.meta.created_at);
        *at = (*at).max(s.order.meta.created_at);
    }
    for (event, now) in latest {
        sweep(c, Some(event), now)?;
    }
    for s in sales {
        let texts = ChangeTexts::of(&s.change);
        match s.hold {
            None => sell_tx(c, s, &texts)?,
            Some(_) => sell_tx(
                c,
                &NewSale {
                    hold: None,
                    ..s.clone()
                },
                &texts,
            )?,
        }
    }
    Ok(())
}

/// One sale in the writer's transaction; `texts` is the JSON of `sale.change`.
fn sell_tx(c: &Connection, sale: &NewSale, texts: &ChangeTexts) -> StoreResult<()> {
    let o = &sale.order;
    let now = o.meta.created_at;
    match sale.hold {
        // The sweep must come first here: a lapsed hold is expired, not consumed.
        Some(h) => {
            sweep(c, Some(o.event_id), now)?;
            consume_hold(c, h, "consumed", now)?;
            take(c, &sale.demand)?;
        }
        None => sweep_and_take(c, o.event_id, now, &sale.demand)?,
    }
    c.prepare_cached(insert_order_sql!())?
        .execute(order_params!(o))
        .map_err(|e| match StoreError::from(e) {
            StoreError::Conflict { constraint } if constraint.contains("code") => {
                StoreError::Conflict {
                    constraint: "orders_code_key".into(),
                }
            }
            other => other,
        })?;
    let mut st = c.prepare_cached(
        "insert into tickets (id, order_id, event_id, ticket_type_id, price_minor, currency,
                              attendee_name, status, created_at, updated_at, version)
         values (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
    )?;
    for t in &sale.tickets {
        st.execute(params![
            t.id.0,
            t.order_id.0,
            t.event_id.0,
            t.ticket_type_id.0,
            t.price.minor,
            t.price.currency.code(),
            t.attendee_name.as_ref().map(Name::as_str),
            t.status.as_str(),
            us(t.meta.created_at),
            us(t.meta.updated_at),
            t.meta.version,
        ])?;
    }
    let mut st =
        c.prepare_cached("insert into ticket_quotas (ticket_id, quota_id) values (?1, ?2)")?;
    for (t, q) in &sale.ticket_quotas {
        st.execute(params![t.0, q.0])?;
    }
    if let Some(coupon) = o.coupon_id {
        commerce::take_coupon_use(c, coupon)?;
    }
    if let Some(entry) = sale.waitlist_entry {
        commerce::waitlist_sold(c, entry, o.id, now)?;
    }
    if let Some(mail) = &sale.mail {
        commerce::insert_mail(c, mail)?;
    }
    write_change_texts(c, &sale.change, texts)
}

/// What a store answers when asked to act as a server it is not.
fn server_only() -> StoreError {
    StoreError::Other("only an Admit server's PostgreSQL store does this".into())
}

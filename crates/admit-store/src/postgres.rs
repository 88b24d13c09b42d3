//! The PostgreSQL backend: several desktops on one LAN sharing a database, and the server.
//!
//! Transactions run at READ COMMITTED. Optimistic updates name the version they read; stock
//! moves through conditional updates on quota rows locked in a fixed order (see
//! `postgres/stock.rs`). A transaction that still fails with a serialization failure or a
//! deadlock is run again from the start a few times before the caller hears
//! [`StoreError::Busy`].
//!
//! Each write sends as few statements as it can: rows go in with one `insert … select from
//! unnest(…)` per table, and the statement that locks quotas comes last, so the hot rows stay
//! locked only for it and the commit. The common sale (no hold to consume, no overdue hold to
//! sweep, no coupon, waiting-list offer or mail) is a single autocommitted statement that does
//! all of that (`postgres/sale.rs`), and concurrent common sales of a quota share one: while a
//! statement holding the quota is in flight the next ones wait, and one statement then sells
//! them all with one commit (`postgres/batch.rs`).

mod batch;
mod commerce;
mod devices;
mod door;
mod report;
mod rows;
mod sale;
mod stock;
mod sync;
#[cfg(test)]
mod tests;

use std::future::Future;
use std::hash::{BuildHasher, Hasher};
use std::str::FromStr;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{PgConnection, PgPool, Postgres, Transaction};
use tokio::sync::Semaphore;
use uuid::Uuid;

use admit_core::audit::{AuditEntry, Change, OutboxEntry};
use admit_core::checkin::CheckinList;
use admit_core::commerce::{Coupon, MailMessage, Shift, WaitlistEntry};
use admit_core::model::*;
use admit_core::secret::KeyId;
use admit_core::*;

use crate::{
    AttendeeRow, Backend, Block, Cancellation, Credentials, Decide, DoorBucket, EventKey,
    ExportCounts, IssuedSecret, NewSale, OrderQuery, Refund, Reinstatement, RevenueRow, Revocation,
    SalesBucket, ScanAttempt, ScanOutcome, ScanRecord, ShiftQuery, ShiftRow, Store, StoreError,
    StoreResult,
};
use batch::{Plain, PlainSales};
use rows::int4;
use sale::{quick_path_applies, sell_plain, QuickSale};
use stock::{move_stock, StockMove, Sweep};

pub static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("../../migrations/postgres");

/// Enough to keep many quotas' sales in flight at once while a commit waits for its flush;
/// one hot quota is bounded separately ([`WRITERS_PER_STRIPE`]). Common sales use a pool of
/// their own on top (`postgres/batch.rs`, [`batch::LANES`] connections): 32 in all.
const MAX_CONNECTIONS: u32 = 32 - batch::LANES as u32;
/// How long a caller waits for a free connection; also the budget for retrying a transaction.
const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(5);
/// Attempts at a transaction that keeps failing with a serialization failure or deadlock.
const MAX_ATTEMPTS: u32 = 8;
/// Stock writers on the quotas of one stripe allowed at once. MEASURED.md: beyond ~8 writers
/// on one hot quota row, throughput drops by half and p99 grows tenfold; queueing in the
/// process is cheaper. The bound is per quota (by stripe), not per store: sales of different
/// quotas do not wait for each other's locks and must not wait for each other's permits.
const WRITERS_PER_STRIPE: usize = 8;
/// Quotas map to this many stripes by id; two quotas sharing one only share its permits.
const STRIPES: usize = 256;
/// Key of the transaction-level advisory lock that serialises "create the first owner".
const FIRST_USER_LOCK: i64 = 0x6164_6d69_745f_7531; // "admit_u1"
/// Most rows one search, audit or outbox read returns.
const MAX_SEARCH: u32 = 500;
const MAX_LIST: u32 = 10_000;

pub struct PgStore {
    pool: PgPool,
    stock_writers: Vec<Semaphore>,
    /// Group commit of common sales (`postgres/batch.rs`).
    plain: PlainSales,
}

impl PgStore {
    /// Connect to the database a `postgres://` URL names and bring its schema up to date.
    pub async fn connect(url: &str) -> StoreResult<Self> {
        let options = PgConnectOptions::from_str(url)?.application_name("admit");
        let pool = PgPoolOptions::new()
            .max_connections(MAX_CONNECTIONS)
            .acquire_timeout(ACQUIRE_TIMEOUT)
            .idle_timeout(Some(Duration::from_secs(300)))
            // sqlx pings every connection as it goes back to the pool; pinging again on the
            // way out would add a round trip to every sale.
            .test_before_acquire(false)
            .connect_with(options.clone())
            .await?;
        MIGRATOR.run(&pool).await?;
        Ok(PgStore {
            plain: PlainSales::new(&options),
            pool,
            stock_writers: (0..STRIPES)
                .map(|_| Semaphore::new(WRITERS_PER_STRIPE))
                .collect(),
        })
    }

    pub fn pool(&self) -> &PgPool {
        &self.pool
    }

    async fn begin(&self) -> StoreResult<Transaction<'static, Postgres>> {
        Ok(self.pool.begin().await?)
    }

    /// Run a stock-moving write on `quotas` with at most [`WRITERS_PER_STRIPE`] others per
    /// stripe of them. Permits are taken in stripe order, so two writers never wait for each
    /// other's; the row locks (not these permits) are what keeps stock right, so writes whose
    /// quotas are not known up front (sweeps, releasing a hold) take none.
    async fn stock_write<T, F, Fut>(
        &self,
        what: &'static str,
        quotas: impl IntoIterator<Item = QuotaId>,
        attempt: F,
    ) -> StoreResult<T>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = StoreResult<T>>,
    {
        let mut stripes: Vec<usize> = quotas
            .into_iter()
            .map(|q| (q.0.as_u128() % STRIPES as u128) as usize)
            .collect();
        stripes.sort_unstable();
        stripes.dedup();
        let mut permits = Vec::with_capacity(stripes.len());
        for s in stripes {
            permits.push(
                self.stock_writers[s]
                    .acquire()
                    .await
                    .map_err(|_| StoreError::Other("the store is closed".into()))?,
            );
        }
        retrying(what, attempt).await
    }
}

/// Run `attempt` (which opens, fills and commits its own transaction) again while it fails
/// with a serialization failure or deadlock, up to [`MAX_ATTEMPTS`] times and within
/// [`ACQUIRE_TIMEOUT`] (a pool that timed out reports `Busy` too, and must not be waited on
/// eight times over).
async fn retrying<T, F, Fut>(what: &'static str, mut attempt: F) -> StoreResult<T>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = StoreResult<T>>,
{
    let started = Instant::now();
    let mut tries = 1;
    loop {
        match attempt().await {
            Err(StoreError::Busy)
                if tries < MAX_ATTEMPTS && started.elapsed() < ACQUIRE_TIMEOUT =>
            {
                let pause = backoff(tries);
                tracing::debug!(
                    what,
                    tries,
                    ?pause,
                    "serialization failure or deadlock; trying again"
                );
                tokio::time::sleep(pause).await;
                tries += 1;
            }
            other => return other,
        }
    }
}

/// Up to 2 ms after the first failure, doubling up to 64 ms, with full jitter so that the
/// transactions that just collided do not collide again in step.
fn backoff(tries: u32) -> Duration {
    let ceiling = 1u64 << tries.min(6);
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u32(tries);
    Duration::from_micros(h.finish() % (ceiling * 1000) + 100)
}

/// Write the change's audit entries and outbox rows, both tables in one statement.
async fn record_change(conn: &mut PgConnection, change: &Change) -> StoreResult<()> {
    if change.audit.is_empty() && change.outbox.is_empty() {
        return Ok(());
    }
    let a = &change.audit;
    let o = &change.outbox;
    sqlx::query(
        "with audit as (
             insert into audit_log (id, at, user_id, device_id, action, entity, entity_id, detail)
             select * from unnest($1::uuid[], $2::timestamptz[], $3::uuid[], $4::uuid[], $5::text[],
                                  $6::text[], $7::uuid[], $8::jsonb[])
         )
         insert into outbox (id, at, entity, entity_id, version, payload)
         select * from unnest($9::uuid[], $10::timestamptz[], $11::text[], $12::uuid[], $13::int8[],
                              $14::jsonb[])",
    )
    .bind(a.iter().map(|e| e.id.0).collect::<Vec<_>>())
    .bind(a.iter().map(|e| e.at).collect::<Vec<_>>())
    .bind(a.iter().map(|e| e.user_id.map(|u| u.0)).collect::<Vec<_>>())
    .bind(
        a.iter()
            .map(|e| e.device_id.map(|d| d.0))
            .collect::<Vec<_>>(),
    )
    .bind(a.iter().map(|e| e.action.as_str()).collect::<Vec<_>>())
    .bind(a.iter().map(|e| e.entity.as_str()).collect::<Vec<_>>())
    .bind(a.iter().map(|e| e.entity_id).collect::<Vec<_>>())
    .bind(a.iter().map(|e| &e.detail).collect::<Vec<_>>())
    .bind(o.iter().map(|e| e.id).collect::<Vec<_>>())
    .bind(o.iter().map(|e| e.at).collect::<Vec<_>>())
    .bind(o.iter().map(|e| e.entity.as_str()).collect::<Vec<_>>())
    .bind(o.iter().map(|e| e.entity_id).collect::<Vec<_>>())
    .bind(o.iter().map(|e| e.version).collect::<Vec<_>>())
    .bind(o.iter().map(|e| &e.payload).collect::<Vec<_>>())
    .execute(&mut *conn)
    .await?;
    Ok(())
}

async fn commit(mut tx: Transaction<'static, Postgres>, change: &Change) -> StoreResult<()> {
    record_change(&mut tx, change).await?;
    tx.commit().await?;
    Ok(())
}

/// After a versioned update matched no row: tell a missing record from a stale one.
async fn stale_or_missing(
    conn: &mut PgConnection,
    table: &'static str,
    entity: &'static str,
    id: Uuid,
) -> StoreError {
    let sql = format!("select exists (select 1 from {table} where id = $1)");
    match sqlx::query_scalar::<_, bool>(&sql)
        .bind(id)
        .fetch_one(&mut *conn)
        .await
    {
        Ok(true) => StoreError::Stale { entity },
        Ok(false) => StoreError::NotFound { entity },
        Err(e) => e.into(),
    }
}

async fn insert_user(conn: &mut PgConnection, user: &User, password_hash: &str) -> StoreResult<()> {
    sqlx::query(
        "insert into users (id, username, display_name, role, password_hash, active,
                            created_at, updated_at, version)
         values ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
    )
    .bind(user.id.0)
    .bind(user.username.as_str())
    .bind(user.display_name.as_str())
    .bind(user.role.as_str())
    .bind(password_hash)
    .bind(user.active)
    .bind(user.meta.created_at)
    .bind(user.meta.updated_at)
    .bind(user.meta.version)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Make the quota cover exactly `quota.ticket_type_ids`. Coverage decides which quotas future
/// sales take from; units already taken are given back to the quotas they were taken from
/// (`ticket_quotas`, `hold_quotas`), whatever the quota covers by then.
async fn replace_quota_types(conn: &mut PgConnection, quota: &Quota) -> StoreResult<()> {
    replace_type_links(
        conn,
        "quota_ticket_types",
        "quota_id",
        quota.id.0,
        quota.event_id,
        &quota.ticket_type_ids,
    )
    .await
}

/// Make the links of `owner` in `table` (keyed by `owner_col` and `ticket_type_id`) name
/// exactly `types`. Only types of the owner's own event may be linked; a stranger is reported
/// as missing. Used for what quotas cover and what coupons apply to.
pub(crate) async fn replace_type_links(
    conn: &mut PgConnection,
    table: &'static str,
    owner_col: &'static str,
    owner: Uuid,
    event: EventId,
    types: &[TicketTypeId],
) -> StoreResult<()> {
    let mut wanted: Vec<Uuid> = types.iter().map(|t| t.0).collect();
    wanted.sort_unstable();
    wanted.dedup();
    // The sub-statements of one statement run in no fixed order, so the delete and the insert
    // must touch disjoint rows: pairs no longer wanted go, missing pairs come.
    let sql = format!(
        "with gone as (
             delete from {table} where {owner_col} = $1 and ticket_type_id <> all($2)
         ),
         added as (
             insert into {table} ({owner_col}, ticket_type_id)
             select $1, t.id from ticket_types t where t.id = any($2) and t.event_id = $3
             on conflict do nothing
         )
         select count(*) from ticket_types where id = any($2) and event_id = $3"
    );
    let known = sqlx::query_scalar::<_, i64>(&sql)
        .bind(owner)
        .bind(&wanted)
        .bind(event.0)
        .fetch_one(&mut *conn)
        .await?;
    if known as usize != wanted.len() {
        return Err(StoreError::NotFound {
            entity: "ticket type",
        });
    }
    Ok(())
}

/// The rows of one sale (orders, tickets, links); stock is not touched.
async fn insert_sale(conn: &mut PgConnection, sale: &NewSale) -> StoreResult<()> {
    sale::insert_sales(conn, std::slice::from_ref(sale)).await
}

async fn insert_hold(
    conn: &mut PgConnection,
    hold: &Hold,
    demand: &[(QuotaId, u32)],
) -> StoreResult<()> {
    let quantities = hold
        .lines
        .iter()
        .map(|l| int4("quantity", l.quantity))
        .collect::<StoreResult<Vec<_>>>()?;
    let units = demand
        .iter()
        .map(|(_, n)| int4("quantity", *n))
        .collect::<StoreResult<Vec<_>>>()?;
    sqlx::query(
        "with new_hold as (
             insert into holds (id, event_id, status, expires_at, created_by, device_id,
                                created_at, updated_at, version)
             values ($1, $2, $3, $4, $5, $6, $7, $8, $9)
         ),
         new_lines as (
             insert into hold_lines (hold_id, ticket_type_id, quantity)
             select $1, * from unnest($10::uuid[], $11::int4[])
         )
         insert into hold_quotas (hold_id, quota_id, quantity)
         select $1, * from unnest($12::uuid[], $13::int4[])",
    )
    .bind(hold.id.0)
    .bind(hold.event_id.0)
    .bind(hold.status.as_str())
    .bind(hold.expires_at)
    .bind(hold.created_by.0)
    .bind(hold.device_id.map(|d| d.0))
    .bind(hold.meta.created_at)
    .bind(hold.meta.updated_at)
    .bind(hold.meta.version)
    .bind(
        hold.lines
            .iter()
            .map(|l| l.ticket_type_id.0)
            .collect::<Vec<_>>(),
    )
    .bind(quantities)
    .bind(demand.iter().map(|(q, _)| q.0).collect::<Vec<_>>())
    .bind(units)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

async fn order_with_tickets(
    pool: &PgPool,
    row: Option<sqlx::postgres::PgRow>,
) -> StoreResult<OrderWithTickets> {
    let row = row.ok_or(StoreError::NotFound { entity: "order" })?;
    let order = rows::order(&row)?;
    let tickets = sqlx::query("select * from tickets where order_id = $1 order by id")
        .bind(order.id.0)
        .fetch_all(pool)
        .await?
        .iter()
        .map(rows::ticket)
        .collect::<StoreResult<Vec<_>>>()?;
    Ok(OrderWithTickets { order, tickets })
}

/// `%`, `_` and `\` typed by a user match themselves.
fn escape_like(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 8);
    for ch in s.chars() {
        if matches!(ch, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(ch);
    }
    out
}

// Names sort bytewise (`collate "C"`) so lists come out in the same order as on SQLite and on
// every server, whatever locale its cluster was created with.
#[async_trait]
impl Store for PgStore {
    fn backend(&self) -> Backend {
        Backend::Postgres
    }

    // ---- users

    async fn count_users(&self) -> StoreResult<u64> {
        let n: i64 = sqlx::query_scalar("select count(*) from users")
            .fetch_one(&self.pool)
            .await?;
        Ok(n.max(0) as u64)
    }

    async fn create_first_user(
        &self,
        user: &User,
        password_hash: &str,
        change: &Change,
    ) -> StoreResult<()> {
        retrying("create_first_user", move || async move {
            let mut tx = self.begin().await?;
            // Two first owners racing each see an empty table unless they queue. The count
            // must be its own statement: a statement's snapshot is taken before it could wait
            // for the lock, and would miss the owner the winner just committed.
            sqlx::query("select pg_advisory_xact_lock($1)")
                .bind(FIRST_USER_LOCK)
                .execute(&mut *tx)
                .await?;
            let n: i64 = sqlx::query_scalar("select count(*) from users")
                .fetch_one(&mut *tx)
                .await?;
            if n > 0 {
                return Err(StoreError::Conflict {
                    constraint: "users_exist".into(),
                });
            }
            insert_user(&mut tx, user, password_hash).await?;
            commit(tx, change).await
        })
        .await
    }

    async fn create_user(
        &self,
        user: &User,
        password_hash: &str,
        change: &Change,
    ) -> StoreResult<()> {
        retrying("create_user", move || async move {
            let mut tx = self.begin().await?;
            insert_user(&mut tx, user, password_hash).await?;
            commit(tx, change).await
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
        retrying("update_user", move || async move {
            let mut tx = self.begin().await?;
            let n = sqlx::query(
                "update users set username = $2, display_name = $3, role = $4, active = $5,
                     password_hash = coalesce($6, password_hash),
                     updated_at = $7, version = $8
                 where id = $1 and version = $9",
            )
            .bind(user.id.0)
            .bind(user.username.as_str())
            .bind(user.display_name.as_str())
            .bind(user.role.as_str())
            .bind(user.active)
            .bind(password_hash)
            .bind(user.meta.updated_at)
            .bind(user.meta.version)
            .bind(expected_version)
            .execute(&mut *tx)
            .await?
            .rows_affected();
            if n == 0 {
                return Err(stale_or_missing(&mut tx, "users", "user", user.id.0).await);
            }
            commit(tx, change).await
        })
        .await
    }

    async fn get_user(&self, id: UserId) -> StoreResult<User> {
        let row = sqlx::query("select * from users where id = $1")
            .bind(id.0)
            .fetch_optional(&self.pool)
            .await?
            .ok_or(StoreError::NotFound { entity: "user" })?;
        rows::user(&row)
    }

    async fn list_users(&self) -> StoreResult<Vec<User>> {
        sqlx::query(r#"select * from users order by username collate "C""#)
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(rows::user)
            .collect()
    }

    async fn credentials(&self, username: &str) -> StoreResult<Option<Credentials>> {
        sqlx::query("select * from users where username = $1")
            .bind(username)
            .fetch_optional(&self.pool)
            .await?
            .as_ref()
            .map(rows::credentials)
            .transpose()
    }

    async fn record_login(
        &self,
        user_id: UserId,
        failed_logins: u32,
        locked_until: Option<DateTime<Utc>>,
    ) -> StoreResult<()> {
        let failed_logins = int4("failed_logins", failed_logins)?;
        // One statement, so it is its own transaction.
        retrying("record_login", move || async move {
            sqlx::query("update users set failed_logins = $2, locked_until = $3 where id = $1")
                .bind(user_id.0)
                .bind(failed_logins)
                .bind(locked_until)
                .execute(&self.pool)
                .await?;
            Ok(())
        })
        .await
    }

    // ---- categories

    async fn create_category(&self, category: &Category, change: &Change) -> StoreResult<()> {
        retrying("create_category", move || async move {
            let mut tx = self.begin().await?;
            sqlx::query(
                "insert into categories (id, parent_id, name, created_at, updated_at, version)
                 values ($1, $2, $3, $4, $5, $6)",
            )
            .bind(category.id.0)
            .bind(category.parent_id.map(|p| p.0))
            .bind(category.name.as_str())
            .bind(category.meta.created_at)
            .bind(category.meta.updated_at)
            .bind(category.meta.version)
            .execute(&mut *tx)
            .await?;
            commit(tx, change).await
        })
        .await
    }

    async fn list_categories(&self) -> StoreResult<Vec<Category>> {
        sqlx::query(r#"select * from categories order by name collate "C", id"#)
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(rows::category)
            .collect()
    }

    // ---- events and catalogue

    async fn create_event(&self, event: &Event, change: &Change) -> StoreResult<()> {
        retrying("create_event", move || async move {
            let mut tx = self.begin().await?;
            sqlx::query(
                "insert into events (id, name, description, venue, starts_at, ends_at, time_zone,
                                     status, category_id, created_at, updated_at, version)
                 values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
            )
            .bind(event.id.0)
            .bind(event.name.as_str())
            .bind(event.description.as_str())
            .bind(event.venue.as_str())
            .bind(event.starts_at)
            .bind(event.ends_at)
            .bind(event.time_zone.name())
            .bind(event.status.as_str())
            .bind(event.category_id.map(|c| c.0))
            .bind(event.meta.created_at)
            .bind(event.meta.updated_at)
            .bind(event.meta.version)
            .execute(&mut *tx)
            .await?;
            commit(tx, change).await
        })
        .await
    }

    async fn update_event(
        &self,
        event: &Event,
        expected_version: i64,
        change: &Change,
    ) -> StoreResult<()> {
        retrying("update_event", move || async move {
            let mut tx = self.begin().await?;
            let n = sqlx::query(
                "update events set name = $2, description = $3, venue = $4, starts_at = $5,
                     ends_at = $6, time_zone = $7, status = $8, category_id = $9,
                     updated_at = $10, version = $11
                 where id = $1 and version = $12",
            )
            .bind(event.id.0)
            .bind(event.name.as_str())
            .bind(event.description.as_str())
            .bind(event.venue.as_str())
            .bind(event.starts_at)
            .bind(event.ends_at)
            .bind(event.time_zone.name())
            .bind(event.status.as_str())
            .bind(event.category_id.map(|c| c.0))
            .bind(event.meta.updated_at)
            .bind(event.meta.version)
            .bind(expected_version)
            .execute(&mut *tx)
            .await?
            .rows_affected();
            if n == 0 {
                return Err(stale_or_missing(&mut tx, "events", "event", event.id.0).await);
            }
            commit(tx, change).await
        })
        .await
    }

    async fn get_event(&self, id: EventId) -> StoreResult<Event> {
        let row = sqlx::query("select * from events where id = $1")
            .bind(id.0)
            .fetch_optional(&self.pool)
            .await?
            .ok_or(StoreError::NotFound { entity: "event" })?;
        rows::event(&row)
    }

    async fn list_events(&self) -> StoreResult<Vec<Event>> {
        sqlx::query(r#"select * from events order by starts_at, name collate "C", id"#)
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(rows::event)
            .collect()
    }

    async fn create_ticket_type(
        &self,
        ticket_type: &TicketType,
        change: &Change,
    ) -> StoreResult<()> {
        let t = ticket_type;
        let (min, max) = (
            int4("min_per_order", t.min_per_order)?,
            int4("max_per_order", t.max_per_order)?,
        );
        retrying("create_ticket_type", move || async move {
            let mut tx = self.begin().await?;
            sqlx::query(
                "insert into ticket_types (id, event_id, name, price_minor, currency, sales_start,
                     sales_end, min_per_order, max_per_order, active, sort_order,
                     created_at, updated_at, version)
                 values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)",
            )
            .bind(t.id.0)
            .bind(t.event_id.0)
            .bind(t.name.as_str())
            .bind(t.price.minor)
            .bind(t.price.currency.code())
            .bind(t.sales_start)
            .bind(t.sales_end)
            .bind(min)
            .bind(max)
            .bind(t.active)
            .bind(t.sort_order)
            .bind(t.meta.created_at)
            .bind(t.meta.updated_at)
            .bind(t.meta.version)
            .execute(&mut *tx)
            .await?;
            commit(tx, change).await
        })
        .await
    }

    async fn update_ticket_type(
        &self,
        ticket_type: &TicketType,
        expected_version: i64,
        change: &Change,
    ) -> StoreResult<()> {
        let t = ticket_type;
        let (min, max) = (
            int4("min_per_order", t.min_per_order)?,
            int4("max_per_order", t.max_per_order)?,
        );
        retrying("update_ticket_type", move || async move {
            let mut tx = self.begin().await?;
            let n = sqlx::query(
                "update ticket_types set name = $2, price_minor = $3, currency = $4,
                     sales_start = $5, sales_end = $6, min_per_order = $7, max_per_order = $8,
                     active = $9, sort_order = $10, updated_at = $11, version = $12
                 where id = $1 and version = $13",
            )
            .bind(t.id.0)
            .bind(t.name.as_str())
            .bind(t.price.minor)
            .bind(t.price.currency.code())
            .bind(t.sales_start)
            .bind(t.sales_end)
            .bind(min)
            .bind(max)
            .bind(t.active)
            .bind(t.sort_order)
            .bind(t.meta.updated_at)
            .bind(t.meta.version)
            .bind(expected_version)
            .execute(&mut *tx)
            .await?
            .rows_affected();
            if n == 0 {
                return Err(stale_or_missing(&mut tx, "ticket_types", "ticket type", t.id.0).await);
            }
            commit(tx, change).await
        })
        .await
    }

    async fn list_ticket_types(&self, event_id: EventId) -> StoreResult<Vec<TicketType>> {
        sqlx::query(
            r#"select * from ticket_types where event_id = $1
               order by sort_order, name collate "C", id"#,
        )
        .bind(event_id.0)
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(rows::ticket_type)
        .collect()
    }

    async fn create_quota(&self, quota: &Quota, change: &Change) -> StoreResult<()> {
        let size = int4("size", quota.size)?;
        retrying("create_quota", move || async move {
            let mut tx = self.begin().await?;
            sqlx::query(
                "insert into quotas (id, event_id, name, size, taken,
                                     created_at, updated_at, version)
                 values ($1, $2, $3, $4, 0, $5, $6, $7)",
            )
            .bind(quota.id.0)
            .bind(quota.event_id.0)
            .bind(quota.name.as_str())
            .bind(size)
            .bind(quota.meta.created_at)
            .bind(quota.meta.updated_at)
            .bind(quota.meta.version)
            .execute(&mut *tx)
            .await?;
            replace_quota_types(&mut tx, quota).await?;
            commit(tx, change).await
        })
        .await
    }

    async fn update_quota(
        &self,
        quota: &Quota,
        expected_version: i64,
        change: &Change,
    ) -> StoreResult<()> {
        let size = int4("size", quota.size)?;
        self.stock_write("update_quota", [quota.id], move || async move {
            let mut tx = self.begin().await?;
            // Locked, so no sale can take units between the check and the update.
            let current: Option<(i64, i32)> =
                sqlx::query_as("select version, taken from quotas where id = $1 for no key update")
                    .bind(quota.id.0)
                    .fetch_optional(&mut *tx)
                    .await?;
            let (version, taken) = current.ok_or(StoreError::NotFound { entity: "quota" })?;
            if version != expected_version {
                return Err(StoreError::Stale { entity: "quota" });
            }
            if size < taken {
                return Err(StoreError::QuotaBelowTaken {
                    quota_id: quota.id,
                    taken: taken.max(0) as u32,
                });
            }
            sqlx::query(
                "update quotas set name = $2, size = $3, updated_at = $4, version = $5
                 where id = $1",
            )
            .bind(quota.id.0)
            .bind(quota.name.as_str())
            .bind(size)
            .bind(quota.meta.updated_at)
            .bind(quota.meta.version)
            .execute(&mut *tx)
            .await?;
            replace_quota_types(&mut tx, quota).await?;
            commit(tx, change).await
        })
        .await
    }

    async fn list_quotas(&self, event_id: EventId) -> StoreResult<Vec<QuotaUsage>> {
        sqlx::query(
            r#"select q.*,
                      coalesce(array_agg(qt.ticket_type_id order by qt.ticket_type_id)
                                   filter (where qt.ticket_type_id is not null),
                               '{}') as ticket_type_ids
               from quotas q
               left join quota_ticket_types qt on qt.quota_id = q.id
               where q.event_id = $1
               group by q.id
               order by q.name collate "C", q.id"#,
        )
        .bind(event_id.0)
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(rows::quota_usage)
        .collect()
    }

    // ---- stock

    async fn create_hold(
        &self,
        hold: &Hold,
        demand: &[(QuotaId, u32)],
        change: &Change,
    ) -> StoreResult<()> {
        self.stock_write(
            "create_hold",
            demand.iter().map(|d| d.0),
            move || async move {
                let mut tx = self.begin().await?;
                insert_hold(&mut tx, hold, demand).await?;
                record_change(&mut tx, change).await?;
                let taken = StockMove {
                    sweep: Sweep::Event(hold.event_id),
                    now: hold.meta.created_at,
                    settle: None,
                    take: demand,
                };
                move_stock(&mut tx, taken).await?;
                tx.commit().await?;
                Ok(())
            },
        )
        .await
    }

    async fn release_hold(
        &self,
        hold_id: HoldId,
        now: DateTime<Utc>,
        change: &Change,
    ) -> StoreResult<()> {
        self.stock_write("release_hold", [], move || async move {
            let mut tx = self.begin().await?;
            let release = StockMove {
                sweep: Sweep::None,
                now,
                settle: Some((hold_id, HoldStatus::Released)),
                take: &[],
            };
            move_stock(&mut tx, release).await?;
            commit(tx, change).await
        })
        .await
    }

    async fn get_hold(&self, hold_id: HoldId) -> StoreResult<Hold> {
        let row = sqlx::query("select * from holds where id = $1")
            .bind(hold_id.0)
            .fetch_optional(&self.pool)
            .await?
            .ok_or(StoreError::NotFound { entity: "hold" })?;
        let lines = sqlx::query(
            "select ticket_type_id, quantity from hold_lines
             where hold_id = $1
             order by ticket_type_id",
        )
        .bind(hold_id.0)
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(rows::line)
        .collect::<StoreResult<Vec<_>>>()?;
        rows::hold(&row, lines)
    }

    async fn sweep_expired_holds(&self, now: DateTime<Utc>) -> StoreResult<u32> {
        self.stock_write("sweep_expired_holds", [], move || async move {
            let mut tx = self.begin().await?;
            let sweep = StockMove {
                sweep: Sweep::All,
                now,
                settle: None,
                take: &[],
            };
            let expired = move_stock(&mut tx, sweep).await?;
            tx.commit().await?;
            Ok(expired)
        })
        .await
    }

    async fn sell(&self, sale: &NewSale) -> StoreResult<()> {
        // The common sale: one autocommitted statement, shared with the common sales that
        // wait for the same quotas meanwhile (`postgres/sale.rs`, `postgres/batch.rs`).
        let mut quick = quick_path_applies(sale);
        if quick {
            match self.plain.sell(sale).await {
                Plain::Sold => return Ok(()),
                // The statement declined this sale alone: the general path decides.
                Plain::Declined { alone: true } => quick = false,
                // Declined or failed with others: try it alone.
                Plain::Declined { alone: false } => {}
            }
        }
        self.stock_write(
            "sell",
            sale.demand.iter().map(|d| d.0),
            move || async move {
                if quick {
                    let mut conn = self.pool.acquire().await?;
                    match sell_plain(&mut conn, std::slice::from_ref(sale)).await? {
                        QuickSale::Sold => return Ok(()),
                        QuickSale::Declined => {}
                    }
                }
                // A hold to consume, a coupon, a waiting-list offer or a mail, overdue holds to
                // sweep, or a quota short: the general path.
                let mut tx = self.begin().await?;
                // Rows first, stock last: a sale that finds the stock gone rolls back a few
                // inserts, and the quota rows stay locked only for one statement and the commit.
                insert_sale(&mut tx, sale).await?;
                if let Some(mail) = &sale.mail {
                    commerce::insert_mail(&mut tx, mail).await?;
                }
                record_change(&mut tx, &sale.change).await?;
                // Then the rows other writers lock too, in the order every writer locks them:
                // the waiting-list entry, the coupon, then (in `move_stock`) holds and quotas
                // by id. The entry goes before the hold its offer keeps, as when an offer is
                // expired or withdrawn (`update_waitlist`); the coupon row, the hottest of
                // them after the quotas, stays locked for the stock move and the commit only.
                if let Some(entry) = sale.waitlist_entry {
                    commerce::take_up_offer(
                        &mut tx,
                        entry,
                        sale.order.id,
                        sale.order.meta.created_at,
                    )
                    .await?;
                }
                if let Some(coupon) = sale.order.coupon_id {
                    commerce::take_coupon_use(&mut tx, coupon).await?;
                }
                let taken = StockMove {
                    sweep: Sweep::Event(sale.order.event_id),
                    now: sale.order.meta.created_at,
                    settle: sale.hold.map(|h| (h, HoldStatus::Consumed)),
                    take: &sale.demand,
                };
                move_stock(&mut tx, taken).await?;
                tx.commit().await?;
                Ok(())
            },
        )
        .await
    }

    async fn cancel(&self, cancellation: &Cancellation) -> StoreResult<()> {
        let x = cancellation;
        self.stock_write(
            "cancel",
            x.release.iter().map(|r| r.0),
            move || async move {
                let mut tx = self.begin().await?;
                let o = &x.order;
                // The order row first: two clerks cancelling the same order queue here, and the
                // second is told the order changed.
                let n = sqlx::query(
                    "update orders set status = $2, total_minor = $3, updated_at = $4, version = $5
                 where id = $1 and version = $6",
                )
                .bind(o.id.0)
                .bind(o.status.as_str())
                .bind(o.total.minor)
                .bind(o.meta.updated_at)
                .bind(o.meta.version)
                .bind(x.expected_version)
                .execute(&mut *tx)
                .await?
                .rows_affected();
                if n == 0 {
                    return Err(stale_or_missing(&mut tx, "orders", "order", o.id.0).await);
                }
                let t = &x.tickets;
                let cancelled = if t.is_empty() {
                    0
                } else {
                    sqlx::query(
                        "update tickets t
                         set status = n.status, updated_at = n.updated_at, version = n.version
                         from unnest($2::uuid[], $3::text[], $4::timestamptz[], $5::int8[])
                             as n (id, status, updated_at, version)
                         where t.id = n.id and t.order_id = $1 and t.status = 'valid'",
                    )
                    .bind(o.id.0)
                    .bind(t.iter().map(|t| t.id.0).collect::<Vec<_>>())
                    .bind(t.iter().map(|t| t.status.as_str()).collect::<Vec<_>>())
                    .bind(t.iter().map(|t| t.meta.updated_at).collect::<Vec<_>>())
                    .bind(t.iter().map(|t| t.meta.version).collect::<Vec<_>>())
                    .execute(&mut *tx)
                    .await?
                    .rows_affected()
                };
                // Fewer rows than tickets: one is cancelled already, or not of this order. A
                // partial refund cancels no ticket: no rows, none expected.
                if cancelled != t.len() as u64 {
                    return Err(StoreError::Conflict {
                        constraint: "ticket_not_valid".into(),
                    });
                }
                // The cancelled tickets' secrets stop admitting with the same commit.
                door::insert_revocations(&mut tx, &x.revoke).await?;
                report::insert_refunds(&mut tx, &x.refunds).await?;
                record_change(&mut tx, &x.change).await?;
                // The coupon before the quotas, as a sale locks them.
                if let Some(coupon) = x.coupon_release {
                    commerce::give_back_coupon_use(&mut tx, coupon).await?;
                }
                stock::give_back(&mut tx, &x.release).await?;
                tx.commit().await?;
                Ok(())
            },
        )
        .await
    }

    // ---- orders

    async fn get_order(&self, id: OrderId) -> StoreResult<OrderWithTickets> {
        let row = sqlx::query("select * from orders where id = $1")
            .bind(id.0)
            .fetch_optional(&self.pool)
            .await?;
        order_with_tickets(&self.pool, row).await
    }

    async fn get_order_by_code(&self, code: &str) -> StoreResult<OrderWithTickets> {
        let row = sqlx::query("select * from orders where code = $1")
            .bind(code)
            .fetch_optional(&self.pool)
            .await?;
        order_with_tickets(&self.pool, row).await
    }

    async fn get_order_of_ticket(&self, ticket_id: TicketId) -> StoreResult<OrderWithTickets> {
        let row = sqlx::query(
            "select o.* from orders o join tickets t on t.order_id = o.id where t.id = $1",
        )
        .bind(ticket_id.0)
        .fetch_optional(&self.pool)
        .await?;
        order_with_tickets(&self.pool, row).await
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
            r"select * from orders
              where ($1::uuid is null or event_id = $1)
                and ($2::text is null
                     or code like $3 escape '\'
                     or buyer_name ilike $2 escape '\'
                     or buyer_email ilike $2 escape '\')
              order by created_at desc, id desc
              limit $4",
        )
        .bind(query.event_id.map(|e| e.0))
        .bind(pattern)
        .bind(code_prefix)
        .bind(i64::from(query.limit.clamp(1, MAX_SEARCH)))
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(rows::order)
        .collect()
    }

    async fn ticket_quotas(&self, tickets: &[TicketId]) -> StoreResult<Vec<(TicketId, QuotaId)>> {
        let rows: Vec<(Uuid, Uuid)> = sqlx::query_as(
            "select tq.ticket_id, tq.quota_id
             from unnest($1::uuid[]) with ordinality as t (id, n)
             join ticket_quotas tq on tq.ticket_id = t.id
             order by t.n, tq.quota_id",
        )
        .bind(tickets.iter().map(|t| t.0).collect::<Vec<_>>())
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .into_iter()
            .map(|(t, q)| (TicketId(t), QuotaId(q)))
            .collect())
    }

    // ---- the door (postgres/door.rs)

    async fn put_event_key(
        &self,
        key: &EventKey,
        secret: Option<[u8; 32]>,
        change: &Change,
    ) -> StoreResult<()> {
        self.door_put_event_key(key, secret, change).await
    }

    async fn event_keys(&self, event_id: EventId) -> StoreResult<Vec<EventKey>> {
        self.door_event_keys(event_id).await
    }

    async fn signing_key(&self, event_id: EventId) -> StoreResult<Option<(KeyId, [u8; 32])>> {
        self.door_signing_key(event_id).await
    }

    async fn ticket_secret(&self, ticket_id: TicketId) -> StoreResult<Option<IssuedSecret>> {
        self.door_ticket_secret(ticket_id).await
    }

    async fn put_ticket_secret(
        &self,
        issued: &IssuedSecret,
        revoke: Option<&Revocation>,
        change: &Change,
    ) -> StoreResult<()> {
        self.door_put_ticket_secret(issued, revoke, change).await
    }

    async fn add_revocations(
        &self,
        revocations: &[Revocation],
        change: &Change,
    ) -> StoreResult<()> {
        self.door_add_revocations(revocations, change).await
    }

    async fn revocations(&self, event_id: EventId) -> StoreResult<Vec<Revocation>> {
        self.door_revocations(event_id).await
    }

    async fn set_block(
        &self,
        event_id: EventId,
        ticket_id: TicketId,
        block: Option<&Block>,
        change: &Change,
    ) -> StoreResult<()> {
        self.door_set_block(event_id, ticket_id, block, change)
            .await
    }

    async fn blocks(&self, event_id: EventId) -> StoreResult<Vec<Block>> {
        self.door_blocks(event_id).await
    }

    async fn create_checkin_list(&self, list: &CheckinList, change: &Change) -> StoreResult<()> {
        self.door_create_checkin_list(list, change).await
    }

    async fn update_checkin_list(
        &self,
        list: &CheckinList,
        expected_version: i64,
        change: &Change,
    ) -> StoreResult<()> {
        self.door_update_checkin_list(list, expected_version, change)
            .await
    }

    async fn get_checkin_list(&self, id: CheckinListId) -> StoreResult<CheckinList> {
        self.door_get_checkin_list(id).await
    }

    async fn list_checkin_lists(&self, event_id: EventId) -> StoreResult<Vec<CheckinList>> {
        self.door_list_checkin_lists(event_id).await
    }

    async fn import_event(&self, event: &Event, change: &Change) -> StoreResult<()> {
        self.door_import_event(event, change).await
    }

    async fn import_checkin_list(&self, list: &CheckinList, change: &Change) -> StoreResult<()> {
        self.door_import_checkin_list(list, change).await
    }

    async fn redeem(&self, attempt: &ScanAttempt, decide: Decide) -> StoreResult<ScanOutcome> {
        self.door_redeem(attempt, decide).await
    }

    async fn redeem_many(&self, scans: &[(ScanAttempt, Decide)]) -> StoreResult<Vec<ScanOutcome>> {
        sync::redeem_many(self, scans).await
    }

    async fn list_scans(
        &self,
        list_id: CheckinListId,
        ticket_id: Option<TicketId>,
        limit: u32,
    ) -> StoreResult<Vec<ScanRecord>> {
        self.door_list_scans(list_id, ticket_id, limit).await
    }

    async fn checkin_counts(&self, list_id: CheckinListId) -> StoreResult<(u64, u64)> {
        self.door_checkin_counts(list_id).await
    }

    async fn sales_summary(&self, since: DateTime<Utc>) -> StoreResult<Vec<crate::EventSales>> {
        report::sales_summary(&self.pool, since).await
    }

    // ---- reports and exports (postgres/report.rs)

    async fn sales_buckets(
        &self,
        event_id: EventId,
        bucket_secs: u32,
    ) -> StoreResult<Vec<SalesBucket>> {
        report::sales_buckets(&self.pool, event_id, bucket_secs).await
    }

    async fn revenue(&self, event_id: EventId) -> StoreResult<Vec<RevenueRow>> {
        report::revenue(&self.pool, event_id).await
    }

    async fn door_buckets(
        &self,
        event_id: EventId,
        bucket_secs: u32,
    ) -> StoreResult<Vec<DoorBucket>> {
        report::door_buckets(&self.pool, event_id, bucket_secs).await
    }

    async fn shift_totals(&self, query: &ShiftQuery) -> StoreResult<Vec<ShiftRow>> {
        report::shift_totals(&self.pool, query).await
    }

    async fn refunds_of_order(&self, order_id: OrderId) -> StoreResult<Vec<Refund>> {
        report::refunds_of_order(&self.pool, order_id).await
    }

    async fn export_counts(&self, event_id: EventId) -> StoreResult<ExportCounts> {
        report::export_counts(&self.pool, event_id).await
    }

    async fn export_orders(
        &self,
        event_id: EventId,
        after: Option<OrderId>,
        limit: u32,
    ) -> StoreResult<Vec<Order>> {
        report::export_orders(&self.pool, event_id, after, limit).await
    }

    async fn export_attendees(
        &self,
        event_id: EventId,
        after: Option<TicketId>,
        limit: u32,
    ) -> StoreResult<Vec<AttendeeRow>> {
        report::export_attendees(&self.pool, event_id, after, limit).await
    }

    async fn export_scans(
        &self,
        event_id: EventId,
        after: Option<ScanId>,
        limit: u32,
    ) -> StoreResult<Vec<ScanRecord>> {
        report::export_scans(&self.pool, event_id, after, limit).await
    }

    async fn import_sales(&self, sales: &[NewSale]) -> StoreResult<()> {
        if sales.is_empty() {
            return Ok(());
        }
        let quotas: Vec<QuotaId> = sales
            .iter()
            .flat_map(|s| s.demand.iter().map(|d| d.0))
            .collect();
        self.stock_write("import_sales", quotas, move || async move {
            let mut tx = self.begin().await?;
            sale::import_sales(&mut tx, sales).await?;
            tx.commit().await?;
            Ok(())
        })
        .await
    }

    // ---- coupons, payments, the waiting list, shifts and mail (postgres/commerce.rs)

    async fn create_coupon(&self, coupon: &Coupon, change: &Change) -> StoreResult<()> {
        self.commerce_create_coupon(coupon, change).await
    }

    async fn update_coupon(
        &self,
        coupon: &Coupon,
        expected_version: i64,
        change: &Change,
    ) -> StoreResult<()> {
        self.commerce_update_coupon(coupon, expected_version, change)
            .await
    }

    async fn get_coupon(&self, id: CouponId) -> StoreResult<Coupon> {
        self.commerce_get_coupon(id).await
    }

    async fn coupon_by_code(&self, event_id: EventId, code: &str) -> StoreResult<Option<Coupon>> {
        self.commerce_coupon_by_code(event_id, code).await
    }

    async fn list_coupons(&self, event_id: EventId) -> StoreResult<Vec<Coupon>> {
        self.commerce_list_coupons(event_id).await
    }

    async fn overdue_orders(&self, now: DateTime<Utc>, limit: u32) -> StoreResult<Vec<OrderId>> {
        self.commerce_overdue_orders(now, limit).await
    }

    async fn record_payment(
        &self,
        order: &Order,
        expected_version: i64,
        change: &Change,
    ) -> StoreResult<()> {
        self.commerce_record_payment(order, expected_version, change)
            .await
    }

    async fn reinstate_order(&self, reinstatement: &Reinstatement) -> StoreResult<()> {
        self.commerce_reinstate_order(reinstatement).await
    }

    async fn add_waitlist(&self, entry: &WaitlistEntry, change: &Change) -> StoreResult<()> {
        self.commerce_add_waitlist(entry, change).await
    }

    async fn get_waitlist_entry(&self, id: WaitlistId) -> StoreResult<WaitlistEntry> {
        self.commerce_get_waitlist_entry(id).await
    }

    async fn list_waitlist(&self, event_id: EventId) -> StoreResult<Vec<WaitlistEntry>> {
        self.commerce_list_waitlist(event_id).await
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
        self.commerce_offer_waitlist(entry, expected_version, hold, demand, mail, change)
            .await
    }

    async fn update_waitlist(
        &self,
        entry: &WaitlistEntry,
        expected_version: i64,
        change: &Change,
    ) -> StoreResult<()> {
        self.commerce_update_waitlist(entry, expected_version, change)
            .await
    }

    async fn open_shift(&self, shift: &Shift, change: &Change) -> StoreResult<()> {
        self.commerce_open_shift(shift, change).await
    }

    async fn close_shift(
        &self,
        shift: &Shift,
        expected_version: i64,
        change: &Change,
    ) -> StoreResult<()> {
        self.commerce_close_shift(shift, expected_version, change)
            .await
    }

    async fn open_shift_of(&self, user_id: UserId) -> StoreResult<Option<Shift>> {
        self.commerce_open_shift_of(user_id).await
    }

    async fn list_shifts(&self, user_id: Option<UserId>, limit: u32) -> StoreResult<Vec<Shift>> {
        self.commerce_list_shifts(user_id, limit).await
    }

    async fn enqueue_mail(&self, message: &MailMessage, change: &Change) -> StoreResult<()> {
        self.commerce_enqueue_mail(message, change).await
    }

    async fn due_mail(&self, now: DateTime<Utc>, limit: u32) -> StoreResult<Vec<MailMessage>> {
        self.commerce_due_mail(now, limit).await
    }

    async fn update_mail(&self, message: &MailMessage, expected_version: i64) -> StoreResult<bool> {
        self.commerce_update_mail(message, expected_version).await
    }

    async fn mail_of_order(&self, order_id: OrderId) -> StoreResult<Vec<MailMessage>> {
        self.commerce_mail_of_order(order_id).await
    }

    async fn get_mail(&self, id: MailId) -> StoreResult<MailMessage> {
        self.commerce_get_mail(id).await
    }

    // ---- audit and sync

    async fn changes_since(&self, cursor: &str, limit: u32) -> StoreResult<crate::ChangePage> {
        sync::changes_since(&self.pool, cursor, limit).await
    }

    async fn apply_upload(
        &self,
        device: DeviceId,
        entries: &[OutboxEntry],
        now: DateTime<Utc>,
    ) -> StoreResult<Vec<crate::UploadOutcome>> {
        sync::apply_upload(&self.pool, device, entries, now).await
    }

    async fn move_allocation(&self, m: &crate::AllocationMove) -> StoreResult<i64> {
        sync::move_allocation(&self.pool, m).await
    }

    async fn allocations_of(&self, device: DeviceId) -> StoreResult<Vec<(QuotaId, i64)>> {
        sync::allocations_of(&self.pool, device).await
    }

    async fn sync_conflicts(&self, limit: u32) -> StoreResult<Vec<crate::SyncConflict>> {
        sync::sync_conflicts(&self.pool, limit).await
    }

    async fn double_admissions(&self, limit: u32) -> StoreResult<Vec<crate::DoubleAdmission>> {
        sync::double_admissions(&self.pool, limit).await
    }

    async fn apply_downloaded(&self, _changes: &[OutboxEntry]) -> StoreResult<u32> {
        Err(device_only())
    }

    async fn record_grant(
        &self,
        _id: Uuid,
        _quota: QuotaId,
        _units: i64,
        _confirmed: bool,
        _now: DateTime<Utc>,
    ) -> StoreResult<bool> {
        Err(device_only())
    }

    async fn unconfirmed_returns(&self) -> StoreResult<Vec<(Uuid, QuotaId, i64)>> {
        Err(device_only())
    }

    async fn spare_units(&self, _quota: QuotaId) -> StoreResult<i64> {
        Err(device_only())
    }

    async fn sync_value(&self, _key: &str) -> StoreResult<Option<String>> {
        Err(device_only())
    }

    async fn set_sync_value(&self, _key: &str, _value: &str) -> StoreResult<()> {
        Err(device_only())
    }

    async fn list_audit(&self, limit: u32) -> StoreResult<Vec<AuditEntry>> {
        sqlx::query("select * from audit_log order by at desc, id desc limit $1")
            .bind(i64::from(limit.clamp(1, MAX_LIST)))
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(rows::audit_entry)
            .collect()
    }

    async fn list_outbox(
        &self,
        after_seq: i64,
        limit: u32,
    ) -> StoreResult<Vec<(i64, OutboxEntry)>> {
        sqlx::query("select * from outbox where seq > $1 order by seq limit $2")
            .bind(after_seq)
            .bind(i64::from(limit.clamp(1, MAX_LIST)))
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(rows::outbox_entry)
            .collect()
    }

    // ---- devices, pairing codes and bearer tokens (postgres/devices.rs)

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

/// What the server's store answers when asked to act as a syncing device: devices keep
/// their own SQLite file (desktops sharing one PostgreSQL need no sync).
fn device_only() -> StoreError {
    StoreError::Other(
        "a syncing device keeps its own SQLite store; PostgreSQL does not sync to a server".into(),
    )
}

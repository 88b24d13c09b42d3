//! Selling under contention, on SQLite and PostgreSQL, next to the raw database limit for the
//! same work measured in the same run.
//!
//! For each backend, shape and number of concurrent buyers it prints one row per kind:
//!
//! * `raw` – the bare conditional update plus one insert, sent directly with sqlx over a pool of
//!   as many connections as there are buyers (SQLite: `begin immediate; update quotas set
//!   taken = taken + 1 where id = ? and taken + 1 <= size; insert …; commit` with a busy
//!   timeout; PostgreSQL: one `with u as (update … returning id) insert … select from u`).
//! * `raw-gc` (SQLite only) – the same bare statements through one writer task with group
//!   commit (up to 32 sales per `begin immediate` transaction, each answered after the commit):
//!   the form MEASURED.md found fastest on SQLite, and the one the store's writer follows.
//! * `raw-same` – the same work as a sale, bare: the conditional update that takes the unit
//!   and exactly the rows `ours` writes (the order, its ticket, the ticket–quota link, the
//!   audit entry and the two outbox rows, with the same values and JSON, made as `Admit::sell`
//!   makes them) into the store's own schema, with its indexes, keys and checks. PostgreSQL:
//!   one statement per sale, sent directly with sqlx over a pool of as many connections as
//!   there are buyers. SQLite: the fastest bare form there is, a thread of its own with a
//!   rusqlite connection set up like the store's writer (WAL, `synchronous=FULL`, foreign
//!   keys) and group commit (up to 32 sales per `begin immediate` transaction, each answered
//!   after the commit), with plain statements and no savepoints.
//! * `ours` – the whole use case, `Admit::sell` (one ticket per sale, paid cash) on a store from
//!   `admit_store::open`: validation, the catalogue reads, the stock plan, order, ticket, audit
//!   and outbox rows in one transaction.
//!
//! The target, ours ≥ 0.7 × the raw database limit for the same work, is judged on both
//! backends against `raw-same`: a sale writes seven rows over five tables and fifteen indexes,
//! and `raw` writes one row into a table with one index, so `ours/raw` measures the schema as
//! much as the code. `ours/raw` (and on SQLite `ours/raw-gc`) stays printed beside it, and the
//! last lines give the lowest of each.
//!
//! Each kind gets four slices per cell (0.1 s warm-up, then 0.45 s measured), the kinds taking
//! turns, so a burst of load from elsewhere on a shared machine hits them alike; `--quick` gives
//! two slices of 0.25 s. The whole run takes about 1.5 minutes on 2 cores.
//!
//! Shapes: `hot` is one ticket type under one quota; `100q` is 100 ticket types, each under its
//! own quota, with the buyers spread over them. Quotas are far larger than a cell can sell, and
//! every cell gets fresh quotas. After every cell the quotas are read back with plain SQL: units
//! taken never above the size, one ticket (or raw sale row) per unit taken, and as many units
//! taken as sales were confirmed. `ours/raw` is the ratio of sales per second; `cpu µs/sale` is
//! this process's CPU time per sale (Linux), which with PostgreSQL leaves out the server's.
//!
//! ```text
//! cargo run --release -p admit-bench --bin sell -- [--quick] [--backend sqlite|postgres|both]
//!                                                   [--only raw|ours] [--shape hot|100q]
//!                                                   [--buyers N] [--profile]
//! ```
//!
//! `--only` runs one kind of cell (to watch the database's CPU use for one of them, say).
//! `--profile` replaces the comparison by a phase breakdown of `ours`: the same steps as
//! `Admit::sell`, timed one by one (the three catalogue reads, the plan and building the
//! records, `Store::sell`). PostgreSQL comes from `DATABASE_URL`, else 127.0.0.1:5432 (see
//! admit-testkit). Absolute figures drift on shared machines; compare the ratios of one run.

use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Context};
use chrono::Utc;
use serde_json::json;
use sqlx::postgres::{PgPool, PgPoolOptions};
use sqlx::sqlite::SqliteConnection;
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};
use sqlx::{ConnectOptions, Connection};
use tokio::sync::{mpsc, oneshot};

use admit_api::{
    Admit, EventInput, LineInput, NewUserInput, QuotaInput, SaleInput, Session, TicketTypeInput,
};
use admit_core::audit::Change;
use admit_core::model::{
    Channel, Line, Meta, Order, OrderStatus, PaymentMethod, Quota, Ticket, TicketStatus,
};
use admit_core::order_code::OrderCode;
use admit_core::stock;
use admit_core::{EventId, OrderId, TicketId, TicketTypeId};
use admit_store::{NewSale, Store};
use admit_testkit::{TestPostgres, TestSqlite};

const BUYERS: [usize; 3] = [1, 8, 64];
/// Far more than any cell sells, so no cell ever runs into "sold out".
const QUOTA_SIZE: i64 = 1_000_000;

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    fn label(self) -> &'static str {
        match self {
            Backend::Sqlite => "sqlite",
            Backend::Postgres => "postgres",
        }
    }
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Shape {
    /// One ticket type under one quota: every buyer fights over one row.
    Hot,
    /// 100 ticket types, each under its own quota.
    Spread,
}

impl Shape {
    fn label(self) -> &'static str {
        match self {
            Shape::Hot => "hot",
            Shape::Spread => "100q",
        }
    }

    fn quotas(self) -> usize {
        match self {
            Shape::Hot => 1,
            Shape::Spread => 100,
        }
    }
}

/// Which quota buyer `b` takes from on its `i`-th sale: every buyer walks all quotas, each
/// from its own starting point (13 is coprime with 100, so a walk visits every quota).
fn pick(buyer: usize, i: u64, quotas: usize) -> usize {
    (buyer * 61 + (i % quotas as u64) as usize * 13) % quotas
}

struct Opts {
    /// Warm-up before every slice.
    warm: Duration,
    /// Measured time of one slice.
    slice: Duration,
    /// Slices per kind and cell, taken in turns with the other kinds.
    rounds: u32,
    backends: Vec<Backend>,
    profile: bool,
    raw: bool,
    ours: bool,
    /// The cells to run: every shape and number of buyers unless narrowed.
    shapes: Vec<Shape>,
    buyers: Vec<usize>,
}

fn parse_args() -> anyhow::Result<Opts> {
    let mut quick = false;
    let mut profile = false;
    let mut backend = "both".to_string();
    let mut only = "both".to_string();
    let mut shapes = vec![Shape::Hot, Shape::Spread];
    let mut buyers = BUYERS.to_vec();
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--quick" => quick = true,
            "--profile" => profile = true,
            "--backend" => backend = args.next().context("--backend needs a value")?,
            "--only" => only = args.next().context("--only needs a value")?,
            "--shape" => {
                shapes = match args.next().context("--shape needs a value")?.as_str() {
                    "hot" => vec![Shape::Hot],
                    "100q" => vec![Shape::Spread],
                    other => bail!("--shape must be hot or 100q, not {other:?}"),
                }
            }
            "--buyers" => {
                let n: usize = args
                    .next()
                    .context("--buyers needs a value")?
                    .parse()
                    .context("--buyers takes a number")?;
                if n == 0 || n > 256 {
                    bail!("--buyers must be between 1 and 256");
                }
                buyers = vec![n];
            }
            s if s.starts_with("--only=") => only = s["--only=".len()..].to_string(),
            s if s.starts_with("--backend=") => backend = s["--backend=".len()..].to_string(),
            "-h" | "--help" => {
                println!(
                    "usage: sell [--quick] [--backend sqlite|postgres|both] [--only raw|ours] \
                     [--shape hot|100q] [--buyers N] [--profile]\n\
                     --quick    0.5 s measured per cell and kind instead of 1.8 s\n\
                     --only     run only the raw SQL or only our use case\n\
                     --shape    run only one shape (default both)\n\
                     --buyers   run only this many concurrent buyers (default 1, 8 and 64)\n\
                     --profile  time the phases of a sale instead of comparing with raw SQL"
                );
                std::process::exit(0);
            }
            other => bail!("unknown argument {other:?} (try --help)"),
        }
    }
    let backends = match backend.as_str() {
        "sqlite" => vec![Backend::Sqlite],
        "postgres" | "pg" => vec![Backend::Postgres],
        "both" => vec![Backend::Sqlite, Backend::Postgres],
        other => bail!("--backend must be sqlite, postgres or both, not {other:?}"),
    };
    let (raw, ours) = match only.as_str() {
        "raw" => (true, false),
        "ours" => (false, true),
        "both" => (true, true),
        other => bail!("--only must be raw or ours, not {other:?}"),
    };
    let (warm, slice, rounds) = if quick {
        (Duration::from_millis(50), Duration::from_millis(250), 2)
    } else {
        (Duration::from_millis(100), Duration::from_millis(450), 4)
    };
    Ok(Opts {
        warm,
        slice,
        rounds,
        backends,
        profile,
        raw,
        ours,
        shapes,
        buyers,
    })
}

// ---------------------------------------------------------------- driving buyers

/// One sale of one buyer: `sale(buyer, i)` for its `i`-th sale.
type SaleFn = Arc<dyn Fn(usize, u64) -> BoxFuture<'static, anyhow::Result<()>> + Send + Sync>;

/// A boxed, `Send` future (also what the raw writer task needs: sqlx's executor bounds defeat
/// the compiler's inference of `Send` otherwise).
type BoxFuture<'a, T> = std::pin::Pin<Box<dyn Future<Output = T> + Send + 'a>>;

fn sale_fn<F, Fut>(f: F) -> SaleFn
where
    F: Fn(usize, u64) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = anyhow::Result<()>> + Send + 'static,
{
    Arc::new(move |b, i| Box::pin(f(b, i)))
}

/// What one kind measured in a cell, summed over its slices.
#[derive(Default)]
struct Tally {
    /// Latencies of the sales that completed inside the measuring windows.
    latencies: Vec<Duration>,
    /// Total length of the measuring windows.
    window: Duration,
    /// Every confirmed sale, warm-ups and tails included (for the oversell check).
    confirmed: u64,
    errors: u64,
    first_error: Option<String>,
    /// CPU time of this process during the slices (Linux only). With SQLite that includes
    /// the database's work; PostgreSQL's own work happens in its server processes.
    cpu: Option<Duration>,
}

impl Tally {
    fn add(&mut self, other: Tally) {
        let first = self.window.is_zero();
        self.cpu = match (self.cpu, other.cpu) {
            (Some(a), Some(b)) => Some(a + b),
            (None, b) if first => b,
            _ => None,
        };
        self.latencies.extend(other.latencies);
        self.window += other.window;
        self.confirmed += other.confirmed;
        self.errors += other.errors;
        if self.first_error.is_none() {
            self.first_error = other.first_error;
        }
    }

    fn per_s(&self) -> f64 {
        self.latencies.len() as f64 / self.window.as_secs_f64().max(1e-9)
    }

    /// Percentile in ms (`latencies` sorted).
    fn pct_ms(&self, p: usize) -> f64 {
        let l = &self.latencies;
        if l.is_empty() {
            return f64::NAN;
        }
        l[(l.len() * p / 100).min(l.len() - 1)].as_secs_f64() * 1e3
    }

    fn cpu_us(&self) -> Option<f64> {
        Some(self.cpu?.as_secs_f64() * 1e6 / self.confirmed.max(1) as f64)
    }
}

/// CPU time (user + system) this process has used so far, from `/proc/self/stat` (Linux;
/// clock ticks assumed to be the usual 100 Hz).
fn process_cpu() -> Option<Duration> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // Fields after the command name (which may hold spaces): state is field 3, utime 14.
    let rest = &stat[stat.rfind(')')? + 2..];
    let f: Vec<&str> = rest.split_whitespace().collect();
    let ticks: u64 = f.get(11)?.parse::<u64>().ok()? + f.get(12)?.parse::<u64>().ok()?;
    Some(Duration::from_millis(ticks * 10))
}

/// Run `buyers` concurrent loops of `sale` for `warm` and then `measure`. Throughput and
/// latency count the sales that completed inside the measuring window.
async fn slice(buyers: usize, warm: Duration, measure: Duration, sale: &SaleFn) -> Tally {
    let cpu_before = process_cpu();
    let start = Instant::now();
    let from = start + warm;
    let until = from + measure;
    let mut tasks = Vec::with_capacity(buyers);
    for b in 0..buyers {
        let sale = sale.clone();
        tasks.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            let (mut ok, mut errors, mut first_error) = (0u64, 0u64, None);
            let mut i = 0u64;
            loop {
                let t0 = Instant::now();
                if t0 >= until {
                    break;
                }
                let r = sale(b, i).await;
                let t1 = Instant::now();
                i += 1;
                match r {
                    Ok(()) => {
                        ok += 1;
                        if t1 > from && t1 <= until {
                            latencies.push(t1 - t0);
                        }
                    }
                    Err(e) => {
                        errors += 1;
                        first_error.get_or_insert_with(|| format!("{e:#}"));
                    }
                }
            }
            (latencies, ok, errors, first_error)
        }));
    }
    let mut tally = Tally {
        window: measure,
        ..Tally::default()
    };
    for t in tasks {
        match t.await {
            Ok((lat, ok, errors, first)) => {
                tally.latencies.extend(lat);
                tally.confirmed += ok;
                tally.errors += errors;
                if tally.first_error.is_none() {
                    tally.first_error = first;
                }
            }
            Err(e) => {
                tally.errors += 1;
                tally.first_error.get_or_insert_with(|| e.to_string());
            }
        }
    }
    if let (Some(a), Some(b)) = (cpu_before, process_cpu()) {
        tally.cpu = Some(b - a);
    }
    tally
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Kind {
    Raw,
    RawGc,
    RawSame,
    Ours,
}

impl Kind {
    fn label(self) -> &'static str {
        match self {
            Kind::Raw => "raw",
            Kind::RawGc => "raw-gc",
            Kind::RawSame => "raw-same",
            Kind::Ours => "ours",
        }
    }
}

/// What a cell's oversell check reads.
enum Target {
    /// Raw quota ids `[lo, hi)`.
    Raw(i32, i32),
    Event(EventId),
}

/// Something to close once a kind's slices are done.
enum Closer {
    None,
    SqlitePool(SqlitePool),
    /// The raw group-commit writer; it stops when the last sender (in the sale) is dropped.
    Writer(tokio::task::JoinHandle<()>),
}

/// How a kind sells.
enum Seller {
    /// The same seller for every slice.
    Fixed(SaleFn),
    /// A PostgreSQL pool of one connection per buyer, connected before each slice and closed
    /// after it: two such pools of 64 kept open together would pass the server's connection
    /// limit.
    PgPerSlice {
        url: String,
        buyers: usize,
        make: Arc<dyn Fn(PgPool) -> SaleFn + Send + Sync>,
    },
}

/// One kind of seller in a cell, ready to run slices.
struct Contender {
    kind: Kind,
    sale: Seller,
    tally: Tally,
    closer: Closer,
    sql: Sql,
    target: Target,
}

impl Contender {
    /// One slice of sales (see [`slice`]), added to the tally.
    async fn run_slice(&mut self, buyers: usize, opts: &Opts) -> anyhow::Result<()> {
        let t = match &self.sale {
            Seller::Fixed(sale) => slice(buyers, opts.warm, opts.slice, sale).await,
            Seller::PgPerSlice { url, buyers, make } => {
                let pool = PgPoolOptions::new()
                    .max_connections(*buyers as u32)
                    .min_connections(*buyers as u32)
                    .acquire_timeout(Duration::from_secs(30))
                    .connect(url)
                    .await?;
                let sale = make(pool.clone());
                let t = slice(*buyers, opts.warm, opts.slice, &sale).await;
                drop(sale);
                pool.close().await;
                t
            }
        };
        self.tally.add(t);
        Ok(())
    }

    /// Stop the seller and check the database.
    async fn finish(self) -> anyhow::Result<Cell> {
        let Contender {
            kind,
            sale,
            mut tally,
            closer,
            sql,
            target,
        } = self;
        drop(sale);
        match closer {
            Closer::None => {}
            Closer::SqlitePool(p) => p.close().await,
            Closer::Writer(w) => w.await?,
        }
        let check = match target {
            Target::Raw(lo, hi) => check_raw(&sql, (lo, hi), tally.confirmed).await?,
            Target::Event(e) => check_ours(&sql, e.0, tally.confirmed).await?,
        };
        tally.latencies.sort_unstable();
        Ok(Cell { kind, tally, check })
    }
}

// ---------------------------------------------------------------- the oversell check

/// Read back with plain SQL after a cell.
struct Check {
    /// Quotas whose taken count is above their size or differs from their tickets.
    bad_quotas: i64,
    taken: i64,
    tickets: i64,
    confirmed: u64,
}

impl Check {
    fn ok(&self) -> bool {
        self.bad_quotas == 0 && self.taken == self.tickets && self.taken == self.confirmed as i64
    }

    fn show(&self) -> String {
        if self.ok() {
            format!("ok (taken {} = tickets)", self.taken)
        } else {
            format!(
                "FAIL: {} bad quotas, taken {}, tickets {}, confirmed {}",
                self.bad_quotas, self.taken, self.tickets, self.confirmed
            )
        }
    }
}

/// A plain connection to one backend's database, bypassing the store.
#[derive(Clone)]
enum Sql {
    Sqlite(SqlitePool),
    Postgres(PgPool),
}

impl Sql {
    async fn scalar(&self, sql: &str, bind: impl BindArg) -> anyhow::Result<i64> {
        Ok(match self {
            Sql::Sqlite(p) => bind.sqlite(sqlx::query_scalar(sql)).fetch_one(p).await?,
            Sql::Postgres(p) => bind.pg(sqlx::query_scalar(sql)).fetch_one(p).await?,
        })
    }
}

/// The one parameter the check queries take: an event id or a range of raw quota ids.
trait BindArg: Copy {
    fn sqlite<'q>(
        self,
        q: sqlx::query::QueryScalar<'q, sqlx::Sqlite, i64, sqlx::sqlite::SqliteArguments<'q>>,
    ) -> sqlx::query::QueryScalar<'q, sqlx::Sqlite, i64, sqlx::sqlite::SqliteArguments<'q>>;
    fn pg<'q>(
        self,
        q: sqlx::query::QueryScalar<'q, sqlx::Postgres, i64, sqlx::postgres::PgArguments>,
    ) -> sqlx::query::QueryScalar<'q, sqlx::Postgres, i64, sqlx::postgres::PgArguments>;
}

impl BindArg for uuid::Uuid {
    fn sqlite<'q>(
        self,
        q: sqlx::query::QueryScalar<'q, sqlx::Sqlite, i64, sqlx::sqlite::SqliteArguments<'q>>,
    ) -> sqlx::query::QueryScalar<'q, sqlx::Sqlite, i64, sqlx::sqlite::SqliteArguments<'q>> {
        q.bind(self)
    }
    fn pg<'q>(
        self,
        q: sqlx::query::QueryScalar<'q, sqlx::Postgres, i64, sqlx::postgres::PgArguments>,
    ) -> sqlx::query::QueryScalar<'q, sqlx::Postgres, i64, sqlx::postgres::PgArguments> {
        q.bind(self)
    }
}

impl BindArg for (i32, i32) {
    fn sqlite<'q>(
        self,
        q: sqlx::query::QueryScalar<'q, sqlx::Sqlite, i64, sqlx::sqlite::SqliteArguments<'q>>,
    ) -> sqlx::query::QueryScalar<'q, sqlx::Sqlite, i64, sqlx::sqlite::SqliteArguments<'q>> {
        q.bind(self.0).bind(self.1)
    }
    fn pg<'q>(
        self,
        q: sqlx::query::QueryScalar<'q, sqlx::Postgres, i64, sqlx::postgres::PgArguments>,
    ) -> sqlx::query::QueryScalar<'q, sqlx::Postgres, i64, sqlx::postgres::PgArguments> {
        q.bind(self.0).bind(self.1)
    }
}

/// The stock invariant for one event of the real schema.
async fn check_ours(sql: &Sql, event: uuid::Uuid, confirmed: u64) -> anyhow::Result<Check> {
    let bad_quotas = sql
        .scalar(
            "select count(*) from quotas q
             where q.event_id = $1
               and (q.taken > q.size
                    or q.taken <> (select count(*) from ticket_quotas tq
                                   join tickets t on t.id = tq.ticket_id
                                   where tq.quota_id = q.id and t.status = 'valid'))",
            event,
        )
        .await?;
    let taken = sql
        .scalar(
            "select cast(coalesce(sum(taken), 0) as bigint) from quotas where event_id = $1",
            event,
        )
        .await?;
    let tickets = sql
        .scalar(
            "select count(*) from tickets where event_id = $1 and status = 'valid'",
            event,
        )
        .await?;
    Ok(Check {
        bad_quotas,
        taken,
        tickets,
        confirmed,
    })
}

/// The same for the bare tables of the raw runs (quota ids in `[lo, hi)`).
async fn check_raw(sql: &Sql, ids: (i32, i32), confirmed: u64) -> anyhow::Result<Check> {
    let bad_quotas = sql
        .scalar(
            "select count(*) from raw_quotas q
             left join (select quota_id, count(*) as n from raw_sales group by quota_id) s
               on s.quota_id = q.id
             where q.id >= $1 and q.id < $2
               and (q.taken > q.size or q.taken <> coalesce(s.n, 0))",
            ids,
        )
        .await?;
    let taken = sql
        .scalar(
            "select cast(coalesce(sum(taken), 0) as bigint) from raw_quotas
             where id >= $1 and id < $2",
            ids,
        )
        .await?;
    let tickets = sql
        .scalar(
            "select count(*) from raw_sales where quota_id >= $1 and quota_id < $2",
            ids,
        )
        .await?;
    Ok(Check {
        bad_quotas,
        taken,
        tickets,
        confirmed,
    })
}

// ---------------------------------------------------------------- raw SQL

const RAW_SCHEMA: [&str; 2] = [
    "create table raw_quotas (
         id integer primary key,
         size integer not null,
         taken integer not null default 0 check (taken >= 0 and taken <= size))",
    "create table raw_sales (
         id integer primary key,
         quota_id integer not null,
         at bigint not null)",
];

const RAW_SCHEMA_PG: [&str; 2] = [
    "create table raw_quotas (
         id integer primary key,
         size integer not null,
         taken integer not null default 0 check (taken >= 0 and taken <= size))",
    "create table raw_sales (
         id bigserial primary key,
         quota_id integer not null,
         at timestamptz not null default now())",
];

/// A database for the raw runs, kept for the whole backend.
struct RawDb {
    sql: Sql,
    /// SQLite: the file, reopened with a pool of N writers per cell.
    sqlite_opts: Option<SqliteConnectOptions>,
    pg_url: Option<String>,
    next_id: i32,
}

/// The same pragmas as the store's writer: WAL, synchronous=FULL, a busy timeout.
fn sqlite_options(path: &std::path::Path) -> SqliteConnectOptions {
    SqliteConnectOptions::new()
        .filename(path)
        .create_if_missing(true)
        .journal_mode(SqliteJournalMode::Wal)
        .synchronous(SqliteSynchronous::Full)
        .busy_timeout(Duration::from_secs(5))
        .disable_statement_logging()
}

impl RawDb {
    async fn sqlite(db: &TestSqlite) -> anyhow::Result<Self> {
        let opts = sqlite_options(&db.path().with_file_name("raw.db"));
        let pool = SqlitePoolOptions::new()
            .max_connections(2)
            .connect_with(opts.clone())
            .await?;
        for s in RAW_SCHEMA {
            sqlx::query(s).execute(&pool).await?;
        }
        Ok(RawDb {
            sql: Sql::Sqlite(pool),
            sqlite_opts: Some(opts),
            pg_url: None,
            next_id: 0,
        })
    }

    async fn postgres(db: &TestPostgres) -> anyhow::Result<Self> {
        let pool = PgPoolOptions::new()
            .max_connections(2)
            .connect(db.url())
            .await?;
        for s in RAW_SCHEMA_PG {
            sqlx::query(s).execute(&pool).await?;
        }
        Ok(RawDb {
            sql: Sql::Postgres(pool),
            sqlite_opts: None,
            pg_url: Some(db.url().to_string()),
            next_id: 0,
        })
    }

    /// Fresh quota rows for one cell: ids `[lo, lo + n)`.
    async fn quotas(&mut self, n: usize) -> anyhow::Result<(i32, i32)> {
        let lo = self.next_id;
        let hi = lo + n as i32;
        self.next_id = hi;
        for id in lo..hi {
            let q = "insert into raw_quotas (id, size, taken) values ($1, $2, 0)";
            match &self.sql {
                Sql::Sqlite(p) => {
                    sqlx::query(q).bind(id).bind(QUOTA_SIZE).execute(p).await?;
                }
                Sql::Postgres(p) => {
                    sqlx::query(q)
                        .bind(id)
                        .bind(QUOTA_SIZE as i32)
                        .execute(p)
                        .await?;
                }
            }
        }
        Ok((lo, hi))
    }

    async fn prepare(
        &mut self,
        shape: Shape,
        buyers: usize,
        group_commit: bool,
    ) -> anyhow::Result<Contender> {
        let (lo, hi) = self.quotas(shape.quotas()).await?;
        let n = shape.quotas();
        let (kind, sale, closer) = if let (true, Some(o)) = (group_commit, &self.sqlite_opts) {
            let (tx, rx) = mpsc::channel(4096);
            let writer = tokio::spawn(raw_group_writer(o.connect().await?, rx));
            let sale = sale_fn(move |b, i| {
                let tx = tx.clone();
                let q = lo + pick(b, i, n) as i32;
                async move {
                    let (reply, answer) = oneshot::channel();
                    tx.send((q, reply))
                        .await
                        .map_err(|_| anyhow!("writer stopped"))?;
                    answer.await?
                }
            });
            (Kind::RawGc, sale, Closer::Writer(writer))
        } else if let Some(o) = &self.sqlite_opts {
            let pool = SqlitePoolOptions::new()
                .max_connections(buyers as u32)
                .min_connections(buyers as u32)
                .acquire_timeout(Duration::from_secs(30))
                .connect_with(o.clone())
                .await?;
            let p = pool.clone();
            let sale = sale_fn(move |b, i| {
                let p = p.clone();
                let q = lo + pick(b, i, n) as i32;
                async move { raw_sqlite_sale(&p, q).await }
            });
            (Kind::Raw, sale, Closer::SqlitePool(pool))
        } else {
            let url = self.pg_url.clone().unwrap_or_default();
            let make = move |p: PgPool| {
                sale_fn(move |b, i| {
                    let p = p.clone();
                    let q = lo + pick(b, i, n) as i32;
                    async move { raw_pg_sale(&p, q).await }
                })
            };
            let sale = Seller::PgPerSlice {
                url,
                buyers,
                make: Arc::new(make),
            };
            return Ok(Contender {
                kind: Kind::Raw,
                sale,
                tally: Tally::default(),
                closer: Closer::None,
                sql: self.sql.clone(),
                target: Target::Raw(lo, hi),
            });
        };
        Ok(Contender {
            kind,
            sale: Seller::Fixed(sale),
            tally: Tally::default(),
            closer,
            sql: self.sql.clone(),
            target: Target::Raw(lo, hi),
        })
    }
}

async fn raw_sqlite_sale(pool: &SqlitePool, quota: i32) -> anyhow::Result<()> {
    let mut c = pool.acquire().await?;
    sqlx::query("begin immediate").execute(&mut *c).await?;
    let r = async {
        let n = sqlx::query(
            "update raw_quotas set taken = taken + 1 where id = $1 and taken + 1 <= size",
        )
        .bind(quota)
        .execute(&mut *c)
        .await?
        .rows_affected();
        if n != 1 {
            bail!("sold out");
        }
        sqlx::query("insert into raw_sales (quota_id, at) values ($1, $2)")
            .bind(quota)
            .bind(Utc::now().timestamp_micros())
            .execute(&mut *c)
            .await?;
        sqlx::query("commit").execute(&mut *c).await?;
        Ok(())
    }
    .await;
    if r.is_err() {
        let _ = sqlx::query("rollback").execute(&mut *c).await;
    }
    r
}

type GroupJob = (i32, oneshot::Sender<anyhow::Result<()>>);

/// MEASURED.md's "one writer task with group commit", bare: one connection takes whatever
/// sales are queued (up to 32), runs them in one `begin immediate` transaction and answers
/// each only after the commit.
async fn raw_group_writer(mut conn: SqliteConnection, mut rx: mpsc::Receiver<GroupJob>) {
    let mut batch: Vec<GroupJob> = Vec::with_capacity(32);
    while let Some(job) = rx.recv().await {
        batch.push(job);
        while batch.len() < 32 {
            match rx.try_recv() {
                Ok(j) => batch.push(j),
                Err(_) => break,
            }
        }
        let quotas: Vec<i32> = batch.iter().map(|(q, _)| *q).collect();
        let outcome = raw_group_batch(&mut conn, &quotas).await;
        for ((_, reply), k) in batch.drain(..).zip(0..) {
            let answer = match &outcome {
                Ok(taken) if taken[k] => Ok(()),
                Ok(_) => Err(anyhow!("sold out")),
                Err(e) => Err(anyhow!("batch failed: {e}")),
            };
            let _ = reply.send(answer);
        }
    }
    let _ = conn.close().await;
}

/// One transaction for a batch; which sales got their unit.
fn raw_group_batch<'c>(
    conn: &'c mut SqliteConnection,
    quotas: &'c [i32],
) -> BoxFuture<'c, anyhow::Result<Vec<bool>>> {
    Box::pin(async move {
        sqlx::query("begin immediate").execute(&mut *conn).await?;
        let r: anyhow::Result<Vec<bool>> = async {
            let mut taken = Vec::with_capacity(quotas.len());
            for &q in quotas {
                let n = sqlx::query(
                    "update raw_quotas set taken = taken + 1 where id = $1 and taken + 1 <= size",
                )
                .bind(q)
                .execute(&mut *conn)
                .await?
                .rows_affected();
                if n == 1 {
                    sqlx::query("insert into raw_sales (quota_id, at) values ($1, $2)")
                        .bind(q)
                        .bind(Utc::now().timestamp_micros())
                        .execute(&mut *conn)
                        .await?;
                }
                taken.push(n == 1);
            }
            sqlx::query("commit").execute(&mut *conn).await?;
            Ok(taken)
        }
        .await;
        if r.is_err() {
            let _ = sqlx::query("rollback").execute(&mut *conn).await;
        }
        r
    })
}

async fn raw_pg_sale(pool: &PgPool, quota: i32) -> anyhow::Result<()> {
    let n = sqlx::query(
        "with u as (update raw_quotas set taken = taken + 1
                    where id = $1 and taken + 1 <= size returning id)
         insert into raw_sales (quota_id) select id from u",
    )
    .bind(quota)
    .execute(pool)
    .await?
    .rows_affected();
    if n != 1 {
        bail!("sold out");
    }
    Ok(())
}

// ---------------------------------------------------------------- ours

/// One backend's store with its first owner, and a plain SQL connection beside it.
struct Ours {
    admit: Admit,
    session: Arc<Session>,
    sql: Sql,
    events: usize,
    /// PostgreSQL: the store's database, for `raw-same`.
    pg_url: Option<String>,
    /// SQLite: the store's file, for `raw-same`.
    sqlite_path: Option<std::path::PathBuf>,
}

/// A published event for one cell, with its sale inputs (one per ticket type).
struct BenchEvent {
    id: EventId,
    types: Vec<TicketTypeId>,
    inputs: Arc<Vec<SaleInput>>,
}

impl Ours {
    /// Open the store (running the migrations) and create its first owner; `sql` opens the
    /// plain connection once the schema exists.
    async fn open<F, Fut>(location: &str, sql: F) -> anyhow::Result<Self>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = anyhow::Result<Sql>>,
    {
        let store = admit_store::open(location).await?;
        let sql = sql().await?;
        let admit = Admit::new(store);
        let session = admit
            .create_first_owner(
                &NewUserInput {
                    username: "bench".into(),
                    display_name: "Bench Owner".into(),
                    password: "a long enough bench password".into(),
                    role: String::new(),
                },
                None,
                Utc::now(),
            )
            .await
            .map_err(|e| anyhow!("create_first_owner: {e}"))?;
        Ok(Ours {
            admit,
            session: Arc::new(session),
            sql,
            events: 0,
            pg_url: location
                .starts_with("postgres")
                .then(|| location.to_string()),
            sqlite_path: (!location.starts_with("postgres")).then(|| location.into()),
        })
    }

    async fn event(&mut self, shape: Shape) -> anyhow::Result<BenchEvent> {
        let (a, s) = (&self.admit, &*self.session);
        let now = Utc::now();
        self.events += 1;
        let starts = now + chrono::Duration::days(30);
        let event = a
            .create_event(
                s,
                &EventInput {
                    name: format!("Bench night {}", self.events),
                    description: "Selling under contention".into(),
                    venue: "Bench Hall".into(),
                    starts_at: starts.to_rfc3339(),
                    ends_at: (starts + chrono::Duration::hours(4)).to_rfc3339(),
                    time_zone: "Europe/Berlin".into(),
                    category_id: None,
                },
                now,
            )
            .await
            .map_err(|e| anyhow!("create_event: {e}"))?;
        let event_id = event.id.to_string();
        let mut types = Vec::new();
        for k in 0..shape.quotas() {
            let t = a
                .create_ticket_type(
                    s,
                    &TicketTypeInput {
                        event_id: event_id.clone(),
                        name: format!("Type {k}"),
                        price_minor: 2000 + k as i64,
                        currency: "EUR".into(),
                        max_per_order: Some(10),
                        ..Default::default()
                    },
                    now,
                )
                .await
                .map_err(|e| anyhow!("create_ticket_type: {e}"))?;
            a.create_quota(
                s,
                &QuotaInput {
                    event_id: event_id.clone(),
                    name: format!("Quota {k}"),
                    size: QUOTA_SIZE,
                    ticket_type_ids: vec![t.id.to_string()],
                },
                now,
            )
            .await
            .map_err(|e| anyhow!("create_quota: {e}"))?;
            types.push(t.id);
        }
        a.publish_event(s, &event_id, now)
            .await
            .map_err(|e| anyhow!("publish_event: {e}"))?;
        let inputs = types
            .iter()
            .map(|t| SaleInput {
                event_id: event_id.clone(),
                lines: vec![LineInput {
                    ticket_type_id: t.to_string(),
                    quantity: 1,
                    attendee_names: vec![],
                }],
                payment_method: "cash".into(),
                ..Default::default()
            })
            .collect();
        Ok(BenchEvent {
            id: event.id,
            types,
            inputs: Arc::new(inputs),
        })
    }

    async fn prepare(&mut self, shape: Shape) -> anyhow::Result<Contender> {
        let ev = self.event(shape).await?;
        let (admit, session, inputs) = (self.admit.clone(), self.session.clone(), ev.inputs);
        let sale = sale_fn(move |b, i| {
            let (admit, session, inputs) = (admit.clone(), session.clone(), inputs.clone());
            async move {
                let input = &inputs[pick(b, i, inputs.len())];
                admit
                    .sell(&session, input, Utc::now())
                    .await
                    .map(drop)
                    .map_err(|e| anyhow!("sell: {e}"))
            }
        });
        Ok(Contender {
            kind: Kind::Ours,
            sale: Seller::Fixed(sale),
            tally: Tally::default(),
            closer: Closer::None,
            sql: self.sql.clone(),
            target: Target::Event(ev.id),
        })
    }

    /// The same rows as a sale, by bare SQL, into the store's schema, on a fresh event of
    /// `shape`: on PostgreSQL one statement per sale over a pool of one connection per buyer;
    /// on SQLite through one writer thread of its own (rusqlite) with group commit.
    async fn prepare_raw_same(&mut self, shape: Shape, buyers: usize) -> anyhow::Result<Contender> {
        let ev = self.event(shape).await?;
        let quotas = self.admit.store().list_quotas(ev.id).await?;
        let types: Vec<(TicketTypeId, uuid::Uuid)> = ev
            .types
            .iter()
            .map(|t| {
                let q = quotas
                    .iter()
                    .find(|q| q.quota.ticket_type_ids.contains(t))
                    .map(|q| q.quota.id.0)
                    .context("a type without its quota")?;
                Ok((*t, q))
            })
            .collect::<anyhow::Result<_>>()?;
        let types = Arc::new(types);
        let (user, event_id) = (self.session.user.id, ev.id);
        let (sale, closer) = if let Some(path) = self.sqlite_path.clone() {
            let (tx, rx) = mpsc::channel::<SameJob>(4096);
            let writer = tokio::task::spawn_blocking(move || {
                if let Err(e) = raw_same_writer(&path, rx) {
                    eprintln!("raw-same writer: {e:#}");
                }
            });
            let sale = sale_fn(move |b, i| {
                let (tx, types) = (tx.clone(), types.clone());
                async move {
                    let (tt, quota) = types[pick(b, i, types.len())];
                    let rows = SameRows::new(event_id, tt, user)?;
                    let (reply, answer) = oneshot::channel();
                    tx.send((quota, rows, reply))
                        .await
                        .map_err(|_| anyhow!("writer stopped"))?;
                    answer.await?
                }
            });
            (Seller::Fixed(sale), Closer::Writer(writer))
        } else {
            let url = self.pg_url.clone().context("raw-same needs a database")?;
            let make = move |p: PgPool| {
                let types = types.clone();
                sale_fn(move |b, i| {
                    let (p, types) = (p.clone(), types.clone());
                    async move {
                        let (tt, quota) = types[pick(b, i, types.len())];
                        raw_same_sale(&p, event_id, tt, quota, user).await
                    }
                })
            };
            let sale = Seller::PgPerSlice {
                url,
                buyers,
                make: Arc::new(make),
            };
            (sale, Closer::None)
        };
        Ok(Contender {
            kind: Kind::RawSame,
            sale,
            tally: Tally::default(),
            closer,
            sql: self.sql.clone(),
            target: Target::Event(ev.id),
        })
    }

    /// `Admit::sell`'s steps one by one, each timed (sum over the sales in the window).
    async fn profile(&mut self, shape: Shape, buyers: usize, opts: &Opts) -> anyhow::Result<()> {
        let ev = self.event(shape).await?;
        let phases: Arc<[AtomicU64; PHASES.len()]> = Arc::new(Default::default());
        let (warm, measure) = (opts.warm * 2, opts.slice * opts.rounds);
        let start = Instant::now();
        let (from, until) = (start + warm, start + warm + measure);
        let (store, session, types) = (
            self.admit.store().clone(),
            self.session.clone(),
            Arc::new(ev.types),
        );
        let event_id = ev.id;
        let ph = phases.clone();
        let sale = sale_fn(move |b, i| {
            let (store, session, types, ph) =
                (store.clone(), session.clone(), types.clone(), ph.clone());
            async move {
                let tt = types[pick(b, i, types.len())];
                let mut laps = [Duration::ZERO; PHASES.len()];
                phased_sale(&*store, &session, event_id, tt, &mut laps).await?;
                let done = Instant::now();
                if done > from && done <= until {
                    for (k, d) in laps.iter().enumerate() {
                        ph[k].fetch_add(d.as_nanos() as u64, Ordering::Relaxed);
                    }
                    ph[PHASES.len() - 1].fetch_add(1, Ordering::Relaxed);
                }
                Ok(())
            }
        });
        let run = slice(buyers, warm, measure, &sale).await;
        let check = check_ours(&self.sql, ev.id.0, run.confirmed).await?;
        let n = phases[PHASES.len() - 1].load(Ordering::Relaxed).max(1) as f64;
        let us: Vec<f64> = (0..PHASES.len() - 1)
            .map(|k| phases[k].load(Ordering::Relaxed) as f64 / n / 1e3)
            .collect();
        let total: f64 = us.iter().sum();
        let mut line = format!(
            "{:<5} {:>3} buyers  {:>7.0}/s  mean {:>7.0} µs =",
            shape.label(),
            buyers,
            run.per_s(),
            total
        );
        for (k, u) in us.iter().enumerate() {
            line += &format!(
                " {} {:.0} ({:.0}%)",
                PHASES[k],
                u,
                100.0 * u / total.max(f64::MIN_POSITIVE)
            );
        }
        println!("{line}  check {}", check.show());
        if run.errors > 0 {
            println!(
                "      {} errors, first: {}",
                run.errors,
                run.first_error.unwrap_or_default()
            );
        }
        Ok(())
    }
}

/// One ticket of `tt` (under `quota` alone), the rows `Admit::sell` writes for a one-ticket
/// cash sale, in one statement: the conditional update and, only if it took the unit, the
/// order, the ticket, its quota link, the audit entry and the outbox rows of order and ticket.
const RAW_SAME_SALE: &str = "
with u as (
    update quotas set taken = taken + 1
    where id = $1 and taken + 1 <= size
    returning id
),
o as (
    insert into orders (id, code, event_id, buyer_name, buyer_email, channel, payment_method,
                        status, total_minor, currency, created_by, device_id, created_at,
                        updated_at, version, coupon_id, discount_minor, payment_due, paid_at,
                        paid_by, paid_device, tendered_minor, payment_note)
    select $2, $3, $4, null, null, 'box_office', 'cash', 'paid', $5, 'EUR', $6, null, $7, $7, 1,
           null, 0, null, $7, $6, null, null, null
    from u
),
t as (
    insert into tickets (id, order_id, event_id, ticket_type_id, price_minor, currency,
                         attendee_name, status, created_at, updated_at, version)
    select $8, $2, $4, $9, $5, 'EUR', null, 'valid', $7, $7, 1 from u
),
l as (
    insert into ticket_quotas (ticket_id, quota_id) select $8, id from u
),
a as (
    insert into audit_log (id, at, user_id, device_id, action, entity, entity_id, detail)
    select $10, $7, $6, null, 'order.sell', 'order', $2, $11 from u
),
x as (
    insert into outbox (id, at, entity, entity_id, version, payload)
    select v.id, $7, v.entity, v.entity_id, 1, v.payload
    from u, (values ($12::uuid, 'order', $2::uuid, $13::jsonb),
                    ($14::uuid, 'ticket', $8::uuid, $15::jsonb)) as v (id, entity, entity_id, payload)
)
select count(*) from u
";

async fn raw_same_sale(
    pool: &PgPool,
    event_id: EventId,
    tt: TicketTypeId,
    quota: uuid::Uuid,
    user: admit_core::UserId,
) -> anyhow::Result<()> {
    // A clash of random order codes draws another, as `Admit::sell` does.
    for _ in 0..3 {
        match raw_same_sale_once(pool, event_id, tt, quota, user).await {
            Err(e)
                if e.downcast_ref::<sqlx::Error>().is_some_and(|e| {
                    e.as_database_error()
                        .and_then(|d| d.constraint())
                        .is_some_and(|c| c == "orders_code_key")
                }) => {}
            other => return other,
        }
    }
    raw_same_sale_once(pool, event_id, tt, quota, user).await
}

/// A paid cash order at the box office with no buyer details, as `Admit::sell` makes it.
fn cash_order(
    id: OrderId,
    event_id: EventId,
    total: admit_core::Money,
    user: admit_core::UserId,
    device: Option<admit_core::DeviceId>,
    now: chrono::DateTime<Utc>,
) -> Order {
    Order {
        id,
        code: OrderCode::generate(),
        event_id,
        buyer_name: None,
        buyer_email: None,
        channel: Channel::BoxOffice,
        payment_method: PaymentMethod::Cash,
        status: OrderStatus::Paid,
        total,
        created_by: user,
        device_id: device,
        coupon_id: None,
        discount_minor: 0,
        payment: admit_core::model::Payment::taken(now, user, device),
        meta: Meta::new(now),
    }
}

/// The rows `Admit::sell` writes for a one-ticket cash sale of `tt`, made as it makes them
/// (ids, order code, audit entry and the outbox rows' JSON).
struct SameRows {
    order: Order,
    ticket: Ticket,
    change: Change,
}

impl SameRows {
    fn new(event_id: EventId, tt: TicketTypeId, user: admit_core::UserId) -> anyhow::Result<Self> {
        let now = Utc::now();
        let price = admit_core::Money {
            minor: 2000,
            currency: admit_core::Currency::parse("currency", "EUR")?,
        };
        let order_id = OrderId::new(now);
        let ticket = Ticket {
            id: TicketId::new(now),
            order_id,
            event_id,
            ticket_type_id: tt,
            price,
            attendee_name: None,
            status: TicketStatus::Valid,
            meta: Meta::new(now),
        };
        let order = cash_order(order_id, event_id, price, user, None, now);
        let change = Change::new(
            now,
            Some(user),
            None,
            "order.sell",
            "order",
            order.id.0,
            json!({ "code": order.code.as_str(), "tickets": 1, "total_minor": price.minor,
                    "payment_method": PaymentMethod::Cash }),
        )
        .sync(now, "order", order.id.0, 1, &order)
        .sync(now, "ticket", ticket.id.0, 1, &ticket);
        Ok(SameRows {
            order,
            ticket,
            change,
        })
    }
}

async fn raw_same_sale_once(
    pool: &PgPool,
    event_id: EventId,
    tt: TicketTypeId,
    quota: uuid::Uuid,
    user: admit_core::UserId,
) -> anyhow::Result<()> {
    let SameRows {
        order,
        ticket,
        change,
    } = SameRows::new(event_id, tt, user)?;
    let now = order.meta.created_at;
    let (audit, outbox) = (&change.audit[0], &change.outbox);
    let taken: i64 = sqlx::query_scalar(RAW_SAME_SALE)
        .bind(quota)
        .bind(order.id.0)
        .bind(order.code.as_str())
        .bind(event_id.0)
        .bind(order.total.minor)
        .bind(user.0)
        .bind(now)
        .bind(ticket.id.0)
        .bind(tt.0)
        .bind(audit.id.0)
        .bind(&audit.detail)
        .bind(outbox[0].id)
        .bind(&outbox[0].payload)
        .bind(outbox[1].id)
        .bind(&outbox[1].payload)
        .fetch_one(pool)
        .await?;
    if taken != 1 {
        bail!("sold out");
    }
    Ok(())
}

/// A sale for the SQLite `raw-same` writer: the quota, the rows, and where the answer goes.
type SameJob = (uuid::Uuid, SameRows, oneshot::Sender<anyhow::Result<()>>);

/// The SQLite `raw-same` writer: a thread with its own rusqlite connection to the store's file,
/// set up as the store's writer is (WAL, synchronous=FULL, foreign keys), that takes whatever
/// sales are queued (up to 32), writes them in one `begin immediate` transaction with plain
/// statements and answers each only after the commit. Ends when the last sender is dropped.
fn raw_same_writer(path: &std::path::Path, mut rx: mpsc::Receiver<SameJob>) -> anyhow::Result<()> {
    let conn = rusqlite::Connection::open(path)?;
    conn.busy_timeout(Duration::from_secs(5))?;
    conn.execute_batch(
        "pragma journal_mode = wal; pragma synchronous = full; pragma foreign_keys = on;",
    )?;
    let mut batch: Vec<SameJob> = Vec::with_capacity(32);
    while let Some(job) = rx.blocking_recv() {
        batch.push(job);
        while batch.len() < 32 {
            match rx.try_recv() {
                Ok(j) => batch.push(j),
                Err(_) => break,
            }
        }
        let outcome = raw_same_batch(&conn, &batch);
        for ((_, _, reply), k) in batch.drain(..).zip(0..) {
            let answer = match &outcome {
                Ok(taken) if taken[k] => Ok(()),
                Ok(_) => Err(anyhow!("sold out")),
                Err(e) => Err(anyhow!("batch failed: {e}")),
            };
            let _ = reply.send(answer);
        }
    }
    Ok(())
}

/// One transaction for a batch of `raw-same` sales on SQLite; which sales got their unit.
fn raw_same_batch(conn: &rusqlite::Connection, batch: &[SameJob]) -> rusqlite::Result<Vec<bool>> {
    use rusqlite::params;
    let us = |t: chrono::DateTime<Utc>| t.timestamp_micros();
    conn.execute_batch("begin immediate")?;
    let r = (|| {
        let mut taken = Vec::with_capacity(batch.len());
        for (quota, rows, _) in batch {
            let (o, t) = (&rows.order, &rows.ticket);
            let n = conn
                .prepare_cached(
                    "update quotas set taken = taken + 1 where id = ?1 and taken + 1 <= size",
                )?
                .execute(params![quota])?;
            taken.push(n == 1);
            if n != 1 {
                continue;
            }
            let at = us(o.meta.created_at);
            conn.prepare_cached(
                "insert into orders (id, code, event_id, buyer_name, buyer_email, channel,
                                     payment_method, status, total_minor, currency, created_by,
                                     device_id, created_at, updated_at, version, coupon_id,
                                     discount_minor, payment_due, paid_at, paid_by, paid_device,
                                     tendered_minor, payment_note)
                 values (?1, ?2, ?3, null, null, 'box_office', 'cash', 'paid', ?4, 'EUR', ?5,
                         null, ?6, ?6, 1, null, 0, null, ?6, ?5, null, null, null)",
            )?
            .execute(params![
                o.id.0,
                o.code.as_str(),
                o.event_id.0,
                o.total.minor,
                o.created_by.0,
                at
            ])?;
            conn.prepare_cached(
                "insert into tickets (id, order_id, event_id, ticket_type_id, price_minor,
                                      currency, attendee_name, status, created_at, updated_at,
                                      version)
                 values (?1, ?2, ?3, ?4, ?5, 'EUR', null, 'valid', ?6, ?6, 1)",
            )?
            .execute(params![
                t.id.0,
                o.id.0,
                o.event_id.0,
                t.ticket_type_id.0,
                t.price.minor,
                at
            ])?;
            conn.prepare_cached("insert into ticket_quotas (ticket_id, quota_id) values (?1, ?2)")?
                .execute(params![t.id.0, quota])?;
            for a in &rows.change.audit {
                conn.prepare_cached(
                    "insert into audit_log (id, at, user_id, device_id, action, entity,
                                            entity_id, detail)
                     values (?1, ?2, ?3, null, ?4, ?5, ?6, ?7)",
                )?
                .execute(params![
                    a.id.0,
                    at,
                    o.created_by.0,
                    a.action,
                    a.entity,
                    a.entity_id,
                    a.detail.to_string()
                ])?;
            }
            for x in &rows.change.outbox {
                conn.prepare_cached(
                    "insert into outbox (id, at, entity, entity_id, version, payload)
                     values (?1, ?2, ?3, ?4, 1, ?5)",
                )?
                .execute(params![
                    x.id,
                    at,
                    x.entity,
                    x.entity_id,
                    x.payload.to_string()
                ])?;
            }
        }
        conn.execute_batch("commit")?;
        Ok(taken)
    })();
    if r.is_err() {
        let _ = conn.execute_batch("rollback");
    }
    r
}

/// Phase names; the last slot of the counters holds the number of sales summed.
const PHASES: [&str; 6] = [
    "get_event",
    "list_types",
    "list_quotas",
    "plan+build",
    "store.sell",
    "n",
];

/// What `Admit::sell` does for a one-ticket cash sale, with the time of each step in `laps`.
async fn phased_sale(
    store: &dyn Store,
    s: &Session,
    event_id: EventId,
    tt: TicketTypeId,
    laps: &mut [Duration; PHASES.len()],
) -> anyhow::Result<()> {
    let t0 = Instant::now();
    let event = store.get_event(event_id).await?;
    let t1 = Instant::now();
    let types = store.list_ticket_types(event_id).await?;
    let t2 = Instant::now();
    let quotas: Vec<Quota> = store
        .list_quotas(event_id)
        .await?
        .into_iter()
        .map(|u| u.quota)
        .collect();
    let t3 = Instant::now();
    let now = Utc::now();
    let lines = [Line {
        ticket_type_id: tt,
        quantity: 1,
    }];
    let plan = stock::plan(&event, &types, &quotas, &lines, now)?;
    let order_id = OrderId::new(now);
    let mut tickets = Vec::new();
    let mut ticket_quotas = Vec::new();
    for (tt, price) in &plan.unit_prices {
        let t = Ticket {
            id: TicketId::new(now),
            order_id,
            event_id,
            ticket_type_id: *tt,
            price: *price,
            attendee_name: None,
            status: TicketStatus::Valid,
            meta: Meta::new(now),
        };
        for q in quotas.iter().filter(|q| q.ticket_type_ids.contains(tt)) {
            ticket_quotas.push((t.id, q.id));
        }
        tickets.push(t);
    }
    let order = cash_order(order_id, event_id, plan.total, s.user.id, s.device_id, now);
    let mut change = Change::new(
        now,
        Some(s.user.id),
        s.device_id,
        "order.sell",
        "order",
        order.id.0,
        json!({ "code": order.code.as_str(), "tickets": tickets.len(),
                "total_minor": plan.total.minor, "payment_method": PaymentMethod::Cash }),
    )
    .sync(now, "order", order.id.0, 1, &order);
    for t in &tickets {
        change = change.sync(now, "ticket", t.id.0, 1, t);
    }
    let sale = NewSale {
        order,
        tickets,
        demand: plan.quota_demand,
        ticket_quotas,
        hold: None,
        waitlist_entry: None,
        mail: None,
        change,
    };
    let t4 = Instant::now();
    store.sell(&sale).await?;
    let t5 = Instant::now();
    *laps = [t1 - t0, t2 - t1, t3 - t2, t4 - t3, t5 - t4, Duration::ZERO];
    Ok(())
}

// ---------------------------------------------------------------- the table

struct Cell {
    kind: Kind,
    tally: Tally,
    check: Check,
}

struct Row {
    backend: Backend,
    shape: Shape,
    buyers: usize,
    cells: Vec<Cell>,
}

impl Row {
    fn ok(&self) -> bool {
        self.cells.iter().all(|c| c.check.ok())
    }

    fn per_s(&self, kind: Kind) -> Option<f64> {
        let c = self.cells.iter().find(|c| c.kind == kind)?;
        Some(c.tally.per_s())
    }

    /// Sales per second of ours over those of `kind`.
    fn ratio(&self, kind: Kind) -> Option<f64> {
        Some(self.per_s(Kind::Ours)? / self.per_s(kind)?)
    }

    fn print(&self) {
        let ratio = |k| self.ratio(k).map_or(String::new(), |x| format!("{x:.2}"));
        for c in &self.cells {
            let (r, r_gc, r_same) = match c.kind {
                Kind::Ours => (ratio(Kind::Raw), ratio(Kind::RawGc), ratio(Kind::RawSame)),
                _ => (String::new(), String::new(), String::new()),
            };
            println!(
                "{:<8} {:<5} {:>6}  {:<8} {:>8.0} {:>8.2} {:>8.2}  {:>8} {:>11} {:>13}  {:>11}  {}",
                self.backend.label(),
                self.shape.label(),
                self.buyers,
                c.kind.label(),
                c.tally.per_s(),
                c.tally.pct_ms(50),
                c.tally.pct_ms(99),
                r,
                r_gc,
                r_same,
                c.tally.cpu_us().map_or("-".into(), |u| format!("{u:.0}")),
                c.check.show()
            );
            if c.tally.errors > 0 {
                println!(
                    "{:>30} {} failed sales, first: {}",
                    "",
                    c.tally.errors,
                    c.tally.first_error.as_deref().unwrap_or_default()
                );
            }
        }
    }
}

fn header() {
    println!(
        "{:<8} {:<5} {:>6}  {:<8} {:>8} {:>8} {:>8}  {:>8} {:>11} {:>13}  {:>11}  oversell check",
        "backend",
        "shape",
        "buyers",
        "kind",
        "sales/s",
        "p50 ms",
        "p99 ms",
        "ours/raw",
        "ours/raw-gc",
        "ours/raw-same",
        "cpu µs/sale"
    );
}

// ---------------------------------------------------------------- main

/// The databases of one backend, kept alive (and dropped together) for its cells.
struct Setup {
    ours: Ours,
    raw: RawDb,
    _guard: Box<dyn std::any::Any>,
}

async fn setup(backend: Backend) -> anyhow::Result<Setup> {
    match backend {
        Backend::Sqlite => {
            let db = TestSqlite::new();
            let path = db.path().to_str().context("temp path is not UTF-8")?;
            let ours = Ours::open(path, || async {
                let pool = SqlitePoolOptions::new()
                    .max_connections(1)
                    .connect_with(SqliteConnectOptions::new().filename(db.path()))
                    .await?;
                Ok(Sql::Sqlite(pool))
            })
            .await?;
            let raw = RawDb::sqlite(&db).await?;
            Ok(Setup {
                ours,
                raw,
                _guard: Box::new(db),
            })
        }
        Backend::Postgres => {
            let ours_db = TestPostgres::new().await;
            let raw_db = TestPostgres::new().await;
            let ours = Ours::open(ours_db.url(), || async {
                let pool = PgPoolOptions::new()
                    .max_connections(1)
                    .connect(ours_db.url())
                    .await?;
                Ok(Sql::Postgres(pool))
            })
            .await?;
            let raw = RawDb::postgres(&raw_db).await?;
            Ok(Setup {
                ours,
                raw,
                _guard: Box::new((ours_db, raw_db)),
            })
        }
    }
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let opts = parse_args()?;
    let began = Instant::now();
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    if opts.profile {
        println!(
            "selling one ticket per sale; per cell {:.2} s warm-up + {:.2} s measured; {cores} cores",
            (opts.warm * 2).as_secs_f64(),
            (opts.slice * opts.rounds).as_secs_f64(),
        );
    } else {
        println!(
            "selling one ticket per sale; per cell and kind {} slices of {:.2} s warm-up + {:.2} s \
             measured, kinds taking turns; {cores} cores",
            opts.rounds,
            opts.warm.as_secs_f64(),
            opts.slice.as_secs_f64(),
        );
    }
    let mut rows = Vec::new();
    let mut all_ok = true;
    for &backend in &opts.backends {
        let mut s = setup(backend)
            .await
            .with_context(|| format!("setting up {}", backend.label()))?;
        println!();
        if opts.profile {
            println!(
                "{}: phases of one sale (mean µs per sale, summed over sales in the window)",
                backend.label()
            );
        } else {
            header();
        }
        for &shape in &opts.shapes {
            for &buyers in &opts.buyers {
                if opts.profile {
                    s.ours.profile(shape, buyers, &opts).await?;
                    continue;
                }
                let mut contenders = Vec::new();
                if opts.raw {
                    contenders.push(s.raw.prepare(shape, buyers, false).await?);
                    if backend == Backend::Sqlite {
                        contenders.push(s.raw.prepare(shape, buyers, true).await?);
                    }
                    contenders.push(s.ours.prepare_raw_same(shape, buyers).await?);
                }
                if opts.ours {
                    contenders.push(s.ours.prepare(shape).await?);
                }
                // Kinds take turns, so a burst of load from elsewhere on a shared machine
                // lands on all of them alike and the ratios hold.
                for _ in 0..opts.rounds {
                    for c in &mut contenders {
                        c.run_slice(buyers, &opts).await?;
                    }
                }
                let mut cells = Vec::new();
                for c in contenders {
                    cells.push(c.finish().await?);
                }
                let row = Row {
                    backend,
                    shape,
                    buyers,
                    cells,
                };
                all_ok &= row.ok();
                row.print();
                rows.push(row);
            }
        }
        drop(s);
    }
    println!();
    for (kind, note) in [
        (Kind::Raw, ""),
        (Kind::RawSame, "; the target is judged on this one"),
    ] {
        let worst = rows
            .iter()
            .filter_map(|r| Some((r.ratio(kind)?, r)))
            .min_by(|a, b| a.0.total_cmp(&b.0));
        if let Some((x, r)) = worst {
            println!(
                "lowest ours/{}: {x:.2} ({} {} {} buyers); target ≥ 0.70{note}",
                kind.label(),
                r.backend.label(),
                r.shape.label(),
                r.buyers
            );
        }
    }
    if !rows.is_empty() {
        println!(
            "raw: bare update + one-row insert over a pool of as many connections as buyers; \
             raw-gc (SQLite): the same through one writer with group commit (up to 32 per \
             transaction); raw-same: the rows of a sale, bare (PostgreSQL: one statement each; \
             SQLite: one rusqlite writer with group commit)\n\
             cpu µs/sale: CPU time of this process per sale (with PostgreSQL the client side only)"
        );
    }
    println!(
        "oversell: {}; whole run {:.0} s",
        if all_ok {
            "none, every cell checked"
        } else {
            "CHECK FAILED"
        },
        began.elapsed().as_secs_f64()
    );
    if !all_ok {
        std::process::exit(1);
    }
    Ok(())
}

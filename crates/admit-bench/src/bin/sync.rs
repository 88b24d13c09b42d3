//! Sync throughput: what a device moves to and from a real Admit server, and how fast the
//! server sells over HTTP next to the raw database limit measured in the same run.
//!
//! Everything is real: the server runs in this process on a free port
//! (`admit_server::start`) over a fresh PostgreSQL database, devices talk HTTP to it through
//! the sync client, each with its own SQLite file in a temporary directory.
//!
//! * `download` – a new door device's first download of an event with N tickets (sold on the
//!   server beforehand, ten per order): the whole feed, page by page, each page applied in one
//!   transaction on the device.
//! * `scan upload` – that device then scans each of the N tickets once (offline, as a door
//!   does; the time to scan is printed apart) and uploads the N scans; the server records and
//!   checks every one (double admissions, repeated nonces). Timed until the last outcome is
//!   back; then the server's scans are counted.
//! * `order upload` – a box-office device holding enough units sells M one-ticket orders
//!   offline and uploads them (an order and a ticket change each).
//! * `http sales` – 64 clients selling one ticket each through `POST /api/v1/orders` on one hot
//!   quota, beside `raw`: the bare conditional update plus one insert
//!   (`with u as (update … where taken + 1 <= size returning id) insert … select from u`) sent
//!   directly to the same PostgreSQL over 64 connections. The two take turns in slices so that
//!   load from elsewhere hits both alike; `http/raw` is the ratio of sales per second.
//!
//! Each size gets a fresh server and database. `growth` compares a size's time with the
//! previous size's: linear growth from 10k to 30k is about 3.0×, from 30k to 100k about 3.3×.
//!
//! ```text
//! cargo run --release -p admit-bench --bin sync -- [--quick]
//! ```
//!
//! `--quick` runs small sizes and short slices. PostgreSQL comes from `DATABASE_URL`, else
//! 127.0.0.1:5432 (see admit-testkit). Absolute figures drift on shared machines; compare the
//! ratios of one run.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use chrono::Utc;
use futures::stream::{self, StreamExt, TryStreamExt};
use sqlx::postgres::PgPoolOptions;

use admit_api::{
    Admit, CheckinListInput, EventInput, LineInput, NewUserInput, PairInput, PairingCodeInput,
    QuotaInput, RedeemInput, SaleInput, Session, TicketTypeInput,
};
use admit_core::model::{Event, TicketType};
use admit_core::secret::{issue, SigningKey, TicketPayload, ValidityWindow};
use admit_core::CheckinListId;
use admit_store::Store;
use admit_sync::{SyncClient, SyncOptions, SyncReport};
use admit_testkit::{TestPostgres, TestSqlite};

const PASSWORD: &str = "correct horse battery staple";
const HTTP_CLIENTS: usize = 64;
/// Concurrent tasks that prepare data (sales on the server, scans and sales on a device).
const SETUP_TASKS: usize = 8;

struct Opts {
    quick: bool,
}

fn parse_args() -> anyhow::Result<Opts> {
    let mut quick = false;
    for arg in std::env::args().skip(1) {
        match arg.as_str() {
            "--quick" => quick = true,
            "-h" | "--help" => {
                println!(
                    "usage: sync [--quick]\n\
                     --quick  small sizes (1k, 3k, 10k scans and tickets; 300, 1k orders) \
                     and short HTTP slices"
                );
                std::process::exit(0);
            }
            other => bail!("unknown argument {other:?} (try --help)"),
        }
    }
    Ok(Opts { quick })
}

/// A server in this process over a fresh database, and the owner's session on it.
struct Server {
    running: Option<admit_server::RunningServer>,
    admit: Admit,
    owner: Session,
    pg: TestPostgres,
}

impl Server {
    async fn start() -> anyhow::Result<Server> {
        let pg = TestPostgres::new().await;
        let store = admit_store::open(pg.url()).await?;
        let admit = Admit::new(store);
        let owner = admit
            .create_first_owner(
                &NewUserInput {
                    username: "owner".into(),
                    display_name: "Olga Owner".into(),
                    password: PASSWORD.into(),
                    role: String::new(),
                },
                None,
                Utc::now(),
            )
            .await?;
        let mut config = admit_server::Config::for_database(pg.url());
        config.listen = "127.0.0.1:0".parse()?;
        let running = admit_server::start(config).await?;
        Ok(Server {
            running: Some(running),
            admit,
            owner,
            pg,
        })
    }

    fn url(&self) -> String {
        self.running.as_ref().map(|r| r.url()).unwrap_or_default()
    }

    async fn stop(mut self) -> anyhow::Result<()> {
        if let Some(r) = self.running.take() {
            r.shutdown().await?;
        }
        Ok(())
    }

    async fn pair(&self, name: &str, role: &str) -> anyhow::Result<String> {
        let now = Utc::now();
        let code = self
            .admit
            .create_pairing_code(
                &self.owner,
                &PairingCodeInput {
                    name: name.into(),
                    role: role.into(),
                    expires_in_minutes: None,
                },
                now,
            )
            .await?;
        Ok(self
            .admit
            .pair_device(&PairInput { code: code.code }, now)
            .await?
            .token)
    }

    /// A published event: one ticket type under a quota of `size`, a single-entry list.
    async fn event(&self, size: i64) -> anyhow::Result<(Event, TicketType, String)> {
        let (a, s, now) = (&self.admit, &self.owner, Utc::now());
        let event = a
            .create_event(
                s,
                &EventInput {
                    name: "Harbour Festival".into(),
                    description: String::new(),
                    venue: "Pier 4".into(),
                    starts_at: (now + chrono::Duration::hours(2)).to_rfc3339(),
                    ends_at: (now + chrono::Duration::hours(8)).to_rfc3339(),
                    time_zone: "Europe/Lisbon".into(),
                    category_id: None,
                },
                now,
            )
            .await?;
        let tt = a
            .create_ticket_type(
                s,
                &TicketTypeInput {
                    event_id: event.id.to_string(),
                    name: "Day pass".into(),
                    price_minor: 2500,
                    currency: "EUR".into(),
                    max_per_order: Some(10),
                    ..Default::default()
                },
                now,
            )
            .await?;
        a.create_quota(
            s,
            &QuotaInput {
                event_id: event.id.to_string(),
                name: "Capacity".into(),
                size,
                ticket_type_ids: vec![tt.id.to_string()],
            },
            now,
        )
        .await?;
        let list = a
            .create_checkin_list(
                s,
                &CheckinListInput {
                    event_id: event.id.to_string(),
                    name: "Main gate".into(),
                    ..Default::default()
                },
                now,
            )
            .await?;
        let event = a.publish_event(s, &event.id.to_string(), now).await?;
        Ok((event, tt, list.id.to_string()))
    }
}

fn sale(event: &Event, tt: &TicketType, quantity: i64) -> SaleInput {
    SaleInput {
        event_id: event.id.to_string(),
        lines: vec![LineInput {
            ticket_type_id: tt.id.to_string(),
            quantity,
            attendee_names: vec![],
        }],
        payment_method: "cash".into(),
        ..Default::default()
    }
}

/// A device: its own SQLite file and staff, and its sync client.
struct Device {
    _db: TestSqlite,
    store: Arc<dyn Store>,
    admit: Admit,
    staff: Session,
    sync: SyncClient,
}

impl Device {
    async fn new(server: &Server, name: &str, role: &str, target: i64) -> anyhow::Result<Device> {
        let db = TestSqlite::new();
        let path = db.path().to_str().context("temporary path is not UTF-8")?;
        let store = admit_store::open(path).await?;
        let admit = Admit::new(store.clone());
        let staff = admit
            .create_first_owner(
                &NewUserInput {
                    username: format!("{name}-staff"),
                    display_name: format!("Staff of {name}"),
                    password: PASSWORD.into(),
                    role: String::new(),
                },
                None,
                Utc::now(),
            )
            .await?;
        let token = server.pair(name, role).await?;
        let sync = SyncClient::new(
            &server.url(),
            &token,
            store.clone(),
            SyncOptions {
                allocation_target: target,
                allocation_low: target / 2,
                timeout: Duration::from_secs(120),
                ..Default::default()
            },
        )?;
        Ok(Device {
            _db: db,
            store,
            admit,
            staff,
            sync,
        })
    }
}

/// Run `n` jobs over `tasks` concurrent tasks.
async fn run_all<F, Fut>(n: usize, tasks: usize, job: F) -> anyhow::Result<()>
where
    F: Fn(usize) -> Fut,
    Fut: std::future::Future<Output = anyhow::Result<()>>,
{
    stream::iter((0..n).map(job))
        .buffer_unordered(tasks)
        .try_collect::<Vec<()>>()
        .await?;
    Ok(())
}

struct Row {
    what: &'static str,
    size: usize,
    items: u64,
    secs: f64,
}

impl Row {
    fn per_s(&self) -> f64 {
        self.items as f64 / self.secs
    }
}

fn print_rows(title: &str, unit: &str, rows: &[Row]) {
    println!("\n{title}");
    println!(
        "  {:<14} {:>8} {:>10} {:>9} {:>12} {:>8}",
        "",
        "size",
        "changes",
        "secs",
        format!("{unit}/s"),
        "growth"
    );
    for (i, r) in rows.iter().enumerate() {
        let (growth, size_ratio) = if i > 0 && rows[i - 1].what == r.what {
            let p = &rows[i - 1];
            (
                format!("{:.2}×", r.secs / p.secs),
                format!(" (size {:.1}×)", r.size as f64 / p.size as f64),
            )
        } else {
            (String::new(), String::new())
        };
        println!(
            "  {:<14} {:>8} {:>10} {:>9.2} {:>12.0} {:>8}{}",
            r.what,
            r.size,
            r.items,
            r.secs,
            r.per_s(),
            growth,
            size_ratio
        );
    }
}

/// Figures for one size of the scan and download runs.
struct ScanFigures {
    download: Row,
    tickets_per_s: f64,
    scanning: Row,
    upload: Row,
    resend: Row,
}

/// Sell `n` tickets on a fresh server, download them to a new door, scan each once there and
/// upload the scans.
async fn scans_and_download(n: usize) -> anyhow::Result<ScanFigures> {
    let server = Server::start().await?;
    let (event, tt, list) = server.event(n as i64).await?;
    let (a, s) = (&server.admit, &server.owner);
    let sold = Instant::now();
    run_all(n.div_ceil(10), SETUP_TASKS, |i| {
        let q = (n - i * 10).min(10) as i64;
        let input = sale(&event, &tt, q);
        async move {
            a.sell(s, &input, Utc::now()).await?;
            Ok(())
        }
    })
    .await?;
    // The event's signing key, made on first use; every other secret is signed here.
    let first = a
        .store()
        .search_orders(&admit_store::OrderQuery {
            event_id: Some(event.id),
            text: None,
            limit: 1,
        })
        .await?;
    let first = a.store().get_order(first[0].id).await?;
    a.ticket_secret(s, &first.tickets[0].id.to_string(), Utc::now())
        .await?;
    let (key_id, secret) = a
        .store()
        .signing_key(event.id)
        .await?
        .context("the event has no signing key")?;
    let key = SigningKey::from_secret_bytes(event.id, key_id, &secret);
    let tickets: Vec<(uuid::Uuid, uuid::Uuid)> =
        sqlx::query_as("select id, ticket_type_id from tickets where event_id = $1 order by id")
            .bind(event.id.0)
            .fetch_all(&pg_pool(&server, 2).await?)
            .await?;
    if tickets.len() != n {
        bail!("sold {} tickets, wanted {n}", tickets.len());
    }
    eprintln!(
        "  {n}: sold {n} tickets in {:.1} s",
        sold.elapsed().as_secs_f64()
    );

    // First download to a new door.
    let door = Device::new(&server, "door", "door", 0).await?;
    let mut report = SyncReport::default();
    let started = Instant::now();
    if let Err(e) = door.sync.download(&mut report, |_| {}).await {
        bail!(
            "the download failed after {} changes: {e}",
            report.downloaded
        );
    }
    let secs = started.elapsed().as_secs_f64();
    let on_device: (i64, i64) = rusqlite::Connection::open(door._db.path())?.query_row(
        "select (select count(*) from orders), (select count(*) from tickets)",
        [],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )?;
    if on_device != (n.div_ceil(10) as i64, n as i64) {
        bail!(
            "the door has {on_device:?} orders and tickets after its download, wanted {n} tickets"
        );
    }
    door.admit.forget_cached();
    let download = Row {
        what: "download",
        size: n,
        items: report.downloaded,
        secs,
    };
    let tickets_per_s = n as f64 / secs;

    // Each ticket scanned once at the door.
    let secrets: Vec<String> = tickets
        .iter()
        .map(|(t, tt)| {
            let payload = TicketPayload::new(
                admit_core::TicketId(*t),
                admit_core::TicketTypeId(*tt),
                Utc::now(),
                ValidityWindow::ALWAYS,
            )?;
            Ok(issue(&payload, &key))
        })
        .collect::<anyhow::Result<_>>()?;
    let refused = AtomicU64::new(0);
    let started = Instant::now();
    let (door_ref, refused_ref, secrets_ref, list_ref) = (&door, &refused, &secrets, &list);
    run_all(n, SETUP_TASKS, |i| async move {
        let answer = door_ref
            .admit
            .redeem(
                &door_ref.staff,
                &RedeemInput {
                    raw: secrets_ref[i].clone(),
                    list_id: list_ref.clone(),
                    direction: None,
                    gate: Some("North".into()),
                    nonce: format!("door-{i}"),
                    at: None,
                    force: false,
                },
                Utc::now(),
            )
            .await?;
        if !answer.ok {
            refused_ref.fetch_add(1, Ordering::Relaxed);
        }
        Ok(())
    })
    .await?;
    let scanning = Row {
        what: "scan at door",
        size: n,
        items: n as u64,
        secs: started.elapsed().as_secs_f64(),
    };
    if refused.load(Ordering::Relaxed) > 0 {
        bail!(
            "{} scans refused at the door",
            refused.load(Ordering::Relaxed)
        );
    }

    // The upload: every scan recorded and checked on the server.
    let mut report = SyncReport::default();
    let started = Instant::now();
    door.sync.upload(&mut report).await?;
    let secs = started.elapsed().as_secs_f64();
    let list_id = CheckinListId::parse("list", &list)?;
    let (recorded, counted): (i64, i64) = sqlx::query_as(
        "select count(*), count(*) filter (where counted and not forced) from scans
         where list_id = $1",
    )
    .bind(list_id.0)
    .fetch_one(&pg_pool(&server, 2).await?)
    .await?;
    if recorded != n as i64 || counted != n as i64 || report.uploaded < n as u64 {
        bail!(
            "the server recorded {recorded} scans ({counted} counted, not forced) of {n}; \
             {report:?}"
        );
    }
    let upload = Row {
        what: "scan upload",
        size: n,
        items: report.uploaded,
        secs,
    };
    // Sent again: every scan answers duplicate and nothing is written.
    door.store.set_sync_value("upload_seq", "0").await?;
    let mut again = SyncReport::default();
    let started = Instant::now();
    door.sync.upload(&mut again).await?;
    let secs = started.elapsed().as_secs_f64();
    if again.duplicates < n as u64 {
        bail!("a resend answered {} duplicates of {n}", again.duplicates);
    }
    let resend = Row {
        what: "scan resend",
        size: n,
        items: again.duplicates,
        secs,
    };
    drop(door);
    server.stop().await?;
    Ok(ScanFigures {
        download,
        tickets_per_s,
        scanning,
        upload,
        resend,
    })
}

async fn pg_pool(server: &Server, n: u32) -> anyhow::Result<sqlx::PgPool> {
    Ok(PgPoolOptions::new()
        .max_connections(n)
        .connect(server.pg.url())
        .await?)
}

/// A box-office device sells `m` one-ticket orders offline and uploads them.
async fn orders(m: usize) -> anyhow::Result<(Row, Row)> {
    let server = Server::start().await?;
    let (event, tt, _) = server.event(m as i64 * 2).await?;
    let till = Device::new(&server, "till", "box_office", m as i64).await?;
    // Catalogue and units first.
    till.sync.sync_once().await?;
    till.admit.forget_cached();
    let started = Instant::now();
    let (t, e, tt_ref) = (&till, &event, &tt);
    run_all(m, SETUP_TASKS, |_| async move {
        t.admit
            .sell(&t.staff, &sale(e, tt_ref, 1), Utc::now())
            .await?;
        Ok(())
    })
    .await?;
    let selling = Row {
        what: "sell on till",
        size: m,
        items: m as u64,
        secs: started.elapsed().as_secs_f64(),
    };
    let mut report = SyncReport::default();
    let started = Instant::now();
    till.sync.upload(&mut report).await?;
    let secs = started.elapsed().as_secs_f64();
    let on_server: i64 = sqlx::query_scalar("select count(*) from orders where event_id = $1")
        .bind(event.id.0)
        .fetch_one(&pg_pool(&server, 2).await?)
        .await?;
    if on_server != m as i64 || report.conflicts > 0 || report.deferred > 0 {
        bail!("the server has {on_server} orders of {m}; {report:?}");
    }
    let upload = Row {
        what: "order upload",
        size: m,
        items: report.uploaded,
        secs,
    };
    drop(till);
    server.stop().await?;
    Ok((selling, upload))
}

// ---------------------------------------------------------------- sales over HTTP vs raw

/// Sales confirmed by `clients` concurrent loops of `sell` during `measure`, after `warm`.
async fn slice<F, Fut>(clients: usize, warm: Duration, measure: Duration, sell: F) -> u64
where
    F: Fn() -> Fut + Clone + Send + 'static,
    Fut: std::future::Future<Output = bool> + Send,
{
    let count = Arc::new(AtomicU64::new(0));
    let counting = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let tasks: Vec<_> = (0..clients)
        .map(|_| {
            let (count, counting, stop, sell) =
                (count.clone(), counting.clone(), stop.clone(), sell.clone());
            tokio::spawn(async move {
                while !stop.load(Ordering::Relaxed) {
                    let ok = sell().await;
                    if ok && counting.load(Ordering::Relaxed) {
                        count.fetch_add(1, Ordering::Relaxed);
                    }
                }
            })
        })
        .collect();
    tokio::time::sleep(warm).await;
    counting.store(true, Ordering::Relaxed);
    tokio::time::sleep(measure).await;
    counting.store(false, Ordering::Relaxed);
    stop.store(true, Ordering::Relaxed);
    for t in tasks {
        let _ = t.await;
    }
    count.load(Ordering::Relaxed)
}

async fn http_sales(opts: &Opts) -> anyhow::Result<(f64, f64, u64)> {
    let server = Server::start().await?;
    let (event, tt, _) = server.event(10_000_000).await?;
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(HTTP_CLIENTS)
        .build()?;
    let base = server.url();
    let login: serde_json::Value = http
        .post(format!("{base}/api/v1/login"))
        .json(&serde_json::json!({ "username": "owner", "password": PASSWORD }))
        .send()
        .await?
        .error_for_status()?
        .json()
        .await?;
    let token = login["token"]
        .as_str()
        .context("the login answer has no token")?
        .to_string();
    let body = serde_json::to_value(sale(&event, &tt, 1))?;

    let raw = PgPoolOptions::new()
        .max_connections(HTTP_CLIENTS as u32)
        .min_connections(HTTP_CLIENTS as u32)
        .connect(server.pg.url())
        .await?;
    sqlx::query(
        "create table raw_quotas (id int primary key, size int not null, taken int not null)",
    )
    .execute(&raw)
    .await?;
    sqlx::query(
        "create table raw_sales (id bigserial primary key, quota_id int not null,
                                 at timestamptz not null)",
    )
    .execute(&raw)
    .await?;
    sqlx::query("insert into raw_quotas values (1, 1000000000, 0)")
        .execute(&raw)
        .await?;

    let (slices, warm, measure) = if opts.quick {
        (2, Duration::from_millis(200), Duration::from_millis(700))
    } else {
        (4, Duration::from_millis(300), Duration::from_millis(1500))
    };
    let (mut raw_sales, mut http_sales) = (0u64, 0u64);
    for _ in 0..slices {
        let pool = raw.clone();
        raw_sales += slice(HTTP_CLIENTS, warm, measure, move || {
            let pool = pool.clone();
            async move {
                sqlx::query(
                    "with u as (update raw_quotas set taken = taken + 1
                                where id = 1 and taken + 1 <= size returning id)
                     insert into raw_sales (quota_id, at) select id, $1 from u",
                )
                .bind(Utc::now())
                .execute(&pool)
                .await
                .is_ok_and(|r| r.rows_affected() == 1)
            }
        })
        .await;
        let (h, url, token, body) = (
            http.clone(),
            format!("{base}/api/v1/orders"),
            token.clone(),
            body.clone(),
        );
        http_sales += slice(HTTP_CLIENTS, warm, measure, move || {
            let (h, url, token, body) = (h.clone(), url.clone(), token.clone(), body.clone());
            async move {
                h.post(url)
                    .bearer_auth(token)
                    .json(&body)
                    .send()
                    .await
                    .is_ok_and(|r| r.status() == reqwest::StatusCode::CREATED)
            }
        })
        .await;
    }
    let secs = measure.as_secs_f64() * slices as f64;
    // Every confirmed sale is on the server, and no more units were taken than sold.
    let sold: i64 = sqlx::query_scalar("select count(*) from tickets where event_id = $1")
        .bind(event.id.0)
        .fetch_one(&raw)
        .await?;
    let taken: i64 =
        sqlx::query_scalar("select coalesce(sum(taken), 0)::int8 from quotas where event_id = $1")
            .bind(event.id.0)
            .fetch_one(&raw)
            .await?;
    if sold != taken || (sold as u64) < http_sales {
        bail!("{sold} tickets on the server, {taken} units taken, {http_sales} sales confirmed");
    }
    raw.close().await;
    server.stop().await?;
    Ok((
        http_sales as f64 / secs,
        raw_sales as f64 / secs,
        http_sales,
    ))
}

#[tokio::main(flavor = "multi_thread")]
async fn main() -> anyhow::Result<()> {
    let opts = parse_args()?;
    let sizes: &[usize] = if opts.quick {
        &[1_000, 3_000, 10_000]
    } else {
        &[10_000, 30_000, 100_000]
    };
    let order_sizes: &[usize] = if opts.quick {
        &[300, 1_000]
    } else {
        &[1_000, 10_000]
    };
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    println!(
        "sync throughput: a real server in process, PostgreSQL, SQLite devices, HTTP; \
         {cores} cores{}",
        if opts.quick { ", quick" } else { "" }
    );

    let mut downloads = Vec::new();
    let mut uploads = Vec::new();
    let mut door = Vec::new();
    let mut ticket_rates = Vec::new();
    for &n in sizes {
        let f = scans_and_download(n).await?;
        eprintln!(
            "  {n}: download {:.2} s, scans at the door {:.2} s, upload {:.2} s, resend {:.2} s",
            f.download.secs, f.scanning.secs, f.upload.secs, f.resend.secs
        );
        ticket_rates.push((n, f.tickets_per_s));
        downloads.push(f.download);
        uploads.push(f.upload);
        uploads.push(f.resend);
        door.push(f.scanning);
    }
    uploads.sort_by_key(|r| r.what != "scan upload");
    print_rows(
        "first download of an event with N tickets to a new door (changes: the whole feed)",
        "changes",
        &downloads,
    );
    for (n, rate) in &ticket_rates {
        println!("  {n:>8} tickets: {rate:>8.0} tickets/s");
    }
    print_rows(
        "upload of N scans from the door (recorded and checked on the server)",
        "scans",
        &uploads,
    );
    print_rows(
        "(setup, for scale) N scans at the door, offline, 8 at a time",
        "scans",
        &door,
    );

    let mut order_rows = Vec::new();
    let mut selling = Vec::new();
    for &m in order_sizes {
        let (sold, up) = orders(m).await?;
        eprintln!(
            "  {m}: sold on the till {:.2} s, upload {:.2} s",
            sold.secs, up.secs
        );
        selling.push(sold);
        order_rows.push(up);
    }
    print_rows(
        "upload of M one-ticket orders from a till (changes: orders and tickets)",
        "changes",
        &order_rows,
    );
    for r in &order_rows {
        println!(
            "  {:>8} orders: {:>8.0} orders/s",
            r.size,
            r.size as f64 / r.secs
        );
    }

    let (http, raw, sold) = http_sales(&opts).await?;
    println!("\nsales under contention, {HTTP_CLIENTS} clients, one hot quota");
    println!(
        "  {:<34} {:>10.0} sales/s",
        "raw (update + insert, 64 conns)", raw
    );
    println!(
        "  {:<34} {:>10.0} sales/s   ({sold} sales checked)",
        "http (POST /api/v1/orders)", http
    );
    println!("  http/raw {:.2}", http / raw);

    let last_upload = uploads.iter().rfind(|r| r.what == "scan upload");
    let last_download = downloads.last();
    println!();
    if let Some(u) = last_upload {
        println!(
            "target: {} scans uploaded and applied in {:.1} s (< 20 s): {}",
            u.size,
            u.secs,
            if u.secs < 20.0 { "met" } else { "MISSED" }
        );
    }
    if let Some(d) = last_download {
        println!(
            "target: first download of {} tickets in {:.1} s (< 30 s): {}",
            d.size,
            d.secs,
            if d.secs < 30.0 { "met" } else { "MISSED" }
        );
    }
    Ok(())
}

//! Redeem throughput at the door, on SQLite and PostgreSQL, beside the bare costs it is built
//! from, measured in the same run.
//!
//! For each backend and for 1 and 8 concurrent doors it prints:
//!
//! * `verify` – the bare Ed25519 check of a ticket secret (`EventKeyring::verify`), per core;
//! * SQLite: `insert FULL` and `insert NORMAL` – the bare insert of one scan-sized row,
//!   autocommitted, back to back on one rusqlite connection (SQLite has one writer at a time)
//!   in WAL mode with `synchronous=FULL` (an fsync per commit: the disk's limit for strictly
//!   serial durable commits) and with `synchronous=NORMAL` (no fsync: SQLite's own cost);
//! * PostgreSQL: `insert` – the same row autocommitted (`synchronous_commit` on) with sqlx,
//!   from as many connections as doors;
//! * `redeem` – the whole use case, `Admit::redeem`: parse, load list, event and keys, verify,
//!   and in one transaction the nonce check, ticket, revocation, block and history reads, the
//!   decision, the scan row and its outbox row;
//!
//! and the ratios of redeem to the bare inserts. On SQLite a scan commits with
//! `synchronous=NORMAL` and a keeper thread beside the store's writer fsyncs the write-ahead
//! log within about 10 ms of it, 100 ms at most (sales and every other write commit with FULL;
//! see the README's durability paragraph), so the NORMAL insert is the closer bound for one
//! door. Every redeem scans a ticket that has
//! not been scanned on its list, so every answer must be `ok`; the run checks that and that
//! exactly one scan row per redeem was written. The bare inserts and the redeems of each row
//! run one after the other, so load from elsewhere on a shared machine drifts all of them
//! alike: compare the ratios. The target for one SQLite door, checked on the last line, is
//! at least 5,000 scans/s with p99 under 2 ms.
//!
//! ```text
//! cargo run --release -p admit-bench --bin door -- [--quick] [--backend sqlite|postgres|both]
//! ```

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use chrono::Utc;

use admit_api::*;
use admit_core::checkin::Verdict;
use admit_testkit::{TestPostgres, TestSqlite};

struct Args {
    quick: bool,
    sqlite: bool,
    postgres: bool,
}

fn args() -> anyhow::Result<Args> {
    let mut a = Args {
        quick: false,
        sqlite: true,
        postgres: true,
    };
    let mut it = std::env::args().skip(1);
    while let Some(arg) = it.next() {
        match arg.as_str() {
            "--quick" => a.quick = true,
            "--backend" => match it.next().as_deref() {
                Some("sqlite") => a.postgres = false,
                Some("postgres") => a.sqlite = false,
                Some("both") => {}
                other => bail!("--backend takes sqlite, postgres or both, not {other:?}"),
            },
            other => bail!("unknown argument {other}"),
        }
    }
    Ok(a)
}

#[derive(Default)]
struct Figures {
    count: usize,
    elapsed: Duration,
    latencies: Vec<Duration>,
}

impl Figures {
    fn rate(&self) -> f64 {
        self.count as f64 / self.elapsed.as_secs_f64()
    }
    fn pct(&mut self, p: f64) -> f64 {
        if self.latencies.is_empty() {
            return 0.0;
        }
        self.latencies.sort();
        let i = ((self.latencies.len() as f64 - 1.0) * p).round() as usize;
        self.latencies[i].as_secs_f64() * 1000.0
    }
}

struct Bench {
    admit: Admit,
    owner: Session,
    secrets: Vec<String>,
    event_id: String,
}

async fn prepare(location: &str, tickets: usize) -> anyhow::Result<Bench> {
    let store = admit_store::open(location).await?;
    let admit = Admit::new(store);
    let now = Utc::now();
    let owner = admit
        .create_first_owner(
            &NewUserInput {
                username: "owner".into(),
                display_name: String::new(),
                password: "bench password".into(),
                role: String::new(),
            },
            None,
            now,
        )
        .await?;
    let event = admit
        .create_event(
            &owner,
            &EventInput {
                name: "Bench".into(),
                venue: "Hall".into(),
                starts_at: (now + chrono::Duration::days(1)).to_rfc3339(),
                ends_at: (now + chrono::Duration::days(2)).to_rfc3339(),
                time_zone: "Europe/Berlin".into(),
                ..Default::default()
            },
            now,
        )
        .await?;
    let tt = admit
        .create_ticket_type(
            &owner,
            &TicketTypeInput {
                event_id: event.id.to_string(),
                name: "Entry".into(),
                price_minor: 1000,
                currency: "EUR".into(),
                max_per_order: Some(10),
                ..Default::default()
            },
            now,
        )
        .await?;
    admit
        .publish_event(&owner, &event.id.to_string(), now)
        .await?;
    // Sell and print concurrently so the stores batch the writes.
    let orders = tickets.div_ceil(10);
    let mut set = tokio::task::JoinSet::new();
    for w in 0..16 {
        let (admit, owner, eid, tid) = (
            admit.clone(),
            owner.clone(),
            event.id.to_string(),
            tt.id.to_string(),
        );
        set.spawn(async move {
            let mut secrets = Vec::new();
            for _ in (w..orders).step_by(16) {
                let sale = SaleInput {
                    event_id: eid.clone(),
                    lines: vec![LineInput {
                        ticket_type_id: tid.clone(),
                        quantity: 10,
                        attendee_names: vec![],
                    }],
                    payment_method: "cash".into(),
                    ..Default::default()
                };
                let o = admit.sell(&owner, &sale, Utc::now()).await?;
                for t in &o.tickets {
                    secrets.push(
                        admit
                            .ticket_secret(&owner, &t.id.to_string(), Utc::now())
                            .await?
                            .secret,
                    );
                }
            }
            Ok::<_, ApiError>(secrets)
        });
    }
    let mut secrets = Vec::new();
    while let Some(r) = set.join_next().await {
        secrets.extend(r??);
    }
    Ok(Bench {
        admit,
        owner,
        secrets,
        event_id: event.id.to_string(),
    })
}

async fn list(b: &Bench, name: &str) -> anyhow::Result<String> {
    Ok(b.admit
        .create_checkin_list(
            &b.owner,
            &CheckinListInput {
                event_id: b.event_id.clone(),
                name: name.into(),
                ..Default::default()
            },
            Utc::now(),
        )
        .await?
        .id
        .to_string())
}

/// `doors` tasks scan distinct tickets for `secs`; returns figures and the number of scans.
async fn redeem(b: &Bench, list_id: String, doors: usize, secs: f64) -> anyhow::Result<Figures> {
    let secrets = Arc::new(b.secrets.clone());
    let next = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let stop = Instant::now() + Duration::from_secs_f64(secs);
    let start = Instant::now();
    let mut set = tokio::task::JoinSet::new();
    for d in 0..doors {
        let (admit, owner, list_id, secrets, next) = (
            b.admit.clone(),
            b.owner.clone(),
            list_id.clone(),
            secrets.clone(),
            next.clone(),
        );
        set.spawn(async move {
            let mut lat = Vec::new();
            while Instant::now() < stop {
                let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                let Some(secret) = secrets.get(i) else { break };
                let t = Instant::now();
                let input = RedeemInput {
                    raw: secret.clone(),
                    list_id: list_id.clone(),
                    gate: Some(format!("Gate {d}")),
                    nonce: format!("{list_id}-{i}"),
                    ..Default::default()
                };
                let a = admit.redeem(&owner, &input, Utc::now()).await?;
                lat.push(t.elapsed());
                if a.verdict != Verdict::Ok {
                    anyhow::bail!("ticket {i} was refused: {a:?}");
                }
            }
            Ok(lat)
        });
    }
    let mut f = Figures::default();
    while let Some(r) = set.join_next().await {
        f.latencies.extend(r??);
    }
    f.elapsed = start.elapsed();
    f.count = f.latencies.len();
    Ok(f)
}

/// Bare Ed25519 verification on this core.
fn verify(b: &Bench, keyring: &admit_core::secret::EventKeyring, secs: f64) -> Figures {
    let stop = Instant::now() + Duration::from_secs_f64(secs);
    let start = Instant::now();
    let mut f = Figures::default();
    while Instant::now() < stop {
        for s in b.secrets.iter().take(1000) {
            let t = Instant::now();
            assert!(keyring.verify(s).is_ok());
            f.latencies.push(t.elapsed());
        }
    }
    f.elapsed = start.elapsed();
    f.count = f.latencies.len();
    f
}

enum Raw {
    /// The file the bare SQLite inserts go to.
    Sqlite(std::path::PathBuf),
    Pg(sqlx::PgPool),
}

/// `synchronous` for a bare SQLite insert.
#[derive(Clone, Copy)]
enum Sync {
    Full,
    Normal,
}

/// The bare insert of a scan-sized row into SQLite, autocommitted, back to back on one
/// rusqlite connection (the library the store's writer uses) in WAL mode.
async fn insert_sqlite(path: &std::path::Path, sync: Sync, secs: f64) -> anyhow::Result<Figures> {
    let path = path.to_path_buf();
    tokio::task::spawn_blocking(move || {
        let c = rusqlite::Connection::open(&path)?;
        c.execute_batch(match sync {
            Sync::Full => "pragma journal_mode = wal; pragma synchronous = full;",
            Sync::Normal => "pragma journal_mode = wal; pragma synchronous = normal;",
        })?;
        let mut st =
            c.prepare("insert into bare_scans (id, nonce, at, verdict) values (?1, ?2, ?3, 'ok')")?;
        let stop = Instant::now() + Duration::from_secs_f64(secs);
        let start = Instant::now();
        let mut f = Figures::default();
        while Instant::now() < stop {
            let id = uuid::Uuid::now_v7();
            let t = Instant::now();
            st.execute(rusqlite::params![
                id.as_bytes().to_vec(),
                id.to_string(),
                Utc::now().timestamp_micros()
            ])?;
            f.latencies.push(t.elapsed());
        }
        f.elapsed = start.elapsed();
        f.count = f.latencies.len();
        Ok(f)
    })
    .await?
}

/// The bare insert of a scan-sized row into PostgreSQL, autocommitted, from `doors`
/// concurrent tasks.
async fn insert_pg(pool: &sqlx::PgPool, doors: usize, secs: f64) -> anyhow::Result<Figures> {
    let stop = Instant::now() + Duration::from_secs_f64(secs);
    let start = Instant::now();
    let mut set = tokio::task::JoinSet::new();
    for _ in 0..doors {
        let pool = pool.clone();
        set.spawn(async move {
            let mut lat = Vec::new();
            while Instant::now() < stop {
                let id = uuid::Uuid::now_v7();
                let t = Instant::now();
                sqlx::query(
                    "insert into bare_scans (id, nonce, at, verdict) values ($1, $2, $3, 'ok')",
                )
                .bind(id)
                .bind(id.to_string())
                .bind(Utc::now())
                .execute(&pool)
                .await?;
                lat.push(t.elapsed());
            }
            Ok::<_, sqlx::Error>(lat)
        });
    }
    let mut f = Figures::default();
    while let Some(r) = set.join_next().await {
        f.latencies.extend(r??);
    }
    f.elapsed = start.elapsed();
    f.count = f.latencies.len();
    Ok(f)
}

fn row(backend: &str, doors: usize, what: &str, f: &mut Figures, ratios: &[f64]) {
    let (p50, p99) = (f.pct(0.5), f.pct(0.99));
    let ratios: Vec<String> = ratios.iter().map(|r| format!("{r:>6.2}")).collect();
    println!(
        "{backend:<9} {doors:>5}  {what:<13} {:>9.0} {:>9.3} {:>9.3}  {}",
        f.rate(),
        p50,
        p99,
        ratios.join("   ")
    );
}

/// One door's figures on SQLite, for the target line.
struct OneDoor {
    rate: f64,
    p99: f64,
}

async fn run_backend(
    name: &str,
    location: &str,
    raw: Raw,
    a: &Args,
) -> anyhow::Result<Option<OneDoor>> {
    let secs = if a.quick { 1.0 } else { 3.0 };
    let tickets = if a.quick { 8_000 } else { 30_000 };
    let t = Instant::now();
    let b = prepare(location, tickets)
        .await
        .context("preparing the event")?;
    eprintln!(
        "{name}: {} tickets sold and printed in {:.1} s",
        b.secrets.len(),
        t.elapsed().as_secs_f64()
    );
    let keyring = b.admit.event_keyring(&b.owner, &b.event_id).await?;
    let mut v = verify(&b, &keyring, secs / 3.0);
    row(name, 1, "verify", &mut v, &[]);
    let mut one_door = None;
    for doors in [1usize, 8] {
        let mut bare = Vec::new();
        match &raw {
            Raw::Sqlite(path) => {
                bare.push(("insert FULL", insert_sqlite(path, Sync::Full, secs).await?));
                bare.push((
                    "insert NORMAL",
                    insert_sqlite(path, Sync::Normal, secs).await?,
                ));
            }
            Raw::Pg(pool) => bare.push(("insert", insert_pg(pool, doors, secs).await?)),
        }
        let l = list(&b, &format!("Doors {doors}")).await?;
        let mut ours = redeem(&b, l.clone(), doors, secs).await?;
        let stored = b.admit.checkin_counts(&b.owner, &l).await?;
        if stored.admitted as usize != ours.count {
            bail!(
                "{name}: {} redeems answered ok but {} tickets are recorded as admitted",
                ours.count,
                stored.admitted
            );
        }
        let ratios: Vec<f64> = bare.iter().map(|(_, f)| ours.rate() / f.rate()).collect();
        for (what, f) in &mut bare {
            row(name, doors, what, f, &[]);
        }
        row(name, doors, "redeem", &mut ours, &ratios);
        if doors == 1 {
            one_door = Some(OneDoor {
                rate: ours.rate(),
                p99: ours.pct(0.99),
            });
        }
    }
    Ok(one_door)
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let a = args()?;
    println!(
        "{:<9} {:>5}  {:<13} {:>9} {:>9} {:>9}  redeem/bare: FULL  NORMAL (SQLite); insert (PostgreSQL)",
        "backend", "doors", "what", "scans/s", "p50 ms", "p99 ms"
    );
    let mut target = None;
    if a.sqlite {
        let db = TestSqlite::new();
        let path = db.path().to_string_lossy().into_owned();
        // The bare inserts go to a table of their own in another file.
        let bare_path = db.dir().join("bare.db");
        rusqlite::Connection::open(&bare_path)?.execute_batch(
            "pragma journal_mode = wal;
             create table bare_scans (id blob primary key, nonce text not null unique,
                                      at integer not null, verdict text not null);",
        )?;
        target = run_backend("sqlite", &path, Raw::Sqlite(bare_path), &a).await?;
    }
    if a.postgres {
        let db = TestPostgres::new().await;
        let pool = sqlx::postgres::PgPoolOptions::new()
            .max_connections(8)
            .connect(db.url())
            .await?;
        sqlx::query("create table bare_scans (id uuid primary key, nonce text not null unique, at timestamptz not null, verdict text not null)")
            .execute(&pool)
            .await?;
        run_backend("postgres", db.url(), Raw::Pg(pool), &a).await?;
    }
    if let Some(t) = target {
        let met = t.rate >= 5_000.0 && t.p99 < 2.0;
        println!(
            "\nsqlite, one door: {:.0} scans/s, p99 {:.3} ms; target ≥ 5,000 scans/s and p99 < 2 ms: {}",
            t.rate,
            t.p99,
            if met { "met" } else { "NOT MET" }
        );
    }
    Ok(())
}

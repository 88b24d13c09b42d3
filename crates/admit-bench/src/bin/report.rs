//! Owners' reports at scale, on SQLite and PostgreSQL: for an event with N orders (one ticket
//! each, 1 in 50 refunded) and N entry scans plus N/10 exits, it prints
//!
//! * per chart (sales velocity, revenue, door): the aggregation (`Admit::chart_data`, SQL
//!   in the store plus arranging in the event's zone), the SVG and the PNG rendering, and
//!   aggregation + SVG against the 200 ms target; medians of several runs;
//! * the CSV export rate of orders, attendees and scans (rows/s, written to a sink);
//! * the CSV import rate (preview + import of 10,000 rows in one transaction).
//!
//! Orders are written through the store's `import_sales` (the real sale path, in batches);
//! scans are bulk-inserted with SQL, as they only feed the door chart and the scan export.
//!
//! ```text
//! cargo run --release -p admit-bench --bin report -- [--orders N] [--backend sqlite|postgres|both]
//! ```

use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use chrono::{DateTime, Utc};

use admit_api::*;
use admit_core::audit::Change;
use admit_core::model::*;
use admit_core::order_code::OrderCode;
use admit_core::*;
use admit_store::NewSale;
use admit_testkit::{TestPostgres, TestSqlite};

struct Args {
    orders: usize,
    sqlite: bool,
    postgres: bool,
}

fn args() -> anyhow::Result<Args> {
    let mut a = Args {
        orders: 100_000,
        sqlite: true,
        postgres: true,
    };
    let mut it = std::env::args().skip(1);
    while let Some(arg) = it.next() {
        match arg.as_str() {
            "--orders" => {
                a.orders = it
                    .next()
                    .context("--orders takes a number")?
                    .parse()
                    .context("--orders takes a number")?
            }
            "--quick" => a.orders = 10_000,
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

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// Median time of `runs` runs of `f`.
async fn median<T, F, Fut>(runs: usize, mut f: F) -> anyhow::Result<(Duration, T)>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = anyhow::Result<T>>,
{
    let mut times = Vec::with_capacity(runs);
    let mut last = None;
    for _ in 0..runs {
        let t = Instant::now();
        last = Some(f().await?);
        times.push(t.elapsed());
    }
    times.sort();
    Ok((times[runs / 2], last.expect("runs > 0")))
}

struct Seeded {
    admit: Admit,
    owner: Session,
    event: Event,
}

async fn seed(
    location: &str,
    orders: usize,
    raw: &(dyn Fn(String) -> futures_like::BoxFut + Sync),
) -> anyhow::Result<Seeded> {
    let store = admit_store::open(location).await?;
    let admit = Admit::new(store.clone());
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
                name: "Report bench".into(),
                venue: "Hall".into(),
                starts_at: (now + chrono::Duration::hours(1)).to_rfc3339(),
                ends_at: (now + chrono::Duration::hours(6)).to_rfc3339(),
                time_zone: "Europe/Berlin".into(),
                ..Default::default()
            },
            now,
        )
        .await?;
    let mut types = Vec::new();
    for (name, price) in [("Standing", 2500), ("Seated", 4000), ("Balcony", 3000)] {
        types.push(
            admit
                .create_ticket_type(
                    &owner,
                    &TicketTypeInput {
                        event_id: event.id.to_string(),
                        name: name.into(),
                        price_minor: price,
                        currency: "EUR".into(),
                        max_per_order: Some(10),
                        ..Default::default()
                    },
                    now,
                )
                .await?,
        );
    }
    let capacity = admit
        .create_quota(
            &owner,
            &QuotaInput {
                event_id: event.id.to_string(),
                name: "Capacity".into(),
                size: orders as i64 * 2,
                ticket_type_ids: types.iter().map(|t| t.id.to_string()).collect(),
            },
            now,
        )
        .await?;
    admit
        .publish_event(&owner, &event.id.to_string(), now)
        .await?;
    let list = admit
        .create_checkin_list(
            &owner,
            &CheckinListInput {
                event_id: event.id.to_string(),
                name: "Main".into(),
                ..Default::default()
            },
            now,
        )
        .await?;

    // Orders over the 30 days before now, one ticket each, through the real sale path.
    let t = Instant::now();
    let span = chrono::Duration::days(30);
    let methods = [
        PaymentMethod::Cash,
        PaymentMethod::Card,
        PaymentMethod::Card,
        PaymentMethod::Comp,
    ];
    let channels = [Channel::BoxOffice, Channel::Kiosk, Channel::Online];
    let mut batch = Vec::with_capacity(2_000);
    let mut refund_orders = Vec::new();
    for i in 0..orders {
        let at: DateTime<Utc> = now - span + span * (i as i32) / (orders as i32);
        let ty = &types[i % 3];
        let method = methods[i % 4];
        let price = if method == PaymentMethod::Comp {
            Money::zero(ty.price.currency)
        } else {
            ty.price
        };
        let order_id = OrderId::new(at);
        let ticket = Ticket {
            id: TicketId::new(at),
            order_id,
            event_id: event.id,
            ticket_type_id: ty.id,
            price,
            attendee_name: None,
            status: TicketStatus::Valid,
            meta: Meta::new(at),
        };
        let order = Order {
            id: order_id,
            code: OrderCode::generate(),
            event_id: event.id,
            buyer_name: Some(admit_core::text::Name::parse("b", &format!("Buyer {i}"))?),
            buyer_email: None,
            channel: channels[i % 3],
            payment_method: method,
            status: OrderStatus::Paid,
            total: price,
            created_by: owner.user.id,
            device_id: None,
            coupon_id: None,
            discount_minor: 0,
            payment: admit_core::model::Payment::taken(at, owner.user.id, None),
            meta: Meta::new(at),
        };
        if i % 50 == 7 {
            refund_orders.push(order_id);
        }
        batch.push(NewSale {
            order,
            ticket_quotas: vec![(ticket.id, capacity.id)],
            tickets: vec![ticket],
            demand: vec![(capacity.id, 1)],
            hold: None,
            waitlist_entry: None,
            mail: None,
            change: Change::default(),
        });
        if batch.len() == 2_000 || i + 1 == orders {
            // Random order codes clash now and then over 100,000 orders: draw again.
            loop {
                match store.import_sales(&batch).await {
                    Ok(()) => break,
                    Err(admit_store::StoreError::Conflict { constraint })
                        if constraint == "orders_code_key" =>
                    {
                        for sale in &mut batch {
                            sale.order.code = OrderCode::generate();
                        }
                    }
                    Err(e) => return Err(e.into()),
                }
            }
            batch.clear();
        }
    }
    let sold = t.elapsed();
    let t = Instant::now();
    for id in &refund_orders {
        admit
            .cancel(
                &owner,
                &CancelInput {
                    order_id: id.to_string(),
                    ticket_ids: vec![],
                    refund: true,
                },
                now,
            )
            .await?;
    }
    let refunded = t.elapsed();

    // Scans: every ticket enters once during the 3 hours before the start, a tenth leaves.
    let t = Instant::now();
    for sql in scan_sql(store.backend(), &event, list.id, orders) {
        raw(sql).await?;
    }
    println!(
        "  seeded {orders} orders in {:.1} s ({:.0}/s), {} refunds in {:.1} s, {} scans in {:.1} s",
        sold.as_secs_f64(),
        orders as f64 / sold.as_secs_f64(),
        refund_orders.len(),
        refunded.as_secs_f64(),
        orders + orders / 10,
        t.elapsed().as_secs_f64()
    );
    Ok(Seeded {
        admit,
        owner,
        event,
    })
}

fn scan_sql(
    backend: admit_store::Backend,
    event: &Event,
    list: CheckinListId,
    orders: usize,
) -> Vec<String> {
    let start_us = (event.starts_at - chrono::Duration::hours(3)).timestamp_micros();
    let step_us = 3 * 3600 * 1_000_000 / orders.max(1) as i64;
    let cols = "(id, nonce, list_id, event_id, ticket_id, direction, device_id, gate, user_id, \
                at, recorded_at, verdict, explanation, counted, forced, raw, answer)";
    match backend {
        admit_store::Backend::Sqlite => {
            let ev = format!("x'{}'", event.id.0.simple());
            let li = format!("x'{}'", list.0.simple());
            vec![format!(
                "insert into scans {cols}
                 select randomblob(16), 'bench-' || rn || '-' || d, {li}, {ev}, id,
                        case d when 0 then 'entry' else 'exit' end, null,
                        case rn % 3 when 0 then 'North' when 1 then 'South' else 'East' end, null,
                        {start_us} + rn * {step_us} + d * 1800000000,
                        {start_us} + rn * {step_us} + d * 1800000000,
                        'ok', 'ok', 1, 0, null, '{{}}'
                 from (select id, row_number() over (order by id) as rn from tickets
                       where event_id = {ev}) t,
                      (select 0 as d union all select 1) dirs
                 where d = 0 or rn % 10 = 0"
            )]
        }
        admit_store::Backend::Postgres => {
            let ev = format!("'{}'::uuid", event.id.0);
            let li = format!("'{}'::uuid", list.0);
            vec![format!(
                "insert into scans {cols}
                 select gen_random_uuid(), 'bench-' || rn || '-' || d, {li}, {ev}, id,
                        case d when 0 then 'entry' else 'exit' end, null,
                        case rn % 3 when 0 then 'North' when 1 then 'South' else 'East' end, null,
                        to_timestamp(({start_us} + rn * {step_us} + d * 1800000000) / 1e6),
                        to_timestamp(({start_us} + rn * {step_us} + d * 1800000000) / 1e6),
                        'ok', 'ok', true, false, null, '{{}}'::jsonb
                 from (select id, row_number() over (order by id) as rn from tickets
                       where event_id = {ev}) t,
                      (values (0), (1)) dirs (d)
                 where d = 0 or rn % 10 = 0"
            )]
        }
    }
}

mod futures_like {
    pub type BoxFut =
        std::pin::Pin<Box<dyn std::future::Future<Output = anyhow::Result<()>> + Send>>;
}

async fn measure(name: &str, s: &Seeded, orders: usize) -> anyhow::Result<()> {
    println!("{name}: {orders} orders");
    let eid = s.event.id.to_string();
    for kind in [ChartKind::Sales, ChartKind::Revenue, ChartKind::Door] {
        let input = ChartInput {
            event_id: eid.clone(),
            kind,
            width: None,
            height: None,
            step: None,
            currency: None,
        };
        let (agg, data) = median(5, || async {
            Ok(s.admit.chart_data(&s.owner, &input).await?)
        })
        .await?;
        let points = match &data {
            ChartData::Sales(c) => c.types.iter().map(|t| t.points.len()).sum::<usize>(),
            ChartData::Revenue(c) => {
                c.by_ticket_type.len() + c.by_channel.len() + c.by_payment_method.len()
            }
            ChartData::Door(c) => {
                c.gates.iter().map(|g| g.points.len()).sum::<usize>() + c.inside.len()
            }
        };
        let (svg, svg_text) = median(5, || async { Ok(data.svg(960, 540)?) }).await?;
        let (png, _) = median(3, || async { Ok(data.png(1920, 1080)?) }).await?;
        let total = agg + svg;
        println!(
            "  chart {:<8} aggregate {:>7.1} ms  svg {:>6.1} ms ({:>4} kB)  png 1920x1080 {:>6.1} ms  \
             aggregate+svg {:>7.1} ms {}  ({points} points)",
            format!("{kind:?}").to_lowercase(),
            ms(agg),
            ms(svg),
            svg_text.len() / 1024,
            ms(png),
            ms(total),
            if total < Duration::from_millis(200) { "< 200 ms target: met" } else { "≥ 200 ms target: MISSED" },
        );
    }
    for kind in [ExportKind::Orders, ExportKind::Attendees, ExportKind::Scans] {
        let t = Instant::now();
        let summary = s
            .admit
            .export_csv(
                &s.owner,
                &ExportInput {
                    event_id: eid.clone(),
                    kind,
                    spreadsheet: false,
                },
                &mut std::io::sink(),
                &mut |_, _| {},
            )
            .await?;
        let e = t.elapsed();
        println!(
            "  export {:<9} {:>7} rows in {:>6.2} s = {:>7.0} rows/s ({:.1} MB)",
            kind.as_str(),
            summary.rows,
            e.as_secs_f64(),
            summary.rows as f64 / e.as_secs_f64(),
            summary.bytes as f64 / 1e6
        );
    }
    Ok(())
}

async fn import_rate(s: &Seeded) -> anyhow::Result<()> {
    let rows = 10_000;
    let mut csv = String::from("order,buyer_name,email,ticket_type,attendee,payment_method\n");
    let names = ["Standing", "Seated", "Balcony"];
    for i in 0..rows {
        csv.push_str(&format!(
            "X-{},\"Buyer, {}\",b{}@example.org,{},Guest {i},{}\n",
            i / 2,
            i / 2,
            i / 2,
            names[i % 3],
            if (i / 2) % 4 == 0 { "cash" } else { "card" }
        ));
    }
    let input = ImportInput {
        event_id: s.event.id.to_string(),
        csv,
        ..Default::default()
    };
    let t = Instant::now();
    let p = s.admit.import_preview(&s.owner, &input, Utc::now()).await?;
    let preview = t.elapsed();
    if !p.issues.is_empty() {
        bail!("import preview found problems: {:?}", &p.issues[..1]);
    }
    let t = Instant::now();
    let r = s.admit.import_orders(&s.owner, &input, Utc::now()).await?;
    let import = t.elapsed();
    println!(
        "  import {rows} rows ({} orders): preview {:.0} ms ({:.0} rows/s), import {:.2} s ({:.0} rows/s)",
        r.orders,
        ms(preview),
        rows as f64 / preview.as_secs_f64(),
        import.as_secs_f64(),
        rows as f64 / import.as_secs_f64()
    );
    Ok(())
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let a = args()?;
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    println!("report bench: {} orders, {cores} cores", a.orders);
    if a.sqlite {
        let db = TestSqlite::new();
        let path = db
            .path()
            .to_str()
            .context("temp path is not UTF-8")?
            .to_string();
        let pool = sqlx::sqlite::SqlitePoolOptions::new()
            .max_connections(1)
            .connect_with(
                sqlx::sqlite::SqliteConnectOptions::new()
                    .filename(&path)
                    .create_if_missing(true)
                    .busy_timeout(Duration::from_secs(30)),
            )
            .await?;
        let raw = |sql: String| -> futures_like::BoxFut {
            let pool = pool.clone();
            Box::pin(async move {
                sqlx::query(&sql).execute(&pool).await?;
                Ok(())
            })
        };
        let s = seed(&path, a.orders, &raw).await?;
        measure("sqlite", &s, a.orders).await?;
        import_rate(&s).await?;
    }
    if a.postgres {
        let db = TestPostgres::new().await;
        let pool = sqlx::postgres::PgPoolOptions::new()
            .max_connections(1)
            .connect(db.url())
            .await?;
        let raw = |sql: String| -> futures_like::BoxFut {
            let pool = pool.clone();
            Box::pin(async move {
                sqlx::query(&sql).execute(&pool).await?;
                Ok(())
            })
        };
        let s = seed(db.url(), a.orders, &raw).await?;
        sqlx::query("analyze").execute(&pool).await?;
        measure("postgres", &s, a.orders).await?;
        import_rate(&s).await?;
    }
    Ok(())
}

//! `admit demo`: a realistic sample to try the app with.

use chrono::{Duration, Utc};
use clap::Args;
use rand::seq::SliceRandom;
use rand::Rng;
use serde::Serialize;

use admit_api::*;

#[derive(Args)]
pub struct DemoArgs {
    /// Orders to sell across the sample events.
    #[arg(long, default_value_t = 3000)]
    orders: u32,
}

pub const DEMO_USER: &str = "owner";
pub const DEMO_PASSWORD: &str = "admit-demo";

const FIRST: &[&str] = &[
    "Ada", "Grace", "Linus", "Zoë", "José", "Mei", "Olu", "Ingrid", "Ravi", "Fatima", "Noah", "Léa",
];
const LAST: &[&str] = &[
    "Lovelace", "Hopper", "Okafor", "Müller", "García", "Chen", "Nakamura", "O'Brien", "Singh",
    "Haddad",
];

/// Name, venue, capacity, and ticket types with their prices in cents.
type EventSpec = (
    &'static str,
    &'static str,
    i64,
    &'static [(&'static str, i64)],
);

#[derive(Serialize)]
struct DemoSummary {
    username: &'static str,
    password: &'static str,
    events: usize,
    orders: u32,
    tickets: usize,
    sold_out_attempts: u32,
}

pub async fn run(admit: &Admit, args: &DemoArgs, json: bool) -> anyhow::Result<()> {
    let now = Utc::now();
    let owner = if admit.needs_setup().await? {
        admit
            .create_first_owner(
                &NewUserInput {
                    username: DEMO_USER.into(),
                    display_name: "Demo Owner".into(),
                    password: DEMO_PASSWORD.into(),
                    role: String::new(),
                },
                None,
                now,
            )
            .await?
    } else {
        admit
            .login(DEMO_USER, DEMO_PASSWORD, None, now)
            .await
            .map_err(|_| ApiError::Conflict {
                message: "this database has accounts already; run demo on a new database".into(),
            })?
    };
    let specs: [EventSpec; 3] = [
        (
            "Spring Gala",
            "Town Hall",
            2500,
            &[("Standing", 2500), ("Seated", 4500), ("Student", 1200)],
        ),
        (
            "Late Jazz Night",
            "The Cellar",
            300,
            &[("Entry", 1800), ("Table for two", 6000)],
        ),
        (
            "Open Air Festival",
            "Riverside Park",
            8000,
            &[("Day pass", 3900), ("Weekend pass", 6900), ("VIP", 14900)],
        ),
    ];
    let mut events = Vec::new();
    for (i, (name, venue, capacity, types)) in specs.iter().enumerate() {
        let starts = now + Duration::days(14 + 21 * i as i64);
        let event = admit
            .create_event(
                &owner,
                &EventInput {
                    name: name.to_string(),
                    description: format!("{name} at {venue}"),
                    venue: venue.to_string(),
                    starts_at: starts.to_rfc3339(),
                    ends_at: (starts + Duration::hours(5)).to_rfc3339(),
                    time_zone: "Europe/Berlin".into(),
                    category_id: None,
                },
                now,
            )
            .await?;
        let mut ids = Vec::new();
        for (j, (tname, price)) in types.iter().enumerate() {
            let t = admit
                .create_ticket_type(
                    &owner,
                    &TicketTypeInput {
                        event_id: event.id.to_string(),
                        name: tname.to_string(),
                        price_minor: *price,
                        currency: "EUR".into(),
                        max_per_order: Some(10),
                        sort_order: Some(j as i64),
                        ..Default::default()
                    },
                    now,
                )
                .await?;
            ids.push(t.id.to_string());
        }
        admit
            .create_quota(
                &owner,
                &QuotaInput {
                    event_id: event.id.to_string(),
                    name: "Capacity".into(),
                    size: *capacity,
                    ticket_type_ids: ids.clone(),
                },
                now,
            )
            .await?;
        admit
            .publish_event(&owner, &event.id.to_string(), now)
            .await?;
        events.push((event, ids));
    }
    // Sell concurrently so the store's group commit carries many sales per transaction.
    let mut tasks = tokio::task::JoinSet::new();
    let per_task = args.orders.div_ceil(16).max(1);
    let mut left = args.orders;
    while left > 0 {
        let n = per_task.min(left);
        left -= n;
        let (admit, owner, events) = (admit.clone(), owner.clone(), events.clone());
        tasks.spawn(async move {
            let mut tickets = 0usize;
            let mut refused = 0u32;
            for _ in 0..n {
                let (sale, when) = {
                    let mut rng = rand::thread_rng();
                    let (event, ids) = events.choose(&mut rng).expect("events");
                    let lines = vec![LineInput {
                        ticket_type_id: ids.choose(&mut rng).expect("types").clone(),
                        quantity: rng.gen_range(1..=4),
                        attendee_names: vec![],
                    }];
                    let walk_in = rng.gen_bool(0.3);
                    let first = FIRST.choose(&mut rng).expect("names");
                    let last = LAST.choose(&mut rng).expect("names");
                    let method = *["cash", "card", "card", "comp"]
                        .choose(&mut rng)
                        .expect("methods");
                    let sale = SaleInput {
                        event_id: event.id.to_string(),
                        lines,
                        buyer_name: (!walk_in).then(|| format!("{first} {last}")),
                        buyer_email: (!walk_in).then(|| {
                            format!(
                                "{}.{}@example.org",
                                first.to_lowercase(),
                                last.to_lowercase().replace('\'', "")
                            )
                        }),
                        channel: None,
                        payment_method: method.to_string(),
                        card_confirmed: method == "card",
                        payment_note: (method == "comp").then(|| "Guest list".to_string()),
                        ..Default::default()
                    };
                    (
                        sale,
                        now - Duration::minutes(rng.gen_range(0..60 * 24 * 20)),
                    )
                };
                match admit.sell(&owner, &sale, when).await {
                    Ok(o) => tickets += o.tickets.len(),
                    Err(ApiError::SoldOut { .. }) => refused += 1,
                    Err(e) => return Err(e),
                }
            }
            Ok::<_, ApiError>((tickets, refused))
        });
    }
    let (mut tickets, mut refused) = (0, 0);
    while let Some(r) = tasks.join_next().await {
        let (t, r) = r??;
        tickets += t;
        refused += r;
    }
    let summary = DemoSummary {
        username: DEMO_USER,
        password: DEMO_PASSWORD,
        events: events.len(),
        orders: args.orders - refused,
        tickets,
        sold_out_attempts: refused,
    };
    if json {
        println!("{}", serde_json::to_string_pretty(&summary)?);
    } else {
        println!(
            "demo ready: {} events, {} orders, {} tickets ({} attempts found a sold-out event)\nlog in as {} / {}",
            summary.events, summary.orders, summary.tickets, summary.sold_out_attempts, DEMO_USER, DEMO_PASSWORD
        );
    }
    Ok(())
}

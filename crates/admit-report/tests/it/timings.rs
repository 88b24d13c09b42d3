//! Render times for charts of about 2,000 buckets. Run with
//! `cargo test --release -p admit-report -- --nocapture render_times` for the figures.

use std::time::{Duration, Instant};

use admit_core::money::Currency;
use admit_report::chart::*;
use chrono::{Duration as Span, TimeZone, Utc};
use chrono_tz::Europe::Berlin;

/// The median of five runs, after one warm-up (fonts are registered on the first chart).
fn median<T>(mut f: impl FnMut() -> T) -> Duration {
    f();
    let mut times: Vec<Duration> = (0..5)
        .map(|_| {
            let t = Instant::now();
            std::hint::black_box(f());
            t.elapsed()
        })
        .collect();
    times.sort();
    times[2]
}

#[test]
fn render_times() {
    let start = Utc.with_ymd_and_hms(2026, 2, 1, 8, 0, 0).unwrap();
    // 100,000 orders over 2,000 hours in four types (crossing the March DST change).
    let types: Vec<TypeSales> = (0..4)
        .map(|k| TypeSales {
            name: format!("Type {k}"),
            points: (0..25_000i64)
                .map(|i| (start + Span::seconds((i * 4 + k) * 72), 1 + (i as u64 % 3)))
                .collect(),
        })
        .collect();
    let sales = SalesChart {
        title: "Sales".into(),
        zone: Berlin,
        step: SalesStep::Hour,
        on_sale: Some(start),
        capacity: Some(250_000),
        types,
    };
    // 2,000 labels over the three breakdowns.
    let bar = |i: i64| RevenueBar {
        label: format!("Label {i}"),
        gross_minor: 10_000 + i * 37,
        refunded_minor: (i % 7) * 900,
    };
    let revenue = RevenueChart {
        title: "Revenue".into(),
        currency: Currency::parse("currency", "EUR").unwrap(),
        by_ticket_type: (0..700).map(bar).collect(),
        by_channel: (0..650).map(bar).collect(),
        by_payment_method: (0..650).map(bar).collect(),
    };
    // 2,000 five-minute buckets at four gates, and the count inside.
    let door = DoorChart {
        title: "Door".into(),
        zone: Berlin,
        bucket_secs: 300,
        gates: (0..4)
            .map(|g| GateArrivals {
                gate: format!("Gate {g}"),
                points: (0..2000i64)
                    .map(|i| (start + Span::minutes(5 * i), 1 + ((i + g) as u64 % 9)))
                    .collect(),
            })
            .collect(),
        inside: (0..2000i64)
            .map(|i| (start + Span::minutes(5 * i), (i * 13) % 900))
            .collect(),
    };

    let (w, h) = (1600, 900);
    let figures = [
        (
            "sales",
            median(|| sales.svg(w, h).unwrap()),
            median(|| sales.png(w, h).unwrap()),
        ),
        (
            "revenue",
            median(|| revenue.svg(w, h).unwrap()),
            median(|| revenue.png(w, h).unwrap()),
        ),
        (
            "door",
            median(|| door.svg(w, h).unwrap()),
            median(|| door.png(w, h).unwrap()),
        ),
    ];
    let profile = if cfg!(debug_assertions) {
        "debug"
    } else {
        "release"
    };
    for (name, svg, png) in &figures {
        println!(
            "render {name:8} {w}x{h} ({profile}): svg {:6.1} ms, png {:6.1} ms",
            svg.as_secs_f64() * 1e3,
            png.as_secs_f64() * 1e3
        );
    }
    // The budget is for release builds; unoptimised test builds get ten times as long.
    let budget = if cfg!(debug_assertions) {
        Duration::from_secs(2)
    } else {
        Duration::from_millis(200)
    };
    for (name, svg, _) in &figures {
        assert!(*svg < budget, "{name}: SVG took {svg:?}");
    }
}

//! Tickets per second on one core: QR codes as SVG and PNG, printable tickets, and signing and
//! verifying ticket secrets. Each figure is printed next to its baseline from the same run
//! (the qrcode crate's default path), so the ratio survives noisy shared machines.
//!
//! Run with `cargo run --release -p admit-bench --bin qr`. `ADMIT_BENCH_SECONDS` sets the time
//! per measurement (default 2).

use std::hint::black_box;
use std::time::{Duration, Instant};

use admit_core::id::{EventId, TicketId, TicketTypeId};
use admit_core::secret::{self, EventKeyring, KeyId, SigningKey, TicketPayload, ValidityWindow};
use admit_core::time::TimeZone;
use admit_qr::{baseline, PageSize, QrMatrix, SvgSize, TicketCard, SCREEN_MODULE_PX};
use chrono::{Duration as Span, TimeZone as _, Utc};

/// Distinct secrets so nothing benefits from repeating one input.
const SECRETS: usize = 512;

fn main() -> anyhow::Result<()> {
    let seconds: f64 = std::env::var("ADMIT_BENCH_SECONDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(2.0);
    let budget = Duration::from_secs_f64(seconds);

    let now = Utc
        .with_ymd_and_hms(2026, 4, 1, 12, 0, 0)
        .single()
        .unwrap_or_default();
    let event = EventId::new(now);
    // A fixed key is as fast as a random one and keeps the binary free of an RNG dependency.
    let key = SigningKey::from_secret_bytes(event, KeyId(1), &[7; 32]);
    let ring = EventKeyring::new(event, vec![key.keyring_entry()])?;
    let window = ValidityWindow::new(Some(now + Span::days(30)), Some(now + Span::days(31)))?;
    let ticket_type = TicketTypeId::new(now);
    let payloads: Vec<TicketPayload> = (0..SECRETS)
        .map(|i| {
            TicketPayload::new(
                TicketId::new(now + Span::milliseconds(i as i64)),
                ticket_type,
                now,
                window,
            )
        })
        .collect::<Result<_, _>>()?;
    let secrets: Vec<String> = payloads.iter().map(|p| secret::issue(p, &key)).collect();
    let matrix = QrMatrix::encode(&secrets[0])?;
    let tz = TimeZone::parse("tz", "Europe/Berlin")?;

    println!("QR and ticket secrets, one core, {seconds} s per figure");
    println!(
        "secret: {} characters, QR version {} at EC M ({} × {} modules)",
        secrets[0].len(),
        matrix.version(),
        matrix.width(),
        matrix.width()
    );
    println!();

    let issue = measure(budget, |i| {
        black_box(secret::issue(&payloads[i % SECRETS], &key));
    });
    let verify = measure(budget, |i| {
        black_box(secret::verify(&secrets[i % SECRETS], &ring).is_ok());
    });
    report("secret issue (Ed25519 sign + base45)", issue, None);
    report(
        "secret verify (base45 + Ed25519 verify_strict)",
        verify,
        None,
    );
    println!();

    let svg = measure(budget, |i| {
        black_box(admit_qr::qr_svg(&secrets[i % SECRETS], SvgSize::Fluid).ok());
    });
    let svg_base = measure(budget, |i| {
        black_box(baseline::svg(&secrets[i % SECRETS]).ok());
    });
    report("QR SVG", svg, Some(svg_base));
    report("  baseline: qrcode crate defaults", svg_base, None);

    let png = measure(budget, |i| {
        black_box(admit_qr::qr_png(&secrets[i % SECRETS], SCREEN_MODULE_PX).ok());
    });
    let png_base = measure(budget, |i| {
        black_box(baseline::png(&secrets[i % SECRETS]).ok());
    });
    report("QR PNG (8 px/module, 424 px)", png, Some(png_base));
    report("  baseline: qrcode crate defaults", png_base, None);

    let encode = measure(budget, |i| {
        black_box(QrMatrix::encode(&secrets[i % SECRETS]).ok());
    });
    report("  of which QR encode alone", encode, None);
    println!();

    let card = |i: usize| TicketCard {
        event_name: "Sommernachtskonzert im Park",
        starts_at: now + Span::days(30),
        time_zone: tz,
        venue: "Schlossgarten, Berlin",
        ticket_type: "Stehplatz",
        attendee: Some("Zoë Ødegård"),
        order_code: "K7M2QX9",
        secret: &secrets[i % SECRETS],
    };
    let page = measure(budget, |i| {
        black_box(admit_qr::ticket_page_svg(&card(i), PageSize::A6).ok());
    });
    let ticket_png = measure(budget, |i| {
        black_box(admit_qr::ticket_png(&card(i)).ok());
    });
    report("ticket print page (A6 SVG)", page, None);
    report("ticket image (PNG 1200 × 560)", ticket_png, None);
    Ok(())
}

/// Calls per second of `f`, after a short warm-up.
fn measure(budget: Duration, mut f: impl FnMut(usize)) -> f64 {
    let warm = Instant::now();
    let mut i = 0;
    while warm.elapsed() < budget / 10 {
        f(i);
        i += 1;
    }
    let start = Instant::now();
    let mut n = 0usize;
    while start.elapsed() < budget {
        for _ in 0..16 {
            f(n);
            n += 1;
        }
    }
    n as f64 / start.elapsed().as_secs_f64()
}

fn report(label: &str, per_second: f64, baseline: Option<f64>) {
    let micros = 1e6 / per_second;
    match baseline {
        Some(b) => println!(
            "{label:<48} {per_second:>10.0}/s {micros:>9.1} µs   {:.1}× the baseline",
            per_second / b
        ),
        None => println!("{label:<48} {per_second:>10.0}/s {micros:>9.1} µs"),
    }
}

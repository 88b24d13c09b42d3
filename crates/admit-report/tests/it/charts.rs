use admit_core::money::Currency;
use admit_report::chart::*;
use admit_report::ReportError;
use chrono::{DateTime, Duration, TimeZone, Utc};
use chrono_tz::Europe::Berlin;
use chrono_tz::Tz;

use crate::svg::{parse, Svg};

/// The first series colours (Tableau 10), in series order.
const SERIES: [&str; 4] = ["#1F77B4", "#FF7F0E", "#2CA02C", "#D62728"];
/// The on-sale marker's colour.
const MARKER: &str = "#E67800";

fn berlin(y: i32, mo: u32, d: u32, h: u32, mi: u32) -> DateTime<Utc> {
    Berlin
        .with_ymd_and_hms(y, mo, d, h, mi, 0)
        .earliest()
        .unwrap()
        .with_timezone(&Utc)
}

fn sales(types: Vec<TypeSales>, on_sale: Option<DateTime<Utc>>) -> SalesChart {
    SalesChart {
        title: "Summer Gala".into(),
        zone: Berlin,
        step: SalesStep::Hour,
        on_sale,
        capacity: Some(500),
        types,
    }
}

/// Three ticket types over 48 hours; type k sells in hours where (h + k) % 3 != 0, so
/// each has its own number of non-empty buckets.
fn three_types() -> Vec<TypeSales> {
    let start = berlin(2026, 5, 1, 9, 0);
    ["Adult", "Child", "Student"]
        .iter()
        .enumerate()
        .map(|(k, name)| TypeSales {
            name: name.to_string(),
            points: (0..48)
                .filter(|h| (h + k as i64) % 3 != 0)
                .map(|h| (start + Duration::hours(h), 1 + (h as u64 % 5)))
                .collect(),
        })
        .collect()
}

fn assert_no_nan(svg: &str) {
    for bad in ["NaN", "inf"] {
        assert!(!svg.contains(bad), "SVG contains {bad}");
    }
}

/// Long enough to be an axis, black, once per panel.
fn assert_axes(svg: &Svg, panels: usize) {
    let (v, h) = svg.axes();
    assert_eq!((v, h), (panels, panels), "one x and one y axis per panel");
}

#[test]
fn sales_chart_has_axes_captions_legend_bars_and_marker() {
    let types = three_types();
    let chart = sales(types.clone(), Some(berlin(2026, 4, 30, 12, 0)));
    let text = chart.svg(1200, 800).unwrap();
    assert_no_nan(&text);
    let svg = parse(&text);
    assert_eq!(svg.root().attr("width"), "1200");
    assert_eq!(svg.root().attr("height"), "800");
    assert_axes(&svg, 2);

    assert_eq!(svg.count_text("Summer Gala"), 1);
    assert_eq!(
        svg.count_text("Time (Europe/Berlin)"),
        2,
        "both panels name the zone"
    );
    assert_eq!(svg.count_text("Tickets per hour"), 1);
    assert_eq!(svg.count_text("Tickets sold (cumulative)"), 1);
    assert_eq!(svg.count_text("Capacity 500"), 1);
    assert_eq!(svg.count_text("Total sold"), 1);

    // One legend entry per ticket type, each with one swatch of the type's colour.
    let legend: usize = types.iter().map(|t| svg.count_text(&t.name)).sum();
    assert_eq!(legend, types.len());
    for (k, t) in types.iter().enumerate() {
        let bars = t.points.len();
        assert_eq!(
            svg.rects(SERIES[k]).len(),
            bars + 1,
            "{}: a bar per non-empty hour and a legend swatch",
            t.name
        );
    }

    // The on-sale marker: a line and a label in each panel.
    assert_eq!(svg.polylines(MARKER).len(), 2);
    assert_eq!(svg.count_text("On sale"), 2);

    // Local times on the x axis: the sales start 1 May 09:00 in Berlin (07:00 UTC).
    let texts = svg.texts();
    assert!(
        texts.iter().any(|t| t.contains("1 May")),
        "a date label in local time: {texts:?}"
    );
}

#[test]
fn no_marker_without_an_on_sale_time() {
    let svg = parse(&sales(three_types(), None).svg(1000, 700).unwrap());
    assert!(svg.polylines(MARKER).is_empty());
    assert_eq!(svg.count_text("On sale"), 0);
    assert_axes(&svg, 2);
}

#[test]
fn one_type_has_one_legend_entry_and_no_per_type_lines() {
    let types: Vec<TypeSales> = three_types().into_iter().take(1).collect();
    let svg = parse(&sales(types, None).svg(1000, 700).unwrap());
    assert_eq!(svg.count_text("Adult"), 1);
    // Its cumulative line would duplicate the total, so only the total is drawn.
    assert!(svg.polylines(SERIES[0]).is_empty());
    assert_eq!(
        svg.polylines("#141414").len(),
        2,
        "total line and its legend mark"
    );
}

#[test]
fn empty_sales_chart_draws_axes_and_says_so() {
    let chart = sales(vec![], None);
    for types in [
        vec![],
        vec![TypeSales {
            name: "Adult".into(),
            points: vec![],
        }],
    ] {
        let text = SalesChart {
            types,
            ..chart.clone()
        }
        .svg(800, 600)
        .unwrap();
        assert_no_nan(&text);
        let svg = parse(&text);
        assert_axes(&svg, 2);
        assert_eq!(svg.count_text("No sales yet"), 2);
        assert_eq!(svg.count_text("Time (Europe/Berlin)"), 2);
        assert_eq!(
            svg.rects(SERIES[0]).len(),
            0,
            "no bars and no legend swatch"
        );
    }
    // Known on-sale moment but nothing sold: the marker still shows, on a dated axis.
    let svg = parse(
        &sales(vec![], Some(berlin(2026, 4, 30, 12, 0)))
            .svg(800, 600)
            .unwrap(),
    );
    assert_eq!(svg.count_text("No sales yet"), 2);
    assert_eq!(svg.polylines(MARKER).len(), 2);
    assert!(svg.texts().iter().any(|t| t.contains("30 Apr")));
    // And the PNG too.
    let png = chart.png(800, 600).unwrap();
    assert_eq!(image::load_from_memory(&png).unwrap().width(), 800);
}

#[test]
fn hourly_axis_across_the_spring_change_skips_the_missing_hour() {
    // 29 March 2026: Berlin goes from 02:00 CET straight to 03:00 CEST.
    let start = berlin(2026, 3, 28, 22, 0);
    let points: Vec<_> = (0..7).map(|h| (start + Duration::hours(h), 3)).collect();
    let chart = sales(
        vec![TypeSales {
            name: "Adult".into(),
            points,
        }],
        None,
    );
    let svg = parse(&chart.svg(1200, 700).unwrap());
    let texts = svg.texts();
    for label in ["29 Mar 00:00", "01:00", "03:00", "04:00"] {
        assert!(texts.contains(&label), "{label} in {texts:?}");
    }
    assert!(
        !texts.contains(&"02:00"),
        "02:00 does not exist that night: {texts:?}"
    );
    // Seven UTC hours are seven local hour buckets.
    assert_eq!(svg.rects(SERIES[0]).len(), 7 + 1);
}

#[test]
fn daily_buckets_are_local_days_so_the_short_day_is_narrower() {
    // Sales at local noon on 28, 29 (23 hours long) and 30 March, and one at 00:30 local on
    // the 30th: 22:30 UTC on the 29th, so it shows whether days are cut in local time.
    let types = vec![TypeSales {
        name: "Adult".into(),
        points: vec![
            (berlin(2026, 3, 28, 12, 0), 5),
            (berlin(2026, 3, 29, 12, 0), 5),
            (berlin(2026, 3, 30, 0, 30), 2),
            (berlin(2026, 3, 30, 12, 0), 5),
        ],
    }];
    let chart = SalesChart {
        step: SalesStep::Day,
        ..sales(types, None)
    };
    let svg = parse(&chart.svg(1200, 700).unwrap());
    assert_eq!(svg.count_text("Tickets per day"), 1);
    let mut bars: Vec<(f64, f64, f64)> = svg
        .rects(SERIES[0])
        .iter()
        .filter(|r| r.num("width") > 50.0)
        .map(|r| (r.num("x"), r.num("width"), r.num("height")))
        .collect();
    bars.sort_by(|a, b| a.0.total_cmp(&b.0));
    assert_eq!(bars.len(), 3, "{bars:?}");
    let (w28, w29, w30) = (bars[0].1, bars[1].1, bars[2].1);
    let expected = w28 * 23.0 / 24.0;
    assert!(
        (w29 - expected).abs() <= 2.0,
        "29 March is 23/24 of a day: {bars:?}"
    );
    assert!((w30 - w28).abs() <= 1.0);
    assert!((bars[1].2 - bars[0].2).abs() <= 1.0, "{bars:?}");
    assert!(
        bars[2].2 > bars[0].2 + 10.0,
        "the 00:30 sale counts on the 30th: {bars:?}"
    );
}

#[test]
fn raw_orders_are_summed_into_buckets() {
    // 100,000 single-ticket orders over 2,000 hours, unsorted and in two types.
    let start = berlin(2026, 1, 5, 0, 0);
    let mut a = Vec::new();
    let mut b = Vec::new();
    for i in 0..100_000i64 {
        let t = start + Duration::seconds((i * 7919) % (2000 * 3600));
        if i % 3 == 0 {
            b.push((t, 1))
        } else {
            a.push((t, 1))
        }
    }
    let chart = sales(
        vec![
            TypeSales {
                name: "Adult".into(),
                points: a,
            },
            TypeSales {
                name: "Child".into(),
                points: b,
            },
        ],
        Some(start),
    );
    let svg = parse(&chart.svg(1600, 900).unwrap());
    let bars = svg.rects(SERIES[0]).len() - 1;
    assert!(bars <= 2000 && bars > 1900, "{bars} hourly bars");
    // 100,000 sold in all: the total line ends at 100,000.
    let total = svg.polylines("#141414");
    let end = total[0].points().last().copied().unwrap();
    let zero_y = total[0].points()[0].1;
    assert!(end.1 < zero_y, "the total climbs");
    assert!(svg.texts().contains(&"100,000"), "y axis reaches 100,000");
}

#[test]
fn labels_are_escaped() {
    let name = "Zoë's <VIP> & \"Friends\"";
    let chart = SalesChart {
        title: "Gala <b>&amp;</b>\u{7}".into(),
        ..sales(
            vec![TypeSales {
                name: name.into(),
                points: vec![(berlin(2026, 5, 1, 10, 0), 2)],
            }],
            None,
        )
    };
    let text = chart.svg(900, 600).unwrap();
    assert!(!text.contains("<VIP>") && !text.contains("<b>"));
    assert!(!text.contains('\u{7}'), "control characters are dropped");
    // The strict reader decodes entities back to the original text.
    let svg = parse(&text);
    assert_eq!(svg.count_text(name), 1);
    assert_eq!(svg.count_text("Gala <b>&amp;</b>"), 1);

    let door = DoorChart {
        title: "<script>".into(),
        zone: Berlin,
        bucket_secs: 300,
        gates: vec![GateArrivals {
            gate: "Nord & <Süd>".into(),
            points: vec![(berlin(2026, 5, 1, 19, 0), 4)],
        }],
        inside: vec![],
    };
    let svg = parse(&door.svg(900, 600).unwrap());
    assert_eq!(svg.count_text("Nord & <Süd>"), 1);
    assert_eq!(svg.count_text("<script>"), 1);
}

fn eur() -> Currency {
    Currency::parse("currency", "EUR").unwrap()
}

fn bar(label: &str, gross: i64, refunded: i64) -> RevenueBar {
    RevenueBar {
        label: label.into(),
        gross_minor: gross,
        refunded_minor: refunded,
    }
}

/// Numbers on the y axes, parsed back from their labels ("12,500" → 12500).
fn y_numbers(svg: &Svg) -> Vec<f64> {
    svg.elements
        .iter()
        .filter(|e| e.name == "text" && e.attr("text-anchor") == "end")
        .filter_map(|e| e.text.replace(',', "").parse().ok())
        .collect()
}

#[test]
fn revenue_chart_has_three_panels_in_major_units() {
    let chart = RevenueChart {
        title: "Revenue".into(),
        currency: eur(),
        by_ticket_type: vec![bar("Adult", 1_500_000, 50_000), bar("Child", 200_000, 0)],
        by_channel: vec![
            bar("Box office", 900_000, 0),
            bar("Online", 800_000, 50_000),
        ],
        by_payment_method: vec![
            bar("Card", 1_000_000, 50_000),
            bar("Cash", 600_000, 0),
            bar("Invoice", 100_000, 0),
        ],
    };
    let text = chart.svg(1000, 900).unwrap();
    assert_no_nan(&text);
    let svg = parse(&text);
    assert_axes(&svg, 3);
    for caption in ["By ticket type", "By channel", "By payment method"] {
        assert_eq!(svg.count_text(caption), 1);
    }
    assert_eq!(svg.count_text("Amount (EUR)"), 3);
    for label in [
        "Ticket type",
        "Channel",
        "Payment method",
        "Adult",
        "Invoice",
    ] {
        assert_eq!(svg.count_text(label), 1, "{label}");
    }
    for legend in ["Gross", "Refunds", "Net"] {
        assert_eq!(
            svg.count_text(legend),
            1,
            "{legend} in the one shared legend"
        );
    }
    // Gross, refunds and net per label, plus one legend swatch each.
    let bars = 2 + 2 + 3;
    assert_eq!(svg.rects("#1F77B4").len(), bars + 1, "gross");
    assert_eq!(svg.rects("#D62728").len(), bars + 1, "refunds");
    assert_eq!(svg.rects("#2CA02C").len(), bars + 1, "net");
    // 1,500,000 cents are 15,000 euros: the axis goes that far and no further.
    let top = y_numbers(&svg).into_iter().fold(0f64, f64::max);
    assert!((15_000.0..20_000.0).contains(&top), "top label {top}");
}

#[test]
fn revenue_units_follow_the_currency() {
    let chart = |code: &str| RevenueChart {
        title: String::new(),
        currency: Currency::parse("currency", code).unwrap(),
        by_ticket_type: vec![bar("Adult", 1_500_000, 0)],
        by_channel: vec![],
        by_payment_method: vec![],
    };
    let top = |code: &str| {
        let svg = parse(&chart(code).svg(900, 800).unwrap());
        assert_eq!(svg.count_text(&format!("Amount ({code})")), 3);
        y_numbers(&svg).into_iter().fold(0f64, f64::max)
    };
    // The same minor units: yen have none, dinars three decimals.
    assert!((1_500_000.0..2_000_000.0).contains(&top("JPY")));
    assert!((15_000.0..20_000.0).contains(&top("EUR")));
    assert!((1_500.0..2_000.0).contains(&top("KWD")));
}

#[test]
fn negative_net_goes_below_zero() {
    let chart = RevenueChart {
        title: "Refund storm".into(),
        currency: eur(),
        by_ticket_type: vec![bar("Adult", 100_000, 400_000)],
        by_channel: vec![bar("Online", 0, 0)],
        by_payment_method: vec![bar("Card", i64::MAX / 2, i64::MAX)],
    };
    let text = chart.svg(900, 800).unwrap();
    assert_no_nan(&text);
    let svg = parse(&text);
    let numbers = y_numbers(&svg);
    assert!(
        numbers.iter().any(|n| *n <= -2_000.0),
        "net of −3,000 euros needs negative ticks: {numbers:?}"
    );
    // The net bar hangs from the zero line: its top is where the gross bar's bottom is.
    // The first swatch of each colour is the shared legend's, drawn before the panels.
    let gross = svg.rects("#1F77B4")[1];
    let net = svg.rects("#2CA02C")[1];
    let zero = gross.num("y") + gross.num("height");
    assert!((net.num("y") - zero).abs() <= 1.0, "net starts at zero");
    assert!(net.num("height") > gross.num("height") * 2.0);
}

#[test]
fn empty_revenue_chart_says_so_in_each_panel() {
    let chart = RevenueChart {
        title: "Revenue".into(),
        currency: eur(),
        by_ticket_type: vec![],
        by_channel: vec![],
        by_payment_method: vec![],
    };
    let text = chart.svg(800, 700).unwrap();
    assert_no_nan(&text);
    let svg = parse(&text);
    assert_axes(&svg, 3);
    assert_eq!(svg.count_text("No sales yet"), 3);
    assert_eq!(svg.count_text("Gross"), 0, "no legend without bars");
    assert_png(&chart.png(800, 700).unwrap(), 800, 700);
}

fn door(zone: Tz) -> DoorChart {
    let start = berlin(2026, 5, 1, 18, 30);
    DoorChart {
        title: "Door".into(),
        zone,
        bucket_secs: 300,
        gates: ["North", "South", "—"]
            .iter()
            .enumerate()
            .map(|(g, name)| GateArrivals {
                gate: name.to_string(),
                points: (0..24)
                    .filter(|i| (i + g as i64) % 4 != 0)
                    .map(|i| (start + Duration::minutes(5 * i), 2 + (i as u64 % 7)))
                    .collect(),
            })
            .collect(),
        inside: (0..24)
            .map(|i| (start + Duration::minutes(5 * i), 20 * i))
            .collect(),
    }
}

#[test]
fn door_chart_has_a_series_per_gate_and_people_inside() {
    let chart = door(Berlin);
    let text = chart.svg(1100, 700).unwrap();
    assert_no_nan(&text);
    let svg = parse(&text);
    assert_axes(&svg, 2);
    assert_eq!(svg.count_text("Time (Europe/Berlin)"), 2);
    assert_eq!(svg.count_text("Arrivals per 5 minutes"), 1);
    assert_eq!(svg.count_text("People inside"), 1);
    for (g, gate) in chart.gates.iter().enumerate() {
        assert_eq!(
            svg.count_text(&gate.gate),
            1,
            "legend entry for {}",
            gate.gate
        );
        assert_eq!(svg.rects(SERIES[g]).len(), gate.points.len() + 1);
    }
    // 18:30 in Berlin, not 16:30 UTC.
    assert!(svg
        .texts()
        .iter()
        .any(|t| t.contains("18:30") || t.contains("18:45")));
    assert!(!svg.texts().iter().any(|t| t.contains("16:30")));
    let inside = svg.polylines("#141414");
    assert_eq!(inside.len(), 1);
    assert_eq!(inside[0].points().len(), 24);

    let tokyo = parse(&door(chrono_tz::Asia::Tokyo).svg(1100, 700).unwrap());
    assert_eq!(tokyo.count_text("Time (Asia/Tokyo)"), 2);
    assert!(tokyo.texts().iter().any(|t| t.contains("2 May 01:")));
}

#[test]
fn empty_door_chart_says_so() {
    let chart = DoorChart {
        gates: vec![],
        inside: vec![],
        ..door(Berlin)
    };
    let text = chart.svg(800, 600).unwrap();
    assert_no_nan(&text);
    let svg = parse(&text);
    assert_axes(&svg, 2);
    assert_eq!(svg.count_text("No scans yet"), 2);
    assert_png(&chart.png(800, 600).unwrap(), 800, 600);
    let zero = DoorChart {
        bucket_secs: 0,
        ..door(Berlin)
    };
    assert!(matches!(zero.svg(800, 600), Err(ReportError::Invalid(_))));
}

#[test]
fn sizes_out_of_range_are_refused() {
    let chart = sales(three_types(), None);
    for (w, h) in [(0, 600), (100, 600), (800, 10_000), (MAX_SIDE + 1, 600)] {
        assert!(matches!(chart.svg(w, h), Err(ReportError::Invalid(_))));
        assert!(matches!(chart.png(w, h), Err(ReportError::Invalid(_))));
    }
    assert!(chart.svg(MIN_SIDE, MIN_SIDE).is_ok());
    assert!(chart.png(MIN_SIDE, MIN_SIDE).is_ok());
}

/// Decodes to the requested size, is not blank, and has dark anti-aliased text at the top
/// (the title, drawn from the bundled font).
fn assert_png(png: &[u8], width: u32, height: u32) -> image::RgbImage {
    let img = image::load_from_memory_with_format(png, image::ImageFormat::Png)
        .expect("a PNG")
        .to_rgb8();
    assert_eq!(img.dimensions(), (width, height));
    let dark = |p: &image::Rgb<u8>| p.0.iter().map(|c| u32::from(*c)).sum::<u32>() < 200;
    let title_rows = img.rows().take(30).flatten().filter(|p| dark(p)).count();
    assert!(
        title_rows > 100,
        "title text in the top rows: {title_rows} dark pixels"
    );
    let grey_levels: std::collections::BTreeSet<u8> = img
        .rows()
        .take(30)
        .flatten()
        .filter(|p| p.0[0] == p.0[1] && p.0[1] == p.0[2])
        .map(|p| p.0[0])
        .collect();
    assert!(grey_levels.len() > 10, "anti-aliased glyph edges");
    img
}

#[test]
fn pngs_decode_at_the_requested_size_with_text_and_bars() {
    let chart = sales(three_types(), Some(berlin(2026, 4, 30, 12, 0)));
    let img = assert_png(&chart.png(1200, 800).unwrap(), 1200, 800);
    for (k, hex) in SERIES.iter().take(3).enumerate() {
        let rgb = u32::from_str_radix(&hex[1..], 16).unwrap().to_be_bytes();
        let n = img
            .pixels()
            .filter(|p| p.0 == [rgb[1], rgb[2], rgb[3]])
            .count();
        assert!(n > 1000, "type {k}'s bars are drawn: {n} pixels");
    }
    let revenue = RevenueChart {
        title: "Revenue".into(),
        currency: eur(),
        by_ticket_type: vec![bar("Adult", 150_000, 10_000)],
        by_channel: vec![bar("Online", 150_000, 10_000)],
        by_payment_method: vec![bar("Card", 150_000, 10_000)],
    };
    assert_png(&revenue.png(640, 480).unwrap(), 640, 480);
    assert_png(&door(Berlin).png(700, 500).unwrap(), 700, 500);
}

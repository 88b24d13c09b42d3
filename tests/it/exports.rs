//! Owners' reports through the use cases, on both backends: CSV exports, the CSV import with
//! its dry run, the end-of-shift report, charts and printable tickets.

use admit_api::*;
use admit_core::model::{OrderWithTickets, PaymentMethod};

use crate::both_backends;
use crate::fixture::{Fixture, Setup};

both_backends!(
    csv_exports_keep_every_name_exactly_and_report_progress,
    spreadsheet_exports_start_with_a_bom_and_defuse_formulas,
    attendee_and_scan_exports_follow_the_door,
    import_preview_lists_problems_row_by_row_and_writes_nothing,
    import_is_all_or_nothing_against_stock,
    import_makes_orders_tickets_and_stock_moves,
    shift_report_counts_cash_card_and_refunds_per_cashier,
    box_office_sees_only_its_own_shift,
    charts_draw_for_empty_and_busy_events,
    tickets_print_as_one_pdf,
);

const HOSTILE: [&str; 6] = [
    "Doe, Jane",
    "Jane \"JJ\" Doe",
    "O'Brien; Ada",
    "Zoë Ünal-Łukasiewicz 李",
    "=HYPERLINK(\"http://x\")",
    "<script>alert(1)</script>",
];

async fn sell_named(f: &Fixture, setup: &Setup, name: &str, method: &str) -> OrderWithTickets {
    let mut sale = setup.sale(&[(&setup.a, 1)]);
    sale.buyer_name = Some(name.to_string());
    sale.payment_method = method.into();
    sale.card_confirmed = method == "card";
    f.admit.sell(&f.owner, &sale, f.now).await.unwrap()
}

async fn export(
    f: &Fixture,
    setup: &Setup,
    kind: ExportKind,
    spreadsheet: bool,
) -> (Vec<u8>, ExportSummary, Vec<(u64, u64)>) {
    let mut out = Vec::new();
    let mut calls = Vec::new();
    let summary = f
        .admit
        .export_csv(
            &f.owner,
            &ExportInput {
                event_id: setup.event.id.to_string(),
                kind,
                spreadsheet,
            },
            &mut out,
            &mut |done, total| calls.push((done, total)),
        )
        .await
        .unwrap();
    (out, summary, calls)
}

fn parse(bytes: &[u8]) -> Vec<Vec<String>> {
    let mut r = csv::ReaderBuilder::new()
        .has_headers(false)
        .from_reader(bytes);
    r.records()
        .map(|r| r.unwrap().iter().map(str::to_string).collect())
        .collect()
}

async fn csv_exports_keep_every_name_exactly_and_report_progress(f: Fixture) {
    let setup = f.event(100, 60).await;
    for name in HOSTILE {
        sell_named(&f, &setup, name, "cash").await;
    }
    let (bytes, summary, calls) = export(&f, &setup, ExportKind::Orders, false).await;
    assert_eq!(summary.rows, HOSTILE.len() as u64);
    assert_eq!(summary.bytes, bytes.len() as u64);
    assert!(!bytes.starts_with("\u{feff}".as_bytes()));
    let rows = parse(&bytes);
    assert_eq!(rows[0][0], "order_id");
    let name_col = rows[0].iter().position(|h| h == "buyer_name").unwrap();
    let total_col = rows[0].iter().position(|h| h == "total").unwrap();
    let mut names: Vec<&str> = rows[1..].iter().map(|r| r[name_col].as_str()).collect();
    names.sort();
    let mut want = HOSTILE.to_vec();
    want.sort();
    assert_eq!(
        names, want,
        "every name comes back exactly, commas and quotes too"
    );
    assert!(rows[1..].iter().all(|r| r[total_col] == "20.00"));
    // Progress starts at zero and ends at the total.
    assert_eq!(calls.first(), Some(&(0, HOSTILE.len() as u64)));
    assert_eq!(
        calls.last(),
        Some(&(HOSTILE.len() as u64, HOSTILE.len() as u64))
    );
}

async fn spreadsheet_exports_start_with_a_bom_and_defuse_formulas(f: Fixture) {
    let setup = f.event(100, 60).await;
    sell_named(&f, &setup, "=1+2", "card").await;
    sell_named(&f, &setup, "Zoë", "card").await;
    let (bytes, _, _) = export(&f, &setup, ExportKind::Orders, true).await;
    assert!(bytes.starts_with("\u{feff}".as_bytes()));
    let rows = parse(&bytes[3..]);
    let name_col = rows[0].iter().position(|h| h == "buyer_name").unwrap();
    let mut names: Vec<&str> = rows[1..].iter().map(|r| r[name_col].as_str()).collect();
    names.sort();
    assert_eq!(names, ["'=1+2", "Zoë"]);
}

async fn attendee_and_scan_exports_follow_the_door(f: Fixture) {
    let setup = f.event(100, 60).await;
    let a = &f.admit;
    let o = sell_named(&f, &setup, "Ada", "cash").await;
    let list = a
        .create_checkin_list(
            &f.owner,
            &CheckinListInput {
                event_id: setup.event.id.to_string(),
                name: "Main".into(),
                ..Default::default()
            },
            f.now,
        )
        .await
        .unwrap();
    let secret = a
        .ticket_secret(&f.owner, &o.tickets[0].id.to_string(), f.now)
        .await
        .unwrap();
    for (nonce, raw) in [
        ("n1", secret.secret.as_str()),
        ("n2", "FORGED,\"x\"\nsecond line"),
    ] {
        a.redeem(
            &f.owner,
            &RedeemInput {
                raw: raw.into(),
                list_id: list.id.to_string(),
                direction: None,
                gate: Some("North".into()),
                nonce: nonce.into(),
                at: Some(f.at(30).to_rfc3339()),
                force: false,
            },
            f.at(30),
        )
        .await
        .unwrap();
    }
    let (bytes, summary, _) = export(&f, &setup, ExportKind::Attendees, false).await;
    assert_eq!(summary.rows, 1);
    let rows = parse(&bytes);
    let col = |h: &str| rows[0].iter().position(|x| x == h).unwrap();
    assert_eq!(rows[1][col("order_code")], o.order.code.as_str());
    assert_eq!(rows[1][col("ticket_type")], "Standing");
    assert_eq!(rows[1][col("buyer_name")], "Ada");
    // Berlin is UTC+2 in May: 12:30 UTC is 14:30 local.
    assert_eq!(rows[1][col("first_entry_at")], "2026-05-01T14:30:00+02:00");

    let (bytes, summary, _) = export(&f, &setup, ExportKind::Scans, false).await;
    assert_eq!(summary.rows, 2);
    let rows = parse(&bytes);
    let col = |h: &str| rows[0].iter().position(|x| x == h).unwrap();
    let counted: Vec<&str> = rows[1..]
        .iter()
        .map(|r| r[col("counted")].as_str())
        .collect();
    assert!(counted.contains(&"yes") && counted.contains(&"no"));
    assert!(rows[1..]
        .iter()
        .any(|r| r[col("scanned_text")] == "FORGED,\"x\"\nsecond line"));
}

fn import(setup: &Setup, csv: &str) -> ImportInput {
    ImportInput {
        event_id: setup.event.id.to_string(),
        csv: csv.into(),
        ..Default::default()
    }
}

async fn import_preview_lists_problems_row_by_row_and_writes_nothing(f: Fixture) {
    let setup = f.event(100, 60).await;
    let before = f.snapshot().await;
    let csv = "order,buyer_name,email,ticket_type,quantity,notes\n\
               A1,Ann,ann@example.org,Standing,1,x\n\
               A2,Bob,not-an-email,Standing,1,\n\
               A3,Cy,cy@example.org,Balcony,1,\n\
               A4,Di,di@example.org,Seated,0,\n\
               A5,Ed,ed@example.org,Seated,2,\n";
    let p = f
        .admit
        .import_preview(&f.owner, &import(&setup, csv), f.now)
        .await
        .unwrap();
    let lines: Vec<(u64, Option<&str>)> = p
        .issues
        .iter()
        .map(|i| (i.line, i.column.as_deref()))
        .collect();
    assert_eq!(
        lines,
        [
            (3, Some("buyer_email")),
            (4, Some("ticket_type")),
            (5, Some("quantity"))
        ],
        "{:?}",
        p.issues
    );
    assert!(p.issues[1].message.contains("Balcony"));
    assert_eq!(p.ignored_columns, ["notes"]);
    assert_eq!(p.orders, 2, "the good rows are previewed");
    assert_eq!(p.tickets, 3);
    let err = f
        .admit
        .import_orders(&f.owner, &import(&setup, csv), f.now)
        .await
        .unwrap_err();
    assert!(
        matches!(&err, ApiError::Invalid { field, .. } if field == "csv line 3 buyer_email"),
        "{err:?}"
    );
    assert_eq!(
        f.snapshot().await,
        before,
        "a refused import writes nothing"
    );
    // Hostile input: no header we know, binary junk, a huge cell.
    for bad in ["", "price\n1\n", "\u{0}\u{1}\n\u{2}"] {
        let r = f
            .admit
            .import_preview(&f.owner, &import(&setup, bad), f.now)
            .await;
        assert!(matches!(r, Err(ApiError::Invalid { .. })), "{bad:?}: {r:?}");
    }
    let huge = format!("ticket_type,buyer_name\nStanding,{}\n", "x".repeat(5000));
    let p = f
        .admit
        .import_preview(&f.owner, &import(&setup, &huge), f.now)
        .await
        .unwrap();
    assert_eq!(p.issues.len(), 1);
    assert_eq!(f.snapshot().await, before);
}

async fn import_is_all_or_nothing_against_stock(f: Fixture) {
    // Standing has a quota of 5.
    let setup = f.event(100, 5).await;
    let before = f.snapshot().await;
    let mut csv = String::from("ticket_type,attendee\n");
    for i in 0..6 {
        csv.push_str(&format!("Standing,Guest {i}\n"));
    }
    let p = f
        .admit
        .import_preview(&f.owner, &import(&setup, &csv), f.now)
        .await
        .unwrap();
    assert_eq!(p.issues.len(), 1);
    assert!(p.issues[0].message.contains("5 left"), "{:?}", p.issues);
    assert!(f
        .admit
        .import_orders(&f.owner, &import(&setup, &csv), f.now)
        .await
        .is_err());
    assert_eq!(f.snapshot().await, before);

    // Stock taken between preview and import: the store refuses the whole batch.
    let csv5: String = csv.lines().take(6).map(|l| format!("{l}\n")).collect();
    let p = f
        .admit
        .import_preview(&f.owner, &import(&setup, &csv5), f.now)
        .await
        .unwrap();
    assert!(p.issues.is_empty(), "{:?}", p.issues);
    sell_named(&f, &setup, "Late", "cash").await;
    let mid = f.snapshot().await;
    let err = f
        .admit
        .import_orders(&f.owner, &import(&setup, &csv5), f.now)
        .await
        .unwrap_err();
    assert!(
        matches!(err, ApiError::SoldOut { .. } | ApiError::Invalid { .. }),
        "{err:?}"
    );
    assert_eq!(f.snapshot().await, mid);
    f.assert_stock_invariant().await;
}

async fn import_makes_orders_tickets_and_stock_moves(f: Fixture) {
    let setup = f.event(100, 60).await;
    let csv = "\u{feff}Order Ref;Name;E-mail;Ticket Type;Attendee;Payment;Ordered At\n";
    // Semicolons are not our separator: that file has one unknown column and no ticket type.
    assert!(f
        .admit
        .import_preview(&f.owner, &import(&setup, csv), f.now)
        .await
        .is_err());
    let csv = "\u{feff}Order Ref,Name,E-mail,Ticket Type,Attendee,Payment,Ordered At\n\
               W-1,\"Doe, Jane\",jane@example.org,Standing,Jane,card,2026-04-20T10:00:00Z\n\
               W-1,\"Doe, Jane\",jane@example.org,seated,\"Jim \"\"JJ\"\" Doe\",card,2026-04-20T10:00:00Z\n\
               W-2,Zoë,,Seated,,comp,\n";
    let p = f
        .admit
        .import_preview(&f.owner, &import(&setup, csv), f.now)
        .await
        .unwrap();
    assert!(p.issues.is_empty(), "{:?}", p.issues);
    assert_eq!((p.orders, p.tickets), (2, 3));
    assert_eq!(p.total[0].minor, 2000 + 3500, "comp is free");
    let r = f
        .admit
        .import_orders(&f.owner, &import(&setup, csv), f.now)
        .await
        .unwrap();
    assert_eq!((r.orders, r.tickets), (2, 3));
    let found = f
        .admit
        .search_orders(&f.owner, Some(&setup.event.id.to_string()), "Doe, Jane", 10)
        .await
        .unwrap();
    assert_eq!(found.len(), 1);
    let o = f
        .admit
        .get_order(&f.owner, &found[0].id.to_string())
        .await
        .unwrap();
    assert_eq!(o.tickets.len(), 2);
    assert_eq!(o.order.total.minor, 5500);
    assert_eq!(
        o.order.meta.created_at.to_rfc3339(),
        "2026-04-20T10:00:00+00:00"
    );
    let names: Vec<Option<&str>> = o
        .tickets
        .iter()
        .map(|t| t.attendee_name.as_ref().map(|n| n.as_str()))
        .collect();
    assert!(names.contains(&Some("Jim \"JJ\" Doe")));
    assert_eq!(
        f.scalar("select taken from quotas where name = 'Capacity'")
            .await,
        3
    );
    f.assert_stock_invariant().await;
    assert_eq!(
        f.scalar("select count(*) from audit_log where action = 'order.import'")
            .await,
        2
    );
}

async fn shift_report_counts_cash_card_and_refunds_per_cashier(f: Fixture) {
    let setup = f.event(100, 60).await;
    let clerk = f.user("clerk", "box_office").await;
    let a = &f.admit;
    let sell = |method: &'static str, n: i64| {
        let mut sale = setup.sale(&[(&setup.b, n)]);
        sale.payment_method = method.into();
        sale.card_confirmed = method == "card";
        if method == "comp" {
            sale.payment_note = Some("Staff guest".into());
        }
        sale
    };
    let c1 = a.sell(&clerk, &sell("cash", 2), f.now).await.unwrap(); // 70.00 cash
    a.sell(&clerk, &sell("card", 1), f.now).await.unwrap(); // 35.00 card
    a.sell(&clerk, &sell("comp", 1), f.now).await.unwrap(); // free
    a.sell(&f.owner, &sell("cash", 1), f.now).await.unwrap(); // someone else's drawer
                                                              // The clerk refunds one cash ticket (35.00) and cancels nothing else.
    a.cancel(
        &clerk,
        &CancelInput {
            order_id: c1.order.id.to_string(),
            ticket_ids: vec![c1.tickets[0].id.to_string()],
            refund: true,
        },
        f.at(5),
    )
    .await
    .unwrap();
    let r = a
        .shift_report(
            &f.owner,
            &ShiftReportInput {
                user_id: Some(clerk.user.id.to_string()),
                from: f.at(-60).to_rfc3339(),
                to: f.at(60).to_rfc3339(),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let line = |m: PaymentMethod| r.lines.iter().find(|l| l.method == m).unwrap();
    assert!(r.lines.iter().all(|l| l.user_id == clerk.user.id));
    assert_eq!(line(PaymentMethod::Cash).sales.minor, 7000);
    assert_eq!(line(PaymentMethod::Cash).refunded.minor, 3500);
    assert_eq!(line(PaymentMethod::Cash).tickets, 2);
    assert_eq!(line(PaymentMethod::Card).sales.minor, 3500);
    assert_eq!(line(PaymentMethod::Comp).sales.minor, 0);
    assert_eq!(line(PaymentMethod::Comp).tickets, 1);
    assert_eq!(r.drawers.len(), 1);
    assert_eq!(r.drawers[0].cash_expected.minor, 3500);
    assert_eq!(r.drawers[0].username, "clerk");

    // Everyone: the owner's cash sale joins the cash total.
    let all = a
        .shift_report(
            &f.owner,
            &ShiftReportInput {
                from: f.at(-60).to_rfc3339(),
                to: f.at(60).to_rfc3339(),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let cash = all
        .by_method
        .iter()
        .find(|m| m.method == PaymentMethod::Cash)
        .unwrap();
    assert_eq!(
        (cash.sales.minor, cash.refunded.minor, cash.net.minor),
        (10500, 3500, 7000)
    );
    assert_eq!(all.drawers.len(), 2);

    // A window before the sales is empty; a reversed window is refused.
    let empty = a
        .shift_report(
            &f.owner,
            &ShiftReportInput {
                from: f.at(-120).to_rfc3339(),
                to: f.at(-60).to_rfc3339(),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert!(empty.lines.is_empty() && empty.drawers.is_empty());
    assert!(matches!(
        a.shift_report(
            &f.owner,
            &ShiftReportInput {
                from: f.at(60).to_rfc3339(),
                to: f.at(-60).to_rfc3339(),
                ..Default::default()
            },
        )
        .await,
        Err(ApiError::Invalid { .. })
    ));
}

async fn box_office_sees_only_its_own_shift(f: Fixture) {
    let setup = f.event(100, 60).await;
    let clerk = f.user("clerk", "box_office").await;
    sell_named(&f, &setup, "Owner's buyer", "cash").await;
    let window = |user: Option<String>| ShiftReportInput {
        user_id: user,
        from: f.at(-60).to_rfc3339(),
        to: f.at(60).to_rfc3339(),
        ..Default::default()
    };
    let own = f.admit.shift_report(&clerk, &window(None)).await.unwrap();
    assert!(
        own.lines.is_empty(),
        "the owner's sale is not in the clerk's shift"
    );
    assert!(matches!(
        f.admit
            .shift_report(&clerk, &window(Some(f.owner.user.id.to_string())))
            .await,
        Err(ApiError::Forbidden { .. })
    ));
}

async fn charts_draw_for_empty_and_busy_events(f: Fixture) {
    let setup = f.event(100, 60).await;
    let input = |kind| ChartInput {
        event_id: setup.event.id.to_string(),
        kind,
        width: None,
        height: None,
        step: None,
        currency: None,
    };
    for kind in [ChartKind::Sales, ChartKind::Revenue, ChartKind::Door] {
        match f
            .admit
            .chart(&f.owner, &input(kind), ChartFormat::Svg)
            .await
        {
            Ok(ChartImage::Svg(svg)) => assert!(svg.contains("<svg"), "{kind:?}"),
            other => panic!("{kind:?}: {other:?}"),
        }
    }
    let o = sell_named(&f, &setup, "Ada", "cash").await;
    f.admit
        .cancel(
            &f.owner,
            &CancelInput {
                order_id: o.order.id.to_string(),
                refund: true,
                ..Default::default()
            },
            f.now,
        )
        .await
        .unwrap();
    sell_named(&f, &setup, "Bo", "card").await;
    match f
        .admit
        .chart_data(&f.owner, &input(ChartKind::Revenue))
        .await
        .unwrap()
    {
        ChartData::Revenue(c) => {
            let standing = c
                .by_ticket_type
                .iter()
                .find(|b| b.label == "Standing")
                .unwrap();
            assert_eq!(
                (standing.gross_minor, standing.refunded_minor),
                (4000, 2000)
            );
            let cash = c
                .by_payment_method
                .iter()
                .find(|b| b.label == "Cash")
                .unwrap();
            assert_eq!((cash.gross_minor, cash.refunded_minor), (2000, 2000));
        }
        other => panic!("{other:?}"),
    }
    match f
        .admit
        .chart_data(&f.owner, &input(ChartKind::Sales))
        .await
        .unwrap()
    {
        ChartData::Sales(c) => {
            let names: Vec<&str> = c.types.iter().map(|t| t.name.as_str()).collect();
            assert_eq!(names, ["Seated", "Standing"], "in the event's order");
            let standing = &c.types[1];
            let sold: u64 = standing.points.iter().map(|p| p.1).sum();
            assert_eq!(sold, 1, "the refunded ticket is no longer sold");
            assert_eq!(c.capacity, Some(100));
        }
        other => panic!("{other:?}"),
    }
    match f
        .admit
        .chart(&f.owner, &input(ChartKind::Sales), ChartFormat::Png)
        .await
    {
        Ok(ChartImage::Png(png)) => assert!(png.starts_with(b"\x89PNG")),
        other => panic!("{other:?}"),
    }
    let mut bad = input(ChartKind::Sales);
    bad.width = Some(100_000);
    assert!(matches!(
        f.admit.chart(&f.owner, &bad, ChartFormat::Svg).await,
        Err(ApiError::Invalid { .. })
    ));
    bad = input(ChartKind::Sales);
    bad.event_id = "not-an-id".into();
    assert!(matches!(
        f.admit.chart(&f.owner, &bad, ChartFormat::Svg).await,
        Err(ApiError::Invalid { .. })
    ));
}

async fn tickets_print_as_one_pdf(f: Fixture) {
    let setup = f.event(100, 60).await;
    let o = f
        .admit
        .sell(
            &f.owner,
            &setup.sale(&[(&setup.a, 2), (&setup.b, 1)]),
            f.now,
        )
        .await
        .unwrap();
    let pdf = f
        .admit
        .tickets_pdf(
            &f.owner,
            &TicketsPdfInput {
                order_id: Some(o.order.id.to_string()),
                ..Default::default()
            },
            f.now,
        )
        .await
        .unwrap();
    assert!(pdf.starts_with(b"%PDF-"));
    let text = String::from_utf8_lossy(&pdf);
    assert!(text.contains("/Count 3"), "one page per ticket");
    // Every ticket now has its secret, the same one the door checks.
    for t in &o.tickets {
        assert!(f
            .admit
            .ticket_secret(&f.owner, &t.id.to_string(), f.now)
            .await
            .is_ok());
    }
    let four = f
        .admit
        .tickets_pdf(
            &f.owner,
            &TicketsPdfInput {
                event_id: Some(setup.event.id.to_string()),
                layout: Some("four_per_a4".into()),
                ..Default::default()
            },
            f.now,
        )
        .await
        .unwrap();
    assert!(String::from_utf8_lossy(&four).contains("/Count 1"));
    assert!(matches!(
        f.admit
            .tickets_pdf(&f.owner, &TicketsPdfInput::default(), f.now)
            .await,
        Err(ApiError::Invalid { .. })
    ));
}

//! Bad input: refused as `invalid_input` naming the field, with status 1, writing nothing.

use crate::support::*;

on_both_backends!(bad_events_are_refused_whole, bad_sales_are_refused_whole);

/// `events create` with valid base arguments; `extra` adds options or replaces base ones.
fn create_event(db: &Db, extra: &[&str]) -> Run {
    let mut args = vec![
        "events",
        "create",
        "--name",
        "Bad Night",
        "--venue",
        "Cellar",
        "--starts",
        "2030-09-01T20:00:00Z",
        "--ends",
        "2030-09-01T23:00:00Z",
    ];
    let mut rest = extra;
    while let [flag, value, tail @ ..] = rest {
        let base = ["--name", "--venue", "--starts", "--ends"];
        match args.iter().position(|a| a == flag) {
            Some(i) if base.contains(flag) => args[i + 1] = value,
            _ => args.extend([*flag, *value]),
        }
        rest = tail;
    }
    args.extend(rest);
    db.owner().json().args(&args).run()
}

fn bad_events_are_refused_whole(db: &Db) {
    let gig = db.with_gig();
    let before = events(db);
    assert_eq!(before.len(), 1);

    let cases: &[(&[&str], &str)] = &[
        (&["--type", "Standing=-5"], "type[0]"),
        (&["--type", "Standing=12.345"], "type[0]"),
        (&["--type", "Standing"], "type[0]"),
        (&["--type", "=5"], "type[0]"),
        (&["--type", "A=5", "--type", "B=five"], "type[1]"),
        (&["--type", "A=5", "--type", "a=6"], "type[1]"),
        (&[], "type"),
        (&["--type", "A=5", "--currency", "EURO"], "currency"),
        (&["--type", "A=5", "--currency", "XYZ"], "currency"),
        (&["--type", "A=5", "--quota", "Q=5:B"], "quota[0]"),
        (&["--type", "A=5", "--quota", "Q=5"], "quota[0]"),
        (&["--type", "A=5", "--quota", "Q=lots:A"], "quota[0]"),
        (&["--type", "A=5", "--quota", "Q=-1:A"], "quota[0]"),
        (&["--type", "A=5", "--capacity", "-3"], "capacity"),
        (&["--type", "A=5", "--capacity", "20000000"], "capacity"),
        (&["--type", "A=5", "--capacity", "many"], "capacity"),
        (&["--type", "A=5", "--tz", "Mars/Olympus"], "time_zone"),
        (&["--type", "A=5", "--starts", "tomorrow"], "starts_at"),
        (
            &["--type", "A=5", "--ends", "2030-09-01T19:00:00Z"],
            "ends_at",
        ),
        (
            &["--type", "A=5", "--ends", "2030-09-01T20:00:00Z"],
            "ends_at",
        ),
        (&["--type", "A=5", "--name", " "], "name"),
    ];
    for (extra, field) in cases {
        let e = create_event(db, extra).failure("invalid_input");
        assert_eq!(e["field"], *field, "events create {extra:?}: {e}");
    }
    // Not a single draft, type or quota was left behind.
    assert_eq!(events(db), before);

    // The same event, corrected, goes through.
    let ok = create_event(db, &["--type", "A=5", "--capacity", "0", "--publish"])
        .success()
        .parsed();
    assert_eq!(ok["quotas"][0]["size"], 0);
    assert_eq!(events(db).len(), 2);
    let sold_out = str_of(&ok["event"]["id"]);
    db.owner()
        .json()
        .args(&["sell", "--event", &sold_out, "--line", "A=1"])
        .fails("sold_out");
    assert!(orders(db).is_empty());
    gig.assert_available(db, 10, 3);
}

fn bad_sales_are_refused_whole(db: &Db) {
    let gig = db.with_gig();
    let sell = |extra: &[&str]| {
        let mut args = vec!["sell", "--event", gig.event_id.as_str()];
        args.extend_from_slice(extra);
        db.owner().json().args(&args).run()
    };

    let cases: &[(&[&str], &str)] = &[
        (&["--line", "Standing"], "line[0]"),
        (&["--line", "Standing=two"], "line[0]"),
        (&["--line", "Standing=1.5"], "line[0]"),
        (&["--line", "Standing=1", "--line", "=2"], "line[1]"),
        (&["--line", "Standing=1", "--line", "Balcony=1"], "line[1]"),
        (&["--line", "Standing=0"], "lines[0].quantity"),
        (&["--line", "Standing=-1"], "lines[0].quantity"),
        (
            &[
                "--line",
                "Standing=1",
                "--attendee",
                "A B",
                "--attendee",
                "C D",
            ],
            "attendee",
        ),
        (
            &["--line", "Standing=1", "--buyer-email", "not-an-address"],
            "buyer_email",
        ),
        (
            &["--line", "Standing=1", "--payment", "iou"],
            "payment_method",
        ),
    ];
    for (extra, field) in cases {
        let e = sell(extra).failure("invalid_input");
        assert_eq!(e["field"], *field, "sell {extra:?}: {e}");
    }
    // A required option missing, with --json, is reported the same way.
    let e = db
        .owner()
        .json()
        .args(&["sell", "--event", &gig.event_id])
        .fails("invalid_input");
    assert_eq!(e["field"], "line", "{e}");

    // Events that are not there.
    let e = db
        .owner()
        .json()
        .args(&["sell", "--event", "not-an-id", "--line", "Standing=1"])
        .fails("invalid_input");
    assert_eq!(e["field"], "event_id");
    let unknown = "01a1fc7d-f733-7828-b7e0-236c01e8fb1b";
    let e = db
        .owner()
        .json()
        .args(&["sell", "--event", unknown, "--line", "Standing=1"])
        .fails("not_found");
    assert!(e["message"].as_str().unwrap().contains("event"), "{e}");

    assert!(orders(db).is_empty(), "no bad sale wrote an order");
    gig.assert_available(db, 10, 3);

    // The one good sale after all that.
    let sold = sell(&["--line", "Standing=1", "--attendee", "A B"])
        .success()
        .parsed();
    assert_eq!(sold["tickets"][0]["attendee_name"], "A B");
    assert_eq!(orders(db).len(), 1);
    gig.assert_available(db, 9, 3);
}

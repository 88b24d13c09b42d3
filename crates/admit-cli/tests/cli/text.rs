//! Without `--json`, output is for people.

use crate::support::*;

on_both_backends!(text_output_is_readable);

fn text(run: Run) -> String {
    let run = run.success();
    assert!(
        serde_json::from_str::<serde_json::Value>(&run.stdout).is_err(),
        "`{}` printed JSON without --json: {}",
        run.command,
        run.stdout
    );
    run.stdout
}

fn text_output_is_readable(db: &Db) {
    let migrated = text(db.admit().args(&["migrate"]).run());
    assert!(migrated.contains("is up to date ("), "{migrated}");
    let init = text(
        db.admit()
            .env("ADMIT_PASSWORD", OWNER_PASSWORD)
            .args(&["init", "--username", OWNER])
            .run(),
    );
    assert_eq!(init.trim(), format!("owner {OWNER} created"));
    let gig = Gig::create(db);

    let listed = text(db.owner().args(&["events", "list"]).run());
    let line = listed
        .lines()
        .find(|l| l.contains(GIG_NAME))
        .unwrap_or_else(|| panic!("{GIG_NAME} not listed: {listed}"));
    assert!(line.starts_with(&gig.event_id), "{line}");
    assert!(line.contains("2030-06-01 17:30 UTC"), "{line}");
    assert!(line.contains("published"), "{line}");

    let av = text(db.owner().args(&["availability", &gig.event_id]).run());
    let lines: Vec<&str> = av.lines().collect();
    assert_eq!(lines.len(), 2, "{av}");
    for (line, (name, price, left)) in lines.iter().zip([
        ("Standing", "25.00 EUR", "10 left"),
        ("Seated", "45.50 EUR", "3 left"),
    ]) {
        assert!(line.starts_with(name), "{line}");
        assert!(line.contains(price) && line.ends_with(left), "{line}");
    }

    let sold = text(
        db.owner()
            .args(&[
                "sell",
                "--event",
                &gig.event_id,
                "--line",
                "Standing=2",
                "--line",
                "Seated=1",
                "--attendee",
                "Zoë Müller",
                "--buyer-name",
                "Zoë Müller",
            ])
            .run(),
    );
    // "order ABC2345: 3 tickets, 95.50 EUR"
    let sold = sold.trim();
    let code = sold
        .strip_prefix("order ")
        .and_then(|r| r.split(':').next())
        .unwrap_or_else(|| panic!("{sold}"))
        .to_string();
    assert_eq!(code.len(), 7, "{sold}");
    assert!(sold.ends_with(": 3 tickets, 95.50 EUR"), "{sold}");

    let shown = text(db.owner().args(&["orders", "show", &code]).run());
    assert!(
        shown.starts_with(&format!("order {code}  paid  95.50 EUR")),
        "{shown}"
    );
    assert_eq!(shown.lines().count(), 4, "{shown}");
    assert!(shown.contains("Zoë Müller"), "{shown}");

    let orders = text(db.owner().args(&["orders", "list"]).run());
    let line = orders.lines().next().unwrap_or_default();
    assert!(line.starts_with(&code), "{orders}");
    assert!(
        line.contains("paid") && line.contains("95.50 EUR"),
        "{line}"
    );
    assert!(line.ends_with("Zoë Müller"), "{line}");

    let cancelled = text(db.owner().args(&["cancel", &code, "--refund"]).run());
    assert_eq!(
        cancelled.trim(),
        format!("order {code} is refunded, total now 0.00 EUR")
    );

    // Errors go to stderr as one line with their code, and still exit with status 1.
    let refused = db
        .owner()
        .args(&["sell", "--event", &gig.event_id, "--line", "Seated=4"])
        .run();
    assert_eq!(refused.status, Some(1), "{refused:?}");
    assert!(refused.stdout.is_empty(), "{refused:?}");
    assert!(
        refused.stderr.contains("error (sold_out): sold out"),
        "{refused:?}"
    );
    // A usage mistake without --json gets clap's usage help.
    let usage = db.owner().args(&["sell", "--event", &gig.event_id]).run();
    assert_eq!(usage.status, Some(2), "{usage:?}");
    assert!(usage.stderr.contains("--line"), "{usage:?}");
}

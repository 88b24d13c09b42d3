//! The door end to end through the use cases: secrets, lists, redeem, offline doors.

use std::sync::Arc;

use admit_api::*;
use admit_core::checkin::Verdict;

use crate::both_backends;
use crate::fixture::{Fixture, Setup};

both_backends!(
    scan_flow_ok_repeat_forged_cancelled,
    nonces_exits_reentry_and_forced_scans,
    two_doors_one_ticket_exactly_one_ok,
    offline_door_decides_from_the_package,
    reissue_rotate_retire_and_block,
    bad_scan_input,
    first_tickets_printed_at_once_all_verify,
);

struct Door {
    setup: Setup,
    list: String,
    tickets: Vec<(String, String)>,
    order_id: String,
}

/// An event, an order of two tickets with printed secrets, and a single-entry list.
async fn door(f: &Fixture, list: CheckinListInput) -> Door {
    let setup = f.event(100, 100).await;
    let mut sale = setup.sale(&[(&setup.a, 2)]);
    sale.lines[0].attendee_names = vec!["Ada Lovelace".into(), "Grace Hopper".into()];
    let o = f.admit.sell(&f.owner, &sale, f.now).await.unwrap();
    let mut tickets = Vec::new();
    for t in &o.tickets {
        let s = f
            .admit
            .ticket_secret(&f.owner, &t.id.to_string(), f.now)
            .await
            .unwrap();
        tickets.push((t.id.to_string(), s.secret));
    }
    let list = f
        .admit
        .create_checkin_list(
            &f.owner,
            &CheckinListInput {
                event_id: setup.event.id.to_string(),
                ..list
            },
            f.now,
        )
        .await
        .unwrap();
    Door {
        setup,
        list: list.id.to_string(),
        tickets,
        order_id: o.order.id.to_string(),
    }
}

fn main_list() -> CheckinListInput {
    CheckinListInput {
        name: "Main entrance".into(),
        gates: vec!["North".into(), "South".into()],
        ..Default::default()
    }
}

fn scan(list: &str, raw: &str, nonce: &str, gate: &str, minutes: i64) -> RedeemInput {
    RedeemInput {
        raw: raw.into(),
        list_id: list.into(),
        direction: None,
        gate: Some(gate.into()),
        nonce: nonce.into(),
        at: Some((crate::fixture::t0() + chrono::Duration::minutes(minutes)).to_rfc3339()),
        force: false,
    }
}

async fn scan_flow_ok_repeat_forged_cancelled(f: Fixture) {
    let d = door(&f, main_list()).await;
    let doorman = f.user("doorman", "door").await;
    let a = &f.admit;
    // The same secret is printed every time.
    let again = a
        .ticket_secret(&f.owner, &d.tickets[0].0, f.at(5))
        .await
        .unwrap();
    assert_eq!(again.secret, d.tickets[0].1);

    let ok = a
        .redeem(
            &doorman,
            &scan(&d.list, &d.tickets[0].1, "n1", "North", 60),
            f.at(60),
        )
        .await
        .unwrap();
    assert_eq!(ok.verdict, Verdict::Ok, "{ok:?}");
    assert_eq!(ok.attendee_name.as_deref(), Some("Ada Lovelace"));
    assert_eq!(ok.ticket_type.as_deref(), Some("Standing"));
    assert!(ok.order_code.is_some());

    let repeat = a
        .redeem(
            &doorman,
            &scan(&d.list, &d.tickets[0].1, "n2", "South", 70),
            f.at(70),
        )
        .await
        .unwrap();
    assert_eq!(repeat.verdict, Verdict::AlreadyRedeemed);
    let first = repeat.earlier_entry.expect("the first entry is shown");
    assert_eq!(first.at, f.at(60));
    assert_eq!(first.gate.as_deref(), Some("North"));

    // A forged code: a real secret with one character changed.
    let mut forged = d.tickets[1].1.clone().into_bytes();
    let i = forged.len() - 10;
    forged[i] = if forged[i] == b'A' { b'B' } else { b'A' };
    let forged = String::from_utf8(forged).unwrap();
    let bad = a
        .redeem(
            &doorman,
            &scan(&d.list, &forged, "n3", "North", 71),
            f.at(71),
        )
        .await
        .unwrap();
    assert_eq!(bad.verdict, Verdict::Invalid);
    assert!(!bad.ok);

    // Cancel the other ticket: at a door with the row it is `canceled`.
    a.cancel(
        &f.owner,
        &CancelInput {
            order_id: d.order_id.clone(),
            ticket_ids: vec![d.tickets[1].0.clone()],
            refund: false,
        },
        f.at(72),
    )
    .await
    .unwrap();
    let cancelled = a
        .redeem(
            &doorman,
            &scan(&d.list, &d.tickets[1].1, "n4", "North", 73),
            f.at(73),
        )
        .await
        .unwrap();
    assert_eq!(cancelled.verdict, Verdict::Canceled, "{cancelled:?}");
    // Its secret went on the revocation list with the cancellation.
    let pkg = a
        .export_door_package(&f.owner, &d.setup.event.id.to_string())
        .await
        .unwrap();
    assert_eq!(pkg.revocations.len(), 1);

    // Every scan is a recorded fact, refused ones with what was scanned.
    let scans = a.list_scans(&f.owner, &d.list, None, 100).await.unwrap();
    assert_eq!(scans.len(), 4);
    let forged_row = scans
        .iter()
        .find(|s| s.verdict == Verdict::Invalid)
        .unwrap();
    assert_eq!(forged_row.raw.as_deref(), Some(forged.as_str()));
    assert!(scans
        .iter()
        .filter(|s| s.verdict == Verdict::Ok)
        .all(|s| s.raw.is_none()));
    let counts = a.checkin_counts(&doorman, &d.list).await.unwrap();
    assert_eq!((counts.admitted, counts.inside), (1, 1));
    // Scans are queued for sync.
    assert_eq!(
        f.scalar("select count(*) from outbox where entity = 'scan'")
            .await,
        4
    );
    // Door staff cannot print tickets.
    assert!(matches!(
        a.ticket_secret(&doorman, &d.tickets[0].0, f.now).await,
        Err(ApiError::Forbidden { .. })
    ));
}

async fn nonces_exits_reentry_and_forced_scans(f: Fixture) {
    let d = door(
        &f,
        CheckinListInput {
            allow_entry_after_exit: true,
            ..main_list()
        },
    )
    .await;
    let a = &f.admit;
    let s = &f.owner;
    let t = &d.tickets[0].1;
    let first = a
        .redeem(s, &scan(&d.list, t, "same", "North", 10), f.at(10))
        .await
        .unwrap();
    let dup = a
        .redeem(s, &scan(&d.list, t, "same", "North", 10), f.at(11))
        .await
        .unwrap();
    assert!(dup.duplicate && !first.duplicate);
    assert_eq!(dup.scan_id, first.scan_id);
    assert_eq!(dup.verdict, Verdict::Ok, "the repeat answers the same");
    assert_eq!(
        f.scalar("select count(*) from scans where nonce = 'same'")
            .await,
        1
    );

    let exit = |nonce: &str, m| RedeemInput {
        direction: Some("exit".into()),
        ..scan(&d.list, t, nonce, "North", m)
    };
    assert_eq!(
        a.redeem(s, &exit("x1", 20), f.at(20))
            .await
            .unwrap()
            .verdict,
        Verdict::Ok
    );
    assert_eq!(a.checkin_counts(s, &d.list).await.unwrap().inside, 0);
    // Exit again: exits never use a ticket up.
    assert_eq!(
        a.redeem(s, &exit("x2", 21), f.at(21))
            .await
            .unwrap()
            .verdict,
        Verdict::Ok
    );
    // Re-entry is allowed on this list.
    assert_eq!(
        a.redeem(s, &scan(&d.list, t, "e2", "South", 30), f.at(30))
            .await
            .unwrap()
            .verdict,
        Verdict::Ok
    );
    assert_eq!(
        a.checkin_counts(s, &d.list).await.unwrap(),
        CheckinCounts {
            admitted: 1,
            inside: 1
        }
    );

    // On a strict list, entry after exit is refused; forced, it is recorded and flagged.
    let strict = a
        .create_checkin_list(
            s,
            &CheckinListInput {
                event_id: d.setup.event.id.to_string(),
                name: "Strict".into(),
                ..Default::default()
            },
            f.now,
        )
        .await
        .unwrap()
        .id
        .to_string();
    let t2 = &d.tickets[1].1;
    let strict_scan = |nonce: &str, m, dir: &str| RedeemInput {
        gate: None,
        direction: Some(dir.into()),
        ..scan(&strict, t2, nonce, "", m)
    };
    assert_eq!(
        a.redeem(s, &strict_scan("s1", 10, "entry"), f.at(10))
            .await
            .unwrap()
            .verdict,
        Verdict::Ok
    );
    assert_eq!(
        a.redeem(s, &strict_scan("s2", 20, "exit"), f.at(20))
            .await
            .unwrap()
            .verdict,
        Verdict::Ok
    );
    let refused = a
        .redeem(s, &strict_scan("s3", 30, "entry"), f.at(30))
        .await
        .unwrap();
    assert_eq!(refused.verdict, Verdict::AlreadyRedeemed);
    let forced = a
        .redeem(
            s,
            &RedeemInput {
                force: true,
                ..strict_scan("s4", 31, "entry")
            },
            f.at(40),
        )
        .await
        .unwrap();
    assert!(forced.forced);
    assert_eq!(
        forced.verdict,
        Verdict::AlreadyRedeemed,
        "a forced scan keeps the reason it would have had"
    );
    let rows = a.list_scans(s, &strict, None, 10).await.unwrap();
    let row = rows.iter().find(|r| r.nonce == "s4").unwrap();
    assert!(row.forced && row.counted);
    // An offline scan uploaded late is placed by its scan time: an entry at minute 15 (before
    // the exit at 20) makes the ticket count as having been inside, not a new entry now.
    let late = a
        .redeem(s, &strict_scan("s5", 15, "entry"), f.at(50))
        .await
        .unwrap();
    assert_eq!(late.verdict, Verdict::AlreadyRedeemed);
}

async fn two_doors_one_ticket_exactly_one_ok(f: Fixture) {
    let d = door(&f, main_list()).await;
    let secret = Arc::new(d.tickets[0].1.clone());
    let mut tasks = Vec::new();
    for i in 0..40 {
        let (admit, s, list, secret) = (
            f.admit.clone(),
            f.owner.clone(),
            d.list.clone(),
            secret.clone(),
        );
        tasks.push(tokio::spawn(async move {
            let gate = if i % 2 == 0 { "North" } else { "South" };
            admit
                .redeem(
                    &s,
                    &scan(&list, &secret, &format!("race-{i}"), gate, 60),
                    crate::fixture::t0(),
                )
                .await
        }));
    }
    let mut ok = 0;
    for t in tasks {
        let r = t.await.unwrap().unwrap();
        match r.verdict {
            Verdict::Ok => ok += 1,
            Verdict::AlreadyRedeemed => {}
            v => panic!("unexpected verdict {v:?}"),
        }
    }
    assert_eq!(ok, 1, "exactly one door admits a single-entry ticket");
    assert_eq!(
        f.scalar("select count(*) from scans where counted").await,
        1
    );
}

async fn offline_door_decides_from_the_package(f: Fixture) {
    let d = door(&f, main_list()).await;
    let a = &f.admit;
    // Cancel one ticket and block nothing yet; then export the package.
    a.cancel(
        &f.owner,
        &CancelInput {
            order_id: d.order_id.clone(),
            ticket_ids: vec![d.tickets[1].0.clone()],
            refund: false,
        },
        f.at(1),
    )
    .await
    .unwrap();
    let pkg = a
        .export_door_package(&f.owner, &d.setup.event.id.to_string())
        .await
        .unwrap();
    // The package travels as JSON and carries no signing key.
    let json = serde_json::to_string(&pkg).unwrap();
    assert!(!json.contains("secret_key"));
    let pkg: DoorPackage = serde_json::from_str(&json).unwrap();

    // A separate door device: its own store, its own owner, no ticket rows at all.
    let (door_admit, _db) = f.fresh().await;
    let keeper = door_admit
        .create_first_owner(
            &NewUserInput {
                username: "kiosk".into(),
                display_name: String::new(),
                password: crate::fixture::PASSWORD.into(),
                role: String::new(),
            },
            None,
            f.now,
        )
        .await
        .unwrap();
    door_admit
        .import_door_package(&keeper, &pkg, f.at(2))
        .await
        .unwrap();
    // Importing twice changes nothing.
    door_admit
        .import_door_package(&keeper, &pkg, f.at(3))
        .await
        .unwrap();
    let ok = door_admit
        .redeem(
            &keeper,
            &scan(&d.list, &d.tickets[0].1, "o1", "North", 60),
            f.at(60),
        )
        .await
        .unwrap();
    assert_eq!(ok.verdict, Verdict::Ok, "{ok:?}");
    assert_eq!(
        ok.ticket_id.map(|t| t.to_string()),
        Some(d.tickets[0].0.clone())
    );
    assert_eq!(
        ok.order_code, None,
        "the door has no row, only the signed ticket"
    );
    let again = door_admit
        .redeem(
            &keeper,
            &scan(&d.list, &d.tickets[0].1, "o2", "North", 61),
            f.at(61),
        )
        .await
        .unwrap();
    assert_eq!(again.verdict, Verdict::AlreadyRedeemed);
    let revoked = door_admit
        .redeem(
            &keeper,
            &scan(&d.list, &d.tickets[1].1, "o3", "North", 62),
            f.at(62),
        )
        .await
        .unwrap();
    assert_eq!(revoked.verdict, Verdict::Revoked);
    // The scans wait in the door's outbox for upload.
    let outbox = door_admit.store().list_outbox(0, 100).await.unwrap();
    assert_eq!(outbox.iter().filter(|(_, o)| o.entity == "scan").count(), 3);
}

async fn reissue_rotate_retire_and_block(f: Fixture) {
    let d = door(
        &f,
        CheckinListInput {
            allow_multi_entry: true,
            ..main_list()
        },
    )
    .await;
    let a = &f.admit;
    let s = &f.owner;
    let old = d.tickets[0].1.clone();
    let new = a
        .reissue_ticket_secret(s, &d.tickets[0].0, f.at(1))
        .await
        .unwrap();
    assert_ne!(new.secret, old);
    assert_eq!(
        a.redeem(s, &scan(&d.list, &old, "r1", "North", 10), f.at(10))
            .await
            .unwrap()
            .verdict,
        Verdict::Revoked
    );
    assert_eq!(
        a.redeem(s, &scan(&d.list, &new.secret, "r2", "North", 11), f.at(11))
            .await
            .unwrap()
            .verdict,
        Verdict::Ok
    );

    // Rotation: new tickets use the new key, old ones stay valid until their key retires.
    let ev = d.setup.event.id.to_string();
    let rotated = a.rotate_event_key(s, &ev, f.at(12)).await.unwrap();
    let o = a
        .sell(s, &d.setup.sale(&[(&d.setup.b, 1)]), f.at(12))
        .await
        .unwrap();
    let fresh = a
        .ticket_secret(s, &o.tickets[0].id.to_string(), f.at(12))
        .await
        .unwrap();
    assert_eq!(fresh.key_id, rotated.key_id);
    let t2 = &d.tickets[1].1;
    assert_eq!(
        a.redeem(s, &scan(&d.list, t2, "r3", "North", 13), f.at(13))
            .await
            .unwrap()
            .verdict,
        Verdict::Ok
    );
    a.retire_event_key(s, &ev, new.key_id.0, f.at(14))
        .await
        .unwrap();
    assert_eq!(
        a.redeem(s, &scan(&d.list, t2, "r4", "North", 15), f.at(15))
            .await
            .unwrap()
            .verdict,
        Verdict::Invalid
    );
    assert_eq!(
        a.redeem(
            s,
            &scan(&d.list, &fresh.secret, "r5", "North", 15),
            f.at(15)
        )
        .await
        .unwrap()
        .verdict,
        Verdict::Ok
    );

    // Block and unblock.
    let tid = o.tickets[0].id.to_string();
    a.set_ticket_blocked(s, &tid, true, "reported stolen", f.at(16))
        .await
        .unwrap();
    assert_eq!(
        a.redeem(
            s,
            &scan(&d.list, &fresh.secret, "r6", "North", 17),
            f.at(17)
        )
        .await
        .unwrap()
        .verdict,
        Verdict::Blocked
    );
    a.set_ticket_blocked(s, &tid, false, "", f.at(18))
        .await
        .unwrap();
    assert_eq!(
        a.redeem(
            s,
            &scan(&d.list, &fresh.secret, "r7", "North", 19),
            f.at(19)
        )
        .await
        .unwrap()
        .verdict,
        Verdict::Ok
    );
    // A list for Seated only refuses a Standing ticket as `product`.
    let seated = a
        .create_checkin_list(
            s,
            &CheckinListInput {
                event_id: ev.clone(),
                name: "Balcony".into(),
                ticket_type_ids: vec![d.setup.b.id.to_string()],
                ..Default::default()
            },
            f.now,
        )
        .await
        .unwrap();
    let standing = a
        .sell(s, &d.setup.sale(&[(&d.setup.a, 1)]), f.at(20))
        .await
        .unwrap();
    let standing = a
        .ticket_secret(s, &standing.tickets[0].id.to_string(), f.at(20))
        .await
        .unwrap();
    let r = a
        .redeem(
            s,
            &scan(&seated.id.to_string(), &standing.secret, "r8", "North", 20),
            f.at(20),
        )
        .await
        .unwrap();
    assert_eq!(r.verdict, Verdict::Product);
}

async fn bad_scan_input(f: Fixture) {
    let d = door(&f, main_list()).await;
    let a = &f.admit;
    let s = &f.owner;
    let before = f.count("scans").await;
    for (input, field) in [
        (
            RedeemInput {
                list_id: "nope".into(),
                ..scan(&d.list, "x", "b1", "North", 1)
            },
            "list_id",
        ),
        (
            RedeemInput {
                list_id: uuid::Uuid::now_v7().to_string(),
                ..scan(&d.list, "x", "b1", "North", 1)
            },
            "list_id",
        ),
        (
            RedeemInput {
                nonce: "".into(),
                ..scan(&d.list, "x", "b1", "North", 1)
            },
            "nonce",
        ),
        (
            RedeemInput {
                nonce: "n".repeat(101),
                ..scan(&d.list, "x", "b1", "North", 1)
            },
            "nonce",
        ),
        (
            RedeemInput {
                direction: Some("sideways".into()),
                ..scan(&d.list, "x", "b1", "North", 1)
            },
            "direction",
        ),
        (
            RedeemInput {
                at: Some("yesterday".into()),
                ..scan(&d.list, "x", "b1", "North", 1)
            },
            "at",
        ),
    ] {
        match a.redeem(s, &input, f.now).await {
            Err(ApiError::Invalid { field: got, .. }) => assert_eq!(got, field),
            other => panic!("expected invalid {field}: {other:?}"),
        }
    }
    assert_eq!(
        f.count("scans").await,
        before,
        "refused input records nothing"
    );
    // Hostile scanned text is a scan with the verdict invalid, kept bounded.
    let huge = "Ä".repeat(1 << 19);
    for (i, raw) in [
        "",
        "AT1:",
        "'; drop table scans; --",
        "\u{0}\u{1}\u{2}",
        huge.as_str(),
    ]
    .iter()
    .enumerate()
    {
        let r = a
            .redeem(s, &scan(&d.list, raw, &format!("h{i}"), "North", 1), f.now)
            .await
            .unwrap();
        assert_eq!(r.verdict, Verdict::Invalid);
    }
    let longest = f.scalar("select max(length(raw)) from scans").await;
    assert!(longest <= 512, "raw text is bounded: {longest}");
    // Bad list settings name the field.
    let bad_list = a
        .create_checkin_list(
            s,
            &CheckinListInput {
                event_id: d.setup.event.id.to_string(),
                name: "X".into(),
                max_entries_total: Some(0),
                ..Default::default()
            },
            f.now,
        )
        .await;
    assert!(
        matches!(bad_list, Err(ApiError::Invalid { field, .. }) if field == "max_entries_total")
    );
}

/// Many cashiers print the first tickets of a new event at the same moment: whichever key the
/// store kept, every printed ticket must scan.
async fn first_tickets_printed_at_once_all_verify(f: Fixture) {
    let setup = f.event(100, 100).await;
    let o = f
        .admit
        .sell(&f.owner, &setup.sale(&[(&setup.a, 10)]), f.now)
        .await
        .unwrap();
    let mut tasks = Vec::new();
    for t in &o.tickets {
        let (admit, s, id) = (f.admit.clone(), f.owner.clone(), t.id.to_string());
        tasks.push(tokio::spawn(async move {
            admit.ticket_secret(&s, &id, crate::fixture::t0()).await
        }));
    }
    let mut secrets = Vec::new();
    for t in tasks {
        secrets.push(t.await.unwrap().unwrap().secret);
    }
    let keyring = f
        .admit
        .event_keyring(&f.owner, &setup.event.id.to_string())
        .await
        .unwrap();
    assert_eq!(keyring.keys().len(), 1, "one key for the event");
    for s in &secrets {
        assert!(
            keyring.verify(s).is_ok(),
            "a printed ticket does not verify"
        );
    }
}

//! Scans recorded together (`Store::redeem_many`, the bulk path of a sync upload) must come out
//! exactly as scans recorded one by one (`Store::redeem`): the same context read, the same
//! verdicts, the same rows and change feed, a repeated nonce answered from the first scan.

use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};
use serde_json::json;
use uuid::Uuid;

use admit_api::*;
use admit_core::audit::{Change, OutboxEntry};
use admit_core::checkin::{Direction, Verdict};
use admit_core::{CheckinListId, ScanId, TicketId};
use admit_store::{
    Block, Decide, Revocation, ScanAttempt, ScanContext, ScanRecord, ScanResolution, UploadOutcome,
};

use crate::both_backends;
use crate::fixture::Fixture;

/// A decision that shows everything it was given in its answer, so two paths that read a
/// different context give different answers.
fn telling() -> Decide {
    Arc::new(|ctx: &ScanContext| {
        let verdict = if ctx.blocked {
            Verdict::Blocked
        } else if ctx.revoked {
            Verdict::Revoked
        } else if ctx.ticket.is_none() {
            Verdict::Invalid
        } else if !ctx.history.is_empty() {
            Verdict::AlreadyRedeemed
        } else {
            Verdict::Ok
        };
        let history: Vec<_> = ctx
            .history
            .iter()
            .map(|p| json!([p.at.to_rfc3339(), p.direction.as_str(), p.gate]))
            .collect();
        let explanation = format!("{} earlier", history.len());
        ScanResolution {
            verdict,
            explanation: explanation.clone(),
            counted: verdict == Verdict::Ok,
            forced: false,
            answer: json!({
                "verdict": verdict,
                "explanation": explanation,
                "ticket": ctx.ticket.as_ref().map(|t| (&t.order_code, &t.ticket_type_name)),
                "revoked": ctx.revoked,
                "blocked": ctx.blocked,
                "history": history,
            }),
        }
    })
}

struct Scene {
    /// The tickets of the scans, in order: fresh, with history, blocked, revoked, unknown,
    /// none (a secret that did not verify), with history (scanned out).
    tickets: Vec<Option<TicketId>>,
    fingerprints: Vec<Option<admit_core::secret::SecretFingerprint>>,
    directions: Vec<Direction>,
}

fn attempt(
    list: CheckinListId,
    event: admit_core::EventId,
    scene: &Scene,
    i: usize,
    tag: &str,
    at: DateTime<Utc>,
) -> ScanAttempt {
    ScanAttempt {
        id: ScanId(Uuid::now_v7()),
        nonce: format!("{tag}-{i}"),
        list_id: list,
        event_id: event,
        ticket_id: scene.tickets[i],
        fingerprint: scene.fingerprints[i],
        direction: scene.directions[i],
        device_id: None,
        gate: Some(format!("gate {i}")),
        user_id: None,
        at: at + Duration::seconds(i as i64),
        recorded_at: at + Duration::minutes(1),
        raw: Some(format!("raw {i}")),
    }
}

/// A record without what differs between the two lists by construction.
fn comparable(r: &ScanRecord) -> serde_json::Value {
    json!([
        r.ticket_id,
        r.direction,
        r.gate,
        r.at,
        r.verdict,
        r.counted,
        r.forced,
        r.raw
    ])
}

async fn redeem_many_records_what_redeem_records_one_by_one(f: Fixture) {
    let setup = f.event(100, 100).await;
    let (a, s, now) = (&f.admit, &f.owner, f.now);
    let store = a.store();
    let order = a.sell(s, &setup.sale(&[(&setup.a, 5)]), now).await.unwrap();
    let mut secrets = Vec::new();
    for t in &order.tickets {
        secrets.push(a.ticket_secret(s, &t.id.to_string(), now).await.unwrap());
    }
    let mut lists = Vec::new();
    for name in ["Together", "One by one"] {
        let l = a
            .create_checkin_list(
                s,
                &CheckinListInput {
                    event_id: setup.event.id.to_string(),
                    name: name.into(),
                    ..Default::default()
                },
                now,
            )
            .await
            .unwrap();
        lists.push(l.id);
    }
    let event = setup.event.id;
    let t = |i: usize| Some(order.tickets[i].id);
    let fp = |i: usize| Some(secrets[i].fingerprint);
    store
        .set_block(
            event,
            order.tickets[2].id,
            Some(&Block {
                event_id: event,
                ticket_id: order.tickets[2].id,
                reason: "lost".into(),
                at: now,
            }),
            &Change::default(),
        )
        .await
        .unwrap();
    store
        .add_revocations(
            &[Revocation {
                event_id: event,
                fingerprint: secrets[3].fingerprint,
                ticket_id: order.tickets[3].id,
                reason: "reissued".into(),
                at: now,
            }],
            &Change::default(),
        )
        .await
        .unwrap();
    let scene = Scene {
        tickets: vec![
            t(0),
            t(1),
            t(2),
            t(3),
            Some(TicketId(Uuid::now_v7())),
            None,
            t(4),
        ],
        fingerprints: vec![fp(0), fp(1), fp(2), fp(3), None, None, fp(4)],
        directions: vec![
            Direction::Entry,
            Direction::Entry,
            Direction::Entry,
            Direction::Entry,
            Direction::Entry,
            Direction::Entry,
            Direction::Exit,
        ],
    };
    // History on both lists: tickets 1 and 4 came in earlier; a refused scan of ticket 0
    // (a revoked secret) does not count. And one nonce of each list is taken already.
    let earlier = now - Duration::hours(1);
    for (tag, list) in [("many", lists[0]), ("one", lists[1])] {
        for i in [1usize, 6] {
            let mut a = attempt(list, event, &scene, i, &format!("{tag}-before"), earlier);
            a.direction = Direction::Entry;
            store.redeem(&a, telling()).await.unwrap();
        }
        let mut refused = attempt(list, event, &scene, 2, &format!("{tag}-before"), earlier);
        refused.ticket_id = t(0);
        refused.fingerprint = fp(3);
        store.redeem(&refused, telling()).await.unwrap();
        // "many-0" and "one-0" stand for a scan uploaded before: its first answer stands.
        let mut first = attempt(list, event, &scene, 0, tag, earlier);
        first.ticket_id = t(2);
        first.fingerprint = fp(2);
        store.redeem(&first, telling()).await.unwrap();
    }

    let at = now;
    let many: Vec<(ScanAttempt, Decide)> = (0..scene.tickets.len())
        .map(|i| (attempt(lists[0], event, &scene, i, "many", at), telling()))
        .collect();
    let together = store.redeem_many(&many).await.unwrap();
    let mut one_by_one = Vec::new();
    for i in 0..scene.tickets.len() {
        let a = attempt(lists[1], event, &scene, i, "one", at);
        one_by_one.push(store.redeem(&a, telling()).await.unwrap());
    }
    assert_eq!(together, one_by_one);

    // What each scan saw, said plainly.
    let answer = |i: usize| &together[i].answer;
    assert!(together[0].duplicate, "a nonce recorded before");
    assert_eq!(answer(0)["blocked"], json!(true), "the first answer stands");
    assert!(together[1..].iter().all(|o| !o.duplicate));
    assert_eq!(answer(1)["verdict"], json!("already_redeemed"));
    assert_eq!(answer(1)["history"].as_array().unwrap().len(), 1);
    assert_eq!(answer(2)["verdict"], json!("blocked"));
    assert_eq!(answer(3)["verdict"], json!("revoked"));
    assert_eq!(answer(4)["ticket"], json!(null));
    assert_eq!(answer(5)["verdict"], json!("invalid"));
    assert_eq!(answer(6)["history"].as_array().unwrap().len(), 1);
    assert_eq!(
        answer(1)["ticket"],
        json!([order.order.code.as_str(), setup.a.name.as_str()])
    );

    // The same rows on both lists, and the same change feed entries.
    let mut rows = Vec::new();
    for list in &lists {
        let mut r: Vec<_> = store
            .list_scans(*list, None, 100)
            .await
            .unwrap()
            .iter()
            .map(comparable)
            .collect();
        r.sort_by_key(|v| v.to_string());
        rows.push(r);
    }
    assert_eq!(rows[0], rows[1]);
    assert_eq!(rows[0].len(), 10, "4 before, 1 duplicate, 6 new");
    let feed = store.changes_since("", 1000).await.unwrap().changes;
    for list in &lists {
        let recorded = store.list_scans(*list, None, 100).await.unwrap();
        for r in &recorded {
            let queued: Vec<&OutboxEntry> = feed
                .iter()
                .filter(|e| e.entity == "scan" && e.entity_id == r.id.0)
                .collect();
            assert_eq!(queued.len(), 1, "one feed entry per scan");
            assert_eq!(queued[0].payload, serde_json::to_value(r).unwrap());
        }
    }

    // Again: nothing new, the first answers come back.
    let again = store.redeem_many(&many).await.unwrap();
    assert!(again.iter().all(|o| o.duplicate));
    assert_eq!(
        again.iter().map(|o| &o.answer).collect::<Vec<_>>(),
        together.iter().map(|o| &o.answer).collect::<Vec<_>>()
    );
    assert_eq!(
        store.changes_since("", 1000).await.unwrap().changes.len(),
        feed.len()
    );

    // Scans that depend on each other's order are refused together.
    let mut clash = vec![
        (attempt(lists[0], event, &scene, 0, "clash", at), telling()),
        (attempt(lists[0], event, &scene, 1, "clash", at), telling()),
    ];
    clash[1].0.ticket_id = clash[0].0.ticket_id;
    assert!(store.redeem_many(&clash).await.is_err());
    assert!(store
        .list_scans(lists[0], None, 100)
        .await
        .unwrap()
        .iter()
        .all(|r| !r.nonce.starts_with("clash")));
}

both_backends!(redeem_many_records_what_redeem_records_one_by_one);

// ------------------------------------------------------------------ through sync_upload

fn scan_change(rec: &ScanRecord) -> OutboxEntry {
    OutboxEntry {
        id: Uuid::now_v7(),
        at: rec.at,
        entity: "scan".into(),
        entity_id: rec.id.0,
        version: 1,
        payload: serde_json::to_value(rec).unwrap(),
    }
}

fn record(
    list: CheckinListId,
    ticket: Option<TicketId>,
    nonce: &str,
    at: DateTime<Utc>,
    verdict: Verdict,
) -> ScanRecord {
    ScanRecord {
        id: ScanId(Uuid::now_v7()),
        nonce: nonce.into(),
        list_id: list,
        ticket_id: ticket,
        direction: Direction::Entry,
        device_id: None,
        gate: Some("North".into()),
        at,
        verdict,
        counted: verdict == Verdict::Ok,
        forced: false,
        raw: (verdict != Verdict::Ok).then(|| "QR?".to_string()),
    }
}

/// One batch of every kind of uploaded scan for `list`, with nonces tagged `tag`: what each
/// should come to is in `expected` below.
fn batch(list: CheckinListId, tag: &str, at: DateTime<Utc>) -> Vec<OutboxEntry> {
    let ticket = |n: u128| Some(TicketId(Uuid::from_u128(n)));
    let mut b = Vec::new();
    // 0..20: fresh tickets, one entry each.
    for i in 0..20 {
        let rec = record(
            list,
            ticket(1000 + i),
            &format!("{tag}-fresh-{i}"),
            at,
            Verdict::Ok,
        );
        b.push(scan_change(&rec));
    }
    // 20: a ticket that came in in an earlier upload.
    b.push(scan_change(&record(
        list,
        ticket(1),
        &format!("{tag}-again"),
        at,
        Verdict::Ok,
    )));
    // 21, 22: one ticket let in by two doors, the later scan sent first.
    b.push(scan_change(&record(
        list,
        ticket(2),
        &format!("{tag}-twice-late"),
        at + Duration::minutes(5),
        Verdict::Ok,
    )));
    b.push(scan_change(&record(
        list,
        ticket(2),
        &format!("{tag}-twice-early"),
        at,
        Verdict::Ok,
    )));
    // 23, 24: the same scan twice in the batch.
    let same = record(list, ticket(3), &format!("{tag}-same"), at, Verdict::Ok);
    b.push(scan_change(&same));
    b.push(scan_change(&same));
    // 25: refused at the door; 26: a secret that did not verify.
    b.push(scan_change(&record(
        list,
        ticket(4),
        &format!("{tag}-refused"),
        at,
        Verdict::Blocked,
    )));
    b.push(scan_change(&record(
        list,
        None,
        &format!("{tag}-invalid"),
        at,
        Verdict::Invalid,
    )));
    // 27: a list the server does not have; 28: not a scan at all.
    b.push(scan_change(&record(
        CheckinListId(Uuid::now_v7()),
        ticket(5),
        &format!("{tag}-elsewhere"),
        at,
        Verdict::Ok,
    )));
    let mut broken = scan_change(&record(
        list,
        ticket(6),
        &format!("{tag}-broken"),
        at,
        Verdict::Ok,
    ));
    broken.payload = json!({ "nonce": "half a scan" });
    b.push(broken);
    // 29..: more fresh tickets after the dependent ones.
    for i in 0..5 {
        let rec = record(
            list,
            ticket(2000 + i),
            &format!("{tag}-late-{i}"),
            at,
            Verdict::Ok,
        );
        b.push(scan_change(&rec));
    }
    b
}

fn kind(o: &UploadOutcome) -> &'static str {
    match o {
        UploadOutcome::Applied => "applied",
        UploadOutcome::Duplicate => "duplicate",
        UploadOutcome::Skipped => "skipped",
        UploadOutcome::Deferred { .. } => "deferred",
        UploadOutcome::Conflict { .. } => "conflict",
    }
}

/// The server is PostgreSQL only.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_upload_mixing_fresh_repeated_and_colliding_scans_matches_one_by_one() {
    let f = Fixture::postgres().await;
    let setup = f.event(100, 100).await;
    let (a, s, now) = (&f.admit, &f.owner, f.now);
    let code = a
        .create_pairing_code(
            s,
            &PairingCodeInput {
                name: "door".into(),
                role: "door".into(),
                expires_in_minutes: None,
            },
            now,
        )
        .await
        .unwrap();
    let paired = a
        .pair_device(&PairInput { code: code.code }, now)
        .await
        .unwrap();
    let door = a.session_for_token(&paired.token, now).await.unwrap();
    let mut lists = Vec::new();
    for name in ["Together", "One by one"] {
        let l = a
            .create_checkin_list(
                s,
                &CheckinListInput {
                    event_id: setup.event.id.to_string(),
                    name: name.into(),
                    ..Default::default()
                },
                now,
            )
            .await
            .unwrap();
        lists.push(l.id);
    }
    let earlier = now - Duration::hours(1);
    let mut outcomes = Vec::new();
    for (list, tag) in [(lists[0], "many"), (lists[1], "one")] {
        // Ticket 1 came in through an earlier upload.
        let first = record(
            list,
            Some(TicketId(Uuid::from_u128(1))),
            &format!("{tag}-first"),
            earlier,
            Verdict::Ok,
        );
        a.sync_upload(&door, &[scan_change(&first)], now)
            .await
            .unwrap();
        let b = batch(list, tag, now);
        let got = if tag == "many" {
            a.sync_upload(&door, &b, now).await.unwrap()
        } else {
            let mut got = Vec::new();
            for c in &b {
                got.extend(
                    a.sync_upload(&door, std::slice::from_ref(c), now)
                        .await
                        .unwrap(),
                );
            }
            got
        };
        outcomes.push(got);
    }
    let expected: Vec<&str> = (0..20)
        .map(|_| "applied")
        .chain([
            "applied",   // again: a double admission, kept
            "applied",   // twice, late
            "applied",   // twice, early: a double admission, kept
            "applied",   // same
            "duplicate", // same, again
            "applied",   // refused
            "applied",   // invalid
            "deferred",  // unknown list
            "conflict",  // unreadable
        ])
        .chain((0..5).map(|_| "applied"))
        .collect();
    assert_eq!(outcomes[0].iter().map(kind).collect::<Vec<_>>(), expected);
    assert_eq!(outcomes[0], outcomes[1]);

    let store = a.store();
    let mut pictures = Vec::new();
    for list in &lists {
        let scans = store.list_scans(*list, None, 1000).await.unwrap();
        let mut p: Vec<_> = scans
            .iter()
            .map(|r| {
                let key = r.nonce.split_once('-').map(|(_, k)| k.to_string());
                json!([
                    key,
                    r.ticket_id,
                    r.at,
                    r.verdict,
                    r.counted,
                    r.forced,
                    r.raw
                ])
            })
            .collect();
        p.sort_by_key(|v| v.to_string());
        pictures.push(p);
    }
    assert_eq!(pictures[0], pictures[1]);
    let scans = store.list_scans(lists[0], None, 1000).await.unwrap();
    assert_eq!(scans.len(), 1 + 20 + 1 + 2 + 1 + 2 + 5);
    let find = |nonce: &str| scans.iter().find(|r| r.nonce == nonce).unwrap();
    for nonce in ["many-again", "many-twice-early"] {
        let r = find(nonce);
        assert!(r.counted && r.forced, "{nonce}: {r:?}");
        assert_eq!(r.verdict, Verdict::AlreadyRedeemed);
    }
    for nonce in [
        "many-fresh-7",
        "many-twice-late",
        "many-same",
        "many-late-4",
    ] {
        let r = find(nonce);
        assert!(r.counted && !r.forced && r.verdict == Verdict::Ok, "{r:?}");
    }
    let refused = find("many-refused");
    assert!(!refused.counted && !refused.forced && refused.verdict == Verdict::Blocked);
    assert_eq!(refused.raw.as_deref(), Some("QR?"));
    assert_eq!(find("many-invalid").ticket_id, None);
    let (doubles, _) = a.sync_conflicts(s, 100).await.unwrap();
    assert_eq!(doubles.len(), 4, "two on each list");

    // The whole batch again: every scan a duplicate, nothing written.
    let feed = store.changes_since("", 1000).await.unwrap().changes.len();
    let again = a
        .sync_upload(&door, &batch(lists[0], "many", now), now)
        .await
        .unwrap();
    let resent: Vec<&str> = expected
        .iter()
        .map(|k| if *k == "applied" { "duplicate" } else { k })
        .collect();
    // The batch is rebuilt with new scan ids but the same nonces: the nonce decides.
    assert_eq!(again.iter().map(kind).collect::<Vec<_>>(), resent);
    assert_eq!(
        store.list_scans(lists[0], None, 1000).await.unwrap(),
        scans,
        "nothing new recorded"
    );
    assert_eq!(
        store.changes_since("", 1000).await.unwrap().changes.len(),
        feed
    );
}

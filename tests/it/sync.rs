//! Sync between devices and a server, for real: the server in process on a real port over a
//! fresh PostgreSQL database, each device with its own SQLite file and the sync client
//! talking HTTP to the server through a link that the test can cut, or make lose answers
//! after the server has acted on the request.

use chrono::{Duration, Utc};

use admit_api::*;
use admit_sync::SyncError;

use crate::sync_support::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn three_devices_sell_and_scan_through_outages_and_agree() {
    let server = Server::start().await;
    let (event, tt, quota, list) = server.event(30).await;
    let boxoffice = Device::new(&server, "box-office", "box_office", 10).await;
    let kiosk = Device::new(&server, "kiosk", "kiosk", 6).await;
    let door = Device::new(&server, "door", "door", 0).await;

    // First contact: the catalogue comes down, the sellers get keys and units.
    for d in [&boxoffice, &kiosk, &door] {
        d.sync().await;
    }
    assert_eq!(boxoffice.store.spare_units(quota.id).await.unwrap(), 10);
    assert_eq!(kiosk.store.spare_units(quota.id).await.unwrap(), 6);
    assert!(door.store.signing_key(event.id).await.unwrap().is_none());
    door.sync().await; // the keys made for the sellers reach the door

    // Online: a few sales each.
    let mut secrets = Vec::new();
    for _ in 0..3 {
        secrets.push(boxoffice.sell_one(&event, &tt).await.unwrap());
    }
    secrets.push(kiosk.sell_one(&event, &tt).await.unwrap());
    for d in [&boxoffice, &kiosk, &door] {
        d.sync().await;
    }

    // Everyone offline. The box office sells everything it holds and no more.
    for d in [&boxoffice, &kiosk, &door] {
        d.link.set(Mode::Down);
    }
    let err = boxoffice.sync.sync_once().await.unwrap_err();
    assert!(matches!(err, SyncError::Offline(_)), "{err:?}");
    let mut offline_sales = 0;
    while let Some(s) = boxoffice.sell_one(&event, &tt).await {
        secrets.push(s);
        offline_sales += 1;
    }
    assert!(offline_sales >= 5, "sold {offline_sales} offline");
    // The kiosk too.
    while let Some(s) = kiosk.sell_one(&event, &tt).await {
        secrets.push(s);
    }
    // Both doors let the first ticket in while offline: a double admission.
    let first = secrets[0].1.clone();
    assert!(door.scan(&list, &first, "door-1").await.ok);
    assert!(kiosk.scan(&list, &first, "kiosk-1").await.ok);
    // The door admits an offline-sold ticket it has never seen a row for.
    let (_, last) = secrets.last().unwrap().clone();
    assert!(door.scan(&list, &last, "door-2").await.ok);

    // Back online; sync until quiet.
    for d in [&boxoffice, &kiosk, &door] {
        d.link.set(Mode::Up);
    }
    settle(&[&boxoffice, &kiosk, &door]).await;

    // Nothing lost, nothing twice: every store holds the same orders, tickets and scans.
    let truth = picture(server.admit.store(), event.id, &list).await;
    assert_eq!(
        truth.1.len(),
        secrets.len(),
        "every ticket sold reached the server"
    );
    assert!(truth.1.iter().all(|t| t.ends_with(":valid")));
    assert_eq!(truth.2.len(), 3, "every scan reached the server");
    for d in [&boxoffice, &kiosk, &door] {
        assert_eq!(d.picture(event.id, &list).await, truth);
    }

    // Never oversold: the quota's units are the tickets sold plus what devices still hold,
    // and each seller holds exactly what the server says it holds.
    assert_units_add_up(&server, &quota, &[&boxoffice, &kiosk, &door]).await;
    let q = server.admit.store().list_quotas(event.id).await.unwrap();
    assert!(q[0].taken <= 30);

    // The double admission is reported: the ticket, both doors.
    let (doubles, uploads) = server
        .admit
        .sync_conflicts(&server.owner, 100)
        .await
        .unwrap();
    assert!(uploads.is_empty(), "{uploads:?}");
    assert_eq!(doubles.len(), 1, "{doubles:?}");
    assert_eq!(doubles[0].ticket_id, Some(secrets[0].0.tickets[0].id));
    assert!(
        doubles[0].device_id == Some(door.device_id)
            || doubles[0].device_id == Some(kiosk.device_id)
    );
    assert!(
        doubles[0]
            .explanation
            .starts_with("let in twice: also entered at "),
        "names the entry it collided with: {:?}",
        doubles[0].explanation
    );
    // And every device now knows the ticket is used.
    for (i, d) in [&boxoffice, &kiosk, &door].into_iter().enumerate() {
        let again = d.scan(&list, &first, &format!("again-{i}")).await;
        assert_eq!(again.verdict, admit_core::checkin::Verdict::AlreadyRedeemed);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn lost_answers_duplicate_and_reordered_uploads_apply_once() {
    let server = Server::start().await;
    let (event, tt, quota, _) = server.event(20).await;
    let till = Device::new(&server, "till", "box_office", 8).await;
    till.sync().await;
    for _ in 0..3 {
        till.sell_one(&event, &tt).await.unwrap();
    }

    // The server applies the upload but the answer never arrives.
    till.link.set(Mode::LoseAnswers);
    let err = till.sync.sync_once().await.unwrap_err();
    assert!(matches!(err, SyncError::Offline(_)), "{err:?}");
    till.link.set(Mode::Up);
    // Sent again: the server knows every change already.
    let again = till.sync().await;
    assert!(again.duplicates >= 6, "{again:?}");
    assert_eq!(again.conflicts, 0);
    assert_units_add_up(&server, &quota, &[&till]).await;

    // A sale's changes sent by hand: the tickets before their order, then twice over.
    till.link.set(Mode::Down);
    let (order, _) = till.sell_one(&event, &tt).await.unwrap();
    let rows: Vec<_> = till
        .store
        .list_outbox(0, 10_000)
        .await
        .unwrap()
        .into_iter()
        .map(|(_, e)| e)
        .filter(|e| e.entity_id == order.order.id.0 || e.entity_id == order.tickets[0].id.0)
        .collect();
    let order_row: Vec<_> = rows
        .iter()
        .filter(|e| e.entity == "order")
        .cloned()
        .collect();
    let ticket_row: Vec<_> = rows
        .iter()
        .filter(|e| e.entity == "ticket")
        .cloned()
        .collect();
    let http = reqwest::Client::new();
    let upload = |changes: Vec<admit_core::audit::OutboxEntry>| {
        let req = http
            .post(format!("http://{}/api/v1/sync/upload", server.addr()))
            .bearer_auth(&till.token)
            .json(&admit_sync::wire::UploadRequest {
                protocol: admit_sync::wire::PROTOCOL,
                changes,
            });
        async move {
            let res = req.send().await.unwrap();
            assert_eq!(res.status(), reqwest::StatusCode::OK);
            res.json::<admit_sync::wire::UploadResponse>()
                .await
                .unwrap()
                .outcomes
        }
    };
    use admit_store::UploadOutcome::*;
    assert!(matches!(
        upload(ticket_row.clone()).await[..],
        [Deferred { .. }]
    ));
    assert_eq!(upload(order_row.clone()).await, vec![Applied]);
    assert_eq!(upload(ticket_row.clone()).await, vec![Applied]);
    let both: Vec<_> = order_row.iter().chain(&ticket_row).cloned().collect();
    assert_eq!(upload(both).await, vec![Duplicate, Duplicate]);
    // A batch in an unknown protocol is refused, typed.
    let res = http
        .post(format!("http://{}/api/v1/sync/upload", server.addr()))
        .bearer_auth(&till.token)
        .json(&serde_json::json!({ "protocol": 99, "changes": [] }))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), reqwest::StatusCode::BAD_REQUEST);
    let body: serde_json::Value = res.json().await.unwrap();
    assert_eq!(body["field"], "protocol");

    // The device's own round finds everything there already.
    till.link.set(Mode::Up);
    let last = till.sync().await;
    assert_eq!(last.conflicts, 0, "{last:?}");
    assert_units_add_up(&server, &quota, &[&till]).await;
    let on_server = server
        .admit
        .store()
        .get_order(order.order.id)
        .await
        .unwrap();
    assert_eq!(on_server.tickets.len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_kiosk_offline_for_a_day_with_5000_scans_catches_up() {
    let server = Server::start().await;
    let (event, tt, _, single_list) = server.event(200).await;
    let (a, s, now) = (&server.admit, &server.owner, Utc::now());
    // In and out all day: a list that lets people back in.
    let list = a
        .create_checkin_list(
            s,
            &CheckinListInput {
                event_id: event.id.to_string(),
                name: "Day passes".into(),
                allow_entry_after_exit: true,
                ..Default::default()
            },
            now,
        )
        .await
        .unwrap()
        .id
        .to_string();
    let mut secrets = Vec::new();
    for _ in 0..10 {
        let order = a
            .sell(
                s,
                &SaleInput {
                    event_id: event.id.to_string(),
                    lines: vec![LineInput {
                        ticket_type_id: tt.id.to_string(),
                        quantity: 10,
                        attendee_names: vec![],
                    }],
                    payment_method: "cash".into(),
                    ..Default::default()
                },
                now,
            )
            .await
            .unwrap();
        for t in &order.tickets {
            secrets.push(
                a.ticket_secret(s, &t.id.to_string(), now)
                    .await
                    .unwrap()
                    .secret,
            );
        }
    }
    let kiosk = Device::new(&server, "kiosk", "door", 0).await;
    kiosk.sync().await;
    kiosk.link.set(Mode::Down);

    // A day offline: each of 100 people goes in and out 25 times, the scans spread over 24
    // hours, with the kiosk's clock ten minutes fast.
    let skew = Duration::minutes(10);
    let start = now - Duration::hours(24);
    let mut refused = 0;
    for i in 0..5000usize {
        let person = i % 100;
        let round = i / 100;
        let at = start + Duration::seconds(i as i64 * 17) + skew;
        let answer = kiosk
            .admit
            .redeem(
                &kiosk.staff,
                &RedeemInput {
                    raw: secrets[person].clone(),
                    list_id: list.clone(),
                    direction: Some(if round % 2 == 0 { "entry" } else { "exit" }.into()),
                    gate: Some("Kiosk".into()),
                    nonce: format!("kiosk-{i}"),
                    at: Some(at.to_rfc3339()),
                    force: false,
                },
                Utc::now(),
            )
            .await
            .unwrap();
        refused += usize::from(!answer.ok);
    }
    assert_eq!(refused, 0);
    let local = kiosk
        .admit
        .checkin_counts(&kiosk.staff, &list)
        .await
        .unwrap();

    kiosk.link.set(Mode::Up);
    let report = kiosk.sync().await;
    assert!(report.uploaded >= 5000, "{report:?}");
    assert_eq!(report.conflicts, 0);
    let list_id = admit_core::CheckinListId::parse("list", &list).unwrap();
    let on_server = server
        .admit
        .store()
        .list_scans(list_id, None, 10_000)
        .await
        .unwrap();
    assert_eq!(on_server.len(), 5000);
    assert!(on_server.iter().all(|s| s.counted && !s.forced));
    assert_eq!(
        server
            .admit
            .checkin_counts(&server.owner, &list)
            .await
            .unwrap(),
        local
    );
    // Sent again, nothing changes.
    kiosk.store.set_sync_value("upload_seq", "0").await.unwrap();
    let again = kiosk.sync().await;
    assert_eq!(again.conflicts, 0);
    assert!(again.duplicates >= 5000, "{again:?}");
    assert_eq!(
        server
            .admit
            .store()
            .list_scans(list_id, None, 10_000)
            .await
            .unwrap()
            .len(),
        5000
    );
    let _ = single_list;
}

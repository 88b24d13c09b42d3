//! Sync when things go wrong, for real: a server killed in the middle of applying an upload,
//! a download cut half-way, device clocks ten minutes off either way, and two server
//! instances sharing one database behind a load balancer.

use std::future::Future;
use std::net::SocketAddr;

use chrono::{DateTime, Duration, Utc};
use sqlx::postgres::{PgPool, PgPoolOptions};

use admit_api::*;
use admit_core::checkin::Verdict;
use admit_core::model::*;
use admit_core::CheckinListId;
use admit_sync::client::Clock;
use admit_sync::{SyncError, SyncOptions, SyncReport};

use crate::sync_support::*;

/// Wait until `check` holds, polling; fail the test after 20 seconds.
async fn until<F, Fut>(what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while !check().await {
        assert!(
            std::time::Instant::now() < deadline,
            "timed out waiting for {what}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(1)).await;
    }
}

/// A look at the server's database of its own, beside the instances.
async fn database(server: &Server) -> PgPool {
    PgPoolOptions::new()
        .max_connections(2)
        .connect(server.database_url())
        .await
        .unwrap()
}

async fn count(db: &PgPool, sql: &str) -> i64 {
    sqlx::query_scalar(sql).fetch_one(db).await.unwrap()
}

/// Other sessions on this database with a transaction open: with `writing`, only those that
/// have written something.
async fn transactions(db: &PgPool, writing: bool) -> i64 {
    let sql = format!(
        "select count(*) from pg_stat_activity
          where datname = current_database() and pid <> pg_backend_pid()
            and backend_type = 'client backend' and xact_start is not null {}",
        if writing {
            "and backend_xid is not null"
        } else {
            ""
        }
    );
    count(db, &sql).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_server_killed_mid_upload_applies_every_change_once_after_restart() {
    let mut server = Server::start().await;
    let (event, tt, quota, _) = server.event(500).await;
    let list = server.in_and_out_list(&event).await;
    let kiosk = Device::with(
        &server,
        "kiosk",
        "kiosk",
        SyncOptions {
            upload_batch: 1000,
            ..options(120)
        },
    )
    .await;
    kiosk.sync().await;
    assert_eq!(kiosk.store.spare_units(quota.id).await.unwrap(), 120);

    // Offline: 100 sales, and every ticket in and out three times.
    kiosk.link.set(Mode::Down);
    let mut secrets = Vec::new();
    for _ in 0..100 {
        secrets.push(kiosk.sell_one(&event, &tt).await.unwrap().1);
    }
    let scans = 600;
    for round in 0..6 {
        let direction = if round % 2 == 0 { "entry" } else { "exit" };
        for (i, s) in secrets.iter().enumerate() {
            let nonce = format!("kiosk-{round}-{i}");
            assert!(kiosk.scan_with(&list, s, &nonce, Some(direction)).await.ok);
        }
    }
    let waiting = kiosk.sync.waiting().await.unwrap();
    assert!(
        (scans + 200..=1000).contains(&waiting),
        "one upload batch: {waiting}"
    );
    let db = database(&server).await;
    kiosk.link.set(Mode::Up);

    // Killed while the transaction that applies the orders and tickets is writing.
    let round = {
        let sync = kiosk.sync.clone();
        tokio::spawn(async move { sync.sync_once().await })
    };
    until("the upload to start writing", || async {
        transactions(&db, true).await > 0
    })
    .await;
    server.instance.take().unwrap().kill();
    let err = round.await.unwrap().unwrap_err();
    assert!(matches!(err, SyncError::Offline(_)), "{err:?}");
    until("the dead instance's transaction to end", || async {
        transactions(&db, false).await == 0
    })
    .await;
    assert_eq!(count(&db, "select count(*) from orders").await, 0);
    assert_eq!(kiosk.sync.waiting().await.unwrap(), waiting);

    // A new instance on the same database; the same batch again, and this instance is
    // killed while it records the scans (one transaction each, after the orders).
    let second = Instance::start(server.database_url(), None).await;
    kiosk.link.point_at(second.addr);
    let round = {
        let sync = kiosk.sync.clone();
        tokio::spawn(async move { sync.sync_once().await })
    };
    until("scans to be recorded", || async {
        count(&db, "select count(*) from scans").await > 0
    })
    .await;
    second.kill();
    let err = round.await.unwrap().unwrap_err();
    assert!(matches!(err, SyncError::Offline(_)), "{err:?}");
    until("the dead instance's transaction to end", || async {
        transactions(&db, false).await == 0
    })
    .await;
    assert_eq!(count(&db, "select count(*) from orders").await, 100);
    let recorded = count(&db, "select count(*) from scans").await as u64;
    assert!(
        recorded > 0 && recorded < scans,
        "killed half-way through the scans: {recorded} of {scans} recorded"
    );
    assert_eq!(
        kiosk.sync.waiting().await.unwrap(),
        waiting,
        "no answer, so the device still has everything to send"
    );

    // A third instance. Everything arrives, once: what the dead instances committed (the
    // orders and tickets, some scans) comes back as duplicates.
    let after: i64 = kiosk
        .store
        .sync_value("upload_seq")
        .await
        .unwrap()
        .map_or(0, |s| s.parse().unwrap());
    let batch: Vec<uuid::Uuid> = kiosk
        .store
        .list_outbox(after, 1000)
        .await
        .unwrap()
        .into_iter()
        .map(|(_, e)| e.id)
        .collect();
    let applied: i64 =
        sqlx::query_scalar("select count(*) from sync_applied where entry_id = any($1)")
            .bind(&batch)
            .fetch_one(&db)
            .await
            .unwrap();
    let committed = applied as u64 + recorded;
    server.instance = Some(Instance::start(server.database_url(), None).await);
    kiosk.link.point_at(server.addr());
    let report = kiosk.sync().await;
    assert_eq!(report.uploaded + report.duplicates, waiting, "{report:?}");
    assert_eq!(report.duplicates, committed, "{report:?}");
    assert_eq!((report.conflicts, report.deferred), (0, 0), "{report:?}");
    assert_eq!(kiosk.sync.waiting().await.unwrap(), 0);
    assert_eq!(count(&db, "select count(*) from scans").await as u64, scans);
    assert_eq!(
        count(&db, "select count(distinct nonce) from scans").await as u64,
        scans
    );
    let list_id = CheckinListId::parse("list", &list).unwrap();
    let on_server = server
        .admit
        .store()
        .list_scans(list_id, None, 10_000)
        .await
        .unwrap();
    assert!(on_server.iter().all(|s| s.counted && !s.forced));
    assert_eq!(
        kiosk.picture(event.id, &list).await,
        picture(server.admit.store(), event.id, &list).await
    );
    assert_units_add_up(&server, &quota, &[&kiosk]).await;
    let counts = server
        .admit
        .checkin_counts(&server.owner, &list)
        .await
        .unwrap();
    assert_eq!((counts.admitted, counts.inside), (100, 0));
}

/// The cursor a changes request asked from, if the line is one.
fn asked_cursor(request_line: &str) -> Option<String> {
    let path = request_line.split(' ').nth(1)?;
    if !path.starts_with("/api/v1/sync/changes") {
        return None;
    }
    let url = reqwest::Url::parse(&format!("http://device{path}")).unwrap();
    let cursor = url
        .query_pairs()
        .find(|(k, _)| k == "cursor")
        .map(|(_, v)| v.into_owned())
        .unwrap_or_default();
    Some(cursor)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_download_cut_half_way_resumes_at_its_cursor_without_fetching_pages_again() {
    let server = Server::start().await;
    let (event, tt, _, list) = server.event(1000).await;
    // A big event: 120 orders of two tickets, sold at the server.
    for _ in 0..120 {
        server
            .admit
            .sell(
                &server.owner,
                &SaleInput {
                    event_id: event.id.to_string(),
                    lines: vec![LineInput {
                        ticket_type_id: tt.id.to_string(),
                        quantity: 2,
                        attendee_names: vec![],
                    }],
                    payment_method: "cash".into(),
                    ..Default::default()
                },
                Utc::now(),
            )
            .await
            .unwrap();
    }
    // Two new doors. One downloads it all in one go, to say how much there is.
    let door = Device::new(&server, "door", "door", 0).await;
    let witness = Device::new(&server, "witness", "door", 0).await;
    let whole = witness.sync().await;
    let page = u64::from(options(0).page);
    assert!(whole.pages >= 7, "{whole:?}");

    // The other's link is cut once three pages are in.
    let mut first = SyncReport::default();
    let err = door
        .sync
        .download(&mut first, |downloaded| {
            if downloaded >= 3 * page {
                door.link.set(Mode::Down);
            }
        })
        .await
        .unwrap_err();
    assert!(matches!(err, SyncError::Offline(_)), "{err:?}");
    assert_eq!((first.pages, first.downloaded), (3, 3 * page));
    let asked: Vec<String> = door
        .link
        .requests()
        .iter()
        .filter_map(|l| asked_cursor(l))
        .collect();
    assert_eq!(asked.len(), 3, "{asked:?}");
    let stored = door
        .store
        .sync_value("download_cursor")
        .await
        .unwrap()
        .unwrap();
    assert!(!asked.contains(&stored), "the stored cursor is past page 3");

    // Back online: the round starts at the stored cursor and asks for no page twice.
    door.link.set(Mode::Up);
    let rest = door.sync().await;
    let all: Vec<String> = door
        .link
        .requests()
        .iter()
        .filter_map(|l| asked_cursor(l))
        .collect();
    assert_eq!(all[3], stored, "{all:?}");
    let mut distinct = all.clone();
    distinct.sort();
    distinct.dedup();
    assert_eq!(distinct.len(), all.len(), "a page asked for twice: {all:?}");
    assert_eq!(
        first.downloaded + rest.downloaded,
        whole.downloaded,
        "{first:?} then {rest:?}, against {whole:?} in one go"
    );
    assert_eq!(first.pages + rest.pages, whole.pages);
    let truth = picture(server.admit.store(), event.id, &list).await;
    assert_eq!(truth.1.len(), 240);
    assert_eq!(door.picture(event.id, &list).await, truth);
    assert_eq!(witness.picture(event.id, &list).await, truth);
}

/// Sell until neither the device nor the server's pool has a unit left, syncing through the
/// instances in turn; the secrets sold.
async fn sell_everything(
    d: &Device,
    event: &Event,
    tt: &TicketType,
    quota: &Quota,
    instances: &[SocketAddr],
) -> Vec<String> {
    let mut sold = Vec::new();
    for round in 0.. {
        d.link.point_at(instances[round % instances.len()]);
        d.sync().await;
        while let Some((_, secret)) = d.sell_one(event, tt).await {
            sold.push(secret);
        }
        // Out of units: ask for the last ones on the spot; none left anywhere means done.
        if d.sync.request_units(quota.id, 2).await.unwrap() == 0 {
            break;
        }
    }
    sold
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn devices_syncing_through_two_server_instances_agree_and_never_oversell() {
    let server = Server::start().await;
    let b = server.another_instance().await;
    let a = server.addr();
    let (event, tt, quota, list) = server.event(40).await;
    let one = Device::new(&server, "till-1", "box_office", 6).await;
    let two = Device::new(&server, "till-2", "box_office", 6).await;
    let kiosk = Device::new(&server, "kiosk", "kiosk", 4).await;

    // All three sell against the one quota at once: one through instance A, one through B,
    // the kiosk through A and B in turn.
    let (only_a, only_b, both) = ([a], [b.addr], [a, b.addr]);
    let (by_one, by_two, by_kiosk) = tokio::join!(
        sell_everything(&one, &event, &tt, &quota, &only_a),
        sell_everything(&two, &event, &tt, &quota, &only_b),
        sell_everything(&kiosk, &event, &tt, &quota, &both),
    );
    assert_eq!(
        by_one.len() + by_two.len() + by_kiosk.len(),
        40,
        "every unit sold once: {} + {} + {}",
        by_one.len(),
        by_two.len(),
        by_kiosk.len()
    );
    assert!(!by_one.is_empty() && !by_two.is_empty() && !by_kiosk.is_empty());

    // Two tills, offline, both let in one of the kiosk's tickets; they come back through
    // different instances.
    one.link.point_at(a);
    two.link.point_at(b.addr);
    settle(&[&one, &two, &kiosk]).await;
    one.link.set(Mode::Down);
    two.link.set(Mode::Down);
    assert!(one.scan(&list, &by_kiosk[0], "one-1").await.ok);
    assert!(two.scan(&list, &by_kiosk[0], "two-1").await.ok);
    assert!(one.scan(&list, &by_two[0], "one-2").await.ok);
    one.link.set(Mode::Up);
    two.link.set(Mode::Up);
    let (r1, r2) = tokio::join!(one.sync(), two.sync());
    assert_eq!(r1.conflicts + r2.conflicts, 0);
    settle(&[&one, &two, &kiosk]).await;

    let truth = picture(server.admit.store(), event.id, &list).await;
    assert_eq!(truth.1.len(), 40);
    assert_eq!(truth.2.len(), 3);
    for d in [&one, &two, &kiosk] {
        assert_eq!(d.picture(event.id, &list).await, truth);
    }
    let q = server.admit.store().list_quotas(event.id).await.unwrap();
    assert_eq!(q[0].taken, 40);
    assert_units_add_up(&server, &quota, &[&one, &two, &kiosk]).await;
    let (doubles, uploads) = server
        .admit
        .sync_conflicts(&server.owner, 100)
        .await
        .unwrap();
    assert!(uploads.is_empty(), "{uploads:?}");
    assert_eq!(doubles.len(), 1, "{doubles:?}");
    for (i, d) in [&one, &two, &kiosk].into_iter().enumerate() {
        let again = d.scan(&list, &by_kiosk[0], &format!("again-{i}")).await;
        assert_eq!(again.verdict, Verdict::AlreadyRedeemed);
    }
}

fn near(at: DateTime<Utc>, expected: DateTime<Utc>) -> bool {
    (at - expected).num_seconds().abs() <= 5
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn devices_ten_minutes_slow_and_fast_keep_their_scan_times_and_the_conflicts_right() {
    let server = Server::start().await;
    let (event, tt, quota, list) = server.event(40).await;
    let skewed = |minutes| SyncOptions {
        clock: Clock::offset_by(Duration::minutes(minutes)),
        ..options(6)
    };
    let slow = Device::with(&server, "slow", "kiosk", skewed(-10)).await;
    let fast = Device::with(&server, "fast", "kiosk", skewed(10)).await;
    for d in [&slow, &fast] {
        d.sync().await;
    }
    let offset = |ms: Option<i64>| ms.expect("an offset after a round");
    let slow_offset = offset(slow.sync.clock_offset_ms().await.unwrap());
    let fast_offset = offset(fast.sync.clock_offset_ms().await.unwrap());
    assert!((slow_offset + 600_000).abs() < 5_000, "{slow_offset}");
    assert!((fast_offset - 600_000).abs() < 5_000, "{fast_offset}");

    // Online: a ticket sold on each; both learn of both.
    let (s1_order, s1) = slow.sell_one(&event, &tt).await.unwrap();
    let (f1_order, f1) = fast.sell_one(&event, &tt).await.unwrap();
    settle(&[&slow, &fast]).await;

    // Offline, interleaved on the same tickets. In real time the fast door scans s1 first,
    // but its clock puts that scan twenty minutes after the slow door's.
    slow.link.set(Mode::Down);
    fast.link.set(Mode::Down);
    let t0 = Utc::now();
    assert!(fast.scan(&list, &s1, "fast-1").await.ok);
    assert!(slow.scan(&list, &s1, "slow-1").await.ok);
    let (s2_order, s2) = slow.sell_one(&event, &tt).await.unwrap();
    assert!(
        fast.scan(&list, &s2, "fast-2").await.ok,
        "sold offline elsewhere"
    );
    assert!(slow.scan(&list, &f1, "slow-3").await.ok);
    assert!(fast.scan(&list, &f1, "fast-3").await.ok);
    let (f2_order, f2) = fast.sell_one(&event, &tt).await.unwrap();
    assert!(fast.scan(&list, &f2, "fast-4").await.ok);
    let again = fast.scan(&list, &s1, "fast-5").await;
    assert_eq!(again.verdict, Verdict::AlreadyRedeemed);
    assert!(near(
        s2_order.order.meta.created_at,
        t0 - Duration::minutes(10)
    ));
    assert!(near(
        f2_order.order.meta.created_at,
        t0 + Duration::minutes(10)
    ));

    // Back: the slow door first.
    slow.link.set(Mode::Up);
    fast.link.set(Mode::Up);
    let r = slow.sync().await;
    assert_eq!(r.conflicts, 0);
    fast.sync().await;
    settle(&[&slow, &fast]).await;

    // Every scan keeps the time its door gave it, and history runs by those times.
    let list_id = CheckinListId::parse("list", &list).unwrap();
    let store = server.admit.store();
    let all = store.list_scans(list_id, None, 100).await.unwrap();
    assert_eq!(all.len(), 7);
    assert!(all.windows(2).all(|w| w[0].at >= w[1].at), "newest first");
    for s in &all {
        let expected = if s.nonce.starts_with("slow") {
            t0 - Duration::minutes(10)
        } else {
            t0 + Duration::minutes(10)
        };
        assert!(near(s.at, expected), "{} at {}", s.nonce, s.at);
    }
    let history = |order: &OrderWithTickets| {
        let ticket = Some(order.tickets[0].id);
        let mut h: Vec<&admit_store::ScanRecord> =
            all.iter().filter(|s| s.ticket_id == ticket).collect();
        h.sort_by_key(|s| s.at);
        h.into_iter()
            .map(|s| (s.nonce.clone(), s.counted, s.forced))
            .collect::<Vec<_>>()
    };
    // s1: the slow door's scan comes first by the clocks; the fast one, sent later, is the
    // double admission. Its refused repeat counts for nothing.
    let h = history(&s1_order);
    assert_eq!(h.len(), 3, "{h:?}");
    assert_eq!(h[0], ("slow-1".to_string(), true, false));
    assert!(h.contains(&("fast-1".to_string(), true, true)), "{h:?}");
    assert!(h.contains(&("fast-5".to_string(), false, false)), "{h:?}");
    // f1: the slow door first by both real time and the clocks; the fast one is the double.
    assert_eq!(
        history(&f1_order),
        vec![
            ("slow-3".to_string(), true, false),
            ("fast-3".to_string(), true, true)
        ]
    );
    assert_eq!(
        history(&s2_order),
        vec![("fast-2".to_string(), true, false)]
    );
    assert_eq!(
        history(&f2_order),
        vec![("fast-4".to_string(), true, false)]
    );

    let (doubles, uploads) = server
        .admit
        .sync_conflicts(&server.owner, 100)
        .await
        .unwrap();
    assert!(uploads.is_empty(), "{uploads:?}");
    assert_eq!(doubles.len(), 2, "{doubles:?}");
    assert!(doubles.iter().all(|d| d.device_id == Some(fast.device_id)));
    let counts = server
        .admit
        .checkin_counts(&server.owner, &list)
        .await
        .unwrap();
    assert_eq!(counts.admitted, 4);

    // Both doors hold the same history, and both turn every ticket away now.
    let truth = picture(store, event.id, &list).await;
    for d in [&slow, &fast] {
        assert_eq!(d.picture(event.id, &list).await, truth);
        for (i, secret) in [&s1, &s2, &f1, &f2].into_iter().enumerate() {
            let answer = d
                .scan(&list, secret, &format!("late-{i}-{}", d.device_id))
                .await;
            assert_eq!(answer.verdict, Verdict::AlreadyRedeemed);
        }
    }
    assert_units_add_up(&server, &quota, &[&slow, &fast]).await;
    let slow_offset = offset(slow.sync.clock_offset_ms().await.unwrap());
    assert!((slow_offset + 600_000).abs() < 5_000, "{slow_offset}");
}

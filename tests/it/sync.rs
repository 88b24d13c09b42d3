//! Sync between devices and a server, for real: the server in process on a real port over a
//! fresh PostgreSQL database, each device with its own SQLite file and the sync client
//! talking HTTP to the server through a [`Link`] that the test can cut, or make lose answers
//! after the server has acted on the request.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use chrono::{Duration, Utc};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

use admit_api::*;
use admit_core::model::*;
use admit_core::{DeviceId, EventId};
use admit_store::Store;
use admit_sync::{SyncClient, SyncError, SyncOptions};
use admit_testkit::{TestPostgres, TestSqlite};

use crate::fixture::PASSWORD;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    Up,
    /// Connections are refused and open ones cut: the device is offline.
    Down,
    /// Requests reach the server, answers never reach the device.
    LoseAnswers,
}

/// A TCP hop between a device and the server that the test controls.
struct Link {
    addr: SocketAddr,
    mode: Arc<Mutex<Mode>>,
    open: Arc<Mutex<Vec<JoinHandle<()>>>>,
    accept: JoinHandle<()>,
}

impl Link {
    async fn to(target: SocketAddr) -> Link {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let mode = Arc::new(Mutex::new(Mode::Up));
        let open: Arc<Mutex<Vec<JoinHandle<()>>>> = Default::default();
        let (m, o) = (mode.clone(), open.clone());
        let accept = tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                let now = *m.lock().unwrap();
                if now == Mode::Down {
                    drop(client);
                    continue;
                }
                let conn = tokio::spawn(async move {
                    let Ok(server) = TcpStream::connect(target).await else {
                        return;
                    };
                    match now {
                        Mode::Up => {
                            let (mut c, mut s) = (client, server);
                            let _ = tokio::io::copy_bidirectional(&mut c, &mut s).await;
                        }
                        _ => lose_answers(client, server).await,
                    }
                });
                o.lock().unwrap().push(conn);
            }
        });
        Link {
            addr,
            mode,
            open,
            accept,
        }
    }

    fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Switch mode; every connection open so far is cut, as a real outage would.
    fn set(&self, mode: Mode) {
        *self.mode.lock().unwrap() = mode;
        for c in self.open.lock().unwrap().drain(..) {
            c.abort();
        }
    }
}

impl Drop for Link {
    fn drop(&mut self) {
        self.accept.abort();
        self.set(Mode::Down);
    }
}

/// Forward the request; read the server's answer and throw it away, then hang up.
async fn lose_answers(mut client: TcpStream, mut server: TcpStream) {
    let (mut cr, mut cw) = client.split();
    let (mut sr, mut sw) = server.split();
    let forward = async {
        let mut buf = vec![0u8; 64 * 1024];
        loop {
            match cr.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => {
                    if sw.write_all(&buf[..n]).await.is_err() {
                        break;
                    }
                }
            }
        }
    };
    let swallow = async {
        let mut buf = vec![0u8; 64 * 1024];
        // The first bytes of the answer mean the server has done its work; then cut.
        let _ = sr.read(&mut buf).await;
    };
    tokio::select! {
        _ = forward => {}
        _ = swallow => {}
    }
    let _ = cw.shutdown().await;
}

/// The server, its database, and the owner's session on it.
struct Server {
    _pg: TestPostgres,
    running: Option<admit_server::RunningServer>,
    admit: Admit,
    owner: Session,
}

impl Server {
    async fn start() -> Server {
        let pg = TestPostgres::new().await;
        let store = admit_store::open(pg.url()).await.unwrap();
        let admit = Admit::new(store);
        let now = Utc::now();
        let owner = admit
            .create_first_owner(
                &NewUserInput {
                    username: "owner".into(),
                    display_name: "Olga Owner".into(),
                    password: PASSWORD.into(),
                    role: String::new(),
                },
                None,
                now,
            )
            .await
            .unwrap();
        let mut config = admit_server::Config::for_database(pg.url());
        config.listen = "127.0.0.1:0".parse().unwrap();
        let running = admit_server::start(config).await.unwrap();
        Server {
            _pg: pg,
            admit,
            owner,
            running: Some(running),
        }
    }

    fn addr(&self) -> SocketAddr {
        self.running.as_ref().unwrap().addr
    }

    async fn pair(&self, name: &str, role: &str) -> (DeviceId, String) {
        let now = Utc::now();
        let code = self
            .admit
            .create_pairing_code(
                &self.owner,
                &PairingCodeInput {
                    name: name.into(),
                    role: role.into(),
                    expires_in_minutes: None,
                },
                now,
            )
            .await
            .unwrap();
        let p = self
            .admit
            .pair_device(&PairInput { code: code.code }, now)
            .await
            .unwrap();
        (p.device.id, p.token)
    }

    /// A published event: one ticket type under a quota of `size`, and a single-entry
    /// check-in list.
    async fn event(&self, size: i64) -> (Event, TicketType, Quota, String) {
        let (a, s, now) = (&self.admit, &self.owner, Utc::now());
        let event = a
            .create_event(
                s,
                &EventInput {
                    name: "Harbour Festival".into(),
                    description: String::new(),
                    venue: "Pier 4".into(),
                    starts_at: (now + Duration::hours(2)).to_rfc3339(),
                    ends_at: (now + Duration::hours(8)).to_rfc3339(),
                    time_zone: "Europe/Lisbon".into(),
                    category_id: None,
                },
                now,
            )
            .await
            .unwrap();
        let tt = a
            .create_ticket_type(
                s,
                &TicketTypeInput {
                    event_id: event.id.to_string(),
                    name: "Day pass".into(),
                    price_minor: 2500,
                    currency: "EUR".into(),
                    max_per_order: Some(10),
                    ..Default::default()
                },
                now,
            )
            .await
            .unwrap();
        let quota = a
            .create_quota(
                s,
                &QuotaInput {
                    event_id: event.id.to_string(),
                    name: "Capacity".into(),
                    size,
                    ticket_type_ids: vec![tt.id.to_string()],
                },
                now,
            )
            .await
            .unwrap();
        let list = a
            .create_checkin_list(
                s,
                &CheckinListInput {
                    event_id: event.id.to_string(),
                    name: "Main gate".into(),
                    ..Default::default()
                },
                now,
            )
            .await
            .unwrap();
        let event = a
            .publish_event(s, &event.id.to_string(), now)
            .await
            .unwrap();
        (event, tt, quota, list.id.to_string())
    }
}

/// A device: its own SQLite store, its own staff, its sync client behind a link.
struct Device {
    _db: TestSqlite,
    store: Arc<dyn Store>,
    admit: Admit,
    staff: Session,
    link: Link,
    sync: SyncClient,
    device_id: DeviceId,
    token: String,
}

impl Device {
    async fn new(server: &Server, name: &str, role: &str, target: i64) -> Device {
        let db = TestSqlite::new();
        let store = admit_store::open(db.path().to_str().unwrap())
            .await
            .unwrap();
        let admit = Admit::new(store.clone());
        let staff = admit
            .create_first_owner(
                &NewUserInput {
                    username: format!("{name}-staff"),
                    display_name: format!("Staff of {name}"),
                    password: PASSWORD.into(),
                    role: String::new(),
                },
                None,
                Utc::now(),
            )
            .await
            .unwrap();
        let (device_id, token) = server.pair(name, role).await;
        let link = Link::to(server.addr()).await;
        let sync = SyncClient::new(
            &link.url(),
            &token.clone(),
            store.clone(),
            SyncOptions {
                allocation_target: target,
                allocation_low: target / 2,
                page: 50,
                upload_batch: 40,
                ..Default::default()
            },
        );
        Device {
            _db: db,
            store,
            admit,
            staff,
            link,
            sync,
            device_id,
            token,
        }
    }

    /// One round, tried again after a transient failure (a busy server), as the desktop's
    /// background loop does.
    async fn sync(&self) -> admit_sync::SyncReport {
        let mut tries = 0;
        loop {
            match self.sync.sync_once().await {
                Ok(r) => {
                    self.admit.forget_cached();
                    return r;
                }
                Err(e) if e.is_transient() && tries < 5 => {
                    tries += 1;
                    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
                }
                Err(e) => panic!("sync failed: {e}"),
            }
        }
    }

    /// Sell one ticket here; its secret, or `None` when the device holds no unit.
    async fn sell_one(&self, event: &Event, tt: &TicketType) -> Option<(OrderWithTickets, String)> {
        let sale = SaleInput {
            event_id: event.id.to_string(),
            lines: vec![LineInput {
                ticket_type_id: tt.id.to_string(),
                quantity: 1,
                attendee_names: vec![],
            }],
            payment_method: "cash".into(),
            ..Default::default()
        };
        match self.admit.sell(&self.staff, &sale, Utc::now()).await {
            Ok(o) => {
                let secret = self
                    .admit
                    .ticket_secret(&self.staff, &o.tickets[0].id.to_string(), Utc::now())
                    .await
                    .unwrap()
                    .secret;
                Some((o, secret))
            }
            Err(ApiError::SoldOut { .. }) => None,
            Err(e) => panic!("sale failed: {e:?}"),
        }
    }

    async fn scan(&self, list: &str, secret: &str, nonce: &str) -> RedeemAnswer {
        self.admit
            .redeem(
                &self.staff,
                &RedeemInput {
                    raw: secret.into(),
                    list_id: list.into(),
                    direction: None,
                    gate: Some("North".into()),
                    nonce: nonce.into(),
                    at: None,
                    force: false,
                },
                Utc::now(),
            )
            .await
            .unwrap()
    }

    /// Orders and tickets with their statuses, and scan nonces: what every store must agree on.
    async fn picture(&self, event: EventId, list: &str) -> Picture {
        picture(&self.store, event, list).await
    }
}

type Picture = (Vec<String>, Vec<String>, Vec<String>);

async fn picture(store: &Arc<dyn Store>, event: EventId, list: &str) -> Picture {
    let orders = store
        .search_orders(&admit_store::OrderQuery {
            event_id: Some(event),
            text: None,
            limit: 100_000,
        })
        .await
        .unwrap();
    let mut o: Vec<String> = orders
        .iter()
        .map(|o| format!("{}:{}", o.id, o.status.as_str()))
        .collect();
    let mut t = Vec::new();
    for order in &orders {
        for ticket in store.get_order(order.id).await.unwrap().tickets {
            t.push(format!("{}:{}", ticket.id, ticket.status.as_str()));
        }
    }
    let list = admit_core::CheckinListId::parse("list", list).unwrap();
    let mut n: Vec<String> = store
        .list_scans(list, None, 100_000)
        .await
        .unwrap()
        .into_iter()
        .map(|s| s.nonce)
        .collect();
    o.sort();
    t.sort();
    n.sort();
    (o, t, n)
}

/// Sync every device in turn until a whole round moves nothing (at most five rounds).
async fn settle(devices: &[&Device]) {
    for _ in 0..5 {
        let mut moved = 0;
        for d in devices {
            let r = d.sync().await;
            moved += r.uploaded + r.downloaded + r.units_moved.unsigned_abs();
        }
        if moved == 0 {
            return;
        }
    }
    panic!("sync did not settle in five rounds");
}

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
    // And every device now knows the ticket is used.
    for (i, d) in [&boxoffice, &kiosk, &door].into_iter().enumerate() {
        let again = d.scan(&list, &first, &format!("again-{i}")).await;
        assert_eq!(again.verdict, admit_core::checkin::Verdict::AlreadyRedeemed);
    }
}

/// The server's units of a quota: the valid tickets plus what devices hold.
async fn assert_units_add_up(server: &Server, quota: &Quota, devices: &[&Device]) {
    let q = server
        .admit
        .store()
        .list_quotas(quota.event_id)
        .await
        .unwrap();
    let taken = i64::from(q.iter().find(|u| u.quota.id == quota.id).unwrap().taken);
    let mut held = 0;
    for d in devices {
        let on_server: i64 = server
            .admit
            .store()
            .allocations_of(d.device_id)
            .await
            .unwrap()
            .iter()
            .filter(|(q, _)| *q == quota.id)
            .map(|(_, n)| *n)
            .sum();
        assert_eq!(d.store.spare_units(quota.id).await.unwrap(), on_server);
        held += on_server;
    }
    let sold = server
        .admit
        .store()
        .search_orders(&admit_store::OrderQuery {
            event_id: Some(quota.event_id),
            text: None,
            limit: 10_000,
        })
        .await
        .unwrap()
        .len() as i64;
    assert_eq!(
        taken,
        sold + held,
        "units taken = tickets sold + units devices hold"
    );
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

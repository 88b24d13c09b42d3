//! What the sync tests share: the server in process on a real port over a fresh PostgreSQL
//! database (each instance on a runtime of its own, so a test can kill it as a crash would),
//! devices with their own SQLite files, and a [`Link`] between a device and the server that
//! the test can cut, point at another instance, make lose answers after the server has acted
//! on the request, and read the requests that went through.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use chrono::{DateTime, Duration, Utc};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

use admit_api::*;
use admit_core::model::*;
use admit_core::{DeviceId, EventId};
use admit_store::Store;
use admit_sync::client::Clock;
use admit_sync::{SyncClient, SyncOptions};
use admit_testkit::{TestPostgres, TestSqlite};

use crate::fixture::PASSWORD;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Up,
    /// Connections are refused and open ones cut: the device is offline.
    Down,
    /// Requests reach the server, answers never reach the device.
    LoseAnswers,
}

/// A TCP hop between a device and the server that the test controls.
pub struct Link {
    pub addr: SocketAddr,
    target: Arc<Mutex<SocketAddr>>,
    mode: Arc<Mutex<Mode>>,
    open: Arc<Mutex<Vec<JoinHandle<()>>>>,
    requests: Arc<Mutex<Vec<String>>>,
    accept: JoinHandle<()>,
}

impl Link {
    pub async fn to(target: SocketAddr) -> Link {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let target = Arc::new(Mutex::new(target));
        let mode = Arc::new(Mutex::new(Mode::Up));
        let open: Arc<Mutex<Vec<JoinHandle<()>>>> = Default::default();
        let requests: Arc<Mutex<Vec<String>>> = Default::default();
        let (t, m, o, r) = (target.clone(), mode.clone(), open.clone(), requests.clone());
        let accept = tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                let now = *m.lock().unwrap();
                if now == Mode::Down {
                    drop(client);
                    continue;
                }
                let to = *t.lock().unwrap();
                let log = r.clone();
                let conn = tokio::spawn(async move {
                    let Ok(server) = TcpStream::connect(to).await else {
                        return;
                    };
                    match now {
                        Mode::Up => forward(client, server, log).await,
                        _ => lose_answers(client, server).await,
                    }
                });
                o.lock().unwrap().push(conn);
            }
        });
        Link {
            addr,
            target,
            mode,
            open,
            requests,
            accept,
        }
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Switch mode; every connection open so far is cut, as a real outage would.
    pub fn set(&self, mode: Mode) {
        *self.mode.lock().unwrap() = mode;
        self.cut();
    }

    /// Send new connections to another server instance (a load balancer's choice, or the
    /// instance that replaced a dead one); open connections are cut.
    pub fn point_at(&self, target: SocketAddr) {
        *self.target.lock().unwrap() = target;
        self.cut();
    }

    fn cut(&self) {
        for c in self.open.lock().unwrap().drain(..) {
            c.abort();
        }
    }

    /// The request lines (`GET /api/v1/sync/changes?cursor=… HTTP/1.1`) sent through the link
    /// in plain HTTP, oldest first.
    pub fn requests(&self) -> Vec<String> {
        self.requests.lock().unwrap().clone()
    }
}

impl Drop for Link {
    fn drop(&mut self) {
        self.accept.abort();
        self.set(Mode::Down);
    }
}

/// Both ways, noting each request line the client sends before passing it on.
async fn forward(client: TcpStream, server: TcpStream, log: Arc<Mutex<Vec<String>>>) {
    let (mut cr, mut cw) = client.into_split();
    let (mut sr, mut sw) = server.into_split();
    let up = async move {
        let mut buf = vec![0u8; 64 * 1024];
        let mut line = Vec::new();
        loop {
            let n = match cr.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => n,
            };
            note_request_lines(&buf[..n], &mut line, &log);
            if sw.write_all(&buf[..n]).await.is_err() {
                break;
            }
        }
        let _ = sw.shutdown().await;
    };
    let down = async move {
        let _ = tokio::io::copy(&mut sr, &mut cw).await;
        let _ = cw.shutdown().await;
    };
    tokio::join!(up, down);
}

/// Request lines end in ` HTTP/1.1` and a CRLF; bodies are JSON, which holds no raw CRLF,
/// so a line that ends so after a body is the body followed by the next request line.
fn note_request_lines(bytes: &[u8], line: &mut Vec<u8>, log: &Mutex<Vec<String>>) {
    for &b in bytes {
        line.push(b);
        if line.ends_with(b"\r\n") {
            let text = String::from_utf8_lossy(&line[..line.len() - 2]).into_owned();
            if text.ends_with(" HTTP/1.1") {
                let start = ["GET /", "POST /", "PUT /", "DELETE /"]
                    .iter()
                    .filter_map(|m| text.rfind(m))
                    .max();
                if let Some(start) = start {
                    log.lock().unwrap().push(text[start..].to_string());
                }
            }
            line.clear();
        } else if line.len() > 64 * 1024 {
            line.drain(..line.len() - 4096);
        }
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

/// One server instance on a runtime of its own. [`Instance::kill`] drops that runtime: every
/// task stops at its next await, its connections (to devices and to the database) close and
/// PostgreSQL rolls back whatever transaction was open, as when the process dies.
pub struct Instance {
    pub addr: SocketAddr,
    pub url: String,
    running: Option<admit_server::RunningServer>,
    runtime: Option<tokio::runtime::Runtime>,
}

impl Instance {
    pub async fn start(database_url: &str, tls: Option<admit_server::TlsConfig>) -> Instance {
        let mut config = admit_server::Config::for_database(database_url);
        config.listen = "127.0.0.1:0".parse().unwrap();
        config.tls = tls;
        // A runtime cannot be started, nor dropped, on a thread that runs async tasks.
        tokio::task::spawn_blocking(move || {
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
                .unwrap();
            let running = runtime.block_on(admit_server::start(config)).unwrap();
            Instance {
                addr: running.addr,
                url: running.url(),
                running: Some(running),
                runtime: Some(runtime),
            }
        })
        .await
        .unwrap()
    }

    /// Stop dead, requests in flight and all.
    pub fn kill(mut self) {
        self.stop();
    }

    fn stop(&mut self) {
        if let Some(runtime) = self.runtime.take() {
            runtime.shutdown_background();
        }
        self.running.take();
    }
}

impl Drop for Instance {
    fn drop(&mut self) {
        self.stop();
    }
}

/// The server, its database, and the owner's session on it.
pub struct Server {
    pub instance: Option<Instance>,
    tls: Option<admit_server::TlsConfig>,
    pub admit: Admit,
    pub owner: Session,
    pg: TestPostgres,
}

impl Server {
    pub async fn start() -> Server {
        Server::start_with(None).await
    }

    /// A server speaking TLS with this certificate; devices reach it as `localhost`.
    pub async fn start_with(tls: Option<admit_server::TlsConfig>) -> Server {
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
        let instance = Instance::start(pg.url(), tls.clone()).await;
        Server {
            instance: Some(instance),
            tls,
            admit,
            owner,
            pg,
        }
    }

    pub fn addr(&self) -> SocketAddr {
        self.instance.as_ref().unwrap().addr
    }

    pub fn database_url(&self) -> &str {
        self.pg.url()
    }

    /// One more instance on the same database, as behind a load balancer.
    pub async fn another_instance(&self) -> Instance {
        Instance::start(self.pg.url(), self.tls.clone()).await
    }

    /// The address a device uses to reach the server through `link`.
    pub fn url_through(&self, link: &Link) -> String {
        match self.tls {
            Some(_) => format!("https://localhost:{}", link.addr.port()),
            None => link.url(),
        }
    }

    pub async fn pair(&self, name: &str, role: &str) -> (DeviceId, String) {
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
    pub async fn event(&self, size: i64) -> (Event, TicketType, Quota, String) {
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

    /// A list of `event` that lets people back in after they left.
    pub async fn in_and_out_list(&self, event: &Event) -> String {
        self.admit
            .create_checkin_list(
                &self.owner,
                &CheckinListInput {
                    event_id: event.id.to_string(),
                    name: "Day passes".into(),
                    allow_entry_after_exit: true,
                    ..Default::default()
                },
                Utc::now(),
            )
            .await
            .unwrap()
            .id
            .to_string()
    }
}

/// The sync settings devices use unless a test says otherwise: small pages and batches, so
/// that paging and batching are exercised.
pub fn options(target: i64) -> SyncOptions {
    SyncOptions {
        allocation_target: target,
        allocation_low: target / 2,
        page: 50,
        upload_batch: 40,
        ..Default::default()
    }
}

/// A device: its own SQLite store, its own staff, its sync client behind a link.
pub struct Device {
    _db: TestSqlite,
    pub store: Arc<dyn Store>,
    pub admit: Admit,
    pub staff: Session,
    pub link: Link,
    pub sync: SyncClient,
    pub device_id: DeviceId,
    pub token: String,
    pub clock: Clock,
}

impl Device {
    pub async fn new(server: &Server, name: &str, role: &str, target: i64) -> Device {
        Device::with(server, name, role, options(target)).await
    }

    pub async fn with(server: &Server, name: &str, role: &str, options: SyncOptions) -> Device {
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
                options.clock.now(),
            )
            .await
            .unwrap();
        let (device_id, token) = server.pair(name, role).await;
        let link = Link::to(server.addr()).await;
        let clock = options.clock.clone();
        let url = server.url_through(&link);
        let sync = SyncClient::new(&url, &token, store.clone(), options).unwrap();
        Device {
            _db: db,
            store,
            admit,
            staff,
            link,
            sync,
            device_id,
            token,
            clock,
        }
    }

    /// The device's own time.
    pub fn now(&self) -> DateTime<Utc> {
        self.clock.now()
    }

    /// One round, tried again after a transient failure (a busy server), as the desktop's
    /// background loop does.
    pub async fn sync(&self) -> admit_sync::SyncReport {
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
    pub async fn sell_one(
        &self,
        event: &Event,
        tt: &TicketType,
    ) -> Option<(OrderWithTickets, String)> {
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
        match self.admit.sell(&self.staff, &sale, self.now()).await {
            Ok(o) => {
                let secret = self
                    .admit
                    .ticket_secret(&self.staff, &o.tickets[0].id.to_string(), self.now())
                    .await
                    .unwrap()
                    .secret;
                Some((o, secret))
            }
            Err(ApiError::SoldOut { .. }) => None,
            Err(e) => panic!("sale failed: {e:?}"),
        }
    }

    pub async fn scan(&self, list: &str, secret: &str, nonce: &str) -> RedeemAnswer {
        self.scan_with(list, secret, nonce, None).await
    }

    /// A scan at the device's own time, in `direction` (`None`: entry).
    pub async fn scan_with(
        &self,
        list: &str,
        secret: &str,
        nonce: &str,
        direction: Option<&str>,
    ) -> RedeemAnswer {
        self.admit
            .redeem(
                &self.staff,
                &RedeemInput {
                    raw: secret.into(),
                    list_id: list.into(),
                    direction: direction.map(Into::into),
                    gate: Some("North".into()),
                    nonce: nonce.into(),
                    at: None,
                    force: false,
                },
                self.now(),
            )
            .await
            .unwrap()
    }

    /// Orders and tickets with their statuses, and scan nonces: what every store must agree on.
    pub async fn picture(&self, event: EventId, list: &str) -> Picture {
        picture(&self.store, event, list).await
    }
}

pub type Picture = (Vec<String>, Vec<String>, Vec<String>);

pub async fn picture(store: &Arc<dyn Store>, event: EventId, list: &str) -> Picture {
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
pub async fn settle(devices: &[&Device]) {
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

/// The server's units of a quota: the valid tickets plus what devices hold.
pub async fn assert_units_add_up(server: &Server, quota: &Quota, devices: &[&Device]) {
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

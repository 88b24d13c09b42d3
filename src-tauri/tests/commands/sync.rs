//! Pairing and background sync through the window's commands, against a real server: the
//! server runs in this process on a free port over a fresh PostgreSQL database, and the
//! desktop talks HTTP to it as it would to any server.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use serde_json::{json, Value};

use admit_api::{
    Admit, CheckinListInput, EventInput, NewUserInput, PairingCodeInput, QuotaInput, RedeemInput,
    Session, TicketTypeInput,
};
use admit_testkit::TestPostgres;

use super::{first_run, start, Window, PASSWORD};

/// The server, its database, and its owner's session (for what the test does on the server's
/// side: events, expired codes, revoking).
struct Server {
    running: Option<admit_server::RunningServer>,
    addr: SocketAddr,
    admit: Admit,
    owner: Session,
    pg: TestPostgres,
}

fn block_on<F: std::future::Future>(f: F) -> F::Output {
    tauri::async_runtime::block_on(f)
}

impl Server {
    fn start() -> Server {
        block_on(async {
            let pg = TestPostgres::new().await;
            let admit = Admit::new(admit_store::open(pg.url()).await.expect("server store"));
            let owner = admit
                .create_first_owner(
                    &NewUserInput {
                        username: "owner".into(),
                        display_name: "Olga Owner".into(),
                        password: PASSWORD.into(),
                        role: String::new(),
                    },
                    None,
                    Utc::now(),
                )
                .await
                .expect("server owner");
            let running = serve(&pg, "127.0.0.1:0".parse().unwrap()).await;
            Server {
                addr: running.addr,
                running: Some(running),
                admit,
                owner,
                pg,
            }
        })
    }

    fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    fn stop(&mut self) {
        if let Some(r) = self.running.take() {
            block_on(r.shutdown()).expect("server stopped");
        }
    }

    /// Start again on the same address, as a restarted server would.
    fn restart(&mut self) {
        assert!(self.running.is_none());
        let running = block_on(serve(&self.pg, self.addr));
        self.running = Some(running);
    }

    /// A published event on the server: one ticket type under a quota and a check-in list.
    fn event(&self) -> (String, String) {
        let (a, s, now) = (&self.admit, &self.owner, Utc::now());
        block_on(async {
            let event = a
                .create_event(
                    s,
                    &EventInput {
                        name: "Harbour Festival".into(),
                        description: String::new(),
                        venue: "Pier 4".into(),
                        starts_at: (now + chrono::Duration::days(3)).to_rfc3339(),
                        ends_at: (now + chrono::Duration::days(3) + chrono::Duration::hours(6))
                            .to_rfc3339(),
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
            a.create_quota(
                s,
                &QuotaInput {
                    event_id: event.id.to_string(),
                    name: "Capacity".into(),
                    size: 500,
                    ticket_type_ids: vec![tt.id.to_string()],
                },
                now,
            )
            .await
            .unwrap();
            a.create_checkin_list(
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
            a.publish_event(s, &event.id.to_string(), now)
                .await
                .unwrap();
            (event.id.to_string(), tt.id.to_string())
        })
    }

    /// A pairing code made on the server directly, at `now`.
    fn code_at(&self, role: &str, now: DateTime<Utc>) -> String {
        block_on(self.admit.create_pairing_code(
            &self.owner,
            &PairingCodeInput {
                name: "Desk 2".into(),
                role: role.into(),
                expires_in_minutes: None,
            },
            now,
        ))
        .expect("pairing code")
        .code
    }

    /// The event's (only) check-in list.
    fn list(&self, event: &str) -> String {
        block_on(self.admit.list_checkin_lists(&self.owner, event)).expect("lists")[0]
            .id
            .to_string()
    }

    fn orders(&self, event: &str) -> usize {
        block_on(self.admit.search_orders(&self.owner, Some(event), "", 1000))
            .expect("orders")
            .len()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop();
    }
}

async fn serve(pg: &TestPostgres, listen: SocketAddr) -> admit_server::RunningServer {
    let mut config = admit_server::Config::for_database(pg.url());
    config.listen = listen;
    config.shutdown_grace_secs = 1;
    admit_server::start(config).await.expect("server started")
}

/// An address where nothing listens.
fn nowhere() -> String {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = l.local_addr().unwrap();
    drop(l);
    format!("http://{addr}")
}

fn ms_between(later: &Value, earlier: &Value) -> i64 {
    let t = |v: &Value| {
        DateTime::parse_from_rfc3339(v.as_str().unwrap_or_else(|| panic!("a time: {v}"))).unwrap()
    };
    (t(later) - t(earlier)).num_milliseconds()
}

/// Ask for the status until `ok` holds or `limit` passes; the last status either way.
fn wait_for(w: &Window, limit: Duration, ok: impl Fn(&Value) -> bool) -> Value {
    let until = Instant::now() + limit;
    loop {
        let s = w.ok("sync_status", json!({}));
        if ok(&s) || Instant::now() > until {
            return s;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn pairing_refuses_bad_input_and_an_owner_makes_codes_on_the_server() {
    let server = Server::start();
    let dir = tempfile::tempdir().unwrap();
    let w = start(dir.path());
    first_run(&w);
    assert_eq!(w.ok("sync_status", json!({}))["state"], "unpaired");
    assert_eq!(
        w.err("sync_now", json!({}))["code"],
        "conflict",
        "nothing to sync with before pairing"
    );

    let connect = |url: &str, code: &str| {
        w.err(
            "connect_server",
            json!({ "input": { "server_url": url, "code": code } }),
        )
    };
    let e = connect("tickets.example.org", "7KQM-X3TA-9RWE");
    assert_eq!(
        (e["code"].as_str(), e["field"].as_str()),
        (Some("invalid_input"), Some("server_url")),
        "{e}"
    );
    let e = connect(&server.url(), "1234");
    assert_eq!(
        (e["code"].as_str(), e["field"].as_str()),
        (Some("invalid_input"), Some("code")),
        "{e}"
    );
    let e = connect(&nowhere(), "7KQM-X3TA-9RWE");
    assert_eq!(
        (e["code"].as_str(), e["field"].as_str()),
        (Some("server_unreachable"), Some("server_url")),
        "{e}"
    );
    // Well formed, but no such code on the server: the server's own refusal comes back.
    let e = connect(&server.url(), "7KQM-X3TA-9RWE");
    assert_eq!(
        (e["code"].as_str(), e["field"].as_str()),
        (Some("invalid_input"), Some("code")),
        "{e}"
    );
    let expired = server.code_at("door", Utc::now() - chrono::Duration::hours(1));
    let e = connect(&server.url(), &expired);
    assert_eq!(e["field"], "code", "{e}");
    assert!(e["message"].as_str().unwrap().contains("expired"), "{e}");
    assert_eq!(
        w.ok("sync_status", json!({}))["state"],
        "unpaired",
        "a refused pairing keeps nothing"
    );

    // The owner's screen: log in to the server and make a code for another device.
    let request = |password: &str, role: &str| {
        json!({ "input": {
            "server_url": server.url(), "username": "owner", "password": password,
            "name": "North door", "role": role, "expires_in_minutes": 30
        }})
    };
    let e = w.err("create_pairing_code", request("wrong password", "door"));
    assert_eq!(e["code"], "unauthenticated", "{e}");
    let e = w.err("create_pairing_code", request(PASSWORD, "cashier"));
    assert_eq!(
        (e["code"].as_str(), e["field"].as_str()),
        (Some("invalid_input"), Some("role")),
        "{e}"
    );
    let issued = w.ok("create_pairing_code", request(PASSWORD, "door"));
    let code = issued["code"].as_str().unwrap().to_string();
    assert_eq!(
        code.len(),
        14,
        "twelve characters in groups of four: {code}"
    );
    assert!(issued["qr_svg"].as_str().unwrap().contains("<svg"));
    let left = ms_between(&issued["expires_at"], &json!(Utc::now().to_rfc3339()));
    assert!(
        (29 * 60_000..=30 * 60_000).contains(&left),
        "good for the 30 minutes asked: {left} ms"
    );

    // This desk pairs with the code (typed in lower case with spaces, as people do).
    let typed = code.to_lowercase().replace('-', " ");
    let status = w.ok(
        "connect_server",
        json!({ "input": { "server_url": format!("{}/", server.url()), "code": typed } }),
    );
    assert_eq!(status["server_url"], server.url());
    assert_eq!(status["device_name"], "North door");
    assert_eq!(status["device_role"], "door");
    let e = connect(&server.url(), &code);
    assert_eq!(e["code"], "conflict", "paired already: {e}");

    let synced = wait_for(&w, Duration::from_secs(20), |s| s["state"] == "synced");
    assert_eq!(synced["state"], "synced", "{synced}");
    assert_eq!(synced["online"], true);
    assert_eq!(
        synced["double_admissions"],
        Value::Null,
        "a door may not read the conflicts, and that is no failure: {synced}"
    );

    // The pairing survives a restart, and the token never reaches the window.
    let device = synced["device_id"].clone();
    drop(w);
    let w = start(dir.path());
    w.ok("login", json!({ "username": "olga", "password": PASSWORD }));
    let again = wait_for(&w, Duration::from_secs(20), |s| s["state"] == "synced");
    assert_eq!(again["device_id"], device, "{again}");
    assert!(!again.to_string().contains("admit_"), "no token in {again}");
    let settings = std::fs::read_to_string(dir.path().join("settings.json")).unwrap();
    assert!(
        settings.contains("admit_"),
        "the token is kept in the settings file"
    );
}

#[test]
fn background_sync_downloads_uploads_backs_off_and_stops_when_refused() {
    let mut server = Server::start();
    let (event, day_pass) = server.event();
    let dir = tempfile::tempdir().unwrap();
    let w = start(dir.path());
    first_run(&w);
    assert_eq!(w.ok("list_events", json!({})).as_array().unwrap().len(), 0);

    let code = server.code_at("box_office", Utc::now());
    w.ok(
        "connect_server",
        json!({ "input": { "server_url": server.url(), "code": code } }),
    );
    // The loop's first round starts at once; "Sync now" runs one more after it.
    let s = w.ok("sync_now", json!({}));
    assert_eq!(s["state"], "synced", "{s}");
    assert_eq!(s["online"], true);
    assert_eq!(s["failures"], 0);
    assert_eq!(s["waiting"], 0);
    assert_eq!(
        s["double_admissions"], 0,
        "a box office sees conflicts: {s}"
    );
    assert_eq!(s["upload_conflicts"], 0);
    assert!(s["clock_offset_ms"].as_i64().unwrap().abs() < 5_000, "{s}");
    assert_eq!(
        ms_between(&s["next_attempt_at"], &s["last_attempt_at"]),
        15_000,
        "all well: the usual pace"
    );

    // The server's event is on this desk now, and the screens see it (nothing stale cached).
    let events = w.ok("list_events", json!({}));
    assert_eq!(events[0]["name"], "Harbour Festival", "{events}");
    assert_eq!(events[0]["id"], event.as_str());

    // The server is the authority for the catalogue: while paired, the desk changes none of it.
    let new_event = json!({ "input": {
        "name": "Late show", "description": "", "venue": "Pier 4",
        "starts_at": "2027-03-01T20:00:00+00:00", "ends_at": "2027-03-01T23:00:00+00:00",
        "time_zone": "Europe/Lisbon", "category_id": null
    }});
    let refused = w.err("create_event", new_event.clone());
    assert_eq!(refused["code"], "managed_by_server", "{refused}");
    assert!(
        refused["message"].as_str().unwrap().contains(&server.url()),
        "{refused}"
    );
    let refused = w.err("cancel_event", json!({ "eventId": event }));
    assert_eq!(refused["code"], "managed_by_server", "{refused}");
    let events = w.ok("list_events", json!({}));
    assert_eq!(
        events.as_array().unwrap().len(),
        1,
        "nothing written: {events}"
    );
    assert_eq!(events[0]["status"], "published", "{events}");

    let sell = || {
        w.ok(
            "sell",
            json!({ "input": {
                "event_id": event, "payment_method": "cash",
                "lines": [{ "ticket_type_id": day_pass, "quantity": 2 }]
            }}),
        )
    };
    sell();
    let s = w.ok("sync_status", json!({}));
    assert!(
        s["waiting"].as_u64().unwrap() >= 1,
        "the sale waits to go up: {s}"
    );
    let s = w.ok("sync_now", json!({}));
    assert_eq!(s["waiting"], 0, "{s}");
    assert!(s["last_round"]["uploaded"].as_u64().unwrap() >= 1, "{s}");
    assert_eq!(server.orders(&event), 1, "the sale reached the server");

    // The server goes away: the desk keeps selling, and sync backs off 1 s, 2 s, 4 s …
    server.stop();
    let s = w.ok("sync_now", json!({}));
    assert_eq!(s["state"], "offline", "{s}");
    assert_eq!(s["online"], false);
    assert_eq!(s["failures"], 1);
    assert!(
        s["error"].as_str().unwrap().contains("cannot be reached"),
        "{s}"
    );
    assert_eq!(
        ms_between(&s["next_attempt_at"], &s["last_attempt_at"]),
        1_000
    );
    sell();
    let s = wait_for(&w, Duration::from_secs(15), |s| {
        s["failures"].as_u64().unwrap_or(0) >= 3
    });
    assert!(
        s["failures"].as_u64().unwrap() >= 3,
        "tried again by itself: {s}"
    );
    let n = s["failures"].as_u64().unwrap() as u32;
    assert_eq!(
        ms_between(&s["next_attempt_at"], &s["last_attempt_at"]),
        1_000 * (1i64 << (n - 1)).min(60),
        "doubling waits: {s}"
    );
    assert!(
        s["waiting"].as_u64().unwrap() >= 1,
        "the offline sale is kept: {s}"
    );

    // Back again: the next round works, the sale goes up, and the waits start over.
    server.restart();
    let s = w.ok("sync_now", json!({}));
    assert_eq!(s["state"], "synced", "{s}");
    assert_eq!(s["failures"], 0);
    assert_eq!(s["error"], Value::Null);
    assert_eq!(s["waiting"], 0);
    assert_eq!(
        ms_between(&s["next_attempt_at"], &s["last_attempt_at"]),
        15_000
    );
    assert_eq!(server.orders(&event), 2, "the offline sale arrived once");

    // Revoked on the server: the device is refused and sync stops until someone acts.
    let device = s["device_id"].as_str().unwrap().to_string();
    block_on(
        server
            .admit
            .revoke_device(&server.owner, &device, Utc::now()),
    )
    .expect("revoked");
    let s = w.ok("sync_now", json!({}));
    assert_eq!(s["state"], "refused", "{s}");
    assert_eq!(s["next_attempt_at"], Value::Null, "no more tries by itself");
    std::thread::sleep(Duration::from_millis(2_500));
    let later = w.ok("sync_status", json!({}));
    assert_eq!(later["failures"], s["failures"], "stopped: {later}");

    // Disconnecting forgets the server; the desk's own data stays.
    let s = w.ok("disconnect_server", json!({}));
    assert_eq!(s["state"], "unpaired");
    assert_eq!(s["server_url"], Value::Null);
    assert_eq!(w.err("sync_now", json!({}))["code"], "conflict");
    assert_eq!(w.ok("list_events", json!({})).as_array().unwrap().len(), 1);
    let orders = w.ok("search_orders", json!({ "query": "", "eventId": event }));
    assert_eq!(orders.as_array().unwrap().len(), 2, "{orders}");
    // Not paired any more: the catalogue is the desk's own again.
    w.ok("create_event", new_event);
    assert_eq!(w.ok("list_events", json!({})).as_array().unwrap().len(), 2);
}

#[test]
fn double_admissions_are_listed_with_who_where_and_when() {
    let mut server = Server::start();
    let (event, day_pass) = server.event();
    let list = server.list(&event);
    let dir = tempfile::tempdir().unwrap();
    let w = start(dir.path());
    first_run(&w);
    // Not paired, nothing to ask; paired, an empty list.
    assert_eq!(w.err("sync_conflicts", json!({}))["code"], "conflict");
    let code = server.code_at("box_office", Utc::now());
    w.ok(
        "connect_server",
        json!({ "input": { "server_url": server.url(), "code": code } }),
    );
    w.ok("sync_now", json!({}));
    let none = w.ok("sync_conflicts", json!({}));
    assert_eq!(none["double_admissions"], json!([]), "{none}");
    assert_eq!(none["uploads"], json!([]), "{none}");

    let sold = w.ok(
        "sell",
        json!({ "input": {
            "event_id": event, "payment_method": "cash",
            "lines": [{ "ticket_type_id": day_pass, "quantity": 1 }]
        }}),
    );
    let secret = sold["cards"][0]["secret"].as_str().unwrap().to_string();
    let s = w.ok("sync_now", json!({}));
    assert_eq!(s["waiting"], 0, "the sale went up: {s}");

    // A door on the server lets the ticket in; then the desk is cut off and lets it in too.
    let south = block_on(server.admit.redeem(
        &server.owner,
        &RedeemInput {
            raw: secret.clone(),
            list_id: list.clone(),
            gate: Some("South".into()),
            nonce: "server-south-1".into(),
            ..Default::default()
        },
        Utc::now(),
    ))
    .expect("redeemed on the server");
    assert_eq!(serde_json::to_value(south.verdict).unwrap(), "ok");
    server.stop();
    let north = w.ok(
        "redeem",
        json!({ "input": { "raw": secret, "list_id": list, "nonce": "desk-north-1", "gate": "North" } }),
    );
    assert_eq!(
        north["verdict"], "ok",
        "offline, the desk knows nothing of South: {north}"
    );
    assert_eq!(
        w.err("sync_conflicts", json!({}))["code"],
        "offline",
        "the list is the server's"
    );

    server.restart();
    let s = w.ok("sync_now", json!({}));
    assert_eq!(s["state"], "synced", "{s}");
    assert_eq!(s["double_admissions"], 1, "{s}");
    let found = w.ok("sync_conflicts", json!({}));
    let d = &found["double_admissions"].as_array().unwrap()[0];
    assert_eq!(
        found["double_admissions"].as_array().unwrap().len(),
        1,
        "{found}"
    );
    assert_eq!(d["gate"], "North", "where: {d}");
    assert_eq!(d["device_id"], s["device_id"], "who: {d}");
    assert_eq!(d["list_id"], list.as_str());
    assert!(
        ms_between(&json!(Utc::now().to_rfc3339()), &d["at"]).abs() < 60_000,
        "when: {d}"
    );
    assert!(
        d["explanation"].as_str().unwrap().contains("at South"),
        "the earlier entry: {d}"
    );
}

#[test]
fn only_owners_pair_and_unpair() {
    let dir = tempfile::tempdir().unwrap();
    let w = start(dir.path());
    first_run(&w);
    w.ok(
        "create_user",
        json!({ "input": { "username": "bob", "display_name": "Bob", "password": PASSWORD, "role": "box_office" } }),
    );
    w.ok("logout", json!({}));
    w.ok("login", json!({ "username": "bob", "password": PASSWORD }));
    for (cmd, args) in [
        (
            "connect_server",
            json!({ "input": { "server_url": "http://127.0.0.1:9", "code": "7KQM-X3TA-9RWE" } }),
        ),
        ("disconnect_server", json!({})),
        (
            "create_pairing_code",
            json!({ "input": { "server_url": "http://127.0.0.1:9", "username": "owner",
                               "password": PASSWORD, "name": "Desk", "role": "door",
                               "expires_in_minutes": null } }),
        ),
    ] {
        assert_eq!(
            w.err(cmd, args)["code"],
            "forbidden",
            "{cmd} for the box office"
        );
    }
    assert_eq!(w.ok("sync_status", json!({}))["state"], "unpaired");
}

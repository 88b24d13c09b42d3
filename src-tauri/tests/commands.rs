//! The desktop's commands through Tauri's real IPC layer (mock runtime, no display): what the
//! window sends and what it gets back, including `{code, message}` errors, the kiosk lock and
//! settings that survive a restart.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};

use base64::Engine;
use serde_json::{json, Value};
use tauri::ipc::{CallbackFn, InvokeBody, InvokeResponseBody};
use tauri::test::{get_ipc_response, mock_builder, MockRuntime, INVOKE_KEY};
use tauri::webview::InvokeRequest;
use tauri::{App, WebviewWindow, WebviewWindowBuilder};

/// What commands sent through channels: (channel id, message as JSON).
type Sent = Arc<Mutex<Vec<(u32, Value)>>>;

struct Window {
    _app: App<MockRuntime>,
    webview: WebviewWindow<MockRuntime>,
    sent: Sent,
}

/// The exports folder of this test binary. It is set once, before any app starts, because
/// the environment is shared by every test thread.
fn export_root() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let dir = tempfile::tempdir().expect("exports folder").keep();
        std::env::set_var(admit_desktop::exports::EXPORT_DIR_ENV, &dir);
        dir
    })
}

/// The exports folder, emptied and held by one test at a time so a test can see exactly
/// which files it made (and that a failed export left none).
fn exports() -> (MutexGuard<'static, ()>, PathBuf) {
    static LOCK: Mutex<()> = Mutex::new(());
    let guard = LOCK.lock().unwrap_or_else(|e| e.into_inner());
    let dir = export_root().to_path_buf();
    for entry in std::fs::read_dir(&dir).expect("exports folder") {
        std::fs::remove_file(entry.unwrap().path()).expect("emptied");
    }
    (guard, dir)
}

fn files_in(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .expect("exports folder")
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

/// A fresh app on the data folder `dir`, as if started anew.
fn start(dir: &Path) -> Window {
    export_root();
    let dir = dir.to_path_buf();
    let sent: Sent = Arc::default();
    let record = sent.clone();
    let app = mock_builder()
        .plugin(tauri_plugin_store::Builder::default().build())
        // Channel messages would go to the page's JavaScript; the test keeps them instead.
        .channel_interceptor(move |_, callback, _, body| {
            let value = match body {
                InvokeResponseBody::Json(text) => serde_json::from_str(text).expect("json"),
                InvokeResponseBody::Raw(bytes) => json!(bytes),
            };
            record.lock().unwrap().push((callback.0, value));
            true
        })
        .invoke_handler(admit_desktop::admit_handlers!())
        // The app's own context, so the window gets exactly the capabilities it ships with.
        .build(tauri::generate_context!())
        .expect("app builds");
    // What the real app's setup hook does, on the test's own data folder.
    admit_desktop::setup_in(app.handle(), dir).expect("state built");
    let webview = WebviewWindowBuilder::new(&app, "main", Default::default())
        .build()
        .expect("window");
    Window {
        _app: app,
        webview,
        sent,
    }
}

impl Window {
    /// Call a command; Ok is its JSON answer, Err the `{code, message, field}` it failed with.
    fn call(&self, cmd: &str, args: Value) -> Result<Value, Value> {
        let res = get_ipc_response(
            &self.webview,
            InvokeRequest {
                cmd: cmd.into(),
                callback: CallbackFn(0),
                error: CallbackFn(1),
                // The origin the embedded UI has on Linux and macOS.
                url: "tauri://localhost".parse().expect("url"),
                body: InvokeBody::Json(args),
                headers: Default::default(),
                invoke_key: INVOKE_KEY.to_string(),
            },
        );
        match res {
            Ok(body) => Ok(body.deserialize::<Value>().expect("json answer")),
            Err(e) => Err(e),
        }
    }

    fn ok(&self, cmd: &str, args: Value) -> Value {
        self.call(cmd, args)
            .unwrap_or_else(|e| panic!("{cmd} failed: {e}"))
    }

    fn err(&self, cmd: &str, args: Value) -> Value {
        match self.call(cmd, args) {
            Ok(v) => panic!("{cmd} should fail but answered {v}"),
            Err(e) => e,
        }
    }
}

const PASSWORD: &str = "correct horse battery";

/// First run with the default SQLite file and an owner, logged in.
fn first_run(w: &Window) {
    let status = w.ok("app_status", json!({}));
    assert_eq!(status["needs_setup"], true);
    assert_eq!(status["database"], Value::Null, "nothing chosen yet");
    let status = w.ok("choose_database", json!({ "location": null }));
    assert!(
        status["database"]
            .as_str()
            .unwrap()
            .ends_with("admit.sqlite"),
        "{status}"
    );
    assert_eq!(status["needs_setup"], true, "no owner yet");
    let me = w.ok(
        "create_owner",
        json!({ "input": { "username": "olga", "display_name": "Olga", "password": PASSWORD } }),
    );
    assert_eq!(me["role"], "owner");
}

/// A published event with two types sharing one quota and a check-in list.
fn event(w: &Window) -> (String, String, String, String) {
    let ev = w.ok(
        "create_event",
        json!({ "input": {
            "name": "Gala", "venue": "Town Hall", "time_zone": "Europe/Berlin",
            "starts_at": "2030-05-01T19:30:00+02:00", "ends_at": "2030-05-01T23:00:00+02:00"
        }}),
    );
    let id = ev["id"].as_str().unwrap().to_string();
    let adult = w.ok(
        "create_ticket_type",
        json!({ "input": { "event_id": id, "name": "Adult", "price_minor": 2500, "currency": "EUR" } }),
    )["id"]
        .as_str()
        .unwrap()
        .to_string();
    let child = w.ok(
        "create_ticket_type",
        json!({ "input": { "event_id": id, "name": "Child", "price_minor": 1000, "currency": "EUR" } }),
    )["id"]
        .as_str()
        .unwrap()
        .to_string();
    w.ok(
        "create_quota",
        json!({ "input": { "event_id": id, "name": "Hall", "size": 3, "ticket_type_ids": [adult, child] } }),
    );
    let list = w.ok(
        "create_checkin_list",
        json!({ "input": { "event_id": id, "name": "Main door" } }),
    )["id"]
        .as_str()
        .unwrap()
        .to_string();
    let published = w.ok("publish_event", json!({ "eventId": id }));
    assert_eq!(published["status"], "published");
    (id, adult, child, list)
}

#[test]
fn first_run_sell_scan_cancel_through_ipc() {
    let dir = tempfile::tempdir().unwrap();
    let w = start(dir.path());
    first_run(&w);
    let (ev, adult, child, list) = event(&w);

    let sold = w.ok(
        "sell",
        json!({ "input": {
            "event_id": ev, "payment_method": "cash",
            "lines": [
                { "ticket_type_id": adult, "quantity": 1, "attendee_names": ["Ada"] },
                { "ticket_type_id": child, "quantity": 1 }
            ]
        }}),
    );
    assert_eq!(
        sold["order"]["order"]["total"]["minor"], 3500,
        "computed on our side"
    );
    let cards = sold["cards"].as_array().unwrap();
    assert_eq!(cards.len(), 2);
    assert!(cards[0]["qr_svg"].as_str().unwrap().starts_with("<svg"));
    assert_eq!(cards[0]["ticket_type"], "Adult");
    assert_eq!(cards[0]["attendee_name"], "Ada");
    assert!(
        cards[0]["starts_local"]
            .as_str()
            .unwrap()
            .contains("19:30 CEST"),
        "shown in the event's zone: {}",
        cards[0]["starts_local"]
    );
    let first = cards[0]["secret"].as_str().unwrap().to_string();
    let second = cards[1]["secret"].as_str().unwrap().to_string();

    // Only 1 of the 3 shared units is left: a sale of 2 is refused whole.
    let quota = w.ok("event_detail", json!({ "eventId": ev }))["availability"]["quotas"][0]
        ["quota"]
        .clone();
    let e = w.err(
        "sell",
        json!({ "input": { "event_id": ev, "payment_method": "card", "card_confirmed": true,
                           "lines": [{ "ticket_type_id": adult, "quantity": 2 }] } }),
    );
    assert_eq!(e["code"], "sold_out", "{e}");
    // Shrinking the quota below what is sold is refused; growing it makes room.
    let resize = |size: i64, version: &Value| {
        w.call(
            "update_quota",
            json!({ "quotaId": quota["id"], "expectedVersion": version, "input": {
                "event_id": ev, "name": "Hall", "size": size, "ticket_type_ids": [adult, child] } }),
        )
    };
    assert_eq!(
        resize(1, &quota["meta"]["version"]).unwrap_err()["code"],
        "invalid_input"
    );
    let grown = resize(4, &quota["meta"]["version"]).expect("grown");
    assert_eq!(grown["size"], 4);
    assert_eq!(
        resize(5, &quota["meta"]["version"]).unwrap_err()["code"],
        "stale"
    );

    let scan = |raw: &str, n: &str| {
        w.ok(
            "redeem",
            json!({ "input": { "raw": raw, "list_id": list, "nonce": n, "gate": "North" } }),
        )
    };
    assert_eq!(scan(&first, "n1")["verdict"], "ok");
    let again = scan(&first, "n2");
    assert_eq!(again["verdict"], "already_redeemed");
    assert_eq!(again["earlier_entry"]["gate"], "North");
    let mut forged = second.clone().into_bytes();
    let mid = forged.len() / 2;
    forged[mid] = if forged[mid] == b'A' { b'B' } else { b'A' };
    assert_eq!(
        scan(&String::from_utf8(forged).unwrap(), "n3")["verdict"],
        "invalid"
    );
    let counts = w.ok("checkin_counts", json!({ "listId": list }));
    assert_eq!(
        (counts["admitted"].as_u64(), counts["inside"].as_u64()),
        (Some(1), Some(1))
    );

    let code = sold["order"]["order"]["code"].as_str().unwrap();
    let found = w.ok(
        "search_orders",
        json!({ "query": &code[..4], "eventId": null }),
    );
    assert!(found.as_array().unwrap().iter().any(|o| o["code"] == code));
    let order_id = sold["order"]["order"]["id"].as_str().unwrap();
    let view = w.ok("get_order", json!({ "orderId": order_id }));
    assert_eq!(view["type_names"][&adult], "Adult");
    let child_ticket = sold["order"]["tickets"][1]["id"].as_str().unwrap();
    let after = w.ok(
        "cancel_tickets",
        json!({ "input": { "order_id": order_id, "ticket_ids": [child_ticket] } }),
    );
    let status_of = |id: &str| {
        after["tickets"]
            .as_array()
            .unwrap()
            .iter()
            .find(|t| t["id"] == id)
            .map(|t| t["status"].clone())
    };
    assert_eq!(status_of(child_ticket), Some(json!("cancelled")));
    let adult_ticket = sold["order"]["tickets"][0]["id"].as_str().unwrap();
    assert_eq!(status_of(adult_ticket), Some(json!("valid")));
    assert_eq!(after["order"]["total"]["minor"], 2500);
    assert_eq!(scan(&second, "n4")["verdict"], "canceled");
    let reprint = w.ok("ticket_cards", json!({ "orderId": order_id }));
    assert_eq!(
        reprint.as_array().unwrap().len(),
        1,
        "cancelled tickets are not reprinted"
    );
    assert_eq!(
        reprint[0]["secret"],
        first.as_str(),
        "a reprint is the same ticket"
    );

    let dash = w.ok("dashboard", json!({}));
    assert_eq!(dash["today_tickets"], 1);
    assert_eq!(dash["today_revenue"][0]["minor"], 2500);
    assert_eq!(dash["events"][0]["sold"], 1);
    assert_eq!(dash["events"][0]["capacity"], 4, "the quota as resized");
    assert_eq!(dash["events"][0]["admitted"], 1);
}

#[test]
fn errors_are_typed_and_change_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let w = start(dir.path());
    let e = w.err("list_events", json!({}));
    assert_eq!(e["code"], "unauthenticated", "{e}");
    first_run(&w);
    let e = w.err(
        "create_event",
        json!({ "input": { "name": "", "venue": "Hall", "time_zone": "Mars/Olympus",
                           "starts_at": "2030-01-01T10:00:00Z", "ends_at": "2030-01-01T12:00:00Z" } }),
    );
    assert_eq!(e["code"], "invalid_input");
    assert!(e["field"].is_string() && e["message"].is_string(), "{e}");
    // Wrong JSON types are refused by the IPC layer before any use case runs.
    assert!(w
        .call("create_event", json!({ "input": { "name": 7 } }))
        .is_err());
    assert_eq!(
        w.ok("list_events", json!({})),
        json!([]),
        "nothing was written"
    );
    let e = w.err(
        "decode_qr",
        json!({ "width": 100000, "height": 100000, "luma": "" }),
    );
    assert_eq!(e["code"], "invalid_input");
    let e = w.err(
        "decode_qr",
        json!({ "width": 2, "height": 2, "luma": "not base64!" }),
    );
    assert_eq!(e["code"], "invalid_input");
    // A second first-run is refused once the owner exists.
    let e = w.err(
        "choose_database",
        json!({ "location": "/elsewhere.sqlite" }),
    );
    assert_eq!(e["code"], "conflict");
    w.ok("logout", json!({}));
    assert_eq!(w.err("list_events", json!({}))["code"], "unauthenticated");
    assert_eq!(
        w.err("login", json!({ "username": "olga", "password": "wrong" }))["code"],
        "unauthenticated"
    );
}

#[test]
fn a_camera_frame_is_decoded_in_rust() {
    let dir = tempfile::tempdir().unwrap();
    let w = start(dir.path());
    let text = "AT1:HELLO-DOOR";
    let png = admit_qr::qr_png(text, 6).unwrap();
    let img = image_luma(&png);
    let luma = base64::engine::general_purpose::STANDARD.encode(&img.2);
    let found = w.ok(
        "decode_qr",
        json!({ "width": img.0, "height": img.1, "luma": luma }),
    );
    assert_eq!(found, text);
    let blank = base64::engine::general_purpose::STANDARD.encode(vec![255u8; 64 * 64]);
    assert_eq!(
        w.ok(
            "decode_qr",
            json!({ "width": 64, "height": 64, "luma": blank })
        ),
        Value::Null
    );
}

fn image_luma(png: &[u8]) -> (u32, u32, Vec<u8>) {
    let img = image::load_from_memory(png).unwrap().to_luma8();
    (img.width(), img.height(), img.into_raw())
}

#[test]
fn kiosk_locks_to_the_door_until_the_pin_and_survives_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let list;
    {
        let w = start(dir.path());
        first_run(&w);
        let (_, _, _, l) = event(&w);
        list = l;
        assert_eq!(
            w.err("enter_kiosk", json!({}))["code"],
            "conflict",
            "no PIN yet"
        );
        assert_eq!(
            w.err("set_kiosk_pin", json!({ "pin": "12ab" }))["code"],
            "invalid_input"
        );
        let settings = w.ok("set_kiosk_pin", json!({ "pin": "2468" }));
        assert_eq!(settings["kiosk_pin_set"], true);
        w.ok(
            "save_settings",
            json!({ "input": { "device_name": "Desk 2", "gate": "North", "default_list_id": list,
                               "theme": "dark", "server_url": null } }),
        );
        assert_eq!(w.ok("enter_kiosk", json!({}))["kiosk"], true);
        for cmd in ["list_events", "dashboard", "logout"] {
            assert_eq!(
                w.err(cmd, json!({}))["code"],
                "forbidden",
                "{cmd} in kiosk mode"
            );
        }
        let doors = w.ok("door_lists", json!({}));
        assert_eq!(
            doors[0]["list"]["id"],
            list.as_str(),
            "the door still works"
        );
        let stored = std::fs::read_to_string(dir.path().join("settings.json")).unwrap();
        assert!(!stored.contains("2468"), "the PIN is stored hashed");
    }
    // Restarted (power cut): still a kiosk, settings kept; someone must log in again.
    let w = start(dir.path());
    let status = w.ok("app_status", json!({}));
    assert_eq!(status["kiosk"], true);
    assert_eq!(status["needs_setup"], false);
    assert_eq!(status["settings"]["device_name"], "Desk 2");
    assert_eq!(status["settings"]["theme"], "dark");
    assert_eq!(status["settings"]["default_list_id"], list.as_str());
    w.ok("login", json!({ "username": "olga", "password": PASSWORD }));
    assert_eq!(w.err("list_events", json!({}))["code"], "forbidden");
    for _ in 0..3 {
        assert_eq!(
            w.err("leave_kiosk", json!({ "pin": "1111" }))["code"],
            "forbidden"
        );
    }
    assert_eq!(
        w.err("leave_kiosk", json!({ "pin": "2468" }))["code"],
        "locked_out",
        "even the right PIN waits after three wrong ones"
    );
    drop(w);
    let w = start(dir.path());
    w.ok("login", json!({ "username": "olga", "password": PASSWORD }));
    assert_eq!(
        w.ok("leave_kiosk", json!({ "pin": "2468" }))["kiosk"],
        false
    );
    assert!(w.call("list_events", json!({})).is_ok());
}

#[test]
fn door_staff_see_the_door_only() {
    let (_lock, exports) = exports();
    let dir = tempfile::tempdir().unwrap();
    let w = start(dir.path());
    first_run(&w);
    let (ev, _, _, list) = event(&w);
    w.ok(
        "create_user",
        json!({ "input": { "username": "dora", "display_name": "Dora", "password": PASSWORD, "role": "door" } }),
    );
    w.ok("logout", json!({}));
    let me = w.ok("login", json!({ "username": "dora", "password": PASSWORD }));
    assert_eq!(me["role"], "door");
    assert_eq!(
        w.ok("door_lists", json!({}))[0]["list"]["id"],
        list.as_str()
    );
    assert_eq!(
        w.err("event_detail", json!({ "eventId": ev }))["code"],
        "forbidden"
    );
    assert_eq!(w.err("dashboard", json!({}))["code"], "forbidden");
    assert_eq!(
        w.err("search_orders", json!({ "query": "", "eventId": null }))["code"],
        "forbidden"
    );
    // No reports, exports, imports or ticket printing for the door.
    let window = json!({ "from": "2000-01-01T00:00:00Z", "to": "2000-01-02T00:00:00Z" });
    let csv = json!({ "event_id": ev, "csv": "ticket_type\nAdult\n" });
    for (cmd, args) in [
        (
            "chart_svg",
            json!({ "input": { "event_id": ev, "kind": "sales" } }),
        ),
        (
            "save_chart_png",
            json!({ "input": { "event_id": ev, "kind": "door" } }),
        ),
        (
            "export_csv",
            json!({ "input": { "event_id": ev, "kind": "scans" }, "onProgress": "__CHANNEL__:3" }),
        ),
        ("save_tickets_pdf", json!({ "input": { "event_id": ev } })),
        ("shift_report", json!({ "input": window })),
        ("import_preview", json!({ "input": csv })),
        ("import_orders", json!({ "input": csv })),
    ] {
        assert_eq!(w.err(cmd, args)["code"], "forbidden", "{cmd} for the door");
    }
    assert_eq!(files_in(&exports), Vec::<String>::new(), "nothing saved");
    assert!(
        w.sent.lock().unwrap().is_empty(),
        "no progress for a refused export"
    );
}

/// Room for imports and several sales: the test event's shared quota grown to 20.
fn grow_quota(w: &Window, ev: &str) {
    let quota = w.ok("event_detail", json!({ "eventId": ev }))["availability"]["quotas"][0]
        ["quota"]
        .clone();
    let mut input = json!({ "event_id": ev, "name": "Hall", "size": 20 });
    input["ticket_type_ids"] = quota["ticket_type_ids"].clone();
    let grown = w.ok(
        "update_quota",
        json!({ "quotaId": quota["id"], "expectedVersion": quota["meta"]["version"], "input": input }),
    );
    assert_eq!(grown["size"], 20);
}

/// The file a command says it saved: inside the exports folder, as long as it says.
fn saved_file(exports: &Path, saved: &Value) -> (String, Vec<u8>) {
    let path = PathBuf::from(saved["path"].as_str().expect("a path"));
    assert_eq!(
        path.parent(),
        Some(exports),
        "saved in ADMIT_EXPORT_DIR: {saved}"
    );
    let bytes = std::fs::read(&path).expect("the saved file exists");
    assert_eq!(saved["bytes"].as_u64(), Some(bytes.len() as u64), "{saved}");
    let name = path.file_name().unwrap().to_string_lossy().into_owned();
    (name, bytes)
}

/// An hour either side of now, as the shift report's window.
fn this_hour() -> Value {
    let now = chrono::Utc::now();
    json!({
        "from": (now - chrono::Duration::hours(1)).to_rfc3339(),
        "to": (now + chrono::Duration::hours(1)).to_rfc3339(),
    })
}

#[test]
fn charts_exports_shift_report_and_import_through_ipc() {
    let (_lock, exports) = exports();
    let dir = tempfile::tempdir().unwrap();
    let w = start(dir.path());
    first_run(&w);
    let (ev, adult, child, list) = event(&w);
    grow_quota(&w, &ev);
    let cash = w.ok(
        "sell",
        json!({ "input": { "event_id": ev, "payment_method": "cash", "buyer_name": "Ada Lovelace",
                           "lines": [{ "ticket_type_id": adult, "quantity": 1, "attendee_names": ["Ada"] }] } }),
    );
    let card = w.ok(
        "sell",
        json!({ "input": { "event_id": ev, "payment_method": "card", "card_confirmed": true,
                           "lines": [{ "ticket_type_id": child, "quantity": 2 }] } }),
    );
    let codes = [&cash, &card].map(|o| o["order"]["order"]["code"].as_str().unwrap().to_string());
    let admitted = w.ok(
        "redeem",
        json!({ "input": { "raw": cash["cards"][0]["secret"], "list_id": list, "nonce": "r1", "gate": "North" } }),
    );
    assert_eq!(admitted["verdict"], "ok");

    // Charts for the screen: SVG text, sized as asked, titled with the event.
    for kind in ["sales", "revenue", "door"] {
        let svg = w.ok(
            "chart_svg",
            json!({ "input": { "event_id": ev, "kind": kind, "width": 640, "height": 360 } }),
        );
        let svg = svg.as_str().expect("SVG text");
        assert!(
            svg.contains("<svg") && svg.trim_end().ends_with("</svg>"),
            "{kind}: {}",
            &svg[..svg.len().min(200)]
        );
        assert!(
            svg.contains("640") && svg.contains("360"),
            "{kind}: the size asked for"
        );
        assert!(svg.contains("Gala"), "{kind}: the title names the event");
    }
    let e = w.err(
        "chart_svg",
        json!({ "input": { "event_id": ev, "kind": "sales", "width": 10 } }),
    );
    assert_eq!(
        (e["code"].as_str(), e["field"].as_str()),
        (Some("invalid_input"), Some("width"))
    );

    // A chart saved as PNG.
    let saved = w.ok(
        "save_chart_png",
        json!({ "input": { "event_id": ev, "kind": "revenue" } }),
    );
    let (name, png) = saved_file(&exports, &saved);
    assert!(png.starts_with(b"\x89PNG\r\n\x1a\n"), "a PNG file");
    assert!(
        name.starts_with("gala-revenue-chart-") && name.ends_with(".png"),
        "{name}"
    );

    // Orders as CSV, with progress through the channel.
    let saved = w.ok(
        "export_csv",
        json!({ "input": { "event_id": ev, "kind": "orders" }, "onProgress": "__CHANNEL__:7" }),
    );
    assert_eq!(saved["rows"], 2, "{saved}");
    let (name, csv) = saved_file(&exports, &saved);
    assert!(
        name.starts_with("gala-orders-") && name.ends_with(".csv"),
        "{name}"
    );
    let csv = String::from_utf8(csv).expect("UTF-8");
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(
        lines[0],
        "order_id,code,created_at,status,channel,payment_method,buyer_name,buyer_email,total,currency,sold_by,device_id"
    );
    assert_eq!(lines.len(), 3, "the header and the two orders: {csv}");
    let row_of = |code: &str| {
        lines
            .iter()
            .find(|l| l.contains(code))
            .copied()
            .unwrap_or_default()
    };
    assert!(
        row_of(&codes[0]).contains(",cash,Ada Lovelace,,25.00,EUR,olga,"),
        "{csv}"
    );
    assert!(
        row_of(&codes[1]).contains(",card,,,20.00,EUR,olga,"),
        "{csv}"
    );
    let progress: Vec<Value> = w
        .sent
        .lock()
        .unwrap()
        .iter()
        .filter(|(id, _)| *id == 7)
        .map(|(_, v)| v.clone())
        .collect();
    assert_eq!(
        progress.first(),
        Some(&json!({ "done": 0, "total": 2 })),
        "{progress:?}"
    );
    assert_eq!(
        progress.last(),
        Some(&json!({ "done": 2, "total": 2 })),
        "{progress:?}"
    );

    // For spreadsheets: a byte-order mark first. Never over an earlier file of the same name.
    let again = w.ok(
        "export_csv",
        json!({ "input": { "event_id": ev, "kind": "attendees", "spreadsheet": true }, "onProgress": "__CHANNEL__:8" }),
    );
    assert_eq!(again["rows"], 3, "one row per ticket");
    let (_, attendees) = saved_file(&exports, &again);
    assert!(attendees.starts_with("\u{feff}ticket_id,".as_bytes()));
    let third = w.ok(
        "export_csv",
        json!({ "input": { "event_id": ev, "kind": "orders" }, "onProgress": "__CHANNEL__:9" }),
    );
    assert_ne!(third["path"], saved["path"]);
    assert_eq!(
        saved_file(&exports, &saved).1,
        csv.as_bytes(),
        "the first export is untouched"
    );

    // A failed export leaves no file behind.
    let before = files_in(&exports);
    assert_eq!(before.len(), 4, "{before:?}");
    let e = w.err(
        "export_csv",
        json!({ "input": { "event_id": "not-an-event", "kind": "orders" }, "onProgress": "__CHANNEL__:10" }),
    );
    assert_eq!(e["code"], "invalid_input", "{e}");
    assert_eq!(files_in(&exports), before);

    // Printable tickets: the whole event, and one order.
    let saved = w.ok(
        "save_tickets_pdf",
        json!({ "input": { "event_id": ev, "layout": "four_per_a4" } }),
    );
    let (name, pdf) = saved_file(&exports, &saved);
    assert!(pdf.starts_with(b"%PDF-"), "a PDF file");
    assert!(
        name.starts_with("gala-tickets-") && name.ends_with(".pdf"),
        "{name}"
    );
    let saved = w.ok(
        "save_tickets_pdf",
        json!({ "input": { "order_id": card["order"]["order"]["id"] } }),
    );
    let (name, pdf) = saved_file(&exports, &saved);
    assert!(pdf.starts_with(b"%PDF-"));
    assert!(
        name.contains(&codes[1].to_lowercase()),
        "{name} names the order {}",
        codes[1]
    );

    // The shift so far: per method, and the cash the drawer should hold.
    let report = w.ok("shift_report", json!({ "input": this_hour() }));
    let method = |m: &str| {
        report["by_method"]
            .as_array()
            .unwrap()
            .iter()
            .find(|x| x["method"] == m)
            .cloned()
            .unwrap_or(Value::Null)
    };
    assert_eq!(
        method("cash")["sales"],
        json!({ "minor": 2500, "currency": "EUR" })
    );
    assert_eq!(method("card")["sales"]["minor"], 2000);
    assert_eq!(method("card")["tickets"], 2);
    assert_eq!(
        report["drawers"][0]["cash_expected"]["minor"], 2500,
        "{report}"
    );
    assert_eq!(report["drawers"][0]["username"], "olga");

    // Import: a preview first, refused whole when a row is wrong, then the import.
    let good = "order,buyer_name,ticket_type,attendee,quantity,notes\n\
                W-1,Grace Hopper,Adult,Grace Hopper,1,VIP\n\
                W-1,Grace Hopper,Child,Tim Hopper,1,\n\
                W-2,Alan Turing,Adult,,2,\n";
    let preview = w.ok(
        "import_preview",
        json!({ "input": { "event_id": ev, "csv": good } }),
    );
    assert_eq!(
        (preview["orders"].as_u64(), preview["tickets"].as_u64()),
        (Some(2), Some(4))
    );
    assert_eq!(preview["ignored_columns"], json!(["notes"]));
    assert_eq!(preview["issues"], json!([]), "{preview}");
    let bad = "ticket_type,quantity\nAdult,1\nBalcony,1\nAdult,0\n";
    let preview = w.ok(
        "import_preview",
        json!({ "input": { "event_id": ev, "csv": bad } }),
    );
    let issues: Vec<(u64, String)> = preview["issues"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| {
            (
                i["line"].as_u64().unwrap(),
                i["column"].as_str().unwrap_or("").to_string(),
            )
        })
        .collect();
    assert_eq!(
        issues,
        [(3, "ticket_type".to_string()), (4, "quantity".to_string())]
    );
    let e = w.err(
        "import_orders",
        json!({ "input": { "event_id": ev, "csv": bad } }),
    );
    assert_eq!(e["code"], "invalid_input", "{e}");
    let imported = w.ok(
        "import_orders",
        json!({ "input": { "event_id": ev, "csv": good } }),
    );
    assert_eq!(imported, json!({ "orders": 2, "tickets": 4 }));
    let found = w.ok("search_orders", json!({ "query": "Hopper", "eventId": ev }));
    assert_eq!(found.as_array().unwrap().len(), 1, "{found}");
    let dash = w.ok("dashboard", json!({}));
    assert_eq!(
        dash["events"][0]["sold"], 7,
        "3 sold here and 4 imported, none from the bad file"
    );
}

#[test]
fn box_office_sees_its_own_shift_and_prints_tickets_but_exports_nothing() {
    let (_lock, exports) = exports();
    let dir = tempfile::tempdir().unwrap();
    let w = start(dir.path());
    first_run(&w);
    let (ev, adult, _, _) = event(&w);
    w.ok(
        "sell",
        json!({ "input": { "event_id": ev, "payment_method": "cash",
                           "lines": [{ "ticket_type_id": adult, "quantity": 1 }] } }),
    );
    let users = w.ok("list_users", json!({}));
    let olga = users[0]["id"].as_str().unwrap().to_string();
    w.ok(
        "create_user",
        json!({ "input": { "username": "bob", "display_name": "Bob", "password": PASSWORD, "role": "box_office" } }),
    );
    w.ok("logout", json!({}));
    w.ok("login", json!({ "username": "bob", "password": PASSWORD }));
    let sold = w.ok(
        "sell",
        json!({ "input": { "event_id": ev, "payment_method": "card", "card_confirmed": true,
                           "lines": [{ "ticket_type_id": adult, "quantity": 1 }] } }),
    );

    let own = w.ok("shift_report", json!({ "input": this_hour() }));
    let lines = own["lines"].as_array().unwrap();
    assert_eq!(lines.len(), 1, "only Bob's own sales: {own}");
    assert_eq!(lines[0]["username"], "bob");
    assert_eq!(lines[0]["method"], "card");
    let mut theirs = this_hour();
    theirs["user_id"] = json!(olga);
    assert_eq!(
        w.err("shift_report", json!({ "input": theirs }))["code"],
        "forbidden"
    );

    let saved = w.ok(
        "save_tickets_pdf",
        json!({ "input": { "order_id": sold["order"]["order"]["id"] } }),
    );
    let (_, pdf) = saved_file(&exports, &saved);
    assert!(pdf.starts_with(b"%PDF-"));
    for (cmd, args) in [
        (
            "chart_svg",
            json!({ "input": { "event_id": ev, "kind": "revenue" } }),
        ),
        (
            "export_csv",
            json!({ "input": { "event_id": ev, "kind": "orders" }, "onProgress": "__CHANNEL__:1" }),
        ),
        (
            "import_preview",
            json!({ "input": { "event_id": ev, "csv": "ticket_type\nAdult\n" } }),
        ),
    ] {
        assert_eq!(
            w.err(cmd, args)["code"],
            "forbidden",
            "{cmd} for the box office"
        );
    }
    assert_eq!(files_in(&exports).len(), 1, "only the tickets");
}

/// An amount as (minor units, currency).
fn money(v: &Value) -> (i64, String) {
    (
        v["minor"].as_i64().expect("minor units"),
        v["currency"].as_str().expect("a currency").to_string(),
    )
}

#[test]
fn a_coupon_sale_and_a_partial_refund_through_ipc() {
    let dir = tempfile::tempdir().unwrap();
    let w = start(dir.path());
    first_run(&w);
    let (ev, adult, _, _) = event(&w);
    let coupon = w.ok(
        "create_coupon",
        json!({ "input": { "event_id": ev, "code": "spring-10", "kind": "percent", "value": "10" } }),
    );
    assert_eq!(coupon["code"], "SPRING-10", "codes are kept upper-case");
    assert_eq!(coupon["value"], 1000, "hundredths of a percent");
    let listed = w.ok("list_coupons", json!({ "eventId": ev }));
    assert_eq!(listed.as_array().unwrap().len(), 1);

    // The quote shows the discount; a wrong code is refused naming the field.
    let lines = json!([{ "ticket_type_id": adult, "quantity": 1 }]);
    let quote = w.ok(
        "quote",
        json!({ "input": { "event_id": ev, "lines": lines, "coupon_code": "SPRING-10" } }),
    );
    assert_eq!(money(&quote["list_total"]).0, 2500);
    assert_eq!(money(&quote["discount"]).0, 250);
    assert_eq!(money(&quote["total"]), (2250, "EUR".to_string()));
    let e = w.err(
        "quote",
        json!({ "input": { "event_id": ev, "lines": lines, "coupon_code": "NOPE-99" } }),
    );
    assert_eq!(
        (e["code"].as_str(), e["field"].as_str()),
        (Some("invalid_input"), Some("coupon_code")),
        "{e}"
    );

    // A card sale needs the terminal's approval.
    let sale = json!({ "event_id": ev, "payment_method": "card", "coupon_code": "spring-10",
                       "payment_note": "TERM-0042", "lines": lines });
    let e = w.err("sell", json!({ "input": sale }));
    assert_eq!(e["field"], "card_confirmed", "{e}");
    let mut confirmed = sale.clone();
    confirmed["card_confirmed"] = json!(true);
    let sold = w.ok("sell", json!({ "input": confirmed }));
    let order = &sold["order"]["order"];
    assert_eq!(money(&order["total"]).0, 2250, "the discounted total");
    assert_eq!(order["discount_minor"], 250);
    assert_eq!(order["coupon_id"], coupon["id"]);
    assert_eq!(order["payment"]["note"], "TERM-0042");
    assert_eq!(sold["cards"].as_array().unwrap().len(), 1);
    assert_eq!(money(&sold["cards"][0]["price"]).0, 2250);
    let used = w.ok("list_coupons", json!({ "eventId": ev }));
    assert_eq!(used[0]["used"], 1);

    // Part of the money back in cash: the ticket stays valid.
    let order_id = order["id"].as_str().unwrap();
    let e = w.err(
        "refund",
        json!({ "input": { "order_id": order_id, "amount": "30.00", "method": "cash" } }),
    );
    assert_eq!(e["field"], "amount", "more than was paid: {e}");
    let after = w.ok(
        "refund",
        json!({ "input": { "order_id": order_id, "amount": "5.00", "method": "cash" } }),
    );
    assert_eq!(money(&after["refunded"]).0, 500);
    assert_eq!(money(&after["refundable"]).0, 1750);
    assert_eq!(after["refunds"][0]["method"], "cash");
    assert_eq!(after["order"]["tickets"][0]["status"], "valid");
    let again = w.ok("order_money", json!({ "orderId": order_id }));
    assert_eq!(again["refunds"].as_array().unwrap().len(), 1);
    assert_eq!(money(&again["refundable"]).0, 1750);
    // The rest, in full: the ticket is cancelled and the order refunded.
    let rest = w.ok("refund", json!({ "input": { "order_id": order_id } }));
    assert_eq!(money(&rest["refundable"]).0, 0);
    assert_eq!(rest["order"]["order"]["status"], "refunded");
    assert_eq!(rest["order"]["tickets"][0]["status"], "cancelled");
}

#[test]
fn a_pay_later_sale_has_no_cards_until_it_is_paid() {
    let dir = tempfile::tempdir().unwrap();
    let w = start(dir.path());
    first_run(&w);
    let (ev, _, child, _) = event(&w);
    let due = (chrono::Utc::now() + chrono::Duration::hours(48)).to_rfc3339();
    let sold = w.ok(
        "sell",
        json!({ "input": { "event_id": ev, "payment_method": "cash", "pay_later": true,
                           "payment_due": due, "buyer_name": "Grace Hopper",
                           "lines": [{ "ticket_type_id": child, "quantity": 2 }] } }),
    );
    let order = &sold["order"]["order"];
    assert_eq!(order["status"], "pending");
    assert!(order["payment"]["due"].is_string(), "{order}");
    assert_eq!(order["payment"]["paid_at"], Value::Null);
    assert_eq!(sold["cards"], json!([]), "no QR codes for an unpaid order");
    let order_id = order["id"].as_str().unwrap();
    let money_now = w.ok("order_money", json!({ "orderId": order_id }));
    assert_eq!(money(&money_now["refundable"]).0, 0, "nothing taken yet");
    let view = w.ok("get_order", json!({ "orderId": order_id }));
    assert_eq!(view["time_zone"], "Europe/Berlin");
    assert_eq!(view["event_name"], "Gala");

    // Too little cash is refused naming the field; then paid with change.
    let e = w.err(
        "pay_order",
        json!({ "input": { "order_id": order_id, "payment_method": "cash", "tendered": "15.00" } }),
    );
    assert_eq!(e["field"], "tendered", "{e}");
    let paid = w.ok(
        "pay_order",
        json!({ "input": { "order_id": order_id, "payment_method": "cash", "tendered": "50.00" } }),
    );
    assert_eq!(paid["order"]["order"]["status"], "paid");
    assert_eq!(paid["order"]["order"]["payment"]["tendered_minor"], 5000);
    let cards = paid["cards"].as_array().unwrap();
    assert_eq!(cards.len(), 2, "the tickets are ready to print once paid");
    assert!(cards[0]["qr_svg"].as_str().unwrap().starts_with("<svg"));
    let e = w.err(
        "pay_order",
        json!({ "input": { "order_id": order_id, "payment_method": "cash" } }),
    );
    assert_eq!(e["code"], "conflict", "paid once only: {e}");
}

#[test]
fn a_shift_opens_and_closes_with_the_difference() {
    let dir = tempfile::tempdir().unwrap();
    let w = start(dir.path());
    first_run(&w);
    let (ev, adult, child, _) = event(&w);
    assert_eq!(w.ok("current_shift", json!({})), Value::Null);
    let opened = w.ok(
        "open_shift",
        json!({ "input": { "float": "100.00", "currency": "EUR" } }),
    );
    assert_eq!(money(&opened["float"]).0, 10000);
    assert_eq!(money(&opened["expected"]).0, 10000);
    let e = w.err(
        "open_shift",
        json!({ "input": { "float": "50.00", "currency": "EUR" } }),
    );
    assert_eq!(e["code"], "conflict", "one open shift at a time: {e}");
    // Cash counts towards the drawer; a card sale does not.
    w.ok(
        "sell",
        json!({ "input": { "event_id": ev, "payment_method": "cash", "tendered": "20.00",
                           "lines": [{ "ticket_type_id": child, "quantity": 1 }] } }),
    );
    w.ok(
        "sell",
        json!({ "input": { "event_id": ev, "payment_method": "card", "card_confirmed": true,
                           "lines": [{ "ticket_type_id": adult, "quantity": 1 }] } }),
    );
    let now = w.ok("current_shift", json!({}));
    assert_eq!(money(&now["cash_taken"]).0, 1000, "{now}");
    assert_eq!(money(&now["expected"]).0, 11000);
    let e = w.err("close_shift", json!({ "input": { "counted": "lots" } }));
    assert_eq!(e["field"], "counted", "{e}");
    let closed = w.ok(
        "close_shift",
        json!({ "input": { "counted": "109.50", "note": "one coin missing" } }),
    );
    let shift = &closed["shift"];
    assert_eq!(shift["expected_minor"], 11000);
    assert_eq!(shift["counted_minor"], 10950);
    assert_eq!(shift["difference_minor"], -50, "50 cents short");
    assert!(shift["closed_at"].is_string());
    assert_eq!(w.ok("current_shift", json!({})), Value::Null);
    let shifts = w.ok("list_shifts", json!({ "userId": null, "limit": null }));
    assert_eq!(shifts[0]["difference_minor"], -50);
}

#[test]
fn the_waiting_list_is_only_for_sold_out_types() {
    let dir = tempfile::tempdir().unwrap();
    let w = start(dir.path());
    first_run(&w);
    let (ev, adult, _, _) = event(&w);
    let join = json!({ "input": { "event_id": ev, "ticket_type_id": adult, "name": "Ada Lovelace",
                                  "email": "ada@example.org", "phone": null, "quantity": 2 } });
    let e = w.err("join_waitlist", join.clone());
    assert_eq!(e["code"], "conflict", "{e}");
    assert!(
        e["message"].as_str().unwrap().contains("not sold out"),
        "{e}"
    );
    assert_eq!(w.ok("list_waitlist", json!({ "eventId": ev })), json!([]));

    // Sold out: now they may wait, and be taken off again.
    w.ok(
        "sell",
        json!({ "input": { "event_id": ev, "payment_method": "cash",
                           "lines": [{ "ticket_type_id": adult, "quantity": 3 }] } }),
    );
    let entry = w.ok("join_waitlist", join);
    assert_eq!(entry["status"], "waiting");
    let listed = w.ok("list_waitlist", json!({ "eventId": ev }));
    assert_eq!(listed[0]["name"], "Ada Lovelace");
    let gone = w.ok("withdraw_waitlist", json!({ "entryId": entry["id"] }));
    assert_eq!(gone["status"], "withdrawn");
}

#[test]
fn mail_settings_are_checked_kept_and_only_for_those_who_configure_mail() {
    let dir = tempfile::tempdir().unwrap();
    let w = start(dir.path());
    first_run(&w);
    let empty = w.ok("get_mail_settings", json!({}));
    assert_eq!(empty["smtp"], Value::Null);
    // Housekeeping runs in the background from the moment the database is open.
    let started = std::time::Instant::now();
    loop {
        let worker = &w.ok("get_mail_settings", json!({}))["worker"];
        if worker["housekeeping_at"].is_string() {
            assert_eq!(worker["housekeeping_error"], Value::Null, "{worker}");
            assert_eq!(
                worker["mail_at"],
                Value::Null,
                "no mail server, no mail round"
            );
            break;
        }
        assert!(
            started.elapsed() < std::time::Duration::from_secs(10),
            "no housekeeping round: {worker}"
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let typed = json!({ "host": "mail.example.org", "port": null, "security": "starttls",
                        "username": "box-office", "password": "s3cret-mail",
                        "from_address": "tickets@example.org", "from_name": "Town Hall" });
    let saved = w.ok("save_mail_settings", json!({ "input": typed }));
    assert_eq!(saved["smtp"]["port"], 587, "the port follows the security");
    assert_eq!(saved["smtp"]["password_set"], true);
    assert!(
        !saved.to_string().contains("s3cret-mail"),
        "the password never goes back to the window"
    );
    // Saved again without the password (the screen does not have it): it is kept.
    let mut again = typed.clone();
    again["password"] = Value::Null;
    again["from_name"] = json!("Box office");
    let saved = w.ok("save_mail_settings", json!({ "input": again }));
    assert_eq!(saved["smtp"]["password_set"], true);
    assert_eq!(saved["smtp"]["from_name"], "Box office");
    let mut bad = typed.clone();
    bad["host"] = json!("mail server!");
    let e = w.err("save_mail_settings", json!({ "input": bad }));
    assert_eq!(e["field"], "host", "{e}");
    assert_eq!(
        w.ok("get_mail_settings", json!({}))["smtp"]["host"],
        "mail.example.org",
        "a refused change changes nothing"
    );
    // A test message to a server that is not there says so.
    let nowhere = json!({ "host": "127.0.0.1", "port": 9, "security": "none",
                          "username": null, "password": null,
                          "from_address": "tickets@example.org", "from_name": null });
    let e = w.err(
        "send_test_mail",
        json!({ "input": nowhere, "to": "owner@example.org" }),
    );
    assert_eq!(e["code"], "conflict", "{e}");

    // The box office sells but does not configure mail.
    w.ok(
        "create_user",
        json!({ "input": { "username": "bob", "display_name": "Bob", "password": PASSWORD, "role": "box_office" } }),
    );
    w.ok("logout", json!({}));
    w.ok("login", json!({ "username": "bob", "password": PASSWORD }));
    for (cmd, args) in [
        ("get_mail_settings", json!({})),
        ("save_mail_settings", json!({ "input": null })),
    ] {
        assert_eq!(
            w.err(cmd, args)["code"],
            "forbidden",
            "{cmd} for the box office"
        );
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(dir.path().join("settings.json"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600, "the settings file is private");
    }
    drop(w);
    // Kept across a restart.
    let w = start(dir.path());
    w.ok("login", json!({ "username": "olga", "password": PASSWORD }));
    let kept = w.ok("get_mail_settings", json!({}));
    assert_eq!(kept["smtp"]["from_address"], "tickets@example.org");
    let off = w.ok("save_mail_settings", json!({ "input": null }));
    assert_eq!(off["smtp"], Value::Null);
}

#[path = "commands/sync.rs"]
mod sync;

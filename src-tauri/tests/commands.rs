//! The desktop's commands through Tauri's real IPC layer (mock runtime, no display): what the
//! window sends and what it gets back, including `{code, message}` errors, the kiosk lock and
//! settings that survive a restart.

use std::path::Path;

use base64::Engine;
use serde_json::{json, Value};
use tauri::ipc::{CallbackFn, InvokeBody};
use tauri::test::{get_ipc_response, mock_builder, MockRuntime, INVOKE_KEY};
use tauri::webview::InvokeRequest;
use tauri::{App, WebviewWindow, WebviewWindowBuilder};

struct Window {
    _app: App<MockRuntime>,
    webview: WebviewWindow<MockRuntime>,
}

/// A fresh app on the data folder `dir`, as if started anew.
fn start(dir: &Path) -> Window {
    let dir = dir.to_path_buf();
    let app = mock_builder()
        .plugin(tauri_plugin_store::Builder::default().build())
        .invoke_handler(admit_desktop::admit_handlers!())
        // The app's own context, so the window gets exactly the capabilities it ships with.
        .build(tauri::generate_context!())
        .expect("app builds");
    // What the real app's setup hook does, on the test's own data folder.
    admit_desktop::setup_in(app.handle(), dir).expect("state built");
    let webview = WebviewWindowBuilder::new(&app, "main", Default::default())
        .build()
        .expect("window");
    Window { _app: app, webview }
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
        json!({ "input": { "event_id": ev, "payment_method": "card",
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
}

//! events create/list, availability, sell, cancel, orders.

use serde_json::Value;

use crate::support::*;

on_both_backends!(event_with_types_and_quotas, sell_cancel_and_find_orders);

fn event_with_types_and_quotas(db: &Db) {
    let gig = db.with_gig();
    let c = &gig.created;

    let event = &c["event"];
    assert_eq!(event["name"], GIG_NAME);
    assert_eq!(event["venue"], "Town Hall");
    assert_eq!(event["status"], "published");
    assert_eq!(event["time_zone"], "Europe/Berlin");
    assert_eq!(event["starts_at"], "2030-06-01T17:30:00Z");
    assert_eq!(event["ends_at"], "2030-06-01T21:00:00Z");

    let types = c["ticket_types"].as_array().expect("ticket_types");
    let summary: Vec<(String, i64, String)> = types
        .iter()
        .map(|t| {
            assert_eq!(t["event_id"], gig.event_id.as_str());
            assert_eq!(t["active"], true);
            (
                str_of(&t["name"]),
                t["price"]["minor"].as_i64().expect("minor units"),
                str_of(&t["price"]["currency"]),
            )
        })
        .collect();
    assert_eq!(
        summary,
        [
            ("Standing".to_string(), 2500, "EUR".to_string()),
            ("Seated".into(), 4550, "EUR".into()),
        ]
    );

    let quota = |name: &str| -> (u64, Vec<String>) {
        let q = c["quotas"]
            .as_array()
            .expect("quotas")
            .iter()
            .find(|q| q["name"] == name)
            .unwrap_or_else(|| panic!("no quota {name} in {c}"));
        let mut covers: Vec<String> = q["ticket_type_ids"]
            .as_array()
            .expect("ticket_type_ids")
            .iter()
            .map(str_of)
            .collect();
        covers.sort();
        (q["size"].as_u64().expect("size"), covers)
    };
    let mut both = vec![gig.standing_id.clone(), gig.seated_id.clone()];
    both.sort();
    assert_eq!(c["quotas"].as_array().unwrap().len(), 2);
    assert_eq!(quota("Capacity"), (10, both));
    assert_eq!(quota("Balcony"), (3, vec![gig.seated_id.clone()]));

    // A second event, left as a draft, in another currency.
    let draft = db.owner_json(&[
        "events",
        "create",
        "--name",
        "Matinee",
        "--venue",
        "Studio",
        "--starts",
        "2030-07-01T15:00:00Z",
        "--ends",
        "2030-07-01T17:00:00Z",
        "--currency",
        "jpy",
        "--type",
        "Adult=1500",
    ]);
    assert_eq!(draft["event"]["status"], "draft");
    assert_eq!(draft["ticket_types"][0]["price"]["minor"], 1500);
    assert_eq!(draft["ticket_types"][0]["price"]["currency"], "JPY");
    assert_eq!(draft["quotas"], Value::Array(vec![]));
    let draft_id = str_of(&draft["event"]["id"]);

    let mut listed: Vec<(String, String, String)> = events(db)
        .iter()
        .map(|e| (str_of(&e["id"]), str_of(&e["name"]), str_of(&e["status"])))
        .collect();
    listed.sort();
    let mut expected = vec![
        (gig.event_id.clone(), GIG_NAME.into(), "published".into()),
        (draft_id.clone(), "Matinee".into(), "draft".into()),
    ];
    expected.sort();
    assert_eq!(listed, expected);

    let av = db.owner_json(&["availability", &gig.event_id]);
    assert_eq!(av["event"]["id"], gig.event_id.as_str());
    gig.assert_available(db, 10, 3);
    let taken: Vec<u64> = av["quotas"]
        .as_array()
        .expect("quotas")
        .iter()
        .map(|q| q["taken"].as_u64().expect("taken"))
        .collect();
    assert_eq!(taken, [0, 0]);
    // No quota covers the draft's type: it is unlimited.
    let av = db.owner_json(&["availability", &draft_id]);
    assert_eq!(av["ticket_types"][0]["available"], Value::Null);

    // A draft is not on sale until it is published.
    let e = db
        .owner()
        .json()
        .args(&["sell", "--event", &draft_id, "--line", "Adult=1"])
        .fails("invalid_input");
    assert_eq!(e["field"], "event_id");
    let published = db.owner_json(&["events", "publish", &draft_id]);
    assert_eq!(published["status"], "published");
    let sold = db.owner_json(&["sell", "--event", &draft_id, "--line", "adult=2"]);
    assert_eq!(sold["order"]["total"]["minor"], 3000);
    assert_eq!(sold["order"]["total"]["currency"], "JPY");
}

/// A record without its timestamps (the store may keep less precision than the clock).
fn without_meta(v: &Value) -> Value {
    let mut v = v.clone();
    v.as_object_mut().expect("an object").remove("meta");
    v
}

fn ticket_ids_of_type(order: &Value, type_id: &str) -> Vec<String> {
    order["tickets"]
        .as_array()
        .expect("tickets")
        .iter()
        .filter(|t| t["ticket_type_id"] == type_id)
        .map(|t| str_of(&t["id"]))
        .collect()
}

fn sell_cancel_and_find_orders(db: &Db) {
    let gig = db.with_gig();

    // Type names match case-insensitively; prices come from the catalogue.
    let sold = db.owner_json(&[
        "sell",
        "--event",
        &gig.event_id,
        "--line",
        "Standing=2",
        "--line",
        "seated=1",
        "--attendee",
        "Ada Lovelace",
        "--attendee",
        "Grace Hopper",
        "--buyer-name",
        "Ada Lovelace",
        "--buyer-email",
        "ada@example.org",
        "--payment",
        "card",
        "--card-approved",
    ]);
    let order = &sold["order"];
    let code = str_of(&order["code"]);
    assert_eq!(code.len(), 7, "{code}");
    assert_eq!(order["event_id"], gig.event_id.as_str());
    assert_eq!(order["status"], "paid");
    assert_eq!(order["payment_method"], "card");
    assert_eq!(order["channel"], "box_office");
    assert_eq!(order["buyer_name"], "Ada Lovelace");
    assert_eq!(order["buyer_email"], "ada@example.org");
    assert_eq!(order["total"]["minor"], 2 * 2500 + 4550);
    assert_eq!(order["total"]["currency"], "EUR");
    let tickets = sold["tickets"].as_array().expect("tickets");
    assert_eq!(tickets.len(), 3);
    let mut sold_lines: Vec<(String, i64, Value)> = tickets
        .iter()
        .map(|t| {
            assert_eq!(t["status"], "valid");
            assert_eq!(t["order_id"], order["id"]);
            (
                str_of(&t["ticket_type_id"]),
                t["price"]["minor"].as_i64().expect("price"),
                t["attendee_name"].clone(),
            )
        })
        .collect();
    sold_lines.sort_by(|a, b| (&a.0, a.1, a.2.to_string()).cmp(&(&b.0, b.1, b.2.to_string())));
    let mut expected = vec![
        (gig.standing_id.clone(), 2500, Value::from("Ada Lovelace")),
        (gig.standing_id.clone(), 2500, Value::from("Grace Hopper")),
        (gig.seated_id.clone(), 4550, Value::Null),
    ];
    expected.sort_by(|a, b| (&a.0, a.1, a.2.to_string()).cmp(&(&b.0, b.1, b.2.to_string())));
    assert_eq!(sold_lines, expected);
    gig.assert_available(db, 7, 2);

    // Three Seated would pass the capacity (7 left) but not the Balcony (2 left): nothing is
    // sold, not even the Standing line.
    let e = db
        .owner()
        .json()
        .args(&[
            "sell",
            "--event",
            &gig.event_id,
            "--line",
            "Standing=1",
            "--line",
            "Seated=3",
            "--buyer-name",
            "Too Late",
        ])
        .fails("sold_out");
    assert!(e["message"].as_str().unwrap().contains('2'), "{e}");
    let all = orders(db);
    assert_eq!(all.len(), 1, "a refused sale writes no order");
    assert_eq!(all[0]["code"], code.as_str());
    gig.assert_available(db, 7, 2);

    // A walk-in, paid in cash, no names.
    let walk_in = db.owner_json(&["sell", "--event", &gig.event_id, "--line", "Standing=1"]);
    let walk_in_code = str_of(&walk_in["order"]["code"]);
    assert_eq!(walk_in["order"]["buyer_name"], Value::Null);
    assert_eq!(walk_in["order"]["payment_method"], "cash");
    assert_eq!(walk_in["order"]["total"]["minor"], 2500);
    // A free ticket: comp.
    let comp = db.owner_json(&[
        "sell",
        "--event",
        &gig.event_id,
        "--line",
        "Seated=1",
        "--payment",
        "comp",
        "--note",
        "Guest of the house",
        "--buyer-name",
        "Guest Of Honour",
    ]);
    assert_eq!(comp["order"]["total"]["minor"], 0);
    assert_eq!(comp["tickets"][0]["price"]["minor"], 0);
    gig.assert_available(db, 5, 1);

    // Searching: by buyer name, e-mail and code; and by event.
    let codes = |args: &[&str]| -> Vec<String> {
        let mut full = vec!["orders", "list"];
        full.extend_from_slice(args);
        let mut v: Vec<String> = as_vec(db.owner_json(&full))
            .iter()
            .map(|o| str_of(&o["code"]))
            .collect();
        v.sort();
        v
    };
    assert_eq!(codes(&["--search", "lovelace"]), [code.as_str()]);
    assert_eq!(codes(&["--search", "ada@example"]), [code.as_str()]);
    assert_eq!(codes(&["--search", &walk_in_code]), [walk_in_code.as_str()]);
    assert_eq!(
        codes(&["--search", "Guest"]),
        [str_of(&comp["order"]["code"])]
    );
    assert!(codes(&["--search", "nobody-like-this"]).is_empty());
    assert_eq!(codes(&["--event", &gig.event_id]).len(), 3);
    assert_eq!(codes(&["--limit", "2"]).len(), 2);

    // orders show by code (in any case, with a dash) and by id give the same order.
    let shown = db.owner_json(&["orders", "show", &code]);
    assert_eq!(without_meta(&shown["order"]), without_meta(&sold["order"]));
    assert_eq!(shown["tickets"].as_array().unwrap().len(), 3);
    let dashed = format!("{}-{}", &code[..3], &code[3..]).to_lowercase();
    assert_eq!(
        db.owner_json(&["orders", "show", &dashed])["order"]["id"],
        order["id"]
    );
    let by_id = db.owner_json(&["orders", "show", order["id"].as_str().unwrap()]);
    assert_eq!(by_id["order"]["code"], code.as_str());
    db.owner()
        .json()
        .args(&["orders", "show", "ZZZZZZZ"])
        .fails("not_found");

    // Cancel one Seated ticket: the order stays paid with a smaller total.
    let seated = ticket_ids_of_type(&shown, &gig.seated_id);
    assert_eq!(seated.len(), 1);
    let after = db.owner_json(&["cancel", &code, "--ticket", &seated[0]]);
    assert_eq!(after["order"]["status"], "paid");
    assert_eq!(after["order"]["total"]["minor"], 5000);
    for t in after["tickets"].as_array().unwrap() {
        let expected = if t["id"] == seated[0].as_str() {
            "cancelled"
        } else {
            "valid"
        };
        assert_eq!(t["status"], expected, "{t}");
    }
    gig.assert_available(db, 6, 2);
    let e = db
        .owner()
        .json()
        .args(&["cancel", &code, "--ticket", &seated[0]])
        .fails("conflict");
    assert!(e["message"].as_str().unwrap().contains("already"), "{e}");
    // A ticket of another order is not part of this one.
    let other_ticket = str_of(&walk_in["tickets"][0]["id"]);
    let e = db
        .owner()
        .json()
        .args(&["cancel", &code, "--ticket", &other_ticket])
        .fails("invalid_input");
    assert_eq!(e["field"], "ticket_ids[0]");

    // Cancel the rest of the order by its code, refunding it.
    let refunded = db.owner_json(&["cancel", &code, "--refund"]);
    assert_eq!(refunded["order"]["status"], "refunded");
    assert_eq!(refunded["order"]["total"]["minor"], 0);
    assert!(refunded["tickets"]
        .as_array()
        .unwrap()
        .iter()
        .all(|t| t["status"] == "cancelled"));
    gig.assert_available(db, 8, 2);
    assert_eq!(
        db.owner_json(&["orders", "show", &code])["order"]["status"],
        "refunded"
    );
    db.owner().json().args(&["cancel", &code]).fails("conflict");

    // A whole-order cancel without refund, by id.
    let cancelled = db.owner_json(&["cancel", walk_in["order"]["id"].as_str().unwrap()]);
    assert_eq!(cancelled["order"]["status"], "cancelled");
    gig.assert_available(db, 9, 2);

    // The freed Balcony seats sell again.
    let again = db.owner_json(&["sell", "--event", &gig.event_id, "--line", "Seated=2"]);
    assert_eq!(again["order"]["total"]["minor"], 9100);
    gig.assert_available(db, 7, 0);
    let mut statuses: Vec<String> = orders(db).iter().map(|o| str_of(&o["status"])).collect();
    statuses.sort();
    assert_eq!(statuses, ["cancelled", "paid", "paid", "refunded"]);
}

//! `admit demo`: a realistic sample on a fresh database.

use std::collections::BTreeMap;

use crate::support::*;

on_both_backends!(
    demo_fills_a_fresh_database,
    demo_json_summary,
    demo_leaves_other_owners_alone
);

const DEMO_USER: &str = "owner";
const DEMO_PASSWORD: &str = "admit-demo";

/// The number before `label` in `text`, e.g. 200 from "…, 200 orders, …".
fn count_before(text: &str, label: &str) -> u64 {
    let end = text
        .find(label)
        .unwrap_or_else(|| panic!("no {label:?} in {text:?}"));
    let digits: String = text[..end]
        .trim_end()
        .chars()
        .rev()
        .take_while(char::is_ascii_digit)
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
        .collect();
    digits
        .parse()
        .unwrap_or_else(|_| panic!("no number before {label:?} in {text:?}"))
}

fn demo_fills_a_fresh_database(db: &Db) {
    let run = db
        .admit()
        .args(&["demo", "--orders", "200"])
        .run()
        .success();
    let text = run.stdout.trim();
    assert!(
        text.contains(&format!("log in as {DEMO_USER} / {DEMO_PASSWORD}")),
        "{text}"
    );
    assert!(text.starts_with("demo ready: 3 events"), "{text}");
    let sold = count_before(text, " orders");
    let tickets = count_before(text, " tickets");
    let refused = count_before(text, " attempts");
    assert_eq!(sold + refused, 200, "{text}");
    assert!(sold > 0 && tickets >= sold && tickets <= 4 * sold, "{text}");

    // The login it prints works, and shows what it says it made.
    let demo = || db.admit().login(DEMO_USER, DEMO_PASSWORD).json();
    let users = as_vec(demo().args(&["users", "list"]).ok());
    assert_eq!(users.len(), 1);
    assert_eq!(users[0]["role"], "owner");

    let events = as_vec(demo().args(&["events", "list"]).ok());
    let mut names: Vec<String> = events.iter().map(|e| str_of(&e["name"])).collect();
    names.sort();
    assert_eq!(
        names,
        ["Late Jazz Night", "Open Air Festival", "Spring Gala"]
    );
    assert!(events.iter().all(|e| e["status"] == "published"));

    let orders = as_vec(demo().args(&["orders", "list", "--limit", "500"]).ok());
    assert_eq!(orders.len() as u64, sold);
    let mut per_event: BTreeMap<String, usize> = BTreeMap::new();
    for o in &orders {
        assert_eq!(o["status"], "paid", "{o}");
        assert_eq!(o["total"]["currency"], "EUR", "{o}");
        let total = o["total"]["minor"].as_i64().expect("total");
        match o["payment_method"].as_str() {
            Some("comp") => assert_eq!(total, 0, "{o}"),
            Some("cash" | "card") => assert!(total >= 1200, "{o}"),
            other => panic!("payment method {other:?}"),
        }
        *per_event.entry(str_of(&o["event_id"])).or_default() += 1;
    }
    assert!(per_event.len() > 1, "orders spread over the events");
    assert!(orders.iter().any(|o| o["buyer_name"].is_string()));
    assert!(orders.iter().any(|o| o["buyer_name"].is_null()), "walk-ins");

    // Every ticket it counted is taken from its event's capacity.
    let taken: u64 = events
        .iter()
        .map(|e| {
            let av = demo()
                .args(&["availability", e["id"].as_str().unwrap()])
                .ok();
            let capacity = &av["quotas"][0];
            assert_eq!(capacity["quota"]["name"], "Capacity");
            capacity["taken"].as_u64().expect("taken")
        })
        .sum();
    assert_eq!(taken, tickets);

    // The text list shows them too.
    let listed = db
        .admit()
        .login(DEMO_USER, DEMO_PASSWORD)
        .args(&["orders", "list", "--limit", "5"])
        .run()
        .success();
    assert_eq!(listed.stdout.lines().count(), 5, "{}", listed.stdout);
    let newest = str_of(&orders[0]["code"]);
    assert!(listed.stdout.starts_with(&newest), "{}", listed.stdout);
}

fn demo_json_summary(db: &Db) {
    let summary = db.admit().json().args(&["demo", "--orders", "40"]).ok();
    assert_eq!(summary["username"], DEMO_USER);
    assert_eq!(summary["password"], DEMO_PASSWORD);
    assert_eq!(summary["events"], 3);
    let sold = summary["orders"].as_u64().expect("orders");
    let refused = summary["sold_out_attempts"].as_u64().expect("refused");
    assert_eq!(sold + refused, 40);
    let orders = db
        .admit()
        .login(DEMO_USER, DEMO_PASSWORD)
        .json()
        .args(&["orders", "list", "--limit", "500"])
        .ok();
    assert_eq!(as_vec(orders).len() as u64, sold);
}

fn demo_leaves_other_owners_alone(db: &Db) {
    db.init();
    let e = db
        .admit()
        .json()
        .args(&["demo", "--orders", "10"])
        .fails("conflict");
    assert!(
        e["message"].as_str().unwrap().contains("new database"),
        "{e}"
    );
    assert!(events(db).is_empty());
    assert!(orders(db).is_empty());
    assert_eq!(as_vec(db.owner_json(&["users", "list"])).len(), 1);
}

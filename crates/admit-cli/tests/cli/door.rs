//! lists, ticket secret/qr/reissue/block, scan, door export/import/counts.

use crate::support::*;

on_both_backends!(scan_at_the_door);

fn scan_at_the_door(db: &Db) {
    let gig = db.with_gig();
    let order = db.owner_json(&[
        "sell",
        "--event",
        &gig.event_id,
        "--line",
        "Standing=2",
        "--attendee",
        "Ada Lovelace",
    ]);
    let ticket = |i: usize| str_of(&order["tickets"][i]["id"]);
    let code = str_of(&order["order"]["code"]);
    let list = db.owner_json(&[
        "lists",
        "create",
        "--event",
        &gig.event_id,
        "--name",
        "Main",
        "--gate",
        "North",
    ]);
    let list_id = str_of(&list["id"]);
    assert_eq!(list["allow_multi_entry"], false);

    let secret = db.owner_json(&["ticket", "secret", &ticket(0)]);
    let s1 = str_of(&secret["secret"]);
    assert!(s1.starts_with("AT1:"));
    // The same secret every time.
    assert_eq!(
        str_of(&db.owner_json(&["ticket", "secret", &ticket(0)])["secret"]),
        s1
    );

    // A QR image that decodes back to the secret.
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let png = dir.join("t.png");
    db.owner_json(&["ticket", "qr", &ticket(0), "--out", png.to_str().unwrap()]);
    let decoded = admit_qr::decode_image(&std::fs::read(&png).unwrap()).unwrap();
    assert_eq!(decoded, vec![s1.clone()]);
    let card = dir.join("card.png");
    db.owner_json(&[
        "ticket",
        "qr",
        &ticket(0),
        "--card",
        "--out",
        card.to_str().unwrap(),
    ]);
    assert!(std::fs::metadata(&card).unwrap().len() > 5_000);

    let scan = |code: &str, extra: &[&str]| {
        let mut args = vec!["scan", code, "--list", &list_id, "--gate", "North"];
        args.extend_from_slice(extra);
        db.owner_json(&args)
    };
    let ok = scan(&s1, &["--nonce", "n1", "--at", "2030-06-01T17:45:00Z"]);
    assert_eq!(ok["verdict"], "ok");
    assert_eq!(ok["attendee_name"], "Ada Lovelace");
    // The same nonce answers the same without a second scan.
    let dup = scan(&s1, &["--nonce", "n1", "--at", "2030-06-01T17:45:00Z"]);
    assert_eq!(dup["duplicate"], true);
    assert_eq!(dup["scan_id"], ok["scan_id"]);
    let again = scan(&s1, &["--at", "2030-06-01T18:00:00Z"]);
    assert_eq!(again["verdict"], "already_redeemed");
    assert_eq!(again["earlier_entry"]["at"], "2030-06-01T17:45:00Z");
    assert_eq!(again["earlier_entry"]["gate"], "North");
    assert_eq!(scan("AT1:not-a-ticket", &[])["verdict"], "invalid");

    // Cancel the other ticket after printing it: `canceled` here.
    let s2 = str_of(&db.owner_json(&["ticket", "secret", &ticket(1)])["secret"]);
    db.owner_json(&["cancel", &code, "--ticket", &ticket(1)]);
    assert_eq!(scan(&s2, &[])["verdict"], "canceled");
    // Exit, then forced entry of a refused ticket.
    assert_eq!(
        scan(
            &s1,
            &["--direction", "exit", "--at", "2030-06-01T18:30:00Z"]
        )["verdict"],
        "ok"
    );
    let forced = scan(&s2, &["--force"]);
    assert_eq!(
        (forced["verdict"].clone(), forced["forced"].clone()),
        ("canceled".into(), true.into())
    );
    let counts = db.owner_json(&["door", "counts", "--list", &list_id]);
    assert_eq!(
        (counts["admitted"].as_u64(), counts["inside"].as_u64()),
        (Some(2), Some(1))
    );

    // Block, then an offline door from a package.
    db.owner_json(&["ticket", "block", &ticket(0), "--reason", "reported stolen"]);
    assert_eq!(scan(&s1, &[])["verdict"], "blocked");
    db.owner_json(&["ticket", "unblock", &ticket(0)]);
    let pkg = dir.join("door.json");
    db.owner_json(&[
        "door",
        "export",
        "--event",
        &gig.event_id,
        "--out",
        pkg.to_str().unwrap(),
    ]);
    let text = std::fs::read_to_string(&pkg).unwrap();
    assert!(
        !text.contains(&s1),
        "a door package holds no ticket secrets"
    );

    let door_db = dir.join("door.db");
    let door = Admit::new(door_db.to_str().unwrap());
    door.env("ADMIT_PASSWORD", OWNER_PASSWORD)
        .json()
        .args(&["init", "--username", OWNER])
        .ok();
    let door = || {
        Admit::new(door_db.to_str().unwrap())
            .login(OWNER, OWNER_PASSWORD)
            .json()
    };
    door().args(&["door", "import", pkg.to_str().unwrap()]).ok();
    let offline = door()
        .args(&["scan", &s1, "--list", &list_id, "--gate", "North"])
        .ok();
    assert_eq!(
        offline["verdict"], "ok",
        "the offline door has no history of its own yet"
    );
    assert_eq!(
        offline["order_code"],
        serde_json::Value::Null,
        "and no ticket rows"
    );
    let revoked = door()
        .args(&["scan", &s2, "--list", &list_id, "--gate", "North"])
        .ok();
    assert_eq!(
        revoked["verdict"], "revoked",
        "the cancelled ticket's secret was revoked"
    );

    // A door user may scan but not print.
    db.owner_json(&[
        "users",
        "create",
        "--username",
        "dora",
        "--role",
        "door",
        "--new-password",
        "door password 1",
    ]);
    let dora = || db.admit().login("dora", "door password 1").json();
    assert_eq!(
        dora()
            .args(&["scan", &s1, "--list", &list_id, "--gate", "North"])
            .ok()["verdict"],
        "already_redeemed"
    );
    dora()
        .args(&["ticket", "secret", &ticket(0)])
        .fails("forbidden");
}

//! migrate, init, login and users.

use admit_testkit::TestSqlite;

use crate::support::*;

on_both_backends!(migrate_then_init_once, logins_and_roles);

#[test]
fn sqlite_locations_get_their_directories() {
    let tmp = TestSqlite::new();
    // A sqlite:// URL is a path too; missing directories are created.
    let nested = tmp.dir().join("a").join("b").join("box office.db");
    let url = format!("sqlite://{}", nested.display());
    let run = Admit::without_db()
        .args(&["--db", &url, "--json", "migrate"])
        .run()
        .success();
    assert_eq!(run.parsed()["backend"], "sqlite");
    assert!(nested.is_file(), "{} was not created", nested.display());

    // Without --db the database lives in the user's data directory.
    let data_home = tmp.dir().join("data");
    let run = Admit::without_db()
        .env(
            "XDG_DATA_HOME",
            data_home.to_str().expect("UTF-8 temp path"),
        )
        .args(&["--json", "migrate"])
        .run()
        .success();
    let default = data_home.join("admit").join("admit.db");
    assert_eq!(run.parsed()["database"], default.to_str().unwrap());
    assert!(default.is_file());
    // ADMIT_DB names it as well.
    let from_env = tmp.dir().join("env.db");
    let run = Admit::without_db()
        .env("ADMIT_DB", from_env.to_str().unwrap())
        .args(&["--json", "migrate"])
        .run()
        .success();
    assert_eq!(run.parsed()["database"], from_env.to_str().unwrap());
    assert!(from_env.is_file());
}

fn migrate_then_init_once(db: &Db) {
    let migrated = db.admit().json().args(&["migrate"]).ok();
    assert_eq!(migrated["backend"], db.backend());
    // The location as given, except that a password in a URL is not printed.
    let shown = str_of(&migrated["database"]);
    let host_and_db = |url: &str| url.rsplit_once('@').map_or(url, |(_, r)| r).to_owned();
    assert_eq!(host_and_db(&shown), host_and_db(db.location()));
    if shown != db.location() {
        assert!(shown.contains(":***@"), "{shown}");
    }
    let versions = migrated["migrations"].as_array().expect("migrations");
    assert_eq!(versions[0][0], 1, "{migrated}");
    assert_eq!(versions[0][1], "init", "{migrated}");
    if let Some(path) = db.sqlite_path() {
        assert!(path.is_file(), "migrate creates the SQLite file");
    }
    // Migrating an up-to-date database is a no-op that succeeds.
    assert_eq!(db.admit().json().args(&["migrate"]).ok(), migrated);

    // Without a password there is no owner to create.
    let e = db
        .admit()
        .json()
        .args(&["init", "--username", OWNER])
        .fails("invalid_input");
    assert_eq!(e["field"], "password");

    let owner = db.init();
    assert_eq!(owner["username"], OWNER);
    assert_eq!(owner["display_name"], "The Boss");
    assert_eq!(owner["role"], "owner");
    assert_eq!(owner["active"], true);

    // The owner exists: a second init, even for another name, is refused.
    let e = db
        .admit()
        .env("ADMIT_PASSWORD", "another long password")
        .json()
        .args(&["init", "--username", "intruder"])
        .fails("conflict");
    assert!(e.get("field").is_none(), "{e}");
    let users = as_vec(db.owner_json(&["users", "list"]));
    assert_eq!(users.len(), 1);
    assert_eq!(users[0]["username"], OWNER);
    assert_eq!(users[0]["id"], owner["id"]);
}

fn logins_and_roles(db: &Db) {
    let gig = db.with_gig();

    // Wrong password, unknown user and no credentials at all are one error.
    db.admit()
        .login(OWNER, "not the password")
        .json()
        .args(&["events", "list"])
        .fails("unauthenticated");
    db.admit()
        .login("nobody", OWNER_PASSWORD)
        .json()
        .args(&["events", "list"])
        .fails("unauthenticated");
    db.admit()
        .json()
        .args(&["orders", "list"])
        .fails("unauthenticated");
    // --user/--password work as well as the environment.
    let listed = db
        .admit()
        .json()
        .args(&[
            "events",
            "list",
            "--user",
            OWNER,
            "--password",
            OWNER_PASSWORD,
        ])
        .ok();
    assert_eq!(listed[0]["id"], gig.event_id.as_str());

    let door = db
        .owner()
        .env("ADMIT_NEW_PASSWORD", "door password 1")
        .json()
        .args(&[
            "users",
            "create",
            "--username",
            "door1",
            "--role",
            "door",
            "--display-name",
            "Front Door",
        ])
        .ok();
    assert_eq!(door["username"], "door1");
    assert_eq!(door["role"], "door");
    assert_eq!(door["display_name"], "Front Door");
    let cashier = db.owner_json(&[
        "users",
        "create",
        "--username",
        "Cashier",
        "--role",
        "box_office",
        "--new-password",
        "cashier password",
    ]);
    assert_eq!(cashier["username"], "cashier", "usernames are lower-cased");
    assert_eq!(cashier["role"], "box_office");

    let e = db
        .owner()
        .env("ADMIT_NEW_PASSWORD", "whatever password")
        .json()
        .args(&["users", "create", "--username", "door1", "--role", "door"])
        .fails("conflict");
    assert!(e["message"].as_str().unwrap().contains("taken"), "{e}");
    let e = db
        .owner()
        .env("ADMIT_NEW_PASSWORD", "whatever password")
        .json()
        .args(&["users", "create", "--username", "x-1", "--role", "janitor"])
        .fails("invalid_input");
    assert_eq!(e["field"], "role");

    let mut users: Vec<(String, String)> = as_vec(db.owner_json(&["users", "list"]))
        .iter()
        .map(|u| (str_of(&u["username"]), str_of(&u["role"])))
        .collect();
    users.sort();
    assert_eq!(
        users,
        [
            ("boss".to_string(), "owner".to_string()),
            ("cashier".into(), "box_office".into()),
            ("door1".into(), "door".into()),
        ]
    );

    // The door may look at events but not sell, whatever it asks for.
    let door_login = || db.admit().login("door1", "door password 1").json();
    let seen = door_login().args(&["events", "list"]).ok();
    assert_eq!(seen[0]["name"], GIG_NAME);
    for line in ["Standing=1", "NoSuchType=1"] {
        let e = door_login()
            .args(&["sell", "--event", &gig.event_id, "--line", line])
            .fails("forbidden");
        assert!(e.get("field").is_none(), "{e}");
    }
    door_login()
        .args(&["users", "create", "--username", "sneaky", "--role", "owner"])
        .env("ADMIT_NEW_PASSWORD", "sneaky password")
        .fails("forbidden");
    door_login().args(&["orders", "list"]).fails("forbidden");
    assert!(orders(db).is_empty(), "the door sold nothing");
    gig.assert_available(db, 10, 3);
    assert_eq!(as_vec(db.owner_json(&["users", "list"])).len(), 3);

    // The box office sells.
    let sold = db
        .admit()
        .login("cashier", "cashier password")
        .json()
        .args(&["sell", "--event", &gig.event_id, "--line", "Standing=1"])
        .ok();
    assert_eq!(sold["order"]["created_by"], cashier["id"]);
    assert_eq!(orders(db).len(), 1);
}

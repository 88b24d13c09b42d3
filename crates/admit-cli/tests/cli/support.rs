//! Running the real `admit` binary against a fresh database, as a user would.

use std::collections::BTreeMap;
use std::process::Command;

use admit_testkit::{TestPostgres, TestSqlite};
use serde_json::Value;

/// The first owner every scenario creates.
pub const OWNER: &str = "boss";
pub const OWNER_PASSWORD: &str = "correct horse battery";

/// Runs one scenario on a fresh SQLite file and on a fresh PostgreSQL database:
/// `on_both_backends!(name);` with `fn name(db: &Db)` in scope makes `name::sqlite` and
/// `name::postgres` tests.
macro_rules! on_both_backends {
    ($($scenario:ident),* $(,)?) => {$(
        mod $scenario {
            #[test]
            fn sqlite() {
                super::$scenario(&crate::support::Db::sqlite());
            }

            #[test]
            fn postgres() {
                super::$scenario(&crate::support::Db::postgres());
            }
        }
    )*};
}

enum Fixture {
    Sqlite(TestSqlite),
    // Held only so the database is dropped when the test ends.
    Postgres(#[allow(dead_code)] TestPostgres),
}

/// A fresh, empty database and the `--db` value that opens it.
pub struct Db {
    location: String,
    fixture: Fixture,
}

impl Db {
    pub fn sqlite() -> Self {
        let db = TestSqlite::new();
        Db {
            location: db.path().to_str().expect("a UTF-8 temp path").to_owned(),
            fixture: Fixture::Sqlite(db),
        }
    }

    pub fn postgres() -> Self {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("a tokio runtime");
        let db = runtime.block_on(TestPostgres::new());
        Db {
            location: db.url().to_owned(),
            fixture: Fixture::Postgres(db),
        }
    }

    pub fn backend(&self) -> &'static str {
        match self.fixture {
            Fixture::Sqlite(_) => "sqlite",
            Fixture::Postgres(_) => "postgres",
        }
    }

    /// The SQLite file, for SQLite databases.
    pub fn sqlite_path(&self) -> Option<&std::path::Path> {
        match &self.fixture {
            Fixture::Sqlite(db) => Some(db.path()),
            Fixture::Postgres(_) => None,
        }
    }

    pub fn location(&self) -> &str {
        &self.location
    }

    /// `admit --db <this database> …` with nothing logged in.
    pub fn admit(&self) -> Admit {
        Admit::new(&self.location)
    }

    /// `admit` logged in as the first owner through `ADMIT_USER`/`ADMIT_PASSWORD`.
    pub fn owner(&self) -> Admit {
        self.admit().login(OWNER, OWNER_PASSWORD)
    }

    /// `admit … --json` as the owner, which must succeed; its parsed output.
    pub fn owner_json(&self, args: &[&str]) -> Value {
        self.owner().json().args(args).ok()
    }

    /// Creates the database and its first owner.
    pub fn init(&self) -> Value {
        self.admit()
            .env("ADMIT_PASSWORD", OWNER_PASSWORD)
            .json()
            .args(&["init", "--username", OWNER, "--display-name", "The Boss"])
            .ok()
    }

    /// A fresh owner with the standard test event on sale; see [`Gig`].
    pub fn with_gig(&self) -> Gig {
        self.init();
        Gig::create(self)
    }
}

/// One command line of the real binary.
pub struct Admit {
    command: Command,
    shown: Vec<String>,
}

impl Admit {
    pub fn new(location: &str) -> Self {
        Self::without_db().args(&["--db", location])
    }

    /// `admit` with no `--db`: the default location applies.
    pub fn without_db() -> Self {
        let mut command = Command::new(env!("CARGO_BIN_EXE_admit"));
        // Whatever the developer has exported must not leak into the test.
        for var in [
            "ADMIT_DB",
            "ADMIT_USER",
            "ADMIT_PASSWORD",
            "ADMIT_NEW_PASSWORD",
            "ADMIT_LOG",
        ] {
            command.env_remove(var);
        }
        Admit {
            command,
            shown: vec!["admit".into()],
        }
    }

    pub fn login(self, user: &str, password: &str) -> Self {
        self.env("ADMIT_USER", user).env("ADMIT_PASSWORD", password)
    }

    pub fn env(mut self, key: &str, value: &str) -> Self {
        self.command.env(key, value);
        self
    }

    pub fn json(self) -> Self {
        self.args(&["--json"])
    }

    pub fn args(mut self, args: &[&str]) -> Self {
        self.command.args(args);
        self.shown.extend(args.iter().map(|a| a.to_string()));
        self
    }

    pub fn run(mut self) -> Run {
        let out = self
            .command
            .output()
            .unwrap_or_else(|e| panic!("cannot start the admit binary: {e}"));
        Run {
            command: self.shown.join(" "),
            status: out.status.code(),
            stdout: String::from_utf8(out.stdout).expect("UTF-8 stdout"),
            stderr: String::from_utf8(out.stderr).expect("UTF-8 stderr"),
        }
    }

    /// Runs it, asserts success and parses stdout as JSON.
    pub fn ok(self) -> Value {
        self.run().success().parsed()
    }

    /// Runs it, asserts exit status 1 with a JSON error of `code` on stdout, and returns it.
    pub fn fails(self, code: &str) -> Value {
        self.run().failure(code)
    }
}

/// What one run printed and how it ended.
#[derive(Debug)]
pub struct Run {
    pub command: String,
    pub status: Option<i32>,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    pub fn success(self) -> Self {
        assert_eq!(
            self.status,
            Some(0),
            "`{}` failed\nstdout: {}\nstderr: {}",
            self.command,
            self.stdout,
            self.stderr
        );
        self
    }

    pub fn parsed(&self) -> Value {
        serde_json::from_str(&self.stdout).unwrap_or_else(|e| {
            panic!(
                "`{}` printed no JSON ({e})\nstdout: {}\nstderr: {}",
                self.command, self.stdout, self.stderr
            )
        })
    }

    pub fn failure(self, code: &str) -> Value {
        assert_eq!(
            self.status,
            Some(1),
            "`{}` should fail with status 1\nstdout: {}\nstderr: {}",
            self.command,
            self.stdout,
            self.stderr
        );
        let body = self.parsed();
        assert_eq!(
            body["code"], code,
            "`{}` failed differently: {body}",
            self.command
        );
        let message = body["message"].as_str().unwrap_or_default();
        assert!(
            !message.is_empty(),
            "`{}`: error without a message: {body}",
            self.command
        );
        body
    }
}

/// The standard test event, created with `events create … --publish`:
/// Standing at 25.00 EUR and Seated at 45.50 EUR, a capacity of 10 over both and a
/// Balcony quota of 3 over Seated only.
pub struct Gig {
    pub event_id: String,
    pub standing_id: String,
    pub seated_id: String,
    /// The whole `events create --json` answer.
    pub created: Value,
}

pub const GIG_NAME: &str = "Spring Concert";

impl Gig {
    pub fn create(db: &Db) -> Gig {
        let created = db.owner_json(&[
            "events",
            "create",
            "--name",
            GIG_NAME,
            "--venue",
            "Town Hall",
            "--starts",
            "2030-06-01T19:30:00+02:00",
            "--ends",
            "2030-06-01T23:00:00+02:00",
            "--tz",
            "Europe/Berlin",
            "--type",
            "Standing=25.00",
            "--type",
            "Seated=45.50",
            "--quota",
            "Balcony=3:Seated",
            "--capacity",
            "10",
            "--publish",
        ]);
        let type_id = |name: &str| {
            created["ticket_types"]
                .as_array()
                .expect("ticket_types")
                .iter()
                .find(|t| t["name"] == name)
                .unwrap_or_else(|| panic!("no type {name} in {created}"))["id"]
                .as_str()
                .expect("id")
                .to_owned()
        };
        Gig {
            event_id: str_of(&created["event"]["id"]),
            standing_id: type_id("Standing"),
            seated_id: type_id("Seated"),
            created,
        }
    }

    /// `availability` per ticket type name; panics on an unlimited type.
    pub fn available(&self, db: &Db) -> BTreeMap<String, u64> {
        let av = db.owner_json(&["availability", &self.event_id]);
        av["ticket_types"]
            .as_array()
            .expect("ticket_types")
            .iter()
            .map(|t| {
                (
                    str_of(&t["ticket_type"]["name"]),
                    t["available"].as_u64().expect("a limited type"),
                )
            })
            .collect()
    }

    /// Asserts the availability of Standing and Seated.
    pub fn assert_available(&self, db: &Db, standing: u64, seated: u64) {
        let av = self.available(db);
        assert_eq!(
            (av["Standing"], av["Seated"]),
            (standing, seated),
            "availability (Standing, Seated)"
        );
    }
}

/// All orders, newest first, as the owner sees them in `orders list`.
pub fn orders(db: &Db) -> Vec<Value> {
    as_vec(db.owner_json(&["orders", "list", "--limit", "500"]))
}

pub fn events(db: &Db) -> Vec<Value> {
    as_vec(db.owner_json(&["events", "list"]))
}

pub fn as_vec(v: Value) -> Vec<Value> {
    match v {
        Value::Array(items) => items,
        other => panic!("expected a JSON array, got {other}"),
    }
}

pub fn str_of(v: &Value) -> String {
    v.as_str()
        .unwrap_or_else(|| panic!("expected a string, got {v}"))
        .to_owned()
}

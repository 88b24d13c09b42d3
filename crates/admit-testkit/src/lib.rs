//! Throwaway databases for Admit's tests.
//!
//! Every test gets its own empty database and loses it when the fixture is dropped, so tests
//! can run in parallel and never see each other's data.
//!
//! * [`TestSqlite`] – a path for a fresh SQLite file inside a private temporary directory.
//! * [`TestPostgres`] – a freshly created, uniquely named PostgreSQL database.
//!
//! The testkit hands out empty databases only; each test opens them with the store it is testing
//! (which runs the migrations).
//!
//! ```no_run
//! use admit_testkit::{TestPostgres, TestSqlite};
//!
//! # async fn example() {
//! let sqlite = TestSqlite::new();
//! let pg = TestPostgres::new().await;
//! // open a store on `sqlite.path()` / `sqlite.url()` and `pg.url()` …
//! # }
//! ```
//!
//! # Where the PostgreSQL server comes from
//!
//! 1. `DATABASE_URL`, when set: it is used as the admin connection (it needs the right to create
//!    databases), and each test database gets the same URL with the database name replaced.
//! 2. Otherwise `postgres://postgres@127.0.0.1:5432/postgres`, if it accepts a connection.
//! 3. Otherwise [`TestPostgres::new`] panics with instructions. PostgreSQL tests never skip.
//!
//! `scripts/test` always exports `DATABASE_URL`, starting a private throwaway cluster when no
//! server is available; `scripts/with-postgres <command>` does the same for a single command.
//!
//! Set `ADMIT_TEST_KEEP_DB=1` to keep PostgreSQL test databases after the test, for inspection.

use std::path::{Path, PathBuf};
use std::time::Duration;

use sqlx::{Connection, PgConnection};

/// The server tried when `DATABASE_URL` is not set.
pub const DEFAULT_ADMIN_URL: &str = "postgres://postgres@127.0.0.1:5432/postgres";

/// Name prefix of every database created by [`TestPostgres`].
pub const DATABASE_PREFIX: &str = "admit_test_";

const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// A path for a fresh SQLite database file in its own temporary directory.
///
/// The file itself is not created (SQLite creates it on first open); the directory, with the
/// database and its `-wal`/`-shm` companions, is removed when the value is dropped.
#[derive(Debug)]
pub struct TestSqlite {
    path: PathBuf,
    // Dropped (and so deleted) together with the fixture.
    dir: tempfile::TempDir,
}

impl TestSqlite {
    /// Creates a new private temporary directory and picks `admit.db` inside it.
    ///
    /// # Panics
    /// If the temporary directory cannot be created.
    pub fn new() -> Self {
        let dir = tempfile::Builder::new()
            .prefix("admit-test-")
            .tempdir()
            .expect("admit-testkit: cannot create a temporary directory for a SQLite database");
        let path = dir.path().join("admit.db");
        Self { path, dir }
    }

    /// Path of the database file (not created yet).
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The temporary directory holding the database; removed on drop.
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// A sqlx connection URL for the file that creates it if missing (`mode=rwc`).
    pub fn url(&self) -> String {
        format!("sqlite://{}?mode=rwc", self.path.display())
    }
}

impl Default for TestSqlite {
    fn default() -> Self {
        Self::new()
    }
}

/// A uniquely named, empty PostgreSQL database (`admit_test_<uuid>`), dropped with
/// `DROP DATABASE … WITH (FORCE)` when the value is dropped (open connections are terminated).
///
/// Dropping is safe inside `#[tokio::test]`: it runs on a separate thread with its own runtime.
/// A failed drop prints a warning instead of failing the test.
#[derive(Debug)]
pub struct TestPostgres {
    name: String,
    url: String,
    admin_url: String,
}

impl TestPostgres {
    /// Creates a new database on the discovered server (see the crate docs).
    ///
    /// # Panics
    /// If no PostgreSQL server can be reached or the database cannot be created; the message
    /// says how to get a server.
    pub async fn new() -> Self {
        let admin_url = discover_admin_url();
        let mut admin = connect_admin(&admin_url).await;
        let name = format!("{DATABASE_PREFIX}{}", uuid::Uuid::now_v7().simple());
        create_database(&mut admin, &name).await;
        // Best effort: the connection is useless from here on either way.
        let _ = admin.close().await;
        let url = with_database(&admin_url, &name);
        Self {
            name,
            url,
            admin_url,
        }
    }

    /// Connection URL of the test database.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Name of the test database.
    pub fn name(&self) -> &str {
        &self.name
    }
}

impl Drop for TestPostgres {
    fn drop(&mut self) {
        if std::env::var_os("ADMIT_TEST_KEEP_DB").is_some_and(|v| !v.is_empty() && v != "0") {
            eprintln!(
                "admit-testkit: keeping database {} (ADMIT_TEST_KEEP_DB is set)",
                self.name
            );
            return;
        }
        let admin_url = self.admin_url.clone();
        let name = self.name.clone();
        // A fresh thread with its own runtime: blocking inside the test's runtime would panic.
        let outcome = std::thread::Builder::new()
            .name("admit-testkit-drop".into())
            .spawn(move || -> Result<(), String> {
                let runtime = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .map_err(|e| format!("cannot start a runtime: {e}"))?;
                runtime.block_on(drop_database(&admin_url, &name))
            })
            .map_err(|e| format!("cannot spawn a thread: {e}"))
            .and_then(|handle| {
                handle
                    .join()
                    .unwrap_or_else(|_| Err("the drop thread panicked".into()))
            });
        if let Err(e) = outcome {
            eprintln!(
                "admit-testkit: warning: could not drop test database {}: {e}",
                self.name
            );
        }
    }
}

fn discover_admin_url() -> String {
    match std::env::var("DATABASE_URL") {
        Ok(url) if !url.trim().is_empty() => url.trim().to_owned(),
        _ => DEFAULT_ADMIN_URL.to_owned(),
    }
}

async fn connect_admin(admin_url: &str) -> PgConnection {
    let result = tokio::time::timeout(CONNECT_TIMEOUT, PgConnection::connect(admin_url)).await;
    let error = match result {
        Ok(Ok(conn)) => return conn,
        Ok(Err(e)) => e.to_string(),
        Err(_) => format!("no answer within {CONNECT_TIMEOUT:?}"),
    };
    let shown = redact(admin_url);
    if std::env::var_os("DATABASE_URL").is_some() {
        panic!(
            "admit-testkit: DATABASE_URL is set to {shown} but connecting to it failed: {error}\n\
             Fix or unset DATABASE_URL, or run the tests with `scripts/test`."
        );
    }
    panic!(
        "admit-testkit: PostgreSQL tests need a server, and none is available.\n\
         DATABASE_URL is not set and {shown} did not accept a connection: {error}\n\
         Either run the suite with `scripts/test` (it starts a private throwaway PostgreSQL \
         when none is available), run a single command with `scripts/with-postgres <command>`, \
         or set DATABASE_URL=postgres://USER[:PASSWORD]@HOST:PORT/postgres for a server where \
         USER may create databases."
    );
}

async fn create_database(admin: &mut PgConnection, name: &str) {
    // CREATE DATABASE copies template1 and fails with 55006 (object_in_use) while anything else
    // is connected to it; that is transient, so retry a few times.
    let sql = format!("CREATE DATABASE {}", quote_ident(name));
    let mut attempt = 0;
    loop {
        attempt += 1;
        match sqlx::query(&sql).execute(&mut *admin).await {
            Ok(_) => return,
            Err(sqlx::Error::Database(e))
                if e.code().as_deref() == Some("55006") && attempt < 20 =>
            {
                tokio::time::sleep(Duration::from_millis(50 * attempt)).await;
            }
            Err(e) => panic!("admit-testkit: cannot create test database {name}: {e}"),
        }
    }
}

async fn drop_database(admin_url: &str, name: &str) -> Result<(), String> {
    let mut admin = tokio::time::timeout(CONNECT_TIMEOUT, PgConnection::connect(admin_url))
        .await
        .map_err(|_| "the server did not answer".to_owned())?
        .map_err(|e| e.to_string())?;
    let sql = format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", quote_ident(name));
    sqlx::query(&sql)
        .execute(&mut admin)
        .await
        .map_err(|e| e.to_string())?;
    let _ = admin.close().await;
    Ok(())
}

/// Quotes an SQL identifier (our names are `admit_test_<hex>`, but quote properly anyway).
fn quote_ident(ident: &str) -> String {
    format!("\"{}\"", ident.replace('"', "\"\""))
}

/// Replaces the database part of a `postgres://` URL, keeping user, host, port and query.
fn with_database(url: &str, database: &str) -> String {
    let (base, query) = url.split_at(url.find('?').unwrap_or(url.len()));
    let authority_start = base.find("://").map_or(0, |i| i + 3);
    let authority_end = base[authority_start..]
        .find('/')
        .map_or(base.len(), |i| authority_start + i);
    format!("{}/{database}{query}", &base[..authority_end])
}

/// Hides the password of a URL for messages.
fn redact(url: &str) -> String {
    let Some(scheme_end) = url.find("://").map(|i| i + 3) else {
        return url.to_owned();
    };
    let rest = &url[scheme_end..];
    let authority = &rest[..rest.find(['/', '?']).unwrap_or(rest.len())];
    match (authority.rfind('@'), authority.find(':')) {
        (Some(at), Some(colon)) if colon < at => format!(
            "{}{}:***{}",
            &url[..scheme_end],
            &authority[..colon],
            &url[scheme_end + at..]
        ),
        _ => url.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sqlx::Row;

    #[test]
    fn database_part_of_a_url_is_replaced() {
        let cases = [
            ("postgres://u@h:1/postgres", "postgres://u@h:1/x"),
            (
                "postgres://u:p@h:1/postgres?sslmode=disable",
                "postgres://u:p@h:1/x?sslmode=disable",
            ),
            ("postgres://u@h", "postgres://u@h/x"),
            ("postgres://u@h/", "postgres://u@h/x"),
            (
                "postgresql://h?host=/run/pg",
                "postgresql://h/x?host=/run/pg",
            ),
        ];
        for (input, expected) in cases {
            assert_eq!(with_database(input, "x"), expected, "{input}");
        }
    }

    #[test]
    fn passwords_are_redacted() {
        assert_eq!(redact("postgres://u:secret@h/db"), "postgres://u:***@h/db");
        assert_eq!(redact("postgres://u@h:5432/db"), "postgres://u@h:5432/db");
    }

    #[tokio::test]
    async fn sqlite_file_is_usable_and_its_directory_goes_away() {
        let db = TestSqlite::new();
        let dir = db.dir().to_owned();
        assert!(db.path().starts_with(&dir));
        assert!(!db.path().exists(), "the file is created by its first user");

        let mut conn = sqlx::SqliteConnection::connect(&db.url()).await.unwrap();
        sqlx::query("CREATE TABLE t (x INTEGER)")
            .execute(&mut conn)
            .await
            .unwrap();
        conn.close().await.unwrap();
        assert!(db.path().exists());

        let other = TestSqlite::new();
        assert_ne!(other.path(), db.path());

        drop(db);
        assert!(!dir.exists(), "the temporary directory is removed on drop");
    }

    async fn database_exists(name: &str) -> bool {
        let mut admin = connect_admin(&discover_admin_url()).await;
        let row = sqlx::query("SELECT count(*) AS n FROM pg_database WHERE datname = $1")
            .bind(name)
            .fetch_one(&mut admin)
            .await
            .unwrap();
        row.get::<i64, _>("n") == 1
    }

    #[tokio::test]
    async fn postgres_database_is_created_usable_and_dropped() {
        let db = TestPostgres::new().await;
        let name = db.name().to_owned();
        assert!(name.starts_with(DATABASE_PREFIX));
        assert!(database_exists(&name).await);

        let mut conn = PgConnection::connect(db.url()).await.unwrap();
        let current: String = sqlx::query_scalar("SELECT current_database()")
            .fetch_one(&mut conn)
            .await
            .unwrap();
        assert_eq!(current, name);
        sqlx::query("CREATE TABLE t (x INT)")
            .execute(&mut conn)
            .await
            .unwrap();
        sqlx::query("INSERT INTO t VALUES (42)")
            .execute(&mut conn)
            .await
            .unwrap();
        let x: i32 = sqlx::query_scalar("SELECT x FROM t")
            .fetch_one(&mut conn)
            .await
            .unwrap();
        assert_eq!(x, 42);

        // Dropped while `conn` is still open: WITH (FORCE) ends it.
        drop(db);
        assert!(
            !database_exists(&name).await,
            "database {name} still exists"
        );
        assert!(sqlx::query("SELECT 1").execute(&mut conn).await.is_err());
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn concurrent_databases_are_distinct_and_all_dropped() {
        let dbs = create_concurrently(8).await;
        let mut names: Vec<_> = dbs.iter().map(|d| d.name().to_owned()).collect();
        names.sort();
        names.dedup();
        assert_eq!(names.len(), 8);
        // Drop them in parallel too (each drop blocks its thread while PostgreSQL checkpoints).
        let drops: Vec<_> = dbs
            .into_iter()
            .map(|db| tokio::task::spawn_blocking(move || drop(db)))
            .collect();
        for handle in drops {
            handle.await.unwrap();
        }
        for name in &names {
            assert!(!database_exists(name).await, "database {name} still exists");
        }
    }

    async fn create_concurrently(n: usize) -> Vec<TestPostgres> {
        let tasks: Vec<_> = (0..n).map(|_| tokio::spawn(TestPostgres::new())).collect();
        let mut out = Vec::with_capacity(n);
        for task in tasks {
            out.push(task.await.unwrap());
        }
        out
    }
}

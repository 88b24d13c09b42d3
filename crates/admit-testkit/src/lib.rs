//! Throwaway databases for Admit's tests.
//!
//! Every test gets its own empty database and loses it when the fixture is dropped, so tests
//! can run in parallel and never see each other's data.
//!
//! * [`TestSqlite`] – a path for a fresh SQLite file inside a private temporary directory.
//! * [`TestPostgres`] – a freshly created, uniquely named PostgreSQL database.
//! * [`SmtpServer`] – a real SMTP server on a local port that keeps what it receives (see
//!   [`smtp`]), and [`mime`] to read those messages.
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

pub use smtp::SmtpServer;

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

pub mod smtp {
    //! A real SMTP server for tests: aiosmtpd (Python, Debian package `python3-aiosmtpd`,
    //! installed by `scripts/setup`) on a free local port, keeping every message it accepts
    //! in a Maildir. Like PostgreSQL tests, mail tests never skip: without aiosmtpd
    //! [`SmtpServer::start`] panics and says how to install it.
    //!
    //! The server answers 250 to the end of a message only once the message is in the Maildir,
    //! so [`SmtpServer::messages`] sees everything a client was told was sent.

    use std::fs;
    use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
    use std::path::{Path, PathBuf};
    use std::process::{Child, Command, Stdio};
    use std::time::{Duration, Instant};

    /// How long the server may take to accept connections.
    const START_TIMEOUT: Duration = Duration::from_secs(30);

    /// A running aiosmtpd, killed when dropped.
    #[derive(Debug)]
    pub struct SmtpServer {
        child: Option<Child>,
        port: u16,
        maildir: PathBuf,
        log: PathBuf,
        // Removed (with the Maildir) when the server is dropped.
        dir: tempfile::TempDir,
    }

    /// A local port nothing listens on right now (for a server that is "down").
    pub fn free_port() -> u16 {
        TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
            .and_then(|l| l.local_addr())
            .map(|a| a.port())
            .expect("admit-testkit: cannot find a free local port")
    }

    /// The Python interpreter that has aiosmtpd: `ADMIT_TEST_PYTHON`, else `python3` on the
    /// PATH, else the system's `/usr/bin/python3` (where the Debian package puts it, when the
    /// PATH leads to another Python first).
    fn python() -> String {
        let mut candidates = Vec::new();
        if let Ok(p) = std::env::var("ADMIT_TEST_PYTHON") {
            if !p.trim().is_empty() {
                candidates.push(p.trim().to_owned());
            }
        }
        candidates.push("python3".to_owned());
        candidates.push("/usr/bin/python3".to_owned());
        for c in &candidates {
            let ok = Command::new(c)
                .args(["-c", "import aiosmtpd.handlers"])
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status()
                .is_ok_and(|s| s.success());
            if ok {
                return c.clone();
            }
        }
        panic!(
            "admit-testkit: mail tests need aiosmtpd, and no Python here has it (tried {}).\n\
             Install it with `apt-get install python3-aiosmtpd` (scripts/setup does), or point \
             ADMIT_TEST_PYTHON at a Python that can `import aiosmtpd`.",
            candidates.join(", ")
        );
    }

    impl SmtpServer {
        /// Start a server on a free local port and wait until it accepts connections.
        ///
        /// # Panics
        /// If aiosmtpd is missing or the server does not come up; the message says why.
        pub fn start() -> Self {
            Self::start_on(free_port())
        }

        /// Start a server on `port` of 127.0.0.1 (e.g. one a test found with [`free_port`]
        /// while the server was still "down").
        pub fn start_on(port: u16) -> Self {
            let python = python();
            let dir = tempfile::Builder::new()
                .prefix("admit-smtp-")
                .tempdir()
                .expect("admit-testkit: cannot create a temporary directory for mail");
            let maildir = dir.path().join("maildir");
            let log = dir.path().join("aiosmtpd.log");
            let log_file = fs::File::create(&log)
                .expect("admit-testkit: cannot create the mail server's log file");
            let child = Command::new(&python)
                .args(["-m", "aiosmtpd", "-n", "-l"])
                .arg(format!("127.0.0.1:{port}"))
                .args(["-c", "aiosmtpd.handlers.Mailbox"])
                .arg(&maildir)
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::from(log_file))
                .spawn()
                .unwrap_or_else(|e| {
                    panic!("admit-testkit: cannot start {python} -m aiosmtpd: {e}")
                });
            let mut server = SmtpServer {
                child: Some(child),
                port,
                maildir,
                log,
                dir,
            };
            server.wait_until_ready();
            server
        }

        fn wait_until_ready(&mut self) {
            let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, self.port));
            let deadline = Instant::now() + START_TIMEOUT;
            loop {
                if let Some(child) = self.child.as_mut() {
                    if let Ok(Some(status)) = child.try_wait() {
                        self.child = None;
                        panic!(
                            "admit-testkit: aiosmtpd on port {} exited at once ({status}):\n{}",
                            self.port,
                            self.log_text()
                        );
                    }
                }
                // Connected and greeted: a bare connect can succeed before the handler is
                // wired up on some systems, so wait for the banner.
                if let Ok(stream) = TcpStream::connect_timeout(&addr, Duration::from_millis(250)) {
                    let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
                    let mut banner = [0u8; 3];
                    if std::io::Read::read_exact(&mut &stream, &mut banner).is_ok()
                        && &banner == b"220"
                    {
                        let _ = std::io::Write::write_all(&mut &stream, b"QUIT\r\n");
                        // The Maildir exists from here on.
                        return;
                    }
                }
                if Instant::now() > deadline {
                    self.stop();
                    panic!(
                        "admit-testkit: aiosmtpd did not accept connections on port {} within \
                         {START_TIMEOUT:?}:\n{}",
                        self.port,
                        self.log_text()
                    );
                }
                std::thread::sleep(Duration::from_millis(50));
            }
        }

        fn log_text(&self) -> String {
            fs::read_to_string(&self.log).unwrap_or_default()
        }

        /// The port on 127.0.0.1 the server listens on.
        pub fn port(&self) -> u16 {
            self.port
        }

        /// The temporary directory holding the Maildir and the server's log.
        pub fn dir(&self) -> &Path {
            self.dir.path()
        }

        /// Every message received so far, oldest first, as raw RFC 5322 text (with `\n` line
        /// ends; aiosmtpd adds `X-Peer`, `X-MailFrom` and `X-RcptTo` headers with the
        /// envelope).
        pub fn messages(&self) -> Vec<String> {
            let mut files = Vec::new();
            for sub in ["new", "cur"] {
                let Ok(entries) = fs::read_dir(self.maildir.join(sub)) else {
                    continue;
                };
                for entry in entries.flatten() {
                    let modified = entry
                        .metadata()
                        .and_then(|m| m.modified())
                        .unwrap_or(std::time::SystemTime::UNIX_EPOCH);
                    files.push((modified, entry.path()));
                }
            }
            files.sort();
            files
                .into_iter()
                .map(|(_, path)| {
                    let bytes = fs::read(&path).unwrap_or_else(|e| {
                        panic!("admit-testkit: cannot read {}: {e}", path.display())
                    });
                    String::from_utf8_lossy(&bytes).into_owned()
                })
                .collect()
        }

        /// Stop the server (it refuses connections from then on). Idempotent.
        pub fn stop(&mut self) {
            if let Some(mut child) = self.child.take() {
                let _ = child.kill();
                let _ = child.wait();
            }
        }
    }

    impl Drop for SmtpServer {
        fn drop(&mut self) {
            self.stop();
        }
    }
}

pub mod mime {
    //! Just enough MIME to check mail in tests: headers unfolded with RFC 2047 words decoded,
    //! and the leaf parts of (nested) multiparts with their transfer encoding undone.

    use base64::Engine;

    /// One received message.
    #[derive(Debug, Clone)]
    pub struct Mail {
        /// In order; names as written, values unfolded and decoded.
        pub headers: Vec<(String, String)>,
        /// The leaf parts (the message itself when it is not multipart).
        pub parts: Vec<Part>,
    }

    #[derive(Debug, Clone)]
    pub struct Part {
        pub headers: Vec<(String, String)>,
        /// The media type, lower case, without parameters ("text/plain").
        pub content_type: String,
        /// From Content-Disposition or Content-Type.
        pub filename: Option<String>,
        /// The decoded bytes.
        pub body: Vec<u8>,
    }

    impl Part {
        pub fn header(&self, name: &str) -> Option<&str> {
            find(&self.headers, name)
        }
        /// The body as text (lossy UTF-8).
        pub fn text(&self) -> String {
            String::from_utf8_lossy(&self.body).into_owned()
        }
    }

    impl Mail {
        /// The first header of that name (case-insensitive).
        pub fn header(&self, name: &str) -> Option<&str> {
            find(&self.headers, name)
        }
        /// The first text/plain part, decoded.
        pub fn text(&self) -> Option<String> {
            self.parts
                .iter()
                .find(|p| p.content_type == "text/plain" && p.filename.is_none())
                .map(Part::text)
        }
        /// Parts with a file name.
        pub fn attachments(&self) -> Vec<&Part> {
            self.parts.iter().filter(|p| p.filename.is_some()).collect()
        }
    }

    fn find<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
        headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// Read a raw message.
    pub fn parse(raw: &str) -> Mail {
        let raw = raw.replace("\r\n", "\n");
        let (headers, body) = split_entity(&raw);
        let parts = leaves(&headers, body);
        Mail { headers, parts }
    }

    fn split_entity(raw: &str) -> (Vec<(String, String)>, &str) {
        let (head, body) = match raw.find("\n\n") {
            Some(i) => (&raw[..i], &raw[i + 2..]),
            None => (raw, ""),
        };
        let mut headers: Vec<(String, String)> = Vec::new();
        for line in head.lines() {
            if line.starts_with([' ', '\t']) {
                if let Some((_, v)) = headers.last_mut() {
                    v.push_str(line);
                }
            } else if let Some((n, v)) = line.split_once(':') {
                headers.push((n.trim().to_owned(), v.trim_start().to_owned()));
            }
        }
        for (_, v) in &mut headers {
            *v = decode_words(v.trim());
        }
        (headers, body)
    }

    /// A header parameter (`boundary`, `filename`, `name`), unquoted.
    fn param(value: &str, name: &str) -> Option<String> {
        value.split(';').skip(1).find_map(|p| {
            let (k, v) = p.split_once('=')?;
            k.trim()
                .eq_ignore_ascii_case(name)
                .then(|| v.trim().trim_matches('"').to_owned())
        })
    }

    fn leaves(headers: &[(String, String)], body: &str) -> Vec<Part> {
        let ct = find(headers, "content-type").unwrap_or("text/plain");
        let media = ct
            .split(';')
            .next()
            .unwrap_or("")
            .trim()
            .to_ascii_lowercase();
        if media.starts_with("multipart/") {
            let Some(boundary) = param(ct, "boundary") else {
                return Vec::new();
            };
            let delimiter = format!("--{boundary}");
            let mut out = Vec::new();
            // Text between delimiter lines; the preamble before the first and the epilogue
            // after the closing one are skipped.
            let mut current: Option<Vec<&str>> = None;
            for line in body.split('\n') {
                if line.trim_end() == delimiter || line.trim_end() == format!("{delimiter}--") {
                    if let Some(lines) = current.take() {
                        let text = lines.join("\n");
                        let (h, b) = split_entity(&text);
                        out.extend(leaves(&h, b));
                    }
                    if line.trim_end() != delimiter {
                        break;
                    }
                    current = Some(Vec::new());
                } else if let Some(lines) = current.as_mut() {
                    lines.push(line);
                }
            }
            return out;
        }
        let encoding = find(headers, "content-transfer-encoding")
            .unwrap_or("7bit")
            .trim()
            .to_ascii_lowercase();
        let body = match encoding.as_str() {
            "base64" => {
                let compact: String = body.chars().filter(|c| !c.is_whitespace()).collect();
                base64::engine::general_purpose::STANDARD
                    .decode(compact)
                    .expect("admit-testkit: a base64 part does not decode")
            }
            "quoted-printable" => quoted_printable(body),
            _ => body.as_bytes().to_vec(),
        };
        let filename = find(headers, "content-disposition")
            .and_then(|d| param(d, "filename"))
            .or_else(|| param(ct, "name"));
        vec![Part {
            headers: headers.to_vec(),
            content_type: media,
            filename,
            body,
        }]
    }

    fn quoted_printable(s: &str) -> Vec<u8> {
        let mut out = Vec::new();
        let lines: Vec<&str> = s.split('\n').collect();
        for (i, line) in lines.iter().enumerate() {
            let line = line.trim_end_matches([' ', '\t']);
            let (line, soft) = match line.strip_suffix('=') {
                Some(l) => (l, true),
                None => (line, false),
            };
            let b = line.as_bytes();
            let mut j = 0;
            while j < b.len() {
                if b[j] == b'=' && j + 2 < b.len() {
                    let hex = std::str::from_utf8(&b[j + 1..j + 3]).unwrap_or("");
                    if let Ok(v) = u8::from_str_radix(hex, 16) {
                        out.push(v);
                        j += 3;
                        continue;
                    }
                }
                out.push(b[j]);
                j += 1;
            }
            if !soft && i + 1 < lines.len() {
                out.push(b'\n');
            }
        }
        out
    }

    /// Decode RFC 2047 encoded words (`=?utf-8?b?…?=`, `=?utf-8?q?…?=`); white space between
    /// two encoded words goes, as the RFC says.
    pub fn decode_words(value: &str) -> String {
        let mut out = String::new();
        let mut rest = value;
        let mut last_was_word = false;
        while let Some(start) = rest.find("=?") {
            let (before, after) = rest.split_at(start);
            let decoded = (|| {
                let inner = &after[2..];
                // Every charset is read as UTF-8: lettre writes nothing else.
                let (charset, inner) = inner.split_once('?')?;
                let (enc, inner) = inner.split_once('?')?;
                let end = inner.find("?=")?;
                let text = &inner[..end];
                let bytes = match enc.to_ascii_lowercase().as_str() {
                    "b" => base64::engine::general_purpose::STANDARD
                        .decode(text)
                        .ok()?,
                    "q" => quoted_printable(&text.replace('_', " ")),
                    _ => return None,
                };
                let used = 2 + charset.len() + 1 + enc.len() + 1 + end + 2;
                Some((String::from_utf8_lossy(&bytes).into_owned(), used))
            })();
            match decoded {
                Some((text, used)) => {
                    if !(last_was_word && before.trim().is_empty()) {
                        out.push_str(before);
                    }
                    out.push_str(&text);
                    rest = &after[used..];
                    last_was_word = true;
                }
                None => {
                    out.push_str(before);
                    out.push_str("=?");
                    rest = &after[2..];
                    last_was_word = false;
                }
            }
        }
        out.push_str(rest);
        out
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
    fn mime_headers_and_parts_decode() {
        let raw =
            "Subject: =?utf-8?b?R3LDvMOfZSA=?=\n =?utf-8?b?5pel5pys?= =?utf-8?q?_Zo=C3=AB?=\n\
                   Content-Type: multipart/mixed;\n boundary=\"XyZ\"\n\n\
                   preamble\n--XyZ\nContent-Type: text/plain; charset=utf-8\n\
                   Content-Transfer-Encoding: quoted-printable\n\nZo=C3=AB and a long=\n line\n\
                   --XyZ\nContent-Type: application/pdf\n\
                   Content-Disposition: attachment; filename=\"t.pdf\"\n\
                   Content-Transfer-Encoding: base64\n\nJVBE\nRi0x\n--XyZ--\nepilogue\n";
        let mail = mime::parse(raw);
        assert_eq!(mail.header("subject"), Some("Grüße 日本 Zoë"));
        // The line break before a boundary belongs to the boundary (RFC 2046).
        assert_eq!(mail.text().as_deref(), Some("Zoë and a long line"));
        let files = mail.attachments();
        assert_eq!(files.len(), 1);
        assert_eq!(files[0].filename.as_deref(), Some("t.pdf"));
        assert_eq!(files[0].body, b"%PDF-1");
        assert_eq!(mime::decode_words("plain =?x"), "plain =?x");
    }

    #[test]
    fn smtp_server_keeps_what_it_accepts_and_stops() {
        use std::io::{BufRead, BufReader, Write};
        let mut server = SmtpServer::start();
        let stream = std::net::TcpStream::connect(("127.0.0.1", server.port())).unwrap();
        let mut reader = BufReader::new(stream.try_clone().unwrap());
        let mut w = stream;
        let mut expect = |code: &str| loop {
            let mut line = String::new();
            reader.read_line(&mut line).unwrap();
            assert!(line.starts_with(code), "wanted {code}, got {line:?}");
            if line.as_bytes().get(3) != Some(&b'-') {
                break;
            }
        };
        expect("220");
        for (cmd, code) in [
            ("HELO test\r\n", "250"),
            ("MAIL FROM:<a@example.org>\r\n", "250"),
            ("RCPT TO:<b@example.org>\r\n", "250"),
            ("DATA\r\n", "354"),
            ("Subject: hi\r\n\r\nhello\r\n.\r\n", "250"),
            ("QUIT\r\n", "221"),
        ] {
            w.write_all(cmd.as_bytes()).unwrap();
            expect(code);
        }
        let got = server.messages();
        assert_eq!(got.len(), 1);
        let mail = mime::parse(&got[0]);
        assert_eq!(mail.header("subject"), Some("hi"));
        assert_eq!(mail.header("x-rcptto"), Some("b@example.org"));
        let port = server.port();
        server.stop();
        assert!(std::net::TcpStream::connect(("127.0.0.1", port)).is_err());
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

//! The device's sync engine.
//!
//! One round ([`SyncClient::sync_once`]):
//! 1. allocation moves still waiting for an answer are sent again (same ids);
//! 2. the device's outbox is uploaded from its upload cursor, in batches, oldest first; the
//!    cursor moves past a change once the server has applied it, found it a duplicate,
//!    skipped it or recorded it as a conflict; a change the server defers (its order has not
//!    arrived) stops the batch there, to be sent again next round;
//! 3. the server's changes are downloaded from the download cursor, page by page, each page
//!    applied in one transaction and the cursor stored after it, so an interrupted download
//!    resumes at the page it lost;
//! 4. quotas the device sells from are topped up to their target.
//!
//! Cursors and pending moves live in the device's store (`sync_state`), never only in memory.
//!
//! The server is reached over plain HTTP or HTTPS (rustls, trusting the platform's roots and
//! [`SyncOptions::extra_root_pem`], for a server with a self-signed or private certificate).
//! A certificate the device does not trust fails the round with [`SyncError::Tls`], which is
//! not transient: it needs a person, not another try.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::{de::DeserializeOwned, Serialize};
use uuid::Uuid;

use admit_core::QuotaId;
use admit_store::{Store, StoreError, UploadOutcome};

use crate::wire::*;

const UPLOAD_CURSOR: &str = "upload_seq";
const DOWNLOAD_CURSOR: &str = "download_cursor";
const PENDING_MOVES: &str = "pending_moves";
const LAST_SYNC: &str = "last_sync";
const CLOCK_OFFSET: &str = "clock_offset_ms";
/// How long a round waits for changes held back by transactions still running on the server
/// before it ends (the next round picks them up).
const HELD_BACK_PATIENCE: Duration = Duration::from_secs(3);
const HELD_BACK_PAUSE: Duration = Duration::from_millis(25);

#[derive(Debug, thiserror::Error)]
pub enum SyncError {
    /// The server could not be reached or the connection broke: the device is offline.
    #[error("the server cannot be reached: {0}")]
    Offline(String),
    /// The server refused the device's token (revoked or unknown).
    #[error("the server refused this device: {0}")]
    Refused(String),
    /// The server answered with an error.
    #[error("the server answered {status}: {message}")]
    Server { status: u16, message: String },
    /// No TLS connection could be made: the server's certificate is not trusted (unknown
    /// issuer, wrong name, expired) or the two sides share no protocol. A person has to fix
    /// the server's certificate or the device's trusted roots; trying again will not help.
    #[error("no secure connection to the server: {0}")]
    Tls(String),
    /// The client's own settings cannot be used (an extra root certificate that is not PEM).
    #[error("sync settings: {0}")]
    Settings(String),
    #[error("local store: {0}")]
    Store(#[from] StoreError),
}

impl SyncError {
    /// Worth trying again later (as opposed to needing a person: a revoked device).
    pub fn is_transient(&self) -> bool {
        match self {
            SyncError::Offline(_) => true,
            SyncError::Server { status, .. } => *status >= 500 || *status == 429,
            SyncError::Refused(_) | SyncError::Tls(_) | SyncError::Settings(_) => false,
            SyncError::Store(StoreError::Busy) => true,
            SyncError::Store(_) => false,
        }
    }
}

pub type SyncResult<T> = Result<T, SyncError>;

#[derive(Debug, Clone)]
pub struct SyncOptions {
    /// Changes per upload request.
    pub upload_batch: usize,
    /// Changes per downloaded page.
    pub page: u32,
    /// Units of each quota the device tries to hold spare (0: the device does not sell).
    pub allocation_target: i64,
    /// A quota is topped up when its spare units fall below this.
    pub allocation_low: i64,
    /// Per request.
    pub timeout: Duration,
    /// The device's clock: the times the client records and compares with the server's.
    pub clock: Clock,
    /// A root certificate (PEM, one or more) trusted besides the system's: for a server whose
    /// certificate is self-signed or from a private authority.
    pub extra_root_pem: Option<String>,
}

impl Default for SyncOptions {
    fn default() -> Self {
        SyncOptions {
            upload_batch: 500,
            page: 1000,
            allocation_target: 20,
            allocation_low: 5,
            timeout: Duration::from_secs(30),
            clock: Clock::default(),
            extra_root_pem: None,
        }
    }
}

/// Where the sync client reads the time: the system clock, or one set off from it (a device
/// whose clock is wrong, in tests).
#[derive(Clone)]
pub struct Clock(Arc<dyn Fn() -> DateTime<Utc> + Send + Sync>);

impl Clock {
    /// The system clock.
    pub fn system() -> Self {
        Clock(Arc::new(Utc::now))
    }

    /// The system clock moved by `offset` (negative: slow).
    pub fn offset_by(offset: chrono::Duration) -> Self {
        Clock(Arc::new(move || Utc::now() + offset))
    }

    pub fn now(&self) -> DateTime<Utc> {
        (self.0)()
    }
}

impl Default for Clock {
    fn default() -> Self {
        Clock::system()
    }
}

impl std::fmt::Debug for Clock {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Clock({})", self.now().to_rfc3339())
    }
}

/// What one round did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct SyncReport {
    pub uploaded: u64,
    pub duplicates: u64,
    pub conflicts: u64,
    /// Changes the server deferred; they go again next round.
    pub deferred: u64,
    pub downloaded: u64,
    pub pages: u64,
    /// Units granted (+) and returned (−) this round.
    pub units_moved: i64,
    /// Signing keys received (selling devices).
    pub keys: u64,
}

/// Which endpoints the client calls, relative to the server's base address.
pub mod paths {
    pub const UPLOAD: &str = "api/v1/sync/upload";
    pub const CHANGES: &str = "api/v1/sync/changes";
    pub const ALLOCATIONS: &str = "api/v1/sync/allocations";
    pub const CONFLICTS: &str = "api/v1/sync/conflicts";
    pub const KEYS: &str = "api/v1/sync/keys";
}

#[derive(Clone)]
pub struct SyncClient {
    http: reqwest::Client,
    base: String,
    token: String,
    store: Arc<dyn Store>,
    options: SyncOptions,
}

impl std::fmt::Debug for SyncClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SyncClient")
            .field("base", &self.base)
            .field("token", &"<redacted>")
            .finish()
    }
}

impl SyncClient {
    /// `base` is the server's address (`http://host:port/` or `https://…`); `token` the
    /// device token from pairing. Fails only on settings that cannot work.
    pub fn new(
        base: &str,
        token: &str,
        store: Arc<dyn Store>,
        options: SyncOptions,
    ) -> SyncResult<Self> {
        let mut http = reqwest::Client::builder()
            .timeout(options.timeout)
            .connect_timeout(Duration::from_secs(5));
        if let Some(pem) = &options.extra_root_pem {
            let certs = reqwest::Certificate::from_pem_bundle(pem.as_bytes()).map_err(|e| {
                SyncError::Settings(format!(
                    "the extra root certificate cannot be read: {}",
                    error_chain(&e)
                ))
            })?;
            if certs.is_empty() {
                return Err(SyncError::Settings(
                    "the extra root certificate holds no PEM certificate".into(),
                ));
            }
            http = http.tls_certs_merge(certs);
        }
        let http = http
            .build()
            .map_err(|e| SyncError::Settings(error_chain(&e)))?;
        let mut base = base.trim().to_string();
        if !base.ends_with('/') {
            base.push('/');
        }
        Ok(SyncClient {
            http,
            base,
            token: token.to_string(),
            store,
            options,
        })
    }

    fn now(&self) -> DateTime<Utc> {
        self.options.clock.now()
    }

    pub fn store(&self) -> &Arc<dyn Store> {
        &self.store
    }

    async fn call<Q: Serialize, A: DeserializeOwned>(
        &self,
        method: reqwest::Method,
        path: &str,
        query: &[(&str, String)],
        body: Option<&Q>,
    ) -> SyncResult<A> {
        let mut req = self
            .http
            .request(method, format!("{}{path}", self.base))
            .bearer_auth(&self.token)
            .query(query);
        if let Some(b) = body {
            req = req.json(b);
        }
        let resp = req.send().await.map_err(|e| request_failed(&e))?;
        let status = resp.status();
        if status.is_success() {
            return resp
                .json::<A>()
                .await
                .map_err(|e| SyncError::Offline(format!("answer cut short: {}", error_chain(&e))));
        }
        let message = resp.text().await.unwrap_or_default();
        if status == reqwest::StatusCode::UNAUTHORIZED || status == reqwest::StatusCode::FORBIDDEN {
            return Err(SyncError::Refused(message));
        }
        Err(SyncError::Server {
            status: status.as_u16(),
            message,
        })
    }

    /// Upload, download and top up once.
    pub async fn sync_once(&self) -> SyncResult<SyncReport> {
        let mut report = SyncReport::default();
        self.settle_moves(&mut report).await?;
        self.upload(&mut report).await?;
        self.download(&mut report, |_| {}).await?;
        if self.options.allocation_target > 0 {
            self.fetch_keys(&mut report).await?;
        }
        self.top_up(&mut report).await?;
        self.store
            .set_sync_value(LAST_SYNC, &self.now().to_rfc3339())
            .await?;
        Ok(report)
    }

    /// The device's outbox rows not uploaded yet.
    pub async fn waiting(&self) -> SyncResult<u64> {
        let after = self.cursor_seq().await?;
        // A count would need a new store method; the outbox is read in pages anyway.
        let mut n = 0u64;
        let mut at = after;
        loop {
            let rows = self.store.list_outbox(at, 1000).await?;
            let Some((last, _)) = rows.last() else { break };
            at = *last;
            n += rows.len() as u64;
        }
        Ok(n)
    }

    pub async fn last_sync(&self) -> SyncResult<Option<DateTime<Utc>>> {
        Ok(self
            .store
            .sync_value(LAST_SYNC)
            .await?
            .and_then(|s| DateTime::parse_from_rfc3339(&s).ok())
            .map(|t| t.with_timezone(&Utc)))
    }

    /// How far the device's clock is ahead of the server's, as last seen (milliseconds).
    pub async fn clock_offset_ms(&self) -> SyncResult<Option<i64>> {
        Ok(self
            .store
            .sync_value(CLOCK_OFFSET)
            .await?
            .and_then(|s| s.parse().ok()))
    }

    async fn cursor_seq(&self) -> SyncResult<i64> {
        Ok(self
            .store
            .sync_value(UPLOAD_CURSOR)
            .await?
            .and_then(|s| s.parse().ok())
            .unwrap_or(0))
    }

    pub async fn upload(&self, report: &mut SyncReport) -> SyncResult<()> {
        loop {
            let after = self.cursor_seq().await?;
            let rows = self
                .store
                .list_outbox(after, self.options.upload_batch as u32)
                .await?;
            if rows.is_empty() {
                return Ok(());
            }
            let request = UploadRequest {
                protocol: PROTOCOL,
                changes: rows.iter().map(|(_, e)| e.clone()).collect(),
            };
            let answer: UploadResponse = self
                .call(reqwest::Method::POST, paths::UPLOAD, &[], Some(&request))
                .await?;
            if answer.outcomes.len() != rows.len() {
                return Err(SyncError::Server {
                    status: 200,
                    message: format!(
                        "{} outcomes for {} changes",
                        answer.outcomes.len(),
                        rows.len()
                    ),
                });
            }
            let mut done = after;
            let mut stopped = false;
            for ((seq, _), outcome) in rows.iter().zip(&answer.outcomes) {
                match outcome {
                    UploadOutcome::Deferred { .. } => {
                        report.deferred += 1;
                        stopped = true;
                        break;
                    }
                    UploadOutcome::Applied | UploadOutcome::Skipped => report.uploaded += 1,
                    UploadOutcome::Duplicate => report.duplicates += 1,
                    UploadOutcome::Conflict { .. } => report.conflicts += 1,
                }
                done = *seq;
            }
            if done > after {
                self.store
                    .set_sync_value(UPLOAD_CURSOR, &done.to_string())
                    .await?;
            }
            if stopped {
                return Ok(());
            }
        }
    }

    /// Download pages until the server has nothing newer; `progress` hears the running count.
    pub async fn download(
        &self,
        report: &mut SyncReport,
        progress: impl Fn(u64),
    ) -> SyncResult<()> {
        let mut waited = Duration::ZERO;
        loop {
            let cursor = self
                .store
                .sync_value(DOWNLOAD_CURSOR)
                .await?
                .unwrap_or_default();
            let sent = self.now();
            let answer: ChangesResponse = self
                .call::<(), _>(
                    reqwest::Method::GET,
                    paths::CHANGES,
                    &[
                        ("cursor", cursor.clone()),
                        ("limit", self.options.page.to_string()),
                    ],
                    None,
                )
                .await?;
            let received = self.now();
            let midpoint = sent + (received - sent) / 2;
            self.store
                .set_sync_value(
                    CLOCK_OFFSET,
                    &(midpoint - answer.server_time)
                        .num_milliseconds()
                        .to_string(),
                )
                .await?;
            if !answer.page.changes.is_empty() {
                self.store.apply_downloaded(&answer.page.changes).await?;
                report.downloaded += answer.page.changes.len() as u64;
                report.pages += 1;
                progress(report.downloaded);
            }
            if answer.page.next_cursor != cursor {
                self.store
                    .set_sync_value(DOWNLOAD_CURSOR, &answer.page.next_cursor)
                    .await?;
            }
            if answer.page.held_back && waited < HELD_BACK_PATIENCE {
                // Newer changes wait for transactions still running on the server; they
                // are usually done in milliseconds.
                tokio::time::sleep(HELD_BACK_PAUSE).await;
                waited += HELD_BACK_PAUSE;
                continue;
            }
            if !answer.page.more {
                return Ok(());
            }
        }
    }

    async fn pending_moves(&self) -> SyncResult<Vec<MoveRequest>> {
        Ok(self
            .store
            .sync_value(PENDING_MOVES)
            .await?
            .and_then(|s| serde_json::from_str(&s).ok())
            .unwrap_or_default())
    }

    async fn set_pending_moves(&self, moves: &[MoveRequest]) -> SyncResult<()> {
        let text = serde_json::to_string(moves).expect("moves serialise");
        Ok(self.store.set_sync_value(PENDING_MOVES, &text).await?)
    }

    /// Send moves and record their answers. Grants are kept as pending before they are sent
    /// and counted when answered; returns were made locally first and are confirmed here.
    async fn send_moves(
        &self,
        moves: Vec<MoveRequest>,
        report: &mut SyncReport,
    ) -> SyncResult<Vec<MoveResult>> {
        if moves.is_empty() {
            return Ok(Vec::new());
        }
        let grants: Vec<MoveRequest> = moves.iter().filter(|m| m.asked > 0).copied().collect();
        let mut pending = self.pending_moves().await?;
        for g in &grants {
            if !pending.iter().any(|p| p.id == g.id) {
                pending.push(*g);
            }
        }
        self.set_pending_moves(&pending).await?;
        let answer: AllocationResponse = self
            .call(
                reqwest::Method::POST,
                paths::ALLOCATIONS,
                &[],
                Some(&AllocationRequest {
                    protocol: PROTOCOL,
                    moves,
                }),
            )
            .await?;
        let now = self.now();
        for r in &answer.moved {
            self.store
                .record_grant(r.id, r.quota_id, r.moved, true, now)
                .await?;
            report.units_moved += r.moved;
        }
        pending.retain(|p| !answer.moved.iter().any(|r| r.id == p.id));
        self.set_pending_moves(&pending).await?;
        Ok(answer.moved)
    }

    /// Moves left unanswered by an earlier round: grants asked for and returns made here.
    async fn settle_moves(&self, report: &mut SyncReport) -> SyncResult<()> {
        let mut moves = self.pending_moves().await?;
        for (id, quota_id, units) in self.store.unconfirmed_returns().await? {
            moves.push(MoveRequest {
                id,
                quota_id,
                asked: units,
            });
        }
        self.send_moves(moves, report).await?;
        Ok(())
    }

    /// Ask for more units of one quota now (a sale short of its last units, say); returns
    /// how many were granted.
    pub async fn request_units(&self, quota: QuotaId, units: i64) -> SyncResult<i64> {
        let mut report = SyncReport::default();
        let moved = self
            .send_moves(
                vec![MoveRequest {
                    id: Uuid::now_v7(),
                    quota_id: quota,
                    asked: units.max(1),
                }],
                &mut report,
            )
            .await?;
        Ok(moved.iter().map(|m| m.moved).sum())
    }

    /// Give back spare units of a quota (at most what the device holds spare). The units
    /// leave the device at once; the server hears of it now or on a later round.
    pub async fn return_units(&self, quota: QuotaId, units: i64) -> SyncResult<i64> {
        let spare = self.store.spare_units(quota).await?;
        let n = units.min(spare);
        if n <= 0 {
            return Ok(0);
        }
        let id = Uuid::now_v7();
        self.store
            .record_grant(id, quota, -n, false, self.now())
            .await?;
        let mut report = SyncReport::default();
        // Offline is fine: the return is confirmed on a later round.
        match self
            .send_moves(
                vec![MoveRequest {
                    id,
                    quota_id: quota,
                    asked: -n,
                }],
                &mut report,
            )
            .await
        {
            Ok(_) | Err(SyncError::Offline(_)) => Ok(n),
            Err(e) => Err(e),
        }
    }

    /// The events' signing keys, so tickets sold here while offline scan everywhere.
    async fn fetch_keys(&self, report: &mut SyncReport) -> SyncResult<()> {
        let answer: SigningKeysResponse = self
            .call::<(), _>(reqwest::Method::GET, paths::KEYS, &[], None)
            .await?;
        let now = self.now();
        for k in answer.keys {
            let row = admit_store::EventKey {
                event_id: k.event_id,
                key_id: k.key_id,
                public_key: k.public_key,
                retired: false,
                meta: admit_core::model::Meta::new(now),
            };
            self.store
                .put_event_key(&row, Some(k.secret), &Default::default())
                .await?;
            report.keys += 1;
        }
        Ok(())
    }

    /// Top up every quota the device knows whose spare units fell below the low mark.
    async fn top_up(&self, report: &mut SyncReport) -> SyncResult<()> {
        if self.options.allocation_target <= 0 {
            return Ok(());
        }
        let mut moves = Vec::new();
        for event in self.store.list_events().await? {
            for q in self.store.list_quotas(event.id).await? {
                let spare = i64::from(q.quota.size) - i64::from(q.taken);
                if spare < self.options.allocation_low {
                    moves.push(MoveRequest {
                        id: Uuid::now_v7(),
                        quota_id: q.quota.id,
                        asked: self.options.allocation_target - spare,
                    });
                }
            }
        }
        self.send_moves(moves, report).await?;
        Ok(())
    }

    /// Conflicts the server knows of: double admissions and uploads it could not apply.
    pub async fn conflicts(&self) -> SyncResult<ConflictsResponse> {
        self.call::<(), _>(reqwest::Method::GET, paths::CONFLICTS, &[], None)
            .await
    }
}

/// An error and its causes on one line: reqwest's own message names only the URL.
fn error_chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut text = e.to_string();
    let mut cause = e.source();
    while let Some(c) = cause {
        let more = c.to_string();
        if !text.contains(&more) {
            text.push_str(": ");
            text.push_str(&more);
        }
        cause = c.source();
    }
    text
}

/// A request that got no answer: offline, unless TLS refused the server.
fn request_failed(e: &reqwest::Error) -> SyncError {
    let mut cause: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(c) = cause {
        if let Some(tls) = tls_error(c) {
            return SyncError::Tls(tls);
        }
        cause = c.source();
    }
    SyncError::Offline(error_chain(e))
}

/// The TLS failure behind an error, if it is one. `io::Error` and boxed errors hide the error
/// they hold from `source()`, so they are looked into as well.
fn tls_error(e: &(dyn std::error::Error + 'static)) -> Option<String> {
    if let Some(tls) = e.downcast_ref::<rustls::Error>() {
        return Some(tls.to_string());
    }
    if let Some(inner) = e
        .downcast_ref::<std::io::Error>()
        .and_then(|io| io.get_ref())
    {
        return tls_error(inner);
    }
    None
}

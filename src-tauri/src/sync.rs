//! Sync with the paired server in the background, and what the window shows of it.
//!
//! While a database is open and the device is paired, [`SyncLoop`] runs a round at once and
//! then every [`SYNC_EVERY`]: the device's changes go up, the server's come down (the count so
//! far is visible while a large first download runs), stock allocations are topped up. A round
//! that fails because the server cannot be reached or is busy is tried again after 1 s, 2 s,
//! 4 s … up to [`BACKOFF_MAX`], and the wait starts over after a round that works. A server
//! that refuses the device (revoked) stops the loop until someone acts: "Sync now" tries once
//! more, unpairing ends it. Each round runs on a task of its own, so a panicking round is
//! reported like any failure and never ends the loop; after a round that brought anything
//! down, the use cases forget what they keep briefly so every screen shows the new data.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::Serialize;
use tauri::async_runtime::{spawn, JoinHandle};
use tokio::sync::{mpsc, oneshot};

use admit_api::Admit;
use admit_sync::{SyncClient, SyncError, SyncOptions, SyncReport};

use crate::settings::StoredPairing;
use crate::worker::{lock, Round};

/// Between rounds while all is well.
pub const SYNC_EVERY: Duration = Duration::from_secs(15);
/// The first wait after a failed round, doubled after each further failure up to the cap.
pub const BACKOFF_FIRST: Duration = Duration::from_secs(1);
pub const BACKOFF_MAX: Duration = Duration::from_secs(60);
/// Units of each quota a selling device tries to hold spare, and the mark it tops up below.
const ALLOCATION_TARGET: i64 = 20;
const ALLOCATION_LOW: i64 = 5;

/// How long to wait after `failures` failed rounds in a row.
pub fn backoff(failures: u32) -> Duration {
    if failures == 0 {
        return SYNC_EVERY;
    }
    let doubled = BACKOFF_FIRST.saturating_mul(1u32 << (failures - 1).min(16));
    doubled.min(BACKOFF_MAX)
}

/// What sync is doing, in one word for the window.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, ts_rs::TS)]
#[serde(rename_all = "snake_case")]
pub enum SyncState {
    /// Not paired with a server: everything stays on this computer.
    #[default]
    Unpaired,
    /// Paired; no round has finished yet.
    Starting,
    Syncing,
    /// The last round worked.
    Synced,
    /// The server could not be reached; trying again with growing waits.
    Offline,
    /// The server answered with an error (busy, or something a person should look at);
    /// trying again with growing waits.
    Failing,
    /// The server refused this device (revoked): sync stopped.
    Refused,
}

/// What one round did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, ts_rs::TS)]
pub struct SyncRound {
    pub uploaded: u64,
    pub duplicates: u64,
    /// This device's uploads the server recorded as conflicts in this round.
    pub conflicts: u64,
    pub deferred: u64,
    pub downloaded: u64,
    /// Units of stock granted (+) and returned (−).
    pub units_moved: i64,
}

impl SyncRound {
    fn add(&mut self, r: &SyncReport) {
        self.uploaded += r.uploaded;
        self.duplicates += r.duplicates;
        self.conflicts += r.conflicts;
        self.deferred += r.deferred;
        self.downloaded += r.downloaded;
        self.units_moved += r.units_moved;
    }
}

/// Sync as the window shows it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, ts_rs::TS)]
pub struct SyncStatus {
    pub state: SyncState,
    pub server_url: Option<String>,
    /// The server's name, id and role for this device.
    pub device_name: Option<String>,
    pub device_id: Option<String>,
    pub device_role: Option<String>,
    pub paired_at: Option<DateTime<Utc>>,
    /// Whether the server answered the last round (none before the first).
    pub online: Option<bool>,
    /// When a round last worked, and when one was last tried.
    pub last_sync_at: Option<DateTime<Utc>>,
    pub last_attempt_at: Option<DateTime<Utc>>,
    /// When the next round starts by itself; none while one runs and after a refusal.
    pub next_attempt_at: Option<DateTime<Utc>>,
    /// Failed rounds in a row.
    pub failures: u32,
    /// Why the last round failed.
    pub error: Option<String>,
    /// Changes made here that have not reached the server yet.
    pub waiting: Option<u64>,
    /// Double admissions the server knows of, and uploads it could not apply; none when this
    /// device's role may not see them.
    pub double_admissions: Option<u64>,
    pub upload_conflicts: Option<u64>,
    /// How far this computer's clock is ahead of the server's (negative: behind).
    pub clock_offset_ms: Option<i64>,
    /// Changes received so far by the round that is running (a large first download).
    pub downloading: Option<u64>,
    /// Whether the running round is this device's first download.
    pub first_download: bool,
    pub last_round: Option<SyncRound>,
}

pub type SharedSync = Arc<Mutex<SyncStatus>>;

/// A ticket let in twice, as the server reports it: who let it in the second time (device),
/// where (gate) and when, and the earlier entry it collided with.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ts_rs::TS)]
pub struct DoubleAdmissionView {
    pub scan_id: String,
    pub ticket_id: Option<String>,
    pub list_id: String,
    pub device_id: Option<String>,
    pub gate: Option<String>,
    pub at: DateTime<Utc>,
    pub explanation: String,
}

/// An uploaded change the server kept without applying it, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ts_rs::TS)]
pub struct UploadConflictView {
    pub entry_id: String,
    pub device_id: String,
    pub entity: String,
    pub reason: String,
    pub at: DateTime<Utc>,
}

/// The conflicts screen's lists.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, ts_rs::TS)]
pub struct SyncConflicts {
    pub double_admissions: Vec<DoubleAdmissionView>,
    pub uploads: Vec<UploadConflictView>,
}

impl From<admit_sync::wire::ConflictsResponse> for SyncConflicts {
    fn from(c: admit_sync::wire::ConflictsResponse) -> Self {
        SyncConflicts {
            double_admissions: c
                .double_admissions
                .into_iter()
                .map(|d| DoubleAdmissionView {
                    scan_id: d.scan_id.to_string(),
                    ticket_id: d.ticket_id.map(|t| t.to_string()),
                    list_id: d.list_id.to_string(),
                    device_id: d.device_id.map(|x| x.to_string()),
                    gate: d.gate,
                    at: d.at,
                    explanation: d.explanation,
                })
                .collect(),
            uploads: c
                .uploads
                .into_iter()
                .map(|u| UploadConflictView {
                    entry_id: u.entry_id.to_string(),
                    device_id: u.device_id.to_string(),
                    entity: u.entity,
                    reason: u.reason,
                    at: u.at,
                })
                .collect(),
        }
    }
}

/// A sync failure as the window's error: its own code for each kind.
pub fn sync_error(e: SyncError) -> admit_api::ErrorBody {
    let code = match &e {
        SyncError::Offline(_) => "offline",
        SyncError::Refused(_) => "forbidden",
        _ => "server_error",
    };
    crate::state::fail(code, e.to_string())
}

/// What the status says about the pairing itself.
pub fn describe_pairing(status: &mut SyncStatus, pairing: Option<&StoredPairing>) {
    match pairing {
        Some(p) => {
            status.server_url = Some(p.server_url.clone());
            status.device_name = Some(p.device_name.clone());
            status.device_id = Some(p.device_id.clone());
            status.device_role = Some(p.role.clone());
            status.paired_at = Some(p.paired_at);
        }
        None => *status = SyncStatus::default(),
    }
}

/// Sync options for the role the device was paired as: doors sell nothing, so they hold no
/// stock and fetch no signing keys.
fn options_for(role: &str) -> SyncOptions {
    let sells = role != "door";
    SyncOptions {
        allocation_target: if sells { ALLOCATION_TARGET } else { 0 },
        allocation_low: if sells { ALLOCATION_LOW } else { 0 },
        ..SyncOptions::default()
    }
}

/// The background sync of one open database and one pairing. Dropping it stops it.
pub struct SyncLoop {
    task: JoinHandle<()>,
    client: SyncClient,
    requests: mpsc::UnboundedSender<oneshot::Sender<()>>,
}

impl SyncLoop {
    /// Fails only when the stored pairing cannot make a client (its settings are unusable).
    pub fn start(
        admit: Admit,
        pairing: &StoredPairing,
        status: SharedSync,
    ) -> Result<Self, SyncError> {
        let client = SyncClient::new(
            &pairing.server_url,
            &pairing.token,
            admit.store().clone(),
            options_for(&pairing.role),
        )?;
        {
            let mut s = lock(&status);
            *s = SyncStatus::default();
            describe_pairing(&mut s, Some(pairing));
            s.state = SyncState::Starting;
        }
        let (requests, inbox) = mpsc::unbounded_channel();
        let task = spawn(run(admit, client.clone(), status, inbox));
        Ok(SyncLoop {
            task,
            client,
            requests,
        })
    }

    /// A handle for commands, usable without holding on to the loop.
    pub fn handle(&self) -> SyncHandle {
        SyncHandle {
            client: self.client.clone(),
            requests: self.requests.clone(),
        }
    }
}

/// What commands ask of a running [`SyncLoop`].
#[derive(Clone)]
pub struct SyncHandle {
    client: SyncClient,
    requests: mpsc::UnboundedSender<oneshot::Sender<()>>,
}

impl SyncHandle {
    /// Run a round now (after the one running, if any) and return when it is over.
    pub async fn sync_now(&self) -> Result<(), String> {
        let (done, finished) = oneshot::channel();
        self.requests
            .send(done)
            .map_err(|_| "sync has stopped".to_string())?;
        finished.await.map_err(|_| "sync has stopped".to_string())
    }

    /// What the server lists for people to look at: double admissions and uploads it could
    /// not apply. Door devices may not read them (`Refused`).
    pub async fn conflicts(&self) -> Result<SyncConflicts, SyncError> {
        Ok(SyncConflicts::from(self.client.conflicts().await?))
    }

    /// Changes made here not uploaded yet (read from the store, so it is current).
    pub async fn waiting(&self) -> Option<u64> {
        self.client.waiting().await.ok()
    }
}

impl Drop for SyncLoop {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn run(
    admit: Admit,
    client: SyncClient,
    status: SharedSync,
    mut inbox: mpsc::UnboundedReceiver<oneshot::Sender<()>>,
) {
    let mut failures = 0u32;
    let mut waiters: Vec<oneshot::Sender<()>> = Vec::new();
    loop {
        let received = Arc::new(AtomicU64::new(0));
        let outcome = {
            let (a, c, s, r) = (
                admit.clone(),
                client.clone(),
                status.clone(),
                received.clone(),
            );
            Round::start(async move { round(&a, &c, &s, &r).await })
                .finish()
                .await
        };
        // Whatever came down is in the store now, even when the round failed half way.
        if received.load(Ordering::Relaxed) > 0 || !matches!(outcome, Ok(Ok(_))) {
            admit.forget_cached();
        }
        let waiting = client.waiting().await.ok();
        let now = Utc::now();
        let stopped = {
            let mut s = lock(&status);
            s.last_attempt_at = Some(now);
            s.downloading = None;
            s.first_download = false;
            s.waiting = waiting.or(s.waiting);
            let stopped = match outcome {
                Ok(Ok(done)) => {
                    failures = 0;
                    s.state = SyncState::Synced;
                    s.online = Some(true);
                    s.error = None;
                    s.last_sync_at = Some(now);
                    s.last_round = Some(done.round);
                    s.double_admissions = done.double_admissions;
                    s.upload_conflicts = done.upload_conflicts;
                    s.clock_offset_ms = done.clock_offset_ms;
                    false
                }
                Ok(Err(e)) => {
                    failures += 1;
                    if s.error.as_deref() != Some(e.to_string().as_str()) {
                        tracing::warn!(error = %e, "sync failed");
                    }
                    s.error = Some(e.to_string());
                    s.online = Some(!matches!(e, SyncError::Offline(_)));
                    s.state = match &e {
                        SyncError::Offline(_) => SyncState::Offline,
                        SyncError::Refused(_) => SyncState::Refused,
                        _ => SyncState::Failing,
                    };
                    matches!(e, SyncError::Refused(_))
                }
                Err(panicked) => {
                    failures += 1;
                    tracing::error!(error = %panicked, "a sync round stopped");
                    s.error = Some(panicked);
                    s.state = SyncState::Failing;
                    false
                }
            };
            s.failures = failures;
            s.next_attempt_at = if stopped {
                None
            } else {
                chrono::Duration::from_std(backoff(failures))
                    .ok()
                    .map(|d| now + d)
            };
            stopped
        };
        for w in waiters.drain(..) {
            let _ = w.send(());
        }
        let wait = backoff(failures);
        tokio::select! {
            _ = async {
                if stopped {
                    std::future::pending::<()>().await
                } else {
                    tokio::time::sleep(wait).await
                }
            } => {}
            asked = inbox.recv() => match asked {
                Some(w) => waiters.push(w),
                None => return,
            },
        }
        while let Ok(w) = inbox.try_recv() {
            waiters.push(w);
        }
        let mut s = lock(&status);
        s.state = SyncState::Syncing;
        s.next_attempt_at = None;
    }
}

struct Done {
    round: SyncRound,
    double_admissions: Option<u64>,
    upload_conflicts: Option<u64>,
    clock_offset_ms: Option<i64>,
}

/// One round: the device's changes up, then the server's down with the running count in the
/// status, then the rest of a sync (stock moves, keys, the last changes).
async fn round(
    admit: &Admit,
    client: &SyncClient,
    status: &SharedSync,
    received: &Arc<AtomicU64>,
) -> Result<Done, SyncError> {
    let first = client.last_sync().await?.is_none();
    {
        let mut s = lock(status);
        s.state = SyncState::Syncing;
        s.next_attempt_at = None;
        s.first_download = first;
        s.downloading = Some(0);
    }
    let mut report = SyncReport::default();
    client.upload(&mut report).await?;
    let (s, r) = (status.clone(), received.clone());
    client
        .download(&mut report, move |n| {
            r.store(n, Ordering::Relaxed);
            lock(&s).downloading = Some(n);
        })
        .await?;
    if report.downloaded > 0 {
        admit.forget_cached();
    }
    let rest = client.sync_once().await?;
    if rest.downloaded > 0 {
        received.fetch_add(rest.downloaded, Ordering::Relaxed);
    }
    let mut round = SyncRound::default();
    round.add(&report);
    round.add(&rest);
    // Door devices may not read the conflicts; that is no failure of the round.
    let (double_admissions, upload_conflicts) = match client.conflicts().await {
        Ok(c) => (
            Some(c.double_admissions.len() as u64),
            Some(c.uploads.len() as u64),
        ),
        Err(SyncError::Refused(_)) => (None, None),
        Err(e) => return Err(e),
    };
    Ok(Done {
        round,
        double_admissions,
        upload_conflicts,
        clock_offset_ms: client.clock_offset_ms().await?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn waits_double_after_each_failure_up_to_a_minute_and_start_over() {
        assert_eq!(backoff(0), SYNC_EVERY, "no failure: the usual pace");
        let waits: Vec<u64> = (1..=9).map(|n| backoff(n).as_secs()).collect();
        assert_eq!(waits, [1, 2, 4, 8, 16, 32, 60, 60, 60]);
        assert_eq!(
            backoff(u32::MAX),
            BACKOFF_MAX,
            "no overflow however long it fails"
        );
    }

    #[test]
    fn doors_hold_no_stock() {
        assert_eq!(options_for("door").allocation_target, 0);
        assert_eq!(
            options_for("box_office").allocation_target,
            ALLOCATION_TARGET
        );
        assert_eq!(options_for("kiosk").allocation_target, ALLOCATION_TARGET);
    }
}

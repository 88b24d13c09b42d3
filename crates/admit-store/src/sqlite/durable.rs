//! How the writer's commits become durable.
//!
//! Every write commits with `synchronous=FULL` except scans, which commit with
//! `synchronous=NORMAL` ([`Durability`]). A WAL keeper thread beside the writer makes those
//! NORMAL commits durable within a bound by fsyncing the write-ahead log ([`WalFlush`]), and
//! runs the checkpoints, so that neither fsync ever stalls the writer between two scans.

use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use rusqlite::Connection;

use crate::StoreResult;

/// The keeper fsyncs the WAL at most this often while NORMAL commits wait for it; the first
/// commit after a quiet spell is flushed at once.
pub(super) const FLUSH_EVERY: Duration = Duration::from_millis(10);
/// Longest a NORMAL commit may wait for its fsync: when the disk is so slow that the oldest
/// unflushed commit is this old, scans commit with FULL (which fsyncs everything before them
/// too) until the keeper has caught up. A power loss takes back at most the scans of this
/// window, and in the usual case only those of the last [`FLUSH_EVERY`] and one fsync.
pub(super) const FLUSH_WITHIN: Duration = Duration::from_millis(100);
/// The keeper checkpoints the WAL into the database this often while anything is written.
pub(super) const CHECKPOINT_EVERY: Duration = Duration::from_millis(100);
/// The writer's own automatic checkpoint, in WAL pages: only a backstop should the keeper fall
/// behind, since a checkpoint on the writer holds up every write queued behind it for two
/// fsyncs. (SQLite's default is 1,000 pages, which a door reaches every hundred scans or so.)
pub(super) const WRITER_AUTOCHECKPOINT: u32 = 10_000;

/// How a write's `COMMIT` is made durable. `PRAGMA synchronous` belongs to the connection, so
/// the writer sets it before a transaction when the kind of batch changes; a batch holding any
/// [`Durability::Full`] job commits with FULL.
///
/// * `Full` (sales, cancellations, payments, the catalogue: everything but scans): the
///   `COMMIT` fsyncs the WAL before the caller is answered, so what the caller was told
///   survives power loss and an OS crash.
/// * `Scan` (a redeem, admitted or refused): `synchronous=NORMAL`. The `COMMIT` is just as
///   atomic and survives a crash of the app (its frames are in the WAL, in the OS's cache),
///   but not yet a power loss. The keeper fsyncs the WAL within [`FLUSH_EVERY`] (and one
///   fsync's time) of it, and at the latest within [`FLUSH_WITHIN`]; any FULL commit in
///   between does so at once, since the WAL is appended in order and its fsync covers every
///   frame written before it. A power loss therefore takes back at most the last few
///   milliseconds of scans, never part of one, and never a sale.
///
///   Why scans and not sales: a scan is answered to a person at a door, one at a time, and a
///   door scanning serially would otherwise pay one fsync per person (the disk's fsync alone
///   caps that at a few thousand scans per second, and at a few hundred when the disk is
///   busy). A scan lost to a power cut leaves a ticket that can be scanned once more; a sale
///   lost would be money taken and not recorded.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Durability {
    Full,
    Scan,
}

impl Durability {
    pub(super) fn pragma(self) -> &'static str {
        match self {
            Durability::Full => "pragma synchronous = full",
            Durability::Scan => "pragma synchronous = normal",
        }
    }
}

/// Makes NORMAL commits durable: an fsync of the WAL file.
///
/// What a FULL commit adds to a NORMAL one in WAL mode is exactly this: after appending the
/// transaction's frames to the `-wal` file with `write()`, SQLite fsyncs that file
/// (`sqlite3WalFrames` → `sqlite3OsSync` on the WAL with the commit's sync flags, which are
/// zero under NORMAL). An fsync flushes every written page of the file, whichever descriptor
/// wrote it, so fsyncing the WAL through a descriptor of our own makes every frame appended
/// before the fsync began durable, those of NORMAL commits included; after a power loss
/// SQLite's recovery replays the WAL up to its last intact commit frame. The first flush also
/// fsyncs the directory, as SQLite does on the first sync of a WAL it created, so the file's
/// own entry survives too.
pub(super) struct WalFlush {
    pub(super) wal: PathBuf,
    pub(super) dir_synced: bool,
}

impl WalFlush {
    /// `None` when the database is not in WAL mode (then every batch commits with FULL).
    pub(super) fn of(conn: &Connection) -> StoreResult<Option<WalFlush>> {
        let mode: String = conn.query_row("pragma journal_mode", [], |r| r.get(0))?;
        let file = conn.path().unwrap_or_default();
        if !mode.eq_ignore_ascii_case("wal") || file.is_empty() {
            return Ok(None);
        }
        Ok(Some(WalFlush {
            wal: PathBuf::from(format!("{file}-wal")),
            dir_synced: false,
        }))
    }

    fn flush(&mut self) -> std::io::Result<()> {
        // No WAL file means SQLite checkpointed everything into the database and synced it
        // before removing the log: nothing is left to flush.
        let wal = match std::fs::OpenOptions::new().write(true).open(&self.wal) {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
            Err(e) => return Err(e),
        };
        wal.sync_data()?;
        if !self.dir_synced {
            #[cfg(unix)]
            if let Some(dir) = self.wal.parent().filter(|d| !d.as_os_str().is_empty()) {
                std::fs::File::open(dir)?.sync_all()?;
            }
            self.dir_synced = true;
        }
        Ok(())
    }
}

/// What the writer and the keeper have done, counted for the tests.
#[derive(Default)]
pub(super) struct Counts {
    pub(super) full: AtomicU64,
    pub(super) normal: AtomicU64,
    pub(super) flushes: AtomicU64,
    pub(super) checkpoints: AtomicU64,
}

/// What the writer and the keeper share.
pub(super) struct Durable {
    state: Mutex<State>,
    wake: Condvar,
    pub(super) counts: Counts,
}

struct State {
    /// NORMAL commits so far, and how many of them are known to be durable.
    normal: u64,
    flushed: u64,
    /// No NORMAL commit older than this waits for an fsync (`None`: none waits).
    oldest: Option<Instant>,
    /// Commits that wrote, of either kind (for the checkpoints).
    writes: u64,
    /// The keeper can flush: WAL mode, and no flush has failed.
    can_flush: bool,
    /// The keeper sleeps until woken.
    keeper_idle: bool,
    closing: bool,
}

impl Durable {
    /// Until [`Durable::enable_flush`], every batch commits with FULL.
    pub(super) fn new() -> Arc<Durable> {
        Arc::new(Durable {
            state: Mutex::new(State {
                normal: 0,
                flushed: 0,
                oldest: None,
                writes: 0,
                can_flush: false,
                keeper_idle: false,
                closing: false,
            }),
            wake: Condvar::new(),
            counts: Counts::default(),
        })
    }

    /// The keeper runs: scans may commit with NORMAL.
    pub(super) fn enable_flush(&self) {
        self.lock().can_flush = true;
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // The state stays consistent whatever panicked while holding it.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// What a batch commits with: NORMAL only when it holds scans alone, the keeper can
    /// flush, and no NORMAL commit has waited for its fsync for [`FLUSH_WITHIN`] already.
    pub(super) fn of_batch(&self, scans_only: bool) -> Durability {
        if !scans_only {
            return Durability::Full;
        }
        let s = self.lock();
        match s.oldest {
            _ if !s.can_flush => Durability::Full,
            Some(t) if t.elapsed() >= FLUSH_WITHIN => Durability::Full,
            _ => Durability::Scan,
        }
    }

    /// A batch of kind `d` committed; `wrote` when it changed rows (then its commit wrote
    /// frames to the WAL, and a FULL commit fsynced them with every earlier frame).
    pub(super) fn committed(&self, d: Durability, wrote: bool) {
        let mut s = self.lock();
        match d {
            Durability::Full => {
                self.counts.full.fetch_add(1, Ordering::Relaxed);
                if wrote {
                    s.flushed = s.normal;
                    s.oldest = None;
                }
            }
            Durability::Scan => {
                self.counts.normal.fetch_add(1, Ordering::Relaxed);
                s.normal += 1;
                s.oldest.get_or_insert_with(Instant::now);
            }
        }
        if wrote {
            s.writes += 1;
        }
        if s.keeper_idle && (wrote || s.normal > s.flushed) {
            s.keeper_idle = false;
            drop(s);
            self.wake.notify_one();
        }
    }

    /// The writer is done: the keeper flushes what is left and stops.
    pub(super) fn close(&self) {
        self.lock().closing = true;
        self.wake.notify_one();
    }

    /// When the oldest NORMAL commit still waiting for an fsync was made.
    #[cfg(test)]
    pub(super) fn oldest_unflushed(&self) -> Option<Instant> {
        self.lock().oldest
    }
}

/// The WAL keeper: fsyncs the WAL while NORMAL commits wait for it (at once after a quiet
/// spell, then at most every [`FLUSH_EVERY`]), and checkpoints every [`CHECKPOINT_EVERY`]
/// while anything is written, on a connection of its own. A PASSIVE checkpoint never blocks
/// the writer: it copies what no reader still needs into the database and fsyncs both files.
/// Ends once the writer closes, after a last flush.
pub(super) fn keep_wal(durable: Arc<Durable>, mut flush: WalFlush, conn: Connection) {
    let mut last_flush: Option<Instant> = None;
    let mut last_checkpoint = Instant::now();
    let mut checkpointed_writes = 0;
    let mut s = durable.lock();
    loop {
        let now = Instant::now();
        let unflushed = s.can_flush && s.normal > s.flushed;
        let flush_at = last_flush.map_or(now, |t| t + FLUSH_EVERY);
        let to_checkpoint = s.writes > checkpointed_writes;
        let checkpoint_at = last_checkpoint + CHECKPOINT_EVERY;
        if unflushed && (now >= flush_at || s.closing) {
            let target = s.normal;
            drop(s);
            // Commits not counted in `target` were counted after `read`; any of them whose
            // frames the fsync below does not cover was written after it began, so after
            // `read`.
            let read = now;
            last_flush = Some(Instant::now());
            let flushed = flush.flush();
            s = durable.lock();
            match flushed {
                Ok(()) => {
                    durable.counts.flushes.fetch_add(1, Ordering::Relaxed);
                    s.flushed = s.flushed.max(target);
                    s.oldest = (s.normal > s.flushed).then_some(read);
                }
                // Scans commit with FULL from now on; the next FULL commit that writes
                // fsyncs what is left.
                Err(e) => {
                    tracing::error!(
                        "cannot fsync the write-ahead log ({e}); scans commit with synchronous=full"
                    );
                    s.can_flush = false;
                }
            }
            continue;
        }
        if s.closing {
            break;
        }
        if to_checkpoint && now >= checkpoint_at {
            let writes = s.writes;
            drop(s);
            // Busy (another connection checkpointing) or not, the next round tries again.
            match conn.query_row("pragma wal_checkpoint(passive)", [], |_| Ok(())) {
                Ok(()) => {
                    durable.counts.checkpoints.fetch_add(1, Ordering::Relaxed);
                }
                Err(e) => tracing::debug!("checkpoint: {e}"),
            }
            last_checkpoint = Instant::now();
            checkpointed_writes = writes;
            s = durable.lock();
            continue;
        }
        let next = match (unflushed, to_checkpoint) {
            (true, true) => Some(flush_at.min(checkpoint_at)),
            (true, false) => Some(flush_at),
            (false, true) => Some(checkpoint_at),
            (false, false) => None,
        };
        s = match next {
            Some(at) => {
                s.keeper_idle = false;
                durable
                    .wake
                    .wait_timeout(s, at.saturating_duration_since(now))
                    .unwrap_or_else(|p| p.into_inner())
                    .0
            }
            None => {
                s.keeper_idle = true;
                durable.wake.wait(s).unwrap_or_else(|p| p.into_inner())
            }
        };
    }
}

/// The keeper's own connection, for checkpoints.
pub(super) fn open_keeper(path: &str) -> StoreResult<Connection> {
    let conn = Connection::open(path)?;
    conn.busy_timeout(Duration::from_secs(5))?;
    conn.execute_batch("pragma synchronous = full;")?;
    Ok(conn)
}

//! The writer's durability per kind of write: scans commit with `synchronous=NORMAL` and the
//! WAL keeper flushes them within a bound, every other write commits with `synchronous=FULL`.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::Utc;
use uuid::Uuid;

use admit_core::checkin::{Direction, Verdict};
use admit_core::{CheckinListId, EventId, ScanId};

use super::durable::{Durability, Durable, FLUSH_WITHIN};
use super::SqliteStore;
use crate::{ScanAttempt, ScanResolution, Store};

/// A store in a fresh file, removed again when dropped.
struct Fresh {
    store: Arc<SqliteStore>,
    dir: std::path::PathBuf,
}

impl Drop for Fresh {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

async fn fresh() -> Fresh {
    let dir = std::env::temp_dir().join(format!("admit-store-{}", Uuid::now_v7()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("admit.sqlite");
    let store = SqliteStore::open(path.to_str().unwrap()).await.unwrap();
    Fresh {
        store: Arc::new(store),
        dir,
    }
}

/// The writer connection's `PRAGMA synchronous` as a job of this kind sees it: 1 is NORMAL,
/// 2 is FULL.
async fn synchronous(store: &SqliteStore, d: Durability) -> i64 {
    store
        .write_as(d, |c| {
            Ok(c.query_row("pragma synchronous", [], |r| r.get::<_, i64>(0))?)
        })
        .await
        .unwrap()
}

#[tokio::test]
async fn scans_commit_with_normal_and_every_other_write_with_full() {
    let db = fresh().await;
    let s = &db.store;
    assert_eq!(synchronous(s, Durability::Full).await, 2);
    assert_eq!(synchronous(s, Durability::Scan).await, 1);
    assert_eq!(synchronous(s, Durability::Scan).await, 1);
    // A sale after scans is as durable as ever.
    assert_eq!(synchronous(s, Durability::Full).await, 2);
    assert_eq!(synchronous(s, Durability::Scan).await, 1);
}

/// Holds the writer inside a job until `release` is sent, so that what is queued meanwhile
/// becomes one batch.
struct HeldWriter {
    release: std::sync::mpsc::Sender<()>,
    blocker: tokio::task::JoinHandle<crate::StoreResult<()>>,
}

impl HeldWriter {
    async fn hold(store: &Arc<SqliteStore>) -> Self {
        let (release, wait) = std::sync::mpsc::channel::<()>();
        let (started, running) = tokio::sync::oneshot::channel::<()>();
        let blocker = {
            let store = store.clone();
            tokio::spawn(async move {
                store
                    .write(move |_| {
                        let _ = started.send(());
                        let _ = wait.recv();
                        Ok(())
                    })
                    .await
            })
        };
        running.await.unwrap();
        HeldWriter { release, blocker }
    }

    /// Wait until `jobs` writes are queued, then let the writer go on.
    async fn release_after(self, store: &SqliteStore, jobs: usize) {
        let queued = || store.writer.max_capacity() - store.writer.capacity() == jobs;
        let deadline = Instant::now() + Duration::from_secs(10);
        while !queued() {
            assert!(Instant::now() < deadline, "the jobs were never queued");
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        self.release.send(()).unwrap();
        self.blocker.await.unwrap().unwrap();
    }
}

/// Jobs of these kinds, queued behind a held writer so that they run as one batch; what each
/// saw of `PRAGMA synchronous`.
async fn batch_of(store: &Arc<SqliteStore>, kinds: &[Durability]) -> Vec<i64> {
    let held = HeldWriter::hold(store).await;
    let jobs: Vec<_> = kinds
        .iter()
        .map(|&d| {
            let store = store.clone();
            tokio::spawn(async move { synchronous(&store, d).await })
        })
        .collect();
    held.release_after(store, kinds.len()).await;
    let mut seen = Vec::new();
    for j in jobs {
        seen.push(j.await.unwrap());
    }
    seen
}

#[tokio::test]
async fn a_batch_with_any_other_write_than_scans_commits_with_full() {
    let db = fresh().await;
    let store = &db.store;
    let scans = [Durability::Scan; 5];
    assert_eq!(batch_of(store, &scans).await, vec![1; 5]);
    let mixed = [
        Durability::Scan,
        Durability::Scan,
        Durability::Full,
        Durability::Scan,
    ];
    assert_eq!(batch_of(store, &mixed).await, vec![2; 4]);
}

/// An event and a check-in list to scan on, written directly.
async fn list(store: &SqliteStore) -> (EventId, CheckinListId) {
    let (event, list) = (EventId(Uuid::now_v7()), CheckinListId(Uuid::now_v7()));
    store
        .write(move |c| {
            c.execute(
                "insert into events (id, name, description, venue, starts_at, ends_at, time_zone,
                                     status, created_at, updated_at, version)
                 values (?1, 'Gala', '', 'Hall', 1, 2, 'Europe/Berlin', 'published', 0, 0, 1)",
                [event.0],
            )?;
            c.execute(
                "insert into checkin_lists (id, event_id, name, admitted, admit_pending,
                                            allow_multi_entry, allow_entry_after_exit, gates,
                                            created_at, updated_at, version)
                 values (?1, ?2, 'Main', '{\"kind\":\"all\"}', 0, 0, 0, '[]', 0, 0, 1)",
                [list.0, event.0],
            )?;
            Ok(())
        })
        .await
        .unwrap();
    (event, list)
}

/// A refused scan of an unreadable code: recorded like any scan.
fn attempt(event: EventId, list: CheckinListId, nonce: &str) -> ScanAttempt {
    ScanAttempt {
        id: ScanId(Uuid::now_v7()),
        nonce: nonce.into(),
        list_id: list,
        event_id: event,
        ticket_id: None,
        fingerprint: None,
        direction: Direction::Entry,
        device_id: None,
        gate: None,
        user_id: None,
        at: Utc::now(),
        recorded_at: Utc::now(),
        raw: Some("not a ticket".into()),
    }
}

fn refuse() -> crate::Decide {
    Arc::new(|_| ScanResolution {
        verdict: Verdict::Invalid,
        explanation: "unreadable".into(),
        counted: false,
        forced: false,
        answer: serde_json::json!({"verdict": "invalid"}),
    })
}

#[tokio::test]
async fn a_redeem_commits_as_a_scan_and_the_keeper_flushes_it() {
    let db = fresh().await;
    let s = &db.store;
    let (event, list) = list(s).await;
    let counts = &s.durable.counts;
    let (full, normal) = (
        counts.full.load(Ordering::Relaxed),
        counts.normal.load(Ordering::Relaxed),
    );
    let flushes = counts.flushes.load(Ordering::Relaxed);
    let out = s
        .redeem(&attempt(event, list, "n1"), refuse())
        .await
        .unwrap();
    assert!(!out.duplicate);
    assert_eq!(counts.normal.load(Ordering::Relaxed), normal + 1);
    assert_eq!(counts.full.load(Ordering::Relaxed), full);
    // Nothing else is written, so only the keeper's flush can make the scan durable.
    let deadline = Instant::now() + Duration::from_secs(10);
    while counts.flushes.load(Ordering::Relaxed) == flushes
        || s.durable.oldest_unflushed().is_some()
    {
        assert!(
            Instant::now() < deadline,
            "a scan committed with NORMAL was never flushed"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let recorded: i64 = sqlx::query_scalar("select count(*) from scans where nonce = 'n1'")
        .fetch_one(s.read_pool())
        .await
        .unwrap();
    assert_eq!(recorded, 1);
    // A repeated nonce answers from the record and writes nothing.
    let again = s
        .redeem(&attempt(event, list, "n1"), refuse())
        .await
        .unwrap();
    assert!(again.duplicate);
}

#[tokio::test]
async fn the_keeper_checkpoints_the_wal() {
    let db = fresh().await;
    let s = &db.store;
    let (event, list) = list(s).await;
    for i in 0..20 {
        s.redeem(&attempt(event, list, &format!("n{i}")), refuse())
            .await
            .unwrap();
    }
    let deadline = Instant::now() + Duration::from_secs(10);
    while s.durable.counts.checkpoints.load(Ordering::Relaxed) == 0 {
        assert!(Instant::now() < deadline, "the WAL was never checkpointed");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

#[test]
fn a_full_commit_that_wrote_takes_over_the_pending_flush() {
    let d = Durable::new();
    // Without a keeper, scans commit with FULL.
    assert_eq!(d.of_batch(true), Durability::Full);
    d.enable_flush();
    assert_eq!(d.of_batch(true), Durability::Scan);
    assert_eq!(d.of_batch(false), Durability::Full);
    assert_eq!(d.oldest_unflushed(), None);
    d.committed(Durability::Scan, true);
    let oldest = d
        .oldest_unflushed()
        .expect("a NORMAL commit waits for a flush");
    // More scans do not make the wait look shorter.
    d.committed(Durability::Scan, true);
    assert_eq!(d.oldest_unflushed(), Some(oldest));
    // A FULL commit that wrote nothing fsynced nothing.
    d.committed(Durability::Full, false);
    assert_eq!(d.oldest_unflushed(), Some(oldest));
    // One that wrote fsynced the WAL, and with it every frame before its own.
    d.committed(Durability::Full, true);
    assert_eq!(d.oldest_unflushed(), None);
}

#[test]
fn scans_wait_for_no_fsync_longer_than_the_bound() {
    let d = Durable::new();
    d.enable_flush();
    d.committed(Durability::Scan, true);
    assert_eq!(d.of_batch(true), Durability::Scan);
    // No keeper runs here: once the oldest unflushed scan is as old as the bound, scans
    // commit with FULL, which fsyncs it.
    std::thread::sleep(FLUSH_WITHIN);
    assert_eq!(d.of_batch(true), Durability::Full);
    d.committed(Durability::Full, true);
    assert_eq!(d.of_batch(true), Durability::Scan);
}

/// Jobs queued behind a held writer run as one batch: a job that fails after writing takes
/// back its own rows only, and the batch still commits the others'.
#[tokio::test]
async fn a_failing_job_in_a_batch_takes_back_only_its_own_rows() {
    let db = fresh().await;
    let store = &db.store;
    store
        .write(|c| Ok(c.execute_batch("create table batch_rows (job integer not null)")?))
        .await
        .unwrap();

    let held = HeldWriter::hold(store).await;
    let jobs: Vec<_> = (1..=5)
        .map(|job: i64| {
            let store = store.clone();
            tokio::spawn(async move {
                store
                    .write(move |c| {
                        for _ in 0..200 {
                            c.execute("insert into batch_rows (job) values (?1)", [job])?;
                        }
                        if job == 3 {
                            return Err(crate::StoreError::Other("job 3 fails".into()));
                        }
                        Ok(())
                    })
                    .await
            })
        })
        .collect();
    held.release_after(store, jobs.len()).await;
    let mut failed = Vec::new();
    for (k, j) in jobs.into_iter().enumerate() {
        if j.await.unwrap().is_err() {
            failed.push(k + 1);
        }
    }
    assert_eq!(failed, vec![3]);

    let rows: Vec<(i64, i64)> =
        sqlx::query_as("select job, count(*) from batch_rows group by job order by job")
            .fetch_all(store.read_pool())
            .await
            .unwrap();
    assert_eq!(rows, vec![(1, 200), (2, 200), (4, 200), (5, 200)]);
}

/// The statement journal of each job's savepoint stays in memory: `temp_store` 2 is MEMORY.
#[tokio::test]
async fn the_writer_keeps_its_statement_journals_in_memory() {
    let db = fresh().await;
    let temp_store = db
        .store
        .write(|c| Ok(c.query_row("pragma temp_store", [], |r| r.get::<_, i64>(0))?))
        .await
        .unwrap();
    assert_eq!(temp_store, 2);
}

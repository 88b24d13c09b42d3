//! Work done in the background while a database is open: housekeeping every 15 s (holds and
//! pay-later orders that ran out, lapsed waiting-list offers, new offers) and, when an outgoing
//! mail server is set, the mail queue every 10 s.
//!
//! It runs on tasks of its own, so a command never waits for it, and each round runs on a task
//! of its own too: a round that fails or panics is logged and the next one comes as usual.
//! [`Workers`] stops both loops when dropped, which [`crate::state::Desktop`] does when another
//! database is opened (the new one gets fresh loops) and when the app ends.

use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::Serialize;
use tauri::async_runtime::{spawn, JoinHandle};
use tokio::time::MissedTickBehavior;

use admit_api::mail::{DeliveryRun, SmtpSettings};
use admit_api::{Admit, Housekeeping};

use crate::settings::StoredSettings;

pub const HOUSEKEEPING_EVERY: Duration = Duration::from_secs(15);
pub const MAIL_EVERY: Duration = Duration::from_secs(10);

/// What the background work did last, for the settings screen.
#[derive(Debug, Clone, Default, PartialEq, Serialize, ts_rs::TS)]
pub struct WorkerStatus {
    /// When housekeeping last finished, and what it did or why it failed.
    pub housekeeping_at: Option<DateTime<Utc>>,
    pub housekeeping: Option<Housekeeping>,
    pub housekeeping_error: Option<String>,
    /// When the mail queue was last worked through, and how it went.
    pub mail_at: Option<DateTime<Utc>>,
    pub mail: Option<DeliveryRun>,
    pub mail_error: Option<String>,
}

pub type SharedStatus = Arc<Mutex<WorkerStatus>>;
pub type SharedSettings = Arc<Mutex<StoredSettings>>;

/// The background loops of one open database. Dropping it stops them.
pub struct Workers {
    loops: Vec<JoinHandle<()>>,
}

impl Workers {
    pub fn start(admit: Admit, settings: SharedSettings, status: SharedStatus) -> Self {
        let housekeeping = spawn(housekeeping_loop(admit.clone(), status.clone()));
        let mail = spawn(mail_loop(admit, settings, status));
        Workers {
            loops: vec![housekeeping, mail],
        }
    }
}

impl Drop for Workers {
    fn drop(&mut self) {
        for l in &self.loops {
            l.abort();
        }
    }
}

/// A round on its own task, aborted with the loop that waits for it.
pub(crate) struct Round<T>(Option<JoinHandle<T>>);

impl<T: Send + 'static> Round<T> {
    pub(crate) fn start(work: impl std::future::Future<Output = T> + Send + 'static) -> Self {
        Round(Some(spawn(work)))
    }

    /// The round's result, or why it stopped (a panic).
    pub(crate) async fn finish(mut self) -> Result<T, String> {
        let handle = self.0.take().expect("a round is finished once");
        handle
            .await
            .map_err(|e| format!("the round stopped unexpectedly: {e}"))
    }
}

impl<T> Drop for Round<T> {
    fn drop(&mut self) {
        if let Some(h) = &self.0 {
            h.abort();
        }
    }
}

pub(crate) fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    // A panic elsewhere while the lock was held leaves data that is still whole here.
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

fn ticker(every: Duration) -> tokio::time::Interval {
    let mut t = tokio::time::interval(every);
    t.set_missed_tick_behavior(MissedTickBehavior::Delay);
    t
}

async fn housekeeping_loop(admit: Admit, status: SharedStatus) {
    let mut tick = ticker(HOUSEKEEPING_EVERY);
    loop {
        tick.tick().await;
        let a = admit.clone();
        let outcome = Round::start(async move { a.housekeeping(Utc::now()).await })
            .finish()
            .await
            .and_then(|r| r.map_err(|e| e.to_string()));
        let mut s = lock(&status);
        s.housekeeping_at = Some(Utc::now());
        match outcome {
            Ok(done) => {
                if done != Housekeeping::default() {
                    tracing::info!(?done, "housekeeping");
                }
                s.housekeeping = Some(done);
                s.housekeeping_error = None;
            }
            Err(e) => {
                if s.housekeeping_error.as_deref() != Some(e.as_str()) {
                    tracing::warn!(error = %e, "housekeeping failed");
                }
                s.housekeeping_error = Some(e);
            }
        }
    }
}

async fn mail_loop(admit: Admit, settings: SharedSettings, status: SharedStatus) {
    let mut tick = ticker(MAIL_EVERY);
    loop {
        tick.tick().await;
        let Some(stored) = lock(&settings).smtp.clone() else {
            continue;
        };
        let outcome = match SmtpSettings::parse(&stored.input()) {
            Err(e) => Err(format!("the saved mail settings are not usable: {e}")),
            Ok(smtp) => {
                let a = admit.clone();
                Round::start(async move { a.deliver_mail(&smtp, Utc::now()).await })
                    .finish()
                    .await
                    .and_then(|r| r.map_err(|e| e.to_string()))
            }
        };
        let mut s = lock(&status);
        s.mail_at = Some(Utc::now());
        match outcome {
            Ok(run) => {
                if run != DeliveryRun::default() {
                    tracing::info!(?run, "mail delivered");
                }
                s.mail = Some(run);
                s.mail_error = None;
            }
            Err(e) => {
                if s.mail_error.as_deref() != Some(e.as_str()) {
                    tracing::warn!(error = %e, "mail delivery failed");
                }
                s.mail_error = Some(e);
            }
        }
    }
}

//! The desktop's state, built once at start-up: settings, the open store and who is logged in.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrono::Utc;
use tauri::{AppHandle, Manager, Runtime};
use tauri_plugin_store::StoreExt;

use admit_api::{Admit, ErrorBody, Session};
use admit_core::DeviceId;

use crate::settings::{redact_url, StoredPairing, StoredSettings, SETTINGS_FILE, SETTINGS_KEY};
use crate::sync::{
    describe_pairing, sync_error, SharedSync, SyncConflicts, SyncHandle, SyncLoop, SyncState,
    SyncStatus,
};
use crate::worker::{SharedSettings, SharedStatus, WorkerStatus, Workers};

pub type CmdResult<T> = Result<T, ErrorBody>;

/// An error made by the shell itself (the use cases make their own).
pub fn fail(code: &'static str, message: impl Into<String>) -> ErrorBody {
    ErrorBody {
        code,
        message: message.into(),
        field: None,
    }
}

pub fn api(e: admit_api::ApiError) -> ErrorBody {
    if matches!(e, admit_api::ApiError::Internal(_)) {
        tracing::error!(error = %e, "internal error");
    }
    e.to_json()
}

/// Wrong kiosk PINs in a row before the prompt locks for a while.
const FREE_PIN_TRIES: u32 = 3;
const PIN_LOCK: Duration = Duration::from_secs(30);

#[derive(Default)]
struct PinGuard {
    failures: u32,
    locked_until: Option<Instant>,
}

/// Writes the settings to disk.
pub type Persist = Box<dyn Fn(&StoredSettings) -> CmdResult<()> + Send + Sync>;

/// What the state needs from the window and the settings store, bound to the running app.
pub struct Hooks {
    pub persist: Persist,
    pub fullscreen: Box<dyn Fn(bool) + Send + Sync>,
}

impl Hooks {
    /// Settings written with tauri-plugin-store into the data folder; full screen on the main
    /// window.
    pub fn for_app<R: Runtime>(app: &AppHandle<R>, data_dir: &Path) -> Hooks {
        let (store_app, window_app) = (app.clone(), app.clone());
        let file = data_dir.join(SETTINGS_FILE);
        Hooks {
            persist: Box::new(move |s| persist(&store_app, &file, s)),
            fullscreen: Box::new(move |on| {
                if let Some(w) = window_app.get_webview_window("main") {
                    if let Err(e) = w.set_fullscreen(on) {
                        tracing::warn!(error = %e, "could not change full screen");
                    }
                }
            }),
        }
    }
}

pub struct Desktop {
    hooks: Hooks,
    data_dir: PathBuf,
    /// Shared with the background work, which reads the mail settings each round.
    settings: SharedSettings,
    admit: Mutex<Option<Admit>>,
    /// The background loops of the open database; replaced (the old ones stopped) when another
    /// database is opened.
    workers: Mutex<Option<Workers>>,
    worker_status: SharedStatus,
    /// Sync with the paired server, while a database is open and the device is paired.
    sync: Mutex<Option<SyncLoop>>,
    sync_status: SharedSync,
    /// Why the chosen database could not be opened at start-up, for the first screen to show.
    database_error: Mutex<Option<String>>,
    session: Mutex<Option<Session>>,
    pin: Mutex<PinGuard>,
}

impl Desktop {
    pub fn new(data_dir: PathBuf, mut settings: StoredSettings, hooks: Hooks) -> Self {
        if settings.device_id.is_none() {
            settings.device_id = Some(DeviceId::new(Utc::now()).to_string());
        }
        if settings.device_name.trim().is_empty() {
            settings.device_name = "This desk".into();
        }
        Desktop {
            hooks,
            data_dir,
            settings: Arc::new(Mutex::new(settings)),
            admit: Mutex::new(None),
            workers: Mutex::new(None),
            worker_status: SharedStatus::default(),
            sync: Mutex::new(None),
            sync_status: SharedSync::default(),
            database_error: Mutex::new(None),
            session: Mutex::new(None),
            pin: Mutex::new(PinGuard::default()),
        }
    }

    pub fn data_dir(&self) -> &Path {
        &self.data_dir
    }

    /// The SQLite file used when nobody chose another place.
    pub fn default_database(&self) -> String {
        self.data_dir.join("admit.sqlite").display().to_string()
    }

    pub fn settings(&self) -> StoredSettings {
        self.settings.lock().expect("settings").clone()
    }

    /// Change the settings and write them to disk before answering.
    pub fn update_settings(
        &self,
        change: impl FnOnce(&mut StoredSettings),
    ) -> CmdResult<StoredSettings> {
        let mut guard = self.settings.lock().expect("settings");
        let mut next = guard.clone();
        change(&mut next);
        (self.hooks.persist)(&next)?;
        *guard = next.clone();
        Ok(next)
    }

    pub fn device_id(&self) -> Option<DeviceId> {
        self.settings
            .lock()
            .expect("settings")
            .device_id
            .as_deref()
            .and_then(|s| DeviceId::parse("device_id", s).ok())
    }

    /// Open (and migrate) the store at `location`. On failure the previous store stays.
    pub async fn open_database(&self, location: &str) -> CmdResult<()> {
        // On its own task: the store's opening future is Send, but the compiler cannot show it
        // for every borrow of `location` inside a command's future.
        let owned = location.to_string();
        let opened = tauri::async_runtime::spawn(async move { admit_store::open(&owned).await })
            .await
            .map_err(|e| fail("internal", format!("opening the database stopped: {e}")))?;
        match opened {
            Ok(store) => {
                let admit = Admit::new(store);
                // The old database's loops stop before the new one's start.
                drop(self.workers.lock().expect("workers").take());
                *self
                    .worker_status
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner) = WorkerStatus::default();
                *self.workers.lock().expect("workers") = Some(Workers::start(
                    admit.clone(),
                    self.settings.clone(),
                    self.worker_status.clone(),
                ));
                *self.admit.lock().expect("admit") = Some(admit.clone());
                self.restart_sync(Some(&admit));
                *self.database_error.lock().expect("database error") = None;
                *self.session.lock().expect("session") = None;
                Ok(())
            }
            Err(e) => {
                let message = format!(
                    "could not open the database at {}: {e}. Check the path or URL and that the server is running.",
                    redact_url(location)
                );
                tracing::warn!(%message);
                *self.database_error.lock().expect("database error") = Some(message.clone());
                Err(fail("database_unavailable", message))
            }
        }
    }

    /// Stop the sync of the database that was open and, when `admit` is given and the device
    /// is paired, start it for `admit`.
    fn restart_sync(&self, admit: Option<&Admit>) {
        let mut guard = self.sync.lock().expect("sync");
        drop(guard.take());
        let pairing = self.settings().pairing;
        match (admit, &pairing) {
            (Some(a), Some(p)) => match SyncLoop::start(a.clone(), p, self.sync_status.clone()) {
                Ok(sync) => *guard = Some(sync),
                Err(e) => {
                    let mut status = self
                        .sync_status
                        .lock()
                        .unwrap_or_else(std::sync::PoisonError::into_inner);
                    *status = SyncStatus::default();
                    describe_pairing(&mut status, Some(p));
                    status.state = SyncState::Failing;
                    status.error = Some(e.to_string());
                }
            },
            _ => describe_pairing(
                &mut self
                    .sync_status
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner),
                pairing.as_ref(),
            ),
        }
    }

    /// Keep a new pairing and start syncing with it.
    pub fn pair(&self, pairing: StoredPairing) -> CmdResult<()> {
        let admit = self.admit()?;
        let url = pairing.server_url.clone();
        self.update_settings(|s| {
            s.pairing = Some(pairing);
            s.server_url = Some(url);
        })?;
        self.restart_sync(Some(&admit));
        Ok(())
    }

    /// Forget the pairing: sync stops. What this device holds stays in its store.
    pub fn unpair(&self) -> CmdResult<()> {
        self.update_settings(|s| s.pairing = None)?;
        self.restart_sync(None);
        Ok(())
    }

    /// Sync as the window shows it, with the count of changes waiting read now.
    pub async fn sync_status(&self) -> SyncStatus {
        let handle = self
            .sync
            .lock()
            .expect("sync")
            .as_ref()
            .map(SyncLoop::handle);
        let waiting = match handle {
            Some(h) => h.waiting().await,
            None => None,
        };
        let mut s = self
            .sync_status
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone();
        if waiting.is_some() {
            s.waiting = waiting;
        }
        s
    }

    /// The running sync, or a `conflict` error when the device is not paired.
    fn sync_handle(&self) -> CmdResult<SyncHandle> {
        self.sync
            .lock()
            .expect("sync")
            .as_ref()
            .map(SyncLoop::handle)
            .ok_or_else(|| {
                fail(
                    "conflict",
                    "this device is not paired with a server; connect to one first",
                )
            })
    }

    /// Run a sync round now and wait for it.
    pub async fn sync_now(&self) -> CmdResult<SyncStatus> {
        let handle = self.sync_handle()?;
        handle.sync_now().await.map_err(|e| fail("internal", e))?;
        Ok(self.sync_status().await)
    }

    /// The conflicts the server knows of, asked for now.
    pub async fn sync_conflicts(&self) -> CmdResult<SyncConflicts> {
        let handle = self.sync_handle()?;
        handle.conflicts().await.map_err(sync_error)
    }

    /// What the background work did last.
    pub fn worker_status(&self) -> WorkerStatus {
        self.worker_status
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }

    pub fn database_error(&self) -> Option<String> {
        self.database_error.lock().expect("database error").clone()
    }

    pub fn has_database(&self) -> bool {
        self.admit.lock().expect("admit").is_some()
    }

    pub fn admit(&self) -> CmdResult<Admit> {
        self.admit
            .lock()
            .expect("admit")
            .clone()
            .ok_or_else(|| fail("setup_required", "choose where Admit keeps its data first"))
    }

    pub fn session(&self) -> CmdResult<Session> {
        self.session
            .lock()
            .expect("session")
            .clone()
            .ok_or_else(|| fail("unauthenticated", "log in first"))
    }

    /// The store and the logged-in caller, for what a locked kiosk must not do.
    pub fn staff(&self) -> CmdResult<(Admit, Session)> {
        self.not_in_kiosk()?;
        self.door()
    }

    /// The store and the caller, for a change to the catalogue (events, ticket types, quotas,
    /// check-in lists). A device paired with a server is refused: the server is the authority
    /// for the catalogue, and its download would not replace a local edit of the same version.
    pub fn catalogue_editor(&self) -> CmdResult<(Admit, Session)> {
        let editor = self.staff()?;
        if let Some(p) = self.settings().pairing {
            return Err(fail(
                "managed_by_server",
                format!(
                    "this computer is paired with {}, which manages events, ticket types, quotas and check-in lists; change them there (or disconnect first)",
                    p.server_url
                ),
            ));
        }
        Ok(editor)
    }

    /// The store and the logged-in caller, for the door (which a kiosk runs).
    pub fn door(&self) -> CmdResult<(Admit, Session)> {
        let session = self.session()?;
        Ok((self.admit()?, session))
    }

    pub fn current_session(&self) -> Option<Session> {
        self.session.lock().expect("session").clone()
    }

    pub fn set_session(&self, s: Option<Session>) {
        *self.session.lock().expect("session") = s;
    }

    pub fn set_fullscreen(&self, on: bool) {
        (self.hooks.fullscreen)(on)
    }

    pub fn kiosk(&self) -> bool {
        self.settings.lock().expect("settings").kiosk
    }

    /// Refuse what a kiosk must not do: only the door works while it is locked.
    pub fn not_in_kiosk(&self) -> CmdResult<()> {
        if self.kiosk() {
            Err(fail(
                "forbidden",
                "this device is in kiosk mode; leave kiosk mode with the PIN first",
            ))
        } else {
            Ok(())
        }
    }

    /// Check a kiosk PIN, locking the prompt for a while after repeated wrong tries.
    pub fn check_pin(&self, pin: &str) -> CmdResult<()> {
        let hash = self
            .settings
            .lock()
            .expect("settings")
            .kiosk_pin_hash
            .clone()
            .ok_or_else(|| fail("conflict", "no kiosk PIN is set; set one in Settings"))?;
        let mut guard = self.pin.lock().expect("pin guard");
        if let Some(until) = guard.locked_until {
            if Instant::now() < until {
                let secs = (until - Instant::now()).as_secs() + 1;
                return Err(fail(
                    "locked_out",
                    format!("too many wrong PINs; try again in {secs} s"),
                ));
            }
        }
        if crate::pin::verify(pin, &hash) {
            *guard = PinGuard::default();
            Ok(())
        } else {
            guard.failures += 1;
            if guard.failures >= FREE_PIN_TRIES {
                guard.locked_until = Some(Instant::now() + PIN_LOCK);
            }
            Err(fail("forbidden", "wrong PIN"))
        }
    }
}

/// Load the stored settings (defaults when there are none yet).
pub fn load_settings<R: Runtime>(app: &AppHandle<R>, data_dir: &Path) -> StoredSettings {
    let loaded = app
        .store(data_dir.join(SETTINGS_FILE))
        .ok()
        .and_then(|store| store.get(SETTINGS_KEY))
        .and_then(|v| serde_json::from_value(v).ok());
    loaded.unwrap_or_default()
}

fn persist<R: Runtime>(app: &AppHandle<R>, file: &Path, s: &StoredSettings) -> CmdResult<()> {
    let store = app
        .store(file)
        .map_err(|e| fail("internal", format!("settings could not be opened: {e}")))?;
    store.set(
        SETTINGS_KEY,
        serde_json::to_value(s).map_err(|e| fail("internal", e.to_string()))?,
    );
    store
        .save()
        .map_err(|e| fail("internal", format!("settings could not be saved: {e}")))?;
    owner_only(file);
    Ok(())
}

/// The settings hold secrets (a mail server's password, a PostgreSQL URL's): on Unix, only the
/// file's owner may read them.
fn owner_only(file: &Path) {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        if let Err(e) = std::fs::set_permissions(file, std::fs::Permissions::from_mode(0o600)) {
            tracing::warn!(error = %e, "could not make the settings file private");
        }
    }
    #[cfg(not(unix))]
    let _ = file;
}

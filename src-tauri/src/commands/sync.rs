//! Pairing this device with a server, its sync status, "Sync now", unpairing, and pairing codes
//! an owner makes on the server for other devices.

use serde::Deserialize;
use tauri::State;

use admit_core::role::Action;

use crate::pairing::{self, IssuedPairingCode, PairingCodeRequest};
use crate::settings::StoredPairing;
use crate::state::{api, fail, CmdResult, Desktop};
use crate::sync::{SyncConflicts, SyncStatus};

/// What the "Connect to a server" screen sends.
#[derive(Debug, Clone, Deserialize, ts_rs::TS)]
pub struct ConnectInput {
    pub server_url: String,
    /// The pairing code as the owner's screen shows it; case, spaces and dashes do not matter.
    pub code: String,
}

/// Pairing decides what this device's store holds from now on: owners only.
fn owner(desktop: &Desktop) -> CmdResult<()> {
    desktop.not_in_kiosk()?;
    desktop
        .session()?
        .require(Action::ManageDevices)
        .map_err(api)
}

#[tauri::command]
pub async fn sync_status(desktop: State<'_, Desktop>) -> CmdResult<SyncStatus> {
    desktop.session()?;
    Ok(desktop.sync_status().await)
}

/// Trade a pairing code for this device's token, keep it, and start syncing.
#[tauri::command]
pub async fn connect_server(
    desktop: State<'_, Desktop>,
    input: ConnectInput,
) -> CmdResult<SyncStatus> {
    owner(&desktop)?;
    let admit = desktop.admit()?;
    if let Some(p) = desktop.settings().pairing {
        return Err(fail(
            "conflict",
            format!(
                "this device is paired with {} already; disconnect it first",
                p.server_url
            ),
        ));
    }
    if admit.store().backend() == admit_store::Backend::Postgres {
        return Err(fail(
            "conflict",
            "this desk shares a PostgreSQL database, which is its sync already; devices that pair with a server keep their own SQLite file",
        ));
    }
    let (server_url, paired) = pairing::pair(&input.server_url, &input.code).await?;
    desktop.pair(StoredPairing {
        server_url,
        token: paired.token,
        device_id: paired.device.id,
        device_name: paired.device.name,
        role: paired.device.role,
        paired_at: chrono::Utc::now(),
    })?;
    Ok(desktop.sync_status().await)
}

/// Run a round now and answer with the status after it.
#[tauri::command]
pub async fn sync_now(desktop: State<'_, Desktop>) -> CmdResult<SyncStatus> {
    desktop.session()?;
    desktop.sync_now().await
}

/// The server's list of double admissions (who, where, when) and uploads it could not apply.
/// Asked for now, so it needs the server; door devices may not read it.
#[tauri::command]
pub async fn sync_conflicts(desktop: State<'_, Desktop>) -> CmdResult<SyncConflicts> {
    desktop.staff()?;
    desktop.sync_conflicts().await
}

/// Stop syncing and forget the server's token. Nothing in this device's store is removed;
/// changes not uploaded yet stay and go up if the device is paired with the server again.
#[tauri::command]
pub async fn disconnect_server(desktop: State<'_, Desktop>) -> CmdResult<SyncStatus> {
    owner(&desktop)?;
    if desktop.settings().pairing.is_none() {
        return Err(fail("conflict", "this device is not paired with a server"));
    }
    desktop.unpair()?;
    Ok(desktop.sync_status().await)
}

/// Log in to a server as one of its owners and make a pairing code for another device.
#[tauri::command]
pub async fn create_pairing_code(
    desktop: State<'_, Desktop>,
    input: PairingCodeRequest,
) -> CmdResult<IssuedPairingCode> {
    owner(&desktop)?;
    pairing::create_code(&input).await
}

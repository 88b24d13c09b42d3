//! Start-up, first run, login, settings and kiosk mode.

use chrono::Utc;
use tauri::State;

use admit_api::{NewUserInput, UpdateUserInput};
use admit_core::model::User;

use crate::settings::{redact_url, Settings, SettingsInput};
use crate::state::{api, fail, CmdResult, Desktop};
use crate::views::{AppStatus, SessionView};

pub(crate) async fn status(d: &Desktop) -> CmdResult<AppStatus> {
    let settings = d.settings();
    let needs_setup = match d.admit() {
        Ok(admit) => admit.needs_setup().await.map_err(api)?,
        Err(_) => true,
    };
    Ok(AppStatus {
        needs_setup,
        database: if d.has_database() {
            settings.database.as_deref().map(redact_url)
        } else {
            None
        },
        database_error: d.database_error(),
        default_database: d.default_database(),
        session: d.current_session().as_ref().map(SessionView::from),
        settings: Settings::from(&settings),
        kiosk: settings.kiosk,
        version: env!("CARGO_PKG_VERSION").to_string(),
    })
}

#[tauri::command]
pub async fn app_status(desktop: State<'_, Desktop>) -> CmdResult<AppStatus> {
    status(&desktop).await
}

fn database_location(desktop: &Desktop, location: Option<String>) -> CmdResult<String> {
    let given = location.unwrap_or_default();
    let given = given.trim();
    if given.is_empty() {
        return Ok(desktop.default_database());
    }
    if given.len() > 2048 || given.chars().any(char::is_control) {
        return Err(admit_api::ErrorBody {
            code: "invalid_input",
            message: "location: must be a file path or a postgres:// URL".into(),
            field: Some("location".into()),
        });
    }
    Ok(given.to_string())
}

/// First run, step one: where data lives. None is the default SQLite file in the data folder.
#[tauri::command]
pub async fn choose_database(
    desktop: State<'_, Desktop>,
    location: Option<String>,
) -> CmdResult<AppStatus> {
    desktop.not_in_kiosk()?;
    let chosen = desktop.has_database() && !status(&desktop).await?.needs_setup;
    if chosen {
        return Err(fail(
            "conflict",
            "the database is chosen already; it can be changed only before the first owner exists",
        ));
    }
    let location = database_location(&desktop, location)?;
    desktop.open_database(&location).await?;
    desktop.update_settings(|s| s.database = Some(location))?;
    status(&desktop).await
}

/// First run, step two: the owner account. Logs the owner in.
#[tauri::command]
pub async fn create_owner(
    desktop: State<'_, Desktop>,
    input: NewUserInput,
) -> CmdResult<SessionView> {
    let session = desktop
        .admit()?
        .create_first_owner(&input, desktop.device_id(), Utc::now())
        .await
        .map_err(api)?;
    let view = SessionView::from(&session);
    desktop.set_session(Some(session));
    Ok(view)
}

#[tauri::command]
pub async fn login(
    desktop: State<'_, Desktop>,
    username: String,
    password: String,
) -> CmdResult<SessionView> {
    let session = desktop
        .admit()?
        .login(&username, &password, desktop.device_id(), Utc::now())
        .await
        .map_err(api)?;
    if desktop.kiosk() && session.require(admit_core::role::Action::Redeem).is_err() {
        return Err(fail("forbidden", "this kiosk needs a user who may scan"));
    }
    let view = SessionView::from(&session);
    desktop.set_session(Some(session));
    Ok(view)
}

#[tauri::command]
pub async fn logout(desktop: State<'_, Desktop>) -> CmdResult<()> {
    desktop.not_in_kiosk()?;
    desktop.set_session(None);
    Ok(())
}

#[tauri::command]
pub async fn save_settings(
    desktop: State<'_, Desktop>,
    input: SettingsInput,
) -> CmdResult<Settings> {
    desktop.not_in_kiosk()?;
    desktop.session()?;
    let clean = |v: Option<String>, field: &str, max: usize| -> CmdResult<Option<String>> {
        match v.as_deref().map(str::trim) {
            None | Some("") => Ok(None),
            Some(t) if t.chars().count() > max || t.chars().any(char::is_control) => {
                Err(admit_api::ErrorBody {
                    code: "invalid_input",
                    message: format!("{field}: must be at most {max} printable characters"),
                    field: Some(field.into()),
                })
            }
            Some(t) => Ok(Some(t.to_string())),
        }
    };
    let device_name =
        clean(Some(input.device_name), "device_name", 100)?.unwrap_or_else(|| "This desk".into());
    let gate = clean(input.gate, "gate", 100)?;
    let default_list_id = clean(input.default_list_id, "default_list_id", 64)?;
    if let Some(id) = &default_list_id {
        admit_core::CheckinListId::parse("default_list_id", id).map_err(|e| api(e.into()))?;
    }
    let server_url = clean(input.server_url, "server_url", 2048)?;
    if let Some(url) = &server_url {
        if !(url.starts_with("https://") || url.starts_with("http://")) {
            return Err(admit_api::ErrorBody {
                code: "invalid_input",
                message: "server_url: must start with https:// or http://".into(),
                field: Some("server_url".into()),
            });
        }
    }
    let saved = desktop.update_settings(|s| {
        s.device_name = device_name;
        s.gate = gate;
        s.default_list_id = default_list_id;
        s.theme = input.theme;
        s.server_url = server_url;
    })?;
    Ok(Settings::from(&saved))
}

#[tauri::command]
pub async fn set_kiosk_pin(desktop: State<'_, Desktop>, pin: String) -> CmdResult<Settings> {
    desktop.not_in_kiosk()?;
    let s = desktop.session()?;
    s.require(admit_core::role::Action::ManageEvents)
        .map_err(api)?;
    let hash = crate::pin::hash(crate::pin::parse(&pin)?)?;
    let saved = desktop.update_settings(|st| st.kiosk_pin_hash = Some(hash))?;
    Ok(Settings::from(&saved))
}

/// Lock this device to the door, full screen. Needs a PIN to be set (leaving needs it).
#[tauri::command]
pub async fn enter_kiosk(desktop: State<'_, Desktop>) -> CmdResult<AppStatus> {
    let s = desktop.session()?;
    s.require(admit_core::role::Action::Redeem).map_err(api)?;
    if desktop.settings().kiosk_pin_hash.is_none() {
        return Err(fail(
            "conflict",
            "set a kiosk PIN in Settings first; it is needed to leave kiosk mode",
        ));
    }
    desktop.update_settings(|st| st.kiosk = true)?;
    desktop.set_fullscreen(true);
    status(&desktop).await
}

#[tauri::command]
pub async fn leave_kiosk(desktop: State<'_, Desktop>, pin: String) -> CmdResult<AppStatus> {
    desktop.check_pin(&pin)?;
    desktop.update_settings(|st| st.kiosk = false)?;
    desktop.set_fullscreen(false);
    status(&desktop).await
}

#[tauri::command]
pub async fn list_users(desktop: State<'_, Desktop>) -> CmdResult<Vec<User>> {
    let (admit, s) = desktop.staff()?;
    admit.list_users(&s).await.map_err(api)
}

#[tauri::command]
pub async fn create_user(desktop: State<'_, Desktop>, input: NewUserInput) -> CmdResult<User> {
    let (admit, s) = desktop.staff()?;
    admit.create_user(&s, &input, Utc::now()).await.map_err(api)
}

#[tauri::command]
pub async fn update_user(
    desktop: State<'_, Desktop>,
    user_id: String,
    input: UpdateUserInput,
) -> CmdResult<User> {
    let (admit, s) = desktop.staff()?;
    admit
        .update_user(&s, &user_id, &input, Utc::now())
        .await
        .map_err(api)
}

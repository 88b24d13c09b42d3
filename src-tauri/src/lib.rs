//! The Admit desktop app: state built once at start-up, thin commands over the use cases, and
//! the settings kept with tauri-plugin-store. The UI lives in `ui/`.

pub mod bindings;
pub mod commands;
pub mod exports;
pub mod pairing;
mod pin;
pub mod settings;
pub mod state;
pub mod sync;
pub mod views;
pub mod worker;

use std::path::PathBuf;

use tauri::{Manager, Runtime};

use state::Desktop;

/// Set to use another data folder than the platform's (portable installs, tests).
pub const DATA_DIR_ENV: &str = "ADMIT_DATA_DIR";

/// Every command the window may call.
#[macro_export]
macro_rules! admit_handlers {
    () => {
        tauri::generate_handler![
            $crate::commands::app::app_status,
            $crate::commands::app::choose_database,
            $crate::commands::app::create_owner,
            $crate::commands::app::login,
            $crate::commands::app::logout,
            $crate::commands::app::save_settings,
            $crate::commands::app::set_kiosk_pin,
            $crate::commands::app::enter_kiosk,
            $crate::commands::app::leave_kiosk,
            $crate::commands::app::list_users,
            $crate::commands::app::create_user,
            $crate::commands::app::update_user,
            $crate::commands::catalogue::list_events,
            $crate::commands::catalogue::event_detail,
            $crate::commands::catalogue::door_lists,
            $crate::commands::catalogue::create_event,
            $crate::commands::catalogue::update_event,
            $crate::commands::catalogue::publish_event,
            $crate::commands::catalogue::cancel_event,
            $crate::commands::catalogue::create_ticket_type,
            $crate::commands::catalogue::update_ticket_type,
            $crate::commands::catalogue::create_quota,
            $crate::commands::catalogue::update_quota,
            $crate::commands::catalogue::create_checkin_list,
            $crate::commands::catalogue::update_checkin_list,
            $crate::commands::catalogue::availability,
            $crate::commands::sales::hold,
            $crate::commands::sales::release_hold,
            $crate::commands::sales::sell,
            $crate::commands::sales::ticket_cards,
            $crate::commands::sales::search_orders,
            $crate::commands::sales::get_order,
            $crate::commands::sales::cancel_tickets,
            $crate::commands::commerce::quote,
            $crate::commands::commerce::list_coupons,
            $crate::commands::commerce::create_coupon,
            $crate::commands::commerce::update_coupon,
            $crate::commands::commerce::pay_order,
            $crate::commands::commerce::order_money,
            $crate::commands::commerce::refund,
            $crate::commands::commerce::join_waitlist,
            $crate::commands::commerce::list_waitlist,
            $crate::commands::commerce::withdraw_waitlist,
            $crate::commands::commerce::open_shift,
            $crate::commands::commerce::current_shift,
            $crate::commands::commerce::close_shift,
            $crate::commands::commerce::list_shifts,
            $crate::commands::commerce::order_mail,
            $crate::commands::commerce::resend_confirmation,
            $crate::commands::commerce::get_mail_settings,
            $crate::commands::commerce::save_mail_settings,
            $crate::commands::commerce::send_test_mail,
            $crate::commands::door::redeem,
            $crate::commands::door::checkin_counts,
            $crate::commands::door::decode_qr,
            $crate::commands::figures::dashboard,
            $crate::commands::reports::chart_svg,
            $crate::commands::reports::save_chart_png,
            $crate::commands::reports::export_csv,
            $crate::commands::reports::save_tickets_pdf,
            $crate::commands::reports::shift_report,
            $crate::commands::reports::import_preview,
            $crate::commands::reports::import_orders,
            $crate::commands::sync::sync_status,
            $crate::commands::sync::connect_server,
            $crate::commands::sync::sync_now,
            $crate::commands::sync::sync_conflicts,
            $crate::commands::sync::disconnect_server,
            $crate::commands::sync::create_pairing_code,
        ]
    };
}

/// The data folder: `ADMIT_DATA_DIR` when set, else the platform's app data folder.
pub fn data_dir<R: Runtime>(app: &tauri::AppHandle<R>) -> Result<PathBuf, String> {
    let dir = match std::env::var_os(DATA_DIR_ENV) {
        Some(d) if !d.is_empty() => PathBuf::from(d),
        _ => app
            .path()
            .app_data_dir()
            .map_err(|e| format!("no data folder: {e}"))?,
    };
    std::fs::create_dir_all(&dir)
        .map_err(|e| format!("could not create the data folder {}: {e}", dir.display()))?;
    Ok(dir)
}

/// Build the state: settings from disk, and the chosen database opened (and migrated).
pub fn setup<R: Runtime>(app: &tauri::AppHandle<R>) -> Result<(), Box<dyn std::error::Error>> {
    let dir = data_dir(app)?;
    setup_in(app, dir)
}

/// [`setup`] with the data folder given.
pub fn setup_in<R: Runtime>(
    app: &tauri::AppHandle<R>,
    dir: PathBuf,
) -> Result<(), Box<dyn std::error::Error>> {
    let stored = state::load_settings(app, &dir);
    let hooks = state::Hooks::for_app(app, &dir);
    let desktop = Desktop::new(dir, stored.clone(), hooks);
    if let Some(location) = &stored.database {
        // A database that cannot be opened is shown on the first screen, not a crash.
        let _ = tauri::async_runtime::block_on(desktop.open_database(location));
    }
    app.manage(desktop);
    if stored.kiosk {
        app.state::<Desktop>().set_fullscreen(true);
    }
    Ok(())
}

pub fn run() {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "info,sqlx=warn".into()),
        )
        .init();
    tauri::Builder::default()
        .plugin(tauri_plugin_store::Builder::default().build())
        .setup(|app| {
            setup(app.handle())?;
            #[cfg(target_os = "linux")]
            allow_camera(app.handle());
            Ok(())
        })
        .on_window_event(|window, event| {
            // A kiosk is closed by leaving kiosk mode with the PIN, not by the window's button.
            if let tauri::WindowEvent::CloseRequested { api, .. } = event {
                if window.state::<Desktop>().kiosk() {
                    api.prevent_close();
                }
            }
        })
        .invoke_handler(admit_handlers!())
        .run(tauri::generate_context!())
        .expect("the Admit window could not start");
}

/// Let the page use the camera (and nothing else that asks for permission): WebKitGTK turns
/// media streams off by default and refuses every permission request nobody answers.
#[cfg(target_os = "linux")]
fn allow_camera(app: &tauri::AppHandle) {
    use webkit2gtk::glib::object::ObjectExt;
    use webkit2gtk::{PermissionRequestExt, SettingsExt, UserMediaPermissionRequest, WebViewExt};
    let Some(window) = app.get_webview_window("main") else {
        return;
    };
    let done = window.with_webview(|webview| {
        let view = webview.inner();
        if let Some(settings) = WebViewExt::settings(&view) {
            settings.set_enable_media_stream(true);
        }
        view.connect_permission_request(|_, request| {
            if request.is::<UserMediaPermissionRequest>() {
                request.allow();
            } else {
                request.deny();
            }
            true
        });
    });
    if let Err(e) = done {
        tracing::warn!(error = %e, "the camera could not be enabled");
    }
}

//! The dashboard's figures.

use chrono::{Local, TimeZone, Utc};
use tauri::State;

use admit_api::Dashboard;

use crate::state::{api, CmdResult, Desktop};

#[tauri::command]
pub async fn dashboard(desktop: State<'_, Desktop>) -> CmdResult<Dashboard> {
    let (admit, s) = desktop.staff()?;
    // "Today" is this desk's calendar day.
    let midnight = Local::now()
        .date_naive()
        .and_hms_opt(0, 0, 0)
        .and_then(|t| Local.from_local_datetime(&t).earliest())
        .map(|t| t.with_timezone(&Utc))
        .unwrap_or_else(Utc::now);
    admit.dashboard(&s, midnight).await.map_err(api)
}

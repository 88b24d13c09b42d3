//! Events, ticket types, quotas and check-in lists.

use chrono::Utc;
use tauri::State;

use admit_api::{CheckinListInput, EventAvailability, EventInput, QuotaInput, TicketTypeInput};
use admit_core::checkin::CheckinList;
use admit_core::model::{Event, EventStatus, Quota, TicketType};

use crate::state::{api, CmdResult, Desktop};
use crate::views::{DoorList, EventDetail};

#[tauri::command]
pub async fn list_events(desktop: State<'_, Desktop>) -> CmdResult<Vec<Event>> {
    let (admit, s) = desktop.staff()?;
    admit.list_events(&s).await.map_err(api)
}

#[tauri::command]
pub async fn event_detail(desktop: State<'_, Desktop>, event_id: String) -> CmdResult<EventDetail> {
    let (admit, s) = desktop.staff()?;
    let availability = admit.availability(&s, &event_id).await.map_err(api)?;
    let lists = admit.list_checkin_lists(&s, &event_id).await.map_err(api)?;
    Ok(EventDetail {
        availability,
        lists,
    })
}

/// Every check-in list of every event that is on (published, not yet archived), for the door.
/// Allowed in kiosk mode: the door needs it.
#[tauri::command]
pub async fn door_lists(desktop: State<'_, Desktop>) -> CmdResult<Vec<DoorList>> {
    let (admit, s) = desktop.door()?;
    let mut out = Vec::new();
    for event in admit.list_events(&s).await.map_err(api)? {
        if event.status != EventStatus::Published {
            continue;
        }
        for list in admit
            .list_checkin_lists(&s, &event.id.to_string())
            .await
            .map_err(api)?
        {
            out.push(DoorList {
                list,
                event: event.clone(),
            });
        }
    }
    Ok(out)
}

#[tauri::command]
pub async fn create_event(desktop: State<'_, Desktop>, input: EventInput) -> CmdResult<Event> {
    let (admit, s) = desktop.catalogue_editor()?;
    admit
        .create_event(&s, &input, Utc::now())
        .await
        .map_err(api)
}

#[tauri::command]
pub async fn update_event(
    desktop: State<'_, Desktop>,
    event_id: String,
    expected_version: i64,
    input: EventInput,
) -> CmdResult<Event> {
    let (admit, s) = desktop.catalogue_editor()?;
    admit
        .update_event(&s, &event_id, expected_version, &input, Utc::now())
        .await
        .map_err(api)
}

#[tauri::command]
pub async fn publish_event(desktop: State<'_, Desktop>, event_id: String) -> CmdResult<Event> {
    let (admit, s) = desktop.catalogue_editor()?;
    admit
        .publish_event(&s, &event_id, Utc::now())
        .await
        .map_err(api)
}

#[tauri::command]
pub async fn cancel_event(desktop: State<'_, Desktop>, event_id: String) -> CmdResult<Event> {
    let (admit, s) = desktop.catalogue_editor()?;
    admit
        .cancel_event(&s, &event_id, Utc::now())
        .await
        .map_err(api)
}

#[tauri::command]
pub async fn create_ticket_type(
    desktop: State<'_, Desktop>,
    input: TicketTypeInput,
) -> CmdResult<TicketType> {
    let (admit, s) = desktop.catalogue_editor()?;
    admit
        .create_ticket_type(&s, &input, Utc::now())
        .await
        .map_err(api)
}

#[tauri::command]
pub async fn update_ticket_type(
    desktop: State<'_, Desktop>,
    ticket_type_id: String,
    expected_version: i64,
    input: TicketTypeInput,
) -> CmdResult<TicketType> {
    let (admit, s) = desktop.catalogue_editor()?;
    admit
        .update_ticket_type(&s, &ticket_type_id, expected_version, &input, Utc::now())
        .await
        .map_err(api)
}

#[tauri::command]
pub async fn create_quota(desktop: State<'_, Desktop>, input: QuotaInput) -> CmdResult<Quota> {
    let (admit, s) = desktop.catalogue_editor()?;
    admit
        .create_quota(&s, &input, Utc::now())
        .await
        .map_err(api)
}

#[tauri::command]
pub async fn update_quota(
    desktop: State<'_, Desktop>,
    quota_id: String,
    expected_version: i64,
    input: QuotaInput,
) -> CmdResult<Quota> {
    let (admit, s) = desktop.catalogue_editor()?;
    admit
        .update_quota(&s, &quota_id, expected_version, &input, Utc::now())
        .await
        .map_err(api)
}

#[tauri::command]
pub async fn update_checkin_list(
    desktop: State<'_, Desktop>,
    list_id: String,
    expected_version: i64,
    input: CheckinListInput,
) -> CmdResult<CheckinList> {
    let (admit, s) = desktop.catalogue_editor()?;
    admit
        .update_checkin_list(&s, &list_id, expected_version, &input, Utc::now())
        .await
        .map_err(api)
}

#[tauri::command]
pub async fn create_checkin_list(
    desktop: State<'_, Desktop>,
    input: CheckinListInput,
) -> CmdResult<CheckinList> {
    let (admit, s) = desktop.catalogue_editor()?;
    admit
        .create_checkin_list(&s, &input, Utc::now())
        .await
        .map_err(api)
}

#[tauri::command]
pub async fn availability(
    desktop: State<'_, Desktop>,
    event_id: String,
) -> CmdResult<EventAvailability> {
    let (admit, s) = desktop.staff()?;
    admit.availability(&s, &event_id).await.map_err(api)
}

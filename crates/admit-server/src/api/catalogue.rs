//! Events, ticket types, quotas and availability.

use axum::extract::State;
use axum::http::StatusCode;
use serde::Deserialize;
use utoipa::ToSchema;

use admit_api::{ErrorBody, EventAvailability, EventInput, QuotaInput, TicketTypeInput};
use admit_core::model::{Event, Quota, TicketType};

use crate::error::HttpResult;
use crate::extract::{Caller, Json, Path};
use crate::AppState;

/// An edit names the version it read; someone else's change in between makes it 409 `stale`.
#[derive(Debug, Clone, Deserialize, ToSchema)]
pub struct EventUpdate {
    pub expected_version: i64,
    #[serde(flatten)]
    pub event: EventInput,
}

#[derive(Debug, Clone, Deserialize, ToSchema)]
pub struct TicketTypeUpdate {
    pub expected_version: i64,
    #[serde(flatten)]
    pub ticket_type: TicketTypeInput,
}

#[derive(Debug, Clone, Deserialize, ToSchema)]
pub struct QuotaUpdate {
    pub expected_version: i64,
    #[serde(flatten)]
    pub quota: QuotaInput,
}

#[utoipa::path(
    get, path = "/events", tag = "events",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Every event", body = Vec<Event>),
        (status = 401, description = "No valid token", body = ErrorBody),
        (status = 403, description = "Not allowed", body = ErrorBody),
    ),
)]
pub async fn list_events(
    State(app): State<AppState>,
    Caller(s): Caller,
) -> HttpResult<Json<Vec<Event>>> {
    Ok(Json(app.admit.list_events(&s).await?))
}

/// A new event starts as a draft.
#[utoipa::path(
    post, path = "/events", tag = "events",
    security(("bearer" = [])),
    request_body = EventInput,
    responses(
        (status = 201, description = "The new draft", body = Event),
        (status = 400, description = "Bad input", body = ErrorBody),
        (status = 401, description = "No valid token", body = ErrorBody),
        (status = 403, description = "Not allowed", body = ErrorBody),
    ),
)]
pub async fn create_event(
    State(app): State<AppState>,
    Caller(s): Caller,
    Json(input): Json<EventInput>,
) -> HttpResult<(StatusCode, Json<Event>)> {
    let event = app.admit.create_event(&s, &input, app.now()).await?;
    Ok((StatusCode::CREATED, Json(event)))
}

#[utoipa::path(
    get, path = "/events/{id}", tag = "events",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "Event id")),
    responses(
        (status = 200, description = "The event", body = Event),
        (status = 400, description = "Bad id", body = ErrorBody),
        (status = 401, description = "No valid token", body = ErrorBody),
        (status = 403, description = "Not allowed", body = ErrorBody),
        (status = 404, description = "No such event", body = ErrorBody),
    ),
)]
pub async fn get_event(
    State(app): State<AppState>,
    Caller(s): Caller,
    Path(id): Path<String>,
) -> HttpResult<Json<Event>> {
    Ok(Json(app.admit.get_event(&s, &id).await?))
}

#[utoipa::path(
    put, path = "/events/{id}", tag = "events",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "Event id")),
    request_body = EventUpdate,
    responses(
        (status = 200, description = "The event as it is now", body = Event),
        (status = 400, description = "Bad input", body = ErrorBody),
        (status = 401, description = "No valid token", body = ErrorBody),
        (status = 403, description = "Not allowed", body = ErrorBody),
        (status = 404, description = "No such event", body = ErrorBody),
        (status = 409, description = "Changed by someone else since `expected_version`", body = ErrorBody),
    ),
)]
pub async fn update_event(
    State(app): State<AppState>,
    Caller(s): Caller,
    Path(id): Path<String>,
    Json(input): Json<EventUpdate>,
) -> HttpResult<Json<Event>> {
    Ok(Json(
        app.admit
            .update_event(&s, &id, input.expected_version, &input.event, app.now())
            .await?,
    ))
}

/// Put a draft on sale; it needs an active ticket type.
#[utoipa::path(
    post, path = "/events/{id}/publish", tag = "events",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "Event id")),
    responses(
        (status = 200, description = "The published event", body = Event),
        (status = 401, description = "No valid token", body = ErrorBody),
        (status = 403, description = "Not allowed", body = ErrorBody),
        (status = 404, description = "No such event", body = ErrorBody),
        (status = 409, description = "Not a draft, or no active ticket type", body = ErrorBody),
    ),
)]
pub async fn publish_event(
    State(app): State<AppState>,
    Caller(s): Caller,
    Path(id): Path<String>,
) -> HttpResult<Json<Event>> {
    Ok(Json(app.admit.publish_event(&s, &id, app.now()).await?))
}

#[utoipa::path(
    post, path = "/events/{id}/cancel", tag = "events",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "Event id")),
    responses(
        (status = 200, description = "The cancelled event", body = Event),
        (status = 401, description = "No valid token", body = ErrorBody),
        (status = 403, description = "Not allowed", body = ErrorBody),
        (status = 404, description = "No such event", body = ErrorBody),
        (status = 409, description = "The event cannot be cancelled from its state", body = ErrorBody),
    ),
)]
pub async fn cancel_event(
    State(app): State<AppState>,
    Caller(s): Caller,
    Path(id): Path<String>,
) -> HttpResult<Json<Event>> {
    Ok(Json(app.admit.cancel_event(&s, &id, app.now()).await?))
}

/// Live availability per ticket type (the minimum over its quotas) and every quota's usage.
#[utoipa::path(
    get, path = "/events/{id}/availability", tag = "events",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "Event id")),
    responses(
        (status = 200, description = "Availability and quotas", body = EventAvailability),
        (status = 401, description = "No valid token", body = ErrorBody),
        (status = 403, description = "Not allowed", body = ErrorBody),
        (status = 404, description = "No such event", body = ErrorBody),
    ),
)]
pub async fn availability(
    State(app): State<AppState>,
    Caller(s): Caller,
    Path(id): Path<String>,
) -> HttpResult<Json<EventAvailability>> {
    Ok(Json(app.admit.availability(&s, &id).await?))
}

#[utoipa::path(
    get, path = "/events/{id}/ticket-types", tag = "events",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "Event id")),
    responses(
        (status = 200, description = "The event's ticket types", body = Vec<TicketType>),
        (status = 400, description = "Bad id", body = ErrorBody),
        (status = 401, description = "No valid token", body = ErrorBody),
        (status = 403, description = "Not allowed", body = ErrorBody),
    ),
)]
pub async fn list_ticket_types(
    State(app): State<AppState>,
    Caller(s): Caller,
    Path(id): Path<String>,
) -> HttpResult<Json<Vec<TicketType>>> {
    Ok(Json(app.admit.list_ticket_types(&s, &id).await?))
}

#[utoipa::path(
    post, path = "/ticket-types", tag = "events",
    security(("bearer" = [])),
    request_body = TicketTypeInput,
    responses(
        (status = 201, description = "The new ticket type", body = TicketType),
        (status = 400, description = "Bad input", body = ErrorBody),
        (status = 401, description = "No valid token", body = ErrorBody),
        (status = 403, description = "Not allowed", body = ErrorBody),
    ),
)]
pub async fn create_ticket_type(
    State(app): State<AppState>,
    Caller(s): Caller,
    Json(input): Json<TicketTypeInput>,
) -> HttpResult<(StatusCode, Json<TicketType>)> {
    let t = app.admit.create_ticket_type(&s, &input, app.now()).await?;
    Ok((StatusCode::CREATED, Json(t)))
}

#[utoipa::path(
    put, path = "/ticket-types/{id}", tag = "events",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "Ticket type id")),
    request_body = TicketTypeUpdate,
    responses(
        (status = 200, description = "The ticket type as it is now", body = TicketType),
        (status = 400, description = "Bad input", body = ErrorBody),
        (status = 401, description = "No valid token", body = ErrorBody),
        (status = 403, description = "Not allowed", body = ErrorBody),
        (status = 404, description = "No such ticket type", body = ErrorBody),
        (status = 409, description = "Changed by someone else since `expected_version`", body = ErrorBody),
    ),
)]
pub async fn update_ticket_type(
    State(app): State<AppState>,
    Caller(s): Caller,
    Path(id): Path<String>,
    Json(input): Json<TicketTypeUpdate>,
) -> HttpResult<Json<TicketType>> {
    Ok(Json(
        app.admit
            .update_ticket_type(
                &s,
                &id,
                input.expected_version,
                &input.ticket_type,
                app.now(),
            )
            .await?,
    ))
}

#[utoipa::path(
    post, path = "/quotas", tag = "events",
    security(("bearer" = [])),
    request_body = QuotaInput,
    responses(
        (status = 201, description = "The new quota", body = Quota),
        (status = 400, description = "Bad input", body = ErrorBody),
        (status = 401, description = "No valid token", body = ErrorBody),
        (status = 403, description = "Not allowed", body = ErrorBody),
    ),
)]
pub async fn create_quota(
    State(app): State<AppState>,
    Caller(s): Caller,
    Json(input): Json<QuotaInput>,
) -> HttpResult<(StatusCode, Json<Quota>)> {
    let q = app.admit.create_quota(&s, &input, app.now()).await?;
    Ok((StatusCode::CREATED, Json(q)))
}

/// Resize or re-cover a quota; its size cannot go below what is sold and held.
#[utoipa::path(
    put, path = "/quotas/{id}", tag = "events",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "Quota id")),
    request_body = QuotaUpdate,
    responses(
        (status = 200, description = "The quota as it is now", body = Quota),
        (status = 400, description = "Bad input, or below what is taken", body = ErrorBody),
        (status = 401, description = "No valid token", body = ErrorBody),
        (status = 403, description = "Not allowed", body = ErrorBody),
        (status = 404, description = "No such quota", body = ErrorBody),
        (status = 409, description = "Changed by someone else since `expected_version`", body = ErrorBody),
    ),
)]
pub async fn update_quota(
    State(app): State<AppState>,
    Caller(s): Caller,
    Path(id): Path<String>,
    Json(input): Json<QuotaUpdate>,
) -> HttpResult<Json<Quota>> {
    Ok(Json(
        app.admit
            .update_quota(&s, &id, input.expected_version, &input.quota, app.now())
            .await?,
    ))
}

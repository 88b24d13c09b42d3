//! Check-in lists and scans.

use axum::extract::State;
use axum::http::StatusCode;

use admit_api::{CheckinListInput, ErrorBody, RedeemAnswer, RedeemInput};
use admit_core::checkin::CheckinList;

use crate::error::HttpResult;
use crate::extract::{Caller, Json, Path};
use crate::AppState;

#[utoipa::path(
    get, path = "/events/{id}/checkin-lists", tag = "door",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "Event id")),
    responses(
        (status = 200, description = "The event's check-in lists", body = Vec<CheckinList>),
        (status = 400, description = "Bad id", body = ErrorBody),
        (status = 401, description = "No valid token", body = ErrorBody),
        (status = 403, description = "Not allowed", body = ErrorBody),
    ),
)]
pub async fn list_checkin_lists(
    State(app): State<AppState>,
    Caller(s): Caller,
    Path(id): Path<String>,
) -> HttpResult<Json<Vec<CheckinList>>> {
    Ok(Json(app.admit.list_checkin_lists(&s, &id).await?))
}

#[utoipa::path(
    post, path = "/checkin-lists", tag = "door",
    security(("bearer" = [])),
    request_body = CheckinListInput,
    responses(
        (status = 201, description = "The new list", body = CheckinList),
        (status = 400, description = "Bad input", body = ErrorBody),
        (status = 401, description = "No valid token", body = ErrorBody),
        (status = 403, description = "Not allowed", body = ErrorBody),
    ),
)]
pub async fn create_checkin_list(
    State(app): State<AppState>,
    Caller(s): Caller,
    Json(input): Json<CheckinListInput>,
) -> HttpResult<(StatusCode, Json<CheckinList>)> {
    let list = app.admit.create_checkin_list(&s, &input, app.now()).await?;
    Ok((StatusCode::CREATED, Json(list)))
}

/// Scan a ticket. Every scan is recorded; the answer says whether to let the person in and
/// why not. A repeated nonce answers the first scan's verdict again and records nothing.
#[utoipa::path(
    post, path = "/redeem", tag = "door",
    security(("bearer" = [])),
    request_body = RedeemInput,
    responses(
        (status = 200, description = "The verdict (refusals too: `ok` is false)", body = RedeemAnswer),
        (status = 400, description = "Bad input", body = ErrorBody),
        (status = 401, description = "No valid token", body = ErrorBody),
        (status = 403, description = "Not allowed to scan", body = ErrorBody),
        (status = 404, description = "No such check-in list", body = ErrorBody),
    ),
)]
pub async fn redeem(
    State(app): State<AppState>,
    Caller(s): Caller,
    Json(input): Json<RedeemInput>,
) -> HttpResult<Json<RedeemAnswer>> {
    Ok(Json(app.admit.redeem(&s, &input, app.now()).await?))
}

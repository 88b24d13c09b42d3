//! Sales, order look-up and cancellation.

use axum::extract::State;
use axum::http::StatusCode;
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};

use admit_api::{CancelInput, ErrorBody, SaleInput};
use admit_core::model::{Order, OrderWithTickets};
use admit_store::IssuedSecret;

use crate::error::HttpResult;
use crate::extract::{Caller, Json, Path, Query};
use crate::AppState;

#[derive(Debug, Clone, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct OrderSearch {
    /// Only orders of this event.
    pub event_id: Option<String>,
    /// Code prefix, buyer name or e-mail (case-insensitive); empty lists the newest.
    #[serde(default)]
    pub q: String,
    /// At most this many (1–500, 50 by default).
    pub limit: Option<u32>,
}

/// What to cancel: some tickets, or (empty) the whole order.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
pub struct CancelBody {
    #[serde(default)]
    pub ticket_ids: Vec<String>,
    /// Hand each cancelled ticket's money back in full by the order's method.
    #[serde(default)]
    pub refund: bool,
}

/// Sell tickets. Prices come from the catalogue; every quota is checked and taken in one
/// transaction, so the last unit is never sold twice.
#[utoipa::path(
    post, path = "/orders", tag = "orders",
    security(("bearer" = [])),
    request_body = SaleInput,
    responses(
        (status = 201, description = "The order and its tickets", body = OrderWithTickets),
        (status = 400, description = "Bad input (the field is named)", body = ErrorBody),
        (status = 401, description = "No valid token", body = ErrorBody),
        (status = 403, description = "Not allowed to sell", body = ErrorBody),
        (status = 409, description = "Sold out, or a coupon or hold no longer usable", body = ErrorBody),
        (status = 503, description = "The database stayed busy; try again", body = ErrorBody),
    ),
)]
pub async fn sell(
    State(app): State<AppState>,
    Caller(s): Caller,
    Json(input): Json<SaleInput>,
) -> HttpResult<(StatusCode, Json<OrderWithTickets>)> {
    let order = app.admit.sell(&s, &input, app.now()).await?;
    Ok((StatusCode::CREATED, Json(order)))
}

#[utoipa::path(
    get, path = "/orders", tag = "orders",
    security(("bearer" = [])),
    params(OrderSearch),
    responses(
        (status = 200, description = "Matching orders", body = Vec<Order>),
        (status = 400, description = "Bad query", body = ErrorBody),
        (status = 401, description = "No valid token", body = ErrorBody),
        (status = 403, description = "Not allowed", body = ErrorBody),
    ),
)]
pub async fn search_orders(
    State(app): State<AppState>,
    Caller(s): Caller,
    Query(q): Query<OrderSearch>,
) -> HttpResult<Json<Vec<Order>>> {
    Ok(Json(
        app.admit
            .search_orders(&s, q.event_id.as_deref(), &q.q, q.limit.unwrap_or(50))
            .await?,
    ))
}

#[utoipa::path(
    get, path = "/orders/{id}", tag = "orders",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "Order id")),
    responses(
        (status = 200, description = "The order and its tickets", body = OrderWithTickets),
        (status = 400, description = "Bad id", body = ErrorBody),
        (status = 401, description = "No valid token", body = ErrorBody),
        (status = 403, description = "Not allowed", body = ErrorBody),
        (status = 404, description = "No such order", body = ErrorBody),
    ),
)]
pub async fn get_order(
    State(app): State<AppState>,
    Caller(s): Caller,
    Path(id): Path<String>,
) -> HttpResult<Json<OrderWithTickets>> {
    Ok(Json(app.admit.get_order(&s, &id).await?))
}

#[utoipa::path(
    get, path = "/orders/by-code/{code}", tag = "orders",
    security(("bearer" = [])),
    params(("code" = String, Path, description = "The order's short code")),
    responses(
        (status = 200, description = "The order and its tickets", body = OrderWithTickets),
        (status = 400, description = "Not an order code", body = ErrorBody),
        (status = 401, description = "No valid token", body = ErrorBody),
        (status = 403, description = "Not allowed", body = ErrorBody),
        (status = 404, description = "No such order", body = ErrorBody),
    ),
)]
pub async fn get_order_by_code(
    State(app): State<AppState>,
    Caller(s): Caller,
    Path(code): Path<String>,
) -> HttpResult<Json<OrderWithTickets>> {
    Ok(Json(app.admit.get_order_by_code(&s, &code).await?))
}

/// Cancel tickets or the whole order; their units go back to the quotas they came from.
#[utoipa::path(
    post, path = "/orders/{id}/cancel", tag = "orders",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "Order id")),
    request_body = CancelBody,
    responses(
        (status = 200, description = "The order as it is now", body = OrderWithTickets),
        (status = 400, description = "Bad input", body = ErrorBody),
        (status = 401, description = "No valid token", body = ErrorBody),
        (status = 403, description = "Not allowed", body = ErrorBody),
        (status = 404, description = "No such order", body = ErrorBody),
        (status = 409, description = "Cancelled already, or changed meanwhile", body = ErrorBody),
    ),
)]
pub async fn cancel_order(
    State(app): State<AppState>,
    Caller(s): Caller,
    Path(id): Path<String>,
    Json(body): Json<CancelBody>,
) -> HttpResult<Json<OrderWithTickets>> {
    let input = CancelInput {
        order_id: id,
        ticket_ids: body.ticket_ids,
        refund: body.refund,
    };
    Ok(Json(app.admit.cancel(&s, &input, app.now()).await?))
}

/// The secret a ticket's QR code carries: issued on the first call, the same ever after.
#[utoipa::path(
    post, path = "/tickets/{id}/secret", tag = "orders",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "Ticket id")),
    responses(
        (status = 200, description = "The ticket's secret", body = IssuedSecret),
        (status = 400, description = "Bad id", body = ErrorBody),
        (status = 401, description = "No valid token", body = ErrorBody),
        (status = 403, description = "Not allowed", body = ErrorBody),
        (status = 404, description = "No such ticket", body = ErrorBody),
        (status = 409, description = "Cancelled or unpaid tickets get no code", body = ErrorBody),
    ),
)]
pub async fn ticket_secret(
    State(app): State<AppState>,
    Caller(s): Caller,
    Path(id): Path<String>,
) -> HttpResult<Json<IssuedSecret>> {
    Ok(Json(app.admit.ticket_secret(&s, &id, app.now()).await?))
}

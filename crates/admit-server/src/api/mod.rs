//! The HTTP API under `/api/v1`: one thin handler per use case. Each handler takes the caller
//! and the input, calls one `Admit` use case and returns its answer or its typed error; none
//! holds business logic. Every route is declared with its OpenAPI operation (`routes!`), so
//! the document served at `/api/v1/openapi.json` cannot miss one.

pub mod auth;
pub mod catalogue;
pub mod devices;
pub mod door;
pub mod health;
pub mod orders;
pub mod sync;

use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AppState;

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Admit",
        description = "Box office and door control: events, ticket types, quotas, orders, \
                       check-in lists and scans over the same use cases as the desktop app. \
                       Authenticate with `POST /api/v1/login` (people, scripts) or \
                       `POST /api/v1/pair` (devices) and send the token as \
                       `Authorization: Bearer <token>`. Errors are `{code, message, field}`."
    ),
    modifiers(&BearerScheme),
    tags(
        (name = "health", description = "Liveness, readiness, this document"),
        (name = "auth", description = "Login tokens"),
        (name = "devices", description = "Pairing and revoking devices (owners)"),
        (name = "events", description = "Events, ticket types, quotas, availability"),
        (name = "orders", description = "Sales, look-up, cancellation, ticket secrets"),
        (name = "door", description = "Check-in lists and scans"),
        (name = "sync", description = "Paired devices: upload, changes, allocations of stock, conflicts"),
    )
)]
pub struct ApiDoc;

struct BearerScheme;

impl Modify for BearerScheme {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        openapi
            .components
            .get_or_insert_with(Default::default)
            .add_security_scheme(
                "bearer",
                SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
            );
    }
}

/// Every route under `/api/v1`.
pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(health::openapi))
        .routes(routes!(auth::login))
        .routes(routes!(auth::logout))
        .routes(routes!(auth::session))
        .routes(routes!(devices::create_pairing_code))
        .routes(routes!(devices::pair))
        .routes(routes!(devices::list_devices))
        .routes(routes!(devices::revoke_device))
        .routes(routes!(catalogue::list_events, catalogue::create_event))
        .routes(routes!(catalogue::get_event, catalogue::update_event))
        .routes(routes!(catalogue::publish_event))
        .routes(routes!(catalogue::cancel_event))
        .routes(routes!(catalogue::availability))
        .routes(routes!(catalogue::list_ticket_types))
        .routes(routes!(catalogue::create_ticket_type))
        .routes(routes!(catalogue::update_ticket_type))
        .routes(routes!(catalogue::create_quota))
        .routes(routes!(catalogue::update_quota))
        .routes(routes!(orders::sell, orders::search_orders))
        .routes(routes!(orders::get_order))
        .routes(routes!(orders::get_order_by_code))
        .routes(routes!(orders::cancel_order))
        .routes(routes!(orders::ticket_secret))
        .routes(routes!(door::list_checkin_lists))
        .routes(routes!(door::create_checkin_list))
        .routes(routes!(door::redeem))
        .routes(routes!(sync::upload))
        .routes(routes!(sync::changes))
        .routes(routes!(sync::allocations))
        .routes(routes!(sync::keys))
        .routes(routes!(sync::conflicts))
}

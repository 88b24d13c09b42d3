//! Login tokens for people and scripts, and who the caller is.

use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use admit_api::{ErrorBody, LoginToken, Session};

use crate::error::HttpResult;
use crate::extract::{Bearer, Caller, Json};
use crate::AppState;

#[derive(Clone, Deserialize, Serialize, ToSchema)]
pub struct LoginInput {
    pub username: String,
    pub password: String,
}

impl std::fmt::Debug for LoginInput {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LoginInput")
            .field("username", &self.username)
            .field("password", &"<redacted>")
            .finish()
    }
}

/// Trade a username and password for a bearer token (12 hours). Repeated failures lock the
/// account for a growing time (429 with `Retry-After`).
#[utoipa::path(
    post, path = "/login", tag = "auth",
    request_body = LoginInput,
    responses(
        (status = 200, description = "A bearer token", body = LoginToken),
        (status = 400, description = "The body is not a login", body = ErrorBody),
        (status = 401, description = "Wrong username or password", body = ErrorBody),
        (status = 429, description = "Locked out after repeated failures", body = ErrorBody),
    ),
)]
pub async fn login(
    State(app): State<AppState>,
    Json(input): Json<LoginInput>,
) -> HttpResult<Json<LoginToken>> {
    Ok(Json(
        app.admit
            .issue_login_token(&input.username, &input.password, app.now())
            .await?,
    ))
}

/// End the presented login token. Device tokens end when an owner revokes the device.
#[utoipa::path(
    post, path = "/logout", tag = "auth",
    security(("bearer" = [])),
    responses(
        (status = 204, description = "The token no longer works"),
        (status = 400, description = "A device token", body = ErrorBody),
        (status = 401, description = "No valid token", body = ErrorBody),
    ),
)]
pub async fn logout(State(app): State<AppState>, Bearer(token): Bearer) -> HttpResult<StatusCode> {
    app.admit.logout(&token, app.now()).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Who the token stands for: the user and, for a device token, the device's id.
#[utoipa::path(
    get, path = "/session", tag = "auth",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The caller", body = Session),
        (status = 401, description = "No valid token", body = ErrorBody),
    ),
)]
pub async fn session(Caller(s): Caller) -> Json<Session> {
    Json(s)
}

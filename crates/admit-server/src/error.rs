//! Errors as HTTP answers: the same `{code, message, field}` body every front end returns
//! ([`ErrorBody`]), with the status that says what kind of failure it was.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};

use admit_api::{ApiError, ErrorBody};

/// An error answer. Handlers return `Result<_, HttpError>`; every use-case error converts.
#[derive(Debug)]
pub struct HttpError {
    pub status: StatusCode,
    pub body: ErrorBody,
    /// Seconds a client should wait before trying again (locked out, busy).
    pub retry_after: Option<u64>,
}

impl HttpError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        HttpError {
            status,
            body: ErrorBody {
                code,
                message: message.into(),
                field: None,
            },
            retry_after: None,
        }
    }

    /// Bad input: 400 with the field at fault.
    pub fn invalid(field: impl Into<String>, message: impl Into<String>) -> Self {
        ApiError::invalid(field, message).into()
    }

    /// No usable bearer token: 401. Says what is missing, unlike a failed login.
    pub fn unauthenticated(message: impl Into<String>) -> Self {
        HttpError::new(StatusCode::UNAUTHORIZED, "unauthenticated", message)
    }

    pub fn too_large(limit: usize) -> Self {
        HttpError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "too_large",
            format!("the request body is larger than {limit} bytes"),
        )
    }

    pub fn unsupported_media_type() -> Self {
        let mut e = HttpError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "invalid_input",
            "must be application/json",
        );
        e.body.field = Some("content-type".into());
        e
    }

    pub fn no_route(method: &str, path: &str) -> Self {
        HttpError::new(
            StatusCode::NOT_FOUND,
            "not_found",
            format!("no such route: {method} {path}"),
        )
    }

    pub fn method_not_allowed() -> Self {
        HttpError::new(
            StatusCode::METHOD_NOT_ALLOWED,
            "method_not_allowed",
            "this route does not take that method",
        )
    }
}

impl From<ApiError> for HttpError {
    fn from(e: ApiError) -> Self {
        let status = match &e {
            ApiError::Invalid { .. } => StatusCode::BAD_REQUEST,
            ApiError::Unauthenticated => StatusCode::UNAUTHORIZED,
            ApiError::LockedOut { .. } => StatusCode::TOO_MANY_REQUESTS,
            ApiError::Forbidden { .. } => StatusCode::FORBIDDEN,
            ApiError::NotFound { .. } => StatusCode::NOT_FOUND,
            ApiError::Conflict { .. } | ApiError::Stale { .. } | ApiError::SoldOut { .. } => {
                StatusCode::CONFLICT
            }
            ApiError::Busy => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        };
        let retry_after = match &e {
            ApiError::LockedOut { until } => {
                Some((*until - chrono::Utc::now()).num_seconds().max(1) as u64)
            }
            ApiError::Busy => Some(1),
            _ => None,
        };
        let body = match &e {
            ApiError::Internal(detail) => {
                // The detail may name tables or statements: it goes to the log (with the
                // request id), not to the client.
                tracing::error!(%detail, "internal error");
                ErrorBody {
                    code: e.code(),
                    message: "internal error; the x-request-id header of this answer finds it \
                              in the server's log"
                        .into(),
                    field: None,
                }
            }
            _ => e.to_json(),
        };
        HttpError {
            status,
            body,
            retry_after,
        }
    }
}

impl IntoResponse for HttpError {
    fn into_response(self) -> Response {
        if self.status.is_server_error() {
            tracing::warn!(
                status = self.status.as_u16(),
                code = self.body.code,
                "request failed"
            );
        } else {
            tracing::debug!(status = self.status.as_u16(), code = self.body.code, message = %self.body.message, "request refused");
        }
        let mut res = (self.status, axum::Json(self.body)).into_response();
        if self.status == StatusCode::UNAUTHORIZED {
            res.headers_mut()
                .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        // The body was not read to its end, so the connection cannot carry another request:
        // say so, or a client would send its next request on a connection being closed.
        if self.status == StatusCode::PAYLOAD_TOO_LARGE {
            res.headers_mut()
                .insert(header::CONNECTION, HeaderValue::from_static("close"));
        }
        if let Some(secs) = self.retry_after {
            if let Ok(v) = HeaderValue::from_str(&secs.to_string()) {
                res.headers_mut().insert(header::RETRY_AFTER, v);
            }
        }
        res
    }
}

pub type HttpResult<T> = Result<T, HttpError>;

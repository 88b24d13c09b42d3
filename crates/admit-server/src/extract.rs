//! Extractors: who is calling (from the bearer token), and request bodies, paths and queries
//! whose rejections come back as typed `{code, message, field}` bodies rather than axum's
//! plain text.

use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::header;
use axum::http::request::Parts;
use axum::response::{IntoResponse, Response};
use serde::de::DeserializeOwned;
use serde::Serialize;

use admit_api::{ApiError, Authenticated, Session};
use admit_core::device::Device;

use crate::error::HttpError;
use crate::AppState;

/// The raw bearer token of the request (for logout). Never printed.
pub struct Bearer(pub String);

impl std::fmt::Debug for Bearer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Bearer(<redacted>)")
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Bearer {
    type Rejection = HttpError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, HttpError> {
        let value = parts.headers.get(header::AUTHORIZATION).ok_or_else(|| {
            HttpError::unauthenticated("sign in first: send Authorization: Bearer <token>")
        })?;
        let token = value
            .to_str()
            .ok()
            .and_then(|v| {
                let (scheme, token) = v.split_once(' ')?;
                scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
            })
            .filter(|t| !t.is_empty())
            .ok_or_else(|| {
                HttpError::unauthenticated("the Authorization header must be Bearer <token>")
            })?;
        Ok(Bearer(token.to_string()))
    }
}

/// Look the token up and note the caller on the request's log span.
async fn authenticate(parts: &mut Parts, state: &AppState) -> Result<Authenticated, HttpError> {
    let Bearer(token) = Bearer::from_request_parts(parts, state).await?;
    let who = state
        .admit
        .authenticate(&token, state.now())
        .await
        .map_err(|e| match e {
            ApiError::Unauthenticated => HttpError::unauthenticated(
                "the bearer token is unknown, expired or revoked; sign in or pair again",
            ),
            e => e.into(),
        })?;
    let span = tracing::Span::current();
    span.record("user", who.session.user.username.as_str());
    if let Some(d) = &who.device {
        span.record("device", tracing::field::display(d.id));
    }
    Ok(who)
}

/// Any authenticated caller, user or device: the session every use case takes.
#[derive(Debug, Clone)]
pub struct Caller(pub Session);

impl FromRequestParts<AppState> for Caller {
    type Rejection = HttpError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, HttpError> {
        Ok(Caller(authenticate(parts, state).await?.session))
    }
}

/// A paired device (sync routes). Other callers are refused: no token 401, a user's 403.
#[derive(Debug, Clone)]
pub struct DeviceCaller {
    pub device: Device,
    /// The device's service user on the device, for the use cases.
    pub session: Session,
}

impl FromRequestParts<AppState> for DeviceCaller {
    type Rejection = HttpError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, HttpError> {
        let who = authenticate(parts, state).await?;
        match who.device {
            Some(device) => Ok(DeviceCaller {
                device,
                session: who.session,
            }),
            // Authenticated, but not as a device: not allowed here.
            None => Err(HttpError::new(
                axum::http::StatusCode::FORBIDDEN,
                "forbidden",
                "this needs a device token (pair the device first)",
            )),
        }
    }
}

/// A JSON body (`application/json`), or a JSON answer. A body that is not JSON, or does not fit
/// the type, is a 400 naming the field at fault (`lines[0].quantity`); one over the size limit
/// is a 413.
#[derive(Debug, Clone, Copy, Default)]
pub struct Json<T>(pub T);

fn is_json(parts: &axum::http::HeaderMap) -> bool {
    parts
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .map(|m| {
            let m = m.trim().to_ascii_lowercase();
            m == "application/json" || (m.starts_with("application/") && m.ends_with("+json"))
        })
        .unwrap_or(false)
}

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for Json<T> {
    type Rejection = HttpError;

    async fn from_request(req: Request, state: &S) -> Result<Self, HttpError> {
        if !is_json(req.headers()) {
            return Err(HttpError::unsupported_media_type());
        }
        let limit = req
            .extensions()
            .get::<BodyLimit>()
            .map(|l| l.0)
            .unwrap_or(crate::config::DEFAULT_MAX_BODY_BYTES);
        let bytes = Bytes::from_request(req, state).await.map_err(|r| {
            if r.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE {
                HttpError::too_large(limit)
            } else {
                HttpError::invalid("body", r.body_text())
            }
        })?;
        parse_json(&bytes).map(Json)
    }
}

/// The body limit in force, for the 413's message.
#[derive(Debug, Clone, Copy)]
pub(crate) struct BodyLimit(pub usize);

fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, HttpError> {
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let value = serde_path_to_error::deserialize(&mut de).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        let text = inner.to_string();
        // serde_json appends the position; the field name says more to a person.
        let message = match text.rfind(" at line ") {
            Some(i) if inner.is_data() => text[..i].to_string(),
            _ => text,
        };
        if inner.is_syntax() || inner.is_eof() {
            return HttpError::invalid("body", format!("is not valid JSON: {message}"));
        }
        let field = if path == "." { String::new() } else { path };
        // "missing field `name`" is reported at the parent; point at the field itself.
        let missing = message
            .strip_prefix("missing field `")
            .and_then(|m| m.strip_suffix('`'));
        let field = match (missing, field.is_empty()) {
            (Some(m), true) => m.to_string(),
            (Some(m), false) => format!("{field}.{m}"),
            (None, true) => "body".to_string(),
            (None, false) => field,
        };
        HttpError::invalid(field, message)
    })?;
    de.end()
        .map_err(|e| HttpError::invalid("body", format!("is not valid JSON: {e}")))?;
    Ok(value)
}

impl<T: Serialize> IntoResponse for Json<T> {
    fn into_response(self) -> Response {
        axum::Json(self.0).into_response()
    }
}

/// Path parameters; a malformed one is a typed 400.
#[derive(Debug)]
pub struct Path<T>(pub T);

impl<T: DeserializeOwned + Send, S: Send + Sync> FromRequestParts<S> for Path<T> {
    type Rejection = HttpError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, HttpError> {
        axum::extract::Path::<T>::from_request_parts(parts, state)
            .await
            .map(|p| Path(p.0))
            .map_err(|r| HttpError::invalid("path", r.body_text()))
    }
}

/// Query parameters; a malformed one is a typed 400.
#[derive(Debug)]
pub struct Query<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequestParts<S> for Query<T> {
    type Rejection = HttpError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, HttpError> {
        axum::extract::Query::<T>::from_request_parts(parts, state)
            .await
            .map(|q| Query(q.0))
            .map_err(|r| HttpError::invalid("query", r.body_text()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, serde::Deserialize)]
    #[allow(dead_code)]
    struct Line {
        quantity: i64,
        name: String,
    }

    #[derive(Debug, serde::Deserialize)]
    #[allow(dead_code)]
    struct Sale {
        lines: Vec<Line>,
    }

    fn field(r: Result<Sale, HttpError>) -> (String, String) {
        let e = r.unwrap_err();
        assert_eq!(e.status, axum::http::StatusCode::BAD_REQUEST);
        (e.body.field.unwrap_or_default(), e.body.message)
    }

    #[test]
    fn json_errors_name_the_field() {
        let (f, m) = field(parse_json(br#"{"lines":[{"quantity":"2","name":"x"}]}"#));
        assert_eq!(f, "lines[0].quantity");
        assert!(m.contains("invalid type: string"), "{m}");
        assert_eq!(
            field(parse_json(br#"{"lines":[{"quantity":2}]}"#)).0,
            "lines[0].name"
        );
        assert_eq!(field(parse_json(br#"{}"#)).0, "lines");
        assert_eq!(field(parse_json(br#"{"lines": ["#)).0, "body");
        assert_eq!(field(parse_json(br#"[]"#)).0, "body");
        assert_eq!(field(parse_json(br#"{"lines":[]} trailing"#)).0, "body");
        assert!(parse_json::<Sale>(br#"{"lines":[]}"#).is_ok());
    }
}

//! A request id on every log line of a request, and on its answer.
//!
//! The id is the client's `x-request-id` when it sends a sensible one (so a proxy's or a
//! device's id follows the request through), else a fresh UUID. Everything logged while the
//! request runs, the store included, is inside the request's span and carries the id.

use std::time::Instant;

use axum::extract::Request;
use axum::http::{HeaderName, HeaderValue};
use axum::middleware::Next;
use axum::response::Response;
use tracing::Instrument;

pub const X_REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// Ids from outside are kept only if short and plain, so they cannot forge log lines.
fn acceptable(id: &str) -> bool {
    (1..=128).contains(&id.len())
        && id.bytes().all(|b| {
            b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b':' | b'/' | b'+' | b'=')
        })
}

pub async fn request_id(req: Request, next: Next) -> Response {
    let id = req
        .headers()
        .get(&X_REQUEST_ID)
        .and_then(|v| v.to_str().ok())
        .filter(|v| acceptable(v))
        .map(str::to_string)
        .unwrap_or_else(|| uuid::Uuid::now_v7().to_string());
    let span = tracing::info_span!(
        "request",
        request_id = %id,
        method = %req.method(),
        path = %req.uri().path(),
        user = tracing::field::Empty,
        device = tracing::field::Empty,
    );
    let started = Instant::now();
    let mut res = next.run(req).instrument(span.clone()).await;
    span.in_scope(|| {
        tracing::info!(
            status = res.status().as_u16(),
            micros = started.elapsed().as_micros() as u64,
            "answered"
        )
    });
    if let Ok(v) = HeaderValue::from_str(&id) {
        res.headers_mut().insert(X_REQUEST_ID, v);
    }
    res
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_plain_ids_are_kept() {
        assert!(acceptable("3f1c-a9"));
        assert!(acceptable("device-7:42"));
        assert!(!acceptable(""));
        assert!(!acceptable("a b"));
        assert!(!acceptable("line\nforged=1"));
        assert!(!acceptable(&"x".repeat(129)));
    }
}

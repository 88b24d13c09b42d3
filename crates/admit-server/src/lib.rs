//! The Admit server: the use cases over HTTP, on PostgreSQL, for devices and other systems.
//!
//! * [`router`] builds the whole HTTP surface from an [`AppState`]: `/health`, `/ready` and
//!   the API under `/api/v1` with its OpenAPI document at `/api/v1/openapi.json`.
//! * [`start`] opens the database (running migrations), binds the configured address (port 0
//!   picks a free one) with or without TLS and serves until [`RunningServer::shutdown`], which
//!   lets requests in flight finish.
//!
//! The server keeps nothing between requests but caches that expire within seconds, so any
//! number of instances can share one PostgreSQL database behind a load balancer: stock is
//! taken by the database's own conditional updates, never by anything held in a process.

pub mod api;
pub mod config;
pub mod error;
pub mod extract;
pub mod request_id;
pub mod tls;

use std::future::IntoFuture;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use axum::extract::{DefaultBodyLimit, Request};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Router};
use chrono::{DateTime, Utc};
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use admit_api::Admit;

pub use config::{Config, LogFormat, TlsConfig};
pub use error::{HttpError, HttpResult};
pub use extract::{Bearer, Caller, DeviceCaller, Json};

/// What every handler gets. Cheap to clone; holds no request state of its own.
#[derive(Clone)]
pub struct AppState {
    /// The use cases over the server's store.
    pub admit: Admit,
}

impl AppState {
    pub fn new(admit: Admit) -> Self {
        AppState { admit }
    }

    /// The time use cases are given. Taken per request, from this machine's clock.
    pub fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }
}

/// The routes and the OpenAPI document describing them, from the one declaration.
fn documented_routes() -> (Router<AppState>, utoipa::openapi::OpenApi) {
    OpenApiRouter::with_openapi(api::ApiDoc::openapi())
        .routes(routes!(api::health::health))
        .routes(routes!(api::health::ready))
        .nest("/api/v1", api::routes())
        .split_for_parts()
}

/// The OpenAPI document of every route [`router`] serves.
pub fn openapi() -> utoipa::openapi::OpenApi {
    documented_routes().1
}

/// The whole HTTP surface, with a body limit of `max_body_bytes`.
pub fn router(state: AppState, max_body_bytes: usize) -> Router {
    let (routes, doc) = documented_routes();
    routes
        .fallback(|req: Request| async move {
            HttpError::no_route(req.method().as_str(), req.uri().path())
        })
        .method_not_allowed_fallback(|| async { HttpError::method_not_allowed() })
        .with_state(state)
        .layer(Extension(Arc::new(doc)))
        .layer(Extension(extract::BodyLimit(max_body_bytes)))
        .layer(DefaultBodyLimit::max(max_body_bytes))
        .layer(tower_http::catch_panic::CatchPanicLayer::custom(on_panic))
        // Outermost: everything above, fallbacks and panics included, runs in the request's
        // span and answers with its id.
        .layer(axum::middleware::from_fn(request_id::request_id))
}

fn on_panic(_: Box<dyn std::any::Any + Send + 'static>) -> Response {
    HttpError::from(admit_api::ApiError::Internal("a handler panicked".into())).into_response()
}

/// A server running on its own task.
pub struct RunningServer {
    /// Where it listens (the real port when the configuration said 0).
    pub addr: SocketAddr,
    /// Whether it speaks TLS.
    pub tls: bool,
    stop: Option<oneshot::Sender<()>>,
    task: JoinHandle<std::io::Result<()>>,
    grace: Duration,
}

impl RunningServer {
    /// `http://addr` or `https://addr`.
    pub fn url(&self) -> String {
        format!(
            "{}://{}",
            if self.tls { "https" } else { "http" },
            self.addr
        )
    }

    /// Stop accepting connections, let requests in flight finish (up to the configured
    /// grace period, after which they are dropped), and return when the server has stopped.
    pub async fn shutdown(mut self) -> std::io::Result<()> {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        match tokio::time::timeout(self.grace, &mut self.task).await {
            Ok(Ok(r)) => r,
            Ok(Err(e)) => Err(std::io::Error::other(e)),
            Err(_) => {
                tracing::warn!(grace = ?self.grace, "requests still running after the grace period; dropping them");
                self.task.abort();
                Ok(())
            }
        }
    }
}

/// Open the configured database and serve on the configured address until shut down.
pub async fn start(config: Config) -> anyhow::Result<RunningServer> {
    config.check()?;
    let store = admit_store::open(&config.database_url)
        .await
        .with_context(|| {
            format!(
                "cannot open the database {}",
                config::redact_url(&config.database_url)
            )
        })?;
    start_with(config, AppState::new(Admit::new(store))).await
}

/// Serve `state` on the configured address (the database in the configuration is not opened:
/// `state` has its store already). Two servers on one database are two calls with states over
/// two stores of that database.
pub async fn start_with(config: Config, state: AppState) -> anyhow::Result<RunningServer> {
    let listener = TcpListener::bind(config.listen)
        .await
        .with_context(|| format!("cannot listen on {}", config.listen))?;
    let addr = listener.local_addr()?;
    let app = router(state, config.max_body_bytes).into_make_service();
    let (stop, stopped) = oneshot::channel::<()>();
    let signal = async move {
        let _ = stopped.await;
        tracing::info!("shutting down: no new connections; finishing requests in flight");
    };
    let task = match &config.tls {
        Some(tls) => {
            let listener = tls::TlsListener::new(listener, tls::server_config(tls)?)?;
            tokio::spawn(
                axum::serve(listener, app)
                    .with_graceful_shutdown(signal)
                    .into_future(),
            )
        }
        None => tokio::spawn(
            axum::serve(listener, app)
                .with_graceful_shutdown(signal)
                .into_future(),
        ),
    };
    tracing::info!(%addr, tls = config.tls.is_some(), "listening");
    Ok(RunningServer {
        addr,
        tls: config.tls.is_some(),
        stop: Some(stop),
        task,
        grace: Duration::from_secs(config.shutdown_grace_secs),
    })
}

/// Log to standard error in the configured format, filtered by `ADMIT_LOG` (default `info`).
/// Every line of a request carries its request id (the request span's fields).
pub fn init_logging(format: LogFormat) {
    use tracing_subscriber::EnvFilter;
    let filter =
        EnvFilter::try_from_env("ADMIT_LOG").unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_writer(std::io::stderr);
    let _ = match format {
        LogFormat::Text => builder.try_init(),
        LogFormat::Json => builder
            .json()
            .with_current_span(true)
            .with_span_list(false)
            .try_init(),
    };
}

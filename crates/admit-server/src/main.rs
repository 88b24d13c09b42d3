//! `admit-server [--config path]`: serve the Admit HTTP API until SIGTERM or Ctrl-C.

use std::path::PathBuf;

use anyhow::bail;

const USAGE: &str = "usage: admit-server [--config <file.toml>]

Serves the Admit HTTP API on PostgreSQL. Settings come from the TOML file, then from the
environment: ADMIT_SERVER_LISTEN, ADMIT_DATABASE_URL (or DATABASE_URL), ADMIT_TLS_CERT and
ADMIT_TLS_KEY, ADMIT_LOG_FORMAT (text or json); ADMIT_LOG filters the log (default info).";

fn config_path() -> anyhow::Result<Option<PathBuf>> {
    let mut args = std::env::args().skip(1);
    let mut path = None;
    while let Some(a) = args.next() {
        match a.as_str() {
            "--config" | "-c" => match args.next() {
                Some(p) => path = Some(PathBuf::from(p)),
                None => bail!("--config needs a file\n\n{USAGE}"),
            },
            "--help" | "-h" => {
                println!("{USAGE}");
                std::process::exit(0);
            }
            other => bail!("unknown argument {other:?}\n\n{USAGE}"),
        }
    }
    Ok(path)
}

/// SIGTERM (service managers, containers) or Ctrl-C.
async fn stop_requested() {
    let ctrl_c = async {
        if let Err(e) = tokio::signal::ctrl_c().await {
            tracing::error!(error = %e, "cannot listen for Ctrl-C");
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(e) => {
                tracing::error!(error = %e, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {}
        _ = term => {}
    }
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let config = admit_server::Config::load(config_path()?.as_deref())?;
    admit_server::init_logging(config.log_format);
    tracing::info!(?config, "starting");
    let server = admit_server::start(config).await?;
    stop_requested().await;
    server.shutdown().await?;
    tracing::info!("stopped");
    Ok(())
}

//! Configuration: a TOML file (`--config path`), then environment variables on top.
//!
//! ```toml
//! listen = "0.0.0.0:8443"
//! database_url = "postgres://admit@db/admit"
//! max_body_bytes = 1048576
//! shutdown_grace_secs = 30
//! log_format = "json"          # or "text"
//!
//! [tls]                         # optional; without it the server speaks plain HTTP
//! cert = "/etc/admit/cert.pem"  # PEM certificate chain
//! key = "/etc/admit/key.pem"    # PEM private key
//! ```
//!
//! Environment overrides: `ADMIT_SERVER_LISTEN`, `ADMIT_DATABASE_URL` (or `DATABASE_URL`),
//! `ADMIT_TLS_CERT` and `ADMIT_TLS_KEY` (both or neither), `ADMIT_LOG_FORMAT`; the log filter
//! is `ADMIT_LOG` (e.g. `info,admit_server=debug`).

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context};
use serde::Deserialize;

pub const DEFAULT_LISTEN: &str = "127.0.0.1:8080";
/// Request bodies beyond this are refused (413): the largest real one, a sale of 100 lines
/// with attendee names, is a few dozen kilobytes.
pub const DEFAULT_MAX_BODY_BYTES: usize = 1024 * 1024;
pub const DEFAULT_SHUTDOWN_GRACE_SECS: u64 = 30;

#[derive(Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Address and port to listen on; port 0 picks a free one (tests).
    #[serde(default = "default_listen")]
    pub listen: SocketAddr,
    /// A `postgres://` URL. Migrations run at start.
    #[serde(default)]
    pub database_url: String,
    #[serde(default)]
    pub tls: Option<TlsConfig>,
    #[serde(default = "default_max_body")]
    pub max_body_bytes: usize,
    /// How long a shutdown waits for requests in flight before it drops them.
    #[serde(default = "default_grace")]
    pub shutdown_grace_secs: u64,
    #[serde(default)]
    pub log_format: LogFormat,
}

#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct TlsConfig {
    pub cert: PathBuf,
    pub key: PathBuf,
}

#[derive(Debug, Clone, Copy, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum LogFormat {
    #[default]
    Text,
    Json,
}

fn default_listen() -> SocketAddr {
    DEFAULT_LISTEN.parse().expect("a valid address")
}
fn default_max_body() -> usize {
    DEFAULT_MAX_BODY_BYTES
}
fn default_grace() -> u64 {
    DEFAULT_SHUTDOWN_GRACE_SECS
}

impl Default for Config {
    fn default() -> Self {
        Config {
            listen: default_listen(),
            database_url: String::new(),
            tls: None,
            max_body_bytes: DEFAULT_MAX_BODY_BYTES,
            shutdown_grace_secs: DEFAULT_SHUTDOWN_GRACE_SECS,
            log_format: LogFormat::Text,
        }
    }
}

/// The password of a database URL never reaches a log.
impl std::fmt::Debug for Config {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Config")
            .field("listen", &self.listen)
            .field("database_url", &redact_url(&self.database_url))
            .field("tls", &self.tls)
            .field("max_body_bytes", &self.max_body_bytes)
            .field("shutdown_grace_secs", &self.shutdown_grace_secs)
            .field("log_format", &self.log_format)
            .finish()
    }
}

/// `postgres://user:secret@host/db` → `postgres://user:***@host/db`.
pub fn redact_url(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_string();
    };
    let Some((userinfo, host)) = rest.rsplit_once('@') else {
        return url.to_string();
    };
    match userinfo.split_once(':') {
        Some((user, _)) => format!("{scheme}://{user}:***@{host}"),
        None => url.to_string(),
    }
}

impl Config {
    /// A configuration for a database, everything else at its default.
    pub fn for_database(url: impl Into<String>) -> Self {
        Config {
            database_url: url.into(),
            ..Config::default()
        }
    }

    /// Read the file (if any), apply the environment, and check the result.
    pub fn load(path: Option<&Path>) -> anyhow::Result<Self> {
        let mut config = match path {
            Some(p) => {
                let text = std::fs::read_to_string(p)
                    .with_context(|| format!("cannot read the configuration {}", p.display()))?;
                Self::from_toml(&text)
                    .with_context(|| format!("in the configuration {}", p.display()))?
            }
            None => Config::default(),
        };
        config.apply_env(|k| std::env::var(k).ok())?;
        config.check()?;
        Ok(config)
    }

    pub fn from_toml(text: &str) -> anyhow::Result<Self> {
        Ok(toml::from_str(text)?)
    }

    /// Environment variables override the file. `env` is the lookup (tests pass their own).
    pub fn apply_env(&mut self, env: impl Fn(&str) -> Option<String>) -> anyhow::Result<()> {
        if let Some(v) = env("ADMIT_SERVER_LISTEN") {
            self.listen = v
                .parse()
                .with_context(|| format!("ADMIT_SERVER_LISTEN {v:?} is not host:port"))?;
        }
        if let Some(v) = env("ADMIT_DATABASE_URL").or_else(|| env("DATABASE_URL")) {
            self.database_url = v;
        }
        match (env("ADMIT_TLS_CERT"), env("ADMIT_TLS_KEY")) {
            (Some(cert), Some(key)) => {
                self.tls = Some(TlsConfig {
                    cert: cert.into(),
                    key: key.into(),
                })
            }
            (None, None) => {}
            _ => bail!("set both ADMIT_TLS_CERT and ADMIT_TLS_KEY, or neither"),
        }
        if let Some(v) = env("ADMIT_LOG_FORMAT") {
            self.log_format = match v.as_str() {
                "text" => LogFormat::Text,
                "json" => LogFormat::Json,
                _ => bail!("ADMIT_LOG_FORMAT must be text or json"),
            };
        }
        Ok(())
    }

    pub fn check(&self) -> anyhow::Result<()> {
        if !(self.database_url.starts_with("postgres://")
            || self.database_url.starts_with("postgresql://"))
        {
            bail!(
                "database_url must be a postgres:// URL (set it in the file or in \
                 ADMIT_DATABASE_URL); the server keeps its data in PostgreSQL"
            );
        }
        if self.max_body_bytes < 1024 {
            bail!("max_body_bytes must be at least 1024");
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_then_environment() {
        let mut c = Config::from_toml(
            r#"
            listen = "0.0.0.0:9000"
            database_url = "postgres://admit:secret@db/admit"
            [tls]
            cert = "/c.pem"
            key = "/k.pem"
            "#,
        )
        .unwrap();
        assert_eq!(c.listen.port(), 9000);
        assert_eq!(c.max_body_bytes, DEFAULT_MAX_BODY_BYTES);
        assert!(c.check().is_ok());
        assert!(
            !format!("{c:?}").contains("secret"),
            "the password is redacted"
        );
        c.apply_env(|k| match k {
            "ADMIT_SERVER_LISTEN" => Some("127.0.0.1:0".into()),
            "DATABASE_URL" => Some("postgres://other/db".into()),
            _ => None,
        })
        .unwrap();
        assert_eq!(c.listen.port(), 0);
        assert_eq!(c.database_url, "postgres://other/db");
        // ADMIT_DATABASE_URL wins over DATABASE_URL.
        c.apply_env(|k| match k {
            "ADMIT_DATABASE_URL" => Some("postgres://admit/db".into()),
            "DATABASE_URL" => Some("postgres://other/db".into()),
            _ => None,
        })
        .unwrap();
        assert_eq!(c.database_url, "postgres://admit/db");
        assert!(c
            .apply_env(|k| (k == "ADMIT_TLS_CERT").then(|| "/c.pem".to_string()))
            .is_err());
        assert!(Config::from_toml("listen = 5").is_err());
        assert!(
            Config::from_toml("lsten = \"0.0.0.0:1\"").is_err(),
            "typos are refused"
        );
        assert!(Config::for_database("admit.sqlite").check().is_err());
    }

    #[test]
    fn urls_are_redacted() {
        assert_eq!(redact_url("postgres://a:b@h/d"), "postgres://a:***@h/d");
        assert_eq!(redact_url("postgres://a@h/d"), "postgres://a@h/d");
        assert_eq!(redact_url("postgres://h/d"), "postgres://h/d");
    }
}

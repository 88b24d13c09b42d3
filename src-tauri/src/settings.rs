//! What this device remembers between runs, kept with tauri-plugin-store in the data folder.

use admit_api::mail::{SmtpInput, SmtpSecurity, SmtpSettings};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Deserializer, Serialize};

/// Where the settings live, inside the data folder.
pub const SETTINGS_FILE: &str = "settings.json";
/// The one key of the settings file; the whole record is written at once.
pub const SETTINGS_KEY: &str = "settings";

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, ts_rs::TS)]
#[serde(rename_all = "snake_case")]
pub enum Theme {
    Light,
    Dark,
    #[default]
    System,
}

/// The stored record. The kiosk PIN is kept only as an argon2 hash.
#[derive(Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct StoredSettings {
    /// A SQLite file path or a PostgreSQL URL; none until the first run chooses.
    pub database: Option<String>,
    /// This device's id in audit entries and scans, made on first start.
    pub device_id: Option<String>,
    pub device_name: String,
    pub gate: Option<String>,
    pub default_list_id: Option<String>,
    pub theme: Theme,
    pub server_url: Option<String>,
    pub kiosk_pin_hash: Option<String>,
    /// Locked in kiosk mode: it survives a restart, so pulling the plug does not unlock.
    pub kiosk: bool,
    /// The outgoing mail server; none: no e-mail is sent from this device (it stays queued).
    #[serde(deserialize_with = "lenient")]
    pub smtp: Option<StoredSmtp>,
    /// The server this device is paired with; none: no sync.
    #[serde(deserialize_with = "lenient")]
    pub pairing: Option<StoredPairing>,
}

/// What pairing with a server gave this device. The token is kept in the settings file of the
/// data folder (private to its owner on Unix), never shown to the window and never logged.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredPairing {
    /// The server's address as checked at pairing (`http://host:port` or `https://…`).
    pub server_url: String,
    pub token: String,
    /// The server's id and name for this device, and the role it was paired as.
    pub device_id: String,
    pub device_name: String,
    pub role: String,
    pub paired_at: DateTime<Utc>,
}

impl std::fmt::Debug for StoredPairing {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StoredPairing")
            .field("server_url", &self.server_url)
            .field("token", &"<redacted>")
            .field("device_id", &self.device_id)
            .field("device_name", &self.device_name)
            .field("role", &self.role)
            .field("paired_at", &self.paired_at)
            .finish()
    }
}

/// A part of the settings that cannot be read is left out (and said in the log), so that one
/// damaged entry never costs the rest, such as where the data lives.
fn lenient<'de, D, T>(d: D) -> Result<Option<T>, D::Error>
where
    D: Deserializer<'de>,
    T: serde::de::DeserializeOwned,
{
    let value = serde_json::Value::deserialize(d)?;
    if value.is_null() {
        return Ok(None);
    }
    match serde_json::from_value(value) {
        Ok(v) => Ok(Some(v)),
        Err(e) => {
            tracing::warn!(error = %e, "a stored setting could not be read and is ignored");
            Ok(None)
        }
    }
}

/// The outgoing mail server as saved, checked by [`SmtpSettings::parse`] before it was. The
/// password is kept in the settings file of the data folder; it never goes back to the window
/// (the UI learns only whether one is set) and never into logs.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredSmtp {
    pub host: String,
    pub port: u16,
    pub security: SmtpSecurity,
    pub username: Option<String>,
    pub password: Option<String>,
    pub from_address: String,
    pub from_name: Option<String>,
}

impl StoredSmtp {
    pub fn from_settings(s: &SmtpSettings) -> Self {
        StoredSmtp {
            host: s.host.clone(),
            port: s.port,
            security: s.security,
            username: s.username.clone(),
            password: s.password.clone(),
            from_address: s.from_address.as_str().to_string(),
            from_name: s.from_name.clone(),
        }
    }

    /// As typed in the settings, to be checked again (a saved value stays valid only as long
    /// as the rules it was checked against).
    pub fn input(&self) -> SmtpInput {
        SmtpInput {
            host: self.host.clone(),
            port: Some(i64::from(self.port)),
            security: Some(self.security.as_str().to_string()),
            username: self.username.clone(),
            password: self.password.clone(),
            from_address: self.from_address.clone(),
            from_name: self.from_name.clone(),
        }
    }
}

impl std::fmt::Debug for StoredSmtp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StoredSmtp")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("security", &self.security)
            .field("username", &self.username)
            .field("password_set", &self.password.is_some())
            .field("from_address", &self.from_address)
            .field("from_name", &self.from_name)
            .finish()
    }
}

/// The outgoing mail server as the settings screen shows it: the password only as "set or
/// not".
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ts_rs::TS)]
pub struct SmtpView {
    pub host: String,
    pub port: u16,
    pub security: SmtpSecurity,
    pub username: Option<String>,
    pub password_set: bool,
    pub from_address: String,
    pub from_name: Option<String>,
}

impl From<&StoredSmtp> for SmtpView {
    fn from(s: &StoredSmtp) -> Self {
        SmtpView {
            host: s.host.clone(),
            port: s.port,
            security: s.security,
            username: s.username.clone(),
            password_set: s.password.is_some(),
            from_address: s.from_address.clone(),
            from_name: s.from_name.clone(),
        }
    }
}

impl std::fmt::Debug for StoredSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StoredSettings")
            .field("database", &self.database.as_deref().map(redact_url))
            .field("device_id", &self.device_id)
            .field("device_name", &self.device_name)
            .field("gate", &self.gate)
            .field("default_list_id", &self.default_list_id)
            .field("theme", &self.theme)
            .field("server_url", &self.server_url)
            .field("kiosk_pin_set", &self.kiosk_pin_hash.is_some())
            .field("kiosk", &self.kiosk)
            .field("smtp", &self.smtp)
            .field("pairing", &self.pairing)
            .finish()
    }
}

/// A database location for people and logs: a PostgreSQL URL loses its password.
pub fn redact_url(location: &str) -> String {
    let Some((scheme, rest)) = location.split_once("://") else {
        return location.to_string();
    };
    match rest.split_once('@') {
        Some((userinfo, host)) => {
            let user = userinfo.split(':').next().unwrap_or("");
            format!("{scheme}://{user}:***@{host}")
        }
        None => location.to_string(),
    }
}

/// The settings as the UI sees them: the PIN only as "set or not".
#[derive(Debug, Clone, PartialEq, Serialize, ts_rs::TS)]
pub struct Settings {
    pub device_name: String,
    pub gate: Option<String>,
    pub default_list_id: Option<String>,
    pub theme: Theme,
    pub server_url: Option<String>,
    pub kiosk_pin_set: bool,
}

impl From<&StoredSettings> for Settings {
    fn from(s: &StoredSettings) -> Self {
        Settings {
            device_name: s.device_name.clone(),
            gate: s.gate.clone(),
            default_list_id: s.default_list_id.clone(),
            theme: s.theme,
            server_url: s.server_url.clone(),
            kiosk_pin_set: s.kiosk_pin_hash.is_some(),
        }
    }
}

/// What the settings screen saves.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, ts_rs::TS)]
pub struct SettingsInput {
    pub device_name: String,
    pub gate: Option<String>,
    pub default_list_id: Option<String>,
    pub theme: Theme,
    pub server_url: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_lose_their_password_in_logs() {
        assert_eq!(
            redact_url("postgres://admit:s3cret@db.example:5432/admit"),
            "postgres://admit:***@db.example:5432/admit"
        );
        assert_eq!(redact_url("/data/admit.sqlite"), "/data/admit.sqlite");
        let stored = StoredSettings {
            database: Some("postgres://a:hunter2@h/db".into()),
            kiosk_pin_hash: Some("$argon2id$secret".into()),
            smtp: Some(StoredSmtp {
                host: "mail.example.org".into(),
                port: 587,
                security: SmtpSecurity::Starttls,
                username: Some("box-office".into()),
                password: Some("mail-pa55word".into()),
                from_address: "tickets@example.org".into(),
                from_name: None,
            }),
            pairing: Some(StoredPairing {
                server_url: "http://admit.example:8080".into(),
                token: "admit_0123456789abcdef".into(),
                device_id: "0190a0b0-0000-7000-8000-000000000001".into(),
                device_name: "North door".into(),
                role: "door".into(),
                paired_at: chrono::Utc::now(),
            }),
            ..Default::default()
        };
        let shown = format!("{stored:?}");
        assert!(
            shown.contains("North door") && !shown.contains("admit_0123456789abcdef"),
            "the device token never reaches a log: {shown}"
        );
        assert!(
            !shown.contains("hunter2") && !shown.contains("argon2id"),
            "{shown}"
        );
        assert!(
            shown.contains("mail.example.org") && !shown.contains("mail-pa55word"),
            "{shown}"
        );
    }

    #[test]
    fn a_damaged_mail_entry_costs_only_itself() {
        let text = r#"{"database": "/data/admit.sqlite", "device_name": "Desk 2",
                       "smtp": {"host": 7}}"#;
        let s: StoredSettings = serde_json::from_str(text).expect("read");
        assert_eq!(s.database.as_deref(), Some("/data/admit.sqlite"));
        assert_eq!(s.device_name, "Desk 2");
        assert_eq!(s.smtp, None);
        let s: StoredSettings = serde_json::from_str(r#"{"device_name": "x"}"#).expect("read");
        assert_eq!(s.smtp, None, "older files have no mail entry");
    }
}

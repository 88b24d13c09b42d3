//! What this device remembers between runs, kept with tauri-plugin-store in the data folder.

use serde::{Deserialize, Serialize};

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
            ..Default::default()
        };
        let shown = format!("{stored:?}");
        assert!(
            !shown.contains("hunter2") && !shown.contains("argon2id"),
            "{shown}"
        );
    }
}

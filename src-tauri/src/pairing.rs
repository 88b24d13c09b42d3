//! Talking to an Admit server about devices: a device trades a pairing code for its token, and
//! an owner logs in to the server to make a code for another device.
//!
//! Every failure is a typed `{code, message, field}`: a malformed address or code is refused
//! before anything is sent (`invalid_input`), a server that cannot be reached is
//! `server_unreachable`, an address that answers but is not an Admit server is `server_error`,
//! and the server's own refusals (unknown, used or expired code, wrong password, not an owner)
//! come back with the server's code, message and field.

use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::{de::DeserializeOwned, Deserialize, Serialize};

use admit_api::ErrorBody;
use admit_core::device::{DeviceRole, PairingCode};
use admit_core::text::Name;

use crate::state::CmdResult;

/// Requests to the server give up after this long.
const TIMEOUT: Duration = Duration::from_secs(20);
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

fn invalid(field: &str, message: impl Into<String>) -> ErrorBody {
    ErrorBody {
        code: "invalid_input",
        message: format!("{field}: {}", message.into()),
        field: Some(field.into()),
    }
}

/// A server's address as people type it: `http://`, a host, an optional port and path; no user
/// name, password, query or fragment; `http://` or `https://`. Returned without a trailing slash.
pub fn parse_server_url(text: &str) -> CmdResult<String> {
    let t = text.trim();
    if t.is_empty() {
        return Err(invalid("server_url", "enter the server's address"));
    }
    if t.len() > 2048 || t.chars().any(char::is_control) {
        return Err(invalid(
            "server_url",
            "must be a web address such as http://tickets.example.org:8080",
        ));
    }
    let url = reqwest::Url::parse(t).map_err(|_| {
        invalid(
            "server_url",
            "must be a web address such as http://tickets.example.org:8080",
        )
    })?;
    match url.scheme() {
        "http" | "https" => {}
        _ => return Err(invalid("server_url", "must start with https:// or http://")),
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err(invalid("server_url", "names no server"));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(invalid(
            "server_url",
            "must not carry a user name or password",
        ));
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(invalid("server_url", "must not carry ?… or #…"));
    }
    Ok(url.as_str().trim_end_matches('/').to_string())
}

fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(TIMEOUT)
        .connect_timeout(CONNECT_TIMEOUT)
        .build()
        .expect("an HTTP client with default settings")
}

/// The server's codes the window knows; anything else is reported as `server_error`.
fn known_code(code: &str) -> &'static str {
    match code {
        "invalid_input" => "invalid_input",
        "unauthenticated" => "unauthenticated",
        "locked_out" => "locked_out",
        "forbidden" => "forbidden",
        "not_found" => "not_found",
        "conflict" => "conflict",
        "busy" => "busy",
        _ => "server_error",
    }
}

#[derive(Deserialize)]
struct ServerError {
    code: String,
    message: String,
    #[serde(default)]
    field: Option<String>,
}

/// POST `body` to `path` under the server's API and read the answer.
async fn post<B: Serialize, A: DeserializeOwned>(
    http: &reqwest::Client,
    base: &str,
    path: &str,
    bearer: Option<&str>,
    body: &B,
) -> CmdResult<A> {
    let mut req = http.post(format!("{base}/api/v1/{path}")).json(body);
    if let Some(token) = bearer {
        req = req.bearer_auth(token);
    }
    let resp = req.send().await.map_err(|e| {
        tracing::info!(error = %e, "the server could not be reached");
        ErrorBody {
            code: "server_unreachable",
            message: format!(
                "the server at {base} could not be reached; check the address and that the server is running"
            ),
            field: Some("server_url".into()),
        }
    })?;
    let status = resp.status();
    let text = resp.text().await.map_err(|e| ErrorBody {
        code: "server_unreachable",
        message: format!("the server's answer was cut short: {e}"),
        field: Some("server_url".into()),
    })?;
    if status.is_success() {
        return serde_json::from_str(&text).map_err(|_| not_admit(base, status.as_u16()));
    }
    match serde_json::from_str::<ServerError>(&text) {
        // The server's own refusal: its words, and the field it names.
        Ok(e) if status.is_client_error() => Err(ErrorBody {
            code: known_code(&e.code),
            message: e.message,
            field: e.field,
        }),
        Ok(e) => Err(ErrorBody {
            code: "server_error",
            message: format!("the server answered {}: {}", status.as_u16(), e.message),
            field: None,
        }),
        Err(_) => Err(not_admit(base, status.as_u16())),
    }
}

fn not_admit(base: &str, status: u16) -> ErrorBody {
    ErrorBody {
        code: "server_error",
        message: format!(
            "{base} answered (HTTP {status}) but not as an Admit server; check the address"
        ),
        field: Some("server_url".into()),
    }
}

/// What the server answers a device that pairs (the token is shown only here).
#[derive(Deserialize)]
pub struct Paired {
    pub device: PairedDevice,
    pub token: String,
}

impl std::fmt::Debug for Paired {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Paired")
            .field("device", &self.device)
            .field("token", &"<redacted>")
            .finish()
    }
}

#[derive(Debug, Deserialize)]
pub struct PairedDevice {
    pub id: String,
    pub name: String,
    pub role: String,
}

/// Trade a pairing code for this device's token. The address and the code are checked here
/// first, so a typo is named before anything is sent.
pub async fn pair(server_url: &str, code: &str) -> CmdResult<(String, Paired)> {
    let base = parse_server_url(server_url)?;
    let code = PairingCode::parse("code", code).map_err(|_| {
        invalid(
            "code",
            "is not a pairing code: twelve letters and digits such as 7KQM-X3TA-9RWE",
        )
    })?;
    let paired: Paired = post(
        &client(),
        &base,
        "pair",
        None,
        &serde_json::json!({ "code": code.expose() }),
    )
    .await?;
    Ok((base, paired))
}

/// What an owner fills in to make a pairing code on the server. The password is used for one
/// login and kept nowhere.
#[derive(Clone, Deserialize, ts_rs::TS)]
pub struct PairingCodeRequest {
    pub server_url: String,
    pub username: String,
    pub password: String,
    /// What the new device will be called, e.g. "North door 2".
    pub name: String,
    /// box_office, door or kiosk
    pub role: String,
    /// 15 minutes when not given; at most a day.
    pub expires_in_minutes: Option<i64>,
}

impl std::fmt::Debug for PairingCodeRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PairingCodeRequest")
            .field("server_url", &self.server_url)
            .field("username", &self.username)
            .field("password", &"<redacted>")
            .field("name", &self.name)
            .field("role", &self.role)
            .field("expires_in_minutes", &self.expires_in_minutes)
            .finish()
    }
}

/// A pairing code made on the server, to show once: as text and as a QR code of the code.
#[derive(Clone, Serialize, ts_rs::TS)]
pub struct IssuedPairingCode {
    pub code: String,
    pub name: String,
    pub role: String,
    pub expires_at: DateTime<Utc>,
    pub server_url: String,
    /// An SVG document of the QR code holding the code.
    pub qr_svg: String,
}

impl std::fmt::Debug for IssuedPairingCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IssuedPairingCode")
            .field("code", &"<redacted>")
            .field("name", &self.name)
            .field("role", &self.role)
            .field("expires_at", &self.expires_at)
            .field("server_url", &self.server_url)
            .finish()
    }
}

#[derive(Deserialize)]
struct LoginAnswer {
    token: String,
}

#[derive(Deserialize)]
struct CodeAnswer {
    code: String,
    name: String,
    role: String,
    expires_at: DateTime<Utc>,
}

/// Log in to the server as `username`, make a pairing code, and log out again.
pub async fn create_code(input: &PairingCodeRequest) -> CmdResult<IssuedPairingCode> {
    let base = parse_server_url(&input.server_url)?;
    if input.username.trim().is_empty() {
        return Err(invalid("username", "enter the server user's name"));
    }
    if input.password.is_empty() {
        return Err(invalid("password", "enter the server user's password"));
    }
    let name = Name::parse("name", &input.name).map_err(|e| crate::state::api(e.into()))?;
    let role = DeviceRole::parse("role", &input.role).map_err(|e| crate::state::api(e.into()))?;
    if let Some(m) = input.expires_in_minutes {
        if !(1..=admit_api::MAX_PAIRING_MINUTES).contains(&m) {
            return Err(invalid(
                "expires_in_minutes",
                format!("must be between 1 and {}", admit_api::MAX_PAIRING_MINUTES),
            ));
        }
    }
    let http = client();
    let login: LoginAnswer = post(
        &http,
        &base,
        "login",
        None,
        &serde_json::json!({ "username": input.username.trim(), "password": input.password }),
    )
    .await?;
    let made: CmdResult<CodeAnswer> = post(
        &http,
        &base,
        "pairing-codes",
        Some(&login.token),
        &serde_json::json!({
            "name": name.as_str(),
            "role": role.as_str(),
            "expires_in_minutes": input.expires_in_minutes,
        }),
    )
    .await;
    // The login token is not needed again; a failed logout only leaves it to expire.
    let _: CmdResult<serde_json::Value> = post(
        &http,
        &base,
        "logout",
        Some(&login.token),
        &serde_json::json!({}),
    )
    .await;
    let made = made?;
    let qr_svg = admit_qr::qr_svg(&made.code, admit_qr::SvgSize::Fluid).map_err(|e| ErrorBody {
        code: "internal",
        message: format!("the QR code could not be drawn: {e}"),
        field: None,
    })?;
    Ok(IssuedPairingCode {
        code: made.code,
        name: made.name,
        role: made.role,
        expires_at: made.expires_at,
        server_url: base,
        qr_svg,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn server_addresses_are_checked_before_anything_is_sent() {
        assert_eq!(
            parse_server_url(" http://127.0.0.1:8080/ ").unwrap(),
            "http://127.0.0.1:8080"
        );
        assert_eq!(
            parse_server_url("http://tickets.example.org/admit/").unwrap(),
            "http://tickets.example.org/admit"
        );
        assert_eq!(
            parse_server_url("HTTPS://Tickets.Example.org:8443").unwrap(),
            "https://tickets.example.org:8443"
        );
        for bad in [
            "",
            "tickets.example.org",
            "ftp://tickets.example.org",
            "http://",
            "http://user:pw@tickets.example.org",
            "http://tickets.example.org/?x=1",
            "http://exa mple.org",
        ] {
            let e = parse_server_url(bad).expect_err(bad);
            assert_eq!(e.code, "invalid_input", "{bad}");
            assert_eq!(e.field.as_deref(), Some("server_url"), "{bad}");
        }
    }
}

//! Devices paired with a server (box offices, doors, kiosks), the one-time codes that pair them
//! and the bearer tokens that users and devices present afterwards.
//!
//! Codes and tokens are secrets: they are shown once, stored only as SHA-256 hashes, and never
//! printed by `Debug`. A token is 32 random bytes, so a plain (unsalted) hash is enough: there
//! is nothing to guess. A pairing code is short enough to type, lives for minutes and is good
//! once, which is what keeps guessing it hopeless.

use std::fmt;

use chrono::{DateTime, Utc};
use rand::rngs::OsRng;
use rand::{Rng, RngCore};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::error::DomainError;
use crate::id::{DeviceId, UserId};
use crate::model::Meta;
use crate::role::Role;
use crate::text::Name;

/// What a paired device is for. It decides the role of the device's service user.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum DeviceRole {
    BoxOffice,
    Door,
    /// A self-service point: it sells like a box office and scans like a door.
    Kiosk,
}

impl DeviceRole {
    pub const ALL: [DeviceRole; 3] = [DeviceRole::BoxOffice, DeviceRole::Door, DeviceRole::Kiosk];

    pub fn as_str(&self) -> &'static str {
        match self {
            DeviceRole::BoxOffice => "box_office",
            DeviceRole::Door => "door",
            DeviceRole::Kiosk => "kiosk",
        }
    }

    pub fn parse(field: &str, s: &str) -> Result<Self, DomainError> {
        match s.trim() {
            "box_office" => Ok(DeviceRole::BoxOffice),
            "door" => Ok(DeviceRole::Door),
            "kiosk" => Ok(DeviceRole::Kiosk),
            _ => Err(DomainError::invalid(
                field,
                "must be one of box_office, door, kiosk",
            )),
        }
    }

    /// The role the device acts with: a kiosk sells, so it needs the box office's rights (which
    /// include redeeming); a door only scans.
    pub fn user_role(&self) -> Role {
        match self {
            DeviceRole::BoxOffice | DeviceRole::Kiosk => Role::BoxOffice,
            DeviceRole::Door => Role::Door,
        }
    }
}

impl fmt::Display for DeviceRole {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A device paired with the server. It acts through a service user of its own (`user_id`), so
/// every use case runs with a normal session and the audit names both the user and the device.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Device {
    pub id: DeviceId,
    pub name: Name,
    pub role: DeviceRole,
    /// The service user the device acts as; it cannot log in with a password.
    pub user_id: UserId,
    /// The owner who created the pairing code.
    pub created_by: UserId,
    /// Set once: from then on the device's token and its user are refused.
    pub revoked_at: Option<DateTime<Utc>>,
    /// When the device last made a request (to the minute; not audited).
    pub last_seen_at: Option<DateTime<Utc>>,
    pub meta: Meta,
}

impl Device {
    pub fn is_revoked(&self) -> bool {
        self.revoked_at.is_some()
    }

    /// The username of a device's service user: short, unique in practice (the id's random
    /// tail) and recognisable in lists and logs.
    pub fn service_username(id: DeviceId) -> String {
        let hex = id.0.simple().to_string();
        format!("device-{}", &hex[hex.len() - 12..])
    }
}

/// SHA-256 of a secret: all the store keeps of codes and tokens.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct SecretHash(pub [u8; 32]);

impl SecretHash {
    fn of(bytes: &[u8]) -> Self {
        SecretHash(Sha256::digest(bytes).into())
    }
}

impl fmt::Debug for SecretHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // A prefix is enough to tell two apart in a log; the whole hash is not needed there.
        write!(
            f,
            "SecretHash({:02x}{:02x}{:02x}{:02x}…)",
            self.0[0], self.0[1], self.0[2], self.0[3]
        )
    }
}

/// The alphabet of pairing codes: no 0/O, 1/I/L, so a code read off a screen is typed right.
const CODE_ALPHABET: &[u8] = crate::order_code::ALPHABET;
/// 12 characters of 31: about 59 bits. A code lives for minutes and is good once.
const CODE_LEN: usize = 12;

/// A one-time code an owner hands to a device (shown as text and as a QR code), which the
/// device trades for its token. Shown in groups of four: `ABCD-EFGH-JKMN`.
#[derive(Clone, PartialEq, Eq)]
pub struct PairingCode(String);

impl PairingCode {
    pub fn generate() -> Self {
        let mut rng = OsRng;
        PairingCode(
            (0..CODE_LEN)
                .map(|_| CODE_ALPHABET[rng.gen_range(0..CODE_ALPHABET.len())] as char)
                .collect(),
        )
    }

    /// Case, spaces and dashes do not matter.
    pub fn parse(field: &str, s: &str) -> Result<Self, DomainError> {
        if s.len() > 64 {
            return Err(DomainError::invalid(field, "is not a pairing code"));
        }
        let t: String = s
            .chars()
            .filter(|c| !matches!(c, '-' | ' '))
            .map(|c| c.to_ascii_uppercase())
            .collect();
        if t.len() != CODE_LEN || !t.bytes().all(|b| CODE_ALPHABET.contains(&b)) {
            return Err(DomainError::invalid(field, "is not a pairing code"));
        }
        Ok(PairingCode(t))
    }

    /// The code as people read it, in groups of four.
    pub fn expose(&self) -> String {
        self.0
            .as_bytes()
            .chunks(4)
            .map(|c| std::str::from_utf8(c).expect("ascii"))
            .collect::<Vec<_>>()
            .join("-")
    }

    pub fn hash(&self) -> SecretHash {
        SecretHash::of(self.0.as_bytes())
    }
}

impl fmt::Debug for PairingCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("PairingCode(<redacted>)")
    }
}

/// Whose a bearer token is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum TokenKind {
    /// Issued at login; expires.
    User,
    /// Issued at pairing; lives until the device is revoked.
    Device,
}

impl TokenKind {
    pub fn as_str(&self) -> &'static str {
        match self {
            TokenKind::User => "user",
            TokenKind::Device => "device",
        }
    }

    pub fn parse(field: &str, s: &str) -> Result<Self, DomainError> {
        match s.trim() {
            "user" => Ok(TokenKind::User),
            "device" => Ok(TokenKind::Device),
            _ => Err(DomainError::invalid(field, "must be user or device")),
        }
    }
}

const TOKEN_PREFIX: &str = "admit_";
const TOKEN_BYTES: usize = 32;

/// A bearer token: `admit_` and 64 hex digits (32 random bytes). The prefix makes a leaked
/// token easy to recognise (and to scan for).
#[derive(Clone, PartialEq, Eq)]
pub struct BearerToken(String);

impl BearerToken {
    pub fn generate() -> Self {
        let mut bytes = [0u8; TOKEN_BYTES];
        OsRng.fill_bytes(&mut bytes);
        let mut s = String::with_capacity(TOKEN_PREFIX.len() + 2 * TOKEN_BYTES);
        s.push_str(TOKEN_PREFIX);
        for b in bytes {
            s.push_str(&format!("{b:02x}"));
        }
        BearerToken(s)
    }

    /// Refuses anything that could not have been issued, before any look-up.
    pub fn parse(field: &str, s: &str) -> Result<Self, DomainError> {
        let bad = || DomainError::invalid(field, "is not a token");
        let hex = s.trim().strip_prefix(TOKEN_PREFIX).ok_or_else(bad)?;
        if hex.len() != 2 * TOKEN_BYTES
            || !hex.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
        {
            return Err(bad());
        }
        Ok(BearerToken(s.trim().to_string()))
    }

    pub fn expose(&self) -> &str {
        &self.0
    }

    pub fn hash(&self) -> SecretHash {
        SecretHash::of(self.0.as_bytes())
    }
}

impl fmt::Debug for BearerToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("BearerToken(<redacted>)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pairing_codes_are_typable_and_never_printed() {
        for _ in 0..200 {
            let c = PairingCode::generate();
            let shown = c.expose();
            assert_eq!(shown.len(), CODE_LEN + 2, "three groups of four");
            assert!(!shown.contains(['0', 'O', '1', 'I', 'L']));
            assert_eq!(
                PairingCode::parse("code", &shown.to_lowercase()).unwrap(),
                c
            );
            assert_eq!(
                PairingCode::parse("code", &shown.replace('-', " "))
                    .unwrap()
                    .hash(),
                c.hash()
            );
            assert!(!format!("{c:?}").contains(&shown[..4]));
        }
        assert!(PairingCode::parse("code", "").is_err());
        assert!(PairingCode::parse("code", "ABCD-EFGH-JKM0").is_err());
        assert!(PairingCode::parse("code", &"A".repeat(100_000)).is_err());
    }

    #[test]
    fn tokens_are_random_hashed_and_redacted() {
        let a = BearerToken::generate();
        let b = BearerToken::generate();
        assert_ne!(a, b);
        assert_ne!(a.hash(), b.hash());
        assert_eq!(
            BearerToken::parse("t", a.expose()).unwrap().hash(),
            a.hash()
        );
        assert!(!format!("{a:?}").contains(&a.expose()[6..]));
        assert!(
            format!("{:?}", a.hash()).len() < 30,
            "a hash prints only a prefix"
        );
        for bad in [
            "",
            "admit_",
            "admit_xyz",
            &a.expose().to_uppercase(),
            &format!("{}0", a.expose()),
        ] {
            assert!(BearerToken::parse("t", bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn device_roles_map_to_user_roles() {
        assert_eq!(DeviceRole::BoxOffice.user_role(), Role::BoxOffice);
        assert_eq!(DeviceRole::Door.user_role(), Role::Door);
        // A kiosk sells, so it acts as the box office.
        assert_eq!(DeviceRole::Kiosk.user_role(), Role::BoxOffice);
        for r in DeviceRole::ALL {
            assert_eq!(DeviceRole::parse("role", r.as_str()).unwrap(), r);
        }
        let id = DeviceId(uuid::Uuid::now_v7());
        let name = Device::service_username(id);
        assert!(name.starts_with("device-") && name.len() == 19, "{name}");
    }
}

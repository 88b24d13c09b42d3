//! Devices and bearer tokens: pairing a device with a one-time code, listing and revoking
//! devices, login tokens for people and scripts, and the session a presented token stands for.
//!
//! A paired device acts through a service user of its own (role from the device's role; no
//! password can match its hash), so every other use case runs with a normal [`Session`] whose
//! `device_id` is the device, and the audit says who and which device.

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use serde_json::json;

use admit_core::device::{BearerToken, Device, DeviceRole, PairingCode, TokenKind};
use admit_core::model::{Meta, User};
use admit_core::role::Action;
use admit_core::text::{Name, Username};
use admit_core::*;
use admit_store::{ApiToken, NewPairing, PairingCodeRecord, StoreError};

use crate::{Admit, ApiError, ApiResult, Session};

/// How long a login token is good for.
pub const LOGIN_TOKEN_HOURS: i64 = 12;
/// How long a pairing code is good for unless the owner says otherwise, and the longest allowed.
pub const DEFAULT_PAIRING_MINUTES: i64 = 15;
pub const MAX_PAIRING_MINUTES: i64 = 24 * 60;
/// A device's `last_seen_at` moves at most this often, so requests do not each write.
const SEEN_RESOLUTION_SECS: i64 = 60;
/// Stored as a service user's password hash: not a PHC string, so no password verifies.
const NO_PASSWORD: &str = "!device";

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PairingCodeInput {
    /// What the device will be called, e.g. "North door 2".
    pub name: String,
    /// box_office, door or kiosk
    pub role: String,
    /// How long the code is good for; 15 minutes by default, at most a day.
    #[serde(default)]
    pub expires_in_minutes: Option<i64>,
}

/// A new pairing code. The code is shown here once; the server keeps only its hash.
#[derive(Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PairingCodeIssued {
    /// Twelve characters in groups of four, e.g. `7KQM-X3TA-9RWE`; also what the QR holds.
    pub code: String,
    pub name: String,
    pub role: DeviceRole,
    pub expires_at: DateTime<Utc>,
}

impl std::fmt::Debug for PairingCodeIssued {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PairingCodeIssued")
            .field("code", &"<redacted>")
            .field("name", &self.name)
            .field("role", &self.role)
            .field("expires_at", &self.expires_at)
            .finish()
    }
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PairInput {
    /// The pairing code; case, spaces and dashes do not matter.
    pub code: String,
}

/// A paired device and its token. The token is shown here once; keep it safe on the device.
#[derive(Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Pairing {
    pub device: Device,
    /// Send as `Authorization: Bearer <token>`.
    pub token: String,
}

impl std::fmt::Debug for Pairing {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pairing")
            .field("device", &self.device)
            .field("token", &"<redacted>")
            .finish()
    }
}

/// A login token for a person or a script.
#[derive(Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct LoginToken {
    /// Send as `Authorization: Bearer <token>`.
    pub token: String,
    pub expires_at: DateTime<Utc>,
    pub user: User,
}

impl std::fmt::Debug for LoginToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LoginToken")
            .field("token", &"<redacted>")
            .field("expires_at", &self.expires_at)
            .field("user", &self.user)
            .finish()
    }
}

/// Who presented a token: the session use cases take, and the device for device tokens.
#[derive(Debug, Clone)]
pub struct Authenticated {
    pub session: Session,
    pub device: Option<Device>,
    /// Which token it was (to revoke it at logout).
    pub token_id: uuid::Uuid,
    pub kind: TokenKind,
}

impl Admit {
    /// An owner makes a one-time code that a device trades for its token.
    pub async fn create_pairing_code(
        &self,
        s: &Session,
        input: &PairingCodeInput,
        now: DateTime<Utc>,
    ) -> ApiResult<PairingCodeIssued> {
        s.require(Action::ManageDevices)?;
        let name = Name::parse("name", &input.name)?;
        let role = DeviceRole::parse("role", &input.role)?;
        let minutes = input.expires_in_minutes.unwrap_or(DEFAULT_PAIRING_MINUTES);
        if !(1..=MAX_PAIRING_MINUTES).contains(&minutes) {
            return Err(ApiError::invalid(
                "expires_in_minutes",
                format!("must be between 1 and {MAX_PAIRING_MINUTES}"),
            ));
        }
        let code = PairingCode::generate();
        let record = PairingCodeRecord {
            id: admit_core::id::uuid_v7_at(now),
            code_hash: code.hash(),
            device_name: name,
            role,
            created_by: s.user.id,
            created_at: now,
            expires_at: now + Duration::minutes(minutes),
            used_at: None,
            device_id: None,
        };
        // The code never goes into the audit: it is a secret until used.
        let change = s.change(
            now,
            "pairing_code.create",
            "pairing_code",
            record.id,
            json!({ "name": record.device_name.as_str(), "role": role, "expires_at": record.expires_at }),
        );
        self.store.create_pairing_code(&record, &change).await?;
        Ok(PairingCodeIssued {
            code: code.expose(),
            name: record.device_name.as_str().to_string(),
            role,
            expires_at: record.expires_at,
        })
    }

    /// A device trades a pairing code for its token. A code is good once and until it expires;
    /// a refused code writes nothing.
    pub async fn pair_device(&self, input: &PairInput, now: DateTime<Utc>) -> ApiResult<Pairing> {
        let code = PairingCode::parse("code", &input.code)?;
        let record = self
            .store
            .pairing_code(&code.hash())
            .await?
            .ok_or_else(|| ApiError::invalid("code", "is not a pairing code"))?;
        let used = || ApiError::invalid("code", "was used already; ask for a new one");
        if record.used_at.is_some() {
            return Err(used());
        }
        if record.expires_at <= now {
            return Err(ApiError::invalid("code", "has expired; ask for a new one"));
        }
        let device_id = DeviceId::new(now);
        let user = User {
            id: UserId::new(now),
            username: Username::parse_login("username", &Device::service_username(device_id))?,
            display_name: record.device_name.clone(),
            role: record.role.user_role(),
            active: true,
            meta: Meta::new(now),
        };
        let device = Device {
            id: device_id,
            name: record.device_name.clone(),
            role: record.role,
            user_id: user.id,
            created_by: record.created_by,
            revoked_at: None,
            last_seen_at: Some(now),
            meta: Meta::new(now),
        };
        let token = BearerToken::generate();
        let stored = ApiToken {
            id: admit_core::id::uuid_v7_at(now),
            hash: token.hash(),
            kind: TokenKind::Device,
            user_id: user.id,
            device_id: Some(device_id),
            created_at: now,
            expires_at: None,
            revoked_at: None,
        };
        // The device pairs itself: its own user and device make the entry.
        let change = admit_core::audit::Change::new(
            now,
            Some(user.id),
            Some(device_id),
            "device.pair",
            "device",
            device_id.0,
            json!({
                "name": device.name.as_str(),
                "role": device.role,
                "username": user.username.as_str(),
                "pairing_code": record.id,
                "code_created_by": record.created_by,
            }),
        );
        let pairing = NewPairing {
            code_id: record.id,
            user,
            password_hash: NO_PASSWORD.to_string(),
            device: device.clone(),
            token: stored,
            now,
            change,
        };
        match self.store.pair_device(&pairing).await {
            Ok(()) => Ok(Pairing {
                device,
                token: token.expose().to_string(),
            }),
            // Another device traded the same code a moment before.
            Err(StoreError::Conflict { constraint }) if constraint == "pairing_code_used" => {
                Err(used())
            }
            Err(e) => Err(e.into()),
        }
    }

    pub async fn list_devices(&self, s: &Session) -> ApiResult<Vec<Device>> {
        s.require(Action::ManageDevices)?;
        Ok(self.store.list_devices().await?)
    }

    /// Revoke a device: its token and its user are refused from the commit on.
    pub async fn revoke_device(
        &self,
        s: &Session,
        id: &str,
        now: DateTime<Utc>,
    ) -> ApiResult<Device> {
        s.require(Action::ManageDevices)?;
        let id = DeviceId::parse("id", id)?;
        let current = self.store.get_device(id).await?;
        if current.is_revoked() {
            return Err(ApiError::Conflict {
                message: "the device is revoked already".into(),
            });
        }
        let device = Device {
            revoked_at: Some(now),
            meta: current.meta.touched(now),
            ..current.clone()
        };
        let change = s.change(
            now,
            "device.revoke",
            "device",
            id.0,
            json!({ "name": device.name.as_str(), "user_id": device.user_id }),
        );
        self.store
            .revoke_device(&device, current.meta.version, &change)
            .await?;
        Ok(device)
    }

    /// Log in by name and password and get a bearer token, for the HTTP API. The login's
    /// backoff and lockout apply as for any login.
    pub async fn issue_login_token(
        &self,
        username: &str,
        password: &str,
        now: DateTime<Utc>,
    ) -> ApiResult<LoginToken> {
        let session = self.login(username, password, None, now).await?;
        let token = BearerToken::generate();
        let expires_at = now + Duration::hours(LOGIN_TOKEN_HOURS);
        let stored = ApiToken {
            id: admit_core::id::uuid_v7_at(now),
            hash: token.hash(),
            kind: TokenKind::User,
            user_id: session.user.id,
            device_id: None,
            created_at: now,
            expires_at: Some(expires_at),
            revoked_at: None,
        };
        let change = session.change(
            now,
            "token.issue",
            "api_token",
            stored.id,
            json!({ "kind": TokenKind::User, "expires_at": expires_at }),
        );
        self.store.create_api_token(&stored, &change).await?;
        Ok(LoginToken {
            token: token.expose().to_string(),
            expires_at,
            user: session.user,
        })
    }

    /// The caller a bearer token stands for. Unknown, revoked and expired tokens, revoked
    /// devices and deactivated users are all `Unauthenticated`.
    pub async fn authenticate(&self, token: &str, now: DateTime<Utc>) -> ApiResult<Authenticated> {
        let token = BearerToken::parse("token", token).map_err(|_| ApiError::Unauthenticated)?;
        let holder = self
            .store
            .token_holder(&token.hash())
            .await?
            .ok_or(ApiError::Unauthenticated)?;
        let t = &holder.token;
        if t.revoked_at.is_some() || t.expires_at.is_some_and(|e| e <= now) || !holder.user.active {
            return Err(ApiError::Unauthenticated);
        }
        let device = match (t.kind, holder.device) {
            (TokenKind::User, None) => None,
            (TokenKind::Device, Some(d)) if !d.is_revoked() && d.user_id == holder.user.id => {
                Some(d)
            }
            _ => return Err(ApiError::Unauthenticated),
        };
        if let Some(d) = &device {
            let stale = d
                .last_seen_at
                .is_none_or(|seen| now - seen >= Duration::seconds(SEEN_RESOLUTION_SECS));
            if stale {
                // Seeing a device is not worth failing its request over.
                if let Err(e) = self.store.touch_device(d.id, now).await {
                    tracing::warn!(device = %d.id, error = %e, "could not record when the device was seen");
                }
            }
        }
        Ok(Authenticated {
            session: Session {
                user: holder.user,
                device_id: device.as_ref().map(|d| d.id),
            },
            device,
            token_id: t.id,
            kind: t.kind,
        })
    }

    /// The session a user's or device's bearer token stands for.
    pub async fn session_for_token(&self, token: &str, now: DateTime<Utc>) -> ApiResult<Session> {
        Ok(self.authenticate(token, now).await?.session)
    }

    /// End a login token's life. Device tokens end only when an owner revokes the device.
    pub async fn logout(&self, token: &str, now: DateTime<Utc>) -> ApiResult<()> {
        let who = self.authenticate(token, now).await?;
        if who.kind == TokenKind::Device {
            return Err(ApiError::invalid(
                "token",
                "is a device token; an owner revokes the device instead",
            ));
        }
        let change = who.session.change(
            now,
            "token.revoke",
            "api_token",
            who.token_id,
            json!({ "kind": who.kind }),
        );
        self.store
            .revoke_api_token(who.token_id, now, &change)
            .await?;
        Ok(())
    }
}

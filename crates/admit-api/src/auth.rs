//! Accounts: the first owner, login with backoff after repeated failures, user management.

use argon2::password_hash::{
    rand_core::OsRng, PasswordHash, PasswordHasher, PasswordVerifier, SaltString,
};
use argon2::Argon2;
use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use serde_json::json;

use admit_core::model::{Meta, User};
use admit_core::role::{Action, Role};
use admit_core::text::{Name, Password, Username};
use admit_core::{DeviceId, UserId};

use crate::{Admit, ApiError, ApiResult, Session};

/// After `free_failures` wrong passwords in a row, each further failure locks the account for
/// `base_lock_secs`, doubling each time up to `max_lock_secs`.
#[derive(Debug, Clone)]
pub struct LoginPolicy {
    pub free_failures: u32,
    pub base_lock_secs: i64,
    pub max_lock_secs: i64,
}

impl Default for LoginPolicy {
    fn default() -> Self {
        LoginPolicy {
            free_failures: 5,
            base_lock_secs: 30,
            max_lock_secs: 15 * 60,
        }
    }
}

impl LoginPolicy {
    fn lock_after(&self, failures: u32, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
        if failures < self.free_failures {
            return None;
        }
        let doublings = (failures - self.free_failures).min(20);
        let secs = self
            .base_lock_secs
            .saturating_mul(1i64 << doublings)
            .min(self.max_lock_secs);
        Some(now + Duration::seconds(secs))
    }
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct NewUserInput {
    pub username: String,
    pub display_name: String,
    pub password: String,
    /// owner, manager, box_office or door; ignored for the first owner.
    #[serde(default)]
    pub role: String,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct UpdateUserInput {
    pub expected_version: i64,
    pub display_name: Option<String>,
    pub role: Option<String>,
    pub active: Option<bool>,
    pub password: Option<String>,
}

pub(crate) fn hash_password(p: &Password) -> ApiResult<String> {
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default()
        .hash_password(p.expose().as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| ApiError::Internal(format!("password hashing failed: {e}")))
}

fn verify_password(password: &str, hash: &str) -> bool {
    PasswordHash::new(hash)
        .map(|h| {
            Argon2::default()
                .verify_password(password.as_bytes(), &h)
                .is_ok()
        })
        .unwrap_or(false)
}

/// A fixed hash to verify against when the username is unknown, so the answer takes as long
/// as for a known user and does not reveal which usernames exist.
fn dummy_hash() -> &'static str {
    static H: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    H.get_or_init(|| {
        let p = Password::parse("password", "not-a-real-password").expect("valid");
        hash_password(&p).expect("hashing works")
    })
}

fn parse_new_user(input: &NewUserInput) -> ApiResult<(Username, Name, Password)> {
    let username = Username::parse_login("username", &input.username)?;
    let display = if input.display_name.trim().is_empty() {
        Name::parse("display_name", username.as_str())?
    } else {
        Name::parse("display_name", &input.display_name)?
    };
    let password = Password::parse("password", &input.password)?;
    Ok((username, display, password))
}

impl Admit {
    /// True until the first owner exists: the desktop shows its first-run screen then.
    pub async fn needs_setup(&self) -> ApiResult<bool> {
        Ok(self.store.count_users().await? == 0)
    }

    /// Create the first owner. Refused once any user exists.
    pub async fn create_first_owner(
        &self,
        input: &NewUserInput,
        device_id: Option<DeviceId>,
        now: DateTime<Utc>,
    ) -> ApiResult<Session> {
        let (username, display_name, password) = parse_new_user(input)?;
        let hash = hash_password(&password)?;
        let user = User {
            id: UserId::new(now),
            username,
            display_name,
            role: Role::Owner,
            active: true,
            meta: Meta::new(now),
        };
        let change = admit_core::audit::Change::new(
            now,
            Some(user.id),
            device_id,
            "user.create_first_owner",
            "user",
            user.id.0,
            json!({ "username": user.username.as_str() }),
        )
        .sync(now, "user", user.id.0, 1, &user);
        self.store.create_first_user(&user, &hash, &change).await?;
        Ok(Session { user, device_id })
    }

    /// Check a username and password. Wrong credentials give one error whether or not the
    /// user exists; repeated failures lock the account for a growing time.
    pub async fn login(
        &self,
        username: &str,
        password: &str,
        device_id: Option<DeviceId>,
        now: DateTime<Utc>,
    ) -> ApiResult<Session> {
        // A 10 MB "username" is refused before any work.
        let Ok(username) = Username::parse_login("username", username) else {
            return Err(ApiError::Unauthenticated);
        };
        if password.len() > 1024 {
            return Err(ApiError::Unauthenticated);
        }
        let Some(cred) = self.store.credentials(username.as_str()).await? else {
            verify_password(password, dummy_hash());
            return Err(ApiError::Unauthenticated);
        };
        if let Some(until) = cred.locked_until {
            if now < until {
                return Err(ApiError::LockedOut { until });
            }
        }
        if !verify_password(password, &cred.password_hash) {
            let failures = cred.failed_logins.saturating_add(1);
            let locked_until = self.config.login.lock_after(failures, now);
            self.store
                .record_login(cred.user.id, failures, locked_until)
                .await?;
            return Err(match locked_until {
                Some(until) => ApiError::LockedOut { until },
                None => ApiError::Unauthenticated,
            });
        }
        if !cred.user.active {
            return Err(ApiError::Unauthenticated);
        }
        if cred.failed_logins > 0 || cred.locked_until.is_some() {
            self.store.record_login(cred.user.id, 0, None).await?;
        }
        Ok(Session {
            user: cred.user,
            device_id,
        })
    }

    pub async fn create_user(
        &self,
        s: &Session,
        input: &NewUserInput,
        now: DateTime<Utc>,
    ) -> ApiResult<User> {
        s.require(Action::ManageUsers)?;
        let (username, display_name, password) = parse_new_user(input)?;
        let role = Role::parse("role", &input.role)?;
        let hash = hash_password(&password)?;
        let user = User {
            id: UserId::new(now),
            username,
            display_name,
            role,
            active: true,
            meta: Meta::new(now),
        };
        let change = s
            .change(
                now,
                "user.create",
                "user",
                user.id.0,
                json!({ "username": user.username.as_str(), "role": role }),
            )
            .sync(now, "user", user.id.0, 1, &user);
        self.store.create_user(&user, &hash, &change).await?;
        Ok(user)
    }

    pub async fn update_user(
        &self,
        s: &Session,
        id: &str,
        input: &UpdateUserInput,
        now: DateTime<Utc>,
    ) -> ApiResult<User> {
        s.require(Action::ManageUsers)?;
        let id = UserId::parse("id", id)?;
        let current = self.store.get_user(id).await?;
        let mut user = current.clone();
        if let Some(n) = &input.display_name {
            user.display_name = Name::parse("display_name", n)?;
        }
        if let Some(r) = &input.role {
            user.role = Role::parse("role", r)?;
        }
        if let Some(a) = input.active {
            user.active = a;
        }
        let hash = match &input.password {
            Some(p) => Some(hash_password(&Password::parse("password", p)?)?),
            None => None,
        };
        // An owner may not lock themselves out of their own installation.
        if user.id == s.user.id && (user.role != Role::Owner || !user.active) {
            return Err(ApiError::invalid(
                "role",
                "you cannot demote or deactivate yourself",
            ));
        }
        user.meta = current.meta.touched(now);
        let change = s
            .change(
                now,
                "user.update",
                "user",
                user.id.0,
                json!({ "role": user.role, "active": user.active, "password_changed": hash.is_some() }),
            )
            .sync(now, "user", user.id.0, user.meta.version, &user);
        self.store
            .update_user(&user, input.expected_version, hash.as_deref(), &change)
            .await?;
        Ok(user)
    }

    pub async fn list_users(&self, s: &Session) -> ApiResult<Vec<User>> {
        s.require(Action::ViewUsers)?;
        Ok(self.store.list_users().await?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lock_grows_and_is_capped() {
        let p = LoginPolicy::default();
        let now = Utc::now();
        assert_eq!(p.lock_after(4, now), None);
        assert_eq!(p.lock_after(5, now), Some(now + Duration::seconds(30)));
        assert_eq!(p.lock_after(6, now), Some(now + Duration::seconds(60)));
        assert_eq!(p.lock_after(60, now), Some(now + Duration::seconds(900)));
    }

    #[test]
    fn hashes_are_argon2id_and_verify() {
        let p = Password::parse("p", "correct horse battery").unwrap();
        let h = hash_password(&p).unwrap();
        assert!(h.starts_with("$argon2id$"));
        assert!(verify_password("correct horse battery", &h));
        assert!(!verify_password("correct horse batterY", &h));
        assert!(!verify_password("x", "not a hash"));
    }
}

//! The kiosk PIN, stored as an argon2id hash.

use argon2::password_hash::{
    rand_core::OsRng, PasswordHash, PasswordHasher, PasswordVerifier, SaltString,
};
use argon2::Argon2;

use crate::state::{fail, CmdResult};

/// 4–12 digits: typed on a touch screen or numeric keypad by staff.
pub fn parse(pin: &str) -> CmdResult<&str> {
    let pin = pin.trim();
    if (4..=12).contains(&pin.len()) && pin.bytes().all(|b| b.is_ascii_digit()) {
        Ok(pin)
    } else {
        Err(admit_api::ErrorBody {
            code: "invalid_input",
            message: "pin: must be 4 to 12 digits".into(),
            field: Some("pin".into()),
        })
    }
}

pub fn hash(pin: &str) -> CmdResult<String> {
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default()
        .hash_password(pin.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| fail("internal", format!("PIN hashing failed: {e}")))
}

pub fn verify(pin: &str, hash: &str) -> bool {
    PasswordHash::new(hash)
        .map(|h| {
            Argon2::default()
                .verify_password(pin.trim().as_bytes(), &h)
                .is_ok()
        })
        .unwrap_or(false)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pins_are_digits_and_verify_only_themselves() {
        assert!(parse("12a4").is_err());
        assert!(parse("123").is_err());
        assert!(parse("1234567890123").is_err());
        let h = hash(parse(" 2468 ").unwrap()).unwrap();
        assert!(!h.contains("2468"));
        assert!(verify("2468", &h));
        assert!(!verify("2469", &h));
        assert!(!verify("2468", "not a hash"));
    }
}

//! Short order codes for humans: read aloud, typed at the door, printed on tickets.
//! The alphabet leaves out 0/O, 1/I/L so nothing can be misread.

use rand::Rng;
use serde::{Deserialize, Serialize};
use std::fmt;

use crate::error::DomainError;

pub const ALPHABET: &[u8] = b"23456789ABCDEFGHJKMNPQRSTUVWXYZ";
pub const LEN: usize = 7;

#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(type = "string"))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct OrderCode(String);

impl OrderCode {
    /// 31^7 ≈ 2.75e10 codes; the store's unique index catches the rare clash and the caller
    /// draws again.
    pub fn generate() -> Self {
        let mut rng = rand::thread_rng();
        OrderCode(
            (0..LEN)
                .map(|_| ALPHABET[rng.gen_range(0..ALPHABET.len())] as char)
                .collect(),
        )
    }

    pub fn parse(field: &str, s: &str) -> Result<Self, DomainError> {
        let t: String = s
            .trim()
            .chars()
            .filter(|c| *c != '-' && *c != ' ')
            .map(|c| c.to_ascii_uppercase())
            .collect();
        if t.len() != LEN || !t.bytes().all(|b| ALPHABET.contains(&b)) {
            return Err(DomainError::invalid(field, "is not an order code"));
        }
        Ok(OrderCode(t))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for OrderCode {
    type Error = DomainError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        Self::parse("code", &s)
    }
}

impl From<OrderCode> for String {
    fn from(c: OrderCode) -> String {
        c.0
    }
}

impl fmt::Display for OrderCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_avoid_ambiguous_characters_and_round_trip() {
        for _ in 0..1000 {
            let c = OrderCode::generate();
            assert_eq!(c.as_str().len(), LEN);
            assert!(!c.as_str().contains(['0', 'O', '1', 'I', 'L']));
            assert_eq!(
                OrderCode::parse("code", &c.as_str().to_lowercase()).unwrap(),
                c
            );
        }
        assert!(OrderCode::parse("code", "ABC0EFG").is_err());
        assert!(OrderCode::parse("code", "").is_err());
    }
}

//! Bounded, cleaned text values. Control characters are refused, surrounding white space is
//! trimmed, lengths are counted in characters and bounded so a 10 MB paste cannot reach storage.

use serde::{Deserialize, Serialize};
use std::fmt;

use crate::error::DomainError;

fn clean(
    field: &str,
    s: &str,
    min: usize,
    max: usize,
    allow_newlines: bool,
) -> Result<String, DomainError> {
    // Check the raw length first so a huge input is refused without further work.
    if s.len() > max * 4 + 64 {
        return Err(DomainError::invalid(
            field,
            format!("is longer than {max} characters"),
        ));
    }
    let t = s.trim();
    let n = t.chars().count();
    if n < min {
        return Err(if min == 1 {
            DomainError::invalid(field, "must not be empty")
        } else {
            DomainError::invalid(field, format!("must be at least {min} characters"))
        });
    }
    if n > max {
        return Err(DomainError::invalid(
            field,
            format!("is longer than {max} characters"),
        ));
    }
    if let Some(c) = t
        .chars()
        .find(|c| c.is_control() && !(allow_newlines && (*c == '\n' || *c == '\t' || *c == '\r')))
    {
        return Err(DomainError::invalid(
            field,
            format!("contains a control character (U+{:04X})", c as u32),
        ));
    }
    Ok(t.to_string())
}

macro_rules! bounded_text {
    ($(#[$doc:meta])* $name:ident, $min:expr, $max:expr, $newlines:expr) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
        #[serde(try_from = "String", into = "String")]
        #[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(type = "string"))]
        #[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
        pub struct $name(String);

        impl $name {
            pub const MAX_CHARS: usize = $max;
            pub fn parse(field: &str, s: &str) -> Result<Self, DomainError> {
                clean(field, s, $min, $max, $newlines).map(Self)
            }
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl TryFrom<String> for $name {
            type Error = DomainError;
            fn try_from(s: String) -> Result<Self, Self::Error> {
                Self::parse(stringify!($name), &s)
            }
        }

        impl From<$name> for String {
            fn from(v: $name) -> String {
                v.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
    };
}

bounded_text!(
    /// A name shown to people: event, ticket type, quota, venue, category, attendee. 1–200 chars.
    Name, 1, 200, false
);
bounded_text!(
    /// Free text such as an event description; may be empty, may hold line breaks.
    Description, 0, 10_000, true
);
bounded_text!(
    /// A login name: 3–64 characters of letters, digits, '.', '_', '-', '@'.
    Username, 3, 64, false
);

impl Username {
    pub fn parse_login(field: &str, s: &str) -> Result<Self, DomainError> {
        let u = Self::parse(field, s)?;
        if !u
            .0
            .chars()
            .all(|c| c.is_alphanumeric() || matches!(c, '.' | '_' | '-' | '@'))
        {
            return Err(DomainError::invalid(
                field,
                "may contain only letters, digits and . _ - @",
            ));
        }
        Ok(Username(u.0.to_lowercase()))
    }
}

/// An e-mail address, checked for the shape people actually mistype; not RFC 5322 in full.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(type = "string"))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Email(String);

impl Email {
    pub fn parse(field: &str, s: &str) -> Result<Self, DomainError> {
        let t = clean(field, s, 3, 254, false)?;
        let bad = || DomainError::invalid(field, "is not an e-mail address");
        let (local, domain) = t.rsplit_once('@').ok_or_else(bad)?;
        if local.is_empty()
            || domain.len() < 3
            || !domain.contains('.')
            || domain.starts_with('.')
            || domain.ends_with('.')
            || t.chars().any(char::is_whitespace)
            || local.contains('@')
        {
            return Err(bad());
        }
        Ok(Email(t))
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for Email {
    type Error = DomainError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        Self::parse("email", &s)
    }
}

impl From<Email> for String {
    fn from(v: Email) -> String {
        v.0
    }
}

/// A password as typed: 8–1024 characters. Never printed.
#[derive(Clone)]
pub struct Password(String);

impl Password {
    pub fn parse(field: &str, s: &str) -> Result<Self, DomainError> {
        let n = s.chars().count();
        if n < 8 {
            return Err(DomainError::invalid(field, "must be at least 8 characters"));
        }
        if s.len() > 1024 {
            return Err(DomainError::invalid(field, "is longer than 1024 bytes"));
        }
        Ok(Password(s.to_string()))
    }
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Password {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Password(<redacted>)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_trimmed_bounded_and_free_of_control_characters() {
        assert_eq!(Name::parse("name", "  Gala  ").unwrap().as_str(), "Gala");
        assert_eq!(Name::parse("name", "").unwrap_err().field(), "name");
        assert!(Name::parse("name", "   ").is_err());
        assert!(Name::parse("name", &"x".repeat(201)).is_err());
        assert!(Name::parse("name", &"x".repeat(10 * 1024 * 1024)).is_err());
        assert!(Name::parse("name", "a\u{0}b").is_err());
        assert!(Name::parse("name", "a\nb").is_err());
        // Unicode is welcome, counted in characters not bytes.
        assert!(Name::parse("name", &"é".repeat(200)).is_ok());
        assert!(Name::parse("name", "Ünïcødé 🎫 O'Brien; DROP TABLE events;--").is_ok());
        assert!(Description::parse("d", "line one\nline two").is_ok());
        assert!(Description::parse("d", "").is_ok());
    }

    #[test]
    fn emails_and_usernames() {
        assert!(Email::parse("email", "ann@example.org").is_ok());
        for bad in [
            "",
            "ann",
            "ann@",
            "@x.org",
            "ann@org",
            "a b@x.org",
            "ann@x.org.",
        ] {
            assert!(Email::parse("email", bad).is_err(), "{bad}");
        }
        assert_eq!(
            Username::parse_login("u", "Ann.B").unwrap().as_str(),
            "ann.b"
        );
        assert!(Username::parse_login("u", "ann b").is_err());
        assert!(Username::parse_login("u", "ab").is_err());
    }

    #[test]
    fn passwords_never_print() {
        let p = Password::parse("password", "correct horse").unwrap();
        assert!(!format!("{p:?}").contains("horse"));
        assert!(Password::parse("password", "short").is_err());
    }
}

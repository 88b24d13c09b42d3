//! Money is an integer number of minor units plus an ISO 4217 currency. Never floats.

use serde::{Deserialize, Serialize};
use std::fmt;

use crate::error::DomainError;

/// Active ISO 4217 currencies with their number of minor-unit digits.
const CURRENCIES: &[(&str, u8)] = &[
    ("AED", 2),
    ("AFN", 2),
    ("ALL", 2),
    ("AMD", 2),
    ("ANG", 2),
    ("AOA", 2),
    ("ARS", 2),
    ("AUD", 2),
    ("AWG", 2),
    ("AZN", 2),
    ("BAM", 2),
    ("BBD", 2),
    ("BDT", 2),
    ("BGN", 2),
    ("BHD", 3),
    ("BIF", 0),
    ("BMD", 2),
    ("BND", 2),
    ("BOB", 2),
    ("BRL", 2),
    ("BSD", 2),
    ("BTN", 2),
    ("BWP", 2),
    ("BYN", 2),
    ("BZD", 2),
    ("CAD", 2),
    ("CDF", 2),
    ("CHF", 2),
    ("CLP", 0),
    ("CNY", 2),
    ("COP", 2),
    ("CRC", 2),
    ("CUP", 2),
    ("CVE", 2),
    ("CZK", 2),
    ("DJF", 0),
    ("DKK", 2),
    ("DOP", 2),
    ("DZD", 2),
    ("EGP", 2),
    ("ERN", 2),
    ("ETB", 2),
    ("EUR", 2),
    ("FJD", 2),
    ("FKP", 2),
    ("GBP", 2),
    ("GEL", 2),
    ("GHS", 2),
    ("GIP", 2),
    ("GMD", 2),
    ("GNF", 0),
    ("GTQ", 2),
    ("GYD", 2),
    ("HKD", 2),
    ("HNL", 2),
    ("HTG", 2),
    ("HUF", 2),
    ("IDR", 2),
    ("ILS", 2),
    ("INR", 2),
    ("IQD", 3),
    ("IRR", 2),
    ("ISK", 0),
    ("JMD", 2),
    ("JOD", 3),
    ("JPY", 0),
    ("KES", 2),
    ("KGS", 2),
    ("KHR", 2),
    ("KMF", 0),
    ("KPW", 2),
    ("KRW", 0),
    ("KWD", 3),
    ("KYD", 2),
    ("KZT", 2),
    ("LAK", 2),
    ("LBP", 2),
    ("LKR", 2),
    ("LRD", 2),
    ("LSL", 2),
    ("LYD", 3),
    ("MAD", 2),
    ("MDL", 2),
    ("MGA", 2),
    ("MKD", 2),
    ("MMK", 2),
    ("MNT", 2),
    ("MOP", 2),
    ("MRU", 2),
    ("MUR", 2),
    ("MVR", 2),
    ("MWK", 2),
    ("MXN", 2),
    ("MYR", 2),
    ("MZN", 2),
    ("NAD", 2),
    ("NGN", 2),
    ("NIO", 2),
    ("NOK", 2),
    ("NPR", 2),
    ("NZD", 2),
    ("OMR", 3),
    ("PAB", 2),
    ("PEN", 2),
    ("PGK", 2),
    ("PHP", 2),
    ("PKR", 2),
    ("PLN", 2),
    ("PYG", 0),
    ("QAR", 2),
    ("RON", 2),
    ("RSD", 2),
    ("RUB", 2),
    ("RWF", 0),
    ("SAR", 2),
    ("SBD", 2),
    ("SCR", 2),
    ("SDG", 2),
    ("SEK", 2),
    ("SGD", 2),
    ("SHP", 2),
    ("SLE", 2),
    ("SOS", 2),
    ("SRD", 2),
    ("SSP", 2),
    ("STN", 2),
    ("SVC", 2),
    ("SYP", 2),
    ("SZL", 2),
    ("THB", 2),
    ("TJS", 2),
    ("TMT", 2),
    ("TND", 3),
    ("TOP", 2),
    ("TRY", 2),
    ("TTD", 2),
    ("TWD", 2),
    ("TZS", 2),
    ("UAH", 2),
    ("UGX", 0),
    ("USD", 2),
    ("UYU", 2),
    ("UZS", 2),
    ("VES", 2),
    ("VND", 0),
    ("VUV", 0),
    ("WST", 2),
    ("XAF", 0),
    ("XCD", 2),
    ("XOF", 0),
    ("XPF", 0),
    ("YER", 2),
    ("ZAR", 2),
    ("ZMW", 2),
    ("ZWL", 2),
];

/// Largest amount we accept for one price or total: 10^12 minor units (10 billion in a
/// 2-digit currency). Anything above is a typing accident, and sums of many such amounts
/// still fit in an i64.
pub const MAX_MINOR: i64 = 1_000_000_000_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(type = "string"))]
pub struct Currency {
    code: [u8; 3],
    exponent: u8,
}

impl Currency {
    pub fn parse(field: &str, s: &str) -> Result<Self, DomainError> {
        let code = s.trim().to_ascii_uppercase();
        CURRENCIES
            .iter()
            .find(|(c, _)| *c == code)
            .map(|(c, e)| Currency {
                code: c.as_bytes().try_into().expect("three letters"),
                exponent: *e,
            })
            .ok_or_else(|| {
                DomainError::invalid(field, format!("unknown currency {:?}", truncate(s)))
            })
    }

    pub fn code(&self) -> &str {
        std::str::from_utf8(&self.code).expect("ascii")
    }

    /// Number of digits after the decimal point (0 for JPY, 3 for KWD).
    pub fn exponent(&self) -> u8 {
        self.exponent
    }
}

fn truncate(s: &str) -> String {
    s.chars().take(16).collect()
}

impl fmt::Display for Currency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

impl Serialize for Currency {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.code())
    }
}

/// In JSON a currency is its ISO 4217 code.
#[cfg(feature = "openapi")]
impl utoipa::PartialSchema for Currency {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        utoipa::openapi::ObjectBuilder::new()
            .schema_type(utoipa::openapi::schema::Type::String)
            .description(Some("ISO 4217 code"))
            .examples([serde_json::json!("EUR")])
            .into()
    }
}

#[cfg(feature = "openapi")]
impl utoipa::ToSchema for Currency {}

impl<'de> Deserialize<'de> for Currency {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Currency::parse("currency", &s).map_err(serde::de::Error::custom)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Money {
    /// Amount in minor units (cents for EUR, yen for JPY).
    pub minor: i64,
    pub currency: Currency,
}

impl Money {
    /// A price: zero or positive and not absurd.
    pub fn price(field: &str, minor: i64, currency: Currency) -> Result<Self, DomainError> {
        if minor < 0 {
            return Err(DomainError::invalid(field, "must not be negative"));
        }
        if minor > MAX_MINOR {
            return Err(DomainError::invalid(field, "is too large"));
        }
        Ok(Money { minor, currency })
    }

    pub fn zero(currency: Currency) -> Self {
        Money { minor: 0, currency }
    }

    /// Parse a decimal string such as "12.50" in the given currency.
    pub fn parse_decimal(field: &str, s: &str, currency: Currency) -> Result<Self, DomainError> {
        let s = s.trim();
        let (whole, frac) = match s.split_once('.') {
            Some((w, f)) => (w, f),
            None => (s, ""),
        };
        let exp = currency.exponent() as usize;
        let digits = |t: &str| !t.is_empty() && t.bytes().all(|b| b.is_ascii_digit());
        if !digits(whole)
            || (!frac.is_empty() && !digits(frac))
            || s.contains('.') && frac.is_empty()
        {
            return Err(DomainError::invalid(
                field,
                "is not an amount such as 12.50",
            ));
        }
        if frac.len() > exp {
            return Err(DomainError::invalid(
                field,
                format!("{} allows {} decimal places", currency, exp),
            ));
        }
        if whole.len() > 15 {
            return Err(DomainError::invalid(field, "is too large"));
        }
        let whole: i64 = whole
            .parse()
            .map_err(|_| DomainError::invalid(field, "is too large"))?;
        let mut frac_v: i64 = if frac.is_empty() {
            0
        } else {
            frac.parse().unwrap_or(0)
        };
        for _ in frac.len()..exp {
            frac_v *= 10;
        }
        let minor = whole
            .checked_mul(10i64.pow(exp as u32))
            .and_then(|w| w.checked_add(frac_v))
            .ok_or_else(|| DomainError::invalid(field, "is too large"))?;
        Money::price(field, minor, currency)
    }

    pub fn checked_mul(self, n: i64) -> Option<Money> {
        self.minor
            .checked_mul(n)
            .map(|minor| Money { minor, ..self })
    }

    pub fn checked_add(self, other: Money) -> Option<Money> {
        if self.currency != other.currency {
            return None;
        }
        self.minor
            .checked_add(other.minor)
            .map(|minor| Money { minor, ..self })
    }
}

impl fmt::Display for Money {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let exp = self.currency.exponent() as u32;
        let sign = if self.minor < 0 { "-" } else { "" };
        let abs = self.minor.unsigned_abs();
        if exp == 0 {
            write!(f, "{sign}{abs} {}", self.currency)
        } else {
            let p = 10u64.pow(exp);
            write!(
                f,
                "{sign}{}.{:0w$} {}",
                abs / p,
                abs % p,
                self.currency,
                w = exp as usize
            )
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn currencies_parse_case_insensitively_and_reject_unknown() {
        assert_eq!(Currency::parse("c", "eur").unwrap().code(), "EUR");
        assert_eq!(Currency::parse("c", "JPY").unwrap().exponent(), 0);
        assert_eq!(Currency::parse("c", "KWD").unwrap().exponent(), 3);
        for bad in ["", "EU", "EURO", "XXX", "€", "'; drop table events; --"] {
            let e = Currency::parse("currency", bad).unwrap_err();
            assert_eq!(e.field(), "currency");
        }
    }

    #[test]
    fn decimal_amounts_respect_the_currency_exponent() {
        let eur = Currency::parse("c", "EUR").unwrap();
        let jpy = Currency::parse("c", "JPY").unwrap();
        let kwd = Currency::parse("c", "KWD").unwrap();
        assert_eq!(Money::parse_decimal("p", "12.5", eur).unwrap().minor, 1250);
        assert_eq!(Money::parse_decimal("p", "12", eur).unwrap().minor, 1200);
        assert_eq!(Money::parse_decimal("p", "1500", jpy).unwrap().minor, 1500);
        assert_eq!(Money::parse_decimal("p", "1.234", kwd).unwrap().minor, 1234);
        assert!(Money::parse_decimal("p", "1.5", jpy).is_err());
        assert!(Money::parse_decimal("p", "1.234", eur).is_err());
        for bad in ["", "-1", "1.", ".5", "1e3", "١٢", "99999999999999999999"] {
            assert!(
                Money::parse_decimal("p", bad, eur).is_err(),
                "{bad} accepted"
            );
        }
        assert_eq!(
            Money::parse_decimal("p", "12.05", eur).unwrap().to_string(),
            "12.05 EUR"
        );
        assert_eq!(
            Money::parse_decimal("p", "7", jpy).unwrap().to_string(),
            "7 JPY"
        );
    }

    #[test]
    fn prices_are_bounded() {
        let eur = Currency::parse("c", "EUR").unwrap();
        assert!(Money::price("price", -1, eur).is_err());
        assert!(Money::price("price", MAX_MINOR + 1, eur).is_err());
        assert!(Money::price("price", 0, eur).is_ok());
    }
}

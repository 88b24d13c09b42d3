//! Commerce at the box office: coupons and their prices, the waiting list, cashier shifts and
//! queued e-mail. Pure: prices are computed here from the catalogue, never taken from input.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::error::DomainError;
use crate::id::*;
use crate::model::Meta;
use crate::money::{Currency, Money};
use crate::stock::StockPlan;
use crate::text::{Email, Name};

/// How a coupon changes a ticket's price. Every kind works per eligible ticket, so a refund of
/// one ticket hands back exactly what that ticket cost.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub enum CouponKind {
    /// `value` is in hundredths of a percent (1 = 0.01 %, 10,000 = 100 %).
    Percent,
    /// `value` minor units off each eligible ticket (never below zero).
    AmountOff,
    /// Each eligible ticket costs `value` minor units (never more than its list price).
    FixedPrice,
}

impl CouponKind {
    pub fn as_str(&self) -> &'static str {
        match self {
            CouponKind::Percent => "percent",
            CouponKind::AmountOff => "amount_off",
            CouponKind::FixedPrice => "fixed_price",
        }
    }
    pub fn parse(field: &str, s: &str) -> Result<Self, DomainError> {
        match s.trim() {
            "percent" => Ok(CouponKind::Percent),
            "amount_off" => Ok(CouponKind::AmountOff),
            "fixed_price" => Ok(CouponKind::FixedPrice),
            _ => Err(DomainError::invalid(
                field,
                "must be one of percent, amount_off, fixed_price",
            )),
        }
    }
}

/// A code typed at the till: 3–32 characters of A–Z, 0–9, '-' and '_', kept upper-case so
/// "summer-10" and "SUMMER-10" are one code.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(type = "string"))]
pub struct CouponCode(String);

impl CouponCode {
    pub fn parse(field: &str, s: &str) -> Result<Self, DomainError> {
        if s.len() > 200 {
            return Err(DomainError::invalid(field, "is longer than 32 characters"));
        }
        let t = s.trim().to_uppercase();
        let n = t.chars().count();
        if n < 3 {
            return Err(DomainError::invalid(field, "must be at least 3 characters"));
        }
        if n > 32 {
            return Err(DomainError::invalid(field, "is longer than 32 characters"));
        }
        if !t
            .chars()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '-' || c == '_')
        {
            return Err(DomainError::invalid(
                field,
                "may contain only letters A–Z, digits, - and _",
            ));
        }
        Ok(CouponCode(t))
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for CouponCode {
    type Error = DomainError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        Self::parse("code", &s)
    }
}
impl From<CouponCode> for String {
    fn from(c: CouponCode) -> String {
        c.0
    }
}
impl std::fmt::Display for CouponCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Coupon {
    pub id: CouponId,
    pub event_id: EventId,
    pub code: CouponCode,
    pub kind: CouponKind,
    /// Hundredths of a percent for `percent`; minor units of `currency` otherwise.
    pub value: i64,
    pub currency: Currency,
    /// The ticket types it applies to; empty: all of the event's.
    pub ticket_type_ids: Vec<TicketTypeId>,
    pub valid_from: Option<DateTime<Utc>>,
    pub valid_until: Option<DateTime<Utc>>,
    /// The order's list-price total must be at least this (minor units).
    pub min_order_minor: i64,
    /// `None`: unlimited.
    pub max_uses: Option<u32>,
    /// Orders that use it now (a cancelled or expired order gives its use back).
    pub used: u32,
    pub active: bool,
    pub meta: Meta,
}

impl Coupon {
    /// Check the coupon's own fields; the store keeps `used` within `max_uses`.
    pub fn validate(&self) -> Result<(), DomainError> {
        match self.kind {
            CouponKind::Percent if !(1..=10_000).contains(&self.value) => {
                return Err(DomainError::invalid(
                    "value",
                    "a percentage must be above 0 and at most 100",
                ))
            }
            CouponKind::AmountOff if self.value <= 0 => {
                return Err(DomainError::invalid("value", "must be more than zero"))
            }
            CouponKind::FixedPrice if self.value < 0 => {
                return Err(DomainError::invalid("value", "must not be negative"))
            }
            _ => {}
        }
        if self.value > crate::money::MAX_MINOR {
            return Err(DomainError::invalid("value", "is too large"));
        }
        if !(0..=crate::money::MAX_MINOR).contains(&self.min_order_minor) {
            return Err(DomainError::invalid(
                "min_order",
                "must not be negative or absurd",
            ));
        }
        if let (Some(from), Some(until)) = (self.valid_from, self.valid_until) {
            if until <= from {
                return Err(DomainError::invalid(
                    "valid_until",
                    "must be after valid_from",
                ));
            }
        }
        if self.max_uses == Some(0) {
            return Err(DomainError::invalid("max_uses", "must be at least 1"));
        }
        Ok(())
    }

    fn applies_to(&self, t: TicketTypeId) -> bool {
        self.ticket_type_ids.is_empty() || self.ticket_type_ids.contains(&t)
    }

    /// One eligible ticket's price under this coupon.
    pub fn unit_price(&self, list: Money) -> Money {
        let minor = match self.kind {
            CouponKind::Percent => {
                // list × (10,000 − value) / 10,000, rounded half up to the minor unit.
                let keep = 10_000 - self.value as i128;
                let scaled = list.minor as i128 * keep;
                ((scaled + 5_000) / 10_000) as i64
            }
            CouponKind::AmountOff => (list.minor - self.value).max(0),
            CouponKind::FixedPrice => self.value.min(list.minor),
        };
        Money {
            minor,
            currency: list.currency,
        }
    }
}

/// Why a coupon cannot be used on an order, as the cashier should read it.
pub fn coupon_refusal(
    coupon: &Coupon,
    plan: &StockPlan,
    now: DateTime<Utc>,
) -> Option<DomainError> {
    let field = "coupon_code";
    if !coupon.active {
        return Some(DomainError::invalid(field, "this coupon is switched off"));
    }
    if coupon.valid_from.is_some_and(|f| now < f) {
        return Some(DomainError::invalid(field, "this coupon is not valid yet"));
    }
    if coupon.valid_until.is_some_and(|u| now >= u) {
        return Some(DomainError::invalid(field, "this coupon has expired"));
    }
    if coupon.currency != plan.total.currency {
        return Some(DomainError::invalid(
            field,
            "this coupon is in another currency",
        ));
    }
    if plan.total.minor < coupon.min_order_minor {
        return Some(DomainError::invalid(
            field,
            format!(
                "needs an order of at least {}",
                Money {
                    minor: coupon.min_order_minor,
                    currency: coupon.currency
                }
            ),
        ));
    }
    if !plan.unit_prices.iter().any(|(t, _)| coupon.applies_to(*t)) {
        return Some(DomainError::invalid(
            field,
            "this coupon does not apply to these tickets",
        ));
    }
    if coupon.max_uses.is_some_and(|m| coupon.used >= m) {
        return Some(DomainError::invalid(field, "this coupon is used up"));
    }
    None
}

/// An order's prices after a coupon.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Priced {
    /// Per ticket, in the plan's order.
    pub unit_prices: Vec<(TicketTypeId, Money)>,
    pub total: Money,
    /// List total − total.
    pub discount: Money,
}

/// Price a plan with an optional coupon. The coupon must be valid for it (see
/// [`coupon_refusal`]); this only does the arithmetic.
pub fn price(plan: &StockPlan, coupon: Option<&Coupon>) -> Priced {
    let currency = plan.total.currency;
    let unit_prices: Vec<(TicketTypeId, Money)> = plan
        .unit_prices
        .iter()
        .map(|(t, p)| match coupon {
            Some(c) if c.applies_to(*t) => (*t, c.unit_price(*p)),
            _ => (*t, *p),
        })
        .collect();
    let total_minor: i64 = unit_prices.iter().map(|(_, p)| p.minor).sum();
    Priced {
        unit_prices,
        total: Money {
            minor: total_minor,
            currency,
        },
        discount: Money {
            minor: plan.total.minor - total_minor,
            currency,
        },
    }
}

/// Where a waiting-list entry stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub enum WaitlistStatus {
    /// In the queue.
    Waiting,
    /// Units are held for this person until `offer_expires_at`.
    Offered,
    /// Bought from the offer.
    Sold,
    /// The offer ran out; the units went to the next person.
    Expired,
    /// Taken off the list.
    Withdrawn,
}

impl WaitlistStatus {
    pub fn as_str(&self) -> &'static str {
        match self {
            WaitlistStatus::Waiting => "waiting",
            WaitlistStatus::Offered => "offered",
            WaitlistStatus::Sold => "sold",
            WaitlistStatus::Expired => "expired",
            WaitlistStatus::Withdrawn => "withdrawn",
        }
    }
    pub fn parse(field: &str, s: &str) -> Result<Self, DomainError> {
        match s {
            "waiting" => Ok(WaitlistStatus::Waiting),
            "offered" => Ok(WaitlistStatus::Offered),
            "sold" => Ok(WaitlistStatus::Sold),
            "expired" => Ok(WaitlistStatus::Expired),
            "withdrawn" => Ok(WaitlistStatus::Withdrawn),
            _ => Err(DomainError::invalid(field, "is not a waiting-list status")),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct WaitlistEntry {
    pub id: WaitlistId,
    pub event_id: EventId,
    pub ticket_type_id: TicketTypeId,
    pub name: Name,
    pub email: Option<Email>,
    pub phone: Option<Name>,
    pub quantity: u32,
    pub status: WaitlistStatus,
    /// The hold that keeps the offered units.
    pub hold_id: Option<HoldId>,
    pub offer_expires_at: Option<DateTime<Utc>>,
    pub order_id: Option<OrderId>,
    pub created_by: UserId,
    pub meta: Meta,
}

/// No one may ask for more than this from the waiting list at once.
pub const MAX_WAITLIST_QUANTITY: u32 = 20;

/// A cashier's drawer session: opened with a float, closed with a count.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Shift {
    pub id: ShiftId,
    pub user_id: UserId,
    pub device_id: Option<DeviceId>,
    pub currency: Currency,
    pub opened_at: DateTime<Utc>,
    /// Cash in the drawer at opening, minor units.
    pub float_minor: i64,
    pub closed_at: Option<DateTime<Utc>>,
    /// Cash the drawer should hold at closing: float + cash taken − cash refunded.
    pub expected_minor: Option<i64>,
    /// Cash counted at closing.
    pub counted_minor: Option<i64>,
    /// counted − expected: positive is over, negative is short.
    pub difference_minor: Option<i64>,
    pub note: Option<String>,
    pub meta: Meta,
}

/// What an e-mail is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub enum MailKind {
    /// The order's confirmation with its tickets attached.
    OrderConfirmation,
    /// A waiting-list offer.
    WaitlistOffer,
}

impl MailKind {
    pub fn as_str(&self) -> &'static str {
        match self {
            MailKind::OrderConfirmation => "order_confirmation",
            MailKind::WaitlistOffer => "waitlist_offer",
        }
    }
    pub fn parse(field: &str, s: &str) -> Result<Self, DomainError> {
        match s {
            "order_confirmation" => Ok(MailKind::OrderConfirmation),
            "waitlist_offer" => Ok(MailKind::WaitlistOffer),
            _ => Err(DomainError::invalid(field, "is not a kind of mail")),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub enum MailStatus {
    /// Waiting for its next attempt.
    Queued,
    Sent,
    /// Given up after the last attempt, or refused for good by the server.
    Failed,
}

impl MailStatus {
    pub fn as_str(&self) -> &'static str {
        match self {
            MailStatus::Queued => "queued",
            MailStatus::Sent => "sent",
            MailStatus::Failed => "failed",
        }
    }
    pub fn parse(field: &str, s: &str) -> Result<Self, DomainError> {
        match s {
            "queued" => Ok(MailStatus::Queued),
            "sent" => Ok(MailStatus::Sent),
            "failed" => Ok(MailStatus::Failed),
            _ => Err(DomainError::invalid(field, "is not a mail status")),
        }
    }
}

/// A queued e-mail. The body and attachments are made when it is sent, from the order or
/// waiting-list entry it names, so a message always carries the tickets as they are then.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct MailMessage {
    pub id: MailId,
    pub kind: MailKind,
    pub order_id: Option<OrderId>,
    pub waitlist_id: Option<WaitlistId>,
    pub to: Email,
    pub status: MailStatus,
    /// Attempts made so far.
    pub attempts: u32,
    /// When the next attempt is due (queued messages).
    pub next_attempt_at: DateTime<Utc>,
    pub last_error: Option<String>,
    pub sent_at: Option<DateTime<Utc>>,
    pub meta: Meta,
}

/// Attempts before a message is given up.
pub const MAIL_MAX_ATTEMPTS: u32 = 8;

/// When attempt `attempts + 1` is due after a failure: 30 s, 1, 2, 4 … minutes, at most an
/// hour apart.
pub fn mail_backoff(attempts: u32) -> chrono::Duration {
    let secs = 30i64.saturating_mul(1i64 << attempts.min(7));
    chrono::Duration::seconds(secs.min(3_600))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cur(c: &str) -> Currency {
        Currency::parse("c", c).unwrap()
    }

    fn coupon(kind: CouponKind, value: i64, currency: Currency) -> Coupon {
        let now = DateTime::<Utc>::from_timestamp(1_800_000_000, 0).unwrap();
        Coupon {
            id: CouponId::new(now),
            event_id: EventId::new(now),
            code: CouponCode::parse("code", "save").unwrap(),
            kind,
            value,
            currency,
            ticket_type_ids: vec![],
            valid_from: None,
            valid_until: None,
            min_order_minor: 0,
            max_uses: None,
            used: 0,
            active: true,
            meta: Meta::new(now),
        }
    }

    #[test]
    fn unit_prices_by_kind_currency_and_rounding() {
        // (kind, value, currency, list minor, expected minor)
        let table: &[(CouponKind, i64, &str, i64, i64)] = &[
            // 2 decimals: 15 % off 19.99 = 16.9915 → 16.99; 12.5 % off 0.10 = 0.0875 → 0.09
            (CouponKind::Percent, 1_500, "EUR", 1_999, 1_699),
            (CouponKind::Percent, 1_250, "EUR", 10, 9),
            // half up: 50 % off 0.05 = 0.025 → 0.03
            (CouponKind::Percent, 5_000, "EUR", 5, 3),
            (CouponKind::Percent, 10_000, "EUR", 2_500, 0),
            // 0 decimals: 33.33 % off ¥1,000 = 666.7 → ¥667; 10 % off ¥5 = 4.5 → ¥5
            (CouponKind::Percent, 3_333, "JPY", 1_000, 667),
            (CouponKind::Percent, 1_000, "JPY", 5, 5),
            // 3 decimals: 10 % off 1.235 KWD = 1.1115 → 1.112
            (CouponKind::Percent, 1_000, "KWD", 1_235, 1_112),
            (CouponKind::Percent, 1, "KWD", 1_000_000, 999_900),
            // amount off, never below zero
            (CouponKind::AmountOff, 500, "EUR", 1_999, 1_499),
            (CouponKind::AmountOff, 5_000, "EUR", 1_999, 0),
            (CouponKind::AmountOff, 300, "JPY", 1_000, 700),
            (CouponKind::AmountOff, 250, "BHD", 1_000, 750),
            // fixed price, never above the list price
            (CouponKind::FixedPrice, 1_000, "EUR", 2_500, 1_000),
            (CouponKind::FixedPrice, 1_000, "EUR", 800, 800),
            (CouponKind::FixedPrice, 0, "JPY", 800, 0),
            (CouponKind::FixedPrice, 5_125, "KWD", 9_999, 5_125),
        ];
        for &(kind, value, c, list, want) in table {
            let c = cur(c);
            let got = coupon(kind, value, c).unit_price(Money {
                minor: list,
                currency: c,
            });
            assert_eq!(
                got.minor, want,
                "{kind:?} {value} on {list} {c}: got {}",
                got.minor
            );
            assert_eq!(got.currency, c);
        }
    }

    #[test]
    fn codes_are_upper_case_and_plain() {
        assert_eq!(
            CouponCode::parse("c", " summer-10 ").unwrap().as_str(),
            "SUMMER-10"
        );
        for bad in ["", "ab", "x y z", "ÄÖÜ123", "drop;table", &"A".repeat(33)] {
            assert!(CouponCode::parse("c", bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn coupon_fields_are_checked() {
        let eur = cur("EUR");
        assert!(coupon(CouponKind::Percent, 0, eur).validate().is_err());
        assert!(coupon(CouponKind::Percent, 10_001, eur).validate().is_err());
        assert!(coupon(CouponKind::AmountOff, 0, eur).validate().is_err());
        assert!(coupon(CouponKind::FixedPrice, -1, eur).validate().is_err());
        assert!(coupon(CouponKind::FixedPrice, 0, eur).validate().is_ok());
        let mut c = coupon(CouponKind::Percent, 500, eur);
        c.max_uses = Some(0);
        assert!(c.validate().is_err());
    }

    #[test]
    fn backoff_grows_and_is_capped() {
        assert_eq!(mail_backoff(0).num_seconds(), 30);
        assert_eq!(mail_backoff(1).num_seconds(), 60);
        assert_eq!(mail_backoff(3).num_seconds(), 240);
        assert_eq!(mail_backoff(7).num_seconds(), 3_600);
        assert_eq!(mail_backoff(40).num_seconds(), 3_600);
    }
}

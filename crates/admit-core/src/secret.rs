//! Ticket secrets: the signed text inside a ticket's QR code.
//!
//! # Format (version 1)
//!
//! A secret is `AT1:` followed by 171 characters of base45 (RFC 9285), 175 characters in all.
//! Every character is in the QR alphanumeric set, so the QR uses alphanumeric mode and fits
//! version 7 at error-correction level M (178 characters); `admit-qr` has a test that measures
//! it. The base45 text carries 114 bytes:
//!
//! | bytes  | field                                                        |
//! |--------|--------------------------------------------------------------|
//! | 0..2   | key id (u16, big endian)                                     |
//! | 2..6   | issue time, unix seconds (u32)                               |
//! | 6..10  | event tag: first 4 bytes of SHA-256 over the event id        |
//! | 10..26 | ticket id (full UUID)                                        |
//! | 26..42 | ticket type id (full UUID)                                   |
//! | 42..46 | valid from, unix seconds (u32; 0 = no lower bound)           |
//! | 46..50 | valid until, unix seconds (u32; 0 = no upper bound)          |
//! | 50..114| Ed25519 signature                                            |
//!
//! The signature covers a domain label, the **full 16-byte event id** and bytes 0..50. Only a
//! 4-byte tag of the event id travels in the QR: three full ids plus the window and the
//! signature come to 127 bytes, 191 characters, which needs QR version 8. Shortening the
//! event id is safe because the verifier always checks against one event whose id it already
//! knows and puts that full id into the signed message: a ticket of another event fails the
//! signature even if the tags collided. The tag only lets a device tell "another event's
//! ticket" from "forged" and pick the right keyring when it serves several events.
//! The ticket and ticket type ids stay whole: an offline door needs them to record the scan and
//! to check the list's ticket types without the ticket row.
//!
//! A fixed length keeps the decoder simple and every ticket's QR the same size, which print
//! layouts rely on. Times are whole seconds; u32 seconds last until 2106. Base45 has a space
//! among its characters, but the last character of a three-character group is at most `W`
//! (65535 / 45² = 32), so a secret never starts or ends with a space that a form could trim.
//!
//! # Keys
//!
//! Each event has its own keys. [`SigningKey`] mints tickets and belongs only on devices that
//! issue them; a door device receives an [`EventKeyring`] of public keys, and nothing in this
//! module mints a ticket from a keyring. Rotation: add a new key, issue with it, and mark the
//! old key retired once its tickets should stop working.
//!
//! # Revocation
//!
//! Revocation and block lists hold [`SecretFingerprint`]s: a hash of the event id and the
//! signed bytes (key id, issue time, ids and validity window), without the signature. So a
//! fingerprint names one issued secret, not one ticket: reissuing a ticket (same ticket id, a
//! later issue time via [`TicketPayload::reissued`]) yields a new fingerprint, so revoking the old
//! secret leaves the new one valid. Leaving the signature out means that even if a signature
//! could be re-encoded to a second valid form, both forms share one fingerprint.
//!
//! Decoding never panics and never does work proportional to an oversized input: anything that
//! is not a well-formed, correctly signed secret for the event is a [`SecretError`], which the
//! door reports as the verdict `invalid`.

use chrono::{DateTime, Utc};
use ed25519_dalek::{Signature, Signer};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::fmt;
use uuid::Uuid;

use crate::error::DomainError;
use crate::id::{EventId, TicketId, TicketTypeId};

/// Every secret starts with this; the digit is the format version.
pub const PREFIX: &str = "AT1:";
/// Length of every version-1 secret in characters.
pub const SECRET_LEN: usize = PREFIX.len() + BODY_LEN;

const PAYLOAD_LEN: usize = 50;
const SIGNATURE_LEN: usize = 64;
const RAW_LEN: usize = PAYLOAD_LEN + SIGNATURE_LEN;
const BODY_LEN: usize = RAW_LEN / 2 * 3;
/// Scanners in keyboard mode append CR/LF or tabs; more than a few extra bytes is not a secret.
const MAX_INPUT_LEN: usize = SECRET_LEN + 8;

const SIGNED_DOMAIN: &[u8] = b"admit/ticket-secret/v1\0";
const FINGERPRINT_DOMAIN: &[u8] = b"admit/secret-fingerprint/v1\0";
const EVENT_TAG_DOMAIN: &[u8] = b"admit/event-tag/v1\0";

/// Identifies one of an event's keys. Unique within the event.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct KeyId(pub u16);

impl fmt::Display for KeyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// Why a text is not a valid ticket for the event. Every variant is the door verdict `invalid`;
/// the variants exist for logs and for staff who ask why.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum SecretError {
    #[error("not a ticket code ({0})")]
    Malformed(&'static str),
    #[error("ticket belongs to another event")]
    WrongEvent,
    #[error("ticket signed with key {0}, which this event does not know")]
    UnknownKey(KeyId),
    #[error("ticket signed with key {0}, which has been retired")]
    RetiredKey(KeyId),
    #[error("ticket signature does not match: forged or damaged")]
    BadSignature,
}

impl SecretError {
    /// A stable snake_case code for logs and APIs.
    pub fn code(&self) -> &'static str {
        match self {
            SecretError::Malformed(_) => "malformed",
            SecretError::WrongEvent => "wrong_event",
            SecretError::UnknownKey(_) => "unknown_key",
            SecretError::RetiredKey(_) => "retired_key",
            SecretError::BadSignature => "bad_signature",
        }
    }
}

/// A short tag of an event id, carried in the secret so a device can route a scanned ticket to
/// the right event without verifying against every keyring.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct EventTag(pub [u8; 4]);

impl EventTag {
    pub fn of(event_id: EventId) -> Self {
        let digest = Sha256::new()
            .chain_update(EVENT_TAG_DOMAIN)
            .chain_update(event_id.0.as_bytes())
            .finalize();
        EventTag([digest[0], digest[1], digest[2], digest[3]])
    }
}

/// An Ed25519 public key of an event, as synced to door devices.
#[derive(Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct PublicKey(ed25519_dalek::VerifyingKey);

impl PublicKey {
    /// Refuses bytes that are not a curve point and the weak (small-order) keys under which a
    /// signature could verify for many messages.
    pub fn from_bytes(field: &str, bytes: &[u8]) -> Result<Self, DomainError> {
        let bad = || DomainError::invalid(field, "is not an Ed25519 public key");
        let arr: &[u8; 32] = bytes.try_into().map_err(|_| bad())?;
        let key = ed25519_dalek::VerifyingKey::from_bytes(arr).map_err(|_| bad())?;
        if key.is_weak() {
            return Err(bad());
        }
        Ok(PublicKey(key))
    }

    /// Parse the 64-hex-digit form used in storage and sync.
    pub fn parse_hex(field: &str, s: &str) -> Result<Self, DomainError> {
        let bytes = hex_decode(s.trim())
            .ok_or_else(|| DomainError::invalid(field, "is not an Ed25519 public key"))?;
        Self::from_bytes(field, &bytes)
    }

    pub fn to_bytes(&self) -> [u8; 32] {
        self.0.to_bytes()
    }

    pub fn to_hex(&self) -> String {
        hex_encode(self.0.as_bytes())
    }
}

impl fmt::Debug for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PublicKey({})", self.to_hex())
    }
}

impl TryFrom<String> for PublicKey {
    type Error = DomainError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        Self::parse_hex("public_key", &s)
    }
}

impl From<PublicKey> for String {
    fn from(k: PublicKey) -> String {
        k.to_hex()
    }
}

/// The private half of one of an event's keys. Only devices that issue tickets hold one; it
/// never prints (`Debug` is redacted) and is not serialisable, so it cannot leak through sync
/// payloads or logs by accident.
#[derive(Clone)]
pub struct SigningKey {
    event_id: EventId,
    key_id: KeyId,
    inner: ed25519_dalek::SigningKey,
}

impl SigningKey {
    pub fn generate<R: rand::RngCore + rand::CryptoRng>(
        event_id: EventId,
        key_id: KeyId,
        rng: &mut R,
    ) -> Self {
        SigningKey {
            event_id,
            key_id,
            inner: ed25519_dalek::SigningKey::generate(rng),
        }
    }

    /// Rebuild a stored key. Storage is responsible for keeping these bytes secret.
    pub fn from_secret_bytes(event_id: EventId, key_id: KeyId, secret: &[u8; 32]) -> Self {
        SigningKey {
            event_id,
            key_id,
            inner: ed25519_dalek::SigningKey::from_bytes(secret),
        }
    }

    /// The private key bytes, for storing. Named so that every use stands out in review.
    pub fn expose_secret_bytes(&self) -> [u8; 32] {
        self.inner.to_bytes()
    }

    pub fn event_id(&self) -> EventId {
        self.event_id
    }

    pub fn key_id(&self) -> KeyId {
        self.key_id
    }

    pub fn public_key(&self) -> PublicKey {
        PublicKey(self.inner.verifying_key())
    }

    /// The keyring entry door devices need for this key.
    pub fn keyring_entry(&self) -> KeyringEntry {
        KeyringEntry {
            key_id: self.key_id,
            public_key: self.public_key(),
            retired: false,
        }
    }
}

impl fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SigningKey")
            .field("event_id", &self.event_id)
            .field("key_id", &self.key_id)
            .field("secret", &"<redacted>")
            .finish()
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyringEntry {
    pub key_id: KeyId,
    pub public_key: PublicKey,
    /// Tickets signed with a retired key no longer verify.
    pub retired: bool,
}

/// The public keys of one event: all a door device needs to verify its tickets.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "KeyringData", into = "KeyringData")]
pub struct EventKeyring {
    event_id: EventId,
    tag: EventTag,
    keys: Vec<KeyringEntry>,
}

#[derive(Serialize, Deserialize)]
struct KeyringData {
    event_id: EventId,
    keys: Vec<KeyringEntry>,
}

impl TryFrom<KeyringData> for EventKeyring {
    type Error = DomainError;
    fn try_from(d: KeyringData) -> Result<Self, Self::Error> {
        EventKeyring::new(d.event_id, d.keys)
    }
}

impl From<EventKeyring> for KeyringData {
    fn from(k: EventKeyring) -> Self {
        KeyringData {
            event_id: k.event_id,
            keys: k.keys,
        }
    }
}

impl EventKeyring {
    /// Two entries with one key id would make verification depend on list order, so they are
    /// refused.
    pub fn new(event_id: EventId, keys: Vec<KeyringEntry>) -> Result<Self, DomainError> {
        for (i, k) in keys.iter().enumerate() {
            if keys[..i].iter().any(|o| o.key_id == k.key_id) {
                return Err(DomainError::invalid(
                    format!("keys[{i}].key_id"),
                    format!("key id {} is listed twice", k.key_id),
                ));
            }
        }
        Ok(EventKeyring {
            event_id,
            tag: EventTag::of(event_id),
            keys,
        })
    }

    pub fn event_id(&self) -> EventId {
        self.event_id
    }

    pub fn keys(&self) -> &[KeyringEntry] {
        &self.keys
    }

    pub fn get(&self, key_id: KeyId) -> Option<&KeyringEntry> {
        self.keys.iter().find(|k| k.key_id == key_id)
    }

    /// Verify a scanned secret; see [`verify`].
    pub fn verify(&self, text: &str) -> Result<TicketClaims, SecretError> {
        verify_bytes(text.as_bytes(), self)
    }
}

/// When a ticket may be used. `not_before` is inclusive and `not_after` exclusive, so a window
/// ending at 23:00:00 admits at 22:59:59 and refuses at 23:00:00, and back-to-back windows never
/// overlap. Bounds are whole seconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(try_from = "WindowData", into = "WindowData")]
pub struct ValidityWindow {
    not_before: Option<DateTime<Utc>>,
    not_after: Option<DateTime<Utc>>,
}

#[derive(Serialize, Deserialize)]
struct WindowData {
    not_before: Option<DateTime<Utc>>,
    not_after: Option<DateTime<Utc>>,
}

impl TryFrom<WindowData> for ValidityWindow {
    type Error = DomainError;
    fn try_from(d: WindowData) -> Result<Self, Self::Error> {
        ValidityWindow::new(d.not_before, d.not_after)
    }
}

impl From<ValidityWindow> for WindowData {
    fn from(w: ValidityWindow) -> Self {
        WindowData {
            not_before: w.not_before,
            not_after: w.not_after,
        }
    }
}

impl ValidityWindow {
    pub const ALWAYS: ValidityWindow = ValidityWindow {
        not_before: None,
        not_after: None,
    };

    /// Bounds are truncated to whole seconds (the precision of the secret) and must lie between
    /// 1970 and 2106.
    pub fn new(
        not_before: Option<DateTime<Utc>>,
        not_after: Option<DateTime<Utc>>,
    ) -> Result<Self, DomainError> {
        let not_before = not_before
            .map(|t| to_secs("not_before", t).map(from_secs))
            .transpose()?;
        let not_after = not_after
            .map(|t| to_secs("not_after", t).map(from_secs))
            .transpose()?;
        if let (Some(b), Some(a)) = (not_before, not_after) {
            if a <= b {
                return Err(DomainError::invalid(
                    "not_after",
                    "must be after not_before",
                ));
            }
        }
        Ok(ValidityWindow {
            not_before,
            not_after,
        })
    }

    pub fn not_before(&self) -> Option<DateTime<Utc>> {
        self.not_before
    }

    pub fn not_after(&self) -> Option<DateTime<Utc>> {
        self.not_after
    }

    pub fn contains(&self, t: DateTime<Utc>) -> bool {
        self.not_before.is_none_or(|b| t >= b) && self.not_after.is_none_or(|a| t < a)
    }
}

/// What the issuer signs into a ticket. The event is the signing key's event.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct TicketPayload {
    ticket_id: TicketId,
    ticket_type_id: TicketTypeId,
    issued_at: DateTime<Utc>,
    validity: ValidityWindow,
}

impl TicketPayload {
    /// `issued_at` is truncated to whole seconds and must lie between 1970 and 2106.
    pub fn new(
        ticket_id: TicketId,
        ticket_type_id: TicketTypeId,
        issued_at: DateTime<Utc>,
        validity: ValidityWindow,
    ) -> Result<Self, DomainError> {
        let issued_at = from_secs(to_secs("issued_at", issued_at)?);
        Ok(TicketPayload {
            ticket_id,
            ticket_type_id,
            issued_at,
            validity,
        })
    }

    /// The payload for a replacement secret of the same ticket. Its issue time is `now` but at
    /// least one second after this one's, so the two secrets never share a fingerprint and the
    /// old one can be revoked alone.
    pub fn reissued(&self, now: DateTime<Utc>) -> Result<Self, DomainError> {
        let floor = self.issued_at + chrono::Duration::seconds(1);
        Self::new(
            self.ticket_id,
            self.ticket_type_id,
            now.max(floor),
            self.validity,
        )
    }

    pub fn ticket_id(&self) -> TicketId {
        self.ticket_id
    }
    pub fn ticket_type_id(&self) -> TicketTypeId {
        self.ticket_type_id
    }
    pub fn issued_at(&self) -> DateTime<Utc> {
        self.issued_at
    }
    pub fn validity(&self) -> ValidityWindow {
        self.validity
    }

    fn to_bytes(self, key_id: KeyId, event_id: EventId) -> [u8; PAYLOAD_LEN] {
        let mut b = [0u8; PAYLOAD_LEN];
        b[0..2].copy_from_slice(&key_id.0.to_be_bytes());
        b[2..6].copy_from_slice(&secs(self.issued_at).to_be_bytes());
        b[6..10].copy_from_slice(&EventTag::of(event_id).0);
        b[10..26].copy_from_slice(self.ticket_id.0.as_bytes());
        b[26..42].copy_from_slice(self.ticket_type_id.0.as_bytes());
        b[42..46].copy_from_slice(&self.validity.not_before.map_or(0, secs).to_be_bytes());
        b[46..50].copy_from_slice(&self.validity.not_after.map_or(0, secs).to_be_bytes());
        b
    }
}

/// Identifies one issued secret (not one ticket) for revocation and block lists.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(value_type = String, example = "3f9a0c6e1b2d4a5f8e7d6c5b4a392817"))]
pub struct SecretFingerprint(pub [u8; 16]);

impl SecretFingerprint {
    fn of(event_id: EventId, payload: &[u8; PAYLOAD_LEN]) -> Self {
        let digest = Sha256::new()
            .chain_update(FINGERPRINT_DOMAIN)
            .chain_update(event_id.0.as_bytes())
            .chain_update(payload)
            .finalize();
        let mut fp = [0u8; 16];
        fp.copy_from_slice(&digest[..16]);
        SecretFingerprint(fp)
    }

    pub fn parse(field: &str, s: &str) -> Result<Self, DomainError> {
        hex_decode(s.trim())
            .and_then(|b| <[u8; 16]>::try_from(b).ok())
            .map(SecretFingerprint)
            .ok_or_else(|| {
                DomainError::invalid(field, "is not a secret fingerprint (32 hex digits)")
            })
    }

    pub fn to_hex(&self) -> String {
        hex_encode(&self.0)
    }
}

impl fmt::Display for SecretFingerprint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_hex())
    }
}

impl fmt::Debug for SecretFingerprint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SecretFingerprint({})", self.to_hex())
    }
}

impl TryFrom<String> for SecretFingerprint {
    type Error = DomainError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        Self::parse("fingerprint", &s)
    }
}

impl From<SecretFingerprint> for String {
    fn from(f: SecretFingerprint) -> String {
        f.to_hex()
    }
}

/// The facts a verified secret proves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TicketClaims {
    pub ticket_id: TicketId,
    pub event_id: EventId,
    pub ticket_type_id: TicketTypeId,
    pub key_id: KeyId,
    pub issued_at: DateTime<Utc>,
    pub validity: ValidityWindow,
    /// Look this up in the event's revocation and block lists.
    pub fingerprint: SecretFingerprint,
}

/// Sign a ticket for the key's event. Returns the text to put in the QR code.
pub fn issue(payload: &TicketPayload, key: &SigningKey) -> String {
    let bytes = payload.to_bytes(key.key_id, key.event_id);
    let signature = key.inner.sign(&signed_message(key.event_id, &bytes));
    let mut raw = [0u8; RAW_LEN];
    raw[..PAYLOAD_LEN].copy_from_slice(&bytes);
    raw[PAYLOAD_LEN..].copy_from_slice(&signature.to_bytes());
    let mut out = String::with_capacity(SECRET_LEN);
    out.push_str(PREFIX);
    base45_encode_into(&raw, &mut out);
    out
}

/// The fingerprint of an issued secret for `event_id`, read without checking the signature.
/// For issuers putting a secret they minted themselves on a revocation list; a door must use
/// [`verify`] and [`TicketClaims::fingerprint`] instead.
pub fn secret_fingerprint(text: &str, event_id: EventId) -> Result<SecretFingerprint, SecretError> {
    let raw = decode_raw(text.as_bytes())?;
    let payload = parse_payload(&raw)?;
    if payload.tag != EventTag::of(event_id) {
        return Err(SecretError::WrongEvent);
    }
    Ok(SecretFingerprint::of(event_id, &payload.bytes))
}

/// Read the event tag of a scanned text without verifying it, to pick the keyring when a device
/// serves several events. Nothing read here is trusted until [`verify`] succeeds.
pub fn peek_event_tag(text: &str) -> Result<EventTag, SecretError> {
    let raw = decode_raw(text.as_bytes())?;
    Ok(parse_payload(&raw)?.tag)
}

/// Verify scanned text against the event's public keys.
///
/// Checks run cheapest first: shape, event tag, key id, signature, then retirement. A retired
/// key is reported only for a genuine signature, so "retired key" in a log means a real old
/// ticket rather than a forgery.
pub fn verify(text: &str, keyring: &EventKeyring) -> Result<TicketClaims, SecretError> {
    verify_bytes(text.as_bytes(), keyring)
}

/// [`verify`] for input that may not be text at all (camera decoders, fuzzers).
pub fn verify_bytes(input: &[u8], keyring: &EventKeyring) -> Result<TicketClaims, SecretError> {
    let raw = decode_raw(input)?;
    let payload = parse_payload(&raw)?;
    if payload.tag != keyring.tag {
        return Err(SecretError::WrongEvent);
    }
    let entry = keyring
        .get(payload.key_id)
        .ok_or(SecretError::UnknownKey(payload.key_id))?;
    let mut sig = [0u8; SIGNATURE_LEN];
    sig.copy_from_slice(&raw[PAYLOAD_LEN..]);
    // Strict verification refuses small-order points and non-canonical scalars, so a secret has
    // exactly one valid signature per payload.
    entry
        .public_key
        .0
        .verify_strict(
            &signed_message(keyring.event_id, &payload.bytes),
            &Signature::from_bytes(&sig),
        )
        .map_err(|_| SecretError::BadSignature)?;
    if entry.retired {
        return Err(SecretError::RetiredKey(payload.key_id));
    }
    Ok(TicketClaims {
        ticket_id: TicketId(payload.ticket_id),
        event_id: keyring.event_id,
        ticket_type_id: TicketTypeId(payload.ticket_type_id),
        key_id: payload.key_id,
        issued_at: payload.issued_at,
        validity: payload.validity,
        fingerprint: SecretFingerprint::of(keyring.event_id, &payload.bytes),
    })
}

fn signed_message(
    event_id: EventId,
    payload: &[u8; PAYLOAD_LEN],
) -> [u8; SIGNED_DOMAIN.len() + 16 + PAYLOAD_LEN] {
    let mut m = [0u8; SIGNED_DOMAIN.len() + 16 + PAYLOAD_LEN];
    m[..SIGNED_DOMAIN.len()].copy_from_slice(SIGNED_DOMAIN);
    m[SIGNED_DOMAIN.len()..SIGNED_DOMAIN.len() + 16].copy_from_slice(event_id.0.as_bytes());
    m[SIGNED_DOMAIN.len() + 16..].copy_from_slice(payload);
    m
}

struct ParsedPayload {
    bytes: [u8; PAYLOAD_LEN],
    key_id: KeyId,
    issued_at: DateTime<Utc>,
    tag: EventTag,
    ticket_id: Uuid,
    ticket_type_id: Uuid,
    validity: ValidityWindow,
}

fn parse_payload(raw: &[u8; RAW_LEN]) -> Result<ParsedPayload, SecretError> {
    let mut bytes = [0u8; PAYLOAD_LEN];
    bytes.copy_from_slice(&raw[..PAYLOAD_LEN]);
    let u32_at =
        |i: usize| u32::from_be_bytes([bytes[i], bytes[i + 1], bytes[i + 2], bytes[i + 3]]);
    let uuid_at = |i: usize| {
        let mut u = [0u8; 16];
        u.copy_from_slice(&bytes[i..i + 16]);
        Uuid::from_bytes(u)
    };
    let issued = u32_at(2);
    if issued == 0 {
        return Err(SecretError::Malformed("no issue time"));
    }
    let (nb, na) = (u32_at(42), u32_at(46));
    if nb != 0 && na != 0 && na <= nb {
        return Err(SecretError::Malformed(
            "validity window ends before it starts",
        ));
    }
    Ok(ParsedPayload {
        key_id: KeyId(u16::from_be_bytes([bytes[0], bytes[1]])),
        issued_at: from_secs(issued),
        tag: EventTag([bytes[6], bytes[7], bytes[8], bytes[9]]),
        ticket_id: uuid_at(10),
        ticket_type_id: uuid_at(26),
        validity: ValidityWindow {
            not_before: (nb != 0).then(|| from_secs(nb)),
            not_after: (na != 0).then(|| from_secs(na)),
        },
        bytes,
    })
}

/// Strip what scanners add, check the prefix and decode the base45 body to the raw bytes.
fn decode_raw(input: &[u8]) -> Result<[u8; RAW_LEN], SecretError> {
    if input.len() > MAX_INPUT_LEN {
        return Err(SecretError::Malformed("too long"));
    }
    let is_noise = |b: &u8| matches!(b, b'\r' | b'\n' | b'\t' | 0);
    let start = input
        .iter()
        .position(|b| !is_noise(b))
        .unwrap_or(input.len());
    let end = input
        .iter()
        .rposition(|b| !is_noise(b))
        .map_or(start, |i| i + 1);
    let text = &input[start..end];
    if text.is_empty() {
        return Err(SecretError::Malformed("empty"));
    }
    let prefix = PREFIX.as_bytes();
    if text.len() < prefix.len() || !text[..prefix.len()].eq_ignore_ascii_case(prefix) {
        return Err(SecretError::Malformed("wrong prefix"));
    }
    let body = &text[prefix.len()..];
    if body.len() != BODY_LEN {
        return Err(SecretError::Malformed("wrong length"));
    }
    let mut raw = [0u8; RAW_LEN];
    for (group, out) in body.chunks_exact(3).zip(raw.chunks_exact_mut(2)) {
        let mut n: u32 = 0;
        for &c in group.iter().rev() {
            n = n * 45
                + base45_value(c).ok_or(SecretError::Malformed("character outside base45"))?;
        }
        let n = u16::try_from(n).map_err(|_| SecretError::Malformed("invalid base45 group"))?;
        out.copy_from_slice(&n.to_be_bytes());
    }
    Ok(raw)
}

const BASE45: &[u8; 45] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:";

/// Scanners in keyboard mode with caps lock on send lower case; base45 has no lower-case
/// letters, so reading them as upper case is unambiguous.
fn base45_value(c: u8) -> Option<u32> {
    match c {
        b'0'..=b'9' => Some((c - b'0') as u32),
        b'A'..=b'Z' => Some((c - b'A') as u32 + 10),
        b'a'..=b'z' => Some((c - b'a') as u32 + 10),
        b' ' => Some(36),
        b'$' => Some(37),
        b'%' => Some(38),
        b'*' => Some(39),
        b'+' => Some(40),
        b'-' => Some(41),
        b'.' => Some(42),
        b'/' => Some(43),
        b':' => Some(44),
        _ => None,
    }
}

/// RFC 9285: each pair of bytes becomes three characters, least significant digit first; an odd
/// last byte becomes two.
fn base45_encode_into(bytes: &[u8], out: &mut String) {
    for chunk in bytes.chunks(2) {
        let (mut n, digits) = match chunk.get(1) {
            Some(&b) => ((chunk[0] as u32) << 8 | b as u32, 3),
            None => (chunk[0] as u32, 2),
        };
        for _ in 0..digits {
            out.push(BASE45[(n % 45) as usize] as char);
            n /= 45;
        }
    }
}

/// General RFC 9285 decoder; the secret decoder above is the fixed-length special case.
#[cfg(test)]
fn base45_decode(s: &str) -> Option<Vec<u8>> {
    let b = s.as_bytes();
    if b.len() % 3 == 1 {
        return None;
    }
    let mut out = Vec::with_capacity(b.len() / 3 * 2 + 1);
    for group in b.chunks(3) {
        let mut n: u32 = 0;
        for &c in group.iter().rev() {
            if c.is_ascii_lowercase() {
                return None;
            }
            n = n * 45 + base45_value(c)?;
        }
        if group.len() == 3 {
            out.extend_from_slice(&u16::try_from(n).ok()?.to_be_bytes());
        } else {
            out.push(u8::try_from(n).ok()?);
        }
    }
    Some(out)
}

fn to_secs(field: &str, t: DateTime<Utc>) -> Result<u32, DomainError> {
    u32::try_from(t.timestamp())
        .ok()
        .filter(|s| *s != 0)
        .ok_or_else(|| DomainError::invalid(field, "must lie between 1970 and 2106"))
}

fn secs(t: DateTime<Utc>) -> u32 {
    // Only values that passed `to_secs` are ever stored in payloads and windows.
    t.timestamp() as u32
}

fn from_secs(s: u32) -> DateTime<Utc> {
    DateTime::from_timestamp(s as i64, 0).unwrap_or_default()
}

fn hex_encode(bytes: &[u8]) -> String {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push(HEX[(b >> 4) as usize] as char);
        s.push(HEX[(b & 15) as usize] as char);
    }
    s
}

fn hex_decode(s: &str) -> Option<Vec<u8>> {
    if s.len() % 2 != 0 || s.len() > 256 {
        return None;
    }
    let nibble = |c: u8| (c as char).to_digit(16).map(|d| d as u8);
    s.as_bytes()
        .chunks_exact(2)
        .map(|p| Some(nibble(p[0])? << 4 | nibble(p[1])?))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone as _;
    use rand::rngs::StdRng;
    use rand::{Rng, SeedableRng};

    fn t(y: i32, mo: u32, d: u32, h: u32, mi: u32, s: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(y, mo, d, h, mi, s).unwrap()
    }

    fn event(n: u8) -> EventId {
        EventId(Uuid::from_bytes([n; 16]))
    }

    fn key(event_id: EventId, id: u16, seed: u8) -> SigningKey {
        SigningKey::from_secret_bytes(event_id, KeyId(id), &[seed; 32])
    }

    fn payload(n: u8) -> TicketPayload {
        TicketPayload::new(
            TicketId(Uuid::from_bytes([n; 16])),
            TicketTypeId(Uuid::from_bytes([n.wrapping_add(100); 16])),
            t(2026, 4, 1, 12, 0, 0),
            ValidityWindow::new(Some(t(2026, 5, 1, 18, 0, 0)), Some(t(2026, 5, 2, 4, 0, 0)))
                .unwrap(),
        )
        .unwrap()
    }

    fn ring(k: &SigningKey) -> EventKeyring {
        EventKeyring::new(k.event_id(), vec![k.keyring_entry()]).unwrap()
    }

    fn raw_of(text: &str) -> [u8; RAW_LEN] {
        decode_raw(text.as_bytes()).unwrap()
    }

    fn text_of(raw: &[u8]) -> String {
        let mut s = PREFIX.to_string();
        base45_encode_into(raw, &mut s);
        s
    }

    #[test]
    fn base45_matches_rfc_9285_examples() {
        for (plain, enc) in [
            ("AB", "BB8"),
            ("Hello!!", "%69 VD92EX0"),
            ("base-45", "UJCLQE7W581"),
            ("ietf!", "QED8WEX0"),
            ("", ""),
        ] {
            let mut s = String::new();
            base45_encode_into(plain.as_bytes(), &mut s);
            assert_eq!(s, enc);
            assert_eq!(base45_decode(enc).unwrap(), plain.as_bytes());
        }
        // 65536 does not fit two bytes; a lone character is not a group.
        assert_eq!(base45_decode("GGW"), None);
        assert_eq!(base45_decode("A"), None);
        assert_eq!(base45_decode("ab8"), None);
    }

    #[test]
    fn issue_and_verify_round_trip_in_alphanumeric_mode() {
        let k = key(event(1), 7, 1);
        let p = payload(1);
        let s = issue(&p, &k);
        assert_eq!(s.len(), SECRET_LEN);
        assert_eq!(SECRET_LEN, 175);
        assert!(s.starts_with(PREFIX));
        assert!(s.bytes().all(|b| BASE45.contains(&b)), "{s}");
        let c = verify(&s, &ring(&k)).unwrap();
        assert_eq!(c.ticket_id, p.ticket_id());
        assert_eq!(c.ticket_type_id, p.ticket_type_id());
        assert_eq!(c.event_id, event(1));
        assert_eq!(c.key_id, KeyId(7));
        assert_eq!(c.issued_at, t(2026, 4, 1, 12, 0, 0));
        assert_eq!(c.validity, p.validity());
        assert_eq!(c.fingerprint, secret_fingerprint(&s, event(1)).unwrap());
        assert_eq!(peek_event_tag(&s).unwrap(), EventTag::of(event(1)));
        // Deterministic: the same payload and key give the same text.
        assert_eq!(issue(&p, &k), s);
        // Without a window the bounds read back as open.
        let open = TicketPayload::new(
            p.ticket_id(),
            p.ticket_type_id(),
            p.issued_at(),
            ValidityWindow::ALWAYS,
        )
        .unwrap();
        let c = verify(&issue(&open, &k), &ring(&k)).unwrap();
        assert_eq!(c.validity, ValidityWindow::ALWAYS);
    }

    #[test]
    fn keys_rotate_and_retire() {
        let old = key(event(1), 1, 1);
        let new = key(event(1), 2, 2);
        let old_ticket = issue(&payload(1), &old);
        let new_ticket = issue(&payload(2), &new);
        let both =
            EventKeyring::new(event(1), vec![old.keyring_entry(), new.keyring_entry()]).unwrap();
        assert!(verify(&old_ticket, &both).is_ok());
        assert!(verify(&new_ticket, &both).is_ok());

        let retired = EventKeyring::new(
            event(1),
            vec![
                KeyringEntry {
                    retired: true,
                    ..old.keyring_entry()
                },
                new.keyring_entry(),
            ],
        )
        .unwrap();
        assert_eq!(
            verify(&old_ticket, &retired),
            Err(SecretError::RetiredKey(KeyId(1)))
        );
        assert!(verify(&new_ticket, &retired).is_ok());

        let only_new = ring(&new);
        assert_eq!(
            verify(&old_ticket, &only_new),
            Err(SecretError::UnknownKey(KeyId(1)))
        );

        // A forgery naming a retired key is reported as a forgery, not as an old ticket.
        let mut raw = raw_of(&old_ticket);
        raw[PAYLOAD_LEN + 5] ^= 1;
        assert_eq!(
            verify(&text_of(&raw), &retired),
            Err(SecretError::BadSignature)
        );
    }

    #[test]
    fn another_events_ticket_or_key_is_refused() {
        let a = key(event(1), 1, 1);
        let b = key(event(2), 1, 2);
        let ticket_b = issue(&payload(1), &b);
        assert_eq!(verify(&ticket_b, &ring(&a)), Err(SecretError::WrongEvent));
        assert_eq!(
            secret_fingerprint(&ticket_b, event(1)),
            Err(SecretError::WrongEvent)
        );
        // Event B's key material used to sign a ticket that claims event A, under a key id that
        // event A also uses.
        let b_posing_as_a =
            SigningKey::from_secret_bytes(event(1), KeyId(1), &b.expose_secret_bytes());
        let forged = issue(&payload(1), &b_posing_as_a);
        assert_eq!(verify(&forged, &ring(&a)), Err(SecretError::BadSignature));
        // A keyring for B holding A's public key still binds B's full event id.
        let mixed = EventKeyring::new(event(2), vec![a.keyring_entry()]).unwrap();
        let ticket_a = issue(&payload(1), &a);
        assert_eq!(verify(&ticket_a, &mixed), Err(SecretError::WrongEvent));
    }

    #[test]
    fn every_single_bit_flip_is_refused() {
        let k = key(event(1), 3, 1);
        let s = issue(&payload(1), &k);
        let r = ring(&k);
        let raw = raw_of(&s);
        for i in 0..RAW_LEN * 8 {
            let mut m = raw;
            m[i / 8] ^= 1 << (i % 8);
            let got = verify(&text_of(&m), &r);
            assert!(got.is_err(), "bit {i} flipped still verifies");
            if i / 8 >= PAYLOAD_LEN {
                assert_eq!(got, Err(SecretError::BadSignature), "bit {i}");
            }
        }
    }

    #[test]
    fn malformed_inputs_are_refused_without_panicking() {
        let k = key(event(1), 3, 1);
        let r = ring(&k);
        let s = issue(&payload(1), &k);
        let body = &s[PREFIX.len()..];
        let malformed =
            |input: &[u8]| matches!(verify_bytes(input, &r), Err(SecretError::Malformed(_)));
        assert!(malformed(b""));
        assert!(malformed(b"\r\n"));
        assert!(malformed(&vec![b'A'; 1 << 20]));
        assert!(malformed(&[0xff, 0xfe, 0x00, 0x80, 0xc3]));
        assert!(malformed(format!("AT2:{body}").as_bytes()));
        assert!(malformed(format!("XX1:{body}").as_bytes()));
        assert!(malformed(body.as_bytes()));
        assert!(malformed(b"https://example.org/ticket/123"));
        assert!(malformed(format!("{s}A").as_bytes()));
        let mut bin = s.clone().into_bytes();
        bin[50] = 0xC3;
        assert!(malformed(&bin));
        // A group above 65535 ("GGW") is not base45.
        let bad_group = format!("{}GGW{}", PREFIX, &body[3..]);
        assert!(malformed(bad_group.as_bytes()));
        for n in 0..s.len() {
            assert_eq!(
                verify(&s[..n], &r),
                Err(SecretError::Malformed(if n == 0 {
                    "empty"
                } else if n < PREFIX.len() {
                    "wrong prefix"
                } else {
                    "wrong length"
                }))
            );
        }
    }

    #[test]
    fn valid_base45_with_garbage_payload_is_refused() {
        let k = key(event(1), 3, 1);
        let r = ring(&k);
        let mut rng = StdRng::seed_from_u64(9);
        for _ in 0..200 {
            let mut raw = [0u8; RAW_LEN];
            rng.fill(&mut raw[..]);
            assert!(verify(&text_of(&raw), &r).is_err());
            // Garbage that names the right event and key still needs a real signature.
            raw[0..2].copy_from_slice(&3u16.to_be_bytes());
            raw[2] = 1;
            raw[6..10].copy_from_slice(&EventTag::of(event(1)).0);
            raw[42..50].fill(0);
            assert_eq!(verify(&text_of(&raw), &r), Err(SecretError::BadSignature));
        }
        // A window that ends before it starts is malformed even before the signature is read.
        let mut raw = raw_of(&issue(&payload(1), &k));
        raw[46..50].copy_from_slice(&1u32.to_be_bytes());
        assert_eq!(
            verify(&text_of(&raw), &r),
            Err(SecretError::Malformed(
                "validity window ends before it starts"
            ))
        );
    }

    #[test]
    fn scanner_noise_is_tolerated() {
        let k = key(event(1), 3, 1);
        let r = ring(&k);
        let s = issue(&payload(1), &k);
        let want = verify(&s, &r).unwrap();
        assert_eq!(verify(&format!("{s}\r\n"), &r).unwrap(), want);
        assert_eq!(verify(&format!("\n{s}\t"), &r).unwrap(), want);
        assert_eq!(verify(&s.to_lowercase(), &r).unwrap(), want);

        // Forms and shells trim spaces; base45 output never starts or ends with one.
        let p = payload(1);
        for i in 0..2000 {
            let q = TicketPayload::new(
                p.ticket_id(),
                p.ticket_type_id(),
                p.issued_at() + chrono::Duration::seconds(i),
                p.validity(),
            )
            .unwrap();
            let s = issue(&q, &k);
            assert_eq!(s.trim(), s);
        }
    }

    #[test]
    fn reissuing_gives_a_new_fingerprint_so_the_old_secret_alone_can_be_revoked() {
        let k = key(event(1), 3, 1);
        let r = ring(&k);
        let first = payload(1);
        // Reissued within the same second as the original.
        let second = first.reissued(first.issued_at()).unwrap();
        assert_eq!(
            second.issued_at(),
            first.issued_at() + chrono::Duration::seconds(1)
        );
        assert_eq!(second.ticket_id(), first.ticket_id());
        let later = first.reissued(t(2026, 4, 20, 9, 0, 0)).unwrap();
        assert_eq!(later.issued_at(), t(2026, 4, 20, 9, 0, 0));

        let old = verify(&issue(&first, &k), &r).unwrap();
        let new = verify(&issue(&second, &k), &r).unwrap();
        assert_eq!(old.ticket_id, new.ticket_id);
        assert_ne!(old.fingerprint, new.fingerprint);
        let revoked = [secret_fingerprint(&issue(&first, &k), event(1)).unwrap()];
        assert!(revoked.contains(&old.fingerprint));
        assert!(!revoked.contains(&new.fingerprint));
        // The same ticket under another key is another secret too.
        let other_key = key(event(1), 4, 2);
        let fp = secret_fingerprint(&issue(&first, &other_key), event(1)).unwrap();
        assert_ne!(fp, old.fingerprint);
        // Fingerprints travel as hex.
        assert_eq!(
            SecretFingerprint::parse("fp", &old.fingerprint.to_hex()).unwrap(),
            old.fingerprint
        );
        assert!(SecretFingerprint::parse("fp", "abc").is_err());
        let json = serde_json::to_string(&old.fingerprint).unwrap();
        assert_eq!(
            serde_json::from_str::<SecretFingerprint>(&json).unwrap(),
            old.fingerprint
        );
    }

    #[test]
    fn validity_window_bounds_are_checked_to_the_second() {
        let nb = t(2026, 5, 1, 18, 0, 0);
        let na = t(2026, 5, 2, 4, 0, 0);
        let w = ValidityWindow::new(Some(nb), Some(na)).unwrap();
        let s = chrono::Duration::seconds(1);
        assert!(!w.contains(nb - s));
        assert!(!w.contains(nb - chrono::Duration::nanoseconds(1)));
        assert!(w.contains(nb));
        assert!(w.contains(na - s));
        assert!(w.contains(na - chrono::Duration::nanoseconds(1)));
        assert!(!w.contains(na));
        assert!(ValidityWindow::ALWAYS.contains(t(1990, 1, 1, 0, 0, 0)));
        // Sub-second bounds are cut to the second they fall in.
        let w = ValidityWindow::new(Some(nb + chrono::Duration::milliseconds(900)), None).unwrap();
        assert_eq!(w.not_before(), Some(nb));

        // Deserialising checks the same rules as `new`.
        let full = ValidityWindow::new(Some(nb), Some(na)).unwrap();
        let json = serde_json::to_string(&full).unwrap();
        assert_eq!(serde_json::from_str::<ValidityWindow>(&json).unwrap(), full);
        let reversed =
            r#"{"not_before":"2026-05-02T02:00:00Z","not_after":"2026-05-01T16:00:00Z"}"#;
        assert!(serde_json::from_str::<ValidityWindow>(reversed).is_err());
        assert_eq!(
            ValidityWindow::new(Some(na), Some(nb)).unwrap_err().field(),
            "not_after"
        );
        assert_eq!(
            ValidityWindow::new(Some(nb), Some(nb)).unwrap_err().field(),
            "not_after"
        );
        assert_eq!(
            ValidityWindow::new(Some(t(1969, 1, 1, 0, 0, 0)), None)
                .unwrap_err()
                .field(),
            "not_before"
        );
        assert_eq!(
            ValidityWindow::new(None, Some(t(2107, 1, 1, 0, 0, 0)))
                .unwrap_err()
                .field(),
            "not_after"
        );
        let id = TicketId(Uuid::nil());
        let tt = TicketTypeId(Uuid::nil());
        assert_eq!(
            TicketPayload::new(id, tt, t(2200, 1, 1, 0, 0, 0), ValidityWindow::ALWAYS)
                .unwrap_err()
                .field(),
            "issued_at"
        );
    }

    #[test]
    fn keys_print_redacted_and_parse_strictly() {
        let k = key(event(1), 3, 0xAB);
        let dbg = format!("{k:?}");
        assert!(dbg.contains("redacted"));
        assert!(!dbg.to_lowercase().contains("abab"), "{dbg}");
        assert!(!dbg.contains(&k.public_key().to_hex()));

        let pk = k.public_key();
        assert_eq!(PublicKey::parse_hex("pk", &pk.to_hex()).unwrap(), pk);
        assert_eq!(PublicKey::from_bytes("pk", &pk.to_bytes()).unwrap(), pk);
        assert_eq!(
            PublicKey::from_bytes("pk", &[1; 31]).unwrap_err().field(),
            "pk"
        );
        assert!(PublicKey::parse_hex("pk", "zz").is_err());
        // The identity point is a valid encoding but a weak key.
        let mut identity = [0u8; 32];
        identity[0] = 1;
        assert!(PublicKey::from_bytes("pk", &identity).is_err());

        let dup =
            EventKeyring::new(event(1), vec![k.keyring_entry(), k.keyring_entry()]).unwrap_err();
        assert_eq!(dup.field(), "keys[1].key_id");
        let r = ring(&k);
        let json = serde_json::to_string(&r).unwrap();
        assert_eq!(serde_json::from_str::<EventKeyring>(&json).unwrap(), r);
        let dup_json = json.replace(
            "}]",
            &format!("}},{}]", serde_json::to_string(&k.keyring_entry()).unwrap()),
        );
        assert!(serde_json::from_str::<EventKeyring>(&dup_json).is_err());

        let generated = SigningKey::generate(event(1), KeyId(9), &mut rand::rngs::OsRng);
        let restored =
            SigningKey::from_secret_bytes(event(1), KeyId(9), &generated.expose_secret_bytes());
        assert_eq!(restored.public_key(), generated.public_key());
        assert_ne!(generated.public_key(), k.public_key());
    }

    /// Stable-Rust fuzzing of the decoder: random mutations of valid secrets, random bytes and
    /// huge inputs. It must never panic, and nothing but an unchanged ticket may verify.
    /// `ADMIT_FUZZ_ITERATIONS` and `ADMIT_FUZZ_SEED` widen the run in CI (see fuzz/README.md).
    #[test]
    fn fuzz_decoder_with_random_mutations() {
        let iterations: u64 = std::env::var("ADMIT_FUZZ_ITERATIONS")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(20_000);
        let seed: u64 = std::env::var("ADMIT_FUZZ_SEED")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(0x5EED_AD17);
        let mut rng = StdRng::seed_from_u64(seed);

        let k1 = key(event(1), 1, 1);
        let k2 = key(event(1), 2, 2);
        let foreign = key(event(2), 1, 3);
        let r = EventKeyring::new(
            event(1),
            vec![
                k1.keyring_entry(),
                KeyringEntry {
                    retired: true,
                    ..k2.keyring_entry()
                },
            ],
        )
        .unwrap();
        let seeds: Vec<String> = vec![
            issue(&payload(1), &k1),
            issue(&payload(2), &k1),
            issue(&payload(3), &k2),
            issue(&payload(4), &foreign),
        ];
        let genuine: Vec<TicketClaims> = seeds.iter().filter_map(|s| verify(s, &r).ok()).collect();
        assert_eq!(genuine.len(), 2);

        for i in 0..iterations {
            let mut input = seeds[rng.gen_range(0..seeds.len())].clone().into_bytes();
            for _ in 0..rng.gen_range(1..=3) {
                mutate(&mut rng, &mut input, &seeds);
            }
            let result = verify_bytes(&input, &r);
            if let Ok(c) = result {
                assert!(
                    genuine.contains(&c),
                    "iteration {i} (seed {seed}) verified a ticket nobody issued: {:?}",
                    String::from_utf8_lossy(&input)
                );
            }
            let text = String::from_utf8_lossy(&input);
            let _ = peek_event_tag(&text);
            let _ = secret_fingerprint(&text, event(1));
        }
    }

    fn mutate(rng: &mut StdRng, input: &mut Vec<u8>, seeds: &[String]) {
        let pos = |rng: &mut StdRng, len: usize| rng.gen_range(0..len.max(1));
        match rng.gen_range(0..12) {
            0 if !input.is_empty() => {
                let i = pos(rng, input.len());
                input[i] ^= 1 << rng.gen_range(0..8);
            }
            1 if !input.is_empty() => {
                let i = pos(rng, input.len());
                input[i] = rng.gen();
            }
            2 if !input.is_empty() => {
                let i = pos(rng, input.len());
                input[i] = BASE45[rng.gen_range(0..45)];
            }
            3 => input.truncate(pos(rng, input.len() + 1)),
            4 => {
                let n = rng.gen_range(1..20);
                input.extend((0..n).map(|_| rng.gen::<u8>()));
            }
            5 => {
                let i = pos(rng, input.len() + 1).min(input.len());
                input.insert(i, rng.gen());
            }
            6 if !input.is_empty() => {
                let a = pos(rng, input.len());
                let b = rng.gen_range(a..=input.len());
                input.drain(a..b);
            }
            7 => {
                let n = rng.gen_range(0..400);
                *input = (0..n).map(|_| rng.gen()).collect();
            }
            8 => {
                *input = PREFIX.as_bytes().to_vec();
                input.extend((0..BODY_LEN).map(|_| BASE45[rng.gen_range(0..45)]));
            }
            9 => {
                let other = seeds[rng.gen_range(0..seeds.len())].as_bytes();
                let cut = rng.gen_range(0..other.len()).min(input.len());
                input.truncate(cut);
                input.extend_from_slice(&other[cut..]);
            }
            10 => {
                // Below the text layer: change decoded bytes and re-encode, so mutations reach
                // the payload parser and the signature check instead of dying in base45.
                if let Ok(mut raw) = decode_raw(input) {
                    let i = rng.gen_range(0..RAW_LEN);
                    raw[i] ^= 1 << rng.gen_range(0..8);
                    *input = text_of(&raw).into_bytes();
                }
            }
            _ => {
                if rng.gen_ratio(1, 50) {
                    *input = input.repeat((1 << 20) / input.len().max(1) + 1);
                }
            }
        }
    }
}

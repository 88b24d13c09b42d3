//! Outgoing e-mail: order confirmations with the tickets attached, and waiting-list offers.
//!
//! A sale never waits for a mail server. The store queues a message in the sale's own
//! transaction (or [`Admit::resend_confirmation`] queues one later), and a background worker
//! calls [`Admit::deliver_mail`] every so often. Each message is claimed before it is sent, by
//! bumping its version with a short lease, so two devices sending from one PostgreSQL database
//! never both send it; a message whose sender died is picked up again when its lease runs out.
//! Failures are retried with backoff (`mail_backoff`) until `MAIL_MAX_ATTEMPTS`, or given up at
//! once when the server refuses the message for good (a 5xx reply).
//!
//! The message is composed when it is sent, from the order as it is then: a ticket cancelled
//! in the meantime is not attached, and an order cancelled in the meantime is not sent at all.

use std::time::Duration as StdDuration;

use chrono::{DateTime, Duration, Utc};
use lettre::message::header::ContentType;
use lettre::message::{Attachment, Mailbox, MultiPart, SinglePart};
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Tls, TlsParameters};
use lettre::{Address, AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use serde::{Deserialize, Serialize};
use serde_json::json;

use admit_core::commerce::{
    mail_backoff, MailKind, MailMessage, MailStatus, WaitlistStatus, MAIL_MAX_ATTEMPTS,
};
use admit_core::model::*;
use admit_core::role::Action;
use admit_core::text::{Email, Name};
use admit_core::time::TimeZone;
use admit_core::*;
use admit_store::StoreError;

use crate::{optional, Admit, ApiError, ApiResult, Session};

/// Messages one [`Admit::deliver_mail`] run handles; the rest wait for the next run.
pub const MAIL_BATCH: u32 = 50;
/// How long one SMTP step (connecting, each command, each write) may take.
const SMTP_TIMEOUT: StdDuration = StdDuration::from_secs(20);
/// How long sending one message may take in all, attachment included.
const SEND_LIMIT: StdDuration = StdDuration::from_secs(120);
/// How long a claimed message is left alone by other senders, in minutes. Far above
/// `SEND_LIMIT`, so a message is only taken over when its sender has stopped.
const LEASE_MINUTES: i64 = 5;
/// Longest `last_error` kept, in characters.
const MAX_ERROR_CHARS: usize = 300;
/// Longest user name or password accepted for the mail server.
const MAX_SECRET_CHARS: usize = 512;

/// How the connection to the mail server is protected.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub enum SmtpSecurity {
    /// Plain text (a relay on this machine or the local network).
    #[serde(rename = "none")]
    None,
    /// Plain connection upgraded with STARTTLS, which must succeed (usually port 587).
    #[serde(rename = "starttls")]
    Starttls,
    /// TLS from the first byte (usually port 465).
    #[serde(rename = "tls")]
    Tls,
}

impl SmtpSecurity {
    pub fn as_str(&self) -> &'static str {
        match self {
            SmtpSecurity::None => "none",
            SmtpSecurity::Starttls => "starttls",
            SmtpSecurity::Tls => "tls",
        }
    }

    pub fn parse(field: &str, s: &str) -> ApiResult<Self> {
        match s.trim().to_ascii_lowercase().as_str() {
            "none" => Ok(SmtpSecurity::None),
            "starttls" => Ok(SmtpSecurity::Starttls),
            "tls" => Ok(SmtpSecurity::Tls),
            _ => Err(ApiError::invalid(
                field,
                "must be one of none, starttls, tls",
            )),
        }
    }

    /// The port used when none is given.
    pub fn default_port(&self) -> u16 {
        match self {
            SmtpSecurity::None => 25,
            SmtpSecurity::Starttls => 587,
            SmtpSecurity::Tls => 465,
        }
    }
}

/// The outgoing mail server as an owner types it in the settings.
#[derive(Clone, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct SmtpInput {
    pub host: String,
    /// Default: 25, 587 or 465 by `security`.
    #[serde(default)]
    pub port: Option<i64>,
    /// none, starttls (default) or tls
    #[serde(default)]
    pub security: Option<String>,
    /// Log in with these; both or neither.
    #[serde(default)]
    pub username: Option<String>,
    #[serde(default)]
    pub password: Option<String>,
    /// The sender the buyers see.
    pub from_address: String,
    #[serde(default)]
    pub from_name: Option<String>,
}

impl std::fmt::Debug for SmtpInput {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SmtpInput")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("security", &self.security)
            .field("username", &self.username)
            .field("password", &self.password.as_ref().map(|_| "<redacted>"))
            .field("from_address", &self.from_address)
            .field("from_name", &self.from_name)
            .finish()
    }
}

/// A checked outgoing mail server: what [`Admit::deliver_mail`] and [`Admit::send_test_mail`]
/// send through.
#[derive(Clone, PartialEq, Eq)]
pub struct SmtpSettings {
    pub host: String,
    pub port: u16,
    pub security: SmtpSecurity,
    pub username: Option<String>,
    pub password: Option<String>,
    pub from_address: Email,
    pub from_name: Option<String>,
}

impl std::fmt::Debug for SmtpSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SmtpSettings")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("security", &self.security)
            .field("username", &self.username)
            .field("password", &self.password.as_ref().map(|_| "<redacted>"))
            .field("from_address", &self.from_address)
            .field("from_name", &self.from_name)
            .finish()
    }
}

/// Refuse control characters and overlong values in a setting that goes into SMTP commands.
fn plain_setting(field: &str, s: &str, max: usize) -> ApiResult<()> {
    if s.chars().count() > max {
        return Err(ApiError::invalid(
            field,
            format!("is longer than {max} characters"),
        ));
    }
    if let Some(c) = s.chars().find(|c| c.is_control()) {
        return Err(ApiError::invalid(
            field,
            format!("contains a control character (U+{:04X})", c as u32),
        ));
    }
    Ok(())
}

/// Whether a host is this machine, where a password may travel without TLS.
fn is_loopback(host: &str) -> bool {
    let h = host.trim_start_matches('[').trim_end_matches(']');
    h.eq_ignore_ascii_case("localhost")
        || h.parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

impl SmtpSettings {
    /// Check what was typed in the settings, naming the field at fault.
    pub fn parse(input: &SmtpInput) -> ApiResult<SmtpSettings> {
        // Bounded before anything else so a huge paste costs nothing.
        if input.host.len() > 1_024 {
            return Err(ApiError::invalid("host", "is longer than 253 characters"));
        }
        let host = input.host.trim();
        if host.is_empty() {
            return Err(ApiError::invalid("host", "must not be empty"));
        }
        plain_setting("host", host, 253)?;
        if !host
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_' | ':' | '[' | ']'))
        {
            return Err(ApiError::invalid(
                "host",
                "must be a host name or IP address (letters a–z, digits, '.', '-')",
            ));
        }
        let security = match input.security.as_deref().map(str::trim) {
            None | Some("") => SmtpSecurity::Starttls,
            Some(s) if s.len() > 32 => {
                return Err(ApiError::invalid(
                    "security",
                    "must be one of none, starttls, tls",
                ))
            }
            Some(s) => SmtpSecurity::parse("security", s)?,
        };
        let port = match input.port {
            None => security.default_port(),
            Some(p) => u16::try_from(p)
                .ok()
                .filter(|p| *p != 0)
                .ok_or_else(|| ApiError::invalid("port", "must be between 1 and 65535"))?,
        };
        if security != SmtpSecurity::None && TlsParameters::new(host.to_string()).is_err() {
            return Err(ApiError::invalid(
                "host",
                "is not a name a TLS certificate can be checked against",
            ));
        }
        let secret = |field: &str, v: &Option<String>| -> ApiResult<Option<String>> {
            match v.as_deref() {
                None | Some("") => Ok(None),
                Some(s) if s.len() > MAX_SECRET_CHARS * 4 => Err(ApiError::invalid(
                    field,
                    format!("is longer than {MAX_SECRET_CHARS} characters"),
                )),
                Some(s) => {
                    plain_setting(field, s, MAX_SECRET_CHARS)?;
                    Ok(Some(s.to_string()))
                }
            }
        };
        let username = secret("username", &input.username)?
            .map(|u| u.trim().to_string())
            .filter(|u| !u.is_empty());
        // Kept exactly as typed: spaces may be part of a password.
        let password = secret("password", &input.password)?;
        match (&username, &password) {
            (None, Some(_)) => {
                return Err(ApiError::invalid(
                    "username",
                    "must be given with a password",
                ))
            }
            (Some(_), None) => {
                return Err(ApiError::invalid(
                    "password",
                    "must be given with a user name",
                ))
            }
            (Some(_), Some(_)) if security == SmtpSecurity::None && !is_loopback(host) => {
                return Err(ApiError::invalid(
                    "security",
                    "a password may only be sent over starttls or tls",
                ))
            }
            _ => {}
        }
        let from_address = Email::parse("from_address", &input.from_address)?;
        if from_address.as_str().parse::<Address>().is_err() {
            return Err(ApiError::invalid(
                "from_address",
                "is not an address a mail server accepts",
            ));
        }
        let from_name = optional(&input.from_name, |v| Name::parse("from_name", v))?
            .map(|n| n.as_str().to_string());
        Ok(SmtpSettings {
            host: host.to_string(),
            port,
            security,
            username,
            password,
            from_address,
            from_name,
        })
    }

    fn transport(&self) -> Result<AsyncSmtpTransport<Tokio1Executor>, String> {
        let tls = match self.security {
            SmtpSecurity::None => Tls::None,
            SmtpSecurity::Starttls => {
                Tls::Required(TlsParameters::new(self.host.clone()).map_err(|e| short_error(&e))?)
            }
            SmtpSecurity::Tls => {
                Tls::Wrapper(TlsParameters::new(self.host.clone()).map_err(|e| short_error(&e))?)
            }
        };
        let mut builder = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(&self.host)
            .port(self.port)
            .tls(tls)
            .timeout(Some(SMTP_TIMEOUT));
        if let (Some(user), Some(password)) = (&self.username, &self.password) {
            builder = builder.credentials(Credentials::new(user.clone(), password.clone()));
        }
        Ok(builder.build())
    }

    fn sender(&self) -> Result<Mailbox, String> {
        let address = self
            .from_address
            .as_str()
            .parse::<Address>()
            .map_err(|e| format!("the sender address is not accepted: {e}"))?;
        Ok(Mailbox::new(self.from_name.clone(), address))
    }
}

/// What one [`Admit::deliver_mail`] run did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct DeliveryRun {
    pub sent: u32,
    /// Failed this time, queued again for later.
    pub retried: u32,
    /// Given up: refused for good, out of attempts, or no longer wanted.
    pub failed: u32,
}

/// Why a message was not sent this time.
#[derive(Debug)]
enum Failure {
    /// Worth another attempt later (server away, 4xx reply, database busy).
    Transient(String),
    /// Never worth another attempt (5xx reply, order cancelled, bad address).
    Permanent(String),
}

/// One line of at most `MAX_ERROR_CHARS` characters, for `last_error` and error messages:
/// servers answer with several lines, and an error must never fill the database.
fn short_error(e: &dyn std::fmt::Display) -> String {
    let text = e.to_string();
    let mut out = String::new();
    let mut chars = 0;
    for word in text
        .split(|c: char| c.is_whitespace() || c.is_control())
        .filter(|w| !w.is_empty())
    {
        let needed = word.chars().count() + usize::from(!out.is_empty());
        if chars + needed > MAX_ERROR_CHARS {
            let room = MAX_ERROR_CHARS.saturating_sub(chars + 2);
            if room > 0 {
                if !out.is_empty() {
                    out.push(' ');
                }
                out.extend(word.chars().take(room));
            }
            out.push('…');
            break;
        }
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(word);
        chars += needed;
    }
    if out.is_empty() {
        out.push_str("unknown error");
    }
    out
}

/// A time as the buyer reads it: in the event's own zone, with the zone named.
fn local_time(t: DateTime<Utc>, zone: TimeZone) -> String {
    format!(
        "{} ({})",
        t.with_timezone(&zone.0).format("%A, %-d %B %Y, %H:%M"),
        zone.name()
    )
}

fn not_found_is_permanent(what: &str) -> impl Fn(StoreError) -> Failure + '_ {
    move |e| match e {
        StoreError::NotFound { .. } => Failure::Permanent(format!("{what} no longer exists")),
        e => Failure::Transient(short_error(&ApiError::from(e))),
    }
}

fn recipient(to: &Email) -> Result<Mailbox, Failure> {
    to.as_str()
        .parse::<Address>()
        .map(|a| Mailbox::new(None, a))
        .map_err(|_| Failure::Permanent("the recipient address is not accepted".into()))
}

/// Why one message did not go out.
struct SendError {
    message: String,
    /// The server refused it for good (a 5xx reply).
    permanent: bool,
    /// The server was lost (network, TLS, timeout), as opposed to a reply about the message.
    connection: bool,
}

/// Send one message, within `SEND_LIMIT` in all.
async fn send(
    transport: &AsyncSmtpTransport<Tokio1Executor>,
    message: Message,
) -> Result<(), SendError> {
    match tokio::time::timeout(SEND_LIMIT, transport.send(message)).await {
        Ok(Ok(_)) => Ok(()),
        Ok(Err(e)) => Err(SendError {
            message: short_error(&e),
            permanent: e.is_permanent(),
            connection: !e.is_permanent() && !e.is_transient(),
        }),
        Err(_) => Err(SendError {
            message: "the mail server took too long".into(),
            permanent: false,
            connection: true,
        }),
    }
}

impl Admit {
    /// Send the mail that is due: one batch of at most [`MAIL_BATCH`] messages. For the
    /// background worker; it never blocks a sale and only fails when the queue cannot be read.
    ///
    /// Before the batch the server is tried once (connect, TLS, log in): if that fails, every
    /// message of the batch is counted as a failed attempt with that error and nothing is
    /// sent, so a wrong password or a server that is down never fails mail for good before
    /// `MAIL_MAX_ATTEMPTS`, and a dead server costs one connection per run, not one per
    /// message.
    pub async fn deliver_mail(
        &self,
        smtp: &SmtpSettings,
        now: DateTime<Utc>,
    ) -> ApiResult<DeliveryRun> {
        let started = std::time::Instant::now();
        let mut run = DeliveryRun::default();
        let due = self.store.due_mail(now, MAIL_BATCH).await?;
        if due.is_empty() {
            return Ok(run);
        }
        let transport = smtp.transport();
        // Why the server cannot be used in this run, once known.
        let mut server_down: Option<String> = match &transport {
            Err(e) => Some(e.clone()),
            Ok(t) => match tokio::time::timeout(SEND_LIMIT, t.test_connection()).await {
                Ok(Ok(true)) => None,
                Ok(Ok(false)) => Some("the mail server stopped answering".into()),
                Ok(Err(e)) => Some(short_error(&e)),
                Err(_) => Some("the mail server took too long to answer".into()),
            },
        };
        for message in due {
            // The lease counts from the moment of the claim, not the start of the run.
            let elapsed =
                Duration::from_std(started.elapsed()).unwrap_or_else(|_| Duration::zero());
            let claimed = MailMessage {
                attempts: message.attempts.saturating_add(1),
                next_attempt_at: now + elapsed + Duration::minutes(LEASE_MINUTES),
                meta: message.meta.touched(now),
                ..message.clone()
            };
            match self.store.update_mail(&claimed, message.meta.version).await {
                Ok(true) => {}
                // Another sender has it.
                Ok(false) => continue,
                Err(e) => {
                    tracing::warn!(mail = %message.id, error = %e, "could not claim a message");
                    continue;
                }
            }
            // With the server away the message is still composed, so one that is no longer
            // wanted is given up now, but without drawing (and issuing) its tickets.
            let attach = server_down.is_none();
            let outcome = match self.compose(&claimed, smtp, attach, now).await {
                Err(failure) => Err(failure),
                Ok(email) => match (&server_down, &transport) {
                    (Some(why), _) => Err(Failure::Transient(why.clone())),
                    (None, Err(why)) => Err(Failure::Transient(why.clone())),
                    (None, Ok(t)) => match send(t, email).await {
                        Ok(()) => Ok(()),
                        Err(e) if e.permanent => Err(Failure::Permanent(e.message)),
                        Err(e) => {
                            // Lost the server (not a reply about this message): the rest of
                            // the batch would only wait for the same timeout.
                            if e.connection {
                                server_down = Some(e.message.clone());
                            }
                            Err(Failure::Transient(e.message))
                        }
                    },
                },
            };
            let done = match outcome {
                Ok(()) => {
                    run.sent += 1;
                    MailMessage {
                        status: MailStatus::Sent,
                        sent_at: Some(now),
                        last_error: None,
                        meta: claimed.meta.touched(now),
                        ..claimed.clone()
                    }
                }
                Err(Failure::Transient(e)) if claimed.attempts < MAIL_MAX_ATTEMPTS => {
                    run.retried += 1;
                    MailMessage {
                        status: MailStatus::Queued,
                        next_attempt_at: now + mail_backoff(message.attempts),
                        last_error: Some(e),
                        meta: claimed.meta.touched(now),
                        ..claimed.clone()
                    }
                }
                Err(Failure::Transient(e) | Failure::Permanent(e)) => {
                    run.failed += 1;
                    MailMessage {
                        status: MailStatus::Failed,
                        last_error: Some(e),
                        meta: claimed.meta.touched(now),
                        ..claimed.clone()
                    }
                }
            };
            match self.store.update_mail(&done, claimed.meta.version).await {
                Ok(true) => {}
                // Only after the lease ran out, i.e. a send that took minutes: the other
                // sender's outcome stands.
                Ok(false) => tracing::warn!(
                    mail = %done.id,
                    status = done.status.as_str(),
                    "a message was taken over while it was being sent"
                ),
                // The lease runs out and the message is tried again: a confirmation may then
                // arrive twice, which is better than never.
                Err(e) => tracing::warn!(
                    mail = %done.id,
                    status = done.status.as_str(),
                    error = %e,
                    "could not record how sending went"
                ),
            }
        }
        Ok(run)
    }

    /// The e-mail a queued message stands for, as of now; `attach`: with its tickets.
    async fn compose(
        &self,
        m: &MailMessage,
        smtp: &SmtpSettings,
        attach: bool,
        now: DateTime<Utc>,
    ) -> Result<Message, Failure> {
        let from = smtp.sender().map_err(Failure::Transient)?;
        let to = recipient(&m.to)?;
        let (subject, body, attachment) = match m.kind {
            MailKind::OrderConfirmation => self.confirmation(m, attach, now).await?,
            MailKind::WaitlistOffer => self.waitlist_offer(m, now).await?,
        };
        let builder = Message::builder()
            .from(from)
            .to(to)
            .subject(subject)
            .date(now.into())
            .message_id(None);
        let text = SinglePart::builder()
            .header(ContentType::TEXT_PLAIN)
            .body(body);
        let built = match attachment {
            None => builder.singlepart(text),
            Some((name, pdf)) => {
                let pdf_type = ContentType::parse("application/pdf")
                    .map_err(|e| Failure::Transient(short_error(&e)))?;
                builder.multipart(
                    MultiPart::mixed()
                        .singlepart(text)
                        .singlepart(Attachment::new(name).body(pdf, pdf_type)),
                )
            }
        };
        built.map_err(|e| {
            Failure::Permanent(format!(
                "the message could not be made: {}",
                short_error(&e)
            ))
        })
    }

    /// Subject, body and (`attach`) tickets of an order's confirmation.
    async fn confirmation(
        &self,
        m: &MailMessage,
        attach: bool,
        now: DateTime<Utc>,
    ) -> Result<(String, String, Option<(String, Vec<u8>)>), Failure> {
        let order_id = m
            .order_id
            .ok_or_else(|| Failure::Permanent("the message names no order".into()))?;
        let o = self
            .store
            .get_order(order_id)
            .await
            .map_err(not_found_is_permanent("the order"))?;
        let order = &o.order;
        if !order.status.is_live() {
            return Err(Failure::Permanent("order is no longer valid".into()));
        }
        let event = self
            .store
            .get_event(order.event_id)
            .await
            .map_err(not_found_is_permanent("the event"))?;
        let types = self
            .store
            .list_ticket_types(order.event_id)
            .await
            .map_err(|e| Failure::Transient(short_error(&ApiError::from(e))))?;
        let coupon = match order.coupon_id {
            // Only to name the code next to the discount: the mail goes without it if need be.
            Some(id) if order.discount_minor > 0 => self.store.get_coupon(id).await.ok(),
            _ => None,
        };
        // An unpaid pay-later order is confirmed without its tickets: they get their QR codes
        // only once it is paid, so an unpaid reservation cannot get anyone in.
        let unpaid = order.status == OrderStatus::Pending;
        let pdf = if unpaid || !attach {
            None
        } else {
            Some(
                self.order_tickets_pdf(order.id, now)
                    .await
                    .map_err(|e| match e {
                        ApiError::NotFound { .. } => {
                            Failure::Permanent("order is no longer valid".into())
                        }
                        e => Failure::Transient(short_error(&e)),
                    })?,
            )
        };

        let zone = event.time_zone;
        let code = order.code.as_str();
        let mut b = String::new();
        match &order.buyer_name {
            Some(n) => b.push_str(&format!("Hello {n},\n\n")),
            None => b.push_str("Hello,\n\n"),
        }
        b.push_str(if unpaid {
            "thank you for your order. Your tickets are reserved for you; they get their QR \
             codes once the order is paid.\n\n"
        } else {
            "thank you for your order. Your tickets are attached to this e-mail as a PDF: show \
             them at the entrance, printed or on your phone.\n\n"
        });
        b.push_str(&format!("Event:   {}\n", event.name));
        b.push_str(&format!("Venue:   {}\n", event.venue));
        b.push_str(&format!(
            "Starts:  {}\n\n",
            local_time(event.starts_at, zone)
        ));
        b.push_str("Tickets:\n");
        for t in o.tickets.iter().filter(|t| t.status == TicketStatus::Valid) {
            let type_name = types
                .iter()
                .find(|tt| tt.id == t.ticket_type_id)
                .map(|tt| tt.name.as_str())
                .unwrap_or("Ticket");
            match &t.attendee_name {
                Some(a) => b.push_str(&format!("  - {type_name} ({a}): {}\n", t.price)),
                None => b.push_str(&format!("  - {type_name}: {}\n", t.price)),
            }
        }
        b.push('\n');
        if order.discount_minor > 0 {
            let discount = Money {
                minor: order.discount_minor,
                currency: order.total.currency,
            };
            match &coupon {
                Some(c) => b.push_str(&format!("Discount: -{discount} (coupon {})\n", c.code)),
                None => b.push_str(&format!("Discount: -{discount}\n")),
            }
        }
        b.push_str(&format!("Total:   {}\n", order.total));
        b.push_str(&format!("Payment: {}\n", payment_text(order, zone)));
        b.push_str(&format!("Order:   {code}\n\n"));
        b.push_str("Keep this e-mail: with the order code the box office finds your order.\n");

        let subject = if unpaid {
            format!("Your reservation: {} — order {code}", event.name)
        } else {
            format!("Your tickets: {} — order {code}", event.name)
        };
        Ok((
            subject,
            b,
            pdf.map(|pdf| (format!("tickets-{code}.pdf"), pdf)),
        ))
    }

    /// Subject and body of a waiting-list offer.
    async fn waitlist_offer(
        &self,
        m: &MailMessage,
        now: DateTime<Utc>,
    ) -> Result<(String, String, Option<(String, Vec<u8>)>), Failure> {
        let id = m
            .waitlist_id
            .ok_or_else(|| Failure::Permanent("the message names no waiting-list entry".into()))?;
        let entry = self
            .store
            .get_waitlist_entry(id)
            .await
            .map_err(not_found_is_permanent("the waiting-list entry"))?;
        let until = match (entry.status, entry.offer_expires_at) {
            (WaitlistStatus::Offered, Some(until)) if until > now => until,
            _ => return Err(Failure::Permanent("the offer is no longer open".into())),
        };
        let event = self
            .store
            .get_event(entry.event_id)
            .await
            .map_err(not_found_is_permanent("the event"))?;
        let types = self
            .store
            .list_ticket_types(entry.event_id)
            .await
            .map_err(|e| Failure::Transient(short_error(&ApiError::from(e))))?;
        let type_name = types
            .iter()
            .find(|t| t.id == entry.ticket_type_id)
            .map(|t| t.name.as_str())
            .unwrap_or("Ticket");
        let zone = event.time_zone;
        let mut b = format!("Hello {},\n\n", entry.name);
        b.push_str(&format!(
            "good news from the waiting list: {} × {type_name} for {} {} being kept for you.\n\n",
            entry.quantity,
            event.name,
            if entry.quantity == 1 { "is" } else { "are" }
        ));
        b.push_str(&format!("Event:   {}\n", event.name));
        b.push_str(&format!("Venue:   {}\n", event.venue));
        b.push_str(&format!(
            "Starts:  {}\n\n",
            local_time(event.starts_at, zone)
        ));
        b.push_str(&format!(
            "The offer holds until {}. Buy them from the box office before then; afterwards \
             they go to the next person on the waiting list.\n",
            local_time(until, zone)
        ));
        let subject = format!("A ticket is waiting for you: {}", event.name);
        Ok((subject, b, None))
    }

    /// Send one short message through `smtp` right away, to check the settings. The error
    /// says what the server or the network answered.
    pub async fn send_test_mail(
        &self,
        s: &Session,
        smtp: &SmtpSettings,
        to: &str,
    ) -> ApiResult<()> {
        s.require(Action::ConfigureMail)?;
        let to_email = Email::parse("to", to)?;
        let to = recipient(&to_email)
            .map_err(|_| ApiError::invalid("to", "is not an address a mail server accepts"))?;
        let from = smtp
            .sender()
            .map_err(|e| ApiError::invalid("from_address", e))?;
        let email = Message::builder()
            .from(from)
            .to(to)
            .subject("Admit: test message")
            .date_now()
            .message_id(None)
            .singlepart(
                SinglePart::builder().header(ContentType::TEXT_PLAIN).body(
                    "This is a test message from Admit. The outgoing mail settings work: \
                         order confirmations and waiting-list offers will be sent this way.\n"
                        .to_string(),
                ),
            )
            .map_err(|e| ApiError::Internal(short_error(&e)))?;
        let transport = smtp.transport().map_err(|e| ApiError::Conflict {
            message: format!("the mail server cannot be used: {e}"),
        })?;
        send(&transport, email)
            .await
            .map_err(|e| ApiError::Conflict {
                message: format!("the mail server did not take the message: {}", e.message),
            })
    }

    /// The messages of an order, oldest first, with how sending went.
    pub async fn order_mail(&self, s: &Session, order_id: &str) -> ApiResult<Vec<MailMessage>> {
        s.require(Action::ViewOrders)?;
        let id = OrderId::parse("order_id", order_id)?;
        // Unknown orders are an error rather than an empty list.
        self.store.get_order(id).await?;
        Ok(self.store.mail_of_order(id).await?)
    }

    /// Queue an order's confirmation (again), to `to` or else to the buyer's address. It is
    /// sent by the next [`Admit::deliver_mail`] run.
    pub async fn resend_confirmation(
        &self,
        s: &Session,
        order_id: &str,
        to: Option<&str>,
        now: DateTime<Utc>,
    ) -> ApiResult<MailMessage> {
        s.require(Action::SendMail)?;
        let id = OrderId::parse("order_id", order_id)?;
        let to = optional(&to.map(str::to_string), |v| Email::parse("to", v))?;
        let order = self.store.get_order(id).await?.order;
        if !order.status.is_live() {
            return Err(ApiError::Conflict {
                message: format!(
                    "the order is {}; it has no tickets to send",
                    order.status.as_str()
                ),
            });
        }
        let to = to
            .or_else(|| order.buyer_email.clone())
            .ok_or_else(|| ApiError::invalid("to", "the order has no e-mail address; enter one"))?;
        if to.as_str().parse::<Address>().is_err() {
            return Err(ApiError::invalid(
                "to",
                "is not an address a mail server accepts",
            ));
        }
        let message = MailMessage {
            id: MailId::new(now),
            kind: MailKind::OrderConfirmation,
            order_id: Some(order.id),
            waitlist_id: None,
            to,
            status: MailStatus::Queued,
            attempts: 0,
            next_attempt_at: now,
            last_error: None,
            sent_at: None,
            meta: Meta::new(now),
        };
        let change = s.change(
            now,
            "mail.queue",
            "mail",
            message.id.0,
            json!({
                "kind": message.kind.as_str(),
                "order_id": order.id,
                "code": order.code.as_str(),
                "to": message.to.as_str(),
            }),
        );
        self.store.enqueue_mail(&message, &change).await?;
        Ok(message)
    }
}

/// How the order was paid, as the buyer reads it.
fn payment_text(order: &Order, zone: TimeZone) -> String {
    match (order.status, order.payment_method) {
        (_, PaymentMethod::Comp) => "complimentary, free of charge".into(),
        (OrderStatus::Pending, method) => {
            let how = match method {
                PaymentMethod::Cash => "in cash",
                _ => "by card",
            };
            match order.payment.due {
                Some(due) => format!(
                    "not paid yet; to be paid {how} by {}",
                    local_time(due, zone)
                ),
                None => format!("not paid yet; to be paid {how}"),
            }
        }
        (_, PaymentMethod::Cash) => "paid in cash".into(),
        (_, PaymentMethod::Card) => "paid by card".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input() -> SmtpInput {
        SmtpInput {
            host: "mail.example.org".into(),
            from_address: "box-office@example.org".into(),
            ..Default::default()
        }
    }

    #[test]
    fn errors_are_one_bounded_line() {
        assert_eq!(
            short_error(&"550 5.1.1\r\n  user\tunknown\n"),
            "550 5.1.1 user unknown"
        );
        let long = "ü".repeat(1_000);
        let s = short_error(&long);
        assert!(
            s.chars().count() <= MAX_ERROR_CHARS,
            "{}",
            s.chars().count()
        );
        assert!(s.ends_with('…'));
        assert_eq!(short_error(&""), "unknown error");
    }

    #[test]
    fn defaults_follow_the_security() {
        let s = SmtpSettings::parse(&input()).unwrap();
        assert_eq!((s.security, s.port), (SmtpSecurity::Starttls, 587));
        let s = SmtpSettings::parse(&SmtpInput {
            security: Some("TLS".into()),
            ..input()
        })
        .unwrap();
        assert_eq!((s.security, s.port), (SmtpSecurity::Tls, 465));
    }

    #[test]
    fn passwords_stay_out_of_debug_output() {
        let s = SmtpSettings::parse(&SmtpInput {
            username: Some("ada".into()),
            password: Some("hunter2 secret".into()),
            ..input()
        })
        .unwrap();
        assert_eq!(s.password.as_deref(), Some("hunter2 secret"));
        assert!(!format!("{s:?}").contains("hunter2"));
        assert!(!format!("{:?}", input()).contains("hunter2"));
    }

    #[test]
    fn passwords_need_encryption_except_on_this_machine() {
        let with_login = |host: &str| SmtpInput {
            host: host.into(),
            security: Some("none".into()),
            username: Some("ada".into()),
            password: Some("pw".into()),
            ..input()
        };
        assert!(SmtpSettings::parse(&with_login("mail.example.org")).is_err());
        assert!(SmtpSettings::parse(&with_login("127.0.0.1")).is_ok());
        assert!(SmtpSettings::parse(&with_login("localhost")).is_ok());
    }
}

//! Outgoing e-mail through the use cases, on both backends, against a real SMTP server
//! (aiosmtpd, see `admit_testkit::smtp`): confirmations with their tickets, retries with
//! backoff while the server is away, giving up, orders cancelled before sending, waiting-list
//! offers, and two senders sharing one queue.

use chrono::Duration;

use admit_api::mail::{DeliveryRun, SmtpInput, SmtpSettings};
use admit_api::*;
use admit_core::audit::Change;
use admit_core::commerce::{
    MailKind, MailMessage, MailStatus, WaitlistEntry, WaitlistStatus, MAIL_MAX_ATTEMPTS,
};
use admit_core::model::*;
use admit_core::text::{Email, Name};
use admit_core::{HoldId, MailId, WaitlistId};
use admit_testkit::mime;
use admit_testkit::smtp::{free_port, SmtpServer};

use crate::both_backends;
use crate::fixture::{Fixture, Setup};

both_backends!(
    a_queued_confirmation_arrives_with_its_tickets,
    mail_waits_for_a_server_that_is_away,
    mail_is_given_up_after_the_last_attempt,
    mail_of_a_cancelled_order_is_not_sent,
    an_unpaid_reservation_is_confirmed_without_tickets,
    resending_and_test_mail_are_checked,
    a_waitlist_offer_arrives_while_it_is_open,
    two_senders_send_each_message_once,
);

const EVENT: &str = "Frühlingsgala 日本";
const BUYER: &str = "Zoë Ünal 李";
const BUYER_EMAIL: &str = "zoe@example.org";

fn smtp(port: u16) -> SmtpSettings {
    SmtpSettings::parse(&SmtpInput {
        host: "127.0.0.1".into(),
        port: Some(port.into()),
        security: Some("none".into()),
        from_address: "box-office@example.org".into(),
        from_name: Some("Städtische Bühne".into()),
        ..Default::default()
    })
    .unwrap()
}

/// A published event with a non-ASCII name, ticket types A (Standing, 20.00) and B (Seated,
/// 35.00) and one capacity quota covering both.
async fn event(f: &Fixture) -> Setup {
    let mut setup = f.event(100, 60).await;
    let s = &f.owner;
    let a = &f.admit;
    let event = a
        .update_event(
            s,
            &setup.event.id.to_string(),
            setup.event.meta.version,
            &EventInput {
                name: EVENT.into(),
                description: "An evening of music".into(),
                venue: "Town Hall".into(),
                starts_at: "2026-06-01T19:30:00+02:00".into(),
                ends_at: "2026-06-01T23:00:00+02:00".into(),
                time_zone: "Europe/Berlin".into(),
                category_id: None,
            },
            f.now,
        )
        .await
        .unwrap();
    setup.event = event;
    setup
}

async fn sell(f: &Fixture, setup: &Setup, email: Option<&str>) -> OrderWithTickets {
    let mut sale = setup.sale(&[(&setup.a, 2), (&setup.b, 1)]);
    sale.buyer_name = Some(BUYER.into());
    sale.buyer_email = email.map(str::to_string);
    sale.payment_method = "cash".into();
    f.admit.sell(&f.owner, &sale, f.now).await.unwrap()
}

/// Sell an order with an address and queue its confirmation.
async fn queued(f: &Fixture, setup: &Setup) -> (OrderWithTickets, MailMessage) {
    let o = sell(f, setup, Some(BUYER_EMAIL)).await;
    let m = f
        .admit
        .resend_confirmation(&f.owner, &o.order.id.to_string(), None, f.now)
        .await
        .unwrap();
    (o, m)
}

async fn mail_of(f: &Fixture, o: &OrderWithTickets) -> Vec<MailMessage> {
    f.admit
        .order_mail(&f.owner, &o.order.id.to_string())
        .await
        .unwrap()
}

async fn a_queued_confirmation_arrives_with_its_tickets(f: Fixture) {
    let server = SmtpServer::start();
    let setup = event(&f).await;
    let (o, m) = queued(&f, &setup).await;
    assert_eq!(m.status, MailStatus::Queued);
    assert_eq!(m.to.as_str(), BUYER_EMAIL);
    assert_eq!(mail_of(&f, &o).await, std::slice::from_ref(&m));

    let run = f
        .admit
        .deliver_mail(&smtp(server.port()), f.now)
        .await
        .unwrap();
    assert_eq!(
        run,
        DeliveryRun {
            sent: 1,
            retried: 0,
            failed: 0
        }
    );
    let got = server.messages();
    assert_eq!(got.len(), 1, "exactly one message arrives");
    let mail = mime::parse(&got[0]);
    let code = o.order.code.as_str();
    assert_eq!(
        mail.header("subject"),
        Some(format!("Your tickets: {EVENT} — order {code}").as_str())
    );
    assert!(mail.header("to").unwrap().contains(BUYER_EMAIL));
    assert_eq!(mail.header("x-rcptto"), Some(BUYER_EMAIL));
    let from = mail.header("from").unwrap();
    assert!(from.contains("Städtische Bühne") && from.contains("box-office@example.org"));
    assert!(mail.header("message-id").is_some());
    let text = mail.text().expect("a plain-text body");
    for want in [
        code,
        BUYER,
        EVENT,
        "Town Hall",
        // 19:30 in Berlin, not 17:30 UTC.
        "Monday, 1 June 2026, 19:30 (Europe/Berlin)",
        "Standing: 20.00 EUR",
        "Seated: 35.00 EUR",
        "75.00 EUR",
        "paid in cash",
    ] {
        assert!(text.contains(want), "{want:?} missing from:\n{text}");
    }
    let files = mail.attachments();
    assert_eq!(files.len(), 1);
    assert_eq!(
        files[0].filename.as_deref(),
        Some(format!("tickets-{code}.pdf").as_str())
    );
    assert_eq!(files[0].content_type, "application/pdf");
    assert!(files[0].body.starts_with(b"%PDF"));

    let after = mail_of(&f, &o).await;
    assert_eq!(after.len(), 1);
    assert_eq!(after[0].status, MailStatus::Sent);
    assert_eq!(after[0].sent_at, Some(f.now));
    assert_eq!(after[0].attempts, 1);
    assert_eq!(after[0].last_error, None);
    // Sent mail is not sent again.
    let run = f
        .admit
        .deliver_mail(&smtp(server.port()), f.at(60))
        .await
        .unwrap();
    assert_eq!(run, DeliveryRun::default());
    assert_eq!(server.messages().len(), 1);
}

async fn mail_waits_for_a_server_that_is_away(f: Fixture) {
    let port = free_port();
    let settings = smtp(port);
    let setup = event(&f).await;
    let (o, _) = queued(&f, &setup).await;

    let run = f.admit.deliver_mail(&settings, f.now).await.unwrap();
    assert_eq!(
        run,
        DeliveryRun {
            sent: 0,
            retried: 1,
            failed: 0
        }
    );
    let m = &mail_of(&f, &o).await[0];
    assert_eq!(m.status, MailStatus::Queued);
    assert_eq!(m.attempts, 1);
    assert_eq!(m.next_attempt_at, f.now + Duration::seconds(30));
    let error = m.last_error.as_deref().expect("the error is kept");
    assert!(!error.is_empty() && !error.contains('\n') && error.chars().count() <= 300);

    // Not due yet: nothing happens, not even an attempt.
    let early = f
        .admit
        .deliver_mail(&settings, f.now + Duration::seconds(29))
        .await
        .unwrap();
    assert_eq!(early, DeliveryRun::default());
    assert_eq!(mail_of(&f, &o).await[0].attempts, 1);

    let server = SmtpServer::start_on(port);
    let later = f.now + Duration::seconds(31);
    let run = f.admit.deliver_mail(&settings, later).await.unwrap();
    assert_eq!(run.sent, 1);
    let m = &mail_of(&f, &o).await[0];
    assert_eq!(m.status, MailStatus::Sent);
    assert_eq!(m.attempts, 2);
    assert_eq!(m.sent_at, Some(later));
    assert_eq!(m.last_error, None);
    assert_eq!(server.messages().len(), 1);
}

async fn mail_is_given_up_after_the_last_attempt(f: Fixture) {
    let settings = smtp(free_port());
    let setup = event(&f).await;
    let (o, _) = queued(&f, &setup).await;
    let mut at = f.now;
    for attempt in 1..=MAIL_MAX_ATTEMPTS {
        let run = f.admit.deliver_mail(&settings, at).await.unwrap();
        let m = &mail_of(&f, &o).await[0];
        assert_eq!(m.attempts, attempt);
        if attempt < MAIL_MAX_ATTEMPTS {
            assert_eq!(run.retried, 1, "attempt {attempt}");
            assert_eq!(m.status, MailStatus::Queued);
            assert!(m.next_attempt_at > at);
            at = m.next_attempt_at;
        } else {
            assert_eq!(run.failed, 1, "attempt {attempt}");
            assert_eq!(m.status, MailStatus::Failed);
            assert!(m.last_error.is_some());
        }
    }
    let far = f.now + Duration::days(30);
    assert!(f.admit.store().due_mail(far, 50).await.unwrap().is_empty());
    let run = f.admit.deliver_mail(&settings, far).await.unwrap();
    assert_eq!(run, DeliveryRun::default());
}

async fn mail_of_a_cancelled_order_is_not_sent(f: Fixture) {
    let server = SmtpServer::start();
    let setup = event(&f).await;
    let (o, _) = queued(&f, &setup).await;
    f.admit
        .cancel(
            &f.owner,
            &CancelInput {
                order_id: o.order.id.to_string(),
                ..Default::default()
            },
            f.now,
        )
        .await
        .unwrap();
    let run = f
        .admit
        .deliver_mail(&smtp(server.port()), f.now)
        .await
        .unwrap();
    assert_eq!(
        run,
        DeliveryRun {
            sent: 0,
            retried: 0,
            failed: 1
        }
    );
    assert!(server.messages().is_empty());
    let m = &mail_of(&f, &o).await[0];
    assert_eq!(m.status, MailStatus::Failed);
    assert_eq!(m.last_error.as_deref(), Some("order is no longer valid"));
    assert_eq!(m.sent_at, None);
}

async fn an_unpaid_reservation_is_confirmed_without_tickets(f: Fixture) {
    let server = SmtpServer::start();
    let setup = event(&f).await;
    // Built from JSON so this file does not depend on the pay-later fields' Rust names; a
    // sale that ignored them would be paid, and the status check below says so.
    let sale: SaleInput = serde_json::from_value(serde_json::json!({
        "event_id": setup.event.id.to_string(),
        "lines": [{ "ticket_type_id": setup.a.id.to_string(), "quantity": 2 }],
        "buyer_name": BUYER,
        "buyer_email": BUYER_EMAIL,
        "payment_method": "cash",
        "pay_later": true,
        "payment_due": "2026-05-08T12:00:00Z",
    }))
    .unwrap();
    let o = f.admit.sell(&f.owner, &sale, f.now).await.unwrap();
    assert_eq!(o.order.status, OrderStatus::Pending);
    f.admit
        .resend_confirmation(&f.owner, &o.order.id.to_string(), None, f.now)
        .await
        .unwrap();
    let run = f
        .admit
        .deliver_mail(&smtp(server.port()), f.now)
        .await
        .unwrap();
    assert_eq!(run.sent, 1, "{run:?}: {:?}", mail_of(&f, &o).await);
    let got = server.messages();
    let mail = mime::parse(&got[0]);
    let code = o.order.code.as_str();
    assert_eq!(
        mail.header("subject"),
        Some(format!("Your reservation: {EVENT} — order {code}").as_str())
    );
    assert!(mail.attachments().is_empty(), "no tickets before payment");
    let text = mail.text().unwrap();
    for want in [
        code,
        "QR codes once the order is paid",
        "not paid yet; to be paid in cash by Friday, 8 May 2026, 14:00 (Europe/Berlin)",
    ] {
        assert!(text.contains(want), "{want:?} missing from:\n{text}");
    }
    // Confirming issued no secrets.
    for t in &o.tickets {
        assert!(f.admit.store().ticket_secret(t.id).await.unwrap().is_none());
    }
}

fn assert_invalid<T: std::fmt::Debug>(r: ApiResult<T>, want_field: &str) {
    match r {
        Err(ApiError::Invalid { field, .. }) => assert_eq!(field, want_field),
        other => panic!("wanted invalid {want_field}, got {other:?}"),
    }
}

#[test]
fn bad_smtp_settings_are_refused_by_field() {
    let good = SmtpInput {
        host: "mail.example.org".into(),
        port: Some(587),
        security: Some("starttls".into()),
        username: Some("ada".into()),
        password: Some("pw".into()),
        from_address: "box-office@example.org".into(),
        from_name: Some("Bühne".into()),
    };
    let ok = SmtpSettings::parse(&good).unwrap();
    assert_eq!((ok.host.as_str(), ok.port), ("mail.example.org", 587));
    let huge = "x".repeat(100_000);
    let cases: Vec<(&str, SmtpInput)> = vec![
        (
            "host",
            SmtpInput {
                host: "  ".into(),
                ..good.clone()
            },
        ),
        (
            "host",
            SmtpInput {
                host: "mail.example.org\r\nRCPT TO:<x@y.z>".into(),
                ..good.clone()
            },
        ),
        (
            "host",
            SmtpInput {
                host: "mail example.org".into(),
                ..good.clone()
            },
        ),
        (
            "host",
            SmtpInput {
                host: huge.clone(),
                ..good.clone()
            },
        ),
        (
            "port",
            SmtpInput {
                port: Some(0),
                ..good.clone()
            },
        ),
        (
            "port",
            SmtpInput {
                port: Some(65_536),
                ..good.clone()
            },
        ),
        (
            "port",
            SmtpInput {
                port: Some(-25),
                ..good.clone()
            },
        ),
        (
            "security",
            SmtpInput {
                security: Some("ssl".into()),
                ..good.clone()
            },
        ),
        (
            "security",
            SmtpInput {
                security: Some("none".into()),
                ..good.clone()
            },
        ),
        (
            "username",
            SmtpInput {
                username: Some("ada\u{0}".into()),
                ..good.clone()
            },
        ),
        (
            "username",
            SmtpInput {
                username: None,
                ..good.clone()
            },
        ),
        (
            "password",
            SmtpInput {
                password: None,
                ..good.clone()
            },
        ),
        (
            "password",
            SmtpInput {
                password: Some(huge.clone()),
                ..good.clone()
            },
        ),
        (
            "from_address",
            SmtpInput {
                from_address: "box-office".into(),
                ..good.clone()
            },
        ),
        (
            "from_address",
            SmtpInput {
                from_address: "a@b\n.org".into(),
                ..good.clone()
            },
        ),
        (
            "from_address",
            SmtpInput {
                from_address: huge.clone(),
                ..good.clone()
            },
        ),
        (
            "from_name",
            SmtpInput {
                from_name: Some("Box\u{7}Office".into()),
                ..good.clone()
            },
        ),
        (
            "from_name",
            SmtpInput {
                from_name: Some(huge.clone()),
                ..good.clone()
            },
        ),
    ];
    for (field, input) in cases {
        assert_invalid(SmtpSettings::parse(&input), field);
    }
}

async fn resending_and_test_mail_are_checked(f: Fixture) {
    let server = SmtpServer::start();
    let settings = smtp(server.port());
    let setup = event(&f).await;
    let a = &f.admit;

    // No address on the order and none given.
    let bare = sell(&f, &setup, None).await;
    let id = bare.order.id.to_string();
    assert_invalid(
        a.resend_confirmation(&f.owner, &id, None, f.now).await,
        "to",
    );
    assert_invalid(
        a.resend_confirmation(&f.owner, &id, Some("not-an-address"), f.now)
            .await,
        "to",
    );
    assert_invalid(
        a.resend_confirmation(&f.owner, "nonsense", None, f.now)
            .await,
        "order_id",
    );
    // Given an address, it is queued to that one, and audited.
    let m = a
        .resend_confirmation(&f.owner, &id, Some(" other@example.org "), f.now)
        .await
        .unwrap();
    assert_eq!(m.to.as_str(), "other@example.org");
    assert_eq!(m.kind, MailKind::OrderConfirmation);
    let audit = a.list_audit(&f.owner, 1_000).await.unwrap();
    assert!(audit
        .iter()
        .any(|e| e.action == "mail.queue" && e.entity_id == m.id.0));

    // A cancelled order has nothing to send.
    a.cancel(
        &f.owner,
        &CancelInput {
            order_id: id.clone(),
            ..Default::default()
        },
        f.now,
    )
    .await
    .unwrap();
    assert!(matches!(
        a.resend_confirmation(&f.owner, &id, Some("x@example.org"), f.now)
            .await,
        Err(ApiError::Conflict { .. })
    ));

    // Roles: the box office may resend, but not configure or test the mail server; the door
    // may do neither.
    let clerk = f.user("clerk", "box_office").await;
    let door = f.user("dora", "door").await;
    let live = sell(&f, &setup, Some(BUYER_EMAIL)).await;
    let live_id = live.order.id.to_string();
    a.resend_confirmation(&clerk, &live_id, None, f.now)
        .await
        .unwrap();
    assert!(matches!(
        a.resend_confirmation(&door, &live_id, None, f.now).await,
        Err(ApiError::Forbidden { .. })
    ));
    assert!(matches!(
        a.order_mail(&door, &live_id).await,
        Err(ApiError::Forbidden { .. })
    ));
    assert!(matches!(
        a.send_test_mail(&clerk, &settings, "ada@example.org").await,
        Err(ApiError::Forbidden { .. })
    ));
    assert!(server.messages().is_empty());

    // The test message goes out at once; a bad recipient and a server that is away are
    // typed errors.
    a.send_test_mail(&f.owner, &settings, "ada@example.org")
        .await
        .unwrap();
    let got = server.messages();
    assert_eq!(got.len(), 1);
    assert_eq!(
        mime::parse(&got[0]).header("x-rcptto"),
        Some("ada@example.org")
    );
    assert_invalid(a.send_test_mail(&f.owner, &settings, "ada@").await, "to");
    match a
        .send_test_mail(&f.owner, &smtp(free_port()), "ada@example.org")
        .await
    {
        Err(ApiError::Conflict { message }) => {
            assert!(message.starts_with("the mail server"), "{message}");
            assert!(!message.contains('\n'));
        }
        other => panic!("wanted a conflict, got {other:?}"),
    }
}

async fn a_waitlist_offer_arrives_while_it_is_open(f: Fixture) {
    let server = SmtpServer::start();
    let settings = smtp(server.port());
    let setup = event(&f).await;
    let store = f.admit.store();
    let now = f.now;
    let change = || {
        Change::new(
            now,
            Some(f.owner.user.id),
            None,
            "test",
            "waitlist",
            uuid::Uuid::nil(),
            serde_json::json!({}),
        )
    };
    let entry = WaitlistEntry {
        id: WaitlistId::new(now),
        event_id: setup.event.id,
        ticket_type_id: setup.a.id,
        name: Name::parse("name", "Jürgen 日本").unwrap(),
        email: Some(Email::parse("email", "juergen@example.org").unwrap()),
        phone: None,
        quantity: 2,
        status: WaitlistStatus::Waiting,
        hold_id: None,
        offer_expires_at: None,
        order_id: None,
        created_by: f.owner.user.id,
        meta: Meta::new(now),
    };
    store.add_waitlist(&entry, &change()).await.unwrap();
    let until = now + Duration::hours(1);
    let hold = Hold {
        id: HoldId::new(now),
        event_id: setup.event.id,
        lines: vec![Line {
            ticket_type_id: setup.a.id,
            quantity: 2,
        }],
        status: HoldStatus::Active,
        expires_at: until,
        created_by: f.owner.user.id,
        device_id: None,
        meta: Meta::new(now),
    };
    let offered = WaitlistEntry {
        status: WaitlistStatus::Offered,
        hold_id: Some(hold.id),
        offer_expires_at: Some(until),
        meta: entry.meta.touched(now),
        ..entry.clone()
    };
    let mut demand = vec![(setup.capacity.id, 2), (setup.qa.id, 2)];
    demand.sort();
    let offer = |id| MailMessage {
        id,
        kind: MailKind::WaitlistOffer,
        order_id: None,
        waitlist_id: Some(entry.id),
        to: entry.email.clone().unwrap(),
        status: MailStatus::Queued,
        attempts: 0,
        next_attempt_at: now,
        last_error: None,
        sent_at: None,
        meta: Meta::new(now),
    };
    let first = offer(MailId::new(now));
    store
        .offer_waitlist(
            &offered,
            entry.meta.version,
            &hold,
            &demand,
            Some(&first),
            &change(),
        )
        .await
        .unwrap();

    let run = f.admit.deliver_mail(&settings, now).await.unwrap();
    assert_eq!(run.sent, 1);
    let got = server.messages();
    assert_eq!(got.len(), 1);
    let mail = mime::parse(&got[0]);
    assert_eq!(
        mail.header("subject"),
        Some(format!("A ticket is waiting for you: {EVENT}").as_str())
    );
    assert_eq!(mail.header("x-rcptto"), Some("juergen@example.org"));
    assert!(mail.attachments().is_empty());
    let text = mail.text().unwrap();
    for want in [
        "Jürgen 日本",
        "2 × Standing",
        EVENT,
        // 13:00 UTC is 15:00 in Berlin.
        "until Friday, 1 May 2026, 15:00 (Europe/Berlin)",
    ] {
        assert!(text.contains(want), "{want:?} missing from:\n{text}");
    }
    assert_eq!(
        store.get_mail(first.id).await.unwrap().status,
        MailStatus::Sent
    );

    // Once the offer has run out, a queued offer is given up, not sent.
    let late = offer(MailId::new(now));
    store.enqueue_mail(&late, &change()).await.unwrap();
    let run = f
        .admit
        .deliver_mail(&settings, until + Duration::minutes(1))
        .await
        .unwrap();
    assert_eq!(run.failed, 1);
    let late = store.get_mail(late.id).await.unwrap();
    assert_eq!(late.status, MailStatus::Failed);
    assert_eq!(
        late.last_error.as_deref(),
        Some("the offer is no longer open")
    );
    assert_eq!(server.messages().len(), 1);
}

async fn two_senders_send_each_message_once(f: Fixture) {
    let server = SmtpServer::start();
    let settings = smtp(server.port());
    let setup = event(&f).await;
    let mut codes = Vec::new();
    for _ in 0..6 {
        let (o, _) = queued(&f, &setup).await;
        codes.push(o.order.code.as_str().to_string());
    }
    let (a, b) = (f.admit.clone(), f.admit.clone());
    let (sa, sb) = (settings.clone(), settings.clone());
    let now = f.now;
    let one = tokio::spawn(async move { a.deliver_mail(&sa, now).await });
    let two = tokio::spawn(async move { b.deliver_mail(&sb, now).await });
    let (one, two) = (one.await.unwrap().unwrap(), two.await.unwrap().unwrap());
    assert_eq!(one.sent + two.sent, 6, "{one:?} {two:?}");
    assert_eq!(one.retried + two.retried + one.failed + two.failed, 0);
    let mut subjects: Vec<String> = server
        .messages()
        .iter()
        .map(|m| mime::parse(m).header("subject").unwrap().to_string())
        .collect();
    assert_eq!(subjects.len(), 6, "each message exactly once");
    subjects.sort();
    subjects.dedup();
    assert_eq!(subjects.len(), 6);
    for code in &codes {
        assert!(subjects.iter().any(|s| s.ends_with(code.as_str())));
    }
    let run = f.admit.deliver_mail(&settings, now).await.unwrap();
    assert_eq!(run, DeliveryRun::default());
}

//! Coupons, pay-later orders, refunds in full and in part, cashier shifts and the waiting list,
//! through the use cases on both backends.

use std::sync::Arc;

use chrono::Duration;

use admit_api::*;
use admit_core::commerce::{MailKind, MailStatus, WaitlistStatus};
use admit_core::model::{OrderStatus, PaymentMethod, TicketStatus};

use crate::both_backends;
use crate::fixture::{Fixture, Setup};

both_backends!(
    coupons_price_orders_and_refuse_what_does_not_apply,
    a_single_use_coupon_raced_by_100_buyers_is_used_once,
    coupon_prices_in_currencies_with_0_and_3_decimals,
    pay_later_orders_are_paid_or_expire,
    paying_late_succeeds_only_while_the_units_are_free,
    refunds_in_part_and_in_full,
    shifts_open_with_a_float_and_close_with_a_count,
    the_waiting_list_offers_freed_units_in_order,
    an_expired_hold_and_an_expired_order_feed_the_waiting_list,
    bad_payment_input_is_refused_and_writes_nothing,
    a_confirmation_is_queued_with_the_sale,
);

fn coupon(setup: &Setup, code: &str, kind: &str, value: &str) -> CouponInput {
    CouponInput {
        event_id: setup.event.id.to_string(),
        code: code.into(),
        kind: kind.into(),
        value: value.into(),
        ..Default::default()
    }
}

fn with_coupon(mut sale: SaleInput, code: &str) -> SaleInput {
    sale.coupon_code = Some(code.into());
    sale
}

fn invalid_field(r: &ApiResult<impl std::fmt::Debug>) -> Option<String> {
    match r {
        Err(ApiError::Invalid { field, .. }) => Some(field.clone()),
        _ => None,
    }
}

async fn coupons_price_orders_and_refuse_what_does_not_apply(f: Fixture) {
    let setup = f.event(100, 100).await;
    let a = &f.admit;
    let s = &f.owner;
    // 15 % off Standing (20.00) only; Seated (35.00) keeps its price.
    let mut input = coupon(&setup, "spring-15", "percent", "15");
    input.ticket_type_ids = vec![setup.a.id.to_string()];
    let c = a.create_coupon(s, &input, f.now).await.unwrap();
    assert_eq!(c.code.as_str(), "SPRING-15");
    assert_eq!(c.value, 1_500);
    let sale = with_coupon(setup.sale(&[(&setup.a, 2), (&setup.b, 1)]), "Spring-15");
    let q = a
        .quote(
            s,
            &QuoteInput {
                event_id: setup.event.id.to_string(),
                lines: sale.lines.clone(),
                coupon_code: sale.coupon_code.clone(),
            },
            f.now,
        )
        .await
        .unwrap();
    assert_eq!(q.list_total.minor, 7_500);
    assert_eq!(q.discount.minor, 600);
    assert_eq!(q.total.minor, 6_900);
    let o = a.sell(s, &sale, f.now).await.unwrap();
    assert_eq!(o.order.total.minor, 6_900);
    assert_eq!(o.order.discount_minor, 600);
    assert_eq!(o.order.coupon_id, Some(c.id));
    let mut prices: Vec<i64> = o.tickets.iter().map(|t| t.price.minor).collect();
    prices.sort();
    assert_eq!(prices, vec![1_700, 1_700, 3_500]);

    // Amount off each ticket and a fixed price.
    a.create_coupon(s, &coupon(&setup, "FIVE", "amount_off", "5.00"), f.now)
        .await
        .unwrap();
    let o = a
        .sell(s, &with_coupon(setup.sale(&[(&setup.b, 2)]), "five"), f.now)
        .await
        .unwrap();
    assert_eq!(o.order.total.minor, 2 * 3_000);
    a.create_coupon(s, &coupon(&setup, "TENNER", "fixed_price", "10"), f.now)
        .await
        .unwrap();
    let o = a
        .sell(
            s,
            &with_coupon(setup.sale(&[(&setup.a, 1), (&setup.b, 1)]), "TENNER"),
            f.now,
        )
        .await
        .unwrap();
    assert_eq!(o.order.total.minor, 2_000);

    // Limits: minimum order, validity window, uses, types, activity.
    let mut min = coupon(&setup, "BIGSPEND", "percent", "10");
    min.min_order = Some("50.00".into());
    a.create_coupon(s, &min, f.now).await.unwrap();
    let mut later = coupon(&setup, "LATER", "percent", "10");
    later.valid_from = Some((f.now + Duration::days(1)).to_rfc3339());
    a.create_coupon(s, &later, f.now).await.unwrap();
    let mut gone = coupon(&setup, "GONE", "percent", "10");
    gone.valid_from = Some((f.now - Duration::days(2)).to_rfc3339());
    gone.valid_until = Some((f.now - Duration::days(1)).to_rfc3339());
    a.create_coupon(s, &gone, f.now).await.unwrap();
    let mut seated_only = coupon(&setup, "SEATS", "percent", "10");
    seated_only.ticket_type_ids = vec![setup.b.id.to_string()];
    a.create_coupon(s, &seated_only, f.now).await.unwrap();
    let mut off = coupon(&setup, "OFF", "percent", "10");
    off.active = Some(false);
    a.create_coupon(s, &off, f.now).await.unwrap();
    let before = f.snapshot().await;
    for code in [
        "BIGSPEND", "LATER", "GONE", "SEATS", "OFF", "NOSUCH", "x", "'; drop",
    ] {
        let r = a
            .sell(s, &with_coupon(setup.sale(&[(&setup.a, 1)]), code), f.now)
            .await;
        assert_eq!(
            invalid_field(&r).as_deref(),
            Some("coupon_code"),
            "{code}: {r:?}"
        );
    }
    assert_eq!(
        before,
        f.snapshot().await,
        "a refused coupon wrote something"
    );
    // 50.00 of list prices reaches the minimum.
    a.sell(
        s,
        &with_coupon(setup.sale(&[(&setup.a, 1), (&setup.b, 1)]), "BIGSPEND"),
        f.now,
    )
    .await
    .unwrap();

    // Bad coupons are refused with the field named, and nothing is written.
    let before = f.snapshot().await;
    for (field, input) in [
        ("value", coupon(&setup, "ZERO", "percent", "0")),
        ("value", coupon(&setup, "TOOMUCH", "percent", "100.5")),
        ("value", coupon(&setup, "NEG", "amount_off", "-1")),
        ("value", coupon(&setup, "FRAC", "amount_off", "1.234")),
        ("kind", coupon(&setup, "KIND", "bogo", "1")),
        ("code", coupon(&setup, "bad code!", "percent", "5")),
        ("code", coupon(&setup, &"X".repeat(10_000), "percent", "5")),
        ("code", coupon(&setup, "spring-15", "percent", "5")),
        (
            "ticket_type_ids[0]",
            CouponInput {
                ticket_type_ids: vec![uuid::Uuid::now_v7().to_string()],
                ..coupon(&setup, "WRONGTYPE", "percent", "5")
            },
        ),
        (
            "max_uses",
            CouponInput {
                max_uses: Some(0),
                ..coupon(&setup, "NOUSE", "percent", "5")
            },
        ),
        (
            "valid_until",
            CouponInput {
                valid_from: Some(f.now.to_rfc3339()),
                valid_until: Some((f.now - Duration::hours(1)).to_rfc3339()),
                ..coupon(&setup, "BACKWARDS", "percent", "5")
            },
        ),
    ] {
        let r = a.create_coupon(s, &input, f.now).await;
        match (&r, field) {
            // A duplicate code is a conflict, not a malformed field.
            (Err(ApiError::Conflict { .. }), "code") if input.code == "spring-15" => {}
            _ => assert_eq!(invalid_field(&r).as_deref(), Some(field), "{r:?}"),
        }
    }
    assert_eq!(before, f.snapshot().await, "a refused coupon was written");
}

async fn a_single_use_coupon_raced_by_100_buyers_is_used_once(f: Fixture) {
    let setup = f.event(1_000, 1_000).await;
    let mut input = coupon(&setup, "ONCE", "percent", "50");
    input.max_uses = Some(1);
    let c = f
        .admit
        .create_coupon(&f.owner, &input, f.now)
        .await
        .unwrap();
    let admit = Arc::new(f.admit.clone());
    let mut tasks = Vec::new();
    for i in 0..100 {
        let (admit, s, sale) = (
            admit.clone(),
            f.owner.clone(),
            with_coupon(setup.sale(&[(&setup.a, 1)]), "ONCE"),
        );
        let now = f.now + Duration::milliseconds(i);
        tasks.push(tokio::spawn(
            async move { admit.sell(&s, &sale, now).await },
        ));
    }
    let mut sold = Vec::new();
    for t in tasks {
        match t.await.unwrap() {
            Ok(o) => sold.push(o),
            // Refused before the write (seen used up) or by the store's conditional update.
            Err(ApiError::Conflict { message }) => assert!(message.contains("used up")),
            Err(ApiError::Invalid { field, .. }) => assert_eq!(field, "coupon_code"),
            Err(e) => panic!("unexpected {e:?}"),
        }
    }
    assert_eq!(sold.len(), 1, "a single-use coupon was used more than once");
    assert_eq!(sold[0].order.total.minor, 1_000);
    assert_eq!(
        f.scalar("select count(*) from orders where coupon_id is not null")
            .await,
        1
    );
    let stored = f
        .admit
        .list_coupons(&f.owner, &setup.event.id.to_string())
        .await;
    assert_eq!(stored.unwrap()[0].used, 1);
    f.assert_stock_invariant().await;

    // Cancelling the order gives the use back; it can be used again, once.
    f.admit
        .cancel(
            &f.owner,
            &CancelInput {
                order_id: sold[0].order.id.to_string(),
                ..Default::default()
            },
            f.at(1),
        )
        .await
        .unwrap();
    assert_eq!(f.admit.store().get_coupon(c.id).await.unwrap().used, 0);
    f.admit
        .sell(
            &f.owner,
            &with_coupon(setup.sale(&[(&setup.a, 1)]), "ONCE"),
            f.at(2),
        )
        .await
        .unwrap();
    let r = f
        .admit
        .sell(
            &f.owner,
            &with_coupon(setup.sale(&[(&setup.a, 1)]), "ONCE"),
            f.at(3),
        )
        .await;
    assert_eq!(invalid_field(&r).as_deref(), Some("coupon_code"));
    // A cancelled single ticket of a two-ticket order keeps the use: the order still has one.
}

async fn coupon_prices_in_currencies_with_0_and_3_decimals(f: Fixture) {
    // An event is priced in one currency; each case gets its own event.
    for (currency, price, kind, value, want) in [
        ("JPY", 1_000, "percent", "33.33", 667),
        ("JPY", 5, "percent", "10", 5),
        ("JPY", 1_000, "amount_off", "300", 700),
        ("KWD", 1_235, "percent", "10", 1_112),
        ("KWD", 9_999, "fixed_price", "5.125", 5_125),
        ("BHD", 1_000, "amount_off", "0.25", 750),
        ("EUR", 5, "percent", "50", 3),
    ] {
        let event = f
            .admit
            .create_event(
                &f.owner,
                &EventInput {
                    name: format!("Priced in {currency}"),
                    venue: "Hall".into(),
                    starts_at: "2026-06-01T19:30:00Z".into(),
                    ends_at: "2026-06-01T23:00:00Z".into(),
                    time_zone: "UTC".into(),
                    ..Default::default()
                },
                f.now,
            )
            .await
            .unwrap();
        let t = f
            .admit
            .create_ticket_type(
                &f.owner,
                &TicketTypeInput {
                    event_id: event.id.to_string(),
                    name: "Entry".into(),
                    price_minor: price,
                    currency: currency.into(),
                    max_per_order: Some(10),
                    ..Default::default()
                },
                f.now,
            )
            .await
            .unwrap();
        f.admit
            .publish_event(&f.owner, &event.id.to_string(), f.now)
            .await
            .unwrap();
        let code = format!("C-{currency}-{want}");
        f.admit
            .create_coupon(
                &f.owner,
                &CouponInput {
                    event_id: event.id.to_string(),
                    code: code.clone(),
                    kind: kind.into(),
                    value: value.into(),
                    ..Default::default()
                },
                f.now,
            )
            .await
            .unwrap();
        let o = f
            .admit
            .sell(
                &f.owner,
                &SaleInput {
                    event_id: event.id.to_string(),
                    lines: vec![LineInput {
                        ticket_type_id: t.id.to_string(),
                        quantity: 2,
                        attendee_names: vec![],
                    }],
                    payment_method: "cash".into(),
                    coupon_code: Some(code),
                    ..Default::default()
                },
                f.now,
            )
            .await
            .unwrap();
        assert_eq!(o.tickets[0].price.minor, want, "{currency} {kind} {value}");
        assert_eq!(o.order.total.minor, 2 * want);
        assert_eq!(o.order.total.currency.code(), currency);
        assert_eq!(o.order.discount_minor, 2 * (price - want));
    }
    // An amount finer than the currency's minor unit is refused.
    let setup = f.event(10, 10).await;
    let r = f
        .admit
        .create_coupon(
            &f.owner,
            &coupon(&setup, "HALFCENT", "amount_off", "0.005"),
            f.now,
        )
        .await;
    assert_eq!(invalid_field(&r).as_deref(), Some("value"));
}

fn pay_later(sale: SaleInput, due: chrono::DateTime<chrono::Utc>) -> SaleInput {
    SaleInput {
        pay_later: true,
        payment_due: Some(due.to_rfc3339()),
        payment_method: "card".into(),
        ..sale
    }
}

async fn pay_later_orders_are_paid_or_expire(f: Fixture) {
    let setup = f.event(10, 10).await;
    let a = &f.admit;
    let cashier = f.user("cashier", "box_office").await;
    let due = f.at(60 * 48);
    let o = a
        .sell(
            &cashier,
            &SaleInput {
                buyer_email: Some("ada@example.org".into()),
                send_confirmation: true,
                ..pay_later(setup.sale(&[(&setup.a, 2)]), due)
            },
            f.now,
        )
        .await
        .unwrap();
    assert_eq!(o.order.status, OrderStatus::Pending);
    assert_eq!(o.order.payment.due, Some(due));
    assert_eq!(o.order.payment.paid_at, None);
    // The units are taken; an unpaid order gets no QR code.
    let avail = a
        .availability(&cashier, &setup.event.id.to_string())
        .await
        .unwrap();
    assert_eq!(
        avail
            .quotas
            .iter()
            .find(|q| q.quota.id == setup.capacity.id)
            .unwrap()
            .taken,
        2
    );
    let r = a
        .ticket_secret(&cashier, &o.tickets[0].id.to_string(), f.now)
        .await;
    assert!(matches!(r, Err(ApiError::Conflict { .. })), "{r:?}");

    // Paid before the deadline by another cashier: their drawer holds the money.
    let other = f.user("other", "box_office").await;
    let paid = a
        .pay_order(
            &other,
            &PaymentInput {
                order_id: o.order.id.to_string(),
                payment_method: "cash".into(),
                tendered: Some("50".into()),
                ..Default::default()
            },
            f.at(60),
        )
        .await
        .unwrap();
    assert_eq!(paid.order.status, OrderStatus::Paid);
    assert_eq!(paid.order.payment_method, PaymentMethod::Cash);
    assert_eq!(paid.order.payment.paid_by, Some(other.user.id));
    assert_eq!(paid.order.payment.paid_at, Some(f.at(60)));
    assert_eq!(paid.order.payment.tendered_minor, Some(5_000));
    // The reservation's confirmation went out without tickets; the paid one carries them.
    let mail = a.store().mail_of_order(o.order.id).await.unwrap();
    assert_eq!(mail.len(), 2);
    assert!(mail.iter().all(|m| m.kind == MailKind::OrderConfirmation));
    assert_eq!(mail[1].next_attempt_at, f.at(60));
    assert!(a
        .ticket_secret(&cashier, &o.tickets[0].id.to_string(), f.at(61))
        .await
        .is_ok());
    let report = a
        .shift_report(
            &f.owner,
            &ShiftReportInput {
                from: f.now.to_rfc3339(),
                to: f.at(120).to_rfc3339(),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let line = report
        .lines
        .iter()
        .find(|l| l.user_id == other.user.id)
        .unwrap();
    assert_eq!(
        line.sales.minor, 4_000,
        "the sale counts for who took the money"
    );
    assert!(report.lines.iter().all(|l| l.user_id != cashier.user.id));
    // Paying twice is refused.
    let again = a
        .pay_order(
            &other,
            &PaymentInput {
                order_id: o.order.id.to_string(),
                payment_method: "cash".into(),
                ..Default::default()
            },
            f.at(62),
        )
        .await;
    assert!(matches!(again, Err(ApiError::Conflict { .. })), "{again:?}");

    // Another, with a coupon, is not paid: at its deadline it expires, its units and coupon
    // use go back.
    a.create_coupon(&f.owner, &coupon(&setup, "TEN", "percent", "10"), f.now)
        .await
        .unwrap();
    let unpaid = a
        .sell(
            &cashier,
            &with_coupon(pay_later(setup.sale(&[(&setup.b, 3)]), f.at(30)), "TEN"),
            f.now,
        )
        .await
        .unwrap();
    let hk = a.housekeeping(f.at(29)).await.unwrap();
    assert_eq!(hk.orders_expired, 0);
    let hk = a.housekeeping(f.at(30)).await.unwrap();
    assert_eq!(hk.orders_expired, 1);
    let expired = a
        .get_order(&cashier, &unpaid.order.id.to_string())
        .await
        .unwrap();
    assert_eq!(expired.order.status, OrderStatus::Expired);
    assert!(expired
        .tickets
        .iter()
        .all(|t| t.status == TicketStatus::Cancelled));
    let coupons = a
        .list_coupons(&f.owner, &setup.event.id.to_string())
        .await
        .unwrap();
    assert_eq!(coupons[0].used, 0);
    f.assert_stock_invariant().await;
    // An expired order took no money: nothing to refund, nothing in revenue.
    let money = a
        .order_money(&cashier, &unpaid.order.id.to_string())
        .await
        .unwrap();
    assert_eq!(money.refundable.minor, 0);
    assert_eq!(
        f.scalar("select count(*) from audit_log where action = 'order.expire'")
            .await,
        1
    ); // A pay-later order cancelled before it was paid took no money either.
    let dropped = a
        .sell(
            &cashier,
            &pay_later(setup.sale(&[(&setup.a, 1)]), f.at(600)),
            f.now,
        )
        .await
        .unwrap();
    a.cancel(
        &cashier,
        &CancelInput {
            order_id: dropped.order.id.to_string(),
            ..Default::default()
        },
        f.at(1),
    )
    .await
    .unwrap();
    let gross: i64 = a
        .store()
        .revenue(setup.event.id)
        .await
        .unwrap()
        .iter()
        .map(|r| r.gross_minor)
        .sum();
    assert_eq!(gross, 4_000, "only the paid order counts");
}

async fn paying_late_succeeds_only_while_the_units_are_free(f: Fixture) {
    let setup = f.event(3, 3).await;
    let a = &f.admit;
    let s = &f.owner;
    let late = a
        .sell(s, &pay_later(setup.sale(&[(&setup.a, 2)]), f.at(10)), f.now)
        .await
        .unwrap();
    // Past the deadline, not yet swept: paying expires it first, then takes the units again.
    let paid = a
        .pay_order(
            s,
            &PaymentInput {
                order_id: late.order.id.to_string(),
                payment_method: "card".into(),
                card_confirmed: true,
                payment_note: Some("TID 0042".into()),
                ..Default::default()
            },
            f.at(11),
        )
        .await
        .unwrap();
    assert_eq!(paid.order.status, OrderStatus::Paid);
    assert_eq!(paid.order.total.minor, 4_000);
    assert_eq!(paid.order.payment.note.as_deref(), Some("TID 0042"));
    assert!(paid.tickets.iter().all(|t| t.status == TicketStatus::Valid));
    f.assert_stock_invariant().await;

    // This one expires, and its units are sold to someone else before the buyer comes back.
    let gone = a
        .sell(
            s,
            &pay_later(setup.sale(&[(&setup.a, 1)]), f.at(20)),
            f.at(12),
        )
        .await
        .unwrap();
    a.housekeeping(f.at(21)).await.unwrap();
    a.sell(s, &setup.sale(&[(&setup.b, 1)]), f.at(22))
        .await
        .unwrap();
    // What paying it would take: the ticket it had when it expired.
    let m = a.order_money(s, &gone.order.id.to_string()).await.unwrap();
    assert_eq!(m.to_pay.map(|t| t.minor), Some(2_000));
    let before = f.snapshot().await;
    let r = a
        .pay_order(
            s,
            &PaymentInput {
                order_id: gone.order.id.to_string(),
                payment_method: "cash".into(),
                ..Default::default()
            },
            f.at(23),
        )
        .await;
    assert!(matches!(r, Err(ApiError::SoldOut { .. })), "{r:?}");
    assert_eq!(
        before,
        f.snapshot().await,
        "a refused late payment wrote something"
    );
    let still = a.get_order(s, &gone.order.id.to_string()).await.unwrap();
    assert_eq!(still.order.status, OrderStatus::Expired);
    f.assert_stock_invariant().await;
}

async fn refunds_in_part_and_in_full(f: Fixture) {
    let setup = f.event(100, 100).await;
    let a = &f.admit;
    let cashier = f.user("cashier", "box_office").await;
    let o = a
        .sell(
            &cashier,
            &setup.sale(&[(&setup.a, 1), (&setup.b, 1)]),
            f.now,
        )
        .await
        .unwrap();
    let id = o.order.id.to_string();
    let standing = o
        .tickets
        .iter()
        .find(|t| t.ticket_type_id == setup.a.id)
        .unwrap();
    // 5.00 back on the standing ticket as a goodwill gesture: the tickets stay valid.
    let m = a
        .refund(
            &cashier,
            &RefundInput {
                order_id: id.clone(),
                ticket_ids: vec![standing.id.to_string()],
                amount: Some("5.00".into()),
                ..Default::default()
            },
            f.at(1),
        )
        .await
        .unwrap();
    assert_eq!(m.refunded.minor, 500);
    assert_eq!(m.refunds[0].ticket_id, Some(standing.id));
    assert_eq!(m.refundable.minor, 5_000);
    assert_eq!(m.refunds.len(), 1);
    assert_eq!(m.refunds[0].method, PaymentMethod::Cash);
    assert!(m
        .order
        .tickets
        .iter()
        .all(|t| t.status == TicketStatus::Valid));
    assert_eq!(m.order.order.status, OrderStatus::Paid);
    // More than is left is refused, and writes nothing.
    let before = f.snapshot().await;
    let r = a
        .refund(
            &cashier,
            &RefundInput {
                order_id: id.clone(),
                amount: Some("50.01".into()),
                ..Default::default()
            },
            f.at(2),
        )
        .await;
    assert_eq!(invalid_field(&r).as_deref(), Some("amount"));
    for bad in ["-1", "abc", "0", "1.001", ""] {
        let r = a
            .refund(
                &cashier,
                &RefundInput {
                    order_id: id.clone(),
                    amount: Some(bad.into()),
                    method: Some("comp".into()),
                    ..Default::default()
                },
                f.at(2),
            )
            .await;
        assert!(matches!(r, Err(ApiError::Invalid { .. })), "{bad}: {r:?}");
    }
    assert_eq!(before, f.snapshot().await);
    // The seated ticket in full, by card: it is cancelled and its units come back.
    let seated = o
        .tickets
        .iter()
        .find(|t| t.ticket_type_id == setup.b.id)
        .unwrap();
    let m = a
        .refund(
            &cashier,
            &RefundInput {
                order_id: id.clone(),
                ticket_ids: vec![seated.id.to_string()],
                method: Some("card".into()),
                ..Default::default()
            },
            f.at(3),
        )
        .await
        .unwrap();
    let seated_after = m.order.tickets.iter().find(|t| t.id == seated.id).unwrap();
    assert_eq!(seated_after.status, TicketStatus::Cancelled);
    assert_eq!(m.refunded.minor, 500 + 3_500);
    assert_eq!(m.refunds.last().unwrap().method, PaymentMethod::Card);
    // The rest of the order: the standing ticket's 20.00 less the 5.00 already back.
    let m = a
        .refund(
            &cashier,
            &RefundInput {
                order_id: id.clone(),
                ..Default::default()
            },
            f.at(4),
        )
        .await
        .unwrap();
    assert_eq!(m.order.order.status, OrderStatus::Refunded);
    assert_eq!(m.refunded.minor, 5_500);
    assert_eq!(m.refundable.minor, 0);
    assert_eq!(m.refunds.last().unwrap().amount.minor, 1_500);
    f.assert_stock_invariant().await;
    // The shift report shows what went back, by method.
    let report = a
        .shift_report(
            &cashier,
            &ShiftReportInput {
                from: f.now.to_rfc3339(),
                to: f.at(10).to_rfc3339(),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let refunded = |m: PaymentMethod| -> i64 {
        report
            .lines
            .iter()
            .filter(|l| l.method == m)
            .map(|l| l.refunded.minor)
            .sum()
    };
    assert_eq!(refunded(PaymentMethod::Cash), 2_000);
    assert_eq!(refunded(PaymentMethod::Card), 3_500);

    // Nothing to refund on free or unpaid orders.
    let comp = a
        .sell(
            &cashier,
            &SaleInput {
                payment_method: "comp".into(),
                payment_note: Some("Press".into()),
                ..setup.sale(&[(&setup.a, 1)])
            },
            f.now,
        )
        .await
        .unwrap();
    let pending = a
        .sell(
            &cashier,
            &pay_later(setup.sale(&[(&setup.a, 1)]), f.at(600)),
            f.now,
        )
        .await
        .unwrap();
    for o in [comp, pending] {
        let r = a
            .refund(
                &cashier,
                &RefundInput {
                    order_id: o.order.id.to_string(),
                    ..Default::default()
                },
                f.at(5),
            )
            .await;
        assert!(matches!(r, Err(ApiError::Conflict { .. })), "{r:?}");
    }
}

async fn shifts_open_with_a_float_and_close_with_a_count(f: Fixture) {
    let setup = f.event(100, 100).await;
    let a = &f.admit;
    let cashier = f.user("cashier", "box_office").await;
    let other = f.user("other", "box_office").await;
    let r = a
        .close_shift(
            &cashier,
            &CloseShiftInput {
                counted: "1".into(),
                note: None,
            },
            f.now,
        )
        .await;
    assert!(matches!(r, Err(ApiError::Conflict { .. })), "{r:?}");
    let opened = a
        .open_shift(
            &cashier,
            &OpenShiftInput {
                float: "100.00".into(),
                currency: "EUR".into(),
            },
            f.now,
        )
        .await
        .unwrap();
    assert_eq!(opened.expected.minor, 10_000);
    let twice = a
        .open_shift(
            &cashier,
            &OpenShiftInput {
                float: "5".into(),
                currency: "EUR".into(),
            },
            f.at(1),
        )
        .await;
    assert!(matches!(twice, Err(ApiError::Conflict { .. })), "{twice:?}");
    // Cash 20.00 (50 given), card 35.00, another cashier's cash, then 5.00 cash back.
    let cash = a
        .sell(
            &cashier,
            &SaleInput {
                tendered: Some("50".into()),
                ..setup.sale(&[(&setup.a, 1)])
            },
            f.at(2),
        )
        .await
        .unwrap();
    assert_eq!(cash.order.payment.tendered_minor, Some(5_000));
    a.sell(
        &cashier,
        &SaleInput {
            payment_method: "card".into(),
            card_confirmed: true,
            ..setup.sale(&[(&setup.b, 1)])
        },
        f.at(3),
    )
    .await
    .unwrap();
    a.sell(&other, &setup.sale(&[(&setup.b, 2)]), f.at(3))
        .await
        .unwrap();
    a.refund(
        &cashier,
        &RefundInput {
            order_id: cash.order.id.to_string(),
            amount: Some("5".into()),
            ..Default::default()
        },
        f.at(4),
    )
    .await
    .unwrap();
    let now = a.current_shift(&cashier, f.at(5)).await.unwrap().unwrap();
    assert_eq!(now.cash_taken.minor, 2_000);
    assert_eq!(now.cash_refunded.minor, 500);
    assert_eq!(now.expected.minor, 11_500);
    // 1.00 short.
    let closed = a
        .close_shift(
            &cashier,
            &CloseShiftInput {
                counted: "114.00".into(),
                note: Some("coin roll miscounted?".into()),
            },
            f.at(6),
        )
        .await
        .unwrap();
    assert_eq!(closed.shift.expected_minor, Some(11_500));
    assert_eq!(closed.shift.counted_minor, Some(11_400));
    assert_eq!(closed.shift.difference_minor, Some(-100));
    assert!(a.current_shift(&cashier, f.at(7)).await.unwrap().is_none());
    // Bad counts are refused; the box office sees its own shifts only.
    for bad in ["", "-5", "12.345", "lots"] {
        let r = a
            .open_shift(
                &other,
                &OpenShiftInput {
                    float: bad.into(),
                    currency: "EUR".into(),
                },
                f.at(8),
            )
            .await;
        assert_eq!(invalid_field(&r).as_deref(), Some("float"), "{bad}");
    }
    let r = a
        .open_shift(
            &other,
            &OpenShiftInput {
                float: "1".into(),
                currency: "XYZ".into(),
            },
            f.at(8),
        )
        .await;
    assert_eq!(invalid_field(&r).as_deref(), Some("currency"));
    let mine = a.list_shifts(&cashier, None, 10).await.unwrap();
    assert_eq!(mine.len(), 1);
    let r = a
        .list_shifts(&other, Some(&cashier.user.id.to_string()), 10)
        .await;
    assert!(matches!(r, Err(ApiError::Forbidden { .. })));
    assert_eq!(a.list_shifts(&f.owner, None, 10).await.unwrap().len(), 1);
}

async fn the_waiting_list_offers_freed_units_in_order(f: Fixture) {
    let setup = f.event(2, 10).await;
    let a = &f.admit;
    let s = &f.owner;
    let ev = setup.event.id.to_string();
    let join = |name: &str, qty: i64| WaitlistInput {
        event_id: ev.clone(),
        ticket_type_id: setup.a.id.to_string(),
        name: name.into(),
        email: Some(format!("{}@example.org", name.to_lowercase())),
        phone: None,
        quantity: qty,
    };
    // Not sold out yet: sell instead.
    let r = a.join_waitlist(s, &join("Early", 1), f.now).await;
    assert!(matches!(r, Err(ApiError::Conflict { .. })), "{r:?}");
    let first = a
        .sell(s, &setup.sale(&[(&setup.a, 1)]), f.now)
        .await
        .unwrap();
    let second = a
        .sell(s, &setup.sale(&[(&setup.a, 1)]), f.now)
        .await
        .unwrap();
    let x = a.join_waitlist(s, &join("Xena", 1), f.at(1)).await.unwrap();
    let y = a
        .join_waitlist(s, &join("Yusuf", 2), f.at(2))
        .await
        .unwrap();
    let z = a.join_waitlist(s, &join("Zoë", 1), f.at(3)).await.unwrap();
    for bad in [0, -1, 21] {
        let r = a.join_waitlist(s, &join("Bad", bad), f.at(3)).await;
        assert_eq!(invalid_field(&r).as_deref(), Some("quantity"));
    }
    let r = a
        .join_waitlist(
            s,
            &WaitlistInput {
                name: " ".into(),
                ..join("x", 1)
            },
            f.at(3),
        )
        .await;
    assert_eq!(invalid_field(&r).as_deref(), Some("name"));

    // A cancellation frees one unit: the first in line is offered it at once.
    a.cancel(
        s,
        &CancelInput {
            order_id: first.order.id.to_string(),
            ..Default::default()
        },
        f.at(10),
    )
    .await
    .unwrap();
    let list = a.list_waitlist(s, &ev).await.unwrap();
    let status = |id| list.iter().find(|e| e.id == id).unwrap().clone();
    let xo = status(x.id);
    assert_eq!(xo.status, WaitlistStatus::Offered);
    assert_eq!(xo.offer_expires_at, Some(f.at(10 + 60)));
    assert_eq!(status(y.id).status, WaitlistStatus::Waiting);
    assert_eq!(status(z.id).status, WaitlistStatus::Waiting);
    // The offer is queued as an e-mail to Xena.
    assert_eq!(
        f.scalar("select count(*) from mail_queue where kind = 'waitlist_offer'")
            .await,
        1
    );
    // Units under offer count against the quota: a walk-in cannot take them.
    let r = a.sell(s, &setup.sale(&[(&setup.a, 1)]), f.at(11)).await;
    assert!(matches!(r, Err(ApiError::SoldOut { .. })), "{r:?}");
    f.assert_stock_invariant().await;

    // Xena lets the offer run out: it passes on. Yusuf wants 2 and only 1 is free, so the
    // queue waits for him (Zoë is not served ahead of him).
    let hk = a.housekeeping(f.at(71)).await.unwrap();
    assert_eq!(hk.offers_expired, 1);
    assert_eq!(hk.offers_made, 0);
    let list = a.list_waitlist(s, &ev).await.unwrap();
    assert_eq!(
        list.iter().find(|e| e.id == x.id).unwrap().status,
        WaitlistStatus::Expired
    );
    assert_eq!(
        list.iter().find(|e| e.id == z.id).unwrap().status,
        WaitlistStatus::Waiting
    );
    // A second unit comes back: Yusuf is offered two.
    a.cancel(
        s,
        &CancelInput {
            order_id: second.order.id.to_string(),
            ..Default::default()
        },
        f.at(80),
    )
    .await
    .unwrap();
    let yo = a.store().get_waitlist_entry(y.id).await.unwrap();
    assert_eq!(yo.status, WaitlistStatus::Offered);
    // He buys through the offer: the sale uses the held units.
    let sale = SaleInput {
        waitlist_entry_id: Some(y.id.to_string()),
        ..setup.sale(&[(&setup.a, 2)])
    };
    let wrong = SaleInput {
        waitlist_entry_id: Some(y.id.to_string()),
        ..setup.sale(&[(&setup.b, 1)])
    };
    assert_eq!(
        invalid_field(&a.sell(s, &wrong, f.at(81)).await).as_deref(),
        Some("lines")
    );
    let bought = a.sell(s, &sale, f.at(81)).await.unwrap();
    let yo = a.store().get_waitlist_entry(y.id).await.unwrap();
    assert_eq!(yo.status, WaitlistStatus::Sold);
    assert_eq!(yo.order_id, Some(bought.order.id));
    // The same offer cannot be used twice.
    let r = a.sell(s, &sale, f.at(82)).await;
    assert!(matches!(r, Err(ApiError::Conflict { .. })), "{r:?}");
    f.assert_stock_invariant().await;
    // Zoë is taken off the list.
    let zw = a
        .withdraw_waitlist(s, &z.id.to_string(), f.at(83))
        .await
        .unwrap();
    assert_eq!(zw.status, WaitlistStatus::Withdrawn);
    let r = a.withdraw_waitlist(s, &z.id.to_string(), f.at(84)).await;
    assert!(matches!(r, Err(ApiError::Conflict { .. })));
}

async fn bad_payment_input_is_refused_and_writes_nothing(f: Fixture) {
    let setup = f.event(100, 100).await;
    let a = &f.admit;
    let s = &f.owner;
    let base = setup.sale(&[(&setup.a, 1)]);
    let cases: Vec<(&str, SaleInput)> = vec![
        (
            "card_confirmed",
            SaleInput {
                payment_method: "card".into(),
                ..base.clone()
            },
        ),
        (
            "payment_note",
            SaleInput {
                payment_method: "comp".into(),
                ..base.clone()
            },
        ),
        (
            "payment_note",
            SaleInput {
                payment_method: "comp".into(),
                payment_note: Some("\u{0007}bell".into()),
                ..base.clone()
            },
        ),
        (
            "tendered",
            SaleInput {
                tendered: Some("19.99".into()),
                ..base.clone()
            },
        ),
        (
            "tendered",
            SaleInput {
                tendered: Some("1e9".into()),
                ..base.clone()
            },
        ),
        (
            "tendered",
            SaleInput {
                payment_method: "card".into(),
                card_confirmed: true,
                tendered: Some("50".into()),
                ..base.clone()
            },
        ),
        (
            "payment_due",
            SaleInput {
                pay_later: true,
                ..base.clone()
            },
        ),
        (
            "payment_due",
            SaleInput {
                pay_later: true,
                payment_due: Some(f.at(-1).to_rfc3339()),
                ..base.clone()
            },
        ),
        (
            "payment_due",
            SaleInput {
                pay_later: true,
                payment_due: Some("tomorrow".into()),
                ..base.clone()
            },
        ),
        (
            "payment_due",
            SaleInput {
                payment_due: Some(f.at(60).to_rfc3339()),
                ..base.clone()
            },
        ),
        (
            "pay_later",
            SaleInput {
                pay_later: true,
                payment_due: Some(f.at(60).to_rfc3339()),
                payment_method: "comp".into(),
                payment_note: Some("press".into()),
                ..base.clone()
            },
        ),
        (
            "buyer_email",
            SaleInput {
                send_confirmation: true,
                ..base.clone()
            },
        ),
        (
            "waitlist_entry_id",
            SaleInput {
                waitlist_entry_id: Some("not-an-id".into()),
                ..base.clone()
            },
        ),
    ];
    let before = f.snapshot().await;
    for (field, input) in cases {
        let r = a.sell(s, &input, f.now).await;
        assert_eq!(invalid_field(&r).as_deref(), Some(field), "{r:?}");
    }
    assert_eq!(before, f.snapshot().await, "a refused sale wrote something");
}

async fn a_confirmation_is_queued_with_the_sale(f: Fixture) {
    let setup = f.event(100, 100).await;
    let o = f
        .admit
        .sell(
            &f.owner,
            &SaleInput {
                buyer_email: Some("zoe@example.org".into()),
                send_confirmation: true,
                ..setup.sale(&[(&setup.a, 1)])
            },
            f.now,
        )
        .await
        .unwrap();
    let mail = f.admit.store().mail_of_order(o.order.id).await.unwrap();
    assert_eq!(mail.len(), 1);
    assert_eq!(mail[0].kind, MailKind::OrderConfirmation);
    assert_eq!(mail[0].status, MailStatus::Queued);
    assert_eq!(mail[0].to.as_str(), "zoe@example.org");
    assert_eq!(mail[0].next_attempt_at, f.now);
}

async fn an_expired_hold_and_an_expired_order_feed_the_waiting_list(f: Fixture) {
    let setup = f.event(2, 10).await;
    let a = &f.admit;
    let s = &f.owner;
    let ev = setup.event.id.to_string();
    // One unit is held for a cart that is abandoned, one reserved and never paid.
    let hold = a
        .hold(
            s,
            &HoldInput {
                event_id: ev.clone(),
                lines: setup.sale(&[(&setup.a, 1)]).lines,
            },
            f.now,
        )
        .await
        .unwrap();
    a.sell(s, &pay_later(setup.sale(&[(&setup.a, 1)]), f.at(30)), f.now)
        .await
        .unwrap();
    let join = |name: &str| WaitlistInput {
        event_id: ev.clone(),
        ticket_type_id: setup.a.id.to_string(),
        name: name.into(),
        quantity: 1,
        ..Default::default()
    };
    let first = a.join_waitlist(s, &join("First"), f.at(1)).await.unwrap();
    let second = a.join_waitlist(s, &join("Second"), f.at(2)).await.unwrap();
    // The hold lapses (15 minutes): housekeeping offers its unit to the first in line.
    let hk = a.housekeeping(hold.expires_at).await.unwrap();
    assert_eq!((hk.holds_expired, hk.offers_made), (1, 1));
    let entry = |id| async move { a.store().get_waitlist_entry(id).await.unwrap().status };
    assert_eq!(entry(first.id).await, WaitlistStatus::Offered);
    assert_eq!(entry(second.id).await, WaitlistStatus::Waiting);
    // The reservation runs past its due time unpaid: its unit goes to the next.
    let hk = a.housekeeping(f.at(30)).await.unwrap();
    assert_eq!((hk.orders_expired, hk.offers_made), (1, 1));
    assert_eq!(entry(second.id).await, WaitlistStatus::Offered);
    f.assert_stock_invariant().await;
}

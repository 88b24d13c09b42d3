//! Bad input of every kind: a typed error naming the field, and nothing written.

use admit_api::*;

use crate::both_backends;
use crate::fixture::Fixture;

both_backends!(
    bad_input_names_the_field_and_writes_nothing,
    quota_cannot_shrink_below_sold
);

fn event_input() -> EventInput {
    EventInput {
        name: "Gala".into(),
        description: String::new(),
        venue: "Hall".into(),
        starts_at: "2026-06-01T19:00:00Z".into(),
        ends_at: "2026-06-01T23:00:00Z".into(),
        time_zone: "Europe/Berlin".into(),
        category_id: None,
    }
}

fn expect_field<T: std::fmt::Debug>(what: &str, r: ApiResult<T>, field: &str) {
    match r {
        Err(ApiError::Invalid { field: f, .. }) => assert_eq!(f, field, "{what}: wrong field"),
        other => panic!("{what}: expected invalid {field}, got {other:?}"),
    }
}

async fn bad_input_names_the_field_and_writes_nothing(f: Fixture) {
    let setup = f.event(100, 100).await;
    let (a, s, now) = (&f.admit, &f.owner, f.now);
    let ev = setup.event.id.to_string();
    let huge = "x".repeat(10 * 1024 * 1024);
    let before = f.snapshot().await;

    // Events
    let cases: Vec<(&str, EventInput, &str)> = vec![
        (
            "empty name",
            EventInput {
                name: "".into(),
                ..event_input()
            },
            "name",
        ),
        (
            "blank name",
            EventInput {
                name: "  \t ".into(),
                ..event_input()
            },
            "name",
        ),
        (
            "10 MB name",
            EventInput {
                name: huge.clone(),
                ..event_input()
            },
            "name",
        ),
        (
            "control char",
            EventInput {
                name: "Gala\u{0}".into(),
                ..event_input()
            },
            "name",
        ),
        (
            "end before start",
            EventInput {
                ends_at: "2026-06-01T18:00:00Z".into(),
                ..event_input()
            },
            "ends_at",
        ),
        (
            "end equals start",
            EventInput {
                ends_at: "2026-06-01T19:00:00Z".into(),
                ..event_input()
            },
            "ends_at",
        ),
        (
            "bad time",
            EventInput {
                starts_at: "tomorrow".into(),
                ..event_input()
            },
            "starts_at",
        ),
        (
            "bad zone",
            EventInput {
                time_zone: "Mars/Olympus".into(),
                ..event_input()
            },
            "time_zone",
        ),
        (
            "sql zone",
            EventInput {
                time_zone: "UTC'; drop table events;--".into(),
                ..event_input()
            },
            "time_zone",
        ),
        (
            "bad category",
            EventInput {
                category_id: Some("not-a-uuid".into()),
                ..event_input()
            },
            "category_id",
        ),
        (
            "unknown category",
            EventInput {
                category_id: Some(uuid::Uuid::nil().to_string()),
                ..event_input()
            },
            "category_id",
        ),
        (
            "empty venue",
            EventInput {
                venue: "".into(),
                ..event_input()
            },
            "venue",
        ),
    ];
    for (what, input, field) in cases {
        expect_field(what, a.create_event(s, &input, now).await, field);
    }

    // Ticket types
    let tt = |price: i64, currency: &str| TicketTypeInput {
        event_id: ev.clone(),
        name: "VIP".into(),
        price_minor: price,
        currency: currency.into(),
        ..Default::default()
    };
    expect_field(
        "negative price",
        a.create_ticket_type(s, &tt(-1, "EUR"), now).await,
        "price_minor",
    );
    expect_field(
        "absurd price",
        a.create_ticket_type(s, &tt(i64::MAX, "EUR"), now).await,
        "price_minor",
    );
    expect_field(
        "unknown currency",
        a.create_ticket_type(s, &tt(100, "XYZ"), now).await,
        "currency",
    );
    expect_field(
        "other currency",
        a.create_ticket_type(s, &tt(100, "USD"), now).await,
        "currency",
    );
    expect_field(
        "empty currency",
        a.create_ticket_type(s, &tt(100, ""), now).await,
        "currency",
    );
    expect_field(
        "malformed event id",
        a.create_ticket_type(
            s,
            &TicketTypeInput {
                event_id: "1 or 1=1".into(),
                ..tt(100, "EUR")
            },
            now,
        )
        .await,
        "event_id",
    );
    expect_field(
        "min above max",
        a.create_ticket_type(
            s,
            &TicketTypeInput {
                min_per_order: Some(5),
                max_per_order: Some(2),
                ..tt(100, "EUR")
            },
            now,
        )
        .await,
        "max_per_order",
    );
    expect_field(
        "sales end before start",
        a.create_ticket_type(
            s,
            &TicketTypeInput {
                sales_start: Some("2026-05-10T00:00:00Z".into()),
                sales_end: Some("2026-05-01T00:00:00Z".into()),
                ..tt(100, "EUR")
            },
            now,
        )
        .await,
        "sales_end",
    );
    expect_field(
        "unicode boundary",
        a.create_ticket_type(
            s,
            &TicketTypeInput {
                name: "é".repeat(201),
                ..tt(100, "EUR")
            },
            now,
        )
        .await,
        "name",
    );

    // Quotas
    let q = |size: i64, types: Vec<String>| QuotaInput {
        event_id: ev.clone(),
        name: "Q".into(),
        size,
        ticket_type_ids: types,
    };
    expect_field(
        "negative quota",
        a.create_quota(s, &q(-5, vec![setup.a.id.to_string()]), now)
            .await,
        "size",
    );
    expect_field(
        "absurd quota",
        a.create_quota(s, &q(i64::MAX, vec![setup.a.id.to_string()]), now)
            .await,
        "size",
    );
    expect_field(
        "no types",
        a.create_quota(s, &q(5, vec![]), now).await,
        "ticket_type_ids",
    );
    expect_field(
        "bad type id",
        a.create_quota(s, &q(5, vec!["zzz".into()]), now).await,
        "ticket_type_ids[0]",
    );
    expect_field(
        "foreign type id",
        a.create_quota(s, &q(5, vec![uuid::Uuid::now_v7().to_string()]), now)
            .await,
        "ticket_type_ids[0]",
    );

    // Sales
    let sale = |lines: Vec<LineInput>| SaleInput {
        event_id: ev.clone(),
        lines,
        payment_method: "cash".into(),
        ..Default::default()
    };
    let line = |id: String, qty: i64| LineInput {
        ticket_type_id: id,
        quantity: qty,
        attendee_names: vec![],
    };
    let aid = setup.a.id.to_string();
    expect_field("no lines", a.sell(s, &sale(vec![]), now).await, "lines");
    expect_field(
        "zero quantity",
        a.sell(s, &sale(vec![line(aid.clone(), 0)]), now).await,
        "lines[0].quantity",
    );
    expect_field(
        "negative quantity",
        a.sell(s, &sale(vec![line(aid.clone(), -3)]), now).await,
        "lines[0].quantity",
    );
    expect_field(
        "huge quantity",
        a.sell(s, &sale(vec![line(aid.clone(), 1 << 40)]), now)
            .await,
        "lines[0].quantity",
    );
    expect_field(
        "over max per order",
        a.sell(s, &sale(vec![line(aid.clone(), 11)]), now).await,
        "lines[0].quantity",
    );
    expect_field(
        "bad type",
        a.sell(s, &sale(vec![line("DROP TABLE".into(), 1)]), now)
            .await,
        "lines[0].ticket_type_id",
    );
    expect_field(
        "type of no event",
        a.sell(
            s,
            &sale(vec![line(uuid::Uuid::now_v7().to_string(), 1)]),
            now,
        )
        .await,
        "lines[0].ticket_type_id",
    );
    expect_field(
        "bad payment",
        a.sell(
            s,
            &SaleInput {
                payment_method: "bitcoin".into(),
                ..sale(vec![line(aid.clone(), 1)])
            },
            now,
        )
        .await,
        "payment_method",
    );
    expect_field(
        "bad email",
        a.sell(
            s,
            &SaleInput {
                buyer_email: Some("not an email".into()),
                ..sale(vec![line(aid.clone(), 1)])
            },
            now,
        )
        .await,
        "buyer_email",
    );
    expect_field(
        "huge buyer name",
        a.sell(
            s,
            &SaleInput {
                buyer_name: Some(huge.clone()),
                ..sale(vec![line(aid.clone(), 1)])
            },
            now,
        )
        .await,
        "buyer_name",
    );
    expect_field(
        "too many names",
        a.sell(
            s,
            &sale(vec![LineInput {
                attendee_names: vec!["A".into(), "B".into()],
                ..line(aid.clone(), 1)
            }]),
            now,
        )
        .await,
        "lines[0].attendee_names",
    );
    expect_field(
        "bad event",
        a.sell(
            s,
            &SaleInput {
                event_id: "".into(),
                ..sale(vec![line(aid.clone(), 1)])
            },
            now,
        )
        .await,
        "event_id",
    );
    expect_field(
        "unknown channel",
        a.sell(
            s,
            &SaleInput {
                channel: Some("fax".into()),
                ..sale(vec![line(aid.clone(), 1)])
            },
            now,
        )
        .await,
        "channel",
    );

    // Users
    let user = |u: &str, p: &str, r: &str| NewUserInput {
        username: u.into(),
        display_name: String::new(),
        password: p.into(),
        role: r.into(),
    };
    expect_field(
        "short password",
        a.create_user(s, &user("ann", "short", "door"), now).await,
        "password",
    );
    expect_field(
        "bad username",
        a.create_user(s, &user("a b", "long enough pw", "door"), now)
            .await,
        "username",
    );
    expect_field(
        "bad role",
        a.create_user(s, &user("ann", "long enough pw", "admin"), now)
            .await,
        "role",
    );
    expect_field(
        "huge username",
        a.create_user(s, &user(&huge, "long enough pw", "door"), now)
            .await,
        "username",
    );

    // Look-ups
    expect_field(
        "bad order id",
        a.get_order(s, "'; select 1; --").await,
        "id",
    );
    expect_field(
        "bad order code",
        a.get_order_by_code(s, "0OIL1").await,
        "code",
    );
    // A hostile search string is just text: it finds nothing and breaks nothing.
    assert!(a
        .search_orders(s, None, "%' or '1'='1", 10)
        .await
        .unwrap()
        .is_empty());
    assert!(a.search_orders(s, None, "_", 10).await.unwrap().is_empty());

    assert_eq!(before, f.snapshot().await, "a refused call wrote something");

    // A hostile but valid name is stored exactly as given.
    let e = a
        .create_event(
            s,
            &EventInput {
                name: "Robert'); DROP TABLE events;-- 🎟".into(),
                ..event_input()
            },
            now,
        )
        .await
        .unwrap();
    assert_eq!(
        a.get_event(s, &e.id.to_string())
            .await
            .unwrap()
            .name
            .as_str(),
        "Robert'); DROP TABLE events;-- 🎟"
    );
}

async fn quota_cannot_shrink_below_sold(f: Fixture) {
    let setup = f.event(10, 10).await;
    let (a, s, now) = (&f.admit, &f.owner, f.now);
    a.sell(s, &setup.sale(&[(&setup.a, 4)]), now).await.unwrap();
    let before = f.snapshot().await;
    let input = QuotaInput {
        event_id: setup.event.id.to_string(),
        name: "Capacity".into(),
        size: 3,
        ticket_type_ids: vec![setup.a.id.to_string(), setup.b.id.to_string()],
    };
    expect_field(
        "shrink below sold",
        a.update_quota(
            s,
            &setup.capacity.id.to_string(),
            setup.capacity.meta.version,
            &input,
            now,
        )
        .await,
        "size",
    );
    assert_eq!(before, f.snapshot().await);
    // Down to exactly what is sold is fine, and then nothing more sells.
    let q = a
        .update_quota(
            s,
            &setup.capacity.id.to_string(),
            setup.capacity.meta.version,
            &QuotaInput {
                size: 4,
                ..input.clone()
            },
            now,
        )
        .await
        .unwrap();
    assert_eq!(q.size, 4);
    assert!(matches!(
        a.sell(s, &setup.sale(&[(&setup.b, 1)]), now).await,
        Err(ApiError::SoldOut { .. })
    ));
    // A stale edit (old version) is refused, not silently applied.
    assert!(matches!(
        a.update_quota(
            s,
            &setup.capacity.id.to_string(),
            setup.capacity.meta.version,
            &QuotaInput { size: 50, ..input },
            now
        )
        .await,
        Err(ApiError::Stale { .. })
    ));
    f.assert_stock_invariant().await;
}

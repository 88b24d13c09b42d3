//! Holds, sales, cancellations, order look-up; each with its audit and outbox rows.

use admit_api::*;
use admit_core::model::{OrderStatus, TicketStatus};

use crate::both_backends;
use crate::fixture::Fixture;

both_backends!(
    sale_prices_come_from_the_catalogue,
    sold_out_writes_nothing,
    holds_keep_units_and_expire,
    cancel_gives_units_back_to_every_quota,
    orders_are_found_by_code_name_and_email,
    sales_respect_windows_and_status,
);

async fn sale_prices_come_from_the_catalogue(f: Fixture) {
    let setup = f.event(100, 100).await;
    let cashier = f.user("cashier", "box_office").await;
    let mut input = setup.sale(&[(&setup.a, 2), (&setup.b, 1)]);
    input.buyer_name = Some("Zoë O'Neil".into());
    input.buyer_email = Some("zoe@example.org".into());
    input.lines[0].attendee_names = vec!["Zoë".into(), "".into()];
    let o = f.admit.sell(&cashier, &input, f.now).await.unwrap();
    assert_eq!(o.order.total.minor, 2 * 2000 + 3500);
    assert_eq!(o.order.status, OrderStatus::Paid);
    assert_eq!(o.order.code.as_str().len(), 7);
    assert_eq!(o.tickets.len(), 3);
    assert_eq!(
        o.tickets[0].attendee_name.as_ref().map(|n| n.as_str()),
        Some("Zoë")
    );
    assert_eq!(o.tickets[1].attendee_name, None, "blank names are walk-ins");
    let stored = f
        .admit
        .get_order(&cashier, &o.order.id.to_string())
        .await
        .unwrap();
    assert_eq!(stored.order, o.order);
    assert_eq!(stored.tickets.len(), 3);
    // The sale wrote its audit entry and one outbox row per record, in its transaction.
    assert_eq!(
        f.scalar("select count(*) from audit_log where action = 'order.sell'")
            .await,
        1
    );
    assert_eq!(
        f.scalar("select count(*) from outbox where entity = 'order'")
            .await,
        1
    );
    assert_eq!(
        f.scalar("select count(*) from outbox where entity = 'ticket'")
            .await,
        3
    );
    let outbox = f.admit.store().list_outbox(0, 1000).await.unwrap();
    assert!(
        outbox.windows(2).all(|w| w[0].0 < w[1].0),
        "outbox comes in upload order"
    );
    // Entries of one instant have no order among themselves; find the sale's among the newest.
    let audit = f.admit.list_audit(&f.owner, 100).await.unwrap();
    let sell = audit
        .iter()
        .find(|e| e.action == "order.sell")
        .expect("the sale is audited");
    assert_eq!(sell.user_id, Some(cashier.user.id));
    assert_eq!(sell.entity_id, o.order.id.0);
    // Comp tickets are free whatever the catalogue says.
    let mut comp = setup.sale(&[(&setup.b, 2)]);
    comp.payment_method = "comp".into();
    comp.payment_note = Some("Sponsor's guests".into());
    let c = f.admit.sell(&cashier, &comp, f.now).await.unwrap();
    assert_eq!(c.order.total.minor, 0);
    assert!(c.tickets.iter().all(|t| t.price.minor == 0));
    f.assert_stock_invariant().await;
}

async fn sold_out_writes_nothing(f: Fixture) {
    let setup = f.event(3, 3).await;
    f.admit
        .sell(&f.owner, &setup.sale(&[(&setup.a, 2)]), f.now)
        .await
        .unwrap();
    let before = f.snapshot().await;
    let r = f
        .admit
        .sell(
            &f.owner,
            &setup.sale(&[(&setup.b, 1), (&setup.a, 1)]),
            f.now,
        )
        .await;
    let Err(ApiError::SoldOut { available, .. }) = r else {
        panic!("{r:?}")
    };
    assert!(available <= 1);
    assert_eq!(
        before,
        f.snapshot().await,
        "no order, ticket, audit or outbox row from a refused sale"
    );
    f.admit
        .sell(&f.owner, &setup.sale(&[(&setup.b, 1)]), f.now)
        .await
        .unwrap();
    f.assert_stock_invariant().await;
}

async fn holds_keep_units_and_expire(f: Fixture) {
    let setup = f.event(4, 4).await;
    let (a, s) = (&f.admit, &f.owner);
    let hold_input = HoldInput {
        event_id: setup.event.id.to_string(),
        lines: setup.sale(&[(&setup.a, 3)]).lines,
    };
    let h = a.hold(s, &hold_input, f.now).await.unwrap();
    assert_eq!(h.expires_at, f.at(15));
    f.assert_stock_invariant().await;
    // Only one unit is left for others while the hold stands.
    assert!(matches!(
        a.sell(s, &setup.sale(&[(&setup.b, 2)]), f.at(1)).await,
        Err(ApiError::SoldOut { .. })
    ));
    // The holder sells from the hold (4 > 3 held + 1 free fits exactly).
    let mut sale = setup.sale(&[(&setup.a, 4)]);
    sale.hold_id = Some(h.id.to_string());
    a.sell(s, &sale, f.at(2)).await.unwrap();
    f.assert_stock_invariant().await;
    // A consumed hold cannot be used again.
    assert!(matches!(
        a.sell(s, &sale, f.at(2)).await,
        Err(ApiError::Conflict { .. })
    ));

    // A second event: a hold that expires frees its units at the next sale.
    let setup2 = f.event(2, 2).await;
    let h2 = a
        .hold(
            s,
            &HoldInput {
                event_id: setup2.event.id.to_string(),
                lines: setup2.sale(&[(&setup2.a, 2)]).lines,
            },
            f.now,
        )
        .await
        .unwrap();
    assert!(matches!(
        a.sell(s, &setup2.sale(&[(&setup2.b, 1)]), f.at(14)).await,
        Err(ApiError::SoldOut { .. })
    ));
    a.sell(s, &setup2.sale(&[(&setup2.b, 2)]), f.at(15))
        .await
        .unwrap();
    assert_eq!(
        a.store().get_hold(h2.id).await.unwrap().status,
        admit_core::model::HoldStatus::Expired
    );
    f.assert_stock_invariant().await;

    // Release and sweep.
    let setup3 = f.event(5, 5).await;
    let h3 = a
        .hold(
            s,
            &HoldInput {
                event_id: setup3.event.id.to_string(),
                lines: setup3.sale(&[(&setup3.a, 5)]).lines,
            },
            f.now,
        )
        .await
        .unwrap();
    a.release_hold(s, &h3.id.to_string(), f.at(1))
        .await
        .unwrap();
    assert!(matches!(
        a.release_hold(s, &h3.id.to_string(), f.at(1)).await,
        Err(ApiError::Conflict { .. })
    ));
    let h4 = a
        .hold(
            s,
            &HoldInput {
                event_id: setup3.event.id.to_string(),
                lines: setup3.sale(&[(&setup3.a, 5)]).lines,
            },
            f.at(2),
        )
        .await
        .unwrap();
    assert_eq!(a.sweep_expired_holds(f.at(16)).await.unwrap(), 0);
    assert_eq!(a.sweep_expired_holds(f.at(17)).await.unwrap(), 1);
    assert_eq!(
        a.store().get_hold(h4.id).await.unwrap().status,
        admit_core::model::HoldStatus::Expired
    );
    let av = a
        .availability(s, &setup3.event.id.to_string())
        .await
        .unwrap();
    assert!(av.quotas.iter().all(|q| q.taken == 0));
    f.assert_stock_invariant().await;
}

async fn cancel_gives_units_back_to_every_quota(f: Fixture) {
    let setup = f.event(5, 5).await;
    let (a, s) = (&f.admit, &f.owner);
    let o = a
        .sell(s, &setup.sale(&[(&setup.a, 3), (&setup.b, 2)]), f.now)
        .await
        .unwrap();
    assert!(matches!(
        a.sell(s, &setup.sale(&[(&setup.b, 1)]), f.now).await,
        Err(ApiError::SoldOut { .. })
    ));
    // Cancel one standing ticket: both the capacity and the standing quota get a unit back.
    let one = o
        .tickets
        .iter()
        .find(|t| t.ticket_type_id == setup.a.id)
        .unwrap();
    let after = a
        .cancel(
            s,
            &CancelInput {
                order_id: o.order.id.to_string(),
                ticket_ids: vec![one.id.to_string()],
                refund: false,
            },
            f.at(1),
        )
        .await
        .unwrap();
    assert_eq!(
        after.order.status,
        OrderStatus::Paid,
        "other tickets remain"
    );
    assert_eq!(after.order.total.minor, 2 * 2000 + 2 * 3500);
    let av = a
        .availability(s, &setup.event.id.to_string())
        .await
        .unwrap();
    let q = |id| av.quotas.iter().find(|q| q.quota.id == id).unwrap().taken;
    assert_eq!(
        (q(setup.capacity.id), q(setup.qa.id), q(setup.qb.id)),
        (4, 2, 2)
    );
    f.assert_stock_invariant().await;
    // The same ticket cannot be cancelled twice.
    assert!(matches!(
        a.cancel(
            s,
            &CancelInput {
                order_id: o.order.id.to_string(),
                ticket_ids: vec![one.id.to_string()],
                refund: false
            },
            f.at(2)
        )
        .await,
        Err(ApiError::Conflict { .. })
    ));
    // Even after the quota's coverage changes, units go back where they came from.
    a.update_quota(
        s,
        &setup.qa.id.to_string(),
        setup.qa.meta.version,
        &QuotaInput {
            event_id: setup.event.id.to_string(),
            name: "Standing area".into(),
            size: 5,
            ticket_type_ids: vec![setup.b.id.to_string()],
        },
        f.at(2),
    )
    .await
    .unwrap();
    let refunded = a
        .cancel(
            s,
            &CancelInput {
                order_id: o.order.id.to_string(),
                ticket_ids: vec![],
                refund: true,
            },
            f.at(3),
        )
        .await
        .unwrap();
    assert_eq!(refunded.order.status, OrderStatus::Refunded);
    assert_eq!(refunded.order.total.minor, 0);
    assert!(refunded
        .tickets
        .iter()
        .all(|t| t.status == TicketStatus::Cancelled));
    let av = a
        .availability(s, &setup.event.id.to_string())
        .await
        .unwrap();
    assert!(av.quotas.iter().all(|q| q.taken == 0), "{:?}", av.quotas);
    f.assert_stock_invariant().await;
    assert!(matches!(
        a.cancel(
            s,
            &CancelInput {
                order_id: o.order.id.to_string(),
                ..Default::default()
            },
            f.at(4)
        )
        .await,
        Err(ApiError::Conflict { .. })
    ));
    assert_eq!(
        f.scalar("select count(*) from audit_log where action in ('order.cancel', 'order.refund')")
            .await,
        2
    );
}

async fn orders_are_found_by_code_name_and_email(f: Fixture) {
    let setup = f.event(100, 100).await;
    let (a, s) = (&f.admit, &f.owner);
    let mut input = setup.sale(&[(&setup.a, 1)]);
    input.buyer_name = Some("Ada 100% Lovelace".into());
    input.buyer_email = Some("ada@example.org".into());
    let ada = a.sell(s, &input, f.now).await.unwrap();
    let mut input = setup.sale(&[(&setup.b, 1)]);
    input.buyer_name = Some("Grace Hopper".into());
    let grace = a.sell(s, &input, f.at(1)).await.unwrap();
    a.sell(s, &setup.sale(&[(&setup.b, 1)]), f.at(2))
        .await
        .unwrap();

    let ids = |v: Vec<admit_core::model::Order>| v.into_iter().map(|o| o.id).collect::<Vec<_>>();
    assert_eq!(
        ids(a.search_orders(s, None, "lovelace", 10).await.unwrap()),
        vec![ada.order.id]
    );
    assert_eq!(
        ids(a.search_orders(s, None, "EXAMPLE.ORG", 10).await.unwrap()),
        vec![ada.order.id]
    );
    assert_eq!(
        ids(a.search_orders(s, None, "100%", 10).await.unwrap()),
        vec![ada.order.id]
    );
    let code = grace.order.code.as_str();
    assert_eq!(
        ids(a
            .search_orders(s, None, &code[..4].to_lowercase(), 10)
            .await
            .unwrap())
        .first(),
        Some(&grace.order.id)
    );
    assert_eq!(
        a.search_orders(s, Some(&setup.event.id.to_string()), "", 10)
            .await
            .unwrap()
            .len(),
        3
    );
    assert_eq!(
        a.get_order_by_code(s, &code.to_lowercase())
            .await
            .unwrap()
            .order
            .id,
        grace.order.id
    );
    assert!(matches!(
        a.get_order_by_code(s, "ZZZZZZZ").await,
        Err(ApiError::NotFound { .. })
    ));
}

async fn sales_respect_windows_and_status(f: Fixture) {
    let (a, s) = (&f.admit, &f.owner);
    let setup = f.event(10, 10).await;
    let late = a
        .create_ticket_type(
            s,
            &TicketTypeInput {
                event_id: setup.event.id.to_string(),
                name: "Late".into(),
                price_minor: 100,
                currency: "EUR".into(),
                sales_start: Some(f.at(60).to_rfc3339()),
                sales_end: Some(f.at(120).to_rfc3339()),
                min_per_order: Some(2),
                ..Default::default()
            },
            f.now,
        )
        .await
        .unwrap();
    let sale = |q| setup.sale(&[(&late, q)]);
    assert!(matches!(
        a.sell(s, &sale(2), f.at(59)).await,
        Err(ApiError::Invalid { .. })
    ));
    assert!(
        matches!(
            a.sell(s, &sale(1), f.at(60)).await,
            Err(ApiError::Invalid { .. })
        ),
        "min per order"
    );
    a.sell(s, &sale(2), f.at(60)).await.unwrap();
    assert!(
        matches!(
            a.sell(s, &sale(2), f.at(120)).await,
            Err(ApiError::Invalid { .. })
        ),
        "window end is exclusive"
    );
    // A cancelled event sells nothing.
    a.cancel_event(s, &setup.event.id.to_string(), f.at(1))
        .await
        .unwrap();
    assert!(matches!(
        a.sell(s, &setup.sale(&[(&setup.a, 1)]), f.at(61)).await,
        Err(ApiError::Invalid { .. })
    ));
}

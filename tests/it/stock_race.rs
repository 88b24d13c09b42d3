//! Many buyers racing for the last units: never oversold, never a partial order.

use std::sync::Arc;

use admit_api::ApiError;
use admit_core::model::TicketStatus;

use crate::both_backends;
use crate::fixture::Fixture;

both_backends!(
    four_hundred_buyers_get_exactly_fifty_units,
    mixed_orders_are_all_or_nothing,
    cancel_and_resell_under_concurrency_keeps_the_invariant,
);

/// 400 concurrent buyers, one ticket each, alternating two types that share a capacity quota
/// of 50 and each have their own quota of 30: exactly 50 are sold, neither type over 30.
async fn four_hundred_buyers_get_exactly_fifty_units(f: Fixture) {
    let setup = Arc::new(f.event(50, 30).await);
    let cashier = f.user("cashier", "box_office").await;
    let admit = f.admit.clone();
    let now = f.now;
    let mut tasks = Vec::new();
    for i in 0..400 {
        let (admit, setup, cashier) = (admit.clone(), setup.clone(), cashier.clone());
        tasks.push(tokio::spawn(async move {
            let t = if i % 2 == 0 { &setup.a } else { &setup.b };
            admit.sell(&cashier, &setup.sale(&[(t, 1)]), now).await
        }));
    }
    let mut sold = 0;
    let mut sold_out = 0;
    for t in tasks {
        match t.await.unwrap() {
            Ok(o) => {
                assert_eq!(o.tickets.len(), 1);
                sold += 1;
            }
            Err(ApiError::SoldOut { .. }) => sold_out += 1,
            Err(e) => panic!("unexpected error: {e:?}"),
        }
    }
    assert_eq!(sold, 50, "exactly the capacity is sold");
    assert_eq!(sold_out, 350);
    assert_eq!(f.count("orders").await, 50);
    assert_eq!(f.count("tickets").await, 50);
    for name in ["Standing", "Seated"] {
        let n = f
            .scalar(&format!(
                "select count(*) from tickets t join ticket_types tt on tt.id = t.ticket_type_id where tt.name = '{name}'"
            ))
            .await;
        assert!(n <= 30, "{name}: {n} sold past its own quota of 30");
    }
    let avail = f
        .admit
        .availability(&f.owner, &setup.event.id.to_string())
        .await
        .unwrap();
    assert!(avail.ticket_types.iter().all(|t| t.available == Some(0)));
    f.assert_stock_invariant().await;
}

/// Orders of one or two tickets over both types race; every order is complete or absent, and
/// the units left afterwards can still be sold exactly (none leaked).
async fn mixed_orders_are_all_or_nothing(f: Fixture) {
    let setup = Arc::new(f.event(50, 30).await);
    let cashier = f.user("cashier", "box_office").await;
    let now = f.now;
    let mut tasks = Vec::new();
    for i in 0..400usize {
        let (admit, setup, cashier) = (f.admit.clone(), setup.clone(), cashier.clone());
        tasks.push(tokio::spawn(async move {
            let lines: Vec<(&admit_core::model::TicketType, i64)> = match i % 4 {
                0 => vec![(&setup.a, 1)],
                1 => vec![(&setup.b, 2)],
                2 => vec![(&setup.a, 1), (&setup.b, 1)],
                _ => vec![(&setup.a, 3)],
            };
            let want: usize = lines.iter().map(|l| l.1 as usize).sum();
            (want, admit.sell(&cashier, &setup.sale(&lines), now).await)
        }));
    }
    let mut units = 0;
    for t in tasks {
        let (want, r) = t.await.unwrap();
        match r {
            Ok(o) => {
                assert_eq!(
                    o.tickets.len(),
                    want,
                    "an order carries every ticket asked for"
                );
                units += want;
            }
            Err(ApiError::SoldOut { .. }) => {}
            Err(e) => panic!("unexpected error: {e:?}"),
        }
    }
    assert!(units <= 50);
    assert_eq!(f.count("tickets").await as usize, units);
    // Orders in the database each hold all their tickets.
    let partial = f
        .scalar("select count(*) from orders o where (select count(*) from tickets t where t.order_id = o.id) = 0")
        .await;
    assert_eq!(partial, 0);
    f.assert_stock_invariant().await;
    // Whatever is left is really there: sell it one by one until sold out.
    let mut extra = 0;
    loop {
        let avail = f
            .admit
            .availability(&f.owner, &setup.event.id.to_string())
            .await
            .unwrap();
        let Some(t) = avail
            .ticket_types
            .iter()
            .find(|t| t.available.unwrap_or(0) > 0)
        else {
            break;
        };
        let t = if t.ticket_type.id == setup.a.id {
            &setup.a
        } else {
            &setup.b
        };
        f.admit
            .sell(&cashier, &setup.sale(&[(t, 1)]), now)
            .await
            .unwrap();
        extra += 1;
    }
    assert!(units + extra <= 50);
    assert_eq!(
        units + extra,
        50,
        "the capacity quota is the binding one once both types are spent"
    );
    f.assert_stock_invariant().await;
}

/// Sell out, then cancel 25 orders while 200 buyers race for the freed units.
async fn cancel_and_resell_under_concurrency_keeps_the_invariant(f: Fixture) {
    let setup = Arc::new(f.event(50, 50).await);
    let cashier = f.user("cashier", "box_office").await;
    let now = f.now;
    let mut orders = Vec::new();
    for i in 0..50 {
        let t = if i % 2 == 0 { &setup.a } else { &setup.b };
        orders.push(
            f.admit
                .sell(&cashier, &setup.sale(&[(t, 1)]), now)
                .await
                .unwrap(),
        );
    }
    assert!(matches!(
        f.admit
            .sell(&cashier, &setup.sale(&[(&setup.a, 1)]), now)
            .await,
        Err(ApiError::SoldOut { .. })
    ));
    let mut tasks = Vec::new();
    for o in orders.iter().take(25) {
        let (admit, cashier, id) = (f.admit.clone(), cashier.clone(), o.order.id.to_string());
        tasks.push(tokio::spawn(async move {
            admit
                .cancel(
                    &cashier,
                    &admit_api::CancelInput {
                        order_id: id,
                        ticket_ids: vec![],
                        refund: false,
                    },
                    now,
                )
                .await
                .map(|_| 0)
        }));
    }
    for i in 0..200 {
        let (admit, setup, cashier) = (f.admit.clone(), setup.clone(), cashier.clone());
        tasks.push(tokio::spawn(async move {
            let t = if i % 2 == 0 { &setup.a } else { &setup.b };
            admit
                .sell(&cashier, &setup.sale(&[(t, 1)]), now)
                .await
                .map(|_| 1)
        }));
    }
    let mut resold = 0;
    for t in tasks {
        match t.await.unwrap() {
            Ok(n) => resold += n,
            Err(ApiError::SoldOut { .. }) => {}
            Err(e) => panic!("unexpected error: {e:?}"),
        }
    }
    assert!(resold <= 25);
    let live = f
        .scalar("select count(*) from tickets where status = 'valid'")
        .await;
    assert_eq!(live, 25 + resold as i64);
    f.assert_stock_invariant().await;
    // The cancelled orders really are cancelled, ticket by ticket.
    for o in orders.iter().take(25) {
        let now_o = f
            .admit
            .get_order(&f.owner, &o.order.id.to_string())
            .await
            .unwrap();
        assert!(now_o
            .tickets
            .iter()
            .all(|t| t.status == TicketStatus::Cancelled));
    }
}

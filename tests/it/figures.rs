//! The dashboard's figures equal what was sold, on both backends.

use admit_api::*;

use crate::both_backends;
use crate::fixture::Fixture;

both_backends!(dashboard_counts_live_sales_today_and_in_total);

async fn dashboard_counts_live_sales_today_and_in_total(f: Fixture) {
    let setup = f.event(100, 60).await;
    let a = &f.admit;
    // Yesterday: 2 standing (40.00). Today: 1 standing + 2 seated (90.00), and an order of
    // 1 seated (35.00) that is cancelled, and 1 ticket cancelled out of a 2-ticket order.
    let yesterday = f.at(-24 * 60);
    a.sell(&f.owner, &setup.sale(&[(&setup.a, 2)]), yesterday)
        .await
        .unwrap();
    a.sell(
        &f.owner,
        &setup.sale(&[(&setup.a, 1), (&setup.b, 2)]),
        f.now,
    )
    .await
    .unwrap();
    let gone = a
        .sell(&f.owner, &setup.sale(&[(&setup.b, 1)]), f.now)
        .await
        .unwrap();
    a.cancel(
        &f.owner,
        &CancelInput {
            order_id: gone.order.id.to_string(),
            ..Default::default()
        },
        f.now,
    )
    .await
    .unwrap();
    let half = a
        .sell(&f.owner, &setup.sale(&[(&setup.a, 2)]), f.now)
        .await
        .unwrap();
    a.cancel(
        &f.owner,
        &CancelInput {
            order_id: half.order.id.to_string(),
            ticket_ids: vec![half.tickets[0].id.to_string()],
            refund: false,
        },
        f.now,
    )
    .await
    .unwrap();

    let today_start = f.at(-60);
    let d = a.dashboard(&f.owner, today_start).await.unwrap();
    assert_eq!(d.today_orders, 2, "the cancelled order no longer counts");
    assert_eq!(
        d.today_tickets, 4,
        "3 + the surviving half of the last order"
    );
    assert_eq!(d.today_revenue.len(), 1);
    assert_eq!(d.today_revenue[0].minor, 9000 + 2000);
    assert_eq!(d.today_revenue[0].currency.code(), "EUR");
    let ev = &d.events[0];
    assert_eq!(ev.event.id, setup.event.id);
    assert_eq!(ev.sold, 6, "every live ticket, yesterday's too");
    assert_eq!(ev.revenue[0].minor, 4000 + 9000 + 2000);
    assert_eq!(ev.capacity, Some(100), "the quota over both types");
    assert_eq!((ev.admitted, ev.inside), (0, 0));
    // Door staff may not see the figures.
    let door = f.user("dora", "door").await;
    assert!(matches!(
        a.dashboard(&door, today_start).await,
        Err(ApiError::Forbidden { .. })
    ));
}

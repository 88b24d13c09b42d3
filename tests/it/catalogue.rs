//! Events, categories, ticket types and quotas.

use admit_api::*;
use admit_core::model::EventStatus;

use crate::both_backends;
use crate::fixture::Fixture;

both_backends!(
    event_lifecycle_and_catalogue,
    availability_is_the_minimum_over_quotas
);

async fn event_lifecycle_and_catalogue(f: Fixture) {
    let (a, s, now) = (&f.admit, &f.owner, f.now);
    let music = a.create_category(s, "Music", None, now).await.unwrap();
    let jazz = a
        .create_category(s, "Jazz", Some(&music.id.to_string()), now)
        .await
        .unwrap();
    assert_eq!(jazz.parent_id, Some(music.id));
    let input = EventInput {
        name: "Late Jazz".into(),
        description: "Two sets\\nwith a break".into(),
        venue: "Cellar".into(),
        starts_at: "2026-07-01T21:00:00+02:00".into(),
        ends_at: "2026-07-02T01:00:00+02:00".into(),
        time_zone: "Europe/Berlin".into(),
        category_id: Some(jazz.id.to_string()),
    };
    let e = a.create_event(s, &input, now).await.unwrap();
    assert_eq!(e.status, EventStatus::Draft);
    assert_eq!(e.starts_at.to_rfc3339(), "2026-07-01T19:00:00+00:00");
    // No ticket types yet: publishing is refused.
    assert!(matches!(
        a.publish_event(s, &e.id.to_string(), now).await,
        Err(ApiError::Conflict { .. })
    ));
    let t = a
        .create_ticket_type(
            s,
            &TicketTypeInput {
                event_id: e.id.to_string(),
                name: "Entry".into(),
                price_minor: 1500,
                currency: "eur".into(),
                ..Default::default()
            },
            now,
        )
        .await
        .unwrap();
    assert_eq!(t.price.currency.code(), "EUR");
    let e2 = a
        .update_event(
            s,
            &e.id.to_string(),
            e.meta.version,
            &EventInput {
                name: "Late Jazz II".into(),
                ..input.clone()
            },
            f.at(1),
        )
        .await
        .unwrap();
    assert_eq!(e2.meta.version, e.meta.version + 1);
    // A second edit from the old version is stale.
    assert!(matches!(
        a.update_event(s, &e.id.to_string(), e.meta.version, &input, f.at(2))
            .await,
        Err(ApiError::Stale { .. })
    ));
    let p = a
        .publish_event(s, &e.id.to_string(), f.at(3))
        .await
        .unwrap();
    assert_eq!(p.status, EventStatus::Published);
    let c = a.cancel_event(s, &e.id.to_string(), f.at(4)).await.unwrap();
    assert_eq!(c.status, EventStatus::Cancelled);
    // Cancelled events cannot go back on sale.
    assert!(matches!(
        a.publish_event(s, &e.id.to_string(), f.at(5)).await,
        Err(ApiError::Conflict { .. })
    ));
    let stored = a.get_event(s, &e.id.to_string()).await.unwrap();
    assert_eq!(stored, c);
    // Every change is audited and queued for sync, with its version.
    assert_eq!(
        f.scalar("select count(*) from audit_log where action like 'event.%'")
            .await,
        4
    );
    assert_eq!(
        f.scalar("select max(version) from outbox where entity = 'event'")
            .await,
        4
    );
}

async fn availability_is_the_minimum_over_quotas(f: Fixture) {
    let setup = f.event(10, 6).await;
    let (a, s, now) = (&f.admit, &f.owner, f.now);
    a.sell(s, &setup.sale(&[(&setup.a, 5)]), now).await.unwrap();
    let av = a
        .availability(s, &setup.event.id.to_string())
        .await
        .unwrap();
    let get = |id| {
        av.ticket_types
            .iter()
            .find(|t| t.ticket_type.id == id)
            .unwrap()
            .available
    };
    assert_eq!(get(setup.a.id), Some(1), "own quota 6 - 5");
    assert_eq!(get(setup.b.id), Some(5), "capacity 10 - 5");
    let cap = av
        .quotas
        .iter()
        .find(|q| q.quota.id == setup.capacity.id)
        .unwrap();
    assert_eq!((cap.taken, cap.available()), (5, 5));
    // A type with no quota is unlimited.
    let free = a
        .create_ticket_type(
            s,
            &TicketTypeInput {
                event_id: setup.event.id.to_string(),
                name: "Stream".into(),
                price_minor: 0,
                currency: "EUR".into(),
                ..Default::default()
            },
            now,
        )
        .await
        .unwrap();
    let av = a
        .availability(s, &setup.event.id.to_string())
        .await
        .unwrap();
    assert_eq!(
        av.ticket_types
            .iter()
            .find(|t| t.ticket_type.id == free.id)
            .unwrap()
            .available,
        None
    );
}

//! Group commit of common sales (`postgres/batch.rs`): many buyers at once over shared and
//! per-type quotas, and statements whose sales do not all fit.

use super::*;

use std::sync::atomic::Ordering;

use crate::NewSale;

/// Two types, each under a quota of its own (30), both under a capacity quota (50).
struct Shared {
    w: Arc<World>,
    a: TicketType,
    b: TicketType,
    cap: Quota,
    qa: Quota,
    qb: Quota,
}

impl Shared {
    async fn new() -> Self {
        let w = Arc::new(World::new().await);
        let a = w.ticket_type("A").await;
        let b = w.ticket_type("B").await;
        let cap = w.quota("Capacity", 50, &[&a, &b]).await;
        let qa = w.quota("A only", 30, &[&a]).await;
        let qb = w.quota("B only", 30, &[&b]).await;
        Shared {
            w,
            a,
            b,
            cap,
            qa,
            qb,
        }
    }

    fn sale(&self, i: usize, qty: u32) -> NewSale {
        let t = if i % 2 == 0 { &self.a } else { &self.b };
        let at = t0() + Duration::hours(1);
        self.w
            .sale(at, t, qty, &[&self.cap, &self.qa, &self.qb], None)
    }

    /// Every quota counts exactly its live tickets and never more than its size; every order
    /// holds all its tickets, each ticket its links, and each sale its audit and outbox rows.
    async fn assert_books(&self, sold: &[NewSale]) {
        let books: Vec<(Uuid, i32, i32, i64)> = sqlx::query_as(
            "select q.id, q.size, q.taken,
                    (select count(*) from ticket_quotas tq join tickets t on t.id = tq.ticket_id
                      where tq.quota_id = q.id and t.status = 'valid')
             from quotas q",
        )
        .fetch_all(self.w.store().pool())
        .await
        .unwrap();
        for (quota, size, taken, tickets) in books {
            assert!(taken <= size, "quota {quota}: {taken} taken of {size}");
            assert_eq!(
                i64::from(taken),
                tickets,
                "quota {quota}: taken must equal its live tickets"
            );
        }
        let units: u32 = sold.iter().map(|s| s.tickets.len() as u32).sum();
        assert_eq!(self.w.taken(&self.cap).await, units);
        assert_eq!(
            self.w.count("select count(*) from orders").await,
            sold.len() as i64
        );
        let partial = self
            .w
            .count(
                "select count(*) from orders o
                 where (select count(*) from tickets t where t.order_id = o.id) = 0",
            )
            .await;
        assert_eq!(partial, 0, "an order without its tickets");
        for s in sold {
            let tickets: i64 =
                sqlx::query_scalar("select count(*) from tickets where order_id = $1")
                    .bind(s.order.id.0)
                    .fetch_one(self.w.store().pool())
                    .await
                    .unwrap();
            assert_eq!(tickets as usize, s.tickets.len(), "an order lost tickets");
        }
        // Each ticket is linked to its own quota and the capacity.
        assert_eq!(
            self.w.count("select count(*) from ticket_quotas").await,
            2 * i64::from(units)
        );
        let sales = sold.len() as i64;
        let order_ids: Vec<Uuid> = sold.iter().map(|s| s.order.id.0).collect();
        let audit: i64 =
            sqlx::query_scalar("select count(*) from audit_log where entity_id = any($1)")
                .bind(&order_ids)
                .fetch_one(self.w.store().pool())
                .await
                .unwrap();
        assert_eq!(audit, sales, "one audit entry per sale");
        let outbox: i64 =
            sqlx::query_scalar("select count(*) from outbox where entity_id = any($1)")
                .bind(&order_ids)
                .fetch_one(self.w.store().pool())
                .await
                .unwrap();
        assert_eq!(outbox, sales, "one outbox row per sale");
    }
}

/// Sell every sale at once; the sold ones, and the quotas the refused ones were short of.
async fn race(store: &Arc<PgStore>, sales: Vec<NewSale>) -> (Vec<NewSale>, Vec<(QuotaId, u32)>) {
    let tasks: Vec<_> = sales
        .into_iter()
        .map(|sale| {
            let store = store.clone();
            tokio::spawn(async move {
                let r = store.sell(&sale).await;
                (sale, r)
            })
        })
        .collect();
    let (mut sold, mut refused) = (Vec::new(), Vec::new());
    for t in tasks {
        match t.await.unwrap() {
            (sale, Ok(())) => sold.push(sale),
            (
                _,
                Err(StoreError::SoldOut {
                    quota_id,
                    available,
                }),
            ) => refused.push((quota_id, available)),
            (_, Err(e)) => panic!("a buyer got {e:?}; only sold out is acceptable"),
        }
    }
    (sold, refused)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn four_hundred_buyers_over_shared_and_own_quotas_get_exactly_the_capacity() {
    let s = Shared::new().await;
    let sales = (0..400).map(|i| s.sale(i, 1)).collect();
    let (sold, refused) = race(&s.w.db.store, sales).await;
    assert_eq!(sold.len(), 50, "exactly the capacity is sold");
    assert_eq!(refused.len(), 350, "every other buyer is told sold out");
    for (quota, available) in &refused {
        assert!(
            [s.cap.id, s.qa.id, s.qb.id].contains(quota),
            "refused for a quota the sale does not take from"
        );
        // A type's own quota can still have units when the capacity has none, never the
        // other way round once the capacity is gone.
        if *quota == s.cap.id {
            assert_eq!(*available, 0);
        }
    }
    assert!(s.w.taken(&s.qa).await <= 30);
    assert!(s.w.taken(&s.qb).await <= 30);
    s.assert_books(&sold).await;
    // Near the end most shared statements cannot fit and their sales go one by one; that
    // they were tried together is what this test is about.
    let counts = s.w.db.store.plain.counts();
    assert!(
        counts.batches.load(Ordering::Relaxed) + counts.declined_batches.load(Ordering::Relaxed)
            > 0,
        "400 buyers at once never shared a statement"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn orders_of_several_tickets_racing_are_all_or_nothing() {
    let s = Shared::new().await;
    let sales = (0..300).map(|i| s.sale(i, 1 + (i % 3) as u32)).collect();
    let (sold, _) = race(&s.w.db.store, sales).await;
    s.assert_books(&sold).await;
    // What is left is really there: single tickets sell until the capacity is spent.
    let mut sold = sold;
    let mut i = 0;
    while s.w.taken(&s.cap).await < 50 {
        let sale = s.sale(i, 1);
        match s.w.store().sell(&sale).await {
            Ok(()) => sold.push(sale),
            Err(StoreError::SoldOut { .. }) => {}
            Err(e) => panic!("{e:?}"),
        }
        i += 1;
        assert!(i < 200, "units leaked: the capacity never fills");
    }
    assert_eq!(s.w.taken(&s.cap).await, 50);
    s.assert_books(&sold).await;
}

/// Queue `sales` while a statement holds `quota`, then let them go together.
async fn one_statement(
    w: &World,
    quota: &Quota,
    sales: Vec<NewSale>,
) -> Vec<Result<(), StoreError>> {
    let store = &w.db.store;
    let held = store.plain.hold(&[quota.id]);
    let n = sales.len();
    let tasks: Vec<_> = sales
        .into_iter()
        .map(|sale| {
            let store = store.clone();
            tokio::spawn(async move { store.sell(&sale).await })
        })
        .collect();
    let deadline = std::time::Instant::now() + StdDuration::from_secs(10);
    while store.plain.waiting() < n {
        assert!(
            std::time::Instant::now() < deadline,
            "the sales never queued"
        );
        tokio::time::sleep(StdDuration::from_millis(1)).await;
    }
    drop(held);
    let mut results = Vec::new();
    for t in tasks {
        results.push(t.await.unwrap());
    }
    results
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sales_that_fit_together_share_one_statement() {
    let w = World::new().await;
    let t = w.ticket_type("Standing").await;
    let q = w.quota("Floor", 10, &[&t]).await;
    let at = t0() + Duration::hours(1);
    let sales: Vec<NewSale> = (0..8).map(|_| w.sale(at, &t, 1, &[&q], None)).collect();
    let results = one_statement(&w, &q, sales).await;
    assert!(results.iter().all(Result::is_ok), "{results:?}");
    let counts = w.db.store.plain.counts();
    assert_eq!(counts.batches.load(Ordering::Relaxed), 1);
    assert_eq!(counts.batched_sales.load(Ordering::Relaxed), 8);
    assert_eq!(w.taken(&q).await, 8);
    assert_eq!(w.count("select count(*) from tickets").await, 8);
    assert_eq!(w.count("select count(*) from ticket_quotas").await, 8);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_statement_whose_sales_do_not_all_fit_sells_them_one_by_one() {
    let w = World::new().await;
    let t = w.ticket_type("Standing").await;
    let q = w.quota("Floor", 5, &[&t]).await;
    let at = t0() + Duration::hours(1);
    // Eight buyers of one, one of three: eleven units wanted, five there.
    let mut sales: Vec<NewSale> = (0..8).map(|_| w.sale(at, &t, 1, &[&q], None)).collect();
    sales.insert(3, w.sale(at, &t, 3, &[&q], None));
    let wanted: Vec<usize> = sales.iter().map(|s| s.tickets.len()).collect();
    let results = one_statement(&w, &q, sales).await;
    let counts = w.db.store.plain.counts();
    assert_eq!(counts.declined_batches.load(Ordering::Relaxed), 1);
    assert_eq!(counts.batches.load(Ordering::Relaxed), 0);
    let mut units = 0;
    for (r, n) in results.iter().zip(&wanted) {
        match r {
            Ok(()) => units += n,
            // Told how many were left when its turn came, as a sale alone would be.
            Err(StoreError::SoldOut {
                quota_id,
                available,
            }) => {
                assert_eq!(*quota_id, q.id);
                assert!((*available as usize) < *n);
            }
            Err(e) => panic!("{e:?}"),
        }
    }
    assert_eq!(units, 5, "every unit there was sold, none more");
    assert_eq!(w.taken(&q).await, 5);
    assert_eq!(w.count("select count(*) from tickets").await, 5);
    assert_eq!(
        w.count("select count(*) from orders o where (select count(*) from tickets t where t.order_id = o.id) <> (select count(*) from ticket_quotas tq join tickets t on t.id = tq.ticket_id where t.order_id = o.id)").await,
        0
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_sale_does_not_take_the_others_of_its_statement_with_it() {
    let w = World::new().await;
    let t = w.ticket_type("Standing").await;
    let q = w.quota("Floor", 50, &[&t]).await;
    let at = t0() + Duration::hours(1);
    let first = w.sale(at, &t, 1, &[&q], None);
    w.store().sell(&first).await.unwrap();
    let mut sales: Vec<NewSale> = (0..6).map(|_| w.sale(at, &t, 1, &[&q], None)).collect();
    // One of them reuses an order code that is taken: its insert fails the statement.
    sales[2].order.code = first.order.code.clone();
    let results = one_statement(&w, &q, sales).await;
    assert_eq!(
        w.db.store
            .plain
            .counts()
            .declined_batches
            .load(Ordering::Relaxed),
        1
    );
    for (i, r) in results.iter().enumerate() {
        match (i, r) {
            (2, Err(StoreError::Conflict { .. })) => {}
            (2, other) => panic!("the clashing sale got {other:?}"),
            (_, r) => assert!(r.is_ok(), "sale {i}: {r:?}"),
        }
    }
    assert_eq!(w.taken(&q).await, 6);
    assert_eq!(w.count("select count(*) from orders").await, 6);
    assert_eq!(w.count("select count(*) from tickets").await, 6);
}

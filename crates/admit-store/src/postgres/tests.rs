//! Tests against a real PostgreSQL server. Each test creates its own database
//! (`admit_pgtest_<uuid>`) and drops it afterwards, so tests run in parallel without seeing
//! each other. The server is `DATABASE_URL` when set, else the local default.

use std::sync::Arc;
use std::time::Duration as StdDuration;

use chrono::{DateTime, Duration, Utc};
use serde_json::json;
use sqlx::{Connection, PgConnection};
use uuid::Uuid;

use admit_core::audit::Change;
use admit_core::model::*;
use admit_core::order_code::OrderCode;
use admit_core::role::Role;
use admit_core::text::{Description, Email, Name, Username};
use admit_core::time::TimeZone;
use admit_core::*;

use super::PgStore;
use crate::{Cancellation, NewSale, OrderQuery, Revocation, Store, StoreError};
use admit_core::secret::SecretFingerprint;

mod batch;

const DEFAULT_ADMIN_URL: &str = "postgres://postgres@127.0.0.1:5432/postgres";

fn admin_url() -> String {
    std::env::var("DATABASE_URL")
        .ok()
        .filter(|u| !u.trim().is_empty())
        .unwrap_or_else(|| DEFAULT_ADMIN_URL.to_string())
}

/// The same URL pointing at another database.
fn with_database(url: &str, database: &str) -> String {
    let (base, query) = url.split_at(url.find('?').unwrap_or(url.len()));
    let authority_start = base.find("://").map_or(0, |i| i + 3);
    let authority_end = base[authority_start..]
        .find('/')
        .map_or(base.len(), |i| authority_start + i);
    format!("{}/{database}{query}", &base[..authority_end])
}

/// A fresh database with the schema applied, dropped (connections and all) on drop.
struct TestDb {
    name: String,
    store: Arc<PgStore>,
}

impl TestDb {
    async fn new() -> Self {
        let admin = admin_url();
        let name = format!("admit_pgtest_{}", Uuid::now_v7().simple());
        let mut conn = PgConnection::connect(&admin).await.unwrap_or_else(|e| {
            panic!("PostgreSQL tests need a server at DATABASE_URL or {DEFAULT_ADMIN_URL}: {e}")
        });
        // CREATE DATABASE copies template1 and fails while another session is connected to
        // it (another test creating its database at the same moment); that passes.
        let mut attempt = 0;
        loop {
            attempt += 1;
            match sqlx::query(&format!("create database {name}"))
                .execute(&mut conn)
                .await
            {
                Ok(_) => break,
                Err(sqlx::Error::Database(e))
                    if e.code().as_deref() == Some("55006") && attempt < 20 =>
                {
                    tokio::time::sleep(StdDuration::from_millis(50 * attempt)).await;
                }
                Err(e) => panic!("cannot create {name}: {e}"),
            }
        }
        let _ = conn.close().await;
        let store = PgStore::connect(&with_database(&admin, &name))
            .await
            .expect("connect and migrate");
        TestDb {
            name,
            store: Arc::new(store),
        }
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        let name = self.name.clone();
        // Blocking inside the test's runtime would panic; a thread with its own runtime may.
        let dropped = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("runtime");
            rt.block_on(async {
                let mut conn = PgConnection::connect(&admin_url()).await?;
                sqlx::query(&format!("drop database if exists {name} with (force)"))
                    .execute(&mut conn)
                    .await?;
                conn.close().await
            })
        })
        .join();
        if !matches!(dropped, Ok(Ok(()))) {
            eprintln!("warning: could not drop test database {}", self.name);
        }
    }
}

fn t0() -> DateTime<Utc> {
    DateTime::from_timestamp(1_777_800_000, 0).expect("valid time")
}

fn eur() -> Currency {
    Currency::parse("currency", "EUR").unwrap()
}

fn name(s: &str) -> Name {
    Name::parse("name", s).unwrap()
}

/// A change with one audit entry and one outbox row, as every use case writes.
fn change<T: serde::Serialize>(
    at: DateTime<Utc>,
    user: UserId,
    action: &str,
    entity: &str,
    id: Uuid,
    version: i64,
    record: &T,
) -> Change {
    Change::new(
        at,
        Some(user),
        None,
        action,
        entity,
        id,
        json!({ "test": action }),
    )
    .sync(at, entity, id, version, record)
}

/// An owner and a published event, the ground every stock test stands on.
struct World {
    db: TestDb,
    user: User,
    event: Event,
}

impl World {
    async fn new() -> Self {
        let db = TestDb::new().await;
        let user = new_user("owner", Role::Owner);
        db.store
            .create_first_user(
                &user,
                "$argon2id$fake",
                &change(t0(), user.id, "user.create", "user", user.id.0, 1, &user),
            )
            .await
            .unwrap();
        let event = Event {
            id: EventId::new(t0()),
            name: name("Gala"),
            description: Description::parse("d", "An evening").unwrap(),
            venue: name("Hall"),
            starts_at: t0() + Duration::days(30),
            ends_at: t0() + Duration::days(30) + Duration::hours(4),
            time_zone: TimeZone::parse("tz", "Europe/Berlin").unwrap(),
            status: EventStatus::Published,
            category_id: None,
            meta: Meta::new(t0()),
        };
        db.store
            .create_event(
                &event,
                &change(
                    t0(),
                    user.id,
                    "event.create",
                    "event",
                    event.id.0,
                    1,
                    &event,
                ),
            )
            .await
            .unwrap();
        World { db, user, event }
    }

    fn store(&self) -> &PgStore {
        &self.db.store
    }

    async fn ticket_type(&self, label: &str) -> TicketType {
        let t = TicketType {
            id: TicketTypeId::new(t0()),
            event_id: self.event.id,
            name: name(label),
            price: Money::price("price", 2500, eur()).unwrap(),
            sales_start: None,
            sales_end: None,
            min_per_order: 1,
            max_per_order: 500,
            active: true,
            sort_order: 0,
            meta: Meta::new(t0()),
        };
        self.store()
            .create_ticket_type(
                &t,
                &change(
                    t0(),
                    self.user.id,
                    "ticket_type.create",
                    "ticket_type",
                    t.id.0,
                    1,
                    &t,
                ),
            )
            .await
            .unwrap();
        t
    }

    async fn quota(&self, label: &str, size: u32, types: &[&TicketType]) -> Quota {
        let mut ticket_type_ids: Vec<TicketTypeId> = types.iter().map(|t| t.id).collect();
        ticket_type_ids.sort();
        let q = Quota {
            id: QuotaId::new(t0()),
            event_id: self.event.id,
            name: name(label),
            size,
            ticket_type_ids,
            meta: Meta::new(t0()),
        };
        self.store()
            .create_quota(
                &q,
                &change(t0(), self.user.id, "quota.create", "quota", q.id.0, 1, &q),
            )
            .await
            .unwrap();
        q
    }

    async fn quotas(&self) -> Vec<QuotaUsage> {
        self.store().list_quotas(self.event.id).await.unwrap()
    }

    async fn taken(&self, quota: &Quota) -> u32 {
        self.quotas()
            .await
            .into_iter()
            .find(|u| u.quota.id == quota.id)
            .unwrap()
            .taken
    }

    /// A sale of `qty` tickets of one type at `at`, taking from every quota that covers it.
    fn sale(
        &self,
        at: DateTime<Utc>,
        ticket_type: &TicketType,
        qty: u32,
        quotas: &[&Quota],
        hold: Option<HoldId>,
    ) -> NewSale {
        let order_id = OrderId::new(at);
        let tickets: Vec<Ticket> = (0..qty)
            .map(|_| Ticket {
                id: TicketId::new(at),
                order_id,
                event_id: self.event.id,
                ticket_type_id: ticket_type.id,
                price: ticket_type.price,
                attendee_name: None,
                status: TicketStatus::Valid,
                meta: Meta::new(at),
            })
            .collect();
        let covering: Vec<&&Quota> = quotas
            .iter()
            .filter(|q| q.ticket_type_ids.contains(&ticket_type.id))
            .collect();
        let mut demand: Vec<(QuotaId, u32)> = covering.iter().map(|q| (q.id, qty)).collect();
        demand.sort();
        let ticket_quotas = tickets
            .iter()
            .flat_map(|t| covering.iter().map(move |q| (t.id, q.id)))
            .collect();
        let order = Order {
            id: order_id,
            code: OrderCode::generate(),
            event_id: self.event.id,
            buyer_name: Some(name("Ann O'Neil")),
            buyer_email: Some(Email::parse("email", "ann@example.org").unwrap()),
            channel: Channel::BoxOffice,
            payment_method: PaymentMethod::Cash,
            status: OrderStatus::Paid,
            total: ticket_type.price.checked_mul(i64::from(qty)).unwrap(),
            created_by: self.user.id,
            device_id: None,
            coupon_id: None,
            discount_minor: 0,
            payment: Payment::taken(at, self.user.id, None),
            meta: Meta::new(at),
        };
        let change = change(
            at,
            self.user.id,
            "order.sell",
            "order",
            order.id.0,
            1,
            &order,
        );
        NewSale {
            order,
            tickets,
            demand,
            ticket_quotas,
            hold,
            waitlist_entry: None,
            mail: None,
            change,
        }
    }

    fn hold(&self, at: DateTime<Utc>, ticket_type: &TicketType, qty: u32, minutes: i64) -> Hold {
        Hold {
            id: HoldId::new(at),
            event_id: self.event.id,
            lines: vec![Line {
                ticket_type_id: ticket_type.id,
                quantity: qty,
            }],
            status: HoldStatus::Active,
            expires_at: at + Duration::minutes(minutes),
            created_by: self.user.id,
            device_id: None,
            meta: Meta::new(at),
        }
    }

    async fn create_hold(&self, hold: &Hold, demand: &[(QuotaId, u32)]) -> Result<(), StoreError> {
        let c = change(
            hold.meta.created_at,
            self.user.id,
            "hold.create",
            "hold",
            hold.id.0,
            1,
            hold,
        );
        self.store().create_hold(hold, demand, &c).await
    }

    async fn count(&self, sql: &str) -> i64 {
        sqlx::query_scalar(sql)
            .fetch_one(self.store().pool())
            .await
            .unwrap()
    }
}

fn new_user(username: &str, role: Role) -> User {
    User {
        id: UserId::new(t0()),
        username: Username::parse_login("username", username).unwrap(),
        display_name: name(username),
        role,
        active: true,
        meta: Meta::new(t0()),
    }
}

fn sold_out(r: Result<(), StoreError>) -> (QuotaId, u32) {
    match r {
        Err(StoreError::SoldOut {
            quota_id,
            available,
        }) => (quota_id, available),
        other => panic!("expected SoldOut, got {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn migrations_apply_and_the_catalogue_reads_back() {
    let w = World::new().await;
    let applied: i64 = w
        .count("select count(*) from _sqlx_migrations where success")
        .await;
    assert_eq!(
        applied as usize,
        super::MIGRATOR.iter().count(),
        "every migration ran"
    );

    assert_eq!(w.store().get_event(w.event.id).await.unwrap(), w.event);
    assert_eq!(
        w.store().list_events().await.unwrap(),
        vec![w.event.clone()]
    );
    let b = w.ticket_type("B seat").await;
    let a = w.ticket_type("A seat").await;
    let types = w.store().list_ticket_types(w.event.id).await.unwrap();
    assert_eq!(
        types,
        vec![a.clone(), b.clone()],
        "same sort_order, so by name"
    );
    let q = w.quota("Hall", 100, &[&a, &b]).await;
    let usage = w.quotas().await;
    assert_eq!(usage.len(), 1);
    assert_eq!(
        usage[0].quota, q,
        "ticket_type_ids come back sorted, as given"
    );
    assert_eq!(usage[0].taken, 0);
    assert_eq!(w.store().count_users().await.unwrap(), 1);
    assert_eq!(w.store().get_user(w.user.id).await.unwrap(), w.user);

    // Every write above left its audit entry and its outbox row, in write order.
    let outbox = w.store().list_outbox(0, 100).await.unwrap();
    let entities: Vec<&str> = outbox.iter().map(|(_, o)| o.entity.as_str()).collect();
    assert_eq!(
        entities,
        ["user", "event", "ticket_type", "ticket_type", "quota"]
    );
    assert!(outbox.windows(2).all(|p| p[0].0 < p[1].0));
    assert_eq!(outbox[4].1.payload, serde_json::to_value(&q).unwrap());
    let after = w.store().list_outbox(outbox[2].0, 100).await.unwrap();
    assert_eq!(after.len(), 2);
    let later = t0() + Duration::minutes(1);
    let category = Category {
        id: CategoryId::new(later),
        parent_id: None,
        name: name("Concerts"),
        meta: Meta::new(later),
    };
    let c = change(
        later,
        w.user.id,
        "category.create",
        "category",
        category.id.0,
        1,
        &category,
    );
    w.store().create_category(&category, &c).await.unwrap();
    assert_eq!(w.store().list_categories().await.unwrap(), vec![category]);
    let audit = w.store().list_audit(3).await.unwrap();
    assert_eq!(audit.len(), 3);
    assert_eq!(audit[0].action, "category.create", "newest first");
    assert_eq!(audit[0], c.audit[0]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sells_until_sold_out_and_a_refused_sale_writes_nothing() {
    let w = World::new().await;
    let t = w.ticket_type("Standing").await;
    let q = w.quota("Floor", 5, &[&t]).await;
    let at = t0() + Duration::hours(1);
    for n in [2, 2] {
        w.store()
            .sell(&w.sale(at, &t, n, &[&q], None))
            .await
            .unwrap();
    }
    assert_eq!(w.taken(&q).await, 4);
    let refused = w.sale(at, &t, 2, &[&q], None);
    assert_eq!(sold_out(w.store().sell(&refused).await), (q.id, 1));
    assert!(matches!(
        w.store().get_order(refused.order.id).await,
        Err(StoreError::NotFound { .. })
    ));
    let audit_before = w.count("select count(*) from audit_log").await;
    w.store()
        .sell(&w.sale(at, &t, 1, &[&q], None))
        .await
        .unwrap();
    assert_eq!(
        w.count("select count(*) from audit_log").await,
        audit_before + 1
    );
    assert_eq!(
        sold_out(w.store().sell(&w.sale(at, &t, 1, &[&q], None)).await),
        (q.id, 0)
    );
    assert_eq!(w.taken(&q).await, 5);
    assert_eq!(w.count("select count(*) from tickets").await, 5);
    assert_eq!(w.count("select count(*) from ticket_quotas").await, 5);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_hundred_buyers_share_fifty_units_exactly() {
    let w = World::new().await;
    let t = w.ticket_type("Standing").await;
    let q = w.quota("Floor", 50, &[&t]).await;
    let at = t0() + Duration::hours(1);
    let tasks: Vec<_> = (0..200)
        .map(|_| {
            let store = w.db.store.clone();
            let sale = w.sale(at, &t, 1, &[&q], None);
            tokio::spawn(async move { store.sell(&sale).await })
        })
        .collect();
    let mut sold = 0;
    for task in tasks {
        match task.await.unwrap() {
            Ok(()) => sold += 1,
            Err(StoreError::SoldOut {
                quota_id,
                available: 0,
            }) if quota_id == q.id => {}
            Err(e) => panic!("a buyer got {e:?}; only sold out is acceptable"),
        }
    }
    assert_eq!(sold, 50);
    assert_eq!(w.taken(&q).await, 50);
    assert_eq!(
        w.count("select count(*) from tickets where status = 'valid'")
            .await,
        50
    );
    assert_eq!(w.count("select count(*) from orders").await, 50);
}

/// Sales, holds, hold-consuming sales and sweeps of two types over overlapping quotas, all at
/// once, at times on both sides of the holds' expiry. Whatever interleaving happens, every
/// unit a quota counts is held by exactly one valid ticket or one active hold.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mixed_stock_traffic_keeps_the_books_exact_and_never_deadlocks() {
    let w = Arc::new(World::new().await);
    let a = w.ticket_type("A").await;
    let b = w.ticket_type("B").await;
    let cap = w.quota("Capacity", 60, &[&a, &b]).await;
    let qa = w.quota("A only", 35, &[&a]).await;
    let qb = w.quota("B only", 35, &[&b]).await;
    let at = t0() + Duration::hours(1);
    let tasks: Vec<_> = (0..160)
        .map(|i: i64| {
            let (w, a, b, cap, qa, qb) = (
                w.clone(),
                a.clone(),
                b.clone(),
                cap.clone(),
                qa.clone(),
                qb.clone(),
            );
            tokio::spawn(async move {
                let t = if i % 2 == 0 { &a } else { &b };
                let quotas = [&cap, &qa, &qb];
                let when = at + Duration::seconds(i % 5 * 20);
                let qty = 1 + (i % 3) as u32;
                match i % 4 {
                    0 | 1 => w.store().sell(&w.sale(when, t, qty, &quotas, None)).await,
                    2 => {
                        let sale = w.sale(when, t, qty, &quotas, None);
                        let hold = w.hold(when, t, qty, 1);
                        w.create_hold(&hold, &sale.demand).await?;
                        let sale =
                            w.sale(when + Duration::seconds(30), t, qty, &quotas, Some(hold.id));
                        w.store().sell(&sale).await
                    }
                    _ => w.store().sweep_expired_holds(when).await.map(|_| ()),
                }
            })
        })
        .collect();
    for task in tasks {
        match task.await.unwrap() {
            Ok(()) | Err(StoreError::SoldOut { .. }) => {}
            // Another sale's sweep may expire a hold before its own sale consumes it.
            Err(StoreError::HoldNotActive { status }) if status == "expired" => {}
            Err(e) => panic!("unexpected {e:?}"),
        }
    }
    let books: Vec<(Uuid, i32, i64, i64)> = sqlx::query_as(
        "select q.id, q.taken,
                (select count(*) from ticket_quotas tq join tickets t on t.id = tq.ticket_id
                  where tq.quota_id = q.id and t.status = 'valid'),
                (select coalesce(sum(hq.quantity), 0)
                   from hold_quotas hq join holds h on h.id = hq.hold_id
                  where hq.quota_id = q.id and h.status = 'active')
         from quotas q",
    )
    .fetch_all(w.store().pool())
    .await
    .unwrap();
    for (quota, taken, tickets, holds) in books {
        assert_eq!(
            i64::from(taken),
            tickets + holds,
            "quota {quota}: taken must equal live tickets plus active holds"
        );
    }
    let sold = w.count("select count(*) from tickets").await;
    assert!(sold > 0, "some sales went through");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_type_in_two_quotas_takes_from_both_and_the_smaller_decides() {
    let w = World::new().await;
    let t = w.ticket_type("Balcony").await;
    let other = w.ticket_type("Stalls").await;
    let capacity = w.quota("Capacity", 10, &[&t, &other]).await;
    let balcony = w.quota("Balcony", 3, &[&t]).await;
    let at = t0() + Duration::hours(1);
    let sale = w.sale(at, &t, 3, &[&capacity, &balcony], None);
    assert_eq!(sale.demand.len(), 2);
    w.store().sell(&sale).await.unwrap();
    assert_eq!(w.taken(&capacity).await, 3);
    assert_eq!(w.taken(&balcony).await, 3);
    assert_eq!(
        sold_out(
            w.store()
                .sell(&w.sale(at, &t, 1, &[&capacity, &balcony], None))
                .await
        ),
        (balcony.id, 0)
    );
    assert_eq!(
        w.taken(&capacity).await,
        3,
        "the refused sale took nothing from either quota"
    );
    w.store()
        .sell(&w.sale(at, &other, 7, &[&capacity, &balcony], None))
        .await
        .unwrap();
    assert_eq!(
        sold_out(
            w.store()
                .sell(&w.sale(at, &other, 1, &[&capacity, &balcony], None))
                .await
        ),
        (capacity.id, 0)
    );
    let mut recorded = w
        .store()
        .ticket_quotas(&[sale.tickets[0].id])
        .await
        .unwrap();
    recorded.sort();
    let mut expected = vec![
        (sale.tickets[0].id, capacity.id),
        (sale.tickets[0].id, balcony.id),
    ];
    expected.sort();
    assert_eq!(recorded, expected);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sale_consumes_its_hold_and_takes_the_units_over() {
    let w = World::new().await;
    let t = w.ticket_type("Standing").await;
    let q = w.quota("Floor", 4, &[&t]).await;
    let at = t0() + Duration::hours(1);
    let hold = w.hold(at, &t, 3, 15);
    w.create_hold(&hold, &[(q.id, 3)]).await.unwrap();
    assert_eq!(w.store().get_hold(hold.id).await.unwrap(), hold);
    assert_eq!(w.taken(&q).await, 3);
    assert_eq!(
        sold_out(w.store().sell(&w.sale(at, &t, 2, &[&q], None)).await),
        (q.id, 1)
    );

    let later = at + Duration::minutes(5);
    // The cart grew by one: the hold's three come back and the sale takes four.
    let sale = w.sale(later, &t, 4, &[&q], Some(hold.id));
    w.store().sell(&sale).await.unwrap();
    assert_eq!(w.taken(&q).await, 4);
    let consumed = w.store().get_hold(hold.id).await.unwrap();
    assert_eq!(consumed.status, HoldStatus::Consumed);
    assert_eq!(consumed.meta.version, 2);
    assert_eq!(
        w.store()
            .sell(&w.sale(later, &t, 1, &[&q], Some(hold.id)))
            .await,
        Err(StoreError::HoldNotActive {
            status: "consumed".into()
        })
    );
    assert_eq!(
        w.store()
            .sell(&w.sale(later, &t, 1, &[&q], Some(HoldId::new(later))))
            .await,
        Err(StoreError::NotFound { entity: "hold" })
    );
    // A hold too big for the quota takes nothing.
    let greedy = w.hold(later, &t, 1, 15);
    assert_eq!(
        sold_out(w.create_hold(&greedy, &[(q.id, 1)]).await),
        (q.id, 0)
    );
    assert!(matches!(
        w.store().get_hold(greedy.id).await,
        Err(StoreError::NotFound { .. })
    ));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_expired_hold_is_swept_by_the_next_sale() {
    let w = World::new().await;
    let t = w.ticket_type("Standing").await;
    let q = w.quota("Floor", 2, &[&t]).await;
    let at = t0() + Duration::hours(1);
    let hold = w.hold(at, &t, 2, 10);
    w.create_hold(&hold, &[(q.id, 2)]).await.unwrap();
    assert_eq!(
        sold_out(
            w.store()
                .sell(&w.sale(at + Duration::minutes(9), &t, 1, &[&q], None))
                .await
        ),
        (q.id, 0)
    );

    // Ten minutes on, the hold is overdue: the sale gives its units back first.
    let sale_time = at + Duration::minutes(10);
    assert_eq!(
        w.store()
            .sell(&w.sale(sale_time, &t, 1, &[&q], Some(hold.id)))
            .await,
        Err(StoreError::HoldNotActive {
            status: "expired".into()
        }),
        "an overdue hold cannot be consumed"
    );
    assert_eq!(
        w.store().get_hold(hold.id).await.unwrap().status,
        HoldStatus::Active,
        "that sale rolled back"
    );
    w.store()
        .sell(&w.sale(sale_time, &t, 1, &[&q], None))
        .await
        .unwrap();
    let expired = w.store().get_hold(hold.id).await.unwrap();
    assert_eq!(expired.status, HoldStatus::Expired);
    assert_eq!(expired.meta.updated_at, sale_time);
    assert_eq!(w.taken(&q).await, 1);

    // The global sweep finds holds of every event, once.
    let h2 = w.hold(sale_time, &t, 1, 1);
    w.create_hold(&h2, &[(q.id, 1)]).await.unwrap();
    assert_eq!(w.taken(&q).await, 2);
    assert_eq!(w.store().sweep_expired_holds(sale_time).await.unwrap(), 0);
    assert_eq!(
        w.store()
            .sweep_expired_holds(sale_time + Duration::minutes(1))
            .await
            .unwrap(),
        1
    );
    assert_eq!(
        w.store()
            .sweep_expired_holds(sale_time + Duration::minutes(2))
            .await
            .unwrap(),
        0
    );
    assert_eq!(w.taken(&q).await, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn releasing_a_hold_gives_its_units_back_once() {
    let w = World::new().await;
    let t = w.ticket_type("Standing").await;
    let q = w.quota("Floor", 5, &[&t]).await;
    let at = t0() + Duration::hours(1);
    let hold = w.hold(at, &t, 5, 15);
    w.create_hold(&hold, &[(q.id, 5)]).await.unwrap();
    let c = || change(at, w.user.id, "hold.release", "hold", hold.id.0, 2, &hold);
    w.store().release_hold(hold.id, at, &c()).await.unwrap();
    assert_eq!(w.taken(&q).await, 0);
    assert_eq!(
        w.store().get_hold(hold.id).await.unwrap().status,
        HoldStatus::Released
    );
    assert_eq!(
        w.store().release_hold(hold.id, at, &c()).await,
        Err(StoreError::HoldNotActive {
            status: "released".into()
        })
    );
    assert_eq!(
        w.store().release_hold(HoldId::new(at), at, &c()).await,
        Err(StoreError::NotFound { entity: "hold" })
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancelling_gives_units_back_and_refuses_stale_or_repeated_cancels() {
    let w = World::new().await;
    let t = w.ticket_type("Standing").await;
    let q = w.quota("Floor", 2, &[&t]).await;
    let at = t0() + Duration::hours(1);
    let sale = w.sale(at, &t, 2, &[&q], None);
    w.store().sell(&sale).await.unwrap();
    assert_eq!(w.taken(&q).await, 2);

    let later = at + Duration::minutes(1);
    let cancel_one = |expected_version: i64| {
        let mut order = sale.order.clone();
        order.total = t.price;
        order.meta = order.meta.touched(later);
        order.meta.version = expected_version + 1;
        let mut ticket = sale.tickets[0].clone();
        ticket.status = TicketStatus::Cancelled;
        ticket.meta = ticket.meta.touched(later);
        let change = change(
            later,
            w.user.id,
            "order.cancel",
            "order",
            order.id.0,
            order.meta.version,
            &order,
        );
        let revoke = vec![Revocation {
            event_id: w.event.id,
            fingerprint: SecretFingerprint([1; 16]),
            ticket_id: ticket.id,
            reason: "cancelled".into(),
            at: later,
        }];
        Cancellation {
            order,
            expected_version,
            tickets: vec![ticket],
            release: vec![(q.id, 1)],
            revoke,
            refunds: vec![],
            coupon_release: None,
            change,
        }
    };
    w.store().cancel(&cancel_one(1)).await.unwrap();
    assert_eq!(w.taken(&q).await, 1);
    let revoked = w.store().revocations(w.event.id).await.unwrap();
    assert_eq!(revoked.len(), 1, "the cancelled ticket's secret is revoked");
    assert_eq!(revoked[0].ticket_id, sale.tickets[0].id);
    let read = w.store().get_order(sale.order.id).await.unwrap();
    assert_eq!(read.order.meta.version, 2);
    assert_eq!(read.order.total, t.price);
    assert_eq!(
        read.tickets
            .iter()
            .filter(|t| t.status == TicketStatus::Valid)
            .count(),
        1
    );

    assert_eq!(
        w.store().cancel(&cancel_one(1)).await,
        Err(StoreError::Stale { entity: "order" })
    );
    assert_eq!(
        w.store().cancel(&cancel_one(2)).await,
        Err(StoreError::Conflict {
            constraint: "ticket_not_valid".into()
        }),
        "that ticket is cancelled already"
    );
    assert_eq!(
        w.taken(&q).await,
        1,
        "refused cancellations gave nothing back"
    );
    // The freed unit sells again.
    w.store()
        .sell(&w.sale(later, &t, 1, &[&q], None))
        .await
        .unwrap();
    assert_eq!(w.taken(&q).await, 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stale_updates_are_refused_and_quotas_cannot_shrink_below_taken() {
    let w = World::new().await;
    let later = t0() + Duration::minutes(1);
    let mut e = w.event.clone();
    e.name = name("Gala night");
    e.meta = e.meta.touched(later);
    let c = change(later, w.user.id, "event.update", "event", e.id.0, 2, &e);
    w.store().update_event(&e, 1, &c).await.unwrap();
    assert_eq!(w.store().get_event(e.id).await.unwrap(), e);
    assert_eq!(
        w.store().update_event(&e, 1, &c).await,
        Err(StoreError::Stale { entity: "event" })
    );
    let mut ghost = e.clone();
    ghost.id = EventId::new(later);
    assert_eq!(
        w.store().update_event(&ghost, 1, &c).await,
        Err(StoreError::NotFound { entity: "event" })
    );

    let t = w.ticket_type("Standing").await;
    let q = w.quota("Floor", 5, &[&t]).await;
    w.store()
        .sell(&w.sale(later, &t, 3, &[&q], None))
        .await
        .unwrap();
    let mut smaller = q.clone();
    smaller.size = 2;
    smaller.meta = q.meta.touched(later);
    let c = change(
        later,
        w.user.id,
        "quota.update",
        "quota",
        q.id.0,
        2,
        &smaller,
    );
    assert_eq!(
        w.store().update_quota(&smaller, 1, &c).await,
        Err(StoreError::QuotaBelowTaken {
            quota_id: q.id,
            taken: 3
        })
    );
    smaller.size = 3;
    w.store().update_quota(&smaller, 1, &c).await.unwrap();
    assert_eq!(
        w.quotas().await[0].quota,
        smaller,
        "same coverage saved again"
    );
    assert_eq!(
        w.store().update_quota(&smaller, 1, &c).await,
        Err(StoreError::Stale { entity: "quota" })
    );

    // Coverage moves to another type; a type of another event is refused.
    let u = w.ticket_type("Seated").await;
    let mut moved = smaller.clone();
    moved.ticket_type_ids = vec![u.id];
    moved.meta = smaller.meta.touched(later);
    let c = change(later, w.user.id, "quota.update", "quota", q.id.0, 3, &moved);
    w.store().update_quota(&moved, 2, &c).await.unwrap();
    assert_eq!(w.quotas().await[0].quota, moved);
    let mut stranger = moved.clone();
    stranger.ticket_type_ids = vec![TicketTypeId::new(later)];
    stranger.meta = moved.meta.touched(later);
    assert_eq!(
        w.store().update_quota(&stranger, 3, &c).await,
        Err(StoreError::NotFound {
            entity: "ticket type"
        })
    );
    assert_eq!(
        w.quotas().await[0].quota,
        moved,
        "the refused update changed nothing"
    );

    let mut u = w.user.clone();
    u.display_name = name("The Owner");
    u.meta = u.meta.touched(later);
    let c = change(later, w.user.id, "user.update", "user", u.id.0, 2, &u);
    w.store()
        .update_user(&u, 1, Some("$argon2id$new"), &c)
        .await
        .unwrap();
    assert_eq!(
        w.store().update_user(&u, 1, None, &c).await,
        Err(StoreError::Stale { entity: "user" })
    );
    let cred = w.store().credentials("owner").await.unwrap().unwrap();
    assert_eq!(cred.password_hash, "$argon2id$new");
    assert_eq!(cred.user, u);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exactly_one_of_ten_racing_first_owners_wins() {
    let db = TestDb::new().await;
    let tasks: Vec<_> = (0..10)
        .map(|i| {
            let store = db.store.clone();
            tokio::spawn(async move {
                let user = new_user(&format!("owner{i}"), Role::Owner);
                let c = change(t0(), user.id, "user.create", "user", user.id.0, 1, &user);
                store.create_first_user(&user, "$argon2id$fake", &c).await
            })
        })
        .collect();
    let mut won = 0;
    for task in tasks {
        match task.await.unwrap() {
            Ok(()) => won += 1,
            Err(StoreError::Conflict { constraint }) if constraint == "users_exist" => {}
            Err(e) => panic!("unexpected {e:?}"),
        }
    }
    assert_eq!(won, 1);
    assert_eq!(db.store.count_users().await.unwrap(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unique_rules_surface_as_named_conflicts() {
    let w = World::new().await;
    let twin = new_user("owner", Role::Door);
    let c = change(t0(), twin.id, "user.create", "user", twin.id.0, 1, &twin);
    assert_eq!(
        w.store().create_user(&twin, "$argon2id$fake", &c).await,
        Err(StoreError::Conflict {
            constraint: "users_username_key".into()
        })
    );
    let t = w.ticket_type("Standing").await;
    let q = w.quota("Floor", 5, &[&t]).await;
    let at = t0() + Duration::hours(1);
    let first = w.sale(at, &t, 1, &[&q], None);
    w.store().sell(&first).await.unwrap();
    let mut clash = w.sale(at, &t, 1, &[&q], None);
    clash.order.code = first.order.code.clone();
    assert_eq!(
        w.store().sell(&clash).await,
        Err(StoreError::Conflict {
            constraint: "orders_code_key".into()
        })
    );
    assert_eq!(w.taken(&q).await, 1, "the clashing sale took nothing");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn order_search_matches_code_name_and_email_and_escapes_wildcards() {
    let w = World::new().await;
    let t = w.ticket_type("Standing").await;
    let q = w.quota("Floor", 50, &[&t]).await;
    let mut sales = Vec::new();
    for (i, (buyer, email)) in [
        ("Ann O'Neil", "ann@example.org"),
        ("Bob 100%", "bob_b@example.org"),
        ("Cy", "cy@example.org"),
    ]
    .into_iter()
    .enumerate()
    {
        let mut s = w.sale(t0() + Duration::minutes(i as i64), &t, 1, &[&q], None);
        s.order.buyer_name = Some(name(buyer));
        s.order.buyer_email = Some(Email::parse("email", email).unwrap());
        w.store().sell(&s).await.unwrap();
        sales.push(s);
    }
    let search = |text: &str| {
        let query = OrderQuery {
            event_id: Some(w.event.id),
            text: Some(text.to_string()),
            limit: 10,
        };
        let store = w.db.store.clone();
        async move {
            store
                .search_orders(&query)
                .await
                .unwrap()
                .into_iter()
                .map(|o| o.id)
                .collect::<Vec<_>>()
        }
    };
    assert_eq!(search("o'neil").await, vec![sales[0].order.id]);
    assert_eq!(
        search("%").await,
        vec![sales[1].order.id],
        "% is a character, not a wildcard"
    );
    assert_eq!(search("_").await, vec![sales[1].order.id]);
    assert_eq!(search("EXAMPLE").await.len(), 3);
    assert_eq!(
        search("EXAMPLE").await[0],
        sales[2].order.id,
        "newest first"
    );
    let code = sales[2].order.code.as_str().to_lowercase();
    assert!(search(&code[..4]).await.contains(&sales[2].order.id));
    let all = w
        .store()
        .search_orders(&OrderQuery {
            event_id: None,
            text: None,
            limit: 2,
        })
        .await
        .unwrap();
    assert_eq!(all.len(), 2);
    let by_code = w
        .store()
        .get_order_by_code(sales[1].order.code.as_str())
        .await
        .unwrap();
    assert_eq!(by_code.order, sales[1].order);
    let mut tickets = sales[1].tickets.clone();
    tickets.sort_by_key(|t| t.id);
    assert_eq!(by_code.tickets, tickets);
}

// ---- the door

mod door {
    use super::*;

    use admit_core::checkin::{
        AdmittedTypes, CheckinList, CheckinListSpec, Direction, TicketState, Verdict,
    };
    use admit_core::secret::{KeyId, SigningKey};

    use crate::{
        Block, Decide, EventKey, IssuedSecret, ScanAttempt, ScanContext, ScanResolution, TicketView,
    };

    fn spec(label: &str) -> CheckinListSpec {
        CheckinListSpec {
            name: label.into(),
            admitted: AdmittedTypes::All,
            admit_pending: false,
            allow_multi_entry: false,
            allow_entry_after_exit: true,
            admission_opens: None,
            admission_closes: None,
            max_entries_total: None,
            max_entries_per_day: None,
            gates: Vec::new(),
        }
    }

    impl World {
        fn any_change(&self, at: DateTime<Utc>, entity: &str, id: Uuid, version: i64) -> Change {
            change(
                at,
                self.user.id,
                &format!("{entity}.write"),
                entity,
                id,
                version,
                &json!({ "id": id }),
            )
        }

        async fn list(&self, spec: CheckinListSpec) -> CheckinList {
            let list = CheckinList::create(self.event.id, spec, t0()).unwrap();
            let c = self.any_change(t0(), "checkin_list", list.id.0, 1);
            self.store().create_checkin_list(&list, &c).await.unwrap();
            list
        }

        /// One paid ticket of a new type, sold at t0 + 1 h.
        async fn sold_ticket(&self, label: &str) -> (TicketType, Ticket, Order) {
            let t = self.ticket_type(label).await;
            let q = self.quota(label, 100, &[&t]).await;
            let sale = self.sale(t0() + Duration::hours(1), &t, 1, &[&q], None);
            self.store().sell(&sale).await.unwrap();
            (t, sale.tickets[0].clone(), sale.order)
        }

        fn key(&self, id: u16, retired: bool, at: DateTime<Utc>) -> (EventKey, [u8; 32]) {
            let secret = [id as u8 + 1; 32];
            let signing = SigningKey::from_secret_bytes(self.event.id, KeyId(id), &secret);
            let key = EventKey {
                event_id: self.event.id,
                key_id: KeyId(id),
                public_key: signing.public_key(),
                retired,
                meta: Meta::new(at),
            };
            (key, secret)
        }
    }

    fn attempt(
        list: &CheckinList,
        ticket: Option<TicketId>,
        nonce: &str,
        direction: Direction,
        at: DateTime<Utc>,
    ) -> ScanAttempt {
        ScanAttempt {
            id: ScanId::new(at),
            nonce: nonce.into(),
            list_id: list.id,
            event_id: list.event_id,
            ticket_id: ticket,
            fingerprint: ticket.map(|t| SecretFingerprint(*t.0.as_bytes())),
            direction,
            device_id: Some(DeviceId::new(at)),
            gate: Some("North".into()),
            user_id: None,
            at,
            recorded_at: at,
            raw: Some("AT1:RAW".into()),
        }
    }

    /// Single entry, re-entry after an exit: an entry is ok unless the last counted scan is
    /// an entry. Exits are always ok. The answer says what the store showed.
    fn single_entry(direction: Direction) -> Decide {
        Arc::new(move |ctx: &ScanContext| {
            let inside = ctx
                .history
                .last()
                .is_some_and(|s| s.direction == Direction::Entry);
            let verdict = if ctx.ticket.is_none() {
                Verdict::Invalid
            } else if inside && direction == Direction::Entry {
                Verdict::AlreadyRedeemed
            } else {
                Verdict::Ok
            };
            ScanResolution {
                verdict,
                explanation: String::new(),
                counted: verdict.is_ok(),
                forced: false,
                answer: json!({
                    "verdict": verdict,
                    "history": ctx.history.len(),
                    "revoked": ctx.revoked,
                    "blocked": ctx.blocked,
                }),
            }
        })
    }

    /// Ok iff the ticket has no counted entry at all.
    fn first_entry_only() -> Decide {
        Arc::new(|ctx: &ScanContext| {
            let used = ctx.history.iter().any(|s| s.direction == Direction::Entry);
            let verdict = if used {
                Verdict::AlreadyRedeemed
            } else {
                Verdict::Ok
            };
            ScanResolution {
                verdict,
                explanation: String::new(),
                counted: !used,
                forced: false,
                answer: json!({ "verdict": verdict }),
            }
        })
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn keys_upsert_retire_and_the_newest_held_key_signs() {
        let w = World::new().await;
        let s = w.store();
        let e = w.event.id;
        assert_eq!(s.signing_key(e).await.unwrap(), None);

        // Key 1 with its private half, key 2 public only (issued elsewhere).
        let (k1, secret1) = w.key(1, false, t0());
        let (k2, _) = w.key(2, false, t0());
        s.put_event_key(&k1, Some(secret1), &w.any_change(t0(), "event_key", e.0, 1))
            .await
            .unwrap();
        s.put_event_key(&k2, None, &w.any_change(t0(), "event_key", e.0, 1))
            .await
            .unwrap();
        assert_eq!(s.event_keys(e).await.unwrap(), vec![k1.clone(), k2.clone()]);
        assert_eq!(
            s.signing_key(e).await.unwrap(),
            Some((KeyId(1), secret1)),
            "key 2 is newer but this store cannot sign with it"
        );

        // Key 3 held: it signs now.
        let (k3, secret3) = w.key(3, false, t0());
        s.put_event_key(&k3, Some(secret3), &w.any_change(t0(), "event_key", e.0, 1))
            .await
            .unwrap();
        assert_eq!(s.signing_key(e).await.unwrap(), Some((KeyId(3), secret3)));

        // Retiring key 3 (same public key, newer meta) hands signing back to key 1; the
        // private half given again is ignored.
        let later = t0() + Duration::minutes(5);
        let mut retired3 = k3.clone();
        retired3.retired = true;
        retired3.meta = k3.meta.touched(later);
        s.put_event_key(
            &retired3,
            Some(secret3),
            &w.any_change(later, "event_key", e.0, 2),
        )
        .await
        .unwrap();
        let keys = s.event_keys(e).await.unwrap();
        assert_eq!(keys[2], retired3);
        assert_eq!(s.signing_key(e).await.unwrap(), Some((KeyId(1), secret1)));

        // A stale copy of key 3 cannot bring it back.
        s.put_event_key(&k3, None, &w.any_change(later, "event_key", e.0, 1))
            .await
            .unwrap();
        assert!(s.event_keys(e).await.unwrap()[2].retired);
        assert_eq!(s.signing_key(e).await.unwrap(), Some((KeyId(1), secret1)));
        assert_eq!(
            w.count("select count(*) from outbox where entity = 'event_key'")
                .await,
            5,
            "every write queued its change"
        );
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_ticket_secret_is_issued_once_and_replaced_only_with_a_revocation() {
        let w = World::new().await;
        let s = w.store();
        let (_, ticket, _) = w.sold_ticket("Seat").await;
        assert_eq!(s.ticket_secret(ticket.id).await.unwrap(), None);
        let first = IssuedSecret {
            ticket_id: ticket.id,
            event_id: w.event.id,
            secret: "AT1:FIRST".into(),
            fingerprint: SecretFingerprint([1; 16]),
            key_id: KeyId(1),
            issued_at: t0(),
        };
        let c = || w.any_change(t0(), "ticket_secret", ticket.id.0, 1);
        s.put_ticket_secret(&first, None, &c()).await.unwrap();
        assert_eq!(
            s.ticket_secret(ticket.id).await.unwrap(),
            Some(first.clone())
        );

        let later = t0() + Duration::minutes(1);
        let second = IssuedSecret {
            secret: "AT1:SECOND".into(),
            fingerprint: SecretFingerprint([2; 16]),
            key_id: KeyId(2),
            issued_at: later,
            ..first.clone()
        };
        let audits_before = w.count("select count(*) from audit_log").await;
        assert_eq!(
            s.put_ticket_secret(&second, None, &c()).await,
            Err(StoreError::Conflict {
                constraint: "ticket_secret_exists".into()
            })
        );
        assert_eq!(
            w.count("select count(*) from audit_log").await,
            audits_before,
            "a refused issue writes no change"
        );
        assert_eq!(
            s.ticket_secret(ticket.id).await.unwrap(),
            Some(first.clone())
        );

        let revoke = Revocation {
            event_id: w.event.id,
            fingerprint: first.fingerprint,
            ticket_id: ticket.id,
            reason: "reissued".into(),
            at: later,
        };
        s.put_ticket_secret(&second, Some(&revoke), &c())
            .await
            .unwrap();
        assert_eq!(s.ticket_secret(ticket.id).await.unwrap(), Some(second));
        assert_eq!(
            s.revocations(w.event.id).await.unwrap(),
            vec![revoke.clone()]
        );

        // Adding revocations again (an import) keeps the one already listed.
        let again = Revocation {
            reason: "cancelled".into(),
            at: later + Duration::minutes(1),
            ..revoke.clone()
        };
        let other = Revocation {
            fingerprint: SecretFingerprint([9; 16]),
            at: t0() - Duration::minutes(1),
            ..revoke.clone()
        };
        s.add_revocations(
            &[again, other.clone()],
            &w.any_change(later, "revocation", ticket.id.0, 1),
        )
        .await
        .unwrap();
        assert_eq!(
            s.revocations(w.event.id).await.unwrap(),
            vec![other, revoke],
            "ordered by time; the first reason stands"
        );
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn blocks_are_set_replaced_and_lifted() {
        let w = World::new().await;
        let s = w.store();
        let (_, ticket, _) = w.sold_ticket("Seat").await;
        let e = w.event.id;
        let c = || w.any_change(t0(), "block", ticket.id.0, 1);
        let block = Block {
            event_id: e,
            ticket_id: ticket.id,
            reason: "lost".into(),
            at: t0(),
        };
        s.set_block(e, ticket.id, Some(&block), &c()).await.unwrap();
        assert_eq!(s.blocks(e).await.unwrap(), vec![block.clone()]);
        let stolen = Block {
            reason: "stolen".into(),
            at: t0() + Duration::minutes(1),
            ..block
        };
        s.set_block(e, ticket.id, Some(&stolen), &c())
            .await
            .unwrap();
        assert_eq!(s.blocks(e).await.unwrap(), vec![stolen]);
        s.set_block(e, ticket.id, None, &c()).await.unwrap();
        assert_eq!(s.blocks(e).await.unwrap(), vec![]);
        // Lifting a block that is not there is no error.
        s.set_block(e, ticket.id, None, &c()).await.unwrap();
        assert_eq!(
            w.count("select count(*) from outbox where entity = 'block'")
                .await,
            4
        );
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn checkin_lists_round_trip_and_stale_updates_are_refused() {
        let w = World::new().await;
        let s = w.store();
        let t = w.ticket_type("Seat").await;
        let mut rich = spec("Main door");
        rich.admitted = AdmittedTypes::Only(vec![t.id]);
        rich.admit_pending = true;
        rich.allow_multi_entry = true;
        rich.admission_opens = Some(t0());
        rich.admission_closes = Some(t0() + Duration::hours(6));
        rich.max_entries_total = Some(3);
        rich.max_entries_per_day = Some(1);
        rich.gates = vec!["North".into(), "South".into()];
        let main = w.list(rich).await;
        let balcony = w.list(spec("Balcony")).await;
        assert_eq!(s.get_checkin_list(main.id).await.unwrap(), main);
        assert_eq!(
            s.list_checkin_lists(w.event.id).await.unwrap(),
            vec![balcony.clone(), main.clone()],
            "by name"
        );
        assert_eq!(
            s.get_checkin_list(CheckinListId::new(t0())).await,
            Err(StoreError::NotFound {
                entity: "checkin list"
            })
        );

        let later = t0() + Duration::minutes(1);
        let mut changed = main.spec();
        changed.admitted = AdmittedTypes::All;
        changed.gates = vec![];
        changed.max_entries_total = None;
        let v2 = main.updated(changed, later).unwrap();
        let c = w.any_change(later, "checkin_list", main.id.0, 2);
        s.update_checkin_list(&v2, 1, &c).await.unwrap();
        assert_eq!(s.get_checkin_list(main.id).await.unwrap(), v2);
        assert_eq!(
            s.update_checkin_list(&v2, 1, &c).await,
            Err(StoreError::Stale {
                entity: "checkin list"
            })
        );
        let ghost = CheckinList::create(w.event.id, spec("Ghost"), t0()).unwrap();
        assert_eq!(
            s.update_checkin_list(&ghost, 1, &c).await,
            Err(StoreError::NotFound {
                entity: "checkin list"
            })
        );
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn imports_keep_the_newer_version() {
        let w = World::new().await;
        let s = w.store();
        let later = t0() + Duration::minutes(1);
        let c = |v| w.any_change(later, "import", w.event.id.0, v);

        // An event this store has never seen is inserted.
        let mut fresh = w.event.clone();
        fresh.id = EventId::new(later);
        fresh.name = name("Matinee");
        s.import_event(&fresh, &c(1)).await.unwrap();
        assert_eq!(s.get_event(fresh.id).await.unwrap(), fresh);

        // A newer version replaces, an older or equal one is ignored.
        let mut v2 = w.event.clone();
        v2.name = name("Gala (moved)");
        v2.meta = w.event.meta.touched(later);
        s.import_event(&v2, &c(2)).await.unwrap();
        assert_eq!(s.get_event(w.event.id).await.unwrap(), v2);
        s.import_event(&w.event, &c(1)).await.unwrap();
        assert_eq!(s.get_event(w.event.id).await.unwrap(), v2, "older ignored");

        let list = CheckinList::create(w.event.id, spec("Main"), t0()).unwrap();
        s.import_checkin_list(&list, &c(1)).await.unwrap();
        assert_eq!(s.get_checkin_list(list.id).await.unwrap(), list);
        let mut newer_spec = list.spec();
        newer_spec.name = "Main (new)".into();
        newer_spec.gates = vec!["East".into()];
        let newer = list.updated(newer_spec, later).unwrap();
        s.import_checkin_list(&newer, &c(2)).await.unwrap();
        assert_eq!(s.get_checkin_list(list.id).await.unwrap(), newer);
        s.import_checkin_list(&list, &c(1)).await.unwrap();
        assert_eq!(
            s.get_checkin_list(list.id).await.unwrap(),
            newer,
            "older ignored"
        );
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn redeem_reads_the_ticket_and_a_repeated_nonce_answers_the_same() {
        let w = World::new().await;
        let s = w.store();
        let (t, ticket, order) = w.sold_ticket("Seat").await;
        let list = w.list(spec("Main")).await;
        let at = t0() + Duration::hours(2);

        // The context the decision sees.
        let seen = Arc::new(std::sync::Mutex::new(Vec::<ScanContext>::new()));
        let spy: Decide = {
            let seen = seen.clone();
            let inner = single_entry(Direction::Entry);
            Arc::new(move |ctx: &ScanContext| {
                seen.lock().unwrap().push(ctx.clone());
                inner(ctx)
            })
        };
        let first = attempt(&list, Some(ticket.id), "n-1", Direction::Entry, at);
        let out = s.redeem(&first, spy.clone()).await.unwrap();
        assert!(!out.duplicate);
        assert_eq!(out.answer["verdict"], "ok");
        assert_eq!(
            seen.lock().unwrap()[0],
            ScanContext {
                ticket: Some(TicketView {
                    state: TicketState {
                        ticket_type_id: t.id,
                        ticket_status: TicketStatus::Valid,
                        order_status: OrderStatus::Paid,
                    },
                    attendee_name: None,
                    ticket_type_name: "Seat".into(),
                    order_code: order.code.as_str().into(),
                }),
                revoked: false,
                blocked: false,
                history: vec![],
            }
        );

        // The same nonce again: the stored answer, nothing decided, nothing written.
        let again = attempt(
            &list,
            Some(ticket.id),
            "n-1",
            Direction::Entry,
            at + Duration::seconds(5),
        );
        let repeat = s.redeem(&again, spy.clone()).await.unwrap();
        assert!(repeat.duplicate);
        assert_eq!(repeat.answer, out.answer);
        assert_eq!(seen.lock().unwrap().len(), 1);
        assert_eq!(w.count("select count(*) from scans").await, 1);
        let outbox = s.list_outbox(0, 1000).await.unwrap();
        let scans: Vec<_> = outbox.iter().filter(|(_, o)| o.entity == "scan").collect();
        assert_eq!(scans.len(), 1, "one scan, one outbox row");
        assert_eq!(scans[0].1.entity_id, first.id.0);
        assert_eq!(scans[0].1.payload["nonce"], "n-1");
        assert_eq!(scans[0].1.payload["verdict"], "ok");
        assert_eq!(scans[0].1.payload["gate"], "North");

        // Revoked, blocked and history reach the decision; a refused scan keeps its raw text.
        s.add_revocations(
            &[Revocation {
                event_id: w.event.id,
                fingerprint: first.fingerprint.unwrap(),
                ticket_id: ticket.id,
                reason: "reissued".into(),
                at,
            }],
            &Change::default(),
        )
        .await
        .unwrap();
        let block = Block {
            event_id: w.event.id,
            ticket_id: ticket.id,
            reason: "lost".into(),
            at,
        };
        s.set_block(w.event.id, ticket.id, Some(&block), &Change::default())
            .await
            .unwrap();
        let second = attempt(
            &list,
            Some(ticket.id),
            "n-2",
            Direction::Entry,
            at + Duration::minutes(1),
        );
        let refused = s.redeem(&second, spy.clone()).await.unwrap();
        assert_eq!(refused.answer["verdict"], "already_redeemed");
        let ctx = seen.lock().unwrap()[1].clone();
        assert!(ctx.revoked && ctx.blocked);
        assert_eq!(ctx.history.len(), 1);
        assert_eq!(ctx.history[0].at, at);
        assert_eq!(ctx.history[0].gate.as_deref(), Some("North"));

        let listed = s.list_scans(list.id, Some(ticket.id), 10).await.unwrap();
        assert_eq!(listed.len(), 2);
        assert_eq!(listed[0].nonce, "n-2", "newest first");
        assert_eq!(listed[0].verdict, Verdict::AlreadyRedeemed);
        assert_eq!(listed[0].raw.as_deref(), Some("AT1:RAW"));
        assert_eq!(listed[1].verdict, Verdict::Ok);
        assert_eq!(listed[1].raw, None, "an admitted scan keeps no raw text");
        assert_eq!(s.list_scans(list.id, None, 1).await.unwrap().len(), 1);

        // A ticket this store has no row for: no view, still recorded.
        let unknown = attempt(&list, Some(TicketId::new(at)), "n-3", Direction::Entry, at);
        let out = s.redeem(&unknown, spy.clone()).await.unwrap();
        assert_eq!(out.answer["verdict"], "invalid");
        assert_eq!(seen.lock().unwrap()[2].ticket, None);
        assert_eq!(w.count("select count(*) from scans").await, 3);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn fifty_doors_scanning_one_ticket_admit_it_once() {
        let w = World::new().await;
        let (_, ticket, _) = w.sold_ticket("Seat").await;
        let list = w.list(spec("Main")).await;
        let at = t0() + Duration::hours(2);
        let store = w.db.store.clone();
        let tasks: Vec<_> = (0..50)
            .map(|i| {
                let store = store.clone();
                let a = attempt(
                    &list,
                    Some(ticket.id),
                    &format!("door-{i}"),
                    Direction::Entry,
                    at + Duration::milliseconds(i),
                );
                tokio::spawn(async move { store.redeem(&a, first_entry_only()).await })
            })
            .collect();
        let mut ok = 0;
        for t in tasks {
            let out = t.await.unwrap().unwrap();
            assert!(!out.duplicate);
            if out.answer["verdict"] == "ok" {
                ok += 1;
            }
        }
        assert_eq!(ok, 1, "exactly one door admits");
        assert_eq!(w.count("select count(*) from scans where counted").await, 1);
        assert_eq!(w.count("select count(*) from scans").await, 50);
        assert_eq!(
            w.count("select count(*) from outbox where entity = 'scan'")
                .await,
            50
        );
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn one_nonce_sent_twenty_times_at_once_is_one_scan() {
        // No ticket id (the secret did not verify), so no ticket lock: the nonce's unique
        // index alone decides, and the losers answer with the winner's answer.
        let w = World::new().await;
        let list = w.list(spec("Main")).await;
        let at = t0() + Duration::hours(2);
        let store = w.db.store.clone();
        let tasks: Vec<_> = (0..20)
            .map(|i| {
                let store = store.clone();
                let mut a = attempt(&list, None, "same", Direction::Entry, at);
                a.id = ScanId(Uuid::now_v7());
                a.raw = Some(format!("garbage {i}"));
                let decide: Decide = Arc::new(move |_: &ScanContext| ScanResolution {
                    verdict: Verdict::Invalid,
                    explanation: "not a ticket code".into(),
                    counted: false,
                    forced: false,
                    answer: json!({ "verdict": "invalid", "attempt": i }),
                });
                tokio::spawn(async move { store.redeem(&a, decide).await })
            })
            .collect();
        let mut answers = Vec::new();
        let mut fresh = 0;
        for t in tasks {
            let out = t.await.unwrap().unwrap();
            if !out.duplicate {
                fresh += 1;
            }
            answers.push(out.answer);
        }
        assert_eq!(fresh, 1);
        assert!(answers.windows(2).all(|p| p[0] == p[1]), "{answers:?}");
        assert_eq!(w.count("select count(*) from scans").await, 1);
        assert_eq!(
            w.count("select count(*) from outbox where entity = 'scan'")
                .await,
            1
        );
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn counts_follow_the_latest_counted_scan_by_scan_time() {
        let w = World::new().await;
        let s = w.store();
        let list = w.list(spec("Main")).await;
        let other = w.list(spec("Other")).await;
        let (_, a, _) = w.sold_ticket("A").await;
        let (_, b, _) = w.sold_ticket("B").await;
        let (_, c, _) = w.sold_ticket("C").await;
        assert_eq!(s.checkin_counts(list.id).await.unwrap(), (0, 0));
        let at = t0() + Duration::hours(2);
        let scan = |l: &CheckinList, t: &Ticket, n: &str, d: Direction, m: i64| {
            attempt(l, Some(t.id), n, d, at + Duration::minutes(m))
        };
        // a: in. b: in, out. c: the exit arrives first but happened after the entry
        // (an offline door uploading late): c is outside.
        for x in [
            scan(&list, &a, "a1", Direction::Entry, 0),
            scan(&list, &b, "b1", Direction::Entry, 1),
            scan(&list, &b, "b2", Direction::Exit, 2),
            // no gate: a null in the history the entry below reads
            ScanAttempt {
                gate: None,
                ..scan(&list, &c, "c2", Direction::Exit, 9)
            },
            scan(&list, &c, "c1", Direction::Entry, 3),
            // refused, not counted: a is inside already
            scan(&list, &a, "a2", Direction::Entry, 4),
            scan(&other, &c, "o1", Direction::Entry, 5),
        ] {
            s.redeem(&x, single_entry(x.direction)).await.unwrap();
        }
        assert_eq!(s.checkin_counts(list.id).await.unwrap(), (3, 1));
        let c_scans = s.list_scans(list.id, Some(c.id), 10).await.unwrap();
        assert_eq!(c_scans[0].gate, None);
        assert!(c_scans.iter().all(|r| r.counted));
        assert_eq!(s.checkin_counts(other.id).await.unwrap(), (1, 1));
    }
}

use std::sync::Arc;

use chrono::{DateTime, Duration, TimeZone, Utc};

use admit_api::*;
use admit_core::model::*;
use admit_store::Store;
use admit_testkit::{TestPostgres, TestSqlite};

/// Write one test body once and get it run against both backends.
#[macro_export]
macro_rules! both_backends {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    super::$name($crate::fixture::Fixture::sqlite().await).await
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    super::$name($crate::fixture::Fixture::postgres().await).await
                }
            )*
        }
    };
}

enum Db {
    Sqlite(#[allow(dead_code)] TestSqlite, sqlx::SqlitePool),
    Postgres(#[allow(dead_code)] TestPostgres, sqlx::PgPool),
}

pub struct Fixture {
    pub admit: Admit,
    pub owner: Session,
    pub now: DateTime<Utc>,
    db: Db,
}

pub const PASSWORD: &str = "correct horse battery";

pub fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 5, 1, 12, 0, 0).unwrap()
}

impl Fixture {
    pub async fn sqlite() -> Self {
        let db = TestSqlite::new();
        let path = db.path().to_str().unwrap().to_string();
        let store: Arc<dyn Store> =
            Arc::new(admit_store::sqlite::SqliteStore::open(&path).await.unwrap());
        let raw = sqlx::sqlite::SqlitePoolOptions::new()
            .max_connections(2)
            .connect_with(
                sqlx::sqlite::SqliteConnectOptions::new()
                    .filename(&path)
                    .read_only(true),
            )
            .await
            .unwrap();
        Self::with(store, Db::Sqlite(db, raw)).await
    }

    pub async fn postgres() -> Self {
        let db = TestPostgres::new().await;
        let store: Arc<dyn Store> = Arc::new(
            admit_store::postgres::PgStore::connect(db.url())
                .await
                .unwrap(),
        );
        let raw = sqlx::postgres::PgPoolOptions::new()
            .max_connections(2)
            .connect(db.url())
            .await
            .unwrap();
        Self::with(store, Db::Postgres(db, raw)).await
    }

    async fn with(store: Arc<dyn Store>, db: Db) -> Self {
        let admit = Admit::new(store);
        let now = t0();
        let owner = admit
            .create_first_owner(
                &NewUserInput {
                    username: "owner".into(),
                    display_name: "Olga Owner".into(),
                    password: PASSWORD.into(),
                    role: String::new(),
                },
                None,
                now,
            )
            .await
            .unwrap();
        Fixture {
            admit,
            owner,
            now,
            db,
        }
    }

    /// A second, empty store of the same backend (no owner yet); keep the guard alive.
    pub async fn fresh(&self) -> (Admit, Box<dyn std::any::Any + Send>) {
        match &self.db {
            Db::Sqlite(..) => {
                let db = TestSqlite::new();
                let store = admit_store::sqlite::SqliteStore::open(db.path().to_str().unwrap())
                    .await
                    .unwrap();
                (Admit::new(Arc::new(store)), Box::new(db))
            }
            Db::Postgres(..) => {
                let db = TestPostgres::new().await;
                let store = admit_store::postgres::PgStore::connect(db.url())
                    .await
                    .unwrap();
                (Admit::new(Arc::new(store)), Box::new(db))
            }
        }
    }

    /// A scalar from the database, bypassing the store: what is really there.
    pub async fn scalar(&self, sql: &str) -> i64 {
        match &self.db {
            Db::Sqlite(_, p) => sqlx::query_scalar::<_, i64>(sql)
                .fetch_one(p)
                .await
                .unwrap(),
            Db::Postgres(_, p) => {
                // count(*) and sums are bigint/numeric there; cast in SQL keeps one test text.
                let sql = format!("select ({sql})::bigint");
                sqlx::query_scalar::<_, i64>(&sql)
                    .fetch_one(p)
                    .await
                    .unwrap()
            }
        }
    }

    pub async fn count(&self, table: &str) -> i64 {
        self.scalar(&format!("select count(*) from {table}")).await
    }

    /// Row counts of every table a use case may write, to prove a refused call wrote nothing.
    pub async fn snapshot(&self) -> Vec<(&'static str, i64)> {
        let mut out = Vec::new();
        for t in [
            "users",
            "categories",
            "events",
            "ticket_types",
            "quotas",
            "quota_ticket_types",
            "holds",
            "hold_quotas",
            "orders",
            "tickets",
            "ticket_quotas",
            "audit_log",
            "outbox",
            "refunds",
            "coupons",
            "coupon_ticket_types",
            "waitlist",
            "shifts",
            "mail_queue",
            "devices",
            "pairing_codes",
            "api_tokens",
        ] {
            out.push((t, self.count(t).await));
        }
        out
    }

    /// The stock invariant: for every quota, `taken` equals the live tickets that took a unit
    /// from it plus the units of its active holds, and never exceeds its size.
    pub async fn assert_stock_invariant(&self) {
        let bad = self
            .scalar(
                "select count(*) from quotas q where q.taken > q.size or q.taken <> (
                     (select count(*) from ticket_quotas tq join tickets t on t.id = tq.ticket_id
                      where tq.quota_id = q.id and t.status = 'valid')
                   + (select coalesce(sum(hq.quantity), 0) from hold_quotas hq
                      join holds h on h.id = hq.hold_id
                      where hq.quota_id = q.id and h.status = 'active'))",
            )
            .await;
        assert_eq!(
            bad, 0,
            "a quota's taken count disagrees with its live tickets and holds"
        );
    }

    pub fn at(&self, minutes: i64) -> DateTime<Utc> {
        self.now + Duration::minutes(minutes)
    }

    pub async fn user(&self, username: &str, role: &str) -> Session {
        self.admit
            .create_user(
                &self.owner,
                &NewUserInput {
                    username: username.into(),
                    display_name: String::new(),
                    password: PASSWORD.into(),
                    role: role.into(),
                },
                self.now,
            )
            .await
            .unwrap();
        self.admit
            .login(username, PASSWORD, None, self.now)
            .await
            .unwrap()
    }

    /// A published event with two ticket types A (20.00) and B (35.00), a shared capacity quota
    /// of `capacity` and per-type quotas of `per_type` each.
    pub async fn event(&self, capacity: i64, per_type: i64) -> Setup {
        let s = &self.owner;
        let a = &self.admit;
        let event = a
            .create_event(
                s,
                &EventInput {
                    name: "Spring Gala".into(),
                    description: "An evening of music".into(),
                    venue: "Town Hall".into(),
                    starts_at: "2026-06-01T19:30:00+02:00".into(),
                    ends_at: "2026-06-01T23:00:00+02:00".into(),
                    time_zone: "Europe/Berlin".into(),
                    category_id: None,
                },
                self.now,
            )
            .await
            .unwrap();
        let mk = |name: &str, price| TicketTypeInput {
            event_id: event.id.to_string(),
            name: name.into(),
            price_minor: price,
            currency: "EUR".into(),
            max_per_order: Some(10),
            ..Default::default()
        };
        let ta = a
            .create_ticket_type(s, &mk("Standing", 2000), self.now)
            .await
            .unwrap();
        let tb = a
            .create_ticket_type(s, &mk("Seated", 3500), self.now)
            .await
            .unwrap();
        let quota = |name: &str, size, types: Vec<String>| QuotaInput {
            event_id: event.id.to_string(),
            name: name.into(),
            size,
            ticket_type_ids: types,
        };
        let capacity = a
            .create_quota(
                s,
                &quota(
                    "Capacity",
                    capacity,
                    vec![ta.id.to_string(), tb.id.to_string()],
                ),
                self.now,
            )
            .await
            .unwrap();
        let qa = a
            .create_quota(
                s,
                &quota("Standing area", per_type, vec![ta.id.to_string()]),
                self.now,
            )
            .await
            .unwrap();
        let qb = a
            .create_quota(
                s,
                &quota("Seats", per_type, vec![tb.id.to_string()]),
                self.now,
            )
            .await
            .unwrap();
        let event = a
            .publish_event(s, &event.id.to_string(), self.now)
            .await
            .unwrap();
        Setup {
            event,
            a: ta,
            b: tb,
            capacity,
            qa,
            qb,
        }
    }
}

pub struct Setup {
    pub event: Event,
    pub a: TicketType,
    pub b: TicketType,
    pub capacity: Quota,
    pub qa: Quota,
    pub qb: Quota,
}

impl Setup {
    pub fn sale(&self, lines: &[(&TicketType, i64)]) -> SaleInput {
        SaleInput {
            event_id: self.event.id.to_string(),
            lines: lines
                .iter()
                .map(|(t, q)| LineInput {
                    ticket_type_id: t.id.to_string(),
                    quantity: *q,
                    attendee_names: vec![],
                })
                .collect(),
            payment_method: "cash".into(),
            ..Default::default()
        }
    }
}

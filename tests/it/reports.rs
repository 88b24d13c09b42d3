//! Reports add up. Every figure the store aggregates in SQL (revenue, sales and door buckets,
//! shift totals, export counts and pages) is checked against sums computed from the generated
//! sales, cancellations, refunds and scans, and against plain queries over the raw tables; and
//! importing sales writes all of them or none.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};
use proptest::prelude::*;
use proptest::test_runner::TestRunner;
use serde_json::json;
use uuid::Uuid;

use admit_api::*;
use admit_core::audit::Change;
use admit_core::checkin::{Direction, Verdict};
use admit_core::model::*;
use admit_core::order_code::OrderCode;
use admit_core::*;
use admit_store::{
    Backend, Cancellation, NewSale, Refund, ScanAttempt, ScanContext, ScanResolution, ShiftQuery,
    ShiftRow, Store, StoreError,
};

use crate::both_backends;
use crate::fixture::{t0, Fixture, Setup};

both_backends!(
    reports_add_up_to_what_was_sold_refunded_and_scanned,
    import_sales_writes_all_or_nothing,
    refunds_commit_with_their_cancellation,
    refund_through_the_use_case_reaches_the_reports,
    reports_of_an_empty_event_are_empty,
);

const CHANNELS: [Channel; 3] = [Channel::BoxOffice, Channel::Kiosk, Channel::Online];
const METHODS: [PaymentMethod; 3] = [
    PaymentMethod::Cash,
    PaymentMethod::Card,
    PaymentMethod::Comp,
];
const GATES: [Option<&str>; 3] = [None, Some("North"), Some("South")];
const WIDTHS: [u32; 5] = [60, 900, 3600, 86_400, 7 * 86_400];
/// Each case lives in its own 30 days, so the shift report over a case's window (which spans
/// every event) sees that case's sales and refunds only.
const CASE_SPACING_DAYS: i64 = 30;

// ---- what a case generates

#[derive(Debug, Clone)]
struct Scenario {
    prices: Vec<i64>,
    sales: Vec<SaleSpec>,
    scans: Vec<ScanSpec>,
    bucket: usize,
    /// A narrower shift window, from one sale or refund to another (indexes into their times).
    window: (usize, usize),
    page: u32,
}

#[derive(Debug, Clone)]
struct SaleSpec {
    /// (ticket type index, quantity)
    lines: Vec<(usize, i64)>,
    channel: usize,
    method: usize,
    seller: usize,
    minute: i64,
    /// Written as a pending order through `import_sales` instead of sold at the counter.
    pending: bool,
    cancel: Option<CancelSpec>,
}

#[derive(Debug, Clone)]
struct CancelSpec {
    /// Only the order's first ticket, else all of them.
    partial: bool,
    refund: Option<RefundSpec>,
    after: i64,
}

#[derive(Debug, Clone)]
struct RefundSpec {
    method: usize,
    by: usize,
    /// A further amount refunded against the whole order.
    extra: Option<i64>,
}

#[derive(Debug, Clone)]
struct ScanSpec {
    /// Index into the case's tickets; `None` for a code that did not verify.
    ticket: Option<usize>,
    exit: bool,
    gate: usize,
    counted: bool,
    minute: i64,
}

/// Up to five days of sales, minute by minute.
const SALE_MINUTES: i64 = 5 * 24 * 60;

fn scenario() -> impl Strategy<Value = Scenario> {
    let refund = (0..3usize, 0..4usize, proptest::option::of(0..5_000i64))
        .prop_map(|(method, by, extra)| RefundSpec { method, by, extra });
    let cancel = (any::<bool>(), proptest::option::of(refund), 1..600i64).prop_map(
        |(partial, refund, after)| CancelSpec {
            partial,
            refund,
            after,
        },
    );
    let sale = (
        proptest::collection::vec((0..4usize, 1..=3i64), 1..=2),
        0..3usize,
        0..3usize,
        0..4usize,
        0..SALE_MINUTES,
        proptest::bool::weighted(0.2),
        proptest::option::weighted(0.4, cancel),
    )
        .prop_map(
            |(lines, channel, method, seller, minute, pending, cancel)| SaleSpec {
                lines,
                channel,
                method,
                seller,
                minute,
                pending,
                cancel,
            },
        );
    let scan = (
        proptest::option::weighted(0.9, 0..200usize),
        any::<bool>(),
        0..3usize,
        proptest::bool::weighted(0.7),
        0..SALE_MINUTES + 24 * 60,
    )
        .prop_map(|(ticket, exit, gate, counted, minute)| ScanSpec {
            ticket,
            exit,
            gate,
            counted,
            minute,
        });
    (
        proptest::collection::vec(0..10_000i64, 2..=4),
        proptest::collection::vec(sale, 1..=16),
        proptest::collection::vec(scan, 0..=30),
        0..WIDTHS.len(),
        (0..64usize, 0..64usize),
        1..=7u32,
    )
        .prop_map(|(prices, sales, scans, bucket, window, page)| Scenario {
            prices,
            sales,
            scans,
            bucket,
            window,
            page,
        })
}

// ---- what the case wrote, as the test itself keeps it

#[derive(Debug, Clone)]
struct SoldOrder {
    id: OrderId,
    status: OrderStatus,
    channel: Channel,
    method: PaymentMethod,
    user: UserId,
    device: Option<DeviceId>,
    at: DateTime<Utc>,
    tickets: Vec<SoldTicket>,
}

#[derive(Debug, Clone)]
struct SoldTicket {
    id: TicketId,
    ticket_type: TicketTypeId,
    price: i64,
    valid: bool,
}

#[derive(Debug, Clone)]
struct PaidBack {
    order: usize,
    ticket_type: Option<TicketTypeId>,
    amount: i64,
    method: PaymentMethod,
    user: UserId,
    device: Option<DeviceId>,
    at: DateTime<Utc>,
}

#[derive(Debug, Clone)]
struct Scanned {
    id: ScanId,
    ticket: Option<TicketId>,
    direction: Direction,
    gate: Option<String>,
    counted: bool,
    at: DateTime<Utc>,
}

#[derive(Default)]
struct Model {
    orders: Vec<SoldOrder>,
    refunds: Vec<PaidBack>,
    scans: Vec<Scanned>,
}

impl Model {
    fn money_taken(o: &SoldOrder) -> bool {
        matches!(
            o.status,
            OrderStatus::Paid | OrderStatus::Cancelled | OrderStatus::Refunded
        )
    }
}

/// The cashiers of every case: the owner at no device, one cashier at two devices, another
/// at none. Logging in costs a password hash, so they are made once per test.
struct Staff {
    sessions: Vec<Session>,
}

impl Staff {
    async fn new(f: &Fixture) -> Self {
        let ann = f.user("ann", "box_office").await;
        let bob = f.user("bob", "box_office").await;
        let d1 = DeviceId(Uuid::now_v7());
        let d2 = DeviceId(Uuid::now_v7());
        Staff {
            sessions: vec![
                f.owner.clone(),
                Session {
                    device_id: Some(d1),
                    ..ann.clone()
                },
                Session {
                    device_id: Some(d2),
                    ..ann
                },
                bob,
            ],
        }
    }
}

fn eur() -> Currency {
    Currency::parse("currency", "EUR").unwrap()
}

/// An id as a literal of the backend's dialect, for the raw queries.
fn id_lit(f: &Fixture, id: Uuid) -> String {
    match f.admit.store().backend() {
        Backend::Sqlite => format!("x'{}'", id.simple()),
        Backend::Postgres => format!("'{id}'::uuid"),
    }
}

fn time_lit(f: &Fixture, t: DateTime<Utc>) -> String {
    match f.admit.store().backend() {
        Backend::Sqlite => t.timestamp_micros().to_string(),
        Backend::Postgres => format!("'{}'::timestamptz", t.to_rfc3339()),
    }
}

/// The floor of `t` to a multiple of `secs` since the epoch.
fn bucket(t: DateTime<Utc>, secs: u32) -> DateTime<Utc> {
    let s = t.timestamp();
    let w = i64::from(secs);
    DateTime::from_timestamp(s - s.rem_euclid(w), 0).unwrap()
}

// ---- the property

async fn reports_add_up_to_what_was_sold_refunded_and_scanned(f: Fixture) {
    let staff = Staff::new(&f).await;
    let case = AtomicI64::new(0);
    let mut runner = TestRunner::new(ProptestConfig {
        cases: 16,
        failure_persistence: None,
        max_shrink_iters: 64,
        ..ProptestConfig::default()
    });
    let handle = tokio::runtime::Handle::current();
    let outcome = tokio::task::block_in_place(|| {
        runner
            .run(&scenario(), |s| {
                let k = case.fetch_add(1, Ordering::SeqCst);
                handle.block_on(run_case(&f, &staff, k, &s));
                Ok(())
            })
            .map_err(|e| e.to_string())
    });
    if let Err(e) = outcome {
        panic!("{e}");
    }
}

async fn run_case(f: &Fixture, staff: &Staff, k: i64, s: &Scenario) {
    let base = t0() + Duration::days(CASE_SPACING_DAYS * k);
    let a = &f.admit;
    let store = a.store().clone();
    let owner = &f.owner;

    // An event of its own with 2–4 ticket types and one capacity quota over all of them.
    let event = a
        .create_event(
            owner,
            &EventInput {
                name: format!("Case {k}"),
                description: "Generated".into(),
                venue: "Hall".into(),
                starts_at: (base + Duration::days(20)).to_rfc3339(),
                ends_at: (base + Duration::days(21)).to_rfc3339(),
                time_zone: "Europe/Berlin".into(),
                category_id: None,
            },
            base,
        )
        .await
        .unwrap();
    let mut types = Vec::new();
    for (i, price) in s.prices.iter().enumerate() {
        let t = a
            .create_ticket_type(
                owner,
                &TicketTypeInput {
                    event_id: event.id.to_string(),
                    name: format!("Type {i}"),
                    price_minor: *price,
                    currency: "EUR".into(),
                    max_per_order: Some(10),
                    ..Default::default()
                },
                base,
            )
            .await
            .unwrap();
        types.push(t);
    }
    let capacity = a
        .create_quota(
            owner,
            &QuotaInput {
                event_id: event.id.to_string(),
                name: "Capacity".into(),
                size: 10_000,
                ticket_type_ids: types.iter().map(|t| t.id.to_string()).collect(),
            },
            base,
        )
        .await
        .unwrap();
    a.publish_event(owner, &event.id.to_string(), base)
        .await
        .unwrap();
    let list = a
        .create_checkin_list(
            owner,
            &CheckinListInput {
                event_id: event.id.to_string(),
                name: "Main".into(),
                ..Default::default()
            },
            base,
        )
        .await
        .unwrap();

    // Sales: at the counter through the use case, pending ones imported in one batch.
    let mut m = Model::default();
    let mut pending = Vec::new();
    for sale in &s.sales {
        let at = base + Duration::minutes(sale.minute);
        let seller = &staff.sessions[sale.seller];
        let channel = CHANNELS[sale.channel];
        let method = METHODS[sale.method];
        let mut wanted: Vec<TicketTypeId> = Vec::new();
        for (t, q) in &sale.lines {
            wanted.extend((0..*q).map(|_| types[t % types.len()].id));
        }
        let price_of = |tt: TicketTypeId| {
            let t = types.iter().find(|t| t.id == tt).unwrap();
            if method == PaymentMethod::Comp {
                0
            } else {
                t.price.minor
            }
        };
        let (order, tickets) = if sale.pending {
            let order_id = OrderId::new(at);
            let tickets: Vec<Ticket> = wanted
                .iter()
                .map(|tt| Ticket {
                    id: TicketId::new(at),
                    order_id,
                    event_id: event.id,
                    ticket_type_id: *tt,
                    price: Money {
                        minor: price_of(*tt),
                        currency: eur(),
                    },
                    attendee_name: None,
                    status: TicketStatus::Valid,
                    meta: Meta::new(at),
                })
                .collect();
            let order = Order {
                id: order_id,
                code: OrderCode::generate(),
                event_id: event.id,
                buyer_name: None,
                buyer_email: None,
                channel,
                payment_method: method,
                status: OrderStatus::Pending,
                total: Money {
                    minor: tickets.iter().map(|t| t.price.minor).sum(),
                    currency: eur(),
                },
                created_by: seller.user.id,
                device_id: seller.device_id,
                coupon_id: None,
                discount_minor: 0,
                payment: Payment::default(),
                meta: Meta::new(at),
            };
            pending.push(NewSale {
                order: order.clone(),
                tickets: tickets.clone(),
                demand: vec![(capacity.id, tickets.len() as u32)],
                ticket_quotas: tickets.iter().map(|t| (t.id, capacity.id)).collect(),
                hold: None,
                waitlist_entry: None,
                mail: None,
                change: Change::new(
                    at,
                    Some(seller.user.id),
                    seller.device_id,
                    "order.import",
                    "order",
                    order.id.0,
                    json!({}),
                ),
            });
            (order, tickets)
        } else {
            let input = SaleInput {
                event_id: event.id.to_string(),
                lines: sale
                    .lines
                    .iter()
                    .map(|(t, q)| LineInput {
                        ticket_type_id: types[t % types.len()].id.to_string(),
                        quantity: *q,
                        attendee_names: vec![],
                    })
                    .collect(),
                channel: Some(channel.as_str().into()),
                payment_method: method.as_str().into(),
                card_confirmed: method == PaymentMethod::Card,
                payment_note: (method == PaymentMethod::Comp).then(|| "Guest list".into()),
                ..Default::default()
            };
            let o = a.sell(seller, &input, at).await.unwrap();
            (o.order, o.tickets)
        };
        let mut got: Vec<TicketTypeId> = tickets.iter().map(|t| t.ticket_type_id).collect();
        got.sort();
        wanted.sort();
        assert_eq!(got, wanted, "the order holds the tickets asked for");
        for t in &tickets {
            assert_eq!(t.price.minor, price_of(t.ticket_type_id), "catalogue price");
        }
        m.orders.push(SoldOrder {
            id: order.id,
            status: order.status,
            channel,
            method,
            user: seller.user.id,
            device: seller.device_id,
            at,
            tickets: tickets
                .iter()
                .map(|t| SoldTicket {
                    id: t.id,
                    ticket_type: t.ticket_type_id,
                    price: t.price.minor,
                    valid: true,
                })
                .collect(),
        });
    }
    store.import_sales(&pending).await.unwrap();

    // Cancellations of paid orders: plain ones through the use case, refunds at the store with
    // the refund's own method and cashier.
    for (i, sale) in s.sales.iter().enumerate() {
        let Some(c) = &sale.cancel else { continue };
        if sale.pending {
            continue;
        }
        let at = m.orders[i].at + Duration::minutes(c.after);
        let order_id = m.orders[i].id;
        let cancel: Vec<TicketId> = if c.partial {
            vec![m.orders[i].tickets[0].id]
        } else {
            m.orders[i].tickets.iter().map(|t| t.id).collect()
        };
        match &c.refund {
            None => {
                let after = a
                    .cancel(
                        owner,
                        &CancelInput {
                            order_id: order_id.to_string(),
                            ticket_ids: cancel.iter().map(|t| t.to_string()).collect(),
                            refund: false,
                        },
                        at,
                    )
                    .await
                    .unwrap();
                m.orders[i].status = after.order.status;
            }
            Some(r) => {
                let by = &staff.sessions[r.by];
                let method = METHODS[r.method];
                let refunds = refund_at_store(
                    &*store,
                    order_id,
                    &cancel,
                    by,
                    method,
                    r.extra,
                    at,
                    &mut m.orders[i].status,
                )
                .await;
                for rf in refunds {
                    m.refunds.push(PaidBack {
                        order: i,
                        ticket_type: rf.ticket_id.map(|t| {
                            m.orders[i]
                                .tickets
                                .iter()
                                .find(|x| x.id == t)
                                .unwrap()
                                .ticket_type
                        }),
                        amount: rf.amount.minor,
                        method,
                        user: by.user.id,
                        device: by.device_id,
                        at,
                    });
                }
            }
        }
        for t in &mut m.orders[i].tickets {
            if cancel.contains(&t.id) {
                t.valid = false;
            }
        }
    }
    for o in &m.orders {
        let stored = store.get_order(o.id).await.unwrap();
        assert_eq!(stored.order.status, o.status);
        for t in &o.tickets {
            let st = stored.tickets.iter().find(|x| x.id == t.id).unwrap();
            assert_eq!(st.status == TicketStatus::Valid, t.valid);
        }
    }

    // Scans, counted or not as generated, on any ticket of the case.
    let all_tickets: Vec<TicketId> = m
        .orders
        .iter()
        .flat_map(|o| o.tickets.iter().map(|t| t.id))
        .collect();
    for (n, sc) in s.scans.iter().enumerate() {
        let at = base + Duration::minutes(sc.minute);
        let ticket = sc.ticket.map(|i| all_tickets[i % all_tickets.len()]);
        let counted = sc.counted && ticket.is_some();
        let direction = if sc.exit {
            Direction::Exit
        } else {
            Direction::Entry
        };
        let gate = GATES[sc.gate].map(str::to_string);
        let id = ScanId::new(at);
        let attempt = ScanAttempt {
            id,
            nonce: format!("case-{k}-scan-{n}"),
            list_id: list.id,
            event_id: event.id,
            ticket_id: ticket,
            fingerprint: None,
            direction,
            device_id: None,
            gate: gate.clone(),
            user_id: Some(owner.user.id),
            at,
            recorded_at: at,
            raw: if ticket.is_none() {
                Some("NOT-A-TICKET".into())
            } else {
                None
            },
        };
        let resolution = ScanResolution {
            verdict: if counted {
                Verdict::Ok
            } else if ticket.is_none() {
                Verdict::Invalid
            } else {
                Verdict::AlreadyRedeemed
            },
            explanation: String::new(),
            counted,
            forced: false,
            answer: json!({ "n": n }),
        };
        let out = store
            .redeem(
                &attempt,
                Arc::new(move |_: &ScanContext| resolution.clone()),
            )
            .await
            .unwrap();
        assert!(!out.duplicate);
        m.scans.push(Scanned {
            id,
            ticket,
            direction,
            gate,
            counted,
            at,
        });
    }

    check_reports(f, &*store, &event, &types, &m, s, base).await;
}

/// Cancel `tickets` of an order at the store, refunding each at its price (and `extra`
/// against the whole order), paid out by `by` in `method`. Returns the refunds written.
#[allow(clippy::too_many_arguments)]
async fn refund_at_store(
    store: &dyn Store,
    order_id: OrderId,
    tickets: &[TicketId],
    by: &Session,
    method: PaymentMethod,
    extra: Option<i64>,
    at: DateTime<Utc>,
    status: &mut OrderStatus,
) -> Vec<Refund> {
    let current = store.get_order(order_id).await.unwrap();
    let mut cancelled = Vec::new();
    let mut remaining = 0;
    for t in &current.tickets {
        if tickets.contains(&t.id) {
            cancelled.push(Ticket {
                status: TicketStatus::Cancelled,
                meta: t.meta.touched(at),
                ..t.clone()
            });
        } else if t.status == TicketStatus::Valid {
            remaining += t.price.minor;
        }
    }
    let any_left = current
        .tickets
        .iter()
        .any(|t| t.status == TicketStatus::Valid && !tickets.contains(&t.id));
    let order = Order {
        status: if any_left {
            current.order.status
        } else {
            OrderStatus::Refunded
        },
        total: Money {
            minor: remaining,
            currency: current.order.total.currency,
        },
        meta: current.order.meta.touched(at),
        ..current.order.clone()
    };
    let mut release: BTreeMap<QuotaId, u32> = BTreeMap::new();
    for (_, q) in store.ticket_quotas(tickets).await.unwrap() {
        *release.entry(q).or_default() += 1;
    }
    let refund = |ticket_id: Option<TicketId>, minor: i64| Refund {
        id: RefundId::new(at),
        order_id,
        event_id: current.order.event_id,
        ticket_id,
        amount: Money {
            minor,
            currency: current.order.total.currency,
        },
        method,
        created_by: by.user.id,
        device_id: by.device_id,
        at,
    };
    let mut refunds: Vec<Refund> = cancelled
        .iter()
        .map(|t| refund(Some(t.id), t.price.minor))
        .collect();
    if let Some(x) = extra {
        refunds.push(refund(None, x));
    }
    let c = Cancellation {
        order: order.clone(),
        expected_version: current.order.meta.version,
        tickets: cancelled,
        release: release.into_iter().collect(),
        revoke: vec![],
        coupon_release: None,
        refunds: refunds.clone(),
        change: Change::new(
            at,
            Some(by.user.id),
            by.device_id,
            "order.refund",
            "order",
            order_id.0,
            json!({}),
        ),
    };
    store.cancel(&c).await.unwrap();
    *status = order.status;
    refunds
}

type RevenueKey = (Option<TicketTypeId>, &'static str, &'static str);

async fn check_reports(
    f: &Fixture,
    store: &dyn Store,
    event: &Event,
    types: &[TicketType],
    m: &Model,
    s: &Scenario,
    base: DateTime<Utc>,
) {
    let ev = id_lit(f, event.id.0);

    // -- revenue, per type, channel and method
    let mut want: BTreeMap<RevenueKey, (u64, i64, u64, i64)> = BTreeMap::new();
    for o in m.orders.iter().filter(|o| Model::money_taken(o)) {
        for t in &o.tickets {
            let e = want
                .entry((Some(t.ticket_type), o.channel.as_str(), o.method.as_str()))
                .or_default();
            e.0 += 1;
            e.1 += t.price;
        }
    }
    for r in &m.refunds {
        let o = &m.orders[r.order];
        let e = want
            .entry((r.ticket_type, o.channel.as_str(), o.method.as_str()))
            .or_default();
        e.2 += 1;
        e.3 += r.amount;
    }
    let revenue = store.revenue(event.id).await.unwrap();
    let mut got: BTreeMap<RevenueKey, (u64, i64, u64, i64)> = BTreeMap::new();
    for r in &revenue {
        assert_eq!(r.currency, "EUR");
        let old = got.insert(
            (
                r.ticket_type_id,
                r.channel.as_str(),
                r.payment_method.as_str(),
            ),
            (r.tickets, r.gross_minor, r.refunds, r.refunded_minor),
        );
        assert!(old.is_none(), "one row per type, channel and method: {r:?}");
    }
    assert_eq!(got, want, "revenue per type, channel and method");
    // Sorted by type (a whole-order refund's row last), channel, method.
    let keys: Vec<(bool, Option<TicketTypeId>, &str, &str)> = revenue
        .iter()
        .map(|r| {
            (
                r.ticket_type_id.is_none(),
                r.ticket_type_id,
                r.channel.as_str(),
                r.payment_method.as_str(),
            )
        })
        .collect();
    assert!(keys.windows(2).all(|w| w[0] < w[1]), "revenue order");
    // Against the raw tables: totals and per type.
    let taken = "('paid', 'cancelled', 'refunded')";
    let gross: i64 = revenue.iter().map(|r| r.gross_minor).sum();
    let refunded: i64 = revenue.iter().map(|r| r.refunded_minor).sum();
    let refunds: u64 = revenue.iter().map(|r| r.refunds).sum();
    assert_eq!(
        gross,
        f.scalar(&format!(
            "select coalesce(sum(t.price_minor), 0) from tickets t
             join orders o on o.id = t.order_id
             where o.event_id = {ev} and o.status in {taken}"
        ))
        .await
    );
    assert_eq!(
        refunded,
        f.scalar(&format!(
            "select coalesce(sum(amount_minor), 0) from refunds where event_id = {ev}"
        ))
        .await
    );
    assert_eq!(
        refunds as i64,
        f.scalar(&format!(
            "select count(*) from refunds where event_id = {ev}"
        ))
        .await
    );
    for t in types {
        let tt = id_lit(f, t.id.0);
        let row_gross: i64 = revenue
            .iter()
            .filter(|r| r.ticket_type_id == Some(t.id))
            .map(|r| r.gross_minor)
            .sum();
        let row_refunded: i64 = revenue
            .iter()
            .filter(|r| r.ticket_type_id == Some(t.id))
            .map(|r| r.refunded_minor)
            .sum();
        assert_eq!(
            row_gross,
            f.scalar(&format!(
                "select coalesce(sum(t.price_minor), 0) from tickets t
                 join orders o on o.id = t.order_id
                 where t.ticket_type_id = {tt} and o.status in {taken}"
            ))
            .await
        );
        assert_eq!(
            row_refunded,
            f.scalar(&format!(
                "select coalesce(sum(r.amount_minor), 0) from refunds r
                 join tickets t on t.id = r.ticket_id
                 where t.ticket_type_id = {tt}"
            ))
            .await
        );
    }

    // -- sales buckets: live tickets by their order's time
    let width = WIDTHS[s.bucket];
    let mut want: BTreeMap<(DateTime<Utc>, TicketTypeId), u64> = BTreeMap::new();
    for o in m
        .orders
        .iter()
        .filter(|o| matches!(o.status, OrderStatus::Paid | OrderStatus::Pending))
    {
        for t in o.tickets.iter().filter(|t| t.valid) {
            *want
                .entry((bucket(o.at, width), t.ticket_type))
                .or_default() += 1;
        }
    }
    let buckets = store.sales_buckets(event.id, width).await.unwrap();
    let got: Vec<((DateTime<Utc>, TicketTypeId), u64)> = buckets
        .iter()
        .map(|b| ((b.start, b.ticket_type_id), b.tickets))
        .collect();
    assert_eq!(
        got,
        want.into_iter().collect::<Vec<_>>(),
        "sales buckets of {width}s, oldest first"
    );
    let sold: u64 = buckets.iter().map(|b| b.tickets).sum();
    assert_eq!(
        sold as i64,
        f.scalar(&format!(
            "select count(*) from tickets t join orders o on o.id = t.order_id
             where o.event_id = {ev} and o.status in ('paid', 'pending') and t.status = 'valid'"
        ))
        .await
    );
    let summary = store.sales_summary(base).await.unwrap();
    let live = summary
        .iter()
        .find(|e| e.event_id == event.id)
        .map_or(0, |e| e.tickets);
    assert_eq!(sold, live, "the buckets add up to the dashboard's sold");

    // -- door buckets: counted scans by time and gate
    let mut want: BTreeMap<(DateTime<Utc>, Option<String>), (u64, u64)> = BTreeMap::new();
    for sc in m.scans.iter().filter(|s| s.counted) {
        let e = want
            .entry((bucket(sc.at, width), sc.gate.clone()))
            .or_default();
        match sc.direction {
            Direction::Entry => e.0 += 1,
            Direction::Exit => e.1 += 1,
        }
    }
    let door = store.door_buckets(event.id, width).await.unwrap();
    let got: Vec<_> = door
        .iter()
        .map(|b| ((b.start, b.gate.clone()), (b.entries, b.exits)))
        .collect();
    assert_eq!(
        got,
        want.into_iter().collect::<Vec<_>>(),
        "door buckets of {width}s, oldest first, no gate first"
    );
    for (dir, n) in [
        ("entry", door.iter().map(|b| b.entries).sum::<u64>()),
        ("exit", door.iter().map(|b| b.exits).sum::<u64>()),
    ] {
        assert_eq!(
            n as i64,
            f.scalar(&format!(
                "select count(*) from scans
                 where event_id = {ev} and counted and direction = '{dir}'"
            ))
            .await,
            "counted {dir} scans"
        );
    }

    // -- shift totals: per user, per device, for everyone, and in a narrower window
    let whole = (base, base + Duration::days(CASE_SPACING_DAYS));
    // The narrow window starts and ends at times something happened, so that both of its
    // edges are tested: the start is inside, the end is not.
    let mut times: Vec<DateTime<Utc>> = m.orders.iter().map(|o| o.at).collect();
    times.extend(m.refunds.iter().map(|r| r.at));
    times.sort();
    let (from, to) = (
        times[s.window.0 % times.len()],
        times[s.window.1 % times.len()],
    );
    let narrow = (from.min(to), from.max(to));
    let mut queries = vec![
        ShiftQuery {
            user_id: None,
            device_id: None,
            from: whole.0,
            to: whole.1,
        },
        ShiftQuery {
            user_id: None,
            device_id: None,
            from: narrow.0,
            to: narrow.1,
        },
    ];
    let mut users: Vec<UserId> = Vec::new();
    let mut devices: Vec<DeviceId> = Vec::new();
    for o in &m.orders {
        users.push(o.user);
        devices.extend(o.device);
    }
    for r in &m.refunds {
        users.push(r.user);
        devices.extend(r.device);
    }
    users.sort();
    users.dedup();
    devices.sort();
    devices.dedup();
    for u in &users {
        queries.push(ShiftQuery {
            user_id: Some(*u),
            device_id: None,
            from: whole.0,
            to: whole.1,
        });
    }
    for d in &devices {
        queries.push(ShiftQuery {
            user_id: None,
            device_id: Some(*d),
            from: narrow.0,
            to: narrow.1,
        });
    }
    for q in &queries {
        check_shift(f, store, m, q).await;
    }

    // -- exports: counts, and pages that return every row once
    let counts = store.export_counts(event.id).await.unwrap();
    let tickets: usize = m.orders.iter().map(|o| o.tickets.len()).sum();
    assert_eq!(counts.orders, m.orders.len() as u64);
    assert_eq!(counts.tickets, tickets as u64);
    assert_eq!(counts.scans, m.scans.len() as u64);
    for (table, n) in [
        ("orders", counts.orders),
        ("tickets", counts.tickets),
        ("scans", counts.scans),
    ] {
        assert_eq!(
            n as i64,
            f.scalar(&format!(
                "select count(*) from {table} where event_id = {ev}"
            ))
            .await,
            "{table} to export"
        );
    }
    let page = s.page;
    // Every row once takes at most this many pages before the empty one.
    let bound = m.scans.len().max(tickets) + 1;

    let mut orders = Vec::new();
    let mut after = None;
    for pages in 0.. {
        assert!(pages <= bound, "the orders pages never end");
        let p = store.export_orders(event.id, after, page).await.unwrap();
        assert!(p.len() <= page as usize);
        let Some(last) = p.last() else { break };
        after = Some(last.id);
        orders.extend(p);
    }
    let ids: Vec<OrderId> = orders.iter().map(|o| o.id).collect();
    assert!(ids.windows(2).all(|w| w[0] < w[1]), "orders in id order");
    let mut want: Vec<OrderId> = m.orders.iter().map(|o| o.id).collect();
    want.sort();
    assert_eq!(ids, want, "every order exactly once");
    for o in &orders {
        let mo = m.orders.iter().find(|x| x.id == o.id).unwrap();
        assert_eq!(o.status, mo.status);
        assert_eq!(o.event_id, event.id);
    }

    let mut attendees = Vec::new();
    let mut after = None;
    for pages in 0.. {
        assert!(pages <= bound, "the attendees pages never end");
        let p = store.export_attendees(event.id, after, page).await.unwrap();
        assert!(p.len() <= page as usize);
        let Some(last) = p.last() else { break };
        after = Some(last.ticket.id);
        attendees.extend(p);
    }
    let ids: Vec<TicketId> = attendees.iter().map(|a| a.ticket.id).collect();
    assert!(ids.windows(2).all(|w| w[0] < w[1]), "tickets in id order");
    let mut want: Vec<TicketId> = m
        .orders
        .iter()
        .flat_map(|o| o.tickets.iter().map(|t| t.id))
        .collect();
    want.sort();
    assert_eq!(ids, want, "every ticket exactly once");
    for row in &attendees {
        let o = m
            .orders
            .iter()
            .find(|o| o.tickets.iter().any(|t| t.id == row.ticket.id))
            .unwrap();
        let t = o.tickets.iter().find(|t| t.id == row.ticket.id).unwrap();
        assert_eq!(row.ticket.order_id, o.id);
        assert_eq!(row.order_status, o.status);
        assert_eq!(row.ticket.status == TicketStatus::Valid, t.valid);
        assert_eq!(row.ticket.price.minor, t.price);
        let tt = types.iter().find(|x| x.id == t.ticket_type).unwrap();
        assert_eq!(row.ticket_type_name, tt.name.as_str());
        let first_entry = m
            .scans
            .iter()
            .filter(|s| {
                s.counted && s.direction == Direction::Entry && s.ticket == Some(row.ticket.id)
            })
            .map(|s| s.at)
            .min();
        assert_eq!(row.first_entry_at, first_entry, "first counted entry");
        let stored = store.get_order(o.id).await.unwrap();
        assert_eq!(row.order_code, stored.order.code.as_str());
    }

    let mut scans = Vec::new();
    let mut after = None;
    for pages in 0.. {
        assert!(pages <= bound, "the scans pages never end");
        let p = store.export_scans(event.id, after, page).await.unwrap();
        assert!(p.len() <= page as usize);
        let Some(last) = p.last() else { break };
        after = Some(last.id);
        scans.extend(p);
    }
    let ids: Vec<ScanId> = scans.iter().map(|s| s.id).collect();
    assert!(ids.windows(2).all(|w| w[0] < w[1]), "scans in id order");
    let mut want: Vec<ScanId> = m.scans.iter().map(|s| s.id).collect();
    want.sort();
    assert_eq!(ids, want, "every scan exactly once");
    for sc in &scans {
        let ms = m.scans.iter().find(|x| x.id == sc.id).unwrap();
        assert_eq!(
            (sc.counted, sc.direction, &sc.gate, sc.at, sc.ticket_id),
            (ms.counted, ms.direction, &ms.gate, ms.at, ms.ticket)
        );
    }

    f.assert_stock_invariant().await;
}

type ShiftKey = (UserId, Option<DeviceId>, &'static str);
/// orders, tickets, sales, refunds, refunded
type ShiftSums = (u64, u64, i64, u64, i64);

async fn check_shift(f: &Fixture, store: &dyn Store, m: &Model, q: &ShiftQuery) {
    let inside = |user: UserId, device: Option<DeviceId>, at: DateTime<Utc>| {
        q.user_id.is_none_or(|u| u == user)
            && q.device_id.is_none_or(|d| Some(d) == device)
            && at >= q.from
            && at < q.to
    };
    let mut want: BTreeMap<ShiftKey, ShiftSums> = BTreeMap::new();
    for o in m.orders.iter().filter(|o| Model::money_taken(o)) {
        if !inside(o.user, o.device, o.at) {
            continue;
        }
        let e = want
            .entry((o.user, o.device, o.method.as_str()))
            .or_default();
        e.0 += 1;
        e.1 += o.tickets.len() as u64;
        e.2 += o.tickets.iter().map(|t| t.price).sum::<i64>();
    }
    for r in &m.refunds {
        if !inside(r.user, r.device, r.at) {
            continue;
        }
        let e = want
            .entry((r.user, r.device, r.method.as_str()))
            .or_default();
        e.3 += 1;
        e.4 += r.amount;
    }
    let rows = store.shift_totals(q).await.unwrap();
    let got: Vec<(ShiftKey, ShiftSums)> = rows
        .iter()
        .map(|r: &ShiftRow| {
            assert_eq!(r.currency, "EUR");
            (
                (r.user_id, r.device_id, r.method.as_str()),
                (
                    r.orders,
                    r.tickets,
                    r.sales_minor,
                    r.refunds,
                    r.refunded_minor,
                ),
            )
        })
        .collect();
    assert_eq!(
        got,
        want.into_iter().collect::<Vec<_>>(),
        "shift totals of {q:?}, sorted by user, device, method"
    );

    // Against the raw tables: the money in and out of the window.
    let mut order_filter = format!(
        "o.created_at >= {} and o.created_at < {}",
        time_lit(f, q.from),
        time_lit(f, q.to)
    );
    let mut refund_filter = format!(
        "created_at >= {} and created_at < {}",
        time_lit(f, q.from),
        time_lit(f, q.to)
    );
    if let Some(u) = q.user_id {
        order_filter += &format!(" and o.created_by = {}", id_lit(f, u.0));
        refund_filter += &format!(" and created_by = {}", id_lit(f, u.0));
    }
    if let Some(d) = q.device_id {
        order_filter += &format!(" and o.device_id = {}", id_lit(f, d.0));
        refund_filter += &format!(" and device_id = {}", id_lit(f, d.0));
    }
    let sales: i64 = rows.iter().map(|r| r.sales_minor).sum();
    let orders: u64 = rows.iter().map(|r| r.orders).sum();
    let refunded: i64 = rows.iter().map(|r| r.refunded_minor).sum();
    assert_eq!(
        sales,
        f.scalar(&format!(
            "select coalesce(sum(t.price_minor), 0) from tickets t
             join orders o on o.id = t.order_id
             where o.status in ('paid', 'cancelled', 'refunded') and {order_filter}"
        ))
        .await
    );
    assert_eq!(
        orders as i64,
        f.scalar(&format!(
            "select count(*) from orders o
             where o.status in ('paid', 'cancelled', 'refunded') and {order_filter}"
        ))
        .await
    );
    assert_eq!(
        refunded,
        f.scalar(&format!(
            "select coalesce(sum(amount_minor), 0) from refunds where {refund_filter}"
        ))
        .await
    );
}

// ---- import

/// A sale of `qty` tickets of type `t` for the store, taking from every quota that covers it.
fn new_sale(f: &Fixture, setup: &Setup, t: &TicketType, qty: u32, at: DateTime<Utc>) -> NewSale {
    let order_id = OrderId::new(at);
    let tickets: Vec<Ticket> = (0..qty)
        .map(|_| Ticket {
            id: TicketId::new(at),
            order_id,
            event_id: setup.event.id,
            ticket_type_id: t.id,
            price: t.price,
            attendee_name: None,
            status: TicketStatus::Valid,
            meta: Meta::new(at),
        })
        .collect();
    let covering: Vec<&Quota> = [&setup.capacity, &setup.qa, &setup.qb]
        .into_iter()
        .filter(|q| q.ticket_type_ids.contains(&t.id))
        .collect();
    let mut demand: Vec<(QuotaId, u32)> = covering.iter().map(|q| (q.id, qty)).collect();
    demand.sort();
    let ticket_quotas = tickets
        .iter()
        .flat_map(|tk| covering.iter().map(move |q| (tk.id, q.id)))
        .collect();
    let order = Order {
        id: order_id,
        code: OrderCode::generate(),
        event_id: setup.event.id,
        buyer_name: None,
        buyer_email: None,
        channel: Channel::Online,
        payment_method: PaymentMethod::Card,
        status: OrderStatus::Paid,
        total: t.price.checked_mul(i64::from(qty)).unwrap(),
        created_by: f.owner.user.id,
        device_id: None,
        coupon_id: None,
        discount_minor: 0,
        payment: Payment::taken(at, f.owner.user.id, None),
        meta: Meta::new(at),
    };
    let mut change = Change::new(
        at,
        Some(f.owner.user.id),
        None,
        "order.import",
        "order",
        order.id.0,
        json!({ "tickets": qty }),
    )
    .sync(at, "order", order.id.0, 1, &order);
    for tk in &tickets {
        change = change.sync(at, "ticket", tk.id.0, 1, tk);
    }
    NewSale {
        order,
        tickets,
        demand,
        ticket_quotas,
        hold: None,
        waitlist_entry: None,
        mail: None,
        change,
    }
}

async fn taken(f: &Fixture, setup: &Setup) -> Vec<u32> {
    let usage = f.admit.store().list_quotas(setup.event.id).await.unwrap();
    [setup.capacity.id, setup.qa.id, setup.qb.id]
        .iter()
        .map(|id| usage.iter().find(|u| u.quota.id == *id).unwrap().taken)
        .collect()
}

async fn import_sales_writes_all_or_nothing(f: Fixture) {
    // 4 standing, 4 seated, and room for all of them.
    let setup = f.event(20, 4).await;
    let store = f.admit.store().clone();
    store
        .sell(&new_sale(&f, &setup, &setup.b, 1, f.now))
        .await
        .unwrap();
    let before = f.snapshot().await;
    let taken_before = taken(&f, &setup).await;
    assert_eq!(taken_before, vec![1, 0, 1]);

    // The middle sale wants 3 standing after 2: the standing quota (4) is short.
    let first = new_sale(&f, &setup, &setup.a, 2, f.at(1));
    let over = new_sale(&f, &setup, &setup.a, 3, f.at(2));
    let last = new_sale(&f, &setup, &setup.b, 1, f.at(3));
    let r = store
        .import_sales(&[first.clone(), over.clone(), last.clone()])
        .await;
    let Err(StoreError::SoldOut { quota_id, .. }) = r else {
        panic!("expected sold out, got {r:?}")
    };
    assert_eq!(quota_id, setup.qa.id, "the standing quota is the one short");
    assert_eq!(
        f.snapshot().await,
        before,
        "nothing of the batch is written"
    );
    assert_eq!(taken(&f, &setup).await, taken_before, "stock unchanged");
    for s in [&first, &over, &last] {
        assert!(matches!(
            store.get_order(s.order.id).await,
            Err(StoreError::NotFound { .. })
        ));
    }

    // Bad input: the last sale repeats the first one's order id.
    let mut twin = new_sale(&f, &setup, &setup.b, 1, f.at(3));
    twin.order.id = first.order.id;
    for t in &mut twin.tickets {
        t.order_id = first.order.id;
    }
    let r = store.import_sales(&[first.clone(), twin]).await;
    assert!(
        matches!(r, Err(StoreError::Conflict { .. })),
        "a repeated order id is a conflict: {r:?}"
    );
    assert_eq!(
        f.snapshot().await,
        before,
        "nothing of the batch is written"
    );
    assert_eq!(taken(&f, &setup).await, taken_before);

    // Without the oversold sale the batch goes in whole: every order, ticket, link, audit
    // entry and outbox row, and the stock of all of them.
    let third = new_sale(&f, &setup, &setup.a, 2, f.at(4));
    let batch = vec![first.clone(), last.clone(), third.clone()];
    store.import_sales(&batch).await.unwrap();
    for s in &batch {
        let stored = store.get_order(s.order.id).await.unwrap();
        assert_eq!(stored.order, s.order);
        assert_eq!(stored.tickets.len(), s.tickets.len());
    }
    assert_eq!(taken(&f, &setup).await, vec![6, 4, 2]);
    let grew = |table: &str, by: i64| {
        let was = before.iter().find(|(t, _)| *t == table).unwrap().1;
        (table.to_string(), was + by)
    };
    let after = f.snapshot().await;
    for (table, n) in [
        grew("orders", 3),
        grew("tickets", 5),
        grew("ticket_quotas", 10),
        grew("audit_log", 3),
        grew("outbox", 8),
    ] {
        assert_eq!(
            after.iter().find(|(t, _)| *t == table).unwrap().1,
            n,
            "{table}"
        );
    }
    f.assert_stock_invariant().await;
    // Standing is full now: one more is refused, and nothing is written.
    let before = f.snapshot().await;
    let r = store
        .import_sales(&[
            new_sale(&f, &setup, &setup.b, 1, f.at(5)),
            new_sale(&f, &setup, &setup.a, 1, f.at(5)),
        ])
        .await;
    assert!(matches!(r, Err(StoreError::SoldOut { .. })), "{r:?}");
    assert_eq!(f.snapshot().await, before);
    // An empty import is a no-op.
    store.import_sales(&[]).await.unwrap();
    assert_eq!(f.snapshot().await, before);

    // An imported sale may consume a hold, as a single sale does: the hold's units go back
    // and the sale takes its own.
    let held = f.event(3, 3).await;
    let hold = f
        .admit
        .hold(
            &f.owner,
            &HoldInput {
                event_id: held.event.id.to_string(),
                lines: held.sale(&[(&held.a, 2)]).lines,
            },
            f.at(6),
        )
        .await
        .unwrap();
    assert_eq!(taken(&f, &held).await, vec![2, 2, 0]);
    let mut from_hold = new_sale(&f, &held, &held.a, 3, f.at(7));
    from_hold.hold = Some(hold.id);
    // Three standing from the hold (two held, one free) fill the capacity of 3: the seat
    // after them is one too many, and the hold stands.
    let before = f.snapshot().await;
    let r = store
        .import_sales(&[from_hold.clone(), new_sale(&f, &held, &held.b, 1, f.at(7))])
        .await;
    assert!(matches!(r, Err(StoreError::SoldOut { .. })), "{r:?}");
    assert_eq!(f.snapshot().await, before);
    assert_eq!(
        store.get_hold(hold.id).await.unwrap().status,
        HoldStatus::Active
    );
    assert_eq!(taken(&f, &held).await, vec![2, 2, 0]);
    store.import_sales(&[from_hold]).await.unwrap();
    assert_eq!(
        store.get_hold(hold.id).await.unwrap().status,
        HoldStatus::Consumed
    );
    assert_eq!(taken(&f, &held).await, vec![3, 3, 0]);
    // The consumed hold cannot be consumed again.
    let before = f.snapshot().await;
    let mut again = new_sale(&f, &held, &held.a, 1, f.at(8));
    again.hold = Some(hold.id);
    let r = store.import_sales(&[again]).await;
    assert!(matches!(r, Err(StoreError::HoldNotActive { .. })), "{r:?}");
    assert_eq!(f.snapshot().await, before);

    // The holds of a batch come back before any of its sales takes units, on both backends:
    // a sale may use what a later sale's hold frees.
    let full = f.event(3, 3).await;
    let hold = f
        .admit
        .hold(
            &f.owner,
            &HoldInput {
                event_id: full.event.id.to_string(),
                lines: full.sale(&[(&full.a, 3)]).lines,
            },
            f.at(9),
        )
        .await
        .unwrap();
    let seat = new_sale(&f, &full, &full.b, 1, f.at(10));
    let mut standing = new_sale(&f, &full, &full.a, 2, f.at(10));
    standing.hold = Some(hold.id);
    store.import_sales(&[seat, standing]).await.unwrap();
    assert_eq!(taken(&f, &full).await, vec![3, 2, 1]);
    assert_eq!(
        store.get_hold(hold.id).await.unwrap().status,
        HoldStatus::Consumed
    );
    f.assert_stock_invariant().await;
}

// ---- refunds

async fn refunds_commit_with_their_cancellation(f: Fixture) {
    let setup = f.event(10, 10).await;
    let store = f.admit.store().clone();
    let sale = new_sale(&f, &setup, &setup.a, 2, f.now);
    store.sell(&sale).await.unwrap();
    let refunds = |c: &str| format!("select count(*) from refunds {c}");
    let cancel_first = |expected_version: i64, amount: i64| {
        let at = f.at(10);
        let mut order = sale.order.clone();
        order.total = setup.a.price;
        order.meta = order.meta.touched(at);
        let ticket = Ticket {
            status: TicketStatus::Cancelled,
            meta: sale.tickets[0].meta.touched(at),
            ..sale.tickets[0].clone()
        };
        Cancellation {
            order,
            expected_version,
            tickets: vec![ticket.clone()],
            release: vec![(setup.capacity.id, 1), (setup.qa.id, 1)],
            revoke: vec![],
            coupon_release: None,
            refunds: vec![Refund {
                id: RefundId::new(at),
                order_id: sale.order.id,
                event_id: setup.event.id,
                ticket_id: Some(ticket.id),
                amount: Money {
                    minor: amount,
                    currency: eur(),
                },
                method: PaymentMethod::Cash,
                created_by: f.owner.user.id,
                device_id: None,
                at,
            }],
            change: Change::default(),
        }
    };
    // A stale cancellation writes no refund.
    assert_eq!(
        store.cancel(&cancel_first(7, 2000)).await,
        Err(StoreError::Stale { entity: "order" })
    );
    assert_eq!(f.scalar(&refunds("")).await, 0);
    // A negative refund is refused by the schema, and takes the cancellation with it.
    let r = store.cancel(&cancel_first(1, -1)).await;
    assert!(matches!(r, Err(StoreError::Conflict { .. })), "{r:?}");
    assert_eq!(f.scalar(&refunds("")).await, 0);
    let o = store.get_order(sale.order.id).await.unwrap();
    assert_eq!(o.order.meta.version, 1, "the order is untouched");
    assert!(o.tickets.iter().all(|t| t.status == TicketStatus::Valid));
    assert_eq!(taken(&f, &setup).await, vec![2, 2, 0]);

    let good = cancel_first(1, 2000);
    store.cancel(&good).await.unwrap();
    assert_eq!(
        store.refunds_of_order(sale.order.id).await.unwrap(),
        good.refunds,
        "the refund reads back as written"
    );
    assert_eq!(taken(&f, &setup).await, vec![1, 1, 0]);
    let rev = store.revenue(setup.event.id).await.unwrap();
    assert_eq!(rev.len(), 1);
    assert_eq!(
        (
            rev[0].tickets,
            rev[0].gross_minor,
            rev[0].refunds,
            rev[0].refunded_minor
        ),
        (2, 4000, 1, 2000)
    );
}

async fn refund_through_the_use_case_reaches_the_reports(f: Fixture) {
    let setup = f.event(10, 10).await;
    let a = &f.admit;
    let cashier = f.user("cara", "box_office").await;
    let mut input = setup.sale(&[(&setup.a, 1), (&setup.b, 1)]);
    input.payment_method = "card".into();
    input.card_confirmed = true;
    let o = a.sell(&cashier, &input, f.now).await.unwrap();
    let after = a
        .cancel(
            &f.owner,
            &CancelInput {
                order_id: o.order.id.to_string(),
                ticket_ids: vec![],
                refund: true,
            },
            f.at(30),
        )
        .await
        .unwrap();
    assert_eq!(after.order.status, OrderStatus::Refunded);
    let refunds = a.store().refunds_of_order(o.order.id).await.unwrap();
    let mut amounts: Vec<i64> = refunds.iter().map(|r| r.amount.minor).collect();
    amounts.sort();
    assert_eq!(
        amounts,
        vec![2000, 3500],
        "one refund per ticket, at its price"
    );
    assert!(refunds
        .iter()
        .all(|r| r.method == PaymentMethod::Card && r.created_by == f.owner.user.id));
    let rev = a.store().revenue(setup.event.id).await.unwrap();
    let gross: i64 = rev.iter().map(|r| r.gross_minor).sum();
    let refunded: i64 = rev.iter().map(|r| r.refunded_minor).sum();
    assert_eq!((gross, refunded), (5500, 5500), "net zero");
    // The seller's shift shows the sale; the owner's the money paid back.
    let window = |u: UserId| ShiftQuery {
        user_id: Some(u),
        device_id: None,
        from: f.now,
        to: f.at(60),
    };
    let sold = a
        .store()
        .shift_totals(&window(cashier.user.id))
        .await
        .unwrap();
    assert_eq!(sold.len(), 1);
    assert_eq!(
        (sold[0].orders, sold[0].sales_minor, sold[0].refunds),
        (1, 5500, 0)
    );
    let paid_back = a
        .store()
        .shift_totals(&window(f.owner.user.id))
        .await
        .unwrap();
    assert_eq!(paid_back.len(), 1);
    assert_eq!(
        (
            paid_back[0].orders,
            paid_back[0].refunds,
            paid_back[0].refunded_minor
        ),
        (0, 2, 5500)
    );
    // Nothing of the live sales is left.
    assert!(a
        .store()
        .sales_buckets(setup.event.id, 3600)
        .await
        .unwrap()
        .is_empty());
}

// ---- empty

async fn reports_of_an_empty_event_are_empty(f: Fixture) {
    let setup = f.event(10, 10).await;
    let store = f.admit.store().clone();
    let e = setup.event.id;
    // Another event's sales do not leak into this one.
    let other = f.event(10, 10).await;
    f.admit
        .sell(&f.owner, &other.sale(&[(&other.a, 2)]), f.now)
        .await
        .unwrap();
    for secs in [1, 60, 86_400] {
        assert_eq!(store.sales_buckets(e, secs).await.unwrap(), vec![]);
        assert_eq!(store.door_buckets(e, secs).await.unwrap(), vec![]);
    }
    assert!(
        store.sales_buckets(e, 0).await.is_err(),
        "a bucket has a width"
    );
    assert!(store.door_buckets(e, 0).await.is_err());
    assert_eq!(store.revenue(e).await.unwrap(), vec![]);
    assert_eq!(
        store.export_counts(e).await.unwrap(),
        admit_store::ExportCounts::default()
    );
    assert!(store.export_orders(e, None, 100).await.unwrap().is_empty());
    assert!(store
        .export_attendees(e, None, 100)
        .await
        .unwrap()
        .is_empty());
    assert!(store.export_scans(e, None, 100).await.unwrap().is_empty());
    let nobody = ShiftQuery {
        user_id: None,
        device_id: None,
        from: f.at(-600),
        to: f.now,
    };
    assert_eq!(store.shift_totals(&nobody).await.unwrap(), vec![]);
    assert_eq!(
        store.refunds_of_order(OrderId::new(f.now)).await.unwrap(),
        vec![]
    );
}

//! Coupons, pay-later payments, the waiting list, cashier shifts and the mail queue.
//!
//! Every write runs on the writer thread in one transaction with its change, like the rest of
//! the store; the single writer is what serialises coupon uses and offers here.

use chrono::{DateTime, Utc};
use rusqlite::{params, Connection, OptionalExtension};
use sqlx::sqlite::SqliteRow;
use sqlx::Row;
use uuid::Uuid;

use admit_core::audit::Change;
use admit_core::commerce::*;
use admit_core::model::*;
use admit_core::text::{Email, Name};
use admit_core::*;

use super::{
    consume_hold, dom, from_us, meta, opt_from_us, stale_or_missing, sweep, sweep_and_take, us,
    uuid_list, write_change, SqliteStore,
};
use crate::{Reinstatement, StoreError, StoreResult};

// ---- rows

fn coupon_from(row: &SqliteRow) -> StoreResult<Coupon> {
    Ok(Coupon {
        id: CouponId(row.try_get("id")?),
        event_id: EventId(row.try_get("event_id")?),
        code: dom(CouponCode::parse("code", row.try_get("code")?))?,
        kind: dom(CouponKind::parse("kind", row.try_get("kind")?))?,
        value: row.try_get("value")?,
        currency: dom(Currency::parse("currency", row.try_get("currency")?))?,
        ticket_type_ids: uuid_list(row.try_get("type_ids")?)?,
        valid_from: opt_from_us(row.try_get("valid_from")?)?,
        valid_until: opt_from_us(row.try_get("valid_until")?)?,
        min_order_minor: row.try_get("min_order_minor")?,
        max_uses: row.try_get::<Option<i64>, _>("max_uses")?.map(|m| m as u32),
        used: row.try_get::<i64, _>("used")? as u32,
        active: row.try_get("active")?,
        meta: meta(row)?,
    })
}

fn waitlist_from(row: &SqliteRow) -> StoreResult<WaitlistEntry> {
    Ok(WaitlistEntry {
        id: WaitlistId(row.try_get("id")?),
        event_id: EventId(row.try_get("event_id")?),
        ticket_type_id: TicketTypeId(row.try_get("ticket_type_id")?),
        name: dom(Name::parse("name", row.try_get("name")?))?,
        email: row
            .try_get::<Option<String>, _>("email")?
            .map(|e| dom(Email::parse("email", &e)))
            .transpose()?,
        phone: row
            .try_get::<Option<String>, _>("phone")?
            .map(|p| dom(Name::parse("phone", &p)))
            .transpose()?,
        quantity: row.try_get::<i64, _>("quantity")? as u32,
        status: dom(WaitlistStatus::parse("status", row.try_get("status")?))?,
        hold_id: row.try_get::<Option<Uuid>, _>("hold_id")?.map(HoldId),
        offer_expires_at: opt_from_us(row.try_get("offer_expires_at")?)?,
        order_id: row.try_get::<Option<Uuid>, _>("order_id")?.map(OrderId),
        created_by: UserId(row.try_get("created_by")?),
        meta: meta(row)?,
    })
}

fn shift_from(row: &SqliteRow) -> StoreResult<Shift> {
    Ok(Shift {
        id: ShiftId(row.try_get("id")?),
        user_id: UserId(row.try_get("user_id")?),
        device_id: row.try_get::<Option<Uuid>, _>("device_id")?.map(DeviceId),
        currency: dom(Currency::parse("currency", row.try_get("currency")?))?,
        opened_at: from_us(row.try_get("opened_at")?)?,
        float_minor: row.try_get("float_minor")?,
        closed_at: opt_from_us(row.try_get("closed_at")?)?,
        expected_minor: row.try_get("expected_minor")?,
        counted_minor: row.try_get("counted_minor")?,
        difference_minor: row.try_get("difference_minor")?,
        note: row.try_get("note")?,
        meta: meta(row)?,
    })
}

fn mail_from(row: &SqliteRow) -> StoreResult<MailMessage> {
    Ok(MailMessage {
        id: MailId(row.try_get("id")?),
        kind: dom(MailKind::parse("kind", row.try_get("kind")?))?,
        order_id: row.try_get::<Option<Uuid>, _>("order_id")?.map(OrderId),
        waitlist_id: row
            .try_get::<Option<Uuid>, _>("waitlist_id")?
            .map(WaitlistId),
        to: dom(Email::parse("to_address", row.try_get("to_address")?))?,
        status: dom(MailStatus::parse("status", row.try_get("status")?))?,
        attempts: row.try_get::<i64, _>("attempts")? as u32,
        next_attempt_at: from_us(row.try_get("next_attempt_at")?)?,
        last_error: row.try_get("last_error")?,
        sent_at: opt_from_us(row.try_get("sent_at")?)?,
        meta: meta(row)?,
    })
}

const COUPON_SELECT: &str = "select c.*,
        (select group_concat(hex(ct.ticket_type_id)) from coupon_ticket_types ct
         where ct.coupon_id = c.id) as type_ids
     from coupons c";

// ---- statements the sale and cancellation paths share

/// Take one use of a coupon, or fail with `coupon_used_up` when it has none left.
pub(super) fn take_coupon_use(c: &Connection, coupon: CouponId) -> StoreResult<()> {
    let n = c
        .prepare_cached(
            "update coupons set used = used + 1
             where id = ?1 and (max_uses is null or used < max_uses)",
        )?
        .execute([coupon.0])?;
    if n == 0 {
        return Err(StoreError::Conflict {
            constraint: "coupon_used_up".into(),
        });
    }
    Ok(())
}

pub(super) fn give_coupon_use_back(c: &Connection, coupon: CouponId) -> StoreResult<()> {
    c.prepare_cached("update coupons set used = used - 1 where id = ?1 and used > 0")?
        .execute([coupon.0])?;
    Ok(())
}

/// The sale took up an entry's offer.
pub(super) fn waitlist_sold(
    c: &Connection,
    entry: WaitlistId,
    order: OrderId,
    now: DateTime<Utc>,
) -> StoreResult<()> {
    let n = c
        .prepare_cached(
            "update waitlist set status = 'sold', order_id = ?2, updated_at = ?3,
                                 version = version + 1
             where id = ?1 and status = 'offered'",
        )?
        .execute(params![entry.0, order.0, us(now)])?;
    if n == 0 {
        return Err(StoreError::Conflict {
            constraint: "waitlist_not_offered".into(),
        });
    }
    Ok(())
}

pub(super) fn insert_mail(c: &Connection, m: &MailMessage) -> StoreResult<()> {
    c.prepare_cached(
        "insert into mail_queue (id, kind, order_id, waitlist_id, to_address, status, attempts,
                                 next_attempt_at, last_error, sent_at, created_at, updated_at,
                                 version)
         values (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)",
    )?
    .execute(params![
        m.id.0,
        m.kind.as_str(),
        m.order_id.map(|o| o.0),
        m.waitlist_id.map(|w| w.0),
        m.to.as_str(),
        m.status.as_str(),
        m.attempts as i64,
        us(m.next_attempt_at),
        m.last_error,
        m.sent_at.map(us),
        us(m.meta.created_at),
        us(m.meta.updated_at),
        m.meta.version,
    ])?;
    Ok(())
}

fn replace_coupon_types(c: &Connection, coupon: &Coupon) -> StoreResult<()> {
    super::replace_type_links(
        c,
        "coupon_ticket_types",
        "coupon_id",
        coupon.id.0,
        coupon.event_id,
        &coupon.ticket_type_ids,
    )
}

/// Insert a hold with its lines and the units it takes per quota (the caller takes them).
pub(super) fn insert_hold(c: &Connection, h: &Hold, demand: &[(QuotaId, u32)]) -> StoreResult<()> {
    c.prepare_cached(
        "insert into holds (id, event_id, status, expires_at, created_by, device_id,
                            created_at, updated_at, version)
         values (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
    )?
    .execute(params![
        h.id.0,
        h.event_id.0,
        h.status.as_str(),
        us(h.expires_at),
        h.created_by.0,
        h.device_id.map(|d| d.0),
        us(h.meta.created_at),
        us(h.meta.updated_at),
        h.meta.version,
    ])?;
    let mut st = c.prepare_cached(
        "insert into hold_lines (hold_id, ticket_type_id, quantity) values (?1, ?2, ?3)",
    )?;
    for l in &h.lines {
        st.execute(params![h.id.0, l.ticket_type_id.0, l.quantity as i64])?;
    }
    let mut st = c.prepare_cached(
        "insert into hold_quotas (hold_id, quota_id, quantity) values (?1, ?2, ?3)",
    )?;
    for (q, n) in demand {
        st.execute(params![h.id.0, q.0, *n as i64])?;
    }
    Ok(())
}

/// Write an entry's new state if it is still at `expected_version`.
fn write_waitlist(c: &Connection, e: &WaitlistEntry, expected_version: i64) -> StoreResult<()> {
    let n = c
        .prepare_cached(
            "update waitlist set status = ?2, hold_id = ?3, offer_expires_at = ?4, order_id = ?5,
                                 updated_at = ?6, version = ?7
             where id = ?1 and version = ?8",
        )?
        .execute(params![
            e.id.0,
            e.status.as_str(),
            e.hold_id.map(|h| h.0),
            e.offer_expires_at.map(us),
            e.order_id.map(|o| o.0),
            us(e.meta.updated_at),
            e.meta.version,
            expected_version,
        ])?;
    if n == 0 {
        return Err(stale_or_missing(c, "waitlist", "waitlist entry", e.id.0));
    }
    Ok(())
}

fn renamed(e: StoreError, from: &str, to: &str) -> StoreError {
    match e {
        StoreError::Conflict { constraint } if constraint.contains(from) => StoreError::Conflict {
            constraint: to.into(),
        },
        e => e,
    }
}

impl SqliteStore {
    // ---- coupons

    pub(super) async fn create_coupon_impl(
        &self,
        coupon: &Coupon,
        change: &Change,
    ) -> StoreResult<()> {
        let (k, change) = (coupon.clone(), change.clone());
        self.write(move |c| {
            c.prepare_cached(
                "insert into coupons (id, event_id, code, kind, value, currency, valid_from,
                                      valid_until, min_order_minor, max_uses, used, active,
                                      created_at, updated_at, version)
                 values (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, 0, ?11, ?12, ?13, ?14)",
            )?
            .execute(params![
                k.id.0,
                k.event_id.0,
                k.code.as_str(),
                k.kind.as_str(),
                k.value,
                k.currency.code(),
                k.valid_from.map(us),
                k.valid_until.map(us),
                k.min_order_minor,
                k.max_uses.map(i64::from),
                k.active,
                us(k.meta.created_at),
                us(k.meta.updated_at),
                k.meta.version,
            ])
            .map_err(|e| renamed(e.into(), "coupons", "coupons_event_id_code_key"))?;
            replace_coupon_types(c, &k)?;
            write_change(c, &change)
        })
        .await
    }

    pub(super) async fn update_coupon_impl(
        &self,
        coupon: &Coupon,
        expected_version: i64,
        change: &Change,
    ) -> StoreResult<()> {
        let (k, change) = (coupon.clone(), change.clone());
        self.write(move |c| {
            let used: Option<i64> = c
                .prepare_cached("select used from coupons where id = ?1")?
                .query_row([k.id.0], |r| r.get(0))
                .optional()?;
            let used = used.ok_or(StoreError::NotFound { entity: "coupon" })?;
            if k.max_uses.is_some_and(|m| i64::from(m) < used) {
                return Err(StoreError::Conflict {
                    constraint: "coupon_max_uses_below_used".into(),
                });
            }
            let n = c
                .prepare_cached(
                    "update coupons set code = ?2, kind = ?3, value = ?4, valid_from = ?5,
                            valid_until = ?6, min_order_minor = ?7, max_uses = ?8, active = ?9,
                            updated_at = ?10, version = ?11
                     where id = ?1 and version = ?12",
                )?
                .execute(params![
                    k.id.0,
                    k.code.as_str(),
                    k.kind.as_str(),
                    k.value,
                    k.valid_from.map(us),
                    k.valid_until.map(us),
                    k.min_order_minor,
                    k.max_uses.map(i64::from),
                    k.active,
                    us(k.meta.updated_at),
                    k.meta.version,
                    expected_version,
                ])
                .map_err(|e| renamed(e.into(), "coupons", "coupons_event_id_code_key"))?;
            if n == 0 {
                return Err(stale_or_missing(c, "coupons", "coupon", k.id.0));
            }
            replace_coupon_types(c, &k)?;
            write_change(c, &change)
        })
        .await
    }

    pub(super) async fn get_coupon_impl(&self, id: CouponId) -> StoreResult<Coupon> {
        let row = sqlx::query(&format!("{COUPON_SELECT} where c.id = $1"))
            .bind(id.0)
            .fetch_optional(&self.read)
            .await?
            .ok_or(StoreError::NotFound { entity: "coupon" })?;
        coupon_from(&row)
    }

    pub(super) async fn coupon_by_code_impl(
        &self,
        event_id: EventId,
        code: &str,
    ) -> StoreResult<Option<Coupon>> {
        sqlx::query(&format!(
            "{COUPON_SELECT} where c.event_id = $1 and c.code = $2"
        ))
        .bind(event_id.0)
        .bind(code)
        .fetch_optional(&self.read)
        .await?
        .as_ref()
        .map(coupon_from)
        .transpose()
    }

    pub(super) async fn list_coupons_impl(&self, event_id: EventId) -> StoreResult<Vec<Coupon>> {
        sqlx::query(&format!(
            "{COUPON_SELECT} where c.event_id = $1 order by c.code"
        ))
        .bind(event_id.0)
        .fetch_all(&self.read)
        .await?
        .iter()
        .map(coupon_from)
        .collect()
    }

    // ---- payments

    pub(super) async fn overdue_orders_impl(
        &self,
        now: DateTime<Utc>,
        limit: u32,
    ) -> StoreResult<Vec<OrderId>> {
        sqlx::query(
            "select id from orders
             where status = 'pending' and payment_due <= $1
             order by payment_due, id
             limit $2",
        )
        .bind(us(now))
        .bind(limit.clamp(1, 10_000) as i64)
        .fetch_all(&self.read)
        .await?
        .iter()
        .map(|r| Ok(OrderId(r.try_get("id")?)))
        .collect()
    }

    pub(super) async fn record_payment_impl(
        &self,
        order: &Order,
        expected_version: i64,
        change: &Change,
    ) -> StoreResult<()> {
        let (o, change) = (order.clone(), change.clone());
        self.write(move |c| {
            write_payment(c, &o, expected_version)?;
            write_change(c, &change)
        })
        .await
    }

    pub(super) async fn reinstate_order_impl(&self, r: &Reinstatement) -> StoreResult<()> {
        let r = r.clone();
        self.write(move |c| {
            let now = r.order.meta.updated_at;
            write_payment(c, &r.order, r.expected_version)?;
            let mut st = c.prepare_cached(
                "update tickets set status = 'valid', updated_at = ?2, version = ?3
                 where id = ?1 and order_id = ?4 and status = 'cancelled'",
            )?;
            for t in &r.tickets {
                let n = st.execute(params![
                    t.id.0,
                    us(t.meta.updated_at),
                    t.meta.version,
                    r.order.id.0
                ])?;
                if n == 0 {
                    return Err(StoreError::Conflict {
                        constraint: "ticket_not_cancelled".into(),
                    });
                }
            }
            if let Some(coupon) = r.order.coupon_id {
                take_coupon_use(c, coupon)?;
            }
            sweep_and_take(c, r.order.event_id, now, &r.demand)?;
            write_change(c, &r.change)
        })
        .await
    }

    // ---- the waiting list

    pub(super) async fn add_waitlist_impl(
        &self,
        e: &WaitlistEntry,
        change: &Change,
    ) -> StoreResult<()> {
        let (e, change) = (e.clone(), change.clone());
        self.write(move |c| {
            c.prepare_cached(
                "insert into waitlist (id, event_id, ticket_type_id, name, email, phone, quantity,
                                       status, hold_id, offer_expires_at, order_id, created_by,
                                       created_at, updated_at, version)
                 values (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15)",
            )?
            .execute(params![
                e.id.0,
                e.event_id.0,
                e.ticket_type_id.0,
                e.name.as_str(),
                e.email.as_ref().map(Email::as_str),
                e.phone.as_ref().map(Name::as_str),
                e.quantity as i64,
                e.status.as_str(),
                e.hold_id.map(|h| h.0),
                e.offer_expires_at.map(us),
                e.order_id.map(|o| o.0),
                e.created_by.0,
                us(e.meta.created_at),
                us(e.meta.updated_at),
                e.meta.version,
            ])?;
            write_change(c, &change)
        })
        .await
    }

    pub(super) async fn get_waitlist_entry_impl(
        &self,
        id: WaitlistId,
    ) -> StoreResult<WaitlistEntry> {
        let row = sqlx::query("select * from waitlist where id = $1")
            .bind(id.0)
            .fetch_optional(&self.read)
            .await?
            .ok_or(StoreError::NotFound {
                entity: "waitlist entry",
            })?;
        waitlist_from(&row)
    }

    pub(super) async fn list_waitlist_impl(
        &self,
        event_id: EventId,
    ) -> StoreResult<Vec<WaitlistEntry>> {
        sqlx::query("select * from waitlist where event_id = $1 order by created_at, id")
            .bind(event_id.0)
            .fetch_all(&self.read)
            .await?
            .iter()
            .map(waitlist_from)
            .collect()
    }

    pub(super) async fn offer_waitlist_impl(
        &self,
        entry: &WaitlistEntry,
        expected_version: i64,
        hold: &Hold,
        demand: &[(QuotaId, u32)],
        mail: Option<&MailMessage>,
        change: &Change,
    ) -> StoreResult<()> {
        let (e, h, demand, mail, change) = (
            entry.clone(),
            hold.clone(),
            demand.to_vec(),
            mail.cloned(),
            change.clone(),
        );
        self.write(move |c| {
            sweep_and_take(c, h.event_id, h.meta.created_at, &demand)?;
            insert_hold(c, &h, &demand)?;
            write_waitlist(c, &e, expected_version)?;
            if let Some(m) = &mail {
                insert_mail(c, m)?;
            }
            write_change(c, &change)
        })
        .await
    }

    pub(super) async fn update_waitlist_impl(
        &self,
        entry: &WaitlistEntry,
        expected_version: i64,
        change: &Change,
    ) -> StoreResult<()> {
        let (e, change) = (entry.clone(), change.clone());
        self.write(move |c| {
            let now = e.meta.updated_at;
            // Overdue holds are expired first, so a lapsed offer is not counted as released.
            sweep(c, Some(e.event_id), now)?;
            let hold: Option<Option<Uuid>> = c
                .prepare_cached("select hold_id from waitlist where id = ?1")?
                .query_row([e.id.0], |r| r.get(0))
                .optional()?;
            if let Some(Some(h)) = hold {
                let active: Option<String> = c
                    .prepare_cached("select status from holds where id = ?1")?
                    .query_row([h], |r| r.get(0))
                    .optional()?;
                if active.as_deref() == Some("active") {
                    consume_hold(c, HoldId(h), "released", now)?;
                }
            }
            write_waitlist(c, &e, expected_version)?;
            write_change(c, &change)
        })
        .await
    }

    // ---- shifts

    pub(super) async fn open_shift_impl(&self, s: &Shift, change: &Change) -> StoreResult<()> {
        let (s, change) = (s.clone(), change.clone());
        self.write(move |c| {
            c.prepare_cached(
                "insert into shifts (id, user_id, device_id, currency, opened_at, float_minor,
                                     closed_at, expected_minor, counted_minor, difference_minor,
                                     note, created_at, updated_at, version)
                 values (?1, ?2, ?3, ?4, ?5, ?6, null, null, null, null, ?7, ?8, ?9, ?10)",
            )?
            .execute(params![
                s.id.0,
                s.user_id.0,
                s.device_id.map(|d| d.0),
                s.currency.code(),
                us(s.opened_at),
                s.float_minor,
                s.note,
                us(s.meta.created_at),
                us(s.meta.updated_at),
                s.meta.version,
            ])
            .map_err(|e| renamed(e.into(), "shifts", "shifts_one_open"))?;
            write_change(c, &change)
        })
        .await
    }

    pub(super) async fn close_shift_impl(
        &self,
        s: &Shift,
        expected_version: i64,
        change: &Change,
    ) -> StoreResult<()> {
        let (s, change) = (s.clone(), change.clone());
        self.write(move |c| {
            let n = c
                .prepare_cached(
                    "update shifts set closed_at = ?2, expected_minor = ?3, counted_minor = ?4,
                            difference_minor = ?5, note = ?6, updated_at = ?7, version = ?8
                     where id = ?1 and version = ?9",
                )?
                .execute(params![
                    s.id.0,
                    s.closed_at.map(us),
                    s.expected_minor,
                    s.counted_minor,
                    s.difference_minor,
                    s.note,
                    us(s.meta.updated_at),
                    s.meta.version,
                    expected_version,
                ])?;
            if n == 0 {
                return Err(stale_or_missing(c, "shifts", "shift", s.id.0));
            }
            write_change(c, &change)
        })
        .await
    }

    pub(super) async fn open_shift_of_impl(&self, user: UserId) -> StoreResult<Option<Shift>> {
        sqlx::query("select * from shifts where user_id = $1 and closed_at is null")
            .bind(user.0)
            .fetch_optional(&self.read)
            .await?
            .as_ref()
            .map(shift_from)
            .transpose()
    }

    pub(super) async fn list_shifts_impl(
        &self,
        user: Option<UserId>,
        limit: u32,
    ) -> StoreResult<Vec<Shift>> {
        sqlx::query(
            "select * from shifts where ($1 is null or user_id = $1)
             order by opened_at desc, id desc limit $2",
        )
        .bind(user.map(|u| u.0))
        .bind(limit.clamp(1, 1_000) as i64)
        .fetch_all(&self.read)
        .await?
        .iter()
        .map(shift_from)
        .collect()
    }

    // ---- mail

    pub(super) async fn enqueue_mail_impl(
        &self,
        m: &MailMessage,
        change: &Change,
    ) -> StoreResult<()> {
        let (m, change) = (m.clone(), change.clone());
        self.write(move |c| {
            insert_mail(c, &m)?;
            write_change(c, &change)
        })
        .await
    }

    pub(super) async fn due_mail_impl(
        &self,
        now: DateTime<Utc>,
        limit: u32,
    ) -> StoreResult<Vec<MailMessage>> {
        sqlx::query(
            "select * from mail_queue where status = 'queued' and next_attempt_at <= $1
             order by next_attempt_at, id limit $2",
        )
        .bind(us(now))
        .bind(limit.clamp(1, 1_000) as i64)
        .fetch_all(&self.read)
        .await?
        .iter()
        .map(mail_from)
        .collect()
    }

    pub(super) async fn update_mail_impl(
        &self,
        m: &MailMessage,
        expected_version: i64,
    ) -> StoreResult<bool> {
        let m = m.clone();
        self.write(move |c| {
            let n = c
                .prepare_cached(
                    "update mail_queue set status = ?2, attempts = ?3, next_attempt_at = ?4,
                            last_error = ?5, sent_at = ?6, updated_at = ?7, version = ?8
                     where id = ?1 and version = ?9",
                )?
                .execute(params![
                    m.id.0,
                    m.status.as_str(),
                    m.attempts as i64,
                    us(m.next_attempt_at),
                    m.last_error,
                    m.sent_at.map(us),
                    us(m.meta.updated_at),
                    m.meta.version,
                    expected_version,
                ])?;
            Ok(n == 1)
        })
        .await
    }

    pub(super) async fn mail_of_order_impl(&self, order: OrderId) -> StoreResult<Vec<MailMessage>> {
        sqlx::query("select * from mail_queue where order_id = $1 order by created_at, id")
            .bind(order.0)
            .fetch_all(&self.read)
            .await?
            .iter()
            .map(mail_from)
            .collect()
    }

    pub(super) async fn get_mail_impl(&self, id: MailId) -> StoreResult<MailMessage> {
        let row = sqlx::query("select * from mail_queue where id = $1")
            .bind(id.0)
            .fetch_optional(&self.read)
            .await?
            .ok_or(StoreError::NotFound { entity: "mail" })?;
        mail_from(&row)
    }
}

/// Write a pending order's payment (status, method and payment fields), version checked.
fn write_payment(c: &Connection, o: &Order, expected_version: i64) -> StoreResult<()> {
    let n = c
        .prepare_cached(
            "update orders set status = ?2, payment_method = ?3, payment_due = ?4, paid_at = ?5,
                    paid_by = ?6, paid_device = ?7, tendered_minor = ?8, payment_note = ?9,
                    total_minor = ?10, updated_at = ?11, version = ?12
             where id = ?1 and version = ?13",
        )?
        .execute(params![
            o.id.0,
            o.status.as_str(),
            o.payment_method.as_str(),
            o.payment.due.map(us),
            o.payment.paid_at.map(us),
            o.payment.paid_by.map(|u| u.0),
            o.payment.paid_device.map(|d| d.0),
            o.payment.tendered_minor,
            o.payment.note,
            o.total.minor,
            us(o.meta.updated_at),
            o.meta.version,
            expected_version,
        ])?;
    if n == 0 {
        return Err(stale_or_missing(c, "orders", "order", o.id.0));
    }
    Ok(())
}

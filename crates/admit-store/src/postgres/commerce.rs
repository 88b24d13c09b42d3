//! Commerce on PostgreSQL: coupons, pay-later payments, the waiting list, cashier shifts and
//! the outgoing mail queue.
//!
//! Writes that lock rows other writers lock too take them in one order, the same in every
//! transaction: an order and its tickets, then a waiting-list entry, then a coupon, then (in
//! `move_stock`) holds and quotas by id. A sale locks the entry whose offer it takes up, the
//! coupon it uses, then the hold it consumes and its quotas; a cancellation its order, tickets,
//! coupon and quotas; expiring an offer its entry, then the offer's hold and quotas. Writers
//! that follow one order queue behind each other instead of deadlocking.

use chrono::{DateTime, Utc};
use sqlx::PgConnection;
use uuid::Uuid;

use admit_core::audit::Change;
use admit_core::commerce::{Coupon, MailMessage, Shift, WaitlistEntry};
use admit_core::model::{Hold, HoldStatus, Order};
use admit_core::*;

use super::stock::{move_stock, StockMove, Sweep};
use super::MAX_LIST;
use super::{commit, insert_hold, record_change, retrying, rows, stale_or_missing, PgStore};
use crate::{Reinstatement, StoreError, StoreResult};

/// A coupon with its ticket types, as `rows::coupon` reads it; a `where` clause may follow.
macro_rules! select_coupon {
    () => {
        "select c.*,
                array(select ct.ticket_type_id from coupon_ticket_types ct
                      where ct.coupon_id = c.id
                      order by ct.ticket_type_id) as ticket_type_ids
         from coupons c "
    };
}

/// Take one use of a coupon for an order, unless it is used up. The row stays locked until
/// the commit, so two sales cannot both take its last use: the second waits, and READ
/// COMMITTED re-checks `used < max_uses` on the row the first one wrote.
pub(super) async fn take_coupon_use(conn: &mut PgConnection, coupon: CouponId) -> StoreResult<()> {
    let n = sqlx::query(
        "update coupons set used = used + 1
         where id = $1 and (max_uses is null or used < max_uses)",
    )
    .bind(coupon.0)
    .execute(&mut *conn)
    .await?
    .rows_affected();
    if n == 0 {
        return Err(StoreError::Conflict {
            constraint: "coupon_used_up".into(),
        });
    }
    Ok(())
}

/// Give one use of a coupon back (an order that no longer has valid tickets). `used` is a
/// count of orders, not a record of its own: it moves neither version nor `updated_at`, so an
/// edit of the coupon is never refused as stale because someone sold with it.
pub(super) async fn give_back_coupon_use(
    conn: &mut PgConnection,
    coupon: CouponId,
) -> StoreResult<()> {
    sqlx::query("update coupons set used = used - 1 where id = $1 and used > 0")
        .bind(coupon.0)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// Mark the waiting-list entry whose offer a sale takes up as sold with the sale's order.
pub(super) async fn take_up_offer(
    conn: &mut PgConnection,
    entry: WaitlistId,
    order: OrderId,
    now: DateTime<Utc>,
) -> StoreResult<()> {
    let n = sqlx::query(
        "update waitlist set status = 'sold', order_id = $2, updated_at = $3,
             version = version + 1
         where id = $1 and status = 'offered'",
    )
    .bind(entry.0)
    .bind(order.0)
    .bind(now)
    .execute(&mut *conn)
    .await?
    .rows_affected();
    if n == 0 {
        return Err(StoreError::Conflict {
            constraint: "waitlist_not_offered".into(),
        });
    }
    Ok(())
}

/// Queue one message. Its order or entry must be written first (the foreign keys).
pub(super) async fn insert_mail(conn: &mut PgConnection, m: &MailMessage) -> StoreResult<()> {
    sqlx::query(
        "insert into mail_queue (id, kind, order_id, waitlist_id, to_address, status, attempts,
                                 next_attempt_at, last_error, sent_at, created_at, updated_at,
                                 version)
         values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)",
    )
    .bind(m.id.0)
    .bind(m.kind.as_str())
    .bind(m.order_id.map(|o| o.0))
    .bind(m.waitlist_id.map(|w| w.0))
    .bind(m.to.as_str())
    .bind(m.status.as_str())
    .bind(i64::from(m.attempts))
    .bind(m.next_attempt_at)
    .bind(m.last_error.as_deref())
    .bind(m.sent_at)
    .bind(m.meta.created_at)
    .bind(m.meta.updated_at)
    .bind(m.meta.version)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Make the coupon apply to exactly `coupon.ticket_type_ids` (none: all of its event's).
async fn replace_coupon_types(conn: &mut PgConnection, coupon: &Coupon) -> StoreResult<()> {
    super::replace_type_links(
        conn,
        "coupon_ticket_types",
        "coupon_id",
        coupon.id.0,
        coupon.event_id,
        &coupon.ticket_type_ids,
    )
    .await
}

/// Give back a hold's units if it is still active. One that expired, was consumed or was
/// released already has nothing left to give back.
async fn release_if_active(
    conn: &mut PgConnection,
    hold_id: HoldId,
    now: DateTime<Utc>,
) -> StoreResult<()> {
    let release = StockMove {
        sweep: Sweep::None,
        now,
        settle: Some((hold_id, HoldStatus::Released)),
        take: &[],
    };
    // A hold that is not active makes the statement write nothing; the error is only the
    // report of what it found.
    match move_stock(conn, release).await {
        Ok(_) | Err(StoreError::HoldNotActive { .. }) => Ok(()),
        Err(e) => Err(e),
    }
}

impl PgStore {
    // ---- coupons

    pub(super) async fn commerce_create_coupon(
        &self,
        coupon: &Coupon,
        change: &Change,
    ) -> StoreResult<()> {
        let c = coupon;
        retrying("create_coupon", move || async move {
            let mut tx = self.begin().await?;
            // A second coupon with the event's code fails on coupons_event_id_code_key.
            sqlx::query(
                "insert into coupons (id, event_id, code, kind, value, currency, valid_from,
                                      valid_until, min_order_minor, max_uses, used, active,
                                      created_at, updated_at, version)
                 values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)",
            )
            .bind(c.id.0)
            .bind(c.event_id.0)
            .bind(c.code.as_str())
            .bind(c.kind.as_str())
            .bind(c.value)
            .bind(c.currency.code())
            .bind(c.valid_from)
            .bind(c.valid_until)
            .bind(c.min_order_minor)
            .bind(c.max_uses.map(i64::from))
            .bind(i64::from(c.used))
            .bind(c.active)
            .bind(c.meta.created_at)
            .bind(c.meta.updated_at)
            .bind(c.meta.version)
            .execute(&mut *tx)
            .await?;
            replace_coupon_types(&mut tx, c).await?;
            commit(tx, change).await
        })
        .await
    }

    pub(super) async fn commerce_update_coupon(
        &self,
        coupon: &Coupon,
        expected_version: i64,
        change: &Change,
    ) -> StoreResult<()> {
        let c = coupon;
        retrying("update_coupon", move || async move {
            let mut tx = self.begin().await?;
            // Locked, so no sale can take a use between the check and the update.
            let current: Option<(i64, i64)> =
                sqlx::query_as("select version, used from coupons where id = $1 for no key update")
                    .bind(c.id.0)
                    .fetch_optional(&mut *tx)
                    .await?;
            let (version, used) = current.ok_or(StoreError::NotFound { entity: "coupon" })?;
            if version != expected_version {
                return Err(StoreError::Stale { entity: "coupon" });
            }
            if c.max_uses.is_some_and(|m| i64::from(m) < used) {
                return Err(StoreError::Conflict {
                    constraint: "coupon_max_uses_below_used".into(),
                });
            }
            // Everything but the event and `used`, which only sales and cancellations move.
            sqlx::query(
                "update coupons set code = $2, kind = $3, value = $4, currency = $5,
                     valid_from = $6, valid_until = $7, min_order_minor = $8, max_uses = $9,
                     active = $10, updated_at = $11, version = $12
                 where id = $1",
            )
            .bind(c.id.0)
            .bind(c.code.as_str())
            .bind(c.kind.as_str())
            .bind(c.value)
            .bind(c.currency.code())
            .bind(c.valid_from)
            .bind(c.valid_until)
            .bind(c.min_order_minor)
            .bind(c.max_uses.map(i64::from))
            .bind(c.active)
            .bind(c.meta.updated_at)
            .bind(c.meta.version)
            .execute(&mut *tx)
            .await?;
            replace_coupon_types(&mut tx, c).await?;
            commit(tx, change).await
        })
        .await
    }

    pub(super) async fn commerce_get_coupon(&self, id: CouponId) -> StoreResult<Coupon> {
        let row = sqlx::query(concat!(select_coupon!(), "where c.id = $1"))
            .bind(id.0)
            .fetch_optional(&self.pool)
            .await?
            .ok_or(StoreError::NotFound { entity: "coupon" })?;
        rows::coupon(&row)
    }

    pub(super) async fn commerce_coupon_by_code(
        &self,
        event_id: EventId,
        code: &str,
    ) -> StoreResult<Option<Coupon>> {
        sqlx::query(concat!(
            select_coupon!(),
            "where c.event_id = $1 and c.code = $2"
        ))
        .bind(event_id.0)
        .bind(code)
        .fetch_optional(&self.pool)
        .await?
        .as_ref()
        .map(rows::coupon)
        .transpose()
    }

    pub(super) async fn commerce_list_coupons(
        &self,
        event_id: EventId,
    ) -> StoreResult<Vec<Coupon>> {
        sqlx::query(concat!(
            select_coupon!(),
            r#"where c.event_id = $1 order by c.code collate "C", c.id"#
        ))
        .bind(event_id.0)
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(rows::coupon)
        .collect()
    }

    // ---- payments

    pub(super) async fn commerce_overdue_orders(
        &self,
        now: DateTime<Utc>,
        limit: u32,
    ) -> StoreResult<Vec<OrderId>> {
        // orders_payment_due holds exactly the pending orders, by due time.
        let ids: Vec<Uuid> = sqlx::query_scalar(
            "select id from orders
             where status = 'pending' and payment_due <= $1
             order by payment_due, id
             limit $2",
        )
        .bind(now)
        .bind(i64::from(limit.clamp(1, MAX_LIST)))
        .fetch_all(&self.pool)
        .await?;
        Ok(ids.into_iter().map(OrderId).collect())
    }

    pub(super) async fn commerce_record_payment(
        &self,
        order: &Order,
        expected_version: i64,
        change: &Change,
    ) -> StoreResult<()> {
        let o = order;
        retrying("record_payment", move || async move {
            let mut tx = self.begin().await?;
            let n = sqlx::query(
                "update orders set status = $2, payment_method = $3, paid_at = $4, paid_by = $5,
                     paid_device = $6, tendered_minor = $7, payment_note = $8,
                     payment_due = $9, updated_at = $10, version = $11
                 where id = $1 and version = $12",
            )
            .bind(o.id.0)
            .bind(o.status.as_str())
            .bind(o.payment_method.as_str())
            .bind(o.payment.paid_at)
            .bind(o.payment.paid_by.map(|u| u.0))
            .bind(o.payment.paid_device.map(|d| d.0))
            .bind(o.payment.tendered_minor)
            .bind(o.payment.note.as_deref())
            .bind(o.payment.due)
            .bind(o.meta.updated_at)
            .bind(o.meta.version)
            .bind(expected_version)
            .execute(&mut *tx)
            .await?
            .rows_affected();
            if n == 0 {
                return Err(stale_or_missing(&mut tx, "orders", "order", o.id.0).await);
            }
            commit(tx, change).await
        })
        .await
    }

    pub(super) async fn commerce_reinstate_order(&self, r: &Reinstatement) -> StoreResult<()> {
        self.stock_write(
            "reinstate_order",
            r.demand.iter().map(|d| d.0),
            move || async move {
                let mut tx = self.begin().await?;
                let o = &r.order;
                // The order row first, as a cancellation locks it: a cancellation or a second
                // payment of the same order queues here and is then told it changed. Its total
                // comes back with its tickets.
                let n = sqlx::query(
                    "update orders set status = $2, payment_method = $3, total_minor = $4,
                         payment_due = $5, paid_at = $6, paid_by = $7, paid_device = $8,
                         tendered_minor = $9, payment_note = $10, updated_at = $11,
                         version = $12
                     where id = $1 and version = $13",
                )
                .bind(o.id.0)
                .bind(o.status.as_str())
                .bind(o.payment_method.as_str())
                .bind(o.total.minor)
                .bind(o.payment.due)
                .bind(o.payment.paid_at)
                .bind(o.payment.paid_by.map(|u| u.0))
                .bind(o.payment.paid_device.map(|d| d.0))
                .bind(o.payment.tendered_minor)
                .bind(o.payment.note.as_deref())
                .bind(o.meta.updated_at)
                .bind(o.meta.version)
                .bind(r.expected_version)
                .execute(&mut *tx)
                .await?
                .rows_affected();
                if n == 0 {
                    return Err(stale_or_missing(&mut tx, "orders", "order", o.id.0).await);
                }
                let t = &r.tickets;
                let revived = if t.is_empty() {
                    0
                } else {
                    sqlx::query(
                        "update tickets t
                         set status = n.status, updated_at = n.updated_at, version = n.version
                         from unnest($2::uuid[], $3::text[], $4::timestamptz[], $5::int8[])
                             as n (id, status, updated_at, version)
                         where t.id = n.id and t.order_id = $1 and t.status = 'cancelled'",
                    )
                    .bind(o.id.0)
                    .bind(t.iter().map(|t| t.id.0).collect::<Vec<_>>())
                    .bind(t.iter().map(|t| t.status.as_str()).collect::<Vec<_>>())
                    .bind(t.iter().map(|t| t.meta.updated_at).collect::<Vec<_>>())
                    .bind(t.iter().map(|t| t.meta.version).collect::<Vec<_>>())
                    .execute(&mut *tx)
                    .await?
                    .rows_affected()
                };
                // Fewer rows than tickets: one is valid already, or not of this order.
                if revived != t.len() as u64 {
                    return Err(StoreError::Conflict {
                        constraint: "ticket_not_cancelled".into(),
                    });
                }
                // The use the order gave back when it expired, unless others took them all.
                if let Some(coupon) = o.coupon_id {
                    take_coupon_use(&mut tx, coupon).await?;
                }
                record_change(&mut tx, &r.change).await?;
                // Stock last: `SoldOut` if the units went to someone else meanwhile.
                let taken = StockMove {
                    sweep: Sweep::Event(o.event_id),
                    now: o.meta.updated_at,
                    settle: None,
                    take: &r.demand,
                };
                move_stock(&mut tx, taken).await?;
                tx.commit().await?;
                Ok(())
            },
        )
        .await
    }

    // ---- the waiting list

    pub(super) async fn commerce_add_waitlist(
        &self,
        entry: &WaitlistEntry,
        change: &Change,
    ) -> StoreResult<()> {
        let e = entry;
        retrying("add_waitlist", move || async move {
            let mut tx = self.begin().await?;
            sqlx::query(
                "insert into waitlist (id, event_id, ticket_type_id, name, email, phone, quantity,
                                       status, hold_id, offer_expires_at, order_id, created_by,
                                       created_at, updated_at, version)
                 values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)",
            )
            .bind(e.id.0)
            .bind(e.event_id.0)
            .bind(e.ticket_type_id.0)
            .bind(e.name.as_str())
            .bind(e.email.as_ref().map(|m| m.as_str()))
            .bind(e.phone.as_ref().map(|p| p.as_str()))
            .bind(i64::from(e.quantity))
            .bind(e.status.as_str())
            .bind(e.hold_id.map(|h| h.0))
            .bind(e.offer_expires_at)
            .bind(e.order_id.map(|o| o.0))
            .bind(e.created_by.0)
            .bind(e.meta.created_at)
            .bind(e.meta.updated_at)
            .bind(e.meta.version)
            .execute(&mut *tx)
            .await?;
            commit(tx, change).await
        })
        .await
    }

    pub(super) async fn commerce_get_waitlist_entry(
        &self,
        id: WaitlistId,
    ) -> StoreResult<WaitlistEntry> {
        let row = sqlx::query("select * from waitlist where id = $1")
            .bind(id.0)
            .fetch_optional(&self.pool)
            .await?
            .ok_or(StoreError::NotFound {
                entity: "waitlist entry",
            })?;
        rows::waitlist_entry(&row)
    }

    pub(super) async fn commerce_list_waitlist(
        &self,
        event_id: EventId,
    ) -> StoreResult<Vec<WaitlistEntry>> {
        sqlx::query("select * from waitlist where event_id = $1 order by created_at, id")
            .bind(event_id.0)
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(rows::waitlist_entry)
            .collect()
    }

    pub(super) async fn commerce_offer_waitlist(
        &self,
        entry: &WaitlistEntry,
        expected_version: i64,
        hold: &Hold,
        demand: &[(QuotaId, u32)],
        mail: Option<&MailMessage>,
        change: &Change,
    ) -> StoreResult<()> {
        let e = entry;
        self.stock_write(
            "offer_waitlist",
            demand.iter().map(|d| d.0),
            move || async move {
                let mut tx = self.begin().await?;
                // The hold's rows first: the entry names the hold.
                insert_hold(&mut tx, hold, demand).await?;
                set_waitlist_status(&mut tx, e, expected_version).await?;
                if let Some(mail) = mail {
                    insert_mail(&mut tx, mail).await?;
                }
                record_change(&mut tx, change).await?;
                // Stock last, as for any hold: `SoldOut` rolls all of it back.
                let taken = StockMove {
                    sweep: Sweep::Event(hold.event_id),
                    now: hold.meta.created_at,
                    settle: None,
                    take: demand,
                };
                move_stock(&mut tx, taken).await?;
                tx.commit().await?;
                Ok(())
            },
        )
        .await
    }

    pub(super) async fn commerce_update_waitlist(
        &self,
        entry: &WaitlistEntry,
        expected_version: i64,
        change: &Change,
    ) -> StoreResult<()> {
        let e = entry;
        // The quotas of the hold to give back are not known up front (as for `release_hold`).
        self.stock_write("update_waitlist", [], move || async move {
            let mut tx = self.begin().await?;
            // The entry first, then its hold, as a sale taking up the offer locks them: the
            // entry's row lock also keeps that sale from consuming the hold in between.
            let current: Option<(i64, Option<Uuid>)> = sqlx::query_as(
                "select version, hold_id from waitlist where id = $1 for no key update",
            )
            .bind(e.id.0)
            .fetch_optional(&mut *tx)
            .await?;
            let (version, stored_hold) = current.ok_or(StoreError::NotFound {
                entity: "waitlist entry",
            })?;
            if version != expected_version {
                return Err(StoreError::Stale {
                    entity: "waitlist entry",
                });
            }
            set_waitlist_status(&mut tx, e, expected_version).await?;
            if let Some(hold) = stored_hold {
                release_if_active(&mut tx, HoldId(hold), e.meta.updated_at).await?;
            }
            commit(tx, change).await
        })
        .await
    }

    // ---- cashier shifts

    pub(super) async fn commerce_open_shift(
        &self,
        shift: &Shift,
        change: &Change,
    ) -> StoreResult<()> {
        let s = shift;
        retrying("open_shift", move || async move {
            let mut tx = self.begin().await?;
            // A second open shift of the user fails on the unique index shifts_one_open.
            sqlx::query(
                "insert into shifts (id, user_id, device_id, currency, opened_at, float_minor,
                                     closed_at, expected_minor, counted_minor, difference_minor,
                                     note, created_at, updated_at, version)
                 values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)",
            )
            .bind(s.id.0)
            .bind(s.user_id.0)
            .bind(s.device_id.map(|d| d.0))
            .bind(s.currency.code())
            .bind(s.opened_at)
            .bind(s.float_minor)
            .bind(s.closed_at)
            .bind(s.expected_minor)
            .bind(s.counted_minor)
            .bind(s.difference_minor)
            .bind(s.note.as_deref())
            .bind(s.meta.created_at)
            .bind(s.meta.updated_at)
            .bind(s.meta.version)
            .execute(&mut *tx)
            .await?;
            commit(tx, change).await
        })
        .await
    }

    pub(super) async fn commerce_close_shift(
        &self,
        shift: &Shift,
        expected_version: i64,
        change: &Change,
    ) -> StoreResult<()> {
        let s = shift;
        retrying("close_shift", move || async move {
            let mut tx = self.begin().await?;
            let n = sqlx::query(
                "update shifts set closed_at = $2, expected_minor = $3, counted_minor = $4,
                     difference_minor = $5, note = $6, updated_at = $7, version = $8
                 where id = $1 and version = $9",
            )
            .bind(s.id.0)
            .bind(s.closed_at)
            .bind(s.expected_minor)
            .bind(s.counted_minor)
            .bind(s.difference_minor)
            .bind(s.note.as_deref())
            .bind(s.meta.updated_at)
            .bind(s.meta.version)
            .bind(expected_version)
            .execute(&mut *tx)
            .await?
            .rows_affected();
            if n == 0 {
                return Err(stale_or_missing(&mut tx, "shifts", "shift", s.id.0).await);
            }
            commit(tx, change).await
        })
        .await
    }

    pub(super) async fn commerce_open_shift_of(
        &self,
        user_id: UserId,
    ) -> StoreResult<Option<Shift>> {
        sqlx::query("select * from shifts where user_id = $1 and closed_at is null")
            .bind(user_id.0)
            .fetch_optional(&self.pool)
            .await?
            .as_ref()
            .map(rows::shift)
            .transpose()
    }

    pub(super) async fn commerce_list_shifts(
        &self,
        user_id: Option<UserId>,
        limit: u32,
    ) -> StoreResult<Vec<Shift>> {
        // One user's: a plain equality, so shifts_user serves it in every plan.
        let sql = match user_id {
            Some(_) => {
                "select * from shifts where user_id = $1
                 order by opened_at desc, id desc limit $2"
            }
            None => {
                "select * from shifts where $1::uuid is null
                 order by opened_at desc, id desc limit $2"
            }
        };
        sqlx::query(sql)
            .bind(user_id.map(|u| u.0))
            .bind(i64::from(limit.clamp(1, MAX_LIST)))
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(rows::shift)
            .collect()
    }

    // ---- outgoing mail

    pub(super) async fn commerce_enqueue_mail(
        &self,
        message: &MailMessage,
        change: &Change,
    ) -> StoreResult<()> {
        retrying("enqueue_mail", move || async move {
            let mut tx = self.begin().await?;
            insert_mail(&mut tx, message).await?;
            commit(tx, change).await
        })
        .await
    }

    pub(super) async fn commerce_due_mail(
        &self,
        now: DateTime<Utc>,
        limit: u32,
    ) -> StoreResult<Vec<MailMessage>> {
        // mail_queue_due holds exactly the queued messages, by next attempt.
        sqlx::query(
            "select * from mail_queue
             where status = 'queued' and next_attempt_at <= $1
             order by next_attempt_at, id
             limit $2",
        )
        .bind(now)
        .bind(i64::from(limit.clamp(1, MAX_LIST)))
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(rows::mail_message)
        .collect()
    }

    pub(super) async fn commerce_update_mail(
        &self,
        message: &MailMessage,
        expected_version: i64,
    ) -> StoreResult<bool> {
        let m = message;
        // One statement, so it is its own transaction. Two senders that picked the same
        // message both try; the version lets only the first one's outcome stand.
        retrying("update_mail", move || async move {
            let n = sqlx::query(
                "update mail_queue set status = $2, attempts = $3, next_attempt_at = $4,
                     last_error = $5, sent_at = $6, updated_at = $7, version = $8
                 where id = $1 and version = $9",
            )
            .bind(m.id.0)
            .bind(m.status.as_str())
            .bind(i64::from(m.attempts))
            .bind(m.next_attempt_at)
            .bind(m.last_error.as_deref())
            .bind(m.sent_at)
            .bind(m.meta.updated_at)
            .bind(m.meta.version)
            .bind(expected_version)
            .execute(&self.pool)
            .await?
            .rows_affected();
            Ok(n == 1)
        })
        .await
    }

    pub(super) async fn commerce_mail_of_order(
        &self,
        order_id: OrderId,
    ) -> StoreResult<Vec<MailMessage>> {
        // mail_queue_order finds them.
        sqlx::query("select * from mail_queue where order_id = $1 order by created_at, id")
            .bind(order_id.0)
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(rows::mail_message)
            .collect()
    }

    pub(super) async fn commerce_get_mail(&self, id: MailId) -> StoreResult<MailMessage> {
        let row = sqlx::query("select * from mail_queue where id = $1")
            .bind(id.0)
            .fetch_optional(&self.pool)
            .await?
            .ok_or(StoreError::NotFound { entity: "mail" })?;
        rows::mail_message(&row)
    }
}

/// Write an entry's status and offer fields (`entry` as it will be), if its version is still
/// `expected_version`.
async fn set_waitlist_status(
    conn: &mut PgConnection,
    e: &WaitlistEntry,
    expected_version: i64,
) -> StoreResult<()> {
    let n = sqlx::query(
        "update waitlist set status = $2, hold_id = $3, offer_expires_at = $4, order_id = $5,
             updated_at = $6, version = $7
         where id = $1 and version = $8",
    )
    .bind(e.id.0)
    .bind(e.status.as_str())
    .bind(e.hold_id.map(|h| h.0))
    .bind(e.offer_expires_at)
    .bind(e.order_id.map(|o| o.0))
    .bind(e.meta.updated_at)
    .bind(e.meta.version)
    .bind(expected_version)
    .execute(&mut *conn)
    .await?
    .rows_affected();
    if n == 0 {
        return Err(stale_or_missing(conn, "waitlist", "waitlist entry", e.id.0).await);
    }
    Ok(())
}

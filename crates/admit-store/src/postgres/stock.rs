//! Moving units in and out of quotas.
//!
//! Every stock change goes through one statement ([`MOVE_STOCK`]) that settles holds (expired
//! ones, and the one a sale consumes or a clerk releases) and takes the new demand. Doing it in
//! one statement keeps the quota rows locked for as short a time as possible (MEASURED.md: the
//! single-statement form is the fastest on PostgreSQL) and gives every writer the same lock
//! order: the holds it settles, by id, then the quotas it touches, by id. Writers that follow
//! one order queue behind each other instead of deadlocking.
//!
//! The quota update is conditional (`taken - released + wanted <= size`) and runs on the row
//! version current at lock time (READ COMMITTED re-checks it), so two buyers can never both
//! take the last unit; the `taken <= size` check in the schema stays as the last defence.

use chrono::{DateTime, Utc};
use sqlx::{PgConnection, Row};
use uuid::Uuid;

use admit_core::model::HoldStatus;
use admit_core::{EventId, HoldId, QuotaId};

use crate::{StoreError, StoreResult};

/// Which overdue holds to expire on the way.
#[derive(Debug, Clone, Copy)]
pub(super) enum Sweep {
    None,
    Event(EventId),
    All,
}

/// One stock change: what to settle and what to take.
#[derive(Debug, Clone, Copy)]
pub(super) struct StockMove<'a> {
    pub sweep: Sweep,
    /// Holds whose `expires_at` is at or before this are overdue; settled holds get it as
    /// their `updated_at`.
    pub now: DateTime<Utc>,
    /// An active hold to give back, with the status it ends in (consumed or released).
    pub settle: Option<(HoldId, HoldStatus)>,
    /// Units to take per quota.
    pub take: &'a [(QuotaId, u32)],
}

// $1 sweep at all; $2 the event swept (null: every event); $3 now; $4 the hold to settle
// (may be null) and $5 the status it ends in; $6/$7 the demand (quota ids, units).
//
// Postgres runs the CTEs of one statement against one snapshot and lets only `returning`
// output flow between them, so each step reads what the one before it hands on. `locked` sorts
// before it locks, and it needs all of `delta` (hence all of `due`) before it can sort: every
// hold lock is taken before the first quota lock, and quota locks follow in id order.
//
// The locks are `for no key update`, the mode an update of a non-key column takes anyway:
// `for update` would also wait for the key-share locks that inserting `ticket_quotas` and
// `hold_quotas` rows puts on the quotas they name, and two sales each holding one would
// deadlock.
const MOVE_STOCK: &str = "
with candidates as (
    select id from holds where id = $4 and status = 'active'
    union all
    -- holds_active_expiry finds these; when there are none, nothing below writes anything
    select id from holds
    where $1 and status = 'active' and expires_at <= $3
      and ($2::uuid is null or event_id = $2)
),
due as materialized (
    select h.id,
           case when $1 and h.expires_at <= $3 and ($2::uuid is null or h.event_id = $2)
                then 'expired' else $5::text end as status
    from holds h
    where h.id in (select id from candidates) and h.status = 'active'
    order by h.id
    for no key update of h
),
settled as (
    update holds h set status = d.status, updated_at = $3, version = h.version + 1
    from due d
    where h.id = d.id
),
delta as (
    -- per quota: units the settled holds give back and units the demand takes
    select quota_id, sum(released)::int8 as released, sum(wanted)::int8 as wanted
    from (
        select hq.quota_id, hq.quantity::int8 as released, 0::int8 as wanted
        from due d
        join hold_quotas hq on hq.hold_id = d.id
        union all
        select t.quota_id, 0, t.units
        from unnest($6::uuid[], $7::int8[]) as t (quota_id, units)
    ) as parts
    group by quota_id
),
locked as materialized (
    select q.id, d.released, d.wanted
    from quotas q
    join delta d on d.quota_id = q.id
    order by q.id
    for no key update of q
),
moved as (
    update quotas q set taken = q.taken - l.released + l.wanted
    from locked l
    where q.id = l.id and q.taken - l.released + l.wanted <= q.size
    returning q.id
),
short as (
    select d.quota_id, d.released
    from delta d
    where not exists (select 1 from moved m where m.id = d.quota_id)
)
select
    (select count(*) from due where status = 'expired') as expired,
    (select status from due where id = $4) as settled,
    array(select quota_id from short order by quota_id) as short_ids,
    array(select released from short order by quota_id) as short_released
";

/// Apply one stock change. Fails, leaving the caller to roll back, with `HoldNotActive` or
/// `NotFound` when the hold to settle is not active, and with `SoldOut` naming the first quota
/// (in demand order) that lacks units. Returns how many overdue holds it expired.
pub(super) async fn move_stock(conn: &mut PgConnection, m: StockMove<'_>) -> StoreResult<u32> {
    let (sweep, event) = match m.sweep {
        Sweep::None => (false, None),
        Sweep::Event(e) => (true, Some(e.0)),
        Sweep::All => (true, None),
    };
    let (quota_ids, units): (Vec<Uuid>, Vec<i64>) =
        m.take.iter().map(|(q, n)| (q.0, i64::from(*n))).unzip();
    let row = sqlx::query(MOVE_STOCK)
        .bind(sweep)
        .bind(event)
        .bind(m.now)
        .bind(m.settle.map(|(h, _)| h.0))
        .bind(m.settle.map(|(_, s)| s.as_str()))
        .bind(quota_ids)
        .bind(units)
        .fetch_one(&mut *conn)
        .await?;

    if let Some((hold_id, status)) = m.settle {
        let settled: Option<String> = row.try_get("settled")?;
        match settled.as_deref() {
            Some(s) if s == status.as_str() => {}
            // Overdue: the sweep expired it before it could be consumed.
            Some(s) => {
                return Err(StoreError::HoldNotActive {
                    status: s.to_string(),
                })
            }
            None => return Err(why_not_active(conn, hold_id).await),
        }
    }

    let short_ids: Vec<Uuid> = row.try_get("short_ids")?;
    let short_released: Vec<i64> = row.try_get("short_released")?;
    let first_short = m.take.iter().find_map(|(q, _)| {
        let i = short_ids.iter().position(|s| *s == q.0)?;
        Some((*q, short_released.get(i).copied().unwrap_or(0)))
    });
    if let Some((quota_id, released)) = first_short {
        return Err(sold_out(conn, quota_id, released).await);
    }

    let expired: i64 = row.try_get("expired")?;
    if expired > 0 {
        tracing::debug!(expired, "expired overdue holds");
    }
    Ok(u32::try_from(expired).unwrap_or(u32::MAX))
}

/// The hold to settle was not active when locked: say what it is instead.
async fn why_not_active(conn: &mut PgConnection, hold_id: HoldId) -> StoreError {
    let status: Result<Option<String>, _> =
        sqlx::query_scalar("select status from holds where id = $1")
            .bind(hold_id.0)
            .fetch_optional(&mut *conn)
            .await;
    match status {
        Ok(None) => StoreError::NotFound { entity: "hold" },
        // Only a hold committed after this statement's snapshot was taken reads as active
        // here; a fresh attempt sees it.
        Ok(Some(s)) if s == HoldStatus::Active.as_str() => StoreError::Busy,
        Ok(Some(s)) => StoreError::HoldNotActive { status: s },
        Err(e) => e.into(),
    }
}

/// Units this sale could have had from a quota that lacked them: what is free now plus what
/// the settled hold gave back. The quota is still locked, so the figure is current.
async fn sold_out(conn: &mut PgConnection, quota_id: QuotaId, released: i64) -> StoreError {
    let available: Result<Option<i64>, _> =
        sqlx::query_scalar("select size::int8 - taken::int8 + $2 from quotas where id = $1")
            .bind(quota_id.0)
            .bind(released)
            .fetch_optional(&mut *conn)
            .await;
    match available {
        Ok(Some(a)) => StoreError::SoldOut {
            quota_id,
            available: u32::try_from(a.max(0)).unwrap_or(u32::MAX),
        },
        Ok(None) => StoreError::NotFound { entity: "quota" },
        Err(e) => e.into(),
    }
}

/// Give units back per quota (a cancellation), locking the quotas in id order like every
/// other stock writer.
pub(super) async fn give_back(
    conn: &mut PgConnection,
    release: &[(QuotaId, u32)],
) -> StoreResult<()> {
    if release.is_empty() {
        return Ok(());
    }
    let (quota_ids, units): (Vec<Uuid>, Vec<i64>) =
        release.iter().map(|(q, n)| (q.0, i64::from(*n))).unzip();
    sqlx::query(
        "with back as (
             select quota_id, sum(units)::int8 as units
             from unnest($1::uuid[], $2::int8[]) as r (quota_id, units)
             group by quota_id
         ),
         locked as materialized (
             select q.id, b.units
             from quotas q
             join back b on b.quota_id = q.id
             order by q.id
             for no key update of q
         )
         update quotas q set taken = q.taken - l.units
         from locked l
         where q.id = l.id",
    )
    .bind(quota_ids)
    .bind(units)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

//! The door on PostgreSQL: event keys, ticket secrets, revocation and block lists, check-in
//! lists and scans.
//!
//! A redeem is one transaction. Scans of one ticket queue on a transaction-level advisory lock
//! keyed by the ticket id, taken in its own statement before anything is read: at READ
//! COMMITTED every statement sees what was committed before it started, so the history read
//! after the lock includes the scan of whoever held it last. Two doors scanning the same
//! single-entry ticket therefore decide one after the other, and exactly one is admitted.

use sqlx::types::Json;
use sqlx::{PgConnection, Row};

use admit_core::audit::Change;
use admit_core::checkin::CheckinList;
use admit_core::model::Event;
use admit_core::secret::KeyId;
use admit_core::*;

use super::rows::{self, int4};
use super::{commit, retrying, stale_or_missing, PgStore, MAX_LIST};
use crate::{
    Block, Decide, EventKey, IssuedSecret, Revocation, ScanAttempt, ScanContext, ScanOutcome,
    ScanRecord, ScanResolution, StoreError, StoreResult,
};

/// Insert revocations, keeping the ones already listed (the first reason and time stand).
pub(super) async fn insert_revocations(
    conn: &mut PgConnection,
    revocations: &[Revocation],
) -> StoreResult<()> {
    if revocations.is_empty() {
        return Ok(());
    }
    let r = revocations;
    sqlx::query(
        "insert into revocations (event_id, fingerprint, ticket_id, reason, at)
         select * from unnest($1::uuid[], $2::bytea[], $3::uuid[], $4::text[],
                              $5::timestamptz[])
         on conflict do nothing",
    )
    .bind(r.iter().map(|r| r.event_id.0).collect::<Vec<_>>())
    .bind(r.iter().map(|r| &r.fingerprint.0[..]).collect::<Vec<_>>())
    .bind(r.iter().map(|r| r.ticket_id.0).collect::<Vec<_>>())
    .bind(r.iter().map(|r| r.reason.as_str()).collect::<Vec<_>>())
    .bind(r.iter().map(|r| r.at).collect::<Vec<_>>())
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// A list's settings in column form, checked for what an `integer` column holds.
struct ListColumns<'a> {
    admitted: Json<&'a checkin::AdmittedTypes>,
    gates: Json<Vec<&'a str>>,
    max_entries_total: Option<i32>,
    max_entries_per_day: Option<i32>,
}

impl<'a> ListColumns<'a> {
    fn of(list: &'a CheckinList) -> StoreResult<Self> {
        Ok(ListColumns {
            admitted: Json(&list.admitted),
            gates: Json(list.gates.iter().map(|g| g.as_str()).collect()),
            max_entries_total: list
                .max_entries_total
                .map(|n| int4("max_entries_total", n))
                .transpose()?,
            max_entries_per_day: list
                .max_entries_per_day
                .map(|n| int4("max_entries_per_day", n))
                .transpose()?,
        })
    }
}

/// The scan as it goes to sync: the same record as [`Store::list_scans`] returns, so both
/// backends queue the same payload.
///
/// [`Store::list_scans`]: crate::Store::list_scans
pub(super) fn scan_payload(
    a: &ScanAttempt,
    res: &ScanResolution,
    raw: Option<&str>,
) -> StoreResult<serde_json::Value> {
    let record = ScanRecord {
        id: a.id,
        nonce: a.nonce.clone(),
        list_id: a.list_id,
        ticket_id: a.ticket_id,
        direction: a.direction,
        device_id: a.device_id,
        gate: a.gate.clone(),
        at: a.at,
        verdict: res.verdict,
        counted: res.counted,
        forced: res.forced,
        raw: raw.map(str::to_string),
    };
    serde_json::to_value(record).map_err(|e| StoreError::Other(format!("scan record: {e}")))
}

async fn stored_answer(conn: &mut PgConnection, nonce: &str) -> StoreResult<serde_json::Value> {
    sqlx::query_scalar("select answer from scans where nonce = $1")
        .bind(nonce)
        .fetch_optional(&mut *conn)
        .await?
        .ok_or_else(|| StoreError::Other(format!("scan with nonce {nonce:?} vanished")))
}

/// One attempt at a redeem, in its own transaction.
async fn redeem_once(
    store: &PgStore,
    a: &ScanAttempt,
    decide: &Decide,
) -> StoreResult<ScanOutcome> {
    let mut tx = store.begin().await?;
    if let Some(ticket) = a.ticket_id {
        sqlx::query("select pg_advisory_xact_lock(hashtextextended($1::text, 0))")
            .bind(ticket.0)
            .execute(&mut *tx)
            .await?;
    }
    // The nonce, the ticket row, the revocation and block lists and the history in one round
    // trip: a door waits for every one of them. Without a verified ticket there is nothing to
    // look up (as on SQLite): no row, not revoked, not blocked, no history.
    let row = sqlx::query(
        "select (select answer from scans where nonce = $4) as prior_answer,
                t.ticket_type_id, t.status as ticket_status, o.status as order_status,
                t.attendee_name, tt.name as ticket_type_name, o.code as order_code,
                exists (select 1 from revocations r
                        where r.event_id = $2 and r.fingerprint = $3) as revoked,
                exists (select 1 from blocks b
                        where b.event_id = $2 and b.ticket_id = $1) as blocked,
                h.history_at, h.history_direction, h.history_gate
         from (select 1) as one
         left join tickets t on t.id = $1
         left join orders o on o.id = t.order_id
         left join ticket_types tt on tt.id = t.ticket_type_id
         cross join lateral (
             select coalesce(array_agg(s.at order by s.at, s.id), '{}') as history_at,
                    coalesce(array_agg(s.direction order by s.at, s.id), '{}')
                        as history_direction,
                    coalesce(array_agg(s.gate order by s.at, s.id), '{}') as history_gate
             from scans s
             where s.ticket_id = $1 and s.list_id = $5 and s.counted
         ) as h",
    )
    .bind(a.ticket_id.map(|t| t.0))
    .bind(a.event_id.0)
    .bind(a.ticket_id.and(a.fingerprint).map(|f| f.0.to_vec()))
    .bind(&a.nonce)
    .bind(a.list_id.0)
    .fetch_one(&mut *tx)
    .await?;
    if let Some(answer) = row.try_get::<Option<serde_json::Value>, _>("prior_answer")? {
        // Commit rather than drop: it releases the ticket lock now, not when the connection
        // is next used.
        tx.commit().await?;
        return Ok(ScanOutcome {
            answer,
            duplicate: true,
        });
    }
    let ctx = ScanContext {
        ticket: rows::ticket_view(&row)?,
        revoked: row.try_get("revoked")?,
        blocked: row.try_get("blocked")?,
        history: rows::history(&row)?,
    };
    let res = decide(&ctx);
    let raw = if res.counted { None } else { a.raw.as_deref() };
    // The outbox row hangs off the insert, so a nonce that lost the race queues nothing.
    let inserted = sqlx::query(
        "with s as (
             insert into scans (id, nonce, list_id, event_id, ticket_id, direction, device_id,
                                gate, user_id, at, recorded_at, verdict, explanation, counted,
                                forced, raw, answer)
             values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16,
                     $17)
             on conflict (nonce) do nothing
             returning id
         )
         insert into outbox (id, at, entity, entity_id, version, payload)
         select $18, $11, 'scan', s.id, 1, $19 from s",
    )
    .bind(a.id.0)
    .bind(&a.nonce)
    .bind(a.list_id.0)
    .bind(a.event_id.0)
    .bind(a.ticket_id.map(|t| t.0))
    .bind(a.direction.as_str())
    .bind(a.device_id.map(|d| d.0))
    .bind(a.gate.as_deref())
    .bind(a.user_id.map(|u| u.0))
    .bind(a.at)
    .bind(a.recorded_at)
    .bind(res.verdict.as_str())
    .bind(&res.explanation)
    .bind(res.counted)
    .bind(res.forced)
    .bind(raw)
    .bind(&res.answer)
    .bind(uuid_v7_at(a.recorded_at))
    .bind(scan_payload(a, &res, raw)?)
    .execute(&mut *tx)
    .await?
    .rows_affected();
    if inserted == 0 {
        // The same nonce committed meanwhile (possible when there was no ticket to lock on,
        // e.g. a secret that did not verify): that scan's answer stands.
        let answer = stored_answer(&mut tx, &a.nonce).await?;
        tx.commit().await?;
        return Ok(ScanOutcome {
            answer,
            duplicate: true,
        });
    }
    tx.commit().await?;
    Ok(ScanOutcome {
        answer: res.answer,
        duplicate: false,
    })
}

impl PgStore {
    pub(super) async fn door_put_event_key(
        &self,
        key: &EventKey,
        secret: Option<[u8; 32]>,
        change: &Change,
    ) -> StoreResult<()> {
        let key_id = i32::from(key.key_id.0);
        let public = key.public_key.to_bytes();
        retrying("put_event_key", move || async move {
            let mut tx = self.begin().await?;
            // The public half never changes under a key id; only retirement and meta move.
            // Retirement sticks: a stale copy of the key (an old door package, a late sync)
            // must not bring a withdrawn key back.
            sqlx::query(
                "with k as (
                     insert into event_keys (event_id, key_id, public_key, retired,
                                             created_at, updated_at, version)
                     values ($1, $2, $3, $4, $5, $6, $7)
                     on conflict (event_id, key_id) do update
                     set retired = event_keys.retired or excluded.retired, updated_at = excluded.updated_at,
                         version = excluded.version
                 )
                 insert into event_signing_keys (event_id, key_id, secret_key)
                 select $1, $2, $8 where $8::bytea is not null
                 on conflict do nothing",
            )
            .bind(key.event_id.0)
            .bind(key_id)
            .bind(&public[..])
            .bind(key.retired)
            .bind(key.meta.created_at)
            .bind(key.meta.updated_at)
            .bind(key.meta.version)
            .bind(secret.as_ref().map(|s| &s[..]))
            .execute(&mut *tx)
            .await?;
            commit(tx, change).await
        })
        .await
    }

    pub(super) async fn door_event_keys(&self, event_id: EventId) -> StoreResult<Vec<EventKey>> {
        sqlx::query("select * from event_keys where event_id = $1 order by key_id")
            .bind(event_id.0)
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(rows::event_key)
            .collect()
    }

    pub(super) async fn door_signing_key(
        &self,
        event_id: EventId,
    ) -> StoreResult<Option<(KeyId, [u8; 32])>> {
        sqlx::query(
            "select k.key_id, s.secret_key
             from event_keys k
             join event_signing_keys s on s.event_id = k.event_id and s.key_id = k.key_id
             where k.event_id = $1 and not k.retired
             order by k.key_id desc
             limit 1",
        )
        .bind(event_id.0)
        .fetch_optional(&self.pool)
        .await?
        .as_ref()
        .map(rows::signing_key)
        .transpose()
    }

    pub(super) async fn door_ticket_secret(
        &self,
        ticket_id: TicketId,
    ) -> StoreResult<Option<IssuedSecret>> {
        sqlx::query("select * from ticket_secrets where ticket_id = $1")
            .bind(ticket_id.0)
            .fetch_optional(&self.pool)
            .await?
            .as_ref()
            .map(rows::issued_secret)
            .transpose()
    }

    pub(super) async fn door_put_ticket_secret(
        &self,
        issued: &IssuedSecret,
        revoke: Option<&Revocation>,
        change: &Change,
    ) -> StoreResult<()> {
        let s = issued;
        let key_id = i32::from(s.key_id.0);
        retrying("put_ticket_secret", move || async move {
            let mut tx = self.begin().await?;
            let q = match revoke {
                // A first issue must not overwrite a secret someone else printed meanwhile.
                None => sqlx::query(
                    "insert into ticket_secrets (ticket_id, event_id, secret, fingerprint, key_id,
                                                 issued_at)
                     values ($1, $2, $3, $4, $5, $6)
                     on conflict (ticket_id) do nothing",
                ),
                Some(_) => sqlx::query(
                    "insert into ticket_secrets (ticket_id, event_id, secret, fingerprint, key_id,
                                                 issued_at)
                     values ($1, $2, $3, $4, $5, $6)
                     on conflict (ticket_id) do update
                     set secret = excluded.secret, fingerprint = excluded.fingerprint,
                         key_id = excluded.key_id, issued_at = excluded.issued_at",
                ),
            };
            let n = q
                .bind(s.ticket_id.0)
                .bind(s.event_id.0)
                .bind(&s.secret)
                .bind(&s.fingerprint.0[..])
                .bind(key_id)
                .bind(s.issued_at)
                .execute(&mut *tx)
                .await?
                .rows_affected();
            if n == 0 {
                return Err(StoreError::Conflict {
                    constraint: "ticket_secret_exists".into(),
                });
            }
            if let Some(r) = revoke {
                insert_revocations(&mut tx, std::slice::from_ref(r)).await?;
            }
            commit(tx, change).await
        })
        .await
    }

    pub(super) async fn door_add_revocations(
        &self,
        revocations: &[Revocation],
        change: &Change,
    ) -> StoreResult<()> {
        retrying("add_revocations", move || async move {
            let mut tx = self.begin().await?;
            insert_revocations(&mut tx, revocations).await?;
            commit(tx, change).await
        })
        .await
    }

    pub(super) async fn door_revocations(&self, event_id: EventId) -> StoreResult<Vec<Revocation>> {
        sqlx::query("select * from revocations where event_id = $1 order by at, fingerprint")
            .bind(event_id.0)
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(rows::revocation)
            .collect()
    }

    pub(super) async fn door_set_block(
        &self,
        event_id: EventId,
        ticket_id: TicketId,
        block: Option<&Block>,
        change: &Change,
    ) -> StoreResult<()> {
        retrying("set_block", move || async move {
            let mut tx = self.begin().await?;
            match block {
                Some(b) => {
                    sqlx::query(
                        "insert into blocks (event_id, ticket_id, reason, at)
                         values ($1, $2, $3, $4)
                         on conflict (event_id, ticket_id) do update
                         set reason = excluded.reason, at = excluded.at",
                    )
                    .bind(event_id.0)
                    .bind(ticket_id.0)
                    .bind(&b.reason)
                    .bind(b.at)
                    .execute(&mut *tx)
                    .await?;
                }
                None => {
                    sqlx::query("delete from blocks where event_id = $1 and ticket_id = $2")
                        .bind(event_id.0)
                        .bind(ticket_id.0)
                        .execute(&mut *tx)
                        .await?;
                }
            }
            commit(tx, change).await
        })
        .await
    }

    pub(super) async fn door_blocks(&self, event_id: EventId) -> StoreResult<Vec<Block>> {
        sqlx::query("select * from blocks where event_id = $1 order by at, ticket_id")
            .bind(event_id.0)
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(rows::block)
            .collect()
    }

    /// Insert a list; with `only_if_newer`, an existing row is overwritten when it is older
    /// than `list` and kept otherwise (imports).
    async fn write_checkin_list(
        &self,
        what: &'static str,
        list: &CheckinList,
        only_if_newer: bool,
        change: &Change,
    ) -> StoreResult<()> {
        let c = ListColumns::of(list)?;
        let sql = if only_if_newer {
            "insert into checkin_lists (id, event_id, name, admitted, admit_pending,
                 allow_multi_entry, allow_entry_after_exit, admission_opens, admission_closes,
                 max_entries_total, max_entries_per_day, gates, created_at, updated_at, version)
             values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)
             on conflict (id) do update
             set name = excluded.name,
                 admitted = excluded.admitted, admit_pending = excluded.admit_pending,
                 allow_multi_entry = excluded.allow_multi_entry,
                 allow_entry_after_exit = excluded.allow_entry_after_exit,
                 admission_opens = excluded.admission_opens,
                 admission_closes = excluded.admission_closes,
                 max_entries_total = excluded.max_entries_total,
                 max_entries_per_day = excluded.max_entries_per_day,
                 gates = excluded.gates, updated_at = excluded.updated_at, version = excluded.version
             where checkin_lists.version < excluded.version"
        } else {
            "insert into checkin_lists (id, event_id, name, admitted, admit_pending,
                 allow_multi_entry, allow_entry_after_exit, admission_opens, admission_closes,
                 max_entries_total, max_entries_per_day, gates, created_at, updated_at, version)
             values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)"
        };
        let c = &c;
        retrying(what, move || async move {
            let mut tx = self.begin().await?;
            sqlx::query(sql)
                .bind(list.id.0)
                .bind(list.event_id.0)
                .bind(list.name.as_str())
                .bind(c.admitted)
                .bind(list.admit_pending)
                .bind(list.allow_multi_entry)
                .bind(list.allow_entry_after_exit)
                .bind(list.admission_opens)
                .bind(list.admission_closes)
                .bind(c.max_entries_total)
                .bind(c.max_entries_per_day)
                .bind(&c.gates)
                .bind(list.meta.created_at)
                .bind(list.meta.updated_at)
                .bind(list.meta.version)
                .execute(&mut *tx)
                .await?;
            commit(tx, change).await
        })
        .await
    }

    pub(super) async fn door_create_checkin_list(
        &self,
        list: &CheckinList,
        change: &Change,
    ) -> StoreResult<()> {
        self.write_checkin_list("create_checkin_list", list, false, change)
            .await
    }

    pub(super) async fn door_import_checkin_list(
        &self,
        list: &CheckinList,
        change: &Change,
    ) -> StoreResult<()> {
        self.write_checkin_list("import_checkin_list", list, true, change)
            .await
    }

    pub(super) async fn door_update_checkin_list(
        &self,
        list: &CheckinList,
        expected_version: i64,
        change: &Change,
    ) -> StoreResult<()> {
        let c = &ListColumns::of(list)?;
        retrying("update_checkin_list", move || async move {
            let mut tx = self.begin().await?;
            let n = sqlx::query(
                "update checkin_lists set name = $2, admitted = $3, admit_pending = $4,
                     allow_multi_entry = $5, allow_entry_after_exit = $6, admission_opens = $7,
                     admission_closes = $8, max_entries_total = $9, max_entries_per_day = $10,
                     gates = $11, updated_at = $12, version = $13
                 where id = $1 and version = $14",
            )
            .bind(list.id.0)
            .bind(list.name.as_str())
            .bind(c.admitted)
            .bind(list.admit_pending)
            .bind(list.allow_multi_entry)
            .bind(list.allow_entry_after_exit)
            .bind(list.admission_opens)
            .bind(list.admission_closes)
            .bind(c.max_entries_total)
            .bind(c.max_entries_per_day)
            .bind(&c.gates)
            .bind(list.meta.updated_at)
            .bind(list.meta.version)
            .bind(expected_version)
            .execute(&mut *tx)
            .await?
            .rows_affected();
            if n == 0 {
                return Err(
                    stale_or_missing(&mut tx, "checkin_lists", "checkin list", list.id.0).await,
                );
            }
            commit(tx, change).await
        })
        .await
    }

    pub(super) async fn door_get_checkin_list(
        &self,
        id: CheckinListId,
    ) -> StoreResult<CheckinList> {
        let row = sqlx::query("select * from checkin_lists where id = $1")
            .bind(id.0)
            .fetch_optional(&self.pool)
            .await?
            .ok_or(StoreError::NotFound {
                entity: "checkin list",
            })?;
        rows::checkin_list(&row)
    }

    pub(super) async fn door_list_checkin_lists(
        &self,
        event_id: EventId,
    ) -> StoreResult<Vec<CheckinList>> {
        sqlx::query(
            r#"select * from checkin_lists where event_id = $1
               order by name collate "C", id"#,
        )
        .bind(event_id.0)
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(rows::checkin_list)
        .collect()
    }

    pub(super) async fn door_import_event(
        &self,
        event: &Event,
        change: &Change,
    ) -> StoreResult<()> {
        retrying("import_event", move || async move {
            let mut tx = self.begin().await?;
            // Categories are not part of a door package: the event keeps its category only
            // where this store knows it, and an unknown one must not fail the import.
            sqlx::query(
                "insert into events (id, name, description, venue, starts_at, ends_at, time_zone,
                                     status, category_id, created_at, updated_at, version)
                 values ($1, $2, $3, $4, $5, $6, $7, $8,
                         (select id from categories where id = $9), $10, $11, $12)
                 on conflict (id) do update
                 set name = excluded.name, description = excluded.description,
                     venue = excluded.venue, starts_at = excluded.starts_at,
                     ends_at = excluded.ends_at, time_zone = excluded.time_zone,
                     status = excluded.status,
                     category_id = coalesce(excluded.category_id, events.category_id),
                     updated_at = excluded.updated_at, version = excluded.version
                 where events.version < excluded.version",
            )
            .bind(event.id.0)
            .bind(event.name.as_str())
            .bind(event.description.as_str())
            .bind(event.venue.as_str())
            .bind(event.starts_at)
            .bind(event.ends_at)
            .bind(event.time_zone.name())
            .bind(event.status.as_str())
            .bind(event.category_id.map(|c| c.0))
            .bind(event.meta.created_at)
            .bind(event.meta.updated_at)
            .bind(event.meta.version)
            .execute(&mut *tx)
            .await?;
            commit(tx, change).await
        })
        .await
    }

    pub(super) async fn door_redeem(
        &self,
        attempt: &ScanAttempt,
        decide: Decide,
    ) -> StoreResult<ScanOutcome> {
        let decide = &decide;
        retrying("redeem", move || redeem_once(self, attempt, decide)).await
    }

    pub(super) async fn door_list_scans(
        &self,
        list_id: CheckinListId,
        ticket_id: Option<TicketId>,
        limit: u32,
    ) -> StoreResult<Vec<ScanRecord>> {
        sqlx::query(
            "select * from scans
             where list_id = $1 and ($2::uuid is null or ticket_id = $2)
             order by at desc, recorded_at desc, id desc
             limit $3",
        )
        .bind(list_id.0)
        .bind(ticket_id.map(|t| t.0))
        .bind(i64::from(limit.clamp(1, MAX_LIST)))
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(rows::scan_record)
        .collect()
    }

    pub(super) async fn door_checkin_counts(
        &self,
        list_id: CheckinListId,
    ) -> StoreResult<(u64, u64)> {
        // Same-instant scans of one ticket are ordered by recording time so "inside" has one
        // answer.
        let (admitted, inside): (i64, i64) = sqlx::query_as(
            "with counted as (
                 select ticket_id, direction, at, recorded_at, id from scans
                 where list_id = $1 and counted and ticket_id is not null
             ),
             latest as (
                 select distinct on (ticket_id) direction from counted
                 order by ticket_id, at desc, recorded_at desc, id desc
             )
             select (select count(distinct ticket_id) from counted where direction = 'entry'),
                    (select count(*) from latest where direction = 'entry')",
        )
        .bind(list_id.0)
        .fetch_one(&self.pool)
        .await?;
        Ok((admitted.max(0) as u64, inside.max(0) as u64))
    }
}

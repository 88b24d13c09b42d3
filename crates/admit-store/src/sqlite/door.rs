//! The door on SQLite: keys, secrets, revocation and block lists, check-in lists and scans.
//! Every write runs in the single writer, which is what serialises scans of one ticket.

use rusqlite::{params, Connection};
use sqlx::sqlite::{SqlitePool, SqliteRow};
use sqlx::Row;
use uuid::Uuid;

use admit_core::audit::Change;
use admit_core::checkin::{AdmittedTypes, CheckinList, Direction, PriorScan, TicketState, Verdict};
use admit_core::model::*;
use admit_core::secret::{KeyId, PublicKey, SecretFingerprint};
use admit_core::text::Name;
use admit_core::*;

use super::{corrupt, dom, from_us, meta, opt_from_us, stale_or_missing, us, write_change};
use crate::{
    Block, Decide, EventKey, IssuedSecret, Revocation, ScanAttempt, ScanContext, ScanOutcome,
    ScanRecord, StoreError, StoreResult, TicketView,
};

fn fingerprint(bytes: Vec<u8>) -> StoreResult<SecretFingerprint> {
    let arr: [u8; 16] = bytes
        .try_into()
        .map_err(|_| corrupt("fingerprint length"))?;
    Ok(SecretFingerprint(arr))
}

fn key_id(v: i64) -> StoreResult<KeyId> {
    u16::try_from(v)
        .map(KeyId)
        .map_err(|_| corrupt("key id out of range"))
}

pub(super) fn event_key_from(row: &SqliteRow) -> StoreResult<EventKey> {
    let pk: Vec<u8> = row.try_get("public_key")?;
    Ok(EventKey {
        event_id: EventId(row.try_get("event_id")?),
        key_id: key_id(row.try_get("key_id")?)?,
        public_key: dom(PublicKey::from_bytes("public_key", &pk))?,
        retired: row.try_get("retired")?,
        meta: meta(row)?,
    })
}

pub(super) fn put_event_key(
    c: &Connection,
    k: &EventKey,
    secret: Option<[u8; 32]>,
    change: &Change,
) -> StoreResult<()> {
    c.prepare_cached(
        "insert into event_keys (event_id, key_id, public_key, retired, created_at, updated_at, version)
         values (?1, ?2, ?3, ?4, ?5, ?6, ?7)
         on conflict (event_id, key_id) do update
         set retired = max(event_keys.retired, excluded.retired), updated_at = excluded.updated_at, version = excluded.version",
    )?
    .execute(params![
        k.event_id.0,
        k.key_id.0 as i64,
        k.public_key.to_bytes().to_vec(),
        k.retired,
        us(k.meta.created_at),
        us(k.meta.updated_at),
        k.meta.version,
    ])?;
    if let Some(secret) = secret {
        c.prepare_cached(
            "insert into event_signing_keys (event_id, key_id, secret_key) values (?1, ?2, ?3)
             on conflict do nothing",
        )?
        .execute(params![k.event_id.0, k.key_id.0 as i64, secret.to_vec()])?;
    }
    write_change(c, change)
}

pub(super) async fn signing_key(
    pool: &SqlitePool,
    event_id: EventId,
) -> StoreResult<Option<(KeyId, [u8; 32])>> {
    let row = sqlx::query(
        "select k.key_id, s.secret_key from event_keys k
         join event_signing_keys s on s.event_id = k.event_id and s.key_id = k.key_id
         where k.event_id = $1 and not k.retired
         order by k.key_id desc limit 1",
    )
    .bind(event_id.0)
    .fetch_optional(pool)
    .await?;
    row.map(|r| {
        let secret: Vec<u8> = r.try_get("secret_key")?;
        let secret: [u8; 32] = secret
            .try_into()
            .map_err(|_| corrupt("secret key length"))?;
        Ok((key_id(r.try_get("key_id")?)?, secret))
    })
    .transpose()
}

pub(super) fn issued_from(row: &SqliteRow) -> StoreResult<IssuedSecret> {
    Ok(IssuedSecret {
        ticket_id: TicketId(row.try_get("ticket_id")?),
        event_id: EventId(row.try_get("event_id")?),
        secret: row.try_get("secret")?,
        fingerprint: fingerprint(row.try_get("fingerprint")?)?,
        key_id: key_id(row.try_get("key_id")?)?,
        issued_at: from_us(row.try_get("issued_at")?)?,
    })
}

pub(super) fn insert_revocations(c: &Connection, revs: &[Revocation]) -> StoreResult<()> {
    if revs.is_empty() {
        return Ok(());
    }
    let mut st = c.prepare_cached(
        "insert into revocations (event_id, fingerprint, ticket_id, reason, at)
         values (?1, ?2, ?3, ?4, ?5) on conflict do nothing",
    )?;
    for r in revs {
        st.execute(params![
            r.event_id.0,
            r.fingerprint.0.to_vec(),
            r.ticket_id.0,
            r.reason,
            us(r.at),
        ])?;
    }
    Ok(())
}

pub(super) fn put_ticket_secret(
    c: &Connection,
    s: &IssuedSecret,
    revoke: Option<&Revocation>,
    change: &Change,
) -> StoreResult<()> {
    let sql = if revoke.is_some() {
        "insert into ticket_secrets (ticket_id, event_id, secret, fingerprint, key_id, issued_at)
         values (?1, ?2, ?3, ?4, ?5, ?6)
         on conflict (ticket_id) do update set secret = excluded.secret,
             fingerprint = excluded.fingerprint, key_id = excluded.key_id, issued_at = excluded.issued_at"
    } else {
        "insert into ticket_secrets (ticket_id, event_id, secret, fingerprint, key_id, issued_at)
         values (?1, ?2, ?3, ?4, ?5, ?6)"
    };
    if let Some(r) = revoke {
        insert_revocations(c, std::slice::from_ref(r))?;
    }
    c.prepare_cached(sql)?
        .execute(params![
            s.ticket_id.0,
            s.event_id.0,
            s.secret,
            s.fingerprint.0.to_vec(),
            s.key_id.0 as i64,
            us(s.issued_at),
        ])
        .map_err(|e| match StoreError::from(e) {
            StoreError::Conflict { constraint } if constraint.contains("ticket_id") => {
                StoreError::Conflict {
                    constraint: "ticket_secret_exists".into(),
                }
            }
            other => other,
        })?;
    write_change(c, change)
}

pub(super) fn revocation_from(r: &SqliteRow) -> StoreResult<Revocation> {
    Ok(Revocation {
        event_id: EventId(r.try_get("event_id")?),
        fingerprint: fingerprint(r.try_get("fingerprint")?)?,
        ticket_id: TicketId(r.try_get("ticket_id")?),
        reason: r.try_get("reason")?,
        at: from_us(r.try_get("at")?)?,
    })
}

pub(super) fn block_from(r: &SqliteRow) -> StoreResult<Block> {
    Ok(Block {
        event_id: EventId(r.try_get("event_id")?),
        ticket_id: TicketId(r.try_get("ticket_id")?),
        reason: r.try_get("reason")?,
        at: from_us(r.try_get("at")?)?,
    })
}

pub(super) fn set_block(
    c: &Connection,
    event_id: EventId,
    ticket_id: TicketId,
    block: Option<&Block>,
    change: &Change,
) -> StoreResult<()> {
    match block {
        Some(b) => {
            c.prepare_cached(
                "insert into blocks (event_id, ticket_id, reason, at) values (?1, ?2, ?3, ?4)
                 on conflict (event_id, ticket_id) do update set reason = excluded.reason, at = excluded.at",
            )?
            .execute(params![event_id.0, ticket_id.0, b.reason, us(b.at)])?;
        }
        None => {
            c.prepare_cached("delete from blocks where event_id = ?1 and ticket_id = ?2")?
                .execute(params![event_id.0, ticket_id.0])?;
        }
    }
    write_change(c, change)
}

pub(super) fn list_from(row: &SqliteRow) -> StoreResult<CheckinList> {
    let admitted: AdmittedTypes =
        serde_json::from_str(row.try_get("admitted")?).map_err(corrupt)?;
    let gates: Vec<String> = serde_json::from_str(row.try_get("gates")?).map_err(corrupt)?;
    Ok(CheckinList {
        id: CheckinListId(row.try_get("id")?),
        event_id: EventId(row.try_get("event_id")?),
        name: dom(Name::parse("name", row.try_get("name")?))?,
        admitted,
        admit_pending: row.try_get("admit_pending")?,
        allow_multi_entry: row.try_get("allow_multi_entry")?,
        allow_entry_after_exit: row.try_get("allow_entry_after_exit")?,
        admission_opens: opt_from_us(row.try_get("admission_opens")?)?,
        admission_closes: opt_from_us(row.try_get("admission_closes")?)?,
        max_entries_total: row
            .try_get::<Option<i64>, _>("max_entries_total")?
            .map(|v| v as u32),
        max_entries_per_day: row
            .try_get::<Option<i64>, _>("max_entries_per_day")?
            .map(|v| v as u32),
        gates: gates
            .iter()
            .map(|g| dom(Name::parse("gates", g)))
            .collect::<StoreResult<_>>()?,
        meta: meta(row)?,
    })
}

fn list_json(l: &CheckinList) -> (String, String) {
    let gates: Vec<&str> = l.gates.iter().map(Name::as_str).collect();
    (
        serde_json::to_string(&l.admitted).expect("serialisable"),
        serde_json::to_string(&gates).expect("serialisable"),
    )
}

/// Insert a list; with `only_if_newer`, an existing row is overwritten only by a higher version.
pub(super) fn upsert_list(
    c: &Connection,
    l: &CheckinList,
    only_if_newer: bool,
    change: &Change,
) -> StoreResult<()> {
    let (admitted, gates) = list_json(l);
    let conflict = if only_if_newer {
        "on conflict (id) do update set name = excluded.name, admitted = excluded.admitted,
             admit_pending = excluded.admit_pending, allow_multi_entry = excluded.allow_multi_entry,
             allow_entry_after_exit = excluded.allow_entry_after_exit,
             admission_opens = excluded.admission_opens, admission_closes = excluded.admission_closes,
             max_entries_total = excluded.max_entries_total,
             max_entries_per_day = excluded.max_entries_per_day, gates = excluded.gates,
             updated_at = excluded.updated_at, version = excluded.version
         where excluded.version > checkin_lists.version"
    } else {
        ""
    };
    let sql = format!(
        "insert into checkin_lists (id, event_id, name, admitted, admit_pending, allow_multi_entry,
             allow_entry_after_exit, admission_opens, admission_closes, max_entries_total,
             max_entries_per_day, gates, created_at, updated_at, version)
         values (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15) {conflict}"
    );
    c.prepare_cached(&sql)?.execute(params![
        l.id.0,
        l.event_id.0,
        l.name.as_str(),
        admitted,
        l.admit_pending,
        l.allow_multi_entry,
        l.allow_entry_after_exit,
        l.admission_opens.map(us),
        l.admission_closes.map(us),
        l.max_entries_total.map(|v| v as i64),
        l.max_entries_per_day.map(|v| v as i64),
        gates,
        us(l.meta.created_at),
        us(l.meta.updated_at),
        l.meta.version,
    ])?;
    write_change(c, change)
}

pub(super) fn update_list(
    c: &Connection,
    l: &CheckinList,
    expected_version: i64,
    change: &Change,
) -> StoreResult<()> {
    let (admitted, gates) = list_json(l);
    let n = c
        .prepare_cached(
            "update checkin_lists set name = ?2, admitted = ?3, admit_pending = ?4,
                 allow_multi_entry = ?5, allow_entry_after_exit = ?6, admission_opens = ?7,
                 admission_closes = ?8, max_entries_total = ?9, max_entries_per_day = ?10,
                 gates = ?11, updated_at = ?12, version = ?13
             where id = ?1 and version = ?14",
        )?
        .execute(params![
            l.id.0,
            l.name.as_str(),
            admitted,
            l.admit_pending,
            l.allow_multi_entry,
            l.allow_entry_after_exit,
            l.admission_opens.map(us),
            l.admission_closes.map(us),
            l.max_entries_total.map(|v| v as i64),
            l.max_entries_per_day.map(|v| v as i64),
            gates,
            us(l.meta.updated_at),
            l.meta.version,
            expected_version,
        ])?;
    if n == 0 {
        return Err(stale_or_missing(c, "checkin_lists", "checkin list", l.id.0));
    }
    write_change(c, change)
}

pub(super) fn import_event(c: &Connection, e: &Event, change: &Change) -> StoreResult<()> {
    c.prepare_cached(
        "insert into events (id, name, description, venue, starts_at, ends_at, time_zone,
                             status, category_id, created_at, updated_at, version)
         values (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, null, ?9, ?10, ?11)
         on conflict (id) do update set name = excluded.name, description = excluded.description,
             venue = excluded.venue, starts_at = excluded.starts_at, ends_at = excluded.ends_at,
             time_zone = excluded.time_zone, status = excluded.status,
             updated_at = excluded.updated_at, version = excluded.version
         where excluded.version > events.version",
    )?
    .execute(params![
        e.id.0,
        e.name.as_str(),
        e.description.as_str(),
        e.venue.as_str(),
        us(e.starts_at),
        us(e.ends_at),
        e.time_zone.name(),
        e.status.as_str(),
        us(e.meta.created_at),
        us(e.meta.updated_at),
        e.meta.version,
    ])?;
    write_change(c, change)
}

/// The answer already given for this nonce, or the context for a new decision. One statement
/// reads the nonce, the ticket with its order and type, the revocation and block lists and the
/// ticket's counted scans on the list: this is the door's hot path, and one cached statement
/// stepped once costs less than six.
fn scan_context(c: &Connection, a: &ScanAttempt) -> StoreResult<Result<ScanContext, String>> {
    let mut st = c.prepare_cached(
        "select (select answer from scans where nonce = ?1) as answer,
                exists(select 1 from revocations where event_id = ?2 and fingerprint = ?3) as revoked,
                exists(select 1 from blocks where event_id = ?2 and ticket_id = ?4) as blocked,
                t.ticket_type_id, t.status as ticket_status, o.status as order_status,
                t.attendee_name, tt.name as type_name, o.code,
                (select json_group_array(json_array(s.at, s.direction, s.gate)) from scans s
                 where s.ticket_id = ?4 and s.list_id = ?5 and s.counted) as history
         from (select 1) as one
         left join tickets t on t.id = ?4
         left join orders o on o.id = t.order_id
         left join ticket_types tt on tt.id = t.ticket_type_id",
    )?;
    let mut rows = st.query(params![
        a.nonce,
        a.event_id.0,
        a.fingerprint.map(|f| f.0.to_vec()),
        a.ticket_id.map(|t| t.0),
        a.list_id.0,
    ])?;
    let row = rows
        .next()?
        .ok_or_else(|| corrupt("scan context returned no row"))?;
    if let Some(answer) = row.get::<_, Option<String>>("answer")? {
        return Ok(Err(answer));
    }
    if a.ticket_id.is_none() {
        return Ok(Ok(ScanContext {
            ticket: None,
            revoked: false,
            blocked: false,
            history: Vec::new(),
        }));
    }
    let ticket = match row.get::<_, Option<Uuid>>("ticket_type_id")? {
        None => None,
        Some(type_id) => Some(TicketView {
            state: TicketState {
                ticket_type_id: TicketTypeId(type_id),
                ticket_status: dom(TicketStatus::parse(
                    "status",
                    &row.get::<_, String>("ticket_status")?,
                ))?,
                order_status: dom(OrderStatus::parse(
                    "status",
                    &row.get::<_, String>("order_status")?,
                ))?,
            },
            attendee_name: row.get("attendee_name")?,
            ticket_type_name: row.get("type_name")?,
            order_code: row.get("code")?,
        }),
    };
    let history: Vec<(i64, String, Option<String>)> =
        serde_json::from_str(&row.get::<_, String>("history")?).map_err(corrupt)?;
    let mut history = history
        .into_iter()
        .map(|(at, direction, gate)| {
            Ok(PriorScan {
                at: from_us(at)?,
                direction: dom(Direction::parse("direction", &direction))?,
                gate,
            })
        })
        .collect::<StoreResult<Vec<_>>>()?;
    // Stable, like the `order by at` this replaces.
    history.sort_by_key(|p| p.at);
    Ok(Ok(ScanContext {
        ticket,
        revoked: row.get("revoked")?,
        blocked: row.get("blocked")?,
        history,
    }))
}

pub(super) fn redeem(c: &Connection, a: &ScanAttempt, decide: &Decide) -> StoreResult<ScanOutcome> {
    let ctx = match scan_context(c, a)? {
        Ok(ctx) => ctx,
        Err(answer) => {
            return Ok(ScanOutcome {
                answer: serde_json::from_str(&answer).map_err(corrupt)?,
                duplicate: true,
            })
        }
    };
    let r = decide(&ctx);
    let answer = r.answer.to_string();
    let record = ScanRecord {
        id: a.id,
        nonce: a.nonce.clone(),
        list_id: a.list_id,
        ticket_id: a.ticket_id,
        direction: a.direction,
        device_id: a.device_id,
        gate: a.gate.clone(),
        at: a.at,
        verdict: r.verdict,
        counted: r.counted,
        forced: r.forced,
        raw: if r.counted { None } else { a.raw.clone() },
    };
    let change = Change::default().sync(a.recorded_at, "scan", a.id.0, 1, &record);
    c.prepare_cached(
        "insert into scans (id, nonce, list_id, event_id, ticket_id, direction, device_id, gate,
             user_id, at, recorded_at, verdict, explanation, counted, forced, raw, answer)
         values (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17)",
    )?
    .execute(params![
        a.id.0,
        a.nonce,
        a.list_id.0,
        a.event_id.0,
        a.ticket_id.map(|t| t.0),
        a.direction.as_str(),
        a.device_id.map(|d| d.0),
        a.gate.as_deref(),
        a.user_id.map(|u| u.0),
        us(a.at),
        us(a.recorded_at),
        r.verdict.as_str(),
        r.explanation,
        r.counted,
        r.forced,
        if r.counted { None } else { a.raw.as_deref() },
        answer,
    ])?;
    write_change(c, &change)?;
    Ok(ScanOutcome {
        answer: r.answer,
        duplicate: false,
    })
}

pub(super) fn scan_from(r: &SqliteRow) -> StoreResult<ScanRecord> {
    Ok(ScanRecord {
        id: ScanId(r.try_get("id")?),
        nonce: r.try_get("nonce")?,
        list_id: CheckinListId(r.try_get("list_id")?),
        ticket_id: r.try_get::<Option<Uuid>, _>("ticket_id")?.map(TicketId),
        direction: dom(Direction::parse("direction", r.try_get("direction")?))?,
        device_id: r.try_get::<Option<Uuid>, _>("device_id")?.map(DeviceId),
        gate: r.try_get("gate")?,
        at: from_us(r.try_get("at")?)?,
        verdict: dom(Verdict::parse("verdict", r.try_get("verdict")?))?,
        counted: r.try_get("counted")?,
        forced: r.try_get("forced")?,
        raw: r.try_get("raw")?,
    })
}

pub(super) async fn checkin_counts(
    pool: &SqlitePool,
    list_id: CheckinListId,
) -> StoreResult<(u64, u64)> {
    let admitted: i64 = sqlx::query_scalar(
        "select count(distinct ticket_id) from scans
         where list_id = $1 and counted and direction = 'entry'",
    )
    .bind(list_id.0)
    .fetch_one(pool)
    .await?;
    // The latest counted scan per ticket decides whether it is inside.
    let inside: i64 = sqlx::query_scalar(
        "select count(*) from (
             select ticket_id, direction,
                    row_number() over (partition by ticket_id order by at desc, recorded_at desc) as n
             from scans where list_id = $1 and counted and ticket_id is not null)
         where n = 1 and direction = 'entry'",
    )
    .bind(list_id.0)
    .fetch_one(pool)
    .await?;
    Ok((admitted as u64, inside as u64))
}

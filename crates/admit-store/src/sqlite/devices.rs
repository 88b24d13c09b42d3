//! Devices, pairing codes and bearer tokens on SQLite. The server runs on PostgreSQL; this
//! backend keeps the same behaviour so the shared tests hold on both. Every write runs on the
//! single writer, which is what makes "a code is good once" hold here.

use chrono::{DateTime, Utc};
use rusqlite::{params, Connection};
use sqlx::sqlite::SqliteRow;
use sqlx::Row;
use uuid::Uuid;

use admit_core::audit::Change;
use admit_core::device::{Device, DeviceRole, SecretHash, TokenKind};
use admit_core::model::Meta;
use admit_core::text::Name;
use admit_core::*;

use super::{
    corrupt, dom, from_us, insert_user, opt_from_us, stale_or_missing, us, user_from, write_change,
    SqliteStore,
};
use crate::{ApiToken, NewPairing, PairingCodeRecord, StoreError, StoreResult, TokenHolder};

/// Device columns, each under `prefix` (the token look-up joins them beside a user's).
fn device_from(row: &SqliteRow, prefix: &str) -> StoreResult<Device> {
    let col = |c: &str| format!("{prefix}{c}");
    Ok(Device {
        id: DeviceId(row.try_get(col("id").as_str())?),
        name: dom(Name::parse("name", row.try_get(col("name").as_str())?))?,
        role: dom(DeviceRole::parse(
            "role",
            row.try_get(col("role").as_str())?,
        ))?,
        user_id: UserId(row.try_get(col("user_id").as_str())?),
        created_by: UserId(row.try_get(col("created_by").as_str())?),
        revoked_at: opt_from_us(row.try_get(col("revoked_at").as_str())?)?,
        last_seen_at: opt_from_us(row.try_get(col("last_seen_at").as_str())?)?,
        meta: Meta {
            created_at: from_us(row.try_get(col("created_at").as_str())?)?,
            updated_at: from_us(row.try_get(col("updated_at").as_str())?)?,
            version: row.try_get(col("version").as_str())?,
        },
    })
}

fn hash(row: &SqliteRow, col: &str) -> StoreResult<SecretHash> {
    let bytes: Vec<u8> = row.try_get(col)?;
    Ok(SecretHash(
        bytes.try_into().map_err(|_| corrupt("hash length"))?,
    ))
}

fn pairing_code_from(row: &SqliteRow) -> StoreResult<PairingCodeRecord> {
    Ok(PairingCodeRecord {
        id: row.try_get("id")?,
        code_hash: hash(row, "code_hash")?,
        device_name: dom(Name::parse("device_name", row.try_get("device_name")?))?,
        role: dom(DeviceRole::parse("role", row.try_get("role")?))?,
        created_by: UserId(row.try_get("created_by")?),
        created_at: from_us(row.try_get("created_at")?)?,
        expires_at: from_us(row.try_get("expires_at")?)?,
        used_at: opt_from_us(row.try_get("used_at")?)?,
        device_id: row.try_get::<Option<Uuid>, _>("device_id")?.map(DeviceId),
    })
}

fn api_token_from(row: &SqliteRow) -> StoreResult<ApiToken> {
    Ok(ApiToken {
        id: row.try_get("t_id")?,
        hash: hash(row, "t_token_hash")?,
        kind: dom(TokenKind::parse("kind", row.try_get("t_kind")?))?,
        user_id: UserId(row.try_get("t_user_id")?),
        device_id: row.try_get::<Option<Uuid>, _>("t_device_id")?.map(DeviceId),
        created_at: from_us(row.try_get("t_created_at")?)?,
        expires_at: opt_from_us(row.try_get("t_expires_at")?)?,
        revoked_at: opt_from_us(row.try_get("t_revoked_at")?)?,
    })
}

fn insert_token(c: &Connection, t: &ApiToken) -> StoreResult<()> {
    c.prepare_cached(
        "insert into api_tokens (id, token_hash, kind, user_id, device_id, created_at,
                                 expires_at, revoked_at)
         values (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
    )?
    .execute(params![
        t.id,
        &t.hash.0[..],
        t.kind.as_str(),
        t.user_id.0,
        t.device_id.map(|d| d.0),
        us(t.created_at),
        t.expires_at.map(us),
        t.revoked_at.map(us),
    ])?;
    Ok(())
}

impl SqliteStore {
    pub(super) async fn devices_create_pairing_code(
        &self,
        code: &PairingCodeRecord,
        change: &Change,
    ) -> StoreResult<()> {
        let (code, change) = (code.clone(), change.clone());
        self.write(move |c| {
            c.prepare_cached(
                "insert into pairing_codes (id, code_hash, device_name, role, created_by,
                                            created_at, expires_at, used_at, device_id)
                 values (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
            )?
            .execute(params![
                code.id,
                &code.code_hash.0[..],
                code.device_name.as_str(),
                code.role.as_str(),
                code.created_by.0,
                us(code.created_at),
                us(code.expires_at),
                code.used_at.map(us),
                code.device_id.map(|d| d.0),
            ])?;
            write_change(c, &change)
        })
        .await
    }

    pub(super) async fn devices_pairing_code(
        &self,
        code_hash: &SecretHash,
    ) -> StoreResult<Option<PairingCodeRecord>> {
        sqlx::query("select * from pairing_codes where code_hash = $1")
            .bind(&code_hash.0[..])
            .fetch_optional(&self.read)
            .await?
            .as_ref()
            .map(pairing_code_from)
            .transpose()
    }

    pub(super) async fn devices_pair_device(&self, p: &NewPairing) -> StoreResult<()> {
        let p = p.clone();
        self.write(move |c| {
            insert_user(c, &p.user, &p.password_hash)?;
            let d = &p.device;
            c.prepare_cached(
                "insert into devices (id, name, role, user_id, created_by, revoked_at,
                                      last_seen_at, created_at, updated_at, version)
                 values (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
            )?
            .execute(params![
                d.id.0,
                d.name.as_str(),
                d.role.as_str(),
                d.user_id.0,
                d.created_by.0,
                d.revoked_at.map(us),
                d.last_seen_at.map(us),
                us(d.meta.created_at),
                us(d.meta.updated_at),
                d.meta.version,
            ])?;
            // After the device (the code points at it); a failure here takes the rows above
            // back with the job, so a used or expired code writes nothing.
            let taken = c
                .prepare_cached(
                    "update pairing_codes set used_at = ?2, device_id = ?3
                     where id = ?1 and used_at is null and expires_at > ?2",
                )?
                .execute(params![p.code_id, us(p.now), d.id.0])?;
            if taken == 0 {
                return Err(StoreError::Conflict {
                    constraint: "pairing_code_used".into(),
                });
            }
            insert_token(c, &p.token)?;
            write_change(c, &p.change)
        })
        .await
    }

    pub(super) async fn devices_get_device(&self, id: DeviceId) -> StoreResult<Device> {
        let row = sqlx::query("select * from devices where id = $1")
            .bind(id.0)
            .fetch_optional(&self.read)
            .await?
            .ok_or(StoreError::NotFound { entity: "device" })?;
        device_from(&row, "")
    }

    pub(super) async fn devices_list_devices(&self) -> StoreResult<Vec<Device>> {
        sqlx::query("select * from devices order by created_at desc, id desc limit 10000")
            .fetch_all(&self.read)
            .await?
            .iter()
            .map(|r| device_from(r, ""))
            .collect()
    }

    pub(super) async fn devices_revoke_device(
        &self,
        device: &Device,
        expected_version: i64,
        change: &Change,
    ) -> StoreResult<()> {
        let (d, change) = (device.clone(), change.clone());
        let at = d
            .revoked_at
            .ok_or_else(|| StoreError::Other("a revoked device needs revoked_at".into()))?;
        self.write(move |c| {
            let n = c
                .prepare_cached(
                    "update devices set revoked_at = ?2, updated_at = ?3, version = ?4
                     where id = ?1 and version = ?5",
                )?
                .execute(params![
                    d.id.0,
                    us(at),
                    us(d.meta.updated_at),
                    d.meta.version,
                    expected_version,
                ])?;
            if n == 0 {
                return Err(stale_or_missing(c, "devices", "device", d.id.0));
            }
            c.prepare_cached(
                "update api_tokens set revoked_at = ?2
                 where device_id = ?1 and revoked_at is null",
            )?
            .execute(params![d.id.0, us(at)])?;
            c.prepare_cached(
                "update users set active = 0, updated_at = max(updated_at, ?2),
                                  version = version + 1
                 where id = ?1",
            )?
            .execute(params![d.user_id.0, us(at)])?;
            write_change(c, &change)
        })
        .await
    }

    pub(super) async fn devices_touch_device(
        &self,
        id: DeviceId,
        at: DateTime<Utc>,
    ) -> StoreResult<()> {
        self.write(move |c| {
            c.prepare_cached(
                "update devices set last_seen_at = ?2
                 where id = ?1 and (last_seen_at is null or last_seen_at < ?2)",
            )?
            .execute(params![id.0, us(at)])?;
            Ok(())
        })
        .await
    }

    pub(super) async fn devices_create_api_token(
        &self,
        token: &ApiToken,
        change: &Change,
    ) -> StoreResult<()> {
        let (token, change) = (token.clone(), change.clone());
        self.write(move |c| {
            insert_token(c, &token)?;
            write_change(c, &change)
        })
        .await
    }

    pub(super) async fn devices_token_holder(
        &self,
        token_hash: &SecretHash,
    ) -> StoreResult<Option<TokenHolder>> {
        let Some(row) = sqlx::query(
            "select u.*,
                    t.id as t_id, t.token_hash as t_token_hash, t.kind as t_kind,
                    t.user_id as t_user_id, t.device_id as t_device_id,
                    t.created_at as t_created_at, t.expires_at as t_expires_at,
                    t.revoked_at as t_revoked_at,
                    d.id as d_id, d.name as d_name, d.role as d_role, d.user_id as d_user_id,
                    d.created_by as d_created_by, d.revoked_at as d_revoked_at,
                    d.last_seen_at as d_last_seen_at, d.created_at as d_created_at,
                    d.updated_at as d_updated_at, d.version as d_version
             from api_tokens t
             join users u on u.id = t.user_id
             left join devices d on d.id = t.device_id
             where t.token_hash = $1",
        )
        .bind(&token_hash.0[..])
        .fetch_optional(&self.read)
        .await?
        else {
            return Ok(None);
        };
        let device = match row.try_get::<Option<Uuid>, _>("d_id")? {
            Some(_) => Some(device_from(&row, "d_")?),
            None => None,
        };
        Ok(Some(TokenHolder {
            token: api_token_from(&row)?,
            user: user_from(&row)?,
            device,
        }))
    }

    pub(super) async fn devices_revoke_api_token(
        &self,
        id: Uuid,
        at: DateTime<Utc>,
        change: &Change,
    ) -> StoreResult<bool> {
        let change = change.clone();
        self.write(move |c| {
            let n = c
                .prepare_cached(
                    "update api_tokens set revoked_at = ?2 where id = ?1 and revoked_at is null",
                )?
                .execute(params![id, us(at)])?;
            if n == 0 {
                return Ok(false);
            }
            write_change(c, &change)?;
            Ok(true)
        })
        .await
    }

    pub(super) async fn devices_ping(&self) -> StoreResult<()> {
        sqlx::query("select 1").execute(&self.read).await?;
        Ok(())
    }
}

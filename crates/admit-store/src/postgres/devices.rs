//! Devices, pairing codes and bearer tokens on PostgreSQL (the server).
//!
//! Pairing is one transaction: the code is marked used by a conditional update (unused and
//! unexpired), so two devices racing with one code cannot both pair; the loser writes nothing.
//! Revoking a device revokes its tokens and deactivates its user in the same transaction, so
//! no request made after the commit gets through with them.

use chrono::{DateTime, Utc};
use sqlx::postgres::PgRow;
use sqlx::Row;
use uuid::Uuid;

use admit_core::audit::Change;
use admit_core::device::{Device, DeviceRole, SecretHash, TokenKind};
use admit_core::text::Name;
use admit_core::*;

use super::rows::{self, corrupt};
use super::{commit, insert_user, retrying, stale_or_missing, PgStore, MAX_LIST};
use crate::{ApiToken, NewPairing, PairingCodeRecord, StoreError, StoreResult, TokenHolder};

/// Device columns, each under `prefix` (the token look-up joins them beside a user's).
fn device(row: &PgRow, prefix: &str) -> StoreResult<Device> {
    let col = |c: &str| format!("{prefix}{c}");
    Ok(Device {
        id: DeviceId(row.try_get(col("id").as_str())?),
        name: Name::parse("name", row.try_get(col("name").as_str())?).map_err(corrupt)?,
        role: DeviceRole::parse("role", row.try_get(col("role").as_str())?).map_err(corrupt)?,
        user_id: UserId(row.try_get(col("user_id").as_str())?),
        created_by: UserId(row.try_get(col("created_by").as_str())?),
        revoked_at: row.try_get(col("revoked_at").as_str())?,
        last_seen_at: row.try_get(col("last_seen_at").as_str())?,
        meta: admit_core::model::Meta {
            created_at: row.try_get(col("created_at").as_str())?,
            updated_at: row.try_get(col("updated_at").as_str())?,
            version: row.try_get(col("version").as_str())?,
        },
    })
}

fn hash(row: &PgRow, col: &str) -> StoreResult<SecretHash> {
    let bytes: Vec<u8> = row.try_get(col)?;
    Ok(SecretHash(
        bytes.try_into().map_err(|_| corrupt("hash length"))?,
    ))
}

fn pairing_code(row: &PgRow) -> StoreResult<PairingCodeRecord> {
    Ok(PairingCodeRecord {
        id: row.try_get("id")?,
        code_hash: hash(row, "code_hash")?,
        device_name: Name::parse("device_name", row.try_get("device_name")?).map_err(corrupt)?,
        role: DeviceRole::parse("role", row.try_get("role")?).map_err(corrupt)?,
        created_by: UserId(row.try_get("created_by")?),
        created_at: row.try_get("created_at")?,
        expires_at: row.try_get("expires_at")?,
        used_at: row.try_get("used_at")?,
        device_id: row.try_get::<Option<Uuid>, _>("device_id")?.map(DeviceId),
    })
}

fn api_token(row: &PgRow) -> StoreResult<ApiToken> {
    Ok(ApiToken {
        id: row.try_get("t_id")?,
        hash: hash(row, "t_token_hash")?,
        kind: TokenKind::parse("kind", row.try_get("t_kind")?).map_err(corrupt)?,
        user_id: UserId(row.try_get("t_user_id")?),
        device_id: row.try_get::<Option<Uuid>, _>("t_device_id")?.map(DeviceId),
        created_at: row.try_get("t_created_at")?,
        expires_at: row.try_get("t_expires_at")?,
        revoked_at: row.try_get("t_revoked_at")?,
    })
}

async fn insert_token(conn: &mut sqlx::PgConnection, t: &ApiToken) -> StoreResult<()> {
    sqlx::query(
        "insert into api_tokens (id, token_hash, kind, user_id, device_id, created_at,
                                 expires_at, revoked_at)
         values ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(t.id)
    .bind(&t.hash.0[..])
    .bind(t.kind.as_str())
    .bind(t.user_id.0)
    .bind(t.device_id.map(|d| d.0))
    .bind(t.created_at)
    .bind(t.expires_at)
    .bind(t.revoked_at)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

impl PgStore {
    pub(super) async fn devices_create_pairing_code(
        &self,
        code: &PairingCodeRecord,
        change: &Change,
    ) -> StoreResult<()> {
        retrying("create_pairing_code", move || async move {
            let mut tx = self.begin().await?;
            sqlx::query(
                "insert into pairing_codes (id, code_hash, device_name, role, created_by,
                                            created_at, expires_at, used_at, device_id)
                 values ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
            )
            .bind(code.id)
            .bind(&code.code_hash.0[..])
            .bind(code.device_name.as_str())
            .bind(code.role.as_str())
            .bind(code.created_by.0)
            .bind(code.created_at)
            .bind(code.expires_at)
            .bind(code.used_at)
            .bind(code.device_id.map(|d| d.0))
            .execute(&mut *tx)
            .await?;
            commit(tx, change).await
        })
        .await
    }

    pub(super) async fn devices_pairing_code(
        &self,
        code_hash: &SecretHash,
    ) -> StoreResult<Option<PairingCodeRecord>> {
        sqlx::query("select * from pairing_codes where code_hash = $1")
            .bind(&code_hash.0[..])
            .fetch_optional(&self.pool)
            .await?
            .as_ref()
            .map(pairing_code)
            .transpose()
    }

    pub(super) async fn devices_pair_device(&self, p: &NewPairing) -> StoreResult<()> {
        retrying("pair_device", move || async move {
            let mut tx = self.begin().await?;
            insert_user(&mut tx, &p.user, &p.password_hash).await?;
            let d = &p.device;
            sqlx::query(
                "insert into devices (id, name, role, user_id, created_by, revoked_at,
                                      last_seen_at, created_at, updated_at, version)
                 values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
            )
            .bind(d.id.0)
            .bind(d.name.as_str())
            .bind(d.role.as_str())
            .bind(d.user_id.0)
            .bind(d.created_by.0)
            .bind(d.revoked_at)
            .bind(d.last_seen_at)
            .bind(d.meta.created_at)
            .bind(d.meta.updated_at)
            .bind(d.meta.version)
            .execute(&mut *tx)
            .await?;
            // The row lock this takes makes a second device with the same code wait, then
            // find the code used (READ COMMITTED re-checks the condition) and write nothing.
            let taken = sqlx::query(
                "update pairing_codes set used_at = $2, device_id = $3
                 where id = $1 and used_at is null and expires_at > $2",
            )
            .bind(p.code_id)
            .bind(p.now)
            .bind(d.id.0)
            .execute(&mut *tx)
            .await?
            .rows_affected();
            if taken == 0 {
                return Err(StoreError::Conflict {
                    constraint: "pairing_code_used".into(),
                });
            }
            insert_token(&mut tx, &p.token).await?;
            commit(tx, &p.change).await
        })
        .await
    }

    pub(super) async fn devices_get_device(&self, id: DeviceId) -> StoreResult<Device> {
        let row = sqlx::query("select * from devices where id = $1")
            .bind(id.0)
            .fetch_optional(&self.pool)
            .await?
            .ok_or(StoreError::NotFound { entity: "device" })?;
        device(&row, "")
    }

    pub(super) async fn devices_list_devices(&self) -> StoreResult<Vec<Device>> {
        sqlx::query("select * from devices order by created_at desc, id desc limit $1")
            .bind(i64::from(MAX_LIST))
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(|r| device(r, ""))
            .collect()
    }

    pub(super) async fn devices_revoke_device(
        &self,
        d: &Device,
        expected_version: i64,
        change: &Change,
    ) -> StoreResult<()> {
        let at = d
            .revoked_at
            .ok_or_else(|| StoreError::Other("a revoked device needs revoked_at".into()))?;
        retrying("revoke_device", move || async move {
            let mut tx = self.begin().await?;
            let n = sqlx::query(
                "update devices set revoked_at = $2, updated_at = $3, version = $4
                 where id = $1 and version = $5",
            )
            .bind(d.id.0)
            .bind(at)
            .bind(d.meta.updated_at)
            .bind(d.meta.version)
            .bind(expected_version)
            .execute(&mut *tx)
            .await?
            .rows_affected();
            if n == 0 {
                return Err(stale_or_missing(&mut tx, "devices", "device", d.id.0).await);
            }
            sqlx::query(
                "update api_tokens set revoked_at = $2
                 where device_id = $1 and revoked_at is null",
            )
            .bind(d.id.0)
            .bind(at)
            .execute(&mut *tx)
            .await?;
            sqlx::query(
                "update users set active = false, updated_at = greatest(updated_at, $2),
                                  version = version + 1
                 where id = $1",
            )
            .bind(d.user_id.0)
            .bind(at)
            .execute(&mut *tx)
            .await?;
            commit(tx, change).await
        })
        .await
    }

    pub(super) async fn devices_touch_device(
        &self,
        id: DeviceId,
        at: DateTime<Utc>,
    ) -> StoreResult<()> {
        // One statement, its own transaction; a newer time is never overwritten by an older.
        sqlx::query(
            "update devices set last_seen_at = $2
             where id = $1 and (last_seen_at is null or last_seen_at < $2)",
        )
        .bind(id.0)
        .bind(at)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    pub(super) async fn devices_create_api_token(
        &self,
        token: &ApiToken,
        change: &Change,
    ) -> StoreResult<()> {
        retrying("create_api_token", move || async move {
            let mut tx = self.begin().await?;
            insert_token(&mut tx, token).await?;
            commit(tx, change).await
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
        .fetch_optional(&self.pool)
        .await?
        else {
            return Ok(None);
        };
        let device = match row.try_get::<Option<Uuid>, _>("d_id")? {
            Some(_) => Some(device(&row, "d_")?),
            None => None,
        };
        Ok(Some(TokenHolder {
            token: api_token(&row)?,
            user: rows::user(&row)?,
            device,
        }))
    }

    pub(super) async fn devices_revoke_api_token(
        &self,
        id: Uuid,
        at: DateTime<Utc>,
        change: &Change,
    ) -> StoreResult<bool> {
        retrying("revoke_api_token", move || async move {
            let mut tx = self.begin().await?;
            let n = sqlx::query(
                "update api_tokens set revoked_at = $2 where id = $1 and revoked_at is null",
            )
            .bind(id)
            .bind(at)
            .execute(&mut *tx)
            .await?
            .rows_affected();
            if n == 0 {
                return Ok(false);
            }
            commit(tx, change).await?;
            Ok(true)
        })
        .await
    }

    pub(super) async fn devices_ping(&self) -> StoreResult<()> {
        sqlx::query("select 1").execute(&self.pool).await?;
        Ok(())
    }
}

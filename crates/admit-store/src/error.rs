use serde::Serialize;

use admit_core::QuotaId;

/// Errors callers branch on, and nothing more.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum StoreError {
    #[error("{entity} not found")]
    NotFound { entity: &'static str },
    /// A uniqueness or integrity rule refused the write; `constraint` names it.
    #[error("conflict on {constraint}")]
    Conflict { constraint: String },
    /// The record changed since it was read.
    #[error("{entity} was changed by someone else; reload and try again")]
    Stale { entity: &'static str },
    #[error("sold out: {available} left in quota {quota_id}")]
    SoldOut { quota_id: QuotaId, available: u32 },
    #[error("quota {quota_id} has {taken} units taken; its size cannot go below that")]
    QuotaBelowTaken { quota_id: QuotaId, taken: u32 },
    /// The hold is not active (consumed, released or expired).
    #[error("hold is {status}")]
    HoldNotActive { status: String },
    /// The database stayed busy through every retry.
    #[error("the database is busy; try again")]
    Busy,
    #[error("storage error: {0}")]
    Other(String),
}

pub type StoreResult<T> = Result<T, StoreError>;

impl StoreError {
    /// Classify a driver error. Constraint violations are told apart by constraint name or
    /// SQL state, never by message text.
    pub(crate) fn from_sqlx(e: sqlx::Error) -> Self {
        match &e {
            sqlx::Error::RowNotFound => StoreError::NotFound { entity: "record" },
            sqlx::Error::Database(db) => {
                let code = db.code().map(|c| c.to_string()).unwrap_or_default();
                match code.as_str() {
                    // PostgreSQL serialization failure / deadlock; SQLite busy / locked
                    "40001" | "40P01" | "5" | "6" | "517" | "261" => StoreError::Busy,
                    _ => {
                        if db.is_unique_violation()
                            || db.is_foreign_key_violation()
                            || db.is_check_violation()
                        {
                            StoreError::Conflict {
                                constraint: db
                                    .constraint()
                                    .map(str::to_string)
                                    .unwrap_or_else(|| constraint_from_sqlite(db.message())),
                            }
                        } else {
                            StoreError::Other(e.to_string())
                        }
                    }
                }
            }
            sqlx::Error::PoolTimedOut => StoreError::Busy,
            _ => StoreError::Other(e.to_string()),
        }
    }
}

/// SQLite reports no constraint name; its message names the columns (e.g.
/// "UNIQUE constraint failed: users.username"), which is the closest stable identifier.
fn constraint_from_sqlite(message: &str) -> String {
    message
        .split_once(": ")
        .map(|(_, cols)| cols.replace(", ", ","))
        .unwrap_or_else(|| "integrity".to_string())
}

impl From<sqlx::Error> for StoreError {
    fn from(e: sqlx::Error) -> Self {
        StoreError::from_sqlx(e)
    }
}

impl From<rusqlite::Error> for StoreError {
    fn from(e: rusqlite::Error) -> Self {
        use rusqlite::ErrorCode;
        match &e {
            rusqlite::Error::QueryReturnedNoRows => StoreError::NotFound { entity: "record" },
            rusqlite::Error::SqliteFailure(f, message) => match f.code {
                ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked => StoreError::Busy,
                ErrorCode::ConstraintViolation => StoreError::Conflict {
                    constraint: constraint_from_sqlite(message.as_deref().unwrap_or_default()),
                },
                _ => StoreError::Other(e.to_string()),
            },
            _ => StoreError::Other(e.to_string()),
        }
    }
}

impl From<sqlx::migrate::MigrateError> for StoreError {
    fn from(e: sqlx::migrate::MigrateError) -> Self {
        StoreError::Other(format!("migration failed: {e}"))
    }
}

use serde::Serialize;

/// A value the caller gave was rejected. `field` names the input so a form can point at it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, Serialize)]
pub enum DomainError {
    #[error("{field}: {message}")]
    Invalid { field: String, message: String },
}

impl DomainError {
    pub fn invalid(field: impl Into<String>, message: impl Into<String>) -> Self {
        DomainError::Invalid {
            field: field.into(),
            message: message.into(),
        }
    }

    pub fn field(&self) -> &str {
        match self {
            DomainError::Invalid { field, .. } => field,
        }
    }

    /// Re-label the field, e.g. when a nested value is parsed for a named input.
    pub fn at(self, field: impl Into<String>) -> Self {
        match self {
            DomainError::Invalid { message, .. } => DomainError::Invalid {
                field: field.into(),
                message,
            },
        }
    }
}

pub type DomainResult<T> = Result<T, DomainError>;

//! The Admit domain. Values are parsed at the edge into types that cannot hold invalid data;
//! nothing here performs I/O or reads the clock (`now` is always a parameter).

pub mod audit;
pub mod checkin;
pub mod commerce;
pub mod device;
pub mod error;
pub mod id;
pub mod model;
pub mod money;
pub mod order_code;
pub mod role;
pub mod secret;
pub mod stock;
pub mod text;
pub mod time;

pub use error::{DomainError, DomainResult};
pub use id::*;
pub use money::{Currency, Money};

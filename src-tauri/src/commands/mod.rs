//! Tauri commands: each maps its input to one use case and the result (or `{code, message}`)
//! back. Commands refuse everything but the door while the device is a locked kiosk.

pub mod app;
pub mod catalogue;
pub mod commerce;
pub mod door;
pub mod figures;
pub mod reports;
pub mod sales;
pub mod sync;

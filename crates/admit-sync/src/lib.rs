//! Sync between Admit devices and an Admit server.
//!
//! [`wire`] holds the versioned types both sides speak; [`client`] is the device's engine:
//! it uploads the device's own changes first (its outbox, in order, each change applied once
//! however often it is sent), then downloads the server's changes since its cursor, page by
//! page, and keeps the device's allocations of stock topped up. Every step is resumable: the
//! cursors and pending allocation moves live in the device's store, so an interrupted sync
//! picks up where it stopped.

pub mod client;
pub mod wire;

pub use client::{SyncClient, SyncError, SyncOptions, SyncReport};

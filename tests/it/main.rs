//! Behavioural tests of the use cases, run against both storage backends. Each test gets its
//! own SQLite file or PostgreSQL database.

mod accounts;
mod catalogue;
mod commerce;
mod devices;
mod door;
mod exports;
mod figures;
mod fixture;
mod mail;
mod migrations;
mod reports;
mod roles;
mod sales;
mod server;
mod stock_race;
mod sync;
mod sync_bulk;
mod sync_faults;
mod sync_support;
mod sync_tls;
mod validation;

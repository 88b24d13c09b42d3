//! Behavioural tests of the use cases, run against both storage backends. Each test gets its
//! own SQLite file or PostgreSQL database.

mod accounts;
mod catalogue;
mod door;
mod exports;
mod figures;
mod fixture;
mod migrations;
mod reports;
mod roles;
mod sales;
mod stock_race;
mod validation;

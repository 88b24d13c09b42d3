//! The `admit` binary run as a user would: each test gets a fresh SQLite file and a fresh
//! PostgreSQL database (see `admit-testkit`), runs commands, parses their `--json` output
//! and checks the values.

#[macro_use]
mod support;

mod accounts;
mod bad_input;
mod demo;
mod door;
mod sales;
mod text;

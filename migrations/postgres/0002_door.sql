-- The door: event keys, issued ticket secrets, revocation and block lists, check-in lists and
-- scans. Same tables and meaning as the SQLite migration with the same version.

-- Public keys that verify an event's tickets; synced to every device of the event.
create table event_keys (
    event_id uuid not null references events (id),
    key_id integer not null,
    -- 32-byte Ed25519 public key
    public_key bytea not null,
    -- a retired key's tickets no longer verify
    retired boolean not null default false,
    created_at timestamptz not null,
    updated_at timestamptz not null,
    version bigint not null,
    primary key (event_id, key_id)
);

-- Private halves, only on devices that issue tickets; never synced to door devices.
create table event_signing_keys (
    event_id uuid not null,
    key_id integer not null,
    -- 32-byte Ed25519 secret key
    secret_key bytea not null,
    primary key (event_id, key_id),
    foreign key (event_id, key_id) references event_keys (event_id, key_id)
);

-- The secret currently printed on each ticket; reissuing replaces it and revokes the old one.
create table ticket_secrets (
    ticket_id uuid primary key references tickets (id),
    event_id uuid not null references events (id),
    secret text not null,
    -- names this one issued secret (see admit_core::secret); 16 bytes
    fingerprint bytea not null unique,
    key_id integer not null,
    issued_at timestamptz not null
);

create table revocations (
    event_id uuid not null references events (id),
    fingerprint bytea not null,
    ticket_id uuid not null,
    -- cancelled, reissued
    reason text not null,
    at timestamptz not null,
    primary key (event_id, fingerprint)
);

create table blocks (
    event_id uuid not null references events (id),
    ticket_id uuid not null,
    reason text not null,
    at timestamptz not null,
    primary key (event_id, ticket_id)
);

create table checkin_lists (
    id uuid primary key,
    event_id uuid not null references events (id),
    name text not null,
    -- JSON: {"kind":"all"} or {"kind":"only","ticket_type_ids":[...]}
    admitted jsonb not null,
    admit_pending boolean not null,
    allow_multi_entry boolean not null,
    allow_entry_after_exit boolean not null,
    admission_opens timestamptz,
    admission_closes timestamptz,
    max_entries_total integer,
    max_entries_per_day integer,
    -- JSON array of gate names; empty means any gate
    gates jsonb not null,
    created_at timestamptz not null,
    updated_at timestamptz not null,
    version bigint not null
);
create index checkin_lists_event on checkin_lists (event_id);

-- Every scan is a fact: accepted, refused or forced, online or uploaded later.
create table scans (
    id uuid primary key,
    -- chosen by the scanning device; the same nonce twice is one scan
    nonce text not null unique,
    list_id uuid not null references checkin_lists (id),
    event_id uuid not null,
    -- from the verified secret; null when the secret did not verify. No foreign key: an
    -- offline door records scans of tickets it has no row for.
    ticket_id uuid,
    direction text not null check (direction in ('entry', 'exit')),
    device_id uuid,
    gate text,
    user_id uuid,
    -- when the scan happened (device clock), which orders history
    at timestamptz not null,
    -- when this store recorded it
    recorded_at timestamptz not null,
    verdict text not null,
    explanation text not null,
    -- the scan took effect: ok, or forced through despite its verdict
    counted boolean not null,
    forced boolean not null,
    -- the scanned text, kept for refused scans only (bounded)
    raw text,
    -- the full answer, JSON, returned again for a repeated nonce
    answer jsonb not null
);
create index scans_ticket_list on scans (ticket_id, list_id, at);
create index scans_list_at on scans (list_id, at);

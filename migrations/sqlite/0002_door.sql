-- The door: event keys, issued ticket secrets, revocation and block lists, check-in lists and
-- scans. Same tables and meaning as the PostgreSQL migration with the same version.

-- Public keys that verify an event's tickets; synced to every device of the event.
create table event_keys (
    event_id blob not null references events (id),
    key_id integer not null,
    -- 32-byte Ed25519 public key
    public_key blob not null,
    -- a retired key's tickets no longer verify
    retired integer not null default 0,
    created_at integer not null,
    updated_at integer not null,
    version integer not null,
    primary key (event_id, key_id)
);

-- Private halves, only on devices that issue tickets; never synced to door devices.
create table event_signing_keys (
    event_id blob not null,
    key_id integer not null,
    -- 32-byte Ed25519 secret key
    secret_key blob not null,
    primary key (event_id, key_id),
    foreign key (event_id, key_id) references event_keys (event_id, key_id)
);

-- The secret currently printed on each ticket; reissuing replaces it and revokes the old one.
create table ticket_secrets (
    ticket_id blob primary key references tickets (id),
    event_id blob not null references events (id),
    secret text not null,
    -- names this one issued secret (see admit_core::secret); 16 bytes
    fingerprint blob not null unique,
    key_id integer not null,
    issued_at integer not null
);

create table revocations (
    event_id blob not null references events (id),
    fingerprint blob not null,
    ticket_id blob not null,
    -- cancelled, reissued
    reason text not null,
    at integer not null,
    primary key (event_id, fingerprint)
);

create table blocks (
    event_id blob not null references events (id),
    ticket_id blob not null,
    reason text not null,
    at integer not null,
    primary key (event_id, ticket_id)
);

create table checkin_lists (
    id blob primary key,
    event_id blob not null references events (id),
    name text not null,
    -- JSON: {"kind":"all"} or {"kind":"only","ticket_type_ids":[...]}
    admitted text not null,
    admit_pending integer not null,
    allow_multi_entry integer not null,
    allow_entry_after_exit integer not null,
    admission_opens integer,
    admission_closes integer,
    max_entries_total integer,
    max_entries_per_day integer,
    -- JSON array of gate names; empty means any gate
    gates text not null,
    created_at integer not null,
    updated_at integer not null,
    version integer not null
);
create index checkin_lists_event on checkin_lists (event_id);

-- Every scan is a fact: accepted, refused or forced, online or uploaded later.
create table scans (
    id blob primary key,
    -- chosen by the scanning device; the same nonce twice is one scan
    nonce text not null unique,
    list_id blob not null references checkin_lists (id),
    event_id blob not null,
    -- from the verified secret; null when the secret did not verify. No foreign key: an
    -- offline door records scans of tickets it has no row for.
    ticket_id blob,
    direction text not null check (direction in ('entry', 'exit')),
    device_id blob,
    gate text,
    user_id blob,
    -- when the scan happened (device clock), which orders history
    at integer not null,
    -- when this store recorded it
    recorded_at integer not null,
    verdict text not null,
    explanation text not null,
    -- the scan took effect: ok, or forced through despite its verdict
    counted integer not null,
    forced integer not null,
    -- the scanned text, kept for refused scans only (bounded)
    raw text,
    -- the full answer, JSON, returned again for a repeated nonce
    answer text not null
);
create index scans_ticket_list on scans (ticket_id, list_id, at);
create index scans_list_at on scans (list_id, at);

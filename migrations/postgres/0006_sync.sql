-- Sync with an Admit server: a change feed in commit order, stock escrowed to devices
-- (allocations), and a record of every uploaded change already applied.

-- The transaction that wrote each outbox row. Rows are read in (txid, seq) order and only
-- below the oldest transaction still running, so a reader never passes a row that commits
-- later with a smaller seq.
alter table outbox add column txid xid8 not null default pg_current_xact_id();
create index outbox_txid_seq on outbox (txid, seq);

-- Units of a quota granted to a device and not yet sold by it. They count in quotas.taken,
-- so the pool left for everyone else is size - taken.
create table allocations (
    device_id uuid not null,
    quota_id uuid not null references quotas (id),
    units bigint not null check (units >= 0),
    updated_at timestamptz not null,
    primary key (device_id, quota_id)
);

-- Each top-up or return, by the id the device chose: asking twice moves the units once.
create table allocation_moves (
    id uuid primary key,
    device_id uuid not null,
    quota_id uuid not null references quotas (id),
    -- units asked for (positive) or given back (negative)
    asked bigint not null,
    -- units actually moved
    moved bigint not null,
    at timestamptz not null
);

-- Uploaded changes already applied (the device's outbox row id): a batch sent twice
-- changes nothing the second time.
create table sync_applied (
    entry_id uuid primary key,
    device_id uuid not null,
    entity text not null,
    -- applied, duplicate, or conflict: why, with the entry's payload kept
    outcome text not null,
    reason text,
    payload jsonb,
    at timestamptz not null
);

-- The device side: what a device knows of its server. Unused on a server.
create table sync_state (
    key text primary key,
    value text not null
);
create table sync_grants (
    id uuid primary key,
    quota_id uuid not null,
    units bigint not null,
    at timestamptz not null,
    -- a return is made here first and sent until the server confirms it
    confirmed boolean not null default true
);

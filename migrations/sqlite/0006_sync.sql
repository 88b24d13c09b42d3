-- Sync with an Admit server. On a device: where it is in the server's change feed and in
-- its own outbox, and the stock the server granted it (allocations). The server-side tables
-- exist here too, unused, so both backends carry the same schema versions.

-- Key/value state of the sync client: cursors, server address, device id.
create table sync_state (
    key text primary key,
    value text not null
);

-- Units granted by the server, by the id the device chose for the request, so a grant whose
-- answer arrives twice is counted once. On a synced device a quota's `size` is what the
-- device may sell: the units it has sold plus what it still holds; `remote_size` is the
-- quota's real size on the server.
create table sync_grants (
    id blob primary key,
    quota_id blob not null,
    units integer not null,
    at integer not null,
    -- a return is made here first and sent until the server confirms it
    confirmed integer not null default 1
);
alter table quotas add column remote_size integer;

create table allocations (
    device_id blob not null,
    quota_id blob not null references quotas (id),
    units integer not null check (units >= 0),
    updated_at integer not null,
    primary key (device_id, quota_id)
);

create table allocation_moves (
    id blob primary key,
    device_id blob not null,
    quota_id blob not null references quotas (id),
    asked integer not null,
    moved integer not null,
    at integer not null
);

create table sync_applied (
    entry_id blob primary key,
    device_id blob not null,
    entity text not null,
    -- applied, duplicate, or conflict: why, with the entry's payload kept
    outcome text not null,
    reason text,
    payload text,
    at integer not null
);

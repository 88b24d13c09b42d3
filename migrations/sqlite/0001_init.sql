-- Admit schema, SQLite dialect. Ids are UUIDv7 as 16-byte blobs; times are UTC microseconds
-- since the Unix epoch (integers compare and index cleanly). Every synced record carries
-- created_at, updated_at and a version that grows by one on each change.

create table users (
    id blob primary key,
    username text not null unique,
    display_name text not null,
    role text not null check (role in ('owner', 'manager', 'box_office', 'door')),
    -- argon2id PHC string
    password_hash text not null,
    active integer not null default 1,
    -- consecutive failed logins; reset by a successful one
    failed_logins integer not null default 0,
    -- after repeated failures, no login is checked before this time
    locked_until integer,
    created_at integer not null,
    updated_at integer not null,
    version integer not null
);

create table categories (
    id blob primary key,
    parent_id blob references categories (id),
    name text not null,
    created_at integer not null,
    updated_at integer not null,
    version integer not null
);

create table events (
    id blob primary key,
    name text not null,
    description text not null,
    venue text not null,
    starts_at integer not null,
    ends_at integer not null,
    -- IANA zone, for display and for "today" at the door
    time_zone text not null,
    status text not null check (status in ('draft', 'published', 'cancelled', 'archived')),
    category_id blob references categories (id),
    created_at integer not null,
    updated_at integer not null,
    version integer not null,
    check (ends_at > starts_at)
);

create table ticket_types (
    id blob primary key,
    event_id blob not null references events (id),
    name text not null,
    -- integer minor units of `currency`
    price_minor integer not null check (price_minor >= 0),
    currency text not null,
    sales_start integer,
    sales_end integer,
    min_per_order integer not null check (min_per_order >= 1),
    max_per_order integer not null check (max_per_order >= min_per_order),
    active integer not null,
    sort_order integer not null,
    created_at integer not null,
    updated_at integer not null,
    version integer not null
);
create index ticket_types_event on ticket_types (event_id);

create table quotas (
    id blob primary key,
    event_id blob not null references events (id),
    name text not null,
    size integer not null check (size >= 0),
    -- units held by paid and pending tickets and by active holds; the last line of defence
    -- against overselling is this check
    taken integer not null default 0 check (taken >= 0 and taken <= size),
    created_at integer not null,
    updated_at integer not null,
    version integer not null
);
create index quotas_event on quotas (event_id);

create table quota_ticket_types (
    quota_id blob not null references quotas (id),
    ticket_type_id blob not null references ticket_types (id),
    primary key (quota_id, ticket_type_id)
);
create index quota_ticket_types_type on quota_ticket_types (ticket_type_id);

create table holds (
    id blob primary key,
    event_id blob not null references events (id),
    status text not null check (status in ('active', 'consumed', 'released', 'expired')),
    expires_at integer not null,
    created_by blob not null references users (id),
    device_id blob,
    created_at integer not null,
    updated_at integer not null,
    version integer not null
);
-- the sweep looks for active holds past their expiry
create index holds_active_expiry on holds (expires_at) where status = 'active';

create table hold_lines (
    hold_id blob not null references holds (id),
    ticket_type_id blob not null references ticket_types (id),
    quantity integer not null check (quantity > 0),
    primary key (hold_id, ticket_type_id)
);

-- the units a hold took, per quota: given back exactly, whatever coverage says later
create table hold_quotas (
    hold_id blob not null references holds (id),
    quota_id blob not null references quotas (id),
    quantity integer not null check (quantity > 0),
    primary key (hold_id, quota_id)
);

create table orders (
    id blob primary key,
    -- short code for humans, unambiguous alphabet
    code text not null unique,
    event_id blob not null references events (id),
    buyer_name text,
    buyer_email text,
    channel text not null check (channel in ('box_office', 'kiosk', 'online')),
    payment_method text not null check (payment_method in ('cash', 'card', 'comp')),
    status text not null check (status in ('pending', 'paid', 'cancelled', 'refunded', 'expired')),
    -- sum of the live tickets' prices, computed by Admit, never taken from input
    total_minor integer not null check (total_minor >= 0),
    currency text not null,
    created_by blob not null references users (id),
    device_id blob,
    created_at integer not null,
    updated_at integer not null,
    version integer not null
);
create index orders_event on orders (event_id, created_at);
create index orders_buyer_name on orders (buyer_name collate nocase);
create index orders_buyer_email on orders (buyer_email collate nocase);

create table tickets (
    id blob primary key,
    order_id blob not null references orders (id),
    event_id blob not null references events (id),
    ticket_type_id blob not null references ticket_types (id),
    price_minor integer not null check (price_minor >= 0),
    currency text not null,
    attendee_name text,
    status text not null check (status in ('valid', 'cancelled')),
    created_at integer not null,
    updated_at integer not null,
    version integer not null
);
create index tickets_order on tickets (order_id);
create index tickets_type_status on tickets (ticket_type_id, status);

-- the quotas each ticket took a unit from; a cancellation gives back exactly these
create table ticket_quotas (
    ticket_id blob not null references tickets (id),
    quota_id blob not null references quotas (id),
    primary key (ticket_id, quota_id)
);
create index ticket_quotas_quota on ticket_quotas (quota_id);

create table audit_log (
    id blob primary key,
    at integer not null,
    user_id blob,
    device_id blob,
    action text not null,
    entity text not null,
    entity_id blob not null,
    -- JSON text; never holds secrets
    detail text not null
);
create index audit_log_at on audit_log (at);
create index audit_log_entity on audit_log (entity_id);

create table outbox (
    -- upload order
    seq integer primary key autoincrement,
    id blob not null unique,
    at integer not null,
    entity text not null,
    entity_id blob not null,
    version integer not null,
    -- JSON text: the record as it was after the change
    payload text not null
);

-- The server: devices paired with it, the one-time codes that pair them, and the bearer tokens
-- users and devices present. Codes and tokens are stored only as SHA-256 hashes. Same tables
-- and meaning as the PostgreSQL migration with the same version.

create table devices (
    id blob primary key,
    name text not null,
    role text not null check (role in ('box_office', 'door', 'kiosk')),
    -- the service user the device acts as: audit entries name it and the device
    user_id blob not null unique references users (id),
    -- the owner who created the pairing code
    created_by blob not null references users (id),
    -- set once; from then on the device's token and user are refused
    revoked_at integer,
    -- when the device last made a request, to the minute; not audited
    last_seen_at integer,
    created_at integer not null,
    updated_at integer not null,
    version integer not null
);

create table pairing_codes (
    id blob primary key,
    -- SHA-256 of the code as typed without dashes; the code itself is shown once
    code_hash blob not null unique,
    -- what the device will be called and do
    device_name text not null,
    role text not null check (role in ('box_office', 'door', 'kiosk')),
    created_by blob not null references users (id),
    created_at integer not null,
    expires_at integer not null,
    -- set when a device trades the code: a code is good once
    used_at integer,
    device_id blob references devices (id),
    check ((used_at is null) = (device_id is null))
);

create table api_tokens (
    id blob primary key,
    -- SHA-256 of the token; the token itself is shown once
    token_hash blob not null unique,
    kind text not null check (kind in ('user', 'device')),
    user_id blob not null references users (id),
    device_id blob references devices (id),
    created_at integer not null,
    -- login tokens expire; device tokens live until the device is revoked
    expires_at integer,
    revoked_at integer,
    check ((kind = 'device') = (device_id is not null))
);
-- revoking a device revokes its tokens
create index api_tokens_device on api_tokens (device_id) where device_id is not null;

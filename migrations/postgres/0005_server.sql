-- The server: devices paired with it, the one-time codes that pair them, and the bearer tokens
-- users and devices present. Codes and tokens are stored only as SHA-256 hashes.

create table devices (
    id uuid primary key,
    name text not null,
    role text not null check (role in ('box_office', 'door', 'kiosk')),
    -- the service user the device acts as: audit entries name it and the device
    user_id uuid not null unique references users (id),
    -- the owner who created the pairing code
    created_by uuid not null references users (id),
    -- set once; from then on the device's token and user are refused
    revoked_at timestamptz,
    -- when the device last made a request, to the minute; not audited
    last_seen_at timestamptz,
    created_at timestamptz not null,
    updated_at timestamptz not null,
    version bigint not null
);

create table pairing_codes (
    id uuid primary key,
    -- SHA-256 of the code as typed without dashes; the code itself is shown once
    code_hash bytea not null unique,
    -- what the device will be called and do
    device_name text not null,
    role text not null check (role in ('box_office', 'door', 'kiosk')),
    created_by uuid not null references users (id),
    created_at timestamptz not null,
    expires_at timestamptz not null,
    -- set when a device trades the code: a code is good once
    used_at timestamptz,
    device_id uuid references devices (id),
    check ((used_at is null) = (device_id is null))
);

create table api_tokens (
    id uuid primary key,
    -- SHA-256 of the token; the token itself is shown once
    token_hash bytea not null unique,
    kind text not null check (kind in ('user', 'device')),
    user_id uuid not null references users (id),
    device_id uuid references devices (id),
    created_at timestamptz not null,
    -- login tokens expire; device tokens live until the device is revoked
    expires_at timestamptz,
    revoked_at timestamptz,
    check ((kind = 'device') = (device_id is not null))
);
-- revoking a device revokes its tokens
create index api_tokens_device on api_tokens (device_id) where device_id is not null;

-- Commerce: coupons, pay-later orders and how each order was paid, the waiting list, cashier
-- shifts and the outgoing mail queue. Same tables and meaning as the PostgreSQL migration with
-- the same version.

-- How each order was paid. A box-office sale is paid when it is made; a pay-later order is
-- pending until `paid_at`, and expires at `payment_due` if still unpaid.
alter table orders add column coupon_id blob;
-- what the coupon took off the list prices (minor units of the order's currency)
alter table orders add column discount_minor integer not null default 0 check (discount_minor >= 0);
alter table orders add column payment_due integer;
alter table orders add column paid_at integer;
-- the cashier who took the money, and where: their drawer holds the cash
alter table orders add column paid_by blob;
alter table orders add column paid_device blob;
-- cash handed over; the change was this minus the total
alter table orders add column tendered_minor integer check (tendered_minor >= 0);
-- a card terminal's reference, or why tickets were given for free
alter table orders add column payment_note text;
update orders set paid_at = created_at, paid_by = created_by, paid_device = device_id
where status in ('paid', 'cancelled', 'refunded');
-- The shift report and drawer counts: money one cashier took in a time window.
create index orders_paid_by on orders (paid_by, paid_at) where paid_at is not null;
-- The sweep that expires unpaid orders.
create index orders_payment_due on orders (payment_due) where status = 'pending';

create table coupons (
    id blob primary key,
    event_id blob not null references events (id),
    -- upper-case A-Z 0-9 - _
    code text not null,
    kind text not null check (kind in ('percent', 'amount_off', 'fixed_price')),
    -- hundredths of a percent, or minor units of `currency`
    value integer not null check (value >= 0),
    currency text not null,
    valid_from integer,
    valid_until integer,
    min_order_minor integer not null default 0 check (min_order_minor >= 0),
    -- null: unlimited
    max_uses integer check (max_uses >= 1),
    -- orders using it now; a cancelled or expired order gives its use back
    used integer not null default 0 check (used >= 0 and (max_uses is null or used <= max_uses)),
    active integer not null,
    created_at integer not null,
    updated_at integer not null,
    version integer not null,
    unique (event_id, code)
);
-- The ticket types a coupon is limited to; none: all of its event's.
create table coupon_ticket_types (
    coupon_id blob not null references coupons (id),
    ticket_type_id blob not null references ticket_types (id),
    primary key (coupon_id, ticket_type_id)
);

-- People waiting for a sold-out ticket type, served in order of arrival. An offer holds units
-- for the person (through `hold_id`) until `offer_expires_at`.
create table waitlist (
    id blob primary key,
    event_id blob not null references events (id),
    ticket_type_id blob not null references ticket_types (id),
    name text not null,
    email text,
    phone text,
    quantity integer not null check (quantity >= 1),
    status text not null check (status in ('waiting', 'offered', 'sold', 'expired', 'withdrawn')),
    hold_id blob references holds (id),
    offer_expires_at integer,
    order_id blob references orders (id),
    created_by blob not null references users (id),
    created_at integer not null,
    updated_at integer not null,
    version integer not null
);
create index waitlist_queue on waitlist (event_id, ticket_type_id, status, created_at, id);

-- A cashier's drawer: opened with a float, closed with a count.
create table shifts (
    id blob primary key,
    user_id blob not null references users (id),
    device_id blob,
    currency text not null,
    opened_at integer not null,
    float_minor integer not null check (float_minor >= 0),
    closed_at integer,
    expected_minor integer,
    counted_minor integer check (counted_minor >= 0),
    difference_minor integer,
    note text,
    created_at integer not null,
    updated_at integer not null,
    version integer not null
);
-- At most one open shift per cashier.
create unique index shifts_one_open on shifts (user_id) where closed_at is null;
create index shifts_user on shifts (user_id, opened_at);

-- Outgoing e-mail. Sending never blocks a sale: a message is queued with the sale and sent
-- by a worker, retried with backoff until it is sent or given up.
create table mail_queue (
    id blob primary key,
    kind text not null check (kind in ('order_confirmation', 'waitlist_offer')),
    order_id blob references orders (id),
    waitlist_id blob references waitlist (id),
    to_address text not null,
    status text not null check (status in ('queued', 'sent', 'failed')),
    attempts integer not null default 0,
    next_attempt_at integer not null,
    last_error text,
    sent_at integer,
    created_at integer not null,
    updated_at integer not null,
    version integer not null
);
create index mail_queue_due on mail_queue (next_attempt_at) where status = 'queued';
create index mail_queue_order on mail_queue (order_id);

-- Reports: refunds, and the indexes the report and export queries read through. Same tables
-- and meaning as the PostgreSQL migration with the same version.

-- Money handed back to a buyer, one row per refunded ticket (or one against a whole order).
-- Reports subtract these from gross sales; the shift report counts them against the drawer of
-- the cashier who paid them out.
create table refunds (
    id blob primary key,
    order_id blob not null references orders (id),
    event_id blob not null references events (id),
    -- null: an amount against the whole order
    ticket_id blob references tickets (id),
    -- integer minor units of `currency`
    amount_minor integer not null check (amount_minor >= 0),
    currency text not null,
    -- how the money went back
    method text not null check (method in ('cash', 'card', 'comp')),
    -- the cashier who paid it out, and where
    created_by blob not null references users (id),
    device_id blob,
    created_at integer not null
);
create index refunds_order on refunds (order_id, created_at);
create index refunds_event on refunds (event_id);
create index refunds_created_by on refunds (created_by, created_at);

-- The end-of-shift report: one cashier's orders in a time window.
create index orders_created_by on orders (created_by, created_at);
-- Export pages walk an event's orders, tickets and scans in id order (ids are time-ordered).
create index orders_event_id on orders (event_id, id);
create index tickets_event on tickets (event_id, id);
create index scans_event on scans (event_id, id);
-- The door chart: an event's counted scans by time, read from the index alone (`counted`
-- is in it too, or SQLite would not take the index as covering).
create index scans_event_counted on scans (event_id, at, gate, direction, counted) where counted;

import type { CheckinList } from "../bindings/CheckinList";
import type { Order } from "../bindings/Order";
import type { Event } from "../bindings/Event";
import type { RedeemAnswer } from "../bindings/RedeemAnswer";
import type { SyncStatus } from "../bindings/SyncStatus";
import type { TicketTypeAvailability } from "../bindings/TicketTypeAvailability";

const meta = { created_at: "2026-05-01T10:00:00Z", updated_at: "2026-05-01T10:00:00Z", version: 1 };

export const event: Event = {
  id: "ev1",
  name: "Spring Gala",
  description: "",
  venue: "Hall",
  starts_at: "2099-05-01T17:30:00Z",
  ends_at: "2099-05-01T21:30:00Z",
  time_zone: "Europe/Berlin",
  status: "published",
  category_id: null,
  meta,
};

export const list: CheckinList = {
  id: "l1",
  event_id: "ev1",
  name: "Main entrance",
  admitted: { kind: "all" },
  admit_pending: false,
  allow_multi_entry: false,
  allow_entry_after_exit: false,
  admission_opens: null,
  admission_closes: null,
  max_entries_total: null,
  max_entries_per_day: null,
  gates: [],
  meta,
};

export const tta = (id: string, name: string, minor: number, available: number | null): TicketTypeAvailability => ({
  available,
  ticket_type: {
    id,
    event_id: "ev1",
    name,
    price: { minor, currency: "EUR" },
    sales_start: null,
    sales_end: null,
    min_per_order: 1,
    max_per_order: 10,
    active: true,
    sort_order: 0,
    meta,
  },
});

export function answer(over: Partial<RedeemAnswer>): RedeemAnswer {
  return {
    verdict: "ok",
    ok: true,
    explanation: "",
    forced: false,
    duplicate: false,
    scan_id: "s1",
    direction: "entry",
    at: new Date().toISOString(),
    ticket_id: "t1",
    ticket_type_id: "tt1",
    ticket_type: "Adult",
    attendee_name: "Bea Berg",
    order_code: "ABC123",
    earlier_entry: null,
    ...over,
  };
}

export const paidOrder = (over: Partial<Order> = {}): Order => ({
  id: "o1",
  code: "K7Q2XM",
  event_id: "ev1",
  buyer_name: "Bea Berg",
  buyer_email: null,
  channel: "box_office",
  payment_method: "cash",
  status: "paid",
  total: { minor: 2500, currency: "EUR" },
  created_by: "u1",
  device_id: null,
  coupon_id: null,
  discount_minor: 0,
  payment: { due: null, paid_at: "2026-05-01T10:00:00Z", paid_by: "u1", paid_device: null, tendered_minor: null, note: null },
  meta,
  ...over,
});

/** A paired device's sync status as of `now`: synced 5 s ago, nothing waiting. */
export const syncStatusAt = (now: Date, over: Partial<SyncStatus> = {}): SyncStatus => {
  const at = (secondsAgo: number) => new Date(now.getTime() - secondsAgo * 1000).toISOString();
  return {
    state: "synced",
    server_url: "http://admit.example:8080",
    device_name: "Desk 2",
    device_id: "d1",
    device_role: "box_office",
    paired_at: at(3600),
    online: true,
    last_sync_at: at(5),
    last_attempt_at: at(5),
    next_attempt_at: at(-10),
    failures: 0,
    error: null,
    waiting: 0,
    double_admissions: 0,
    upload_conflicts: 0,
    clock_offset_ms: 120,
    downloading: null,
    first_download: false,
    last_round: { uploaded: 0, duplicates: 0, conflicts: 0, deferred: 0, downloaded: 0, units_moved: 0 },
    ...over,
  };
};

export const unpairedSync = (): SyncStatus => ({
  ...syncStatusAt(new Date()),
  state: "unpaired",
  server_url: null,
  device_name: null,
  device_id: null,
  device_role: null,
  paired_at: null,
  online: null,
  last_sync_at: null,
  last_attempt_at: null,
  next_attempt_at: null,
  waiting: null,
  double_admissions: null,
  upload_conflicts: null,
  clock_offset_ms: null,
  last_round: null,
});

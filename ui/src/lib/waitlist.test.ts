import { describe, expect, it } from "vitest";
import type { WaitlistEntry } from "../bindings/WaitlistEntry";
import { canSellOffer, entryStatusText, orderedEntries } from "./waitlist";

const entry = (id: string, status: WaitlistEntry["status"], created: string, until: string | null = null): WaitlistEntry => ({
  id,
  event_id: "ev1",
  ticket_type_id: "adult",
  name: id,
  email: null,
  phone: null,
  quantity: 1,
  status,
  hold_id: until ? "h1" : null,
  offer_expires_at: until,
  order_id: null,
  created_by: "u1",
  meta: { created_at: created, updated_at: created, version: 1 },
});

describe("waiting list", () => {
  it("shows open entries first, in order of arrival", () => {
    const list = [entry("a", "sold", "2026-05-01T09:00:00Z"), entry("b", "waiting", "2026-05-01T11:00:00Z"), entry("c", "offered", "2026-05-01T10:00:00Z", "2026-05-01T12:00:00Z")];
    expect(orderedEntries(list).map((e) => e.id)).toEqual(["c", "b", "a"]);
  });

  it("sells only offers that have not run out", () => {
    const now = new Date("2026-05-01T11:00:00Z");
    expect(canSellOffer(entry("c", "offered", "", "2026-05-01T12:00:00Z"), now)).toBe(true);
    expect(canSellOffer(entry("c", "offered", "", "2026-05-01T10:59:00Z"), now)).toBe(false);
    expect(canSellOffer(entry("b", "waiting", ""), now)).toBe(false);
  });

  it("says until when an offer holds, in the event's zone", () => {
    expect(entryStatusText(entry("c", "offered", "", "2026-05-01T17:30:00Z"), "Europe/Berlin", "en-GB")).toMatch(/^Offered until .*19:30/);
    expect(entryStatusText(entry("b", "waiting", ""), "UTC")).toBe("Waiting");
  });
});

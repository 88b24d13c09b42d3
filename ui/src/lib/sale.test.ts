import { describe, expect, it } from "vitest";
import type { TicketTypeAvailability } from "../bindings/TicketTypeAvailability";
import { basketLines, basketTotal, linesKey, parseQty } from "./sale";

const tt = (id: string, minor: number, currency = "EUR"): TicketTypeAvailability => ({
  available: 10,
  ticket_type: {
    id,
    event_id: "e1",
    name: id,
    price: { minor, currency },
    sales_start: null,
    sales_end: null,
    min_per_order: 1,
    max_per_order: 10,
    active: true,
    sort_order: 0,
    meta: { created_at: "", updated_at: "", version: 1 },
  },
});

describe("basket", () => {
  const types = [tt("adult", 1250), tt("child", 600), tt("vip", 5000)];

  it("makes lines in catalogue order, skipping zero quantities", () => {
    const lines = basketLines(types, { vip: 1, adult: 2, child: 0 }, { adult: ["Ann ", "", ""], vip: [""] });
    expect(lines).toEqual([
      { ticket_type_id: "adult", quantity: 2, attendee_names: ["Ann"] },
      { ticket_type_id: "vip", quantity: 1, attendee_names: [] },
    ]);
    expect(linesKey("e1", lines)).toBe("e1|adult:2,vip:1");
  });

  it("never sends more names than tickets", () => {
    const lines = basketLines(types, { adult: 1 }, { adult: ["A", "B"] });
    expect(lines[0]!.attendee_names).toEqual(["A"]);
  });

  it("totals per currency", () => {
    expect(basketTotal(types, { adult: 2, child: 1 })).toEqual([{ minor: 3100, currency: "EUR" }]);
    expect(basketTotal([...types, tt("yen", 1500, "JPY")], { adult: 1, yen: 2 })).toEqual([
      { minor: 1250, currency: "EUR" },
      { minor: 3000, currency: "JPY" },
    ]);
    expect(basketTotal(types, {})).toEqual([]);
  });

  it("clamps typed quantities", () => {
    expect(parseQty("3")).toBe(3);
    expect(parseQty("")).toBe(0);
    expect(parseQty("a2")).toBe(2);
    expect(parseQty("99999")).toBe(500);
  });
});

import { describe, expect, it } from "vitest";

import type { MethodTotal } from "../bindings/MethodTotal";
import { chartHeight, chartWidth, localInputToInstant, reportPartsFor, shiftTotals, svgDataUrl, todayWindow } from "./reports";

const eur = (minor: number) => ({ minor, currency: "EUR" });
const total = (method: MethodTotal["method"], sales: number, refunded: number, currency = "EUR"): MethodTotal => ({
  method,
  orders: 2,
  tickets: 3,
  sales: { minor: sales, currency },
  refunds: refunded ? 1 : 0,
  refunded: { minor: refunded, currency },
  net: { minor: sales - refunded, currency },
});

describe("reports", () => {
  it("gives the box office its shift and tickets, the door nothing", () => {
    expect(reportPartsFor("owner")).toEqual(["exports", "tickets", "shift", "import"]);
    expect(reportPartsFor("manager")).toEqual(["exports", "tickets", "shift", "import"]);
    expect(reportPartsFor("box_office")).toEqual(["shift", "tickets"]);
    expect(reportPartsFor("door")).toEqual([]);
  });

  it("defaults the shift to today on this computer's clock", () => {
    const w = todayWindow(new Date(2026, 4, 1, 14, 35));
    expect(w).toEqual({ from: "2026-05-01T00:00", to: "2026-05-02T00:00" });
    // The last day of a month runs into the next month.
    expect(todayWindow(new Date(2026, 11, 31, 23, 59))).toEqual({ from: "2026-12-31T00:00", to: "2027-01-01T00:00" });
    expect(localInputToInstant(w.from)).toBe(new Date(2026, 4, 1).toISOString());
    expect(localInputToInstant("")).toBeNull();
    expect(localInputToInstant("yesterday")).toBeNull();
  });

  it("adds the shift up per currency", () => {
    const t = shiftTotals([total("cash", 5000, 1000), total("card", 2500, 0), total("card", 900, 0, "GBP")]);
    expect(t.sales).toEqual([eur(7500), { minor: 900, currency: "GBP" }]);
    expect(t.refunded).toEqual([eur(1000), { minor: 0, currency: "GBP" }]);
    expect(t.net).toEqual([eur(6500), { minor: 900, currency: "GBP" }]);
    expect([t.orders, t.tickets]).toEqual([6, 9]);
  });

  it("shows charts as images whose text cannot break out of the address", () => {
    const url = svgDataUrl('<svg xmlns="http://www.w3.org/2000/svg"><text>Zoë & "Fête" #1</text></svg>');
    expect(url.startsWith("data:image/svg+xml;charset=utf-8,%3Csvg")).toBe(true);
    expect(url).not.toMatch(/[<>"# ]/);
    expect(decodeURIComponent(url.split(",")[1]!)).toContain("Zoë & \"Fête\" #1");
  });

  it("draws charts at the width they are shown, within what the app accepts", () => {
    expect(chartWidth(0)).toBe(640);
    expect(chartWidth(655)).toBe(640);
    expect(chartWidth(100)).toBe(320);
    expect(chartWidth(5000)).toBe(1600);
    expect(chartHeight(640)).toBe(320);
    expect(chartHeight(400)).toBe(320);
    expect(chartHeight(640, "door")).toBe(320);
    expect(chartHeight(640, "revenue")).toBe(576);
  });
});

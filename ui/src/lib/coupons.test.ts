import { describe, expect, it } from "vitest";
import { couponUses, couponValueProblem, couponValueText, couponWindow, formatCouponValue, formatPercent } from "./coupons";

describe("coupon values", () => {
  it("formats percentages from hundredths", () => {
    expect(formatPercent(1000)).toBe("10 %");
    expect(formatPercent(1250)).toBe("12.5 %");
    expect(formatPercent(1)).toBe("0.01 %");
    expect(formatPercent(10000)).toBe("100 %");
  });

  it("says what each kind does", () => {
    expect(formatCouponValue({ kind: "percent", value: 1500, currency: "EUR" })).toBe("15 % off");
    expect(formatCouponValue({ kind: "amount_off", value: 500, currency: "EUR" })).toMatch(/5\.00.* off each ticket/);
    expect(formatCouponValue({ kind: "fixed_price", value: 1200, currency: "JPY" })).toMatch(/1,200 per ticket/);
  });

  it("shows the value as the form takes it", () => {
    expect(couponValueText({ kind: "percent", value: 1250, currency: "EUR" })).toBe("12.5");
    expect(couponValueText({ kind: "amount_off", value: 500, currency: "EUR" })).toBe("5.00");
  });

  it("counts uses and shows the window in the event's zone", () => {
    expect(couponUses({ used: 3, max_uses: 10 })).toBe("3 / 10");
    expect(couponUses({ used: 0, max_uses: null })).toBe("0 / unlimited");
    expect(couponWindow({ valid_from: null, valid_until: null }, "Europe/Berlin")).toBe("Any time");
    expect(couponWindow({ valid_from: null, valid_until: "2026-05-01T17:30:00Z" }, "Europe/Berlin", "en-GB")).toMatch(/^Until .*19:30/);
  });

  it("checks a typed value like the app", () => {
    expect(couponValueProblem("percent", "15", "EUR")).toBeNull();
    expect(couponValueProblem("percent", "12,5", "EUR")).toBeNull();
    expect(couponValueProblem("percent", "0", "EUR")).toMatch(/above 0/);
    expect(couponValueProblem("percent", "101", "EUR")).toMatch(/at most 100/);
    expect(couponValueProblem("percent", "1.234", "EUR")).toMatch(/two decimals/);
    expect(couponValueProblem("amount_off", "5.00", "EUR")).toBeNull();
    expect(couponValueProblem("amount_off", "0", "EUR")).toMatch(/more than zero/);
    expect(couponValueProblem("fixed_price", "0", "EUR")).toBeNull();
    expect(couponValueProblem("fixed_price", "", "EUR")).toMatch(/Enter the amount/);
    expect(couponValueProblem("amount_off", "1.5", "JPY")).toMatch(/no decimal/);
  });
});

import { describe, expect, it } from "vitest";
import { cashChange, currencyExponent, formatMoney, MoneyError, parseAmount, sumByCurrency, toDecimal } from "./money";

describe("currency exponents", () => {
  it("follows ISO 4217", () => {
    expect(currencyExponent("EUR")).toBe(2);
    expect(currencyExponent("jpy")).toBe(0);
    expect(currencyExponent("KWD")).toBe(3);
    expect(() => currencyExponent("XXX")).toThrow(MoneyError);
  });
});

describe("parseAmount", () => {
  it("reads 2-decimal currencies", () => {
    expect(parseAmount("12.50", "EUR")).toBe(1250);
    expect(parseAmount("12.5", "EUR")).toBe(1250);
    expect(parseAmount("12", "EUR")).toBe(1200);
    expect(parseAmount("0.05", "EUR")).toBe(5);
    expect(parseAmount("12,50", "EUR")).toBe(1250);
    expect(parseAmount(" €8 ", "EUR")).toBe(800);
    expect(parseAmount("1,234.56", "USD")).toBe(123456);
    expect(parseAmount("1.234,56", "EUR")).toBe(123456);
    expect(() => parseAmount("1,200", "EUR")).toThrow(/2 decimal places/);
    expect(parseAmount(".5", "EUR")).toBe(50);
  });

  it("reads 0-decimal currencies", () => {
    expect(parseAmount("1200", "JPY")).toBe(1200);
    expect(parseAmount("1,200", "JPY")).toBe(1200);
    expect(() => parseAmount("12.5", "JPY")).toThrow(/no decimal places/);
  });

  it("reads 3-decimal currencies", () => {
    expect(parseAmount("1.250", "KWD")).toBe(1250);
    expect(parseAmount("1.25", "KWD")).toBe(1250);
    expect(parseAmount("0.001", "BHD")).toBe(1);
    expect(() => parseAmount("1.2345", "KWD")).toThrow(/3 decimal places/);
  });

  it("refuses what is not an amount", () => {
    for (const bad of ["", "abc", "-5", "12.", "1.2.3,4,5", "12..5"]) {
      expect(() => parseAmount(bad, "EUR"), bad).toThrow(MoneyError);
    }
    expect(() => parseAmount("12.505", "EUR")).toThrow(/2 decimal places/);
    expect(() => parseAmount("99999999999999999", "EUR")).toThrow(/too large/);
    expect(() => parseAmount("10000000000.01", "EUR")).toThrow(/too large/);
  });
});

describe("formatting", () => {
  it("writes plain decimals by exponent", () => {
    expect(toDecimal(1250, "EUR")).toBe("12.50");
    expect(toDecimal(5, "EUR")).toBe("0.05");
    expect(toDecimal(1200, "JPY")).toBe("1200");
    expect(toDecimal(1250, "KWD")).toBe("1.250");
    expect(toDecimal(-305, "EUR")).toBe("-3.05");
  });

  it("formats for people with the currency's decimals", () => {
    expect(formatMoney({ minor: 1250, currency: "EUR" }, "en-US")).toBe("€12.50");
    expect(formatMoney({ minor: 1200, currency: "JPY" }, "en-US")).toBe("¥1,200");
    expect(formatMoney({ minor: 1250, currency: "KWD" }, "en-US")).toMatch(/KWD\s?1\.250/);
    expect(formatMoney({ minor: 1250, currency: "EUR" }, "de-DE")).toBe("12,50\u00a0€");
  });

  it("sums per currency", () => {
    expect(
      sumByCurrency([
        { minor: 100, currency: "EUR" },
        { minor: 5, currency: "JPY" },
        { minor: 250, currency: "EUR" },
      ]),
    ).toEqual([
      { minor: 350, currency: "EUR" },
      { minor: 5, currency: "JPY" },
    ]);
  });
});

describe("cash change", () => {
  it("gives change, exact or says what is missing", () => {
    expect(cashChange(2550, 3000)).toEqual({ kind: "change", minor: 450 });
    expect(cashChange(2550, 2550)).toEqual({ kind: "exact" });
    expect(cashChange(2550, 2000)).toEqual({ kind: "short", minor: 550 });
    expect(cashChange(0, 500)).toEqual({ kind: "change", minor: 500 });
  });

  it("works with what the cashier typed in each currency", () => {
    expect(cashChange(parseAmount("12.50", "EUR"), parseAmount("20", "EUR"))).toEqual({ kind: "change", minor: 750 });
    expect(cashChange(parseAmount("1500", "JPY"), parseAmount("2000", "JPY"))).toEqual({ kind: "change", minor: 500 });
    expect(cashChange(parseAmount("1.250", "KWD"), parseAmount("5", "KWD"))).toEqual({ kind: "change", minor: 3750 });
  });
});

import { describe, expect, it } from "vitest";
import { changeLine, defaultDue, emptyPayment, isProblem, payForKey, paymentFields } from "./payment";

const eur = (minor: number) => ({ minor, currency: "EUR" });
const now = new Date("2026-05-01T10:00:30Z");

describe("default due date", () => {
  it("is 48 hours ahead in the event's zone, to the minute", () => {
    expect(defaultDue(now, null, "Europe/Berlin")).toBe("2026-05-03T12:00");
    expect(defaultDue(now, "2026-06-01T17:00:00Z", "America/New_York")).toBe("2026-05-03T06:00");
  });

  it("is the event's start when that comes sooner, unless it is too close", () => {
    expect(defaultDue(now, "2026-05-02T17:30:00Z", "Europe/Berlin")).toBe("2026-05-02T19:30");
    expect(defaultDue(now, "2026-05-01T10:30:00Z", "Europe/Berlin")).toBe("2026-05-03T12:00");
  });
});

describe("change", () => {
  it("says what to give back or what is missing", () => {
    expect(changeLine(eur(2250), "").text).toBe("Exact amount");
    expect(changeLine(eur(2250), "50").text).toContain("27.50");
    expect(changeLine(eur(2250), "22.50").text).toBe("No change");
    const short = changeLine(eur(2250), "20");
    expect(short.bad).toBe(true);
    expect(short.text).toMatch(/2\.50 missing/);
    expect(changeLine(eur(2250), "abc").error).toMatch(/Enter an amount/);
  });
});

describe("payment fields", () => {
  it("sends what was handed over for cash, and refuses too little", () => {
    const cash = paymentFields({ ...emptyPayment("cash"), given: "50" }, eur(2250), "Europe/Berlin", now);
    expect(cash).toEqual({ payment_method: "cash", tendered: "50.00", card_confirmed: false, payment_note: null, pay_later: false, payment_due: null });
    expect(paymentFields(emptyPayment("cash"), eur(2250), "Europe/Berlin", now)).toMatchObject({ tendered: null });
    expect(paymentFields({ ...emptyPayment("cash"), given: "10" }, eur(2250), "Europe/Berlin", now)).toMatchObject({ field: "tendered" });
  });

  it("needs the terminal's approval for a card and a reason for a comp", () => {
    expect(paymentFields(emptyPayment("card"), eur(100), "UTC", now)).toMatchObject({ field: "card_confirmed" });
    expect(paymentFields({ ...emptyPayment("card"), cardConfirmed: true, cardRef: " T-42 " }, eur(100), "UTC", now)).toMatchObject({
      payment_method: "card",
      card_confirmed: true,
      payment_note: "T-42",
    });
    expect(paymentFields({ ...emptyPayment("comp"), compReason: "  " }, eur(0), "UTC", now)).toMatchObject({ field: "payment_note" });
    expect(paymentFields({ ...emptyPayment("comp"), compReason: "Press" }, eur(0), "UTC", now)).toMatchObject({ payment_method: "comp", payment_note: "Press" });
  });

  it("reads the due date in the event's zone and wants it ahead", () => {
    const later = paymentFields({ ...emptyPayment("later"), due: "2026-05-03T12:00", laterMethod: "card" }, eur(100), "Europe/Berlin", now);
    expect(later).toEqual({ payment_method: "card", tendered: null, card_confirmed: false, payment_note: null, pay_later: true, payment_due: "2026-05-03T12:00:00+02:00" });
    const past = paymentFields({ ...emptyPayment("later"), due: "2026-05-01T09:00" }, eur(100), "Europe/Berlin", now);
    expect(isProblem(past) && past.field).toBe("payment_due");
    expect(paymentFields({ ...emptyPayment("later"), due: "" }, eur(100), "Europe/Berlin", now)).toMatchObject({ field: "payment_due" });
  });

  it("maps function keys to choices", () => {
    expect(payForKey("F2")).toBe("cash");
    expect(payForKey("F5")).toBe("later");
    expect(payForKey("F9")).toBeNull();
  });
});

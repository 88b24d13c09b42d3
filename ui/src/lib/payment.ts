// How a sale or a pay-later order is paid: the choices at the till, what each needs, the change
// for cash and when a pay-later order is due by default.
import type { Money } from "../bindings/Money";
import { cashChange, formatMoney, MoneyError, parseAmount, toDecimal, type ChangeResult } from "./money";
import { localToRfc3339, rfc3339ToLocal, TimeError } from "./time";

export type PayChoice = "cash" | "card" | "comp" | "later";

/** The choices in screen order, with their function keys. */
export const PAY_CHOICES: readonly { pay: PayChoice; label: string; key: string }[] = [
  { pay: "cash", label: "Cash", key: "F2" },
  { pay: "card", label: "Card", key: "F3" },
  { pay: "comp", label: "Comp", key: "F4" },
  { pay: "later", label: "Pay later", key: "F5" },
];

export function payForKey(key: string): PayChoice | null {
  return PAY_CHOICES.find((c) => c.key === key)?.pay ?? null;
}

/** How long a pay-later order is given by default. */
export const DEFAULT_DUE_HOURS = 48;

/**
 * The default deadline of a pay-later order, as a `datetime-local` value in the event's zone:
 * 48 hours ahead, or the event's start when that comes sooner (and is more than an hour away),
 * to the minute.
 */
export function defaultDue(now: Date, eventStartsAt: string | null, timeZone: string, hours = DEFAULT_DUE_HOURS): string {
  let due = now.getTime() + hours * 3600_000;
  const start = eventStartsAt ? Date.parse(eventStartsAt) : NaN;
  if (!Number.isNaN(start) && start < due && start > now.getTime() + 3600_000) due = start;
  return rfc3339ToLocal(new Date(Math.floor(due / 60_000) * 60_000).toISOString(), timeZone);
}

export type ChangeLine = { text: string; bad: boolean; change: ChangeResult | null; givenMinor: number | null; error: string | null };

/** What the "Change" line says for `given` (typed) against `total`. Empty: the exact amount. */
export function changeLine(total: Money, given: string): ChangeLine {
  if (!given.trim()) return { text: "Exact amount", bad: false, change: null, givenMinor: null, error: null };
  let givenMinor: number;
  try {
    givenMinor = parseAmount(given, total.currency);
  } catch (e) {
    const error = e instanceof MoneyError ? e.message : String(e);
    return { text: error, bad: true, change: null, givenMinor: null, error };
  }
  const change = cashChange(total.minor, givenMinor);
  const m = (minor: number) => formatMoney({ minor, currency: total.currency });
  const text = change.kind === "exact" ? "No change" : change.kind === "change" ? m(change.minor) : `${m(change.minor)} missing`;
  return { text, bad: change.kind === "short", change, givenMinor, error: null };
}

/** What the cashier filled in for the payment. */
export type PaymentDraft = {
  pay: PayChoice;
  /** Cash: the amount handed over, as typed; empty for the exact amount. */
  given: string;
  /** Card: the terminal approved the payment. */
  cardConfirmed: boolean;
  /** Card: the terminal's reference (optional). */
  cardRef: string;
  /** Comp: why the tickets are free. */
  compReason: string;
  /** Pay later: by when, as a `datetime-local` value in the event's zone. */
  due: string;
  /** Pay later: how the buyer will pay. */
  laterMethod: "cash" | "card";
};

export const emptyPayment = (pay: PayChoice = "cash"): PaymentDraft => ({
  pay,
  given: "",
  cardConfirmed: false,
  cardRef: "",
  compReason: "",
  due: "",
  laterMethod: "cash",
});

export type PaymentFields = {
  payment_method: string;
  tendered: string | null;
  card_confirmed: boolean;
  payment_note: string | null;
  pay_later: boolean;
  payment_due: string | null;
};

export type Problem = { message: string; field: string };

/**
 * The payment part of a sale, or the first thing to put right (with the field it belongs to,
 * named as the app names it). `total` is what is to be paid now.
 */
export function paymentFields(d: PaymentDraft, total: Money, timeZone: string, now: Date = new Date()): PaymentFields | Problem {
  const base: PaymentFields = { payment_method: d.pay, tendered: null, card_confirmed: false, payment_note: null, pay_later: false, payment_due: null };
  switch (d.pay) {
    case "cash": {
      const c = changeLine(total, d.given);
      if (c.error) return { message: "Amount given: " + c.error, field: "tendered" };
      if (c.change?.kind === "short") {
        return { message: `The amount given is ${formatMoney({ minor: c.change.minor, currency: total.currency })} short.`, field: "tendered" };
      }
      return { ...base, tendered: c.givenMinor === null ? null : toDecimal(c.givenMinor, total.currency) };
    }
    case "card":
      if (!d.cardConfirmed) return { message: "Tick “Terminal approved” once the card terminal has accepted the payment.", field: "card_confirmed" };
      return { ...base, card_confirmed: true, payment_note: d.cardRef.trim() || null };
    case "comp":
      if (!d.compReason.trim()) return { message: "Say why the tickets are free, e.g. “Press” or “Artist guest”.", field: "payment_note" };
      return { ...base, payment_note: d.compReason.trim() };
    case "later": {
      let due: string;
      try {
        due = localToRfc3339(d.due, timeZone);
      } catch (e) {
        return { message: "Pay by: " + (e instanceof TimeError ? e.message : String(e)), field: "payment_due" };
      }
      if (Date.parse(due) <= now.getTime()) return { message: "Pay by: choose a time in the future.", field: "payment_due" };
      return { ...base, payment_method: d.laterMethod, pay_later: true, payment_due: due };
    }
  }
}

export function isProblem(x: PaymentFields | Problem): x is Problem {
  return "message" in x;
}

// Coupons as people read and type them.
import type { Coupon } from "../bindings/Coupon";
import type { CouponKind } from "../bindings/CouponKind";
import { formatMoney, MoneyError, parseAmount, toDecimal } from "./money";
import { formatInstant } from "./time";

export const COUPON_KINDS: readonly { kind: CouponKind; label: string }[] = [
  { kind: "percent", label: "Percent off" },
  { kind: "amount_off", label: "Amount off each ticket" },
  { kind: "fixed_price", label: "Fixed price per ticket" },
];

/** "12.5 %" from 1,250 hundredths of a percent. */
export function formatPercent(hundredths: number): string {
  const whole = Math.floor(hundredths / 100);
  const frac = hundredths % 100;
  const text = frac === 0 ? String(whole) : `${whole}.${String(frac).padStart(2, "0").replace(/0$/, "")}`;
  return `${text} %`;
}

/** What the coupon does: "10 % off", "€5.00 off each ticket", "€10.00 per ticket". */
export function formatCouponValue(c: Pick<Coupon, "kind" | "value" | "currency">): string {
  switch (c.kind) {
    case "percent":
      return `${formatPercent(c.value)} off`;
    case "amount_off":
      return `${formatMoney({ minor: c.value, currency: c.currency })} off each ticket`;
    case "fixed_price":
      return `${formatMoney({ minor: c.value, currency: c.currency })} per ticket`;
  }
}

/** The value as the edit form shows it: "12.5" for a percentage, "5.00" for an amount. */
export function couponValueText(c: Pick<Coupon, "kind" | "value" | "currency">): string {
  return c.kind === "percent" ? formatPercent(c.value).replace(" %", "") : toDecimal(c.value, c.currency);
}

/** "3 / 10", or "3 / unlimited". */
export function couponUses(c: Pick<Coupon, "used" | "max_uses">): string {
  return `${c.used} / ${c.max_uses === null ? "unlimited" : c.max_uses}`;
}

/** When the coupon may be used, in the event's zone. */
export function couponWindow(c: Pick<Coupon, "valid_from" | "valid_until">, timeZone: string, locale?: string): string {
  const f = (iso: string) => formatInstant(iso, timeZone, locale);
  if (c.valid_from && c.valid_until) return `${f(c.valid_from)} – ${f(c.valid_until)}`;
  if (c.valid_from) return `From ${f(c.valid_from)}`;
  if (c.valid_until) return `Until ${f(c.valid_until)}`;
  return "Any time";
}

/**
 * Check a typed value the way the app will: a percentage above 0 and at most 100 with at most
 * two decimals, or an amount in the event's currency. Returns the problem, or null.
 */
export function couponValueProblem(kind: CouponKind, text: string, currency: string): string | null {
  const t = text.trim().replace(",", ".");
  if (!t) return kind === "percent" ? "Enter the percentage, e.g. 15 or 12.5." : "Enter the amount, e.g. 5.00.";
  if (kind === "percent") {
    if (!/^\d+(\.\d{1,2})?$/.test(t)) return "Enter a percentage such as 15 or 12.5 (at most two decimals).";
    const v = Number(t);
    if (v <= 0 || v > 100) return "A percentage must be above 0 and at most 100.";
    return null;
  }
  try {
    const minor = parseAmount(t, currency);
    if (kind === "amount_off" && minor === 0) return "The amount off must be more than zero.";
    return null;
  } catch (e) {
    return e instanceof MoneyError ? e.message : String(e);
  }
}

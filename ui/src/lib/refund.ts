// Refunds at the desk: what is left to refund per ticket, and checking a refund before it is
// asked for.
import type { Money } from "../bindings/Money";
import type { RefundLine } from "../bindings/RefundLine";
import type { Ticket } from "../bindings/Ticket";
import { formatMoney, MoneyError, parseAmount, toDecimal } from "./money";
import type { Problem } from "./payment";

/** What is left to refund of each ticket: its price less what went back for it. */
export function refundableByTicket(tickets: readonly Ticket[], refunds: readonly RefundLine[]): Map<string, number> {
  const out = new Map<string, number>();
  for (const t of tickets) {
    const back = refunds.filter((r) => r.ticket_id === t.id).reduce((n, r) => n + r.amount.minor, 0);
    out.set(t.id, Math.max(0, t.price.minor - back));
  }
  return out;
}

export type RefundDraft = {
  /** The whole order, or only `ticketIds`. */
  whole: boolean;
  ticketIds: string[];
  /** Empty: everything left of the chosen tickets (they are cancelled). */
  amount: string;
  method: "cash" | "card";
};

export type RefundRequest = { ticket_ids: string[]; amount: string | null; method: string; minor: number; cancels: boolean };

/**
 * The refund to ask for, or the first problem (with the field the app would name). `left` is
 * what is left to refund per ticket; `refundable` the order's total left.
 */
export function refundRequest(d: RefundDraft, left: Map<string, number>, refundable: Money): RefundRequest | Problem {
  if (refundable.minor <= 0) return { message: "Nothing is left to refund in this order.", field: "amount" };
  if (!d.whole && d.ticketIds.length === 0) return { message: "Tick the tickets to refund, or choose the whole order.", field: "ticket_ids" };
  const chosenLeft = d.whole ? refundable.minor : d.ticketIds.reduce((n, id) => n + (left.get(id) ?? 0), 0);
  if (chosenLeft <= 0) return { message: "The chosen tickets have been refunded already.", field: "ticket_ids" };
  const ticket_ids = d.whole ? [] : [...d.ticketIds];
  if (!d.amount.trim()) return { ticket_ids, amount: null, method: d.method, minor: chosenLeft, cancels: true };
  let minor: number;
  try {
    minor = parseAmount(d.amount, refundable.currency);
  } catch (e) {
    return { message: "Amount: " + (e instanceof MoneyError ? e.message : String(e)), field: "amount" };
  }
  if (minor <= 0) return { message: "Amount: must be more than zero.", field: "amount" };
  if (minor > chosenLeft) {
    return { message: `Amount: at most ${formatMoney({ minor: chosenLeft, currency: refundable.currency })} is left to refund.`, field: "amount" };
  }
  return { ticket_ids, amount: toDecimal(minor, refundable.currency), method: d.method, minor, cancels: false };
}

export function isRequest(x: RefundRequest | Problem): x is RefundRequest {
  return !("message" in x);
}

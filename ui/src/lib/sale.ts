// Pure helpers for the box office basket.
import type { LineInput } from "../bindings/LineInput";
import type { Money } from "../bindings/Money";
import type { TicketTypeAvailability } from "../bindings/TicketTypeAvailability";

export const MAX_QTY = 500;

export type Basket = Record<string, number>;

/** Lines to hold or sell, in the catalogue's order, with attendee names trimmed. */
export function basketLines(types: readonly TicketTypeAvailability[], basket: Basket, names: Record<string, string[]> = {}): LineInput[] {
  const out: LineInput[] = [];
  for (const { ticket_type: t } of types) {
    const q = basket[t.id] ?? 0;
    if (q <= 0) continue;
    const given = (names[t.id] ?? []).slice(0, q).map((n) => n.trim());
    while (given.length > 0 && given[given.length - 1] === "") given.pop();
    out.push({ ticket_type_id: t.id, quantity: q, attendee_names: given });
  }
  return out;
}

/** A stable key for what a hold covers (names do not matter to stock). */
export function linesKey(eventId: string, lines: readonly LineInput[]): string {
  return eventId + "|" + lines.map((l) => `${l.ticket_type_id}:${l.quantity}`).join(",");
}

/** Basket total per currency. */
export function basketTotal(types: readonly TicketTypeAvailability[], basket: Basket): Money[] {
  const out: Money[] = [];
  for (const { ticket_type: t } of types) {
    const q = basket[t.id] ?? 0;
    if (q <= 0) continue;
    const found = out.find((m) => m.currency === t.price.currency);
    if (found) found.minor += t.price.minor * q;
    else out.push({ minor: t.price.minor * q, currency: t.price.currency });
  }
  return out;
}

/** Clamp what was typed into a quantity field. */
export function parseQty(text: string): number {
  const digits = text.replace(/\D/g, "");
  if (!digits) return 0;
  return Math.min(MAX_QTY, Number(digits));
}

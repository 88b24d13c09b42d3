// The waiting list as the box office reads it.
import type { WaitlistEntry } from "../bindings/WaitlistEntry";
import { formatInstant } from "./time";

/** Entries still in play (waiting or offered) first, in order of arrival; then the rest. */
export function orderedEntries(entries: readonly WaitlistEntry[]): WaitlistEntry[] {
  const open = (e: WaitlistEntry) => e.status === "waiting" || e.status === "offered";
  return [...entries].sort((a, b) => Number(open(b)) - Number(open(a)) || a.meta.created_at.localeCompare(b.meta.created_at));
}

/** An offer that can still be sold at `now`. */
export function canSellOffer(e: WaitlistEntry, now: Date = new Date()): boolean {
  return e.status === "offered" && !!e.offer_expires_at && Date.parse(e.offer_expires_at) > now.getTime();
}

/** The status as a line: "Waiting", "Offered until Fri, 1 May 2026, 19:30", "Sold". */
export function entryStatusText(e: WaitlistEntry, timeZone: string, locale?: string): string {
  switch (e.status) {
    case "waiting":
      return "Waiting";
    case "offered":
      return e.offer_expires_at ? `Offered until ${formatInstant(e.offer_expires_at, timeZone, locale)}` : "Offered";
    case "sold":
      return "Sold";
    case "expired":
      return "Offer ran out";
    case "withdrawn":
      return "Removed";
  }
}

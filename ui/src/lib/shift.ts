// The cash drawer at the end of a shift: counted against expected.
import type { Money } from "../bindings/Money";
import { formatMoney } from "./money";

export type Difference = { kind: "exact" | "over" | "short"; text: string };

/** counted − expected, as people say it: "€0.50 short", "€2.00 over", "Exact". */
export function differenceText(differenceMinor: number, currency: string): Difference {
  if (differenceMinor === 0) return { kind: "exact", text: "Exact" };
  const amount = formatMoney({ minor: Math.abs(differenceMinor), currency });
  return differenceMinor > 0 ? { kind: "over", text: `${amount} over` } : { kind: "short", text: `${amount} short` };
}

/** The difference a count would make, before the shift is closed (null: not a valid amount). */
export function previewDifference(countedMinor: number | null, expected: Money): Difference | null {
  return countedMinor === null ? null : differenceText(countedMinor - expected.minor, expected.currency);
}

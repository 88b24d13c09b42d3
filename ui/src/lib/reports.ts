// Logic of the reports screens without React: the shift report's default window, totals,
// what each role sees, and how charts are shown.
import type { ChartKind } from "../bindings/ChartKind";
import type { MethodTotal } from "../bindings/MethodTotal";
import type { Money } from "../bindings/Money";
import type { Role } from "../bindings/Role";
import { sumByCurrency } from "./money";

export type ReportPart = "exports" | "tickets" | "shift" | "import";

const PARTS: Record<Role, readonly ReportPart[]> = {
  owner: ["exports", "tickets", "shift", "import"],
  manager: ["exports", "tickets", "shift", "import"],
  // The box office prints tickets and sees its own shift; no data leaves through it.
  box_office: ["shift", "tickets"],
  door: [],
};

export function reportPartsFor(role: Role): readonly ReportPart[] {
  return PARTS[role] ?? [];
}

function pad(n: number): string {
  return String(n).padStart(2, "0");
}

/** A Date as a `datetime-local` value in the machine's zone ("2026-05-01T19:30"). */
export function toLocalInput(d: Date): string {
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}`;
}

/** Today on this computer's clock: from local midnight to the next one. */
export function todayWindow(now: Date = new Date()): { from: string; to: string } {
  const start = new Date(now.getFullYear(), now.getMonth(), now.getDate());
  const end = new Date(now.getFullYear(), now.getMonth(), now.getDate() + 1);
  return { from: toLocalInput(start), to: toLocalInput(end) };
}

/** A `datetime-local` value read on this computer's clock, as an RFC 3339 instant. */
export function localInputToInstant(value: string): string | null {
  if (!/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2})?$/.test(value.trim())) return null;
  const d = new Date(value.trim());
  return Number.isNaN(d.getTime()) ? null : d.toISOString();
}

export type ShiftTotals = { sales: Money[]; refunded: Money[]; net: Money[]; orders: number; tickets: number };

/** The whole shift over every payment method, one amount per currency. */
export function shiftTotals(byMethod: readonly MethodTotal[]): ShiftTotals {
  return {
    sales: sumByCurrency(byMethod.map((m) => m.sales)),
    refunded: sumByCurrency(byMethod.map((m) => m.refunded)),
    net: sumByCurrency(byMethod.map((m) => m.net)),
    orders: byMethod.reduce((n, m) => n + Number(m.orders), 0),
    tickets: byMethod.reduce((n, m) => n + Number(m.tickets), 0),
  };
}

/**
 * An SVG document as an image address. Shown in an <img>, an SVG cannot run script or reach
 * the page, whatever text it holds.
 */
export function svgDataUrl(svg: string): string {
  return `data:image/svg+xml;charset=utf-8,${encodeURIComponent(svg)}`;
}

/** The pixel width to draw a chart at for a box `measured` wide: steps of 40, 320–1600. */
export function chartWidth(measured: number): number {
  if (!Number.isFinite(measured) || measured <= 0) return 640;
  return Math.max(320, Math.min(1600, Math.floor(measured / 40) * 40));
}

/** Revenue stacks three panels (type, channel, payment), the others two; each needs room. */
export function chartHeight(width: number, kind: ChartKind = "sales"): number {
  const ratio = kind === "revenue" ? 0.9 : 0.5;
  return Math.max(320, Math.min(4000, Math.round(width * ratio)));
}

export const PAYMENT_LABELS: Record<string, string> = { cash: "Cash", card: "Card", comp: "Comp" };

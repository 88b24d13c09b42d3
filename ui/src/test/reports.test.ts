// @vitest-environment happy-dom
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { act, createElement } from "react";

import type { ExportProgress } from "../bindings/ExportProgress";
import type { ImportPreview } from "../bindings/ImportPreview";
import type { ShiftReport } from "../bindings/ShiftReport";
import type { User } from "../bindings/User";
import { Reports } from "../screens/Reports";
import { event } from "./fixtures";
import { allByTestId, appCtx, byTestId, choose, click, mount, until, type Mounted } from "./dom";

const mocks = vi.hoisted(() => ({
  listEvents: vi.fn(),
  listUsers: vi.fn(),
  exportCsv: vi.fn(),
  saveTicketsPdf: vi.fn(),
  shiftReport: vi.fn(),
  importPreview: vi.fn(),
  importOrders: vi.fn(),
}));
vi.mock("../api", () => ({ api: mocks }));

const meta = { created_at: "2026-05-01T10:00:00Z", updated_at: "2026-05-01T10:00:00Z", version: 1 };
const eur = (minor: number) => ({ minor, currency: "EUR" });
const user = (id: string, username: string, display_name: string, role: User["role"]): User => ({ id, username, display_name, role, active: true, meta });

const report: ShiftReport = {
  from: "2026-05-01T00:00:00Z",
  to: "2026-05-02T00:00:00Z",
  lines: [
    { user_id: "u2", username: "bea", display_name: "Bea Berg", device_id: "dev-000000abcdef", method: "cash", orders: 3, tickets: 5, sales: eur(12500), refunds: 1, refunded: eur(2500), net: eur(10000) },
    { user_id: "u2", username: "bea", display_name: "Bea Berg", device_id: "dev-000000abcdef", method: "card", orders: 2, tickets: 2, sales: eur(5000), refunds: 0, refunded: eur(0), net: eur(5000) },
  ],
  drawers: [{ user_id: "u2", username: "bea", device_id: "dev-000000abcdef", cash_sales: eur(12500), cash_refunded: eur(2500), cash_expected: eur(10000) }],
  by_method: [
    { method: "card", orders: 2, tickets: 2, sales: eur(5000), refunds: 0, refunded: eur(0), net: eur(5000) },
    { method: "cash", orders: 3, tickets: 5, sales: eur(12500), refunds: 1, refunded: eur(2500), net: eur(10000) },
  ],
};

const preview = (over: Partial<ImportPreview> = {}): ImportPreview => ({
  rows: 3,
  orders: 2,
  tickets: 4,
  total: [eur(8500)],
  by_type: [
    { ticket_type_id: "adult", name: "Adult", tickets: 3 },
    { ticket_type_id: "child", name: "Child", tickets: 1 },
  ],
  columns: ["order", "ticket_type", "buyer_name"],
  ignored_columns: ["notes"],
  issues: [],
  issue_count: 0,
  sample: [],
  ...over,
});

/** Picks a file in the file input the way the browser reports it. */
async function pickFile(text: string, name = "orders.csv") {
  const input = byTestId<HTMLInputElement>(document, "import-file")!;
  const file = new File([text], name, { type: "text/csv" });
  Object.defineProperty(input, "files", { value: [file], configurable: true });
  await act(async () => {
    input.dispatchEvent(new Event("change", { bubbles: true }));
  });
}

const text = (id: string) => byTestId(document, id)?.textContent ?? "";

let m: Mounted | null = null;
beforeEach(() => {
  mocks.listEvents.mockResolvedValue([event]);
  mocks.listUsers.mockResolvedValue([user("u1", "ann", "Ann", "owner"), user("u2", "bea", "Bea Berg", "box_office"), user("u3", "cal", "Cal Door", "door")]);
  mocks.shiftReport.mockResolvedValue(report);
});
afterEach(() => {
  m?.unmount();
  m = null;
  vi.resetAllMocks();
});

describe("reports", () => {
  it("shows the export's progress as the rows are written, then where the file is", async () => {
    let progress: ((p: ExportProgress) => void) | null = null;
    let finish: (v: unknown) => void = () => {};
    mocks.exportCsv.mockImplementation((_input: unknown, onProgress: (p: ExportProgress) => void) => {
      progress = onProgress;
      return new Promise((ok) => (finish = ok));
    });
    m = await mount(createElement(Reports), appCtx({}, "owner"));
    await until(() => byTestId<HTMLSelectElement>(document, "reports-event")?.value === "ev1", "event chosen");
    await click(byTestId(document, "export-kind-attendees")!);
    await click(byTestId(document, "export-spreadsheet")!);
    await click(byTestId(document, "export-run")!);
    expect(mocks.exportCsv).toHaveBeenCalledWith({ event_id: "ev1", kind: "attendees", spreadsheet: true }, expect.any(Function));
    expect(byTestId<HTMLButtonElement>(document, "export-run")!.disabled).toBe(true);

    await act(async () => progress!({ done: 2000, total: 5000 }));
    const bar = byTestId(document, "export-progress")!.querySelector('[role="progressbar"]')!;
    expect(bar.getAttribute("aria-valuenow")).toBe("2000");
    expect(bar.getAttribute("aria-valuemax")).toBe("5000");
    expect(text("export-progress")).toContain("2000 / 5000");
    expect((bar.firstElementChild as HTMLElement).style.width).toBe("40%");

    await act(async () => progress!({ done: 5000, total: 5000 }));
    await act(async () => finish({ path: "/exports/spring-gala-attendees-2026-05-01_101500.csv", bytes: 123456, rows: 5000 }));
    await until(() => byTestId(document, "export-saved") !== null, "saved");
    expect(text("export-saved")).toContain("5000 rows");
    expect(text("export-saved-path")).toBe("/exports/spring-gala-attendees-2026-05-01_101500.csv");
    expect(bar.getAttribute("aria-valuenow")).toBe("5000");
  });

  it("shows a failed export's reason and no progress or path", async () => {
    mocks.exportCsv.mockRejectedValue({ code: "internal", message: "could not save the file in /x: disk full", field: null });
    m = await mount(createElement(Reports), appCtx({}, "owner"));
    await until(() => byTestId<HTMLSelectElement>(document, "reports-event")?.value === "ev1", "event chosen");
    await click(byTestId(document, "export-run")!);
    await until(() => byTestId(document, "report-exports")!.querySelector('[data-testid="error"]') !== null, "error");
    expect(text("report-exports")).toContain("disk full");
    expect(byTestId(document, "export-progress")).toBeNull();
    expect(byTestId(document, "export-saved")).toBeNull();
  });

  it("lists a preview's problems by line and column and keeps Import disabled", async () => {
    mocks.importPreview.mockResolvedValue(
      preview({
        issues: [
          { line: 3, column: "ticket_type", message: '"Balcony" is not a ticket type of this event (it has: Adult, Child)' },
          { line: 4, column: "quantity", message: "must be a whole number from 1 to 100" },
        ],
        issue_count: 2,
      }),
    );
    m = await mount(createElement(Reports), appCtx({}, "owner"));
    await until(() => byTestId<HTMLSelectElement>(document, "reports-event")?.value === "ev1", "event chosen");
    const csv = "ticket_type,quantity\nAdult,1\nBalcony,1\nAdult,0\n";
    await pickFile(csv);
    await until(() => byTestId(document, "import-preview") !== null, "preview");
    expect(mocks.importPreview).toHaveBeenCalledWith({ event_id: "ev1", csv, payment_method: "card", channel: null });
    const rows = allByTestId(document, "import-issue").map((r) => Array.from(r.querySelectorAll("td")).map((c) => c.textContent));
    expect(rows).toEqual([
      ["3", "ticket_type", '"Balcony" is not a ticket type of this event (it has: Adult, Child)'],
      ["4", "quantity", "must be a whole number from 1 to 100"],
    ]);
    expect(text("import-issue-count")).toContain("2 problems");
    expect(text("import-ignored")).toContain("notes");
    expect(byTestId<HTMLButtonElement>(document, "import-run")!.disabled).toBe(true);
    await click(byTestId(document, "import-run")!);
    expect(mocks.importOrders).not.toHaveBeenCalled();
  });

  it("imports a clean file once and says what it made", async () => {
    mocks.importPreview.mockResolvedValue(preview());
    mocks.importOrders.mockResolvedValue({ orders: 2, tickets: 4 });
    m = await mount(createElement(Reports), appCtx({}, "owner"));
    await until(() => byTestId<HTMLSelectElement>(document, "reports-event")?.value === "ev1", "event chosen");
    await choose(byTestId<HTMLSelectElement>(document, "import-payment")!, "cash");
    await pickFile("order,ticket_type,buyer_name,notes\nW-1,Adult,Grace,VIP\n");
    await until(() => byTestId(document, "import-ready") !== null, "preview without problems");
    expect(text("import-summary")).toContain("2 orders with 4 tickets");
    expect(allByTestId(document, "import-type").map((t) => t.textContent)).toEqual(["Adult × 3", ", Child × 1"]);
    const run = byTestId<HTMLButtonElement>(document, "import-run")!;
    expect(run.disabled).toBe(false);
    await click(run);
    await until(() => byTestId(document, "import-result") !== null, "result");
    expect(mocks.importOrders).toHaveBeenCalledWith({
      event_id: "ev1",
      csv: "order,ticket_type,buyer_name,notes\nW-1,Adult,Grace,VIP\n",
      payment_method: "cash",
      channel: null,
    });
    expect(text("import-result")).toBe("Imported 2 orders with 4 tickets.");
    expect(byTestId(document, "import-preview")).toBeNull();
    expect(byTestId<HTMLButtonElement>(document, "import-run")!.disabled).toBe(true);
  });

  it("shows the shift's totals per method, the net and each drawer's cash", async () => {
    m = await mount(createElement(Reports), appCtx({}, "owner"));
    await until(() => byTestId(document, "shift-report") !== null, "report");
    const call = mocks.shiftReport.mock.calls[0]![0];
    expect(call.user_id).toBeNull();
    // Today on this computer's clock.
    const midnight = new Date();
    midnight.setHours(0, 0, 0, 0);
    expect(call.from).toBe(midnight.toISOString());
    expect(Date.parse(call.to) - Date.parse(call.from)).toBeGreaterThanOrEqual(23 * 3600_000);

    const methods = allByTestId(document, "shift-method").map((r) => [r.dataset.method, Array.from(r.querySelectorAll("td")).map((c) => c.textContent)]);
    expect(methods).toEqual([
      ["card", ["Card", "2", "2", "€50.00", "0", "€0.00", "€50.00"]],
      ["cash", ["Cash", "3", "5", "€125.00", "1", "€25.00", "€100.00"]],
    ]);
    expect(text("shift-net")).toBe("€150.00");
    expect(text("shift-total")).toContain("€175.00");
    expect(text("shift-total")).toContain("€25.00");
    expect(allByTestId(document, "shift-drawer-expected").map((d) => d.textContent)).toEqual(["€100.00"]);
    expect(text("shift-drawer")).toContain("…abcdef");
    expect(text("shift-who")).toBe("All cashiers");

    // Another cashier reloads at once; door staff are not offered.
    const picker = byTestId<HTMLSelectElement>(document, "shift-user")!;
    expect(Array.from(picker.options).map((o) => o.textContent)).toEqual(["All cashiers", "Ann (Owner)", "Bea Berg (Box office)"]);
    await choose(picker, "u2");
    await until(() => mocks.shiftReport.mock.calls.length === 2, "second report");
    expect(mocks.shiftReport.mock.calls[1]![0].user_id).toBe("u2");

    // Printing is the browser's own dialog; the print style sheet keeps only the report.
    const print = vi.fn();
    const before = window.print;
    window.print = print;
    try {
      await click(byTestId(document, "shift-print")!);
    } finally {
      window.print = before;
    }
    expect(print).toHaveBeenCalledTimes(1);
    expect(byTestId(document, "shift-report")!.closest(".no-print")).toBeNull();
    expect(byTestId(document, "shift-show")!.closest(".no-print")).not.toBeNull();
  });

  it("gives the box office its own shift and ticket PDFs, and nothing else", async () => {
    mocks.saveTicketsPdf.mockResolvedValue({ path: "/exports/spring-gala-tickets-2026-05-01_101500.pdf", bytes: 2048 });
    m = await mount(createElement(Reports), appCtx({}, "box_office"));
    await until(() => byTestId(document, "shift-report") !== null, "report");
    expect(mocks.shiftReport.mock.calls[0]![0].user_id).toBe("u1");
    expect(mocks.listUsers).not.toHaveBeenCalled();
    const picker = byTestId<HTMLSelectElement>(document, "shift-user")!;
    expect(picker.disabled).toBe(true);
    expect(Array.from(picker.options).map((o) => o.value)).toEqual(["u1"]);
    expect(byTestId(document, "report-exports")).toBeNull();
    expect(byTestId(document, "report-import")).toBeNull();

    await until(() => byTestId<HTMLSelectElement>(document, "reports-event")?.value === "ev1", "event chosen");
    await choose(byTestId<HTMLSelectElement>(document, "tickets-layout")!, "four_per_a4");
    await click(byTestId(document, "tickets-pdf")!);
    await until(() => byTestId(document, "tickets-saved") !== null, "saved");
    expect(mocks.saveTicketsPdf).toHaveBeenCalledWith({ event_id: "ev1", order_id: null, layout: "four_per_a4" });
    expect(text("tickets-saved-path")).toBe("/exports/spring-gala-tickets-2026-05-01_101500.pdf");
  });
});

// @vitest-environment happy-dom
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { createElement } from "react";

import type { EventInput } from "../bindings/EventInput";
import type { CheckinListInput } from "../bindings/CheckinListInput";
import type { Coupon } from "../bindings/Coupon";
import type { CouponInput } from "../bindings/CouponInput";
import type { Quota } from "../bindings/Quota";
import type { QuotaInput } from "../bindings/QuotaInput";
import type { TicketTypeInput } from "../bindings/TicketTypeInput";
import { Events } from "../screens/Events";
import { event, list, syncStatusAt, tta, unpairedSync } from "./fixtures";
import { allByTestId, byTestId, click, mount, pressKey, typeInto, until, type Mounted } from "./dom";

const mocks = vi.hoisted(() => ({
  listEvents: vi.fn(),
  eventDetail: vi.fn(),
  createEvent: vi.fn(),
  createTicketType: vi.fn(),
  createQuota: vi.fn(),
  createCheckinList: vi.fn(),
  updateQuota: vi.fn(),
  updateCheckinList: vi.fn(),
  publishEvent: vi.fn(),
  listCoupons: vi.fn(),
  createCoupon: vi.fn(),
  updateCoupon: vi.fn(),
  syncStatus: vi.fn(),
}));
vi.mock("../api", () => ({ api: mocks }));

let m: Mounted | null = null;
const draft = { ...event, status: "draft" as const };
beforeEach(() => {
  mocks.listEvents.mockResolvedValue([]);
  mocks.createEvent.mockImplementation(async (i: EventInput) => ({ ...draft, name: i.name }));
  mocks.eventDetail.mockResolvedValue({
    availability: { event: draft, ticket_types: [tta("adult", "Adult", 1250, 100), tta("child", "Child", 600, null)], quotas: [] },
    lists: [list],
  });
  mocks.createTicketType.mockResolvedValue({});
  mocks.createQuota.mockResolvedValue({});
  mocks.publishEvent.mockResolvedValue({ ...event, status: "published" });
  mocks.listCoupons.mockResolvedValue([]);
  mocks.syncStatus.mockResolvedValue(unpairedSync());
});
afterEach(() => {
  m?.unmount();
  m = null;
  vi.clearAllMocks();
});

describe("events", () => {
  it("offers no new event while the server manages the catalogue", async () => {
    mocks.listEvents.mockResolvedValue([event]);
    mocks.syncStatus.mockResolvedValue(syncStatusAt(new Date(), { server_url: "https://tickets.example.org" }));
    m = await mount(createElement(Events));
    await until(() => byTestId(document, "catalogue-managed") !== null, "notice shown");
    expect(byTestId(document, "catalogue-managed")!.textContent).toContain("https://tickets.example.org");
    expect(byTestId(document, "event-new")).toBeNull();
    expect(allByTestId(document, "event-row")).toHaveLength(1);
  });

  it("offers a new event on a desk of its own", async () => {
    m = await mount(createElement(Events));
    await until(() => mocks.syncStatus.mock.calls.length > 0, "status asked");
    expect(byTestId(document, "event-new")).not.toBeNull();
    expect(byTestId(document, "catalogue-managed")).toBeNull();
  });

  it("creates an event with times in its own zone and opens it", async () => {
    m = await mount(createElement(Events));
    await click(byTestId(document, "event-new")!);
    await typeInto(byTestId<HTMLInputElement>(document, "event-name")!, "Spring Gala");
    await typeInto(byTestId<HTMLInputElement>(document, "event-venue")!, "Hall");
    await typeInto(byTestId<HTMLInputElement>(document, "event-tz")!, "Europe/Berlin");
    await typeInto(byTestId<HTMLInputElement>(document, "event-starts")!, "2026-05-01T19:30");
    await typeInto(byTestId<HTMLInputElement>(document, "event-ends")!, "2026-05-01T23:00");
    await click(byTestId(document, "event-save")!);
    await until(() => mocks.createEvent.mock.calls.length === 1, "create");
    expect(mocks.createEvent.mock.calls[0]![0]).toEqual({
      name: "Spring Gala",
      description: "",
      venue: "Hall",
      starts_at: "2026-05-01T19:30:00+02:00",
      ends_at: "2026-05-01T23:00:00+02:00",
      time_zone: "Europe/Berlin",
      category_id: null,
    });
    await until(() => byTestId(document, "event-status") !== null, "detail");
    expect(byTestId(document, "event-status")!.textContent).toBe("draft");
    expect(allByTestId(document, "tt-row")).toHaveLength(2);
    expect(allByTestId(document, "list-row")).toHaveLength(1);
  });

  it("lets the end follow a start typed part by part until the end is set by hand", async () => {
    m = await mount(createElement(Events));
    await click(byTestId(document, "event-new")!);
    const starts = byTestId<HTMLInputElement>(document, "event-starts")!;
    const ends = byTestId<HTMLInputElement>(document, "event-ends")!;
    // WebKit's segmented field reports "19:03" when the first minute digit is typed.
    await typeInto(starts, "2026-05-01T19:03");
    await typeInto(starts, "2026-05-01T19:30");
    expect(ends.value).toBe("2026-05-01T22:30");
    await typeInto(ends, "2026-05-01T23:00");
    await typeInto(starts, "2026-05-01T20:00");
    expect(ends.value).toBe("2026-05-01T23:00");
  });

  it("refuses an end before the start without calling the app", async () => {
    m = await mount(createElement(Events));
    await click(byTestId(document, "event-new")!);
    await typeInto(byTestId<HTMLInputElement>(document, "event-name")!, "X");
    await typeInto(byTestId<HTMLInputElement>(document, "event-venue")!, "Y");
    await typeInto(byTestId<HTMLInputElement>(document, "event-starts")!, "2026-05-01T19:30");
    await typeInto(byTestId<HTMLInputElement>(document, "event-ends")!, "2026-05-01T18:00");
    await click(byTestId(document, "event-save")!);
    expect(mocks.createEvent).not.toHaveBeenCalled();
    expect(byTestId(document, "error")!.textContent).toContain("end must be after the start");
  });

  it("adds ticket types with prices in minor units, quotas by type, and publishes", async () => {
    mocks.listEvents.mockResolvedValue([draft]);
    m = await mount(createElement(Events));
    await until(() => byTestId(document, "event-row") !== null, "row");
    await click(byTestId(document, "event-row")!);
    await until(() => byTestId(document, "tt-name") !== null, "detail");

    await typeInto(byTestId<HTMLInputElement>(document, "tt-name")!, "Student");
    await typeInto(byTestId<HTMLInputElement>(document, "tt-price")!, "8,5");
    await click(byTestId(document, "tt-add")!);
    await until(() => mocks.createTicketType.mock.calls.length === 1, "type created");
    expect(mocks.createTicketType.mock.calls[0]![0] as TicketTypeInput).toMatchObject({ event_id: "ev1", name: "Student", price_minor: 850, currency: "EUR" });

    await typeInto(byTestId<HTMLInputElement>(document, "tt-name")!, "Yen");
    await typeInto(byTestId<HTMLInputElement>(document, "tt-currency")!, "jpy");
    await typeInto(byTestId<HTMLInputElement>(document, "tt-price")!, "12.5");
    await click(byTestId(document, "tt-add")!);
    expect(mocks.createTicketType).toHaveBeenCalledTimes(1);
    expect(byTestId(document, "error")!.textContent).toContain("no decimal places");

    await typeInto(byTestId<HTMLInputElement>(document, "quota-name")!, "Hall");
    await typeInto(byTestId<HTMLInputElement>(document, "quota-size")!, "300");
    const boxes = allByTestId<HTMLInputElement>(document, "quota-type");
    expect(boxes.map((b) => b.value)).toEqual(["adult", "child"]);
    await click(boxes[1]!);
    await click(byTestId(document, "quota-add")!);
    await until(() => mocks.createQuota.mock.calls.length === 1, "quota");
    expect(mocks.createQuota.mock.calls[0]![0] as QuotaInput).toEqual({ event_id: "ev1", name: "Hall", size: 300, ticket_type_ids: ["child"] });

    await click(byTestId(document, "event-publish")!);
    await until(() => mocks.publishEvent.mock.calls.length === 1, "publish");
  });
});

describe("editing quotas and check-in lists", () => {
  const hall: Quota = {
    id: "q1",
    event_id: "ev1",
    name: "Hall",
    size: 100,
    ticket_type_ids: ["adult"],
    meta: { created_at: "2026-05-01T10:00:00Z", updated_at: "2026-05-01T11:00:00Z", version: 3 },
  };
  const door = { ...list, admitted: { kind: "only" as const, ticket_type_ids: ["adult"] }, gates: ["North"], meta: { ...list.meta, version: 2 } };

  async function openEvent() {
    mocks.listEvents.mockResolvedValue([draft]);
    mocks.eventDetail.mockResolvedValue({
      availability: { event: draft, ticket_types: [tta("adult", "Adult", 1250, 60), tta("child", "Child", 600, null)], quotas: [{ quota: hall, taken: 40 }] },
      lists: [door],
    });
    m = await mount(createElement(Events));
    await until(() => byTestId(document, "event-row") !== null, "row");
    await click(byTestId(document, "event-row")!);
    await until(() => byTestId(document, "quota-row") !== null, "detail");
  }

  it("saves a quota's new size against the version it was opened at", async () => {
    mocks.updateQuota.mockResolvedValue({ ...hall, size: 150 });
    await openEvent();
    await click(byTestId(document, "quota-edit")!);
    const size = byTestId<HTMLInputElement>(document, "quota-edit-size")!;
    expect(size.value).toBe("100");
    await typeInto(size, "150");
    await click(allByTestId<HTMLInputElement>(document, "quota-edit-type")[1]!);
    await click(byTestId(document, "quota-edit-save")!);
    await until(() => mocks.updateQuota.mock.calls.length === 1, "update");
    expect(mocks.updateQuota.mock.calls[0]).toEqual(["q1", 3, { event_id: "ev1", name: "Hall", size: 150, ticket_type_ids: ["adult", "child"] } satisfies QuotaInput]);
    await until(() => mocks.eventDetail.mock.calls.length === 2, "reload");
    expect(byTestId(document, "quota-edit-size")).toBeNull();
    expect(mocks.createQuota).not.toHaveBeenCalled();
  });

  it("shows a size below what is sold next to the size field", async () => {
    mocks.updateQuota.mockRejectedValue({ code: "invalid_input", message: "40 units are sold or held; the size cannot go below that", field: "size" });
    await openEvent();
    await click(byTestId(document, "quota-edit")!);
    const size = byTestId<HTMLInputElement>(document, "quota-edit-size")!;
    await typeInto(size, "30");
    await click(byTestId(document, "quota-edit-save")!);
    await until(() => byTestId(document, "quota-edit-size-error") !== null, "size error");
    const problem = byTestId(document, "quota-edit-size-error")!;
    expect(problem.textContent).toBe("40 are already sold or held; the size cannot go below that.");
    expect(problem.closest("label")).toBe(size.closest("label"));
    expect(size.getAttribute("aria-invalid")).toBe("true");
    expect(size.value).toBe("30");
    expect(byTestId(document, "error")).toBeNull();
  });

  it("reloads the event and says so when someone else changed the quota", async () => {
    mocks.updateQuota.mockRejectedValue({ code: "stale", message: "quota was changed meanwhile" });
    await openEvent();
    await click(byTestId(document, "quota-edit")!);
    await typeInto(byTestId<HTMLInputElement>(document, "quota-edit-size")!, "120");
    await click(byTestId(document, "quota-edit-save")!);
    await until(() => mocks.eventDetail.mock.calls.length === 2, "reload");
    await until(() => byTestId(document, "error") !== null, "notice");
    expect(byTestId(document, "error")!.dataset.code).toBe("stale");
    expect(byTestId(document, "error")!.textContent).toContain("Someone else changed this quota");
    expect(byTestId(document, "quota-edit-size")).toBeNull();
  });

  it("saves a check-in list's changed fields with its version", async () => {
    mocks.updateCheckinList.mockResolvedValue(door);
    await openEvent();
    await click(byTestId(document, "list-edit")!);
    const name = byTestId<HTMLInputElement>(document, "list-edit-name")!;
    expect(name.value).toBe("Main entrance");
    expect(allByTestId<HTMLInputElement>(document, "list-edit-type").map((b) => b.checked)).toEqual([true, false]);
    await typeInto(name, "Side door");
    await click(byTestId(document, "list-edit-multi")!);
    await click(byTestId(document, "list-edit-admit-pending")!);
    await typeInto(byTestId<HTMLInputElement>(document, "list-edit-gates")!, "North, South");
    await typeInto(byTestId<HTMLInputElement>(document, "list-edit-closes")!, "2099-05-01T23:00");
    await typeInto(byTestId<HTMLInputElement>(document, "list-edit-max-day")!, "2");
    await click(byTestId(document, "list-edit-save")!);
    await until(() => mocks.updateCheckinList.mock.calls.length === 1, "update");
    expect(mocks.updateCheckinList.mock.calls[0]).toEqual([
      "l1",
      2,
      {
        event_id: "ev1",
        name: "Side door",
        ticket_type_ids: ["adult"],
        admit_pending: true,
        allow_multi_entry: true,
        allow_entry_after_exit: false,
        admission_opens: null,
        admission_closes: "2099-05-01T23:00:00+02:00",
        max_entries_total: null,
        max_entries_per_day: 2,
        gates: ["North", "South"],
      } satisfies CheckinListInput,
    ]);
    expect(mocks.createCheckinList).not.toHaveBeenCalled();
  });

  it("closes the list editor with Escape and gives focus back to its row", async () => {
    await openEvent();
    const edit = byTestId(document, "list-edit")!;
    await click(edit);
    const name = byTestId<HTMLInputElement>(document, "list-edit-name")!;
    expect(document.activeElement).toBe(name);
    await pressKey("Escape", {}, name);
    expect(byTestId(document, "list-edit-name")).toBeNull();
    expect(document.activeElement).toBe(edit);
    expect(mocks.updateCheckinList).not.toHaveBeenCalled();
  });

  it("creates a list with an admission window in the event's zone and entry limits", async () => {
    mocks.createCheckinList.mockResolvedValue(door);
    await openEvent();
    await typeInto(byTestId<HTMLInputElement>(document, "list-name")!, "VIP");
    await typeInto(byTestId<HTMLInputElement>(document, "list-opens")!, "2026-05-01T18:00");
    await typeInto(byTestId<HTMLInputElement>(document, "list-closes")!, "2026-05-01T17:00");
    await typeInto(byTestId<HTMLInputElement>(document, "list-max-total")!, "0");
    await click(byTestId(document, "list-add")!);
    expect(byTestId(document, "error")!.textContent).toContain("close after it opens");
    await typeInto(byTestId<HTMLInputElement>(document, "list-closes")!, "2026-05-02T01:30");
    await click(byTestId(document, "list-add")!);
    expect(byTestId(document, "error")!.textContent).toContain("Max entries in total");
    expect(mocks.createCheckinList).not.toHaveBeenCalled();

    await typeInto(byTestId<HTMLInputElement>(document, "list-max-total")!, "3");
    await typeInto(byTestId<HTMLInputElement>(document, "list-max-day")!, "1");
    await click(byTestId(document, "list-add")!);
    await until(() => mocks.createCheckinList.mock.calls.length === 1, "create");
    expect(mocks.createCheckinList.mock.calls[0]![0] as CheckinListInput).toMatchObject({
      name: "VIP",
      admission_opens: "2026-05-01T18:00:00+02:00",
      admission_closes: "2026-05-02T01:30:00+02:00",
      max_entries_total: 3,
      max_entries_per_day: 1,
    });
    await until(() => byTestId<HTMLInputElement>(document, "list-opens")!.value === "", "form cleared");
    expect(byTestId<HTMLInputElement>(document, "list-max-total")!.value).toBe("");
  });

  it("adds a coupon to an event, checking the value first, and lists it", async () => {
    mocks.listEvents.mockResolvedValue([draft]);
    const created: Coupon = {
      id: "c1",
      event_id: "ev1",
      code: "SPRING10",
      kind: "percent",
      value: 1250,
      currency: "EUR",
      ticket_type_ids: ["adult"],
      valid_from: null,
      valid_until: "2099-05-01T17:30:00Z",
      min_order_minor: 0,
      max_uses: 50,
      used: 3,
      active: true,
      meta: { created_at: "", updated_at: "", version: 1 },
    };
    mocks.createCoupon.mockImplementation(async (i: CouponInput) => {
      mocks.listCoupons.mockResolvedValue([created]);
      return { ...created, code: i.code };
    });
    m = await mount(createElement(Events));
    await until(() => byTestId(document, "event-row") !== null, "event row");
    await click(byTestId(document, "event-row")!);
    await until(() => byTestId(document, "coupon-add") !== null, "coupon form");
    await typeInto(byTestId<HTMLInputElement>(document, "coupon-code")!, "spring10");
    await typeInto(byTestId<HTMLInputElement>(document, "coupon-value")!, "120");
    await click(byTestId(document, "coupon-add")!);
    expect(mocks.createCoupon).not.toHaveBeenCalled();
    expect(byTestId(document, "field-error-value")!.textContent).toMatch(/at most 100/);
    await typeInto(byTestId<HTMLInputElement>(document, "coupon-value")!, "12.5");
    await click(allByTestId(document, "coupon-type")[0]!);
    await typeInto(byTestId<HTMLInputElement>(document, "coupon-until")!, "2099-05-01T19:30");
    await typeInto(byTestId<HTMLInputElement>(document, "coupon-max")!, "50");
    await click(byTestId(document, "coupon-add")!);
    await until(() => mocks.createCoupon.mock.calls.length === 1, "created");
    expect(mocks.createCoupon.mock.calls[0]![0]).toEqual({
      event_id: "ev1",
      code: "SPRING10",
      kind: "percent",
      value: "12.5",
      ticket_type_ids: ["adult"],
      valid_from: null,
      valid_until: "2099-05-01T19:30:00+02:00",
      min_order: null,
      max_uses: 50,
      active: true,
    });
    await until(() => byTestId(document, "coupon-row") !== null, "coupon listed");
    expect(byTestId(document, "coupon-value-shown")!.textContent).toBe("12.5 % off");
    expect(byTestId(document, "coupon-uses")!.textContent).toBe("3 / 50");
  });
});

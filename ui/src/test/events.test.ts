// @vitest-environment happy-dom
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { createElement } from "react";

import type { EventInput } from "../bindings/EventInput";
import type { QuotaInput } from "../bindings/QuotaInput";
import type { TicketTypeInput } from "../bindings/TicketTypeInput";
import { Events } from "../screens/Events";
import { event, list, tta } from "./fixtures";
import { allByTestId, byTestId, click, mount, typeInto, until, type Mounted } from "./dom";

const mocks = vi.hoisted(() => ({
  listEvents: vi.fn(),
  eventDetail: vi.fn(),
  createEvent: vi.fn(),
  createTicketType: vi.fn(),
  createQuota: vi.fn(),
  createCheckinList: vi.fn(),
  publishEvent: vi.fn(),
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
});
afterEach(() => {
  m?.unmount();
  m = null;
  vi.clearAllMocks();
});

describe("events", () => {
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

// @vitest-environment happy-dom
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { act, createElement } from "react";

import type { ChartInput } from "../bindings/ChartInput";
import type { Dashboard as DashboardData } from "../bindings/Dashboard";
import { announce } from "../lib/changes";
import { CHART_REFRESH_MS, Dashboard } from "../screens/Dashboard";
import { event } from "./fixtures";
import { allByTestId, byTestId, choose, click, mount, settle, until, type Mounted } from "./dom";

const mocks = vi.hoisted(() => ({ dashboard: vi.fn(), chartSvg: vi.fn(), saveChartPng: vi.fn() }));
vi.mock("../api", () => ({ api: mocks }));

const progress = (id: string, name: string) => ({
  event: { ...event, id, name },
  sold: 3,
  capacity: 100,
  revenue: [{ minor: 7500, currency: "EUR" }],
  admitted: 1,
  inside: 1,
});
const data: DashboardData = {
  today_orders: 2,
  today_tickets: 3,
  today_revenue: [{ minor: 7500, currency: "EUR" }],
  events: [progress("ev1", "Spring Gala"), progress("ev2", "Autumn Ball")],
};

// What a chart's SVG may hold: a script would run if the page inserted it as markup.
const svgOf = (input: ChartInput, n: number) =>
  `<svg xmlns="http://www.w3.org/2000/svg" width="${input.width}" height="${input.height}"><script>window.__pwned = true</script><text>${input.kind} ${input.event_id} #${n}</text></svg>`;

let drawn = 0;
let m: Mounted | null = null;
beforeEach(() => {
  drawn = 0;
  mocks.dashboard.mockResolvedValue(data);
  mocks.chartSvg.mockImplementation(async (input: ChartInput) => svgOf(input, ++drawn));
});
afterEach(() => {
  m?.unmount();
  m = null;
  vi.useRealTimers();
  vi.resetAllMocks();
});

const images = () => allByTestId<HTMLImageElement>(document, "chart-img");
const decoded = (img: HTMLImageElement) => decodeURIComponent(img.getAttribute("src")!.split(",")[1]!);

describe("dashboard charts", () => {
  it("shows the event's three charts as SVG images, never as markup", async () => {
    m = await mount(createElement(Dashboard));
    await until(() => images().length === 3, "three charts");
    expect(["chart-sales", "chart-revenue", "chart-door"].map((id) => byTestId(document, id) !== null)).toEqual([true, true, true]);
    for (const img of images()) {
      expect(img.getAttribute("src")!.startsWith("data:image/svg+xml;charset=utf-8,")).toBe(true);
      expect(decoded(img)).toContain("ev1");
      expect(img.alt).not.toBe("");
    }
    expect(mocks.chartSvg.mock.calls.map((c) => c[0].kind).sort()).toEqual(["door", "revenue", "sales"]);
    const input = mocks.chartSvg.mock.calls[0]![0] as ChartInput;
    expect(input.width! >= 320 && input.height! >= 320).toBe(true);
    expect(document.querySelector("[data-testid=dash-charts] svg")).toBeNull();
    expect((window as { __pwned?: boolean }).__pwned).toBeUndefined();

    await choose(byTestId<HTMLSelectElement>(document, "chart-event")!, "ev2");
    await until(() => images().length === 3 && images().every((i) => decoded(i).includes("ev2")), "the other event's charts");
  });

  it("draws the charts again right after a sale or scan in this window", async () => {
    m = await mount(createElement(Dashboard));
    await until(() => images().length === 3, "three charts");
    const before = mocks.chartSvg.mock.calls.length;
    await act(async () => announce("sale"));
    await until(() => mocks.chartSvg.mock.calls.length === before + 3, "charts drawn again");
    await until(() => images().every((i) => /#[4-6]<\/text>/.test(decoded(i))), "new pictures shown");
    await act(async () => announce("scan"));
    await until(() => mocks.chartSvg.mock.calls.length === before + 6, "and after a scan");
    expect(mocks.dashboard.mock.calls.length).toBeGreaterThanOrEqual(3);
  });

  it("refreshes the charts every few seconds while shown", async () => {
    vi.useFakeTimers({ toFake: ["setInterval", "clearInterval"] });
    m = await mount(createElement(Dashboard));
    await until(() => images().length === 3, "three charts");
    const before = mocks.chartSvg.mock.calls.length;
    await act(async () => {
      vi.advanceTimersByTime(CHART_REFRESH_MS);
    });
    await until(() => mocks.chartSvg.mock.calls.length === before + 3, "charts drawn again");
    expect(CHART_REFRESH_MS).toBeLessThanOrEqual(10_000);
  });

  it("saves a chart as PNG and says where", async () => {
    mocks.saveChartPng.mockResolvedValue({ path: "/exports/spring-gala-revenue-chart-2026-05-01_101500.png", bytes: 40960 });
    m = await mount(createElement(Dashboard));
    await until(() => images().length === 3, "three charts");
    const panel = byTestId(document, "chart-revenue")!;
    await click(panel.querySelector<HTMLElement>('[data-testid="chart-save"]')!);
    await until(() => panel.querySelector('[data-testid="chart-saved"]') !== null, "saved");
    expect(mocks.saveChartPng).toHaveBeenCalledWith(expect.objectContaining({ event_id: "ev1", kind: "revenue" }));
    expect(panel.querySelector('[data-testid="chart-saved"]')!.textContent).toContain("spring-gala-revenue-chart-2026-05-01_101500.png");
    await settle();
  });
});

// @vitest-environment happy-dom
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { act, createElement } from "react";
import { createRoot, type Root } from "react-dom/client";

import type { AppStatus } from "../bindings/AppStatus";
import type { Role } from "../bindings/Role";
import { App } from "../App";
import { event, list, unpairedSync } from "./fixtures";
import { allByTestId, byTestId, click, settings, submit, typeInto, until } from "./dom";

const mocks = vi.hoisted(() => ({
  appStatus: vi.fn(),
  chooseDatabase: vi.fn(),
  createOwner: vi.fn(),
  login: vi.fn(),
  logout: vi.fn(),
  leaveKiosk: vi.fn(),
  dashboard: vi.fn(),
  listEvents: vi.fn(),
  doorLists: vi.fn(),
  checkinCounts: vi.fn(),
  searchOrders: vi.fn(),
  availability: vi.fn(),
  currentShift: vi.fn(async () => null),
  listWaitlist: vi.fn(async () => []),
  syncStatus: vi.fn(async () => unpairedSync()),
}));
vi.mock("../api", () => ({ api: mocks }));

const status = (over: Partial<AppStatus> = {}): AppStatus => ({
  needs_setup: false,
  database: "SQLite file admit.db",
  database_error: null,
  default_database: "/home/x/.local/share/admit/admit.db",
  session: null,
  settings: settings(),
  kiosk: false,
  version: "0.1.0",
  ...over,
});
const session = (role: Role) => ({ user_id: "u1", username: "ann", display_name: "Ann Admin", role });

let root: Root | null = null;
let container: HTMLElement | null = null;
async function start() {
  container = document.createElement("div");
  document.body.appendChild(container);
  root = createRoot(container);
  await act(async () => root!.render(createElement(App)));
}

beforeEach(() => {
  mocks.dashboard.mockResolvedValue({ today_orders: 3, today_tickets: 7, today_revenue: [{ minor: 8750, currency: "EUR" }], events: [] });
  mocks.listEvents.mockResolvedValue([event]);
  mocks.doorLists.mockResolvedValue([{ list, event }]);
  mocks.checkinCounts.mockResolvedValue({ admitted: 0, inside: 0 });
  mocks.searchOrders.mockResolvedValue([]);
  mocks.logout.mockResolvedValue(null);
});
afterEach(() => {
  act(() => root?.unmount());
  container?.remove();
  vi.clearAllMocks();
});

describe("app", () => {
  it("walks through first run: default database, then the owner, then in", async () => {
    mocks.appStatus.mockResolvedValueOnce(status({ needs_setup: true, database: null }));
    mocks.chooseDatabase.mockResolvedValue(status({ needs_setup: true }));
    mocks.createOwner.mockResolvedValue(session("owner"));
    await start();
    await until(() => byTestId(document, "screen-first-run") !== null, "first run");
    expect(document.body.textContent).toContain("/home/x/.local/share/admit/admit.db");
    await click(byTestId(document, "db-default")!);
    expect(mocks.chooseDatabase).toHaveBeenCalledWith(null);
    await until(() => byTestId(document, "owner-username") !== null, "owner form");

    await typeInto(byTestId<HTMLInputElement>(document, "owner-username")!, "ann");
    await typeInto(byTestId<HTMLInputElement>(document, "owner-display-name")!, "Ann Admin");
    await typeInto(byTestId<HTMLInputElement>(document, "owner-password")!, "correct horse");
    await typeInto(byTestId<HTMLInputElement>(document, "owner-password2")!, "correct hose");
    await click(byTestId(document, "owner-create")!);
    expect(mocks.createOwner).not.toHaveBeenCalled();
    expect(byTestId(document, "error")!.textContent).toContain("passwords differ");

    await typeInto(byTestId<HTMLInputElement>(document, "owner-password2")!, "correct horse");
    mocks.appStatus.mockResolvedValue(status({ session: session("owner") }));
    await click(byTestId(document, "owner-create")!);
    expect(mocks.createOwner).toHaveBeenCalledWith({ username: "ann", display_name: "Ann Admin", password: "correct horse", role: "owner" });
    await until(() => byTestId(document, "screen-dashboard") !== null, "dashboard");
    await until(() => byTestId(document, "dash-tickets")?.textContent === "7", "figures");
    expect(byTestId(document, "online-indicator")!.textContent).toBe("Local only");
  });

  it("says why the stored database could not be opened, and what to do", async () => {
    mocks.appStatus.mockResolvedValueOnce(
      status({
        needs_setup: true,
        database: null,
        database_error: "could not open the database at postgres://db/admit: connection refused. Check the path or URL and that the server is running.",
      }),
    );
    await start();
    await until(() => byTestId(document, "database-error") !== null, "database error");
    const box = byTestId(document, "database-error")!;
    expect(box.className).toContain("error");
    expect(box.getAttribute("role")).toBe("alert");
    expect(box.textContent).toContain("Could not open the database at postgres://db/admit: connection refused.");
    expect(box.textContent).toContain("choose the same place again");
    expect(byTestId(document, "db-default")).not.toBeNull();
  });

  it("uses a typed database location", async () => {
    mocks.appStatus.mockResolvedValueOnce(status({ needs_setup: true, database: null }));
    mocks.chooseDatabase.mockRejectedValue({ code: "invalid_input", message: "location: cannot connect to postgres://db/admit", field: "location" });
    await start();
    await until(() => byTestId(document, "db-location") !== null, "first run");
    await typeInto(byTestId<HTMLInputElement>(document, "db-location")!, " postgres://db/admit ");
    await click(byTestId(document, "db-continue")!);
    await until(() => byTestId(document, "error") !== null, "error");
    expect(mocks.chooseDatabase).toHaveBeenCalledWith("postgres://db/admit");
    expect(byTestId(document, "error")!.getAttribute("role")).toBe("alert");
    expect(byTestId(document, "error")!.textContent).toContain("cannot connect");
  });

  it("shows a failed login with what to do", async () => {
    mocks.appStatus.mockResolvedValue(status());
    mocks.login.mockRejectedValue({ code: "unauthenticated", message: "wrong username or password", field: null });
    await start();
    await until(() => byTestId(document, "screen-login") !== null, "login");
    await typeInto(byTestId<HTMLInputElement>(document, "login-username")!, "ann");
    await typeInto(byTestId<HTMLInputElement>(document, "login-password")!, "nope");
    await submit(byTestId(document, "login-submit")!);
    await until(() => byTestId(document, "error") !== null, "error");
    expect(byTestId(document, "error")!.textContent).toBe("Wrong username or password. Check the username and password and try again.");
    expect(byTestId<HTMLInputElement>(document, "login-password")!.value).toBe("");
  });

  it("gives door staff only the door", async () => {
    mocks.appStatus.mockResolvedValue(status({ session: session("door") }));
    await start();
    await until(() => byTestId(document, "screen-door") !== null, "door");
    expect(allByTestId(document, "nav-door")).toHaveLength(1);
    for (const s of ["dashboard", "events", "boxoffice", "orders", "reports", "settings"]) expect(byTestId(document, `nav-${s}`), s).toBeNull();
  });

  it("switches screens with Alt+number for the box office", async () => {
    mocks.appStatus.mockResolvedValue(status({ session: session("box_office") }));
    await start();
    await until(() => byTestId(document, "screen-boxoffice") !== null, "box office");
    await act(async () => {
      window.dispatchEvent(new KeyboardEvent("keydown", { key: "2", code: "Digit2", altKey: true }));
    });
    await until(() => byTestId(document, "screen-orders") !== null, "orders");
    await act(async () => {
      window.dispatchEvent(new KeyboardEvent("keydown", { key: "6", code: "Digit6", altKey: true }));
    });
    expect(byTestId(document, "screen-orders")).not.toBeNull();
  });

  it("starts in kiosk mode and leaves only with the PIN", async () => {
    mocks.appStatus.mockResolvedValue(status({ session: session("manager"), kiosk: true, settings: settings({ kiosk_pin_set: true }) }));
    await start();
    await until(() => byTestId(document, "screen-kiosk") !== null, "kiosk");
    expect(byTestId(document, "door-input")).not.toBeNull();
    expect(byTestId(document, "nav-dashboard")).toBeNull();
    await click(byTestId(document, "kiosk-leave")!);
    mocks.leaveKiosk.mockRejectedValueOnce({ code: "forbidden", message: "wrong PIN" });
    await typeInto(byTestId<HTMLInputElement>(document, "kiosk-leave-pin")!, "1111");
    await submit(byTestId(document, "kiosk-leave-pin")!);
    await until(() => byTestId(document, "error") !== null, "error");
    expect(byTestId(document, "screen-kiosk")).not.toBeNull();
    mocks.leaveKiosk.mockResolvedValueOnce(status({ session: session("manager"), kiosk: false }));
    await typeInto(byTestId<HTMLInputElement>(document, "kiosk-leave-pin")!, "2468");
    await submit(byTestId(document, "kiosk-leave-pin")!);
    await until(() => byTestId(document, "screen-dashboard") !== null, "shell");
    expect(mocks.leaveKiosk).toHaveBeenLastCalledWith("2468");
  });
});

// @vitest-environment happy-dom
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { createElement } from "react";

import type { NewUserInput } from "../bindings/NewUserInput";
import type { User } from "../bindings/User";
import { SettingsScreen } from "../screens/Settings";
import { event, list } from "./fixtures";
import { allByTestId, appCtx, byTestId, choose, click, mount, typeInto, until, type Mounted } from "./dom";

const mocks = vi.hoisted(() => ({
  doorLists: vi.fn(),
  listEvents: vi.fn(),
  eventDetail: vi.fn(),
  listUsers: vi.fn(),
  createUser: vi.fn(),
  updateUser: vi.fn(),
  saveSettings: vi.fn(),
  setKioskPin: vi.fn(),
  enterKiosk: vi.fn(),
  getMailSettings: vi.fn(),
}));
vi.mock("../api", () => ({ api: mocks }));

const meta = (version: number) => ({ created_at: "2026-05-01T10:00:00Z", updated_at: "2026-05-01T10:00:00Z", version });
// "u1" is the signed-in user in appCtx.
const ann: User = { id: "u1", username: "ann", display_name: "Ann", role: "owner", active: true, meta: meta(1) };
const bea: User = { id: "u2", username: "bea", display_name: "Bea Berg", role: "box_office", active: true, meta: meta(3) };
const cal: User = { id: "u3", username: "cal", display_name: "Cal Door", role: "door", active: false, meta: meta(2) };

const row = (username: string) => allByTestId(document, "user-row").find((r) => r.dataset.username === username)!;
const inRow = <T extends HTMLElement = HTMLElement>(username: string, id: string) => byTestId<T>(row(username), id);

let m: Mounted | null = null;
async function open(role: "owner" | "manager" = "owner") {
  m = await mount(createElement(SettingsScreen), appCtx({}, role));
  await until(() => allByTestId(document, "user-row").length > 0, "users listed");
}

beforeEach(() => {
  mocks.getMailSettings.mockResolvedValue({ smtp: null, worker: {} });
  mocks.doorLists.mockResolvedValue([{ list, event }]);
  mocks.listUsers.mockResolvedValue([bea, cal, ann]);
  mocks.createUser.mockImplementation(async (i: NewUserInput) => ({
    id: "u9",
    username: i.username,
    display_name: i.display_name,
    role: i.role,
    active: true,
    meta: meta(1),
  }));
});
afterEach(() => {
  m?.unmount();
  m = null;
  // Reset, not clear: a test's one-off answers must not leak into the next.
  vi.resetAllMocks();
});

describe("users", () => {
  it("shows an owner every account, active staff first, with controls for everyone but themselves", async () => {
    await open("owner");
    expect(byTestId(document, "users-section")).not.toBeNull();
    expect(allByTestId(document, "user-row").map((r) => r.dataset.username)).toEqual(["ann", "bea", "cal"]);
    expect(inRow("bea", "user-status")!.textContent).toBe("Active");
    expect(inRow("cal", "user-status")!.textContent).toBe("Deactivated");
    expect(inRow<HTMLSelectElement>("bea", "user-row-role")!.value).toBe("box_office");
    expect(inRow("bea", "user-deactivate")).not.toBeNull();
    expect(inRow("cal", "user-activate")).not.toBeNull();
    // The app refuses self-demotion and self-deactivation, so neither is offered.
    expect(inRow("ann", "user-row-role")).toBeNull();
    expect(inRow("ann", "user-deactivate")).toBeNull();
    expect(byTestId(document, "user-add")).not.toBeNull();
  });

  it("lets a manager look but not add, change or deactivate", async () => {
    await open("manager");
    expect(allByTestId(document, "user-row")).toHaveLength(3);
    expect(inRow("bea", "user-row-role-text")!.textContent).toBe("Box office");
    for (const id of ["user-add", "user-username", "user-deactivate", "user-activate", "user-row-role", "user-reset-password"]) {
      expect(byTestId(document, id), id).toBeNull();
    }
  });

  it("is not shown to box office or door staff", async () => {
    m = await mount(createElement(SettingsScreen), appCtx({}, "box_office"));
    expect(byTestId(document, "users-section")).toBeNull();
    expect(mocks.listUsers).not.toHaveBeenCalled();
  });

  it("creates a user with the chosen role and lists them", async () => {
    await open();
    const roles = Array.from(byTestId<HTMLSelectElement>(document, "user-role")!.options);
    expect(roles.find((o) => o.value === "door")!.textContent).toBe("Door — scans tickets only");
    expect(byTestId<HTMLSelectElement>(document, "user-role")!.value).toBe("door");

    await typeInto(byTestId<HTMLInputElement>(document, "user-username")!, " dan ");
    await typeInto(byTestId<HTMLInputElement>(document, "user-display-name")!, "Dan Desk");
    await typeInto(byTestId<HTMLInputElement>(document, "user-password")!, "correct horse");
    await typeInto(byTestId<HTMLInputElement>(document, "user-password2")!, "correct horse");
    await choose(byTestId<HTMLSelectElement>(document, "user-role")!, "manager");
    await click(byTestId(document, "user-add")!);

    await until(() => mocks.createUser.mock.calls.length === 1, "create");
    expect(mocks.createUser).toHaveBeenCalledWith({ username: "dan", display_name: "Dan Desk", password: "correct horse", role: "manager" });
    await until(() => allByTestId(document, "user-row").length === 4, "new row");
    expect(inRow<HTMLSelectElement>("dan", "user-row-role")!.value).toBe("manager");
    expect(byTestId(document, "users-notice")!.textContent).toBe("Added Dan Desk as Manager.");
    expect(byTestId<HTMLInputElement>(document, "user-password")!.value).toBe("");
  });

  it("refuses differing passwords before asking the app", async () => {
    await open();
    await typeInto(byTestId<HTMLInputElement>(document, "user-username")!, "dan");
    await typeInto(byTestId<HTMLInputElement>(document, "user-display-name")!, "Dan Desk");
    await typeInto(byTestId<HTMLInputElement>(document, "user-password")!, "correct horse");
    await typeInto(byTestId<HTMLInputElement>(document, "user-password2")!, "correct hose");
    await click(byTestId(document, "user-add")!);
    expect(mocks.createUser).not.toHaveBeenCalled();
    expect(byTestId(document, "error")!.textContent).toContain("two passwords differ");
  });

  it("shows why the app refused a new user", async () => {
    mocks.createUser.mockRejectedValueOnce({ code: "conflict", message: "username bea is taken" });
    await open();
    await typeInto(byTestId<HTMLInputElement>(document, "user-username")!, "bea");
    await typeInto(byTestId<HTMLInputElement>(document, "user-display-name")!, "Bea Two");
    await typeInto(byTestId<HTMLInputElement>(document, "user-password")!, "correct horse");
    await typeInto(byTestId<HTMLInputElement>(document, "user-password2")!, "correct horse");
    await click(byTestId(document, "user-add")!);
    await until(() => byTestId(document, "error") !== null, "error");
    expect(byTestId(document, "error")!.textContent).toContain("Username bea is taken.");
    expect(allByTestId(document, "user-row")).toHaveLength(3);
  });

  it("deactivates only after confirmation, sending the version it saw", async () => {
    mocks.updateUser.mockResolvedValue({ ...bea, active: false, meta: meta(4) });
    await open();
    await click(inRow("bea", "user-deactivate")!);
    await click(byTestId(document, "confirm-no")!);
    expect(mocks.updateUser).not.toHaveBeenCalled();

    await click(inRow("bea", "user-deactivate")!);
    await click(byTestId(document, "confirm-yes")!);
    await until(() => inRow("bea", "user-status")!.textContent === "Deactivated", "deactivated");
    expect(mocks.updateUser).toHaveBeenCalledWith("u2", { expected_version: 3, display_name: null, role: null, active: false, password: null });
    expect(inRow("bea", "user-activate")).not.toBeNull();
    expect(byTestId(document, "confirm-yes")).toBeNull();
  });

  it("reactivates after confirmation", async () => {
    mocks.updateUser.mockResolvedValue({ ...cal, active: true, meta: meta(3) });
    await open();
    await click(inRow("cal", "user-activate")!);
    await click(byTestId(document, "confirm-yes")!);
    await until(() => inRow("cal", "user-status")!.textContent === "Active", "active");
    expect(mocks.updateUser).toHaveBeenCalledWith("u3", expect.objectContaining({ expected_version: 2, active: true, role: null }));
  });

  it("changes a role from the table once confirmed", async () => {
    mocks.updateUser.mockResolvedValue({ ...bea, role: "manager", meta: meta(4) });
    await open();
    await choose(inRow<HTMLSelectElement>("bea", "user-row-role")!, "owner");
    expect(document.body.textContent).toContain("Bea Berg (bea) becomes Owner: everything, including managing users.");
    await click(byTestId(document, "confirm-no")!);
    expect(mocks.updateUser).not.toHaveBeenCalled();
    expect(inRow<HTMLSelectElement>("bea", "user-row-role")!.value).toBe("box_office");

    await choose(inRow<HTMLSelectElement>("bea", "user-row-role")!, "manager");
    await click(byTestId(document, "confirm-yes")!);
    await until(() => mocks.updateUser.mock.calls.length === 1, "update");
    expect(mocks.updateUser).toHaveBeenCalledWith("u2", expect.objectContaining({ expected_version: 3, role: "manager", active: null, password: null }));
    await until(() => byTestId(document, "users-notice") !== null, "notice");
    expect(byTestId(document, "users-notice")!.textContent).toBe("Bea Berg is now Manager.");
  });

  it("reloads and says so when someone else changed the user meanwhile", async () => {
    await open();
    mocks.updateUser.mockRejectedValueOnce({ code: "stale", message: "user was changed by someone else; reload and try again" });
    mocks.listUsers.mockResolvedValueOnce([ann, { ...bea, role: "door", meta: meta(4) }, cal]);
    await choose(inRow<HTMLSelectElement>("bea", "user-row-role")!, "manager");
    await click(byTestId(document, "confirm-yes")!);
    await until(() => byTestId(document, "error") !== null, "error");
    expect(mocks.listUsers).toHaveBeenCalledTimes(2);
    const error = byTestId(document, "error")!;
    expect(error.dataset.code).toBe("stale");
    expect(error.textContent).toContain("Someone else changed Bea Berg meanwhile");
    // The row now shows what the other person saved, and the next try carries its version.
    expect(inRow<HTMLSelectElement>("bea", "user-row-role")!.value).toBe("door");
    mocks.updateUser.mockResolvedValueOnce({ ...bea, role: "manager", meta: meta(5) });
    await choose(inRow<HTMLSelectElement>("bea", "user-row-role")!, "manager");
    await click(byTestId(document, "confirm-yes")!);
    await until(() => mocks.updateUser.mock.calls.length === 2, "retry");
    expect(mocks.updateUser.mock.calls[1]![1]).toMatchObject({ expected_version: 4, role: "manager" });
  });

  it("resets a password only when both entries match", async () => {
    mocks.updateUser.mockResolvedValue({ ...bea, meta: meta(4) });
    await open();
    await click(inRow("bea", "user-reset-password")!);
    await typeInto(byTestId<HTMLInputElement>(document, "user-new-password")!, "new secret 1");
    await typeInto(byTestId<HTMLInputElement>(document, "user-new-password2")!, "new secret 2");
    await click(byTestId(document, "user-reset-save")!);
    expect(mocks.updateUser).not.toHaveBeenCalled();
    expect(byTestId(document, "error")!.textContent).toContain("two passwords differ");

    await typeInto(byTestId<HTMLInputElement>(document, "user-new-password2")!, "new secret 1");
    await click(byTestId(document, "user-reset-save")!);
    await until(() => byTestId(document, "user-new-password") === null, "form closed");
    expect(mocks.updateUser).toHaveBeenCalledWith("u2", { expected_version: 3, display_name: null, role: null, active: null, password: "new secret 1" });
    expect(byTestId(document, "users-notice")!.textContent).toBe("New password saved for Bea Berg.");
  });
});

describe("settings", () => {
  it("offers published events' check-in lists as the door's default", async () => {
    await open();
    await until(() => byTestId<HTMLSelectElement>(document, "settings-list")!.options.length === 2, "lists");
    const options = Array.from(byTestId<HTMLSelectElement>(document, "settings-list")!.options).map((o) => [o.value, o.textContent]);
    expect(options).toEqual([
      ["", "None"],
      ["l1", "Spring Gala — Main entrance"],
    ]);
    expect(mocks.doorLists).toHaveBeenCalledTimes(1);
    expect(mocks.listEvents).not.toHaveBeenCalled();
    expect(mocks.eventDetail).not.toHaveBeenCalled();
  });
});

// @vitest-environment happy-dom
import { afterEach, describe, expect, it, vi } from "vitest";
import { act, createElement, Fragment } from "react";

import type { SyncStatus } from "../bindings/SyncStatus";
import { SyncIndicator } from "../components/SyncStatus";
import { SyncSection } from "../screens/Sync";
import { appCtx, allByTestId, byTestId, choose, click, mount, settle, submit, typeInto, until, type Mounted } from "./dom";
import { syncStatusAt, unpairedSync } from "./fixtures";

const mocks = vi.hoisted(() => ({
  syncStatus: vi.fn(),
  syncNow: vi.fn(),
  connectServer: vi.fn(),
  disconnectServer: vi.fn(),
  createPairingCode: vi.fn(),
  syncConflicts: vi.fn(),
}));
vi.mock("../api", () => ({ api: mocks }));

const paired = (over: Partial<SyncStatus> = {}) => syncStatusAt(new Date(), over);
const text = (m: Mounted, id: string) => byTestId(m.container, id)?.textContent ?? "";

let m: Mounted | null = null;
afterEach(() => {
  m?.unmount();
  m = null;
  vi.clearAllMocks();
  vi.useRealTimers();
});

describe("the sync indicator", () => {
  it("says local only, with no Sync now, when the device is not paired", async () => {
    mocks.syncStatus.mockResolvedValue(unpairedSync());
    m = await mount(createElement(SyncIndicator));
    await until(() => mocks.syncStatus.mock.calls.length > 0, "status asked");
    await settle();
    expect(text(m, "online-indicator")).toBe("Local only");
    expect(byTestId(m.container, "online-indicator")!.dataset.state).toBe("local");
    expect(byTestId(m.container, "sync-now")).toBeNull();
  });

  it("shows the last sync, uploads waiting, conflicts and a clock that is off", async () => {
    mocks.syncStatus.mockResolvedValue(paired({ waiting: 4, double_admissions: 1, upload_conflicts: 0, clock_offset_ms: -300_000 }));
    m = await mount(createElement(SyncIndicator));
    await until(() => text(m!, "sync-label") === "Synced just now", "synced");
    expect(byTestId(m.container, "online-indicator")!.dataset.state).toBe("warn");
    expect(allByTestId(m.container, "sync-note").map((n) => n.textContent)).toEqual(["4 changes to upload", "1 conflict", "Clock 5 min slow"]);
  });

  it("syncs now and shows the answer, or why it failed", async () => {
    mocks.syncStatus.mockResolvedValue(paired({ waiting: 2 }));
    m = await mount(createElement(SyncIndicator));
    await until(() => byTestId(m!.container, "sync-now") !== null, "Sync now");
    mocks.syncNow.mockResolvedValueOnce(paired({ state: "offline", online: false, failures: 1, waiting: 2, next_attempt_at: new Date(Date.now() + 1000).toISOString() }));
    await click(byTestId(m.container, "sync-now")!);
    expect(mocks.syncNow).toHaveBeenCalledTimes(1);
    await until(() => text(m!, "sync-label").startsWith("Offline — working locally"), "offline");
    expect(byTestId(m.container, "online-indicator")!.dataset.state).toBe("offline");
    expect(allByTestId(m.container, "sync-note").map((n) => n.textContent)).toEqual(["2 changes to upload"]);

    mocks.syncNow.mockRejectedValueOnce({ code: "conflict", message: "this device is not paired with a server; connect to one first" });
    await click(byTestId(m.container, "sync-now")!);
    await until(() => byTestId(m!.container, "sync-error") !== null, "error shown");
    expect(text(m, "sync-error")).toContain("This device is not paired with a server");
  });

  it("polls every second during a download and shows the count growing", async () => {
    vi.useFakeTimers({ shouldAdvanceTime: true });
    mocks.syncStatus
      .mockResolvedValueOnce(paired({ state: "syncing", first_download: true, downloading: 1000, last_sync_at: null }))
      .mockResolvedValueOnce(paired({ state: "syncing", first_download: true, downloading: 24000, last_sync_at: null }))
      .mockResolvedValue(paired());
    m = await mount(createElement(SyncIndicator));
    await until(() => text(m!, "sync-label") === "First download… 1,000 changes", "first page");
    expect(byTestId<HTMLButtonElement>(m.container, "sync-now")!.disabled).toBe(true);
    await act(async () => {
      await vi.advanceTimersByTimeAsync(1100);
    });
    await until(() => text(m!, "sync-label") === "First download… 24,000 changes", "more pages");
    await act(async () => {
      await vi.advanceTimersByTimeAsync(1100);
    });
    await until(() => text(m!, "sync-label") === "Synced just now", "done");
  });

  it("shows a refusal in red", async () => {
    mocks.syncStatus.mockResolvedValue(paired({ state: "refused", error: "the server refused this device: revoked", next_attempt_at: null }));
    m = await mount(createElement(SyncIndicator));
    await until(() => text(m!, "sync-label") === "Refused by the server", "refused");
    expect(byTestId(m.container, "online-indicator")!.dataset.state).toBe("refused");
  });
});

describe("server and sync settings", () => {
  it("checks the address and code before asking the app, keeps what was typed, and places the server's refusal", async () => {
    mocks.syncStatus.mockResolvedValue(unpairedSync());
    m = await mount(createElement(SyncSection));
    await until(() => byTestId(m!.container, "sync-connect") !== null, "connect form");
    const url = byTestId<HTMLInputElement>(m.container, "sync-server-url")!;
    const code = byTestId<HTMLInputElement>(m.container, "sync-code")!;
    await typeInto(url, "tickets.example.org");
    await typeInto(code, "7kqm x3ta 9rwe");
    await submit(code);
    expect(mocks.connectServer).not.toHaveBeenCalled();
    expect(text(m, "field-error-server_url")).toMatch(/http:\/\/ or https:\/\//);

    await typeInto(url, "http://admit.example:8080");
    mocks.connectServer.mockRejectedValueOnce({ code: "invalid_input", message: "code: has expired; ask for a new one", field: "code" });
    await submit(code);
    expect(mocks.connectServer).toHaveBeenCalledWith({ server_url: "http://admit.example:8080", code: "7kqm x3ta 9rwe" });
    await until(() => byTestId(m!.container, "field-error-code") !== null, "code error");
    expect(text(m, "field-error-code")).toContain("Has expired");
    expect(code.value).toBe("7kqm x3ta 9rwe");
    expect(url.value).toBe("http://admit.example:8080");

    mocks.connectServer.mockResolvedValueOnce(paired({ state: "starting", last_sync_at: null }));
    await submit(code);
    await until(() => byTestId(m!.container, "sync-paired") !== null, "paired card");
    expect(text(m, "sync-server")).toBe("http://admit.example:8080");
    expect(text(m, "sync-state")).toBe("Connecting…");
  });

  it("only owners connect; others read that the device is local", async () => {
    mocks.syncStatus.mockResolvedValue(unpairedSync());
    m = await mount(createElement(SyncSection), appCtx({}, "manager"));
    await until(() => mocks.syncStatus.mock.calls.length > 0, "status");
    await settle();
    expect(byTestId(m.container, "sync-connect")).toBeNull();
    expect(byTestId(m.container, "pairing-code-card")).toBeNull();
    expect(m.container.textContent).toContain("keeps all data on this computer");
  });

  it("lists double admissions with who, where and when, once asked", async () => {
    mocks.syncStatus.mockResolvedValue(paired({ double_admissions: 1, upload_conflicts: 1 }));
    m = await mount(createElement(SyncSection));
    await until(() => byTestId(m!.container, "sync-conflicts-show") !== null, "conflicts card");
    expect(mocks.syncConflicts).not.toHaveBeenCalled();
    mocks.syncConflicts.mockResolvedValueOnce({
      double_admissions: [
        {
          scan_id: "s1",
          ticket_id: "t-42",
          list_id: "l1",
          device_id: "d-north",
          gate: "North 2",
          at: "2026-11-21T19:02:00Z",
          explanation: "already admitted 19:01 at South 1",
        },
      ],
      uploads: [{ entry_id: "e1", device_id: "d-desk", entity: "order", reason: "unreadable order", at: "2026-11-21T18:00:00Z" }],
    });
    await click(byTestId(m.container, "sync-conflicts-show")!);
    await until(() => allByTestId(m!.container, "double-admission").length === 1, "listed");
    const row = allByTestId(m.container, "double-admission")[0]?.textContent ?? "";
    for (const part of ["North 2", "d-north", "t-42", "already admitted 19:01 at South 1"]) expect(row).toContain(part);
    expect(allByTestId(m.container, "upload-conflict")[0]?.textContent).toContain("unreadable order");
  });

  it("offers no conflicts list when there are none", async () => {
    mocks.syncStatus.mockResolvedValue(paired({ double_admissions: 0, upload_conflicts: 0 }));
    m = await mount(createElement(SyncSection));
    await until(() => byTestId(m!.container, "sync-paired") !== null, "paired card");
    expect(byTestId(m.container, "sync-conflict-list")).toBeNull();
  });

  it("tells the top bar at once when the device connects", async () => {
    mocks.syncStatus.mockResolvedValue(unpairedSync());
    m = await mount(createElement(Fragment, null, createElement(SyncIndicator), createElement(SyncSection)));
    await until(() => byTestId(m!.container, "sync-connect") !== null, "connect form");
    expect(text(m, "sync-label")).toBe("Local only");
    const asked = mocks.syncStatus.mock.calls.length;
    mocks.connectServer.mockResolvedValueOnce(paired());
    await typeInto(byTestId<HTMLInputElement>(m.container, "sync-server-url")!, "https://tickets.example.org");
    await typeInto(byTestId<HTMLInputElement>(m.container, "sync-code")!, "7KQM-X3TA-9RWE");
    await submit(byTestId(m.container, "sync-connect-submit")!);
    await until(() => text(m!, "sync-label") === "Synced just now", "the top bar heard it");
    expect(mocks.syncStatus.mock.calls.length).toBe(asked);
    // The next pairing code is for the same server.
    expect(byTestId<HTMLInputElement>(m.container, "pair-server-url")!.value).toBe("http://admit.example:8080");
  });

  it("disconnects after saying what stays on the device", async () => {
    mocks.syncStatus.mockResolvedValue(paired({ waiting: 3 }));
    m = await mount(createElement(SyncSection));
    await until(() => byTestId(m!.container, "sync-disconnect") !== null, "paired card");
    expect(text(m, "sync-waiting")).toBe("3");
    await click(byTestId(m.container, "sync-disconnect")!);
    expect(byTestId(document, "sync-disconnect-note")!.textContent).toContain("3 changes made here have not reached the server; they stay on this device");
    mocks.disconnectServer.mockResolvedValueOnce(unpairedSync());
    await click(byTestId(document, "confirm-yes")!);
    await until(() => byTestId(m!.container, "sync-connect") !== null, "connect form again");
    expect(mocks.disconnectServer).toHaveBeenCalledTimes(1);
  });

  it("makes a pairing code for another device and shows it as text and QR with its expiry", async () => {
    mocks.syncStatus.mockResolvedValue(paired());
    m = await mount(createElement(SyncSection));
    await until(() => byTestId(m!.container, "pairing-code-card") !== null, "code card");
    expect(byTestId<HTMLInputElement>(m.container, "pair-server-url")!.value).toBe("http://admit.example:8080");
    await typeInto(byTestId<HTMLInputElement>(m.container, "pair-username")!, "owner");
    await typeInto(byTestId<HTMLInputElement>(m.container, "pair-password")!, "secret words");
    await choose(byTestId<HTMLSelectElement>(m.container, "pair-role")!, "box_office");
    await submit(byTestId(m.container, "pair-make")!);
    expect(mocks.createPairingCode).not.toHaveBeenCalled();
    expect(text(m, "field-error-name")).toContain("Name the device");

    await typeInto(byTestId<HTMLInputElement>(m.container, "pair-name")!, "Desk 3");
    mocks.createPairingCode.mockResolvedValueOnce({
      code: "7KQM-X3TA-9RWE",
      name: "Desk 3",
      role: "box_office",
      expires_at: "2026-05-01T10:15:00Z",
      server_url: "http://admit.example:8080",
      qr_svg: '<svg xmlns="http://www.w3.org/2000/svg"><rect width="1" height="1"/></svg>',
    });
    await submit(byTestId(m.container, "pair-make")!);
    expect(mocks.createPairingCode).toHaveBeenCalledWith({
      server_url: "http://admit.example:8080",
      username: "owner",
      password: "secret words",
      name: "Desk 3",
      role: "box_office",
      expires_in_minutes: 15,
    });
    await until(() => byTestId(m!.container, "pairing-code") !== null, "code shown");
    expect(text(m, "pairing-code")).toBe("7KQM-X3TA-9RWE");
    expect(text(m, "pairing-expires")).toMatch(/^Good until .*2026/);
    const qr = byTestId<HTMLImageElement>(m.container, "pairing-qr")!;
    expect(qr.getAttribute("src")).toMatch(/^data:image\/svg\+xml,%3Csvg/);
  });
});

import { describe, expect, it } from "vitest";

import { syncStatusAt } from "../test/fixtures";
import { ago, checkPairingCode, checkServerUrl, clockNote, pollMs, syncLine } from "./sync";

const now = new Date("2026-05-01T10:00:00Z");
const at = (secondsAgo: number) => new Date(now.getTime() - secondsAgo * 1000).toISOString();
const syncStatus = (over: Parameters<typeof syncStatusAt>[1] = {}) => syncStatusAt(now, over);

describe("the sync line", () => {
  it("says local only without a server", () => {
    expect(syncLine(syncStatus({ state: "unpaired" }), now)).toEqual({ tone: "local", label: "Local only", notes: [] });
  });

  it("says when it last synced, and what waits or conflicts", () => {
    expect(syncLine(syncStatus(), now)).toEqual({ tone: "online", label: "Synced just now", notes: [] });
    const busy = syncLine(syncStatus({ last_sync_at: at(300), waiting: 3, double_admissions: 1, upload_conflicts: 1 }), now);
    expect(busy.label).toBe("Synced 5 min ago");
    expect(busy.notes).toEqual(["3 changes to upload", "2 conflicts"]);
    expect(busy.tone).toBe("warn");
    expect(syncLine(syncStatus({ waiting: 1 }), now).notes).toEqual(["1 change to upload"]);
  });

  it("is offline with the next try counted down, keeping what waits", () => {
    const s = syncLine(syncStatus({ state: "offline", online: false, next_attempt_at: at(-8), waiting: 2 }), now);
    expect(s).toEqual({ tone: "offline", label: "Offline — working locally, retrying in 8 s", notes: ["2 changes to upload"] });
  });

  it("counts a first download as it comes in", () => {
    const s = syncLine(syncStatus({ state: "syncing", downloading: 12500, first_download: true }), now);
    expect(s.label).toBe("First download… 12,500 changes");
    expect(syncLine(syncStatus({ state: "syncing", downloading: 0 }), now).label).toBe("Syncing…");
  });

  it("is red when the server refused the device", () => {
    expect(syncLine(syncStatus({ state: "refused" }), now)).toMatchObject({ tone: "refused", label: "Refused by the server" });
  });

  it("warns of a clock a minute or more off, and not of less", () => {
    expect(clockNote(null)).toBeNull();
    expect(clockNote(59_000)).toBeNull();
    expect(clockNote(-59_000)).toBeNull();
    expect(clockNote(90_000)).toBe("Clock 90 s fast");
    expect(clockNote(-600_000)).toBe("Clock 10 min slow");
    expect(clockNote(3 * 3600_000)).toBe("Clock 3 h fast");
    expect(syncLine(syncStatus({ clock_offset_ms: 600_000 }), now)).toMatchObject({ tone: "warn", notes: ["Clock 10 min fast"] });
  });

  it("asks often only while a round runs", () => {
    expect(pollMs(syncStatus({ state: "syncing" }))).toBe(1000);
    expect(pollMs(syncStatus())).toBe(5000);
    expect(ago(null, now)).toBe("never");
    expect(ago(at(7200), now)).toBe("2 h ago");
  });
});

describe("what people type to pair", () => {
  it("takes codes however they are spaced or cased", () => {
    expect(checkPairingCode("7KQM-X3TA-9RWE")).toBeNull();
    expect(checkPairingCode(" 7kqm x3ta 9rwe ")).toBeNull();
    expect(checkPairingCode("")).toMatch(/Type the pairing code/);
    expect(checkPairingCode("7KQM-X3TA")).toMatch(/twelve/);
    expect(checkPairingCode("7KQM-X3TA-9RW0")).toMatch(/no 0, O, 1, I or L/);
  });

  it("wants a web address", () => {
    expect(checkServerUrl("https://tickets.example.org")).toBeNull();
    expect(checkServerUrl("http://10.0.0.5:8080/")).toBeNull();
    expect(checkServerUrl("")).toMatch(/Type the server's address/);
    expect(checkServerUrl("tickets.example.org")).toMatch(/http:\/\/ or https:\/\//);
  });
});

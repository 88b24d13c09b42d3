import { describe, expect, it } from "vitest";
import { formatScanTime, isTimeZone, localToRfc3339, offsetMinutes, rfc3339ToLocal, TimeError } from "./time";

describe("localToRfc3339", () => {
  it("uses the zone's offset on that date", () => {
    expect(localToRfc3339("2026-05-01T19:30", "Europe/Berlin")).toBe("2026-05-01T19:30:00+02:00");
    expect(localToRfc3339("2026-01-15T19:30", "Europe/Berlin")).toBe("2026-01-15T19:30:00+01:00");
    expect(localToRfc3339("2026-05-01T19:30", "America/New_York")).toBe("2026-05-01T19:30:00-04:00");
    expect(localToRfc3339("2026-05-01T19:30", "Asia/Kolkata")).toBe("2026-05-01T19:30:00+05:30");
    expect(localToRfc3339("2026-05-01T19:30", "UTC")).toBe("2026-05-01T19:30:00+00:00");
    expect(localToRfc3339("2026-05-01T19:30:15", "Europe/Berlin")).toBe("2026-05-01T19:30:15+02:00");
  });

  it("names the same instant", () => {
    const s = localToRfc3339("2026-05-01T19:30", "Europe/Berlin");
    expect(new Date(s).toISOString()).toBe("2026-05-01T17:30:00.000Z");
  });

  it("handles the spring-forward night in Europe/Berlin", () => {
    // 29 March 2026: 02:00 CET becomes 03:00 CEST.
    expect(localToRfc3339("2026-03-29T01:59", "Europe/Berlin")).toBe("2026-03-29T01:59:00+01:00");
    expect(() => localToRfc3339("2026-03-29T02:30", "Europe/Berlin")).toThrow(TimeError);
    expect(() => localToRfc3339("2026-03-29T02:30", "Europe/Berlin")).toThrow(/does not exist/);
    expect(localToRfc3339("2026-03-29T03:00", "Europe/Berlin")).toBe("2026-03-29T03:00:00+02:00");
  });

  it("takes the first of a repeated hour in autumn", () => {
    // 25 October 2026: 03:00 CEST becomes 02:00 CET; 02:30 happens twice.
    const s = localToRfc3339("2026-10-25T02:30", "Europe/Berlin");
    expect(s).toBe("2026-10-25T02:30:00+02:00");
    expect(new Date(s).toISOString()).toBe("2026-10-25T00:30:00.000Z");
    expect(localToRfc3339("2026-10-25T03:30", "Europe/Berlin")).toBe("2026-10-25T03:30:00+01:00");
  });

  it("refuses bad input with a message", () => {
    expect(() => localToRfc3339("", "Europe/Berlin")).toThrow(/Enter a date/);
    expect(() => localToRfc3339("2026-02-30T10:00", "Europe/Berlin")).toThrow(/valid date/);
    expect(() => localToRfc3339("2026-05-01T19:30", "Mars/Olympus")).toThrow(/not a time zone/);
  });
});

describe("zone helpers", () => {
  it("knows zones and offsets", () => {
    expect(isTimeZone("Europe/Berlin")).toBe(true);
    expect(isTimeZone("Nowhere/Else")).toBe(false);
    expect(offsetMinutes(Date.UTC(2026, 6, 1), "Europe/Berlin")).toBe(120);
    expect(offsetMinutes(Date.UTC(2026, 0, 1), "America/New_York")).toBe(-300);
  });

  it("turns instants back into datetime-local values in the event's zone", () => {
    expect(rfc3339ToLocal("2026-05-01T17:30:00Z", "Europe/Berlin")).toBe("2026-05-01T19:30");
    expect(rfc3339ToLocal("2026-10-25T00:30:00Z", "Europe/Berlin")).toBe("2026-10-25T02:30");
    expect(rfc3339ToLocal("2026-05-01T17:30:00Z", "Asia/Tokyo")).toBe("2026-05-02T02:30");
    expect(rfc3339ToLocal("garbage", "Europe/Berlin")).toBe("");
  });

  it("shows door times as time of day today, with the date otherwise", () => {
    const now = new Date("2026-05-01T18:00:00Z");
    expect(formatScanTime("2026-05-01T17:02:05Z", now, "Europe/Berlin", "en-GB")).toBe("19:02:05");
    expect(formatScanTime("2026-04-30T17:02:05Z", now, "Europe/Berlin", "en-GB")).toBe("30 Apr, 19:02");
  });
});

import { describe as group, expect, it } from "vitest";
import { describe, hintFor, localError, toAppError } from "./errors";

group("errors", () => {
  it("keeps the app's {code, message, field} and fills a missing field", () => {
    expect(toAppError({ code: "sold_out", message: "sold out: only 2 left" })).toEqual({ code: "sold_out", message: "sold out: only 2 left", field: null });
    expect(toAppError({ code: "invalid_input", message: "name: must not be empty", field: "name" }).field).toBe("name");
  });

  it("turns plain strings and exceptions into internal errors", () => {
    expect(toAppError("invalid args `eventId` for command `event_detail`")).toMatchObject({ code: "internal" });
    expect(toAppError(new Error("boom"))).toEqual({ code: "internal", message: "boom", field: null });
    expect(toAppError(undefined).message).toBe("Something went wrong.");
  });

  it("says what to do", () => {
    expect(describe({ code: "sold_out", message: "sold out: only 2 left", field: null })).toBe(
      "Sold out: only 2 left. Lower the quantity or choose another ticket type.",
    );
    expect(describe({ code: "busy", message: "the database is busy; try again", field: null })).toBe(
      "The database is busy; try again.",
    );
    expect(describe(localError("Enter a username."))).toBe("Enter a username.");
    expect(hintFor({ code: "forbidden", message: "", field: null })).toMatch(/manager or owner/);
    expect(hintFor({ code: "something_new", message: "", field: null })).toBe("");
  });
});

import { describe as group, expect, it } from "vitest";
import { describe, describeAtField, hintFor, isAbout, localError, toAppError, unplaced } from "./errors";

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

group("field errors", () => {
  it("places an error next to its field and nowhere else", () => {
    const e = { code: "invalid_input", message: "coupon_code: is not a coupon", field: "coupon_code" };
    expect(isAbout(e, "coupon_code")).toBe(true);
    expect(isAbout({ ...e, field: "ticket_ids[1]" }, "ticket_ids")).toBe(true);
    expect(isAbout(e, "coupon")).toBe(false);
    expect(isAbout(null, "coupon_code")).toBe(false);
    expect(unplaced(e, ["coupon_code", "tendered"])).toBeNull();
    expect(unplaced(e, ["tendered"])).toBe(e);
    expect(unplaced({ ...e, field: null }, ["coupon_code"])).toMatchObject({ field: null });
  });
});

group("messages next to a field", () => {
  it("leave out the field's name, which the place already says", () => {
    expect(describeAtField({ code: "invalid_input", message: "from_address: is not an e-mail address", field: "from_address" })).toBe(
      "Is not an e-mail address. Correct the value and try again.",
    );
    expect(describeAtField(localError("Enter the amount.", "amount"))).toBe("Enter the amount.");
  });
});

import { describe, expect, it } from "vitest";
import { differenceText, previewDifference } from "./shift";

describe("shift difference", () => {
  it("says over, short or exact", () => {
    expect(differenceText(0, "EUR")).toEqual({ kind: "exact", text: "Exact" });
    expect(differenceText(-50, "EUR").kind).toBe("short");
    expect(differenceText(-50, "EUR").text).toMatch(/0\.50 short/);
    expect(differenceText(200, "EUR").text).toMatch(/2\.00 over/);
  });

  it("previews a count against what is expected", () => {
    expect(previewDifference(10450, { minor: 10500, currency: "EUR" })?.text).toMatch(/0\.50 short/);
    expect(previewDifference(null, { minor: 10500, currency: "EUR" })).toBeNull();
  });
});

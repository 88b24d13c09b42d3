import { describe, expect, it } from "vitest";
import { ALL_VERDICTS, verdictAdvice, verdictReason, verdictView } from "./verdict";
import type { Verdict } from "../bindings/Verdict";

describe("verdict views", () => {
  it("colours every verdict", () => {
    const tones = Object.fromEntries(ALL_VERDICTS.map((v) => [v, verdictView(v).tone]));
    expect(tones).toEqual({
      ok: "ok",
      invalid: "bad",
      revoked: "bad",
      canceled: "bad",
      blocked: "bad",
      invalid_time: "bad",
      product: "bad",
      unpaid: "bad",
      rules: "bad",
      already_redeemed: "warn",
    });
  });

  it("gives every verdict its own headline and words, and a sound by tone", () => {
    const titles = new Set(ALL_VERDICTS.map((v) => verdictView(v).title));
    expect(titles.size).toBe(ALL_VERDICTS.length);
    for (const v of ALL_VERDICTS) {
      const view = verdictView(v);
      expect(view.words.length, v).toBeGreaterThan(10);
      expect(view.sound).toBe(view.tone);
    }
    expect(verdictView("canceled").words).toMatch(/cancelled/);
    expect(verdictView("unpaid").words).toMatch(/not paid/);
    expect(verdictView("already_redeemed").title).toBe("Already used");
  });

  it("says exit on an ok exit", () => {
    expect(verdictView("ok", "entry").title).toBe("Admit");
    expect(verdictView("ok", "exit").title).toBe("Exit OK");
  });

  it("treats an unknown code as a refusal", () => {
    const v = verdictView("teleported" as Verdict);
    expect(v.tone).toBe("bad");
    expect(v.words).toContain("teleported");
  });

  it("prefers the app's explanation when there is one", () => {
    expect(verdictReason({ verdict: "rules", direction: "entry", explanation: "only allowed from 18:30" })).toBe(
      "Only allowed from 18:30",
    );
    expect(verdictReason({ verdict: "product", direction: "entry", explanation: "  " })).toBe(verdictView("product").words);
  });

  it("adds what to do under the app's explanation, once", () => {
    expect(verdictAdvice({ verdict: "canceled", direction: "entry", explanation: "ticket is cancelled" })).toBe("Send the guest to the box office.");
    expect(verdictAdvice({ verdict: "canceled", direction: "entry", explanation: "" })).toBe("");
    expect(verdictAdvice({ verdict: "ok", direction: "entry", explanation: "valid" })).toBe("");
    for (const v of ALL_VERDICTS) {
      const view = verdictView(v);
      if (view.advice) expect(view.words.endsWith(view.advice), v).toBe(true);
    }
  });
});

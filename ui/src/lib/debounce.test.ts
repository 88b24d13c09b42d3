import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { debounce, liveSearch, type SearchState } from "./debounce";

beforeEach(() => vi.useFakeTimers());
afterEach(() => vi.useRealTimers());

describe("debounce", () => {
  it("runs once with the last arguments after a pause", () => {
    const fn = vi.fn();
    const d = debounce(fn, 200);
    d("a");
    vi.advanceTimersByTime(150);
    d("ab");
    vi.advanceTimersByTime(150);
    d("abc");
    expect(fn).not.toHaveBeenCalled();
    vi.advanceTimersByTime(200);
    expect(fn).toHaveBeenCalledTimes(1);
    expect(fn).toHaveBeenCalledWith("abc");
  });

  it("can be cancelled or flushed", () => {
    const fn = vi.fn();
    const d = debounce(fn, 200);
    d(1);
    d.cancel();
    vi.advanceTimersByTime(500);
    expect(fn).not.toHaveBeenCalled();
    d(2);
    d.flush();
    expect(fn).toHaveBeenCalledWith(2);
    vi.advanceTimersByTime(500);
    expect(fn).toHaveBeenCalledTimes(1);
  });
});

type Deferred = { query: string; resolve: (r: string[]) => void; reject: (e: unknown) => void };

function setup(minLength = 0) {
  const calls: Deferred[] = [];
  const states: SearchState<string[]>[] = [];
  const s = liveSearch<string[]>({
    delayMs: 250,
    minLength,
    search: (query) => new Promise((resolve, reject) => calls.push({ query, resolve, reject })),
    onState: (st) => states.push(st),
  });
  return { s, calls, states, last: () => states[states.length - 1] };
}

describe("liveSearch", () => {
  it("sends one query when typing pauses", async () => {
    const { s, calls, last } = setup();
    for (const t of ["A", "AB", "ABC"]) {
      s.input(t);
      vi.advanceTimersByTime(100);
    }
    expect(calls).toHaveLength(0);
    vi.advanceTimersByTime(250);
    expect(calls.map((c) => c.query)).toEqual(["ABC"]);
    expect(last()).toEqual({ kind: "waiting", query: "ABC" });
    calls[0]!.resolve(["order ABC"]);
    await vi.runAllTimersAsync();
    expect(last()).toEqual({ kind: "done", query: "ABC", results: ["order ABC"] });
  });

  it("never shows an older answer over a newer one", async () => {
    const { s, calls, last } = setup();
    s.input("mül");
    vi.advanceTimersByTime(300);
    s.input("müller");
    vi.advanceTimersByTime(300);
    expect(calls.map((c) => c.query)).toEqual(["mül", "müller"]);
    calls[1]!.resolve(["Müller"]);
    await vi.runAllTimersAsync();
    calls[0]!.resolve(["Müller", "Mülheim"]);
    await vi.runAllTimersAsync();
    expect(last()).toEqual({ kind: "done", query: "müller", results: ["Müller"] });
  });

  it("drops an answer when the user typed on meanwhile", async () => {
    const { s, calls, states } = setup();
    s.input("ab");
    vi.advanceTimersByTime(300);
    s.input("abc");
    calls[0]!.resolve(["stale"]);
    await vi.runAllTimersAsync();
    expect(states.some((st) => st.kind === "done" && st.query === "ab")).toBe(false);
  });

  it("reports failures of the latest query", async () => {
    const { s, calls, last } = setup();
    s.now("x1");
    calls[0]!.reject({ code: "busy", message: "busy" });
    await vi.runAllTimersAsync();
    expect(last()).toMatchObject({ kind: "failed", query: "x1" });
  });

  it("does not send queries below the minimum length", () => {
    const { s, calls, last } = setup(2);
    s.input(" a ");
    vi.advanceTimersByTime(300);
    expect(calls).toHaveLength(0);
    expect(last()).toEqual({ kind: "idle" });
  });
});

// As-you-type search: wait until typing pauses, and only ever show the answer to the latest
// query, even when answers arrive out of order.

export type Timers = {
  setTimeout: (fn: () => void, ms: number) => unknown;
  clearTimeout: (handle: unknown) => void;
};

const realTimers: Timers = {
  setTimeout: (fn, ms) => globalThis.setTimeout(fn, ms),
  clearTimeout: (h) => globalThis.clearTimeout(h as ReturnType<typeof setTimeout>),
};

export type Debounced<A extends unknown[]> = ((...args: A) => void) & {
  cancel: () => void;
  flush: () => void;
};

export function debounce<A extends unknown[]>(fn: (...args: A) => void, ms: number, timers: Timers = realTimers): Debounced<A> {
  let handle: unknown = null;
  let pending: A | null = null;
  const run = () => {
    handle = null;
    const args = pending;
    pending = null;
    if (args) fn(...args);
  };
  const d = ((...args: A) => {
    pending = args;
    if (handle !== null) timers.clearTimeout(handle);
    handle = timers.setTimeout(run, ms);
  }) as Debounced<A>;
  d.cancel = () => {
    if (handle !== null) timers.clearTimeout(handle);
    handle = null;
    pending = null;
  };
  d.flush = () => {
    if (handle !== null) timers.clearTimeout(handle);
    run();
  };
  return d;
}

export type SearchState<R> =
  | { kind: "idle" }
  | { kind: "waiting"; query: string }
  | { kind: "done"; query: string; results: R }
  | { kind: "failed"; query: string; error: unknown };

export type LiveSearchOptions<R> = {
  search: (query: string) => Promise<R>;
  onState: (s: SearchState<R>) => void;
  delayMs?: number;
  /** Queries shorter than this (after trimming) are not sent; 0 sends the empty query too. */
  minLength?: number;
  timers?: Timers;
};

export type LiveSearch = { input: (text: string) => void; now: (text: string) => void; dispose: () => void };

export function liveSearch<R>(opts: LiveSearchOptions<R>): LiveSearch {
  const minLength = opts.minLength ?? 0;
  let latest = 0;
  let disposed = false;
  const send = (text: string) => {
    const query = text.trim();
    const id = ++latest;
    if (query.length < minLength) {
      opts.onState({ kind: "idle" });
      return;
    }
    opts.onState({ kind: "waiting", query });
    opts.search(query).then(
      (results) => {
        if (!disposed && id === latest) opts.onState({ kind: "done", query, results });
      },
      (error: unknown) => {
        if (!disposed && id === latest) opts.onState({ kind: "failed", query, error });
      },
    );
  };
  const debounced = debounce(send, opts.delayMs ?? 250, opts.timers);
  return {
    input: (text) => {
      latest++; // an answer to an older query must not land after the user typed on
      debounced(text);
    },
    now: (text) => {
      debounced.cancel();
      send(text);
    },
    dispose: () => {
      disposed = true;
      debounced.cancel();
    },
  };
}

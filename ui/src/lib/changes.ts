// Sales, scans, cancellations and imports made in this window, so that screens showing
// figures (the dashboard's charts) refresh at once instead of at their next interval.

export type ChangeKind = "sale" | "scan" | "cancel" | "import";

const bus = new EventTarget();

export function announce(kind: ChangeKind): void {
  bus.dispatchEvent(new CustomEvent<ChangeKind>("change", { detail: kind }));
}

/** Calls `fn` after each change; returns the unsubscribe function. */
export function onChange(fn: (kind: ChangeKind) => void): () => void {
  const listener = (e: globalThis.Event) => fn((e as CustomEvent<ChangeKind>).detail);
  bus.addEventListener("change", listener);
  return () => bus.removeEventListener("change", listener);
}

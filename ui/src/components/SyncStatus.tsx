import { useCallback, useEffect, useRef, useState } from "react";

import { api } from "../api";
import type { SyncStatus } from "../bindings/SyncStatus";
import { describe } from "../lib/errors";
import { ago, pollMs, syncLine } from "../lib/sync";

const SYNC_STATUS_EVENT = "admit-sync-status";

/** The app's sync status, asked for again every few seconds (every second while a round
 * runs, so a large first download shows its count). `refresh` asks at once. */
export function useSyncStatus(): { status: SyncStatus | null; refresh: () => Promise<void>; setStatus: (s: SyncStatus) => void } {
  const [status, setOwn] = useState<SyncStatus | null>(null);
  const alive = useRef(true);
  // A status one place learns (connect, Sync now, disconnect) reaches every other at once.
  const setStatus = useCallback((s: SyncStatus) => {
    setOwn(s);
    window.dispatchEvent(new CustomEvent<SyncStatus>(SYNC_STATUS_EVENT, { detail: s }));
  }, []);
  useEffect(() => {
    const heard = (e: Event) => {
      if (alive.current) setOwn((e as CustomEvent<SyncStatus>).detail);
    };
    window.addEventListener(SYNC_STATUS_EVENT, heard);
    return () => window.removeEventListener(SYNC_STATUS_EVENT, heard);
  }, []);
  const refresh = useCallback(async () => {
    try {
      const s = await api.syncStatus();
      if (alive.current) setOwn(s);
    } catch {
      /* the indicator keeps what it showed last */
    }
  }, []);
  useEffect(() => {
    alive.current = true;
    void refresh();
    return () => {
      alive.current = false;
    };
  }, [refresh]);
  const every = pollMs(status);
  useEffect(() => {
    const id = window.setInterval(() => void refresh(), every);
    return () => window.clearInterval(id);
  }, [every, refresh]);
  return { status, refresh, setStatus };
}

/** The top bar's sync indicator: "Local only" without a server; else online or offline, when
 * it last synced, what waits to go up, conflicts, a clock that is off, and "Sync now". */
export function SyncIndicator({ showSyncNow = true }: { showSyncNow?: boolean }) {
  const { status, setStatus } = useSyncStatus();
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [now, setNow] = useState(() => new Date());
  useEffect(() => {
    const id = window.setInterval(() => setNow(new Date()), 1000);
    return () => window.clearInterval(id);
  }, []);

  const syncNow = async () => {
    setBusy(true);
    setError(null);
    try {
      setStatus(await api.syncNow());
    } catch (e) {
      setError(describe(e));
    } finally {
      setBusy(false);
    }
  };

  const s = status;
  const line = s ? syncLine(s, now) : { tone: "local" as const, label: "Local only", notes: [] };
  const paired = !!s && s.state !== "unpaired";
  const title = !paired
    ? "No server configured; all data stays on this computer"
    : [
        `Server: ${s.server_url ?? ""}`,
        `This device: ${s.device_name ?? ""}`,
        `Last sync: ${ago(s.last_sync_at, now)}`,
        s.error ? `Last problem: ${s.error}` : "",
      ]
        .filter(Boolean)
        .join("\n");
  return (
    <span className="sync-indicator" data-testid="sync-indicator">
      <span className={`online-indicator ${line.tone}`} data-testid="online-indicator" data-state={line.tone} title={title}>
        <span className="dot" aria-hidden="true" />
        <span data-testid="sync-label">{line.label}</span>
      </span>
      {line.notes.map((n) => (
        <span key={n} className="sync-note" data-testid="sync-note">
          {n}
        </span>
      ))}
      {paired && showSyncNow && (
        <button type="button" className="small" data-testid="sync-now" disabled={busy || s.state === "syncing"} onClick={() => void syncNow()}>
          {busy ? "Syncing…" : "Sync now"}
        </button>
      )}
      {error && (
        <span className="sync-note problem" role="alert" data-testid="sync-error">
          {error}
        </span>
      )}
    </span>
  );
}

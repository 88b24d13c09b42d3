// Sync with the server as people read it: one line for the top bar, the details behind it,
// and how often to ask the app again.
import type { SyncStatus } from "../bindings/SyncStatus";

export type SyncTone = "local" | "online" | "busy" | "warn" | "offline" | "refused";

export type SyncLine = {
  tone: SyncTone;
  /** The top bar's words. */
  label: string;
  /** Short notes after the label: waiting uploads, conflicts, a clock that is off. */
  notes: string[];
};

/** A clock further off than this is worth telling people: scan and sale times come from it. */
export const CLOCK_WARN_MS = 60_000;

const plural = (n: number, one: string, many: string) => `${n.toLocaleString("en")} ${n === 1 ? one : many}`;

/** "3 min fast", "45 s slow"; null when the clock is close enough. */
export function clockNote(offsetMs: number | null): string | null {
  if (offsetMs === null || Math.abs(offsetMs) < CLOCK_WARN_MS) return null;
  const secs = Math.round(Math.abs(offsetMs) / 1000);
  const size = secs >= 7200 ? `${Math.round(secs / 3600)} h` : secs >= 120 ? `${Math.round(secs / 60)} min` : `${secs} s`;
  return `Clock ${size} ${offsetMs > 0 ? "fast" : "slow"}`;
}

/** "just now", "5 min ago", "2 h ago", or the day for older. */
export function ago(iso: string | null, now: Date): string {
  if (!iso) return "never";
  const ms = Date.parse(iso);
  if (Number.isNaN(ms)) return iso;
  const secs = Math.max(0, Math.round((now.getTime() - ms) / 1000));
  if (secs < 10) return "just now";
  if (secs < 60) return `${secs} s ago`;
  if (secs < 3600) return `${Math.floor(secs / 60)} min ago`;
  if (secs < 86_400) return `${Math.floor(secs / 3600)} h ago`;
  return new Date(ms).toLocaleDateString();
}

/** "in 8 s" until the next try, or "now". */
export function until(iso: string | null, now: Date): string | null {
  if (!iso) return null;
  const ms = Date.parse(iso);
  if (Number.isNaN(ms)) return null;
  const secs = Math.ceil((ms - now.getTime()) / 1000);
  return secs <= 0 ? "now" : `in ${secs} s`;
}

export function conflictCount(s: SyncStatus): number {
  return (s.double_admissions ?? 0) + (s.upload_conflicts ?? 0);
}

export function syncLine(s: SyncStatus, now: Date): SyncLine {
  const notes: string[] = [];
  if (s.state === "unpaired") return { tone: "local", label: "Local only", notes };
  if (s.waiting) notes.push(`${plural(s.waiting, "change", "changes")} to upload`);
  const conflicts = conflictCount(s);
  if (conflicts > 0) notes.push(plural(conflicts, "conflict", "conflicts"));
  const clock = clockNote(s.clock_offset_ms);
  if (clock) notes.push(clock);
  switch (s.state) {
    case "starting":
      return { tone: "busy", label: "Connecting…", notes };
    case "syncing": {
      const n = s.downloading ?? 0;
      if (n > 0) {
        const what = s.first_download ? "First download" : "Downloading";
        return { tone: "busy", label: `${what}… ${plural(n, "change", "changes")}`, notes };
      }
      return { tone: "busy", label: "Syncing…", notes };
    }
    case "synced":
      return { tone: conflicts > 0 || clock ? "warn" : "online", label: `Synced ${ago(s.last_sync_at, now)}`, notes };
    case "offline": {
      const next = until(s.next_attempt_at, now);
      return { tone: "offline", label: `Offline — working locally${next ? `, retrying ${next}` : ""}`, notes };
    }
    case "failing": {
      const next = until(s.next_attempt_at, now);
      return { tone: "warn", label: `Sync problem${next ? `, retrying ${next}` : ""}`, notes };
    }
    case "refused":
      return { tone: "refused", label: "Refused by the server", notes };
  }
}

/** How often to ask the app for the status: often while a round runs, calmly otherwise. */
export function pollMs(s: SyncStatus | null): number {
  if (!s) return 5000;
  return s.state === "syncing" || s.state === "starting" ? 1000 : 5000;
}

export const ROLES: { value: string; label: string }[] = [
  { value: "box_office", label: "Box office" },
  { value: "door", label: "Door" },
  { value: "kiosk", label: "Kiosk" },
];

export function roleLabel(role: string | null): string {
  return ROLES.find((r) => r.value === role)?.label ?? role ?? "";
}

/** Pairing codes are twelve letters and digits without 0, O, 1, I or L; spaces and dashes are
 * free. Null when it looks right, else what is wrong. */
export function checkPairingCode(code: string): string | null {
  const t = code.replace(/[\s-]/g, "").toUpperCase();
  if (t.length === 0) return "Type the pairing code shown on the owner's screen.";
  if (t.length !== 12) return "A pairing code has twelve letters and digits, e.g. 7KQM-X3TA-9RWE.";
  if (/[^2-9A-HJKMNP-Z]/.test(t)) return "A pairing code has no 0, O, 1, I or L, and no other signs; check what you typed.";
  return null;
}

export function checkServerUrl(url: string): string | null {
  const t = url.trim();
  if (!t) return "Type the server's address, e.g. https://tickets.example.org.";
  if (!/^https?:\/\/[^\s/?#]+(\/\S*)?$/i.test(t)) return "The server address must start with http:// or https://.";
  return null;
}

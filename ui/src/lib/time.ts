// Wall-clock times in an event's IANA zone, independent of the machine's own zone.

export class TimeError extends Error {}

const formatters = new Map<string, Intl.DateTimeFormat>();

function partsFormatter(timeZone: string): Intl.DateTimeFormat {
  let f = formatters.get(timeZone);
  if (!f) {
    f = new Intl.DateTimeFormat("en-US", {
      timeZone,
      hourCycle: "h23",
      year: "numeric",
      month: "2-digit",
      day: "2-digit",
      hour: "2-digit",
      minute: "2-digit",
      second: "2-digit",
    });
    formatters.set(timeZone, f);
  }
  return f;
}

export function isTimeZone(name: string): boolean {
  if (!name.trim()) return false;
  try {
    partsFormatter(name.trim());
    return true;
  } catch {
    return false;
  }
}

/** The machine's IANA zone (falls back to UTC). */
export function machineTimeZone(): string {
  try {
    return Intl.DateTimeFormat().resolvedOptions().timeZone || "UTC";
  } catch {
    return "UTC";
  }
}

/** Every zone this runtime knows, for a picker. */
export function allTimeZones(): string[] {
  const intl = Intl as unknown as { supportedValuesOf?: (k: string) => string[] };
  try {
    return intl.supportedValuesOf ? intl.supportedValuesOf("timeZone") : [];
  } catch {
    return [];
  }
}

type Fields = { y: number; mo: number; d: number; h: number; mi: number; s: number };

function wallClock(utcMs: number, timeZone: string): Fields {
  const parts: Record<string, number> = {};
  for (const p of partsFormatter(timeZone).formatToParts(new Date(utcMs))) {
    if (p.type !== "literal") parts[p.type] = Number(p.value);
  }
  return {
    y: parts.year ?? 1970,
    mo: parts.month ?? 1,
    d: parts.day ?? 1,
    h: (parts.hour ?? 0) % 24,
    mi: parts.minute ?? 0,
    s: parts.second ?? 0,
  };
}

/** Offset of `timeZone` from UTC at the instant `utcMs`, in minutes (Berlin summer: 120). */
export function offsetMinutes(utcMs: number, timeZone: string): number {
  const f = wallClock(utcMs, timeZone);
  const asUtc = Date.UTC(f.y, f.mo - 1, f.d, f.h, f.mi, f.s);
  return Math.round((asUtc - Math.floor(utcMs / 1000) * 1000) / 60000);
}

function pad(n: number, w = 2): string {
  return String(n).padStart(w, "0");
}

function formatOffset(min: number): string {
  const sign = min < 0 ? "-" : "+";
  const a = Math.abs(min);
  return `${sign}${pad(Math.floor(a / 60))}:${pad(a % 60)}`;
}

const LOCAL_RE = /^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2})(?::(\d{2}))?$/;

/**
 * A `datetime-local` value ("2026-05-01T19:30") read as wall-clock time in `timeZone`, as
 * RFC 3339 with that zone's offset ("2026-05-01T19:30:00+02:00"). A time that occurs twice
 * (clocks go back) means the first occurrence; a time that does not exist (clocks go
 * forward) is refused with a message saying so.
 */
export function localToRfc3339(local: string, timeZone: string): string {
  const m = LOCAL_RE.exec(local.trim());
  if (!m) throw new TimeError("Enter a date and time.");
  const zone = timeZone.trim();
  if (!isTimeZone(zone)) throw new TimeError(`"${timeZone}" is not a time zone such as Europe/Berlin.`);
  const [y, mo, d, h, mi, s] = m.slice(1).map((v) => Number(v ?? 0)) as [number, number, number, number, number, number];
  if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || s > 59) throw new TimeError("Enter a valid date and time.");
  const wall = Date.UTC(y, mo - 1, d, h, mi, s);
  if (new Date(wall).getUTCDate() !== d) throw new TimeError("Enter a valid date and time.");
  // Candidate offsets: those in force a day either side cover every real transition.
  const candidates = new Set<number>([
    offsetMinutes(wall - 86_400_000, zone),
    offsetMinutes(wall, zone),
    offsetMinutes(wall + 86_400_000, zone),
  ]);
  const matches: { utc: number; off: number }[] = [];
  for (const off of candidates) {
    const utc = wall - off * 60000;
    if (offsetMinutes(utc, zone) === off) matches.push({ utc, off });
  }
  if (matches.length === 0) {
    throw new TimeError(
      `${pad(h)}:${pad(mi)} does not exist on ${y}-${pad(mo)}-${pad(d)} in ${zone} (the clocks go forward); choose a later time.`,
    );
  }
  matches.sort((a, b) => a.utc - b.utc);
  const first = matches[0]!;
  return `${y}-${pad(mo)}-${pad(d)}T${pad(h)}:${pad(mi)}:${pad(s)}${formatOffset(first.off)}`;
}

/** An instant as a `datetime-local` value in `timeZone` ("2026-05-01T19:30"). */
export function rfc3339ToLocal(iso: string, timeZone: string): string {
  const ms = Date.parse(iso);
  if (Number.isNaN(ms)) return "";
  const f = wallClock(ms, timeZone);
  return `${f.y}-${pad(f.mo)}-${pad(f.d)}T${pad(f.h)}:${pad(f.mi)}`;
}

/** For people: "Fri, 1 May 2026, 19:30" in `timeZone` (default: the machine's zone). */
export function formatInstant(iso: string, timeZone?: string, locale?: string): string {
  const ms = Date.parse(iso);
  if (Number.isNaN(ms)) return iso;
  return new Intl.DateTimeFormat(locale, {
    timeZone,
    weekday: "short",
    day: "numeric",
    month: "short",
    year: "numeric",
    hour: "2-digit",
    minute: "2-digit",
  }).format(new Date(ms));
}

/** Time of day for the door: "19:02" today, or "30 Apr, 19:02" on another day. */
export function formatScanTime(iso: string, now: Date = new Date(), timeZone?: string, locale?: string): string {
  const ms = Date.parse(iso);
  if (Number.isNaN(ms)) return iso;
  const day = (t: number) => {
    const f = wallClock(t, timeZone ?? machineTimeZone());
    return `${f.y}-${f.mo}-${f.d}`;
  };
  const sameDay = day(ms) === day(now.getTime());
  const opts: Intl.DateTimeFormatOptions = sameDay
    ? { timeZone, hour: "2-digit", minute: "2-digit", second: "2-digit", hourCycle: "h23" }
    : { timeZone, day: "numeric", month: "short", hour: "2-digit", minute: "2-digit", hourCycle: "h23" };
  return new Intl.DateTimeFormat(locale, opts).format(new Date(ms));
}

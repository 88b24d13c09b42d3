import { useCallback, useEffect, useRef, useState, type FormEvent } from "react";

import { api } from "../api";
import type { CheckinCounts } from "../bindings/CheckinCounts";
import type { CheckinList } from "../bindings/CheckinList";
import type { RedeemAnswer } from "../bindings/RedeemAnswer";
import { Kbd, Spinner } from "../components/common";
import { useApp } from "../context";
import { describe, localError, toAppError, type AppError } from "../lib/errors";
import { bytesToBase64, rgbaToLuma, ScanDeduper, scaledSize } from "../lib/scan";
import { beep } from "../lib/sound";
import { formatScanTime } from "../lib/time";
import { verdictAdvice, verdictReason, verdictView } from "../lib/verdict";

type Direction = RedeemAnswer["direction"];
type ListOption = { list: CheckinList; eventName: string; startsAt: string; timeZone: string };
type Job = { raw: string; nonce: string; listId: string; direction: Direction; gate: string | null };
type Shown = { seq: number; raw: string; answer: RedeemAnswer | null; error: AppError | null };

const LIST_KEY = "admit.door.list";

function newNonce(): string {
  try {
    return crypto.randomUUID();
  } catch {
    return `${Date.now().toString(36)}-${Math.random().toString(36).slice(2)}-${Math.random().toString(36).slice(2)}`;
  }
}

const sleep = (ms: number) => new Promise((r) => window.setTimeout(r, ms));

/** The scan view. Ready for the next code at once; scans are sent one after another. */
export function Door({ kiosk = false, paused = false }: { kiosk?: boolean; paused?: boolean }) {
  const { settings } = useApp();
  const gate = settings.gate?.trim() || null;
  const [lists, setLists] = useState<ListOption[]>([]);
  const [listsError, setListsError] = useState<AppError | null>(null);
  const [listId, setListId] = useState<string>(() => settings.default_list_id ?? localStorage.getItem(LIST_KEY) ?? "");
  const [direction, setDirection] = useState<Direction>("entry");
  const [text, setText] = useState("");
  const [shown, setShown] = useState<Shown | null>(null);
  const [counts, setCounts] = useState<CheckinCounts | null>(null);
  const [queued, setQueued] = useState(0);
  const [camera, setCamera] = useState(false);

  const input = useRef<HTMLInputElement>(null);
  const queue = useRef<Job[]>([]);
  const running = useRef(false);
  const seq = useRef(0);
  const alive = useRef(true);
  const listRef = useRef(listId);
  listRef.current = listId;
  const dirRef = useRef(direction);
  dirRef.current = direction;
  const pausedRef = useRef(paused);
  pausedRef.current = paused;

  useEffect(() => {
    alive.current = true;
    return () => {
      alive.current = false;
    };
  }, []);

  const focusInput = useCallback(() => {
    if (pausedRef.current) return;
    const el = input.current;
    if (el && document.activeElement !== el) el.focus({ preventScroll: true });
  }, []);

  // Keep the scan field focused: after blur (unless a door control took focus on purpose),
  // after clicks anywhere, and when the window comes back.
  useEffect(() => {
    focusInput();
    const onDocClick = (e: MouseEvent) => {
      const t = e.target as HTMLElement | null;
      if (t && t.closest("select, textarea, input:not([data-testid=door-input]), [data-keep-focus]")) return;
      window.setTimeout(focusInput, 0);
    };
    window.addEventListener("click", onDocClick);
    window.addEventListener("focus", focusInput);
    return () => {
      window.removeEventListener("click", onDocClick);
      window.removeEventListener("focus", focusInput);
    };
  }, [focusInput]);

  useEffect(() => {
    if (!paused) focusInput();
  }, [paused, focusInput]);

  const refreshCounts = useCallback(async (id?: string) => {
    const l = id ?? listRef.current;
    if (!l) return;
    try {
      const c = await api.checkinCounts(l);
      if (alive.current && l === listRef.current) setCounts(c);
    } catch {
      /* counts are a convenience; the verdict is what matters */
    }
  }, []);

  // Lists of published events that are on or coming up; door staff see only these.
  useEffect(() => {
    let cancelled = false;
    (async () => {
      try {
        const found = await api.doorLists();
        const out: ListOption[] = found
          .filter((d) => Date.parse(d.event.ends_at) > Date.now() - 2 * 86400_000)
          .map((d) => ({ list: d.list, eventName: d.event.name, startsAt: d.event.starts_at, timeZone: d.event.time_zone }))
          .sort((a, b) => a.startsAt.localeCompare(b.startsAt) || a.eventName.localeCompare(b.eventName) || a.list.name.localeCompare(b.list.name));
        if (cancelled) return;
        setLists(out);
        setListId((cur) => (cur && (out.some((o) => o.list.id === cur) || out.length === 0) ? cur : (out[0]?.list.id ?? cur)));
      } catch (err) {
        if (!cancelled) setListsError(toAppError(err));
      }
    })();
    return () => {
      cancelled = true;
    };
  }, []);

  useEffect(() => {
    setCounts(null);
    if (listId) {
      localStorage.setItem(LIST_KEY, listId);
      void refreshCounts(listId);
    }
  }, [listId, refreshCounts]);

  useEffect(() => {
    const id = window.setInterval(() => void refreshCounts(), 10000);
    return () => window.clearInterval(id);
  }, [refreshCounts]);

  const show = useCallback((raw: string, answer: RedeemAnswer | null, error: AppError | null) => {
    seq.current += 1;
    setShown({ seq: seq.current, raw, answer, error });
    if (answer) beep(verdictView(answer.verdict).sound);
    else beep("bad");
  }, []);

  const work = useCallback(async () => {
    if (running.current) return;
    running.current = true;
    try {
      while (queue.current.length > 0 && alive.current) {
        const job = queue.current[0]!;
        let answer: RedeemAnswer | null = null;
        let error: AppError | null = null;
        // The nonce makes a retry safe: a repeat returns the first answer.
        for (let attempt = 0; attempt < 4; attempt++) {
          try {
            answer = await api.redeem({
              raw: job.raw,
              list_id: job.listId,
              direction: job.direction,
              gate: job.gate,
              nonce: job.nonce,
              at: null,
              force: false,
            });
            error = null;
            break;
          } catch (e) {
            error = toAppError(e);
            if (error.code !== "busy" && error.code !== "internal") break;
            await sleep(250 * (attempt + 1));
          }
        }
        queue.current.shift();
        setQueued(queue.current.length);
        if (!alive.current) break;
        show(job.raw, answer, error);
        void refreshCounts(job.listId);
      }
    } finally {
      running.current = false;
    }
  }, [show, refreshCounts]);

  const submitCode = useCallback(
    (raw: string) => {
      const code = raw.trim();
      if (!code) return;
      const l = listRef.current;
      if (!l) {
        show(code, null, localError("Choose a check-in list first, then scan again.", "list_id"));
        return;
      }
      queue.current.push({ raw: code, nonce: newNonce(), listId: l, direction: dirRef.current, gate });
      setQueued(queue.current.length);
      void work();
    },
    [gate, show, work],
  );

  const onSubmit = (e: FormEvent) => {
    e.preventDefault();
    const code = text;
    setText("");
    submitCode(code);
    focusInput();
  };

  const toggleDirection = useCallback(() => setDirection((d) => (d === "entry" ? "exit" : "entry")), []);

  useEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      if (pausedRef.current) return;
      if (e.key === "F2" || (e.ctrlKey && e.key.toLowerCase() === "e")) {
        e.preventDefault();
        toggleDirection();
      }
    };
    window.addEventListener("keydown", onKey);
    return () => window.removeEventListener("keydown", onKey);
  }, [toggleDirection]);

  const currentList = lists.find((o) => o.list.id === listId);

  return (
    <section className={`screen door ${kiosk ? "kiosk-door" : ""} dir-${direction}`} data-testid={kiosk ? undefined : "screen-door"}>
      <div className="door-bar">
        <label className="inline-label" data-keep-focus>
          List
          <select
            data-testid="door-list"
            value={listId}
            title={currentList ? `${currentList.eventName} — ${currentList.list.name}` : undefined}
            onChange={(e) => {
              setListId(e.target.value);
              window.setTimeout(focusInput, 0);
            }}
            onBlur={() => window.setTimeout(focusInput, 0)}
          >
            {!listId && <option value="">Choose a check-in list…</option>}
            {listId && !currentList && <option value={listId}>{lists.length ? "Saved list (not found)" : "Default list"}</option>}
            {lists.map((o) => (
              <option key={o.list.id} value={o.list.id}>
                {o.eventName} — {o.list.name}
              </option>
            ))}
          </select>
        </label>
        <button
          type="button"
          data-testid="door-direction"
          data-direction={direction}
          className={`direction ${direction}`}
          onClick={() => {
            toggleDirection();
            window.setTimeout(focusInput, 0);
          }}
          aria-pressed={direction === "exit"}
          title="Switch entry/exit (F2)"
        >
          {direction === "entry" ? "Entry" : "Exit"} <Kbd>F2</Kbd>
        </button>
        <span className="gate" data-testid="door-gate">
          Gate: <strong>{gate ?? "any"}</strong>
        </span>
        <span className="counter">
          Admitted <strong data-testid="door-admitted">{counts ? Number(counts.admitted) : "–"}</strong>
        </span>
        <span className="counter">
          Inside <strong data-testid="door-inside">{counts ? Number(counts.inside) : "–"}</strong>
        </span>
        <button type="button" data-testid="door-camera" className={camera ? "active" : ""} onClick={() => setCamera((c) => !c)}>
          {camera ? "Stop camera" : "Camera"}
        </button>
      </div>
      {listsError && !currentList && (
        <div className="error" role="alert" data-testid="error">
          Could not load check-in lists: {describe(listsError)}
        </div>
      )}
      <form className="scan-form" onSubmit={onSubmit}>
        <input
          ref={input}
          data-testid="door-input"
          className="scan-input"
          value={text}
          onChange={(e) => setText(e.target.value)}
          onBlur={(e) => {
            const to = e.relatedTarget as HTMLElement | null;
            if (to && to.closest("select, [data-keep-focus], .modal")) return;
            window.setTimeout(focusInput, 0);
          }}
          placeholder={direction === "entry" ? "Scan a ticket or type the code, then Enter" : "EXIT — scan to check out"}
          autoComplete="off"
          autoCorrect="off"
          autoCapitalize="off"
          spellCheck={false}
          aria-label="Ticket code"
        />
        <span className="queue small" aria-live="polite">
          {queued > 0 && <Spinner label={queued === 1 ? "Checking…" : `Checking ${queued} scans…`} />}
        </span>
      </form>
      <div className="door-main">
        <VerdictPanel shown={shown} timeZone={currentList?.timeZone} />
        {camera && <CameraScanner onCode={submitCode} onStop={() => setCamera(false)} />}
      </div>
    </section>
  );
}

/** Times show in the event's zone, as the app's own explanations do. */
function VerdictPanel({ shown, timeZone }: { shown: Shown | null; timeZone?: string }) {
  if (!shown) {
    return (
      <div className="verdict ready" data-testid="verdict-ready">
        <div className="verdict-title">Ready to scan</div>
      </div>
    );
  }
  const { answer, error } = shown;
  if (!answer) {
    return (
      <div className="verdict bad" data-testid="verdict" data-verdict="error" data-seq={shown.seq} role="status">
        <div className="verdict-title" data-testid="verdict-title">
          Not checked
        </div>
        <div className="verdict-detail" data-testid="verdict-detail">
          <div className="reason">{error ? describe(error) : "Something went wrong."}</div>
          <div className="small">The scan was not recorded. Scan again.</div>
        </div>
      </div>
    );
  }
  const view = verdictView(answer.verdict, answer.direction);
  const earlier = answer.earlier_entry;
  const advice = verdictAdvice(answer);
  return (
    <div
      key={shown.seq}
      className={`verdict ${view.tone} flash`}
      data-testid="verdict"
      data-verdict={answer.verdict}
      data-seq={shown.seq}
      data-direction={answer.direction}
      role="status"
      aria-live="assertive"
    >
      <div className="verdict-title" data-testid="verdict-title">
        {view.title}
      </div>
      <div className="verdict-detail" data-testid="verdict-detail">
        <div className="reason">{verdictReason(answer)}</div>
        {advice && (
          <div className="advice" data-testid="verdict-advice">
            {advice}
          </div>
        )}
        {answer.verdict === "already_redeemed" && earlier && (
          <div className="earlier">
            First used at <strong>{formatScanTime(earlier.at, new Date(), timeZone)}</strong>
            {earlier.gate ? (
              <>
                {" "}
                at gate <strong>{earlier.gate}</strong>
              </>
            ) : null}
          </div>
        )}
        {(answer.attendee_name || answer.ticket_type) && (
          <div className="who">
            {answer.attendee_name && <strong className="attendee">{answer.attendee_name}</strong>}
            {answer.attendee_name && answer.ticket_type ? " · " : ""}
            {answer.ticket_type && <span className="type">{answer.ticket_type}</span>}
          </div>
        )}
        {answer.order_code && (
          <div className="small">
            Order <span className="mono">{answer.order_code}</span>
          </div>
        )}
        {answer.duplicate && <div className="small">Same scan sent twice; shown once.</div>}
        {answer.verdict === "invalid" && (
          <div className="small mono raw" title={shown.raw}>
            {shown.raw.length > 40 ? shown.raw.slice(0, 40) + "…" : shown.raw}
          </div>
        )}
      </div>
    </div>
  );
}

/** Live camera preview; frames go to the Rust decoder a few times a second. */
function CameraScanner({ onCode, onStop }: { onCode: (code: string) => void; onStop: () => void }) {
  const video = useRef<HTMLVideoElement>(null);
  const [error, setError] = useState<string | null>(null);
  const [starting, setStarting] = useState(true);
  const onCodeRef = useRef(onCode);
  onCodeRef.current = onCode;

  useEffect(() => {
    let stream: MediaStream | null = null;
    let timer: number | null = null;
    let stopped = false;
    let decoding = false;
    const dedupe = new ScanDeduper(2000);
    const canvas = document.createElement("canvas");
    const ctx = canvas.getContext("2d", { willReadFrequently: true });

    const grab = async () => {
      const v = video.current;
      if (decoding || !v || !ctx || v.readyState < 2 || !v.videoWidth) return;
      decoding = true;
      try {
        const { width, height } = scaledSize(v.videoWidth, v.videoHeight, 640);
        if (canvas.width !== width) canvas.width = width;
        if (canvas.height !== height) canvas.height = height;
        ctx.drawImage(v, 0, 0, width, height);
        const img = ctx.getImageData(0, 0, width, height);
        const luma = bytesToBase64(rgbaToLuma(img.data, width, height));
        const code = await api.decodeQr(width, height, luma);
        if (!stopped && code && dedupe.accept(code, performance.now())) onCodeRef.current(code);
      } catch {
        /* a bad frame: try the next one */
      } finally {
        decoding = false;
      }
    };

    (async () => {
      try {
        if (!navigator.mediaDevices?.getUserMedia) throw new Error("This computer offers no camera to Admit.");
        stream = await navigator.mediaDevices.getUserMedia({ video: { facingMode: "environment", width: { ideal: 1280 } }, audio: false });
        if (stopped) return;
        const v = video.current;
        if (v) {
          v.srcObject = stream;
          await v.play().catch(() => undefined);
        }
        setStarting(false);
        timer = window.setInterval(() => void grab(), 150);
      } catch (e) {
        setStarting(false);
        const name = (e as { name?: string }).name;
        setError(
          name === "NotAllowedError"
            ? "Camera access was refused. Allow the camera for Admit in the system settings, or use a hand scanner."
            : name === "NotFoundError"
              ? "No camera found. Connect one, or use a hand scanner or type the code."
              : `The camera could not start (${(e as Error).message ?? String(e)}). Use a hand scanner or type the code.`,
        );
      }
    })();

    return () => {
      stopped = true;
      if (timer !== null) window.clearInterval(timer);
      stream?.getTracks().forEach((t) => t.stop());
    };
  }, []);

  return (
    <div className="camera card" data-testid="door-camera-view">
      {starting && <Spinner label="Starting camera…" />}
      {error ? (
        <div className="error" role="alert" data-testid="error">
          {error}{" "}
          <button type="button" className="link" onClick={onStop}>
            Close
          </button>
        </div>
      ) : (
        <video ref={video} muted playsInline className="camera-video" />
      )}
    </div>
  );
}

// Door beeps from the Web Audio API: one rising tone for ok, two mid tones for a repeat,
// a low buzz for a refusal. No sound files.

let ctx: AudioContext | null = null;

function audio(): AudioContext | null {
  try {
    if (!ctx) {
      const C = window.AudioContext ?? (window as unknown as { webkitAudioContext?: typeof AudioContext }).webkitAudioContext;
      if (!C) return null;
      ctx = new C();
    }
    if (ctx.state === "suspended") void ctx.resume();
    return ctx;
  } catch {
    return null;
  }
}

type Tone = { freq: number; start: number; dur: number; type: OscillatorType };

const PATTERNS: Record<"ok" | "warn" | "bad", Tone[]> = {
  ok: [
    { freq: 880, start: 0, dur: 0.09, type: "sine" },
    { freq: 1320, start: 0.1, dur: 0.14, type: "sine" },
  ],
  warn: [
    { freq: 660, start: 0, dur: 0.14, type: "triangle" },
    { freq: 660, start: 0.22, dur: 0.14, type: "triangle" },
  ],
  bad: [{ freq: 180, start: 0, dur: 0.5, type: "square" }],
};

export function beep(kind: "ok" | "warn" | "bad", volume = 0.25): void {
  const a = audio();
  if (!a) return;
  const t0 = a.currentTime + 0.01;
  for (const t of PATTERNS[kind]) {
    const osc = a.createOscillator();
    const gain = a.createGain();
    osc.type = t.type;
    osc.frequency.value = t.freq;
    gain.gain.setValueAtTime(0, t0 + t.start);
    gain.gain.linearRampToValueAtTime(volume, t0 + t.start + 0.01);
    gain.gain.setValueAtTime(volume, t0 + t.start + t.dur - 0.02);
    gain.gain.linearRampToValueAtTime(0, t0 + t.start + t.dur);
    osc.connect(gain).connect(a.destination);
    osc.start(t0 + t.start);
    osc.stop(t0 + t.start + t.dur + 0.01);
  }
}

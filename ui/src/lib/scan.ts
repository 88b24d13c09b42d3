// Scanning helpers: camera de-duplication and frame conversion.

/**
 * A camera sees the same code on many frames in a row. Accept a code once, then ignore it
 * while it keeps being seen within `windowMs` of the previous sighting; after a pause of
 * `windowMs` it counts as a new scan.
 */
export class ScanDeduper {
  private lastSeen = new Map<string, number>();
  constructor(private readonly windowMs = 2000) {}

  accept(code: string, nowMs: number): boolean {
    const key = code.trim();
    if (!key) return false;
    const prev = this.lastSeen.get(key);
    this.lastSeen.set(key, nowMs);
    for (const [k, t] of this.lastSeen) if (nowMs - t > this.windowMs * 4) this.lastSeen.delete(k);
    return prev === undefined || nowMs - prev >= this.windowMs;
  }

  reset(): void {
    this.lastSeen.clear();
  }
}

/** Target size for a camera frame: at most `maxWidth` wide, aspect kept. */
export function scaledSize(width: number, height: number, maxWidth = 640): { width: number; height: number } {
  if (width <= maxWidth) return { width, height };
  return { width: maxWidth, height: Math.max(1, Math.round((height * maxWidth) / width)) };
}

/** RGBA pixels (canvas ImageData) to one grey byte per pixel (ITU-R BT.601 weights). */
export function rgbaToLuma(rgba: Uint8ClampedArray | Uint8Array, width: number, height: number): Uint8Array {
  const n = width * height;
  if (rgba.length < n * 4) throw new Error("frame is smaller than its size");
  const out = new Uint8Array(n);
  for (let i = 0, j = 0; i < n; i++, j += 4) {
    out[i] = (rgba[j]! * 299 + rgba[j + 1]! * 587 + rgba[j + 2]! * 114 + 500) / 1000;
  }
  return out;
}

export function bytesToBase64(bytes: Uint8Array): string {
  let s = "";
  const chunk = 0x8000;
  for (let i = 0; i < bytes.length; i += chunk) {
    s += String.fromCharCode(...bytes.subarray(i, i + chunk));
  }
  return btoa(s);
}

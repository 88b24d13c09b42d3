import { describe, expect, it } from "vitest";
import { bytesToBase64, rgbaToLuma, ScanDeduper, scaledSize } from "./scan";

describe("ScanDeduper", () => {
  it("accepts a code once while the camera keeps seeing it", () => {
    const d = new ScanDeduper(2000);
    expect(d.accept("T1", 0)).toBe(true);
    for (let t = 150; t <= 3000; t += 150) expect(d.accept("T1", t), `at ${t}`).toBe(false);
  });

  it("accepts the same code again after a 2 s pause", () => {
    const d = new ScanDeduper(2000);
    expect(d.accept("T1", 0)).toBe(true);
    expect(d.accept("T1", 1999)).toBe(false);
    expect(d.accept("T1", 4000)).toBe(true);
  });

  it("accepts different codes straight away", () => {
    const d = new ScanDeduper(2000);
    expect(d.accept("T1", 0)).toBe(true);
    expect(d.accept("T2", 100)).toBe(true);
    expect(d.accept("T1", 200)).toBe(false);
    expect(d.accept(" ", 300)).toBe(false);
    d.reset();
    expect(d.accept("T1", 400)).toBe(true);
  });
});

describe("frames", () => {
  it("downscales to at most 640 wide", () => {
    expect(scaledSize(1280, 720)).toEqual({ width: 640, height: 360 });
    expect(scaledSize(640, 480)).toEqual({ width: 640, height: 480 });
    expect(scaledSize(320, 240)).toEqual({ width: 320, height: 240 });
  });

  it("turns RGBA into grey bytes", () => {
    const px = new Uint8ClampedArray([255, 255, 255, 255, 0, 0, 0, 255, 255, 0, 0, 255, 0, 255, 0, 255]);
    expect(Array.from(rgbaToLuma(px, 4, 1))).toEqual([255, 0, 76, 150]);
    expect(() => rgbaToLuma(px, 5, 1)).toThrow();
  });

  it("encodes bytes as base64", () => {
    expect(bytesToBase64(new Uint8Array([0, 255, 128]))).toBe("AP+A");
    const big = new Uint8Array(100_000).fill(7);
    expect(atob(bytesToBase64(big)).length).toBe(100_000);
  });
});

import { describe, expect, it } from "vitest";
import { rmsLevel } from "./audioLevel";

describe("rmsLevel", () => {
  it("is 0 for silence and the amplitude for a square wave", () => {
    expect(rmsLevel(new Float32Array(128))).toBe(0);
    expect(rmsLevel(new Float32Array([0.5, -0.5, 0.5, -0.5]))).toBeCloseTo(0.5);
    expect(rmsLevel(new Float32Array(0))).toBe(0);
  });
});

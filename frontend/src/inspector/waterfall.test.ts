import { describe, expect, it } from "vitest";
import { barGeometry, waterfall } from "./waterfall";

describe("waterfall", () => {
  it("lays the stages end to end after the end of turn, STT beside it, the rest up to voice-to-voice", () => {
    const chart = waterfall({
      end_of_turn_delay: 0.5,
      stt_delay: 0.3,
      llm_ttft: 0.2,
      tts_ttfb: 0.1,
      voice_to_voice: 1.0,
    });
    expect(chart).not.toBeNull();
    const round = (seconds: number): number => Number(seconds.toFixed(3));
    const bars = chart!.bars.map((bar) => [bar.stage, round(bar.start), round(bar.seconds)]);
    expect(bars).toEqual([
      ["stt_delay", 0, 0.3],
      ["end_of_turn_delay", 0, 0.5],
      ["llm_ttft", 0.5, 0.2],
      ["tts_ttfb", 0.7, 0.1],
      ["rest", 0.8, 0.2],
    ]);
    expect(chart!.total).toBeCloseTo(1.0);
    expect(chart!.voiceToVoice).toBe(1.0);
  });

  it("has no rest when the stages cover voice-to-voice, and spans the stages when they exceed it", () => {
    const chart = waterfall({ end_of_turn_delay: 0.6, llm_ttft: 0.3, tts_ttfb: 0.2, voice_to_voice: 1.0 });
    expect(chart!.bars.map((bar) => bar.stage)).toEqual(["end_of_turn_delay", "llm_ttft", "tts_ttfb"]);
    expect(chart!.total).toBeCloseTo(1.1);
  });

  it("starts the LLM at zero for a turn without a user side (the greeting, a typed message)", () => {
    const chart = waterfall({ llm_ttft: 0.4, tts_ttfb: 0.2 });
    expect(chart!.bars.map((bar) => [bar.stage, bar.start])).toEqual([
      ["llm_ttft", 0],
      ["tts_ttfb", 0.4],
    ]);
    expect(chart!.voiceToVoice).toBeNull();
  });

  it("is null for a turn with nothing measured", () => {
    expect(waterfall({})).toBeNull();
  });

  it("places bars as percentages of the total", () => {
    expect(barGeometry({ stage: "llm_ttft", label: "", start: 0.5, seconds: 0.25 }, 1)).toEqual({ left: 50, width: 25 });
    expect(barGeometry({ stage: "llm_ttft", label: "", start: 0.5, seconds: 0.25 }, 0)).toEqual({ left: 0, width: 0 });
  });
});

// One agent turn's latency as a waterfall: where the seconds went from the end of the user's
// speech to the agent's first audio. Pure logic.
//
// The stages, as LiveKit measures them (voice_common.transcript.LatencyStages): end of turn and
// STT both count from the end of the user's speech (the transcript arrives while the end-of-turn
// decision waits), then the LLM's first token, then the TTS's first byte; voice_to_voice covers
// it all, and whatever it holds beyond those stages is "the rest" (queues, network, playout).

import type { LatencyStages } from "../api";

export type StageName = "end_of_turn_delay" | "stt_delay" | "llm_ttft" | "tts_ttfb" | "rest";

export interface WaterfallBar {
  readonly stage: StageName;
  readonly label: string;
  /** Seconds after the end of the user's speech. */
  readonly start: number;
  readonly seconds: number;
}

export interface Waterfall {
  readonly bars: readonly WaterfallBar[];
  /** The whole span the bars cover, in seconds (voice-to-voice when measured). */
  readonly total: number;
  readonly voiceToVoice: number | null;
}

export const STAGE_LABELS: Record<StageName, string> = {
  end_of_turn_delay: "end of turn",
  stt_delay: "STT",
  llm_ttft: "LLM first token",
  tts_ttfb: "TTS first byte",
  rest: "the rest",
};

// Differences below this (rounding of the stored figures) are not a "rest".
const EPSILON = 0.0005;

/** The waterfall of a turn's stages, or null when none was measured. */
export function waterfall(latency: LatencyStages): Waterfall | null {
  const bars: WaterfallBar[] = [];
  const add = (stage: StageName, start: number, seconds: number | undefined): number => {
    if (seconds === undefined) {
      return start;
    }
    bars.push({ stage, label: STAGE_LABELS[stage], start, seconds });
    return start + seconds;
  };
  add("stt_delay", 0, latency.stt_delay);
  let cursor = add("end_of_turn_delay", 0, latency.end_of_turn_delay);
  cursor = add("llm_ttft", cursor, latency.llm_ttft);
  cursor = add("tts_ttfb", cursor, latency.tts_ttfb);
  const voiceToVoice = latency.voice_to_voice ?? null;
  if (voiceToVoice !== null && voiceToVoice - cursor > EPSILON) {
    cursor = add("rest", cursor, voiceToVoice - cursor);
  }
  if (bars.length === 0) {
    return null;
  }
  const ends = bars.map((bar) => bar.start + bar.seconds);
  return { bars, total: Math.max(cursor, ...ends, voiceToVoice ?? 0), voiceToVoice };
}

/** A bar's position as percentages of the waterfall's width. */
export function barGeometry(bar: WaterfallBar, total: number): { left: number; width: number } {
  if (total <= 0) {
    return { left: 0, width: 0 };
  }
  return { left: (bar.start / total) * 100, width: (bar.seconds / total) * 100 };
}

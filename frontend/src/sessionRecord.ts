// What the page takes from the session record the worker writes (GET /api/voice/session/{id}):
// tool calls, worded for the transcript, and each agent turn's latency. Pure logic.

import type { LatencyStages, ToolCall, TranscriptEntry } from "./api";

export interface TurnLatency {
  /** Seconds from the end of the user's speech to the agent's first audio. */
  readonly voiceToVoice: number;
  /** The parts, in seconds, that the worker measured (end of turn, STT, LLM, TTS). */
  readonly parts: readonly { readonly label: string; readonly seconds: number }[];
}

const LATENCY_PARTS: readonly [stage: keyof LatencyStages, label: string][] = [
  ["end_of_turn_delay", "end of turn"],
  ["stt_delay", "speech to text"],
  ["llm_ttft", "LLM first token"],
  ["tts_ttfb", "speech first audio"],
];

function argument(entry: ToolCall, name: string): string {
  const value = entry.arguments[name];
  return typeof value === "string" ? value : String(value ?? "?");
}

/** A tool call in a few words, e.g. "Created task “Write the notes” in Apollo". */
export function describeToolCall(entry: ToolCall): string {
  const project = (): string => argument(entry, "project_name");
  let action: string;
  switch (entry.name) {
    case "get_project_status":
      action = `Looked up the status of ${project()}`;
      break;
    case "list_projects":
      action = "Listed the projects";
      break;
    case "list_tasks":
      action = `Listed the tasks of ${project()}`;
      break;
    case "create_task":
      action = `Created task “${argument(entry, "title")}” in ${project()}`;
      break;
    case "search_documentation":
      action = `Searched the documentation for “${argument(entry, "query")}”`;
      break;
    case "end_call":
      action = "Ended the call";
      break;
    case "start_task_intake":
      action = "Started collecting a new task";
      break;
    case "confirm_task":
      action = "The task was confirmed";
      break;
    case "cancel_task":
      action = "The task was cancelled";
      break;
    default:
      action = entry.name.startsWith("transfer_to_")
        ? `Handed over to ${entry.name.slice("transfer_to_".length).replaceAll("_", "-")}`
        : `Used the tool ${entry.name}`;
  }
  return entry.is_error ? `${action}: failed. ${entry.output}`.trim() : action;
}

/** An agent turn's latency, or null for entries that carry none. */
export function turnLatency(entry: TranscriptEntry): TurnLatency | null {
  if (entry.type !== "agent" || entry.latency.voice_to_voice === undefined) {
    return null;
  }
  const latency = entry.latency;
  const parts = LATENCY_PARTS.flatMap(([stage, label]) => {
    const seconds = latency[stage];
    return seconds === undefined ? [] : [{ label, seconds }];
  });
  return { voiceToVoice: entry.latency.voice_to_voice, parts };
}

export function formatSeconds(seconds: number): string {
  return `${seconds.toFixed(2)} s`;
}

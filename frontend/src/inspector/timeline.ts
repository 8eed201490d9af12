// A session's transcript as the inspector shows it: one item per entry, oldest first, with
// what an operator looks for (who spoke, tool arguments and results, latency). Pure logic.
//
// Entries are read through the generated types, but the worker may write fields or entry types
// this build does not know yet (a newer worker): those are kept, shown as their JSON, never
// dropped or an error.

import type { TranscriptEntry } from "../api";
import { describeToolCall, formatSeconds } from "../sessionRecord";
import { waterfall, type Waterfall } from "./waterfall";

export type TimelineItem =
  | {
      readonly kind: "user" | "agent";
      readonly at: string;
      readonly text: string;
      readonly interrupted: boolean;
      /** The latency waterfall of an agent turn (null for user turns and unmeasured turns). */
      readonly waterfall: Waterfall | null;
      readonly raw: Readonly<Record<string, unknown>>;
    }
  | {
      readonly kind: "tool";
      readonly at: string;
      readonly name: string;
      readonly summary: string;
      readonly arguments: string;
      readonly output: string;
      readonly isError: boolean;
      readonly raw: Readonly<Record<string, unknown>>;
    }
  | {
      readonly kind: "other";
      readonly at: string;
      /** The entry's `type`, as written. */
      readonly type: string;
      readonly raw: Readonly<Record<string, unknown>>;
    };

function stamp(raw: Readonly<Record<string, unknown>>): string {
  return typeof raw.at === "string" ? raw.at : "";
}

/** The timeline item of one stored entry, whatever its type. */
export function timelineItem(entry: TranscriptEntry): TimelineItem {
  const raw = entry as unknown as Readonly<Record<string, unknown>>;
  switch (entry.type) {
    case "user":
    case "agent":
      return {
        kind: entry.type,
        at: entry.at,
        text: entry.text,
        interrupted: entry.type === "agent" && entry.interrupted,
        waterfall: entry.type === "agent" && entry.latency ? waterfall(entry.latency) : null,
        raw,
      };
    case "tool":
      return {
        kind: "tool",
        at: entry.at,
        name: entry.name,
        summary: describeToolCall(entry),
        arguments: JSON.stringify(entry.arguments ?? {}, null, 2),
        output: entry.output,
        isError: entry.is_error,
        raw,
      };
    default:
      return { kind: "other", at: stamp(raw), type: String(raw.type ?? "unknown"), raw };
  }
}

export function timeline(entries: readonly TranscriptEntry[]): TimelineItem[] {
  return entries.map(timelineItem);
}

/** "12:03:04" in the browser's time zone, for an ISO timestamp ("" when there is none). */
export function clockTime(iso: string | null | undefined): string {
  if (!iso) {
    return "";
  }
  const date = new Date(iso);
  return Number.isNaN(date.getTime()) ? iso : date.toLocaleTimeString([], { hour12: false });
}

/** Usage figures, worded: the mean latencies (`mean_<stage>`, seconds) as "0.81 s". */
export function usageRows(usage: Readonly<Record<string, unknown>> | null | undefined): [string, string][] {
  if (!usage) {
    return [];
  }
  return Object.entries(usage).map(([name, value]) => {
    if (name.startsWith("mean_") && typeof value === "number") {
      return [name, formatSeconds(value)];
    }
    return [name, typeof value === "object" ? JSON.stringify(value) : String(value)];
  });
}

/** Whether a session may still change, so the page keeps polling it. */
export function isLive(status: string): boolean {
  return status !== "ended";
}

/** The file name and text of a session downloaded as JSON. */
export function sessionDownload(state: { readonly session_id: string }): { name: string; text: string } {
  return { name: `session-${state.session_id}.json`, text: JSON.stringify(state, null, 2) + "\n" };
}

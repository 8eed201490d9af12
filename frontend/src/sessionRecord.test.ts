import { describe, expect, it } from "vitest";
import type { ToolCall, TranscriptEntry } from "./api";
import { describeToolCall, formatSeconds, turnLatency } from "./sessionRecord";

const tool = (
  name: string,
  args: Record<string, unknown>,
  extra: Partial<ToolCall> = {},
): ToolCall => ({
  type: "tool",
  name,
  arguments: args,
  output: "",
  is_error: false,
  at: "2026-11-21T12:00:00Z",
  ...extra,
});

describe("describeToolCall", () => {
  it.each([
    [
      tool("create_task", { project_name: "Apollo", title: "Write the notes" }),
      "Created task “Write the notes” in Apollo",
    ],
    [tool("get_project_status", { project_name: "Mercury" }), "Looked up the status of Mercury"],
    [tool("list_tasks", { project_name: "Apollo", status: "todo" }), "Listed the tasks of Apollo"],
    [tool("list_projects", {}), "Listed the projects"],
    [tool("search_documentation", { query: "webhooks" }), "Searched the documentation for “webhooks”"],
    [tool("end_call", {}), "Ended the call"],
    [tool("transfer_to_docs_specialist", {}), "Handed over to docs-specialist"],
    [tool("start_task_intake", {}), "Started collecting a new task"],
    [tool("brand_new_tool", {}), "Used the tool brand_new_tool"],
  ])("describes %o", (entry, expected) => {
    expect(describeToolCall(entry)).toBe(expected);
  });

  it("says when a tool failed, with its message", () => {
    const entry = tool(
      "get_project_status",
      { project_name: "Apolo" },
      { is_error: true, output: "No project named 'Apolo'. Did you mean: Apollo?" },
    );

    expect(describeToolCall(entry)).toBe(
      "Looked up the status of Apolo: failed. No project named 'Apolo'. Did you mean: Apollo?",
    );
  });
});

describe("turnLatency", () => {
  it("takes voice-to-voice and the measured parts of an agent turn", () => {
    const entry: TranscriptEntry = {
      type: "agent",
      text: "Hi",
      interrupted: false,
      latency: { end_of_turn_delay: 0.5, llm_ttft: 0.25, tts_ttfb: 0.125, voice_to_voice: 1.2 },
      timeline: {},
      at: "2026-11-21T12:00:00Z",
    };

    expect(turnLatency(entry)).toEqual({
      voiceToVoice: 1.2,
      parts: [
        { label: "end of turn", seconds: 0.5 },
        { label: "LLM first token", seconds: 0.25 },
        { label: "speech first audio", seconds: 0.125 },
      ],
    });
  });

  it("is null for user turns and agent turns without a measurement (the greeting)", () => {
    expect(turnLatency({ type: "user", text: "Hi", latency: { stt_delay: 0.2 }, at: "" })).toBeNull();
    expect(
      turnLatency({ type: "agent", text: "Hello", interrupted: false, latency: {}, timeline: {}, at: "" }),
    ).toBeNull();
  });
});

describe("formatSeconds", () => {
  it("shows two decimals", () => {
    expect(formatSeconds(1.2345)).toBe("1.23 s");
  });
});

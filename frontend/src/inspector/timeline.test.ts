import { describe, expect, it } from "vitest";
import type { TranscriptEntry } from "../api";
import { isLive, sessionDownload, timeline, usageRows } from "./timeline";

const at = "2026-03-01T10:00:00+00:00";

describe("timeline", () => {
  it("keeps the order and shows user turns, agent turns with their waterfall, and tool calls", () => {
    const entries: TranscriptEntry[] = [
      { type: "user", text: "Status of Apollo?", latency: { stt_delay: 0.3 }, at },
      {
        type: "tool",
        name: "get_project_status",
        arguments: { project_name: "Apollo" },
        output: "on track",
        is_error: false,
        at,
      },
      {
        type: "agent",
        text: "Apollo is on track.",
        interrupted: true,
        latency: { end_of_turn_delay: 0.5, llm_ttft: 0.2, tts_ttfb: 0.1, voice_to_voice: 0.9 },
        timeline: {},
        at,
      },
    ];
    const items = timeline(entries);
    expect(items.map((item) => item.kind)).toEqual(["user", "tool", "agent"]);
    const [user, tool, agent] = items;
    expect(user).toMatchObject({ kind: "user", text: "Status of Apollo?", waterfall: null });
    expect(tool).toMatchObject({
      kind: "tool",
      name: "get_project_status",
      summary: "Looked up the status of Apollo",
      output: "on track",
      isError: false,
    });
    expect(tool?.kind === "tool" && JSON.parse(tool.arguments)).toEqual({ project_name: "Apollo" });
    expect(agent).toMatchObject({ kind: "agent", interrupted: true });
    expect(agent?.kind === "agent" && agent.waterfall?.voiceToVoice).toBe(0.9);
  });

  it("tolerates fields and entry types a newer worker writes: kept, shown as stored", () => {
    const newer = [
      { type: "agent", text: "Hi", interrupted: false, latency: {}, at, agent: "billing", mood: [1] },
      { type: "handoff", from_agent: "triage", to_agent: "billing", at },
    ] as unknown as TranscriptEntry[];
    const [agent, handoff] = timeline(newer);
    expect(agent).toMatchObject({ kind: "agent", text: "Hi", waterfall: null });
    expect(agent?.raw).toMatchObject({ agent: "billing", mood: [1] });
    expect(handoff).toEqual({ kind: "other", type: "handoff", at, raw: newer[1] });
  });
});

describe("usageRows", () => {
  it("words mean latencies as seconds and keeps counts as they are", () => {
    expect(usageRows({ user_turns: 2, mean_llm_ttft: 0.2345, mean_voice_to_voice: 1, ended_at: at })).toEqual([
      ["user_turns", "2"],
      ["mean_llm_ttft", "0.23 s"],
      ["mean_voice_to_voice", "1.00 s"],
      ["ended_at", at],
    ]);
    expect(usageRows(null)).toEqual([]);
  });
});

describe("live sessions and download", () => {
  it("polls every status but ended", () => {
    expect([isLive("created"), isLive("active"), isLive("ended")]).toEqual([true, true, false]);
  });

  it("downloads the whole record as pretty JSON named after the session", () => {
    const state = { session_id: "abc", transcript: [{ type: "user" }] };
    const { name, text } = sessionDownload(state);
    expect(name).toBe("session-abc.json");
    expect(JSON.parse(text)).toEqual(state);
  });
});

import { describe, expect, it } from "vitest";
import { appendState, displayState } from "./agentState";

describe("displayState", () => {
  it("is off without a session and connecting until the agent is there", () => {
    expect(displayState({ connection: "idle", agentPresent: false, agentAttribute: undefined })).toBe("off");
    expect(displayState({ connection: "connecting", agentPresent: false, agentAttribute: undefined })).toBe(
      "connecting",
    );
    expect(displayState({ connection: "connected", agentPresent: false, agentAttribute: undefined })).toBe(
      "connecting",
    );
  });

  it.each([
    ["initializing", "connecting"],
    [undefined, "connecting"],
    ["listening", "listening"],
    ["idle", "listening"],
    ["thinking", "thinking"],
    ["speaking", "speaking"],
    ["something-new", "connecting"],
  ] as const)("maps lk.agent.state %s to %s", (attribute, expected) => {
    expect(displayState({ connection: "connected", agentPresent: true, agentAttribute: attribute })).toBe(
      expected,
    );
  });

  it("says connecting while reconnecting, whatever the agent last said", () => {
    expect(displayState({ connection: "reconnecting", agentPresent: true, agentAttribute: "speaking" })).toBe(
      "connecting",
    );
  });
});

describe("appendState", () => {
  it("records changes only", () => {
    let history = appendState([], "connecting");
    for (const state of ["listening", "listening", "thinking", "speaking", "speaking"] as const) {
      history = appendState(history, state);
    }

    expect(history).toEqual(["connecting", "listening", "thinking", "speaking"]);
  });
});

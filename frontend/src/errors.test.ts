import { describe, expect, it } from "vitest";
import { dependencyName, describeFailure, endedByAgent, microphoneProblem } from "./errors";

describe("microphoneProblem", () => {
  it.each([
    ["NotAllowedError", "denied"],
    ["SecurityError", "denied"],
    ["NotFoundError", "missing"],
    ["OverconstrainedError", "missing"],
    ["NotReadableError", "busy"],
    ["TypeError", "other"],
  ] as const)("classifies %s as %s", (name, expected) => {
    expect(microphoneProblem(name)).toBe(expected);
  });
});

describe("describeFailure", () => {
  it("tells a user who denied the microphone how to allow it, and that typing works", () => {
    const problem = describeFailure({ kind: "microphone", reason: "denied" });

    expect(problem.title).toBe("Microphone access is blocked");
    expect(problem.detail).toContain("Allow the microphone");
    expect(problem.detail).toContain("type your messages");
    expect(problem.action).toBe("retry-microphone");
  });

  it("passes on what the workers say is missing, instead of an apology from the agent", () => {
    const missing = "No LLM: OPENAI_API_KEY is not set. Set OPENAI_API_KEY, or start the local LLM.";
    const problem = describeFailure({ kind: "agent-not-ready", problems: [missing] });

    expect(problem.title).toBe("The assistant cannot answer yet");
    expect(problem.detail).toContain(missing);
    expect(problem.action).toBe("retry");
  });

  it("says a missing microphone is missing", () => {
    expect(describeFailure({ kind: "microphone", reason: "missing" }).title).toBe("No microphone found");
  });

  it("explains https or localhost when the page is not a secure context", () => {
    const problem = describeFailure({ kind: "insecure-context" });

    expect(problem.detail).toContain("https");
    expect(problem.detail).toContain("localhost");
    expect(problem.action).toBe("none");
  });

  it("gives a rate limit's wait in seconds and blocks retrying until then", () => {
    const problem = describeFailure({
      kind: "api",
      status: 429,
      code: "rate_limited",
      message: "Too many new sessions; retry in 42 s",
      retryAfterSeconds: 42,
    });

    expect(problem.detail).toContain("Wait 42 seconds");
    expect(problem.waitSeconds).toBe(42);
    expect(problem.action).toBe("retry");
  });

  it("names the dependency of a 503 and passes its message on", () => {
    const problem = describeFailure({
      kind: "api",
      status: 503,
      code: "livekit_unavailable",
      message: "LiveKit is unavailable: connection refused",
      retryAfterSeconds: null,
    });

    expect(problem.title).toBe("The voice service is unavailable (LiveKit)");
    expect(problem.detail).toContain("LiveKit is unavailable: connection refused");
  });

  it("passes other API errors on with their status", () => {
    const problem = describeFailure({
      kind: "api",
      status: 404,
      code: "unknown_agent",
      message: "No agent 'x' is configured (known: pm-agent)",
      retryAfterSeconds: null,
    });

    expect(problem.detail).toBe(
      "The session API answered: No agent 'x' is configured (known: pm-agent) (HTTP 404).",
    );
  });

  it("names the LiveKit URL that did not answer", () => {
    const problem = describeFailure({ kind: "livekit-unreachable", url: "ws://localhost:7880" });

    expect(problem.title).toBe("Cannot connect to the voice server");
    expect(problem.detail).toContain("ws://localhost:7880");
  });

  it("says how long it waited for the agent", () => {
    expect(describeFailure({ kind: "agent-timeout", seconds: 15 }).detail).toContain("within 15 seconds");
  });

  it("treats reconnecting as passing information with nothing to press", () => {
    const problem = describeFailure({ kind: "reconnecting" });

    expect(problem.severity).toBe("info");
    expect(problem.action).toBe("none");
  });

  it.each([
    ["ROOM_DELETED", "The session was closed on the server."],
    ["DUPLICATE_IDENTITY", "The same session was opened in another tab or window."],
    ["SIGNAL_CLOSE", "The connection to the voice server was lost and could not be restored."],
  ])("explains a disconnect for %s", (reason, detail) => {
    const problem = describeFailure({ kind: "disconnected", reason });

    expect(problem.detail).toBe(detail);
    expect(problem.actionLabel).toBe("Start a new session");
  });
});

describe("dependencyName", () => {
  it("names known services and passes others through", () => {
    expect(dependencyName("redis_unavailable")).toBe("Redis");
    expect(dependencyName("livekit_unavailable")).toBe("LiveKit");
    expect(dependencyName("billing_unavailable")).toBe("billing");
  });
});

describe("endedByAgent", () => {
  it.each([
    ["agent_ended", "The assistant said goodbye and ended the call."],
    ["user_away", "The assistant ended the call after asking whether you were still there and hearing nothing."],
  ])("tells the user the agent ended the call (%s), as information", (reason, detail) => {
    const failure = endedByAgent(reason);

    expect(failure).toEqual({ kind: "call-ended", reason });
    const problem = describeFailure(failure ?? { kind: "agent-left" });
    expect(problem.detail).toBe(detail);
    expect(problem.severity).toBe("info");
  });

  it.each([null, "user_left", "room_finished", "agent_error: ValueError"])("leaves %s to the usual message", (reason) => {
    expect(endedByAgent(reason)).toBeNull();
  });
});

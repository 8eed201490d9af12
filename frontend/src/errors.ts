// Everything that can go wrong, said in plain language with a way forward. Pure logic: the
// session classifies a failure, this module words it, the UI shows it.

export type Failure =
  | { readonly kind: "insecure-context" }
  | { readonly kind: "microphone"; readonly reason: MicrophoneProblem }
  | {
      readonly kind: "api";
      readonly status: number;
      readonly code: string;
      readonly message: string;
      readonly retryAfterSeconds: number | null;
    }
  | { readonly kind: "api-unreachable" }
  | { readonly kind: "livekit-unreachable"; readonly url: string }
  | { readonly kind: "agent-not-ready"; readonly problems: readonly string[] }
  | { readonly kind: "agent-timeout"; readonly seconds: number }
  | { readonly kind: "agent-left" }
  | { readonly kind: "reconnecting" }
  | { readonly kind: "disconnected"; readonly reason: string }
  | { readonly kind: "call-ended"; readonly reason: AgentEnding };

/** The session end reasons (voice_common.session_status.EndReason) of calls the agent ended. */
export type AgentEnding = "agent_ended" | "user_away";

/** The call's end as the agent's own, from the session record's `end_reason`; null otherwise. */
export function endedByAgent(endReason: string | null): Failure | null {
  return endReason === "agent_ended" || endReason === "user_away" ? { kind: "call-ended", reason: endReason } : null;
}

export type MicrophoneProblem = "denied" | "missing" | "busy" | "other";

/** What the button next to the message does: start again, ask for the microphone again, nothing. */
export type Action = "retry" | "retry-microphone" | "none";

export interface Problem {
  readonly title: string;
  readonly detail: string;
  readonly action: Action;
  readonly actionLabel: string;
  /** Seconds to wait before the action may be used (a rate limit's Retry-After). */
  readonly waitSeconds: number;
  /** "info" for a passing condition (reconnecting), "error" for everything else. */
  readonly severity: "info" | "error";
}

const TYPE_INSTEAD = "Meanwhile you can type your messages below.";

/** The kind of microphone problem from the DOMException name getUserMedia rejected with. */
export function microphoneProblem(errorName: string): MicrophoneProblem {
  switch (errorName) {
    case "NotAllowedError":
    case "SecurityError":
      return "denied";
    case "NotFoundError":
    case "OverconstrainedError":
      return "missing";
    case "NotReadableError":
    case "AbortError":
      return "busy";
    default:
      return "other";
  }
}

/** A service name for an API error code such as `livekit_unavailable`. */
export function dependencyName(code: string): string {
  const names: Record<string, string> = { livekit: "LiveKit", redis: "Redis" };
  const key = code.replace(/_unavailable$/, "");
  return names[key] ?? key;
}

function problem(
  title: string,
  detail: string,
  action: Action = "retry",
  extra: Partial<Pick<Problem, "actionLabel" | "waitSeconds" | "severity">> = {},
): Problem {
  const labels: Record<Action, string> = {
    retry: "Try again",
    "retry-microphone": "Try microphone again",
    none: "",
  };
  return {
    title,
    detail,
    action,
    actionLabel: extra.actionLabel ?? labels[action],
    waitSeconds: extra.waitSeconds ?? 0,
    severity: extra.severity ?? "error",
  };
}

function microphoneMessage(reason: MicrophoneProblem): Problem {
  switch (reason) {
    case "denied":
      return problem(
        "Microphone access is blocked",
        "Allow the microphone for this page (the microphone icon in the address bar or the " +
          `site settings), then press “Try microphone again”. ${TYPE_INSTEAD}`,
        "retry-microphone",
      );
    case "missing":
      return problem(
        "No microphone found",
        `Connect a microphone, then press “Try microphone again”. ${TYPE_INSTEAD}`,
        "retry-microphone",
      );
    case "busy":
      return problem(
        "The microphone could not be started",
        "Another application may be using it. Close that application, then press " +
          `“Try microphone again”. ${TYPE_INSTEAD}`,
        "retry-microphone",
      );
    case "other":
      return problem(
        "The microphone could not be started",
        "Check your microphone and the browser's permission for this page, then press " +
          `“Try microphone again”. ${TYPE_INSTEAD}`,
        "retry-microphone",
      );
  }
}

function apiMessage(failure: Extract<Failure, { kind: "api" }>): Problem {
  if (failure.status === 429) {
    const wait = failure.retryAfterSeconds ?? 60;
    const seconds = wait === 1 ? "second" : "seconds";
    return problem(
      "Too many sessions started",
      `You started too many sessions in a short time. Wait ${wait} ${seconds}, then try again.`,
      "retry",
      { waitSeconds: wait },
    );
  }
  if (failure.status === 503) {
    const dependency = dependencyName(failure.code);
    return problem(
      `The voice service is unavailable (${dependency})`,
      `${failure.message}. This is usually temporary: try again in a minute. If it lasts, ` +
        `check that ${dependency} is running.`,
    );
  }
  return problem(
    "The session could not be started",
    `The session API answered: ${failure.message} (HTTP ${failure.status}).`,
  );
}

function disconnectDetail(reason: string): string {
  switch (reason) {
    case "ROOM_DELETED":
    case "ROOM_CLOSED":
      return "The session was closed on the server.";
    case "SERVER_SHUTDOWN":
      return "The voice server shut down.";
    case "DUPLICATE_IDENTITY":
      return "The same session was opened in another tab or window.";
    case "PARTICIPANT_REMOVED":
      return "You were removed from the session.";
    default:
      return "The connection to the voice server was lost and could not be restored.";
  }
}

export function describeFailure(failure: Failure): Problem {
  switch (failure.kind) {
    case "insecure-context":
      return problem(
        "Voice needs a secure page",
        "Browsers only allow the microphone on https:// pages and on localhost. Open this page " +
          "over https, or at http://localhost:3000 on the computer running the stack.",
        "none",
      );
    case "microphone":
      return microphoneMessage(failure.reason);
    case "api":
      return apiMessage(failure);
    case "api-unreachable":
      return problem(
        "Cannot reach the voice service",
        "The page could not reach the session API. Check that the stack is running " +
          "(make dev, or docker compose up), then try again.",
      );
    case "livekit-unreachable":
      return problem(
        "Cannot connect to the voice server",
        `The LiveKit server at ${failure.url} did not answer. Check that it is running and that ` +
          "this browser can reach it (its address, port and firewall), then try again.",
      );
    case "agent-not-ready":
      return problem(
        "The assistant cannot answer yet",
        `The voice stack is running but not set up to hold a conversation. ${failure.problems.join(" ")} ` +
          "Then try again.",
      );
    case "agent-timeout":
      return problem(
        "The assistant did not join",
        `No assistant joined within ${failure.seconds} seconds, so the session was ended. The ` +
          "voice worker may be stopped or busy: check its logs, then try again.",
      );
    case "agent-left":
      return problem(
        "The assistant left the call",
        "The assistant disconnected, so the session has ended. Start a new session to go on.",
        "retry",
        { actionLabel: "Start a new session" },
      );
    case "reconnecting":
      return problem(
        "Connection lost, reconnecting…",
        "The call resumes by itself when the network is back.",
        "none",
        { severity: "info" },
      );
    case "disconnected":
      return problem("The call ended", disconnectDetail(failure.reason), "retry", {
        actionLabel: "Start a new session",
      });
    case "call-ended":
      return problem(
        "The call ended",
        failure.reason === "agent_ended"
          ? "The assistant said goodbye and ended the call."
          : "The assistant ended the call after asking whether you were still there and hearing nothing.",
        "retry",
        { actionLabel: "Start a new session", severity: "info" },
      );
  }
}

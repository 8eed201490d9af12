// The session API, same origin (/api is proxied to session-api by nginx, or by Vite in dev).
// Failures come out as `Failure` values the page can word (see errors.ts).

import type { Failure } from "./errors";
import type { components } from "./generated/api-types";

// The API's types, generated from its OpenAPI schema (`npm run gen:api`; never edited by hand).
type Schemas = components["schemas"];
export type SessionCreated = Schemas["SessionCreated"];
export type SessionState = Schemas["SessionState"];
/** Whether the workers of an agent can hold a conversation (GET /api/voice/agents/{id}). */
export type AgentStatus = Schemas["AgentStatus"];
/** One entry of a session's transcript, as the worker records it: a user or agent turn, or a tool call. */
export type TranscriptEntry = SessionState["transcript"][number];
export type ToolCall = Schemas["ToolCall"];
/** A turn's latency in seconds by stage; the stage names are the session API's. */
export type LatencyStages = Schemas["LatencyStages"];

/** Thrown by every call here; `failure` says what went wrong. */
export class ApiFailure extends Error {
  constructor(readonly failure: Failure) {
    super(failure.kind);
    this.name = "ApiFailure";
  }
}

/** Seconds from a Retry-After header (delta-seconds or an HTTP date), null if absent or invalid. */
export function parseRetryAfter(header: string | null, now: number = Date.now()): number | null {
  if (header === null || header.trim() === "") {
    return null;
  }
  if (/^\d+$/.test(header.trim())) {
    return Number(header.trim());
  }
  const date = Date.parse(header);
  return Number.isNaN(date) ? null : Math.max(0, Math.ceil((date - now) / 1000));
}

/**
 * The failure an unsuccessful response stands for. The API answers errors as JSON
 * `{"error": {"code", "message"}}`; anything else in front of it (nginx's 502/504 page when
 * session-api is down) means the API itself could not be reached.
 */
export function failureFromResponse(status: number, body: unknown, retryAfter: string | null): Failure {
  const error = (body as { error?: { code?: unknown; message?: unknown } } | null)?.error;
  if (typeof error?.code !== "string" || typeof error.message !== "string") {
    if (status === 502 || status === 503 || status === 504) {
      return { kind: "api-unreachable" };
    }
    return { kind: "api", status, code: "http_error", message: `HTTP ${status}`, retryAfterSeconds: null };
  }
  return {
    kind: "api",
    status,
    code: error.code,
    message: error.message,
    retryAfterSeconds: parseRetryAfter(retryAfter),
  };
}

/** One call of the session API: its JSON answer, or an `ApiFailure`. */
export async function call<T>(
  method: string,
  path: string,
  body?: unknown,
  headers: Record<string, string> = {},
): Promise<T> {
  let response: Response;
  try {
    response = await fetch(path, {
      method,
      headers: body === undefined ? headers : { ...headers, "Content-Type": "application/json" },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch {
    throw new ApiFailure({ kind: "api-unreachable" });
  }
  const payload: unknown = await response.json().catch(() => null);
  if (!response.ok) {
    throw new ApiFailure(failureFromResponse(response.status, payload, response.headers.get("Retry-After")));
  }
  return payload as T;
}

export function createSession(userId: string, agentId: string): Promise<SessionCreated> {
  return call("POST", "/api/voice/session", { user_id: userId, agent_id: agentId });
}

export function getSession(sessionId: string): Promise<SessionState> {
  return call("GET", `/api/voice/session/${encodeURIComponent(sessionId)}`);
}

export function endSession(sessionId: string): Promise<SessionState> {
  return call("DELETE", `/api/voice/session/${encodeURIComponent(sessionId)}`);
}

export function getAgentStatus(agentId: string): Promise<AgentStatus> {
  return call("GET", `/api/voice/agents/${encodeURIComponent(agentId)}`);
}

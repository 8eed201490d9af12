// The session API's inspector endpoints (/api/inspector/...), which need the operator token
// (INSPECTOR_TOKEN) as a bearer. Types come from the generated OpenAPI types.

import { call } from "../api";
import type { SessionState } from "../api";
import type { components } from "../generated/api-types";

type Schemas = components["schemas"];
export type InspectorSessionPage = Schemas["InspectorSessionPage"];
export type InspectorSessionSummary = Schemas["InspectorSessionSummary"];
export type SessionStatus = Schemas["SessionStatus"];
export type { SessionState };

/** What the list is filtered by, as the form holds it ("" is "any"). */
export interface SessionFilter {
  readonly userId: string;
  readonly status: "" | SessionStatus;
  /** A day as `<input type="date">` gives it (YYYY-MM-DD), in the browser's time zone. */
  readonly from: string;
  readonly to: string;
}

export const NO_FILTER: SessionFilter = { userId: "", status: "", from: "", to: "" };
export const PAGE_SIZE = 20;

/** The start of a local day, or (with `endOfDay`) its last millisecond, as ISO 8601 in UTC. */
export function dayBoundary(day: string, endOfDay: boolean): string {
  const [year, month, date] = day.split("-").map(Number) as [number, number, number];
  const moment = endOfDay
    ? new Date(year, month - 1, date, 23, 59, 59, 999)
    : new Date(year, month - 1, date, 0, 0, 0, 0);
  return moment.toISOString();
}

/** The list request's query string for a filter and an offset. */
export function sessionsQuery(filter: SessionFilter, offset: number, limit: number = PAGE_SIZE): string {
  const query = new URLSearchParams();
  if (filter.userId.trim() !== "") {
    query.set("user_id", filter.userId.trim());
  }
  if (filter.status !== "") {
    query.set("status", filter.status);
  }
  if (filter.from !== "") {
    query.set("created_from", dayBoundary(filter.from, false));
  }
  if (filter.to !== "") {
    query.set("created_to", dayBoundary(filter.to, true));
  }
  query.set("limit", String(limit));
  query.set("offset", String(offset));
  return query.toString();
}

function bearer(token: string): Record<string, string> {
  return { Authorization: `Bearer ${token}` };
}

export function listSessions(token: string, filter: SessionFilter, offset: number): Promise<InspectorSessionPage> {
  return call("GET", `/api/inspector/sessions?${sessionsQuery(filter, offset)}`, undefined, bearer(token));
}

export function inspectSession(token: string, sessionId: string): Promise<SessionState> {
  return call("GET", `/api/inspector/sessions/${encodeURIComponent(sessionId)}`, undefined, bearer(token));
}

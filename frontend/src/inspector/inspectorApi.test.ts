import { afterEach, describe, expect, it, vi } from "vitest";
import { ApiFailure } from "../api";
import { dayBoundary, inspectSession, listSessions, NO_FILTER, sessionsQuery } from "./inspectorApi";

describe("sessionsQuery", () => {
  it("sends only the filters that are set, with the page", () => {
    expect(sessionsQuery(NO_FILTER, 0)).toBe("limit=20&offset=0");
    expect(sessionsQuery({ ...NO_FILTER, userId: " alice ", status: "ended" }, 40, 10)).toBe(
      "user_id=alice&status=ended&limit=10&offset=40",
    );
  });

  it("turns days into the start of the first and the end of the last, in the browser's zone", () => {
    const query = new URLSearchParams(sessionsQuery({ ...NO_FILTER, from: "2026-03-01", to: "2026-03-02" }, 0));
    expect(query.get("created_from")).toBe(new Date(2026, 2, 1).toISOString());
    expect(query.get("created_to")).toBe(new Date(2026, 2, 2, 23, 59, 59, 999).toISOString());
  });

  it("writes day boundaries as UTC ISO 8601, which the API requires (an offset)", () => {
    expect(dayBoundary("2026-12-31", false)).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/);
  });
});

describe("the inspector's calls", () => {
  afterEach(() => vi.unstubAllGlobals());

  it("send the token as a bearer", async () => {
    const fetch = vi.fn(async () => new Response(JSON.stringify({ sessions: [], next_offset: null })));
    vi.stubGlobal("fetch", fetch);
    await listSessions("tok", NO_FILTER, 0);
    await inspectSession("tok", "ab".repeat(16));
    expect(fetch.mock.calls.map((call) => (call as unknown[])[0])).toEqual([
      "/api/inspector/sessions?limit=20&offset=0",
      `/api/inspector/sessions/${"ab".repeat(16)}`,
    ]);
    for (const call of fetch.mock.calls) {
      expect(((call as unknown[])[1] as RequestInit).headers).toEqual({ Authorization: "Bearer tok" });
    }
  });

  it("turn a 401 into a failure carrying the API's code", async () => {
    const body = { error: { code: "inspector_disabled", message: "off" } };
    vi.stubGlobal("fetch", async () => new Response(JSON.stringify(body), { status: 401 }));
    const failure = await listSessions("", NO_FILTER, 0).catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(ApiFailure);
    expect((failure as ApiFailure).failure).toMatchObject({ kind: "api", status: 401, code: "inspector_disabled" });
  });
});

import { describe, expect, it } from "vitest";
import { failureFromResponse, parseRetryAfter } from "./api";

describe("parseRetryAfter", () => {
  it("reads delta-seconds", () => {
    expect(parseRetryAfter("42")).toBe(42);
  });

  it("reads an HTTP date as the seconds until then", () => {
    const now = Date.parse("2026-11-21T12:00:00Z");

    expect(parseRetryAfter("Sat, 21 Nov 2026 12:00:30 GMT", now)).toBe(30);
  });

  it("is null when absent or unreadable", () => {
    expect(parseRetryAfter(null)).toBeNull();
    expect(parseRetryAfter("soon")).toBeNull();
  });
});

describe("failureFromResponse", () => {
  it("takes code, message and Retry-After from the API's JSON error", () => {
    const body = { error: { code: "rate_limited", message: "Too many new sessions; retry in 7 s" } };

    expect(failureFromResponse(429, body, "7")).toEqual({
      kind: "api",
      status: 429,
      code: "rate_limited",
      message: "Too many new sessions; retry in 7 s",
      retryAfterSeconds: 7,
    });
  });

  it("treats a gateway error without the API's JSON as the API being unreachable", () => {
    expect(failureFromResponse(502, null, null)).toEqual({ kind: "api-unreachable" });
    expect(failureFromResponse(504, "<html>", null)).toEqual({ kind: "api-unreachable" });
  });

  it("keeps the status of any other error without a JSON body", () => {
    expect(failureFromResponse(500, null, null)).toMatchObject({
      kind: "api",
      status: 500,
      message: "HTTP 500",
    });
  });
});

import { describe, expect, it } from "vitest";
import { accessProblem } from "./access";

const api = (status: number, code: string) =>
  ({ kind: "api", status, code, message: "Send the operator token", retryAfterSeconds: null }) as const;

describe("accessProblem", () => {
  it("says how to turn the inspector on when no token is configured", () => {
    const problem = accessProblem(api(401, "inspector_disabled"));
    expect(problem?.title).toBe("The inspector is off");
    expect(problem?.detail).toContain("INSPECTOR_TOKEN");
    expect(problem?.detail).toContain("restart session-api");
    expect(problem?.askForToken).toBe(false);
  });

  it("asks for the token when the one sent is missing or wrong", () => {
    const problem = accessProblem(api(401, "unauthorized"));
    expect(problem?.askForToken).toBe(true);
    expect(problem?.detail).toContain("INSPECTOR_TOKEN");
  });

  it("leaves other failures to the page", () => {
    expect(accessProblem(api(404, "session_not_found"))).toBeNull();
    expect(accessProblem({ kind: "api-unreachable" })).toBeNull();
  });
});

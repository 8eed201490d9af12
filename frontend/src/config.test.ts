import { describe, expect, it } from "vitest";
import { DEFAULT_CONFIG, readConfig, stableUserId } from "./config";

describe("readConfig", () => {
  it("uses the defaults without a query string", () => {
    expect(readConfig("")).toEqual(DEFAULT_CONFIG);
    expect(DEFAULT_CONFIG.agentTimeoutSeconds).toBe(15);
  });

  it("takes the agent timeout from ?agentTimeout=", () => {
    expect(readConfig("?agentTimeout=3").agentTimeoutSeconds).toBe(3);
    expect(readConfig("?agentTimeout=0.5").agentTimeoutSeconds).toBe(0.5);
  });

  it("ignores an invalid timeout", () => {
    for (const value of ["abc", "-1", "0", ""]) {
      expect(readConfig(`?agentTimeout=${value}`).agentTimeoutSeconds).toBe(15);
    }
  });
});

describe("stableUserId", () => {
  const memory = (): Pick<Storage, "getItem" | "setItem"> => {
    const values = new Map<string, string>();
    return {
      getItem: (key) => values.get(key) ?? null,
      setItem: (key, value) => void values.set(key, value),
    };
  };

  it("makes a web- id once and returns the same one afterwards", () => {
    const storage = memory();
    const first = stableUserId(
      () => storage,
      () => "1234",
    );

    expect(first).toBe("web-1234");
    expect(
      stableUserId(
        () => storage,
        () => "other",
      ),
    ).toBe("web-1234");
  });

  it("still gives an id when storage is unavailable", () => {
    const blocked = (): Storage => {
      throw new DOMException("denied", "SecurityError");
    };

    expect(stableUserId(blocked, () => "5678")).toBe("web-5678");
  });
});

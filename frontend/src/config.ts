// The page's settings: fixed defaults, a few overridable in the URL's query string.

export interface ClientConfig {
  /** The agent the session API dispatches (`agent_id`). */
  readonly agentId: string;
  /** How long to wait for the agent to join before giving up (`?agentTimeout=` seconds). */
  readonly agentTimeoutSeconds: number;
  /** How often the session record (tool calls, latency) is read while connected. */
  readonly recordPollMs: number;
}

export const DEFAULT_CONFIG: ClientConfig = {
  agentId: "pm-agent",
  agentTimeoutSeconds: 15,
  recordPollMs: 2000,
};

export function readConfig(search: string): ClientConfig {
  const timeout = Number(new URLSearchParams(search).get("agentTimeout") ?? "");
  return {
    ...DEFAULT_CONFIG,
    agentTimeoutSeconds:
      Number.isFinite(timeout) && timeout > 0 ? timeout : DEFAULT_CONFIG.agentTimeoutSeconds,
  };
}

const USER_ID_KEY = "voice-agent.user-id";

/**
 * This browser's user id (`web-<uuid>`), kept in localStorage so the agent's memory of earlier
 * conversations follows the same person; a fresh one each time if storage is unavailable.
 */
export function stableUserId(
  storage: () => Pick<Storage, "getItem" | "setItem">,
  newId: () => string,
): string {
  try {
    const store = storage();
    const stored = store.getItem(USER_ID_KEY);
    if (stored) {
      return stored;
    }
    const id = `web-${newId()}`;
    store.setItem(USER_ID_KEY, id);
    return id;
  } catch {
    return `web-${newId()}`;
  }
}

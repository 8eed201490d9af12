// What the page says the agent is doing. Pure logic: the connection phase and the agent
// participant's `lk.agent.state` attribute in, one of a few display states out.

export type DisplayState = "off" | "connecting" | "listening" | "thinking" | "speaking";

export const STATE_LABELS: Record<DisplayState, string> = {
  off: "Not connected",
  connecting: "Connecting…",
  listening: "Listening",
  thinking: "Thinking…",
  speaking: "Speaking",
};

export interface StateInputs {
  /** The page's side: no session, being set up, connected, or connected but reconnecting. */
  readonly connection: "idle" | "connecting" | "connected" | "reconnecting";
  readonly agentPresent: boolean;
  /** The agent participant's `lk.agent.state` attribute, if it has one yet. */
  readonly agentAttribute: string | undefined;
}

export function displayState({ connection, agentPresent, agentAttribute }: StateInputs): DisplayState {
  if (connection === "idle") {
    return "off";
  }
  if (connection !== "connected" || !agentPresent) {
    return "connecting";
  }
  switch (agentAttribute) {
    case "listening":
    case "idle": // the agent is waiting for the user: to them, it listens
      return "listening";
    case "thinking":
      return "thinking";
    case "speaking":
      return "speaking";
    default: // "initializing", or no attribute yet
      return "connecting";
  }
}

/** The history with `state` appended, unless it is already the last entry. */
export function appendState(history: readonly DisplayState[], state: DisplayState): DisplayState[] {
  return history[history.length - 1] === state ? [...history] : [...history, state];
}

// The page: index.html's elements, kept in step with the session (it implements SessionView)
// and wired to the handlers main.ts gives it. No session logic here.

import { appendState, type DisplayState, STATE_LABELS } from "./agentState";
import type { LevelMeters, MeterName } from "./audioLevel";
import { describeFailure, type Failure } from "./errors";
import type { MicrophoneState, Phase, SessionView } from "./session";
import { formatSeconds, type TurnLatency } from "./sessionRecord";
import type { Line, Speaker } from "./transcript";

export interface UiHandlers {
  start(): void;
  end(): void;
  setMicrophoneEnabled(enabled: boolean): void;
  startAudio(): void;
  retryMicrophone(): void;
  /** Resolves true when the message went out (the text box is then cleared). */
  send(text: string): Promise<boolean>;
}

const SPEAKERS: Record<Speaker, string> = { user: "You", agent: "Agent", tool: "Tool" };

function element<T extends HTMLElement>(id: string): T {
  const found = document.getElementById(id);
  if (found === null) {
    throw new Error(`index.html has no #${id}`);
  }
  return found as T;
}

export class Ui implements SessionView {
  private readonly enable = element<HTMLButtonElement>("enable");
  private readonly startAudioButton = element<HTMLButtonElement>("start-audio");
  private readonly mute = element<HTMLButtonElement>("mute");
  private readonly endButton = element<HTMLButtonElement>("end");
  private readonly problemBox = element("problem");
  private readonly problemAction = element<HTMLButtonElement>("problem-action");
  private readonly state = element("agent-state");
  private readonly activeAgent = element("active-agent");
  private readonly transcript = element<HTMLOListElement>("transcript");
  private readonly transcriptEmpty = element("transcript-empty");
  private readonly chatInput = element<HTMLInputElement>("chat-input");
  private readonly chatSend = element<HTMLButtonElement>("chat-send");
  private readonly latency = element("latency");
  private readonly latencyList = element<HTMLOListElement>("latency-list");
  private readonly meterElements: Record<MeterName, HTMLElement> = {
    agent: element("agent-meter"),
    user: element("user-meter"),
  };
  private readonly peaks: Record<MeterName, number> = { agent: 0, user: 0 };
  private readonly shown: Record<MeterName, number> = { agent: 0, user: 0 };
  private history: DisplayState[] = [];
  private phase: Phase = "idle";
  private microphone: MicrophoneState = "off";
  private problemActionHandler: (() => void) | null = null;
  /** Set while a rate limit's Retry-After runs: starting again is pointless until then. */
  private waiting = false;
  private waitTimer: number | undefined;

  readonly audioSink = element("audio-sink");

  constructor(
    private readonly handlers: UiHandlers,
    private readonly meters: LevelMeters,
  ) {
    this.enable.addEventListener("click", () => handlers.start());
    this.endButton.addEventListener("click", () => handlers.end());
    this.startAudioButton.addEventListener("click", () => handlers.startAudio());
    this.mute.addEventListener("click", () => handlers.setMicrophoneEnabled(this.microphone === "muted"));
    this.problemAction.addEventListener("click", () => this.problemActionHandler?.());
    element<HTMLFormElement>("chat").addEventListener("submit", (event) => {
      event.preventDefault();
      void this.submitChat();
    });
    this.drawLevels();
  }

  phaseChanged(phase: Phase): void {
    this.phase = phase;
    const live = phase === "live";
    this.enable.hidden = live;
    this.enable.disabled = phase === "starting" || this.waiting;
    this.enable.textContent = phase === "starting" ? "Connecting…" : "Enable Voice";
    this.mute.hidden = !live;
    this.mute.disabled = !live || this.microphone === "off";
    this.endButton.hidden = !live;
    this.chatInput.disabled = !live;
    this.chatSend.disabled = !live;
    this.chatInput.placeholder = live ? "Ask the agent something" : "Connect first, then type here";
    if (phase === "starting") {
      this.history = [];
      this.latencyList.replaceChildren();
      this.latency.hidden = true;
      for (const name of ["agent", "user"] as const) {
        this.peaks[name] = 0;
        this.meterElements[name].dataset.maxLevel = "0";
      }
    }
    // Keep the keyboard focus on something that is still there.
    const focused = document.activeElement;
    if (
      focused === null ||
      focused === document.body ||
      (focused as HTMLElement).hidden ||
      focused.matches(":disabled")
    ) {
      (live ? this.chatInput : this.enable).focus();
    }
  }

  agentStateChanged(state: DisplayState): void {
    this.history = appendState(this.history, state);
    this.state.textContent = STATE_LABELS[state];
    this.state.dataset.state = state;
    this.state.dataset.history = this.history.join(" ");
    document.body.dataset.agentState = state;
  }

  activeAgentChanged(name: string | null): void {
    this.activeAgent.hidden = name === null;
    this.activeAgent.textContent = name === null ? "" : `(${name})`;
  }

  transcriptChanged(lines: readonly Line[]): void {
    const existing = new Map<string, HTMLLIElement>();
    for (const item of this.transcript.querySelectorAll<HTMLLIElement>("li[data-id]")) {
      existing.set(item.dataset.id ?? "", item);
    }
    lines.forEach((line, index) => {
      const item = existing.get(line.id) ?? this.newLine(line);
      existing.delete(line.id);
      const text = item.querySelector(".line-text") as HTMLElement;
      if (text.textContent !== line.text) {
        text.textContent = line.text;
      }
      item.dataset.final = String(line.final);
      if (this.transcript.children[index] !== item) {
        this.transcript.insertBefore(item, this.transcript.children[index] ?? null);
      }
    });
    for (const stale of existing.values()) {
      stale.remove();
    }
    this.transcriptEmpty.hidden = lines.length > 0;
    this.transcript.lastElementChild?.scrollIntoView({ block: "nearest" });
  }

  problemChanged(failure: Failure | null): void {
    window.clearTimeout(this.waitTimer);
    this.problemBox.hidden = failure === null;
    if (failure === null) {
      this.setWaiting(false);
      return;
    }
    const problem = describeFailure(failure);
    this.problemBox.dataset.severity = problem.severity;
    element("problem-title").textContent = problem.title;
    element("problem-detail").textContent = problem.detail;
    this.problemAction.hidden = problem.action === "none";
    this.problemAction.textContent = problem.actionLabel;
    this.problemActionHandler =
      problem.action === "retry"
        ? () => this.handlers.start()
        : problem.action === "retry-microphone"
          ? () => this.handlers.retryMicrophone()
          : null;
    this.setWaiting(problem.waitSeconds > 0);
    if (this.waiting) {
      this.waitTimer = window.setTimeout(() => this.setWaiting(false), problem.waitSeconds * 1000);
    }
  }

  private setWaiting(waiting: boolean): void {
    this.waiting = waiting;
    this.problemAction.disabled = waiting;
    this.enable.disabled = waiting || this.phase === "starting";
  }

  audioBlockedChanged(blocked: boolean): void {
    this.startAudioButton.hidden = !blocked;
  }

  microphoneChanged(state: MicrophoneState): void {
    this.microphone = state;
    this.mute.textContent = state === "muted" ? "Unmute" : "Mute";
    this.mute.disabled = this.phase !== "live" || state === "off";
  }

  trackChanged(name: MeterName, track: MediaStreamTrack | null): void {
    this.meters.watch(name, track);
  }

  latencyAdded(turn: TurnLatency): void {
    const item = document.createElement("li");
    const parts = turn.parts.map((part) => `${part.label} ${formatSeconds(part.seconds)}`).join(" · ");
    item.textContent = `${formatSeconds(turn.voiceToVoice)}${parts ? ` (${parts})` : ""}`;
    item.dataset.seconds = String(turn.voiceToVoice);
    this.latencyList.append(item);
    this.latency.hidden = false;
    element("latency-last").textContent = `· last ${formatSeconds(turn.voiceToVoice)}`;
  }

  private newLine(line: Line): HTMLLIElement {
    const item = document.createElement("li");
    item.className = `line line-${line.speaker}`;
    item.dataset.id = line.id;
    item.dataset.speaker = line.speaker;
    const who = document.createElement("span");
    who.className = "line-who";
    who.textContent = SPEAKERS[line.speaker];
    const text = document.createElement("p");
    text.className = "line-text";
    item.append(who, text);
    return item;
  }

  private async submitChat(): Promise<void> {
    const text = this.chatInput.value.trim();
    if (text === "") {
      return;
    }
    if (await this.handlers.send(text)) {
      this.chatInput.value = "";
    }
  }

  /** Level bars, once per frame; each meter's peak is kept in `data-max-level`. */
  private drawLevels(): void {
    const levels = this.meters.levels();
    for (const name of ["agent", "user"] as const) {
      const level = levels[name];
      // Speech is around 0.05-0.3 RMS: scaled so that normal speech fills most of the bar, and
      // falling back slowly so the bar follows words rather than every syllable.
      const fill = Math.max(Math.min(1, level * 4), this.shown[name] * 0.9);
      this.shown[name] = fill;
      const bar = this.meterElements[name].querySelector<HTMLElement>(".meter-fill");
      bar?.style.setProperty("transform", `scaleX(${fill.toFixed(3)})`);
      if (level > this.peaks[name]) {
        this.peaks[name] = level;
        this.meterElements[name].dataset.maxLevel = level.toFixed(4);
      }
    }
    requestAnimationFrame(() => this.drawLevels());
  }
}

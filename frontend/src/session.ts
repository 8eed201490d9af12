// One voice session: create it through the session API, join its LiveKit room, publish the
// microphone, play the agent, follow the agent's state and the transcript, end it. The page
// (ui.ts) sees it only through `SessionView`.

import {
  DisconnectReason,
  type Participant,
  type RemoteParticipant,
  type RemoteTrack,
  Room,
  RoomEvent,
  type TextStreamReader,
  Track,
} from "livekit-client";
import { type DisplayState, displayState, type StateInputs } from "./agentState";
import {
  ApiFailure,
  createSession,
  endSession,
  getAgentStatus,
  getSession,
  type SessionCreated,
  type TranscriptEntry,
} from "./api";
import type { MeterName } from "./audioLevel";
import type { ClientConfig } from "./config";
import { endedByAgent, type Failure, microphoneProblem } from "./errors";
import { describeToolCall, type TurnLatency, turnLatency } from "./sessionRecord";
import { type Line, Transcript } from "./transcript";

const TRANSCRIPTION_TOPIC = "lk.transcription";
const CHAT_TOPIC = "lk.chat";
const AGENT_STATE_ATTRIBUTE = "lk.agent.state";
/** voice_common.agents_file.ACTIVE_AGENT_ATTRIBUTE: the agent in charge, by display name. */
const ACTIVE_AGENT_ATTRIBUTE = "voice.active_agent";
const SEGMENT_ID_ATTRIBUTE = "lk.segment_id";
const FINAL_ATTRIBUTE = "lk.transcription_final";

/** idle: no session; starting: creating it and connecting; live: in the room. */
export type Phase = "idle" | "starting" | "live";

/** on: published and heard; muted: published, muted by the user; off: not published. */
export type MicrophoneState = "on" | "muted" | "off";

export interface SessionView {
  phaseChanged(phase: Phase): void;
  agentStateChanged(state: DisplayState): void;
  /** The display name of the agent in charge (handoffs change it), or null before there is one. */
  activeAgentChanged(name: string | null): void;
  transcriptChanged(lines: readonly Line[]): void;
  /** The problem to show now, or null when there is none. */
  problemChanged(failure: Failure | null): void;
  /** True while the browser refuses to play the agent's audio until the user clicks. */
  audioBlockedChanged(blocked: boolean): void;
  microphoneChanged(state: MicrophoneState): void;
  /** The audio track to measure for a level meter (null: none any more). */
  trackChanged(name: MeterName, track: MediaStreamTrack | null): void;
  latencyAdded(turn: TurnLatency): void;
}

export class VoiceSession {
  private room: Room | null = null;
  private phase: Phase = "idle";
  private connection: StateInputs["connection"] = "idle";
  private session: SessionCreated | null = null;
  private agent: RemoteParticipant | null = null;
  private agentTimer: number | undefined;
  private pollTimer: number | undefined;
  private recordSeen = 0;
  private problem: Failure | null = null;
  private readonly transcript = new Transcript();

  constructor(
    private readonly config: ClientConfig,
    private readonly userId: () => string,
    private readonly view: SessionView,
    /** Where the agent's <audio> elements go. */
    private readonly audioSink: HTMLElement,
  ) {}

  /**
   * Create a session and join it. Call it from the click handler: audio playback is unlocked
   * before the first `await`, while the click still counts as a user gesture.
   */
  async start(): Promise<void> {
    if (this.phase !== "idle") {
      return;
    }
    if (!window.isSecureContext || navigator.mediaDevices?.getUserMedia === undefined) {
      this.showProblem({ kind: "insecure-context" });
      return;
    }
    const room = new Room();
    this.room = room;
    this.listen(room);
    room.startAudio().catch(() => {
      // Reported through RoomEvent.AudioPlaybackStatusChanged ("Start audio").
    });
    this.recordSeen = 0;
    this.transcript.clear();
    this.view.transcriptChanged([]);
    this.showProblem(null);
    this.setConnection("connecting", "starting");

    const notReady = await this.agentNotReady();
    if (room !== this.room) {
      return;
    }
    if (notReady !== null) {
      this.fail(notReady);
      return;
    }
    let session: SessionCreated;
    try {
      session = await createSession(this.userId(), this.config.agentId);
    } catch (error) {
      this.fail(error instanceof ApiFailure ? error.failure : { kind: "api-unreachable" });
      return;
    }
    if (room !== this.room) {
      return;
    }
    this.session = session;
    // Published while connecting: the pre-connect buffer records the first words and hands them
    // to the agent once it is there.
    const microphone = this.enableMicrophone(room, true);
    try {
      await room.connect(session.livekit_url, session.token);
    } catch {
      this.fail({ kind: "livekit-unreachable", url: session.livekit_url });
      return;
    }
    this.setConnection("connected", "live");
    this.waitForAgent(room);
    this.schedulePoll(room);
    await microphone;
  }

  /**
   * Before any click: say so if the stack cannot answer (its workers report a problem, such as
   * no LLM configured), instead of letting the user find out from the agent's apologies.
   */
  async checkAgent(): Promise<void> {
    const notReady = await this.agentNotReady();
    if (notReady !== null && this.phase === "idle") {
      this.showProblem(notReady);
    }
  }

  /** The agent-not-ready failure when its workers report problems; null otherwise (also when
   * the status cannot be read: starting is then still worth a try). */
  private async agentNotReady(): Promise<Failure | null> {
    try {
      const status = await getAgentStatus(this.config.agentId);
      return status.ready === false ? { kind: "agent-not-ready", problems: status.problems } : null;
    } catch {
      return null;
    }
  }

  /** End the session (DELETE on the API) and leave the room. */
  async end(): Promise<void> {
    this.showProblem(null);
    await this.teardown();
  }

  /** Type a message to the agent; false when there is no session to send it to. */
  async send(text: string): Promise<boolean> {
    const room = this.room;
    if (room === null || this.phase !== "live") {
      return false;
    }
    try {
      const info = await room.localParticipant.sendText(text, { topic: CHAT_TOPIC });
      this.addLine(room, { id: `chat-${info.id}`, speaker: "user", text, final: true });
      return true;
    } catch {
      return false; // the text stays in the box to be sent again
    }
  }

  /** Mute (false) or unmute (true) the published microphone. */
  async setMicrophoneEnabled(enabled: boolean): Promise<void> {
    const room = this.room;
    if (room === null) {
      return;
    }
    try {
      await room.localParticipant.setMicrophoneEnabled(enabled);
      this.view.microphoneChanged(room.localParticipant.isMicrophoneEnabled ? "on" : "muted");
    } catch (error) {
      this.microphoneFailed(room, error);
    }
  }

  /** Ask for the microphone again (after it was denied or missing); call it from a click. */
  retryMicrophone(): Promise<void> {
    return this.room === null ? Promise.resolve() : this.enableMicrophone(this.room, false);
  }

  /** Resume audio playback the browser blocked; call it from a click. */
  async startAudio(): Promise<void> {
    await this.room?.startAudio().catch(() => {
      // Still blocked: the button stays (RoomEvent.AudioPlaybackStatusChanged).
    });
  }

  private listen(room: Room): void {
    // Before connect(), and once per Room: registering a topic twice throws.
    room.registerTextStreamHandler(TRANSCRIPTION_TOPIC, (reader, from) => {
      void this.readSegment(room, reader, from.identity);
    });
    const current = (): boolean => room === this.room;
    room
      .on(RoomEvent.ParticipantConnected, (participant) => {
        if (current() && participant.isAgent && this.agent === null) {
          this.agentJoined(participant);
        }
      })
      .on(RoomEvent.ParticipantDisconnected, (participant) => {
        if (current() && participant === this.agent) {
          this.ended(room, { kind: "agent-left" });
        }
      })
      .on(RoomEvent.ParticipantAttributesChanged, (_changed, participant: Participant) => {
        if (current() && participant === this.agent) {
          this.pushAgentState();
        }
      })
      .on(RoomEvent.TrackSubscribed, (track: RemoteTrack, _publication, participant) => {
        if (current() && track.kind === Track.Kind.Audio) {
          this.audioSink.append(track.attach());
          if (participant.isAgent) {
            this.view.trackChanged("agent", track.mediaStreamTrack);
          }
        }
      })
      .on(RoomEvent.TrackUnsubscribed, (track: RemoteTrack, _publication, participant) => {
        for (const element of track.detach()) {
          element.remove();
        }
        if (current() && participant.isAgent && track.kind === Track.Kind.Audio) {
          this.view.trackChanged("agent", null);
        }
      })
      .on(RoomEvent.LocalTrackPublished, (publication) => {
        if (current() && publication.source === Track.Source.Microphone && publication.track) {
          this.view.trackChanged("user", publication.track.mediaStreamTrack);
        }
      })
      .on(RoomEvent.AudioPlaybackStatusChanged, () => {
        if (current()) {
          this.view.audioBlockedChanged(!room.canPlaybackAudio);
        }
      })
      .on(RoomEvent.Reconnecting, () => {
        if (current()) {
          this.setConnection("reconnecting", "live");
          this.view.problemChanged({ kind: "reconnecting" });
        }
      })
      .on(RoomEvent.Reconnected, () => {
        if (current()) {
          this.setConnection("connected", "live");
          this.view.problemChanged(this.problem);
        }
      })
      .on(RoomEvent.Disconnected, (reason?: DisconnectReason) => {
        // While connecting, a failed connect() also ends in Disconnected; start() handles that.
        if (current() && this.phase === "live") {
          this.ended(room, {
            kind: "disconnected",
            reason: DisconnectReason[reason ?? DisconnectReason.UNKNOWN_REASON],
          });
        }
      });
  }

  private async enableMicrophone(room: Room, preConnectBuffer: boolean): Promise<void> {
    try {
      await room.localParticipant.setMicrophoneEnabled(true, undefined, { preConnectBuffer });
      if (room !== this.room) {
        return;
      }
      this.view.microphoneChanged(room.localParticipant.isMicrophoneEnabled ? "on" : "muted");
      if (this.problem?.kind === "microphone") {
        this.showProblem(null);
      }
    } catch (error) {
      this.microphoneFailed(room, error);
    }
  }

  private microphoneFailed(room: Room, error: unknown): void {
    if (room === this.room) {
      this.showProblem({
        kind: "microphone",
        reason: microphoneProblem(error instanceof Error ? error.name : ""),
      });
      this.view.microphoneChanged("off");
    }
  }

  private waitForAgent(room: Room): void {
    const agent = [...room.remoteParticipants.values()].find((participant) => participant.isAgent);
    if (agent !== undefined) {
      this.agentJoined(agent);
      return;
    }
    const seconds = this.config.agentTimeoutSeconds;
    this.agentTimer = window.setTimeout(() => {
      if (room === this.room && this.agent === null) {
        this.fail({ kind: "agent-timeout", seconds });
      }
    }, seconds * 1000);
  }

  private agentJoined(agent: RemoteParticipant): void {
    window.clearTimeout(this.agentTimer);
    this.agent = agent;
    this.pushAgentState();
  }

  private async readSegment(room: Room, reader: TextStreamReader, identity: string): Promise<void> {
    const info = reader.info;
    const id = info.attributes?.[SEGMENT_ID_ATTRIBUTE] ?? info.id;
    const speaker = identity === room.localParticipant.identity ? "user" : "agent";
    // The final flag comes in the header (the user's segments are resent whole) or in the
    // trailer when the agent's streamed segment closes.
    const isFinal = (): boolean => info.attributes?.[FINAL_ATTRIBUTE] === "true";
    let text = "";
    let aborted = false;
    try {
      for await (const chunk of reader) {
        text += chunk;
        this.addLine(room, { id, speaker, text, final: isFinal(), at: info.timestamp });
      }
    } catch {
      aborted = true; // closed abnormally (the speech was cut off): keep what arrived
    }
    this.addLine(room, { id, speaker, text, final: isFinal() || aborted, at: info.timestamp });
  }

  private addLine(room: Room, line: Line): void {
    if (room === this.room && this.transcript.update(line)) {
      this.view.transcriptChanged(this.transcript.list());
    }
  }

  /** Read the session record every few seconds for tool calls and turn latency. */
  private schedulePoll(room: Room): void {
    this.pollTimer = window.setTimeout(() => void this.poll(room), this.config.recordPollMs);
  }

  private async poll(room: Room): Promise<void> {
    const session = this.session;
    if (room !== this.room || session === null) {
      return;
    }
    try {
      const state = await getSession(session.session_id);
      if (room === this.room) {
        this.takeRecord(room, state.transcript);
      }
    } catch {
      // The next poll tries again; the conversation itself does not depend on it.
    }
    if (room === this.room) {
      this.schedulePoll(room);
    }
  }

  private takeRecord(room: Room, entries: readonly TranscriptEntry[]): void {
    entries.slice(this.recordSeen).forEach((entry, offset) => {
      if (entry.type === "tool") {
        const id = `tool-${this.recordSeen + offset}`;
        this.addLine(room, {
          id,
          speaker: "tool",
          text: describeToolCall(entry),
          final: true,
          at: Date.parse(entry.at),
        });
      }
      const latency = turnLatency(entry);
      if (latency !== null) {
        this.view.latencyAdded(latency);
      }
    });
    this.recordSeen = entries.length;
  }

  /** The call ended from the other side: said as the agent's own ending when it was one
   * (the session record's end reason, written before the agent leaves), else as `failure`. */
  private ended(room: Room, failure: Failure): void {
    const session = this.session;
    if (session === null) {
      this.fail(failure);
      return;
    }
    void getSession(session.session_id)
      .then((state) => endedByAgent(state.end_reason) ?? failure)
      .catch(() => failure)
      .then((shown) => {
        if (room === this.room) {
          this.fail(shown);
        }
      });
  }

  private fail(failure: Failure): void {
    if (this.room === null) {
      return;
    }
    this.showProblem(failure);
    void this.teardown();
  }

  private async teardown(): Promise<void> {
    const { room, session } = this;
    if (room === null) {
      return;
    }
    this.room = null;
    this.session = null;
    this.agent = null;
    window.clearTimeout(this.agentTimer);
    window.clearTimeout(this.pollTimer);
    this.setConnection("idle", "idle");
    this.view.trackChanged("agent", null);
    this.view.trackChanged("user", null);
    this.view.audioBlockedChanged(false);
    this.view.microphoneChanged("off");
    this.audioSink.replaceChildren();
    // Leave and end the session together. Leaving is started first because LiveKit's SDK reports
    // the server tearing down the data channels of a room it deletes as console errors unless
    // the client is already closing; the DELETE still lands long before the worker notices that
    // the user left, so the session ends as `ended_by_client`.
    const leaving = room.disconnect();
    if (session !== null) {
      await endSession(session.session_id).catch(() => {
        // Already gone, or the API is down: the worker ends the session when everyone leaves.
      });
    }
    await leaving;
  }

  private showProblem(failure: Failure | null): void {
    this.problem = failure;
    this.view.problemChanged(failure);
  }

  private setConnection(connection: StateInputs["connection"], phase: Phase): void {
    this.connection = connection;
    if (phase !== this.phase) {
      this.phase = phase;
      this.view.phaseChanged(phase);
    }
    this.pushAgentState();
  }

  private pushAgentState(): void {
    this.view.agentStateChanged(
      displayState({
        connection: this.connection,
        agentPresent: this.agent !== null,
        agentAttribute: this.agent?.attributes[AGENT_STATE_ATTRIBUTE],
      }),
    );
    this.view.activeAgentChanged(this.agent?.attributes[ACTIVE_AGENT_ATTRIBUTE] ?? null);
  }
}

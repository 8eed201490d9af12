// Audio levels of the agent's voice and the user's microphone, measured with Web Audio.
//
// One AudioContext for the page, created or resumed inside a click (browsers keep a context
// made without a user gesture suspended). A remote WebRTC track reads as silence here unless it
// is also playing in an <audio> element, which the session does.

/** Root mean square of samples in [-1, 1]: 0 for silence, about 0.1 for normal speech. */
export function rmsLevel(samples: Float32Array): number {
  if (samples.length === 0) {
    return 0;
  }
  let sum = 0;
  for (const sample of samples) {
    sum += sample * sample;
  }
  return Math.sqrt(sum / samples.length);
}

class LevelMeter {
  private readonly source: MediaStreamAudioSourceNode;
  private readonly analyser: AnalyserNode;
  private readonly samples: Float32Array<ArrayBuffer>;

  constructor(context: AudioContext, track: MediaStreamTrack) {
    this.source = context.createMediaStreamSource(new MediaStream([track]));
    this.analyser = context.createAnalyser();
    this.analyser.fftSize = 1024;
    this.samples = new Float32Array(this.analyser.fftSize);
    this.source.connect(this.analyser);
  }

  level(): number {
    this.analyser.getFloatTimeDomainData(this.samples);
    return rmsLevel(this.samples);
  }

  close(): void {
    this.source.disconnect();
    this.analyser.disconnect();
  }
}

export type MeterName = "agent" | "user";

export class LevelMeters {
  private context: AudioContext | null = null;
  private readonly meters = new Map<MeterName, LevelMeter>();

  /** Create or resume the AudioContext; call it inside a click or key press. */
  unlock(): void {
    if (this.context === null) {
      this.context = new AudioContext();
    } else if (this.context.state === "suspended") {
      void this.context.resume();
    }
  }

  /** Measure `track` as `name` from now on (null stops measuring). */
  watch(name: MeterName, track: MediaStreamTrack | null): void {
    this.meters.get(name)?.close();
    this.meters.delete(name);
    if (track !== null && this.context !== null) {
      this.meters.set(name, new LevelMeter(this.context, track));
    }
  }

  /** The current level of each meter (0 when not measuring). */
  levels(): Record<MeterName, number> {
    return { agent: this.meters.get("agent")?.level() ?? 0, user: this.meters.get("user")?.level() ?? 0 };
  }
}

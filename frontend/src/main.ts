// Entry point: read the settings, build the page and the session, wire them together.
import "./style.css";
import { LogLevel, setLogLevel } from "livekit-client";
import { LevelMeters } from "./audioLevel";
import { readConfig, stableUserId } from "./config";
import { VoiceSession } from "./session";
import { Ui } from "./ui";

setLogLevel(LogLevel.warn);

const config = readConfig(window.location.search);
const meters = new LevelMeters();
const userId = (): string =>
  stableUserId(
    () => window.localStorage,
    () => crypto.randomUUID(),
  );

const ui: Ui = new Ui(
  {
    // Each of these runs inside a click or key press, so audio can be unlocked right here.
    start: () => {
      meters.unlock();
      void session.start();
    },
    end: () => void session.end(),
    setMicrophoneEnabled: (enabled) => void session.setMicrophoneEnabled(enabled),
    startAudio: () => {
      meters.unlock();
      void session.startAudio();
    },
    retryMicrophone: () => void session.retryMicrophone(),
    send: (text) => session.send(text),
  },
  meters,
);
const session: VoiceSession = new VoiceSession(config, userId, ui, ui.audioSink);
void session.checkAgent();

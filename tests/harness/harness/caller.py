"""A scripted caller: a LiveKit participant that talks to the voice agent as a browser user does.

It creates a session through the session API (`POST /api/voice/session`), joins the room with the
returned token, publishes a microphone track that plays sentences spoken by the bundled Piper voice
at real-time pace (10 ms frames, silence between turns, like a live microphone), and subscribes to
the agent's audio and to the `lk.transcription` text streams. Everything it sees is timestamped
with `time.monotonic()`:

- each sentence: when its first frame and its last non-silent frame were captured;
- the agent's audio: every frame whose level is above a silence threshold (and, if asked, the
  audio itself, so that it can be transcribed with the local Whisper model);
- transcripts (user and agent, interim and final, by segment id) and the agent's state.

    async with VoiceCaller.connect("http://127.0.0.1:8000", "alice") as caller:
        await caller.wait_for_greeting()
        turn = await caller.say("What is the status of Apollo?")
        print(turn.voice_to_voice, await caller.transcribe_reply(turn))

As a program (the stack must be running, e.g. `make dev`):

    python -m harness.caller --api http://localhost:8000 --say "What is the status of Apollo?"

(Longer than the project's 400 lines on purpose: one participant's event handlers and the waits
on what they record are one state machine on one clock; split, each half would need the
other's internals. Its audio helpers are in `harness.audio`.)
"""

from __future__ import annotations

import argparse
import asyncio
import bisect
import contextlib
import json
import sys
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any, TypeVar

import httpx
from livekit import rtc

from harness.audio import (
    FRAME_MS,
    SAMPLE_RATE,
    SILENCE_RMS,
    AgentTranscriber,
    SpeechSynthesizer,
    rms,
)

PAUSE_SECONDS = 0.25  # a pause in the agent's speech where its audio is cut for Whisper
TRANSCRIPTION_TOPIC = "lk.transcription"
AGENT_STATE_ATTRIBUTE = "lk.agent.state"
T = TypeVar("T")


class CallerError(RuntimeError):
    """The session could not be created or joined, or an expected event did not come in time."""


@dataclass(frozen=True)
class TranscriptEvent:
    """One `lk.transcription` stream: who said it, which segment, interim or final."""

    at: float
    identity: str
    is_agent: bool
    segment_id: str
    text: str
    final: bool


@dataclass
class Turn:
    """One sentence the caller spoke and when the agent answered it (monotonic seconds)."""

    text: str
    queued_at: float
    started_at: float = 0.0  # the sentence's first frame was captured
    speech_ended_at: float = 0.0  # its last non-silent frame was captured
    finished_at: float = 0.0  # its last frame (trailing quiet included) was captured
    reply_started_at: float | None = None  # first non-silent agent frame after speech_ended_at

    @property
    def voice_to_voice(self) -> float | None:
        """Seconds from the end of the caller's speech to the first agent audio received."""
        if self.reply_started_at is None:
            return None
        return self.reply_started_at - self.speech_ended_at


@dataclass
class _Utterance:
    turn: Turn
    frames: list[bytes]
    last_loud_index: int
    done: asyncio.Future[None]
    position: int = 0


class _Notifier:
    """Wakes every waiter whenever something the caller observes changes."""

    def __init__(self) -> None:
        self._future: asyncio.Future[None] | None = None

    def notify(self) -> None:
        if self._future is not None and not self._future.done():
            self._future.set_result(None)
        self._future = None

    async def wait(self, within: float) -> None:
        """Until the next notification, or `within` seconds."""
        if self._future is None:
            self._future = asyncio.get_running_loop().create_future()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(asyncio.shield(self._future), within)


class VoiceCaller:
    """One user in one voice session. Create it with `VoiceCaller.connect(...)`."""

    def __init__(
        self,
        api_url: str,
        user_id: str,
        *,
        agent_id: str = "pm-agent",
        keep_audio: bool = True,
        frame_ms: int = FRAME_MS,
        silence_rms: float = SILENCE_RMS,
    ) -> None:
        self.api_url = api_url.rstrip("/")
        self.user_id = user_id
        self.agent_id = agent_id
        self.keep_audio = keep_audio
        self.frame_ms = frame_ms
        self.silence_rms = silence_rms
        self.session: dict[str, Any] = {}
        self.room = rtc.Room()
        # timestamps (time.monotonic(), seconds) of what happened
        self.posted_at = 0.0  # POST /api/voice/session sent
        self.created_at = 0.0  # its 201 answer received
        self.connected_at = 0.0  # room.connect() returned
        self.posted_wall = 0.0  # time.time() when the POST was sent, to compare with the server's
        self.agent_identity: str | None = None
        self.agent_joined_at: float | None = None  # the agent was first seen in the room
        self.agent_joined_server_ms: int | None = None  # the server's joined_at (epoch ms)
        self.agent_track_at: float | None = None
        self.transcripts: list[TranscriptEvent] = []
        self.agent_states: list[tuple[float, str]] = []
        self.turns: list[Turn] = []
        self.loud_times: list[float] = []  # arrival of every non-silent agent audio frame
        self.agent_frames = 0
        self.last_agent_frame_at: float | None = None
        self._audio: list[tuple[float, bytes]] = []  # (arrival, pcm) when keep_audio
        self._notifier = _Notifier()
        self._pending: list[_Utterance] = []
        self._source = rtc.AudioSource(SAMPLE_RATE, 1, queue_size_ms=max(frame_ms * 2, 20))
        self._tasks: set[asyncio.Task[Any]] = set()
        self._reader_tasks: set[asyncio.Task[Any]] = set()
        self._mic_task: asyncio.Task[None] | None = None
        self._vocabulary: list[str] | None = None

    # --- connecting ---------------------------------------------------------------------------

    @classmethod
    @asynccontextmanager
    async def connect(
        cls,
        api_url: str,
        user_id: str,
        *,
        agent_id: str = "pm-agent",
        language: str | None = None,
        keep_audio: bool = True,
        frame_ms: int = FRAME_MS,
        http: httpx.AsyncClient | None = None,
        within: float = 15.0,
    ) -> AsyncIterator[VoiceCaller]:
        """Create a session, join its room and publish the microphone; leave on exit."""
        caller = cls(api_url, user_id, agent_id=agent_id, keep_audio=keep_audio, frame_ms=frame_ms)
        try:
            await caller.start(language=language, http=http, within=within)
            yield caller
        finally:
            await caller.close()

    async def start(
        self,
        *,
        language: str | None = None,
        http: httpx.AsyncClient | None = None,
        within: float = 15.0,
    ) -> None:
        body: dict[str, Any] = {"user_id": self.user_id, "agent_id": self.agent_id}
        if language:
            body["language"] = language
        async with contextlib.AsyncExitStack() as stack:
            client = (
                http
                if http is not None
                else await stack.enter_async_context(httpx.AsyncClient(timeout=within))
            )
            self.posted_wall = time.time()
            self.posted_at = time.monotonic()
            response = await client.post(f"{self.api_url}/api/voice/session", json=body)
            self.created_at = time.monotonic()
        if response.status_code != 201:
            raise CallerError(f"POST /api/voice/session: {response.status_code} {response.text}")
        self.session = response.json()

        # Handlers before connect(): streams and participants present at join are not missed.
        self.room.register_text_stream_handler(TRANSCRIPTION_TOPIC, self._on_text_stream)
        self.room.on("participant_connected", self._on_participant)
        self.room.on("participant_attributes_changed", self._on_attributes)
        self.room.on("track_subscribed", self._on_track_subscribed)
        await asyncio.wait_for(
            self.room.connect(self.session["livekit_url"], self.session["token"]), within
        )
        self.connected_at = time.monotonic()
        for participant in self.room.remote_participants.values():
            self._on_participant(participant)
        track = rtc.LocalAudioTrack.create_audio_track("microphone", self._source)
        options = rtc.TrackPublishOptions(source=rtc.TrackSource.SOURCE_MICROPHONE)
        await self.room.local_participant.publish_track(track, options)
        self._mic_task = asyncio.create_task(self._microphone(), name="caller-microphone")

    async def close(self) -> None:
        """Stop the microphone and leave the room (the session stays as the server keeps it)."""
        tasks = [t for t in (self._mic_task, *self._tasks, *self._reader_tasks) if t]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        with contextlib.suppress(Exception):
            await self.room.disconnect()
        await self._source.aclose()

    def __str__(self) -> str:
        """What the caller has seen so far, for error messages."""
        return (
            f"session {self.session.get('session_id')}, agent "
            f"{'in the room' if self.agent_identity else 'not seen'}, its audio "
            f"{'subscribed' if self.agent_track_at else 'not subscribed'}, {self.agent_frames} "
            f"frames received ({len(self.loud_times)} loud), {len(self.transcripts)} transcripts"
        )

    @property
    def session_id(self) -> str:
        return str(self.session["session_id"])

    @property
    def identity(self) -> str:
        return str(self.session["identity"])

    # --- room events --------------------------------------------------------------------------

    def _spawn(self, coro: Any, bucket: set[asyncio.Task[Any]]) -> None:
        task = asyncio.ensure_future(coro)
        bucket.add(task)
        task.add_done_callback(bucket.discard)

    def _on_participant(self, participant: rtc.RemoteParticipant) -> None:
        if participant.kind != rtc.ParticipantKind.PARTICIPANT_KIND_AGENT:
            return
        if self.agent_identity is None:
            self.agent_identity = participant.identity
            self.agent_joined_at = time.monotonic()
            joined = participant.joined_at
            self.agent_joined_server_ms = int(joined.timestamp() * 1000) if joined else None
        self._on_attributes({}, participant)

    def _on_attributes(self, _changed: dict[str, str], participant: rtc.Participant) -> None:
        state = participant.attributes.get(AGENT_STATE_ATTRIBUTE)
        if participant.identity == self.agent_identity and state:
            if not self.agent_states or self.agent_states[-1][1] != state:
                self.agent_states.append((time.monotonic(), state))
                self._notifier.notify()

    def _on_track_subscribed(
        self,
        track: rtc.Track,
        _publication: rtc.RemoteTrackPublication,
        participant: rtc.RemoteParticipant,
    ) -> None:
        if track.kind != rtc.TrackKind.KIND_AUDIO:
            return
        if participant.kind == rtc.ParticipantKind.PARTICIPANT_KIND_AGENT:
            self._on_participant(participant)
            self.agent_track_at = time.monotonic()
            self._spawn(self._listen(track), self._tasks)
            self._notifier.notify()

    async def _listen(self, track: rtc.Track) -> None:
        """Timestamp every agent audio frame that is not silence (and keep it if asked)."""
        stream = rtc.AudioStream(
            track, sample_rate=SAMPLE_RATE, num_channels=1, frame_size_ms=self.frame_ms
        )
        try:
            async for event in stream:
                now = time.monotonic()
                data = event.frame.data
                self.agent_frames += 1
                self.last_agent_frame_at = now
                if rms(data) >= self.silence_rms:
                    self.loud_times.append(now)
                    self._notifier.notify()
                if self.keep_audio:
                    self._audio.append((now, bytes(data)))
        finally:
            await stream.aclose()

    def _on_text_stream(self, reader: rtc.TextStreamReader, identity: str) -> None:
        self._spawn(self._read_transcript(reader, identity), self._reader_tasks)

    async def _read_transcript(self, reader: rtc.TextStreamReader, identity: str) -> None:
        """One segment (agent: a delta stream; user: one stream per interim/final text)."""
        is_agent = identity != self.identity
        text = ""
        segment = (reader.info.attributes or {}).get("lk.segment_id", "")
        async for chunk in reader:
            text += chunk
            if is_agent:  # the agent's words as they are spoken, before the segment closes
                self._add_transcript(identity, is_agent, segment, text, final=False)
        attributes = reader.info.attributes or {}
        final = attributes.get("lk.transcription_final") == "true"
        self._add_transcript(identity, is_agent, segment, text, final)

    def _add_transcript(
        self, identity: str, is_agent: bool, segment: str, text: str, final: bool
    ) -> None:
        event = TranscriptEvent(time.monotonic(), identity, is_agent, segment, text, final)
        self.transcripts.append(event)
        self._notifier.notify()

    # --- the microphone -----------------------------------------------------------------------

    async def _microphone(self) -> None:
        """Capture one frame every `frame_ms` by the loop's clock: the pending sentence's next
        frame, or silence. Late frames are sent at once (real-time on average); after a stall
        of more than 200 ms the clock is re-anchored rather than bursting to catch up."""
        loop = asyncio.get_running_loop()
        samples = SAMPLE_RATE * self.frame_ms // 1000
        silence = bytes(samples * 2)
        period = self.frame_ms / 1000
        anchor, sent = loop.time(), 0
        while True:
            utterance = self._pending[0] if self._pending else None
            data = utterance.frames[utterance.position] if utterance else silence
            await self._source.capture_frame(rtc.AudioFrame(data, SAMPLE_RATE, 1, samples))
            now = time.monotonic()
            if utterance is not None:
                self._advance(utterance, now)
            sent += 1
            delay = anchor + sent * period - loop.time()
            if delay < -0.2:
                anchor, sent = loop.time(), 0
            elif delay > 0:
                await asyncio.sleep(delay)

    def _advance(self, utterance: _Utterance, now: float) -> None:
        turn = utterance.turn
        if utterance.position == 0:
            turn.started_at = now
        if utterance.position == utterance.last_loud_index:
            turn.speech_ended_at = now
        utterance.position += 1
        if utterance.position == len(utterance.frames):
            turn.finished_at = now
            self._pending.pop(0)
            if not utterance.done.done():
                utterance.done.set_result(None)
            self._notifier.notify()

    def _frames(self, text: str, pause: float = 0.0) -> tuple[list[bytes], int]:
        """The frames of `text` spoken; "|" in it marks a pause of `pause` seconds."""
        size = SAMPLE_RATE * self.frame_ms // 1000 * 2
        quiet = bytes(int(SAMPLE_RATE * pause) * 2)
        pcm = quiet.join(SpeechSynthesizer.pcm(part.strip()) for part in text.split("|"))
        pcm += bytes(-len(pcm) % size)
        frames = [pcm[i : i + size] for i in range(0, len(pcm), size)]
        loud = [i for i, frame in enumerate(frames) if rms(frame) >= self.silence_rms]
        if not loud:
            raise CallerError(f"the synthesized sentence is silent: {text!r}")
        return frames, loud[-1]

    # --- speaking and listening ---------------------------------------------------------------

    async def speak(self, text: str, pause: float = 0.0) -> Turn:
        """Queue `text` on the microphone and return its turn at once (it plays in real time);
        "|" in `text` marks a pause of `pause` seconds in mid-sentence."""
        frames, last_loud = self._frames(text, pause)
        turn = Turn(text=" ".join(text.replace("|", " ").split()), queued_at=time.monotonic())
        done = asyncio.get_running_loop().create_future()
        self._pending.append(_Utterance(turn, frames, last_loud, done))
        self.turns.append(turn)
        return turn

    async def wait_spoken(self, turn: Turn, within: float = 30.0) -> Turn:
        """Until the turn's last frame has been captured."""
        await self.wait_for(lambda: turn.finished_at > 0, within, f"speaking {turn.text!r}")
        return turn

    async def say(self, text: str, *, wait_reply: bool = True, within: float = 30.0) -> Turn:
        """Speak `text` in real time; with `wait_reply`, also wait for the agent's first audio
        after the end of the speech (`turn.reply_started_at`)."""
        turn = await self.speak(text)
        await self.wait_spoken(turn, within)
        if wait_reply:
            await self.wait_reply(turn, within)
        return turn

    def first_loud_after(self, moment: float) -> float | None:
        """Arrival of the first non-silent agent frame after `moment`, if any."""
        index = bisect.bisect_right(self.loud_times, moment)
        return self.loud_times[index] if index < len(self.loud_times) else None

    async def wait_reply(self, turn: Turn, within: float = 30.0) -> float:
        """Until agent audio arrives after the turn's speech ended; returns that moment."""

        def replied() -> float | None:
            if not turn.speech_ended_at:
                return None
            turn.reply_started_at = self.first_loud_after(turn.speech_ended_at)
            return turn.reply_started_at

        return await self.wait_for(replied, within, f"a reply to {turn.text!r}")

    async def wait_for_agent(self, within: float = 15.0) -> float:
        """Until the agent participant is in the room; returns when the caller first saw it."""
        return await self.wait_for(lambda: self.agent_joined_at, within, "the agent to join")

    async def wait_for_greeting(self, within: float = 30.0, quiet: float = 0.8) -> float:
        """Until the agent has spoken (its greeting) and gone quiet; returns its first audio."""
        first = await self.wait_for(
            lambda: self.loud_times[0] if self.loud_times else None, within, "the greeting"
        )
        await self.wait_quiet(quiet, within)
        return first

    def quiet_for(self) -> float:
        """Seconds since the last non-silent agent frame (since joining if it never spoke)."""
        last = self.loud_times[-1] if self.loud_times else self.connected_at
        return time.monotonic() - last

    async def wait_quiet(self, quiet: float = 0.8, within: float = 30.0) -> float:
        """Until the agent's audio has been silent for `quiet` seconds; returns its last sound."""
        deadline = time.monotonic() + within
        while (remaining := quiet - self.quiet_for()) > 0:
            left = deadline - time.monotonic()
            if left <= 0:
                raise CallerError(f"the agent did not go quiet for {quiet}s within {within:.0f}s")
            await self._notifier.wait(min(remaining, left))
        return self.loud_times[-1] if self.loud_times else self.connected_at

    async def wait_for(self, predicate: Callable[[], T | None], within: float, what: str) -> T:
        """Until `predicate()` is truthy (re-checked on every observed change); its value."""
        deadline = time.monotonic() + within
        while not (value := predicate()):
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise CallerError(f"timed out after {within:.0f}s waiting for {what} ({self})")
            await self._notifier.wait(remaining)
        return value

    async def next_change(self, within: float) -> None:
        """Until the caller next observes something (agent sound, a transcript, a state), or
        `within` seconds."""
        await self._notifier.wait(within)

    async def wait_transcript(
        self, predicate: Callable[[TranscriptEvent], bool], within: float = 30.0
    ) -> TranscriptEvent:
        """Until a transcript event matching `predicate` has arrived; the first such event."""

        def found() -> TranscriptEvent | None:
            return next((e for e in self.transcripts if predicate(e)), None)

        return await self.wait_for(found, within, "a transcript event")

    def user_transcripts(self, final: bool = True) -> list[TranscriptEvent]:
        return [e for e in self.transcripts if not e.is_agent and (e.final or not final)]

    def agent_transcripts(self, final: bool = True) -> list[TranscriptEvent]:
        return [e for e in self.transcripts if e.is_agent and (e.final or not final)]

    # --- what the agent said ------------------------------------------------------------------

    async def vocabulary(self) -> list[str]:
        """The names the worker's STT is told to expect (from `GET /api/projects`), fetched once."""
        if self._vocabulary is None:
            from voice_common.projects import Project, spoken_vocabulary

            async with httpx.AsyncClient(timeout=10.0) as client:
                response = await client.get(f"{self.api_url}/api/projects")
            response.raise_for_status()
            projects = [Project.model_validate(p) for p in response.json()["projects"]]
            self._vocabulary = spoken_vocabulary(projects)
        return self._vocabulary

    def agent_audio(self, since: float, until: float | None = None) -> bytes:
        """The agent's audio received between `since` and `until` (48 kHz 16-bit mono)."""
        end = until if until is not None else float("inf")
        return b"".join(pcm for at, pcm in self._audio if since <= at <= end)

    async def transcribe_agent(self, since: float, until: float | None = None) -> str:
        """What the agent said between `since` and `until`, heard by the local Whisper model.

        The audio is cut at pauses of PAUSE_SECONDS or more and each piece transcribed on its
        own: Whisper tiny sometimes stops early on a long utterance."""
        end = until if until is not None else float("inf")
        frames = [pcm for at, pcm in self._audio if since <= at <= end]
        pieces: list[list[bytes]] = [[]]
        quiet = 0
        for pcm in frames:
            loud = rms(pcm) >= self.silence_rms
            if not loud:
                quiet += 1
            elif quiet * self.frame_ms / 1000 >= PAUSE_SECONDS and pieces[-1]:
                pieces.append([])
            if loud:
                quiet = 0
            pieces[-1].append(pcm)
        vocabulary = await self.vocabulary()
        texts = [
            await AgentTranscriber.transcribe(b"".join(piece), vocabulary=vocabulary)
            for piece in pieces
            if piece
        ]
        return " ".join(t.strip() for t in texts if t.strip())

    async def wait_reply_end(self, turn: Turn, within: float = 30.0) -> float:
        """Until the agent's reply to `turn` is over: the agent is back to listening (its
        `lk.agent.state`), its final transcript has arrived (sent once the reply's audio has
        played out, or ahead of it without transcript sync) and its audio is quiet. Returns its
        last sound."""
        start = turn.reply_started_at or await self.wait_reply(turn, within)
        await self.wait_for(
            lambda: any(at > start and state == "listening" for at, state in self.agent_states),
            within,
            "the agent to listen again",
        )
        # after the question, not after the reply's first sound: with SYNC_TRANSCRIPTION=false
        # the reply's text is sent whole before its audio
        spoken = turn.speech_ended_at
        await self.wait_transcript(lambda e: e.is_agent and e.final and e.at > spoken, within)
        return await self.wait_quiet(0.3, within)

    async def transcribe_reply(self, turn: Turn, within: float = 30.0) -> str:
        """Wait until the agent's reply to `turn` is over, then transcribe it."""
        end = await self.wait_reply_end(turn, within)
        start = turn.reply_started_at or end
        return await self.transcribe_agent(start - 0.05, end + 0.05)

    async def fetch_session(self, http: httpx.AsyncClient | None = None) -> dict[str, Any]:
        """The session record as the API serves it (status, participants, transcript...)."""
        async with contextlib.AsyncExitStack() as stack:
            client = (
                http
                if http is not None
                else await stack.enter_async_context(httpx.AsyncClient(timeout=10))
            )
            response = await client.get(f"{self.api_url}/api/voice/session/{self.session_id}")
        response.raise_for_status()
        result: dict[str, Any] = response.json()
        return result


# --- command line -----------------------------------------------------------------------------


async def _run(args: argparse.Namespace) -> int:
    async with VoiceCaller.connect(args.api, args.user, agent_id=args.agent) as caller:
        print(f"session {caller.session_id} room {caller.session['room']}", flush=True)
        await caller.wait_for_agent(args.timeout)
        greeting_at = await caller.wait_for_greeting(args.timeout)
        greeting: dict[str, Any] = {
            "greeting_after_post_s": round(greeting_at - caller.posted_at, 3)
        }
        if args.transcribe:
            greeting["heard"] = await caller.transcribe_agent(greeting_at - 0.05)
        print(json.dumps(greeting), flush=True)
        for text in args.say:
            turn = await caller.say(text, within=args.timeout)
            result: dict[str, Any] = {
                "said": text,
                "voice_to_voice_s": round(turn.voice_to_voice or 0, 3),
            }
            if args.transcribe:
                result["heard"] = await caller.transcribe_reply(turn, within=args.timeout)
            else:
                await caller.wait_reply_end(turn, args.timeout)
            users = [e.text for e in caller.user_transcripts() if e.at > turn.started_at]
            result["user_transcript"] = users[-1] if users else None
            print(json.dumps(result), flush=True)
        record = await caller.fetch_session()
        for entry in record["transcript"]:
            print(json.dumps(entry), flush=True)
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--api", default="http://localhost:8000", help="session API base URL")
    parser.add_argument("--user", default="voice-caller", help="user_id of the session")
    parser.add_argument("--agent", default="pm-agent", help="agent_id of the session")
    parser.add_argument("--say", action="append", default=[], help="a sentence (repeatable)")
    parser.add_argument(
        "--transcribe", action="store_true", help="transcribe the agent's replies with Whisper"
    )
    parser.add_argument("--timeout", type=float, default=30.0, help="bound of every wait (s)")
    args = parser.parse_args(argv)
    try:
        return asyncio.run(_run(args))
    except CallerError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())

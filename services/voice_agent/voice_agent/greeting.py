"""The greeting, said without an LLM round trip: a fixed sentence per language and kind of user
(first time, returning), its audio synthesized once per voice and kept on disk, so that a
session's first words leave as soon as the agent has joined.

- `greeting_text(prepared, language, returning)`: the sentence of an agent's prepared greetings
  (the agents file's `prepared_greetings`) for the language, or None when it has none (the agent
  then asks the LLM for one, in the user's language);
- `GreetingAudio`: the audio of a greeting by voice and text, as 16-bit PCM files under one
  folder, shared by every job process of the host;
- `Greeting.play(session)`: the stored audio when there is some; otherwise the session's TTS
  speaks the sentence (still no LLM), and the agent's `tts_node` passes that audio through
  `Greeting.record`, which stores it for the next sessions once it has been played whole.
"""

import asyncio
import contextlib
import hashlib
import logging
import os
import struct
import tempfile
from collections.abc import AsyncIterable, AsyncIterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from livekit import rtc
from livekit.agents import AgentSession, get_job_context

from voice_common.agents_file import PreparedGreeting

log = logging.getLogger(__name__)

FRAME_SECONDS = 0.02
USER_JOIN_WAIT = 10.0  # seconds the greeting waits for a user to join (then it is said anyway)
USER_MIC_WAIT = 1.5  # and, once one has, for their microphone
_HEADER = struct.Struct("<II")  # sample rate, channels


def greeting_text(
    prepared: Mapping[str, PreparedGreeting], language: str, returning: bool
) -> str | None:
    texts = prepared.get(language.split("-")[0].lower())
    if texts is None:
        return None
    return texts.returning if returning else texts.first


def default_folder() -> Path:
    return Path(tempfile.gettempdir()) / "voice-agent-greetings"


class GreetingAudio:
    """Greeting audio on disk: one file per (voice, text), written whole or not at all."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def path(self, voice: str, text: str) -> Path:
        digest = hashlib.sha256(f"{voice}\n{text}".encode()).hexdigest()[:32]
        return self.folder / f"{digest}.pcm"

    def load(self, voice: str, text: str) -> list[rtc.AudioFrame] | None:
        try:
            data = self.path(voice, text).read_bytes()
        except OSError:
            return None
        if len(data) <= _HEADER.size:
            return None
        rate, channels = _HEADER.unpack_from(data)
        pcm = data[_HEADER.size :]
        step = int(rate * FRAME_SECONDS) * channels * 2
        return [
            rtc.AudioFrame(
                pcm[i : i + step], rate, channels, len(pcm[i : i + step]) // 2 // channels
            )
            for i in range(0, len(pcm), step)
        ]

    def save(self, voice: str, text: str, frames: list[rtc.AudioFrame]) -> None:
        """Keep these frames (the whole file or nothing: written aside, then renamed)."""
        if not frames:
            return
        first = frames[0]
        body = b"".join(bytes(f.data) for f in frames)
        path = self.path(voice, text)
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
        with os.fdopen(fd, "wb") as out:
            out.write(_HEADER.pack(first.sample_rate, first.num_channels) + body)
        os.replace(tmp, path)


@dataclass
class Greeting:
    text: str
    voice: str  # what the audio depends on besides the text (provider, model, voice, language)
    audio: GreetingAudio
    recording: bool = field(default=False, init=False)  # the next speech's audio is the greeting

    async def play(self, session: AgentSession) -> None:
        """Say it once the user is there to hear it (`user_ready`), from the stored audio when
        there is some."""
        job = get_job_context(required=False)
        if job is not None:
            await user_ready(job.room)
        frames = self.audio.load(self.voice, self.text)
        if frames is not None:
            session.say(self.text, audio=_iterate(frames))
            return
        self.recording = True
        session.say(self.text)

    async def record(self, frames: AsyncIterable[rtc.AudioFrame]) -> AsyncIterator[rtc.AudioFrame]:
        """The greeting's audio as the TTS makes it, stored once all of it has gone through
        (an interrupted greeting is not stored)."""
        self.recording = False
        kept = []
        async for frame in frames:
            kept.append(frame)
            yield frame
        try:
            await asyncio.to_thread(self.audio.save, self.voice, self.text, kept)
        except OSError as exc:  # a full or read-only disk: the next session tries again
            log.warning("greeting audio not stored", extra={"error": str(exc)})


async def user_ready(
    room: rtc.Room, join_within: float = USER_JOIN_WAIT, mic_within: float = USER_MIC_WAIT
) -> None:
    """Until a user is in the room and has published their microphone (or `mic_within`
    seconds after they joined: a user who refused it types). A prepared greeting is ready the
    moment the agent joins, often before the user's page has connected and subscribed to the
    agent: said then, its start would be lost (an LLM's greeting took long enough to hide it)."""
    joined = asyncio.Event()
    speaking = asyncio.Event()

    def check(*_: object) -> None:
        users = [p for p in room.remote_participants.values() if not _is_agent(p)]
        if users:
            joined.set()
        if any(pub.kind == rtc.TrackKind.KIND_AUDIO for p in users
               for pub in p.track_publications.values()):  # fmt: skip
            speaking.set()

    room.on("participant_connected", check)
    room.on("track_published", check)
    try:
        check()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(joined.wait(), join_within)
            await asyncio.wait_for(speaking.wait(), mic_within)
    finally:
        room.off("participant_connected", check)
        room.off("track_published", check)


def _is_agent(participant: rtc.RemoteParticipant) -> bool:
    return participant.kind == rtc.ParticipantKind.PARTICIPANT_KIND_AGENT


async def _iterate(frames: list[rtc.AudioFrame]) -> AsyncIterator[rtc.AudioFrame]:
    for frame in frames:
        yield frame

"""The streaming speech-to-text half of the Sarvam FAKE (`harness.fakes.sarvam`): one WebSocket
connection of `GET /speech-to-text/ws`, as the LiveKit Sarvam plugin (`sarvam.STT.stream()`)
speaks to it.

What the plugin sends, and what is answered:

- the handshake carries the key in `api-subscription-key` (none: HTTP 403) and the options in the
  query: `language-code` (en-IN, hi-IN...), `model`, `mode`, `sample_rate`, `vad_signals`;
- `{"audio": {"data": <base64>, "encoding": "audio/wav", "sample_rate": 16000}}`: 50 ms of
  16-bit mono PCM (the plugin labels raw PCM "audio/wav"; a real WAV header is skipped too);
- `{"type": "config", "prompt": ...}` (recorded), `{"type": "flush"}` (ends the utterance in
  progress now) and `{"type": "end_of_stream", ...}` (ends it, then the connection closes).

The audio is cut into utterances by its own level (`Endpointer`): speech starts with a loud
chunk, ends after `end_silence` seconds of quiet audio (audio time, not wall time). With
`vad_signals=true` each utterance is framed by `{"type": "events", "data": {"signal_type":
"START_SPEECH"}}` and `... "END_SPEECH"`, and after END_SPEECH comes its transcript, as Sarvam
sends it: `{"type": "data", "data": {"transcript", "language_code", "speech_start",
"speech_end", "metrics", "request_id"}}`.

The transcript is what the bundled local Whisper model (tiny.en, `harness.audio`) hears in that
utterance's audio, transcribed in a thread, so a broken audio path gives a wrong transcript.
Whisper tiny.en only knows English: for another language (hi-IN) the fake answers with what it
heard, in English, labelled with the language it was asked for.
"""

from __future__ import annotations

import asyncio
import base64
import io
import json
import time
import uuid
import wave
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from aiohttp import WSMsgType, web

from harness.audio import SILENCE_RMS, AgentTranscriber, rms

if TYPE_CHECKING:
    from harness.fakes.sarvam import SarvamFake

PRE_ROLL_SECONDS = 0.3  # audio kept before the first loud chunk (the onset of the first word)


@dataclass
class SttStream:
    """One streaming connection: what it asked for and what it was answered."""

    language: str
    model: str
    mode: str
    sample_rate: int
    api_key: str
    vad_signals: bool
    prompt: str | None = None
    audio_seconds: float = 0.0
    transcripts: list[str] = field(default_factory=list)


@dataclass
class Utterance:
    pcm: bytes
    start: float  # seconds into the stream's audio
    end: float


class Endpointer:
    """Cuts 16-bit mono audio into utterances by level: one starts at a chunk whose RMS reaches
    `silence_rms` and ends once `end_silence` seconds of audio have stayed below it."""

    def __init__(self, sample_rate: int, end_silence: float, silence_rms: float = SILENCE_RMS):
        self.sample_rate = sample_rate
        self.end_silence = end_silence
        self.silence_rms = silence_rms
        self.position = 0.0  # seconds of audio received
        self._recent: list[bytes] = []  # the last PRE_ROLL_SECONDS before speech
        self._speech: list[bytes] = []
        self._start = 0.0
        self._last_loud = 0.0
        self.speaking = False

    def _seconds(self, pcm: bytes) -> float:
        return len(pcm) / 2 / self.sample_rate

    def push(self, pcm: bytes) -> tuple[bool, Utterance | None]:
        """Take one chunk; (speech started with it, the utterance it ended if any)."""
        started = False
        chunk_start, self.position = self.position, self.position + self._seconds(pcm)
        loud = rms(pcm) >= self.silence_rms
        if not self.speaking:
            self._recent = [*self._recent, pcm]
            while sum(map(self._seconds, self._recent[1:])) >= PRE_ROLL_SECONDS:
                self._recent.pop(0)
            if not loud:
                return False, None
            self.speaking, started = True, True
            self._speech, self._recent = self._recent, []
            self._start = chunk_start - sum(map(self._seconds, self._speech[:-1]))
            self._last_loud = self.position
            return started, None
        self._speech.append(pcm)
        if loud:
            self._last_loud = self.position
        if self.position - self._last_loud >= self.end_silence:
            return started, self.finish()
        return started, None

    def finish(self) -> Utterance | None:
        """End the utterance in progress now (flush, end of stream); None if there is none."""
        if not self.speaking:
            return None
        self.speaking = False
        pcm, self._speech = b"".join(self._speech), []
        return Utterance(pcm, max(self._start, 0.0), self._last_loud)


def decode_audio(message: dict[str, Any]) -> bytes:
    """The PCM of an audio message: base64 raw 16-bit PCM, or a WAV file's frames."""
    data = base64.b64decode(message.get("data") or "")
    if data[:4] == b"RIFF":
        with wave.open(io.BytesIO(data), "rb") as wav:
            return wav.readframes(wav.getnframes())
    return data


def _event(signal: str) -> dict[str, Any]:
    return {"type": "events", "data": {"signal_type": signal, "occured_at": time.time()}}


class SttConnection:
    """One `/speech-to-text/ws` conversation: audio in, events and transcripts out in order."""

    def __init__(self, fake: SarvamFake, ws: web.WebSocketResponse, record: SttStream):
        self.fake = fake
        self.ws = ws
        self.record = record
        self.endpointer = Endpointer(record.sample_rate, fake.end_silence)
        # messages to send, in order; a Task stands for a transcript still being made
        self.outbox: asyncio.Queue[dict[str, Any] | asyncio.Task[dict[str, Any]] | None] = (
            asyncio.Queue()
        )

    async def run(self) -> None:
        sender = asyncio.create_task(self._send_all())
        try:
            async for message in self.ws:
                if message.type != WSMsgType.TEXT:
                    continue
                if not self._take(json.loads(message.data)):
                    break
        finally:
            self.outbox.put_nowait(None)
            await sender

    def _take(self, message: dict[str, Any]) -> bool:
        """Handle one client message; False once the stream has ended."""
        kind = message.get("type")
        if kind == "config":
            self.record.prompt = message.get("prompt")
        elif kind == "flush":
            self._end_utterance(self.endpointer.finish())
        elif kind == "end_of_stream":
            self._end_utterance(self.endpointer.finish())
            return False
        elif isinstance(message.get("audio"), dict):
            pcm = decode_audio(message["audio"])
            self.record.audio_seconds += len(pcm) / 2 / self.record.sample_rate
            started, utterance = self.endpointer.push(pcm)
            if started and self.record.vad_signals:
                self.outbox.put_nowait(_event("START_SPEECH"))
            self._end_utterance(utterance)
        return True

    def _end_utterance(self, utterance: Utterance | None) -> None:
        if utterance is None:
            return
        if self.record.vad_signals:
            self.outbox.put_nowait(_event("END_SPEECH"))
        self.outbox.put_nowait(asyncio.create_task(self._transcript(utterance)))

    async def _transcript(self, utterance: Utterance) -> dict[str, Any]:
        started = time.monotonic()
        text = await AgentTranscriber.transcribe(
            utterance.pcm, self.record.sample_rate, vocabulary=self.fake.vocabulary
        )
        self.record.transcripts.append(text.strip())
        return {
            "type": "data",
            "data": {
                "request_id": f"{uuid.uuid4()}",
                "transcript": text.strip(),
                "language_code": self.record.language,
                "speech_start": round(utterance.start, 3),
                "speech_end": round(utterance.end, 3),
                "metrics": {
                    "audio_duration": round(utterance.end - utterance.start, 3),
                    "processing_latency": round(time.monotonic() - started, 3),
                },
            },
        }

    async def _send_all(self) -> None:
        while (item := await self.outbox.get()) is not None:
            message = await item if isinstance(item, asyncio.Task) else item
            if not self.ws.closed:
                await self.ws.send_json(message)
        if not self.ws.closed:
            await self.ws.close()


async def serve_stt_stream(fake: SarvamFake, request: web.Request) -> web.StreamResponse:
    """`GET /speech-to-text/ws`: check the key, record the options, run the conversation."""
    key = request.headers.get("api-subscription-key", "")
    if not key:
        return web.json_response({"error": {"message": "missing api-subscription-key"}}, status=403)
    query = request.query
    record = SttStream(
        language=query.get("language-code", ""),
        model=query.get("model", ""),
        mode=query.get("mode", "transcribe"),
        sample_rate=int(query.get("sample_rate", "16000")),
        api_key=key,
        vad_signals=query.get("vad_signals", "false").lower() == "true",
    )
    ws = web.WebSocketResponse()
    await ws.prepare(request)
    fake.stt_streams.append(record)
    await SttConnection(fake, ws, record).run()
    return ws

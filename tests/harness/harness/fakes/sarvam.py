"""SarvamFake: a FAKE of Sarvam AI's speech API (a paid cloud service), for the `sarvam` preset.

It serves, on loopback, the endpoints the LiveKit Sarvam plugin uses, with the message shapes the
plugin sends and parses, under one root that the worker is given as `SARVAM_BASE_URL`:

- `GET /speech-to-text/ws`: streaming STT (`harness.fakes.sarvam_stt`); the words come from the
  audio received, heard by the bundled local Whisper model, utterances cut by its level;
- `GET /text-to-speech/ws` and `POST /text-to-speech`: TTS (`harness.fakes.sarvam_tts`), the
  text spoken by the bundled Piper voice at the requested rate and codec.

It keeps what it was asked for, so tests can check that a session's language reached Sarvam:
`stt_streams` (one per STT connection: language-code, model, key, transcripts) and
`tts_requests` (one per reply: target language, speaker, model, rate, codec, text).

`python -m harness.fakes.sarvam` serves it on a free loopback port (or `--port`), prints
`{"sarvam_url": ...}` as one JSON line and runs until SIGTERM.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import signal
from dataclasses import dataclass, field

from aiohttp import web

from harness.fakes.keys import FAKE_OPENAI_KEY, FAKE_SARVAM_KEY
from harness.fakes.sarvam_stt import SttStream, serve_stt_stream
from harness.fakes.sarvam_tts import TtsRequest, serve_tts_rest, serve_tts_stream


@dataclass
class SarvamFake:
    """`end_silence`: seconds of quiet audio that end an utterance (Sarvam's endpointing);
    `vocabulary`: names the fake's Whisper is told to expect (Sarvam takes no such hint: only
    set it to make up for Whisper tiny's weaker hearing, and say so).

    Benchmarks simulate a provider's latency: `final_delay` (a transcript is sent this long
    after its utterance ended), `tts_first_byte` (a reply's first audio this long after its
    flush) and `scripted_text` (the fake "hears" this text instead of running Whisper, so that
    Whisper's time on the shared CPUs does not count as Sarvam's)."""

    end_silence: float = 0.5
    vocabulary: list[str] = field(default_factory=list)
    final_delay: float = 0.0
    tts_first_byte: float = 0.0
    scripted_text: str | None = None
    stt_streams: list[SttStream] = field(default_factory=list)
    tts_requests: list[TtsRequest] = field(default_factory=list)
    url: str = ""
    _runner: web.AppRunner | None = None

    async def start(self, port: int = 0) -> str:
        """Serve on 127.0.0.1 (`port` 0: a free one); returns the API root."""
        app = web.Application()
        app.router.add_get("/speech-to-text/ws", self._stt_stream)
        app.router.add_get("/text-to-speech/ws", self._tts_stream)
        app.router.add_post("/text-to-speech", self._tts_rest)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", port)
        await site.start()
        bound = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self.url = f"http://127.0.0.1:{bound}"
        return self.url

    def worker_settings(self, openai_url: str) -> dict[str, str]:
        """The worker's settings for the `sarvam` preset against this fake (a fake key), the
        preset's own LLM (OpenAI's) at `openai_url` (the ScriptedLLM in tests)."""
        return {
            "PROVIDER_PRESET": "sarvam",
            "SARVAM_API_KEY": FAKE_SARVAM_KEY,
            "SARVAM_BASE_URL": self.url,
            "OPENAI_API_KEY": FAKE_OPENAI_KEY,
            "OPENAI_BASE_URL": openai_url,
        }

    async def stop(self) -> None:
        if self._runner:
            await self._runner.cleanup()

    async def _stt_stream(self, request: web.Request) -> web.StreamResponse:
        return await serve_stt_stream(self, request)

    async def _tts_stream(self, request: web.Request) -> web.StreamResponse:
        return await serve_tts_stream(self, request)

    async def _tts_rest(self, request: web.Request) -> web.Response:
        return await serve_tts_rest(self, request)

    def stt_languages(self) -> list[str]:
        """The language-code of every STT connection, in order."""
        return [s.language for s in self.stt_streams]

    def tts_languages(self) -> list[str]:
        """The target_language_code of every TTS reply, in order."""
        return [r.language for r in self.tts_requests]


async def _serve(args: argparse.Namespace) -> None:
    fake = SarvamFake(
        end_silence=args.end_silence,
        final_delay=args.final_delay,
        tts_first_byte=args.tts_first_byte,
        scripted_text=args.scripted_text,
    )
    await fake.start(args.port)
    print(json.dumps({"sarvam_url": fake.url}), flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    await fake.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description="Serve the Sarvam fake on loopback.")
    parser.add_argument("--port", type=int, default=0, help="0: a free port")
    parser.add_argument("--end-silence", type=float, default=0.5, help="endpointing, seconds")
    parser.add_argument("--final-delay", type=float, default=0.0, help="transcript latency")
    parser.add_argument("--tts-first-byte", type=float, default=0.0, help="TTS latency")
    parser.add_argument(
        "--scripted-text", default=None, help="benchmarks only: hear this, not the audio"
    )
    asyncio.run(_serve(parser.parse_args()))


if __name__ == "__main__":
    main()

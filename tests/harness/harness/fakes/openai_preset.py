"""The cloud of the `openai` preset, FAKED on loopback: Deepgram's live STT (`DeepgramLive`) on
one server, and OpenAI's API on another, one root as OpenAI serves it: chat completions (a
`ScriptedLLM`) beside the audio API (`SimulatedCloudSpeech`: `/v1/audio/speech` for the TTS,
`/v1/audio/transcriptions` for an OpenAI STT), so that one `OPENAI_BASE_URL` reaches all three of
the worker's OpenAI plugins, as the real one does.

    cloud = OpenAIPresetCloud(llm=ScriptedLLM(RULES))
    await cloud.start()
    worker = start_worker(worker_env(..., **cloud.worker_settings()), ...)
    ...
    cloud.deepgram.connections[-1].keyterms; cloud.speech.requests[-1].voice
    await cloud.stop()

The ScriptedLLM is passed in, not made here: a test suite's one ScriptedLLM (its rules, its
`requests`) can then answer the local preset on its own server and this preset here at once.

`python -m harness.fakes.openai_preset` serves them with the voice script's rules, prints
`{"openai_url": ..., "deepgram_url": ...}` as one JSON line and runs until SIGTERM; with
`--scripted-text` (benchmarks only, see `deepgram_live`) the Deepgram fake does not transcribe.
"""

from __future__ import annotations

import argparse
import asyncio

from aiohttp import web

from harness.fakes.cloud_speech import SimulatedCloudSpeech
from harness.fakes.deepgram_live import DeepgramLive
from harness.fakes.keys import FAKE_DEEPGRAM_KEY, FAKE_OPENAI_KEY
from harness.fakes.loopback import LoopbackServer, serve_until_stopped
from harness.fakes.scripted_llm import ScriptedLLM

MAX_UPLOAD = 64 * 1024 * 1024  # an utterance's WAV for /v1/audio/transcriptions


class OpenAIPresetCloud:
    def __init__(
        self,
        llm: ScriptedLLM,
        *,
        deepgram: DeepgramLive | None = None,
        speech: SimulatedCloudSpeech | None = None,
    ) -> None:
        self.llm = llm
        self.deepgram = deepgram or DeepgramLive()
        self.speech = speech or SimulatedCloudSpeech(tts_first_byte=0.1)
        self.openai_url = ""  # the API root, `.../v1`
        self.deepgram_url = ""  # the listen endpoint, `.../v1/listen`
        self._openai: LoopbackServer | None = None

    async def start(self) -> dict[str, str]:
        """Serve both (the Whisper model loaded first); their URLs."""
        app = web.Application(client_max_size=MAX_UPLOAD)
        self.llm.add_routes(app)
        self.speech.add_routes(app)
        self._openai = LoopbackServer(app)
        self.openai_url = f"{await self._openai.start()}/v1"
        self.deepgram_url = await self.deepgram.start()
        await self.deepgram.prepare()
        return {"openai_url": self.openai_url, "deepgram_url": self.deepgram_url}

    async def stop(self) -> None:
        await self.deepgram.stop()
        if self._openai is not None:
            await self._openai.stop()

    def worker_settings(self) -> dict[str, str]:
        """The worker's settings for the `openai` preset against these fakes (fake keys)."""
        return worker_settings(self.openai_url, self.deepgram_url)


def worker_settings(openai_url: str, deepgram_url: str) -> dict[str, str]:
    """The worker's settings for the `openai` preset against fakes at these URLs."""
    return {
        "PROVIDER_PRESET": "openai",
        "DEEPGRAM_API_KEY": FAKE_DEEPGRAM_KEY,
        "OPENAI_API_KEY": FAKE_OPENAI_KEY,
        "DEEPGRAM_BASE_URL": deepgram_url,
        "OPENAI_BASE_URL": openai_url,
    }


async def _serve(args: argparse.Namespace) -> None:
    from harness.fakes.voice_script import FIXED_REPLIES, RULES

    cloud = OpenAIPresetCloud(
        ScriptedLLM(
            RULES,
            first_token_delay=args.llm_first_token,
            tokens_per_second=args.llm_tokens_per_second,
            words_per_chunk=1 if args.llm_tokens_per_second else 3,
        ),
        deepgram=DeepgramLive(
            final_delay=args.final_delay, pause=args.pause, scripted_text=args.scripted_text
        ),
        speech=SimulatedCloudSpeech(
            tts_first_byte=args.tts_first_byte, stream_speed=args.tts_speed
        ),
    )

    async def start() -> dict[str, str]:
        urls = await cloud.start()
        await cloud.speech.prepare(FIXED_REPLIES)
        return urls

    await serve_until_stopped(start, cloud.stop)


def main() -> None:
    parser = argparse.ArgumentParser(description="Serve the openai preset's fakes on loopback.")
    parser.add_argument("--llm-first-token", type=float, default=0.3)
    parser.add_argument("--llm-tokens-per-second", type=float, default=0.0, help="0: at once")
    parser.add_argument("--final-delay", type=float, default=0.15)
    parser.add_argument("--pause", type=float, default=0.35, help="Deepgram's endpoint pause")
    parser.add_argument("--tts-first-byte", type=float, default=0.10)
    parser.add_argument("--tts-speed", type=float, default=4.0, help="times real time")
    parser.add_argument(
        "--scripted-text",
        default=None,
        help="benchmarks only: Deepgram 'hears' this text instead of transcribing",
    )
    asyncio.run(_serve(parser.parse_args()))


if __name__ == "__main__":
    main()

"""`prewarm`: what every job process loads once, before its first job, so that no session
waits for it (VAD, the local end-of-turn model, local speech engines, the docs index, and the
modules the first LLM request would import)."""

import importlib
import logging

from livekit.agents import JobProcess
from livekit.plugins import silero

from .docs_search import get_index
from .providers import build_stt, build_tts
from .settings import STTProvider, TTSProvider, WorkerSettings

log = logging.getLogger("voice_agent")

# Modules the OpenAI SDK and anyio import on first use, which is the first LLM request of a
# session, on the job's event loop: LiveKit logs each as "event loop blocked for 100-300 ms
# importing ...", delaying the greeting. Imported once per process here instead.
LAZY_MODULES = (
    "anyio._backends._asyncio",
    "openai.lib.streaming.chat",
    "openai.pagination",
    "openai.resources.audio",
    "openai.resources.chat.completions.completions",
    "openai.resources.models",
)

# Imported once in the forkserver the job processes are forked from (AgentServer's
# `preload_modules`), not again in every job process: the job's own modules (its entrypoint and
# this prewarm reach the process pickled, by module name) and the lazy ones. A new job process
# otherwise spent about a second of CPU importing them, as every conversation began.
FORKSERVER_PRELOAD = ("voice_agent.server", "voice_agent.prewarm", *LAZY_MODULES)


def prewarm(proc: JobProcess) -> None:
    """Once per job process, before any job: load what every session needs."""
    settings = WorkerSettings()
    proc.userdata["settings"] = settings
    proc.userdata["vad"] = silero.VAD.load(min_silence_duration=settings.vad_min_silence_duration)
    from livekit.local_inference import init_eot

    init_eot()
    stt, _, tts = settings.chosen_providers()
    if stt is STTProvider.whisper:
        build_stt(settings, stt, settings.default_language).prewarm()
    if tts is TTSProvider.piper:
        build_tts(settings, tts, settings.default_language).prewarm()
    get_index(settings.docs_folder)
    import_lazy_modules()


def import_lazy_modules() -> None:
    for name in LAZY_MODULES:
        try:
            importlib.import_module(name)
        except ImportError:  # moved in another version: the cost returns, nothing breaks
            log.warning("prewarm could not import a module", extra={"lazy_module": name})

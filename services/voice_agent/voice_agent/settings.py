"""Worker configuration, read from the environment (and `.env`).

Providers are chosen by a preset (`PROVIDER_PRESET`) that explicit per-component settings
(`STT_PROVIDER`, `LLM_PROVIDER`, `TTS_PROVIDER`) override. A provider that needs a key whose key
is missing makes the settings invalid, so the worker refuses to start with one line naming it.
"""

from enum import StrEnum
from pathlib import Path
from typing import Literal, Self
from urllib.parse import urlsplit

from pydantic import Field, SecretStr, ValidationInfo, field_validator, model_validator

from voice_common.settings import CommonSettings


class Preset(StrEnum):
    auto = "auto"  # per component: the cloud provider whose key is set, else the local one
    openai = "openai"  # Deepgram STT + OpenAI LLM + OpenAI TTS
    sarvam = "sarvam"  # Sarvam STT/TTS (Indian languages) + OpenAI LLM
    local = "local"  # Whisper + an OpenAI-compatible local LLM server + Piper: no API keys


class STTProvider(StrEnum):
    deepgram = "deepgram"
    sarvam = "sarvam"
    openai = "openai"
    whisper = "whisper"


class LLMProvider(StrEnum):
    openai = "openai"
    openai_compatible = "openai_compatible"  # Ollama, vLLM, llama.cpp server... by LLM_BASE_URL


class TTSProvider(StrEnum):
    openai = "openai"
    sarvam = "sarvam"
    piper = "piper"


# Which key each cloud provider needs.
KEY_OF = {
    STTProvider.deepgram: "deepgram_api_key",
    STTProvider.sarvam: "sarvam_api_key",
    STTProvider.openai: "openai_api_key",
    LLMProvider.openai: "openai_api_key",
    TTSProvider.openai: "openai_api_key",
    TTSProvider.sarvam: "sarvam_api_key",
}

PRESETS: dict[Preset, tuple[STTProvider, LLMProvider, TTSProvider]] = {
    Preset.openai: (STTProvider.deepgram, LLMProvider.openai, TTSProvider.openai),
    Preset.sarvam: (STTProvider.sarvam, LLMProvider.openai, TTSProvider.sarvam),
    Preset.local: (STTProvider.whisper, LLMProvider.openai_compatible, TTSProvider.piper),
}


INPUT_SAMPLE_RATES = (16000, 24000, 48000)


class WorkerSettings(CommonSettings):
    agent_name: str = Field(
        "pm-agent",
        description="Name the worker registers for explicit dispatch; must match an agent_name "
        "in `AGENTS`.",
    )
    worker_http_host: str = Field(
        "127.0.0.1",
        description="Interface of the worker's health endpoint: 127.0.0.1 natively and in compose "
        "(the healthcheck runs inside the shared network namespace).",
    )
    worker_http_port: int = Field(
        8081, description="Port of the worker's health endpoint (GET / answers 200 when healthy)."
    )
    worker_metrics_port: int = Field(
        9100, description="Port of the worker's Prometheus /metrics endpoint (0 disables it)."
    )
    drain_timeout_seconds: int = Field(
        25,
        ge=1,
        description="On SIGTERM the worker takes no new jobs, lets running conversations go on "
        "this many seconds, then ends them. Keep it under the orchestrator's grace period "
        "(compose: `stop_grace_period: 30s`).",
    )
    process_init_timeout_seconds: float = Field(
        60.0,
        gt=0,
        description="Seconds a job process may take to load its models (prewarm) before LiveKit "
        "kills it and starts another. LiveKit's default (10 s) is too short for Whisper, Piper "
        "and the end-of-turn model on 2 cores.",
    )
    idle_processes: int | None = Field(
        None,
        ge=0,
        description="Job processes kept prewarmed (models loaded) for the next calls; empty: one "
        "per CPU. Each holds the local models in memory (about 0.6 GB with Whisper tiny.en and "
        "Piper).",
    )
    job_executor: Literal["process", "thread"] = Field(
        "process",
        description="Where each conversation runs: `process`, a job process of its own (LiveKit's "
        "default on Linux: a crash or a stall stays in its conversation, but each process holds "
        "its own resident copy of the runtime), or `thread`, a thread of one "
        "shared process (the models, the runtime and the docs index loaded once; a stall of "
        "one conversation can delay the others). docs/architecture.md, Sizing, has the figures.",
    )
    max_concurrent_jobs: int = Field(
        10,
        ge=1,
        description="Conversations one worker runs at once; at this many it takes no new jobs. "
        "Size it to the worker's cores: docs/architecture.md, \"Sizing a worker\", gives the "
        "measured CPU per conversation.",
    )

    # --- providers -----------------------------------------------------------------------------
    provider_preset: Preset = Field(
        Preset.auto,
        description="auto, openai, sarvam or local (docs/configuration.md, Providers). In "
        "compose, auto with no keys means Whisper and Piper in the worker image and the LLM of "
        "the ollama service, which runs with `docker compose --profile local up -d`.",
    )
    stt_provider: STTProvider | None = Field(
        None, description="Overrides the preset: deepgram, sarvam, openai or whisper."
    )
    llm_provider: LLMProvider | None = Field(
        None, description="Overrides the preset: openai or openai_compatible."
    )
    tts_provider: TTSProvider | None = Field(
        None, description="Overrides the preset: openai, sarvam or piper."
    )
    stt_fallback_provider: STTProvider | None = Field(
        None,
        description="STT used when the chosen one fails (LiveKit's FallbackAdapter); empty: "
        "none. It needs its key like the chosen one.",
    )
    llm_fallback_provider: LLMProvider | None = Field(
        None,
        description="LLM used when the chosen one fails or times out; empty: none. It needs its "
        "key like the chosen one.",
    )
    tts_fallback_provider: TTSProvider | None = Field(
        None,
        description="TTS used when the chosen one fails; empty: none. It needs its key like the "
        "chosen one.",
    )
    openai_api_key: SecretStr | None = Field(
        None, description="OpenAI API key (LLM, and optionally STT and TTS)."
    )
    deepgram_api_key: SecretStr | None = Field(None, description="Deepgram API key (STT).")
    sarvam_api_key: SecretStr | None = Field(
        None, description="Sarvam AI API key (STT and TTS for Indian languages)."
    )

    deepgram_base_url: str | None = Field(
        None,
        description="Deepgram's listen endpoint (`wss://` or `https://` URL ending in "
        "`/v1/listen`) for a proxy or a self-hosted Deepgram; empty: the plugin's default, "
        "Deepgram's cloud.",
    )
    openai_base_url: str | None = Field(
        None,
        description="Root of the OpenAI API (`https://.../v1`) for the OpenAI STT, LLM and TTS "
        "(STT_PROVIDER, LLM_PROVIDER, TTS_PROVIDER=openai): a proxy or an OpenAI-compatible "
        "gateway; empty: OpenAI's cloud. Not used by LLM_PROVIDER=openai_compatible, which has "
        "LLM_BASE_URL.",
    )

    llm_model: str = Field(
        "gpt-4o-mini", description="Model of the OpenAI LLM (LLM_PROVIDER=openai)."
    )
    llm_base_url: str = Field(
        "http://127.0.0.1:11434/v1",
        description="Base URL of the OpenAI-compatible server (LLM_PROVIDER=openai_compatible). "
        "Native runs only: compose fixes the worker's to http://ollama:11434/v1.",
    )
    llm_compatible_model: str = Field(
        "qwen2.5:3b",
        description="Model name on the OpenAI-compatible server. In compose it also names the "
        "model pulled into the ollama image at build: after changing it, "
        "`docker compose --profile local up -d --build`.",
    )
    llm_compatible_api_key: SecretStr = Field(
        SecretStr("not-needed"), description="API key of the OpenAI-compatible server, if any."
    )
    llm_timeout_seconds: float = Field(
        30.0, gt=0, description="Read timeout of one LLM request (local servers can be slow)."
    )
    llm_temperature: float | None = Field(
        None, ge=0, le=2, description="Sampling temperature; unset leaves the provider default."
    )

    deepgram_model: str = Field("nova-3", description="Deepgram STT model.")
    openai_stt_model: str = Field("gpt-4o-mini-transcribe", description="OpenAI STT model.")
    openai_tts_model: str = Field("gpt-4o-mini-tts", description="OpenAI TTS model.")
    openai_tts_voice: str = Field("alloy", description="OpenAI TTS voice.")
    openai_tts_format: Literal["mp3", "pcm"] = Field(
        "mp3",
        description="Audio format asked of OpenAI TTS: `pcm` (raw 24 kHz) needs no decoding but "
        "about 4x the bandwidth of `mp3` (see docs/benchmarks.md for what it saves).",
    )
    sarvam_base_url: str | None = Field(
        None,
        description="API root of Sarvam (STT and TTS) reached through a proxy or a compatible "
        "server, e.g. `http://sarvam-proxy:8080`; empty: Sarvam's cloud. The worker streams to "
        "`<root>/speech-to-text/ws` and `<root>/text-to-speech/ws` (`ws`/`wss` for "
        "`http`/`https`), Sarvam's own paths.",
    )
    sarvam_stt_model: str = Field("saaras:v3", description="Sarvam STT model.")
    sarvam_tts_model: str = Field("bulbul:v2", description="Sarvam TTS model.")
    sarvam_tts_speaker: str = Field(
        "anushka", description="Sarvam TTS speaker; must be one the model supports."
    )
    whisper_model: str = Field(
        "",
        description="faster-whisper model name (base.en, small...) or directory; "
        "empty: the bundled tiny.en if installed, else base.en. The worker image sets it to the "
        "model it downloads at build (build argument WHISPER_MODEL, base.en).",
    )
    whisper_compute_type: str = Field("int8", description="faster-whisper compute type on CPU.")
    piper_voice: str = Field(
        "",
        description="Path of a Piper voice (.onnx); empty: the bundled en_US voice. The worker "
        "image sets it to the voice it downloads at build (build argument PIPER_VOICE, "
        "en_US-lessac-medium).",
    )

    # --- conversation ----------------------------------------------------------------------------
    default_language: str = Field(
        "en-US", description="Language when the session names none (BCP 47)."
    )
    audio_input_sample_rate: int = Field(
        16000,
        description="Sample rate the user's audio is taken at from the room. The VAD, the "
        "end-of-turn model and the STTs work at 16000: taken at that rate, the room's native "
        "resampler converts it once, where LiveKit's default (24000) has each of them resample "
        "every frame again in Python.",
    )
    input_auto_gain_control: bool = Field(
        True,
        description="Automatic gain control on the user's audio in the worker (LiveKit's "
        "default). Browsers already apply their own (getUserMedia's autoGainControl).",
    )
    sync_transcription: bool = Field(
        True,
        description="Send the agent's words to the page as they are spoken (LiveKit estimates "
        "the speaking rate of every audio frame for it), and keep only the words the user heard "
        "of an interrupted reply in the agent's memory. False sends each sentence at once, "
        "ahead of its audio, and remembers an interrupted reply whole, for less CPU "
        "(docs/benchmarks.md, Capacity levers).",
    )
    audio_input_frame_ms: int = Field(
        50,
        ge=10,
        le=100,
        description="Size of the frames the user's audio reaches the VAD and STT in (LiveKit's "
        "default 50): the end of speech waits for its frame to fill, so smaller frames save up "
        "to that much latency, at more work per second.",
    )
    vad_min_silence_duration: float = Field(
        0.55,
        ge=0.25,
        le=3.0,
        description="Seconds of silence before the VAD ends the user's speech (Silero's "
        "default 0.55). The end of turn waits for it: lower is faster, and more often cuts a "
        "user off in a pause (docs/benchmarks.md measures both); LiveKit's end-of-turn model "
        "refuses less than 0.25.",
    )
    prepared_greeting: bool = Field(
        False,
        description="Greet with the starting agent's fixed sentence for the session's language "
        "(`prepared_greetings` in the agents file; otherwise the LLM greets), its audio "
        "recorded once per voice and kept in GREETING_AUDIO_DIR: no LLM round trip before the "
        "first words (docs/benchmarks.md, time to greeting). Off by default for now: with it, "
        "the Firefox test's question after a stored greeting was sometimes heard only in part "
        "(not yet explained).",
    )
    greeting_audio_dir: Path | None = Field(
        None,
        description="Folder of the prepared greetings' audio, shared by the worker's job "
        "processes; empty: `voice-agent-greetings` in the system's temporary folder.",
    )
    tts_trim_leading_silence: bool = Field(
        True,
        description="Drop the near-silence a TTS puts before a reply's first word (at most "
        "0.5 s), so that the answer is heard that much sooner.",
    )
    eot_unlikely_threshold: float = Field(
        0.8,
        gt=0,
        lt=1,
        description="The end-of-turn model's threshold: when its probability that the user is "
        "done is below it, the turn waits up to MAX_ENDPOINTING_DELAY for more. Higher cuts "
        "off fewer users who pause mid-sentence: 0.8 with MAX_ENDPOINTING_DELAY 1.3 is the "
        "fastest configuration within 5% false cut-offs on the benchmark's set; LiveKit's own "
        "default for English is 0.36 (docs/benchmarks.md, end of turn).",
    )
    min_endpointing_delay: float = Field(
        0.4, ge=0, description="Seconds of silence before the end-of-turn model may end a turn."
    )
    max_endpointing_delay: float = Field(
        1.3,
        ge=0,
        description="Longest wait for the user to go on when the end-of-turn model expects more "
        "(see EOT_UNLIKELY_THRESHOLD).",
    )
    preemptive_generation: bool = Field(
        True, description="Start the LLM on the interim transcript before the turn is final."
    )
    false_interruption_timeout: float = Field(
        2.0, ge=0, description="Silence after an interruption before speech resumes (seconds)."
    )
    user_join_timeout_seconds: float = Field(
        120.0,
        gt=0,
        description="The agent leaves, ending the session, if its user has not joined the room "
        "this long after the agent did (a user who closed the page before connecting).",
    )
    user_away_seconds: float | None = Field(
        30.0,
        gt=0,
        description="After this many seconds of silence on both sides the agent asks whether "
        "the user is still there; after as long again it says goodbye and ends the call "
        "(end reason `user_away`). Empty: never.",
    )
    llm_context_budget_tokens: int | None = Field(
        4000,
        ge=500,
        description="Most tokens (estimated as characters / 4) of conversation sent to the LLM "
        "per request: instructions, a running summary of the older turns (written by the same "
        "LLM in the background) and the newest turns; older tool outputs are cut. The Redis "
        "transcript keeps everything. Empty: the whole history, however long.",
    )
    memory_turns: int = Field(
        12, ge=0, le=100, description="Turns of the user's previous sessions given as context."
    )
    docs_folder: Path = Field(
        Path("docs"), description="Markdown folder that search_documentation ranks."
    )
    tool_filler_delay_seconds: float = Field(
        0.8, ge=0, description="A slow tool says a filler phrase after this much silence."
    )

    @field_validator("audio_input_sample_rate")
    @classmethod
    def _a_room_sample_rate(cls, value: int) -> int:
        if value not in INPUT_SAMPLE_RATES:
            raise ValueError(f"must be one of {', '.join(map(str, INPUT_SAMPLE_RATES))}")
        return value

    @field_validator("deepgram_base_url", "openai_base_url", mode="before")
    @classmethod
    def _endpoint_url(cls, value: object, info: ValidationInfo) -> object:
        """Empty means unset; anything else must be an absolute URL the plugin can reach, so
        a typo fails at start with the setting's name, not on the first call."""
        if value is None or (isinstance(value, str) and not value.strip()):
            return None
        text = str(value).strip()
        schemes = (
            ("http", "https", "ws", "wss")
            if info.field_name == "deepgram_base_url"
            else ("http", "https")
        )
        parts = urlsplit(text)
        if parts.scheme not in schemes or not parts.hostname:
            raise ValueError(f"must be an absolute {'/'.join(schemes)} URL, got {text!r}")
        return text.rstrip("/")

    def key(self, provider: StrEnum) -> str | None:
        """The API key `provider` needs, None for the local ones."""
        field = KEY_OF.get(provider)  # type: ignore[call-overload]
        secret: SecretStr | None = getattr(self, field) if field else None
        return secret.get_secret_value() if secret else None

    def voice_identity(self, language: str, voice: str | None = None) -> str:
        """What a sentence's synthesized audio depends on besides its text (`voice`: an agent's
        own voice instead of the provider's voice setting)."""
        provider = self.chosen_providers()[2]
        model, default_voice = {
            TTSProvider.openai: (self.openai_tts_model, self.openai_tts_voice),
            TTSProvider.sarvam: (self.sarvam_tts_model, self.sarvam_tts_speaker),
            TTSProvider.piper: ("piper", str(self.piper_voice)),
        }[provider]
        fmt = self.openai_tts_format if provider is TTSProvider.openai else ""
        return f"{provider.value}/{model}/{voice or default_voice}/{fmt}/{language}"

    def chosen_providers(self) -> tuple[STTProvider, LLMProvider, TTSProvider]:
        """The preset's providers, each overridden by its explicit setting."""
        if self.provider_preset is Preset.auto:
            stt, llm, tts = self._auto_providers()
        else:
            stt, llm, tts = PRESETS[self.provider_preset]
        return (self.stt_provider or stt, self.llm_provider or llm, self.tts_provider or tts)

    def _auto_providers(self) -> tuple[STTProvider, LLMProvider, TTSProvider]:
        def first_with_key(*candidates, fallback):  # type: ignore[no-untyped-def]
            return next((c for c in candidates if getattr(self, KEY_OF[c])), fallback)

        return (
            first_with_key(
                STTProvider.deepgram,
                STTProvider.sarvam,
                STTProvider.openai,
                fallback=STTProvider.whisper,
            ),
            first_with_key(LLMProvider.openai, fallback=LLMProvider.openai_compatible),
            first_with_key(TTSProvider.openai, TTSProvider.sarvam, fallback=TTSProvider.piper),
        )

    @model_validator(mode="after")
    def _keys_for_chosen_providers(self) -> Self:
        kinds = ("STT", "LLM", "TTS")
        fallbacks = (
            self.stt_fallback_provider,
            self.llm_fallback_provider,
            self.tts_fallback_provider,
        )
        checks: list[tuple[str, StrEnum, str]] = [
            (f"{kind} provider", chosen, f"choose another with {kind}_PROVIDER or PROVIDER_PRESET")
            for kind, chosen in zip(kinds, self.chosen_providers(), strict=True)
        ] + [
            (f"{kind} fallback provider", fallback, f"unset {kind}_FALLBACK_PROVIDER")
            for kind, fallback in zip(kinds, fallbacks, strict=True)
            if fallback is not None
        ]
        for label, provider, remedy in checks:
            field = KEY_OF.get(provider)  # type: ignore[call-overload]
            if field and not getattr(self, field):
                raise ValueError(f"{label} '{provider}' needs {field.upper()}: set it, or {remedy}")
        return self

    @model_validator(mode="after")
    def _sarvam_speaker_fits_model(self) -> Self:
        if TTSProvider.sarvam not in self.chosen_providers():
            return self
        from livekit.plugins.sarvam.models import MODEL_SPEAKER_COMPATIBILITY

        speakers = MODEL_SPEAKER_COMPATIBILITY.get(self.sarvam_tts_model, {}).get("all")
        if speakers is None:
            raise ValueError(
                f"SARVAM_TTS_MODEL '{self.sarvam_tts_model}' is unknown: use one of "
                f"{', '.join(MODEL_SPEAKER_COMPATIBILITY)}"
            )
        if self.sarvam_tts_speaker.lower() not in speakers:
            raise ValueError(
                f"SARVAM_TTS_SPEAKER '{self.sarvam_tts_speaker}' does not speak with "
                f"{self.sarvam_tts_model}: use one of {', '.join(speakers)}"
            )
        return self

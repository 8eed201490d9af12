"""Building a job's conversation: the starting agent with its data and memory, and the
`AgentSession` with the providers, turn handling and retries for the user's language."""

from datetime import date

from livekit.agents import AgentSession, APIConnectOptions, room_io
from livekit.agents.inference import TurnDetector
from livekit.agents.voice.agent_session import SessionConnectOptions
from livekit.plugins import silero
from redis.asyncio import Redis

from voice_common.projects import ProjectStore

from .agent import ConversationAgent, SessionData
from .agents_config import AgentBuilder, settings_tts
from .docs_search import get_index
from .greeting import Greeting, GreetingAudio, default_folder, greeting_text
from .memory import previous_turns
from .providers import session_llm, session_stt, session_tts
from .settings import WorkerSettings


def session_conn_options(settings: WorkerSettings) -> SessionConnectOptions:
    """One quick LLM retry, then the fallback provider or an apology (TroubleNotifier): a dead
    or hanging provider must not mean a minute of silence."""
    return SessionConnectOptions(
        llm_conn_options=APIConnectOptions(
            max_retry=1, retry_interval=0.5, timeout=settings.llm_timeout_seconds
        ),
    )


def room_options(settings: WorkerSettings) -> room_io.RoomOptions:
    """How the session meets the room: the user's audio at the configured rate, frame size and
    gain control, and the agent's words paced with its speech unless turned off."""
    audio = room_io.AudioInputOptions(
        sample_rate=settings.audio_input_sample_rate,
        frame_size_ms=settings.audio_input_frame_ms,
        auto_gain_control=settings.input_auto_gain_control,
    )
    text = room_io.TextOutputOptions(sync_transcription=settings.sync_transcription)
    return room_io.RoomOptions(audio_input=audio, text_output=text)


def turn_detector(settings: WorkerSettings) -> TurnDetector:
    """LiveKit's local end-of-turn model, pinned (never a cloud-only detector on a self-hosted
    server), with the configured threshold below which the user is thought to go on."""
    return TurnDetector(version="v1-mini", unlikely_threshold=settings.eot_unlikely_threshold)


def build_session(
    settings: WorkerSettings, vad: silero.VAD, data: SessionData, vocabulary: list[str]
) -> AgentSession:
    return AgentSession[SessionData](
        stt=session_stt(settings, data.language, vad, vocabulary),
        llm=session_llm(settings),
        tts=session_tts(settings, data.language),
        vad=vad,
        conn_options=session_conn_options(settings),
        user_away_timeout=settings.user_away_seconds,  # call_endings.AwayWatch
        turn_handling={
            "turn_detection": turn_detector(settings),
            "endpointing": {
                "min_delay": settings.min_endpointing_delay,
                "max_delay": settings.max_endpointing_delay,
            },
            "interruption": {
                "mode": "vad",
                "resume_false_interruption": True,
                "false_interruption_timeout": settings.false_interruption_timeout,
            },
            "preemptive_generation": {"enabled": settings.preemptive_generation},
        },
        userdata=data,
    )


async def build_agent(
    settings: WorkerSettings, redis: Redis, data: SessionData
) -> ConversationAgent:
    """The session's starting agent (the agents file's, `AgentBuilder`): tools on seeded
    project data, and what its instructions need (the user's language, today, the end of the
    user's earlier conversations)."""
    projects = ProjectStore(redis)
    await projects.seed_if_empty()
    memory = await previous_turns(redis, data.user_id, data.session_id, settings.memory_turns)
    builder = AgentBuilder(
        agents=settings.agents_config(),
        projects=projects,
        docs=get_index(settings.docs_folder),
        data=data,
        today=date.today(),
        memory=memory,
        filler_delay=settings.tool_filler_delay_seconds,
        tts=settings_tts(settings),
    )
    agent = builder.start(data.agent_id)
    text = greeting_text(agent.spec.prepared_greetings, data.language, returning=bool(memory))
    if settings.prepared_greeting and text is not None:
        folder = settings.greeting_audio_dir or default_folder()
        voice = settings.voice_identity(data.language, agent.spec.voice)
        agent.greeting = Greeting(text, voice, GreetingAudio(folder))
    return agent

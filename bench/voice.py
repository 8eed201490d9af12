"""Voice benchmarks: scripted callers (`tests/voice_caller.py`) against the whole stack.

    python bench/voice.py latency  [--modes local,cloud] [--sessions 3] [--turns 11] [--write]
    python bench/voice.py join     [--mode cloud] [--join-sessions 30] [--write]
    python bench/voice.py capacity [--mode cloud] [--levels 1,5,10,20] [--write]
    python bench/voice.py all      [--write] [--quick] [--doc PATH]

- latency (`voice_latency.py`): voice to voice per turn, with the stage breakdown the worker
  stores in the session's transcript and what lies outside the worker (`side_measures.py`);
- join (`agent_join.py`): POST /api/voice/session -> agent joined, and -> first agent audio at
  the caller (the greeting), one session at a time;
- capacity (`capacity.py`): N simultaneous conversations on one worker: voice to voice p50/p95,
  CPU and memory per conversation.

`--mode local` runs Whisper tiny.en, Piper and the ScriptedLLM with no delay in the worker;
`--mode cloud` the real OpenAI plugins against simulated cloud-class providers (`stack.py`). Each
benchmark starts its own stack on free loopback ports and stops every process by pid. `--write`
replaces the benchmark's section of the document (`--doc`, docs/benchmarks.md by default) and its
plot under images/ beside it. `--worker-env KEY=VALUE` (repeatable) changes a worker setting for
the run; `--quick` uses the smallest counts. Nothing here gates CI; every wait is bounded.
"""

from __future__ import annotations

import agent_join
import capacity
import end_of_turn
import latency_levers
import voice_latency
from conversation import run_cli

if __name__ == "__main__":
    run_cli(
        {
            "latency": voice_latency,
            "join": agent_join,
            "levers": latency_levers,
            "endpointing": end_of_turn,
            "capacity": capacity,
        }
    )

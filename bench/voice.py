"""Voice benchmarks: scripted callers (`harness.caller.VoiceCaller`) against the whole stack.

    python bench/voice.py latency     [--presets local,openai,sarvam] [--sessions 3] [--turns 11]
    python bench/voice.py join        [--presets local,openai,sarvam] [--join-sessions 30]
    python bench/voice.py levers      [--lever-preset openai] [--levers defaults,tts-pcm,...]
    python bench/voice.py endpointing [--configs default,balanced,latency-first]
    python bench/voice.py capacity    [--mode openai] [--levels 1,3,5,10]
    python bench/voice.py capacity-levers [--lever-levels 1,10] [--capacity-levers ...]
    python bench/voice.py all         [--write] [--quick] [--doc PATH]

- latency (`voice_latency.py`): voice to voice per turn and preset, each turn one timeline on
  one clock, read as intervals and as the critical path (`timeline.py`);
- join (`agent_join.py`): POST /api/voice/session -> agent joined, and -> first agent audio at
  the caller (the greeting), one session at a time;
- levers (`latency_levers.py`): the latency benchmark once per lever, against the defaults;
- endpointing (`end_of_turn.py`): false cut-offs and end-of-turn delay per configuration;
- capacity (`capacity.py`): N simultaneous conversations on one worker: voice to voice p50/p95,
  CPU and memory per conversation, the product's failures apart from the load generator's;
- capacity-levers (`capacity_levers.py`): the capacity benchmark once per lever (job executor,
  idle processes, model preloading, transcript sync, PCM) and the local models'
  cost per call.

A preset is the real LiveKit plugins against fakes of its cloud APIs, timed by the flags of
`stack.ProviderTimings` (`--stt-final`, `--llm-first-token`, ...). Each benchmark starts its own
stack on free loopback ports and stops every process by pid. `--write` replaces the benchmark's
section of the document (`--doc`, docs/benchmarks.md by default), its key of the JSON beside it
and its plot under images/. `--worker-env KEY=VALUE` (repeatable) changes a worker setting for
the run; `--quick` uses the smallest counts. Nothing here gates CI; every wait is bounded.
"""

from __future__ import annotations

import agent_join
import capacity
import capacity_levers
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
            "capacity-levers": capacity_levers,
        }
    )

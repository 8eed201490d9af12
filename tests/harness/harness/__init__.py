"""The harness every test, benchmark and `make dev` share.

- Launching the native stack, one component a module, each service's environment built in one
  place: `processes` (spawn, readiness, stop by pid), `redis_server`, `livekit_server`,
  `session_api`, `worker`, `web`; `stack` puts them together (`make dev` is `harness.dev`).
- Talking to it: `api_client` (the session API, typed), `caller` (a scripted LiveKit
  participant that speaks), `browser` (Chromium with a fake microphone).
- Standing in for paid cloud APIs: `fakes` (each a FAKE speaking the real API's wire protocol).
- `infra`: what a test does when a binary is missing (skip with the install hint, or fail in CI).

Importing this package imports nothing heavy: the compose tests run the LLM fake from it inside
the worker's image.
"""

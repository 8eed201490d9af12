#!/usr/bin/env bash
# Installs what `make test` and `make dev` need, on a fresh Debian/Ubuntu machine with Python 3.11+.
# Idempotent and cached: each step is skipped when its result is already there.
#   uv (PyPI) -> .venv with every workspace package (uv sync --frozen)
#   redis-server, nginx, chromium, firefox-esr, pulseaudio, libportaudio2 (Debian packages, when
#     running as root)
#   livekit-server v1.13.5 (built from its Go module into ~/.cache/voice-stack/bin)
#   geckodriver 0.37.1, Firefox's WebDriver (built from its crate into ~/.cache/voice-stack/bin)
#   the web client's npm packages and build (frontend/dist)
# `scripts/setup.sh bench` also installs what the benchmarks use (wrk, py-spy).
# `scripts/setup.sh docker` sets up what the compose tests need: the Docker engine (Debian's
#   docker.io, dockerd started as root), the compose plugin (built from its Go module when
#   missing), and base images (stand-ins where no registry answers: tests/compose/standins/).
set -euo pipefail
cd "$(dirname "$0")/.."

LIVEKIT_VERSION=1.13.5
GECKODRIVER_VERSION=0.37.1
UV_VERSION=0.13.9
TOOLS_BIN="${XDG_CACHE_HOME:-$HOME/.cache}/voice-stack/bin"
export PATH="$TOOLS_BIN:$PATH"

say() { echo "setup: $*"; }
fail() { echo "setup: $*" >&2; exit 1; }

apt_updated=""
apt_install() {
  if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null; then
    fail "$1 is missing: install it with 'sudo apt-get install $*' and run again"
  fi
  if [ -z "$apt_updated" ]; then apt-get update -qq; apt_updated=1; fi
  say "installing $* (Debian packages)"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}

# uv from PATH, else the copy pip installed as a module (its script directory may not be on PATH).
uv() { if command -v uv >/dev/null; then command uv "$@"; else python3 -m uv "$@"; fi; }

ensure_uv() {
  uv --version >/dev/null 2>&1 && return
  say "installing uv $UV_VERSION (PyPI)"
  python3 -m pip install --quiet "uv==$UV_VERSION" || fail "could not install uv: pip install uv==$UV_VERSION"
}

livekit_ok() {
  command -v livekit-server >/dev/null &&
    livekit-server --version 2>/dev/null | grep -q "version $LIVEKIT_VERSION"
}

# PortAudio found as the sounddevice package finds it (ctypes, by the linker's cache).
portaudio_ok() {
  python3 -c 'import ctypes.util, sys; sys.exit(not ctypes.util.find_library("portaudio"))'
}

ensure_livekit() {
  livekit_ok && return
  command -v go >/dev/null ||
    fail "livekit-server $LIVEKIT_VERSION not found and Go is not installed: install Go (apt-get install golang) or put livekit-server $LIVEKIT_VERSION on PATH"
  mkdir -p "$TOOLS_BIN"
  say "building livekit-server $LIVEKIT_VERSION from its Go module (a few minutes, once)"
  local module="github.com/livekit/livekit-server"
  if ! GOBIN="$TOOLS_BIN" CGO_ENABLED=0 go install "$module/cmd/server@v$LIVEKIT_VERSION"; then
    say "go install refused; building from the downloaded module instead"
    local dir
    dir=$(cd "$(mktemp -d)" && go mod download -json "$module@v$LIVEKIT_VERSION" | python3 -c 'import json,sys; print(json.load(sys.stdin)["Dir"])')
    (cd "$dir" && CGO_ENABLED=0 go build -o "$TOOLS_BIN/server" ./cmd/server)
  fi
  mv "$TOOLS_BIN/server" "$TOOLS_BIN/livekit-server"
  livekit_ok || fail "built livekit-server does not report version $LIVEKIT_VERSION"
}

geckodriver_ok() {
  command -v geckodriver >/dev/null &&
    geckodriver --version 2>/dev/null | head -1 | grep -q "geckodriver $GECKODRIVER_VERSION"
}

# geckodriver from its crate: `cargo install` puts it in $TOOLS_BIN (its --root is the folder
# above). Debian's Rust is too old for it; rustup's is found on PATH or in ~/.cargo/bin.
ensure_geckodriver() {
  geckodriver_ok && return
  local cargo
  cargo=$(command -v cargo || echo "$HOME/.cargo/bin/cargo")
  [ -x "$cargo" ] ||
    fail "geckodriver $GECKODRIVER_VERSION not found and Rust is not installed: install Rust with rustup (Debian's rustc is too old for it) or put geckodriver $GECKODRIVER_VERSION on PATH"
  say "building geckodriver $GECKODRIVER_VERSION from its crate (a few minutes, once)"
  "$cargo" install geckodriver --version "$GECKODRIVER_VERSION" --locked --quiet --root "$(dirname "$TOOLS_BIN")"
  geckodriver_ok || fail "built geckodriver does not report version $GECKODRIVER_VERSION"
}

ensure_frontend() {
  command -v npm >/dev/null || fail "npm is missing: install Node.js 22.22 or later with npm"
  if [ ! -d frontend/node_modules ] || [ frontend/package-lock.json -nt frontend/node_modules/.package-lock.json ]; then
    say "installing the web client's npm packages (npm ci)"
    (cd frontend && npm ci --no-audit --no-fund --loglevel=error)
  fi
  if [ ! -f frontend/dist/index.html ] || [ -n "$(find frontend/src frontend/index.html frontend/inspector.html frontend/vite.config.ts frontend/package.json -newer frontend/dist/index.html 2>/dev/null | head -1)" ]; then
    say "building the web client (npm run build)"
    (cd frontend && npm run build --silent)
  fi
}

# ---- Docker, for the compose tests (`scripts/setup.sh docker`) -------------------------------
COMPOSE_VERSION=2.40.3
DOCKER_LOG="${XDG_CACHE_HOME:-$HOME/.cache}/voice-stack/dockerd.log"

# The compose plugin: found by `docker compose`, else built from its Go module (`go install`
# refuses it for its replace directives) into the user's CLI plugin folder.
ensure_compose_plugin() {
  docker compose version >/dev/null 2>&1 && return
  command -v go >/dev/null || fail "docker compose is missing and Go is not installed: install Go, or the compose plugin"
  say "building docker compose v$COMPOSE_VERSION from its Go module (a few minutes, once)"
  local module="github.com/docker/compose/v2" dir plugins="${DOCKER_CONFIG:-$HOME/.docker}/cli-plugins"
  dir=$(cd "$(mktemp -d)" && go mod download -json "$module@v$COMPOSE_VERSION" | python3 -c 'import json,sys; print(json.load(sys.stdin)["Dir"])')
  mkdir -p "$plugins"
  (cd "$dir" && CGO_ENABLED=0 go build -trimpath \
    -ldflags "-X $module/internal.Version=v$COMPOSE_VERSION" -o "$plugins/docker-compose" ./cmd)
  docker compose version >/dev/null || fail "the built compose plugin does not run"
}

# The engine: Debian's docker.io, and dockerd started when none answers. Its userland proxy is
# off: engine 20.10's proxy answers UDP from the wrong source address (moby/moby#11998, fixed in
# engine 28), which would break WebRTC media through the published UDP port; without the proxy
# the kernel forwards the published ports, as a fixed engine's proxy does in effect.
ensure_docker_engine() {
  command -v dockerd >/dev/null || apt_install docker.io
  command -v docker >/dev/null || apt_install docker.io
  docker info >/dev/null 2>&1 && return
  say "starting dockerd (log: $DOCKER_LOG)"
  mkdir -p "$(dirname "$DOCKER_LOG")"
  nohup dockerd --userland-proxy=false >"$DOCKER_LOG" 2>&1 &
  for _ in $(seq 60); do
    docker info >/dev/null 2>&1 && return
    sleep 1
  done
  tail -20 "$DOCKER_LOG" >&2
  fail "dockerd did not answer within 60 s"
}

setup_docker() {
  if [ "$(id -u)" != 0 ] && ! docker info >/dev/null 2>&1; then
    say "no Docker engine and not root: the compose tests will be skipped (in CI: fail)." \
      "Install docker.io and the compose plugin, start dockerd, and run again"
    return
  fi
  [ "$(id -u)" = 0 ] && ensure_docker_engine
  ensure_compose_plugin
  # Base images: pulled where a registry answers, else stand-ins built here (see the script).
  if [ "$(id -u)" = 0 ]; then
    command -v debootstrap >/dev/null || apt_install debootstrap
    tests/compose/standins/build.sh
  fi
}

ensure_uv
if [ "${1:-}" = docker ]; then
  ensure_livekit  # the livekit-server stand-in image carries this binary
  setup_docker
  say "docker ready"
  exit 0
fi
say "syncing the Python workspace (uv sync --frozen)"
UV_PYTHON_DOWNLOADS=never uv sync --frozen --all-packages --quiet
command -v redis-server >/dev/null || apt_install redis-server
command -v nginx >/dev/null || apt_install nginx-light
# The browser tests drive Debian's Chromium (never a downloaded browser build).
command -v chromium >/dev/null || apt_install chromium
# And Debian's Firefox, through geckodriver; its microphone and speaker are a private PulseAudio
# server the tests start (Firefox cannot capture from a file).
command -v firefox-esr >/dev/null || apt_install firefox-esr
{ command -v pulseaudio >/dev/null && command -v paplay >/dev/null; } || apt_install pulseaudio pulseaudio-utils
# The worker's console mode (`python -m voice_agent console`, even with --text) loads PortAudio.
portaudio_ok || apt_install libportaudio2
ensure_livekit
ensure_geckodriver
ensure_frontend
if [ "${1:-}" = bench ]; then
  command -v wrk >/dev/null || apt_install wrk
  # CPU profiles of session-api and the worker (bench/profiling.py); a tool, not a dependency.
  { command -v py-spy || [ -x "$HOME/.local/bin/py-spy" ]; } >/dev/null || uv tool install --quiet py-spy==0.4.3
fi
say "ready"

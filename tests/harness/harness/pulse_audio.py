"""A private PulseAudio server: the microphone and speaker of a browser that has no fake-capture
file option (Firefox). Measured here: Firefox's fake-media preferences only give a generated
tone, so a spoken question has to come through a real audio server.

The server holds two null sinks: `speaker`, where the browser plays (the agent's voice), and
`mic_feed`, whose monitor is remapped into the source `mic`, the default source the browser
records. `speak(wav)` plays a file into `mic_feed`: the browser hears it, as if a person spoke.
Nothing touches the machine's own audio: the server listens on a socket in its own directory,
found through PULSE_SERVER in `env`."""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from harness.processes import ManagedProcess, StartupError, require, spawn, wait_until


@dataclass
class PulseAudio:
    process: ManagedProcess
    runtime_dir: Path

    @property
    def env(self) -> dict[str, str]:
        """The environment a client (the browser, pactl, paplay) needs to use this server."""
        return {
            "PULSE_SERVER": f"unix:{self.runtime_dir / 'native'}",
            "PULSE_RUNTIME_PATH": str(self.runtime_dir),
            "PULSE_COOKIE": str(self.runtime_dir / "cookie"),
        }

    def pactl(self, *args: str) -> str:
        result = subprocess.run(  # noqa: S603 - fixed argument lists
            [require("pactl"), *args], env=self.env, capture_output=True, text=True, timeout=10
        )
        if result.returncode != 0:
            raise StartupError(f"pactl {' '.join(args)}: {result.stderr.strip()}")
        return result.stdout

    async def speak(self, wav: Path) -> None:
        """Play `wav` into the microphone, returning when it has been played."""
        player = await asyncio.create_subprocess_exec(
            require("paplay"), "--device=mic_feed", str(wav), env={**os.environ, **self.env}
        )
        if await player.wait() != 0:
            raise AssertionError(f"paplay {wav} exited {player.returncode}")

    def stop(self) -> None:
        self.process.stop()
        shutil.rmtree(self.runtime_dir, ignore_errors=True)


def start_pulse_audio(log_dir: Path) -> PulseAudio:
    # A short directory of its own: a unix socket path holds at most 107 bytes.
    runtime_dir = Path(tempfile.mkdtemp(prefix="pulse-"))
    socket = runtime_dir / "native"
    modules = [
        f"module-native-protocol-unix socket={socket} auth-anonymous=1",
        "module-null-sink sink_name=speaker rate=48000",
        "module-null-sink sink_name=mic_feed rate=48000 channels=1",
        "module-remap-source source_name=mic master=mic_feed.monitor",
    ]
    cmd = [
        require("pulseaudio"),
        "-n",  # no default configuration: only the modules below
        "--daemonize=no",
        "--exit-idle-time=-1",
        "--use-pid-file=no",
        "--disable-shm=yes",
        *[arg for module in modules for arg in ("-L", module)],
    ]
    # HOME and XDG_RUNTIME_DIR inside its directory: running as root, PulseAudio otherwise
    # writes into root's home, and it must never meet a desktop session's server.
    env = {"HOME": str(runtime_dir), "XDG_RUNTIME_DIR": str(runtime_dir)}
    pulse = PulseAudio(spawn("pulseaudio", cmd, log_dir, env=env), runtime_dir)
    wait_until(pulse.process, socket.exists, "listening on its socket", timeout=20)
    pulse.pactl("set-default-source", "mic")
    pulse.pactl("set-default-sink", "speaker")
    return pulse

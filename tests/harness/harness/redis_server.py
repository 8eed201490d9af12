"""redis-server on a loopback port, durable (append-only file, fsync on every write), so that a
restart on the same data directory loses nothing acknowledged."""

from __future__ import annotations

import socket
from dataclasses import dataclass
from pathlib import Path

from harness.processes import ManagedProcess, require, spawn, wait_until


def redis_ping(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1) as sock:
            sock.sendall(b"PING\r\n")
            return sock.recv(16).startswith(b"+PONG")
    except OSError:
        return False


def _spawn_redis(port: int, data_dir: Path, log_dir: Path) -> ManagedProcess:
    data_dir.mkdir(parents=True, exist_ok=True)
    cmd = [
        require("redis-server"),
        *("--port", str(port), "--bind", "127.0.0.1", "--dir", str(data_dir)),
        *("--appendonly", "yes", "--appendfsync", "always", "--save", "", "--daemonize", "no"),
    ]
    proc = spawn(f"redis-{port}", cmd, log_dir)
    wait_until(proc, lambda: redis_ping(port), "answering PING")
    return proc


@dataclass
class RedisServer:
    port: int
    data_dir: Path
    log_dir: Path
    proc: ManagedProcess

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def stop(self) -> None:
        self.proc.stop()

    def kill(self) -> None:
        self.proc.kill()

    def start(self) -> None:
        """(Re)start on the same port and data directory, so the append-only file is replayed."""
        self.proc = _spawn_redis(self.port, self.data_dir, self.log_dir)


def start_redis(port: int, data_dir: Path, log_dir: Path) -> RedisServer:
    return RedisServer(port, data_dir, log_dir, _spawn_redis(port, data_dir, log_dir))

"""nginx serving the built web client with /api proxied to the session API, from the same server
block the web image renders."""

from __future__ import annotations

from pathlib import Path

from harness.paths import REPO
from harness.processes import ManagedProcess, StartupError, http_get, require, spawn, wait_until


def nginx_config(web_port: int, api_upstream: str, work_dir: Path) -> str:
    """A main nginx.conf around the server block of frontend/nginx/default.conf.template."""
    template = (REPO / "frontend" / "nginx" / "default.conf.template").read_text()
    server = (
        template.replace("${SESSION_API_UPSTREAM}", api_upstream)
        .replace("${WEB_PORT}", f"127.0.0.1:{web_port}")
        .replace("/usr/share/nginx/html", str(REPO / "frontend" / "dist"))
    )
    temp = work_dir / "nginx-temp"
    temp.mkdir(parents=True, exist_ok=True)
    paths = "\n".join(
        f"  {kind}_temp_path {temp / kind};"
        for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    )
    return (
        f"daemon off;\nworker_processes 1;\npid {work_dir / 'nginx.pid'};\nerror_log stderr warn;\n"
        f"events {{ worker_connections 1024; }}\n"
        f"http {{\n  include /etc/nginx/mime.types;\n  default_type application/octet-stream;\n"
        f"  access_log off;\n{paths}\n{server}\n}}\n"
    )


def start_web(web_port: int, api_port: int, work_dir: Path, log_dir: Path) -> ManagedProcess:
    if not (REPO / "frontend" / "dist" / "index.html").exists():
        raise StartupError("frontend/dist is missing: run `make setup` (npm ci && npm run build)")
    work_dir.mkdir(parents=True, exist_ok=True)
    conf = work_dir / "nginx.conf"
    conf.write_text(nginx_config(web_port, f"127.0.0.1:{api_port}", work_dir))
    proc = spawn("web", [require("nginx"), "-e", "stderr", "-c", str(conf)], log_dir)
    wait_until(proc, lambda: http_get(f"http://127.0.0.1:{web_port}/")[0] == 200, "serving /")
    return proc

"""The web client's production bundle carries no secret.

Vite puts into the bundle whatever `import.meta.env.VITE_*` the code reads. The bundle is built
here (the production build, into a temporary folder) with the LiveKit API secret and every
provider key in the environment, plainly and with the `VITE_` prefix, as a careless `.env` would
have them; no file of the output may contain any of the values.

The web server in front of the bundle, nginx with the web image's server block, guards the API at
the edge (docs/security.md): it refuses a large body itself, in the API's JSON error shape, and
overwrites the X-Forwarded-For a client sends, which the API trusts from it.
"""

import os
import subprocess
from pathlib import Path

from harness.infra import missing, require_binary

FRONTEND = Path(__file__).resolve().parents[2] / "frontend"
SECRETS = {
    "LIVEKIT_API_SECRET": "bundle-test-livekit-secret-5f0c2d9a7b31e84c",
    "OPENAI_API_KEY": "sk-proj-bundle-test-openai-key-8c1e4f2a",
    "DEEPGRAM_API_KEY": "bundle-test-deepgram-key-3b9d7e6c",
    "SARVAM_API_KEY": "bundle-test-sarvam-key-a4c8e1f0",
    "LLM_COMPATIBLE_API_KEY": "bundle-test-llm-key-7d2b5e9f",
}


def vite() -> Path:
    """The frontend's own Vite; without `npm ci` there is none."""
    path = FRONTEND / "node_modules" / ".bin" / "vite"
    if not path.exists():
        missing("frontend/node_modules is missing; run `make setup` (npm ci in frontend/)")
    return path


def test_a_bundle_built_with_secrets_in_the_environment_holds_none(tmp_path: Path) -> None:
    require_binary("node")
    out = tmp_path / "dist"
    env = {**os.environ, **SECRETS, **{f"VITE_{name}": value for name, value in SECRETS.items()}}

    subprocess.run(
        [str(vite()), "build", "--outDir", str(out), "--emptyOutDir", "--logLevel", "warn"],
        cwd=FRONTEND,
        env=env,
        check=True,
        timeout=180,
    )

    files = [path for path in out.rglob("*") if path.is_file()]
    bundle = {path.relative_to(out).as_posix(): path.read_bytes() for path in files}
    assert "index.html" in bundle and any(name.endswith(".js") for name in bundle), list(bundle)
    assert any(b"Enable Voice" in content for content in bundle.values()), "the page was built"
    for name, content in bundle.items():
        for variable, value in SECRETS.items():
            assert value.encode() not in content, f"{variable} is in {name}"

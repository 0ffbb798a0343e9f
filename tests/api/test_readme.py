"""The README's curl walk-through runs as written against a real server on SQLite."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[2]


def walkthrough() -> str:
    text = (ROOT / "README.md").read_text()
    match = re.search(r"<!-- walkthrough[^>]*-->\s*```sh\n(.*?)```", text, re.S)
    assert match, "the README lost its walk-through block"
    return match.group(1)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_the_readme_walkthrough_runs_as_written(tmp_path: Path) -> None:
    """Serve with --demo in a fresh folder, run the README's shell block, check the result."""
    (tmp_path / ".venv").symlink_to(Path(sys.prefix))
    port = free_port()
    env = {**os.environ, "LEDGER_LOG_FORMAT": "json"}
    env.pop("LEDGER_DATABASE_URL", None)
    log = (tmp_path / "serve.log").open("wb")
    server = subprocess.Popen(  # noqa: S603 - our own CLI
        [str(tmp_path / ".venv/bin/ledger"), "serve", "--demo", "--port", str(port)],
        cwd=tmp_path,
        env=env,
        stdout=log,
        stderr=log,
    )
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/healthz").status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.2)
        script = "set -euo pipefail\n" + walkthrough()
        done = subprocess.run(  # noqa: S603 - the README's own commands
            ["/bin/bash", "-c", script],
            cwd=tmp_path,
            capture_output=True,
            text=True,
            env={**env, "LEDGER_URL": f"http://127.0.0.1:{port}"},
            timeout=120,
            check=False,
        )
        assert done.returncode == 0, done.stderr + done.stdout
        out = done.stdout
        assert '"code":"role_required"' in out  # the consultant's pause was refused
        assert '"status":"implemented"' in out  # the recommendation was carried out
        assert '"type":"Campaign.Launched"' in out
        assert '"status":"active"' in out
        assert '"kind":"agency"' in out  # the agency admin lists its agency and its clients
        assert '"by_client":[{' in out  # and reads its report across them
    finally:
        server.terminate()
        server.wait(timeout=20)
        log.close()

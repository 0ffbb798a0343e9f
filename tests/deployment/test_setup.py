"""scripts/setup run twice at once, as scripts/test and scripts/serve do on a fresh clone."""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

# A stand-in for python3: ``-m venv .venv`` creates .venv/bin/python at once but pip only a
# second later, as the real venv module does (pip comes last); that python fails as the
# real one does while pip is missing.
FAKE_PYTHON = """#!/usr/bin/env bash
set -e
if [ "$1 $2" = "-m venv" ]; then
  mkdir -p "$3/bin"
  printf '#!/usr/bin/env bash\\n[ -e %s/pip ] || {{ echo "No module named pip" >&2; exit 1; }}\\n' \
    "$PWD/$3" > "$3/bin/python"
  chmod +x "$3/bin/python"
  sleep 1
  touch "$3/pip"
fi
"""


def test_two_set_ups_started_together_on_a_fresh_clone_both_succeed(tmp_path: Path) -> None:
    """The second set-up waits for the first instead of finding a .venv without pip."""
    clone = tmp_path / "clone"
    (clone / "scripts").mkdir(parents=True)
    shutil.copy(ROOT / "scripts" / "setup", clone / "scripts" / "setup")
    fake = tmp_path / "python3"
    fake.write_text(FAKE_PYTHON.format())
    fake.chmod(0o755)
    env = {**os.environ, "PYTHON": str(fake)}
    runs = []
    for _ in range(2):  # the second starts while the first is inside ``-m venv``
        runs.append(
            subprocess.Popen(  # noqa: S603 - our own script, on a path built here
                [str(clone / "scripts" / "setup")],
                env=env,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE,
                text=True,
            )
        )
        time.sleep(0.4)
    results = [(run.communicate(timeout=30)[1], run.returncode) for run in runs]
    assert results == [("", 0), ("", 0)]

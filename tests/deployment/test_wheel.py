"""The built package carries what the service serves from itself: the reference pages' assets."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_the_wheel_holds_every_vendored_asset_with_its_recorded_hash(tmp_path: Path) -> None:
    """`pip wheel .` (hatchling) packs api/http/static/ whole: each file assets.json lists,
    byte for byte, so /docs and /redoc work from an installed package too."""
    subprocess.run(  # noqa: S603 - this interpreter's pip, fixed arguments
        [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "-w", str(tmp_path), "."],
        cwd=ROOT,
        check=True,
        capture_output=True,
        timeout=240,
    )
    [wheel] = tmp_path.glob("*.whl")
    recorded = json.loads((ROOT / "api" / "http" / "static" / "assets.json").read_text())
    with zipfile.ZipFile(wheel) as z:
        names = set(z.namelist())
        assert "api/http/static/assets.json" in names
        for name, entry in recorded["files"].items():
            data = z.read(f"api/http/static/{name}")
            assert hashlib.sha256(data).hexdigest() == entry["sha256"], name

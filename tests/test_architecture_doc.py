"""docs/architecture.md names files that exist."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DOC = ROOT / "docs" / "architecture.md"
PATH = re.compile(r"`((?:src/ledger|api|projections|docs|tests)/[\w/.-]*)`")


def test_every_file_and_folder_the_architecture_document_names_exists() -> None:
    """A path in backticks in docs/architecture.md is a file or folder of this repository."""
    named = set(PATH.findall(DOC.read_text(encoding="utf-8")))
    assert len(named) > 40
    missing = sorted(p for p in named if not (ROOT / p).exists())
    assert missing == []


def test_every_module_of_the_ledger_layers_is_named_in_the_architecture_document() -> None:
    """Each module of src/ledger's layer packages appears in docs/architecture.md by name."""
    text = DOC.read_text(encoding="utf-8")
    layers = ["policy", "handlers", "application", "persistence", "integrity", "domain"]
    modules = [
        p.name
        for layer in layers
        for p in (ROOT / "src" / "ledger" / layer).glob("*.py")
        if p.name != "__init__.py"
    ]
    unnamed = sorted(m for m in modules if f"`{m}`" not in text and f"/{m}`" not in text)
    assert unnamed == []

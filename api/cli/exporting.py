"""How ``ledger export`` reaches the views and writes a file.

- :func:`catch_up`: the audit view brought to the log's head as it stands when the export
  starts. With no worker running, this process applies what is missing; when a server or
  ``ledger projections run`` holds the view's lease, it waits (bounded) for that worker to
  get there instead of taking the lease: an export never needs it.
- :class:`Target`: the output. A file is written under a temporary name in its own folder
  and renamed into place only once complete, beside its ``FILE.meta.json`` sidecar (format,
  export time, filter, last position, columns, rows), so a failure never leaves an empty or
  half-written file behind. Without a file, the export goes to stdout as UTF-8.
- A rich progress bar on stderr while the export runs, shown only when stderr is a terminal
  and the data does not go to that terminal itself.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from api.cli.mistakes import Mistake
from projections.errors import LeaseNotHeld
from projections.export import Export
from projections.service import ReadSide

WAIT_FOR_WORKER = 30.0  # seconds an export waits for a running worker to reach the head


def catch_up(read_side: ReadSide, *, timeout: float = WAIT_FOR_WORKER) -> None:
    """The views at the log's head of now: applied here, or by the worker that holds them."""
    read_side.install()
    head = read_side.source.head()
    try:
        read_side.run_until_caught_up()
    except LeaseNotHeld:  # a server or a projection worker applies them: wait for it
        reached = read_side.wait_for(head, timeout=timeout)
        if reached < head:
            typer.echo(
                f"note: the views reached position {reached} of {head} in {timeout:.0f} s; "
                f"the export holds the entries up to {reached}",
                err=True,
            )


@contextmanager
def progress_bar(total: int, *, to_terminal: bool) -> Iterator[Callable[[int], None]]:
    """``advance(rows)`` for the export's chunks; a bar on stderr only when it is a
    terminal that does not receive the data too."""
    console = Console(stderr=True)
    shown = console.is_terminal and not to_terminal
    with Progress(
        TextColumn("exporting"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("entries"),
        TimeRemainingColumn(),
        console=console,
        disable=not shown,
        transient=True,
    ) as bar:
        task = bar.add_task("export", total=total)
        yield lambda rows: bar.advance(task, rows)


def sidecar(path: Path) -> Path:
    return path.with_name(path.name + ".meta.json")


@contextmanager
def _named(path: Path) -> Iterator[None]:
    """An error on a temporary part names the user's file, not the part."""
    try:
        yield
    except OSError as e:
        raise OSError(e.errno, e.strerror, str(path)) from None


class Target:
    """Where an export goes: a file (written whole or not at all), or stdout."""

    def __init__(self, path: Path | None) -> None:
        self.path = path
        self.parts: list[Path] = []
        if path is not None and path.is_dir():
            raise Mistake(f"{path} is a folder: name the file to write")
        if path is not None:  # an unwritable folder fails here, before any work
            with _named(path):
                self.data = self._part(path)

    def _part(self, path: Path) -> Path:
        fd, name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".part")
        os.close(fd)
        self.parts.append(Path(name))
        return Path(name)

    def write(self, export: Export) -> int:
        """Write ``export``; the number of entries written."""
        rows = 0

        def count(n: int) -> None:
            nonlocal rows
            rows += n
            advance(n)

        to_terminal = self.path is None and sys.stdout.isatty()
        with progress_bar(export.count(), to_terminal=to_terminal) as advance:
            if self.path is None:
                out = sys.stdout.buffer
                for chunk in export.chunks(count):
                    out.write(chunk.encode("utf-8"))
                out.flush()
                return rows
            with _named(self.path), self.data.open("w", encoding="utf-8", newline="") as f:
                for chunk in export.chunks(count):
                    f.write(chunk)
        with _named(sidecar(self.path)):
            meta = self._part(sidecar(self.path))
            described = {**export.meta(), "rows": rows, "file": self.path.name}
            meta.write_text(json.dumps(described, indent=2) + "\n", encoding="utf-8")
        with _named(self.path):
            os.replace(self.data, self.path)
        with _named(sidecar(self.path)):
            os.replace(meta, sidecar(self.path))
        self.parts.clear()
        typer.echo(f"wrote {rows} entries to {self.path} ({sidecar(self.path).name})", err=True)
        return rows

    def discard(self) -> None:
        """Remove what an unfinished export wrote (nothing once it is complete)."""
        for part in self.parts:
            part.unlink(missing_ok=True)
        self.parts.clear()

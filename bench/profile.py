"""Where a server worker spends its time under the http_pg (or http_sqlite) load.

Starts the ledger as the scenario does, drives the same command mix, and samples every
worker with ``py-spy record`` (``pip install py-spy``; it needs ptrace rights over its own
children, which a process has by default). The collapsed stacks are summed into the
functions with the most samples on top of the stack (self) and anywhere on it (inclusive),
as a share of all samples of active threads.

    python -m bench.profile --seconds 20               # PostgreSQL, 2 workers
    python -m bench.profile --sqlite --seconds 20      # SQLite, 1 worker
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
from collections import Counter
from pathlib import Path

from bench.dataset import build
from bench.load import run_load
from bench.scenarios import issue_targets, ledger_server, mix_sessions
from bench.servers import HOST, fresh_schema, running, schema_url
from ledger.settings import Settings


def py_spy() -> str:
    found = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
    if not Path(found).exists():
        raise SystemExit("py-spy is not installed: pip install py-spy")
    return found


def record(
    pid: int, seconds: float, out: Path, idle: bool, gil: bool = False
) -> subprocess.Popen[bytes]:
    argv = [py_spy(), "record", "--pid", str(pid), "--duration", str(int(seconds))]
    argv += ["--format", "raw", "--output", str(out), "--rate", "200", "--nonblocking"]
    if idle:
        argv.append("--idle")
    if gil:
        argv.append("--gil")
    return subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # noqa: S603 - py-spy with arguments built here


def summarize(files: list[Path], top: int) -> str:
    own: Counter[str] = Counter()
    inclusive: Counter[str] = Counter()
    samples = 0
    for path in files:
        if not path.exists():
            continue
        for line in path.read_text(errors="replace").splitlines():
            stack, _, count = line.rpartition(" ")
            if not stack or not count.isdigit():
                continue
            n = int(count)
            frames = [_short(f) for f in stack.split(";") if f]
            if not frames:
                continue
            samples += n
            own[frames[-1]] += n
            for frame in set(frames):
                inclusive[frame] += n
    if not samples:
        return "no samples (is py-spy allowed to ptrace? try running as the same user)"
    lines = [f"{samples} samples of active threads", "", "self %   function"]
    lines += [f"{100 * n / samples:6.1f}   {name}" for name, n in own.most_common(top)]
    lines += ["", "incl %   function"]
    lines += [f"{100 * n / samples:6.1f}   {name}" for name, n in inclusive.most_common(top * 2)]
    return "\n".join(lines)


def _short(frame: str) -> str:
    """'func (path/to/site-packages/pkg/mod.py:12)' -> 'func (pkg/mod.py)'."""
    name, _, where = frame.partition(" (")
    where = where.rstrip(")")
    for marker in ("site-packages/", "/work/main/", "python3.11/"):
        if marker in where:
            where = where.split(marker, 1)[1]
    return f"{name} ({where.rsplit(':', 1)[0]})"


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.profile", description=__doc__.split("\n")[0])
    p.add_argument("--sqlite", action="store_true", help="profile the SQLite server instead")
    p.add_argument("--workers", type=int, default=None, help="default 2 (PG) or 1 (SQLite)")
    p.add_argument("--seconds", type=float, default=20.0)
    p.add_argument("--connections", type=int, default=16)
    p.add_argument("--events", type=int, default=5_000)
    p.add_argument("--top", type=int, default=25)
    p.add_argument("--idle", action="store_true", help="include idle threads (waits)")
    p.add_argument("--gil", action="store_true", help="only samples of the thread holding the GIL")
    p.add_argument("--launcher", choices=("cli", "tcp"), default="cli", help="see bench.run")
    p.add_argument("--keep", type=Path, help="copy the raw collapsed stacks to this folder")
    args = p.parse_args(argv)
    workers = args.workers or (1 if args.sqlite else 2)
    with tempfile.TemporaryDirectory() as tmp, fresh_schema("profile") as schema:
        url = f"sqlite:///{tmp}/ledger.db" if args.sqlite else schema_url(schema)
        settings = Settings(database_url=url)
        manifest = build(settings, args.events, min_open=max(64, args.connections * 4))
        targets = issue_targets(settings, manifest)
        server = ledger_server(url, workers, Path(tmp), args.launcher)
        with running(server):
            sessions = mix_sessions(targets, args.connections)
            run_load(HOST, server.port, sessions(), duration=3.0)  # warm up
            outs = [Path(tmp) / f"worker-{pid}.txt" for pid in server.worker_pids()]
            spies = [
                record(pid, args.seconds, out, args.idle, args.gil)
                for pid, out in zip(server.worker_pids(), outs, strict=True)
            ]
            r = run_load(HOST, server.port, sessions(), duration=args.seconds, warmup=0.5)
            for spy in spies:
                spy.wait(timeout=args.seconds + 30)
        print(
            f"{'sqlite' if args.sqlite else 'postgres'}, {workers} worker(s), "
            f"{args.connections} connections: {r.total['ok_rps']:.0f} commands/s, "
            f"p99 {r.total['p99_ms']:.0f} ms under the profiler"
        )
        print(summarize(outs, args.top))
        if args.keep:
            args.keep.mkdir(parents=True, exist_ok=True)
            for out in outs:
                if out.exists():
                    shutil.copy(out, args.keep / out.name)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""A daemon thread that calls a function every so many seconds until stopped."""

from __future__ import annotations

import threading
from collections.abc import Callable

import structlog

log = structlog.get_logger("api.periodic")


class Periodic:
    def __init__(self, seconds: float, action: Callable[[], object], name: str) -> None:
        self.seconds = seconds
        self.action = action
        self.name = name
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)

    def start(self) -> None:
        if self.seconds > 0:
            self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=5)

    def _run(self) -> None:
        while not self._stop.wait(self.seconds):
            try:
                self.action()
            except Exception as e:
                log.warning("periodic task failed", task=self.name, error=str(e))

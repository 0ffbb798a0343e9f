"""A pool of :class:`bench.load.Connection` s for open-loop load with many requests in
flight at once: the one raw HTTP client of ``bench/`` and ``tests/faults/`` (tests import
bench, never the other way round)."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Mapping
from typing import Any

from bench.load import Connection, LoadError, Response

IDLE_MAX_S = 2.0  # a pooled connection idle longer may have been dropped (uvicorn: 5 s)


class Pool:
    """Keep-alive :class:`Connection` s to one ``host:port`` for open-loop load, where many
    requests are in flight at once: a request takes the most recently used idle connection
    (unless it sat idle for ``IDLE_MAX_S`` or the server closed it: then a new one) and gives
    it back when answered; after an error the connection is dropped. A connection that
    closes before a complete answer raises :class:`LoadError`. The fault tests' overload
    test sends through this too (``tests/faults/test_overload.py``)."""

    def __init__(self, host: str, port: int, headers: Mapping[str, str] | None = None) -> None:
        Connection(host, port)  # refuses anything but loopback
        self.host, self.port = host, port
        self.headers = dict(headers or {})
        self._idle: list[tuple[float, Connection]] = []

    async def close(self) -> None:
        idle, self._idle = self._idle, []
        for _, connection in idle:
            await connection.close()

    async def post(
        self, path: str, body: Any, headers: Mapping[str, str] | None = None
    ) -> Response:
        head = {"Content-Type": "application/json", **self.headers, **(headers or {})}
        connection = await self._connection()
        try:
            response = await connection.request("POST", path, head, json.dumps(body).encode())
        except (asyncio.IncompleteReadError, asyncio.LimitOverrunError) as e:
            raise LoadError("connection closed before a complete response") from e
        except (IndexError, ValueError) as e:
            raise LoadError("the response could not be parsed") from e
        self._idle.append((time.monotonic(), connection))
        return response

    async def _connection(self) -> Connection:
        while self._idle:
            since, connection = self._idle.pop()
            if time.monotonic() - since < IDLE_MAX_S and connection.usable:
                return connection
            await connection.close()
        return Connection(self.host, self.port)

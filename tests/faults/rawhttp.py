"""A lean asyncio HTTP/1.1 client for open-loop load: keep-alive connections on 127.0.0.1,
JSON bodies, Content-Length responses only (what the API sends).

The fault tests use httpx everywhere else; the overload test needs a client that can keep a
schedule of hundreds of requests a second while sharing two cores with the server it
overloads. Measured here: async httpx spends 2-3 ms of CPU per request, sync httpx in a
thread pool about 1 ms plus GIL contention, this client a fraction of that.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

IDLE_MAX_S = 2.0


class RawHttpError(Exception):
    """The connection closed or the response could not be parsed."""


@dataclass(frozen=True)
class RawResponse:
    status: int
    headers: Mapping[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


class RawClient:
    """A pool of keep-alive connections to one ``host:port``; a request takes an idle one
    or opens a new one, and gives it back when done (or closes it after an error)."""

    def __init__(self, host: str, port: int, headers: Mapping[str, str] | None = None) -> None:
        if host != "127.0.0.1":
            raise ValueError("loopback only")
        self.host, self.port = host, port
        self.headers = dict(headers or {})
        self._idle: list[tuple[float, asyncio.StreamReader, asyncio.StreamWriter]] = []

    async def close(self) -> None:
        idle, self._idle = self._idle, []
        for _, _, writer in idle:
            writer.close()
            with contextlib.suppress(OSError):
                await writer.wait_closed()

    async def post(
        self, path: str, body: Any, headers: Mapping[str, str] | None = None
    ) -> RawResponse:
        data = json.dumps(body).encode()
        head = {
            "Host": f"{self.host}:{self.port}",
            "Content-Type": "application/json",
            "Content-Length": str(len(data)),
            **self.headers,
            **(headers or {}),
        }
        request = (
            f"POST {path} HTTP/1.1\r\n" + "".join(f"{k}: {v}\r\n" for k, v in head.items()) + "\r\n"
        ).encode() + data
        reader, writer = await self._connection()
        try:
            writer.write(request)
            response = await self._read(reader)
        except BaseException:
            writer.close()
            raise
        if response.headers.get("connection", "").lower() == "close":
            writer.close()
        else:
            self._idle.append((time.monotonic(), reader, writer))
        return response

    async def _connection(self) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        """The most recently used idle connection, unless the server may have closed it
        (uvicorn drops keep-alive connections idle for 5 s): then a new one."""
        while self._idle:
            since, reader, writer = self._idle.pop()
            if time.monotonic() - since < IDLE_MAX_S and not reader.at_eof():
                return reader, writer
            writer.close()
        return await asyncio.open_connection(self.host, self.port)

    @staticmethod
    async def _read(reader: asyncio.StreamReader) -> RawResponse:
        try:
            head = await reader.readuntil(b"\r\n\r\n")
        except (asyncio.IncompleteReadError, asyncio.LimitOverrunError) as e:
            raise RawHttpError("connection closed before a response") from e
        lines = head.decode("latin-1").split("\r\n")
        parts = lines[0].split(" ", 2)
        if len(parts) < 2 or not parts[1].isdigit():
            raise RawHttpError(f"bad status line {lines[0]!r}")
        headers = {}
        for line in lines[1:]:
            if ":" in line:
                k, _, v = line.partition(":")
                headers[k.strip().lower()] = v.strip()
        length = int(headers.get("content-length", "0"))
        try:
            body = await reader.readexactly(length) if length else b""
        except asyncio.IncompleteReadError as e:
            raise RawHttpError("connection closed inside a body") from e
        return RawResponse(int(parts[1]), headers, body)

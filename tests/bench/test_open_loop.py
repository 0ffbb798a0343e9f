"""The open-loop driver of the benchmarks (``bench.load.drive_rate``) against a tiny
loopback server: it keeps to its rate when the server keeps up, and shows a server that
does not as a start delay and a backlog, with the 2xx/s the server did sustain."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from bench.load import Client, LoadResult, Response, Schedule, drive_rate


async def _serve(delay: float) -> asyncio.Server:
    async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while await reader.readuntil(b"\r\n\r\n"):
                await asyncio.sleep(delay)
                writer.write(b'HTTP/1.1 200 OK\r\nContent-Length: 15\r\n\r\n{"position": 7}')
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            writer.close()

    return await asyncio.start_server(answer, "127.0.0.1", 0)


@dataclass
class Get:
    async def step(self, client: Client) -> None:
        await client.request("get", "GET", "/")


def _run(delay: float, sessions: int, rate: float) -> tuple[LoadResult, Schedule, list[int]]:
    seen: list[int] = []

    def observe(label: str, response: Response, at: float) -> None:
        seen.append(response.json()["position"])

    async def main() -> tuple[LoadResult, Schedule]:
        server = await _serve(delay)
        port = server.sockets[0].getsockname()[1]
        try:
            return await drive_rate(
                "127.0.0.1",
                port,
                [Get() for _ in range(sessions)],
                rate=rate,
                duration=1.0,
                warmup=0.2,
                observe=observe,
            )
        finally:
            server.close()

    load, schedule = asyncio.run(main())
    return load, schedule, seen


def test_keeps_to_its_rate_when_the_server_keeps_up() -> None:
    load, schedule, seen = _run(delay=0.0, sessions=4, rate=100)
    assert 99 <= schedule.due <= 101
    assert schedule.started == schedule.due
    assert 90 <= load.total["ok"] <= 110
    assert len(seen) == load.total["ok"]
    assert set(seen) == {7}


def test_a_slow_server_shows_as_backlog_and_a_lower_sustained_rate() -> None:
    load, schedule, _ = _run(delay=0.05, sessions=1, rate=100)  # one at a time: <= 20/s
    assert 99 <= schedule.due <= 101
    assert schedule.due - schedule.started >= 70
    assert load.total["ok_rps"] <= 25
    assert schedule.as_dict()["start_delay_max_ms"] > 100

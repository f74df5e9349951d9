"""Observe one exchange from a plain httpx client, sync or async, and report what was seen."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import anyio
import httpx

from .conftest import chunks, events


@dataclass
class Seen:
    """What a client saw: the status and headers, each raw read with its time, the error."""

    status: int | None = None
    headers: httpx.Headers = field(default_factory=httpx.Headers)
    reads: list[tuple[float, bytes]] = field(default_factory=list)
    error: Exception | None = None
    start: float = field(default_factory=time.monotonic)

    @property
    def raw(self) -> bytes:
        return b"".join(data for _, data in self.reads)

    @property
    def events(self) -> list[str]:
        return events(self.raw)

    @property
    def chunks(self) -> list[dict[str, Any]]:
        return chunks(self.raw)

    def record(self, data: bytes) -> None:
        self.reads.append((time.monotonic() - self.start, data))


Observe = Callable[..., Seen]


def observe_sync(
    url: str,
    body: dict[str, Any],
    *,
    read_timeout: float = 2.0,
    max_seconds: float = 3.0,
    max_reads: int | None = None,
) -> Seen:
    seen = Seen()
    timeout = httpx.Timeout(5.0, read=read_timeout)
    try:
        with (
            httpx.Client(timeout=timeout, verify=False) as client,
            client.stream("POST", url, json=body) as response,
        ):
            seen.status, seen.headers = response.status_code, response.headers
            for data in response.iter_raw():
                seen.record(data)
                if _enough(seen, max_seconds, max_reads):
                    break
    except httpx.HTTPError as exc:
        seen.error = exc
    return seen


def observe_async(
    url: str,
    body: dict[str, Any],
    *,
    read_timeout: float = 2.0,
    max_seconds: float = 3.0,
    max_reads: int | None = None,
) -> Seen:
    seen = Seen()

    async def run() -> None:
        timeout = httpx.Timeout(5.0, read=read_timeout)
        try:
            async with (
                httpx.AsyncClient(timeout=timeout, verify=False) as client,
                client.stream("POST", url, json=body) as response,
            ):
                seen.status, seen.headers = response.status_code, response.headers
                async for data in response.aiter_raw():
                    seen.record(data)
                    if _enough(seen, max_seconds, max_reads):
                        break
        except httpx.HTTPError as exc:
            seen.error = exc

    anyio.run(run)
    return seen


def _enough(seen: Seen, max_seconds: float, max_reads: int | None) -> bool:
    if max_reads is not None and len(seen.reads) >= max_reads:
        return True
    return time.monotonic() - seen.start > max_seconds

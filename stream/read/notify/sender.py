"""One attempt to deliver a webhook: a POST that is never redirected, to an address
checked on the way (``address``), within a timeout; what came back, or why nothing did."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

import aiohttp

from stream.read.notify.address import PinnedResolver, refusal_in

LONGEST_RETRY_AFTER = 24 * 3600.0


@dataclass(frozen=True)
class Answer:
    status: int | None  # None: no HTTP answer (see problem)
    problem: str
    retry_after: float | None
    seconds: float
    refused: bool = False  # the address was not one a webhook may reach: nothing sent


def retry_after(value: str | None, now: datetime) -> float | None:
    """Retry-After as seconds from now: delay-seconds or an HTTP date; None if absent
    or unreadable."""
    if not value:
        return None
    text = value.strip()
    if text.isdigit():
        return min(float(text), LONGEST_RETRY_AFTER)
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return min(max(0.0, (when - now).total_seconds()), LONGEST_RETRY_AFTER)


def session(loopback_ok: bool, limit: int = 64) -> aiohttp.ClientSession:
    """The HTTP client of a notifier: its own resolver, no proxy from the environment,
    no cookies."""
    connector = aiohttp.TCPConnector(resolver=PinnedResolver(loopback_ok), limit=limit)
    return aiohttp.ClientSession(
        connector=connector, trust_env=False, cookie_jar=aiohttp.DummyCookieJar(),
        headers={"user-agent": "customs-stream-webhooks/1"},
    )


async def post(
    client: aiohttp.ClientSession, url: str, body: bytes, headers: dict[str, str],
    timeout: float,
) -> Answer:
    started = time.monotonic()
    try:
        async with client.post(
            url, data=body, headers=headers, allow_redirects=False,
            timeout=aiohttp.ClientTimeout(total=timeout),
        ) as response:
            await response.content.read(4096)  # the answer's body is not kept
            return Answer(response.status, "",
                          retry_after(response.headers.get("retry-after"), datetime.now(UTC)),
                          time.monotonic() - started)
    except TimeoutError:
        problem = f"no answer within {timeout:g}s"
    except asyncio.CancelledError:
        raise
    except (aiohttp.ClientError, OSError) as exc:
        refusal = refusal_in(exc)
        if refusal is not None:
            return Answer(None, refusal, None, time.monotonic() - started, refused=True)
        problem = f"{type(exc).__name__}: {exc}"[:300]
    return Answer(None, problem, None, time.monotonic() - started)

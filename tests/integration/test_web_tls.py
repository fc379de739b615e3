"""The API over HTTPS (CUSTOMS_STREAM_WEB_TLS_CERT and _KEY), from a worker and from an API
replica, with a certificate made here by openssl."""

from __future__ import annotations

import asyncio
import contextlib
import ssl
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from stream.broker.secure import make_tls
from stream.read.replica import serve
from stream.read.web.tls import WebTlsError, server_context
from stream.settings import Settings
from stream.tools.replay import ReplayRun
from tests.integration.conftest import until
from tests.integration.test_api import free_port


def https_status(port: int, path: str, ca: Path) -> int:
    context = ssl.create_default_context(cafile=str(ca))
    try:
        with urllib.request.urlopen(f"https://127.0.0.1:{port}{path}", timeout=5,
                                    context=context) as answer:
            return int(answer.status)
    except urllib.error.HTTPError as refused:
        return int(refused.code)


def answers_plain_http(port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=5):
            return True
    except (urllib.error.URLError, ConnectionError):
        return False


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> Path:
    tls = tmp_path_factory.mktemp("web-tls")
    make_tls(tls)  # a CA, and a certificate for 127.0.0.1 and localhost signed by it
    return tls


async def test_a_worker_serves_https(
    settings: Settings, certificate: Path, tmp_path: Path
) -> None:
    port = free_port()
    async with ReplayRun(settings, web_enabled=True, web_port=port,
                         web_tls_cert=certificate / "broker.pem",
                         web_tls_key=certificate / "broker.key"):
        def up() -> bool:
            try:
                return https_status(port, "/health", certificate / "ca.pem") == 200
            except urllib.error.URLError:
                return False

        await until(up, timeout=60)
        assert not answers_plain_http(port)


async def test_an_api_replica_serves_https(
    settings: Settings, certificate: Path, tmp_path: Path
) -> None:
    port, stop = free_port(), asyncio.Event()
    replica = settings.model_copy(update={
        "web_port": port, "data_dir": tmp_path, "web_tls_cert": certificate / "broker.pem",
        "web_tls_key": certificate / "broker.key"})
    serving = asyncio.create_task(serve(replica, stop))
    ca = certificate / "ca.pem"
    try:  # asked from a thread: the server answers on this test's own loop
        for _ in range(100):
            if serving.done() or await asyncio.to_thread(_up, port, certificate):
                break
            await asyncio.sleep(0.2)
        assert not serving.done()
        assert await asyncio.to_thread(https_status, port, "/health", ca) == 200
        assert await asyncio.to_thread(https_status, port, "/kpis", ca) == 401  # guarded
        assert not await asyncio.to_thread(answers_plain_http, port)
    finally:
        stop.set()
        with contextlib.suppress(asyncio.CancelledError):
            await serving


def _up(port: int, certificate: Path) -> bool:
    try:
        return https_status(port, "/health", certificate / "ca.pem") == 200
    except urllib.error.URLError:
        return False


def test_half_a_pair_or_a_wrong_key_is_a_clear_error(certificate: Path) -> None:
    with pytest.raises(WebTlsError, match="set both"):
        server_context(Settings(web_tls_cert=certificate / "broker.pem"))
    with pytest.raises(WebTlsError, match="cannot be used") as raised:
        server_context(Settings(web_tls_cert=certificate / "broker.pem",
                                web_tls_key=certificate / "ca.key"))
    assert "PRIVATE KEY" not in str(raised.value)
    assert server_context(Settings()) is None

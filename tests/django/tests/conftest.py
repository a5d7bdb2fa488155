"""Fixtures: the loopback sandbox receiver (a real HTTP server standing in for Meta)
and CONVTRACK pointed at it with a fresh outbox per test."""

import pytest

from convtrack.django import conf, degrade
from convtrack.sandbox import Sandbox

TOKEN = "sandbox-token"
PIXEL = "1234567890"


@pytest.fixture(scope="session")
def sandbox_server():
    with Sandbox(token=TOKEN) as s:
        yield s


@pytest.fixture
def sandbox(sandbox_server):
    sandbox_server.reset()
    yield sandbox_server


@pytest.fixture
def convtrack_settings(settings, sandbox, tmp_path):
    """The project's CONVTRACK, with the sandbox as endpoint, a per-test outbox and the
    manual sender (the tests flush explicitly; a shop uses the default background thread)."""
    settings.CONVTRACK = dict(
        settings.CONVTRACK,
        endpoint=sandbox.url,
        outbox_path=str(tmp_path / "outbox.sqlite3"),
        sender="manual",
        retry_base_ms=10,
        retry_max_ms=50,
        request_timeout_ms=2000,
    )
    yield settings.CONVTRACK
    conf.close_tracker()


@pytest.fixture
def tracker(convtrack_settings):
    return conf.get_tracker()


@pytest.fixture(autouse=True)
def degrade_counts():
    """The process-local "no tracking for this request" counts start at zero in each test."""
    degrade.reset_counts()
    yield

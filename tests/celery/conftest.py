"""Celery delivery tests (run by `make celery-test`, not by `python-test`: they need
redis-server and the `celery` extra). Reuses the sentinel leak scan of tests/python."""

import pathlib
import sys
import time

import pytest

# For `test_leak_scan` (its sentinels and scanner); appended so this conftest stays `conftest`.
sys.path.append(str(pathlib.Path(__file__).resolve().parents[1] / "python"))

PIXEL = "1234567890"  # the same pixel as tests/python/conftest.py


@pytest.fixture
def now() -> int:
    return int(time.time())

"""Hashed Advanced Matching in the Django thank-you page: the pixel's init carries the
server copy's hashes, only with consent, and never a raw customer value."""

import json
import re

import pytest

import convtrack

pytestmark = pytest.mark.django_db

from helpers import checkout, pixel_purchase  # noqa: E402

INIT = re.compile(r"fbq\('init',\"(\d+)\"(?:,(\{[^}]*\}))?\);")


def init_keys(page):
    m = INIT.search(page)
    assert m, "no fbq init in the page"
    return json.loads(m.group(2)) if m.group(2) else None


def test_init_carries_the_hashes_meta_receives(client, settings, convtrack_settings, sandbox):
    settings.CONVTRACK = dict(convtrack_settings, pixel_advanced_matching=True)
    page = checkout(client)
    keys = init_keys(page)
    assert keys is not None
    from convtrack.django import get_tracker

    assert get_tracker().flush(5.0)["sent"] == 1
    user_data = sandbox.received()[0]["user_data"]
    assert keys["em"] == user_data["em"][0] == convtrack.hash("email", "  Sentinel.Person@Example.COM ")
    assert all(keys[k] == user_data[k][0] for k in keys)
    assert "sentinel.person" not in page.lower() and "7183" not in page
    pixel_purchase(page)  # the Purchase call is still there


@pytest.mark.parametrize("consent", ["denied", None])
def test_no_keys_without_consent(client, settings, convtrack_settings, sandbox, consent):
    settings.CONVTRACK = dict(convtrack_settings, pixel_advanced_matching=True)
    page = checkout(client, consent=consent)
    assert init_keys(page) is None


def test_off_by_default(client, tracker, sandbox):
    assert init_keys(checkout(client)) is None

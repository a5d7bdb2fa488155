"""Middleware fields reach the Conversions API payload (real requests through Django)."""

import re

import pytest

from shop.models import Order

from helpers import UA, checkout, pixel_purchase

pytestmark = pytest.mark.django_db


def sent_event(tracker, sandbox):
    report = tracker.flush(5.0)
    assert report["sent"] == 1, report
    (event,) = sandbox.received()
    return event


def test_cookies_ip_and_user_agent_reach_the_payload(client, tracker, sandbox):
    checkout(client, cookies={"_fbp": "fb.1.1732780000000.123456789", "_fbc": "fb.1.1732780000000.IwAR-cookie"})
    ud = sent_event(tracker, sandbox)["user_data"]
    assert ud["fbp"] == "fb.1.1732780000000.123456789"
    assert ud["fbc"] == "fb.1.1732780000000.IwAR-cookie"
    assert ud["client_ip_address"] == "203.0.113.7"
    assert ud["client_user_agent"] == UA


def test_fbclid_builds_fbc_with_the_click_id_unchanged(client, tracker, sandbox):
    fbclid = "IwAR2xY_z-Q.AbC~9"
    checkout(client, query="?fbclid=" + fbclid)
    order = Order.objects.get()
    fbc = sent_event(tracker, sandbox)["user_data"]["fbc"]
    m = re.fullmatch(r"fb\.1\.(\d+)\.(.+)", fbc)
    assert m and m.group(2) == fbclid
    assert int(m.group(1)) == int(order.created.timestamp()) * 1000  # the event time in ms


def test_a_new_fbclid_replaces_the_fbc_cookie_with_consent(client, tracker, sandbox):
    # Meta's parameter-builder rule: a new click id replaces _fbc (tests/test_first_party_cookies.py).
    checkout(client, query="?fbclid=fromquery", cookies={"_fbc": "fb.1.1732780000000.fromcookie"})
    assert re.fullmatch(r"fb\.0\.\d{13}\.fromquery", sent_event(tracker, sandbox)["user_data"]["fbc"])


def test_forwarded_for_is_ignored_without_trusted_proxies(client, tracker, sandbox):
    checkout(client, HTTP_X_FORWARDED_FOR="198.51.100.1", REMOTE_ADDR="10.0.0.2")
    assert sent_event(tracker, sandbox)["user_data"]["client_ip_address"] == "10.0.0.2"


@pytest.mark.parametrize("proxies, xff, expected", [
    (1, "198.51.100.1", "198.51.100.1"),
    (1, "6.6.6.6, 198.51.100.1", "198.51.100.1"),  # the forged left entry is ignored
    (2, "6.6.6.6, 2001:db8::7, 10.0.0.9", "2001:db8::7"),
])
def test_forwarded_for_with_trusted_proxies(client, settings, convtrack_settings, sandbox, proxies, xff, expected):
    settings.CONVTRACK = dict(convtrack_settings, trusted_proxies=proxies)
    checkout(client, HTTP_X_FORWARDED_FOR=xff, REMOTE_ADDR="10.0.0.2")
    from convtrack.django import get_tracker
    assert sent_event(get_tracker(), sandbox)["user_data"]["client_ip_address"] == expected


def test_hostile_cookies_are_dropped_not_fatal(client, tracker, sandbox):
    # Values the core rejects are dropped field by field; the order still goes out.
    page = checkout(client, query="?fbclid=" + "x" * 5000, cookies={"_fbp": "fb.1.1.1\x00"},
                    HTTP_X_FORWARDED_FOR="</script>")
    _, event_id = pixel_purchase(page)
    ev = sent_event(tracker, sandbox)
    assert ev["event_id"] == event_id
    assert "fbc" not in ev["user_data"] and ev["user_data"]["client_user_agent"] == UA


@pytest.mark.parametrize("ua", ["", "Mozilla/5.0 " + "A" * 20000])
def test_unusable_user_agent_skips_the_server_event_without_failing_the_page(client, tracker, sandbox, ua, caplog):
    page = checkout(client, HTTP_USER_AGENT=ua)
    assert "Thank you for order" in page
    assert "Purchase" not in page  # no event, and so no pixel Purchase either
    assert tracker.flush(5.0).get("sent", 0) == 0 and sandbox.received() == []
    assert "browser.user_agent" in caplog.text and "AAAA" not in caplog.text


def test_request_convtrack_repr_has_no_personal_data(rf, tracker):
    from convtrack.django.context import capture
    req = rf.get("/", HTTP_USER_AGENT=UA, REMOTE_ADDR="203.0.113.7")
    req.COOKIES["_fbp"] = "fb.1.1732780000000.123456789"
    text = repr(capture(req))
    assert "203.0.113.7" not in text and "sentinel" not in text and "123456789" not in text

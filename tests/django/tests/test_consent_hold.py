"""Consent hold-and-release through the test shop: a shopper who has not answered the
banner checks out; the order is held (stored, not sent) and released or dropped on the
first request after they answer."""

import pytest

from convtrack.django import conf
from convtrack.django.holds import SESSION_KEY

from helpers import checkout, pixel_purchase


@pytest.fixture
def hold(convtrack_settings):
    convtrack_settings["unknown_consent"] = "hold"
    conf.close_tracker()
    yield convtrack_settings


def _answer(client, consent):
    client.cookies["shop_consent"] = consent
    page = client.get("/", HTTP_USER_AGENT="Mozilla/5.0")
    assert page.status_code == 200


@pytest.mark.django_db
def test_a_held_checkout_is_sent_once_the_shopper_grants(hold, client, sandbox):
    page = checkout(client, consent=None)
    _, event_id = pixel_purchase(page)
    tracker = conf.get_tracker()
    assert tracker.status()["queue"]["held"] == 1
    assert tracker.flush(timeout=2)["requests"] == 0
    assert sandbox.stats()["requests"] == 0, "nothing leaves before the answer"
    assert client.session[SESSION_KEY] == [event_id]

    _answer(client, "granted")
    assert SESSION_KEY not in client.session
    assert tracker.flush(timeout=5)["sent"] == 1
    assert [e["event_id"] for e in sandbox.received()] == [event_id]
    assert tracker.status()["counters"]["hold"] == {"held": 1, "released": 1}


@pytest.mark.django_db
def test_a_held_checkout_is_dropped_when_the_shopper_denies(hold, client, sandbox):
    checkout(client, consent=None)
    _answer(client, "denied")
    tracker = conf.get_tracker()
    assert tracker.status()["queue"]["held"] == 0
    assert tracker.flush(timeout=2)["requests"] == 0
    assert sandbox.stats()["requests"] == 0
    assert tracker.status()["counters"]["hold"] == {"held": 1, "dropped": 1}


@pytest.mark.django_db
def test_no_answer_keeps_it_held(hold, client, sandbox):
    checkout(client, consent=None)
    client.get("/", HTTP_USER_AGENT="Mozilla/5.0")
    assert conf.get_tracker().status()["queue"]["held"] == 1
    assert len(client.session[SESSION_KEY]) == 1


class FlakyConsent:
    """The shop's consent provider: reads the banner's cookie, but fails (a cache or
    database behind it is down) while ``failing`` says so, or answers garbage."""

    def __init__(self):
        self.failing = None

    def __call__(self, request):
        if self.failing == "raise":
            raise ConnectionError("consent store down for " + request.COOKIES.get("shop_consent", ""))
        if self.failing == "garbage":
            return 42
        from shop.consent import from_cookie
        return from_cookie(request)


@pytest.mark.django_db
@pytest.mark.parametrize("failure", ["raise", "garbage"])
@pytest.mark.parametrize("answer, sent", [("granted", 1), ("denied", 0)])
def test_a_failing_consent_provider_leaves_held_events_held(hold, client, sandbox, failure, answer, sent):
    provider = FlakyConsent()
    hold["consent"] = provider
    page = checkout(client, consent=None)
    _, event_id = pixel_purchase(page)
    tracker = conf.get_tracker()
    assert tracker.status()["queue"]["held"] == 1

    # The shopper answers, but the provider fails on this request: not an answer.
    provider.failing = failure
    _answer(client, answer)
    assert client.session[SESSION_KEY] == [event_id], "the held ids are kept for a real answer"
    assert tracker.status()["queue"]["held"] == 1, "neither released nor dropped"
    assert tracker.status()["counters"]["hold"] == {"held": 1}

    # The provider works again: the shopper's real answer releases or drops the event.
    provider.failing = None
    _answer(client, answer)
    assert SESSION_KEY not in client.session
    assert tracker.status()["queue"]["held"] == 0
    assert tracker.flush(timeout=5).get("sent", 0) == sent
    assert [e["event_id"] for e in sandbox.received()] == [event_id] * sent


@pytest.mark.django_db
@pytest.mark.parametrize("failure", ["raise", "garbage"])
def test_a_checkout_while_the_consent_provider_fails_is_held_not_lost(hold, client, sandbox, failure):
    provider = FlakyConsent()
    hold["consent"] = provider
    provider.failing = failure
    page = checkout(client, consent="granted")
    _, event_id = pixel_purchase(page)
    tracker = conf.get_tracker()
    # Before: the failure counted as "denied" and the order was blocked for good.
    assert tracker.status()["queue"]["held"] == 1
    assert sandbox.stats()["requests"] == 0, "nothing leaves without an answer"
    provider.failing = None
    _answer(client, "granted")
    assert tracker.flush(timeout=5)["sent"] == 1
    assert [e["event_id"] for e in sandbox.received()] == [event_id]

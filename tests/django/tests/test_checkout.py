"""The shop's checkout -> thank-you page, rendered by Django, delivered to the sandbox."""

import html

import pytest

import convtrack
from shop.models import Order

pytestmark = pytest.mark.django_db

from helpers import FBQ_PURCHASE, HOSTILE, UA, checkout, pixel_purchase  # noqa: F401, E402


def test_purchase_pixel_event_id_is_the_one_meta_received(client, tracker, sandbox):
    page = checkout(client)
    params, event_id = pixel_purchase(page)
    assert params["currency"] == "EUR" and params["value"] == 39.9
    order = Order.objects.get()
    assert event_id == convtrack.event_id(tracker.settings["pixel_id"], "Purchase", order.pk)
    assert "fbq('consent','revoke')" not in page
    report = tracker.flush(5.0)
    assert report["sent"] == 1, report
    got = sandbox.received()
    assert [e["event_id"] for e in got] == [event_id]
    ev = got[0]
    assert ev["event_name"] == "Purchase" and ev["custom_data"]["order_id"] == str(order.pk)
    assert ev["event_source_url"].startswith("http://testserver/checkout/")
    # Hashed, never raw, on the wire; and no raw PII in the page either.
    assert ev["user_data"]["em"] == [convtrack.hash("email", "  Sentinel.Person@Example.COM ")]
    assert "sentinel.person" not in page.lower() and "7183" not in page
    assert sandbox.stats()["rejected_events"] == 0


def test_thank_you_reload_sends_once_and_repeats_the_same_pixel_id(client, tracker, sandbox):
    first = checkout(client)
    order = Order.objects.get()
    again = client.get(f"/thanks/{order.pk}/", HTTP_USER_AGENT=UA).content.decode()
    assert pixel_purchase(first)[1] == pixel_purchase(again)[1]
    tracker.flush(5.0)
    assert len(sandbox.received()) == 1
    assert tracker.status()["counters"]["duplicate"] == 1


@pytest.mark.parametrize("consent", ["denied", None])
def test_no_consent_no_server_event_and_the_pixel_holds_back(client, tracker, sandbox, consent):
    page = checkout(client, consent=consent)
    assert "fbq('consent','revoke')" in page
    _, event_id = pixel_purchase(page)  # the pixel still names the id; fbq holds it back until granted
    assert "<noscript>" not in page  # the image beacon fires regardless of fbq consent: omitted
    report = tracker.flush(5.0)
    assert report.get("sent", 0) == 0
    assert sandbox.received() == [] and sandbox.stats()["requests"] == 0
    reason = "consent_denied" if consent == "denied" else "consent_unknown"
    assert tracker.status()["counters"]["blocked"] == {reason: 1}


def test_unknown_consent_grant_policy_sends(client, settings, convtrack_settings, sandbox):
    settings.CONVTRACK = dict(convtrack_settings, unknown_consent="grant")
    page = checkout(client, consent=None)
    _, event_id = pixel_purchase(page)
    assert "fbq('consent','revoke')" not in page
    from convtrack.django import get_tracker
    assert get_tracker().flush(5.0)["sent"] == 1
    assert [e["event_id"] for e in sandbox.received()] == [event_id]


def test_hostile_title_stays_escaped_in_the_page(client, tracker, sandbox):
    page = checkout(client, title=HOSTILE)
    # The only <script> element is the pixel's own; the title is data inside it.
    assert page.count("<script") == 1 and page.count("</script>") == 1
    script = page[page.index("<script"):page.index("</script>")]
    params, _ = pixel_purchase(script)
    assert params["contents"][0]["title"] == HOSTILE  # intact as data, as JSON decodes it
    for raw in ("</", "<script", "\u2028", "&"):
        assert raw not in script.split("fbq('track',\"Purchase\"", 1)[1]
    # The title is in the page body, escaped by Django's autoescape.
    assert html.escape(HOSTILE) in page
    tracker.flush(5.0)
    assert len(sandbox.received()) == 1


def test_data_controls_off_pixel_only(client, settings, convtrack_settings, sandbox):
    settings.CONVTRACK = dict(convtrack_settings, data_controls=False)
    page = checkout(client)
    pixel_purchase(page)
    from convtrack.django import get_tracker
    get_tracker().flush(5.0)
    assert sandbox.stats()["requests"] == 0
    assert get_tracker().status()["counters"]["blocked"] == {"data_controls_off": 1}

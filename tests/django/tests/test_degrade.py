"""Pages never break because of tracking: the shop's real pages through Django's test client
with a broken setting, an unwritable outbox, an order older than Meta's 7 days."""

import datetime
import logging

import pytest

import convtrack
from convtrack.django import degraded_counts
from shop.models import Order

from helpers import UA, checkout, pixel_purchase

pytestmark = pytest.mark.django_db


def tracking_lines(caplog):
    return [r.getMessage() for r in caplog.records if r.name == "convtrack.django"]


def test_an_eight_day_old_order_still_gets_its_pixel(client, tracker, sandbox):
    checkout(client)  # today's order: queued
    order = Order.objects.get()
    tracker.flush(5.0)
    assert len(sandbox.received()) == 1
    eight_days_ago = datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(days=8)
    old = Order.objects.create(email="old@example.com", sku="S", title="Old mug", price="3.00",
                               consent={"marketing": "granted"})
    Order.objects.filter(pk=old.pk).update(created=eight_days_ago)
    resp = client.get(f"/thanks/{old.pk}/", HTTP_USER_AGENT=UA)
    assert resp.status_code == 200
    page = resp.content.decode()
    params, event_id = pixel_purchase(page)
    assert event_id == convtrack.event_id("1234567890", "Purchase", old.pk) and params["value"] == 3.0
    assert resp.context["tracking"]["server"] == "blocked" and resp.context["tracking"]["reason"] == "too_old"
    # The server copy is skipped with the reason; Meta gets nothing more.
    assert tracker.flush(5.0).get("sent", 0) == 0
    assert [e["event_id"] for e in sandbox.received()] == [convtrack.event_id("1234567890", "Purchase", order.pk)]
    assert tracker.status()["counters"]["blocked"] == {"too_old": 1}
    assert degraded_counts() == {}  # not a failure: the pixel ran, the server copy was not due


@pytest.mark.parametrize("bad, reason", [
    ({"pixel_id": "12ab34"}, "invalid_setting:pixel_id"),
    # An unreadable mode cannot say whether the merchant wants a pixel at all (catalog_only: none).
    ({"mode": "everything"}, "invalid_setting:mode"),
])
def test_a_bad_setting_leaves_the_shop_at_http_200(client, settings, convtrack_settings, sandbox, caplog, bad, reason):
    caplog.set_level(logging.INFO)
    settings.CONVTRACK = dict(convtrack_settings, **bad)
    home = client.get("/", HTTP_USER_AGENT=UA)
    assert home.status_code == 200 and "fbq(" not in home.content.decode()
    caplog.clear()
    page = checkout(client)  # the checkout POST redirects, the thank-you page is HTTP 200
    assert "Thank you for order" in page and "fbq(" not in page
    # One line for the thank-you request (track_purchase and the tag), code and setting only.
    assert tracking_lines(caplog) == [f"convtrack: no tracking for this request ({reason})"]
    assert "12ab34" not in caplog.text and "sandbox-token" not in caplog.text
    assert degraded_counts() == {reason: 2}  # the home page and the thank-you page
    assert sandbox.stats()["requests"] == 0


@pytest.mark.parametrize("bad, reason", [
    ({"batch_size": 0}, "invalid_setting:batch_size"),
    ({"pixle_id": "1"}, "invalid_setting:pixle_id"),  # a typo beside a valid pixel_id
    ({"retry_base_ms": -5, "request_timeout_ms": "soon"}, "invalid_setting:"),
    ({"access_token": None}, "invalid_setting:access_token"),  # data controls on without a token
    ({"endpoint": "ftp://graph.example"}, "invalid_setting:endpoint"),
])
def test_a_bad_setting_other_than_the_pixel_id_keeps_the_pixel(client, settings, convtrack_settings, sandbox, caplog,
                                                              bad, reason):
    """The spec: the page still renders, with the pixel where it can be built. A valid pixel
    id is all the pixel needs: pixel only, no server copy, data controls treated as off."""
    settings.CONVTRACK = dict(convtrack_settings, pixel_advanced_matching=True, **bad)
    home = client.get("/", HTTP_USER_AGENT=UA)
    assert home.status_code == 200 and "fbq('track',\"PageView\"" in home.content.decode()
    caplog.clear()
    page = checkout(client)
    order = Order.objects.get()
    params, event_id = pixel_purchase(page)
    assert event_id == convtrack.event_id("1234567890", "Purchase", order.pk) and params["value"] == 39.9
    assert "fbq('init',\"1234567890\");" in page  # no advanced-matching keys: data controls treated as off
    assert "sentinel" not in page.lower()
    lines = tracking_lines(caplog)
    assert len(lines) == 1 and lines[0].startswith(f"convtrack: no tracking for this request ({reason}")
    assert "sandbox-token" not in caplog.text and "ftp://" not in caplog.text
    assert sum(degraded_counts().values()) == 2  # the home page and the thank-you page
    assert sandbox.stats()["requests"] == 0
    # Nothing was queued: the outbox, opened by a good tracker, is empty.
    settings.CONVTRACK = convtrack_settings
    from convtrack.django import get_tracker
    st = get_tracker().status()
    assert st["queue"]["depth"] == 0
    # The pixel-only tracker kept the outbox: both pages are counted there, for every worker.
    assert st["counters"]["degraded"] == {"invalid_setting": 2}


def test_a_bad_setting_keeps_the_recorded_catalog_only_mode(client, settings, convtrack_settings, tracker):
    """The pixel-only fallback still follows the merchant's recorded mode: switched to
    catalog_only in the dashboard, a broken batch_size does not bring the pixel back."""
    tracker.set_controls(actor="merchant-anna", mode="catalog_only")
    settings.CONVTRACK = dict(convtrack_settings, batch_size=0)
    page = checkout(client)
    assert "fbq(" not in page
    client.cookies.clear()
    home = client.get("/?fbclid=abc", HTTP_USER_AGENT=UA)
    assert "fbq(" not in home.content.decode() and "_fbp" not in home.cookies


def test_an_unwritable_outbox_keeps_the_pixel(client, settings, convtrack_settings, sandbox, caplog, tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")
    settings.CONVTRACK = dict(convtrack_settings, outbox_path=str(blocker / "outbox.sqlite3"))
    page = checkout(client)
    order = Order.objects.get()
    _, event_id = pixel_purchase(page)  # built by the core without the outbox
    assert event_id == convtrack.event_id("1234567890", "Purchase", order.pk)
    assert tracking_lines(caplog) == ["convtrack: no tracking for this request (storage:outbox_path)"]
    assert str(tmp_path) not in caplog.text
    assert degraded_counts() == {"storage:outbox_path": 1}
    assert sandbox.stats()["requests"] == 0


@pytest.mark.parametrize("bad, reason, revoked", [
    ({"consent": "shop.nope.missing"}, "ImproperlyConfigured:consent", True),
    ({"trusted_proxies": -1}, "ImproperlyConfigured:trusted_proxies", False),
])
def test_a_bad_django_side_option_degrades_the_context(client, settings, convtrack_settings, tracker, caplog,
                                                      bad, reason, revoked):
    settings.CONVTRACK = dict(convtrack_settings, **bad)
    page = checkout(client)
    pixel_purchase(page)
    # A consent provider that cannot answer counts as "denied": the pixel holds back.
    assert ("fbq('consent','revoke')" in page) is revoked
    # One line for each request: the checkout POST and the thank-you page.
    assert tracking_lines(caplog) == [f"convtrack: no tracking for this request ({reason})"] * 2


def test_a_consent_provider_that_raises_counts_as_denied(client, settings, convtrack_settings, caplog):
    def broken(request):
        raise RuntimeError("the consent cookie said " + request.COOKIES.get("shop_consent", ""))

    settings.CONVTRACK = dict(convtrack_settings, consent=broken)
    page = checkout(client)
    assert "fbq('consent','revoke')" in page
    assert tracking_lines(caplog) == ["convtrack: no tracking for this request (RuntimeError:consent)"] * 2
    assert "consent cookie said" not in caplog.text
    from convtrack.django import get_tracker
    assert get_tracker().status()["counters"]["blocked"] == {"consent_denied": 1}


def test_convtrack_not_a_dict_leaves_pages_at_200(client, settings):
    settings.CONVTRACK = ["not", "a", "dict"]
    resp = client.get("/", HTTP_USER_AGENT=UA)
    assert resp.status_code == 200 and "fbq(" not in resp.content.decode()
    assert degraded_counts() == {"ImproperlyConfigured:CONVTRACK": 1}


def test_the_library_api_still_raises(settings, convtrack_settings):
    from convtrack.django import get_tracker

    settings.CONVTRACK = dict(convtrack_settings, pixel_id="12ab34")
    with pytest.raises(convtrack.SettingsError) as info:
        get_tracker()
    assert info.value.field == "pixel_id"


class ShopBug(Exception):
    """Something in the shop's own code, unrelated to tracking."""


def _raise(exc):
    def to_convtrack(self):
        raise exc
    return to_convtrack


@pytest.mark.parametrize("exc, name", [
    (KeyError("Sentinel.Person@Example.COM"), "KeyError"),
    (ValueError("bad total for Sentinel.Person@Example.COM"), "ValueError"),
    (ZeroDivisionError("division by zero"), "ZeroDivisionError"),
    (ShopBug("the coupon table is locked"), "ShopBug"),
    (Order.DoesNotExist("no such order line"), "DoesNotExist"),
])
def test_a_to_convtrack_that_raises_leaves_the_thank_you_page_at_200(client, tracker, sandbox, caplog, monkeypatch,
                                                                    exc, name):
    monkeypatch.setattr(Order, "to_convtrack", _raise(exc))
    caplog.clear()
    page = checkout(client)  # asserts HTTP 200 for the thank-you page
    assert "Thank you for order" in page
    assert "fbq('track',\"PageView\"" in page and "Purchase" not in page  # the pixel, without the order
    assert tracking_lines(caplog) == [f"convtrack: no tracking for this request ({name}:order)"]
    assert "Sentinel" not in caplog.text and "coupon" not in caplog.text  # the shop's message is not logged
    assert degraded_counts() == {f"{name}:order": 1}
    assert tracker.status()["queue"]["depth"] == 0
    tracker.flush(2.0)
    assert sandbox.stats()["requests"] == 0


def test_a_to_convtrack_that_raises_leaves_the_webhook_at_200(client, tracker, monkeypatch):
    checkout(client)
    order = Order.objects.get()
    monkeypatch.setattr(Order, "to_convtrack", _raise(ShopBug("Sentinel.Person@Example.COM")))
    resp = client.post(f"/webhooks/paid/{order.pk}/")
    assert resp.status_code == 200 and resp.content.decode().endswith(" skipped")
    assert degraded_counts() == {"ShopBug:order": 1}


@pytest.mark.parametrize("exc", [KeyboardInterrupt, SystemExit])
def test_keyboard_interrupt_and_system_exit_pass_through(client, tracker, monkeypatch, exc):
    from convtrack.django import track_order

    checkout(client)
    order = Order.objects.get()
    monkeypatch.setattr(Order, "to_convtrack", _raise(exc()))
    with pytest.raises(exc):
        client.get(f"/thanks/{order.pk}/", HTTP_USER_AGENT=UA)
    with pytest.raises(exc):
        track_order(order)
    assert degraded_counts() == {}


def test_an_order_whose_attribute_lookup_raises_degrades(client, tracker, rf):
    from convtrack.django import track_order, track_purchase

    class Lazy:
        @property
        def to_convtrack(self):
            raise ShopBug("lazy relation for Sentinel.Person@Example.COM")

    request = rf.get("/thanks/1/", HTTP_USER_AGENT=UA)
    assert track_purchase(request, Lazy())["server"] == "skipped"
    assert track_order(Lazy())["server"] == "skipped"
    assert degraded_counts() == {"ShopBug:order": 2}


def test_degraded_requests_of_every_worker_add_up_on_the_dashboard(client, convtrack_settings, tracker, monkeypatch,
                                                                   django_user_model):
    """Each gunicorn worker has its own memory but all share the outbox: a degraded request
    is counted there too, so the dashboard shows every worker's, not one worker's share."""
    from convtrack.django import conf, degrade

    monkeypatch.setattr(Order, "to_convtrack", _raise(ShopBug("Sentinel.Person@Example.COM")))
    checkout(client)  # worker A: this process's tracker
    other = convtrack.Tracker(conf.split(convtrack_settings)[0], sender="manual")  # worker B's own handle
    try:
        degrade.record("ShopBug:order", tracker=other)  # worker B's degrade path
        degrade.record("invalid_value:customer.email", tracker=other)
        shared = {"shop_bug": 2, "invalid_value": 1}
        assert tracker.status()["counters"]["degraded"] == shared
        assert other.status()["counters"]["degraded"] == shared
    finally:
        other.close()
    staff = django_user_model.objects.create_superuser("merchant-anna", password="pw")
    client.force_login(staff)
    for url in ("/convtrack/controls/", "/convtrack/status/"):
        page = client.get(url).content.decode()
        assert 'id="degraded-shared-shop_bug">2<' in page and 'id="degraded-shared-invalid_value">1<' in page
        assert 'id="degraded-shopbugorder">2<' in page  # this process's count by cause and field
        assert "Sentinel" not in page


def test_the_shared_count_skips_a_broken_outbox_and_keeps_the_local_one(client, settings, convtrack_settings,
                                                                       tmp_path, caplog):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")
    settings.CONVTRACK = dict(convtrack_settings, outbox_path=str(blocker / "outbox.sqlite3"))
    checkout(client)
    assert degraded_counts() == {"storage:outbox_path": 1}
    assert tracking_lines(caplog) == ["convtrack: no tracking for this request (storage:outbox_path)"]


def test_shared_reason_tokens():
    from convtrack.django.degrade import shared_reason

    assert shared_reason("invalid_value:customer.email") == "invalid_value"
    assert shared_reason("ImproperlyConfigured:consent") == "improperly_configured"
    assert shared_reason("DoesNotExist:order") == "does_not_exist"
    assert shared_reason("HTTP2Error:order") == "http_error"
    assert shared_reason(":x") == "other"

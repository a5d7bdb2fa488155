"""Issue 17 part 3: the middleware sets first-party _fbp/_fbc cookies with consent, and
the order tracked on that same request carries them (real requests through the test shop)."""

import re

import pytest
from django.test import Client

from shop.models import Order

from helpers import UA

pytestmark = pytest.mark.django_db

CLICK = "IwAR2F4-dbP0l7Mn1IawQQGCINEz7PYXQvwjNwB_qa2ofrHyiLjcbCRxTDMgk"
HOST = "shop.example"  # host-only cookies: subdomain index 1
ORDER = {"email": "sentinel.person@example.com", "country": "GB", "currency": "EUR", "sku": "SKU-1",
         "title": "Mug", "price": "19.95", "quantity": "1"}


def post_checkout(client, query="", consent="granted", cookies=None):
    if consent:
        client.cookies["shop_consent"] = consent
    for k, v in (cookies or {}).items():
        client.cookies[k] = v
    return client.post("/checkout/" + query, ORDER, HTTP_USER_AGENT=UA, REMOTE_ADDR="203.0.113.7", HTTP_HOST=HOST)


def thanks(client, resp):
    page = client.get(resp["Location"], HTTP_USER_AGENT=UA, REMOTE_ADDR="203.0.113.7", HTTP_HOST=HOST)
    assert page.status_code == 200


def sent_user_data(tracker, sandbox):
    assert tracker.flush(5.0)["sent"] == 1
    (event,) = sandbox.received()
    return event["user_data"]


def test_first_visit_with_fbclid_and_consent_sets_both_and_the_order_carries_them(client, tracker, sandbox):
    resp = post_checkout(client, "?fbclid=" + CLICK)
    assert resp.status_code == 302
    fbc, fbp = resp.cookies["_fbc"], resp.cookies["_fbp"]
    m = re.fullmatch(r"fb\.1\.(\d{13})\." + re.escape(CLICK), fbc.value)
    assert m, fbc.value
    assert re.fullmatch(r"fb\.1\.\d{13}\.\d+", fbp.value)
    for c in (fbc, fbp):
        assert c["max-age"] == 90 * 86400 and c["path"] == "/" and c["samesite"] == "Lax"
        assert not c["httponly"] and not c["domain"]  # host-only without CONVTRACK['cookie_domain']
    # The checkout request itself already had the values (stored with the order) ...
    assert Order.objects.get().browser["fbc"] == fbc.value
    assert Order.objects.get().browser["fbp"] == fbp.value
    thanks(client, resp)
    # ... and the tracked purchase carries them.
    ud = sent_user_data(tracker, sandbox)
    assert (ud["fbc"], ud["fbp"]) == (fbc.value, fbp.value)


def test_no_consent_sets_no_cookie(client, tracker, sandbox):
    for consent in ("denied", None):
        client.cookies.clear()
        resp = post_checkout(client, "?fbclid=" + CLICK, consent=consent)
        assert resp.status_code == 302
        assert "_fbp" not in resp.cookies and "_fbc" not in resp.cookies


def test_existing_valid_cookies_are_not_overwritten(client, tracker, sandbox):
    fbp, fbc = "fb.1.1700000000000.123456789", f"fb.1.1700000000000.{CLICK}"
    resp = post_checkout(client, "?fbclid=" + CLICK, cookies={"_fbp": fbp, "_fbc": fbc})
    assert "_fbp" not in resp.cookies and "_fbc" not in resp.cookies
    thanks(client, resp)
    ud = sent_user_data(tracker, sandbox)
    assert (ud["fbp"], ud["fbc"]) == (fbp, fbc)  # the click keeps its original time


def test_a_new_click_replaces_fbc_only(client, tracker, sandbox):
    fbp = "fb.1.1700000000000.123456789"
    resp = post_checkout(client, "?fbclid=NewClick", cookies={"_fbp": fbp, "_fbc": "fb.1.1700000000000.OldClick"})
    assert "_fbp" not in resp.cookies
    assert re.fullmatch(r"fb\.1\.\d{13}\.NewClick", resp.cookies["_fbc"].value)


@pytest.mark.parametrize("hostile", ["</script><script>alert(1)</script>", "fb.1.1." + "a" * 3000, "fb.1.x.1"])
def test_a_hostile_cookie_is_replaced(client, tracker, sandbox, hostile):
    resp = post_checkout(client, cookies={"_fbp": hostile, "_fbc": hostile})
    new = resp.cookies["_fbp"].value
    assert re.fullmatch(r"fb\.1\.\d{13}\.\d+", new)
    assert "_fbc" not in resp.cookies  # no click: nothing to replace it with
    order = Order.objects.get()
    assert order.browser["fbp"] == new and "fbc" not in order.browser


def test_cookie_domain_setting(client, settings, convtrack_settings, sandbox):
    settings.CONVTRACK = dict(convtrack_settings, cookie_domain="example")
    resp = post_checkout(client, "?fbclid=" + CLICK)
    assert resp.cookies["_fbc"]["domain"] == "example"
    assert resp.cookies["_fbc"].value.startswith("fb.0.")  # index: the dots of the cookie domain


def visit(client, query=""):
    client.cookies["shop_consent"] = "granted"
    resp = client.get("/" + query, HTTP_USER_AGENT=UA, HTTP_HOST=HOST)
    assert resp.status_code == 200
    return resp


def test_catalog_only_in_the_settings_sets_no_cookie(client, settings, convtrack_settings):
    """catalog_only: no pixel and no server event, so no Meta cookie either, consent or not."""
    settings.CONVTRACK = dict(convtrack_settings, mode="catalog_only")
    resp = visit(client, "?fbclid=" + CLICK)
    assert "fbq(" not in resp.content.decode()
    assert "_fbp" not in resp.cookies and "_fbc" not in resp.cookies


def test_catalog_only_switched_from_the_dashboard_sets_no_cookie(client, django_user_model, tracker):
    """The mode in force is the merchant's recorded one: switched in the dashboard, it stops
    the cookies at once; switched back, they are set again."""
    assert "_fbp" in visit(client).cookies  # pixel_and_server (the settings): set
    staff = Client()
    staff.force_login(django_user_model.objects.create_superuser("merchant-anna", password="pw"))

    def switch(mode):
        resp = staff.post("/convtrack/controls/", {"action": "controls", "data_controls": "on", "mode": mode,
                                                    "legal_ack": "on"})
        assert resp.status_code == 302 and tracker.controls()["mode"] == mode

    switch("catalog_only")
    client.cookies.clear()
    resp = visit(client, "?fbclid=" + CLICK)
    assert "_fbp" not in resp.cookies and "_fbc" not in resp.cookies
    switch("pixel_and_server")
    client.cookies.clear()
    resp = visit(client, "?fbclid=" + CLICK)
    assert "_fbp" in resp.cookies and "_fbc" in resp.cookies


def test_catalog_only_from_another_process_sets_no_cookie(client, convtrack_settings, tracker):
    """A switch made through another tracker handle on the same outbox (another worker,
    the CLI) counts too."""
    import convtrack
    from convtrack.django import conf

    with convtrack.Tracker(conf.split(convtrack_settings)[0]) as other:
        other.set_controls(actor="ops", mode="catalog_only")
    resp = visit(client)
    assert "_fbp" not in resp.cookies

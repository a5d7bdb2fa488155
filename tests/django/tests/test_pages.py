"""The template tag on pages without events, CSP nonces, the webhook, the status page and admin link."""

import re
import subprocess
import sys

import pytest

from shop.models import Order

from helpers import UA, checkout, pixel_purchase

pytestmark = pytest.mark.django_db


def test_page_without_event_renders_a_page_view_following_consent(client, tracker):
    client.cookies["shop_consent"] = "granted"
    page = client.get("/", HTTP_USER_AGENT=UA).content.decode()
    assert "fbq('init',\"1234567890\")" in page and "fbq('track',\"PageView\",{},{\"eventID\":" in page
    assert "fbq('consent','revoke')" not in page and "<noscript>" in page
    assert len(re.findall(r"fbq\('track',\s*['\"]PageView['\"]", page)) == 1  # one page view, not two
    client.cookies["shop_consent"] = "denied"
    page = client.get("/", HTTP_USER_AGENT=UA).content.decode()
    assert "fbq('consent','revoke')" in page and "<noscript>" not in page
    assert len(re.findall(r"fbq\('track',\s*['\"]PageView['\"]", page)) == 1
    # Pages never enqueue anything.
    assert tracker.status()["queue"]["depth"] == 0


def test_csp_nonce_from_request_and_from_the_tag_argument(rf, tracker, sandbox):
    from django.template import Context, Template

    from convtrack.django import track_purchase
    from convtrack.django.context import capture

    order = {"order_id": "n-1", "currency": "EUR", "value": "5.00",
             "consent": {"marketing": "granted"}}
    req = rf.get("/thanks/", HTTP_USER_AGENT=UA)
    req.convtrack = capture(req)
    req.csp_nonce = "cmVxdWVzdG5vbmNl"  # as django-csp sets it
    result = track_purchase(req, order)
    html = Template("{% load convtrack %}{% convtrack_pixel %}").render(Context({"request": req}))
    assert '<script nonce="cmVxdWVzdG5vbmNl">' in html
    assert pixel_purchase(html)[1] == result["event_id"]
    html = Template("{% load convtrack %}{% convtrack_pixel nonce=n %}").render(
        Context({"request": req, "n": "dGFnbm9uY2U="}))
    assert '<script nonce="dGFnbm9uY2U=">' in html and pixel_purchase(html)[1] == result["event_id"]
    # A nonce that is not base64 is never put into the attribute.
    html = Template("{% load convtrack %}{% convtrack_pixel nonce=n %}").render(
        Context({"request": req, "n": '"><script>alert(1)</script>'}))
    assert "alert(1)" not in html and html.count("<script") == 1 and "nonce=" not in html


def test_webhook_and_thank_you_page_make_one_event(client, tracker, sandbox):
    client.cookies["shop_consent"] = "granted"
    client.cookies["_fbp"] = "fb.1.1732780000000.42"
    resp = client.post("/checkout/", {"email": "a@example.com", "sku": "S", "title": "T", "price": "10.00",
                                      "quantity": "1", "country": "GB"},
                       HTTP_USER_AGENT=UA, REMOTE_ADDR="203.0.113.9")
    order = Order.objects.get()
    # The payment provider calls first, outside the shopper's request.
    hook = client.post(f"/webhooks/paid/{order.pk}/")
    event_id, server = hook.content.decode().split()
    assert server == "queued"
    page = client.get(resp["Location"], HTTP_USER_AGENT=UA).content.decode()
    assert pixel_purchase(page)[1] == event_id
    tracker.flush(5.0)
    (ev,) = sandbox.received()
    assert ev["event_id"] == event_id
    assert ev["user_data"]["client_ip_address"] == "203.0.113.9" and ev["user_data"]["client_user_agent"] == UA
    assert ev["user_data"]["fbp"] == "fb.1.1732780000000.42"
    assert tracker.status()["counters"]["duplicate"] == 1


def test_track_order_needs_no_request(tracker, sandbox):
    from convtrack.django import track_order

    result = track_order({"order_id": 77, "currency": "GBP", "value": 12,
                          "event_source_url": "https://shop.example/checkout/"},
                         browser={"user_agent": UA, "ip": "203.0.113.1"}, consent="granted")
    assert result["server"] == "queued"
    tracker.flush(5.0)
    assert [e["event_id"] for e in sandbox.received()] == [result["event_id"]]


def test_bad_order_degrades_in_track_order_and_raises_in_the_library(rf, tracker, caplog):
    import convtrack
    from convtrack.django import degraded_counts, track_order

    bad = {"event_name": "Purchase", "order_id": 1, "currency": "EUR", "value": float("nan")}
    with pytest.raises(convtrack.InvalidValueError) as info:
        tracker.track(bad)
    assert info.value.field == "value"
    result = track_order(bad)  # a webhook answers normally; the log and the counter say why
    assert result == {"event_id": None, "pixel_html": "", "server": "skipped", "reason": "invalid_value:value"}
    assert degraded_counts() == {"invalid_value:value": 1}
    assert "no tracking for this request (invalid_value:value)" in caplog.text and "nan" not in caplog.text


def test_status_page_is_staff_only(client, django_user_model, tracker):
    resp = client.get("/convtrack/status/")
    assert resp.status_code == 302 and "/admin/login/" in resp["Location"]
    user = django_user_model.objects.create_user("shopper", password="pw")
    client.force_login(user)
    resp = client.get("/convtrack/status/")
    assert resp.status_code == 302 and "/admin/login/" in resp["Location"]


def test_status_page_shows_the_dashboard(admin_client, client, tracker, sandbox):
    checkout(client)
    checkout(client, consent="denied")
    tracker.flush(5.0)
    page = admin_client.get("/convtrack/status/").content.decode()
    assert re.search(r'id="pixel-id">1234567890<', page)
    assert "Test shop catalog (555000111)" in page
    assert 'id="mode">pixel_and_server<' in page
    assert 'id="data-controls">on' in page
    assert 'id="counter-sent">1<' in page and 'id="blocked-consent_denied">1<' in page
    assert 'id="queue-depth">0<' in page
    # fbp: the middleware set _fbp on the consenting checkout (first-party cookies), so it is sent.
    assert 'id="coverage-em">100.0 %<' in page and 'id="coverage-fbp">100.0 %<' in page
    assert 'id="last-error">none<' in page
    assert "sandbox-token" not in page


def test_status_page_shows_last_error_without_the_token(admin_client, client, settings, convtrack_settings,
                                                       sandbox):
    settings.CONVTRACK = dict(convtrack_settings, access_token="wrong-token-sentinel")
    from convtrack.django import get_tracker
    checkout(client)
    get_tracker().flush(2.0)
    page = admin_client.get("/convtrack/status/").content.decode()
    assert 'id="last-error">none<' not in page and "paused" in page
    assert "190" in page  # Meta's "invalid OAuth access token" code, as the sandbox answers
    assert "wrong-token-sentinel" not in page and "Sentinel" not in page


def test_admin_index_links_to_the_status_page(admin_client):
    page = admin_client.get("/admin/").content.decode()
    assert 'id="convtrack-admin-link"' in page and 'href="/convtrack/status/"' in page
    assert "Site administration" in page  # Django's own index is still there


def test_importing_convtrack_does_not_import_django():
    code = "import sys, convtrack; convtrack.Tracker(pixel_id='1'); print('django' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_two_events_on_one_page_share_one_base_code(rf, tracker):
    from django.template import Context, Template

    from convtrack.django import track_purchase
    from convtrack.django.context import capture

    req = rf.get("/thanks/", HTTP_USER_AGENT=UA)
    req.convtrack = capture(req)
    a = track_purchase(req, {"order_id": "m-1", "currency": "EUR", "value": "5.00", "consent": {"marketing": "granted"}})
    b = track_purchase(req, {"event_name": "Subscribe", "order_id": "m-2", "currency": "EUR", "value": "3.00",
                             "consent": {"marketing": "granted"}})
    html = Template("{% load convtrack %}{% convtrack_pixel %}").render(Context({"request": req}))
    assert html.count("<script") == 1 and html.count("fbq('init'") == 1
    assert len(re.findall(r"fbq\('track',\s*['\"]PageView['\"]", html)) == 1
    assert pixel_purchase(html)[1] == a["event_id"]
    assert '"Subscribe"' in html and '{"eventID":"%s"}' % b["event_id"] in html


def test_admin_index_works_without_the_convtrack_urls(admin_client, settings):
    settings.ROOT_URLCONF = "shopsite.urls_without_convtrack"
    resp = admin_client.get("/admin/")
    assert resp.status_code == 200 and "convtrack-admin-link" not in resp.content.decode()

"""The controls dashboard (URL name convtrack:controls), driven as a browser would drive it:
Django's test Client, real sessions and CSRF, the real outbox and the loopback sandbox."""

import re

import pytest
from django.contrib.auth.models import Permission
from django.test import Client
from django.urls import reverse

from helpers import UA, checkout

pytestmark = pytest.mark.django_db

URL = "/convtrack/controls/"


@pytest.fixture
def off(settings, convtrack_settings):
    """The shop starts with data controls off (the default), as a new merchant does."""
    settings.CONVTRACK = dict(convtrack_settings, data_controls=False)
    from convtrack.django import get_tracker
    return get_tracker()


@pytest.fixture
def merchant(django_user_model):
    return django_user_model.objects.create_superuser("merchant-anna", password="pw")


def post(client, **data):
    return client.post(URL, data)


def test_url_name():
    assert reverse("convtrack:controls") == URL


def test_anonymous_is_sent_to_the_login(client, off):
    for resp in (client.get(URL), client.post(URL, {"action": "flush"})):
        assert resp.status_code == 302 and "/admin/login/" in resp["Location"]


def test_non_staff_is_sent_to_the_login(client, django_user_model, off):
    client.force_login(django_user_model.objects.create_user("shopper", password="pw"))
    resp = client.post(URL, {"action": "controls", "data_controls": "on", "mode": "pixel_and_server",
                             "legal_ack": "on"})
    assert resp.status_code == 302 and "/admin/login/" in resp["Location"]
    assert off.controls()["data_controls"] is False


def test_staff_without_the_permission_sees_but_cannot_change(client, django_user_model, off):
    staff = django_user_model.objects.create_user("clerk", password="pw", is_staff=True)
    client.force_login(staff)
    page = client.get(URL).content.decode()
    assert 'id="no-permission"' in page and "Data controls: OFF" in page
    resp = post(client, action="controls", data_controls="on", mode="pixel_and_server", legal_ack="on")
    assert resp.status_code == 403 and off.controls()["data_controls"] is False
    # The permission is a normal Django permission: granted, the same user may change.
    staff.user_permissions.add(Permission.objects.get(codename="change_controls", content_type__app_label="convtrack"))
    client.force_login(django_user_model.objects.get(pk=staff.pk))
    resp = post(client, action="controls", data_controls="on", mode="pixel_and_server", legal_ack="on")
    assert resp.status_code == 302 and off.controls()["data_controls"] is True
    assert off.controls()["changed_by"] == "clerk"


def test_post_without_csrf_token_is_refused(merchant, off):
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(merchant)
    resp = browser.post(URL, {"action": "controls", "data_controls": "on", "mode": "pixel_and_server",
                              "legal_ack": "on"})
    assert resp.status_code == 403
    assert off.controls()["data_controls"] is False
    # With the token from the page's form (as a browser sends it) the same POST works.
    page = browser.get(URL).content.decode()
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)
    resp = browser.post(URL, {"csrfmiddlewaretoken": token, "action": "controls", "data_controls": "on",
                              "mode": "pixel_and_server", "legal_ack": "on"})
    assert resp.status_code == 302 and off.controls()["data_controls"] is True


def test_the_page_explains_the_state_and_shows_no_secret(client, merchant, off):
    client.force_login(merchant)
    resp = client.get(URL)
    assert resp.status_code == 200
    page = resp.content.decode()
    assert "Data controls: OFF — only the browser pixel runs; no receipt data leaves your server." in page
    assert 'id="pixel-id">1234567890<' in page and "Test shop catalog" in page and 'id="catalog-id">555000111<' in page
    assert "might require a legal review" in page and "hashed" in page
    assert 'id="token">configured (not shown)' in page
    assert "sandbox-token" not in page
    assert "not Meta: a test receiver" in page  # the endpoint is the loopback sandbox


def test_turning_on_without_the_acknowledgement_is_a_form_error(client, merchant, off):
    client.force_login(merchant)
    resp = post(client, action="controls", data_controls="on", mode="pixel_and_server")
    assert resp.status_code == 200
    page = resp.content.decode()
    assert 'id="legal-ack-error"' in page and "confirm the legal review" in page
    controls = off.controls()
    assert controls["data_controls"] is False and controls["history"] == []


def test_turning_on_records_the_actor_and_then_a_checkout_is_queued(client, merchant, off, sandbox):
    admin = Client()
    admin.force_login(merchant)
    resp = post(admin, action="controls", data_controls="on", mode="pixel_and_server", legal_ack="on")
    assert resp.status_code == 302 and resp["Location"] == URL
    page = admin.get(URL).content.decode()
    assert "Data controls are now ON" in page  # the message after the redirect
    assert "Data controls: ON" in page
    (entry,) = off.controls()["history"]
    assert entry["actor"] == "merchant-anna" and entry["data_controls"] is True and entry["legal_ack"] is True
    assert re.search(r'class="actor">merchant-anna<.*?data controls ON.*?class="ack">yes<', page, re.S)
    # The shop's own checkout, in another browser: now queued for the server.
    checkout(client)
    assert client.get("/", HTTP_USER_AGENT=UA).status_code == 200
    from shop.models import Order
    resp = client.get(f"/thanks/{Order.objects.get().pk}/", HTTP_USER_AGENT=UA)
    assert resp.context["tracking"]["server"] == "duplicate"  # the first visit queued it
    assert off.status()["queue"]["depth"] == 1


def test_turning_off_discards_the_queue_and_flush_sends_nothing(client, merchant, tracker, sandbox):
    checkout(client)  # the project's settings have data controls on: queued
    assert tracker.status()["queue"]["depth"] == 1
    admin = Client()
    admin.force_login(merchant)
    resp = post(admin, action="controls", data_controls="off", mode="pixel_and_server")
    assert resp.status_code == 302
    page = admin.get(URL).content.decode()
    assert "1 queued server event discarded" in page and "Data controls: OFF" in page
    assert tracker.status()["queue"]["depth"] == 0
    assert post(admin, action="flush").status_code == 302
    assert "Sent 0 events to Meta" in admin.get(URL).content.decode()
    assert sandbox.received() == [] and sandbox.stats()["requests"] == 0


def test_flush_button_sends_the_queue(client, merchant, tracker, sandbox):
    checkout(client)
    admin = Client()
    admin.force_login(merchant)
    assert post(admin, action="flush").status_code == 302
    assert "Sent 1 event to Meta; 0 failed; 0 still queued." in admin.get(URL).content.decode()
    assert len(sandbox.received()) == 1


def test_resume_after_a_token_fix(client, merchant, tracker, sandbox):
    checkout(client)
    sandbox.inject("graph_error", code=190, status=400, message="Invalid OAuth access token")
    tracker.flush(2.0)
    assert tracker.status()["paused"] and tracker.status()["queue"]["depth"] == 1
    admin = Client()
    admin.force_login(merchant)
    page = admin.get(URL).content.decode()
    assert 'id="paused"><strong>paused' in page and "sandbox-token" not in page
    # The token works again at Meta (here: the sandbox stops refusing it); the merchant resumes.
    assert post(admin, action="resume").status_code == 302
    page = admin.get(URL).content.decode()
    assert "Delivery resumed" in page and 'id="paused">running<' in page
    assert not tracker.status()["paused"]
    assert tracker.flush(5.0)["sent"] == 1 and len(sandbox.received()) == 1


def _dead_letters(client, tracker, sandbox, n, prefix="dl"):
    for i in range(n):
        sandbox.inject("graph_error", code=100, status=400, message="Invalid parameter")
    ids = []
    for i in range(n):
        from convtrack.django import track_order
        r = track_order({"order_id": f"{prefix}-{i}", "currency": "EUR", "value": "1.00",
                         "event_source_url": "https://shop.example/t"},
                        browser={"user_agent": UA}, consent="granted")
        assert r["server"] == "queued"
        ids.append(r["event_id"])
        tracker.flush(5.0)
    dead = [d for d in tracker.dead_letters() if d["event_id"] in ids]
    assert len(dead) == n
    return dead


def test_dead_letters_retry_and_discard_per_row_and_all(client, merchant, tracker, sandbox):
    dead = _dead_letters(client, tracker, sandbox, 3)
    admin = Client()
    admin.force_login(merchant)
    page = admin.get(URL).content.decode()
    for d in dead:
        assert f'id="dead-{d["id"]}"' in page and d["event_id"] in page
    # Retry one row: back in the queue, and the sandbox now accepts it.
    assert post(admin, action="retry", id=str(dead[0]["id"])).status_code == 302
    assert "1 failed event put back in the queue" in admin.get(URL).content.decode()
    assert tracker.flush(5.0)["sent"] == 1 and [e["event_id"] for e in sandbox.received()] == [dead[0]["event_id"]]
    # Delete one row.
    assert post(admin, action="discard", id=str(dead[1]["id"])).status_code == 302
    assert "1 failed event deleted" in admin.get(URL).content.decode()
    assert [d["id"] for d in tracker.dead_letters()] == [dead[2]["id"]]
    # All of them.
    more = _dead_letters(client, tracker, sandbox, 1, prefix="more")
    assert len(tracker.dead_letters()) == 2 and more
    assert post(admin, action="discard", all="1").status_code == 302
    assert "2 failed events deleted" in admin.get(URL).content.decode()
    assert tracker.dead_letters() == []
    assert 'id="dead-letters-none"' in admin.get(URL).content.decode()


def test_retry_all(client, merchant, tracker, sandbox):
    _dead_letters(client, tracker, sandbox, 2)
    admin = Client()
    admin.force_login(merchant)
    assert post(admin, action="retry", all="1").status_code == 302
    assert "2 failed events put back" in admin.get(URL).content.decode()
    assert tracker.flush(5.0)["sent"] == 2


def test_nothing_chosen_is_said(client, merchant, tracker):
    admin = Client()
    admin.force_login(merchant)
    post(admin, action="retry")
    assert "Choose a failed event, or all of them." in admin.get(URL).content.decode()


def test_unknown_action_is_a_bad_request(client, merchant, tracker):
    client.force_login(merchant)
    assert post(client, action="drop_tables").status_code == 400


def test_a_bad_pixel_id_is_shown_and_pages_still_render(client, merchant, settings, convtrack_settings):
    settings.CONVTRACK = dict(convtrack_settings, pixel_id="12ab34")
    assert checkout(client)  # the thank-you page is HTTP 200 (checked inside)
    admin = Client()
    admin.force_login(merchant)
    page = admin.get(URL).content.decode()
    assert 'id="setup-problems"' in page and "convtrack.E001" in page and "pixel_id" in page
    assert "12ab34" not in page
    assert 'id="degraded-invalid_settingpixel_id">1<' in page
    status = admin.get("/convtrack/status/")
    assert status.status_code == 200 and "convtrack.E001" in status.content.decode()
    assert post(admin, action="flush").status_code == 302
    assert "Nothing was done: tracking is not set up" in admin.get(URL).content.decode()


def test_test_event_and_health_check_buttons(client, merchant, tracker, sandbox):
    admin = Client()
    admin.force_login(merchant)
    assert post(admin, action="check").status_code == 302
    page = admin.get(URL).content.decode()
    assert "Token and pixel OK" in page and "1234567890" in page
    assert post(admin, action="test_event", test_event_code="TEST123").status_code == 302
    page = admin.get(URL).content.decode()
    assert "Test event sent with code TEST123" in page
    assert "sandbox-token" not in page


def test_admin_index_links_to_the_dashboard(admin_client):
    page = admin_client.get("/admin/").content.decode()
    assert 'id="convtrack-controls-link"' in page and f'href="{URL}"' in page


def test_the_pixel_still_renders_after_a_switch_off_from_the_dashboard(client, merchant, tracker, sandbox):
    """Data controls off means no server copy; the browser pixel keeps running."""
    import convtrack

    from helpers import pixel_purchase

    admin = Client()
    admin.force_login(merchant)
    assert post(admin, action="controls", data_controls="off", mode="pixel_and_server").status_code == 302
    assert tracker.controls()["data_controls"] is False
    home = client.get("/", HTTP_USER_AGENT=UA).content.decode()
    assert "fbq('init',\"1234567890\")" in home and "fbq('track',\"PageView\"" in home
    page = checkout(client)
    params, event_id = pixel_purchase(page)
    from shop.models import Order
    assert event_id == convtrack.event_id("1234567890", "Purchase", Order.objects.get().pk) and params["value"] == 39.9
    assert tracker.status()["counters"]["blocked"] == {"data_controls_off": 1}
    assert tracker.flush(2.0).get("sent", 0) == 0 and sandbox.stats()["requests"] == 0

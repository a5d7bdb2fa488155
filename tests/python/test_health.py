"""Tracker.check_online() and Tracker.send_test_event() against the real sandbox on loopback."""

import http.server
import socket
import threading

import pytest

import convtrack
from convtrack.sandbox import Sandbox

TOKEN = "health-token-Zq81"
PIXEL = "1234567890"


@pytest.fixture
def sb():
    with Sandbox(token=TOKEN, pixels=[PIXEL]) as s:
        yield s


def tracker(endpoint, **extra):
    settings = {"pixel_id": PIXEL, "access_token": TOKEN, "endpoint": endpoint, "request_timeout_ms": 3000,
                "api_version": "v25.0", **extra}
    return convtrack.Tracker(settings)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_good_token_and_pixel(sb):
    r = tracker(sb.url).check_online()
    assert r == {"ok": True, "status": 200, "pixel": {"id": PIXEL, "name": f"Sandbox pixel {PIXEL}"}, "error": None}
    req = sb.requests()[-1]
    assert req["path"] == f"/v25.0/{PIXEL}" and req["auth"] == "header"  # the token in the header, not the URL


def test_bad_token(sb):
    r = tracker(sb.url, access_token="not-the-token").check_online()
    assert r == {"ok": False, "status": 400, "pixel": None, "error": "the access token is invalid or expired"}


def test_unknown_pixel(sb):
    r = tracker(sb.url, pixel_id="999").check_online()
    assert r == {"ok": False, "status": 400, "pixel": None, "error": "the pixel id is unknown or this token cannot see it"}


def test_endpoint_down():
    r = tracker(f"http://127.0.0.1:{free_port()}").check_online()
    assert r["ok"] is False and r["status"] is None and r["pixel"] is None
    assert r["error"].startswith("cannot reach Meta")


def test_works_with_an_outbox_too(sb, tmp_path):
    t = tracker(sb.url, outbox_path=str(tmp_path / "o.db"), sender="manual")
    try:
        assert t.check_online()["ok"] is True
    finally:
        t.close()


class _Redirect(http.server.BaseHTTPRequestHandler):
    def do_GET(self):  # noqa: N802
        self.send_response(302)
        self.send_header("Location", "http://127.0.0.1:1/")
        self.send_header("Content-Length", "0")
        self.end_headers()

    do_POST = do_GET

    def log_message(self, *args):
        pass


@pytest.fixture
def redirector():
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Redirect)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_a_redirect_is_a_failure_and_not_followed(redirector):
    r = tracker(redirector).check_online()
    assert r["ok"] is False and r["status"] == 302 and "redirect" in r["error"]
    t = tracker(redirector).send_test_event("TEST1")
    assert t["ok"] is False and t["status"] == 302


def test_no_token_is_not_configured(sb):
    t = convtrack.Tracker({"pixel_id": PIXEL, "endpoint": sb.url})
    with pytest.raises(convtrack.NotConfiguredError) as e:
        t.check_online()
    assert e.value.field == "access_token"
    with pytest.raises(convtrack.NotConfiguredError) as e:
        t.send_test_event("TEST1")
    assert e.value.field == "access_token"


def test_token_never_in_answers_or_errors(sb):
    for t in (tracker(sb.url), tracker(sb.url, access_token="secret-but-wrong-9931")):
        for r in (t.check_online(), t.send_test_event("TEST1")):
            assert TOKEN not in repr(r) and "secret-but-wrong-9931" not in repr(r)


# --- the test event ---------------------------------------------------------------------------


def test_test_event_with_a_code_carries_no_customer_data(sb):
    r = tracker(sb.url).send_test_event("TEST4242")
    assert r["ok"] is True and r["status"] == 200 and r["error"] is None
    assert r["test_event_code"] == "TEST4242" and r["event_id"].startswith("test-")
    req = sb.requests()[-1]
    assert req["path"] == f"/v25.0/{PIXEL}/events" and req["test_event_code"] == "TEST4242" and req["events"] == 1
    (event,) = sb.received()
    assert event["event_name"] == "PageView" and event["event_id"] == r["event_id"]
    assert event["action_source"] == "website" and event["event_source_url"] == "https://convtrack.invalid/test"
    assert event["user_data"] == {"client_user_agent": "convtrack test event"}  # no customer data at all
    assert "custom_data" not in event


def test_test_event_uses_the_setting_and_the_shop_url(sb):
    t = tracker(sb.url, test_event_code="FROMSETTINGS", shop_url="https://shop.example/")
    r = t.send_test_event()
    assert r["ok"] is True and r["test_event_code"] == "FROMSETTINGS"
    assert sb.requests()[-1]["test_event_code"] == "FROMSETTINGS"
    assert sb.received()[-1]["event_source_url"] == "https://shop.example/"
    assert t.send_test_event("OVERRIDE")["test_event_code"] == "OVERRIDE"


def test_test_event_with_data_controls_off_is_sent_and_queues_nothing(sb, tmp_path):
    t = tracker(sb.url, outbox_path=str(tmp_path / "o.db"), sender="manual")  # data_controls off (default)
    try:
        assert t.send_test_event("TEST1")["ok"] is True
        assert t.status()["queue"]["depth"] == 0
    finally:
        t.close()
    assert len(sb.received()) == 1


def test_test_event_without_code_is_not_configured(sb):
    with pytest.raises(convtrack.NotConfiguredError) as e:
        tracker(sb.url).send_test_event()
    assert e.value.field == "test_event_code"


def test_test_event_code_is_validated(sb):
    with pytest.raises(convtrack.InvalidValueError) as e:
        tracker(sb.url).send_test_event("not a code!")
    assert e.value.field == "test_event_code"
    assert sb.requests() == []


def test_test_event_failures_are_answers(sb):
    r = tracker(sb.url, access_token="wrong").send_test_event("TEST1")
    assert r["ok"] is False and r["status"] == 401 and r["error"] == "the access token is invalid or expired"
    sb.inject("status", status=503)
    r = tracker(sb.url).send_test_event("TEST1")
    assert r["ok"] is False and r["status"] == 503
    r = tracker(f"http://127.0.0.1:{free_port()}").send_test_event("TEST1")
    assert r["ok"] is False and r["status"] is None and r["error"].startswith("cannot reach Meta")

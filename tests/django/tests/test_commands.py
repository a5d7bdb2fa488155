"""manage.py check, convtrack_status and convtrack_flush, run as a shop would run them."""

import json
import linecache
import os
import pathlib
import subprocess
import sys
import time

import pytest
from django.core.management import call_command

from helpers import checkout

PROJECT = pathlib.Path(__file__).resolve().parents[1]
SECRET = "EAAB-secret-token-sentinel"


def manage(*args, convtrack=None, cwd=PROJECT):
    env = dict(os.environ)
    env.pop("SHOP_CONVTRACK", None)
    if convtrack is not None:
        env["SHOP_CONVTRACK"] = json.dumps(convtrack)
    return subprocess.run([sys.executable, "manage.py", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=120)


def test_check_passes_for_a_good_config(tmp_path):
    out = manage("check", convtrack={"pixel_id": "1234567890", "access_token": SECRET, "data_controls": True,
                                     "outbox_path": str(tmp_path / "o.sqlite3"), "trusted_proxies": 1,
                                     "consent": "shop.consent.from_cookie"})
    assert out.returncode == 0, out.stderr
    assert "no issues" in out.stdout


@pytest.mark.parametrize("config, check_id, field", [
    ({"pixel_id": "12ab34", "access_token": SECRET}, "convtrack.E001", "pixel_id"),
    ({"access_token": SECRET}, "convtrack.E001", "pixel_id"),
    ({"pixel_id": "123", "data_controls": True}, "convtrack.E002", "access_token"),
    ({"pixel_id": "123", "access_token": SECRET, "outbox_path": "/etc/hostname/convtrack.sqlite3"},
     "convtrack.E003", "outbox_path"),
    ({"pixel_id": "123", "access_token": SECRET, "outbox_path": "/proc/no/such/dir/o.sqlite3"},
     "convtrack.E003", "outbox_path"),
    ({"pixel_id": "123", "access_token": SECRET, "mode": "everything"}, "convtrack.E004", "mode"),
    ({"pixel_id": "123", "access_token": SECRET, "endpoint": "ftp://x"}, "convtrack.E004", "endpoint"),
    ({"pixel_id": "123", "access_token": SECRET, "default_country": "Narnia"}, "convtrack.E004", "default_country"),
    ({"pixel_id": "123", "access_token": SECRET, "unknown_consent": "maybe"}, "convtrack.E004", "unknown_consent"),
    ({"pixel_id": "123", "access_token": SECRET, "pixle_id": "1"}, "convtrack.E004", "pixle_id"),
    ({"pixel_id": "123", "access_token": SECRET, "batch_size": 0}, "convtrack.E004", "batch_size"),
    ({"pixel_id": "123", "access_token": SECRET, "trusted_proxies": -1}, "convtrack.E005", "trusted_proxies"),
    ({"pixel_id": "123", "access_token": SECRET, "consent": "shop.nope.missing"}, "convtrack.E005", "consent"),
    ({"pixel_id": "123", "access_token": SECRET, "warm_up": "yes"}, "convtrack.E005", "warm_up"),
    ([1, 2], "convtrack.E005", "CONVTRACK"),
])
def test_check_reports_each_bad_setting(config, check_id, field):
    out = manage("check", convtrack=config)
    assert out.returncode == 1, out.stdout + out.stderr
    lines = [ln for ln in out.stderr.splitlines() if check_id in ln]
    assert lines and field in lines[0], out.stderr
    assert SECRET not in out.stdout + out.stderr
    if field != "outbox_path":
        assert "12ab34" not in out.stderr and "Narnia" not in out.stderr  # values are not echoed


def test_check_warns_when_admin_comes_first_or_middleware_is_missing(settings):
    from convtrack.django.checks import check_convtrack

    assert [m.id for m in check_convtrack()] == []
    settings.INSTALLED_APPS = ["django.contrib.admin", "convtrack.django"]
    settings.MIDDLEWARE = []
    assert [m.id for m in check_convtrack()] == ["convtrack.W001", "convtrack.W002"]


@pytest.mark.django_db
def test_status_and_flush_commands(client, tracker, sandbox, capsys):
    checkout(client)
    call_command("convtrack_status", "--json")
    st = json.loads(capsys.readouterr().out)
    assert st["queue"]["depth"] == 1 and st["pixel_id"] == "1234567890" and st["catalog_name"] == "Test shop catalog"
    assert "sandbox-token" not in json.dumps(st)
    call_command("convtrack_flush", "--json", "--timeout", "5")
    report = json.loads(capsys.readouterr().out)
    assert report["sent"] == 1 and len(sandbox.received()) == 1
    call_command("convtrack_status")
    text = capsys.readouterr().out
    assert "pixel id:       1234567890" in text and "data controls:  on" in text and "sent 1" in text


def test_commands_as_a_subprocess(tmp_path):
    config = {"pixel_id": "1234567890", "outbox_path": str(tmp_path / "o.sqlite3"), "catalog_name": "Cat"}
    out = manage("convtrack_status", "--json", convtrack=config)
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["data_controls"] is False
    out = manage("convtrack_flush", "--timeout", "0", convtrack=config)
    assert out.returncode != 0 and "--timeout" in out.stderr



def _queue_one(config):
    import convtrack

    with convtrack.Tracker({k: v for k, v in config.items() if k != "consent"}, sender="manual") as t:
        assert t.track({"event_name": "Purchase", "order_id": 1, "currency": "EUR", "value": "9.90",
                        "event_source_url": "https://shop.example/thanks/1/",
                        "browser": {"user_agent": "Mozilla/5.0", "ip": "203.0.113.7"},
                        "customer": {"email": "a@example.com"},
                        "consent": {"marketing": "granted"}})["server"] == "queued"


def _still_queued(outbox):
    import convtrack

    with convtrack.Tracker(pixel_id="1234567890", outbox_path=outbox, sender="manual") as t:
        st = t.status()
    return st["queue"]["depth"] == 1 and st["counters"]["sent"] == 0 and st["counters"]["requests"] == 0


def _close_slowly(frame, event, arg):
    """A trace function: waits 0.3 s before each line of convtrack/django/checks.py that
    closes a tracker. A sender thread the check started would otherwise usually be stopped
    before its first flush; the wait makes it flush every time, so the test cannot pass by luck."""
    if not frame.f_code.co_filename.endswith(os.path.join("convtrack", "django", "checks.py")):
        return None
    if event == "line" and ".close()" in linecache.getline(frame.f_code.co_filename, frame.f_lineno):
        time.sleep(0.3)
    return _close_slowly


def test_check_sends_nothing_while_events_are_queued(tmp_path, sandbox, settings):
    """``manage.py check`` (which runserver and migrate run too) validates the settings; it
    must not deliver the shop's queued events, whatever the project's sender is: here the
    default, a background thread that flushes as soon as it starts."""
    from convtrack.django.checks import check_convtrack

    outbox = str(tmp_path / "o.sqlite3")
    settings.CONVTRACK = {"pixel_id": "1234567890", "access_token": "sandbox-token", "data_controls": True,
                          "endpoint": sandbox.url, "outbox_path": outbox, "consent": "shop.consent.from_cookie"}
    _queue_one(settings.CONVTRACK)
    sys.settrace(_close_slowly)
    try:
        messages = check_convtrack()
    finally:
        sys.settrace(None)
    assert messages == []
    assert sandbox.stats()["requests"] == 0, "manage.py check delivered queued events"
    assert _still_queued(outbox)
    # And as the shop runs it, in its own process.
    out = manage("check", convtrack=settings.CONVTRACK)
    assert out.returncode == 0 and "no issues" in out.stdout, out.stderr
    assert sandbox.stats()["requests"] == 0
    assert _still_queued(outbox)


@pytest.mark.parametrize("config, field", [
    ({"sender": "threads"}, "sender"),
    ({"sender": "thread", "flush_interval_ms": 0}, "flush_interval_ms"),
])
def test_check_still_validates_the_sender_settings(tmp_path, config, field):
    from convtrack.django.checks import check_convtrack

    base = {"pixel_id": "123", "access_token": SECRET, "outbox_path": str(tmp_path / "o.sqlite3")}
    from django.test import override_settings

    with override_settings(CONVTRACK=dict(base, **config)):
        messages = check_convtrack()
    assert [m.id for m in messages] == ["convtrack.E004"] and field in messages[0].msg

"""The README's demo command and the status/flush commands, run as a user runs them."""

import json
import subprocess
import sys

from convtrack.sandbox import Sandbox


def run(*args):
    return subprocess.run([sys.executable, "-m", "convtrack", *args], capture_output=True, text=True, timeout=120)


def test_demo_tracks_delivers_and_reports():
    proc = run("demo")
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    assert "blocked (data_controls_off)" in out
    assert "blocked (consent_denied)" in out
    assert "fbq('consent','revoke')" in out
    assert "fbq('dataProcessingOptions',['LDU'],0,0)" in out
    assert "server   : queued" in out
    assert "server = duplicate" in out
    assert "received: 2  unique: 2  duplicates: 0  rejected events: 0  deduplicated with the pixel copy: 2" in out
    # The hostile title is rendered as data, never as markup; no raw PII or token is printed.
    assert "<script>alert(1)" not in out
    assert "Jane.Doe@Example.COM" not in out and "jane.doe@example.com" not in out
    assert "demo-token-not-a-secret" not in out
    assert "InvalidValueError [invalid_value] field=value" in out


def test_demo_json():
    proc = run("demo", "--json")
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)
    assert [r["result"]["server"] for r in doc["results"]] == ["queued", "blocked", "queued", "blocked"]
    assert doc["duplicate_track"] == "duplicate"
    assert doc["flush"]["sent"] == 2 and doc["sandbox"]["received"] == 2
    assert doc["status"]["counters"]["blocked"] == {"consent_denied": 1, "consent_unknown": 1}


def test_status_and_flush_commands(tmp_path):
    with Sandbox(token="tok") as sandbox:
        settings = {
            "pixel_id": "1234567890", "access_token": "tok", "data_controls": True,
            "endpoint": sandbox.url, "outbox_path": str(tmp_path / "o.sqlite3"),
        }
        path = tmp_path / "settings.json"
        path.write_text(json.dumps(settings))
        proc = run("status", "--settings", str(path), "--json")
        assert proc.returncode == 0, proc.stderr
        assert json.loads(proc.stdout)["queue"]["depth"] == 0
        proc = run("status", "--settings", str(path))
        assert "data controls: ON" in proc.stdout and "tok" not in proc.stdout.replace("token", "")
        proc = run("flush", "--settings", str(path), "--timeout", "5")
        assert proc.returncode == 0 and json.loads(proc.stdout)["remaining"] == 0
        path.write_text(json.dumps(dict(settings, pixel_id="abc")))
        proc = run("status", "--settings", str(path))
        assert proc.returncode == 2 and "pixel_id" in proc.stderr

"""The README's demo command, run as a user runs it."""

import json
import subprocess
import sys


def run(*args):
    return subprocess.run([sys.executable, "-m", "convtrack", *args], capture_output=True, text=True, timeout=120)


def test_demo_prints_decisions_payloads_and_snippets():
    proc = run("demo")
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    assert "blocked (data_controls_off)" in out
    assert "blocked (consent_denied)" in out
    assert "fbq('consent','revoke')" in out
    assert "fbq('dataProcessingOptions',['LDU'],0,0)" in out
    assert "server   : send" in out
    # The hostile title is rendered as data, never as markup; no raw PII is printed.
    assert "<script>alert(1)" not in out
    assert "Jane.Doe@Example.COM" not in out and "jane.doe@example.com" not in out
    assert "demo-token-not-a-secret" not in out
    assert "InvalidValueError [invalid_value] field=value" in out


def test_demo_json():
    proc = run("demo", "--json")
    assert proc.returncode == 0, proc.stderr
    results = json.loads(proc.stdout)
    assert [r["result"]["server"] for r in results] == ["send", "blocked", "send", "blocked"]
    ids = {r["result"]["event_id"] for r in results}
    assert len(ids) == 4

"""The Django controls dashboard in headless Chromium, as a merchant uses it.

The test shop (tests/django) runs under ``manage.py runserver`` on loopback with its own
database and outbox, delivering to the sandbox. Chromium is driven over the DevTools
protocol on a pipe (``--remote-debugging-pipe``: JSON messages ending in NUL on fds 3/4,
no extra package): it logs in through the admin login form as a superuser, opens the
dashboard, chooses "On", ticks the legal acknowledgement, submits, and we read the state
the page then shows and the outbox's controls. A screenshot of the page is written to
``tests/browser/artifacts/`` (not committed) for a human to look at.
"""

from __future__ import annotations

import base64
import json
import os
import select
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Iterator, Optional

import pytest

import convtrack
from convtrack.sandbox import Sandbox

HERE = Path(__file__).resolve().parent
PROJECT = HERE.parent / "django"
ARTIFACTS = HERE / "artifacts"
TOKEN = "sandbox-token"
PASSWORD = "browser-test-pw"


def find_chromium() -> Optional[str]:
    for name in (os.environ.get("CHROMIUM"), "chromium", "chromium-browser", "google-chrome"):
        if name and shutil.which(name):
            return shutil.which(name)
    return None


class Pipe:
    """A minimal DevTools-protocol client over Chromium's debugging pipe."""

    def __init__(self, binary: str, profile: str) -> None:
        to_browser_r, self._w = os.pipe()
        self._r, from_browser_w = os.pipe()

        def fds() -> None:  # in the child: the pipe ends become fds 3 and 4 (kept by pass_fds)
            r, w = os.dup(to_browser_r), os.dup(from_browser_w)
            os.dup2(r, 3)
            os.dup2(w, 4)

        self.proc = subprocess.Popen(
            [binary, "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
             "--no-first-run", "--no-default-browser-check", "--disable-extensions",
             "--disable-background-networking", "--disable-component-update", "--disable-sync",
             "--remote-debugging-pipe", f"--user-data-dir={profile}", "--window-size=1200,900",
             "--hide-scrollbars", "about:blank"],
            preexec_fn=fds, pass_fds=(3, 4),
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        os.close(to_browser_r)
        os.close(from_browser_w)
        self._buf = b""
        self._id = 0
        self.events: list[dict[str, Any]] = []
        self.session: Optional[str] = None

    def _read(self, timeout: float = 60.0) -> dict[str, Any]:
        while b"\0" not in self._buf:
            if not select.select([self._r], [], [], timeout)[0]:
                raise TimeoutError("no message from chromium")
            chunk = os.read(self._r, 1 << 20)
            if not chunk:
                raise RuntimeError("chromium closed the debugging pipe")
            self._buf += chunk
        msg, self._buf = self._buf.split(b"\0", 1)
        return json.loads(msg)

    def send(self, method: str, **params: Any) -> dict[str, Any]:
        self._id += 1
        msg: dict[str, Any] = {"id": self._id, "method": method, "params": params}
        if self.session and not method.startswith("Target."):
            msg["sessionId"] = self.session
        os.write(self._w, json.dumps(msg).encode() + b"\0")
        while True:
            reply = self._read()
            if reply.get("id") == self._id:
                if "error" in reply:
                    raise RuntimeError(f"{method}: {reply['error']}")
                return reply.get("result", {})
            self.events.append(reply)

    def wait_event(self, name: str, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout  # a bound against hanging
        while time.monotonic() < deadline:
            for i, ev in enumerate(self.events):
                if ev.get("method") == name:
                    del self.events[: i + 1]
                    return
            self.events.append(self._read(max(0.1, deadline - time.monotonic())))
        raise TimeoutError(name)

    def eval(self, js: str) -> Any:
        return self.send("Runtime.evaluate", expression=js, returnByValue=True)["result"].get("value")

    def load(self, action: str) -> None:
        """Runs ``action`` (JS that navigates or submits) and waits for the next page load."""
        self.events.clear()
        self.eval(action)
        self.wait_event("Page.loadEventFired")

    def close(self) -> None:
        try:
            self.send("Browser.close")
        except (RuntimeError, OSError):
            pass
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    tmp = tmp_path_factory.mktemp("shop")
    with Sandbox(token=TOKEN) as sandbox:
        config = {"pixel_id": "1234567890", "access_token": TOKEN, "data_controls": False,
                  "catalog_id": "555000111", "catalog_name": "Test shop catalog", "endpoint": sandbox.url,
                  "outbox_path": str(tmp / "outbox.sqlite3"), "consent": "shop.consent.from_cookie"}
        env = dict(os.environ, SHOP_CONVTRACK=json.dumps(config), SHOP_DB=str(tmp / "db.sqlite3"),
                   DJANGO_SUPERUSER_PASSWORD=PASSWORD)
        manage = [sys.executable, "manage.py"]
        for args in (["migrate", "-v0"], ["createsuperuser", "--noinput", "--username", "merchant",
                                          "--email", "merchant@shop.example"]):
            subprocess.run(manage + args, cwd=PROJECT, env=env, check=True, capture_output=True, timeout=120)
        port = free_port()
        server = subprocess.Popen(manage + ["runserver", f"127.0.0.1:{port}", "--noreload", "--insecure"],
                                  cwd=PROJECT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            deadline = time.monotonic() + 60
            while True:
                try:
                    socket.create_connection(("127.0.0.1", port), timeout=1).close()
                    break
                except OSError:
                    if time.monotonic() > deadline or server.poll() is not None:
                        raise RuntimeError("runserver did not start") from None
                    time.sleep(0.2)
            yield {"url": f"http://127.0.0.1:{port}", "config": config}
        finally:
            server.terminate()
            server.wait(timeout=10)


@pytest.fixture(scope="module")
def browser() -> Iterator[Pipe]:
    binary = find_chromium()
    if binary is None:
        pytest.fail("Chromium not found (install Debian's `chromium` or set CHROMIUM=/path); run tests/browser/run.sh")
    profile = tempfile.mkdtemp(prefix="convtrack-chromium-")
    pipe = Pipe(binary, profile)
    try:
        target = pipe.send("Target.createTarget", url="about:blank")["targetId"]
        pipe.session = pipe.send("Target.attachToTarget", targetId=target, flatten=True)["sessionId"]
        pipe.send("Page.enable")
        pipe.send("Runtime.enable")
        yield pipe
    finally:
        pipe.close()
        shutil.rmtree(profile, ignore_errors=True)


def screenshot(browser: Pipe, name: str) -> Path:
    height = int(browser.eval("document.documentElement.scrollHeight"))
    browser.send("Emulation.setDeviceMetricsOverride", width=1200, height=min(height, 6000), deviceScaleFactor=1,
                 mobile=False)
    data = browser.send("Page.captureScreenshot", format="png", captureBeyondViewport=True)["data"]
    browser.send("Emulation.clearDeviceMetricsOverride")
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / name
    path.write_bytes(base64.b64decode(data))
    return path


def test_merchant_turns_data_controls_on_in_chromium(shop: dict[str, Any], browser: Pipe) -> None:
    base = shop["url"]
    browser.load(f"location.href = {json.dumps(base + '/admin/login/?next=/convtrack/controls/')}")
    browser.load(
        "document.getElementById('id_username').value = 'merchant';"
        f"document.getElementById('id_password').value = {json.dumps(PASSWORD)};"
        "document.querySelector('#login-form').submit();")
    assert browser.eval("location.pathname") == "/convtrack/controls/"
    state = browser.eval("document.getElementById('data-controls-state').textContent")
    assert state.startswith("Data controls: OFF")
    screenshot(browser, "dashboard-off.png")
    # Choose "On", tick the acknowledgement, submit: as a merchant clicks.
    browser.load(
        "document.querySelector('input[name=data_controls][value=on]').click();"
        "document.querySelector('input[name=legal_ack]').click();"
        "document.getElementById('save-controls').click();")
    state = browser.eval("document.getElementById('data-controls-state').textContent")
    assert state.startswith("Data controls: ON"), state
    assert "Data controls are now ON" in browser.eval("document.getElementById('notes').textContent")
    assert browser.eval("document.querySelector('#history .actor').textContent") == "merchant"
    page = browser.eval("document.documentElement.outerHTML")
    assert TOKEN not in page
    shot = screenshot(browser, "dashboard-on.png")
    assert shot.stat().st_size > 10_000
    # The outbox the shop's processes share now says on, with the actor and the acknowledgement.
    settings = {k: v for k, v in shop["config"].items() if k != "consent"}  # a Django-side option
    with convtrack.Tracker(settings, sender="manual") as t:
        controls = t.controls()
    assert controls["data_controls"] is True and controls["changed_by"] == "merchant" and controls["legal_ack"] is True

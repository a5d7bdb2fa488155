"""The pixel snippet in a real browser: headless Chromium, real HTTP, hostile orders.

Every order below is rendered with ``Tracker.build`` and inserted into the
``<body>`` of its own plain HTML page, served by a loopback ``http.server``.
The snippet's loader fetches ``/fbevents.js`` from the same server: a local
stand-in (``fbevents_stub.js``) that, like Meta's library, installs
``fbq.callMethod`` and replays ``fbq.queue`` -- but only records each call in
``window.__fbqCalls``. A probe script at the end of the page waits for the
Purchase call and writes what happened into ``<pre id="result">``; Chromium's
``--dump-dom`` hands that back to us.

Per order we assert: no injected script or handler ran, the page's element
structure is exactly what we wrote (a title could not add or swallow
elements), no JavaScript error happened, exactly the expected ``fbq`` calls
ran in order, the ``eventID`` is the server copy's ``event_id``, and the title
arrived in the browser byte for byte.

Controls prove the detectors are not vacuous: a naively escaped snippet does
get owned, a raw ``onerror`` attribute is caught by the grace period, and a
nonce-less snippet is blocked by the same CSP that the nonced one passes.

Run with ``tests/browser/run.sh``. Without a Chromium the tests fail; set
``CONVTRACK_BROWSER_TESTS_OPTIONAL=1`` to skip them instead.
"""

from __future__ import annotations

import concurrent.futures
import http.server
import json
import os
import re
import shutil
import signal
import subprocess
import tempfile
import threading
import urllib.parse
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional

import pytest

import convtrack

HERE = Path(__file__).resolve().parent
STUB_JS = (HERE / "fbevents_stub.js").read_bytes()

PIXEL_ID = "1234567890"
NONCE = "abc"
BROWSER_TIMEOUT_S = 60
VIRTUAL_TIME_BUDGET_MS = 5000
MAX_TITLE_BYTES = 8192  # core/src/input.rs MAX_TEXT_BYTES


def _max_size_title() -> str:
    """Exactly MAX_TITLE_BYTES of UTF-8, dense with everything that needs escaping."""
    chunk = "</script><!--<script>\u2028\u2029&amp;é\"'\\"
    s = ""
    while len((s + chunk).encode()) <= MAX_TITLE_BYTES:
        s += chunk
    s += "x" * (MAX_TITLE_BYTES - len(s.encode()))
    assert len(s.encode()) == MAX_TITLE_BYTES
    return s


HOSTILE_TITLES: dict[str, str] = {
    "close-script": "</script><script>window.__pwned=1</script>",
    "close-script-upper": "</SCRIPT ><ScRiPt>window.__pwned=1</sCrIpT>",
    "html-comment": "<!--<script>",
    "comment-then-close": "<!--<script></script><script>window.__pwned=1</script>-->",
    "attr-break-img": '"><img src=x onerror="window.__pwned=1">',
    "line-separators": "\u2028\u2029",
    "line-separators-code": "\u2028window.__pwned=1\u2029//",
    "single-quote-break": "'; window.__pwned=1; //",
    "backslash-quote-break": '\\"; window.__pwned=1; //',
    "cdata-end": "]]>",
    "svg-onload": "<svg onload=window.__pwned=1>",
    "entity-text": "&lt;script&gt;",
    "nul-byte": "a\x00b",
    "newlines": "a\nb\r\nc\t</script>",
    "lone-bmp-specials": "\ufeff\u00a0\u200b\ud7ff\ue000\uffff",
    "astral": "\U0001f600\U0010ffff",
    f"max-size-{MAX_TITLE_BYTES}-bytes": _max_size_title(),
}


def order(title: str, *, consent: str = "granted", order_id: str = "1001") -> dict[str, Any]:
    return {
        "event_name": "Purchase",
        "order_id": order_id,
        "event_source_url": "https://shop.example/thanks",
        "currency": "EUR",
        "value": "59.90",
        "items": [{"id": "SKU-1", "quantity": 2, "price": "19.95", "title": title}],
        "customer": {"email": "x@example.com"},
        "browser": {"ip": "203.0.113.7", "user_agent": "Mozilla/5.0"},
        "consent": {"marketing": consent},
    }


# --------------------------------------------------------------------------
# Pages

PROBE_JS = r"""
(function () {
  var tries = 0;
  function hasPurchase() {
    var c = window.__fbqCalls;
    if (!c) return false;
    for (var i = 0; i < c.length; i++) {
      if (c[i][0] === 'track' && c[i][1] === 'Purchase') return true;
    }
    return false;
  }
  function report(state) {
    var tags = [];
    var all = document.getElementsByTagName('*');
    for (var i = 0; i < all.length; i++) {
      if (all[i].id !== 'result') tags.push(all[i].tagName);
    }
    var out = {
      state: state,
      pwned: !!window.__pwned,
      calls: window.__fbqCalls || null,
      stubLoaded: window.__fbqStubLoaded || 0,
      stubError: window.__fbqStubError || null,
      errors: window.__errors,
      violations: window.__violations,
      tags: tags,
      fbeventsSrc: (function () {
        var s = document.querySelectorAll('script[src]');
        return s.length ? s[0].src : null;
      })()
    };
    // ASCII only: nothing in the dumped DOM needs HTML unescaping.
    document.getElementById('result').textContent = encodeURIComponent(JSON.stringify(out));
  }
  function poll() {
    // Grace period after the Purchase call: catches asynchronous injections
    // (onerror/onload handlers) that would fire after the snippet ran.
    if (hasPurchase()) { setTimeout(function () { report('done'); }, 300); return; }
    if (++tries > 300) { report('timeout'); return; }
    setTimeout(poll, 10);
  }
  poll();
})();
"""

HEAD_JS = r"""
window.__errors = [];
window.__violations = [];
window.addEventListener('error', function (e) {
  window.__errors.push(String(e.message || ('error on ' + (e.target && e.target.tagName))));
}, true);
document.addEventListener('securitypolicyviolation', function (e) {
  window.__violations.push(e.violatedDirective + ' ' + e.blockedURI);
});
"""


def page_html(snippet: str, *, nonce: Optional[str]) -> str:
    n = f' nonce="{nonce}"' if nonce else ""
    return (
        "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>Thank you</title>\n"
        f"<script{n}>{HEAD_JS}</script>\n</head>\n<body>\n<h1>Thanks for your order</h1>\n"
        f"{snippet}"
        "<p>Your receipt is on its way.</p>\n"
        '<pre id="result"></pre>\n'
        f"<script{n}>{PROBE_JS}</script>\n</body></html>\n"
    )


# Elements of a page (the result <pre> aside), as the probe lists them. The
# loader inserts fbevents.js before the first script, i.e. into <head>.
TAGS_TRACK = ["HTML", "HEAD", "META", "TITLE", "SCRIPT", "SCRIPT", "BODY", "H1",
              "SCRIPT", "NOSCRIPT", "P", "SCRIPT"]
TAGS_REVOKED = [t for t in TAGS_TRACK if t != "NOSCRIPT"]


@dataclass
class Page:
    name: str
    html: str
    build: dict[str, Any]
    title: str
    csp: Optional[str] = None
    consent: str = "granted"
    result: dict[str, Any] = field(default_factory=dict)


class _Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    pages: dict[str, Page]
    requests_seen: list[str]


class _Handler(http.server.BaseHTTPRequestHandler):
    server: _Server

    def do_GET(self) -> None:  # noqa: N802
        path = urllib.parse.urlsplit(self.path).path
        self.server.requests_seen.append(path)
        headers = {"Cache-Control": "no-store"}
        if path == "/fbevents.js":
            body, ctype = STUB_JS, "application/javascript; charset=utf-8"
        elif path.startswith("/page/") and path[len("/page/"):] in self.server.pages:
            page = self.server.pages[path[len("/page/"):]]
            body, ctype = page.html.encode("utf-8"), "text/html; charset=utf-8"
            if page.csp:
                headers["Content-Security-Policy"] = page.csp
        else:
            body, ctype = b"not found", "text/plain"
            self.send_response(404)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
            return
        self.send_response(200)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        for k, v in headers.items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *_args: Any) -> None:
        pass


# --------------------------------------------------------------------------
# Browser


def find_chromium() -> Optional[str]:
    explicit = os.environ.get("CHROMIUM")
    if explicit:
        return shutil.which(explicit)
    for name in ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable"):
        path = shutil.which(name)
        if path:
            return path
    return None


RESULT_RE = re.compile(r'<pre id="result">([^<]*)</pre>')


def run_chromium(binary: str, url: str) -> tuple[Optional[dict[str, Any]], str]:
    """Loads url, returns (probe result or None, diagnostics)."""
    profile = tempfile.mkdtemp(prefix="convtrack-chromium-")
    cmd = [
        binary, "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
        "--no-first-run", "--no-default-browser-check", "--disable-extensions",
        "--disable-background-networking", "--disable-component-update", "--disable-sync",
        f"--user-data-dir={profile}", f"--virtual-time-budget={VIRTUAL_TIME_BUDGET_MS}",
        "--dump-dom", url,
    ]
    # Own process group: on timeout the whole browser (zygote, renderers) is killed.
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True)
    try:
        out, err = proc.communicate(timeout=BROWSER_TIMEOUT_S)
        timed_out = False
    except subprocess.TimeoutExpired:
        timed_out = True
        os.killpg(proc.pid, signal.SIGKILL)
        out, err = proc.communicate()
    finally:
        try:  # leftovers of this run's own process group only
            os.killpg(proc.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        shutil.rmtree(profile, ignore_errors=True)
    dom = out.decode("utf-8", "replace")
    diag = f"exit={proc.returncode} timed_out={timed_out}\nstderr tail:\n{err.decode('utf-8', 'replace')[-2000:]}"
    if timed_out:
        return None, diag
    m = RESULT_RE.search(dom)
    if not m or not m.group(1):
        return None, diag + f"\nno probe result in DOM (head):\n{dom[:2000]}"
    return json.loads(urllib.parse.unquote(m.group(1), errors="strict")), diag


# --------------------------------------------------------------------------
# Fixture: build every page, serve, load them all in Chromium once.


@pytest.fixture(scope="module")
def browser() -> str:
    binary = find_chromium()
    if binary is None:
        reason = "Chromium not found (install Debian's `chromium` or set CHROMIUM=/path); run tests/browser/run.sh"
        if os.environ.get("CONVTRACK_BROWSER_TESTS_OPTIONAL") == "1":
            pytest.skip(reason)
        pytest.fail(reason)
    return binary


@pytest.fixture(scope="module")
def tracker() -> convtrack.Tracker:
    return convtrack.Tracker(pixel_id=PIXEL_ID, access_token="t", data_controls=True)


@pytest.fixture(scope="module")
def loaded(browser: str, tracker: convtrack.Tracker):
    server = _Server(("127.0.0.1", 0), _Handler)
    server.pages = {}
    server.requests_seen = []
    base = f"http://127.0.0.1:{server.server_address[1]}"
    src = f"{base}/fbevents.js"
    pages = server.pages

    def add(name: str, title: str, *, consent: str = "granted", nonce: Optional[str] = None,
            csp: Optional[str] = None, page_nonce: Optional[str] = None, mangle=None, with_tracker=None,
            customer=None) -> None:
        event = order(title, consent=consent, order_id=f"o-{len(pages) + 1}")
        if customer is not None:
            event["customer"] = customer
        r = (with_tracker or tracker).build(event, script_src=src, nonce=nonce)
        snippet = r["pixel_html"] if mangle is None else mangle(r["pixel_html"])
        pages[name] = Page(name, page_html(snippet, nonce=page_nonce or nonce), csp=csp,
                           build=r, title=title, consent=consent)

    for key, title in HOSTILE_TITLES.items():
        add(f"granted-{key}", title)
    for key in ("close-script", "html-comment", "single-quote-break", "nul-byte"):
        add(f"denied-{key}", HOSTILE_TITLES[key], consent="denied")

    csp = f"script-src 'nonce-{NONCE}' {base}; object-src 'none'; base-uri 'none'"
    add("csp-nonce", HOSTILE_TITLES["close-script"], nonce=NONCE, csp=csp)
    add("csp-nonce-denied", HOSTILE_TITLES["attr-break-img"], nonce=NONCE, csp=csp, consent="denied")
    # Control: the same CSP, snippet without a nonce -> must be blocked.
    add("control-csp-no-nonce", "plain", csp=csp, page_nonce=NONCE)
    # Control: undo the snippet's HTML escaping (a naive json.dumps renderer).
    add("control-naive-escaping", HOSTILE_TITLES["close-script"],
        mangle=lambda h: h.replace("\\u003c", "<").replace("\\u003e", ">"))
    # Control: an asynchronous handler injected next to the snippet is caught.
    add("control-onerror", "plain",
        mangle=lambda h: h + '<img src="/missing.png" onerror="window.__pwned=1">\n')

    # Advanced Matching: the hashed customer keys in init, hostile raw values that must stay out.
    matching = convtrack.Tracker(pixel_id=PIXEL_ID, access_token="t", data_controls=True, pixel_advanced_matching=True)
    add("am-granted", "plain", with_tracker=matching, customer=AM_CUSTOMER)
    add("am-denied", "plain", with_tracker=matching, customer=AM_CUSTOMER, consent="denied")
    # Consent hold: the shopper has not answered; the server copy is held, the pixel holds back.
    holding = convtrack.Tracker(pixel_id=PIXEL_ID, access_token="t", data_controls=True, unknown_consent="hold",
                                pixel_advanced_matching=True)
    add("held-unknown", HOSTILE_TITLES["close-script"], with_tracker=holding, customer=AM_CUSTOMER, consent="unknown")

    thread = threading.Thread(target=server.serve_forever, name="pixel-page-server", daemon=True)
    thread.start()
    diags: dict[str, str] = {}
    try:
        # Two browsers at a time: enough for a 2-core CI machine.
        with concurrent.futures.ThreadPoolExecutor(max_workers=2) as pool:
            futs = {pool.submit(run_chromium, browser, f"{base}/page/{name}"): name for name in pages}
            for fut in concurrent.futures.as_completed(futs):
                name = futs[fut]
                result, diags[name] = fut.result()
                pages[name].result = result or {}
    finally:
        server.shutdown()
        server.server_close()
        thread.join(10)
    return pages, diags, list(server.requests_seen)


AM_CUSTOMER = {
    "email": "Sentinel.Shopper@Example.com",
    "phone": "+44 20 7183 8750",
    "first_name": "</script><img src=x onerror=window.__pwned=1>Sentinelfirst",
    "last_name": "Sentinellast",
    "city": "Sentinelcity",
    "zip": "SW1A 1AA",
    "country": "GB",
    "external_id": "sentinel-cust-42",
}


def _get(loaded, name: str) -> Page:
    pages, diags, _ = loaded
    page = pages[name]
    assert page.result, f"{name}: Chromium gave no probe result\n{diags[name]}"
    return page


def _expected_calls(page: Page) -> list[Any]:
    calls: list[Any] = [["init", PIXEL_ID], ["track", "PageView"]]
    if page.consent == "denied":
        calls.insert(0, ["consent", "revoke"])
    return calls


def check_tracked_page(page: Page) -> None:
    res, r = page.result, page.build
    assert res["state"] == "done", f"{page.name}: Purchase call never reached fbevents.js: {res}"
    assert res["pwned"] is False, f"{page.name}: injected code ran"
    assert res["errors"] == [], f"{page.name}: JavaScript errors: {res['errors']}"
    assert res["violations"] == [], f"{page.name}: CSP violations: {res['violations']}"
    assert res["stubError"] is None and res["stubLoaded"] == 1
    assert res["fbeventsSrc"].endswith("/fbevents.js")
    expected_tags = TAGS_REVOKED if page.consent == "denied" else TAGS_TRACK
    assert res["tags"] == expected_tags, f"{page.name}: page structure changed"

    calls = res["calls"]
    assert len(calls) == len(_expected_calls(page)) + 1, calls[:8]
    assert calls[:-1] == _expected_calls(page)
    name, event, params, opts = calls[-1]
    assert (name, event) == ("track", "Purchase")
    assert opts == {"eventID": r["event_id"]}
    if page.consent == "denied":
        # No server copy without consent: the pixel's id is the build's id.
        assert r["payload"] is None
    else:
        assert r["payload"] is not None and r["payload"]["event_id"] == r["event_id"]
    assert params["currency"] == "EUR" and params["value"] == 59.9
    assert params["content_ids"] == ["SKU-1"]
    assert params["contents"][0]["id"] == "SKU-1"
    got = params["contents"][0]["title"]
    assert got == page.title, (
        f"{page.name}: title changed in the browser: len {len(got)} vs {len(page.title)}, "
        f"first difference at {next((i for i, (a, b) in enumerate(zip(got, page.title)) if a != b), None)}"
    )


@pytest.mark.parametrize("key", list(HOSTILE_TITLES))
def test_hostile_title_stays_data(loaded, key: str) -> None:
    check_tracked_page(_get(loaded, f"granted-{key}"))


@pytest.mark.parametrize("key", ["close-script", "html-comment", "single-quote-break", "nul-byte"])
def test_denied_consent_revokes_before_init(loaded, key: str) -> None:
    page = _get(loaded, f"denied-{key}")
    check_tracked_page(page)
    assert page.result["calls"][0] == ["consent", "revoke"]
    assert "<noscript>" not in page.build["pixel_html"]


@pytest.mark.parametrize("name", ["csp-nonce", "csp-nonce-denied"])
def test_nonce_runs_under_csp(loaded, name: str) -> None:
    page = _get(loaded, name)
    assert page.csp and f"'nonce-{NONCE}'" in page.csp
    assert f'<script nonce="{NONCE}">' in page.build["pixel_html"]
    check_tracked_page(page)


def test_control_csp_blocks_snippet_without_nonce(loaded) -> None:
    res = _get(loaded, "control-csp-no-nonce").result
    assert res["state"] == "timeout" and res["calls"] is None and res["stubLoaded"] == 0
    assert any(v.startswith("script-src") for v in res["violations"]), res["violations"]


def test_control_naive_escaping_is_detected(loaded) -> None:
    res = _get(loaded, "control-naive-escaping").result
    assert res["pwned"] is True, "the detector missed a classic </script> breakout"
    assert res["tags"] != TAGS_TRACK


def test_control_async_handler_is_detected(loaded) -> None:
    res = _get(loaded, "control-onerror").result
    assert res["state"] == "done"
    assert res["pwned"] is True, "the grace period missed an onerror handler"


def test_stub_served_once_per_loaded_pixel(loaded) -> None:
    pages, _, seen = loaded
    # Every page fetched the stub exactly once, except the CSP-blocked control
    # and the naive-escaping one (its broken script never ran the loader).
    no_stub = {"control-csp-no-nonce", "control-naive-escaping"}
    assert {n for n, p in pages.items() if p.result.get("stubLoaded") != 1} == no_stub
    assert seen.count("/fbevents.js") == len(pages) - len(no_stub)
    assert sorted(p for p in seen if p.startswith("/page/")) == sorted(f"/page/{n}" for n in pages)


def test_title_over_limit_is_rejected_not_rendered(tracker: convtrack.Tracker) -> None:
    # A 10 000-character title never reaches a page: input validation stops it.
    with pytest.raises(convtrack.errors.TooLargeError, match=r"items\[0\]\.title"):
        tracker.build(order("<" * 10_000), script_src="http://127.0.0.1:1/fbevents.js")


def test_advanced_matching_init_carries_the_server_copys_hashes(loaded) -> None:
    page = _get(loaded, "am-granted")
    res, r = page.result, page.build
    assert res["state"] == "done" and res["pwned"] is False and res["errors"] == []
    init = res["calls"][0]
    assert init[:2] == ["init", PIXEL_ID] and len(init) == 3, init
    keys = init[2]
    user_data = r["payload"]["user_data"]
    assert keys["em"] == user_data["em"][0] == convtrack.hash("email", AM_CUSTOMER["email"])
    assert set(keys) >= {"em", "ph", "fn", "ln", "ct", "zp", "country", "external_id"}
    assert all(keys[k] == user_data[k][0] for k in keys)
    # No raw customer value in the page the browser got, nor in what the pixel was told.
    seen = (page.html + json.dumps(res["calls"])).lower()
    for raw in ("sentinel", "shopper", "7183", "sw1a"):
        assert raw not in seen, raw
    assert "onerror" not in r["pixel_html"] and res["tags"] == TAGS_TRACK


def test_advanced_matching_needs_consent(loaded) -> None:
    page = _get(loaded, "am-denied")
    calls = page.result["calls"]
    assert calls[:2] == [["consent", "revoke"], ["init", PIXEL_ID]], calls[:3]
    assert "sentinel" not in page.html.lower()


def test_a_held_event_renders_the_pixel_revoked_and_without_customer_keys(loaded) -> None:
    page = _get(loaded, "held-unknown")
    res = page.result
    assert page.build["server"] == "held" and page.build["payload"]["user_data"]["em"]
    assert res["state"] == "done" and res["pwned"] is False and res["errors"] == []
    assert res["calls"][:2] == [["consent", "revoke"], ["init", PIXEL_ID]], res["calls"][:3]
    seen = (page.html + json.dumps(res["calls"])).lower()
    for raw in ("sentinel", "shopper", "7183", "sw1a"):
        assert raw not in seen, raw

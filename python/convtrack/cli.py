"""The ``convtrack`` command line.

``convtrack demo`` runs the main job on its embedded default: sample orders go
through ``Tracker.track`` into a durable outbox and are delivered to the
embedded sandbox receiver; it prints, for each, the consent gate's decision,
the event id, the Conversions API payload and the pixel snippet, then the
delivery report, the sandbox's view (received, deduplicated, rejected) and the
status. ``convtrack status``, ``convtrack flush``, ``convtrack replay`` and
``convtrack check`` work on a settings file (JSON, the same keys as ``Tracker``).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
import urllib.error
import urllib.request
from typing import Any, Dict, List, Optional, Sequence, Tuple

import convtrack

EXIT_OK = 0
EXIT_ERROR = 1
EXIT_INVALID = 2
EXIT_INCOMPLETE = 3
EXIT_CODES = """exit codes:
  0  ok
  1  runtime error (I/O, storage, endpoint not reachable with check --online)
  2  usage error or invalid settings (the message names the setting)
  3  incomplete: flush left events queued or delivery is paused, or replay had invalid lines

With --json, errors are also printed on stdout as {"error": {"type", "code", "field", "message"}}."""

DEMO_PIXEL_ID = "1234567890"

# Sample orders: what a storefront hands convtrack at checkout. Among them a
# hostile product title, a shopper who denied consent, and a California shopper
# under Limited Data Use.
BROWSER = {
    "ip": "203.0.113.7",
    "user_agent": "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0 Safari/537.36",
    "fbp": "fb.1.1732780000000.1098115397",
}


def demo_orders(now: int) -> List[Tuple[str, Dict[str, Any]]]:
    return [
        (
            "UK shopper, consent granted, hostile product title",
            {
                "event_name": "Purchase",
                "event_time": now - 60,
                "order_id": "1001",
                "event_source_url": "https://shop.example/checkout/thanks",
                "currency": "GBP",
                "value": "59.90",
                "items": [
                    {"id": "SKU-1", "quantity": 2, "price": "19.95", "title": "</script><script>alert(1)</script>"},
                    {"id": "SKU-2", "quantity": 1, "price": "20.00", "title": "Tea towel \u2028 <!-- 'quoted' \\"},
                ],
                "customer": {
                    "email": "  Jane.Doe@Example.COM ",
                    "phone": "020 7183 8750",
                    "first_name": "Jane",
                    "last_name": "O'Doe",
                    "city": "London",
                    "zip": "SW1A 1AA",
                    "country": "United Kingdom",
                    "external_id": "cust-42",
                },
                "browser": dict(BROWSER, fbclid="IwAR2xyz"),
                "consent": {"marketing": "granted"},
            },
        ),
        (
            "Shopper who denied marketing consent",
            {
                "event_name": "Purchase",
                "event_time": now - 30,
                "order_id": "1002",
                "event_source_url": "https://shop.example/checkout/thanks",
                "currency": "EUR",
                "value": 12.5,
                "items": [{"id": "SKU-3", "quantity": 1, "price": "12.50", "title": "Mug"}],
                "customer": {"email": "max@example.de", "phone": "+49 30 12345678"},
                "browser": BROWSER,
                "consent": {"marketing": "denied"},
            },
        ),
        (
            "California shopper under Limited Data Use",
            {
                "event_name": "Purchase",
                "event_time": now - 10,
                "order_id": "1003",
                "event_source_url": "https://shop.example/checkout/thanks",
                "currency": "USD",
                "value": "99.00",
                "items": [{"id": "SKU-4", "quantity": 1, "price": "99.00"}],
                "customer": {"email": "sam@example.com", "phone": "(650) 555-1234", "state": "California", "country": "US"},
                "browser": BROWSER,
                "consent": {"marketing": "granted", "ldu": True},
            },
        ),
        (
            "Add to cart, no order yet (the page passed its event id)",
            {
                "event_name": "AddToCart",
                "event_id": "atc-7f3c2a",
                "event_source_url": "https://shop.example/products/mug",
                "currency": "EUR",
                "value": "12.50",
                "items": [{"id": "SKU-3", "quantity": 1, "price": "12.50"}],
                "browser": BROWSER,
                "consent": {"marketing": "unknown"},
            },
        ),
    ]


def _print_result(label: str, result: Dict[str, Any], out: Any) -> None:
    reason = f" ({result['reason']})" if result["reason"] else ""
    out.write(f"\n=== {label}\n")
    out.write(f"event_id : {result['event_id']}\n")
    out.write(f"server   : {result['server']}{reason}\n")
    out.write(f"pixel    : {result['pixel']}{'  + LDU' if result['ldu'] else ''}\n")
    out.write("payload  :\n")
    out.write(json.dumps(result["payload"], indent=2, ensure_ascii=False) + "\n")
    out.write("pixel_html:\n")
    out.write(result["pixel_html"])


def cmd_demo(args: argparse.Namespace) -> int:
    from convtrack.sandbox import Sandbox

    out = sys.stdout
    now = int(time.time())
    token = "demo-token-not-a-secret"
    with tempfile.TemporaryDirectory(prefix="convtrack-demo-") as tmp, Sandbox(token=token) as sandbox:
        default = convtrack.Tracker(pixel_id=DEMO_PIXEL_ID)
        merchant = convtrack.Tracker(
            pixel_id=DEMO_PIXEL_ID,
            access_token=token,
            data_controls=True,
            default_country="GB",
            catalog_id="987654321",
            catalog_name="Demo catalog",
            shop_url="https://shop.example/",
            endpoint=sandbox.url,
            outbox_path=os.path.join(tmp, "outbox.sqlite3"),
            sender="manual",
        )
        orders = demo_orders(now)
        # Live catalog updates: the shop edits SKU-1's price three times before the sender runs.
        products = demo_products()
        changes = [merchant.catalog_update(dict(products[0], price=p)) for p in ("19.95", "18.50", "17.95")]
        changes.append(merchant.catalog_update(products[1]))
        # The nightly feed: the same products plus one with a NaN price, reported and skipped.
        feed_xml, feed_report = merchant.export_feed_string(
            [json.dumps(p) for p in products] + [json.dumps(dict(products[1], id="SKU-3", price="NaN"))], format="xml"
        )
        results: List[Dict[str, Any]] = [
            {"label": label, "result": merchant.track(order, now=now)} for label, order in orders
        ]
        # The thank-you page is reloaded and the payment webhook fires too: the same order again.
        again = merchant.track(orders[0][1], now=now)
        for r in results:
            if r["result"]["server"] == "queued":
                sandbox.register_pixel(r["result"]["event_name"], r["result"]["event_id"])
        report = merchant.flush(timeout=10)
        status = merchant.status()
        view = sandbox.stats()
        catalog_view = sandbox.catalog()
        merchant.close()
        if args.json:
            doc = {"results": results, "duplicate_track": again["server"], "flush": report, "status": status, "sandbox": view,
                   "catalog_changes": changes, "sandbox_catalog": catalog_view, "feed": feed_report}
            out.write(json.dumps(doc, indent=2, ensure_ascii=False) + "\n")
            return 0
        out.write("convtrack demo: sample orders through Tracker.track, delivered to the embedded sandbox receiver\n")
        out.write(f"sandbox: {sandbox.url}  outbox: {os.path.join(tmp, 'outbox.sqlite3')}\n")
        out.write(f"merchant settings: {merchant.settings}\n")
        label, first = orders[0]
        _print_result("Default settings (data controls off): " + label, default.build(first, now=now), out)
        for r in results:
            _print_result(r["label"], r["result"], out)
        out.write(f"\n=== The same order tracked again (page reload / webhook): server = {again['server']}\n")
        out.write("\n=== Bad input gets a typed error that names the field\n")
        bad = dict(orders[0][1], value=float("nan"))
        try:
            merchant.build(bad, now=now)
        except convtrack.ConvtrackError as e:
            out.write(f"{type(e).__name__} [{e.code_name}] field={e.field}: {e}\n")
        out.write("\n=== Delivery (flush)\n" + json.dumps(report) + "\n")
        out.write(
            "\n=== What the sandbox (standing in for Meta) saw\n"
            f"received: {view['received']}  unique: {view['unique']}  duplicates: {view['duplicates']}  "
            f"rejected events: {view['rejected_events']}  deduplicated with the pixel copy: {view['deduplicated_with_pixel']}\n"
        )
        out.write(
            "\n=== Live catalog updates\n"
            f"{len(changes)} changes queued ({sum(c['coalesced'] for c in changes)} coalesced into an earlier one); "
            f"sent {report['catalog']['sent']} item(s) in {report['catalog']['requests']} items_batch request(s)\n"
            f"the sandbox catalog now holds: "
            + json.dumps({k: {"price": v.get("price"), "availability": v.get("availability")} for k, v in catalog_view["items"].get("987654321", {}).items()})
            + "\n"
        )
        out.write(
            "\n=== Catalog feed export (XML)\n"
            f"written {feed_report['written']}, skipped {feed_report['skipped']}: "
            + json.dumps(feed_report["errors"])
            + f"\n{len(feed_xml)} bytes, starting:\n"
            + "\n".join(feed_xml.splitlines()[:8])
            + "\n"
        )
        out.write("\n=== Status (the merchant's dashboard)\n" + json.dumps(status, indent=2) + "\n")
    return 0


def demo_products() -> List[Dict[str, Any]]:
    """The catalog behind the demo orders' items (same ids: the content_id mapping is "id")."""
    base = {"description": "From the demo shop.", "availability": "in_stock", "currency": "GBP", "brand": "Demo"}
    return [
        dict(base, id="SKU-1", title="</script><script>alert(1)</script>", price="19.95",
             link="https://shop.example/p/sku-1", image_link="https://shop.example/p/sku-1.jpg"),
        dict(base, id="SKU-2", title="Tea towel", price="20.00",
             link="https://shop.example/p/sku-2", image_link="https://shop.example/p/sku-2.jpg"),
    ]


def _tracker_from(args: argparse.Namespace) -> "convtrack.Tracker":
    with open(args.settings, encoding="utf-8") as f:
        settings = json.load(f)
    if not isinstance(settings, dict):
        raise convtrack.SettingsError("settings: must be a JSON object", 300, "invalid_setting", "settings")
    settings.setdefault("sender", "manual")
    return convtrack.Tracker(settings)


def cmd_status(args: argparse.Namespace) -> int:
    t = _tracker_from(args)
    try:
        st = t.status()
    finally:
        t.close()
    if args.json:
        sys.stdout.write(json.dumps(st, indent=2) + "\n")
    else:
        q = st["queue"] or {}
        c = st["counters"]
        sys.stdout.write(
            f"pixel {st['pixel_id']}  catalog {st['catalog_name'] or '-'} ({st['catalog_id'] or '-'})  mode {st['mode']}\n"
            f"data controls: {'ON' if st['data_controls'] else 'off'}  test code: {st['test_event_code'] or '-'}\n"
            f"queue: {q.get('depth', '-')} queued, oldest {q.get('oldest_age_s') or 0:.0f} s, {q.get('dead_letters', 0)} dead letters\n"
            f"accepted {c.get('accepted', 0)}  duplicate {c.get('duplicate', 0)}  sent {c.get('sent', 0)}  "
            f"retried {c.get('retried', 0)}  expired {c.get('expired', 0)}  blocked {c.get('blocked', {})}  failed {c.get('failed', {})}\n"
            f"paused: {st['paused'] or 'no'}\nlast error: {st['last_error'] or 'none'}\ncoverage: {st['coverage']}\n"
        )
    return 0


def cmd_flush(args: argparse.Namespace) -> int:
    t = _tracker_from(args)
    try:
        report = t.flush(timeout=args.timeout)
    finally:
        t.close()
    # The report is JSON with or without --json (cron jobs parse it).
    sys.stdout.write(json.dumps(report) + "\n")
    return EXIT_OK if report["remaining"] == 0 and not report["paused"] else EXIT_INCOMPLETE


class _Progress:
    """A small progress bar on stderr (no dependency): ``replay [#####.....] 120/1000``."""

    def __init__(self, total: int, enabled: bool) -> None:
        self.total = max(total, 1)
        self.enabled = enabled
        self.last = 0.0

    def update(self, done: int, final: bool = False) -> None:
        if not self.enabled:
            return
        t = time.monotonic()
        if not final and t - self.last < 0.1:
            return
        self.last = t
        width = 30
        filled = min(width, width * done // self.total)
        sys.stderr.write(f"\rreplay [{'#' * filled}{'.' * (width - filled)}] {done}/{self.total}")
        if final:
            sys.stderr.write("\n")
        sys.stderr.flush()


def _error_entry(line_no: int, e: BaseException) -> Dict[str, Any]:
    """An invalid line: its number, the error code and field. Never the value or the message's input."""
    if isinstance(e, convtrack.ConvtrackError):
        return {"line": line_no, "code": e.code_name, "field": e.field}
    if isinstance(e, UnicodeDecodeError):
        return {"line": line_no, "code": "invalid_utf8", "field": None}
    if isinstance(e, json.JSONDecodeError):
        return {"line": line_no, "code": "invalid_json", "field": None}
    return {"line": line_no, "code": "wrong_type", "field": None}


def _count_lines(path: str) -> int:
    """Counts lines for the progress bar (one extra streaming pass; only when the bar is shown)."""
    n, last = 0, b"\n"
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            n += chunk.count(b"\n")
            last = chunk[-1:]
    return n + (last != b"\n")


def cmd_replay(args: argparse.Namespace) -> int:
    """Sends historic orders (one event-input JSON object per line) through track, then flushes."""
    show_progress = bool(args.progress or sys.stderr.isatty())
    total = _count_lines(args.file) if show_progress else 0
    source = open(args.file, "rb")  # streamed line by line: historic exports can be large
    try:
        t = _tracker_from(args)
    except BaseException:
        source.close()
        raise
    summary: Dict[str, Any] = {
        "file": args.file,
        "dry_run": bool(args.dry_run),
        "lines": 0,
        "queued": 0,
        "duplicate": 0,
        "would_send": 0,
        "blocked": {},
        "skipped_too_old": 0,
        "invalid": [],
        "flush": None,
    }
    progress = _Progress(total, show_progress)
    done = 0
    try:
        for i, raw in enumerate(source, start=1):
            done = i
            progress.update(i - 1)
            if not raw.strip():
                continue
            summary["lines"] += 1
            try:
                event = json.loads(raw.decode("utf-8"))
                if not isinstance(event, dict):
                    raise TypeError("line: must be a JSON object")
                result = t.build(event) if args.dry_run else t.track(event)
            except convtrack.EventTimeError as e:
                # The core rejects event_time older than 7 days or more than 5 minutes ahead; only the past is "too old".
                when = event.get("event_time")
                if isinstance(when, (int, float)) and not isinstance(when, bool) and when < time.time():
                    summary["skipped_too_old"] += 1
                else:
                    summary["invalid"].append(_error_entry(i, e))
                continue
            except convtrack.NotConfiguredError:
                raise  # e.g. no outbox_path: every line would fail the same way
            except (convtrack.InputError, ValueError, TypeError) as e:
                summary["invalid"].append(_error_entry(i, e))
                continue
            server = result["server"]
            if server == "blocked":
                reason = result["reason"] or "unknown"
                summary["blocked"][reason] = summary["blocked"].get(reason, 0) + 1
            elif server == "send":
                summary["would_send"] += 1
            elif server in ("queued", "duplicate"):
                summary[server] += 1
        progress.update(done, final=True)
        if not args.dry_run:
            summary["flush"] = t.flush(timeout=args.timeout)
    finally:
        source.close()
        t.close()
    report = summary["flush"]
    incomplete = bool(summary["invalid"]) or (report is not None and (report["remaining"] > 0 or report["paused"]))
    if args.json:
        sys.stdout.write(json.dumps(summary, indent=2) + "\n")
    else:
        out = sys.stdout
        out.write(f"replayed {summary['lines']} lines from {args.file}{' (dry run: built, nothing queued)' if args.dry_run else ''}\n")
        if args.dry_run:
            out.write(f"would send: {summary['would_send']}\n")
        else:
            out.write(f"queued: {summary['queued']}  duplicate: {summary['duplicate']}\n")
        blocked = ", ".join(f"{k} {v}" for k, v in sorted(summary["blocked"].items())) or "0"
        out.write(f"blocked: {blocked}\n")
        out.write(f"skipped (older than Meta accepts, 7 days): {summary['skipped_too_old']}\n")
        out.write(f"invalid lines: {len(summary['invalid'])}\n")
        for bad in summary["invalid"]:
            out.write(f"  line {bad['line']}: {bad['code']}" + (f" (field {bad['field']})" if bad["field"] else "") + "\n")
        if report is not None:
            out.write(
                f"delivery: sent {report['sent']}  failed {report['failed']}  expired {report['expired']}  "
                f"remaining {report['remaining']}{'  PAUSED: ' + str(report['paused']) if report['paused'] else ''}\n"
            )
    return EXIT_INCOMPLETE if incomplete else EXIT_OK


def _check_outbox(path: Optional[str]) -> Tuple[bool, str]:
    if not path:
        return True, "no outbox_path: build only (track needs one)"
    directory = os.path.dirname(os.path.abspath(path))
    if os.path.exists(path):
        ok = os.access(path, os.R_OK | os.W_OK) and os.access(directory, os.W_OK | os.X_OK)
    else:
        ok = os.path.isdir(directory) and os.access(directory, os.W_OK | os.X_OK)
    return ok, "writable" if ok else "outbox_path: cannot be written (directory missing or no permission)"


def _check_endpoint(url: str, timeout: float) -> Tuple[bool, str]:
    req = urllib.request.Request(url, method="GET", headers={"User-Agent": f"convtrack-check/{convtrack.__version__}"})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            return True, f"reachable (HTTP {resp.status})"
    except urllib.error.HTTPError as e:  # any HTTP answer means the endpoint is reachable
        return True, f"reachable (HTTP {e.code})"
    except (urllib.error.URLError, OSError, ValueError) as e:
        reason = getattr(e, "reason", e)
        return False, f"endpoint: not reachable ({type(reason).__name__})"


def cmd_check(args: argparse.Namespace) -> int:
    """Validates a settings file with the core's own validation, then the outbox path and (--online) the endpoint."""
    checks: List[Dict[str, Any]] = []
    with open(args.settings, encoding="utf-8") as f:
        try:
            settings = json.load(f)
        except json.JSONDecodeError as e:
            raise convtrack.SettingsError(f"settings: not valid JSON (line {e.lineno})", 300, "invalid_setting", "settings")
    if not isinstance(settings, dict):
        raise convtrack.SettingsError("settings: must be a JSON object", 300, "invalid_setting", "settings")
    outbox = settings.get("outbox_path")
    ok, detail = _check_outbox(outbox if isinstance(outbox, str) else None)
    checks.append({"check": "outbox_path", "ok": ok, "detail": detail})
    summary: Optional[Dict[str, Any]] = None
    # The core validates every setting (pixel id, token when data controls are on, endpoint, ...). It opens (and
    # creates) the outbox; when the path cannot be written, the other settings are still validated without it.
    core_settings = dict(settings, sender="manual")
    if not ok:
        core_settings.pop("outbox_path", None)
    try:
        t = convtrack.Tracker(core_settings)
    except convtrack.ConvtrackError as e:
        checks.append({"check": "settings", "ok": False, "code": e.code_name, "field": e.field, "detail": str(e)})
    else:
        try:
            st = t.status()
            summary = {k: st.get(k) for k in ("pixel_id", "catalog_id", "catalog_name", "mode", "data_controls", "test_event_code")}
            summary["endpoint"] = t.settings.get("endpoint")
        finally:
            t.close()
        checks.append({"check": "settings", "ok": True, "detail": "valid"})
    settings_ok = all(c["ok"] for c in checks)
    if args.online and settings_ok and summary is not None:
        url = summary.get("endpoint") or "https://graph.facebook.com"
        ok, detail = _check_endpoint(str(url), args.timeout)
        checks.append({"check": "endpoint", "ok": ok, "detail": detail})
    code = EXIT_OK if all(c["ok"] for c in checks) else (EXIT_INVALID if not settings_ok else EXIT_ERROR)
    if args.json:
        sys.stdout.write(json.dumps({"ok": code == EXIT_OK, "checks": checks, "settings": summary}, indent=2) + "\n")
    else:
        for c in checks:
            sys.stdout.write(f"{'ok  ' if c['ok'] else 'FAIL'} {c['check']}: {c['detail']}\n")
        if summary is not None:
            sys.stdout.write(
                f"pixel {summary['pixel_id']}  catalog {summary['catalog_name'] or '-'} ({summary['catalog_id'] or '-'})  "
                f"mode {summary['mode']}  data controls: {'ON' if summary['data_controls'] else 'off'}\n"
            )
    return code




def main(argv: Optional[Sequence[str]] = None) -> int:
    args_list = list(sys.argv[1:] if argv is None else argv)
    if args_list[:1] == ["sandbox"]:
        from convtrack.sandbox import main as sandbox_main

        return sandbox_main(args_list[1:])
    parser = argparse.ArgumentParser(
        prog="convtrack",
        description=__doc__.split("\n\n")[0] if __doc__ else None,
        epilog=EXIT_CODES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"convtrack {convtrack.__version__}")
    sub = parser.add_subparsers(dest="command", required=True)
    demo = sub.add_parser("demo", help="track sample orders, deliver them to the embedded sandbox, print what happened")
    demo.add_argument("--json", action="store_true", help="print the results as JSON")
    demo.set_defaults(func=cmd_demo)
    # `convtrack sandbox ...` hands its options to the sandbox's own parser (see below).
    sub.add_parser("sandbox", help="run the sandbox Conversions API receiver on loopback (--host, --port, --token)")
    status = sub.add_parser("status", help="print the status of the outbox named in a settings file")
    status.add_argument("--settings", required=True, help="settings as a JSON file (as for Tracker)")
    status.add_argument("--json", action="store_true", help="print the status document as JSON")
    status.set_defaults(func=cmd_status)
    flush = sub.add_parser("flush", help="deliver queued events now (for cron and shared-nothing runtimes)")
    flush.add_argument("--settings", required=True, help="settings as a JSON file (as for Tracker)")
    flush.add_argument("--timeout", type=float, default=30.0, help="seconds to wait at most (default 30)")
    flush.add_argument("--json", action="store_true", help="print the report as JSON (the default output already is)")
    flush.set_defaults(func=cmd_flush)
    replay = sub.add_parser(
        "replay",
        help="send historic orders (one event-input JSON object per line) through track, then flush",
        epilog=EXIT_CODES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    replay.add_argument("file", help="JSON Lines file, one event input per line")
    replay.add_argument("--settings", required=True, help="settings as a JSON file (needs outbox_path unless --dry-run)")
    replay.add_argument("--dry-run", action="store_true", help="build only: validate and count, queue nothing")
    replay.add_argument("--progress", action="store_true", help="show the progress bar even when stderr is not a terminal")
    replay.add_argument("--timeout", type=float, default=60.0, help="seconds the final flush waits at most (default 60)")
    replay.add_argument("--json", action="store_true", help="print the summary as JSON")
    replay.set_defaults(func=cmd_replay)
    check = sub.add_parser(
        "check",
        help="validate a settings file (core validation, outbox writable, optional endpoint reachability)",
        epilog=EXIT_CODES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    check.add_argument("--settings", required=True, help="settings as a JSON file (as for Tracker)")
    check.add_argument("--online", action="store_true", help="also check that the endpoint answers over HTTP")
    check.add_argument("--timeout", type=float, default=5.0, help="seconds for the --online request (default 5)")
    check.add_argument("--json", action="store_true", help="print the checks as JSON")
    check.set_defaults(func=cmd_check)
    from convtrack.cli_catalog import register as register_catalog  # feed, catalog check

    register_catalog(sub)
    args = parser.parse_args(args_list)
    try:
        code: int = args.func(args)
    except BrokenPipeError:  # e.g. `convtrack demo | head`
        return EXIT_OK
    except (convtrack.SettingsError, convtrack.NotConfiguredError) as e:
        sys.stderr.write(f"convtrack: invalid settings: {e}\n")
        _json_error(args, e)
        return EXIT_INVALID
    except (OSError, ValueError, convtrack.ConvtrackError) as e:
        sys.stderr.write(f"convtrack: {type(e).__name__}: {e}\n")
        _json_error(args, e)
        return EXIT_ERROR
    return code


def _json_error(args: argparse.Namespace, e: BaseException) -> None:
    if getattr(args, "json", False):
        doc = {
            "type": type(e).__name__,
            "code": getattr(e, "code_name", None),
            "field": getattr(e, "field", None),
            "message": str(e),
        }
        sys.stdout.write(json.dumps({"error": doc}) + "\n")


if __name__ == "__main__":
    sys.exit(main())

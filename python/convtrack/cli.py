"""The ``convtrack`` command line.

``convtrack demo`` runs the main job on its embedded default: sample orders go
through ``Tracker.track`` into a durable outbox and are delivered to the
embedded sandbox receiver; it prints, for each, the consent gate's decision,
the event id, the Conversions API payload and the pixel snippet, then the
delivery report, the sandbox's view (received, deduplicated, rejected) and the
status. ``convtrack status`` and ``convtrack flush`` work on a settings file.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from typing import Any, Dict, List, Optional, Sequence, Tuple

import convtrack

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
            endpoint=sandbox.url,
            outbox_path=os.path.join(tmp, "outbox.sqlite3"),
            sender="manual",
        )
        orders = demo_orders(now)
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
        merchant.close()
        if args.json:
            doc = {"results": results, "duplicate_track": again["server"], "flush": report, "status": status, "sandbox": view}
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
        out.write("\n=== Status (the merchant's dashboard)\n" + json.dumps(status, indent=2) + "\n")
    return 0


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
    sys.stdout.write(json.dumps(report) + "\n")
    return 0 if report["remaining"] == 0 and not report["paused"] else 3


def main(argv: Optional[Sequence[str]] = None) -> int:
    args_list = list(sys.argv[1:] if argv is None else argv)
    if args_list[:1] == ["sandbox"]:
        from convtrack.sandbox import main as sandbox_main

        return sandbox_main(args_list[1:])
    parser = argparse.ArgumentParser(prog="convtrack", description=__doc__.split("\n\n")[0] if __doc__ else None)
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
    flush.set_defaults(func=cmd_flush)
    from convtrack.cli_catalog import register as register_catalog  # feed, catalog check

    register_catalog(sub)
    args = parser.parse_args(args_list)
    try:
        code: int = args.func(args)
    except BrokenPipeError:  # e.g. `convtrack demo | head`
        return 0
    except convtrack.SettingsError as e:
        sys.stderr.write(f"convtrack: invalid settings: {e}\n")
        return 2
    except (OSError, ValueError, convtrack.ConvtrackError) as e:
        sys.stderr.write(f"convtrack: {type(e).__name__}: {e}\n")
        return 1
    return code


if __name__ == "__main__":
    sys.exit(main())

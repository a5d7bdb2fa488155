"""The ``convtrack`` command line.

``convtrack demo`` runs the main job on its embedded default: sample orders go
through ``Tracker.build`` and it prints, for each, the consent gate's decision,
the event id, the Conversions API payload and the pixel snippet.
"""

from __future__ import annotations

import argparse
import json
import sys
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
    out = sys.stdout
    now = int(time.time())
    default = convtrack.Tracker(pixel_id=DEMO_PIXEL_ID)
    merchant = convtrack.Tracker(
        pixel_id=DEMO_PIXEL_ID,
        access_token="demo-token-not-a-secret",
        data_controls=True,
        default_country="GB",
        catalog_id="987654321",
        catalog_name="Demo catalog",
    )
    orders = demo_orders(now)
    results: List[Dict[str, Any]] = []
    if args.json:
        for label, order in orders:
            results.append({"label": label, "result": merchant.build(order, now=now)})
        out.write(json.dumps(results, indent=2, ensure_ascii=False) + "\n")
        return 0
    out.write("convtrack demo: sample orders through Tracker.build (pure: nothing is sent)\n")
    out.write(f"merchant settings: {merchant.settings}\n")
    label, first = orders[0]
    _print_result("Default settings (data controls off): " + label, default.build(first, now=now), out)
    for label, order in orders:
        _print_result(label, merchant.build(order, now=now), out)
    out.write("\n=== Bad input gets a typed error that names the field\n")
    bad = dict(orders[0][1], value=float("nan"))
    try:
        merchant.build(bad, now=now)
    except convtrack.ConvtrackError as e:
        out.write(f"{type(e).__name__} [{e.code_name}] field={e.field}: {e}\n")
    return 0


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(prog="convtrack", description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--version", action="version", version=f"convtrack {convtrack.__version__}")
    sub = parser.add_subparsers(dest="command", required=True)
    demo = sub.add_parser("demo", help="run sample orders through Tracker.build and print the results")
    demo.add_argument("--json", action="store_true", help="print the results as JSON")
    demo.set_defaults(func=cmd_demo)
    args = parser.parse_args(argv)
    try:
        code: int = args.func(args)
    except BrokenPipeError:  # e.g. `convtrack demo | head`
        return 0
    return code


if __name__ == "__main__":
    sys.exit(main())

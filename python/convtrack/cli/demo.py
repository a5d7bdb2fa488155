"""``convtrack demo``: the main job on its embedded default.

Sample orders go through ``Tracker.track`` into a durable outbox and are delivered to the
embedded sandbox receiver; it prints, for each, the consent gate's decision, the event id, the
Conversions API payload and the pixel snippet, then the delivery report, the sandbox's view
(received, deduplicated, rejected) and the status.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from typing import Any, Dict, List, Tuple

import convtrack


def register(sub: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    demo = sub.add_parser("demo", help="track sample orders, deliver them to the embedded sandbox, print what happened")
    demo.add_argument("--json", action="store_true", help="print the results as JSON")
    demo.set_defaults(func=cmd_demo)


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

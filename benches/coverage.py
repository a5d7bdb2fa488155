"""Match coverage (not a test): per-field share of the demo's orders whose server copy
(``user_data``) carries each key, in three cases:

- ``as given``: the demo's orders as they are (their browser already has an ``_fbp`` cookie);
- ``first request``: the same orders on a shopper's first request, before any ``_fbp``/``_fbc``
  cookie exists (the ``fbclid`` of the ad click is still in the URL);
- ``+ cookies``: that first request with ``convtrack.first_party_cookies`` applied (as the Django
  middleware does with consent) and ``pixel_advanced_matching`` on.

    .venv/bin/python benches/coverage.py

The share is over all demo orders: an order whose server copy is blocked (denied or unknown
consent) counts as carrying nothing. ``first_party_cookies`` runs only for orders with
marketing consent granted, as in the middleware.
"""

from __future__ import annotations

import time
from typing import Any, Dict, List
from urllib.parse import urlsplit

import convtrack
from convtrack.cli.demo import DEMO_PIXEL_ID, demo_orders

FIELDS = ("em", "ph", "fn", "ln", "ct", "st", "zp", "country", "external_id", "fbp", "fbc",
          "client_ip_address", "client_user_agent")


def tracker(advanced_matching: bool) -> convtrack.Tracker:
    return convtrack.Tracker(pixel_id=DEMO_PIXEL_ID, access_token="coverage-not-a-secret", data_controls=True,
                             default_country="GB", pixel_advanced_matching=advanced_matching)


def first_request(event: Dict[str, Any]) -> Dict[str, Any]:
    browser = {k: v for k, v in (event.get("browser") or {}).items() if k not in ("fbp", "fbc")}
    return dict(event, browser=browser)


def with_cookies(event: Dict[str, Any], random: int) -> Dict[str, Any]:
    if (event.get("consent") or {}).get("marketing") != "granted":
        return event
    browser = dict(event.get("browser") or {})
    url = event.get("event_source_url")
    answer = convtrack.first_party_cookies(
        fbp=browser.get("fbp"), fbc=browser.get("fbc"), fbclid=browser.get("fbclid"), url=url,
        host=urlsplit(url).hostname if url else None, now_ms=event["event_time"] * 1000, random=random,
    )
    browser["fbp"] = answer["fbp"]
    if answer["fbc"] is not None:
        browser["fbc"] = answer["fbc"]
    return dict(event, browser=browser)


def coverage(t: convtrack.Tracker, events: List[Dict[str, Any]]) -> Dict[str, float]:
    counts = dict.fromkeys(FIELDS, 0)
    for event in events:
        payload = t.build(event).get("payload") or {}
        user_data = payload.get("user_data") or {}
        for f in FIELDS:
            counts[f] += f in user_data
    return {f: 100.0 * counts[f] / len(events) for f in FIELDS}


def main() -> None:
    now = int(time.time())
    orders = [event for _, event in demo_orders(now)]
    first = [first_request(e) for e in orders]
    columns = {
        "as given": coverage(tracker(False), orders),
        "first request": coverage(tracker(False), first),
        "+ cookies": coverage(tracker(True), [with_cookies(e, 1_000_000 + i) for i, e in enumerate(first)]),
    }
    sent = sum(1 for e in orders if tracker(False).build(e)["server"] == "send")
    print(f"{len(orders)} demo orders ({sent} with a server copy); share carrying each user_data key (%)")
    print(f"| field | {' | '.join(columns)} |")
    print("|---|" + "---:|" * len(columns))
    for f in FIELDS:
        print(f"| {f} | " + " | ".join(f"{c[f]:.0f}" for c in columns.values()) + " |")


if __name__ == "__main__":
    main()

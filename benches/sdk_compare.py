"""Benchmark (not a test): build the same Purchase with convtrack and with Meta's
own facebook-business SDK (request parameters, normalized and hashed, no network),
in one process, alternating, and print µs/event for each and the ratio. The
SHA-256 floor (10 short hashes with hashlib) is measured in the same run.

    .venv/bin/pip install facebook-business
    .venv/bin/python benches/sdk_compare.py [--rounds 7 --n 2000]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import statistics
import time
from typing import Any, Callable, Dict, List

import convtrack

PIXEL = "1234567890"
NOW = int(time.time()) - 60

CUSTOMER = {
    "email": "Jane.Doe@Example.com",
    "phone": "+44 20 7183 8750",
    "first_name": "Jane",
    "last_name": "Doe",
    "gender": "f",
    "date_of_birth": "19901231",
    "city": "London",
    "state": "ca",
    "zip": "sw1a1aa",
    "country": "GB",
}
ITEMS = [{"id": f"SKU-{k}", "quantity": k + 1, "price": "9.99"} for k in range(5)]
EVENT: Dict[str, Any] = {
    "event_name": "Purchase",
    "event_time": NOW,
    "order_id": "1001",
    "event_source_url": "https://shop.example/checkout/thanks",
    "currency": "EUR",
    "value": "59.90",
    "items": ITEMS,
    "customer": CUSTOMER,
    "browser": {"ip": "203.0.113.7", "user_agent": "Mozilla/5.0", "fbp": "fb.1.1732780000000.1"},
    "consent": {"marketing": "granted"},
}


def convtrack_build(payload: str = "dict", server_only: bool = False) -> Callable[[], Any]:
    t = convtrack.Tracker(pixel_id=PIXEL, access_token="t", data_controls=True, sender="manual")
    if server_only:
        return lambda: t.build(EVENT, payload=payload, server_only=True)
    return lambda: t.build(EVENT, payload=payload)


def sdk_build() -> Callable[[], Any]:
    from facebook_business.adobjects.serverside.action_source import ActionSource
    from facebook_business.adobjects.serverside.content import Content
    from facebook_business.adobjects.serverside.custom_data import CustomData
    from facebook_business.adobjects.serverside.event import Event
    from facebook_business.adobjects.serverside.event_request import EventRequest
    from facebook_business.adobjects.serverside.gender import Gender
    from facebook_business.adobjects.serverside.user_data import UserData
    from facebook_business.api import FacebookAdsApi

    FacebookAdsApi.init(access_token="t")

    def build() -> Any:
        user = UserData(
            emails=[CUSTOMER["email"]], phones=[CUSTOMER["phone"]], first_names=[CUSTOMER["first_name"]],
            last_names=[CUSTOMER["last_name"]], genders=[Gender.FEMALE], dates_of_birth=[CUSTOMER["date_of_birth"]],
            cities=[CUSTOMER["city"]], states=[CUSTOMER["state"]], zip_codes=[CUSTOMER["zip"]],
            country_codes=[CUSTOMER["country"]], client_ip_address="203.0.113.7", client_user_agent="Mozilla/5.0",
            fbp="fb.1.1732780000000.1",
        )
        custom = CustomData(
            value=59.90, currency="eur", order_id="1001", content_type="product", num_items=15,
            content_ids=[i["id"] for i in ITEMS],
            contents=[Content(product_id=i["id"], quantity=i["quantity"], item_price=9.99) for i in ITEMS],
        )
        event = Event(
            event_name="Purchase", event_time=NOW, event_id="ct1-x", user_data=user, custom_data=custom,
            event_source_url="https://shop.example/checkout/thanks", action_source=ActionSource.WEBSITE,
        )
        return EventRequest(events=[event], pixel_id=PIXEL).get_params()

    return build


SHORT = ["jane.doe@example.com", "442071838750", "jane", "doe", "f", "19901231", "london", "ca", "sw1a1aa", "gb"]


def floor() -> None:
    for s in SHORT:
        hashlib.sha256(s.encode()).hexdigest()


def per_call(fn: Callable[[], Any], n: int) -> float:
    t0 = time.perf_counter()
    for _ in range(n):
        fn()
    return (time.perf_counter() - t0) / n * 1e6


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=7)
    ap.add_argument("--n", type=int, default=2000)
    args = ap.parse_args()
    ours, ours_text, theirs = convtrack_build(), convtrack_build("json"), sdk_build()
    # The SDK builds only the request parameters; so does server_only=True (no pixel
    # snippet). The two full builds above also render the browser snippet.
    ours_server = convtrack_build("json", server_only=True)
    # All produce the same hashed email: the comparison is like for like. The SDK's
    # request parameters carry each event as JSON text; so does payload="json".
    em = hashlib.sha256(b"jane.doe@example.com").hexdigest()
    assert ours()["payload"]["user_data"]["em"] == [em]
    assert json.loads(ours_text()["payload"])["user_data"]["em"] == [em]
    assert ours_server()["payload"] == ours_text()["payload"] and ours_server()["pixel_html"] == ""
    assert json.loads(theirs()["data"][0])["user_data"]["em"] == [em]  # the SDK serializes each event
    results: Dict[str, List[float]] = {
        "convtrack (payload dict)": [],
        "convtrack (payload json)": [],
        "convtrack (server_only)": [],
        "facebook-business": [],
        "sha256 floor": [],
    }
    for fn in (ours, ours_text, ours_server, theirs, floor):
        per_call(fn, 200)  # warm-up
    for _ in range(args.rounds):
        results["convtrack (payload dict)"].append(per_call(ours, args.n))
        results["convtrack (payload json)"].append(per_call(ours_text, args.n))
        results["convtrack (server_only)"].append(per_call(ours_server, args.n))
        results["facebook-business"].append(per_call(theirs, args.n // 4))
        results["sha256 floor"].append(per_call(floor, args.n))
    import facebook_business

    print(f"Purchase with 10 customer fields and 5 items; best and median of {args.rounds} alternating rounds")
    print(f"convtrack {convtrack.__version__}, facebook-business {facebook_business.__version__}")
    print(f"{'':26}{'best µs':>10}{'median µs':>12}")
    for name, xs in results.items():
        print(f"{name:26}{min(xs):10.1f}{statistics.median(xs):12.1f}")
    sdk = min(results["facebook-business"])
    for label, key in (
        ("payload=dict", "convtrack (payload dict)"),
        ("payload=json", "convtrack (payload json)"),
        ("payload=json server_only", "convtrack (server_only)"),
    ):
        print(f"RATIO facebook-business / convtrack {label} (best): {sdk / min(results[key]):.1f}x")
    floor_best = min(results["sha256 floor"])
    print(f"RATIO convtrack payload=json / sha256 floor (best): {min(results['convtrack (payload json)']) / floor_best:.1f}x")

if __name__ == "__main__":
    main()

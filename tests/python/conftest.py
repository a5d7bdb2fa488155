import json
import pathlib
import time
from typing import Any, Dict

import pytest

REPO = pathlib.Path(__file__).resolve().parents[2]
PIXEL = "1234567890"


@pytest.fixture
def now() -> int:
    return int(time.time())


@pytest.fixture
def golden_event_ids() -> Dict[str, Any]:
    return json.loads((REPO / "tests" / "vectors" / "event_ids.json").read_text())


@pytest.fixture
def purchase(now: int) -> Dict[str, Any]:
    return {
        "event_name": "Purchase",
        "event_time": now - 60,
        "order_id": "1001",
        "event_source_url": "https://shop.example/checkout/thanks",
        "currency": "EUR",
        "value": "59.90",
        "items": [{"id": "SKU-1", "quantity": 2, "price": "19.95", "title": "</script><script>alert(1)</script>"}],
        "customer": {"email": "  Sentinel.Person@Example.COM ", "phone": "020 7183 8750", "country": "GB"},
        "browser": {"ip": "203.0.113.7", "user_agent": "Mozilla/5.0 (sentinel-ua)", "fbp": "fb.1.1732780000000.1"},
        "consent": {"marketing": "granted"},
    }

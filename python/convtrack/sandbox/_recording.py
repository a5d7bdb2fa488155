"""What the sandbox saw: the accepted events and the API request log (bounded), the dedup memory
of (event_name, event_id) pairs from the server and from the pixel (bounded), and exact counters."""

from __future__ import annotations

import copy
import hashlib
from collections import OrderedDict, deque
from typing import Any, Deque, Dict, List


def _pair_key(event_name: str, event_id: str) -> bytes:
    """A fixed-size digest of (event_name, event_id) for the dedup memory, whatever their length."""
    name = event_name.encode("utf-8", "surrogatepass")
    return hashlib.blake2b(len(name).to_bytes(8, "big") + name + event_id.encode("utf-8", "surrogatepass"),
                           digest_size=16).digest()


class _Recorder:
    """The latest ``max_records`` events and requests, ``10 * max_records`` dedup pairs per side,
    and counters that count everything. Not locked itself: the sandbox holds its lock around
    every call."""

    def __init__(self, max_records: int) -> None:
        self._max_keys = 10 * max_records
        # Recorded data, bounded: the latest max_records of each (deque(maxlen) drops the oldest).
        self.events: Deque[Dict[str, Any]] = deque(maxlen=max_records)
        self.requests: Deque[Dict[str, Any]] = deque(maxlen=max_records)
        # Dedup memory: digests of (event_name, event_id), oldest first, at most _max_keys each.
        self.keys: "OrderedDict[bytes, None]" = OrderedDict()
        self.pixel: "OrderedDict[bytes, None]" = OrderedDict()
        self._zero_counters()

    def _zero_counters(self) -> None:
        # Exact counters (the lists above forget; these do not).
        self.request_count = 0
        self.received = 0
        self.unique = 0
        self.deduplicated = 0
        self.pixel_count = 0
        self.rejected_events = 0
        self.accepted_requests = 0

    def reset(self) -> None:
        self.events.clear()
        self.requests.clear()
        self.keys.clear()
        self.pixel.clear()
        self._zero_counters()

    def received_events(self) -> List[Dict[str, Any]]:
        return copy.deepcopy(list(self.events))

    def request_log(self) -> List[Dict[str, Any]]:
        return [dict(r) for r in self.requests]

    def counters(self) -> Dict[str, Any]:
        return {
            "requests": self.request_count,
            "accepted_requests": self.accepted_requests,
            "rejected_requests": self.request_count - self.accepted_requests,
            "received": self.received,
            "unique": self.unique,
            "duplicates": self.received - self.unique,
            "rejected_events": self.rejected_events,
            "pixel": self.pixel_count,
            "deduplicated_with_pixel": self.deduplicated,
        }

    def pixel_sent(self, key: bytes) -> None:
        """The browser pixel sent the pair with this ``_pair_key``."""
        self.pixel_count += 1
        if self._remember(self.pixel, key) and key in self.keys:
            self.deduplicated += 1

    def _remember(self, keys: "OrderedDict[bytes, None]", key: bytes) -> bool:
        """Adds key to a bounded dedup memory (the oldest forgotten first); True if it was new."""
        if key in keys:
            return False
        keys[key] = None
        if len(keys) > self._max_keys:
            keys.popitem(last=False)
        return True

    def record(self, record: Dict[str, Any], events: List[Dict[str, Any]]) -> None:
        """Logs one API request; counts its events as accepted (and remembers their pairs) or rejected."""
        self.requests.append(record)
        self.request_count += 1
        if record["status"] == 200 and record["fault"] in (None, "slow") and record.get("catalog_items"):
            self.accepted_requests += 1
        elif record["status"] == 200 and record["fault"] in (None, "slow") and events:
            self.accepted_requests += 1
            for e in events:
                self.events.append(e)
                self.received += 1
                eid = e.get("event_id")
                if not isinstance(eid, str):
                    self.unique += 1  # without event_id an event is never a duplicate
                    continue
                key = _pair_key(e["event_name"], eid)
                if self._remember(self.keys, key):
                    self.unique += 1
                    if key in self.pixel:
                        self.deduplicated += 1
        else:
            self.rejected_events += int(record["events"])

"""Live catalog updates: what ``POST /{version}/{catalog_id}/items_batch`` accepts, and the
sandbox's copy of the catalogs those updates leave."""

from __future__ import annotations

import copy
import re
from collections import OrderedDict
from typing import Any, Dict, List, Optional, Tuple

from convtrack.sandbox._graph import _Invalid
from convtrack.sandbox._values import _nonempty_str

#: Most requests one items_batch call may carry.
MAX_CATALOG_REQUESTS = 5000
#: Fields a catalog item needs when it is created.
CATALOG_REQUIRED = ("title", "description", "availability", "condition", "price", "link", "image_link", "brand")
CATALOG_AVAILABILITY = frozenset({"in stock", "out of stock", "preorder", "available for order", "discontinued"})
CATALOG_CONDITION = frozenset({"new", "refurbished", "used"})
#: Meta's length limits for item text fields (characters).
CATALOG_MAX_LEN = {"title": 200, "description": 9999}

_PRICE = re.compile(r"\d+(\.\d{1,2})? [A-Z]{3}")


def _item_errors(method: str, data: Dict[str, Any], existing: Optional[Dict[str, Any]]) -> List[str]:
    """What is wrong with one catalog change (empty: fine). Messages name fields, never values."""
    if method == "DELETE":
        return []
    errors: List[str] = []
    if existing is None and method in ("CREATE", "UPDATE"):
        errors += [f"missing required field {f}" for f in CATALOG_REQUIRED if f not in data]
    for key, value in data.items():
        if not isinstance(key, str) or not key:
            errors.append("field names must be non-empty strings")
        elif key == "price" or key == "sale_price":
            if not isinstance(value, str) or not _PRICE.fullmatch(value):
                errors.append(f"{key} must look like '12.34 EUR'")
        elif key == "availability" and value not in CATALOG_AVAILABILITY:
            errors.append("availability is not one of Meta's values")
        elif key == "condition" and value not in CATALOG_CONDITION:
            errors.append("condition is not one of Meta's values")
        elif key in ("link", "image_link") and not (isinstance(value, str) and re.match(r"https?://[^\s/]+", value)):
            errors.append(f"{key} must be an absolute http(s) URL")
        elif key in CATALOG_MAX_LEN and (not isinstance(value, str) or len(value) > CATALOG_MAX_LEN[key]):
            errors.append(f"{key} must be a string of at most {CATALOG_MAX_LEN[key]} characters")
    return errors


def _validate_items_batch(body: Any) -> List[Tuple[str, str, Dict[str, Any]]]:
    """The (method, retailer id, data) changes of an items_batch body; raises _Invalid for the whole request."""
    if not isinstance(body, dict):
        raise _Invalid("invalid_body", "the request body must be a JSON object")
    if body.get("item_type") != "PRODUCT_ITEM":
        raise _Invalid("invalid_parameter", "item_type must be PRODUCT_ITEM")
    requests = body.get("requests")
    if not isinstance(requests, list) or not requests:
        raise _Invalid("invalid_parameter", "requests must be a non-empty array")
    if len(requests) > MAX_CATALOG_REQUESTS:
        raise _Invalid("too_many_events", f"at most {MAX_CATALOG_REQUESTS} requests per call")
    out: List[Tuple[str, str, Dict[str, Any]]] = []
    for i, r in enumerate(requests):
        if not isinstance(r, dict) or r.get("method") not in ("CREATE", "UPDATE", "DELETE"):
            raise _Invalid("invalid_parameter", f"requests[{i}].method must be CREATE, UPDATE or DELETE")
        data = r.get("data")
        if not isinstance(data, dict) or not _nonempty_str(data.get("id")):
            raise _Invalid("invalid_parameter", f"requests[{i}].data.id must be a non-empty string")
        out.append((r["method"], data["id"], data))
    return out


class _CatalogStore:
    """The catalogs as live updates left them, bounded: at most ``max_records`` items in all, the
    item written longest ago dropped first. Not locked itself: the sandbox holds its lock around
    every call."""

    def __init__(self, max_records: int) -> None:
        self.max_records = max_records
        self.items: Dict[str, Dict[str, Dict[str, Any]]] = {}
        self.order: "OrderedDict[Tuple[str, str], None]" = OrderedDict()
        self.counts = {"requests": 0, "updates": 0, "deletes": 0, "refused": 0}
        self.refuse: Dict[str, str] = {}

    def reset(self) -> None:
        self.items.clear()
        self.order.clear()
        self.counts = dict.fromkeys(self.counts, 0)
        self.refuse.clear()

    def snapshot(self) -> Dict[str, Any]:
        return {"items": copy.deepcopy(self.items), **self.counts}

    def apply(self, catalog_id: str, changes: List[Tuple[str, str, Dict[str, Any]]]) -> List[Dict[str, Any]]:
        """Applies the valid changes; returns the validation status of the refused ones."""
        status: List[Dict[str, Any]] = []
        items = self.items.setdefault(catalog_id, {})
        self.counts["requests"] += 1
        for method, rid, data in changes:
            errors = _item_errors(method, data, items.get(rid))
            if rid in self.refuse:
                errors.append(self.refuse[rid])
            if errors:
                self.counts["refused"] += 1
                status.append({"retailer_id": rid, "errors": [{"message": m} for m in errors], "warnings": []})
            elif method == "DELETE":
                items.pop(rid, None)
                self.order.pop((catalog_id, rid), None)
                self.counts["deletes"] += 1
            else:
                merged = dict(items.get(rid, {})) if method == "UPDATE" else {}
                merged.update(data)
                items[rid] = merged
                self.counts["updates"] += 1
                # Bounded: the item written longest ago goes first.
                self.order[(catalog_id, rid)] = None
                self.order.move_to_end((catalog_id, rid))
                while len(self.order) > self.max_records:
                    (old_catalog, old_rid), _ = self.order.popitem(last=False)
                    self.items[old_catalog].pop(old_rid, None)
                    if not self.items[old_catalog] and old_catalog != catalog_id:
                        del self.items[old_catalog]
        return status

"""The Conversions API rules: what ``POST /{version}/{pixel_id}/events`` accepts, checked as Meta does.

One invalid event rejects the whole request; the error names the field, never its value.
"""

from __future__ import annotations

import re
from typing import Any, Dict, List, cast

from convtrack.sandbox._graph import _Invalid
from convtrack.sandbox._values import _is_int, _is_number, _nonempty_str

#: Most events one request may carry.
MAX_EVENTS = 1000
#: How old an event may be (seconds).
MAX_AGE_SECONDS = 7 * 24 * 3600
#: How far in the future an event may be (seconds; clock skew).
MAX_FUTURE_SECONDS = 600

#: Keys of ``user_data`` that must be SHA-256 digests, as lists.
HASHED_KEYS = ("em", "ph", "fn", "ln", "ge", "db", "ct", "st", "zp", "country", "external_id")
#: Keys of ``user_data`` that are sent in clear, as strings.
CLEAR_KEYS = ("client_ip_address", "client_user_agent", "fbc", "fbp")
#: Accepted ``action_source`` values.
ACTION_SOURCES = frozenset(
    {"website", "app", "email", "phone_call", "chat", "physical_store", "system_generated", "business_messaging", "other"}
)

#: Accepted ``custom_data.delivery_category`` values.
DELIVERY_CATEGORIES = frozenset({"in_store", "curbside", "home_delivery"})
#: Accepted ``custom_data.customer_segmentation`` values (the Conversions API parameter reference).
CUSTOMER_SEGMENTATIONS = frozenset(
    {
        "new_customer_to_business",
        "new_customer_to_business_line",
        "new_customer_to_product_area",
        "new_customer_to_medium",
        "existing_customer_to_business",
        "existing_customer_to_business_line",
        "existing_customer_to_product_area",
        "existing_customer_to_medium",
        "customer_in_loyalty_program",
    }
)

_HEX64 = re.compile(r"[0-9a-f]{64}")
_CURRENCY = re.compile(r"[A-Za-z]{3}")


def _validate_event(event: Any, where: str, now: float) -> None:
    """Checks one Conversions API event; raises ``_Invalid`` naming the field (never its value)."""
    if not isinstance(event, dict):
        raise _Invalid("invalid_data", f"{where} must be an object")
    if not _nonempty_str(event.get("event_name")):
        raise _Invalid("invalid_event_name", f"{where}.event_name is required and must be a non-empty string")
    if not _is_int(event.get("event_time")):
        raise _Invalid("invalid_event_time", f"{where}.event_time is required and must be an integer (Unix seconds)")
    t = cast(int, event["event_time"])
    if t < now - MAX_AGE_SECONDS:
        raise _Invalid("event_time_too_old", f"{where}.event_time is more than 7 days in the past")
    if t > now + MAX_FUTURE_SECONDS:
        raise _Invalid("event_time_in_future", f"{where}.event_time is more than 10 minutes in the future")
    source = event.get("action_source")
    if not isinstance(source, str) or source not in ACTION_SOURCES:
        raise _Invalid(
            "invalid_action_source",
            f"{where}.action_source is required and must be one of: {', '.join(sorted(ACTION_SOURCES))}",
        )
    if "event_id" in event and not _nonempty_str(event["event_id"]):
        raise _Invalid("invalid_event_id", f"{where}.event_id must be a non-empty string")
    if "event_source_url" in event and not _nonempty_str(event["event_source_url"]):
        raise _Invalid("missing_event_source_url", f"{where}.event_source_url must be a non-empty string")
    if source == "website" and "event_source_url" not in event:
        raise _Invalid("missing_event_source_url", f"{where}.event_source_url is required for website events")

    ud = event.get("user_data")
    if not isinstance(ud, dict) or not ud:
        raise _Invalid("invalid_user_data", f"{where}.user_data is required and must be a non-empty object")
    for key in HASHED_KEYS:
        if key in ud:
            v = ud[key]
            if not isinstance(v, list) or not v or not all(isinstance(d, str) and _HEX64.fullmatch(d) for d in v):
                raise _Invalid(
                    "invalid_hashed_field",
                    f"{where}.user_data.{key} must be a non-empty list of SHA-256 digests "
                    "(64 lowercase hexadecimal characters); hash it after normalization",
                )
    for key in CLEAR_KEYS:
        if key in ud and not _nonempty_str(ud[key]):
            raise _Invalid("invalid_user_data_field", f"{where}.user_data.{key} must be a non-empty string")
    if source == "website" and "client_user_agent" not in ud:
        raise _Invalid("missing_client_user_agent", f"{where}.user_data.client_user_agent is required for website events")

    if "custom_data" in event:
        cd = event["custom_data"]
        if not isinstance(cd, dict):
            raise _Invalid("invalid_custom_data", f"{where}.custom_data must be an object")
        for key in ("value", "net_revenue", "predicted_ltv"):
            if key in cd and not _is_number(cd[key]):
                raise _Invalid("invalid_value", f"{where}.custom_data.{key} must be a number")
        for key, allowed in (("delivery_category", DELIVERY_CATEGORIES), ("customer_segmentation", CUSTOMER_SEGMENTATIONS)):
            if key in cd and not (isinstance(cd[key], str) and cd[key] in allowed):
                raise _Invalid("invalid_custom_data", f"{where}.custom_data.{key} must be one of: {', '.join(sorted(allowed))}")
        if "currency" in cd and not (isinstance(cd["currency"], str) and _CURRENCY.fullmatch(cd["currency"])):
            raise _Invalid("invalid_currency", f"{where}.custom_data.currency must be a 3-letter ISO 4217 code")
        if "content_ids" in cd and not isinstance(cd["content_ids"], list):
            raise _Invalid("invalid_custom_data", f"{where}.custom_data.content_ids must be a list")
        if "contents" in cd:
            contents = cd["contents"]
            if not isinstance(contents, list) or not all(isinstance(c, dict) for c in contents):
                raise _Invalid("invalid_custom_data", f"{where}.custom_data.contents must be a list of objects")
        if "num_items" in cd and not _is_int(cd["num_items"]):
            raise _Invalid("invalid_custom_data", f"{where}.custom_data.num_items must be an integer")

    if "opt_out" in event and not isinstance(event["opt_out"], bool):
        raise _Invalid("invalid_parameter", f"{where}.opt_out must be a boolean")
    if "data_processing_options" in event:
        dpo = event["data_processing_options"]
        if not isinstance(dpo, list) or not all(isinstance(x, str) for x in dpo):
            raise _Invalid("invalid_parameter", f"{where}.data_processing_options must be a list of strings")
    for key in ("data_processing_options_country", "data_processing_options_state"):
        if key in event and not _is_int(event[key]):
            raise _Invalid("invalid_parameter", f"{where}.{key} must be an integer")


def _validate_body(body: Any, now: float) -> List[Dict[str, Any]]:
    """Checks a request body; returns its events or raises ``_Invalid`` for the first problem."""
    if not isinstance(body, dict):
        raise _Invalid("invalid_body", "the request body must be a JSON object")
    for key in ("test_event_code", "partner_agent", "access_token"):
        if key in body and not isinstance(body[key], str):
            raise _Invalid("invalid_body", f"{key} must be a string")
    data = body.get("data")
    if not isinstance(data, list) or not data:
        raise _Invalid("invalid_data", "data is required and must be a non-empty list of events")
    if len(data) > MAX_EVENTS:
        raise _Invalid("too_many_events", f"data holds {len(data)} events; at most {MAX_EVENTS} per request")
    for i, event in enumerate(data):
        _validate_event(event, f"data[{i}]", now)
    return cast(List[Dict[str, Any]], data)

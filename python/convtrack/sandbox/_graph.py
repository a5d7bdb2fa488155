"""Graph API errors: every error the sandbox answers with, and Meta's error body."""

from __future__ import annotations

import secrets
from typing import Any, Dict, Optional, Tuple

# Every error the sandbox answers with: rule -> (HTTP status, Graph code, error_subcode, error_user_title).
# 2804003 (too old), 2804004 (in the future) and 2804019 (bad hashed key) are the ones client code
# is expected to recognise; code 190 pauses delivery; the other subcodes are the sandbox's own
# choice (all code 100: invalid parameter, never retried).
ERRORS: Dict[str, Tuple[int, int, int, str]] = {
    "invalid_body": (400, 100, 2804001, "Invalid Request Body"),
    "invalid_data": (400, 100, 2804002, "Invalid Data Parameter"),
    "event_time_too_old": (400, 100, 2804003, "Event Timestamp Too Old"),
    "event_time_in_future": (400, 100, 2804004, "Event Timestamp In The Future"),
    "too_many_events": (400, 100, 2804005, "Too Many Events"),
    "invalid_event_name": (400, 100, 2804006, "Invalid Event Name"),
    "invalid_event_time": (400, 100, 2804007, "Invalid Event Timestamp"),
    "invalid_action_source": (400, 100, 2804008, "Invalid Action Source"),
    "missing_event_source_url": (400, 100, 2804009, "Missing Event Source URL"),
    "invalid_event_id": (400, 100, 2804010, "Invalid Event ID"),
    "invalid_user_data": (400, 100, 2804011, "Invalid User Data"),
    "missing_client_user_agent": (400, 100, 2804012, "Missing Client User Agent"),
    "invalid_user_data_field": (400, 100, 2804013, "Invalid User Data Parameter"),
    "invalid_custom_data": (400, 100, 2804014, "Invalid Custom Data"),
    "invalid_value": (400, 100, 2804015, "Invalid Value Parameter"),
    "invalid_currency": (400, 100, 2804017, "Invalid Currency Code"),
    "invalid_hashed_field": (400, 100, 2804019, "User Parameter Not Hashed"),
    "invalid_parameter": (400, 100, 2804020, "Invalid Parameter"),
    "token_in_query": (400, 100, 2804021, "Access Token In Query String"),
    "wrong_api_version": (400, 100, 2804022, "Unsupported API Version"),
    "unsupported_method": (400, 100, 2804023, "Unsupported Request Method"),
    "body_too_large": (413, 100, 2804024, "Request Too Large"),
    "unsupported_media_type": (415, 100, 2804025, "Unsupported Content Type"),
    "forbidden_host": (403, 100, 2804026, "Forbidden Host"),
    "unknown_path": (404, 100, 33, "Unknown Path"),
    "missing_token": (401, 190, 467, "Missing Access Token"),
    "invalid_token": (401, 190, 467, "Invalid Access Token"),
    # The pixel object (GET /{version}/{pixel_id}): Meta answers a bad token with a 400 there.
    "pixel_invalid_token": (400, 190, 467, "Invalid Access Token"),
    "unknown_object": (400, 100, 33, "Unsupported Get Request"),
}


class _Invalid(Exception):
    """A request the sandbox rejects: the rule (a key of ERRORS) and a message naming the field."""

    def __init__(self, rule: str, detail: str) -> None:
        super().__init__(detail)
        self.rule = rule
        self.detail = detail


def _fbtrace_id() -> str:
    return "A" + secrets.token_urlsafe(16)


def _graph_error(
    message: str,
    code: int,
    subcode: Optional[int],
    is_transient: bool,
    title: str,
    user_msg: str,
    type_: str = "OAuthException",
) -> Dict[str, Any]:
    return {
        "error": {
            "message": message,
            "type": type_,
            "code": code,
            "error_subcode": subcode,
            "is_transient": is_transient,
            "error_user_title": title,
            "error_user_msg": user_msg,
            "fbtrace_id": _fbtrace_id(),
        }
    }


def _rule_error(rule: str, detail: str) -> Tuple[int, Dict[str, Any]]:
    status, code, subcode, title = ERRORS[rule]
    if rule == "unknown_object":  # Meta's own words and type for an object it will not show
        return status, _graph_error(detail, code, subcode, False, title, detail, "GraphMethodException")
    return status, _graph_error(f"Invalid parameter: {detail}" if code == 100 else detail, code, subcode, False, title, detail)

"""The sandbox receiver (convtrack.sandbox), driven over real HTTP on loopback with urllib."""

import copy
import hashlib
import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request

import pytest

from convtrack.sandbox import CUSTOMER_SEGMENTATIONS, DELIVERY_CATEGORIES, ERRORS, MAX_AGE_SECONDS, MAX_BODY_BYTES, MAX_FAULTS, MAX_RECORDS, Sandbox

TOKEN = "sandbox-token"
PIXEL = "1234567890"
TIMEOUT = 10
NOW = 1_750_000_000  # the sandbox's clock in most tests


def h(s):
    return hashlib.sha256(s.encode()).hexdigest()


def event(i=1, **extra):
    e = {
        "event_name": "Purchase",
        "event_time": NOW - 60,
        "event_id": f"evt-{i}",
        "action_source": "website",
        "event_source_url": "https://shop.example/checkout/thanks",
        "user_data": {
            "em": [h(f"sentinel{i}@example.com")],
            "ph": [h("442071838750")],
            "country": [h("gb")],
            "client_ip_address": "203.0.113.7",
            "client_user_agent": "Mozilla/5.0",
            "fbp": "fb.1.1732780000000.7",
        },
        "custom_data": {
            "value": 19.9,
            "currency": "EUR",
            "content_ids": ["SKU-1"],
            "contents": [{"id": "SKU-1", "quantity": 1, "item_price": 19.9}],
            "content_type": "product",
            "order_id": f"o-{i}",
            "num_items": 1,
        },
    }
    e.update(extra)
    return e


@pytest.fixture
def sb():
    with Sandbox(token=TOKEN, now=lambda: float(NOW)) as s:
        yield s


def request(url, body=None, method=None, headers=None, raw=None, timeout=TIMEOUT):
    """Returns (status, parsed JSON or raw bytes)."""
    data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
    req = urllib.request.Request(url, data=data, method=method or ("POST" if data is not None else "GET"))
    if data is not None:
        req.add_header("Content-Type", "application/json")
    for k, v in (headers or {}).items():
        req.add_header(k, v)
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            status, text = r.status, r.read()
    except urllib.error.HTTPError as e:
        status, text = e.code, e.read()
    try:
        return status, json.loads(text)
    except ValueError:
        return status, text


def events_url(sb, version="v27.0", pixel=PIXEL):
    return f"{sb.url}/{version}/{pixel}/events"


def send(sb, events, token=TOKEN, where="header", **body_extra):
    body = {"data": events, **body_extra}
    headers = {}
    if where == "header":
        headers["Authorization"] = f"Bearer {token}"
    elif where == "body":
        body["access_token"] = token
    return request(events_url(sb), body, headers=headers)


def control(url, body=None, method=None, headers=None, raw=None, token=TOKEN, timeout=TIMEOUT):
    """A /_sandbox/ control request with the secret: the sandbox token as a bearer token."""
    return request(url, body, method=method, headers={"Authorization": f"Bearer {token}", **(headers or {})},
                   raw=raw, timeout=timeout)


def assert_graph_error(doc, code, subcode=None, transient=False):
    err = doc["error"]
    assert set(err) == {
        "message", "type", "code", "error_subcode", "is_transient", "error_user_title", "error_user_msg", "fbtrace_id",
    }
    assert err["type"] == "OAuthException"
    assert err["code"] == code
    if subcode is not None:
        assert err["error_subcode"] == subcode
    assert err["is_transient"] is transient
    assert isinstance(err["fbtrace_id"], str) and err["fbtrace_id"]
    return err


# --- success ------------------------------------------------------------------------------------


def test_success_body_shape_and_recording(sb):
    evs = [event(1), event(2)]
    status, doc = send(sb, evs, test_event_code="TEST123", partner_agent="convtrack-test")
    assert status == 200
    assert set(doc) == {"events_received", "messages", "fbtrace_id"}
    assert doc["events_received"] == 2 and doc["messages"] == []
    assert isinstance(doc["fbtrace_id"], str) and len(doc["fbtrace_id"]) >= 10
    assert sb.received() == evs
    req = sb.requests()[-1]
    assert req["path"] == f"/v27.0/{PIXEL}/events"
    assert (req["status"], req["events"], req["fault"], req["auth"]) == (200, 2, None, "header")
    assert (req["test_event_code"], req["partner_agent"]) == ("TEST123", "convtrack-test")
    st = sb.stats()
    assert (st["requests"], st["accepted_requests"], st["rejected_requests"]) == (1, 1, 0)
    assert (st["received"], st["unique"], st["duplicates"], st["rejected_events"]) == (2, 2, 0, 0)


def test_fbtrace_ids_differ(sb):
    a = send(sb, [event(1)])[1]["fbtrace_id"]
    b = send(sb, [event(2)])[1]["fbtrace_id"]
    assert a != b


def test_received_is_a_copy(sb):
    send(sb, [event(1)])
    sb.received()[0]["event_name"] = "Changed"
    assert sb.received()[0]["event_name"] == "Purchase"


def test_non_website_events_need_no_url_or_user_agent(sb):
    e = event(1, action_source="physical_store")
    del e["event_source_url"]
    del e["user_data"]["client_user_agent"]
    e.pop("custom_data")
    assert send(sb, [e])[0] == 200


def test_optional_fields_accepted(sb):
    e = event(1, opt_out=False, data_processing_options=["LDU"],
              data_processing_options_country=1, data_processing_options_state=1000)
    del e["event_id"]
    assert send(sb, [e])[0] == 200
    e["custom_data"]["value"] = 20  # integers are numbers too
    assert send(sb, [e])[0] == 200


def test_event_time_boundaries(sb):
    assert send(sb, [event(1, event_time=NOW - MAX_AGE_SECONDS)])[0] == 200
    assert send(sb, [event(2, event_time=NOW + 300)])[0] == 200


def test_thousand_events_accepted(sb):
    status, doc = send(sb, [event(i) for i in range(1000)])
    assert (status, doc["events_received"]) == (200, 1000)
    assert sb.stats()["unique"] == 1000


# --- tokens -------------------------------------------------------------------------------------


def test_token_in_body(sb):
    status, doc = send(sb, [event(1)], where="body")
    assert status == 200 and doc["events_received"] == 1
    assert sb.requests()[-1]["auth"] == "body"


@pytest.mark.parametrize("where", ["header", "body"])
def test_wrong_token_is_401_code_190(sb, where):
    status, doc = send(sb, [event(1)], token="wrong-token-sentinel", where=where)
    assert status == 401
    err = assert_graph_error(doc, 190)
    assert "wrong-token-sentinel" not in json.dumps(doc)
    assert err["message"]
    assert sb.received() == []
    assert sb.requests()[-1]["auth"] == where


def test_missing_token_is_401_code_190(sb):
    status, doc = send(sb, [event(1)], where=None)
    assert status == 401
    assert_graph_error(doc, 190)
    assert sb.requests()[-1]["auth"] is None
    assert sb.received() == []


def test_token_in_query_string_rejected_and_not_logged(sb):
    url = events_url(sb) + f"?access_token={TOKEN}"
    status, doc = request(url, {"data": [event(1)]}, headers={"Authorization": f"Bearer {TOKEN}"})
    assert status == 400
    err = assert_graph_error(doc, 100)
    assert "query string" in err["message"]
    assert TOKEN not in json.dumps(doc)
    assert sb.received() == []
    assert TOKEN not in json.dumps(sb.requests())
    assert sb.requests()[-1]["path"] == f"/v27.0/{PIXEL}/events"


def test_bearer_scheme_is_case_insensitive(sb):
    status, _ = request(events_url(sb), {"data": [event(1)]}, headers={"Authorization": f"bearer {TOKEN}"})
    assert status == 200


# --- validation ---------------------------------------------------------------------------------

SENTINEL = "SENTINEL-VALUE-7f3a"


def without(path):
    def mutate(e):
        *head, last = path
        target = e
        for k in head:
            target = target[k]
        del target[last]

    return mutate


def setting(path, value):
    def mutate(e):
        *head, last = path
        target = e
        for k in head:
            target = target[k]
        target[last] = value

    return mutate


SUB = {rule: sub for rule, (_, _, sub, _) in ERRORS.items()}

INVALID = [
    ("no event_name", without(["event_name"]), "invalid_event_name", "event_name"),
    ("empty event_name", setting(["event_name"], ""), "invalid_event_name", "event_name"),
    ("event_name not a string", setting(["event_name"], 5), "invalid_event_name", "event_name"),
    ("no event_time", without(["event_time"]), "invalid_event_time", "event_time"),
    ("event_time a string", setting(["event_time"], SENTINEL), "invalid_event_time", "event_time"),
    ("event_time a float", setting(["event_time"], NOW - 60.5), "invalid_event_time", "event_time"),
    ("event_time a bool", setting(["event_time"], True), "invalid_event_time", "event_time"),
    ("event_time 8 days old", setting(["event_time"], NOW - 8 * 86400), "event_time_too_old", "event_time"),
    ("event_time 7 days + 1 s old", setting(["event_time"], NOW - MAX_AGE_SECONDS - 1), "event_time_too_old", "event_time"),
    ("event_time an hour ahead", setting(["event_time"], NOW + 3600), "event_time_in_future", "event_time"),
    ("no action_source", without(["action_source"]), "invalid_action_source", "action_source"),
    ("action_source not a string", setting(["action_source"], 1), "invalid_action_source", "action_source"),
    ("unknown action_source", setting(["action_source"], SENTINEL), "invalid_action_source", "action_source"),
    ("website without event_source_url", without(["event_source_url"]), "missing_event_source_url", "event_source_url"),
    ("event_source_url not a string", setting(["event_source_url"], 7), "missing_event_source_url", "event_source_url"),
    ("website without client_user_agent", without(["user_data", "client_user_agent"]), "missing_client_user_agent", "user_data.client_user_agent"),
    ("event_id a number", setting(["event_id"], 123456789), "invalid_event_id", "event_id"),
    ("no user_data", without(["user_data"]), "invalid_user_data", "user_data"),
    ("user_data a list", setting(["user_data"], [SENTINEL]), "invalid_user_data", "user_data"),
    ("user_data empty", setting(["user_data"], {}), "invalid_user_data", "user_data"),
    ("em a string, not a list", setting(["user_data", "em"], h(SENTINEL)), "invalid_hashed_field", "user_data.em"),
    ("em unhashed", setting(["user_data", "em"], [SENTINEL + "@example.com"]), "invalid_hashed_field", "user_data.em"),
    ("em uppercase hex", setting(["user_data", "em"], [h(SENTINEL).upper()]), "invalid_hashed_field", "user_data.em"),
    ("em empty list", setting(["user_data", "em"], []), "invalid_hashed_field", "user_data.em"),
    ("ph 63 hex chars", setting(["user_data", "ph"], [h(SENTINEL)[:63]]), "invalid_hashed_field", "user_data.ph"),
    ("ph 65 hex chars", setting(["user_data", "ph"], [h(SENTINEL) + "a"]), "invalid_hashed_field", "user_data.ph"),
    ("ph a number in the list", setting(["user_data", "ph"], [4420718387]), "invalid_hashed_field", "user_data.ph"),
    ("fn null", setting(["user_data", "fn"], None), "invalid_hashed_field", "user_data.fn"),
    ("ln raw", setting(["user_data", "ln"], [SENTINEL]), "invalid_hashed_field", "user_data.ln"),
    ("ge raw", setting(["user_data", "ge"], ["f"]), "invalid_hashed_field", "user_data.ge"),
    ("db raw", setting(["user_data", "db"], ["19900101"]), "invalid_hashed_field", "user_data.db"),
    ("ct raw", setting(["user_data", "ct"], [SENTINEL]), "invalid_hashed_field", "user_data.ct"),
    ("st raw", setting(["user_data", "st"], ["ca"]), "invalid_hashed_field", "user_data.st"),
    ("zp raw", setting(["user_data", "zp"], ["94025"]), "invalid_hashed_field", "user_data.zp"),
    ("country raw", setting(["user_data", "country"], ["gb"]), "invalid_hashed_field", "user_data.country"),
    ("external_id raw", setting(["user_data", "external_id"], [SENTINEL]), "invalid_hashed_field", "user_data.external_id"),
    ("one bad digest among good", setting(["user_data", "em"], [h("a"), SENTINEL]), "invalid_hashed_field", "user_data.em"),
    ("client_ip_address a number", setting(["user_data", "client_ip_address"], 2030113007), "invalid_user_data_field", "user_data.client_ip_address"),
    ("client_user_agent a list", setting(["user_data", "client_user_agent"], [SENTINEL]), "invalid_user_data_field", "user_data.client_user_agent"),
    ("fbc a number", setting(["user_data", "fbc"], 1), "invalid_user_data_field", "user_data.fbc"),
    ("fbp a list", setting(["user_data", "fbp"], [SENTINEL]), "invalid_user_data_field", "user_data.fbp"),
    ("custom_data a list", setting(["custom_data"], [SENTINEL]), "invalid_custom_data", "custom_data"),
    ("value a string", setting(["custom_data", "value"], SENTINEL), "invalid_value", "custom_data.value"),
    ("value a numeric string", setting(["custom_data", "value"], "19.90"), "invalid_value", "custom_data.value"),
    ("value a bool", setting(["custom_data", "value"], True), "invalid_value", "custom_data.value"),
    ("net_revenue a numeric string", setting(["custom_data", "net_revenue"], "12.5"), "invalid_value", "custom_data.net_revenue"),
    ("net_revenue a bool", setting(["custom_data", "net_revenue"], False), "invalid_value", "custom_data.net_revenue"),
    ("predicted_ltv a string", setting(["custom_data", "predicted_ltv"], SENTINEL), "invalid_value", "custom_data.predicted_ltv"),
    ("predicted_ltv a list", setting(["custom_data", "predicted_ltv"], [1]), "invalid_value", "custom_data.predicted_ltv"),
    ("delivery_category unknown", setting(["custom_data", "delivery_category"], SENTINEL), "invalid_custom_data", "custom_data.delivery_category"),
    ("delivery_category upper case", setting(["custom_data", "delivery_category"], "IN_STORE"), "invalid_custom_data", "custom_data.delivery_category"),
    ("delivery_category a number", setting(["custom_data", "delivery_category"], 1), "invalid_custom_data", "custom_data.delivery_category"),
    ("customer_segmentation unknown", setting(["custom_data", "customer_segmentation"], SENTINEL), "invalid_custom_data", "custom_data.customer_segmentation"),
    ("customer_segmentation short form", setting(["custom_data", "customer_segmentation"], "new"), "invalid_custom_data", "custom_data.customer_segmentation"),
    ("currency 4 letters", setting(["custom_data", "currency"], "EURO"), "invalid_currency", "custom_data.currency"),
    ("currency a number", setting(["custom_data", "currency"], 978), "invalid_currency", "custom_data.currency"),
    ("currency digits", setting(["custom_data", "currency"], "978"), "invalid_currency", "custom_data.currency"),
    ("opt_out a string", setting(["opt_out"], "yes"), "invalid_parameter", "opt_out"),
]


@pytest.mark.parametrize("name,mutate,rule,field", INVALID, ids=[x[0] for x in INVALID])
def test_one_invalid_event_rejects_the_whole_batch(sb, name, mutate, rule, field):
    bad = copy.deepcopy(event(2))
    mutate(bad)
    status, doc = send(sb, [event(1), bad, event(3)])
    assert status == 400, doc
    err = assert_graph_error(doc, 100, SUB[rule])
    assert f"data[1].{field}" in err["message"] and f"data[1].{field}" in err["error_user_msg"]
    assert err["error_user_title"]
    text = json.dumps(doc)
    assert SENTINEL not in text and h(SENTINEL) not in text and h(SENTINEL).upper() not in text
    assert sb.received() == []
    st = sb.stats()
    assert (st["received"], st["rejected_requests"], st["rejected_events"]) == (0, 1, 3)
    assert sb.requests()[-1]["status"] == 400


def test_value_fields_meta_accepts(sb):
    events = []
    deliveries = sorted(DELIVERY_CATEGORIES)
    for i, segment in enumerate(sorted(CUSTOMER_SEGMENTATIONS)):
        e = event(i)
        e["custom_data"].update(net_revenue=12.5, predicted_ltv=240, delivery_category=deliveries[i % 3], customer_segmentation=segment)
        events.append(e)
    status, doc = send(sb, events)
    assert status == 200, doc
    assert {e["custom_data"]["customer_segmentation"] for e in sb.received()} == CUSTOMER_SEGMENTATIONS
    assert {e["custom_data"]["delivery_category"] for e in sb.received()} == DELIVERY_CATEGORIES


def test_store_event_needs_no_url_nor_user_agent(sb):
    e = event(1, action_source="physical_store")
    del e["event_source_url"]
    del e["user_data"]["client_user_agent"]
    assert send(sb, [e])[0] == 200
    # The same event as a website event is refused.
    assert send(sb, [dict(e, action_source="website")])[0] == 400


def test_hashed_key_error_is_subcode_2804019(sb):
    status, doc = send(sb, [event(1, user_data={"em": ["plain@example.com"], "client_user_agent": "UA"})])
    assert status == 400 and doc["error"]["error_subcode"] == 2804019
    assert "plain@example.com" not in json.dumps(doc)


def test_age_subcodes_are_meta_s(sb):
    assert send(sb, [event(1, event_time=NOW - 8 * 86400)])[1]["error"]["error_subcode"] == 2804003
    assert send(sb, [event(1, event_time=NOW + 3600)])[1]["error"]["error_subcode"] == 2804004


def test_real_clock_by_default():
    with Sandbox(token=TOKEN) as s:
        now = int(time.time())
        assert send(s, [event(1, event_time=now - 60)])[0] == 200
        assert send(s, [event(2, event_time=NOW - 8 * 86400)])[0] == 400  # long ago


@pytest.mark.parametrize(
    "body,rule",
    [
        ({"data": []}, "invalid_data"),
        ({"data": {"event_name": "Purchase"}}, "invalid_data"),
        ({}, "invalid_data"),
        ({"data": [event(1), "not an object"]}, "invalid_data"),
        ({"data": [event(1)], "test_event_code": 5}, "invalid_body"),
        ([event(1)], "invalid_body"),
    ],
    ids=["empty", "object", "missing", "element-not-object", "test_event_code-type", "array-body"],
)
def test_bad_data_shapes(sb, body, rule):
    status, doc = request(events_url(sb), body, headers={"Authorization": f"Bearer {TOKEN}"})
    assert status == 400
    assert_graph_error(doc, 100, SUB[rule])
    assert sb.received() == []


@pytest.mark.parametrize("raw", [b"{not json", b'{"data": [NaN]}', b"\xff\xfe", b""])
def test_body_not_json(sb, raw):
    status, doc = request(events_url(sb), raw=raw, method="POST", headers={"Authorization": f"Bearer {TOKEN}"})
    assert status == 400
    assert_graph_error(doc, 100)


def test_1001_events_rejected(sb):
    status, doc = send(sb, [event(i) for i in range(1001)])
    assert status == 400
    assert_graph_error(doc, 100, SUB["too_many_events"])
    assert "1000" in doc["error"]["message"]
    assert sb.received() == [] and sb.stats()["rejected_events"] == 1001


def test_body_over_10_mb_is_413(sb):
    host, port = sb.url.rsplit("/", 1)[1].split(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=TIMEOUT)
    try:
        conn.putrequest("POST", f"/v27.0/{PIXEL}/events")
        conn.putheader("Authorization", f"Bearer {TOKEN}")
        conn.putheader("Content-Type", "application/json")
        conn.putheader("Content-Length", str(10 * 1024 * 1024 + 1))
        conn.endheaders()
        r = conn.getresponse()
        assert r.status == 413
        assert_graph_error(json.loads(r.read()), 100)
    finally:
        conn.close()
    assert sb.requests()[-1]["status"] == 413


def test_chunked_body_accepted(sb):
    host, port = sb.url.rsplit("/", 1)[1].split(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=TIMEOUT)
    try:
        body = json.dumps({"data": [event(1)]}).encode()
        conn.request("POST", f"/v27.0/{PIXEL}/events", body=iter([body[:50], body[50:]]),
                     headers={"Authorization": f"Bearer {TOKEN}", "Transfer-Encoding": "chunked"},
                     encode_chunked=True)
        r = conn.getresponse()
        assert r.status == 200 and json.loads(r.read())["events_received"] == 1
    finally:
        conn.close()


# --- paths and versions -------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/", "/v27.0/events", "/v27.0/abc/events", "/24.0/123/events", "/v27.0/123/events/x"])
def test_unknown_paths_are_404_graph_errors(sb, path):
    status, doc = request(sb.url + path, {"data": [event(1)]}, headers={"Authorization": f"Bearer {TOKEN}"})
    assert status == 404
    assert_graph_error(doc, 100)
    assert sb.received() == []


def test_get_on_events_path_is_rejected(sb):
    status, doc = request(events_url(sb), headers={"Authorization": f"Bearer {TOKEN}"})
    assert status == 400
    assert_graph_error(doc, 100, SUB["unsupported_method"])


def test_any_version_without_api_version(sb):
    assert send(sb, [event(1)])[0] == 200
    status, _ = request(events_url(sb, version="v19.0"), {"data": [event(2)]}, headers={"Authorization": f"Bearer {TOKEN}"})
    assert status == 200


def test_api_version_must_match_when_given():
    with Sandbox(token=TOKEN, api_version="v27.0", now=lambda: float(NOW)) as s:
        assert send(s, [event(1)])[0] == 200
        status, doc = request(events_url(s, version="v26.0"), {"data": [event(2)]}, headers={"Authorization": f"Bearer {TOKEN}"})
        assert status == 400
        assert_graph_error(doc, 100, SUB["wrong_api_version"])
        assert len(s.received()) == 1
    with pytest.raises(ValueError):
        Sandbox(api_version="24")


# --- faults -------------------------------------------------------------------------------------


def test_drop_closes_without_response(sb):
    sb.inject("drop")
    with pytest.raises((urllib.error.URLError, http.client.HTTPException, ConnectionError)):
        send(sb, [event(1)])
    assert sb.received() == []
    req = sb.requests()[-1]
    assert (req["fault"], req["status"]) == ("drop", None)
    assert send(sb, [event(1)])[0] == 200  # only one was queued


def test_slow_delays_then_handles_normally(sb):
    sb.inject("slow", seconds=0.6)
    t0 = time.monotonic()
    status, doc = send(sb, [event(1)])
    assert time.monotonic() - t0 >= 0.6
    assert status == 200 and doc["events_received"] == 1
    assert [e["event_id"] for e in sb.received()] == ["evt-1"]
    assert sb.requests()[-1]["fault"] == "slow"
    assert sb.stats()["accepted_requests"] == 1


def test_slow_longer_than_client_timeout(sb):
    sb.inject("slow", seconds=1.5)
    with pytest.raises((urllib.error.URLError, TimeoutError, OSError)):
        request(events_url(sb), {"data": [event(1)]}, headers={"Authorization": f"Bearer {TOKEN}"}, timeout=0.3)
    # The sandbox finishes the request afterwards (as Meta may): the event arrives although the
    # client gave up -- which is why a retry must reuse the event_id.
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and not sb.received():
        time.sleep(0.05)
    assert [e["event_id"] for e in sb.received()] == ["evt-1"]
    assert sb.requests()[-1]["fault"] == "slow"


def test_malformed_is_200_not_json(sb):
    sb.inject("malformed")
    status, body = send(sb, [event(1)])
    assert status == 200
    assert isinstance(body, bytes)
    with pytest.raises(ValueError):
        json.loads(body)
    assert sb.received() == []
    assert sb.stats()["rejected_requests"] == 1


@pytest.mark.parametrize("status", [500, 502, 503])
def test_status_5xx_is_transient_code_2(sb, status):
    sb.inject("status", status=status)
    got, doc = send(sb, [event(1)])
    assert got == status
    assert_graph_error(doc, 2, transient=True)
    assert sb.received() == []


@pytest.mark.parametrize("code", [None, 4, 17, 613])
def test_status_429_is_transient_with_rate_limit_code(sb, code):
    opts = {"status": 429} if code is None else {"status": 429, "code": code}
    sb.inject("status", **opts)
    got, doc = send(sb, [event(1)])
    assert got == 429
    assert_graph_error(doc, code or 4, transient=True)


def test_graph_error_fault(sb):
    sb.inject("graph_error", code=100, subcode=2804019)
    sb.inject("graph_error", code=2, is_transient=True, status=500)
    sb.inject("graph_error", code=190, status=401)
    status, doc = send(sb, [event(1)])
    assert status == 400
    assert_graph_error(doc, 100, 2804019, transient=False)
    status, doc = send(sb, [event(1)])
    assert status == 500
    assert_graph_error(doc, 2, transient=True)
    status, doc = send(sb, [event(1)])
    assert status == 401
    assert_graph_error(doc, 190)
    assert sb.received() == []
    assert [r["fault"] for r in sb.requests()] == ["graph_error"] * 3


def test_faults_are_fifo_with_counts(sb):
    sb.inject("status", count=2, status=503)
    sb.inject("graph_error", code=613)
    sb.inject("malformed", count=0)  # nothing queued
    assert sb.stats()["faults_pending"] == 3
    got = [send(sb, [event(i)])[0] for i in range(4)]
    assert got == [503, 503, 400, 200]
    assert [r["fault"] for r in sb.requests()] == ["status", "status", "graph_error", None]
    st = sb.stats()
    assert (st["faults_injected"], st["faults_pending"]) == (3, 0)
    assert (st["requests"], st["accepted_requests"], st["rejected_requests"]) == (4, 1, 3)
    assert [e["event_id"] for e in sb.received()] == ["evt-3"]


def test_faults_apply_before_auth(sb):
    sb.inject("status", status=500)
    assert send(sb, [event(1)], token="wrong")[0] == 500
    assert send(sb, [event(1)], token="wrong")[0] == 401


@pytest.mark.parametrize(
    "kind,opts",
    [
        ("nope", {}),
        ("status", {"status": 404}),
        ("status", {"seconds": 1}),
        ("graph_error", {}),
        ("graph_error", {"code": "100"}),
        ("graph_error", {"code": 100, "is_transient": "yes"}),
        ("slow", {"seconds": -1}),
        ("drop", {"status": 500}),
    ],
)
def test_inject_rejects_bad_faults(sb, kind, opts):
    with pytest.raises(ValueError):
        sb.inject(kind, **opts)
    assert sb.stats()["faults_pending"] == 0


def test_inject_rejects_bad_count(sb):
    with pytest.raises(ValueError):
        sb.inject("drop", count=-1)


# --- stats and dedup ----------------------------------------------------------------------------


def test_duplicates_counted(sb):
    send(sb, [event(1), event(2)])
    send(sb, [event(1)])  # a retry re-sends the same (event_name, event_id)
    send(sb, [event(1, event_name="AddToCart")])  # same id, other name: distinct
    st = sb.stats()
    assert (st["received"], st["unique"], st["duplicates"]) == (4, 3, 1)
    assert [e["event_id"] for e in sb.received()] == ["evt-1", "evt-2", "evt-1", "evt-1"]


def test_events_without_event_id_are_never_duplicates(sb):
    e = event(1)
    del e["event_id"]
    send(sb, [e, e])
    st = sb.stats()
    assert (st["received"], st["unique"], st["duplicates"]) == (2, 2, 0)


def test_deduplicated_with_pixel(sb):
    sb.register_pixel("Purchase", "evt-1")  # before the server copy
    send(sb, [event(1), event(2), event(3)])
    sb.register_pixel("Purchase", "evt-2")  # after
    sb.register_pixel("Purchase", "evt-2")  # a page reload
    sb.register_pixel("AddToCart", "evt-3")  # other name: no match
    sb.register_pixel("Purchase", "evt-9")  # never reached the server
    send(sb, [event(1)])
    st = sb.stats()
    assert st["pixel"] == 5
    assert st["deduplicated_with_pixel"] == 2
    assert st["duplicates"] == 1


def test_reset_forgets_everything(sb):
    send(sb, [event(1)])
    sb.register_pixel("Purchase", "evt-1")
    sb.inject("drop", count=3)
    sb.reset()
    assert sb.received() == [] and sb.requests() == []
    assert all(v == 0 for v in sb.stats().values())
    assert send(sb, [event(1)])[0] == 200  # the faults were cleared too


def test_concurrent_requests_are_all_counted(sb):
    errors = []

    def worker(n):
        try:
            for j in range(5):
                status, _ = send(sb, [event(n * 100 + j), event(n * 100 + j)])
                assert status == 200
        except Exception as e:  # pragma: no cover - reported below
            errors.append(e)

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=TIMEOUT)
    assert not errors
    st = sb.stats()
    assert (st["requests"], st["received"], st["unique"], st["duplicates"]) == (40, 80, 40, 40)


def test_server_logs_nothing(sb, capfd):
    send(sb, [event(1)])
    send(sb, [event(1, user_data={"em": [SENTINEL]})])
    send(sb, [event(1)], token=SENTINEL)
    sb.inject("drop")
    with pytest.raises(Exception):
        send(sb, [event(1)])
    request(sb.url + "/nope")
    out, err = capfd.readouterr()
    assert out == "" and err == ""


# --- control endpoints --------------------------------------------------------------------------


def test_control_endpoints(sb):
    base = sb.url + "/_sandbox"
    assert control(base + "/faults", {"kind": "status", "count": 2, "status": 503})[0] == 200
    assert control(base + "/faults", {"kind": "graph_error", "code": 613})[1] == {"ok": True, "pending": 3}
    assert [send(sb, [event(i)])[0] for i in range(4)] == [503, 503, 400, 200]
    assert control(base + "/pixel", {"event_name": "Purchase", "event_id": "evt-3"}) == (200, {"ok": True})
    status, stats = control(base + "/stats")
    assert status == 200 and stats == sb.stats()
    assert (stats["received"], stats["deduplicated_with_pixel"], stats["faults_injected"]) == (1, 1, 3)
    status, events = control(base + "/events")
    assert status == 200 and events == [event(3)]
    status, reqs = control(base + "/requests")
    assert status == 200 and [r["status"] for r in reqs] == [503, 503, 400, 200]
    assert control(base + "/reset", {})[0] == 200
    assert sb.stats()["received"] == 0 and sb.stats()["requests"] == 0


def test_control_requests_are_not_api_requests(sb):
    sb.inject("drop")
    assert control(sb.url + "/_sandbox/stats")[0] == 200  # does not consume the fault
    assert sb.stats()["requests"] == 0 and sb.stats()["faults_pending"] == 1


@pytest.mark.parametrize(
    "path,body",
    [
        ("/_sandbox/faults", {"kind": "nope"}),
        ("/_sandbox/faults", {"count": 1}),
        ("/_sandbox/faults", {"kind": "status", "status": 200}),
        ("/_sandbox/faults", {"kind": "drop", "count": "x"}),
        ("/_sandbox/pixel", {"event_name": "Purchase"}),
        ("/_sandbox/pixel", [1]),
    ],
)
def test_control_bad_input_is_400(sb, path, body):
    status, doc = control(sb.url + path, body)
    assert status == 400
    assert_graph_error(doc, 100)
    assert sb.stats()["faults_pending"] == 0 and sb.stats()["pixel"] == 0


def test_control_bad_json_is_400(sb):
    status, doc = control(sb.url + "/_sandbox/faults", raw=b"{nope", method="POST")
    assert status == 400
    assert_graph_error(doc, 100)


@pytest.mark.parametrize("method,path", [("GET", "/_sandbox/nope"), ("POST", "/_sandbox/stats"), ("GET", "/_sandbox/reset")])
def test_control_unknown_is_404(sb, method, path):
    status, doc = control(sb.url + path, {} if method == "POST" else None, method=method)
    assert status == 404
    assert_graph_error(doc, 100)


# --- hostile clients: framing, secret, browsers, bounds ------------------------------------------


def raw_exchange(sb, head, body=b"", timeout=TIMEOUT):
    """Sends raw bytes and keeps the connection open (never half-closes it); returns the status of
    the answer. A server that waits for more body bytes than the framing allows never answers, and
    the socket timeout fails the test."""
    host, port = sb.url.rsplit("/", 1)[1].split(":")
    with socket.create_connection((host, int(port)), timeout=timeout) as c:
        c.sendall(head + body)
        answer = b""
        while b"\r\n" not in answer:
            chunk = c.recv(4096)
            if not chunk:
                break
            answer += chunk
    assert answer.startswith(b"HTTP/1."), answer[:100]
    return int(answer.split(b" ", 2)[1])


def api_head(url, *headers, path=f"/v27.0/{PIXEL}/events"):
    host = url.rsplit("/", 1)[1]
    lines = [f"POST {path} HTTP/1.1", f"Host: {host}", f"Authorization: Bearer {TOKEN}",
             "Content-Type: application/json", *headers]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def valid_body():
    return json.dumps({"data": [event(1)]}).encode()


@pytest.mark.parametrize(
    "size_line,status",
    [
        (b"-1", 400),  # read(-1) used to read until the connection closed, past the 10 MB limit
        (b"-ffffffff", 400),
        (b"+a", 400),
        (b"0x10", 400),
        (b"1_0", 400),
        (b" 10", 400),
        (b"zz", 400),
        (b"", 400),
        (b"1" * 2000, 400),  # a size line longer than any real one
        (b"f" * 40, 413),
        (b"%x" % (MAX_BODY_BYTES + 1), 413),
    ],
)
def test_bad_chunk_sizes_are_answered_at_once(sb, size_line, status):
    # Only the size line is sent, and the connection stays open: the answer must not wait for a body.
    assert raw_exchange(sb, api_head(sb.url, "Transfer-Encoding: chunked"), size_line + b"\r\n") == status
    assert sb.received() == []


def peak_memory(pid):
    """The process's peak resident memory (VmHWM), in bytes."""
    with open(f"/proc/{pid}/status") as f:
        return 1024 * int(next(line for line in f if line.startswith("VmHWM:")).split()[1])


def test_negative_chunk_size_does_not_read_the_stream():
    # The sandbox runs as its own process, so that its peak memory shows what it read and kept: a
    # reader that follows the stream past the 10 MB limit holds all of it.
    p = subprocess.Popen([sys.executable, "-m", "convtrack.sandbox", "--port", "0", "--token", TOKEN],
                         stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        url = p.stdout.readline().strip()
        host, port = url.rsplit("/", 1)[1].split(":")
        before = peak_memory(p.pid)
        stream = 3 * MAX_BODY_BYTES  # what the client offers after the size line
        sent = 0
        with socket.create_connection((host, int(port)), timeout=TIMEOUT) as c:
            c.sendall(api_head(url, "Transfer-Encoding: chunked") + b"-1\r\n")
            block = b"x" * 65536
            try:
                while sent < stream:
                    c.sendall(block)
                    sent += len(block)
                c.shutdown(socket.SHUT_WR)
                while c.recv(65536):
                    pass
            except OSError:
                pass  # the sandbox answered and closed the connection while bytes were still coming
        grew = peak_memory(p.pid) - before
        assert grew < MAX_BODY_BYTES, f"the sandbox's peak memory grew by {grew} bytes; the client offered {sent}"
    finally:
        p.terminate()
        p.wait(timeout=TIMEOUT)
        p.stdout.close()


def test_chunk_data_must_end_with_crlf(sb):
    body = valid_body()
    chunked = b"%x\r\n%sXX\r\n0\r\n\r\n" % (len(body), body)
    assert raw_exchange(sb, api_head(sb.url, "Transfer-Encoding: chunked"), chunked) == 400
    assert sb.received() == []


def test_endless_chunked_trailer_is_refused(sb):
    # A trailer that never ends (no blank line) must not keep the sandbox reading.
    trailer = b"X-Pad: " + b"y" * 100 + b"\r\n"
    head = api_head(sb.url, "Transfer-Encoding: chunked")
    assert raw_exchange(sb, head, b"0\r\n" + trailer * 200) == 400


def test_chunk_extensions_and_valid_chunking_accepted(sb):
    body = valid_body()
    chunked = b"%x;name=value;q=\"a;b\"\r\n%s\r\n0\r\nX-Trailer: 1\r\n\r\n" % (len(body), body)
    assert raw_exchange(sb, api_head(sb.url, "Transfer-Encoding: chunked"), chunked) == 200
    assert len(sb.received()) == 1


@pytest.mark.parametrize(
    "headers",
    [
        lambda n: [f"Content-Length: +{n}"],
        lambda n: [f"Content-Length: {str(n)[:-1]}_{str(n)[-1]}"],
        lambda n: [f"Content-Length: {n}", f"Content-Length: {n + 5}"],
        lambda n: [f"Content-Length: {n}", f"Content-Length: {n}"],
        lambda n: [f"Content-Length: {n}", "Transfer-Encoding: chunked"],
        lambda n: [f"Content-Length: {n}", "Transfer-Encoding: gzip"],
        lambda n: [f"Content-Length: {n}", "Transfer-Encoding: xchunked"],
        lambda n: [f"Content-Length: -{n}"],
        lambda n: ["Content-Length: ten"],
    ],
    ids=["plus-sign", "underscore", "two-different", "two-same", "with-chunked", "gzip", "xchunked", "negative",
         "not-a-number"],
)
def test_ambiguous_or_invalid_body_length_is_400(sb, headers):
    body = valid_body()
    assert raw_exchange(sb, api_head(sb.url, *headers(len(body))), body) == 400
    assert sb.received() == []


def test_control_endpoints_need_the_secret(sb):
    base = sb.url + "/_sandbox"
    for path in ("/stats", "/events", "/requests", "/catalog"):
        for headers in ({}, {"Authorization": "Bearer wrong-token"}, {"Authorization": f"Basic {TOKEN}"}):
            status, doc = request(base + path, headers=headers)
            assert status == 401, (path, headers)
            assert_graph_error(doc, 190)
            assert TOKEN not in json.dumps(doc)
    for path, body in (("/faults", {"kind": "drop"}), ("/reset", {}), ("/pixel", {"event_name": "P", "event_id": "1"})):
        status, doc = request(base + path, body)
        assert status == 401
        assert_graph_error(doc, 190)
        status, _ = request(base + path, body, headers={"Authorization": "Bearer wrong-token"})
        assert status == 401
    assert sb.stats()["faults_pending"] == 0 and sb.stats()["pixel"] == 0
    assert control(base + "/stats")[0] == 200


@pytest.mark.parametrize("content_type", [None, "text/plain", "application/x-www-form-urlencoded",
                                          "multipart/form-data; boundary=x", "application/jsonx", "text/json"])
def test_control_posts_must_be_json(sb, content_type):
    # A web page can POST text/plain or a form to any address without a CORS preflight; it cannot
    # send application/json (nor an Authorization header) without one, and the sandbox answers no CORS.
    headers = {"Authorization": f"Bearer {TOKEN}"}
    if content_type is not None:
        headers["Content-Type"] = content_type
    host, port = sb.url.rsplit("/", 1)[1].split(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=TIMEOUT)
    try:
        conn.request("POST", "/_sandbox/faults", body=b'{"kind": "drop"}', headers=headers)
        r = conn.getresponse()
        assert r.status == 415
        assert_graph_error(json.loads(r.read()), 100)
    finally:
        conn.close()
    assert sb.stats()["faults_pending"] == 0
    assert control(sb.url + "/_sandbox/faults", {"kind": "drop"}, headers={"Content-Type": "Application/JSON; charset=utf-8"})[0] == 200


@pytest.mark.parametrize("host", ["evil.example", "evil.example:{port}", "127.0.0.1.evil.example:{port}",
                                  "localhost.evil.example", "", None])
def test_control_refuses_a_foreign_host(sb, host):
    # DNS rebinding: a page on evil.example whose name now resolves to 127.0.0.1 sends Host: evil.example.
    port = sb.url.rsplit(":", 1)[1]
    lines = ["GET /_sandbox/stats HTTP/1.1", f"Authorization: Bearer {TOKEN}"]
    if host is not None:
        lines.append(f"Host: {host.format(port=port)}")
    assert raw_exchange(sb, ("\r\n".join(lines) + "\r\n\r\n").encode()) == 403


@pytest.mark.parametrize("host", ["localhost:{port}", "LOCALHOST", "127.0.0.1:{port}", "127.8.9.10", "[::1]:{port}"])
def test_control_accepts_loopback_hosts(sb, host):
    port = sb.url.rsplit(":", 1)[1]
    lines = ["GET /_sandbox/stats HTTP/1.1", f"Authorization: Bearer {TOKEN}", f"Host: {host.format(port=port)}"]
    assert raw_exchange(sb, ("\r\n".join(lines) + "\r\n\r\n").encode()) == 200


def test_sandbox_answers_no_cors(sb):
    host, port = sb.url.rsplit("/", 1)[1].split(":")
    for method, path in (("OPTIONS", "/_sandbox/faults"), ("GET", "/_sandbox/stats"), ("POST", "/_sandbox/reset")):
        conn = http.client.HTTPConnection(host, int(port), timeout=TIMEOUT)
        try:
            conn.request(method, path, body=b"{}" if method == "POST" else None,
                         headers={"Origin": "https://evil.example", "Access-Control-Request-Method": "POST",
                                  "Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json"})
            r = conn.getresponse()
            r.read()
            assert not [k for k in r.headers if k.lower().startswith("access-control-")], (method, path)
        finally:
            conn.close()


@pytest.mark.parametrize(
    "body",
    [
        {"kind": "drop", "count": 2_000_000},
        {"kind": "drop", "count": MAX_FAULTS + 1},
        {"kind": "drop", "count": True},
        {"kind": "status", "code": 2**63},
        {"kind": "status", "code": -1},
        {"kind": "graph_error", "code": 100, "subcode": 10**30},
        {"kind": "graph_error", "code": 100, "message": "m" * 5000},
        {"kind": "slow", "seconds": 301},
        {"kind": "slow", "seconds": 1e308},
    ],
)
def test_fault_counts_and_options_are_bounded(sb, body):
    status, doc = control(sb.url + "/_sandbox/faults", body)
    assert status == 400
    assert_graph_error(doc, 100)
    assert sb.stats()["faults_pending"] == 0


def test_pending_faults_are_bounded(sb):
    sb.inject("drop", count=MAX_FAULTS)
    with pytest.raises(ValueError, match="pending"):
        sb.inject("drop")
    status, doc = control(sb.url + "/_sandbox/faults", {"kind": "drop"})
    assert status == 400 and "pending" in doc["error"]["message"]
    assert sb.stats()["faults_pending"] == MAX_FAULTS


def test_recorded_lists_are_capped_and_counters_stay_exact():
    assert MAX_RECORDS == 10_000
    with Sandbox(token=TOKEN, now=lambda: float(NOW), max_records=3) as s:
        for i in range(5):
            assert send(s, [event(2 * i), event(2 * i + 1)])[0] == 200
        assert send(s, [event(0)])[0] == 200  # a duplicate of an event the list no longer holds
        assert [e["event_id"] for e in s.received()] == ["evt-8", "evt-9", "evt-0"]
        assert len(s.requests()) == 3
        for i in range(5):
            s.register_pixel("Purchase", f"evt-{i}")
        s.register_pixel("Purchase", "evt-0")
        st = s.stats()
        assert (st["requests"], st["accepted_requests"], st["received"], st["unique"], st["duplicates"]) == (6, 6, 11, 10, 1)
        assert (st["pixel"], st["deduplicated_with_pixel"]) == (6, 5)
        status, doc = control(s.url + "/_sandbox/stats")
        assert status == 200 and doc == st
        for i in range(5):
            item = {"title": "t", "description": "d", "availability": "in stock", "condition": "new",
                    "price": "1.00 EUR", "link": "https://s.example/p", "image_link": "https://s.example/i.jpg",
                    "brand": "b"}
            status, _ = request(f"{s.url}/v27.0/555/items_batch",
                                {"item_type": "PRODUCT_ITEM", "requests": [{"method": "CREATE", "data": {"id": f"sku-{i}", **item}}]},
                                headers={"Authorization": f"Bearer {TOKEN}"})
            assert status == 200
        cat = s.catalog()
        assert sorted(cat["items"]["555"]) == ["sku-2", "sku-3", "sku-4"]
        assert (cat["requests"], cat["updates"]) == (5, 5)
        assert s.stats()["requests"] == 11 and len(s.requests()) == 3
    with pytest.raises(ValueError):
        Sandbox(max_records=0)


# --- lifecycle and CLI --------------------------------------------------------------------------


def test_lifecycle():
    s = Sandbox()
    with pytest.raises(RuntimeError):
        s.url
    assert s.start() is s
    url = s.url
    assert url.startswith("http://127.0.0.1:") and int(url.rsplit(":", 1)[1]) > 0
    assert control(url + "/_sandbox/stats", token="sandbox-token")[0] == 200
    s.stop()
    s.stop()  # idempotent
    with pytest.raises((urllib.error.URLError, ConnectionError)):
        control(url + "/_sandbox/stats", token="sandbox-token", timeout=2)


def test_stop_does_not_wait_for_slow_requests():
    s = Sandbox(now=lambda: float(NOW)).start()
    s.inject("slow", seconds=30)
    t = threading.Thread(target=lambda: pytest.raises(Exception, send, s, [event(1)]), daemon=True)
    t.start()
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and s.stats()["faults_pending"]:
        time.sleep(0.02)
    t0 = time.monotonic()
    s.stop()
    assert time.monotonic() - t0 < 5
    t.join(timeout=TIMEOUT)
    assert s.received() == []


def test_cli_runs_in_foreground_and_stops_on_sigterm(tmp_path):
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    p = subprocess.Popen(
        [sys.executable, "-m", "convtrack.sandbox", "--host", "127.0.0.1", "--port", "0", "--token", "T"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    killer = threading.Timer(TIMEOUT, p.kill)
    killer.start()
    try:
        url = p.stdout.readline().strip()
        assert url.startswith("http://127.0.0.1:"), url
        assert int(url.rsplit(":", 1)[1]) > 0
        now = int(time.time())
        status, doc = request(f"{url}/v27.0/{PIXEL}/events", {"data": [event(1, event_time=now)]},
                              headers={"Authorization": "Bearer T"})
        assert status == 200 and doc["events_received"] == 1
        assert control(url + "/_sandbox/stats", token="T")[1]["received"] == 1
        p.send_signal(signal.SIGTERM)
        assert p.wait(timeout=TIMEOUT) == 0
        assert "listening" in p.stderr.read()
    finally:
        killer.cancel()
        if p.poll() is None:
            p.kill()
            p.wait(timeout=TIMEOUT)
        p.stdout.close()
        p.stderr.close()


def test_cli_port_in_use_fails_cleanly():
    with Sandbox() as s:
        port = s.url.rsplit(":", 1)[1]
        r = subprocess.run([sys.executable, "-m", "convtrack.sandbox", "--port", port],
                           capture_output=True, text=True, timeout=TIMEOUT)
    assert r.returncode == 1 and "cannot start" in r.stderr


# --- the pixel object (the health check's GET /{version}/{pixel_id}) ------------------------------


def pixel_url(sb, pixel=PIXEL, version="v24.0", query="?fields=id,name"):
    return f"{sb.url}/{version}/{pixel}{query}"


def test_pixel_get_with_the_token_answers_id_and_name(sb):
    status, doc = request(pixel_url(sb), headers={"Authorization": f"Bearer {TOKEN}"})
    assert status == 200
    assert doc == {"id": PIXEL, "name": f"Sandbox pixel {PIXEL}"}
    # fields= selects, as Graph does
    assert request(pixel_url(sb, query="?fields=id"), headers={"Authorization": f"Bearer {TOKEN}"}) == (200, {"id": PIXEL})
    assert sb.requests()[-1]["path"] == f"/v24.0/{PIXEL}" and sb.requests()[-1]["auth"] == "header"
    assert sb.received() == []


@pytest.mark.parametrize("headers", [{"Authorization": "Bearer wrong"}, {}])
def test_pixel_get_with_a_wrong_or_no_token_is_code_190(sb, headers):
    status, doc = request(pixel_url(sb), headers=headers)
    assert_graph_error(doc, 190)
    assert status == (400 if headers else 401)
    assert "wrong" not in json.dumps(doc)


def test_pixel_get_token_in_query_is_refused(sb):
    status, doc = request(pixel_url(sb, query=f"?fields=id,name&access_token={TOKEN}"))
    assert status == 400
    assert_graph_error(doc, 100, SUB["token_in_query"])
    assert TOKEN not in json.dumps(sb.requests())


def test_unknown_pixel_is_code_100_subcode_33():
    with Sandbox(token=TOKEN, pixels=[PIXEL]) as s:
        assert request(pixel_url(s), headers={"Authorization": f"Bearer {TOKEN}"})[0] == 200
        status, doc = request(pixel_url(s, pixel="999"), headers={"Authorization": f"Bearer {TOKEN}"})
        assert status == 400
        err = doc["error"]
        assert (err["code"], err["error_subcode"], err["type"]) == (100, 33, "GraphMethodException")
        assert "Object with ID '999' does not exist" in err["message"]
        # the token is checked first: a wrong token on an unknown pixel is still 190
        assert request(pixel_url(s, pixel="999"), headers={"Authorization": "Bearer x"})[1]["error"]["code"] == 190


def test_pixels_option_is_validated():
    with pytest.raises(ValueError, match="pixels"):
        Sandbox(pixels=["abc"])


def test_pixel_post_is_rejected(sb):
    status, doc = request(pixel_url(sb, query=""), {"x": 1}, headers={"Authorization": f"Bearer {TOKEN}"})
    assert status == 400
    assert_graph_error(doc, 100, SUB["unsupported_method"])


def test_pixel_get_honours_api_version():
    with Sandbox(token=TOKEN, api_version="v24.0") as s:
        status, doc = request(pixel_url(s, version="v19.0"), headers={"Authorization": f"Bearer {TOKEN}"})
        assert status == 400 and doc["error"]["error_subcode"] == SUB["wrong_api_version"]


def test_command_line_pixel_option():
    proc = subprocess.Popen([sys.executable, "-m", "convtrack.sandbox", "--port", "0", "--token", TOKEN, "--pixel", PIXEL],
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        url = proc.stdout.readline().strip()
        assert request(f"{url}/v24.0/{PIXEL}", headers={"Authorization": f"Bearer {TOKEN}"})[0] == 200
        assert request(f"{url}/v24.0/42", headers={"Authorization": f"Bearer {TOKEN}"})[1]["error"]["error_subcode"] == 33
    finally:
        proc.terminate()
        proc.wait(timeout=10)

"""Hostile input through the Django layer: typed errors naming the field, nothing leaked."""

import logging

import pytest

import convtrack
from convtrack.django import degraded_counts, track_purchase
from convtrack.django.context import capture

from helpers import UA, checkout, pixel_purchase

pytestmark = pytest.mark.django_db

EMAIL = "leak.sentinel@example.com"
PHONE = "020 7183 8750"


def request(rf, **extra):
    req = rf.get("/thanks/", HTTP_USER_AGENT=UA, **extra)
    req.convtrack = capture(req)
    return req


def order(**extra):
    o = {"order_id": "h-1", "currency": "EUR", "value": "5.00", "consent": {"marketing": "granted"},
         "customer": {"email": EMAIL, "phone": PHONE, "country": "GB"},
         "items": [{"id": "S", "quantity": 1, "price": "5.00", "title": "Mug"}]}
    o.update(extra)
    return o


@pytest.mark.parametrize("items, exc, field", [
    ([{"id": "S", "quantity": 1, "price": "5.00", "title": "x" * 10_000_000}], convtrack.TooLargeError,
     "items[0].title"),
    ([{"id": "S", "quantity": 1, "price": "NaN", "title": "Mug"}], convtrack.InvalidValueError, "items[0].price"),
    ([{"id": "S", "quantity": 1, "price": "5.00", "title": "\udcff"}], convtrack.InputError, "items[0].title"),
])
def test_invalid_order_degrades_naming_the_field(rf, tracker, items, exc, field, caplog):
    # The library's own API raises the typed error naming the field ...
    with pytest.raises(exc) as info:
        tracker.track(dict(order(items=items), event_name="Purchase"))
    assert info.value.field == field
    # ... the shop-facing helper turns it into "no tracking for this request": one log
    # line with the code and the field, one count, and no value anywhere.
    req = request(rf)
    result = track_purchase(req, order(items=items))
    assert result["server"] == "skipped" and result["reason"] == f"{info.value.code_name}:{field}"
    lines = [r.getMessage() for r in caplog.records if r.name == "convtrack.django"]
    assert lines == [f"convtrack: no tracking for this request ({result['reason']})"]
    assert EMAIL not in caplog.text and "xxxx" not in caplog.text and "NaN" not in caplog.text
    assert degraded_counts() == {result["reason"]: 1}
    assert tracker.status()["queue"]["depth"] == 0
    assert req.convtrack.events == []


def test_nul_byte_title_through_the_checkout_stays_data(client, tracker, sandbox):
    page = checkout(client, title="Mug\x00</script>")
    params, _ = pixel_purchase(page)
    assert params["contents"][0]["title"] == "Mug\x00</script>"
    assert page.count("</script>") == 1 and "\x00" not in page.split("<body>")[0]


def test_no_personal_data_or_token_in_logs_page_or_status(client, admin_client, tracker, sandbox, caplog):
    caplog.set_level(logging.DEBUG)
    resp = client.post("/checkout/", {"email": EMAIL, "phone": PHONE, "country": "GB", "sku": "S",
                                      "title": "Mug", "price": "5.00", "quantity": "1"},
                       HTTP_USER_AGENT=UA, HTTP_COOKIE="shop_consent=granted")
    page = client.get(resp["Location"] + "?fbclid=" + "y" * 2000, HTTP_USER_AGENT=UA,
                      HTTP_COOKIE="shop_consent=granted").content.decode()
    tracker.flush(5.0)
    status = admin_client.get("/convtrack/status/").content.decode()
    for text in (caplog.text, page, status, repr(tracker), str(tracker.settings)):
        for secret in (EMAIL, "leak.sentinel", "7183", "sandbox-token", "yyyyyyyy"):
            assert secret not in text
    assert "browser.fbclid" in caplog.text  # the dropped field is named


@pytest.mark.parametrize("extra, exc, field", [
    ({"browser": "not-a-dict"}, convtrack.WrongTypeError, "browser"),
    ({"event_source_url": "javascript:alert(1)"}, convtrack.InvalidValueError, "event_source_url"),
    ({"colour": "red"}, convtrack.UnknownFieldError, "colour"),
])
def test_shop_side_mistakes_degrade_and_the_library_raises(rf, tracker, extra, exc, field):
    with pytest.raises(exc) as info:
        tracker.track(dict(order(**extra), event_name="Purchase"))
    assert info.value.field == field
    result = track_purchase(request(rf), order(**extra))
    assert result["server"] == "skipped" and result["reason"].endswith(":" + field)
    assert "alert" not in result["reason"] and "red" not in result["reason"]


def test_order_must_be_a_dict_or_have_to_convtrack(rf, tracker, caplog):
    result = track_purchase(request(rf), ["not", "an", "order"])
    assert result["server"] == "skipped" and result["reason"] == "TypeError:order"
    assert "no tracking for this request (TypeError:order)" in caplog.text

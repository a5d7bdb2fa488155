"""Issue 17 part 3 from Python: convtrack.first_party_cookies, the first-party _fbp/_fbc
cookies of one request, and the values reaching the server copy of the event."""

import pytest

import convtrack

CLICK = "IwAR2F4-dbP0l7Mn1IawQQGCINEz7PYXQvwjNwB_qa2ofrHyiLjcbCRxTDMgk"
NOW = 1_764_800_000_123


def test_first_visit_with_a_click_sets_both_and_the_event_carries_them():
    out = convtrack.first_party_cookies(
        url=f"https://www.example.com/p?fbclid={CLICK}", host="www.example.com", domain="example.com", now_ms=NOW, random=42
    )
    assert out["fbc"] == f"fb.1.{NOW}.{CLICK}"
    assert out["fbp"] == f"fb.1.{NOW}.42"
    assert {c["name"]: c["value"] for c in out["cookies"]} == {"_fbc": out["fbc"], "_fbp": out["fbp"]}
    for c in out["cookies"]:
        assert (c["max_age"], c["domain"], c["path"], c["same_site"], c["http_only"]) == (7776000, "example.com", "/", "Lax", False)
    tracker = convtrack.Tracker(pixel_id="1234567890", access_token="EAAB-test", data_controls=True)
    event = {
        "event_name": "Purchase",
        "order_id": "1",
        "currency": "EUR",
        "value": "1.00",
        "event_source_url": "https://www.example.com/p",
        "browser": {"fbp": out["fbp"], "fbc": out["fbc"], "user_agent": "Mozilla/5.0"},
        "consent": {"marketing": "granted"},
    }
    user_data = tracker.build(event)["payload"]["user_data"]
    assert (user_data["fbp"], user_data["fbc"]) == (out["fbp"], out["fbc"])


def test_valid_cookies_are_kept_and_a_new_click_replaces_fbc():
    fbp, fbc = "fb.1.1700000000000.123", f"fb.1.1700000000000.{CLICK}"
    out = convtrack.first_party_cookies(fbp=fbp, fbc=fbc, fbclid=CLICK, host="example.com", now_ms=NOW)
    assert (out["fbp"], out["fbc"], out["cookies"]) == (fbp, fbc, [])
    out = convtrack.first_party_cookies(fbp=fbp, fbc=fbc, fbclid="NewClick", host="example.com", now_ms=NOW)
    assert out["fbc"] == f"fb.1.{NOW}.NewClick"
    assert [c["name"] for c in out["cookies"]] == ["_fbc"]
    assert out["cookies"][0]["domain"] is None  # no domain given: host-only


@pytest.mark.parametrize("bad", ["</script><script>alert(1)</script>", "fb.1.1.\x00", "fb.1.1." + "a" * 10240, "fb.1.x.1"])
def test_hostile_cookie_values_are_replaced_never_echoed(bad):
    out = convtrack.first_party_cookies(fbp=bad, fbc=bad, fbclid=bad)
    assert out["fbc"] is None
    assert [c["name"] for c in out["cookies"]] == ["_fbp"]
    assert bad not in out["fbp"] and "script" not in repr(out)


def test_os_randomness_and_clock_by_default():
    a, b = convtrack.first_party_cookies(), convtrack.first_party_cookies()
    assert a["fbp"] != b["fbp"]
    assert a["fbp"].startswith("fb.1.")


@pytest.mark.parametrize(
    "kwargs, error, field",
    [
        ({"host": "<b>evil</b>"}, convtrack.InvalidValueError, "host"),
        ({"host": "shop.com", "domain": "example.com"}, convtrack.InvalidValueError, "domain"),
        ({"domain": "example.com"}, convtrack.MissingFieldError, "host"),
        ({"now_ms": 0}, convtrack.InvalidValueError, "now_ms"),
    ],
)
def test_bad_shop_inputs_are_typed_errors_naming_the_field(kwargs, error, field):
    with pytest.raises(error) as info:
        convtrack.first_party_cookies(**kwargs)
    assert info.value.field == field
    assert "evil" not in str(info.value)


def test_keyword_only():
    with pytest.raises(TypeError):
        convtrack.first_party_cookies("fb.1.1.1")  # type: ignore[misc]

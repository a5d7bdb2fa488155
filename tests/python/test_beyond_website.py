"""Issue 17 from Python: events beyond the website (action_source) and the value fields of custom_data."""

import copy
import json
import math
from decimal import Decimal

import pytest

import convtrack
from convtrack.sandbox import Sandbox

PIXEL = "1234567890"
SOURCES = ["website", "physical_store", "system_generated", "phone_call", "email", "chat", "app", "other"]


def tracker(**extra):
    return convtrack.Tracker(pixel_id=PIXEL, access_token="tok", data_controls=True, **extra)


@pytest.fixture
def receipt(now):
    return {
        "event_name": "Purchase",
        "event_time": now - 3600,
        "order_id": "POS-1",
        "action_source": "physical_store",
        "currency": "EUR",
        "value": Decimal("12.50"),
        "customer": {"email": "Sentinel.Person@Example.com", "phone": "+49 30 1234567"},
        "consent": {"marketing": "granted"},
    }


def test_store_receipt_is_a_server_event_without_a_pixel(receipt):
    r = tracker().build(receipt)
    assert r["server"] == "send" and r["pixel"] == "off" and r["pixel_html"] == ""
    p = r["payload"]
    assert p["action_source"] == "physical_store"
    assert "event_source_url" not in p and "client_user_agent" not in p["user_data"]
    assert p["user_data"]["em"] == [convtrack.hash("email", "Sentinel.Person@Example.com")]


@pytest.mark.parametrize("source", SOURCES)
def test_every_action_source_reaches_the_payload(receipt, source):
    e = dict(receipt, action_source=source, event_source_url="https://shop.example/t", browser={"user_agent": "UA"})
    r = tracker().build(e)
    assert r["payload"]["action_source"] == source
    assert (r["pixel_html"] != "") == (source == "website")


@pytest.mark.parametrize("bad,exc", [("store", convtrack.InvalidValueError), ("WEBSITE", convtrack.InvalidValueError),
                                     ("x\x00</script>", convtrack.InvalidValueError), (1, convtrack.WrongTypeError),
                                     (True, convtrack.WrongTypeError), (["website"], convtrack.WrongTypeError)])
def test_bad_action_source_names_the_field(receipt, bad, exc):
    with pytest.raises(exc) as info:
        tracker().build(dict(receipt, action_source=bad))
    assert info.value.field == "action_source"
    assert "</script>" not in str(info.value)


def test_website_is_the_default_and_still_needs_its_browser_block(receipt):
    del receipt["action_source"]
    with pytest.raises(convtrack.MissingFieldError) as info:
        tracker().build(receipt)
    assert info.value.field == "event_source_url"


def test_store_event_without_customer_data_is_refused(receipt):
    with pytest.raises(convtrack.MissingFieldError) as info:
        tracker().build(dict(receipt, customer={"email": "no address"}))
    assert info.value.field == "customer"


def test_page_snippet_skips_store_events(receipt, now):
    t = tracker()
    web = {"event_name": "AddToCart", "event_id": "atc-1", "event_source_url": "https://shop.example/p",
           "browser": {"user_agent": "UA"}, "consent": {"marketing": "granted"}}
    html = t.page_snippet([receipt, web])
    assert '"AddToCart"' in html and "Purchase" not in html
    assert t.page_snippet([receipt]) == t.page_snippet([])


def test_value_fields_pass_into_custom_data(receipt):
    e = dict(receipt, net_revenue=Decimal("4.20"), predicted_ltv=310, delivery_category="home_delivery",
             customer_segmentation="new_customer_to_business")
    cd = tracker().build(e)["payload"]["custom_data"]
    assert cd["net_revenue"] == 4.2 and isinstance(cd["net_revenue"], float)
    assert cd["predicted_ltv"] == 310
    assert cd["delivery_category"] == "home_delivery" and cd["customer_segmentation"] == "new_customer_to_business"
    # Written as JSON numbers in the stored text as well.
    text = tracker().build(e, payload="json")["payload"]
    assert '"net_revenue":4.2' in text and '"predicted_ltv":310' in text


@pytest.mark.parametrize("key,bad,exc", [
    ("net_revenue", float("nan"), convtrack.InvalidValueError),
    ("net_revenue", math.inf, convtrack.InvalidValueError),
    ("net_revenue", "NaN", convtrack.InvalidValueError),
    ("net_revenue", Decimal("-1"), convtrack.InvalidValueError),
    ("predicted_ltv", "12,50", convtrack.InvalidValueError),
    ("predicted_ltv", [1], convtrack.WrongTypeError),
    ("predicted_ltv", "9" * 100_000, convtrack.InvalidValueError),
    ("delivery_category", "pickup", convtrack.InvalidValueError),
    ("delivery_category", 5, convtrack.WrongTypeError),
    ("customer_segmentation", "existing", convtrack.InvalidValueError),
    ("customer_segmentation", "new_customer_to_business\x00", convtrack.InvalidValueError),
])
def test_bad_value_fields_are_typed_errors(receipt, key, bad, exc):
    with pytest.raises(exc) as info:
        tracker().build(dict(receipt, **{key: bad}))
    assert info.value.field == key


def test_store_events_are_queued_and_delivered_to_the_sandbox(receipt, tmp_path):
    with Sandbox(token="tok") as sandbox:
        with tracker(endpoint=sandbox.url, outbox_path=str(tmp_path / "o.sqlite3")) as t:
            second = copy.deepcopy(receipt)
            second.update(order_id="POS-2", action_source="phone_call", predicted_ltv="99.5",
                          customer_segmentation="customer_in_loyalty_program")
            assert t.track(receipt)["server"] == "queued"
            assert t.track(second)["server"] == "queued"
            # The background sender may take one of them first; flush waits for its answer.
            assert t.flush(timeout=10)["remaining"] == 0
        assert sandbox.stats()["unique"] == 2
        got = {e["custom_data"]["order_id"]: e for e in sandbox.received()}
        assert got["POS-1"]["action_source"] == "physical_store"
        assert got["POS-2"]["action_source"] == "phone_call"
        assert got["POS-2"]["custom_data"]["predicted_ltv"] == 99.5
        assert sandbox.stats()["rejected_events"] == 0


GOOGLEBOT = "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)"
FIREFOX = "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0"


def web_order(receipt, user_agent, order_id="W-1"):
    return dict(receipt, order_id=order_id, action_source="website", event_source_url="https://shop.example/thanks",
                browser={"user_agent": user_agent})


def test_crawlers_are_blocked_with_reason_bot_and_counted(receipt, tmp_path):
    with tracker(outbox_path=str(tmp_path / "o.sqlite3"), sender="manual", bot_user_agents=["ShopMonitor/"]) as t:
        bot = t.track(web_order(receipt, GOOGLEBOT, "W-1"))
        assert (bot["server"], bot["reason"], bot["payload"]) == ("blocked", "bot", None)
        assert "fbq('init'" in bot["pixel_html"]  # the page is the same for crawlers
        mine = t.track(web_order(receipt, "Mozilla/5.0 shopmonitor/2.0", "W-2"))
        assert mine["reason"] == "bot"
        assert t.track(web_order(receipt, FIREFOX, "W-3"))["server"] == "queued"
        assert t.status()["counters"]["blocked"] == {"bot": 2}


@pytest.mark.parametrize("bad,field", [("googlebot", "bot_user_agents"), ([3], "bot_user_agents[0]"),
                                       (["ok-token", "ab"], "bot_user_agents[1]"), (["a\x00bc"], "bot_user_agents[0]"),
                                       (["x" * 129], "bot_user_agents[0]")])
def test_bad_bot_user_agents_name_the_setting(bad, field):
    with pytest.raises(convtrack.SettingsError) as info:
        tracker(bot_user_agents=bad)
    assert info.value.field == field


def _init_keys(html):
    line = next(x for x in html.splitlines() if x.startswith("fbq('init',"))
    return json.loads(line[line.index(",{") + 1:-2]) if ",{" in line else None


def test_advanced_matching_init_has_the_server_copys_hashes_only(receipt):
    t = tracker(pixel_advanced_matching=True)
    customer = {"email": "Sentinel.Person@Example.com", "phone": "+44 20 7183 8750", "first_name": "</script>Sentinel",
                "country": "GB", "external_id": "sentinel-42"}
    r = t.build(dict(web_order(receipt, FIREFOX), customer=customer))
    keys = _init_keys(r["pixel_html"])
    assert keys["em"] == r["payload"]["user_data"]["em"][0] == convtrack.hash("email", customer["email"])
    assert all(keys[k] == r["payload"]["user_data"][k][0] for k in keys)
    assert set(keys) == {"em", "ph", "fn", "country", "external_id"}
    low = r["pixel_html"].lower()
    assert "sentinel" not in low and "7183" not in low and r["pixel_html"].count("</script>") == 1
    denied = t.build(dict(web_order(receipt, FIREFOX), customer=customer, consent={"marketing": "denied"}))
    assert _init_keys(denied["pixel_html"]) is None
    assert _init_keys(tracker().build(web_order(receipt, FIREFOX))["pixel_html"]) is None  # off by default
    with pytest.raises(convtrack.SettingsError) as info:
        tracker(pixel_advanced_matching="yes")
    assert info.value.field == "pixel_advanced_matching"


def test_page_snippet_advanced_matching_only_when_events_agree(receipt):
    t = tracker(pixel_advanced_matching=True)
    a, b = web_order(receipt, FIREFOX, "A"), web_order(receipt, FIREFOX, "B")
    assert _init_keys(t.page_snippet([a, b])) == _init_keys(t.build(a)["pixel_html"]) is not None
    other = dict(b, customer={"email": "other@example.com"})
    assert _init_keys(t.page_snippet([a, other])) is None


AM_CUSTOMER = {"email": "Sentinel.Person@Example.com", "phone": "+44 20 7183 8750", "country": "GB"}


def test_no_advanced_matching_keys_with_data_controls_off(receipt, tmp_path):
    web = dict(web_order(receipt, FIREFOX), customer=AM_CUSTOMER)
    # The control: the same event with data controls on and consent carries the keys.
    assert _init_keys(tracker(pixel_advanced_matching=True).build(web)["pixel_html"]) is not None
    off = convtrack.Tracker(pixel_id=PIXEL, pixel_advanced_matching=True)  # data controls off: the default
    r = off.build(web)
    assert (r["server"], r["reason"]) == ("blocked", "data_controls_off")
    assert "fbq('init'," in r["pixel_html"] and _init_keys(r["pixel_html"]) is None
    assert _init_keys(off.page_snippet([web])) is None
    # Switched off by the merchant's controls (recorded in the outbox), not in the settings.
    with tracker(pixel_advanced_matching=True, outbox_path=str(tmp_path / "o.sqlite3"), sender="manual") as live:
        assert _init_keys(live.build(web)["pixel_html"]) is not None
        live.set_controls(actor="ops", data_controls=False)
        r = live.track(web)
        assert (r["server"], r["reason"]) == ("blocked", "data_controls_off")
        assert _init_keys(r["pixel_html"]) is None and _init_keys(live.page_snippet([web])) is None
        assert "sentinel" not in r["pixel_html"].lower()


def test_no_advanced_matching_keys_for_a_held_event(receipt, tmp_path):
    web = dict(web_order(receipt, FIREFOX), customer=AM_CUSTOMER)
    unknown = dict(web, consent={"marketing": "unknown"})
    with tracker(pixel_advanced_matching=True, unknown_consent="hold", outbox_path=str(tmp_path / "o.sqlite3"),
                 sender="manual") as t:
        assert _init_keys(t.build(web)["pixel_html"]) is not None  # the control: granted carries them
        assert t.build(unknown)["server"] == "held" and _init_keys(t.build(unknown)["pixel_html"]) is None
        r = t.track(unknown)
        assert r["server"] == "held" and "fbq('init'," in r["pixel_html"]
        assert _init_keys(r["pixel_html"]) is None
        assert _init_keys(t.page_snippet([unknown])) is None
        assert t.status()["queue"]["held"] == 1

"""The native API as a Python shop developer uses it."""

import hashlib
import struct
import threading
from decimal import Decimal

from _pydecimal import Decimal as PyDecimal

import pytest

import convtrack
from conftest import PIXEL

TOKEN = "EAAB-SENTINEL-TOKEN"


def sha(s: str) -> str:
    return hashlib.sha256(s.encode()).hexdigest()


def tracker(**extra):
    settings = {"pixel_id": PIXEL, "access_token": TOKEN, "data_controls": True}
    settings.update(extra)
    return convtrack.Tracker(**settings)


# --- event ids -----------------------------------------------------------------


def test_event_ids_match_golden_vectors(golden_event_ids):
    for v in golden_event_ids["vectors"]:
        assert convtrack.event_id(v["pixel_id"], v["event_name"], v["order_id"]) == v["event_id"]


def test_event_id_derivation_matches_the_documentation(golden_event_ids):
    # Recompute from the description in docs/decisions.md with hashlib: the docs are the contract.
    for v in golden_event_ids["vectors"]:
        msg = b"convtrack.event_id.v1"
        for part in (v["pixel_id"], v["event_name"], v["order_id"]):
            b = part.encode("utf-8")
            msg += struct.pack(">I", len(b)) + b
        assert v["event_id"] == "ct1-" + hashlib.sha256(msg).hexdigest()[:32]


def test_event_id_accepts_integer_order_ids():
    assert convtrack.event_id(PIXEL, "Purchase", 1001) == convtrack.event_id(PIXEL, "Purchase", "1001")


@pytest.mark.parametrize(
    "args,field",
    [(("12ab", "Purchase", "1"), "pixel_id"), ((PIXEL, "Bad<name>", "1"), "event_name"), ((PIXEL, "Purchase", ""), "order_id")],
)
def test_event_id_rejects_bad_input(args, field):
    with pytest.raises(convtrack.InputError) as info:
        convtrack.event_id(*args)
    assert info.value.field == field


# --- normalize / hash ------------------------------------------------------------


def test_normalize_and_hash():
    assert convtrack.normalize("email", "  John.Smith@Example.COM ") == "john.smith@example.com"
    assert convtrack.hash("em", "  John.Smith@Example.COM ") == sha("john.smith@example.com")
    assert convtrack.normalize("email", "   ") is None
    assert convtrack.hash("phone", "") is None
    assert convtrack.normalize("phone", "020 7183 8750", country="GB") == "442071838750"
    assert convtrack.normalize("phone", "020 7183 8750", country="United Kingdom") == "442071838750"
    digest = "A665A45920422F9D417E4867EFDC4FB8A04A1F3FFF1FA07E998E86F7F7A27AE3"
    assert convtrack.hash("email", digest) == digest.lower()


def test_postcodes_lose_spaces_and_us_keeps_five_digits():
    # docs/spec.md §4, second deviation: Meta's "no spaces and no dash", as the SDKs send it.
    assert convtrack.normalize("zip", "SW1A 1AA") == "sw1a1aa"
    assert convtrack.hash("zp", "SW1A 1AA") == sha("sw1a1aa")
    assert convtrack.normalize("zip", "K1A 0B1", country="CA") == "k1a0b1"
    assert convtrack.normalize("zip", "1234 AB", country="NL") == "1234ab"
    assert convtrack.normalize("zip", "SW1A\u00a01AA\t") == "sw1a1aa"
    assert convtrack.normalize("zip", "94025 1234", country="US") == "94025"
    assert convtrack.normalize("zip", "94025-1234", country="United States") == "94025"
    assert convtrack.hash("zip", "94025 1234", country="US") == sha("94025")
    assert convtrack.normalize("zip", "94025 1234") == "940251234", "no country: the generic rule"


@pytest.mark.parametrize("digest", ["A665A45920422F9D417E4867EFDC4FB8A04A1F3FFF1FA07E998E86F7F7A27AE3", "0CC175B9C0F1B6A831C399E269772661"])
@pytest.mark.parametrize("field", ["email", "phone", "first_name", "zip", "country", "external_id", "f5first", "doby"])
def test_normalize_and_hash_agree_on_upper_case_digests(field, digest):
    assert convtrack.normalize(field, f" {digest} ") == digest.lower()
    assert convtrack.hash(field, f" {digest} ") == digest.lower()


def test_normalize_errors_name_the_argument():
    with pytest.raises(convtrack.InvalidArgumentError) as info:
        convtrack.normalize("mail", "x@example.com")
    assert info.value.field == "field" and "x@example.com" not in str(info.value)
    with pytest.raises(convtrack.InvalidArgumentError) as info:
        convtrack.hash("phone", "0201", country="Atlantis")
    assert info.value.field == "country"


def test_normalize_survives_hostile_values():
    for value in ["\x00" * 10, "a\udc80b".encode("utf-8", "surrogatepass").decode("utf-8", "replace"), "x" * (10 << 20), "\u202e\u0301" * 100]:
        convtrack.normalize("first_name", value)
        convtrack.hash("phone", value, country="US")


# --- Tracker.build -----------------------------------------------------------------


def test_default_settings_are_pixel_only(purchase):
    r = convtrack.Tracker(pixel_id=PIXEL).build(purchase)
    assert (r["server"], r["reason"], r["payload"]) == ("blocked", "data_controls_off", None)
    assert r["event_id"] == convtrack.event_id(PIXEL, "Purchase", "1001")
    assert '{"eventID":"%s"}' % r["event_id"] in r["pixel_html"]


def test_purchase_payload(purchase):
    r = tracker().build(purchase)
    p = r["payload"]
    assert r["server"] == "send" and r["reason"] is None
    assert p["event_id"] == r["event_id"] == convtrack.event_id(PIXEL, "Purchase", "1001")
    assert p["event_time"] == purchase["event_time"]
    assert p["user_data"]["em"] == [sha("sentinel.person@example.com")]
    assert p["user_data"]["ph"] == [sha("442071838750")]
    assert p["user_data"]["client_user_agent"] == "Mozilla/5.0 (sentinel-ua)"
    assert p["custom_data"]["order_id"] == "1001"
    assert p["custom_data"]["value"] == 59.9
    text = repr(r)
    assert "Sentinel.Person" not in text and "7183" not in text and TOKEN not in text


def test_payload_as_json_text_is_what_would_be_sent(purchase):
    import json

    t = tracker()
    as_dict = t.build(purchase)
    as_text = t.build(purchase, payload="json")
    assert isinstance(as_text["payload"], str)
    assert json.loads(as_text["payload"]) == as_dict["payload"]
    assert {k: v for k, v in as_text.items() if k != "payload"} == {k: v for k, v in as_dict.items() if k != "payload"}
    # The dict is built from the text without json.loads: same values and same types
    # (json.dumps tells 1 from 1.0), escapes and non-ASCII included.
    purchase["items"][0]["id"] = 'Bl\u00e5 "t\u00e9" \\ </script>\u2028\U0001f600'
    purchase["items"][0]["price"] = 19.0
    purchase["value"] = 1e14
    loaded = json.loads(t.build(purchase, payload="json")["payload"])
    assert "</script>\u2028" in json.dumps(loaded, ensure_ascii=False) and loaded["custom_data"]["contents"][0]["item_price"] == 19.0
    assert json.dumps(t.build(purchase)["payload"]) == json.dumps(loaded)
    purchase["consent"] = {"marketing": "denied"}
    assert t.build(purchase, payload="json")["payload"] is None
    with pytest.raises(convtrack.InvalidArgumentError) as e:
        t.build(purchase, payload="xml")
    assert e.value.field == "payload"


def test_track_keeps_the_strings_it_reads_while_another_thread_replaces_them(purchase, tmp_path):
    # track() reads the event's strings in place and releases the GIL for the build and
    # the disk write. Another thread replacing those strings in the dict meanwhile frees
    # the old ones unless the tracker holds them: every result must still be made of
    # whole values (a hash of one of the e-mails, a title of the written shape).
    import json
    import re

    t = tracker(outbox_path=str(tmp_path / "outbox.db"), sender="manual")
    emails = [f"shopper{i}@example.com" for i in range(64)]
    hashes = {sha(e) for e in emails}
    stop = threading.Event()
    replaced = [0]

    def replace_strings():
        i = 0
        while not stop.is_set():
            purchase["customer"] = {"email": emails[i % 64], "phone": "020 7183 " + str(1000 + i % 9000)}
            purchase["items"][0]["title"] = "T" * (i % 40) + str(i)  # a new str object each time
            i += 1
            replaced[0] = i

    purchase["customer"], purchase["items"][0]["title"] = {"email": emails[0]}, "T0"

    other = threading.Thread(target=replace_strings)
    other.start()
    try:
        for k in range(600):
            purchase["order_id"] = f"race-{k}"
            r = t.track(purchase, payload="json")
            assert r["server"] == "queued"
            payload = json.loads(r["payload"])
            assert set(payload["user_data"]["em"]) <= hashes and len(payload["user_data"]["ph"][0]) == 64
            titles = re.findall(r'"title":"([^"]*)"', r["pixel_html"])
            assert len(titles) == 1 and re.fullmatch(r"T*\d+", titles[0]), titles
    finally:
        stop.set()
        other.join()
    assert replaced[0] > 1500, replaced  # the other thread ran while track() had the GIL released


def test_warm_up_is_idempotent_and_harmless():
    convtrack.warm_up()
    convtrack.warm_up()
    assert convtrack.hash("phone", "020 7183 8750", "GB") == sha("442071838750")


def test_server_only_is_the_same_server_copy_without_a_snippet(purchase, tmp_path):
    # A payment provider's webhook: no page to render, only the server copy.
    t = tracker(outbox_path=str(tmp_path / "outbox.db"), sender="manual")
    full = t.build(purchase, payload="json")
    server = t.build(purchase, payload="json", server_only=True)
    assert "fbq('track'" in full["pixel_html"] and server["pixel_html"] == ""
    assert server["payload"] == full["payload"] and server["event_id"] == full["event_id"]
    queued = t.track(purchase, server_only=True)
    assert queued["server"] == "queued" and queued["pixel_html"] == ""
    assert t.track(purchase)["server"] == "duplicate"  # the same event, whichever way it came
    with pytest.raises(TypeError):
        t.build(purchase, server_only="yes")


def test_hostile_title_stays_data(purchase):
    html = tracker().build(purchase)["pixel_html"]
    assert html.count("<script") == 1 and html.count("</script>") == 1
    assert "\\u003c/script\\u003e\\u003cscript\\u003ealert(1)" in html


def test_consent_denied(purchase):
    purchase["consent"] = {"marketing": "denied"}
    r = tracker().build(purchase)
    assert (r["server"], r["reason"], r["pixel"]) == ("blocked", "consent_denied", "revoked")
    assert "fbq('consent','revoke')" in r["pixel_html"]


def test_nonce_and_script_src(purchase):
    r = tracker().build(purchase, nonce="r4nd0m==", script_src="http://127.0.0.1:9/fbevents.js")
    assert '<script nonce="r4nd0m==">' in r["pixel_html"]
    assert '"http://127.0.0.1:9/fbevents.js"' in r["pixel_html"]
    with pytest.raises(convtrack.InvalidArgumentError) as info:
        tracker().build(purchase, nonce='"><script>')
    assert info.value.field == "nonce"


def test_python_shapes_read_in_place(purchase):
    """Tuples, dict subclasses, big unsigned ints and Decimal prices read like their JSON twins."""
    from collections import OrderedDict

    t = tracker()
    as_json = t.build(purchase, payload="json")["payload"]
    purchase["items"] = tuple(OrderedDict(i) for i in purchase["items"])
    purchase["customer"] = OrderedDict(purchase["customer"])
    assert t.build(purchase, payload="json")["payload"] == as_json
    purchase["order_id"] = 2**64 - 1
    assert t.build(purchase)["payload"]["custom_data"]["order_id"] == str(2**64 - 1)


def test_every_kind_of_decimal_gives_the_same_event(purchase):
    # Money as a C Decimal, a pure-Python Decimal (any class named Decimal) or a
    # Decimal subclass: the same payload as the same amount given as text.
    class MyDecimal(Decimal):
        pass

    t = tracker()
    expected = t.build(purchase, payload="json")["payload"]
    for money in (Decimal, PyDecimal, MyDecimal):
        event = dict(purchase, value=money("59.90"), items=[dict(purchase["items"][0], price=money("19.95"))])
        assert t.build(event, payload="json")["payload"] == expected, money
    event = dict(purchase, order_id=PyDecimal("1001"))
    assert t.build(event, payload="json")["payload"] == expected


DECIMAL_THAT_CHANGES_THE_EVENT = """
import gc, hashlib, json, sys
import convtrack

class Decimal:  # the name is what the reader looks for
    def __init__(self, text, event):
        self.text, self.event = text, event

    def __str__(self):
        self.event["customer"].clear()
        self.event["items"][:] = []
        self.event.pop("browser", None)
        gc.collect()
        return self.text

purchase = json.loads(sys.argv[1])
email = "x" * 40 + "@example.com"
t = convtrack.Tracker(pixel_id="1234567890", access_token="t", data_controls=True)
for _ in range(50):
    event = {k: (dict(v) if isinstance(v, dict) else v) for k, v in purchase.items()}
    event["customer"] = {"email": "".join(email), "phone": "020 7183 8750"}
    event["items"] = [dict(purchase["items"][0], title="".join("t" * 100))]
    event["value"] = Decimal("59.90", event)
    r = t.build(event, payload="json")
    assert r["server"] == "send", r["server"]
    payload = json.loads(r["payload"])
    assert payload["custom_data"]["value"] == 59.9
    assert payload["user_data"].get("em", [hashlib.sha256(email.encode()).hexdigest()]) == [hashlib.sha256(email.encode()).hexdigest()]
    assert payload["user_data"]["client_user_agent"] == purchase["browser"]["user_agent"]
assert gc.isenabled()
print("ok")
"""


def test_a_decimal_whose_str_changes_the_event_is_read_safely(purchase):
    # A class named Decimal runs Python code while the event is read: it empties the
    # dicts being read and forces a collection. Nothing the reader holds may be freed
    # under it: the result is a whole event, never a crash. In a child process with
    # Python's debug allocator, which fails loudly on a use after free.
    import json
    import os
    import subprocess
    import sys

    env = dict(os.environ, PYTHONMALLOC="debug")
    run = subprocess.run(
        [sys.executable, "-X", "dev", "-c", DECIMAL_THAT_CHANGES_THE_EVENT, json.dumps(purchase)],
        env=env, capture_output=True, text=True, timeout=120,
    )
    assert run.returncode == 0 and run.stdout.strip() == "ok", run.stderr[-2000:]


SIGNAL_HANDLER_REPLACES_THE_ITEMS = """
import decimal, json, os, signal, subprocess, sys, threading, time
import convtrack

purchase = json.loads(sys.argv[1])
t = convtrack.Tracker(pixel_id="1234567890", access_token="t", data_controls=True, sender="manual")
N = 1000
lists = [[{"id": f"{tag}-{i}", "title": f"{tag} title {i}", "quantity": 1, "price": decimal.Decimal("1.50")}
          for i in range(N)] for tag in ("a", "b")]
event = dict(purchase, value=decimal.Decimal("1500.00"), items=list(lists[0]))
handled = 0
done = threading.Event()
in_build = False

def handler(signum, frame):
    # What a signal handler in a shop may do (gunicorn, Celery and Django install
    # several): replace the list being read, which frees it; or raise (Ctrl-C), here
    # only while build() runs so that the loop below can catch every one.
    global handled
    if done.is_set():
        return
    handled += 1
    event["items"] = list(lists[handled % 2])
    if os.environ.get("RAISE") and in_build:
        raise KeyboardInterrupt

signal.signal(signal.SIGUSR1, handler)

# Signals come from another process: a thread of this one would need the GIL,
# which build() holds, so its signals would never arrive during a build.
PINGER = "import os, signal, sys, time\\nwhile True:\\n    os.kill(int(sys.argv[1]), signal.SIGUSR1)\\n    time.sleep(0.0003)"
pinger = subprocess.Popen([sys.executable, "-c", PINGER, str(os.getpid())], env={})
builds = interrupts = 0
deadline = time.monotonic() + 3
while True:
    try:
        if time.monotonic() >= deadline:
            done.set()
            pinger.kill()
            pinger.wait()
            break
        in_build = True
        r = t.build(event, payload="json")
        in_build = False
        ids = [c["id"] for c in json.loads(r["payload"])["custom_data"]["contents"]]
        builds += 1
        # One whole list of items, as it was at some moment: never cut short, never garbage.
        assert len(ids) == N and len({i[0] for i in ids}) == 1, (len(ids), ids[:2])
        assert sorted(int(i[2:]) for i in ids) == list(range(N))
    except KeyboardInterrupt:
        in_build = False
        interrupts += 1
assert handled > 0, "no signal arrived"
if os.environ.get("RAISE"):
    assert interrupts > 0, "no interrupt reached build()"
else:
    assert builds > 0 and interrupts == 0, (builds, interrupts)
print("ok", builds, handled, interrupts)
"""


@pytest.mark.parametrize("raise_interrupt", [False, True])
def test_a_signal_handler_that_replaces_the_items_during_build(purchase, raise_interrupt):
    # A signal handler may run inside any C-API call build() makes (CPython checks
    # for pending signals there): it replaces event["items"] and collects garbage
    # while 500 items with Decimal prices are read. Every result must be one whole
    # list of items, and a KeyboardInterrupt raised by the handler must come out as
    # a KeyboardInterrupt (never swallowed, never a convtrack error). In a child
    # process with Python's debug allocator, which fails loudly on a use after free.
    import json
    import os
    import subprocess
    import sys

    env = dict(os.environ, PYTHONMALLOC="debug")
    if raise_interrupt:
        env["RAISE"] = "1"
    run = subprocess.run(
        [sys.executable, "-X", "dev", "-c", SIGNAL_HANDLER_REPLACES_THE_ITEMS, json.dumps(purchase)],
        env=env, capture_output=True, text=True, timeout=120,
    )
    assert run.returncode == 0 and run.stdout.startswith("ok"), (run.returncode, run.stdout[-500:], run.stderr[-2000:])
    assert "Exception ignored" not in run.stderr, run.stderr[-2000:]


def test_an_exception_raised_while_reading_a_value_comes_out_unchanged(purchase):
    # A Decimal whose str() raises (as a signal handler's KeyboardInterrupt would):
    # the caller gets that exception, not a convtrack error about the value's type.
    class Interrupting(Decimal):
        def __str__(self):
            raise KeyboardInterrupt

    t = tracker()
    event = dict(purchase, value=Interrupting("59.90"))
    with pytest.raises(KeyboardInterrupt):
        t.build(event)
    with pytest.raises(KeyboardInterrupt):
        t.page_snippet([event])
    with pytest.raises(KeyboardInterrupt):
        convtrack.Tracker(pixel_id=PIXEL, access_token=TOKEN, batch_size=Interrupting("5"))
    # The tracker is still fine afterwards.
    assert t.build(purchase)["server"] == "send"


def test_a_list_subclass_that_lies_about_its_length(purchase):
    # The reader sizes nothing from a subclass's __len__: a list that claims
    # 10**12 entries (or raises) is read as the entries it holds.
    class Liar(list):
        def __len__(self):
            return 10**12

    class Raiser(list):
        def __len__(self):
            raise RuntimeError("no length")

    t = tracker()
    expected = t.build(purchase, payload="json")["payload"]
    events = [purchase, dict(purchase, order_id="1002")]
    page = t.page_snippet(events)
    assert page.count('fbq(\'track\',"Purchase",') == 2
    for cls in (Liar, Raiser):
        event = dict(purchase, items=cls(purchase["items"]))
        assert t.build(event, payload="json")["payload"] == expected, cls
        assert t.page_snippet(cls(events)) == page, cls


def test_a_money_value_whose_str_fails_is_a_typed_error_naming_it(purchase):
    # An ordinary exception from a Decimal subclass's __str__ is bad input: a
    # convtrack error naming the field, with the shop's exception as its cause.
    class Broken(Decimal):
        def __str__(self):
            raise ValueError("broken money class")

    t = tracker()
    item = dict(purchase["items"][0], price=Broken("19.95"))
    with pytest.raises(convtrack.ConvtrackError) as info:
        t.build(dict(purchase, items=[item]))
    assert info.value.field == "items[0].price"
    assert isinstance(info.value.__cause__, ValueError)
    with pytest.raises(convtrack.ConvtrackError) as info:
        convtrack.Tracker(pixel_id=PIXEL, access_token=TOKEN, batch_size=Broken("5"))
    assert info.value.field == "batch_size" and isinstance(info.value.__cause__, ValueError)


def test_build_runs_no_python_code(purchase):
    # build() is pure: it calls no Python code of the shop's (a profiler sees every
    # Python function that runs), and the core logs nothing while building, even
    # with the convtrack loggers at DEBUG (a record would reach Python's logging
    # through pyo3-log and cost a checkout time).
    import logging
    import sys

    t = tracker()
    blocked = dict(purchase, consent={"marketing": "denied"})
    lead = {"event_name": "Lead", "customer": {"email": ["a@example.com", "b@example.com"]}}
    money = dict(purchase, value=Decimal("59.90"))
    t.build(money)  # the first Decimal looks up the C Decimal type (an import)
    ran = []

    def profiler(frame, event, arg):
        if event == "call":
            ran.append(frame.f_code.co_name)

    logger = logging.getLogger("convtrack")
    level = logger.level
    logger.setLevel(logging.DEBUG)
    sys.setprofile(profiler)
    try:
        for event in (purchase, blocked, lead, money):
            t.build(event)
            t.build(event, payload="json", server_only=True)
    finally:
        sys.setprofile(None)
        logger.setLevel(level)
    assert ran == []


def test_results_carry_nothing_over_from_earlier_results(purchase):
    # Result dicts start from a template holding the first result's numbers and
    # flags, and short texts reuse the str of the previous result: every field must
    # still be this event's own.
    t = tracker()
    denied = dict(purchase, consent={"marketing": "denied"})
    ldu = dict(purchase, consent={"marketing": "granted", "ldu": True})
    lead = dict(purchase, event_name="Lead")
    custom = dict(purchase, event_name="Quote Request")
    expected = {
        "purchase": ("Purchase", "send", None, "track", False),
        "denied": ("Purchase", "blocked", "consent_denied", "revoked", False),
        "ldu": ("Purchase", "send", None, "track", True),
        "lead": ("Lead", "send", None, "track", False),
        "custom": ("Quote Request", "send", None, "track", False),
    }
    events = {"purchase": purchase, "denied": denied, "ldu": ldu, "lead": lead, "custom": custom}
    for name in ["ldu", "denied", "purchase", "custom", "lead", "denied", "ldu", "purchase", "lead"]:
        r = t.build(events[name])
        got = (r["event_name"], r["server"], r["reason"], r["pixel"], r["ldu"])
        assert got == expected[name], name
        assert r["schema"] == 1 and r["event_time"] == purchase["event_time"]
        assert set(r) == {"schema", "event_id", "event_name", "event_time", "server", "reason", "pixel", "ldu", "pixel_html", "payload"}


def test_reading_leaves_the_collector_as_it_was(purchase):
    import gc

    t = tracker()
    bad = dict(purchase, colour="red")
    try:
        for enabled in (True, False):
            gc.enable() if enabled else gc.disable()
            t.build(purchase)
            t.build(dict(purchase, value=PyDecimal("59.90")))
            with pytest.raises(convtrack.UnknownFieldError):
                t.build(bad)
            assert gc.isenabled() == enabled
    finally:
        gc.enable()


def test_python_money_types(purchase):
    purchase["value"] = Decimal("59.90")
    purchase["items"][0]["price"] = 19.95
    assert tracker().build(purchase)["payload"]["custom_data"]["value"] == 59.9


@pytest.mark.parametrize(
    "mutate,exc,field",
    [
        (lambda e: e.update(value=float("nan")), convtrack.InvalidValueError, "value"),
        (lambda e: e.update(value=Decimal("NaN")), convtrack.InvalidValueError, "value"),
        (lambda e: e.update(value=float("inf")), convtrack.InvalidValueError, "value"),
        (lambda e: e.update(value="-1"), convtrack.InvalidValueError, "value"),
        (lambda e: e.update(colour="red"), convtrack.UnknownFieldError, "colour"),
        (lambda e: e.pop("order_id"), convtrack.MissingFieldError, "order_id"),
        (lambda e: e["items"][0].update(quantity=-2), convtrack.InvalidValueError, "items[0].quantity"),
        (lambda e: e["customer"].update(email=object()), convtrack.WrongTypeError, "customer.email"),
        (lambda e: e["customer"].update(email=12.5), convtrack.WrongTypeError, "customer.email"),
        (lambda e: e.update(event_time=1), convtrack.EventTimeError, "event_time"),
        (lambda e: e["items"][0].update(title="x" * (10 << 20)), convtrack.TooLargeError, "items[0].title"),
        (lambda e: e.update(order_id="a\x00b"), convtrack.InvalidValueError, "order_id"),
        (lambda e: e.update(event_name=None), convtrack.MissingFieldError, "event_name"),
        # The dict is read in place by the core's parser: Python-only shapes keep their paths.
        (lambda e: e.update(items=[5]), convtrack.WrongTypeError, "items[0]"),
        (lambda e: e.update(customer=["x"]), convtrack.WrongTypeError, "customer"),
        (lambda e: e["customer"].update({1: "x"}), convtrack.WrongTypeError, "customer"),
        (lambda e: e["items"][0].update(title="a\udc80b"), convtrack.InvalidArgumentError, "items[0].title"),
        (lambda e: e.update(order_id=2**70), convtrack.InvalidValueError, "order_id"),
        (lambda e: e.update(order_id={1, 2}), convtrack.WrongTypeError, "order_id"),
        (lambda e: e["items"][0].update(quantity=2.0), convtrack.WrongTypeError, "items[0].quantity"),
        (lambda e: e["customer"].update(email=["a@example.com", 7]), convtrack.WrongTypeError, "customer.email[1]"),
        (lambda e: e["browser"].update(ip=None, colour=1), convtrack.UnknownFieldError, "browser.colour"),
    ],
)
@pytest.mark.parametrize("reader", ["fast", "safe"])
def test_bad_input_raises_typed_errors_naming_the_field(purchase, mutate, exc, field, reader):
    if reader == "safe":
        # A value only Python code can turn into text (a pure-Python Decimal) sends the
        # event to the safe reader, from the third field it reads (order_id) on.
        purchase["order_id"] = PyDecimal(purchase["order_id"])
    mutate(purchase)
    with pytest.raises(exc) as info:
        tracker().build(purchase)
    err = info.value
    assert isinstance(err, convtrack.ConvtrackError) and isinstance(err, ValueError)
    assert err.field == field
    assert str(err).startswith(field)
    assert "Sentinel" not in str(err) and "sentinel" not in str(err)


def test_non_dict_and_deeply_nested_input():
    t = tracker()
    with pytest.raises(convtrack.WrongTypeError):
        t.build(["not", "a", "dict"])
    deep = {"event_name": "Lead"}
    cur = deep
    for _ in range(10000):
        cur["customer"] = {}
        cur = cur["customer"]
    with pytest.raises(convtrack.InputError):
        t.build(deep)


def test_settings_errors_and_redaction():
    with pytest.raises(convtrack.SettingsError) as info:
        convtrack.Tracker(pixel_id="12ab")
    assert info.value.field == "pixel_id" and info.value.code == 300 and info.value.code_name == "invalid_setting"
    with pytest.raises(convtrack.SettingsError) as info:
        convtrack.Tracker(pixel_id=PIXEL, data_control=True)
    assert info.value.field == "data_control"
    with pytest.raises(convtrack.SettingsError) as info:
        convtrack.Tracker(pixel_id=PIXEL, access_token="has space " + TOKEN)
    assert TOKEN not in str(info.value)
    t = tracker(catalog_id="42")
    assert TOKEN not in repr(t) and TOKEN not in str(t.settings)
    assert t.settings["access_token"] == "<redacted>"
    assert convtrack.Tracker({"pixel_id": PIXEL}, data_controls=False).settings["data_controls"] is False


def test_tracker_is_immutable_and_thread_safe(purchase):
    t = tracker()
    with pytest.raises(AttributeError):
        t.settings = {}  # type: ignore[misc]
    ids = set()

    def work():
        for _ in range(200):
            ids.add(t.build(purchase)["event_id"])

    threads = [threading.Thread(target=work) for _ in range(4)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert ids == {convtrack.event_id(PIXEL, "Purchase", "1001")}


def test_public_api_is_explicit():
    assert set(convtrack.__all__) >= {"Tracker", "normalize", "hash", "event_id", "ConvtrackError"}
    for name in convtrack.__all__:
        assert hasattr(convtrack, name)


def test_page_snippet_reads_each_event_in_place(purchase):
    t = tracker()
    second = dict(purchase, order_id="1002")
    html = t.page_snippet((purchase, second))
    assert html.count('fbq(\'track\',"Purchase",') == 2
    assert t.build(purchase)["event_id"] in html and t.build(second)["event_id"] in html
    with pytest.raises(convtrack.WrongTypeError) as info:
        t.page_snippet([purchase, dict(purchase, event_name=5)])
    assert info.value.field == "events[1].event_name"
    with pytest.raises(convtrack.WrongTypeError) as info:
        t.page_snippet("not a list")
    assert info.value.field == "events"

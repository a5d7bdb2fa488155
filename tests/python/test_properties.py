"""Property tests (hypothesis) of the invariants shop developers rely on."""

import re

from hypothesis import given, settings
from hypothesis import strategies as st

import convtrack

FIELDS = ["email", "phone", "first_name", "last_name", "gender", "date_of_birth", "city", "state", "zip",
          "country", "external_id"]
hexdigest = st.text(alphabet="0123456789abcdefABCDEF", min_size=64, max_size=64)


@settings(max_examples=300, deadline=None)
@given(field=st.sampled_from(FIELDS), digest=hexdigest)
def test_a_hashed_value_passes_through_lowercased(field, digest):
    assert convtrack.hash(field, digest) == digest.lower()
    assert convtrack.hash(field, "  " + digest + "\n") == digest.lower()


@settings(max_examples=500, deadline=None)
@given(field=st.sampled_from(FIELDS), value=st.text(max_size=200))
def test_normalize_is_total_and_idempotent(field, value):
    once = convtrack.normalize(field, value)
    if once is None:
        return
    assert once != ""
    assert convtrack.normalize(field, once) == once
    digest = convtrack.hash(field, value)
    assert digest is not None and re.fullmatch(r"[0-9a-f]{64}", digest)


@settings(max_examples=300, deadline=None)
@given(order=st.text(alphabet=st.characters(blacklist_categories=("Cc", "Cs")), min_size=1, max_size=60)
       .filter(lambda s: len(s.encode()) <= 255))
def test_event_ids_are_stable_and_well_formed(order):
    a = convtrack.event_id("1234567890", "Purchase", order)
    assert a == convtrack.event_id("1234567890", "Purchase", order)
    assert re.fullmatch(r"ct1-[0-9a-f]{32}", a)


@settings(max_examples=200, deadline=None)
@given(data_controls=st.booleans(), unknown=st.sampled_from(["deny", "grant"]))
def test_gate_is_monotone_in_consent(data_controls, unknown):
    t = convtrack.Tracker(pixel_id="1", access_token="t", data_controls=data_controls, unknown_consent=unknown,
                          sender="manual")
    rank = []
    for marketing in ["denied", "unknown", "granted"]:
        r = t.build({"event_name": "Lead", "event_source_url": "https://s.example/", "browser": {"user_agent": "UA"},
                     "consent": {"marketing": marketing}})
        rank.append((r["server"] == "send") * 2 + (r["pixel"] == "track"))
    assert rank == sorted(rank)

"""Live catalog updates end to end: Tracker.catalog_update/catalog_delete → durable outbox →
sender → the sandbox's real items_batch endpoint on loopback (no mock of convtrack)."""

import pathlib
from typing import Any, Dict

import pytest

import convtrack
from convtrack.sandbox import Sandbox

CATALOG = "5550001"


def product(pid: str, **over: Any) -> Dict[str, Any]:
    p: Dict[str, Any] = {
        "id": pid, "sku": f"SKU-{pid}", "title": f"Mug {pid}", "description": "A stoneware mug.",
        "availability": "in_stock", "price": "12.99", "currency": "EUR",
        "link": f"https://shop.example/p/{pid}", "image_link": f"https://shop.example/p/{pid}.jpg", "brand": "Acme",
    }
    p.update(over)
    return p


@pytest.fixture
def sandbox():
    with Sandbox(token="catalog-token") as sb:
        yield sb


def tracker(sandbox: Sandbox, tmp_path: pathlib.Path, **over: Any) -> convtrack.Tracker:
    settings: Dict[str, Any] = dict(
        pixel_id="1234567890", access_token="catalog-token", catalog_id=CATALOG, catalog_name="Main shop",
        outbox_path=str(tmp_path / "outbox.sqlite3"), endpoint=sandbox.url, sender="manual",
        retry_base_ms=10, retry_max_ms=50,
    )
    settings.update(over)
    return convtrack.Tracker(**settings)


def test_ten_edits_reach_the_catalog_as_one_update(sandbox: Sandbox, tmp_path: pathlib.Path) -> None:
    with tracker(sandbox, tmp_path) as t:
        for i in range(10):
            change = t.catalog_update(product("p1", title=f"Mug v{i}", inventory=i))
            assert change == {"retailer_id": "p1", "method": "UPDATE", "coalesced": i > 0, "queued": True}
        t.catalog_update(product("p2"))
        report = t.flush(timeout=10)
        assert report["catalog"]["sent"] == 2 and report["catalog"]["remaining"] == 0
        seen = sandbox.catalog()
        assert seen["requests"] == 1 and seen["updates"] == 2
        item = seen["items"][CATALOG]["p1"]
        assert item["title"] == "Mug v9" and item["inventory"] == 9
        assert item["price"] == "12.99 EUR" and item["availability"] == "in stock" and item["condition"] == "new"

        t.catalog_delete("p2")
        t.flush(timeout=10)
        assert set(sandbox.catalog()["items"][CATALOG]) == {"p1"}

        status = t.status()
        assert status["catalog"]["catalog_id"] == CATALOG and status["catalog"]["catalog_name"] == "Main shop"
        upd = status["catalog_updates"]
        assert upd["counters"]["coalesced"] == 9 and upd["counters"]["sent"] == 3
        assert upd["last_update"]["items"] == 1 and upd["depth"] == 0


def test_meta_down_then_back_loses_nothing(sandbox: Sandbox, tmp_path: pathlib.Path) -> None:
    with tracker(sandbox, tmp_path) as t:
        for i in range(5):
            t.catalog_update(product(f"p{i}"))
        sandbox.inject("status", count=2, status=503)
        sandbox.inject("drop")
        sandbox.inject("malformed")
        report = t.flush(timeout=15)
        assert report["catalog"]["remaining"] == 0, report
        assert report["catalog"]["retried"] >= 4 * 5
        assert len(sandbox.catalog()["items"][CATALOG]) == 5


def test_a_refused_item_is_dead_lettered_and_the_rest_applied(sandbox: Sandbox, tmp_path: pathlib.Path) -> None:
    # Meta may refuse an item convtrack cannot judge (a policy rule): the sandbox plays that part.
    sandbox.refuse_catalog_item("bad", "Item violates commerce policies")
    with tracker(sandbox, tmp_path) as t:
        t.catalog_update(product("good"))
        t.catalog_update(product("bad"))
        report = t.flush(timeout=10)
        assert (report["catalog"]["sent"], report["catalog"]["failed"], report["catalog"]["remaining"]) == (1, 1, 0)
        assert set(sandbox.catalog()["items"][CATALOG]) == {"good"}
        upd = t.status()["catalog_updates"]
        assert upd["dead_letters"] == 1 and upd["counters"]["failed"] == 1


def test_bad_token_pauses_catalog_updates_until_resumed(sandbox: Sandbox, tmp_path: pathlib.Path) -> None:
    with tracker(sandbox, tmp_path, access_token="wrong-token") as t:
        t.catalog_update(product("p1"))
        report = t.flush(timeout=5)
        assert report["catalog"]["paused"] == "invalid_token" and report["catalog"]["remaining"] == 1
        assert t.status()["catalog_updates"]["paused"]["code"] == 190
    # The merchant fixes the token: the same outbox file resumes by itself and sends.
    with tracker(sandbox, tmp_path) as t:
        report = t.flush(timeout=5)
        assert report["catalog"]["sent"] == 1 and report["catalog"]["paused"] is None


def test_catalog_only_mode_sends_catalog_updates_and_no_event(
    sandbox: Sandbox, tmp_path: pathlib.Path, purchase: Dict[str, Any]
) -> None:
    with tracker(sandbox, tmp_path, mode="catalog_only", data_controls=True) as t:
        result = t.track(purchase)
        assert result["server"] == "blocked" and result["reason"] == "catalog_only" and result["pixel_html"] == ""
        t.catalog_update(product("p1"))
        report = t.flush(timeout=10)
        assert report["sent"] == 0 and report["catalog"]["sent"] == 1
        assert sandbox.stats()["received"] == 0, "no event left the shop"
        assert all(r["path"].endswith("/items_batch") for r in sandbox.requests())
        assert t.status()["counters"]["blocked"] == {"catalog_only": 1}


def test_the_background_thread_sends_catalog_updates_with_data_controls_off(
    sandbox: Sandbox, tmp_path: pathlib.Path
) -> None:
    import time

    with tracker(sandbox, tmp_path, sender="thread", flush_interval_ms=50) as t:
        t.catalog_update(product("p1"))
        deadline = time.time() + 10
        while time.time() < deadline and not sandbox.catalog()["items"].get(CATALOG):
            time.sleep(0.05)
        assert "p1" in sandbox.catalog()["items"][CATALOG]


def test_typed_errors_name_the_field(sandbox: Sandbox, tmp_path: pathlib.Path) -> None:
    with tracker(sandbox, tmp_path) as t:
        with pytest.raises(convtrack.InvalidValueError) as e:
            t.catalog_update(product("p1", price="NaN"))
        assert e.value.field == "price"
        with pytest.raises(convtrack.MissingFieldError) as e:
            t.catalog_update({k: v for k, v in product("p1").items() if k != "brand"})
        assert e.value.field == "brand"
        with pytest.raises(convtrack.InvalidValueError) as e:
            t.catalog_update(product("p1", link="javascript:alert(1)"))
        assert e.value.field == "link"
        with pytest.raises(convtrack.WrongTypeError) as e:
            t.catalog_delete(1.5)  # type: ignore[arg-type]
        assert e.value.field == "product_id"
        with pytest.raises(convtrack.ConvtrackError) as e:
            t.catalog_delete("a\x00b")
        assert e.value.field == "product_id"
    with tracker(sandbox, tmp_path, catalog_id=None) as t:
        with pytest.raises(convtrack.NotConfiguredError) as e:
            t.catalog_delete("p1")
        assert e.value.field == "catalog_id"

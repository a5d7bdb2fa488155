"""Catalog feed export end to end: the real CLI in a child process, real files,
stdlib parsers on the output. The 1M-product run checks memory (peak RSS of
the child, from os.wait4), never time."""

import csv
import io
import json
import pathlib
import subprocess
import sys
import xml.etree.ElementTree as ET
from typing import Any, Dict, List, Tuple

import pytest

import convtrack

G = "{http://base.google.com/ns/1.0}"
COLUMNS = [
    "id", "title", "description", "availability", "condition", "price", "link", "image_link", "brand",
    "sale_price", "item_group_id", "google_product_category", "additional_image_link", "inventory",
]


def product(i: int) -> Dict[str, Any]:
    if i % 7 == 0:
        title = f'Mug "{i}", <b>&</b> ]]> </script>'
    elif i % 7 == 1:
        title = f"Tasse \u2615 {i}\nzweite Zeile"
    else:
        title = f"Product {i}"
    p: Dict[str, Any] = {
        "id": f"P{i}",
        "sku": f"SKU-{i}",
        "title": title,
        "description": f'Line, with "quotes" & <tags> {i}',
        "availability": ["in_stock", "out_of_stock", "preorder", "backorder"][i % 4],
        "price": f"{i % 1000}.{i % 100:02d}",
        "currency": "EUR",
        "link": f"https://shop.example/p/{i}",
        "image_link": f"https://shop.example/img/{i}.jpg",
        "brand": "Acme",
    }
    if i % 3 == 0:
        p["item_group_id"] = f"G{i // 3}"
        p["additional_image_links"] = [f"https://shop.example/img/{i}-a.jpg", f"https://shop.example/img/{i}-b.jpg"]
        p["inventory"] = i % 50
    return p


META_AVAILABILITY = {"in_stock": "in stock", "out_of_stock": "out of stock", "preorder": "preorder", "backorder": "available for order"}


def expected(i: int) -> Dict[str, str]:
    p = product(i)
    return {
        "id": p["id"],
        "title": p["title"],
        "description": p["description"],
        "availability": META_AVAILABILITY[p["availability"]],
        "price": f"{p['price']} EUR",
        "link": p["link"],
        "item_group_id": p.get("item_group_id", ""),
        "inventory": str(p["inventory"]) if "inventory" in p else "",
    }


def write_products(path: pathlib.Path, n: int) -> None:
    with open(path, "w", encoding="utf-8") as f:
        for start in range(0, n, 10_000):
            f.write("".join(json.dumps(product(i)) + "\n" for i in range(start, min(start + 10_000, n))))


def run_cli(*args: str) -> Tuple[int, str, str]:
    """Runs `python -m convtrack ARGS`; returns (exit code, stdout, stderr)."""
    proc = subprocess.run([sys.executable, "-m", "convtrack", *args], capture_output=True, text=True, timeout=900)
    return proc.returncode, proc.stdout, proc.stderr


# Linux carries a parent's peak RSS into a forked child's ru_maxrss, so the CLI
# runs as the child of a small wrapper process and the wrapper reports
# RUSAGE_CHILDREN (the CLI's own peak) on its last stderr line.
RSS_WRAPPER = """
import resource, subprocess, sys
code = subprocess.call([sys.executable, "-m", "convtrack", *sys.argv[1:]], stderr=subprocess.DEVNULL)
sys.stderr.write("maxrss_kib=%d\\n" % resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
sys.exit(code)
"""


def run_cli_rss(*args: str) -> Tuple[int, str, int]:
    """Like run_cli; returns (exit code, stdout, peak RSS of the CLI process in KiB)."""
    proc = subprocess.run([sys.executable, "-c", RSS_WRAPPER, *args], capture_output=True, text=True, timeout=900)
    rss = int(proc.stderr.strip().splitlines()[-1].split("=")[1])
    return proc.returncode, proc.stdout, rss


def check_xml(path: pathlib.Path, n: int, samples: List[int]) -> None:
    want = {f"P{i}": expected(i) for i in samples}
    got: Dict[str, Dict[str, str]] = {}
    count = 0
    for event, elem in ET.iterparse(path, events=("end",)):
        if elem.tag == "item":
            count += 1
            pid = elem.findtext(f"{G}id")
            if pid in want:
                got[pid] = {k: elem.findtext(f"{G}{k}") or "" for k in want[pid]}
                got[pid]["_images"] = str(len(elem.findall(f"{G}additional_image_link")))
            elem.clear()
    assert count == n
    for pid, exp in want.items():
        images = got[pid].pop("_images")
        assert got[pid] == exp, pid
        assert images == ("2" if exp["item_group_id"] else "0")


def check_csv(path: pathlib.Path, n: int, samples: List[int], delimiter: str = ",") -> None:
    want = {f"P{i}": expected(i) for i in samples}
    count = 0
    with open(path, newline="", encoding="utf-8") as f:
        reader = csv.DictReader(f, delimiter=delimiter)
        assert reader.fieldnames == COLUMNS
        for row in reader:
            count += 1
            exp = want.get(row["id"])
            if exp is not None:
                assert {k: row[k] for k in exp} == exp, row["id"]
                if exp["item_group_id"]:
                    n_img = row["additional_image_link"].split(",")
                    assert len(n_img) == 2
    assert count == n


@pytest.fixture(scope="module")
def catalogs(tmp_path_factory: pytest.TempPathFactory) -> Dict[int, pathlib.Path]:
    d = tmp_path_factory.mktemp("catalogs")
    out = {}
    for n in (10_000, 1_000_000):
        path = d / f"products-{n}.jsonl"
        write_products(path, n)
        out[n] = path
    return out


@pytest.mark.parametrize("fmt", ["xml", "csv"])
def test_million_products_constant_memory(catalogs: Dict[int, pathlib.Path], tmp_path: pathlib.Path, fmt: str) -> None:
    rss = {}
    for n, src in catalogs.items():
        dst = tmp_path / f"feed-{n}.{fmt}"
        code, out, rss[n] = run_cli_rss("feed", str(src), "-o", str(dst), "--format", fmt, "--json", "--progress", "never")
        assert code == 0
        report = json.loads(out)
        assert (report["written"], report["skipped"]) == (n, 0)
        samples = [0, 1, 2, 3, 6, 7, n // 2, n - 1]
        if fmt == "xml":
            check_xml(dst, n, samples)
        else:
            check_csv(dst, n, samples)
    print(f"\npeak RSS {fmt}: 10k {rss[10_000]} KiB, 1M {rss[1_000_000]} KiB")
    # Memory, not time: 100x the products within a small constant (8 MiB) of the 10k run.
    assert rss[1_000_000] - rss[10_000] < 8 * 1024, rss


def test_tsv_round_trip(catalogs: Dict[int, pathlib.Path], tmp_path: pathlib.Path) -> None:
    dst = tmp_path / "feed.tsv"
    code, out, err = run_cli("feed", str(catalogs[10_000]), "-o", str(dst), "--json")
    assert code == 0, err
    check_csv(dst, 10_000, [0, 1, 5, 9_999], delimiter="\t")
    # stdin input, progress bar forced on (stderr), format from the suffix.
    dst2 = tmp_path / "feed2.csv"
    with open(catalogs[10_000], "rb") as stdin:
        proc = subprocess.run(
            [sys.executable, "-m", "convtrack", "feed", "-", "-o", str(dst2), "--progress", "always"],
            stdin=stdin, capture_output=True, text=True, timeout=300,
        )
    assert proc.returncode == 0, proc.stderr
    assert "10000 lines, 10000 written" in proc.stderr
    assert "10000 products written (csv), 0 skipped" in proc.stdout
    check_csv(dst2, 10_000, [3, 9_998])


def bad_lines() -> List[bytes]:
    good = json.dumps(product(1)).encode()
    return [
        good,
        b"{not json",
        json.dumps({**product(2), "price": "NaN"}).encode(),
        json.dumps({**product(3), "currency": "EURO"}).encode(),
        json.dumps({**product(4), "availability": "maybe"}).encode(),
        json.dumps({**product(5), "link": "/relative/sentinel@example.com"}).encode(),
        json.dumps({**product(6), "title": "sentinel@example.com " + "x" * 300}).encode(),
        json.dumps({k: v for k, v in product(7).items() if k != "brand"}).encode(),
        good[:-1] + b'\xff"}',
        json.dumps({**product(9), "title": "a\u0000b"}).encode(),
        b"",
        json.dumps(product(10)).encode(),
    ]


def test_invalid_products_reported_one_by_one_and_skipped(tmp_path: pathlib.Path) -> None:
    src = tmp_path / "products.jsonl"
    src.write_bytes(b"\n".join(bad_lines()) + b"\n")
    dst = tmp_path / "feed.xml"
    errors = tmp_path / "errors.jsonl"
    code, out, err = run_cli("feed", str(src), "-o", str(dst), "--errors", str(errors))
    assert code == 4, err
    expected_errors = [
        (2, None, "invalid_json", "line"),
        (3, "P2", "invalid_value", "price"),
        (4, "P3", "invalid_value", "currency"),
        (5, "P4", "invalid_value", "availability"),
        (6, "P5", "invalid_value", "link"),
        (7, "P6", "too_large", "title"),
        (8, "P7", "missing_field", "brand"),
        (9, None, "invalid_utf8", "line"),
        (10, "P9", "invalid_value", "title"),
    ]
    got = [json.loads(line) for line in errors.read_text().splitlines()]
    assert [(e["line"], e["product_id"], e["code"], e["field"]) for e in got] == expected_errors
    skipped_lines = [line for line in err.splitlines() if line.startswith("skipped line")]
    assert len(skipped_lines) == len(expected_errors)
    assert skipped_lines[1].startswith("skipped line 3 (product P2): invalid_value: price:")
    assert "sentinel@example.com" not in err + out + errors.read_text()
    assert "2 products written" in out and "9 skipped" in out
    ids = [e.findtext(f"{G}id") for e in ET.parse(dst).getroot().iter("item")]
    assert ids == ["P1", "P10"]


def test_feed_with_settings_records_status_and_uses_mapping(tmp_path: pathlib.Path) -> None:
    settings = tmp_path / "settings.json"
    settings.write_text(json.dumps({
        "pixel_id": "1234567890", "catalog_id": "555", "catalog_name": "Main catalog",
        "content_id": "sku", "outbox_path": str(tmp_path / "outbox.sqlite"),
    }))
    src = tmp_path / "products.jsonl"
    src.write_text("".join(json.dumps(product(i)) + "\n" for i in range(5)) + json.dumps({k: v for k, v in product(5).items() if k != "sku"}) + "\n")
    dst = tmp_path / "feed.csv"
    code, out, err = run_cli("feed", str(src), "-o", str(dst), "--settings", str(settings), "--json")
    assert code == 4, err
    report = json.loads(out)
    assert (report["written"], report["skipped"], report["content_id"]) == (5, 1, "sku")
    assert report["errors"][0]["field"] == "sku" and report["errors"][0]["product_id"] == "P5"
    rows = list(csv.DictReader(open(dst, newline="", encoding="utf-8")))
    assert [r["id"] for r in rows] == [f"SKU-{i}" for i in range(5)]
    code, out, err = run_cli("status", "--settings", str(settings), "--json")
    assert code == 0, err
    cat = json.loads(out)["catalog"]
    assert cat["catalog_id"] == "555" and cat["catalog_name"] == "Main catalog" and cat["content_id"] == "sku"
    assert (cat["last_export"]["written"], cat["last_export"]["skipped"], cat["last_export"]["format"]) == (5, 1, "csv")
    # The event payload uses the same mapping as the feed.
    t = convtrack.Tracker(json.loads(settings.read_text()), sender="manual")
    r = t.build({"event_name": "AddToCart", "items": [{"id": "P1", "sku": "SKU-1"}]})
    t.close()
    assert '"content_ids":["SKU-1"]' in r["pixel_html"]


def test_catalog_check_cli(tmp_path: pathlib.Path) -> None:
    products = tmp_path / "products.jsonl"
    products.write_text("".join(json.dumps(product(i)) + "\n" for i in range(3)))
    events = tmp_path / "events.jsonl"
    def ev(items):
        return json.dumps({"event_name": "Purchase", "order_id": "1", "currency": "EUR", "value": "1", "items": items})

    events.write_text("\n".join([ev([{"id": "P0", "sku": "SKU-0"}, {"id": "P9", "sku": "SKU-2"}]), ev([{"id": "P1"}]), "{oops"]) + "\n")
    code, out, err = run_cli("catalog", "check", str(events), str(products), "--json")
    assert code == 4, err
    r = json.loads(out)
    assert (r["products"], r["events"], r["event_errors"], r["items_checked"], r["items_missing"]) == (3, 3, 1, 3, 1)
    assert r["missing"] == [{"line": 1, "item": 1, "content_id": "P9"}]
    code, out, err = run_cli("catalog", "check", str(events), str(products), "--content-id", "sku")
    assert code == 4
    assert "items[0].sku" in out  # event 2's item has no sku
    assert "0 not in the catalog" in out
    good = tmp_path / "good.jsonl"
    good.write_text(ev([{"id": "P0"}, {"id": "P2"}]) + "\n")
    code, out, err = run_cli("catalog", "check", str(good), str(products))
    assert code == 0, out + err


def test_python_api_iterables_and_file_objects() -> None:
    items = [product(0), json.dumps(product(1)), json.dumps(product(2)).encode(), {"id": "X", "price": float("nan")}]
    errors: List[Dict[str, Any]] = []
    text, report = convtrack.export_feed_string(items, format="xml", on_error=errors.append)
    assert (report["written"], report["skipped"]) == (3, 1)
    assert errors == report["errors"] and errors[0]["product_id"] == "X"
    assert text.count("<item>") == 3 and "</script>" not in text
    buf = io.StringIO()
    convtrack.export_feed(iter([product(7)]), buf, format="csv")
    row = next(csv.DictReader(io.StringIO(buf.getvalue())))
    assert row["title"] == product(7)["title"]
    with pytest.raises(convtrack.InvalidArgumentError):
        convtrack.export_feed_string([], format="json")
    with pytest.raises(convtrack.WrongTypeError, match="products"):
        convtrack.export_feed_string(json.dumps(product(1)).encode())
    with pytest.raises(convtrack.WrongTypeError, match="one product"):
        convtrack.export_feed_string(product(1))
    with pytest.raises(convtrack.StorageError, match="products"):
        convtrack.export_feed_string("/nonexistent/products.jsonl")

    class Boom(Exception):
        pass

    def hook(_: Dict[str, Any]) -> None:
        raise Boom()

    with pytest.raises(Boom):
        convtrack.export_feed_string(["{}"], on_error=hook)

"""`convtrack feed` and `convtrack catalog check`: the catalog faces of the CLI.

Exit codes (documented in docs/catalog.md):
  0  every product was written / every event item is in the catalog
  4  the feed was written but some products were skipped (each one is reported) /
     the check found missing items or invalid lines
  1  the feed could not be written at all (unreadable input, unwritable output, ...)
  2  invalid settings
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from typing import IO, Any, Dict, Optional

import convtrack

EXIT_SKIPPED = 4


def register(sub: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    """Adds the `feed` and `catalog` subcommands to the main CLI."""
    feed = sub.add_parser("feed", help="write a Meta catalog feed (XML, CSV, TSV) from products as JSON lines")
    feed.add_argument("products", help="products as JSON lines (see docs/catalog.md); '-' for stdin")
    feed.add_argument("-o", "--output", required=True, help="feed file to write (replaced atomically)")
    feed.add_argument("--format", choices=["xml", "csv", "tsv"], help="default: from the output suffix, else xml")
    feed.add_argument("--settings", help="settings JSON file: content_id mapping, catalog name, status record")
    feed.add_argument("--content-id", choices=["id", "sku", "variant_id"], help="without --settings (default id)")
    feed.add_argument("--json", action="store_true", help="print the report as JSON on stdout")
    feed.add_argument("--errors", metavar="FILE", help="write every product error as JSON lines to FILE")
    feed.add_argument("--show-errors", type=int, default=50, metavar="N", help="print the first N errors on stderr (default 50)")
    feed.add_argument("--progress", choices=["auto", "always", "never"], default="auto", help="progress bar on stderr (auto: if a TTY)")
    feed.set_defaults(func=cmd_feed)

    catalog = sub.add_parser("catalog", help="catalog tools")
    csub = catalog.add_subparsers(dest="catalog_command", required=True)
    check = csub.add_parser("check", help="report event items whose content id is not in the products file")
    check.add_argument("events", help="events as JSON lines (the Tracker event schema)")
    check.add_argument("products", help="products as JSON lines")
    check.add_argument("--settings", help="settings JSON file (for the content_id mapping)")
    check.add_argument("--content-id", choices=["id", "sku", "variant_id"], help="without --settings (default id)")
    check.add_argument("--json", action="store_true", help="print the report as JSON")
    check.set_defaults(func=cmd_catalog_check)


def _settings(path: str) -> Dict[str, Any]:
    with open(path, encoding="utf-8") as f:
        settings = json.load(f)
    if not isinstance(settings, dict):
        raise convtrack.SettingsError("settings: must be a JSON object", 300, "invalid_setting", "settings")
    settings.setdefault("sender", "manual")
    return settings


class _Progress:
    """A one-line progress bar on stderr, redrawn at most 10 times a second."""

    def __init__(self, total_bytes: Optional[int], enabled: bool) -> None:
        self.total = total_bytes
        self.enabled = enabled
        self.last = 0.0
        self.start = time.monotonic()
        self.state = (0, 0, 0)

    def __call__(self, lines: int, nbytes: int, written: int, force: bool = False) -> None:
        self.state = (lines, nbytes, written)
        if not self.enabled:
            return
        now = time.monotonic()
        if now - self.last < 0.1 and not force:
            return
        self.last = now
        rate = lines / max(now - self.start, 1e-9)
        if self.total:
            frac = min(nbytes / self.total, 1.0)
            bar = "#" * int(frac * 30)
            sys.stderr.write(f"\r[{bar:<30}] {frac * 100:5.1f}%  {lines} lines, {written} written, {rate:,.0f}/s")
        else:
            sys.stderr.write(f"\r{lines} lines, {written} written, {rate:,.0f}/s")
        sys.stderr.flush()

    def done(self) -> None:
        if self.enabled:
            self(*self.state, force=True)  # the final counts, never throttled away
            sys.stderr.write("\n")


def cmd_feed(args: argparse.Namespace) -> int:
    fmt = args.format
    if fmt is None:
        suffix = os.path.splitext(args.output)[1].lower().lstrip(".")
        fmt = suffix if suffix in ("xml", "csv", "tsv") else "xml"
    total = None if args.products == "-" else os.path.getsize(args.products)
    show = args.progress == "always" or (args.progress == "auto" and sys.stderr.isatty())
    progress = _Progress(total, show)
    shown = [0]
    errors_file: Optional[IO[str]] = open(args.errors, "w", encoding="utf-8") if args.errors else None

    def on_error(e: Dict[str, Any]) -> None:
        if errors_file is not None:
            errors_file.write(json.dumps(e) + "\n")
        if shown[0] < args.show_errors:
            shown[0] += 1
            where = f"line {e['line']}" + (f" (product {e['product_id']})" if e["product_id"] else "")
            field = f"{e['field']}: " if e["field"] else ""
            if show:
                sys.stderr.write("\r\x1b[K")
            sys.stderr.write(f"skipped {where}: {e['code']}: {field}{e['reason']}\n")

    products: Any = sys.stdin.buffer if args.products == "-" else args.products
    try:
        if args.settings:
            tracker = convtrack.Tracker(_settings(args.settings))
            try:
                report = tracker.export_feed(products, args.output, format=fmt, on_error=on_error, on_progress=progress)
            finally:
                tracker.close()
        else:
            report = convtrack.export_feed(
                products, args.output, format=fmt, content_id=args.content_id or "id", on_error=on_error, on_progress=progress
            )
    finally:
        progress.done()
        if errors_file is not None:
            errors_file.close()
    if args.json:
        sys.stdout.write(json.dumps(report) + "\n")
    else:
        more = report["skipped"] - shown[0]
        if more > 0:
            sys.stderr.write(f"... and {more} more skipped products (use --errors FILE for all)\n")
        sys.stdout.write(
            f"{args.output}: {report['written']} products written ({report['format']}), "
            f"{report['skipped']} skipped, {report['duration_ms'] / 1000:.1f} s\n"
        )
    return EXIT_SKIPPED if report["skipped"] else 0


def cmd_catalog_check(args: argparse.Namespace) -> int:
    if args.settings:
        tracker = convtrack.Tracker(_settings(args.settings))
        try:
            report = tracker.check_catalog(args.events, args.products)
        finally:
            tracker.close()
    else:
        report = convtrack.check_catalog(args.events, args.products, content_id=args.content_id or "id")
    if args.json:
        sys.stdout.write(json.dumps(report) + "\n")
    else:
        for m in report["missing"]:
            sys.stdout.write(f"missing: events line {m['line']} items[{m['item']}]: content id {m['content_id']!r}\n")
        for e in report["event_error_details"]:
            sys.stdout.write(f"invalid event: line {e['line']}: {e['code']}: {e['field'] or ''}: {e['reason']}\n")
        for e in report["product_error_details"]:
            sys.stdout.write(f"invalid product: line {e['line']}: {e['code']}: {e['field'] or ''}: {e['reason']}\n")
        sys.stdout.write(
            f"{report['products']} products ({report['product_errors']} invalid), {report['events']} events "
            f"({report['event_errors']} invalid), {report['items_checked']} items checked, "
            f"{report['items_missing']} not in the catalog (content_id = {report['content_id']})\n"
        )
    return 0 if report["ok"] else EXIT_SKIPPED

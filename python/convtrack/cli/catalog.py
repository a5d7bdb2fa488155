"""``convtrack feed`` and ``convtrack catalog check``: the catalog faces of the CLI.

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
from typing import IO, Any, Callable, Dict, Optional

import convtrack
from convtrack.cli._common import EXIT_SKIPPED, read_settings
from convtrack.cli._progress import Progress


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


def _feed_line(total_bytes: Optional[int]) -> Callable[[float, int, int, int], str]:
    """The feed line: a 30-column bar, the share of the input read, lines, products written and
    lines a second; without a known input size (stdin), the counts only."""

    def render(elapsed: float, lines: int, nbytes: int, written: int) -> str:
        rate = lines / max(elapsed, 1e-9)
        if total_bytes:
            frac = min(nbytes / total_bytes, 1.0)
            bar = "#" * int(frac * 30)
            return f"[{bar:<30}] {frac * 100:5.1f}%  {lines} lines, {written} written, {rate:,.0f}/s"
        return f"{lines} lines, {written} written, {rate:,.0f}/s"

    return render


def cmd_feed(args: argparse.Namespace) -> int:
    fmt = args.format
    if fmt is None:
        suffix = os.path.splitext(args.output)[1].lower().lstrip(".")
        fmt = suffix if suffix in ("xml", "csv", "tsv") else "xml"
    total = None if args.products == "-" else os.path.getsize(args.products)
    show = args.progress == "always" or (args.progress == "auto" and sys.stderr.isatty())
    progress = Progress(_feed_line(total), show, counts=(0, 0, 0))
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
            tracker = convtrack.Tracker(read_settings(args.settings))
            try:
                report = tracker.export_feed(products, args.output, format=fmt, on_error=on_error, on_progress=progress)
            finally:
                tracker.close()
        else:
            report = convtrack.export_feed(
                products, args.output, format=fmt, content_id=args.content_id or "id", on_error=on_error, on_progress=progress
            )
    finally:
        progress.finish()
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
        tracker = convtrack.Tracker(read_settings(args.settings))
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

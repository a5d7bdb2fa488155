# mypy: disable-error-code="import-untyped,import-not-found,misc,untyped-decorator,no-any-return"
from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from convtrack.django.conf import get_tracker


class Command(BaseCommand):
    help = "Show the convtrack status: setup, queue, counters, last error, field coverage."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--json", action="store_true", help="print the status as JSON")

    def handle(self, *args: Any, **options: Any) -> None:
        st = get_tracker().status()
        if options["json"]:
            self.stdout.write(json.dumps(st, indent=2, sort_keys=True))
            return
        c = st.get("counters") or {}
        q = st.get("queue") or {}
        lines = [
            f"pixel id:       {st.get('pixel_id')}",
            f"catalog:        {st.get('catalog_name') or '-'} ({st.get('catalog_id') or '-'})",
            f"mode:           {st.get('mode')}",
            f"data controls:  {'on' if st.get('data_controls') else 'off'}",
            f"delivery:       {('paused: ' + str(st['paused'])) if st.get('paused') else 'running'}",
            f"queue:          depth {q.get('depth')}, due {q.get('due')}, dead letters {q.get('dead_letters')}",
            "counters:       " + ", ".join(f"{k} {v}" for k, v in c.items()),
            f"last error:     {st.get('last_error') or 'none'}",
            "coverage:       " + ", ".join(f"{k} {100 * float(v):.0f}%" for k, v in (st.get("coverage") or {}).items()),
        ]
        self.stdout.write("\n".join(lines))

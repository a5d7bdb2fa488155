# mypy: disable-error-code="import-untyped,import-not-found,misc,untyped-decorator,no-any-return"
from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from convtrack.django.conf import get_tracker


class Command(BaseCommand):
    help = "Deliver the queued convtrack events now (for cron, or when the sender is 'manual')."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--timeout", type=float, default=10.0, help="seconds to try (default 10)")
        parser.add_argument("--json", action="store_true", help="print the flush report as JSON")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["timeout"] <= 0:
            raise CommandError("--timeout must be positive")
        report = get_tracker().flush(options["timeout"])
        if options["json"]:
            self.stdout.write(json.dumps(report, indent=2, sort_keys=True))
        else:
            self.stdout.write(", ".join(f"{k}: {v}" for k, v in report.items()))

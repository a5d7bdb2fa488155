# mypy: disable-error-code="import-untyped,import-not-found,misc,untyped-decorator,no-any-return"
from __future__ import annotations

from django.apps import AppConfig


class ConvtrackConfig(AppConfig):
    """``INSTALLED_APPS = [..., "convtrack.django", ...]``."""

    name = "convtrack.django"
    label = "convtrack"
    verbose_name = "Meta conversion tracking"
    default_auto_field = "django.db.models.AutoField"

    def ready(self) -> None:
        from convtrack.django import checks, conf

        checks.register()
        conf.connect_signals()
        conf.warm_up()

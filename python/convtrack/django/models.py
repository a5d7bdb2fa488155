# mypy: disable-error-code="import-untyped,import-not-found,misc,untyped-decorator,no-any-return"
"""No tables. One unmanaged model carries the permission of the controls dashboard,
``convtrack.change_controls``: superusers have it, and you grant it to other staff users
(or a group) in the admin like any other permission. Its migration creates no table;
``migrate`` adds the permission row."""

from __future__ import annotations

from django.db import models

PERMISSION = "convtrack.change_controls"


class Controls(models.Model):
    class Meta:
        managed = False  # no table: the merchant's controls live in the convtrack outbox
        default_permissions = ()
        permissions = [("change_controls", "Can change the Meta data controls and run tracking actions")]
        verbose_name = "tracking controls"
        verbose_name_plural = "tracking controls"
